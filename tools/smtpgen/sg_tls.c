/*
 * sg_tls.c — wolfSSL context set-up for smtpgen (sg_tls.h) and the sink's
 * ClientHello peek that chooses between an RSA and an ECDSA certificate.
 * Called at start-up by client.c / sink.c; sg_tls_pick() once per STARTTLS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn.h>

#include "tools/smtpgen/sg_tls.h"
#include "tools/smtpgen/sg_util.h"

enum sg_key_type sg_tls_cert_type(const char *file)
{
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(file, WOLFSSL_FILETYPE_PEM);
	int t;

	if (!x)
		return SG_KEY_OTHER;
	t = wolfSSL_X509_get_pubkey_type(x);
	wolfSSL_X509_free(x);
	return t == RSAk ? SG_KEY_RSA : t == ECDSAk ? SG_KEY_ECDSA : SG_KEY_OTHER;
}

static int sg_tls_load_pair(WOLFSSL_CTX *ctx, const char *cert, const char *key, char *err, size_t errlen)
{
	if (wolfSSL_CTX_use_certificate_chain_file(ctx, cert) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "cannot load certificate (chain) from %s", cert);
		return -EINVAL;
	}
	if (wolfSSL_CTX_use_PrivateKey_file(ctx, key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "cannot load private key from %s", key);
		return -EINVAL;
	}
	if (wolfSSL_CTX_check_private_key(ctx) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "key %s does not match certificate %s", key, cert);
		return -EINVAL;
	}
	return 0;
}

static WOLFSSL_METHOD *sg_tls_client_method(const char *version)
{
	if (!version)
		return wolfSSLv23_client_method();
	if (strcmp(version, "1.2") == 0)
		return wolfTLSv1_2_client_method();
	if (strcmp(version, "1.3") == 0)
		return wolfTLSv1_3_client_method();
	return NULL;
}

/*
 * Offer only these key-exchange groups. wolfSSL_CTX_set1_curves_list()
 * refuses a TLS 1.2-only context (it sets the TLS 1.3 key-share order too),
 * so there each group is added to supported_groups one by one.
 */
static int sg_tls_groups(WOLFSSL_CTX *ctx, const char *list, bool tls12_only)
{
	static const struct { const char *name; word16 id; } names[] = {
		{ "X25519", WOLFSSL_ECC_X25519 }, { "P-256", WOLFSSL_ECC_SECP256R1 },
		{ "P-384", WOLFSSL_ECC_SECP384R1 }, { "P-521", WOLFSSL_ECC_SECP521R1 },
	};
	const char *p = list;

	if (!tls12_only)
		return wolfSSL_CTX_set1_curves_list(ctx, list) == WOLFSSL_SUCCESS ? 0 : -EINVAL;
	while (*p) {
		size_t len = strcspn(p, ":"), i;

		for (i = 0; i < SG_ARRAY_SIZE(names); i++)
			if (strlen(names[i].name) == len && strncmp(p, names[i].name, len) == 0)
				break;
		if (i == SG_ARRAY_SIZE(names) || wolfSSL_CTX_UseSupportedCurve(ctx, names[i].id) != WOLFSSL_SUCCESS)
			return -EINVAL;
		p += len + (p[len] == ':');
	}
	return 0;
}

