/*
 * tls_names.h — a certificate's identities (RFC 6125 §6.4): the names that
 * policy matches a peer by. They come from structured fields, never from a
 * printed subject: its dNSName subjectAltNames, or, only when it has no
 * dNSName at all, its subject commonName. A name is an identity only when it
 * is a DNS name (RFC 1035 preferred syntax, a leading "*." label allowed)
 * exactly as encoded: no NUL, space, control character or empty label, at
 * most TLS_NAME_LEN_MAX characters; anything else is counted and dropped,
 * never cut or split. The workers (tls.c: a peer's facts, then the connector
 * table at MAIL) and the connector simulator (`mailgwctl test connector
 * --cert`) both use tls_names_of_x509(), so they cannot disagree.
 */
#ifndef MAILGW_CRYPTO_TLS_NAMES_H
#define MAILGW_CRYPTO_TLS_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_NAMES_MAX       16      /* identities kept per certificate */
#define TLS_NAME_LEN_MAX    253     /* characters of a DNS name (RFC 1035: 255 octets on the wire) */
#define TLS_NAMES_BUF       1024    /* the identities' bytes, each NUL-terminated */

struct WOLFSSL_X509;

/* A certificate's identities, an array (copyable: offsets, no pointers). */
struct tls_names {
	uint16_t off[TLS_NAMES_MAX];    /* identity k is buf + off[k], NUL-terminated */
	uint8_t n;                      /* identities */
	bool from_cn;                   /* no dNSName SAN: the one identity is the subject's CN */
	uint8_t invalid;                /* names presented that are not DNS names (not identities) */
	uint8_t over;                   /* valid names beyond TLS_NAMES_MAX or TLS_NAMES_BUF (not kept) */
	char buf[TLS_NAMES_BUF];
};

/*
 * The identities of certificate x into out: its dNSName SANs in their order;
 * if it has none (valid or not), its CN when the subject has exactly one.
 * Returns out->n.
 */
unsigned tls_names_of_x509(struct WOLFSSL_X509 *x, struct tls_names *out);

/* Identity k of n (k < n->n), else NULL. */
const char *tls_names_get(const struct tls_names *n, unsigned k);

/*
 * Whether s[0..len) is a DNS name we take as an identity: 1 to
 * TLS_NAME_LEN_MAX characters, labels of 1-63 letters, digits and inner
 * hyphens separated by single dots, no trailing dot; "*" only as the whole
 * first label of a name with another label after it. Pure.
 */
bool tls_name_valid(const char *s, size_t len);

/* "a.example, b.example" (for logs and the console) into buf; the length as snprintf. */
int tls_names_format(const struct tls_names *n, char *buf, size_t len);

#endif
