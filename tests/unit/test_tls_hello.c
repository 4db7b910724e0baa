/*
 * test_tls_hello.c — unit tests of tls_hello_takes_ecdsa() and
 * tls_hello_sni() (crypto/tls.h): the ClientHello inspection that picks our
 * ECDSA or RSA certificate and the host name asked for, on hand-built
 * records: TLS 1.3 and 1.2 suites, signature_algorithms present or absent,
 * server_name present, absent or odd, and every truncation of a valid
 * record and every byte of it set to 0x00 and 0xff. Each input is an exact-
 * size heap copy (malloc of its length), so that a read past it is a heap
 * overflow: build/tests/asan/test_tls_hello (make unit-asan, run by
 * tests/run) is this test under ASan and UBSan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/tls.h"

/* server_name extension data appended by hello() when set (raw bytes, sni_len of them). */
static const uint8_t *sni_ext;
static size_t sni_len;
static size_t sig_end;          /* where hello()'s signature_algorithms extension ends (0: none) */

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
	sig_end = 0;
	if (n_sig >= 0) {                                       /* signature_algorithms */
		b[o++] = 0; b[o++] = 13;
		b[o++] = (uint8_t)((n_sig * 2 + 2) >> 8); b[o++] = (uint8_t)(n_sig * 2 + 2);
		b[o++] = (uint8_t)(n_sig * 2 >> 8); b[o++] = (uint8_t)(n_sig * 2);
		for (int i = 0; i < n_sig; i++) { b[o++] = (uint8_t)(sigs[i] >> 8); b[o++] = (uint8_t)sigs[i]; }
		sig_end = o;
	}
	if (sni_ext != NULL) {                                  /* server_name */
		b[o++] = 0; b[o++] = 0; b[o++] = (uint8_t)(sni_len >> 8); b[o++] = (uint8_t)sni_len;
		memcpy(b + o, sni_ext, sni_len); o += sni_len;
	}
	b[ext] = (uint8_t)((o - ext - 2) >> 8); b[ext + 1] = (uint8_t)(o - ext - 2);
	b[hs + 1] = 0; b[hs + 2] = (uint8_t)((o - hs - 4) >> 8); b[hs + 3] = (uint8_t)(o - hs - 4);
	b[3] = (uint8_t)((o - 5) >> 8); b[4] = (uint8_t)(o - 5);
	return o;
}

/* An exact-size heap copy of b[0..len) (a read past it is a heap overflow under ASan). */
static uint8_t *
exact(const uint8_t *b, size_t len)
{
	uint8_t *p = malloc(len);

	assert_true(p != NULL || len == 0);
	if (len > 0)
		memcpy(p, b, len);
	return p;
}

static bool
ecdsa_at(const uint8_t *b, size_t len)
{
	uint8_t *p = exact(b, len);
	bool r = tls_hello_takes_ecdsa(p, len);

	free(p);
	return r;
}

static size_t
sni_at(const uint8_t *b, size_t len, char *out, size_t outlen)
{
	uint8_t *p = exact(b, len);
	size_t r = tls_hello_sni(p, len, out, outlen);

	free(p);
	return r;
}

/* server_name data for one host_name entry (list length, type 0, name length, name). */
static size_t
sni_data(uint8_t *d, const char *name)
{
	size_t n = strlen(name);

	d[0] = (uint8_t)((n + 3) >> 8); d[1] = (uint8_t)(n + 3); d[2] = 0;
	d[3] = (uint8_t)(n >> 8); d[4] = (uint8_t)n;
	memcpy(d + 5, name, n);
	return n + 5;
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
	assert_true(ecdsa_at(b, hello(b, S13, 3, SIG_ECDSA, 2)));
	assert_false(ecdsa_at(b, hello(b, S13, 3, SIG_RSA, 3)));
	assert_true(ecdsa_at(b, hello(b, S12_ECDSA, 2, NULL, -1)));   /* TLS 1.2 default sigalgs */
	assert_true(ecdsa_at(b, hello(b, S12_ECDSA, 2, SIG_ECDSA, 2)));
	assert_false(ecdsa_at(b, hello(b, S12_ECDSA, 2, SIG_RSA, 3)));
	assert_false(ecdsa_at(b, hello(b, S12_RSA, 3, SIG_ECDSA, 2)));
	assert_false(ecdsa_at(b, hello(b, S12_RSA, 3, NULL, -1)));
}

/*
 * Every cut of a record: an ECDSA answer only once its signature_algorithms
 * is whole (a cut one is not "none listed": an RSA-only client would get
 * the ECDSA certificate), never a name from a cut record.
 */
