/*
 * test_crypto.c — the power-on crypto self-test, direct known answers through
 * our static wolfSSL, and the compile-time proof that the AES-NI / Intel asm /
 * SP x86-64 asm build is the one the gateway is compiled against.
 */
#include <wolfssl/options.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "crypto/selftest.h"

static void test_selftest_passes(void **state)
{
	char err[256] = "unset";

	(void)state;
	assert_int_equal(crypto_selftest(err, sizeof(err)), 0);
	assert_string_equal(err, "");
	/* A NULL message buffer is allowed. */
	assert_int_equal(crypto_selftest(NULL, 0), 0);
}

/* McGrew-Viega test case 4: AES-128-GCM with AAD and a 60-byte message. */
static const uint8_t tc4_key[16] = {
	0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c,
	0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
};
static const uint8_t tc4_iv[12] = {
	0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88,
};
static const uint8_t tc4_aad[20] = {
	0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
	0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2,
};
static const uint8_t tc4_pt[60] = {
	0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5,
	0xaf, 0xf5, 0x26, 0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda,
	0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95,
	0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25,
	0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39,
};
static const uint8_t tc4_ct[60] = {
	0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7,
	0x84, 0xd0, 0xd4, 0x9c, 0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0,
	0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e, 0x21, 0xd5, 0x14, 0xb2,
	0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05,
	0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
};
static const uint8_t tc4_tag[16] = {
	0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb,
	0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47,
};

static void test_aes128_gcm_kat(void **state)
{
	uint8_t out[60], tag[16], bad_tag[16];
	Aes aes;

	(void)state;
	assert_int_equal(wc_AesInit(&aes, NULL, INVALID_DEVID), 0);
	assert_int_equal(wc_AesGcmSetKey(&aes, tc4_key, sizeof(tc4_key)), 0);
	assert_int_equal(wc_AesGcmEncrypt(&aes, out, tc4_pt, sizeof(tc4_pt), tc4_iv, sizeof(tc4_iv),
					  tag, sizeof(tag), tc4_aad, sizeof(tc4_aad)), 0);
	assert_memory_equal(out, tc4_ct, sizeof(tc4_ct));
	assert_memory_equal(tag, tc4_tag, sizeof(tc4_tag));

	memset(out, 0, sizeof(out));
	assert_int_equal(wc_AesGcmDecrypt(&aes, out, tc4_ct, sizeof(tc4_ct), tc4_iv, sizeof(tc4_iv),
					  tc4_tag, sizeof(tc4_tag), tc4_aad, sizeof(tc4_aad)), 0);
	assert_memory_equal(out, tc4_pt, sizeof(tc4_pt));

	memcpy(bad_tag, tc4_tag, sizeof(bad_tag));
	bad_tag[15] ^= 0x80;
	assert_int_equal(wc_AesGcmDecrypt(&aes, out, tc4_ct, sizeof(tc4_ct), tc4_iv, sizeof(tc4_iv),
					  bad_tag, sizeof(bad_tag), tc4_aad, sizeof(tc4_aad)),
			 AES_GCM_AUTH_E);
	/* Changed AAD must fail authentication too. */
	assert_int_equal(wc_AesGcmDecrypt(&aes, out, tc4_ct, sizeof(tc4_ct), tc4_iv, sizeof(tc4_iv),
					  tc4_tag, sizeof(tc4_tag), tc4_aad, sizeof(tc4_aad) - 1),
			 AES_GCM_AUTH_E);
	wc_AesFree(&aes);
}

/* McGrew-Viega test case 13: AES-256-GCM, zero key, empty message. */
static void test_aes256_gcm_empty_kat(void **state)
{
	static const uint8_t want_tag[16] = {
		0x53, 0x0f, 0x8a, 0xfb, 0xc7, 0x45, 0x36, 0xb9,
		0xa9, 0x63, 0xb4, 0xf1, 0xc4, 0xcb, 0x73, 0x8b,
	};
	uint8_t key[32] = { 0 }, iv[12] = { 0 }, tag[16];
	Aes aes;

	(void)state;
	assert_int_equal(wc_AesInit(&aes, NULL, INVALID_DEVID), 0);
	assert_int_equal(wc_AesGcmSetKey(&aes, key, sizeof(key)), 0);
	assert_int_equal(wc_AesGcmEncrypt(&aes, NULL, NULL, 0, iv, sizeof(iv),
					  tag, sizeof(tag), NULL, 0), 0);
	assert_memory_equal(tag, want_tag, sizeof(want_tag));
	wc_AesFree(&aes);
}

/* FIPS 180-2 B.3: one million 'a', hashed in uneven chunks. */
static void test_sha256_million_a(void **state)
{
	static const uint8_t want[32] = {
		0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2,
		0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e,
		0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0,
	};
	uint8_t chunk[997], got[32];
	size_t left = 1000000;
	wc_Sha256 sha;

	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	assert_int_equal(wc_InitSha256(&sha), 0);
	while (left > 0) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		assert_int_equal(wc_Sha256Update(&sha, chunk, (word32)n), 0);
		left -= n;
	}
	assert_int_equal(wc_Sha256Final(&sha, got), 0);
	wc_Sha256Free(&sha);
	assert_memory_equal(got, want, sizeof(want));
}

static void test_build_macros(void **state)
{
	(void)state;
#ifndef WOLFSSL_AESNI
	fail_msg("WOLFSSL_AESNI is not defined: not built against our AES-NI wolfSSL");
#endif
#ifndef USE_INTEL_SPEEDUP
	fail_msg("USE_INTEL_SPEEDUP is not defined: not built against our wolfSSL");
#endif
#ifndef WOLFSSL_SP_X86_64_ASM
	fail_msg("WOLFSSL_SP_X86_64_ASM is not defined: not built against our wolfSSL");
#endif
	assert_string_equal(LIBWOLFSSL_VERSION_STRING, "5.5.4");
}

static void test_build_features(void **state)
{
	const char *f = crypto_build_features();

	(void)state;
	assert_non_null(f);
	assert_true(strncmp(f, "wolfSSL 5.5.4 (", 15) == 0);
	assert_non_null(strstr(f, "aesni"));
	assert_non_null(strstr(f, "sp-asm"));
	assert_non_null(strstr(f, "tls13"));
	assert_int_equal(f[strlen(f) - 1], ')');
	assert_ptr_equal(f, crypto_build_features());   /* static, stable */
	printf("# %s; CPU AES-NI: %s\n", f, crypto_has_aesni_cpu() ? "yes" : "no");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selftest_passes),
		cmocka_unit_test(test_aes128_gcm_kat),
		cmocka_unit_test(test_aes256_gcm_empty_kat),
		cmocka_unit_test(test_sha256_million_a),
		cmocka_unit_test(test_build_macros),
		cmocka_unit_test(test_build_features),
	};

	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
