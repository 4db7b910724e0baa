/*
 * tls.c — the TLS stream filter on wolfSSL. A filter slot owns the lower
 * (TCP) stream's events: readable/writable drive the handshake and then feed
 * the layer above; wolfSSL reads and writes the lower stream through the I/O
 * callbacks below, which never block (WANT_READ/WANT_WRITE). Writes from
 * above are cut to what the lower stream has room for, in records of at most
 * TLS_WRITE_CHUNK. Once the handshake is done, wolfSSL never sees WANT_WRITE:
 * when the lower stream takes less than a record (its buffer pool ran dry),
 * the filter keeps the rest of the ciphertext (`held`) and sends it before
 * any other byte. (A wolfSSL_write that met WANT_WRITE would have to be
 * retried with the same buffer, and 5.5.4 keeps its offsets after that and
 * skips bytes of a later write if its output buffer holds anything else.)
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "app/worker.h"
#include "crypto/tls.h"
#include "crypto/tls_cache.h"
#include "crypto/tls_ticket.h"
#include "platform/config.h"

#define TLS_RECORD_MAX      16384   /* plaintext per record */
#define TLS_RECORD_OVERHEAD 64      /* header + nonce + tag, with room to spare */
#define TLS_MAX_NAMES       80      /* expected certificate names kept per client session */
#define TLS_HELLO_MAX       2048    /* ClientHello record buffered to choose our certificate */
#define TLS_CLIENT_CACHE    256     /* next-hop sessions kept per worker */
#define TLS_WRITE_CHUNK     4096    /* plaintext per wolfSSL_write */
#define TLS_HELD_MAX        (TLS_WRITE_CHUNK + 512)     /* a record, and alerts or KeyUpdates behind it */

struct tls_gen {
	WOLFSSL_CTX *server[CFG_MAX_CERTS];     /* one per certificate of ours */
	bool server_ecdsa[CFG_MAX_CERTS];       /* its key is ECDSA (else RSA) */
	struct tls_names names[CFG_MAX_CERTS];  /* its identities (dNSName SANs, else CN), for SNI */
	unsigned n_server;
	uint64_t serial;                /* this generation's number: inbound cached sessions are keyed by it */
	WOLFSSL_CTX *client;            /* outbound: trust anchors loaded when available */
	bool server_ready;
	struct tls_cert_view certs[CFG_MAX_CERTS];
};

enum tls_state {
	TLS_ST_FREE = 0,
	TLS_ST_HELLO,                   /* server: gathering the ClientHello record */
	TLS_ST_HANDSHAKE,
	TLS_ST_OPEN,
	TLS_ST_FAILED,
	TLS_ST_CLOSED,
};

struct tls_stream {
	struct stream up;               /* what the layer above holds; first member */
	struct stream *low;
	struct worker *w;
	WOLFSSL *ssl;
	enum tls_state state;
	enum tls_fail fail;
	bool server;
	bool eof;                       /* close_notify or the lower stream's EOF */
	bool opened;                    /* the handshake completed */
	bool ticket_refused;            /* a ticket of this handshake was refused (counted once) */
	bool have_cached;               /* cached holds the certificate facts of the session resumed */
	bool shut_pending;              /* shutdown asked while ciphertext was held: after it */
	bool wr_failed;                 /* the lower stream failed (or held would overflow): -EPIPE */
	bool io_want_write;             /* tls_io_send said WANT_WRITE since the last handshake step */
	bool notify_sent;               /* close_notify went to wolfSSL (it may still be held) */
	uint16_t held_len;              /* once open: ciphertext the lower stream did not take yet */
	uint64_t gen;                   /* the serial of the generation its context came from */

	uint16_t hello_len, hello_off;  /* server: the buffered ClientHello, fed to wolfSSL first */
	struct tls_client_opts copts;   /* client side: what to check after the handshake */
	const char *names[TLS_MAX_NAMES];   /* copts.names points here (the strings are the caller's, long-lived) */
	char skey[TLS_CACHE_KEY_MAX];   /* client side: the session-cache key (copts.session_key) */
	uint8_t skey_len;
	struct tls_info cached;         /* client side: what the full handshake of the offered session found */
	struct tls_info info;
	struct tls_stream *next_free;
	union {                         /* last: a new session clears everything before it */
		uint8_t hello[TLS_HELLO_MAX];   /* server, before the handshake */
		uint8_t held[TLS_HELD_MAX];     /* once open: held_len bytes of ciphertext, sent first */
	};
};

struct tls_pool {
	struct tls_stream *slots;
	unsigned n;
	struct tls_stream *free;
	struct tls_cache *in_cache;     /* inbound sessions by ID (tls.session_cache_size; NULL: none) */
	struct tls_cache *out_cache;    /* outbound sessions by next hop */
	uint64_t ticket_seq;            /* this worker's ticket nonces */
};

static const struct stream_impl tls_stream_impl;
static const struct stream_ops tls_lower_ops;
static int tls_flush_pending(struct tls_stream *ts);

static struct tls_pool *
tls_pool_of(const struct worker *w)
{
	return w->tls;
}

static struct tls_stream *
tls_of(struct stream *s)
{
	return (struct tls_stream *)s;
}

/*
 * Record the first chain error and go on for the peer's own certificate:
 * the handshake does not fail for it; inbound the result is recorded for
 * policy, outbound the caller's TLS level decides.
 *
 * Never for a CA certificate of the chain: wolfSSL adds a chain CA whose
 * error the callback overrides to the context's trusted CAs, so one peer
 * could make its own CA trusted for every later session. With
 * WOLFSSL_ALT_CERT_CHAINS an untrusted or self-signed chain CA does not get
 * here (only the leaf must reach a trusted CA, and an unverified CA is
 * never added); any other error of a chain CA fails the handshake.
 */
static int
tls_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	struct tls_stream *ts = store != NULL ? store->userCtx : NULL;   /* wolfSSL_SetCertCbCtx() */

	if (preverify)
		return 1;
	if (ts != NULL && ts->info.verify_err == 0) {
		ts->info.verify_err = wolfSSL_X509_STORE_CTX_get_error(store);
		if (ts->info.verify_err == 0)
			ts->info.verify_err = -1;
	}
	if (ts == NULL || wolfSSL_X509_STORE_CTX_get_error_depth(store) > 0)
		return 0;                       /* fail rather than trust a CA we could not verify */
	return 1;
}

/* A certificate's subjectAltNames (DNS names, IP addresses), ", "-separated, into out. */
static void
tls_x509_sans(WOLFSSL_X509 *x, char *out, size_t len)
{
	size_t l = 0;

	out[0] = '\0';
	for (char *n; (n = wolfSSL_X509_get_next_altname(x)) != NULL;)   /* to the end: that rewinds it */
		if (l < len)
			l += (size_t)snprintf(out + l, len - l, "%s%s", l ? ", " : "", n);
}

/* A certificate's notAfter into *tm (UTC); false if it has none or it does not parse. */
static bool
tls_x509_not_after(WOLFSSL_X509 *x, struct tm *tm)
{
	WOLFSSL_ASN1_TIME *na = wolfSSL_X509_get_notAfter(x);

	return na != NULL && wolfSSL_ASN1_TIME_to_tm(na, tm) == WOLFSSL_SUCCESS;
}

/* A peer's text made safe for one log line: control characters (CR, LF, NUL ...) become '?'. */
static void
tls_printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/*
 * The peer certificate's facts into i: whether there is one, its subject
 * (for logs: no control characters, may be cut), identities (tls_names.h) and SPKI hash, and (from
 * i->verify_err, which the verify callback set) whether its chain verified.
 */
