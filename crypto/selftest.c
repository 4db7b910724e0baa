/*
 * selftest.c — power-on known-answer tests for the wolfSSL build mailgw links
 * (our static AES-NI/SP-asm build, never Debian's prebuilt library), and the
 * build report. Runs once on the control plane at start-up, before crypto/tls.c
 * creates any context; a failure stops the gateway (see crypto/selftest.h).
 */
#include <wolfssl/options.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "crypto/selftest.h"

#define SELFTEST_MAX 64   /* largest vector field, in bytes */

/* One AES-GCM known answer; fields in hex. */
struct selftest_gcm {
	const char *name;
	const char *key, *iv, *aad, *pt, *ct, *tag;
};

#define GCM_PT64 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
                 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define GCM_PT60 "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
                 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_K128 "feffe9928665731c6d6a8f9467308308"
#define GCM_IV   "cafebabefacedbaddecaf888"
#define GCM_AAD  "feedfacedeadbeeffeedfacedeadbeefabaddad2"

/* McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 3/4, 15/16. */
static const struct selftest_gcm selftest_gcm_vectors[] = {
	{ "AES-128-GCM test case 3", GCM_K128, GCM_IV, "", GCM_PT64,
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	  "4d5c2af327cd64a62cf35abd2ba6fab4" },
	{ "AES-128-GCM test case 4", GCM_K128, GCM_IV, GCM_AAD, GCM_PT60,
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	  "5bc94fbc3221a5db94fae95ae7121a47" },
	{ "AES-256-GCM test case 15", GCM_K128 GCM_K128, GCM_IV, "", GCM_PT64,
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
	  "b094dac5d93471bdec1a502270e3cc6c" },
	{ "AES-256-GCM test case 16", GCM_K128 GCM_K128, GCM_IV, GCM_AAD, GCM_PT60,
	  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
	  "76fc6ece0f4e1768cddf8853bb2d551b" },
};