WOLFSSL_CTX *sg_tls_client_ctx(const struct sg_tls_client_opts *o, char *err, size_t errlen)
{
	WOLFSSL_METHOD *m = sg_tls_client_method(o->version);
	WOLFSSL_CTX *ctx;

	if (!m) {
		snprintf(err, errlen, "--tls-version: expected 1.2 or 1.3, got '%s'", o->version);
		return NULL;
	}
	ctx = wolfSSL_CTX_new(m);
	if (!ctx) {
		snprintf(err, errlen, "wolfSSL_CTX_new failed");
		return NULL;
	}
	if (!o->version)
		wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2);
	if (o->ca) {
		if (wolfSSL_CTX_load_verify_locations(ctx, o->ca, NULL) != WOLFSSL_SUCCESS) {
			snprintf(err, errlen, "cannot load CA file %s", o->ca);
			goto fail;
		}
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
	} else {
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	}
	if (o->cert && sg_tls_load_pair(ctx, o->cert, o->key, err, errlen))
		goto fail;
	if (o->ciphers && wolfSSL_CTX_set_cipher_list(ctx, o->ciphers) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "--ciphers: wolfSSL rejects '%s'", o->ciphers);
		goto fail;
	}
	if (o->sigalgs && wolfSSL_CTX_set1_sigalgs_list(ctx, o->sigalgs) != WOLFSSL_SUCCESS) {
		snprintf(err, errlen, "--sigalgs: wolfSSL rejects '%s'", o->sigalgs);
		goto fail;
	}
	if (o->groups && sg_tls_groups(ctx, o->groups, o->version && strcmp(o->version, "1.2") == 0)) {
		snprintf(err, errlen, "--groups: wolfSSL rejects '%s'", o->groups);
		goto fail;
	}
	wolfSSL_CTX_UseSessionTicket(ctx);
	return ctx;
fail:
	wolfSSL_CTX_free(ctx);
	return NULL;
}

static WOLFSSL_CTX *sg_tls_server_ctx(const struct sg_tls_server_opts *o, const char *cert,
                                      const char *key, char *err, size_t errlen)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfSSLv23_server_method());

	if (!ctx) {
		snprintf(err, errlen, "wolfSSL_CTX_new failed");
		return NULL;
	}
	wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2);
	if (sg_tls_load_pair(ctx, cert, key, err, errlen))
		goto fail;
	if (o->request_client_cert || o->require_client_cert) {
		if (!o->ca || wolfSSL_CTX_load_verify_locations(ctx, o->ca, NULL) != WOLFSSL_SUCCESS) {
			snprintf(err, errlen, "client certificates need --ca FILE (%s unreadable)",
			         o->ca ? o->ca : "none given");
			goto fail;
		}
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER |
		                       (o->require_client_cert ? WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), NULL);
	} else {
		wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	}
	wolfSSL_CTX_set_session_id_context(ctx, (const unsigned char *)"smtpgen", 7);
	return ctx;
fail:
	wolfSSL_CTX_free(ctx);
	return NULL;
}

int sg_tls_server_init(struct sg_tls_server *s, const struct sg_tls_server_opts *o, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->ctx[0] = sg_tls_server_ctx(o, o->cert, o->key, err, errlen);
	if (!s->ctx[0])
		return -EINVAL;
	s->type[0] = sg_tls_cert_type(o->cert);
	s->nctx = 1;
	if (o->cert2) {
		s->ctx[1] = sg_tls_server_ctx(o, o->cert2, o->key2, err, errlen);
		if (!s->ctx[1]) {
			sg_tls_server_free(s);
			return -EINVAL;
		}
		s->type[1] = sg_tls_cert_type(o->cert2);
		s->nctx = 2;
		if (s->type[0] == s->type[1]) {
			snprintf(err, errlen, "--cert and --cert2 have the same key type (%s): give one RSA and one ECDSA",
			         sg_key_name(s->type[0]));
			sg_tls_server_free(s);
			return -EINVAL;
		}
	}
	return 0;
}

void sg_tls_server_free(struct sg_tls_server *s)
{
	int i;

	for (i = 0; i < 2; i++)
		if (s->ctx[i])
			wolfSSL_CTX_free(s->ctx[i]);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------ ClientHello peek */

struct sg_hello {
	bool tls13, sig_ecdsa, sig_rsa, suite_ecdsa, suite_rsa, have_sigalgs;
};

static unsigned sg_be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }

static void sg_hello_suites(struct sg_hello *h, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2) {
		unsigned cs = sg_be16(p + i);

		/* ECDHE_ECDSA: C009 C00A C023 C024 C02B C02C C0AC..C0AF CCA9 */
		if (cs == 0xc009 || cs == 0xc00a || cs == 0xc023 || cs == 0xc024 || cs == 0xc02b ||
		    cs == 0xc02c || (cs >= 0xc0ac && cs <= 0xc0af) || cs == 0xcca9)
			h->suite_ecdsa = true;
		/* RSA key: ECDHE_RSA, DHE_RSA, static RSA (anything 00xx, C013/C014/C027/C028/C02F/C030, CCA8, CCAA) */
		else if (cs < 0x0100 || cs == 0xc013 || cs == 0xc014 || cs == 0xc027 || cs == 0xc028 ||
		         cs == 0xc02f || cs == 0xc030 || cs == 0xcca8 || cs == 0xccaa)
			h->suite_rsa = true;
	}
}