static void
tls_peer_facts(WOLFSSL *ssl, struct tls_info *i)
{
	WOLFSSL_X509 *peer = wolfSSL_get_peer_certificate(ssl);
	unsigned char spki[1024];
	int spki_len = (int)sizeof(spki);

	i->peer_cert = peer != NULL;
	i->peer_subject[0] = '\0';
	tls_names_of_x509(NULL, &i->peer_names);
	i->peer_not_after = 0;
	memset(i->peer_spki, 0, sizeof(i->peer_spki));
	i->peer_verified = false;
	if (peer == NULL)
		return;
	struct tm tm;

	wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(peer), i->peer_subject, (int)sizeof(i->peer_subject));
	tls_printable(i->peer_subject);        /* the peer chose it: no forged log lines */
	tls_names_of_x509(peer, &i->peer_names);
	if (wolfSSL_X509_get_pubkey_buffer(peer, spki, &spki_len) == WOLFSSL_SUCCESS && spki_len > 0)
		wc_Sha256Hash(spki, (word32)spki_len, i->peer_spki);
	i->peer_not_after = tls_x509_not_after(peer, &tm) ? (int64_t)timegm(&tm) : 0;
	i->peer_verified = i->verify_err == 0;
	if (i->verify_err > 0)
		i->verify_text = wolfSSL_X509_verify_cert_error_string(i->verify_err);
	else if (i->verify_err < -1)
		i->verify_text = wolfSSL_ERR_reason_error_string((unsigned long)i->verify_err);
	if (i->verify_err != 0 && i->verify_text == NULL)
		i->verify_text = "certificate chain not verified";
	wolfSSL_X509_free(peer);
}

/* ---- resumption: ticket keys shared by all workers, the worker's session caches ---- */

static uint64_t
tls_now(void)
{
	return (uint64_t)time(NULL);
}

/* The session of a wolfSSL object (its I/O context), NULL before tls_*_start() set it. */
static struct tls_stream *
tls_of_ssl(WOLFSSL *ssl)
{
	return ssl != NULL ? wolfSSL_GetIOReadCtx(ssl) : NULL;
}

/* wolfSSL's ticket callback: the key set the control plane published last (tls_ticket.h). */
static int
tls_ticket_cb(WOLFSSL *ssl, unsigned char name[WOLFSSL_TICKET_NAME_SZ], unsigned char iv[WOLFSSL_TICKET_IV_SZ],
	      unsigned char mac[WOLFSSL_TICKET_MAC_SZ], int enc, unsigned char *ticket, int in_len, int *out_len,
	      void *user)
{
	struct tls_stream *ts = tls_of_ssl(ssl);
	uint8_t flags = 0;
	(void)user;

	if (ts == NULL)
		return WOLFSSL_TICKET_RET_REJECT;
	struct worker *w = ts->w;
	const struct tls_ticket_keys *k = __atomic_load_n(&w->gw->tickets, __ATOMIC_ACQUIRE);
	WOLFSSL_X509 *peer = enc ? wolfSSL_get_peer_certificate(ssl) : NULL;

	if (peer != NULL) {
		flags |= TLS_TICKET_F_CLIENT_CERT;
		wolfSSL_X509_free(peer);
	}
	enum tls_ticket_result r = tls_ticket_crypt(k, w->id, &tls_pool_of(w)->ticket_seq, name, iv, mac, enc,
						    ticket, in_len, out_len, &flags);
	/*
	 * A ticket does not carry the client certificate: a session that had
	 * one is resumed only from the session-ID cache (which keeps it) or
	 * not at all, so that policy never sees a certificated partner as one
	 * without a certificate.
	 */
	if (!enc && (r == TLS_TICKET_OK || r == TLS_TICKET_RENEW) && (flags & TLS_TICKET_F_CLIENT_CERT)) {
		if (!ts->ticket_refused)        /* wolfSSL may ask more than once for one ClientHello */
			w->ctr[0][STATS_TLS_TICKETS_CLIENT_CERT]++;
		ts->ticket_refused = true;
		return WOLFSSL_TICKET_RET_REJECT;
	}
	switch (r) {
	case TLS_TICKET_OK:
		if (enc)
			w->ctr[0][STATS_TLS_TICKETS_ISSUED]++;
		return WOLFSSL_TICKET_RET_OK;
	case TLS_TICKET_RENEW:
		w->ctr[0][STATS_TLS_TICKETS_RENEWED]++;
		return WOLFSSL_TICKET_RET_CREATE;
	case TLS_TICKET_UNKNOWN:                /* wolfSSL may ask more than once for one ClientHello */
		if (!ts->ticket_refused)
			w->ctr[0][STATS_TLS_TICKETS_UNKNOWN]++;
		ts->ticket_refused = true;
		return WOLFSSL_TICKET_RET_REJECT;
	default:
		if (!ts->ticket_refused)
			w->ctr[0][STATS_TLS_TICKETS_BAD]++;
		ts->ticket_refused = true;
		return WOLFSSL_TICKET_RET_REJECT;
	}
}

/*
 * Until when a session whose full handshake found info may be resumed:
 * tls.session_timeout, but never past its peer certificate's notAfter (a
 * resumed session shows no certificate: its "verified" must not outlive it).
 */
static uint64_t
tls_cache_expiry(const struct tls_stream *ts, const struct tls_info *info)
{
	uint64_t until = tls_now() + ts->w->cfg->tls.session_timeout;

	if (info->peer_cert && info->peer_not_after > 0 && (uint64_t)info->peer_not_after < until)
		until = (uint64_t)info->peer_not_after;
	return until;
}

/* wolfSSL made a session (inbound full handshake): keep a copy in this worker's cache, by ID. */
static int
tls_sess_new_cb(WOLFSSL *ssl, WOLFSSL_SESSION *sess)
{
	struct tls_stream *ts = tls_of_ssl(ssl);
	unsigned int len = 0;
	const unsigned char *id = wolfSSL_SESSION_get_id(sess, &len);

	if (ts == NULL || !ts->server || tls_pool_of(ts->w)->in_cache == NULL || id == NULL || len == 0)
		return 0;
	WOLFSSL_SESSION *copy = wolfSSL_SESSION_dup(sess);
	struct tls_info facts = ts->info;       /* the chain's verification result is known by now */
	tls_peer_facts(ssl, &facts);
	if (copy != NULL)       /* under the generation whose trust anchors verified the certificate */
		tls_cache_put(tls_pool_of(ts->w)->in_cache, id, len, ts->gen, copy, tls_cache_expiry(ts, &facts),
			      &facts);
	return 0;                               /* wolfSSL frees its own reference */
}

/*
 * A client offers a session ID: look it up in this worker's cache (a miss
 * is a full handshake). A session made under an older certificate
 * generation is not resumed: its "verified" was decided by trust anchors
 * that `reload certs` may have removed (counted apart).
 */
static WOLFSSL_SESSION *
tls_sess_get_cb(WOLFSSL *ssl, const unsigned char *id, int len, int *copy)
{
	struct tls_stream *ts = tls_of_ssl(ssl);

	*copy = 1;                              /* wolfSSL copies it; the cache keeps its reference */
	if (ts == NULL || tls_pool_of(ts->w)->in_cache == NULL || len <= 0)
		return NULL;
	bool stale = false;
	WOLFSSL_SESSION *s = tls_cache_get(tls_pool_of(ts->w)->in_cache, id, (size_t)len, ts->gen, tls_now(),
					   &ts->cached, &stale);
	ts->have_cached = s != NULL;
	if (stale)
		ts->w->ctr[0][STATS_TLS_CACHE_STALE]++;
	ts->w->ctr[0][s != NULL ? STATS_TLS_CACHE_HITS : STATS_TLS_CACHE_MISSES]++;
	return s;
}

