/*
 * test_tls_names.c — unit tests of crypto/tls_names.h, the one function
 * that turns a certificate into the identities policy matches (workers and
 * simulator alike): the DNS-name syntax it accepts, and the test PKI's
 * certificates (tools/mkcerts, into build/pki), the hostile ones of issue
 * 12 item 5 included: a "/CN=" hidden in O, a subject longer than 255
 * characters, an email SAN only, a dNSName with a space, one with a NUL, a
 * SAN list longer than 511 characters, wildcards, a CN beside a dNSName
 * that differs. Each must yield exactly the names it encodes, or none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "crypto/tls_names.h"

#define PKI "build/pki"

static int
setup(void **state)
{
	(void)state;
	if (system("tools/mkcerts -q -o " PKI " >/dev/null") != 0)
		return -1;
	return wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	wolfSSL_Cleanup();
	return 0;
}

static bool
valid(const char *s)
{
	return tls_name_valid(s, strlen(s));
}

static void
test_syntax(void **state)
{
	char label63[64], label64[65], name253[254], name254[255];
	(void)state;

	memset(label63, 'a', 63);
	label63[63] = '\0';
	memset(label64, 'a', 64);
	label64[64] = '\0';
	memset(name253, 'a', 253);
	for (int i = 63; i < 253; i += 64)
		name253[i] = '.';
	name253[253] = '\0';
	memcpy(name254, name253, 253);
	name254[253] = 'b';
	name254[254] = '\0';

	assert_true(valid("a.example"));
	assert_true(valid("mail.partner.example"));
	assert_true(valid("MAIL.Partner.Example"));
	assert_true(valid("localhost"));
	assert_true(valid("xn--bcher-kva.example"));
	assert_true(valid("a-b.c-d.example"));
	assert_true(valid("*.partner.example"));
	assert_true(valid("*.example"));
	assert_true(valid(label63));
	assert_true(valid(name253));
	assert_false(valid(label64));
	assert_false(valid(name254));
	assert_false(valid(""));
	assert_false(valid(" "));
	assert_false(valid("attacker.example mail.partner.example"));
	assert_false(valid("mail.partner.example,x.example"));
	assert_false(valid("a..example"));
	assert_false(valid(".a.example"));
	assert_false(valid("a.example."));
	assert_false(valid("-a.example"));
	assert_false(valid("a-.example"));
	assert_false(valid("a_b.example"));
	assert_false(valid("a\tb.example"));
	assert_false(valid("a\r\nb.example"));
	assert_false(valid("\xc3\xa9.example"));
	assert_false(valid("*"));
	assert_false(valid("*."));
	assert_false(valid("*x.example"));
	assert_false(valid("a*.example"));
	assert_false(valid("a.*.example"));
	assert_false(valid("**.example"));
	assert_false(valid("*.*.example"));
	assert_false(valid("mailgw test CA"));
	assert_false(tls_name_valid("mail.partner.example\0.attacker.example", 38));   /* a NUL inside */
	assert_false(tls_name_valid(NULL, 0));
}

/* The identities of PKI/file, "a, b" (and from_cn, invalid) into the arguments. */
static unsigned
names_of(const char *file, char *out, size_t len, struct tls_names *n)
{
	char path[256];

	snprintf(path, sizeof(path), PKI "/%s", file);
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(path, WOLFSSL_FILETYPE_PEM);
	if (x == NULL)
		fail_msg("cannot load %s", path);
	tls_names_of_x509(x, n);
	wolfSSL_X509_free(x);
	tls_names_format(n, out, len);
	return n->n;
}

struct cert_case {
	const char *file;
	const char *names;      /* the identities, ", "-joined ("" none) */
	bool from_cn;
	unsigned invalid;
};

