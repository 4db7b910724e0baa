/*
 * tls_prim.c — the wolfCrypt cost of one server-side TLS handshake, from our
 * static wolfSSL build (build/wolfssl, as mailgw links it): the public-key
 * primitives a handshake cannot avoid, and from them the handshakes per
 * second one core could do if it did nothing else. tools/bench/tls runs it
 * beside its mailgw and Postfix measurements ("% of crypto limit").
 *
 * Usage: bench-tls-prim [--quick | --seconds S] [--rsa-key PEM] [--ecdsa-key PEM] [--json]
 *
 * Primitives (each the best of 3 rounds of S/3 seconds; ops per second of
 * the thread's CPU time, so that preemption by other work does not count):
 *   x25519, p256-ecdhe   one ECDHE side: ephemeral key generation + shared secret
 *   ecdsa-p256-sign      sign a SHA-256 digest (ServerKeyExchange / CertificateVerify)
 *   rsa2048-pss-sign     RSA-PSS SHA-256 (TLS 1.3 always; TLS 1.2 when offered)
 *   rsa2048-pkcs1-sign   PKCS#1 v1.5 (TLS 1.2 without PSS)
 *   ecdsa-p256-verify, rsa2048-pss-verify   the client's side, for reference
 * Per handshake, server side: full (TLS 1.2 and 1.3) = ECDHE + signature;
 * TLS 1.3 resumption (psk_dhe_ke, what clients send) = ECDHE; TLS 1.2
 * resumption (ticket or session ID) = no public-key operation at all, only
 * hashing and a few hundred bytes of AEAD: no primitive bound is given.
 * The keys are the certificates' (--rsa-key, --ecdsa-key: PEM) or made here.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/curve25519.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/selftest.h"

#if !defined(HAVE_CURVE25519) || !defined(HAVE_ECC) || defined(NO_RSA) || !defined(WC_RSA_PSS)
#error "tls_prim needs X25519, ECC, RSA and RSA-PSS in the wolfSSL build"
#endif

#define PRIM_ROUNDS 3

struct prim_state {
	WC_RNG rng;
	ecc_key ecc, peer;              /* our certificate key; the client's ephemeral key */
	curve25519_key x_peer;
	RsaKey rsa;
	uint8_t hash[32], esig[128], sig[512], pss[512];
	word32 esig_len, pss_len;
};

typedef int (*prim_op)(struct prim_state *s);

struct prim {
	const char *name, *what;
	prim_op op;
	double per_s;                   /* best round */
};

static volatile uint8_t prim_sink;

static double prim_clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the operations ---- */

static int prim_x25519(struct prim_state *s)
{
	curve25519_key eph;
	uint8_t secret[CURVE25519_KEYSIZE];
	word32 len = sizeof(secret);
	int rc = wc_curve25519_init(&eph);

	if (rc == 0)
		rc = wc_curve25519_make_key(&s->rng, CURVE25519_KEYSIZE, &eph);
	if (rc == 0)
		rc = wc_curve25519_shared_secret(&eph, &s->x_peer, secret, &len);
	wc_curve25519_free(&eph);
	prim_sink ^= secret[0];
	return rc;
}

static int prim_p256_ecdhe(struct prim_state *s)
{
	ecc_key eph;
	uint8_t secret[32];
	word32 len = sizeof(secret);
	int rc = wc_ecc_init(&eph);

	if (rc == 0)
		rc = wc_ecc_make_key_ex(&s->rng, 32, &eph, ECC_SECP256R1);
	if (rc == 0)
		rc = wc_ecc_set_rng(&eph, &s->rng);
	if (rc == 0)
		rc = wc_ecc_shared_secret(&eph, &s->peer, secret, &len);
	wc_ecc_free(&eph);
	prim_sink ^= secret[0];
	return rc;
}

static int prim_ecdsa_sign(struct prim_state *s)
{
	word32 len = sizeof(s->esig);
	int rc = wc_ecc_sign_hash(s->hash, sizeof(s->hash), s->esig, &len, &s->rng, &s->ecc);

	s->esig_len = len;
	prim_sink ^= s->esig[len - 1];
	return rc;
}

static int prim_ecdsa_verify(struct prim_state *s)
{
	int ok = 0;
	int rc = wc_ecc_verify_hash(s->esig, s->esig_len, s->hash, sizeof(s->hash), &ok, &s->ecc);

	return rc == 0 && ok != 1 ? SIG_VERIFY_E : rc;
}

static int prim_rsa_pss_sign(struct prim_state *s)
{
	int rc = wc_RsaPSS_Sign(s->hash, sizeof(s->hash), s->pss, sizeof(s->pss), WC_HASH_TYPE_SHA256,
				WC_MGF1SHA256, &s->rsa, &s->rng);

	if (rc < 0)
		return rc;
	s->pss_len = (word32)rc;
	prim_sink ^= s->pss[rc - 1];
	return 0;
}