/* Resumption for one of our server contexts: tickets with the shared keys, IDs in the worker's cache. */
static void
tls_ctx_resumption(WOLFSSL_CTX *ctx, const struct cfg_tls *t)
{
	wolfSSL_CTX_set_timeout(ctx, t->session_timeout);
	wolfSSL_CTX_set_TicketHint(ctx, (int)t->session_timeout);
	wolfSSL_CTX_set_TicketEncCb(ctx, tls_ticket_cb);
	wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_NO_INTERNAL);     /* no global, locked cache */
	if (t->session_cache_size > 0) {
		wolfSSL_CTX_sess_set_new_cb(ctx, tls_sess_new_cb);
		wolfSSL_CTX_sess_set_get_cb(ctx, tls_sess_get_cb);
	}
}

/* Outbound: offer the session the last full handshake with this next hop made under this generation, if any. */
static void
tls_client_offer(struct tls_stream *ts, WOLFSSL *ssl, const char *key)
{
	struct tls_cache *c = tls_pool_of(ts->w)->out_cache;
	size_t len = key != NULL ? strlen(key) : 0;

	wolfSSL_UseSessionTicket(ssl);
	if (c == NULL || len == 0 || len > TLS_CACHE_KEY_MAX)
		return;
	memcpy(ts->skey, key, len);
	ts->skey_len = (uint8_t)len;
	WOLFSSL_SESSION *s = tls_cache_get(c, key, len, ts->gen, tls_now(), &ts->cached, NULL);
	ts->have_cached = s != NULL;
	if (s != NULL && wolfSSL_set_session(ssl, s) != WOLFSSL_SUCCESS)
		tls_cache_remove(c, key, len);
}

/*
 * Outbound, at the end of a connection: keep its session for the next one
 * if it came from a full handshake (a session from a resumed one would
 * chain resumptions: wolfSSL issue #6172), with what that handshake found
 * about the certificate.
 */
static void
tls_client_keep(struct tls_stream *ts)
{
	if (ts->server || !ts->opened || ts->info.resumed || ts->skey_len == 0 || ts->ssl == NULL)
		return;
	WOLFSSL_SESSION *s = wolfSSL_get1_session(ts->ssl);
	if (s != NULL)
		tls_cache_put(tls_pool_of(ts->w)->out_cache, ts->skey, ts->skey_len, ts->gen, s,
			      tls_cache_expiry(ts, &ts->info), &ts->info);
}

/* ---- generations ---- */

static int
tls_ctx_policy(WOLFSSL_CTX *ctx, const struct cfg_tls *t, char *err, size_t errlen)
{
	int minv = t->min_version == CFG_TLS_V1_3 ? WOLFSSL_TLSV1_3 : WOLFSSL_TLSV1_2;

	if (wolfSSL_CTX_SetMinVersion(ctx, minv) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "tls: cannot set the minimum version");
		return -EINVAL;
	}
	if (!t->tls13)
		wolfSSL_CTX_set_options(ctx, WOLFSSL_OP_NO_TLSv1_3);
	char list[CFG_TLS_LIST_LEN * 2];
	/* TLS 1.3 suites first: wolfSSL picks a TLS 1.2 suite for a 1.3 ClientHello otherwise. */
	snprintf(list, sizeof(list), "%s%s", t->tls13 ?
		 "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:" : "",
		 t->ciphers);
	if (wolfSSL_CTX_set_cipher_list(ctx, list) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "tls.ciphers: wolfSSL accepts none of \"%s\"", t->ciphers);
		return -EINVAL;
	}
	char curves[CFG_TLS_LIST_LEN];
	snprintf(curves, sizeof(curves), "%s", t->curves);
	if (curves[0] && wolfSSL_CTX_set1_curves_list(ctx, curves) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "tls.curves: wolfSSL accepts none of \"%s\"", t->curves);
		return -EINVAL;
	}
	return 0;
}

/* Certificate i of ours and its key; the chain file holds the leaf first. */
static int
tls_ctx_certs(WOLFSSL_CTX *ctx, const struct cfg_tls *t, unsigned i, char *err, size_t errlen)
{
	const struct cfg_tls_cert *c = &t->certs[i];

	if (wolfSSL_CTX_use_certificate_chain_file(ctx, c->cert) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "tls.certificates.[%u].cert: %s: not a readable PEM certificate chain",
			 i, c->cert);
		return -EINVAL;
	}
	if (wolfSSL_CTX_use_PrivateKey_file(ctx, c->key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "tls.certificates.[%u].key: %s: not a readable PEM private key", i, c->key);
		return -EINVAL;
	}
	if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "tls.certificates.[%u]: the key %s does not belong to the certificate %s",
			 i, c->key, c->cert);
		return -EINVAL;
	}
	if (t->ca_file[0] && wolfSSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "tls.ca_file: %s: no usable CA certificate in it", t->ca_file);
		return -EINVAL;
	}
	/* Ask for a client certificate, never require one; verification is recorded, not enforced here. */
	wolfSSL_CTX_set_verify(ctx, t->request_client_cert ? WOLFSSL_VERIFY_PEER : WOLFSSL_VERIFY_NONE,
			       tls_verify_cb);
	return 0;
}

/* The certificates of a PEM file, in order (at most max); how many. */
static unsigned
tls_pem_certs(const char *path, WOLFSSL_X509 **out, unsigned max)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t len;
	unsigned n = 0;

	if (f == NULL)
		return 0;
	len = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[len] = '\0';
	for (char *p = strstr(buf, begin); p != NULL && n < max; p = strstr(p, begin)) {
		char *e = strstr(p, end);
		if (e == NULL)
			break;
		e += sizeof(end) - 1;
		out[n] = wolfSSL_X509_load_certificate_buffer((const unsigned char *)p, (int)(e - p),
							      WOLFSSL_FILETYPE_PEM);
		if (out[n] == NULL)
			break;
		n++;
		p = e;
	}
	return n;
}

/*
 * Certificate i's chain file: each certificate issued (names and signature)
 * by the one after it, so that clients can build the path we send. 0, or
 * -EINVAL with the place it breaks.
 */
static int
tls_chain_check(const struct cfg_tls *t, unsigned i, char *err, size_t errlen)
{
	WOLFSSL_X509 *c[10];
	unsigned n = tls_pem_certs(t->certs[i].cert, c, RTE_DIM(c));
	int rc = 0;

	for (unsigned k = 0; k + 1 < n && rc == 0; k++) {
		WOLFSSL_EVP_PKEY *pk = wolfSSL_X509_get_pubkey(c[k + 1]);
		if (wolfSSL_X509_check_issued(c[k + 1], c[k]) != X509_V_OK || pk == NULL ||
		    wolfSSL_X509_verify(c[k], pk) != WOLFSSL_SUCCESS) {
			char subj[256], issuer[256];
			wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(c[k]), subj, (int)sizeof(subj));
			wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(c[k + 1]), issuer, (int)sizeof(issuer));
			snprintf(err, errlen, "tls.certificates.[%u].cert: %s: wrong chain: certificate %u (%s) is "
				 "not issued by certificate %u after it (%s)", i, t->certs[i].cert, k + 1, subj, k + 2,
				 issuer);
			rc = -EINVAL;
		}
		if (pk != NULL)
			wolfSSL_EVP_PKEY_free(pk);
	}
	for (unsigned k = 0; k < n; k++)
		wolfSSL_X509_free(c[k]);
	return rc;
}