static const struct cert_case cert_cases[] = {
	{ "partner/client.crt", "mail.partner.example", false, 0 },
	{ "gw/rsa.crt", "mx.gw.example, mx.gw.test, localhost", false, 0 },        /* the certificate's order */
	{ "nexthop/server.crt", "mx.int.example, mail.example.com", false, 0 },    /* an IP SAN is no host name */
	{ "ca/ca.crt", "", false, 1 },                          /* CN "mailgw test CA": no DNS name */
	/* O=Evil/CN=mail.partner.example, CN=attacker.example: the one CN, not the first "/CN=" */
	{ "hostile/slash-in-o.crt", "attacker.example", true, 0 },
	/* a one-line subject cut at 255 characters ended in "/CN=mail.partner.example" */
	{ "hostile/long-subject.crt", "mail.partner.example.attacker.example", true, 0 },
	/* email:mail.partner.example is no DNS-ID: the CN */
	{ "hostile/email-san.crt", "attacker.example", true, 0 },
	/* DNS:"attacker.example mail.partner.example": not a name (and not two); no CN beside a DNS-ID */
	{ "hostile/space-san.crt", "", false, 1 },
	/* DNS:"mail.partner.example\0.attacker.example" */
	{ "hostile/nul-san.crt", "", false, 1 },
	/* a 489-character dNSName (refused, not cut) and the attacker's long name (kept whole) */
	{ "hostile/long-san.crt", "mail.partner.example.attacker.example", false, 1 },
	{ "hostile/wildcard.crt", "*.partner.example, *.example", false, 0 },
	/* CN=mail.partner.example beside DNS:attacker.example: the CN is not an identity */
	{ "hostile/cn-not-san.crt", "attacker.example", false, 0 },
};

static void
test_certificates(void **state)
{
	char got[TLS_NAMES_BUF + 64];
	struct tls_names n;
	(void)state;

	for (size_t i = 0; i < sizeof(cert_cases) / sizeof(cert_cases[0]); i++) {
		const struct cert_case *c = &cert_cases[i];
		names_of(c->file, got, sizeof(got), &n);
		if (strcmp(got, c->names) != 0 || n.from_cn != c->from_cn || n.invalid != c->invalid || n.over)
			fail_msg("%s: names \"%s\" from_cn %d invalid %u over %u; want \"%s\" %d %u 0", c->file, got,
				 n.from_cn, n.invalid, n.over, c->names, c->from_cn, c->invalid);
		for (unsigned k = 0; k < n.n; k++) {             /* each exactly as long as its text */
			const char *s = tls_names_get(&n, k);
			assert_true(tls_name_valid(s, strlen(s)));
		}
		assert_null(tls_names_get(&n, n.n));
	}
	assert_int_equal(tls_names_of_x509(NULL, &n), 0);
	assert_int_equal(n.n + n.invalid + n.over, 0);
}

/* More names than kept: counted over the limit, none cut; two CNs: none. */
static void
test_limits(void **state)
{
	struct tls_names n;
	char sans[4096] = "subjectAltName=", cmd[8192];
	(void)state;

	for (int i = 0; i < 20; i++)
		snprintf(sans + strlen(sans), sizeof(sans) - strlen(sans), "%sDNS:host%02d.%s", i ? "," : "", i,
			 "a-rather-long-label-to-fill-the-buffer-quickly.example");
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout /dev/null -subj /CN=many.example -days 1 -addext '%s' -out build/tests/many-names.pem "
		 "2>/dev/null", sans);
	assert_int_equal(system(cmd), 0);
	WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file("build/tests/many-names.pem", WOLFSSL_FILETYPE_PEM);
	assert_non_null(x);
	tls_names_of_x509(x, &n);
	wolfSSL_X509_free(x);
	assert_int_equal(n.n + n.over, 20);
	assert_true(n.over > 0);
	assert_int_equal(n.invalid, 0);
	for (unsigned k = 0; k < n.n; k++) {
		char want[128];
		snprintf(want, sizeof(want), "host%02u.a-rather-long-label-to-fill-the-buffer-quickly.example", k);
		assert_string_equal(tls_names_get(&n, k), want);
	}
	remove("build/tests/many-names.pem");
	/* Two CNs and no SAN: ambiguous, neither is an identity. */
	assert_int_equal(system("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
				"/dev/null -subj /CN=attacker.example/CN=mail.partner.example -days 1 "
				"-out build/tests/two-cns.pem 2>/dev/null"), 0);
	x = wolfSSL_X509_load_certificate_file("build/tests/two-cns.pem", WOLFSSL_FILETYPE_PEM);
	assert_non_null(x);
	assert_int_equal(tls_names_of_x509(x, &n), 0);
	assert_int_equal(n.invalid, 1);
	assert_false(n.from_cn);
	wolfSSL_X509_free(x);
	remove("build/tests/two-cns.pem");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_certificates),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
