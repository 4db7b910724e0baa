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

struct received_info {
	const char *helo;               /* the client's HELO/EHLO argument ("" if none) */
	uint32_t client_addr;           /* host byte order */
	const char *hostname;           /* ours */
	const char *protocol;           /* "SMTP", "ESMTP", "UTF8SMTP" (RFC 3848, RFC 6531) */
	const char *id;                 /* our message id */
	const char *rcpt;               /* the one recipient (NULL or "" when several) */
	size_t rcpt_len;
	time_t when;                    /* UTC seconds */
	const char *tls_version;        /* NULL: plaintext; else "TLSv1.3" ... */
	const char *tls_cipher;
	int tls_bits;
};

/*
 * Format the field, folded, CRLF-terminated:
 *   Received: from HELO ([ADDR])\r\n
 *   [\t(using TLSv1.3 with cipher C (256/256 bits))\r\n]     over TLS
 *   \tby HOSTNAME (mailgw) with PROTOCOL id ID\r\n
 *   \tfor <RCPT>; Sun, 22 Nov 2026 10:00:00 +0000\r\n
 * Returns the length, or 0 if it does not fit in len.
 */
size_t received_format(char *buf, size_t len, const struct received_info *ri);

/* The protocol keyword (RFC 3848, RFC 6531): ESMTP/SMTP, ESMTPS over TLS, UTF8SMTP(S) with SMTPUTF8. */
const char *received_protocol(bool ehlo, bool smtputf8, bool tls);

#endif