/* The outbound context: TLS 1.2+, our suites and curves, trust anchors, our client certificate. */
static int
tls_client_ctx(struct tls_gen *g, const struct cfg_tls *t, char *err, size_t errlen)
{
	g->client = wolfSSL_CTX_new(wolfSSLv23_client_method());
	if (g->client == NULL) {
		snprintf(err, errlen, "tls: cannot create a wolfSSL client context");
		return -ENOMEM;
	}
	if (wolfSSL_CTX_SetMinVersion(g->client, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS)
		return -EINVAL;
	if (t->curves[0]) {
		char curves[CFG_TLS_LIST_LEN];
		snprintf(curves, sizeof(curves), "%s", t->curves);
		wolfSSL_CTX_set1_curves_list(g->client, curves);
	}
	if (t->client_ca_file[0] && access(t->client_ca_file, R_OK) == 0 &&
	    wolfSSL_CTX_load_verify_locations(g->client, t->client_ca_file, NULL) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "tls.client.ca_file: %s: no usable CA certificate in it", t->client_ca_file);
		return -EINVAL;
	}
	if (t->client_cert[0] &&
	    (wolfSSL_CTX_use_certificate_chain_file(g->client, t->client_cert) != WOLFSSL_SUCCESS ||
	     wolfSSL_CTX_use_PrivateKey_file(g->client, t->client_key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
	     wolfSSL_CTX_check_private_key(g->client) != WOLFSSL_SUCCESS)) {
		snprintf(err, errlen, "tls.client: %s / %s: not a usable certificate and key pair",
			 t->client_cert, t->client_key);
		return -EINVAL;
	}
	wolfSSL_CTX_set_verify(g->client, WOLFSSL_VERIFY_PEER, tls_verify_cb);
	return 0;
}

/* Describe the leaf of a PEM chain file for the console, and its identities (for SNI); false if unreadable. */
static bool
tls_cert_describe(const char *path, struct tls_cert_view *v, struct tls_names *names)
{
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(path, WOLFSSL_FILETYPE_PEM);
	unsigned char md[32];
	unsigned int mdlen = 0;
	struct tm tm;

	memset(v, 0, sizeof(*v));
	snprintf(v->path, sizeof(v->path), "%s", path);
	tls_names_of_x509(x, names);
	if (x == NULL)
		return false;
	wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(x), v->subject, (int)sizeof(v->subject));
	wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_issuer_name(x), v->issuer, (int)sizeof(v->issuer));
	tls_x509_sans(x, v->sans, sizeof(v->sans));
	WOLFSSL_EVP_PKEY *pk = wolfSSL_X509_get_pubkey(x);
	snprintf(v->key, sizeof(v->key), "%s-%d", wolfSSL_X509_get_pubkey_type(x) == ECDSAk ? "ECDSA" : "RSA",
		 pk ? wolfSSL_EVP_PKEY_bits(pk) : 0);
	if (pk != NULL)
		wolfSSL_EVP_PKEY_free(pk);
	if (wolfSSL_X509_digest(x, wolfSSL_EVP_sha256(), md, &mdlen) == WOLFSSL_SUCCESS)
		for (unsigned i = 0; i < mdlen && i < 32; i++)
			snprintf(v->sha256 + 3 * i, sizeof(v->sha256) - 3 * i, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	if (tls_x509_not_after(x, &tm)) {
		strftime(v->not_after, sizeof(v->not_after), "%Y-%m-%d %H:%M:%S UTC", &tm);
		v->days_left = (long)((timegm(&tm) - time(NULL)) / 86400);
	}
	wolfSSL_X509_free(x);
	return true;
}

static uint64_t tls_gen_serial;         /* generations made so far (control plane) */

unsigned
tls_gen_certs(const struct tls_gen *g, struct tls_cert_view *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; g != NULL && i < g->n_server && n < max; i++)
		out[n++] = g->certs[i];
	return n;
}

struct tls_gen *
tls_gen_create(const struct gw_config *cfg, char *err, size_t errlen)
{
	const struct cfg_tls *t = &cfg->tls;
	struct tls_gen *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, errlen, "tls: out of memory");
		return NULL;
	}
	g->serial = __atomic_add_fetch(&tls_gen_serial, 1, __ATOMIC_RELAXED);
	if (tls_client_ctx(g, t, err, errlen) != 0) {
		tls_gen_free(g);
		return NULL;
	}
	if (!t->enabled || t->n_certs == 0)
		return g;
	for (unsigned i = 0; i < t->n_certs; i++) {
		WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLS_server_method());
		if (ctx == NULL) {
			snprintf(err, errlen, "tls: cannot create a wolfSSL context");
			tls_gen_free(g);
			return NULL;
		}
		g->server[g->n_server++] = ctx;
		if (tls_ctx_policy(ctx, t, err, errlen) != 0 || tls_chain_check(t, i, err, errlen) != 0 ||
		    tls_ctx_certs(ctx, t, i, err, errlen) != 0) {
			tls_gen_free(g);
			return NULL;
		}
		tls_ctx_resumption(ctx, t);
		tls_cert_describe(t->certs[i].cert, &g->certs[i], &g->names[i]);
		g->server_ecdsa[i] = strncmp(g->certs[i].key, "ECDSA", 5) == 0;
	}
	g->server_ready = true;
	return g;
}

void
tls_gen_free(struct tls_gen *g)
{
	if (g == NULL)
		return;
	for (unsigned i = 0; i < g->n_server; i++)
		wolfSSL_CTX_free(g->server[i]);
	if (g->client != NULL)
		wolfSSL_CTX_free(g->client);
	free(g);
}

bool
tls_gen_server_ready(const struct tls_gen *g)
{
	return g != NULL && g->server_ready;
}

/* ---- pool ---- */

int
tls_worker_init(struct worker *w, unsigned slots)
{
	struct tls_pool *p = rte_zmalloc("tls", sizeof(*p), RTE_CACHE_LINE_SIZE);

	if (p == NULL)
		return -ENOMEM;
	p->slots = rte_zmalloc("tls_slots", (size_t)slots * sizeof(struct tls_stream), RTE_CACHE_LINE_SIZE);
	if (p->slots == NULL) {
		rte_free(p);
		return -ENOMEM;
	}
	p->n = slots;
	p->out_cache = tls_cache_create(TLS_CLIENT_CACHE, true);
	if (w->cfg->tls.session_cache_size > 0)
		p->in_cache = tls_cache_create(w->cfg->tls.session_cache_size, true);
	if (p->out_cache == NULL || (w->cfg->tls.session_cache_size > 0 && p->in_cache == NULL)) {
		tls_cache_free(p->in_cache);
		tls_cache_free(p->out_cache);
		rte_free(p->slots);
		rte_free(p);
		return -ENOMEM;
	}
	for (unsigned i = slots; i-- > 0;) {
		p->slots[i].next_free = p->free;
		p->free = &p->slots[i];
	}
	w->tls = p;
	return 0;
}

void
tls_worker_fini(struct worker *w)
{
	struct tls_pool *p = w->tls;

	if (p == NULL)
		return;
	for (unsigned i = 0; i < p->n; i++)
		if (p->slots[i].ssl != NULL)
			wolfSSL_free(p->slots[i].ssl);
	tls_cache_free(p->in_cache);
	tls_cache_free(p->out_cache);
	rte_free(p->slots);
	rte_free(p);
	w->tls = NULL;
}

static void
tls_release(struct tls_stream *ts)
{
	struct tls_pool *p = ts->w->tls;

	tls_client_keep(ts);
	if (ts->ssl != NULL)
		wolfSSL_free(ts->ssl);
	ts->ssl = NULL;
	ts->low = NULL;
	ts->state = TLS_ST_FREE;
	ts->next_free = p->free;
	p->free = ts;
}

/* ---- wolfSSL I/O on the lower stream ---- */

/* The ClientHello gathered so far: a TLS handshake record? Which version does it offer? */
static void
tls_inspect_head(struct tls_stream *ts)
{
	const uint8_t *h = ts->hello;

	if (ts->hello_len >= 1 && h[0] != 22)   /* not a handshake record: plaintext */
		ts->fail = TLS_F_NOT_TLS;
	else if (ts->hello_len >= 11 && h[5] == 1)      /* ClientHello: client_version */
		ts->info.offered_version = (uint16_t)(h[9] << 8 | h[10]);
}