static void sg_hello_ext(struct sg_hello *h, unsigned type, const uint8_t *p, size_t n)
{
	size_t i;

	if (type == 13 && n >= 2) {                     /* signature_algorithms */
		h->have_sigalgs = true;
		for (i = 2; i + 1 < n && i < 2 + sg_be16(p); i += 2) {
			unsigned sa = sg_be16(p + i);

			if ((sa & 0xff) == 3 && sa >= 0x0203 && sa <= 0x0603)
				h->sig_ecdsa = true;            /* ecdsa_* */
			if ((sa & 0xff) == 1 || (sa >= 0x0804 && sa <= 0x0806) || (sa >= 0x0809 && sa <= 0x080b))
				h->sig_rsa = true;              /* rsa_pkcs1_*, rsa_pss_* */
		}
	} else if (type == 43 && n >= 1) {              /* supported_versions */
		for (i = 1; i + 1 < n && i < 1u + p[0]; i += 2)
			if (sg_be16(p + i) == 0x0304)
				h->tls13 = true;
	}
}

/* Parse a ClientHello body (after the 4-octet handshake header). */
static int sg_hello_parse(struct sg_hello *h, const uint8_t *p, size_t n)
{
	size_t i = 2 + 32, l;

	if (n < i + 1)
		return -EINVAL;
	i += 1 + p[i];                                  /* session id */
	if (n < i + 2 || n < i + 2 + sg_be16(p + i))
		return -EINVAL;
	sg_hello_suites(h, p + i + 2, sg_be16(p + i));
	i += 2 + sg_be16(p + i);
	if (n < i + 1)
		return -EINVAL;
	i += 1 + p[i];                                  /* compression methods */
	if (n < i + 2)
		return 0;                               /* no extensions */
	l = sg_be16(p + i);
	i += 2;
	if (n < i + l)
		return -EINVAL;
	n = i + l;
	while (i + 4 <= n) {
		unsigned type = sg_be16(p + i);
		size_t el = sg_be16(p + i + 2);

		if (i + 4 + el > n)
			return -EINVAL;
		sg_hello_ext(h, type, p + i + 4, el);
		i += 4 + el;
	}
	return 0;
}

int sg_tls_pick(const struct sg_tls_server *s, const uint8_t *rec, size_t n)
{
	struct sg_hello h;
	size_t rl, hl;
	bool ecdsa_ok, rsa_ok;
	int i, want;

	if (s->nctx < 2)
		return 0;
	if (n < 9)
		return -EAGAIN;
	rl = sg_be16(rec + 3);
	if (rec[0] != 22 || rec[5] != 1 || rl < 4)
		return 0;                               /* not a ClientHello record */
	hl = (size_t)rec[6] << 16 | (size_t)rec[7] << 8 | rec[8];
	if (hl + 4 > rl)
		return 0;                               /* fragmented hello: take the first */
	if (n < 5 + rl)
		return -EAGAIN;
	memset(&h, 0, sizeof(h));
	if (sg_hello_parse(&h, rec + 9, hl))
		return 0;
	if (h.tls13 || h.have_sigalgs) {
		ecdsa_ok = h.sig_ecdsa || !h.have_sigalgs;
		rsa_ok = h.sig_rsa || !h.have_sigalgs;
	} else {
		ecdsa_ok = rsa_ok = true;
	}
	if (!h.tls13) {                                 /* TLS 1.2: the suite decides as well */
		ecdsa_ok = ecdsa_ok && h.suite_ecdsa;
		rsa_ok = rsa_ok && h.suite_rsa;
	}
	want = ecdsa_ok ? SG_KEY_ECDSA : rsa_ok ? SG_KEY_RSA : SG_KEY_OTHER;
	for (i = 0; i < s->nctx; i++)
		if ((int)s->type[i] == want)
			return i;
	return 0;
}
