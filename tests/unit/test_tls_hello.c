/*
 * test_tls_hello.c — unit tests of tls_hello_takes_ecdsa() (crypto/tls.h):
 * the ClientHello inspection that picks our ECDSA or RSA certificate, on
 * hand-built records: TLS 1.3 and 1.2 suites, signature_algorithms present
 * or absent, and every truncation of a valid record (never a read past it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/tls.h"

/* A ClientHello record with the given suites and (if n_sig >= 0) signature algorithms. */
static size_t
hello(uint8_t *b, const uint16_t *suites, int n_suites, const uint16_t *sigs, int n_sig)
{
	size_t o = 0, hs, ext;

	b[o++] = 22; b[o++] = 3; b[o++] = 1; o += 2;            /* record header, length later */
	hs = o;
	b[o++] = 1; o += 3;                                     /* ClientHello, length later */
	b[o++] = 3; b[o++] = 3;                                 /* legacy_version */
	memset(b + o, 0xab, 32); o += 32;                       /* random */
	b[o++] = 0;                                             /* session id */
	b[o++] = (uint8_t)(n_suites * 2 >> 8); b[o++] = (uint8_t)(n_suites * 2);
	for (int i = 0; i < n_suites; i++) { b[o++] = (uint8_t)(suites[i] >> 8); b[o++] = (uint8_t)suites[i]; }
	b[o++] = 1; b[o++] = 0;                                 /* compression: null */
	ext = o; o += 2;
	b[o++] = 0; b[o++] = 10; b[o++] = 0; b[o++] = 4; b[o++] = 0; b[o++] = 2; b[o++] = 0; b[o++] = 29;
	if (n_sig >= 0) {                                       /* signature_algorithms */
		b[o++] = 0; b[o++] = 13;
		b[o++] = (uint8_t)((n_sig * 2 + 2) >> 8); b[o++] = (uint8_t)(n_sig * 2 + 2);
		b[o++] = (uint8_t)(n_sig * 2 >> 8); b[o++] = (uint8_t)(n_sig * 2);
		for (int i = 0; i < n_sig; i++) { b[o++] = (uint8_t)(sigs[i] >> 8); b[o++] = (uint8_t)sigs[i]; }
	}
	b[ext] = (uint8_t)((o - ext - 2) >> 8); b[ext + 1] = (uint8_t)(o - ext - 2);
	b[hs + 1] = 0; b[hs + 2] = (uint8_t)((o - hs - 4) >> 8); b[hs + 3] = (uint8_t)(o - hs - 4);
	b[3] = (uint8_t)((o - 5) >> 8); b[4] = (uint8_t)(o - 5);
	return o;
}

static const uint16_t S13[] = { 0x1301, 0x1302, 0xC02F };
static const uint16_t S12_RSA[] = { 0xC02F, 0xC030, 0xCCA8 };
static const uint16_t S12_ECDSA[] = { 0xC02B, 0xC02F };
static const uint16_t SIG_ECDSA[] = { 0x0804, 0x0403 };
static const uint16_t SIG_RSA[] = { 0x0804, 0x0401, 0x0805 };

static void
test_hello_choices(void **state)
{
	uint8_t b[512];
	(void)state;
	assert_true(tls_hello_takes_ecdsa(b, hello(b, S13, 3, SIG_ECDSA, 2)));
	assert_false(tls_hello_takes_ecdsa(b, hello(b, S13, 3, SIG_RSA, 3)));
	assert_true(tls_hello_takes_ecdsa(b, hello(b, S12_ECDSA, 2, NULL, -1)));   /* TLS 1.2 default sigalgs */
	assert_true(tls_hello_takes_ecdsa(b, hello(b, S12_ECDSA, 2, SIG_ECDSA, 2)));
	assert_false(tls_hello_takes_ecdsa(b, hello(b, S12_ECDSA, 2, SIG_RSA, 3)));
	assert_false(tls_hello_takes_ecdsa(b, hello(b, S12_RSA, 3, SIG_ECDSA, 2)));
	assert_false(tls_hello_takes_ecdsa(b, hello(b, S12_RSA, 3, NULL, -1)));
}

static void
test_hello_malformed(void **state)
{
	uint8_t b[512];
	(void)state;
	size_t n = hello(b, S13, 3, SIG_ECDSA, 2);
	for (size_t cut = 0; cut < n - 12; cut++)      /* never true for a record cut before its sigalgs */
		if (tls_hello_takes_ecdsa(b, cut) && cut < 50)
			fail_msg("cut at %zu accepted", cut);
	b[0] = 'E';                                     /* plaintext */
	assert_false(tls_hello_takes_ecdsa(b, n));
	n = hello(b, S13, 3, SIG_ECDSA, 2);
	b[5] = 2;                                       /* not a ClientHello */
	assert_false(tls_hello_takes_ecdsa(b, n));
	n = hello(b, S13, 3, SIG_ECDSA, 2);
	b[43] = 0xff;                                   /* session id longer than the record */
	assert_false(tls_hello_takes_ecdsa(b, n));
	assert_false(tls_hello_takes_ecdsa(b, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_choices),
		cmocka_unit_test(test_hello_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