static int
tls_io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_stream *ts = ctx;
	(void)ssl;

	if (ts->hello_off < ts->hello_len) {     /* the ClientHello we read to choose a certificate */
		int n = RTE_MIN(sz, (int)(ts->hello_len - ts->hello_off));
		memcpy(buf, ts->hello + ts->hello_off, (size_t)n);
		ts->hello_off = (uint16_t)(ts->hello_off + n);
		return n;
	}
	if (ts->low == NULL)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	ssize_t n = stream_read(ts->low, buf, (size_t)sz);
	if (n > 0) {
		return (int)n;          /* a server's first bytes were inspected by tls_gather_hello() */
	}
	if (stream_eof(ts->low))
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	return WOLFSSL_CBIO_ERR_WANT_READ;
}

/*
 * Once open: all of buf is taken, straight to the lower stream or behind
 * what is held. More than TLS_HELD_MAX to hold (a peer that keeps asking for
 * KeyUpdates while we cannot send) closes the connection: never WANT_WRITE.
 */
static int
tls_io_send_open(struct tls_stream *ts, const uint8_t *buf, size_t sz)
{
	size_t n = 0;

	if (ts->held_len == 0) {
		ssize_t r = stream_write(ts->low, buf, sz);
		if (r < 0) {
			ts->wr_failed = true;
			return WOLFSSL_CBIO_ERR_CONN_CLOSE;
		}
		if ((size_t)r == sz)
			return (int)sz;
		n = (size_t)r;
	}
	if (ts->held_len + (sz - n) > sizeof(ts->held)) {
		ts->wr_failed = true;
		ts->w->ctr[0][STATS_TLS_WRITE_OVERFLOW]++;
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	}
	memcpy(ts->held + ts->held_len, buf + n, sz - n);
	ts->held_len = (uint16_t)(ts->held_len + (sz - n));
	ts->w->ctr[0][STATS_TLS_WRITE_HELD]++;
	return (int)sz;
}

static int
tls_io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct tls_stream *ts = ctx;
	(void)ssl;

	if (ts->low == NULL || ts->wr_failed)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	if (ts->state == TLS_ST_OPEN)
		return tls_io_send_open(ts, (const uint8_t *)buf, (size_t)sz);
	ssize_t n = stream_write(ts->low, buf, (size_t)sz);
	if (n < 0)
		return WOLFSSL_CBIO_ERR_CONN_CLOSE;
	if (n == 0) {
		ts->io_want_write = true;
		return WOLFSSL_CBIO_ERR_WANT_WRITE;
	}
	return (int)n;
}

/* ---- handshake ---- */

static enum tls_fail
tls_classify(struct tls_stream *ts, int err)
{
	WOLFSSL_ALERT_HISTORY h;

	if (ts->fail != TLS_F_NONE)
		return ts->fail;
	/*
	 * A fatal alert from the peer, whatever error wolfSSL reports with it.
	 * (wolfSSL 5.5.4 fails a TLS 1.3 client's encrypted alert during the
	 * handshake with PARSE_ERROR before recording it: counted as other.)
	 */
	if (wolfSSL_get_alert_history(ts->ssl, &h) == WOLFSSL_SUCCESS && h.last_rx.level == alert_fatal)
		return TLS_F_PEER_ALERT;
	switch (err) {
	case VERSION_ERROR:
		return TLS_F_VERSION;
	case MATCH_SUITE_ERROR:
		return ts->info.offered_version != 0 && ts->info.offered_version < 0x0303 ?
		       TLS_F_VERSION : TLS_F_CIPHER;
	case FATAL_ERROR:
		return TLS_F_PEER_ALERT;
	case SOCKET_PEER_CLOSED_E:
	case SOCKET_ERROR_E:
		return TLS_F_CLOSED;
	default:
		/* a ClientHello below TLS 1.2 fails in several ways inside wolfSSL */
		if (ts->info.offered_version != 0 && ts->info.offered_version < 0x0303)
			return TLS_F_VERSION;
		return TLS_F_OTHER;
	}
}

/* A configured "*.suffix" against one certificate name: the same pattern, or one label + ".suffix". */
static bool
tls_wild_match(const char *pattern, const char *name)
{
	const char *suffix = pattern + 1;               /* ".suffix" */
	size_t ls = strlen(suffix), ln = strlen(name);

	if (strcasecmp(pattern, name) == 0)
		return true;
	if (ln <= ls || strcasecmp(name + ln - ls, suffix) != 0)
		return false;
	return memchr(name, '.', ln - ls) == NULL && name[0] != '*';
}

/*
 * Whether the peer certificate carries one of the expected names (RFC 6125):
 * a host name (the certificate's own wildcards honoured by wolfSSL), an IPv4
 * literal (an IP SAN), or a configured "*.suffix" (any one-label name under
 * it, matched here against the certificate's identities, tls_names.h: not
 * an email SAN, nor a dNSName cut at a NUL).
 */
static bool
tls_names_match(WOLFSSL_X509 *peer, const char *const *names, unsigned n)
{
	struct tls_names ids;
	unsigned n_sans = tls_names_of_x509(peer, &ids);

	for (unsigned k = 0; k < n; k++) {
		uint32_t ip;
		if (config_parse_ipv4(names[k], &ip) == 0) {
			if (wolfSSL_X509_check_ip_asc(peer, names[k], 0) == WOLFSSL_SUCCESS)
				return true;
		} else if (names[k][0] == '*' && names[k][1] == '.') {
			for (unsigned j = 0; j < n_sans; j++)
				if (tls_wild_match(names[k], tls_names_get(&ids, j)))
					return true;
		} else if (wolfSSL_X509_check_host(peer, names[k], strlen(names[k]), 0, NULL) == WOLFSSL_SUCCESS) {
			return true;
		}
	}
	return false;
}

/* Symmetric key bits from a suite name (every suite we allow is AES-GCM or ChaCha20). */
static int
tls_cipher_bits(const char *name)
{
	if (name == NULL)
		return 0;
	if (strstr(name, "AES128") != NULL || strstr(name, "AES_128") != NULL)
		return 128;
	if (strstr(name, "AES256") != NULL || strstr(name, "AES_256") != NULL || strstr(name, "CHACHA20") != NULL)
		return 256;
	return 0;
}

/* A resumed session: the certificate facts of the full handshake that made it. */
static void
tls_info_restore(struct tls_info *i, const struct tls_info *full)
{
	i->peer_cert = full->peer_cert;
	i->peer_verified = full->peer_verified;
	i->verify_err = full->verify_err;
	i->verify_text = full->verify_text;
	i->name_ok = full->name_ok;
	memcpy(i->peer_subject, full->peer_subject, sizeof(i->peer_subject));
	i->peer_names = full->peer_names;
	memcpy(i->peer_spki, full->peer_spki, sizeof(i->peer_spki));
	i->peer_not_after = full->peer_not_after;
}

/*
 * After the handshake: version, suite, group, and the peer's certificate.
 * A resumed handshake shows no certificate: its facts are those the full
 * handshake recorded with the session (a ticket resumption has none: tickets
 * of sessions with a client certificate are refused).
 */
