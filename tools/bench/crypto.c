/*
 * crypto.c — wolfCrypt micro-benchmark. tools/bench/bench.mk builds this one
 * source twice: against our static AES-NI wolfSSL (build/bench-crypto-ours) and
 * against Debian's prebuilt libwolfssl.so (build/bench-crypto-debian); the
 * tools/bench/crypto script runs both and prints the comparison.
 *
 * Usage: bench-crypto-X [--quick | --seconds S] [--rsa-key FILE.der]
 * An AES-GCM known-answer test runs first; the program exits 1 if it fails.
 * Output is one "name<TAB>value<TAB>unit" line per result ("n/a" where the
 * library lacks the algorithm). MB/s are 10^6 bytes per second over 16 KiB
 * buffers; every measurement runs for the given wall time (CLOCK_MONOTONIC),
 * checks every return code and feeds its output into a volatile sink.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/selftest.h"

#define BENCH_BUF 16384

#if defined(HAVE_ECC) && !defined(NO_ECC256) && defined(HAVE_ECC_SIGN) && \
	defined(HAVE_ECC_VERIFY) && defined(HAVE_ECC_DHE)
#define BENCH_ECC 1
#endif
#if !defined(NO_RSA) && !defined(WOLFSSL_RSA_PUBLIC_ONLY) && !defined(WOLFSSL_RSA_VERIFY_ONLY)
#define BENCH_RSA 1
#endif

static volatile uint8_t bench_sink;   /* every op's output ends here */

struct bench_state {
	WC_RNG rng;
	uint8_t in[BENCH_BUF], out[BENCH_BUF], hash[32], sig[512];
	word32 sig_len;
#ifdef HAVE_AESGCM
	Aes aes;
#endif
#ifdef BENCH_ECC
	ecc_key ecc, peer;
#endif
#ifdef BENCH_RSA
	RsaKey rsa;
#endif
};

static double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef int (*bench_op)(struct bench_state *s);

/* Runs op repeatedly for `seconds`; ops/s in *rate; 0 or the failing rc. */
static int bench_run(bench_op op, struct bench_state *s, double seconds, double *rate)
{
	double t0, t;
	long n = 0;
	int rc = op(s);   /* warm-up, not counted */

	if (rc != 0)
		return rc;
	t0 = bench_now();
	do {
		rc = op(s);
		if (rc != 0)
			return rc;
		n++;
		t = bench_now();
	} while (t - t0 < seconds);
	*rate = (double)n / (t - t0);
	return 0;
}

static void bench_print(const char *name, const char *unit, bench_op op,
			struct bench_state *s, double seconds, double scale)
{
	double rate = 0;
	int rc;

	if (op == NULL) {
		printf("%s\tn/a\t%s\n", name, unit);
		return;
	}
	rc = bench_run(op, s, seconds, &rate);
	if (rc != 0) {
		fprintf(stderr, "bench-crypto: %s failed: %d (%s)\n", name, rc, wc_GetErrorString(rc));
		exit(1);
	}
	printf("%s\t%.1f\t%s\n", name, rate * scale, unit);
	fflush(stdout);
}

#ifdef HAVE_AESGCM
static int bench_aes_gcm(struct bench_state *s)
{
	static const uint8_t iv[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	uint8_t tag[16];
	int rc = wc_AesGcmEncrypt(&s->aes, s->out, s->in, BENCH_BUF, iv, sizeof(iv),
				  tag, sizeof(tag), NULL, 0);

	bench_sink ^= s->out[BENCH_BUF - 1] ^ tag[0];
	return rc;
}

/* McGrew-Viega test cases 4 (AES-128) and 16 (AES-256): 0 or -1. */
static int bench_kat(void)
{
	static const char *const ct_hex[2] = {
		"42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		"21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
		"5bc94fbc3221a5db94fae95ae7121a47",
		"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
		"76fc6ece0f4e1768cddf8853bb2d551b",
	};
	static const char pt_hex[] =
		"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
	static const uint8_t key[32] = {
		0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94,
		0x67, 0x30, 0x83, 0x08, 0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c,
		0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
	};
	static const uint8_t iv[12] = { 0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad,
					0xde, 0xca, 0xf8, 0x88 };
	static const uint8_t aad[20] = { 0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef,
					 0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef,
					 0xab, 0xad, 0xda, 0xd2 };
	uint8_t pt[60], want[76], got[76], back[60];
	unsigned v, i, k;
	Aes aes;
	int rc;

	for (i = 0; i < sizeof(pt) && sscanf(pt_hex + 2 * i, "%2x", &v) == 1; i++)
		pt[i] = (uint8_t)v;
	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(want) && sscanf(ct_hex[k] + 2 * i, "%2x", &v) == 1; i++)
			want[i] = (uint8_t)v;
		rc = wc_AesInit(&aes, NULL, INVALID_DEVID);
		if (rc == 0)
			rc = wc_AesGcmSetKey(&aes, key, k == 0 ? 16 : 32);
		if (rc == 0)
			rc = wc_AesGcmEncrypt(&aes, got, pt, 60, iv, 12, got + 60, 16, aad, 20);
		if (rc == 0 && memcmp(got, want, sizeof(want)) == 0)
			rc = wc_AesGcmDecrypt(&aes, back, want, 60, iv, 12, want + 60, 16, aad, 20);
		else if (rc == 0)
			rc = -1;
		if (rc == 0 && memcmp(back, pt, sizeof(pt)) != 0)
			rc = -1;
		wc_AesFree(&aes);
		if (rc != 0) {
			fprintf(stderr, "bench-crypto: AES-%d-GCM known-answer test FAILED (%d)\n",
				k == 0 ? 128 : 256, rc);
			return -1;
		}
	}
	printf("kat\tok\tAES-128-GCM AES-256-GCM\n");
	return 0;
}
#endif