static int prim_rsa_pss_verify(struct prim_state *s)
{
	uint8_t out[512];
	int rc = wc_RsaPSS_VerifyCheck(s->pss, s->pss_len, out, sizeof(out), s->hash, sizeof(s->hash),
				       WC_HASH_TYPE_SHA256, WC_MGF1SHA256, &s->rsa);

	return rc < 0 ? rc : 0;
}

static int prim_rsa_pkcs1_sign(struct prim_state *s)
{
	int rc = wc_RsaSSL_Sign(s->hash, sizeof(s->hash), s->sig, sizeof(s->sig), &s->rsa, &s->rng);

	if (rc < 0)
		return rc;
	prim_sink ^= s->sig[rc - 1];
	return 0;
}

/* ---- keys ---- */

/* A PEM private key file into der (cap bytes); its DER length, or -1 after a message. */
static int prim_pem(const char *path, uint8_t *der, int cap)
{
	static uint8_t pem[16384];
	FILE *f = fopen(path, "rb");
	size_t n;
	int len;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	n = fread(pem, 1, sizeof(pem), f);
	fclose(f);
	len = wc_KeyPemToDer(pem, (int)n, der, cap, NULL);
	if (len <= 0)
		fprintf(stderr, "bench-tls-prim: %s: not a PEM private key (%d)\n", path, len);
	return len > 0 ? len : -1;
}

static int prim_ecc_keys(struct prim_state *s, const char *pem)
{
	uint8_t der[4096];
	word32 idx = 0;
	int len, rc = wc_ecc_init(&s->ecc);

	if (rc == 0)
		rc = wc_ecc_init(&s->peer);
	if (rc == 0 && pem != NULL) {
		len = prim_pem(pem, der, sizeof(der));
		rc = len < 0 ? -1 : wc_EccPrivateKeyDecode(der, &idx, &s->ecc, (word32)len);
		if (rc == 0 && wc_ecc_get_curve_id(s->ecc.idx) != ECC_SECP256R1)
			rc = ECC_CURVE_OID_E;
	} else if (rc == 0) {
		rc = wc_ecc_make_key_ex(&s->rng, 32, &s->ecc, ECC_SECP256R1);
	}
	if (rc == 0)
		rc = wc_ecc_make_key_ex(&s->rng, 32, &s->peer, ECC_SECP256R1);
	if (rc == 0)
		rc = wc_ecc_set_rng(&s->ecc, &s->rng);
	if (rc == 0)
		rc = wc_curve25519_init(&s->x_peer);
	if (rc == 0)
		rc = wc_curve25519_make_key(&s->rng, CURVE25519_KEYSIZE, &s->x_peer);
	if (rc == 0)
		rc = prim_ecdsa_sign(s);        /* a signature for the verify run */
	if (rc != 0)
		fprintf(stderr, "bench-tls-prim: P-256 / X25519 key set-up failed: %d\n", rc);
	return rc;
}

static int prim_rsa_key(struct prim_state *s, const char *pem)
{
	uint8_t der[8192];
	word32 idx = 0;
	int len, rc = wc_InitRsaKey(&s->rsa, NULL);

	if (rc == 0 && pem != NULL) {
		len = prim_pem(pem, der, sizeof(der));
		rc = len < 0 ? -1 : wc_RsaPrivateKeyDecode(der, &idx, &s->rsa, (word32)len);
	} else if (rc == 0) {
		rc = wc_MakeRsaKey(&s->rsa, 2048, WC_RSA_EXPONENT, &s->rng);
	}
	if (rc == 0 && wc_RsaEncryptSize(&s->rsa) != 256)
		rc = BAD_FUNC_ARG;
	if (rc == 0)
		rc = wc_RsaSetRNG(&s->rsa, &s->rng);
	if (rc == 0)
		rc = prim_rsa_pss_sign(s);      /* a signature for the verify run */
	if (rc != 0)
		fprintf(stderr, "bench-tls-prim: not a usable RSA-2048 key (%d)\n", rc);
	return rc;
}

/* ---- measuring ---- */

/*
 * Ops per second of this thread's CPU time, running op for about `seconds`
 * of wall time; 0 on failure (after a message). CPU time, not wall time:
 * time the thread spends preempted by other work on a shared machine is
 * not the primitive's cost.
 */