static void
tls_fill_info(struct tls_stream *ts)
{
	struct tls_info *i = &ts->info;

	i->version = wolfSSL_get_version(ts->ssl);
	i->cipher = wolfSSL_get_cipher_name(ts->ssl);
	i->bits = tls_cipher_bits(i->cipher);
	i->resumed = wolfSSL_session_reused(ts->ssl) != 0;
	i->curve = wolfSSL_get_curve_name(ts->ssl);
	if (i->resumed) {
		if (ts->have_cached)
			tls_info_restore(i, &ts->cached);
		else
			i->peer_cert = i->peer_verified = i->name_ok = false;
		return;
	}
	tls_peer_facts(ts->ssl, i);
	if (ts->server) {                       /* names refused as identities (tls_names.h) */
		ts->w->ctr[0][STATS_TLS_PEER_NAME_INVALID] += i->peer_names.invalid;
		ts->w->ctr[0][STATS_TLS_PEER_NAMES_OVER] += i->peer_names.over;
	}
	if (!ts->server && i->peer_cert) {
		WOLFSSL_X509 *peer = wolfSSL_get_peer_certificate(ts->ssl);
		i->name_ok = peer != NULL && tls_names_match(peer, ts->copts.names, ts->copts.n_names);
		if (peer != NULL)
			wolfSSL_X509_free(peer);
	}
}

/* The handshake failed: tell the layer above (closed) and let the lower stream go. */
static void
tls_handshake_failed(struct tls_stream *ts, enum tls_fail why)
{
	struct stream *low = ts->low;

	ts->fail = why;
	ts->state = TLS_ST_FAILED;
	if (low != NULL) {
		low->ops = &tls_lower_ops;
		low->ctx = NULL;                /* the lower stream's own events now go nowhere */
		stream_shutdown(low);           /* after wolfSSL's alert */
		ts->low = NULL;
	}
	if (ts->up.ops != NULL && ts->up.ops->closed != NULL)
		ts->up.ops->closed(&ts->up, STREAM_ABORTED);
	tls_release(ts);
}

/* Drive the handshake; true once it is done (connected was called). */
static bool
tls_handshake(struct tls_stream *ts)
{
	ts->io_want_write = false;
	int ret = ts->server ? wolfSSL_accept(ts->ssl) : wolfSSL_connect(ts->ssl);

	if (ret == WOLFSSL_SUCCESS) {
		ts->state = TLS_ST_OPEN;
		ts->opened = true;
		tls_fill_info(ts);
		if (ts->up.ops != NULL && ts->up.ops->connected != NULL)
			ts->up.ops->connected(&ts->up);
		return true;
	}
	int err = wolfSSL_get_error(ts->ssl, ret);
	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
		return false;
	/*
	 * wolfSSL 5.5.4, TLS 1.3 accept and connect: when the flight buffered by
	 * an earlier WANT_WRITE meets WANT_WRITE again, it returns a fatal error
	 * with ssl->error 0 (`ssl->error = ret`, ret still 0). The output is
	 * still buffered and the next call sends it: wait for writable.
	 */
	if (err == WOLFSSL_ERROR_NONE && ts->io_want_write)
		return false;
	ts->info.lib_err = err;
	tls_handshake_failed(ts, tls_classify(ts, err));
	return false;
}

/* ---- choosing our certificate from the ClientHello ---- */

static uint16_t
tls_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The parts of a ClientHello record (rec[0..len)) we look at: the cipher
 * suites [*cs, *cs_end) and the extensions [*ext, *ext_end) (empty when it
 * has none); *cut: rec holds less than the record's header says (an
 * extension not found may be in the part missing). False for anything that
 * is not a ClientHello we can parse.
 */
static bool
tls_hello_parts(const uint8_t *rec, size_t len, size_t *cs, size_t *cs_end, size_t *ext, size_t *ext_end,
		bool *cut)
{
	size_t o = 5 + 4 + 2 + 32;              /* record hdr, handshake hdr, version, random */

	if (len < o + 1 || rec[0] != 22 || rec[5] != 1)
		return false;
	*cut = len < 5u + tls_be16(rec + 3);
	o += 1 + rec[o];                        /* session id */
	if (o + 2 > len)
		return false;
	*cs = o + 2;
	*cs_end = *cs + tls_be16(rec + o);
	if (*cs_end > len)
		return false;
	o = *cs_end;
	if (o + 1 > len)
		return false;
	o += 1 + rec[o];                        /* compression methods */
	*ext = *ext_end = o;
	if (o + 2 <= len) {
		*ext = o + 2;
		*ext_end = RTE_MIN(len, *ext + tls_be16(rec + o));
	}
	return true;
}

/* Extension type in [ext, ext_end): its data and length, or NULL. */
static const uint8_t *
tls_hello_ext(const uint8_t *rec, size_t ext, size_t ext_end, uint16_t type, size_t *dlen)
{
	for (size_t o = ext; o + 4 <= ext_end;) {
		size_t elen = tls_be16(rec + o + 2);
		if (o + 4 + elen > ext_end)
			return NULL;
		if (tls_be16(rec + o) == type) {
			*dlen = elen;
			return rec + o + 4;
		}
		o += 4 + elen;
	}
	return NULL;
}

/*
 * Whether the client can take an ECDSA certificate: it offers an ECDSA
 * signature algorithm (or sends none: TLS 1.2's default allows ECDSA) and
 * either a TLS 1.3 suite or an ECDHE-ECDSA suite. rec is the whole record.
 * Returns false for anything it cannot parse.
 */
bool
tls_hello_takes_ecdsa(const uint8_t *rec, size_t len)
{
	bool tls13 = false, ecdsa12 = false, ecdsa_sig = true, cut;
	size_t cs, cs_end, ext, ext_end, dlen;

	if (!tls_hello_parts(rec, len, &cs, &cs_end, &ext, &ext_end, &cut))
		return false;
	for (size_t i = cs; i + 1 < cs_end; i += 2) {
		uint16_t c = tls_be16(rec + i);
		tls13 |= c >= 0x1301 && c <= 0x1303;
		ecdsa12 |= c == 0xC02B || c == 0xC02C || c == 0xCCA9;
	}
	const uint8_t *d = tls_hello_ext(rec, ext, ext_end, 13, &dlen);        /* signature_algorithms */
	if (d == NULL && cut)
		return false;           /* not seen, maybe in the part missing: not "none listed" */
	if (d != NULL && dlen >= 2) {
		ecdsa_sig = false;
		for (size_t i = 2; i + 1 < dlen && i < 2u + tls_be16(d); i += 2)
			ecdsa_sig |= d[i + 1] == 3 && d[i] >= 4 && d[i] <= 6;
	}
	return ecdsa_sig && (tls13 || ecdsa12);
}

size_t
tls_hello_sni(const uint8_t *rec, size_t len, char *out, size_t outlen)
{
	size_t cs, cs_end, ext, ext_end, dlen;
	const uint8_t *d;
	bool cut;

	if (outlen > 0)
		out[0] = '\0';
	if (!tls_hello_parts(rec, len, &cs, &cs_end, &ext, &ext_end, &cut) ||
	    (d = tls_hello_ext(rec, ext, ext_end, 0, &dlen)) == NULL || dlen < 5)     /* server_name */
		return 0;
	size_t list = RTE_MIN((size_t)tls_be16(d), dlen - 2);
	for (size_t o = 2; o + 3 <= 2 + list;) {
		size_t nlen = tls_be16(d + o + 1);
		if (o + 3 + nlen > 2 + list)
			return 0;
		if (d[o] == 0) {                        /* host_name */
			if (nlen == 0 || nlen >= outlen)
				return 0;
			for (size_t i = 0; i < nlen; i++)
				if (d[o + 3 + i] <= ' ' || d[o + 3 + i] >= 0x7f)    /* a DNS name: nothing else */
					return 0;               /* out stays "" */
			memcpy(out, d + o + 3, nlen);
			out[nlen] = '\0';
			return nlen;
		}
		o += 3 + nlen;
	}
	return 0;
}

/* Whether certificate i of g carries the host name sni (a "*.suffix" of its own covers one label). */
static bool
tls_cert_serves(const struct tls_gen *g, unsigned i, const char *sni)
{
	const char *dot = strchr(sni, '.');

	for (unsigned k = 0; k < g->names[i].n; k++) {
		const char *n = tls_names_get(&g->names[i], k);
		if (strcasecmp(n, sni) == 0 ||
		    (n[0] == '*' && n[1] == '.' && dot != NULL && dot != sni && strcasecmp(dot, n + 1) == 0))
			return true;
	}
	return false;
}