#ifndef NO_SHA256
static int bench_sha256(struct bench_state *s)
{
	int rc = wc_Sha256Hash(s->in, BENCH_BUF, s->hash);

	bench_sink ^= s->hash[0];
	return rc;
}
#endif

#ifdef BENCH_ECC
static int bench_ecdsa_sign(struct bench_state *s)
{
	word32 len = sizeof(s->sig);
	int rc = wc_ecc_sign_hash(s->hash, sizeof(s->hash), s->sig, &len, &s->rng, &s->ecc);

	s->sig_len = len;
	bench_sink ^= s->sig[len - 1];
	return rc;
}

static int bench_ecdsa_verify(struct bench_state *s)
{
	int ok = 0;
	int rc = wc_ecc_verify_hash(s->sig, s->sig_len, s->hash, sizeof(s->hash), &ok, &s->ecc);

	if (rc == 0 && ok != 1)
		rc = SIG_VERIFY_E;
	return rc;
}

/* One TLS ECDHE side: ephemeral key generation + shared secret. */
static int bench_ecdh(struct bench_state *s)
{
	ecc_key eph;
	uint8_t secret[32];
	word32 len = sizeof(secret);
	int rc = wc_ecc_init(&eph);

	if (rc != 0)
		return rc;
	rc = wc_ecc_make_key_ex(&s->rng, 32, &eph, ECC_SECP256R1);
	if (rc == 0)
		rc = wc_ecc_set_rng(&eph, &s->rng);
	if (rc == 0)
		rc = wc_ecc_shared_secret(&eph, &s->peer, secret, &len);
	wc_ecc_free(&eph);
	if (rc == 0 && len != sizeof(secret))
		rc = ECC_BAD_ARG_E;
	bench_sink ^= secret[0];
	return rc;
}

static int bench_ecc_setup(struct bench_state *s)
{
	int rc = wc_ecc_init(&s->ecc);

	if (rc == 0)
		rc = wc_ecc_init(&s->peer);
	if (rc == 0)
		rc = wc_ecc_make_key_ex(&s->rng, 32, &s->ecc, ECC_SECP256R1);
	if (rc == 0)
		rc = wc_ecc_make_key_ex(&s->rng, 32, &s->peer, ECC_SECP256R1);
	if (rc == 0)
		rc = wc_ecc_set_rng(&s->ecc, &s->rng);
	if (rc == 0)
		rc = bench_ecdsa_sign(s);   /* a signature for the verify run */
	return rc;
}
#endif

#ifdef BENCH_RSA
static int bench_rsa_sign(struct bench_state *s)
{
	int rc = wc_RsaSSL_Sign(s->hash, sizeof(s->hash), s->sig, sizeof(s->sig), &s->rsa, &s->rng);

	if (rc < 0)
		return rc;
	s->sig_len = (word32)rc;
	bench_sink ^= s->sig[rc - 1];
	return rc == 256 ? 0 : RSA_BUFFER_E;
}

static int bench_rsa_verify(struct bench_state *s)
{
	uint8_t plain[256];
	int rc = wc_RsaSSL_Verify(s->sig, s->sig_len, plain, sizeof(plain), &s->rsa);

	if (rc < 0)
		return rc;
	return rc == (int)sizeof(s->hash) && memcmp(plain, s->hash, sizeof(s->hash)) == 0 ?
	       0 : SIG_VERIFY_E;
}

/* Loads a PKCS#1 DER RSA-2048 private key; 0, or -1 with a message. */
static int bench_rsa_setup(struct bench_state *s, const char *path)
{
	static uint8_t der[8192];
	word32 idx = 0;
	size_t len;
	FILE *f = fopen(path, "rb");
	int rc;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	len = fread(der, 1, sizeof(der), f);
	fclose(f);
	rc = wc_InitRsaKey(&s->rsa, NULL);
	if (rc == 0)
		rc = wc_RsaPrivateKeyDecode(der, &idx, &s->rsa, (word32)len);
	if (rc == 0 && wc_RsaEncryptSize(&s->rsa) != 256)
		rc = BAD_FUNC_ARG;
#ifdef WC_RSA_BLINDING
	if (rc == 0)
		rc = wc_RsaSetRNG(&s->rsa, &s->rng);
#endif
	if (rc == 0)
		rc = bench_rsa_sign(s);
	if (rc != 0)
		fprintf(stderr, "bench-crypto: %s: not a usable RSA-2048 DER key (%d)\n", path, rc);
	return rc == 0 ? 0 : -1;
}
#endif