/* FIPS 180-2 appendix B.1 and B.2. */
static const struct {
	const char *name, *msg, *digest;
} selftest_sha256_vectors[] = {
	{ "SHA-256 \"abc\"", "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "SHA-256 448-bit message",
	  "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

static int selftest_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int selftest_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EIO;
}

/* Decode hex into out (at most SELFTEST_MAX bytes); returns the length. */
static size_t selftest_unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;
	unsigned v;

	while (hex[0] != '\0' && hex[1] != '\0' && n < SELFTEST_MAX) {
		if (sscanf(hex, "%2x", &v) != 1)
			break;
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

struct selftest_buf {
	uint8_t key[32], iv[12], aad[SELFTEST_MAX], pt[SELFTEST_MAX];
	uint8_t ct[SELFTEST_MAX], tag[16];
	size_t key_len, iv_len, aad_len, pt_len, ct_len, tag_len;
};

/* Encrypt, decrypt and tamper with one vector; 0 or -EIO. */
static int selftest_gcm_one(const struct selftest_gcm *t, char *err, size_t errlen)
{
	struct selftest_buf b;
	uint8_t out[SELFTEST_MAX], tag[16];
	Aes aes;
	int rc;

	b.key_len = selftest_unhex(t->key, b.key);
	b.iv_len = selftest_unhex(t->iv, b.iv);
	b.aad_len = selftest_unhex(t->aad, b.aad);
	b.pt_len = selftest_unhex(t->pt, b.pt);
	b.ct_len = selftest_unhex(t->ct, b.ct);
	b.tag_len = selftest_unhex(t->tag, b.tag);
	if (b.pt_len != b.ct_len || b.tag_len != sizeof(tag))
		return selftest_fail(err, errlen, "%s: malformed vector", t->name);

	if (wc_AesInit(&aes, NULL, INVALID_DEVID) != 0)
		return selftest_fail(err, errlen, "%s: wc_AesInit failed", t->name);
	rc = wc_AesGcmSetKey(&aes, b.key, (word32)b.key_len);
	if (rc == 0)
		rc = wc_AesGcmEncrypt(&aes, out, b.pt, (word32)b.pt_len, b.iv, (word32)b.iv_len,
				      tag, sizeof(tag), b.aad, (word32)b.aad_len);
	if (rc != 0 || memcmp(out, b.ct, b.ct_len) != 0 || memcmp(tag, b.tag, sizeof(tag)) != 0) {
		wc_AesFree(&aes);
		return selftest_fail(err, errlen, "%s: encryption gives the wrong %s (rc %d)",
				     t->name, rc != 0 ? "result" :
				     memcmp(out, b.ct, b.ct_len) != 0 ? "ciphertext" : "tag", rc);
	}
	rc = wc_AesGcmDecrypt(&aes, out, b.ct, (word32)b.ct_len, b.iv, (word32)b.iv_len,
			      b.tag, sizeof(tag), b.aad, (word32)b.aad_len);
	if (rc != 0 || memcmp(out, b.pt, b.pt_len) != 0) {
		wc_AesFree(&aes);
		return selftest_fail(err, errlen, "%s: decryption failed (rc %d)", t->name, rc);
	}
	b.tag[5] ^= 0x01;
	rc = wc_AesGcmDecrypt(&aes, out, b.ct, (word32)b.ct_len, b.iv, (word32)b.iv_len,
			      b.tag, sizeof(tag), b.aad, (word32)b.aad_len);
	wc_AesFree(&aes);
	if (rc != AES_GCM_AUTH_E)
		return selftest_fail(err, errlen, "%s: tampered tag accepted (rc %d)", t->name, rc);
	return 0;
}

static int selftest_sha256(char *err, size_t errlen)
{
	uint8_t want[WC_SHA256_DIGEST_SIZE], got[WC_SHA256_DIGEST_SIZE];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(selftest_sha256_vectors) / sizeof(selftest_sha256_vectors[0]); i++) {
		const char *msg = selftest_sha256_vectors[i].msg;

		selftest_unhex(selftest_sha256_vectors[i].digest, want);
		rc = wc_Sha256Hash((const byte *)msg, (word32)strlen(msg), got);
		if (rc != 0 || memcmp(got, want, sizeof(want)) != 0)
			return selftest_fail(err, errlen, "%s: wrong digest (rc %d)",
					     selftest_sha256_vectors[i].name, rc);
	}
	return 0;
}

/* Generate a P-256 key with its RNG attached (needed for timing resistance). */
static int selftest_ecc_key(ecc_key *key, WC_RNG *rng)
{
	int rc = wc_ecc_init(key);

	if (rc == 0)
		rc = wc_ecc_make_key_ex(rng, 32, key, ECC_SECP256R1);
	if (rc == 0)
		rc = wc_ecc_set_rng(key, rng);
	return rc;
}

static int selftest_ecdh(char *err, size_t errlen)
{
	uint8_t s1[32], s2[32];
	word32 l1 = sizeof(s1), l2 = sizeof(s2);
	ecc_key a, b;
	WC_RNG rng;
	int rc, rc_b;

	if (wc_InitRng(&rng) != 0)
		return selftest_fail(err, errlen, "ECDH P-256: wc_InitRng failed");
	rc = selftest_ecc_key(&a, &rng);
	rc_b = selftest_ecc_key(&b, &rng);
	if (rc == 0)
		rc = rc_b;
	if (rc == 0)
		rc = wc_ecc_shared_secret(&a, &b, s1, &l1);
	if (rc == 0)
		rc = wc_ecc_shared_secret(&b, &a, s2, &l2);
	wc_ecc_free(&a);
	wc_ecc_free(&b);
	wc_FreeRng(&rng);
	if (rc != 0)
		return selftest_fail(err, errlen, "ECDH P-256: key agreement failed (rc %d)", rc);
	if (l1 != 32 || l2 != 32 || memcmp(s1, s2, 32) != 0)
		return selftest_fail(err, errlen, "ECDH P-256: the two sides disagree");
	return 0;
}

int crypto_selftest(char *err, size_t errlen)
{
	size_t i;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (wolfCrypt_Init() != 0)
		return selftest_fail(err, errlen, "wolfCrypt_Init failed");
	for (i = 0; i < sizeof(selftest_gcm_vectors) / sizeof(selftest_gcm_vectors[0]); i++) {
		rc = selftest_gcm_one(&selftest_gcm_vectors[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	rc = selftest_sha256(err, errlen);
	if (rc == 0)
		rc = selftest_ecdh(err, errlen);
	return rc;
}

/* Feature names, each present only when its macro is defined in options.h. */
static const char *const crypto_features[] = {
#ifdef WOLFSSL_AESNI
	"aesni",
#endif
#ifdef USE_INTEL_SPEEDUP
	"intelasm",
#endif
#if defined(WOLFSSL_SP_X86_64_ASM) || defined(WOLFSSL_SP_ASM)
	"sp-asm",
#endif
#ifdef WOLFSSL_SP_384
	"sp-384",
#endif
#ifdef WOLF_CRYPTO_CB
	"cryptocb",
#endif
#ifdef WOLFSSL_TLS13
	"tls13",
#endif
#ifdef HAVE_AESGCM
	"aes-gcm",
#endif
#ifdef HAVE_ECC
	"ecc",
#endif
#ifdef HAVE_CURVE25519
	"x25519",
#endif
#if defined(HAVE_CHACHA) && defined(HAVE_POLY1305)
	"chacha20-poly1305",
#endif
#ifdef HAVE_SNI
	"sni",
#endif
#ifdef HAVE_SESSION_TICKET
	"session-ticket",
#endif
	NULL
};

const char *crypto_build_features(void)
{
	static char line[256];
	size_t i, n;

	if (line[0] != '\0')
		return line;
	n = (size_t)snprintf(line, sizeof(line), "wolfSSL %s (", LIBWOLFSSL_VERSION_STRING);
	for (i = 0; crypto_features[i] != NULL && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
				      i ? " " : "", crypto_features[i]);
	if (n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ")");
	return line;
}

bool crypto_has_aesni_cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned eax, ebx, ecx, edx;

	if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0)
		return false;
	return (ecx & bit_AES) != 0;
#else
	return false;
#endif
}