/*
 * Our certificate for this client in the current generation: one whose key
 * type it takes, then one with the host name it asked for by SNI, then
 * ECDSA over RSA when it takes both, then the first configured.
 */
static WOLFSSL_CTX *
tls_choose_ctx(const struct tls_stream *ts, const struct tls_gen *g)
{
	bool ecdsa = tls_hello_takes_ecdsa(ts->hello, ts->hello_len);
	char sni[256];
	bool by_name = tls_hello_sni(ts->hello, ts->hello_len, sni, sizeof(sni)) > 0;
	unsigned best = 0;
	int best_score = -1;

	for (unsigned i = 0; i < g->n_server; i++) {
		int score = (ecdsa || !g->server_ecdsa[i]) * 4 + (by_name && tls_cert_serves(g, i, sni)) * 2 +
			    (g->server_ecdsa[i] == ecdsa);
		if (score > best_score) {
			best = i;
			best_score = score;
		}
	}
	return g->server[best];
}

/* Gather the ClientHello record; then make the wolfSSL object for the chosen certificate. */
static bool
tls_gather_hello(struct tls_stream *ts)
{
	ssize_t n = stream_read(ts->low, ts->hello + ts->hello_len, sizeof(ts->hello) - ts->hello_len);

	if (n > 0) {
		ts->hello_len = (uint16_t)(ts->hello_len + n);
		tls_inspect_head(ts);
	}
	if (ts->fail == TLS_F_NOT_TLS) {
		tls_handshake_failed(ts, TLS_F_NOT_TLS);
		return false;
	}
	if (ts->hello_len < 5 || (ts->hello_len < 5u + tls_be16(ts->hello + 3) && ts->hello_len < sizeof(ts->hello))) {
		if (n <= 0 && stream_eof(ts->low))
			tls_handshake_failed(ts, TLS_F_CLOSED);
		return false;                   /* more to come */
	}
	const struct tls_gen *g = gw_tls(ts->w->gw);
	if (!tls_gen_server_ready(g)) {
		tls_handshake_failed(ts, TLS_F_OTHER);
		return false;
	}
	/* wolfSSL counts the context's references: a reload frees the old one after the last session. */
	ts->gen = g->serial;
	ts->ssl = wolfSSL_new(tls_choose_ctx(ts, g));
	if (ts->ssl == NULL) {
		tls_handshake_failed(ts, TLS_F_OTHER);
		return false;
	}
	wolfSSL_SetCertCbCtx(ts->ssl, ts);     /* the verify callback records into this session */
	wolfSSL_SSLSetIORecv(ts->ssl, tls_io_recv);
	wolfSSL_SSLSetIOSend(ts->ssl, tls_io_send);
	wolfSSL_SetIOReadCtx(ts->ssl, ts);
	wolfSSL_SetIOWriteCtx(ts->ssl, ts);
	ts->state = TLS_ST_HANDSHAKE;
	return true;
}

/* ---- events from the lower stream ---- */

static void
tls_low_readable(struct stream *low)
{
	struct tls_stream *ts = low->ctx;

	if (ts == NULL) {                       /* after a failed handshake: drain */
		char sink[256];
		while (stream_read(low, sink, sizeof(sink)) > 0)
			;
		return;
	}
	if (ts->state == TLS_ST_HELLO && !tls_gather_hello(ts))
		return;
	if (ts->state == TLS_ST_HANDSHAKE) {
		if (!tls_handshake(ts))
			return;
	}
	if (ts->state == TLS_ST_OPEN && ts->up.ops != NULL && ts->up.ops->readable != NULL)
		ts->up.ops->readable(&ts->up);
}

static void
tls_low_writable(struct stream *low)
{
	struct tls_stream *ts = low->ctx;

	if (ts == NULL)
		return;
	if (ts->state == TLS_ST_HANDSHAKE) {
		if (!tls_handshake(ts))
			return;
	}
	if (ts->state == TLS_ST_OPEN && tls_flush_pending(ts) == 0)
		return;                         /* still short: the lower stream says when */
	if (ts->state == TLS_ST_OPEN && ts->up.ops != NULL && ts->up.ops->writable != NULL)
		ts->up.ops->writable(&ts->up);
}

static void
tls_low_closed(struct stream *low, enum stream_close_reason why)
{
	struct tls_stream *ts = low->ctx;

	if (ts == NULL)
		return;
	ts->low = NULL;
	if (ts->state == TLS_ST_HANDSHAKE || ts->state == TLS_ST_HELLO) {
		ts->fail = TLS_F_CLOSED;
		ts->state = TLS_ST_FAILED;
	}
	if (ts->up.ops != NULL && ts->up.ops->closed != NULL)
		ts->up.ops->closed(&ts->up, why);
	tls_release(ts);
}

static const struct stream_ops tls_lower_ops = {
	.readable = tls_low_readable,
	.writable = tls_low_writable,
	.closed = tls_low_closed,
};

/* ---- the stream above ---- */

static ssize_t
tls_read(struct stream *s, void *buf, size_t len)
{
	struct tls_stream *ts = tls_of(s);

	if (ts->state != TLS_ST_OPEN || len == 0)
		return 0;
	int n = wolfSSL_read(ts->ssl, buf, (int)RTE_MIN(len, (size_t)INT32_MAX));
	if (n > 0)
		return n;
	int err = wolfSSL_get_error(ts->ssl, n);
	if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
		ts->eof = true;                 /* close_notify, the peer's EOF, or a broken record */
	return 0;
}

static size_t
tls_write_space(const struct stream *s)
{
	const struct tls_stream *ts = (const struct tls_stream *)s;

	if (ts->state != TLS_ST_OPEN || ts->low == NULL || ts->held_len != 0 || ts->shut_pending)
		return 0;
	size_t low = stream_write_space(ts->low);
	size_t overhead = TLS_RECORD_OVERHEAD * (low / TLS_WRITE_CHUNK + 1);
	return low > overhead ? low - overhead : 0;
}

/* Ciphertext we hold plus what the connection below has not had acknowledged. */
static size_t
tls_unacked(const struct stream *s)
{
	const struct tls_stream *ts = (const struct tls_stream *)s;

	return ts->held_len + (ts->low != NULL ? stream_unacked(ts->low) : 0);
}

/* close_notify, then FIN once no ciphertext is held (else on a later flush). */
static int
tls_shutdown_now(struct tls_stream *ts)
{
	if (!ts->notify_sent && ts->state == TLS_ST_OPEN && !ts->wr_failed) {
		ts->notify_sent = true;
		wolfSSL_shutdown(ts->ssl);      /* close_notify; we do not wait for the peer's */
	}
	ts->shut_pending = ts->held_len != 0 && !ts->wr_failed;
	return ts->shut_pending ? 0 : stream_shutdown(ts->low);
}

/* Send the held ciphertext. 1: nothing held (any more), 0: still some, -1: the stream failed. */
static int
tls_flush_pending(struct tls_stream *ts)
{
	if (ts->wr_failed)
		return -1;
	if (ts->held_len == 0)
		return 1;
	ssize_t n = stream_write(ts->low, ts->held, ts->held_len);
	if (n < 0) {
		ts->wr_failed = true;
		return -1;
	}
	memmove(ts->held, ts->held + n, ts->held_len - (size_t)n);
	ts->held_len = (uint16_t)(ts->held_len - (size_t)n);
	if (ts->held_len != 0)
		return 0;
	if (ts->shut_pending && ts->low != NULL)
		tls_shutdown_now(ts);
	return 1;
}