static void
test_hello_cuts(void **state)
{
	uint8_t b[1024], d[64];
	char out[256];
	size_t n;
	(void)state;

	n = hello(b, S13, 3, SIG_ECDSA, 2);
	for (size_t cut = 0; cut < n; cut++)
		if (ecdsa_at(b, cut))
			fail_msg("ECDSA client, cut at %zu of %zu: ECDSA answered", cut, n);
	assert_true(ecdsa_at(b, n));
	n = hello(b, S13, 3, SIG_RSA, 3);
	for (size_t cut = 0; cut <= n; cut++)
		if (ecdsa_at(b, cut))
			fail_msg("RSA-only client, cut at %zu of %zu: ECDSA answered", cut, n);
	n = hello(b, S12_ECDSA, 2, NULL, -1);           /* no sigalgs at all: TLS 1.2's default allows ECDSA */
	for (size_t cut = 0; cut < n; cut++)
		if (ecdsa_at(b, cut))
			fail_msg("no sigalgs, cut at %zu of %zu: ECDSA answered", cut, n);
	assert_true(ecdsa_at(b, n));
	sni_ext = d;                                    /* server_name after the sigalgs */
	sni_len = sni_data(d, "mx.gw.test");
	n = hello(b, S13, 3, SIG_ECDSA, 2);
	for (size_t cut = 0; cut <= n; cut++) {
		if (ecdsa_at(b, cut) != (cut >= sig_end))
			fail_msg("cut at %zu (sigalgs end at %zu): wrong answer", cut, sig_end);
		size_t got = sni_at(b, cut, out, sizeof(out));
		if (cut < n ? got != 0 : got != 10)
			fail_msg("SNI, cut at %zu of %zu: %zu", cut, n, got);
	}
	sni_ext = NULL;
}

/* Each byte of a record with a server_name set to 0x00 and to 0xff, at every cut: no read past it. */
static void
test_hello_bytes(void **state)
{
	uint8_t b[1024], m[1024], d[64];
	char out[256];
	(void)state;

	sni_ext = d;
	sni_len = sni_data(d, "mx.gw.test");
	size_t n = hello(b, S13, 3, SIG_ECDSA, 2);
	sni_ext = NULL;
	for (size_t i = 0; i < n; i++) {
		for (int v = 0; v < 2; v++) {
			memcpy(m, b, n);
			m[i] = v ? 0xff : 0x00;
			for (size_t cut = i + 1; cut <= n; cut++) {
				ecdsa_at(m, cut);
				size_t got = sni_at(m, cut, out, sizeof(out));
				assert_true(got < sizeof(out) && strlen(out) == got);
			}
		}
	}
}

static void
test_hello_malformed(void **state)
{
	uint8_t b[512];
	(void)state;
	size_t n = hello(b, S13, 3, SIG_ECDSA, 2);
	b[0] = 'E';                                     /* plaintext */
	assert_false(ecdsa_at(b, n));
	n = hello(b, S13, 3, SIG_ECDSA, 2);
	b[5] = 2;                                       /* not a ClientHello */
	assert_false(ecdsa_at(b, n));
	n = hello(b, S13, 3, SIG_ECDSA, 2);
	b[43] = 0xff;                                   /* session id longer than the record */
	assert_false(ecdsa_at(b, n));
	assert_false(ecdsa_at(b, 0));
}

static void
test_hello_sni(void **state)
{
	uint8_t b[1024], d[400];
	char out[256];
	(void)state;

	sni_ext = NULL;
	assert_int_equal(sni_at(b, hello(b, S13, 3, SIG_ECDSA, 2), out, sizeof(out)), 0);
	assert_string_equal(out, "");
	sni_ext = d;
	sni_len = sni_data(d, "mx.gw.test");
	size_t n = hello(b, S13, 3, SIG_ECDSA, 2);
	assert_int_equal(sni_at(b, n, out, sizeof(out)), 10);
	assert_string_equal(out, "mx.gw.test");
	assert_true(ecdsa_at(b, n));               /* the other inspection is unaffected */
	assert_int_equal(sni_at(b, n, out, 10), 0);      /* does not fit with its NUL */
	for (size_t cut = 0; cut < n; cut++)                    /* a cut record never yields a name */
		assert_int_equal(sni_at(b, cut, out, sizeof(out)), 0);
	/* A name with a control character or a space, an empty name: none. */
	sni_len = sni_data(d, "mx.gw.test\n");
	assert_int_equal(sni_at(b, hello(b, S13, 3, SIG_ECDSA, 2), out, sizeof(out)), 0);
	sni_len = sni_data(d, "mx gw");
	assert_int_equal(sni_at(b, hello(b, S13, 3, SIG_ECDSA, 2), out, sizeof(out)), 0);
	sni_len = sni_data(d, "");
	assert_int_equal(sni_at(b, hello(b, S13, 3, SIG_ECDSA, 2), out, sizeof(out)), 0);
	/* A list length beyond the extension: clipped, the name inside still read. */
	sni_len = sni_data(d, "a.example");
	d[1] = 0xff;
	assert_int_equal(sni_at(b, hello(b, S13, 3, SIG_ECDSA, 2), out, sizeof(out)), 9);
	assert_string_equal(out, "a.example");
	/* A name length beyond the list: none. */
	sni_len = sni_data(d, "a.example");
	d[4] = 60;
	assert_int_equal(sni_at(b, hello(b, S13, 3, SIG_ECDSA, 2), out, sizeof(out)), 0);
	/* An unknown name type first, then a host_name. */
	d[0] = 0; d[1] = 3 + 2 + 3 + 9; d[2] = 7; d[3] = 0; d[4] = 2; d[5] = 'x'; d[6] = 'y';
	d[7] = 0; d[8] = 0; d[9] = 9; memcpy(d + 10, "a.example", 9);
	sni_len = 19;
	assert_int_equal(sni_at(b, hello(b, S13, 3, SIG_ECDSA, 2), out, sizeof(out)), 9);
	assert_string_equal(out, "a.example");
	sni_ext = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_choices),
		cmocka_unit_test(test_hello_malformed),
		cmocka_unit_test(test_hello_cuts),
		cmocka_unit_test(test_hello_bytes),
		cmocka_unit_test(test_hello_sni),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