/* "wolfSSL 5.5.4 (features)" plus where the code really comes from. */
static void bench_print_library(void)
{
	Dl_info info;
	const char *where = "?";

	if (dladdr((void *)wc_AesInit, &info) != 0 && info.dli_fname != NULL)
		where = info.dli_fname;
	printf("library\t%s\truntime %s, code in %s\n", crypto_build_features(),
	       wolfSSL_lib_version(), where);
}

static void bench_usage(void)
{
	fprintf(stderr, "usage: bench-crypto [--quick | --seconds S] [--rsa-key FILE.der]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct bench_state s;
	const char *rsa_key = NULL;
	double secs = 0.5;
	int i, have_rsa = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0)
			secs = 0.1;
		else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
			secs = atof(argv[++i]);
		else if (strcmp(argv[i], "--rsa-key") == 0 && i + 1 < argc)
			rsa_key = argv[++i];
		else
			bench_usage();
	}
	if (!(secs > 0 && secs <= 60))
		bench_usage();
	if (wolfCrypt_Init() != 0 || wc_InitRng(&s.rng) != 0) {
		fprintf(stderr, "bench-crypto: wolfCrypt initialisation failed\n");
		return 1;
	}
	bench_print_library();
	printf("aesni-cpu\t%s\n", crypto_has_aesni_cpu() ? "yes" : "no");
	printf("seconds\t%g\n", secs);
	for (i = 0; i < BENCH_BUF; i++)
		s.in[i] = (uint8_t)(i * 31 + 7);
	memset(s.hash, 0x5a, sizeof(s.hash));

#ifdef HAVE_AESGCM
	if (bench_kat() != 0)
		return 1;
	if (wc_AesInit(&s.aes, NULL, INVALID_DEVID) != 0 || wc_AesGcmSetKey(&s.aes, s.in, 16) != 0)
		return 1;
	bench_print("aes-128-gcm", "MB/s", bench_aes_gcm, &s, secs, BENCH_BUF / 1e6);
#if defined(WOLFSSL_AES_256)
	if (wc_AesGcmSetKey(&s.aes, s.in, 32) != 0)
		return 1;
	bench_print("aes-256-gcm", "MB/s", bench_aes_gcm, &s, secs, BENCH_BUF / 1e6);
#else
	bench_print("aes-256-gcm", "MB/s", NULL, &s, secs, 0);
#endif
	wc_AesFree(&s.aes);
#else
	printf("kat\tn/a\tno AES-GCM in this library\n");
	bench_print("aes-128-gcm", "MB/s", NULL, &s, secs, 0);
	bench_print("aes-256-gcm", "MB/s", NULL, &s, secs, 0);
#endif

#ifndef NO_SHA256
	bench_print("sha-256", "MB/s", bench_sha256, &s, secs, BENCH_BUF / 1e6);
#else
	bench_print("sha-256", "MB/s", NULL, &s, secs, 0);
#endif

#ifdef BENCH_ECC
	if (bench_ecc_setup(&s) != 0) {
		fprintf(stderr, "bench-crypto: P-256 key set-up failed\n");
		return 1;
	}
	bench_print("ecdsa-p256-sign", "ops/s", bench_ecdsa_sign, &s, secs, 1);
	bench_print("ecdsa-p256-verify", "ops/s", bench_ecdsa_verify, &s, secs, 1);
	bench_print("ecdh-p256", "ops/s", bench_ecdh, &s, secs, 1);
	wc_ecc_free(&s.ecc);
	wc_ecc_free(&s.peer);
#else
	bench_print("ecdsa-p256-sign", "ops/s", NULL, &s, secs, 0);
	bench_print("ecdsa-p256-verify", "ops/s", NULL, &s, secs, 0);
	bench_print("ecdh-p256", "ops/s", NULL, &s, secs, 0);
#endif

#ifdef BENCH_RSA
	if (rsa_key != NULL) {
		if (bench_rsa_setup(&s, rsa_key) != 0)
			return 1;
		have_rsa = 1;
	}
	bench_print("rsa-2048-sign", "ops/s", have_rsa ? bench_rsa_sign : NULL, &s, secs, 1);
	bench_print("rsa-2048-verify", "ops/s", have_rsa ? bench_rsa_verify : NULL, &s, secs, 1);
	if (have_rsa)
		wc_FreeRsaKey(&s.rsa);
#else
	(void)rsa_key;
	(void)have_rsa;
	bench_print("rsa-2048-sign", "ops/s", NULL, &s, secs, 0);
	bench_print("rsa-2048-verify", "ops/s", NULL, &s, secs, 0);
#endif
	wc_FreeRng(&s.rng);
	wolfCrypt_Cleanup();
	return 0;
}