static ssize_t
tls_write(struct stream *s, const void *buf, size_t len)
{
	struct tls_stream *ts = tls_of(s);
	size_t done = 0;

	if (ts->state != TLS_ST_OPEN || ts->low == NULL)
		return ts->state == TLS_ST_OPEN ? 0 : -EPIPE;
	if (ts->shut_pending || tls_flush_pending(ts) < 0)
		return -EPIPE;
	size_t n = RTE_MIN(len, tls_write_space(s));
	ts->hello_len = ts->hello_off = 0;      /* held shares its bytes */
	while (done < n && ts->held_len == 0) { /* a record is all taken, or the stream failed */
		int chunk = (int)RTE_MIN(n - done, (size_t)TLS_WRITE_CHUNK);
		int r = wolfSSL_write(ts->ssl, (const uint8_t *)buf + done, chunk);
		if (r != chunk) {
			ts->wr_failed = true;
			return done != 0 ? (ssize_t)done : -EPIPE;
		}
		done += (size_t)r;
	}
	if (done < len || len == 0)
		stream_write(ts->low, "", 0);   /* ask the lower stream for a writable event */
	return (ssize_t)done;
}

static size_t
tls_read_avail(const struct stream *s)
{
	const struct tls_stream *ts = (const struct tls_stream *)s;

	if (ts->state != TLS_ST_OPEN)
		return 0;
	return (size_t)wolfSSL_pending(ts->ssl) + (ts->low ? stream_read_avail(ts->low) : 0);
}

static bool
tls_eof(const struct stream *s)
{
	const struct tls_stream *ts = (const struct tls_stream *)s;

	return ts->eof || ts->low == NULL ||
	       (stream_eof(ts->low) && wolfSSL_pending(ts->ssl) == 0);
}

static int
tls_shutdown(struct stream *s)
{
	struct tls_stream *ts = tls_of(s);

	if (ts->low == NULL)
		return -ENOTCONN;
	if (ts->held_len != 0 && !ts->wr_failed) {
		ts->shut_pending = true;        /* the held ciphertext first, then close_notify and FIN */
		return 0;
	}
	return tls_shutdown_now(ts);
}

static void
tls_abort(struct stream *s)
{
	struct tls_stream *ts = tls_of(s);

	if (ts->low != NULL) {
		ts->low->ctx = NULL;
		stream_abort(ts->low);
	}
	ts->low = NULL;
	tls_release(ts);
}

static const struct stream_impl tls_stream_impl = {
	.read = tls_read,
	.write = tls_write,
	.write_space = tls_write_space,
	.read_avail = tls_read_avail,
	.unacked = tls_unacked,
	.eof = tls_eof,
	.shutdown = tls_shutdown,
	.abort = tls_abort,
};

/* ---- starting ---- */

bool
tls_server_available(const struct worker *w, const struct tls_gen *g)
{
	const struct tls_pool *p = w->tls;

	return p != NULL && p->free != NULL && tls_gen_server_ready(g);
}

struct stream *
tls_server_start(struct worker *w, const struct tls_gen *g, struct stream *lower,
		 const struct stream_ops *ops, void *ctx)
{
	struct tls_pool *p = w->tls;
	struct tls_stream *ts;

	if (p == NULL || p->free == NULL || !tls_gen_server_ready(g))
		return NULL;
	ts = p->free;
	p->free = ts->next_free;
	memset(ts, 0, offsetof(struct tls_stream, hello));
	ts->w = w;
	ts->low = lower;
	ts->server = true;
	ts->state = TLS_ST_HELLO;
	ts->up = (struct stream){
		.impl = &tls_stream_impl, .ops = ops, .ctx = ctx, .worker = w,
		.remote_addr = lower->remote_addr, .remote_port = lower->remote_port,
		.local_addr = lower->local_addr, .local_port = lower->local_port,
	};
	lower->ops = &tls_lower_ops;
	lower->ctx = ts;
	/* The ClientHello arrives on the lower stream's next readable event. */
	return &ts->up;
}

struct stream *
tls_client_start(struct worker *w, const struct tls_gen *g, struct stream *lower,
		 const struct stream_ops *ops, void *ctx, const struct tls_client_opts *o)
{
	struct tls_pool *p = w->tls;
	struct tls_stream *ts;

	if (p == NULL || p->free == NULL || g == NULL || g->client == NULL)
		return NULL;
	WOLFSSL *ssl = wolfSSL_new(g->client);
	if (ssl == NULL)
		return NULL;
	if (o->sni != NULL && o->sni[0] != '\0')
		wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, o->sni, (unsigned short)strlen(o->sni));
	ts = p->free;
	p->free = ts->next_free;
	memset(ts, 0, offsetof(struct tls_stream, hello));
	ts->w = w;
	ts->gen = g->serial;            /* a session of another generation's trust anchors is not offered */
	tls_client_offer(ts, ssl, o->session_key);
	ts->ssl = ssl;
	ts->low = lower;
	ts->server = false;
	ts->copts = *o;
	ts->copts.n_names = RTE_MIN(o->n_names, (unsigned)TLS_MAX_NAMES);
	for (unsigned i = 0; i < ts->copts.n_names; i++)
		ts->names[i] = o->names[i];
	ts->copts.names = ts->names;
	ts->state = TLS_ST_HANDSHAKE;
	ts->up = (struct stream){
		.impl = &tls_stream_impl, .ops = ops, .ctx = ctx, .worker = w,
		.remote_addr = lower->remote_addr, .remote_port = lower->remote_port,
		.local_addr = lower->local_addr, .local_port = lower->local_port,
	};
	wolfSSL_SetCertCbCtx(ssl, ts);
	wolfSSL_SSLSetIORecv(ssl, tls_io_recv);
	wolfSSL_SSLSetIOSend(ssl, tls_io_send);
	wolfSSL_SetIOReadCtx(ssl, ts);
	wolfSSL_SetIOWriteCtx(ssl, ts);
	lower->ops = &tls_lower_ops;
	lower->ctx = ts;
	/* The ClientHello goes out now; a failure this early is reported on the next event. */
	int ret = wolfSSL_connect(ssl);
	if (ret != WOLFSSL_SUCCESS) {
		int err = wolfSSL_get_error(ssl, ret);
		if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
			ts->fail = TLS_F_OTHER;
	}
	return &ts->up;
}

const struct tls_info *
tls_stream_info(struct stream *s)
{
	if (s == NULL || s->impl != &tls_stream_impl)
		return NULL;
	return &tls_of(s)->info;
}

enum tls_fail
tls_stream_failure(struct stream *s)
{
	if (s == NULL || s->impl != &tls_stream_impl)
		return TLS_F_NONE;
	return tls_of(s)->fail;
}

const char *
tls_fail_text(enum tls_fail f)
{
	static const char *const text[TLS_F_COUNT] = {
		[TLS_F_NONE] = "none",
		[TLS_F_VERSION] = "protocol version below the TLS 1.2 floor",
		[TLS_F_CIPHER] = "no cipher suite in common (forward-secret AEAD only)",
		[TLS_F_NOT_TLS] = "not a TLS handshake (plaintext after STARTTLS)",
		[TLS_F_PEER_ALERT] = "the peer sent a fatal alert",
		[TLS_F_CLOSED] = "connection closed during the handshake",
		[TLS_F_TIMEOUT] = "handshake timed out",
		[TLS_F_OTHER] = "handshake failure",
	};
	return f < TLS_F_COUNT ? text[f] : "?";
}

const char *
tls_version_name(uint16_t v)
{
	switch (v) {
	case 0x0300: return "SSLv3";
	case 0x0301: return "TLSv1.0";
	case 0x0302: return "TLSv1.1";
	case 0x0303: return "TLSv1.2";
	case 0x0304: return "TLSv1.3";
	default: return "unknown";
	}
}
