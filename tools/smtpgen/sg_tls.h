/*
 * sg_tls.h — wolfSSL contexts for smtpgen: the client's (versions, CA and
 * name verification, client certificate, session tickets for resumption)
 * and the sink's (one or two certificates — RSA and ECDSA side by side — a
 * client-certificate request, tickets). With two certificates the sink
 * peeks at the ClientHello before wolfSSL sees it and picks the context
 * whose key the client can verify (sg_tls_pick()), preferring ECDSA.
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SG_TLS_H
#define MAILGW_TOOLS_SMTPGEN_SG_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

struct sg_tls_client_opts {
	const char *ca;                 /* verify the server against this (PEM); NULL: no verification */
	const char *cert, *key;         /* client certificate (PEM) */
	const char *version;            /* "1.2", "1.3" or NULL (1.2 and 1.3) */
	const char *ciphers;            /* wolfSSL cipher list or NULL */
	const char *sigalgs;            /* e.g. "ECDSA+SHA256" or "RSA-PSS+SHA256:RSA+SHA256" */
	const char *groups;             /* key-exchange groups, e.g. "X25519" or "P-256:X25519"; NULL: wolfSSL's */
};

/* The client context, or NULL with a message in err. */
WOLFSSL_CTX *sg_tls_client_ctx(const struct sg_tls_client_opts *o, char *err, size_t errlen);

enum sg_key_type { SG_KEY_OTHER, SG_KEY_RSA, SG_KEY_ECDSA };

struct sg_tls_server_opts {
	const char *cert, *key;         /* first certificate (chain) and key */
	const char *cert2, *key2;       /* optional second, of the other key type */
	const char *ca;                 /* CA for client certificates */
	bool request_client_cert;       /* ask for one (optional unless require) */
	bool require_client_cert;
};

struct sg_tls_server {
	WOLFSSL_CTX *ctx[2];
	enum sg_key_type type[2];
	int nctx;
};

/* Build the sink's contexts; 0, or -EINVAL with a message in err. */
int sg_tls_server_init(struct sg_tls_server *s, const struct sg_tls_server_opts *o, char *err, size_t errlen);
void sg_tls_server_free(struct sg_tls_server *s);

/*
 * Which context to answer the ClientHello in hello[0, n) with (peeked from
 * the socket): an index into s->ctx, or -EAGAIN while the record is
 * incomplete. Malformed input picks 0 (wolfSSL then refuses it properly).
 */
int sg_tls_pick(const struct sg_tls_server *s, const uint8_t *hello, size_t n);

/* The key type of a certificate file (PEM). */
enum sg_key_type sg_tls_cert_type(const char *file);
static inline const char *sg_key_name(enum sg_key_type t)
{
	return t == SG_KEY_RSA ? "rsa" : t == SG_KEY_ECDSA ? "ecdsa" : "other";
}

#endif
