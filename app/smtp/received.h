/*
 * received.h — the Received: header field mailgw prepends to every message
 * it relays (RFC 5321 §4.4, RFC 5322 §3.6.7). Pure: no I/O, no clock reads.
 */
#ifndef MAILGW_APP_SMTP_RECEIVED_H
#define MAILGW_APP_SMTP_RECEIVED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "app/smtp/smtp_parse.h"

/*
 * What the field takes of each input at most (longer ones are cut, or for
 * the recipient, the "for" clause is left out). RECEIVED_MAX holds the
 * field for inputs at all these maxima (tests/unit/test_received.c checks
 * it): a buffer of that size always gets the whole field.
 */
#define RECEIVED_HELO_MAX       (SMTP_DOMAIN_MAX + 2)   /* the session keeps this much of HELO/EHLO */
#define RECEIVED_HOST_MAX       255                     /* smtp.hostname (a domain name) */
#define RECEIVED_RCPT_MAX       SMTP_PATH_MAX           /* the recipient, without "<" ">" */
#define RECEIVED_ID_MAX         32
#define RECEIVED_TLS_MAX        48                      /* TLS version and cipher names */
#define RECEIVED_MAX            1280
#define RECEIVED_LINE_PREFERRED 78                      /* RFC 5322 §2.1.1: SHOULD; 998 MUST */

struct received_info {
	const char *helo;               /* the client's HELO/EHLO argument ("" if none) */
	uint32_t client_addr;           /* host byte order */
	const char *hostname;           /* ours */
	const char *protocol;           /* "SMTP", "ESMTP", "UTF8SMTP" (RFC 3848, RFC 6531) */
	const char *id;                 /* our message id */
	const char *rcpt;               /* the one recipient (NULL or "" when several) */
	size_t rcpt_len;
	bool utf8;                      /* an SMTPUTF8 transaction: UTF-8 in HELO and recipient kept */
	time_t when;                    /* UTC seconds */
	const char *tls_version;        /* NULL: plaintext; else "TLSv1.3" ... */
	const char *tls_cipher;
	int tls_bits;
};

/*
 * Format the field, CRLF-terminated, one clause per line and each folded
 * (RFC 5322 §2.2.3) at a space so that lines stay within 78 characters
 * where a word allows it (never above 998):
 *   Received: from HELO ([ADDR])\r\n
 *   [\t(using TLSv1.3 with cipher C (256/256 bits))\r\n]     over TLS
 *   \tby HOSTNAME (mailgw) with PROTOCOL id ID\r\n
 *   [\tfor <RCPT>;\r\n]                                      one recipient
 *   \tSun, 22 Nov 2026 10:00:00 +0000\r\n
 * The HELO is sanitised: bytes other than letters, digits and ". - _ : [ ]"
 * (and UTF-8 in an SMTPUTF8 transaction) become "?". When len is too small
 * the "for" clause is left out first, then the HELO is cut: the field is
 * never dropped for its inputs. Returns the length, or 0 only when len
 * cannot hold even that (far below RECEIVED_MAX).
 */
size_t received_format(char *buf, size_t len, const struct received_info *ri);

/* The protocol keyword (RFC 3848, RFC 6531): ESMTP/SMTP, ESMTPS over TLS, UTF8SMTP(S) with SMTPUTF8. */
const char *received_protocol(bool ehlo, bool smtputf8, bool tls);

#endif