static double prim_round(struct prim *p, struct prim_state *s, double seconds)
{
	double t0 = prim_clock(CLOCK_MONOTONIC), c0 = prim_clock(CLOCK_THREAD_CPUTIME_ID);
	long n = 0;
	int rc;

	do {
		rc = p->op(s);
		if (rc != 0) {
			fprintf(stderr, "bench-tls-prim: %s failed: %d (%s)\n", p->name, rc, wc_GetErrorString(rc));
			return 0;
		}
		n++;
	} while (prim_clock(CLOCK_MONOTONIC) - t0 < seconds);
	return (double)n / (prim_clock(CLOCK_THREAD_CPUTIME_ID) - c0);
}

/* Round-robin over the primitives, PRIM_ROUNDS times: a burst of other load spoils one round, not all. */
static int prim_measure(struct prim *ps, size_t n, struct prim_state *s, double seconds)
{
	for (size_t i = 0; i < n; i++) {
		int rc = ps[i].op(s);           /* warm-up */

		if (rc != 0) {
			fprintf(stderr, "bench-tls-prim: %s failed: %d (%s)\n", ps[i].name, rc, wc_GetErrorString(rc));
			return -1;
		}
	}
	for (int r = 0; r < PRIM_ROUNDS; r++) {
		for (size_t i = 0; i < n; i++) {
			double v = prim_round(&ps[i], s, seconds / PRIM_ROUNDS);

			if (v == 0)
				return -1;
			if (v > ps[i].per_s)
				ps[i].per_s = v;
		}
	}
	return 0;
}

/* ---- per handshake ---- */

struct prim_hs {
	const char *version, *mode, *group, *cert;
	const char *ops[2];             /* primitive names; NULL-terminated, ops[0] NULL: none */
};

static const struct prim_hs prim_handshakes[] = {
	{ "1.2", "full", "x25519", "ecdsa", { "x25519", "ecdsa-p256-sign" } },
	{ "1.2", "full", "x25519", "rsa", { "x25519", "rsa2048-pss-sign" } },
	{ "1.2", "full", "p256", "ecdsa", { "p256-ecdhe", "ecdsa-p256-sign" } },
	{ "1.2", "full", "p256", "rsa", { "p256-ecdhe", "rsa2048-pss-sign" } },
	{ "1.3", "full", "x25519", "ecdsa", { "x25519", "ecdsa-p256-sign" } },
	{ "1.3", "full", "x25519", "rsa", { "x25519", "rsa2048-pss-sign" } },
	{ "1.3", "full", "p256", "ecdsa", { "p256-ecdhe", "ecdsa-p256-sign" } },
	{ "1.3", "full", "p256", "rsa", { "p256-ecdhe", "rsa2048-pss-sign" } },
	{ "1.3", "resumed", "x25519", "any", { "x25519", NULL } },
	{ "1.3", "resumed", "p256", "any", { "p256-ecdhe", NULL } },
	{ "1.2", "resumed", "none", "any", { NULL, NULL } },
};

static const struct prim *prim_find(const struct prim *ps, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ps[i].name, name) == 0)
			return &ps[i];
	return NULL;
}

/* Microseconds of primitives for handshake h; 0 when it has none. */
static double prim_hs_us(const struct prim_hs *h, const struct prim *ps, size_t n, char *ops, size_t cap)
{
	double us = 0;

	ops[0] = '\0';
	for (int k = 0; k < 2 && h->ops[k]; k++) {
		const struct prim *p = prim_find(ps, n, h->ops[k]);

		us += 1e6 / p->per_s;
		snprintf(ops + strlen(ops), cap - strlen(ops), "%s%s", k ? " + " : "", p->name);
	}
	return us;
}

static void prim_print_json(const struct prim *ps, size_t n, double seconds)
{
	size_t nh = sizeof(prim_handshakes) / sizeof(prim_handshakes[0]);
	char ops[128], limit[32];

	printf("{\n \"library\": \"%s\",\n \"seconds\": %g,\n \"rounds\": %d,\n \"primitives\": {\n",
	       crypto_build_features(), seconds, PRIM_ROUNDS);
	for (size_t i = 0; i < n; i++)
		printf("  \"%s\": {\"per_s\": %.1f, \"us\": %.3f, \"what\": \"%s\"}%s\n", ps[i].name, ps[i].per_s,
		       1e6 / ps[i].per_s, ps[i].what, i + 1 < n ? "," : "");
	printf(" },\n \"server_per_handshake\": [\n");
	for (size_t i = 0; i < nh; i++) {
		const struct prim_hs *h = &prim_handshakes[i];
		double us = prim_hs_us(h, ps, n, ops, sizeof(ops));

		if (us > 0)
			snprintf(limit, sizeof(limit), "%.1f", 1e6 / us);
		else
			snprintf(limit, sizeof(limit), "null");
		printf("  {\"version\": \"%s\", \"mode\": \"%s\", \"group\": \"%s\", \"cert\": \"%s\", "
		       "\"ops\": \"%s\", \"us\": %.3f, \"limit_per_s\": %s}%s\n", h->version, h->mode, h->group,
		       h->cert, ops, us, limit, i + 1 < nh ? "," : "");
	}
	printf(" ]\n}\n");
}

