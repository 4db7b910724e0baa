/*
 * tls.h — TLS as a stream filter (DESIGN §2): a struct stream on top of
 * another (TCP), driven without blocking from the worker loop through
 * wolfSSL's I/O callbacks. The layer above (SMTP) sees the same stream API
 * before and after STARTTLS; it is told that the handshake finished through
 * ops->connected, and that it failed through ops->closed.
 *
 * Contexts (struct tls_gen: our certificates, protocol and suite policy) are
 * made by the control plane from the configuration and only read by the
 * workers. Per-connection state comes from a per-worker pool sized at
 * start-up; wolfSSL's own objects are allocated by wolfSSL.
 */
#ifndef MAILGW_CRYPTO_TLS_H
#define MAILGW_CRYPTO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app/net/stream.h"
#include "crypto/tls_names.h"

struct gw_config;
struct worker;
struct tls_gen;

/* Why a handshake failed (counted per reason, logged). */
enum tls_fail {
	TLS_F_NONE = 0,
	TLS_F_VERSION,          /* the peer offered only TLS below our floor (protocol_version alert) */
	TLS_F_CIPHER,           /* no suite in common (e.g. only non-FS or CBC suites offered) */
	TLS_F_NOT_TLS,          /* the bytes were not a TLS handshake (plaintext after STARTTLS) */
	TLS_F_PEER_ALERT,       /* the peer sent a fatal alert */
	TLS_F_CLOSED,           /* the connection closed during the handshake */
	TLS_F_TIMEOUT,          /* the handshake took too long */
	TLS_F_OTHER,
	TLS_F_COUNT
};

/* What the layer above may ask about an established session. */
struct tls_info {
	const char *version;    /* "TLSv1.2", "TLSv1.3" */
	const char *cipher;     /* "ECDHE-ECDSA-AES128-GCM-SHA256", "TLS13-AES128-GCM-SHA256" */
	int bits;               /* symmetric key bits */
	bool resumed;
	const char *curve;      /* key exchange group ("X25519", "SECP256R1"); NULL when none (TLS 1.2 resumed) */
	bool peer_cert;         /* the peer presented a certificate */
	bool peer_verified;     /* ... and its chain verified (tls.ca_file inbound, tls.client.ca_file outbound) */
	int verify_err;         /* the first chain error (X509_V_ERR_*), 0 if none */
	const char *verify_text;    /* its text ("certificate has expired") */
	bool name_ok;           /* outbound: the certificate matches one of the expected names */
	char peer_subject[256];     /* its subject, one line, for logs only (may be cut; never matched) */
	struct tls_names peer_names;    /* its identities (dNSName SANs, else CN): what policy matches */
	uint8_t peer_spki[32];  /* SHA-256 of its SubjectPublicKeyInfo (for pins) */
	int64_t peer_not_after; /* its expiry, seconds since the epoch (0: unknown) */
	uint16_t offered_version;   /* the ClientHello's client_version (0x0301 = 1.0; 0x0303 for 1.2 and 1.3) */
	int lib_err;            /* wolfSSL's error code of a failed handshake */
};

/* One certificate of ours, as `mailgwctl show certs` shows it. */
struct tls_cert_view {
	char path[256];
	char subject[256];
	char issuer[256];
	char sans[512];         /* "mx.gw.example, mx.gw.test" */
	char key[16];           /* "ECDSA-256", "RSA-2048" */
	char sha256[96];        /* fingerprint of the leaf, colon hex */
	char not_after[32];     /* "2029-02-24 22:35:57 UTC" */
	long days_left;         /* whole days until not_after (negative: expired) */
};

/* The certificates of generation g (filled at creation). Returns how many (up to max). */
unsigned tls_gen_certs(const struct tls_gen *g, struct tls_cert_view *out, unsigned max);

/* Build a generation from cfg->tls (certificates loaded and checked). NULL + message on error. */
struct tls_gen *tls_gen_create(const struct gw_config *cfg, char *err, size_t errlen);

/* Free a generation (no session may still use it). */
void tls_gen_free(struct tls_gen *g);

/* Whether g can serve STARTTLS (certificates loaded). */
bool tls_gen_server_ready(const struct tls_gen *g);

/* Per-worker pool of filter slots. Returns 0 or -ENOMEM. */
int tls_worker_init(struct worker *w, unsigned slots);

/* Free what tls_worker_init made. */
void tls_worker_fini(struct worker *w);

/*
 * Start a server-side handshake on lower (its ops and ctx are taken over).
 * The returned stream carries ops/ctx for the layer above: connected when
 * the handshake is done, closed if it failed. NULL when no slot or wolfSSL
 * object is free (lower is untouched then).
 */
struct stream *tls_server_start(struct worker *w, const struct tls_gen *g, struct stream *lower,
				const struct stream_ops *ops, void *ctx);

/* Whether tls_server_start() would find a slot and g's certificates now (STARTTLS says 220 only then). */
bool tls_server_available(const struct worker *w, const struct tls_gen *g);

/* What the client side checks (the level's policy is the caller's). */
struct tls_client_opts {
	const char *sni;                /* server name to send, NULL for none */
	const char *const *names;       /* names (RFC 6125, "*." ok) or IPv4 literals to match; n_names 0: none;
					   the array is copied (at most 80), the strings must outlive the session */
	unsigned n_names;
	bool verify;                    /* use the verifying context (tls.client.ca_file) */
	const char *session_key;        /* resume the session of the last full handshake made under this key
					   (next hop and what is checked); NULL: never resume */
};

/*
 * Start a client-side handshake on lower (after the next hop's 220 to
 * STARTTLS). As tls_server_start; the chain and name results are in
 * tls_stream_info() once connected (the handshake itself never fails for a
 * bad certificate: the caller applies its level).
 */
struct stream *tls_client_start(struct worker *w, const struct tls_gen *g, struct stream *lower,
				const struct stream_ops *ops, void *ctx, const struct tls_client_opts *o);

/* Facts about the session of a TLS stream (only after connected); NULL for a non-TLS stream. */
const struct tls_info *tls_stream_info(struct stream *s);

/* Why the handshake of s failed (for the closed callback); TLS_F_NONE if it did not. */
enum tls_fail tls_stream_failure(struct stream *s);

/* Short text for a failure ("protocol version below TLS 1.2"). */
const char *tls_fail_text(enum tls_fail f);

/*
 * Whether a ClientHello (the whole TLS record in rec[0..len)) can take an
 * ECDSA certificate: an ECDSA signature algorithm (or none listed) and a TLS
 * 1.3 or ECDHE-ECDSA suite. Pure; false for anything unparseable, and for a
 * record cut before its signature_algorithms (none seen is not none listed).
 */
bool tls_hello_takes_ecdsa(const uint8_t *rec, size_t len);

/*
 * The host name a ClientHello (the whole record) asks for by SNI (RFC 6066)
 * into out (NUL-terminated); its length, 0 when there is none, it does not
 * fit, or it holds anything but printable ASCII. Pure.
 */
size_t tls_hello_sni(const uint8_t *rec, size_t len, char *out, size_t outlen);

/* "1.0" for 0x0301 ... */
const char *tls_version_name(uint16_t v);

#endif