static void prim_print_human(const struct prim *ps, size_t n, double seconds)
{
	char ops[128];

	printf("wolfCrypt primitives, %s\n", crypto_build_features());
	printf("best of %d rounds of %.2f s each, per second of CPU time of one core\n\n", PRIM_ROUNDS,
	       seconds / PRIM_ROUNDS);
	printf("%-20s %10s %9s  %s\n", "primitive", "ops/s", "us/op", "what");
	for (size_t i = 0; i < n; i++)
		printf("%-20s %10.0f %9.1f  %s\n", ps[i].name, ps[i].per_s, 1e6 / ps[i].per_s, ps[i].what);
	printf("\nserver side, per handshake (the crypto limit of one core):\n");
	printf("%-4s %-8s %-7s %-6s %9s %12s  %s\n", "TLS", "mode", "group", "cert", "us", "limit hs/s", "primitives");
	for (size_t i = 0; i < sizeof(prim_handshakes) / sizeof(prim_handshakes[0]); i++) {
		const struct prim_hs *h = &prim_handshakes[i];
		double us = prim_hs_us(h, ps, n, ops, sizeof(ops));

		if (us > 0)
			printf("%-4s %-8s %-7s %-6s %9.1f %12.0f  %s\n", h->version, h->mode, h->group, h->cert, us,
			       1e6 / us, ops);
		else
			printf("%-4s %-8s %-7s %-6s %9s %12s  %s\n", h->version, h->mode, h->group, h->cert, "-", "-",
			       "none: ticket / session ID, symmetric crypto only");
	}
}

static void prim_usage(void)
{
	fprintf(stderr, "usage: bench-tls-prim [--quick | --seconds S] [--rsa-key PEM] [--ecdsa-key PEM] [--json]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct prim_state s;
	struct prim ps[] = {
		{ "x25519", "X25519 key generation + shared secret (one ECDHE side)", prim_x25519, 0 },
		{ "p256-ecdhe", "P-256 key generation + shared secret (one ECDHE side)", prim_p256_ecdhe, 0 },
		{ "ecdsa-p256-sign", "ECDSA P-256 sign (SHA-256 digest)", prim_ecdsa_sign, 0 },
		{ "rsa2048-pss-sign", "RSA-2048 PSS sign (SHA-256)", prim_rsa_pss_sign, 0 },
		{ "rsa2048-pkcs1-sign", "RSA-2048 PKCS#1 v1.5 sign", prim_rsa_pkcs1_sign, 0 },
		{ "ecdsa-p256-verify", "ECDSA P-256 verify (the client's side)", prim_ecdsa_verify, 0 },
		{ "rsa2048-pss-verify", "RSA-2048 PSS verify (the client's side)", prim_rsa_pss_verify, 0 },
	};
	const char *rsa_pem = NULL, *ecc_pem = NULL;
	double secs = 1.5;
	bool json = false;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			secs = 0.3;
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (strcmp(argv[i], "--rsa-key") == 0 && i + 1 < argc)
			rsa_pem = argv[++i];
		else if (strcmp(argv[i], "--ecdsa-key") == 0 && i + 1 < argc)
			ecc_pem = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = true;
		else
			prim_usage();
	}
	if (!(secs > 0 && secs <= 60))
		prim_usage();
	if (wolfCrypt_Init() != 0 || wc_InitRng(&s.rng) != 0) {
		fprintf(stderr, "bench-tls-prim: wolfCrypt initialisation failed\n");
		return 1;
	}
	memset(s.hash, 0x5a, sizeof(s.hash));
	if (prim_ecc_keys(&s, ecc_pem) != 0 || prim_rsa_key(&s, rsa_pem) != 0)
		return 1;
	if (prim_measure(ps, sizeof(ps) / sizeof(ps[0]), &s, secs) != 0)
		return 1;
	if (json)
		prim_print_json(ps, sizeof(ps) / sizeof(ps[0]), secs);
	else
		prim_print_human(ps, sizeof(ps) / sizeof(ps[0]), secs);
	wc_ecc_free(&s.ecc);
	wc_ecc_free(&s.peer);
	wc_curve25519_free(&s.x_peer);
	wc_FreeRsaKey(&s.rsa);
	wc_FreeRng(&s.rng);
	wolfCrypt_Cleanup();
	return 0;
}
