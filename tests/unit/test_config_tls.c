/*
 * test_config_tls.c — unit tests of platform/config_tls.c (the `tls` group)
 * and of the routes' tls_level and tls_names (platform/config_smtp.c).
 *
 * Each test writes a configuration into a temporary directory that also
 * holds empty certificate, key and CA files (only their readability is
 * checked at load), and calls config_load(). Error texts are checked
 * exactly, "FILE:LINE: setting: message"; "{D}" in a text or an expected
 * message stands for that directory. Covered: defaults, every setting,
 * every error, the cipher and curve policy, relative paths (against the
 * configuration file's directory, also when its own path is relative),
 * the trust-anchor check of "verify" (with the default bundle hidden in a
 * mount namespace, where that is allowed), the example file with its
 * commented-out tls group, and the config_format() round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/config_test.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/config.h"

#define V "version = 1;\n"
/* Lines 2..5. */
#define PORTS "ports = (\n" \
	"  { name = \"ext\"; device = \"net_af_packet0\"; address = \"192.0.2.1/24\"; },\n" \
	"  { name = \"int\"; device = \"net_af_packet1\"; address = \"10.0.0.1/24\"; }\n" \
	");\n"
/* `tls: {` is on line 6, X on line 7. */
#define TLS(x) V PORTS "tls: {\n  " x "\n};\n"
/* X is on line 8. */
#define CLIENT(x) V PORTS "tls: {\n  client: {\n    " x "\n  };\n};\n"
/* `routes = (` is on line 6, X starts on line 7. */
#define ROUTES(x) V PORTS "routes = (\n  " x "\n);\n"
/* A route of a.example with settings X. */
#define RT(x) "{ domains = [ \"a.example\" ]; next_hops = [ \"10.0.0.1\" ]; " x " }"
/* One certificate, relative to the file's directory. */
#define CERT "certificates = ( { cert = \"ecdsa.crt\"; key = \"ecdsa.key\"; } );"
#define CIPHERS(x) TLS("ciphers = \"" x "\";")
#define POLICY "; inbound suites must be ECDHE with AES-GCM or ChaCha20-Poly1305"
#define LEVELS "(expected \"none\", \"may\", \"encrypt\", \"verify\" or \"secure\")"
#define DEFAULT_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CA_DEFAULT "/etc/ssl/certs/ca-certificates.crt"
#define S28 "ECDHE-RSA-AES128-GCM-SHA256:"
/* 50 characters. */
#define C50 "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct test_tls_case {
	const char *text;
	const char *expect;     /* after "FILE:" */
};

static const struct test_tls_case test_tls_broken[] = {
	/* names and types */
	{ V PORTS "tlz: { };\n", "6: tlz: unknown setting (did you mean \"tls\"?)" },
	{ V PORTS "tls = 1;\n", "6: tls: expected a group, got an integer" },
	{ TLS("cipher = \"x\";"), "7: tls.cipher: unknown setting (did you mean \"ciphers\"?)" },
	{ TLS("certificate = ( );"),
	  "7: tls.certificate: unknown setting (did you mean \"certificates\"?)" },
	{ TLS("min_versions = \"1.2\";"),
	  "7: tls.min_versions: unknown setting (did you mean \"min_version\"?)" },
	{ TLS("sni = true;"), "7: tls.sni: unknown setting" },
	{ TLS("client = 1;"), "7: tls.client: expected a group, got an integer" },
	{ CLIENT("levle = \"may\";"),
	  "8: tls.client.levle: unknown setting (did you mean \"level\"?)" },
	{ CLIENT("ca = \"x\";"), "8: tls.client.ca: unknown setting" },
	{ TLS("enabled = 1;"), "7: tls.enabled: expected a boolean, got an integer" },
	{ TLS("tls13 = \"yes\";"), "7: tls.tls13: expected a boolean, got a string" },
	{ TLS("request_client_cert = 1;"),
	  "7: tls.request_client_cert: expected a boolean, got an integer" },
	{ TLS("expiry_warning_days = 366;"),
	  "7: tls.expiry_warning_days: 366 is out of range (0..365)" },
	{ TLS("expiry_warning_days = -1;"),
	  "7: tls.expiry_warning_days: -1 is out of range (0..365)" },
	{ TLS("expiry_warning_days = \"30\";"),
	  "7: tls.expiry_warning_days: expected an integer, got a string" },
	{ TLS("session_timeout = 0;"),
	  "7: tls.session_timeout: 0 is out of range (1..86400)" },
	{ TLS("ticket_key_rotation = 86401;"),
	  "7: tls.ticket_key_rotation: 86401 is out of range (1..86400)" },
	{ TLS("session_cache_size = -1;"),
	  "7: tls.session_cache_size: -1 is out of range (0..1048576)" },
	/* enabled */
	{ TLS("enabled = true;"),
	  "7: tls.enabled: STARTTLS needs at least one entry in tls.certificates" },
	{ TLS("certificates = ( );\n  enabled = true;"),
	  "8: tls.enabled: STARTTLS needs at least one entry in tls.certificates" },
	/* certificates */
	{ TLS("certificates = { cert = \"ecdsa.crt\"; key = \"ecdsa.key\"; };"),
	  "7: tls.certificates: expected a list of groups, got a group" },
	{ TLS("certificates = [ \"ecdsa.crt\" ];"),
	  "7: tls.certificates: expected a list of groups, got an array" },
	{ TLS("certificates = ( \"ecdsa.crt\" );"),
	  "7: tls.certificates.[0]: expected a group, got a string" },
	{ TLS("certificates = ( { cert = \"ecdsa.crt\"; } );"),
	  "7: tls.certificates.[0].key: missing (required)" },
	{ TLS("certificates = (\n    { cert = \"ecdsa.crt\"; key = \"ecdsa.key\"; },\n"
	      "    { key = \"rsa.key\"; } );"),
	  "9: tls.certificates.[1].cert: missing (required)" },
	{ TLS("certificates = ( { cert = \"ecdsa.crt\"; key = \"ecdsa.key\"; crt = \"x\"; } );"),
	  "7: tls.certificates.[0].crt: unknown setting (did you mean \"cert\"?)" },
	{ TLS("certificates = ( { cert = \"\"; key = \"ecdsa.key\"; } );"),
	  "7: tls.certificates.[0].cert: must not be empty" },
	{ TLS("certificates = ( { cert = 5; key = \"ecdsa.key\"; } );"),
	  "7: tls.certificates.[0].cert: expected a string, got an integer" },
	{ TLS("certificates = ( { cert = \"missing.crt\"; key = \"ecdsa.key\"; } );"),
	  "7: tls.certificates.[0].cert: {D}/missing.crt: No such file or directory" },
	{ TLS("certificates = ( { cert = \"/nonexistent/x.crt\"; key = \"ecdsa.key\"; } );"),
	  "7: tls.certificates.[0].cert: /nonexistent/x.crt: No such file or directory" },
	{ TLS("certificates = ( { cert = \"ecdsa.crt\"; key = \"sub\"; } );"),
	  "7: tls.certificates.[0].key: {D}/sub: Is a directory" },
	{ TLS("certificates = ( { cert = \"ecdsa.crt\";\n    key = \"sub/../missing.key\"; } );"),
	  "8: tls.certificates.[0].key: {D}/sub/../missing.key: No such file or directory" },
	{ TLS("certificates = ( { cert = \"/" C50 C50 C50 C50 C50 "abcde\"; key = \"x\"; } );"),
	  "7: tls.certificates.[0].cert: is too long (256 characters, at most 255)" },
	{ TLS("certificates = (\n    { cert = \"ecdsa.crt\"; key = \"ecdsa.key\"; },\n"
	      "    { cert = \"rsa.crt\"; key = \"rsa.key\"; },\n"
	      "    { cert = \"ecdsa.crt\"; key = \"rsa.key\"; } );"),
	  "10: tls.certificates.[2].cert: {D}/ecdsa.crt is already used by "
	  "tls.certificates.[0] (line 8)" },
	{ TLS("certificates = ( {}, {}, {}, {}, {}, {}, {}, {}, {} );"),
	  "7: tls.certificates: has 9 entries, at most 8" },
	/* versions */
	{ TLS("min_version = \"1.1\";"),
	  "7: tls.min_version: \"1.1\" is below the TLS 1.2 floor (inbound TLS 1.0/1.1 "
	  "is never accepted)" },
	{ TLS("min_version = \"1.0\";"),
	  "7: tls.min_version: \"1.0\" is below the TLS 1.2 floor (inbound TLS 1.0/1.1 "
	  "is never accepted)" },
	{ TLS("min_version = \"1\";"),
	  "7: tls.min_version: \"1\" is below the TLS 1.2 floor (inbound TLS 1.0/1.1 "
	  "is never accepted)" },
	{ TLS("min_version = \"1.4\";"),
	  "7: tls.min_version: \"1.4\" is unknown (expected \"1.2\" or \"1.3\")" },
	{ TLS("min_version = \"TLSv1.2\";"),
	  "7: tls.min_version: \"TLSv1.2\" is unknown (expected \"1.2\" or \"1.3\")" },
	{ TLS("min_version = 1.2;"),
	  "7: tls.min_version: expected a string (\"1.2\" or \"1.3\"), got a float" },
	{ TLS("min_version = \"1.3\";\n  tls13 = false;"),
	  "8: tls.tls13: is false, but tls.min_version \"1.3\" leaves only TLS 1.3" },
	/* ciphers: the list */
	{ CIPHERS(""), "7: tls.ciphers: must not be empty" },
	{ TLS("ciphers = [ \"ECDHE-RSA-AES128-GCM-SHA256\" ];"),
	  "7: tls.ciphers: expected a string, got an array" },
	{ CIPHERS("ECDHE-RSA-AES128-GCM-SHA256:"),
	  "7: tls.ciphers: has an empty entry (\"ECDHE-RSA-AES128-GCM-SHA256:\": "
	  "suites are separated by single ':')" },
	{ CIPHERS("ECDHE-RSA-AES128-GCM-SHA256::ECDHE-RSA-AES256-GCM-SHA384"),
	  "7: tls.ciphers: has an empty entry (\"ECDHE-RSA-AES128-GCM-SHA256::"
	  "ECDHE-RSA-AES256-GCM-SHA384\": suites are separated by single ':')" },
	{ CIPHERS(S28 S28 S28 S28 S28 S28 S28 S28 S28 S28 S28 S28 S28 S28 S28 S28 S28
		  S28 "ECDHE-RSA-AES128-GCM-SHA25"),
	  "7: tls.ciphers: is too long (530 characters, at most 511)" },
	{ CIPHERS("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256:"
		  "ECDHE-RSA-AES128-GCM-SHA256"),
	  "7: tls.ciphers: \"ECDHE-RSA-AES128-GCM-SHA256\" is listed twice" },
	/* ciphers: refused suites, one reason or two */
	{ CIPHERS("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA256"),
	  "7: tls.ciphers: \"ECDHE-RSA-AES128-SHA256\" is not an AEAD suite (CBC)" POLICY },
	{ CIPHERS("ECDHE-ECDSA-AES256-SHA"),
	  "7: tls.ciphers: \"ECDHE-ECDSA-AES256-SHA\" is not an AEAD suite (CBC)" POLICY },
	{ CIPHERS("AES128-GCM-SHA256"),
	  "7: tls.ciphers: \"AES128-GCM-SHA256\" is not forward-secret (RSA key exchange)"
	  POLICY },
	{ CIPHERS("AES256-SHA"),
	  "7: tls.ciphers: \"AES256-SHA\" is not forward-secret (RSA key exchange) and "
	  "is not an AEAD suite (CBC)" POLICY },
	{ CIPHERS("ECDH-ECDSA-AES128-GCM-SHA256"),
	  "7: tls.ciphers: \"ECDH-ECDSA-AES128-GCM-SHA256\" is not forward-secret "
	  "(static ECDH key exchange)" POLICY },
	{ CIPHERS("DHE-RSA-AES128-GCM-SHA256"),
	  "7: tls.ciphers: \"DHE-RSA-AES128-GCM-SHA256\" uses DHE key exchange (DHE is "
	  "not supported, use ECDHE)" POLICY },
	{ CIPHERS("DHE-RSA-CHACHA20-POLY1305"),
	  "7: tls.ciphers: \"DHE-RSA-CHACHA20-POLY1305\" uses DHE key exchange (DHE is "
	  "not supported, use ECDHE)" POLICY },
	{ CIPHERS("EDH-RSA-DES-CBC3-SHA"),
	  "7: tls.ciphers: \"EDH-RSA-DES-CBC3-SHA\" uses DHE key exchange (DHE is not "
	  "supported, use ECDHE) and is not an AEAD suite (3DES-CBC, 64-bit blocks)" POLICY },
	{ CIPHERS("ECDHE-RSA-DES-CBC3-SHA"),
	  "7: tls.ciphers: \"ECDHE-RSA-DES-CBC3-SHA\" is not an AEAD suite (3DES-CBC, "
	  "64-bit blocks)" POLICY },
	{ CIPHERS("DES-CBC-SHA"),
	  "7: tls.ciphers: \"DES-CBC-SHA\" is not forward-secret (RSA key exchange) and "
	  "is not an AEAD suite (DES-CBC, 56-bit keys)" POLICY },
	{ CIPHERS("ECDHE-RSA-RC4-SHA"),
	  "7: tls.ciphers: \"ECDHE-RSA-RC4-SHA\" uses RC4 (prohibited by RFC 7465)" POLICY },
	{ CIPHERS("RC4-MD5"),
	  "7: tls.ciphers: \"RC4-MD5\" is not forward-secret (RSA key exchange) and uses "
	  "RC4 (prohibited by RFC 7465)" POLICY },
	{ CIPHERS("ECDHE-RSA-NULL-SHA"),
	  "7: tls.ciphers: \"ECDHE-RSA-NULL-SHA\" does not encrypt (NULL cipher)" POLICY },
	{ CIPHERS("NULL-SHA256"),
	  "7: tls.ciphers: \"NULL-SHA256\" is not forward-secret (RSA key exchange) and "
	  "does not encrypt (NULL cipher)" POLICY },
	{ CIPHERS("EXP-RC4-MD5"),
	  "7: tls.ciphers: \"EXP-RC4-MD5\" is an export suite (40- or 56-bit keys)" POLICY },
	{ CIPHERS("EXP-EDH-RSA-DES-CBC-SHA"),
	  "7: tls.ciphers: \"EXP-EDH-RSA-DES-CBC-SHA\" is an export suite (40- or 56-bit "
	  "keys)" POLICY },
	{ CIPHERS("ADH-AES128-GCM-SHA256"),
	  "7: tls.ciphers: \"ADH-AES128-GCM-SHA256\" is anonymous (no certificate "
	  "authenticates the server)" POLICY },
	{ CIPHERS("AECDH-AES128-SHA"),
	  "7: tls.ciphers: \"AECDH-AES128-SHA\" is anonymous (no certificate authenticates "
	  "the server) and is not an AEAD suite (CBC)" POLICY },
	{ CIPHERS("ECDHE-PSK-CHACHA20-POLY1305"),
	  "7: tls.ciphers: \"ECDHE-PSK-CHACHA20-POLY1305\" uses pre-shared keys, not "
	  "certificates" POLICY },
	{ CIPHERS("SRP-RSA-AES-128-CBC-SHA"),
	  "7: tls.ciphers: \"SRP-RSA-AES-128-CBC-SHA\" uses SRP, not certificates and is "
	  "not an AEAD suite (CBC)" POLICY },
	{ CIPHERS("ECDHE-ECDSA-AES128-CCM"),
	  "7: tls.ciphers: \"ECDHE-ECDSA-AES128-CCM\" uses AES-CCM (not supported)" POLICY },
	{ CIPHERS("ECDHE-ARIA128-GCM-SHA256"),
	  "7: tls.ciphers: \"ECDHE-ARIA128-GCM-SHA256\" uses ARIA-GCM (not supported)" POLICY },
	{ CIPHERS("ECDHE-RSA-CAMELLIA128-SHA256"),
	  "7: tls.ciphers: \"ECDHE-RSA-CAMELLIA128-SHA256\" is not an AEAD suite (CBC)" POLICY },
	/* ciphers: not TLS 1.2 suite names */
	{ CIPHERS("TLS_AES_128_GCM_SHA256"),
	  "7: tls.ciphers: \"TLS_AES_128_GCM_SHA256\" is a TLS 1.3 suite: tls.ciphers "
	  "lists TLS 1.2 suites (TLS 1.3's are all forward-secret AEAD suites and need "
	  "no setting)" },
	{ CIPHERS("ECDHE-RSA-AES128-GCM-SHA256:TLS13-CHACHA20-POLY1305-SHA256"),
	  "7: tls.ciphers: \"TLS13-CHACHA20-POLY1305-SHA256\" is a TLS 1.3 suite: "
	  "tls.ciphers lists TLS 1.2 suites (TLS 1.3's are all forward-secret AEAD suites "
	  "and need no setting)" },
	{ CIPHERS("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
	  "7: tls.ciphers: \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\" is an IANA name: "
	  "write OpenSSL's, \"ECDHE-RSA-AES128-GCM-SHA256\"" },
	{ CIPHERS("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"),
	  "7: tls.ciphers: \"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\" is an IANA "
	  "name: write OpenSSL's, \"ECDHE-ECDSA-CHACHA20-POLY1305\"" },
	{ CIPHERS("HIGH:!aNULL"),
	  "7: tls.ciphers: \"HIGH\" is not a cipher suite name (OpenSSL's keywords and "
	  "operators are not supported: list suite names)" },
	{ CIPHERS("ECDHE-RSA-AES128-GCM-SHA256:!aNULL"),
	  "7: tls.ciphers: \"!aNULL\" is not a cipher suite name (OpenSSL's keywords and "
	  "operators are not supported: list suite names)" },
	{ CIPHERS("ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=2"),
	  "7: tls.ciphers: \"@SECLEVEL=2\" is not a cipher suite name (OpenSSL's keywords "
	  "and operators are not supported: list suite names)" },
	{ CIPHERS("ECDHE-RSA-AES128-GCM-SHA265"),
	  "7: tls.ciphers: unknown cipher suite \"ECDHE-RSA-AES128-GCM-SHA265\" (did you "
	  "mean \"ECDHE-RSA-AES128-GCM-SHA256\"?)" },
	{ CIPHERS("ecdhe-ecdsa-aes256-gcm-sha384"),
	  "7: tls.ciphers: unknown cipher suite \"ecdhe-ecdsa-aes256-gcm-sha384\" (did you "
	  "mean \"ECDHE-ECDSA-AES256-GCM-SHA384\"?)" },
	{ CIPHERS("ECDHE-RSA-CHACHA20-POLY1305-OLD"),
	  "7: tls.ciphers: unknown cipher suite \"ECDHE-RSA-CHACHA20-POLY1305-OLD\"" },
	{ CIPHERS("FOO"), "7: tls.ciphers: unknown cipher suite \"FOO\"" },
	/* curves */
	{ TLS("curves = \"\";"), "7: tls.curves: must not be empty" },
	{ TLS("curves = [ \"X25519\" ];"), "7: tls.curves: expected a string, got an array" },
	{ TLS("curves = \":X25519\";"),
	  "7: tls.curves: has an empty entry (\":X25519\": curves are separated by "
	  "single ':')" },
	{ TLS("curves = \"X25519:P256\";"),
	  "7: tls.curves: unknown curve \"P256\" (did you mean \"P-256\"?)" },
	{ TLS("curves = \"X448\";"),
	  "7: tls.curves: unknown curve \"X448\" (expected \"X25519\", \"P-256\", "
	  "\"P-384\" or \"P-521\")" },
	{ TLS("curves = \"ffdhe2048\";"),
	  "7: tls.curves: unknown curve \"ffdhe2048\" (expected \"X25519\", \"P-256\", "
	  "\"P-384\" or \"P-521\")" },
	{ TLS("curves = \"P-256:prime256v1\";"),
	  "7: tls.curves: \"prime256v1\" (P-256) is listed twice" },
	{ TLS("curves = \"X25519:P-384:P-384\";"),
	  "7: tls.curves: \"P-384\" is listed twice" },
	/* ca_file */
	{ TLS("ca_file = \"nope.pem\";"), "7: tls.ca_file: {D}/nope.pem: No such file or directory" },
	{ TLS("ca_file = \"sub/\";"), "7: tls.ca_file: {D}/sub/: Is a directory" },
	{ TLS("ca_file = 1;"), "7: tls.ca_file: expected a string, got an integer" },
	/* client */
	{ CLIENT("level = \"strict\";"), "8: tls.client.level: \"strict\" is unknown " LEVELS },
	{ CLIENT("level = 3;"), "8: tls.client.level: expected a string, got an integer" },
	{ CLIENT("level = \"secure\";"),
	  "8: tls.client.level: \"secure\" cannot be the default: it needs each next "
	  "hop's certificate names (set tls_level = \"secure\" and tls_names in the route)" },
	{ CLIENT("ca_file = \"\";"), "8: tls.client.ca_file: must not be empty" },
	{ CLIENT("ca_file = \"nope.pem\";"),
	  "8: tls.client.ca_file: {D}/nope.pem: No such file or directory" },
	{ CLIENT("level = \"none\";\n    ca_file = \"/nonexistent/ca.pem\";"),
	  "9: tls.client.ca_file: /nonexistent/ca.pem: No such file or directory" },
	{ CLIENT("cert = \"client.crt\";"),
	  "8: tls.client.cert: set without tls.client.key (both or neither)" },
	{ CLIENT("cert = \"\";\n    key = \"client.key\";"),
	  "9: tls.client.key: set without tls.client.cert (both or neither)" },
	{ CLIENT("cert = \"nope.crt\"; key = \"client.key\";"),
	  "8: tls.client.cert: {D}/nope.crt: No such file or directory" },
	{ CLIENT("cert = \"client.crt\"; key = \"sub\";"),
	  "8: tls.client.key: {D}/sub: Is a directory" },
	/* routes: tls_level */
	{ ROUTES(RT("tls_level = \"strict\";")),
	  "7: routes.[0].tls_level: \"strict\" is unknown " LEVELS },
	{ ROUTES(RT("tls_level = 3;")),
	  "7: routes.[0].tls_level: expected a string, got an integer" },
	{ ROUTES(RT("tls_levle = \"may\";")),
	  "7: routes.[0].tls_levle: unknown setting (did you mean \"tls_level\"?)" },
	{ ROUTES(RT("tls_name = [ \"a.example\" ];")),
	  "7: routes.[0].tls_name: unknown setting (did you mean \"tls_names\"?)" },
	{ ROUTES(RT("") ",\n  { domains = [ \"b.example\" ]; next_hops = [ \"10.0.0.2\" ];\n"
		 "    tls_level = \"secure\"; }"),
	  "9: routes.[1].tls_level: \"secure\" needs tls_names (the names a next hop's "
	  "certificate may carry)" },
	/* routes: tls_names */
	{ ROUTES(RT("tls_names = [ \"mx.a.example\" ];")),
	  "7: routes.[0].tls_names: only used with tls_level = \"secure\"" },
	{ ROUTES(RT("tls_level = \"verify\";\n    tls_names = [ \"mx.a.example\" ];")),
	  "8: routes.[0].tls_names: only used with tls_level = \"secure\"" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [ ];")),
	  "7: routes.[0].tls_names: is empty (tls_level = \"secure\" needs at least one name)" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [\n"
		    "    \"a0.example\", \"a1.example\", \"a2.example\", \"a3.example\", \"a4.example\",\n"
		    "    \"a5.example\", \"a6.example\", \"a7.example\", \"a8.example\", \"a9.example\",\n"
		    "    \"b0.example\", \"b1.example\", \"b2.example\", \"b3.example\", \"b4.example\",\n"
		    "    \"b5.example\", \"b6.example\", \"b7.example\", \"b8.example\", \"b9.example\",\n"
		    "    \"c0.example\", \"c1.example\", \"c2.example\", \"c3.example\", \"c4.example\",\n"
		    "    \"c5.example\", \"c6.example\", \"c7.example\", \"c8.example\", \"c9.example\",\n"
		    "    \"d0.example\", \"d1.example\", \"d2.example\", \"d3.example\", \"d4.example\",\n"
		    "    \"d5.example\", \"d6.example\", \"d7.example\", \"d8.example\", \"d9.example\",\n"
		    "    \"e0.example\", \"e1.example\", \"e2.example\", \"e3.example\", \"e4.example\",\n"
		    "    \"e5.example\", \"e6.example\", \"e7.example\", \"e8.example\", \"e9.example\",\n"
		    "    \"f0.example\", \"f1.example\", \"f2.example\", \"f3.example\", \"f4.example\",\n"
		    "    \"f5.example\", \"f6.example\", \"f7.example\", \"f8.example\", \"f9.example\",\n"
		    "    \"g0.example\", \"g1.example\", \"g2.example\", \"g3.example\", \"g4.example\" ];")),
	  "7: routes.[0].tls_names: has 65 entries, at most 64" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = \"mx.a.example\";")),
	  "7: routes.[0].tls_names: expected an array of strings, got a string" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [ 5 ];")),
	  "7: routes.[0].tls_names.[0]: expected a string, got an integer" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [ \"mx.a.example\", \"mx a.example\" ];")),
	  "7: routes.[0].tls_names.[1]: \"mx a.example\" is not a valid domain name" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [ \"*\" ];")),
	  "7: routes.[0].tls_names.[0]: \"*\" would accept any certificate" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [ \"*.\" ];")),
	  "7: routes.[0].tls_names.[0]: \"*.\" would accept any certificate" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [ \"*.*.a.example\" ];")),
	  "7: routes.[0].tls_names.[0]: \"*.*.a.example\" is not a valid domain name" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [ \"10.0.0.1\" ];")),
	  "7: routes.[0].tls_names.[0]: \"10.0.0.1\" is an address literal, not a domain name" },
	{ ROUTES(RT("tls_level = \"secure\";\n    tls_names = [ \"mx.a.example\",\n"
		    "                  \"MX.A.Example.\" ];")),
	  "9: routes.[0].tls_names.[1]: \"MX.A.Example.\" is already listed at "
	  "routes.[0].tls_names.[0]" },
};

/* The temporary directory of the files, with its certificates and keys. */
static char test_tls_dir[64];
static const char *const test_tls_files[] = {
	"ecdsa.crt", "ecdsa.key", "rsa.crt", "rsa.key", "ca.pem", "client.crt",
	"client.key", "sub/x.crt", "sub/x.key", "pki/gw/ecdsa.crt",
	"pki/gw/ecdsa.key", "pki/gw/rsa.crt", "pki/gw/rsa.key", "pki/ca/ca.crt",
	"we\"ird\\.pem",
};
static const char *const test_tls_dirs[] = {
	"sub", "pki", "pki/gw", "pki/ca", "demo", "rel", "rel/conf",
};

/* DIR/NAME into BUF. */
static const char *test_tls_at(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", test_tls_dir, name);
	return buf;
}

static int test_tls_setup(void **state)
{
	char p[PATH_MAX];
	size_t i;
	int fd;

	(void)state;
	strcpy(test_tls_dir, "/tmp/mailgw-test-tls-XXXXXX");
	if (!mkdtemp(test_tls_dir))
		return -1;
	for (i = 0; i < N(test_tls_dirs); i++)
		if (mkdir(test_tls_at(p, sizeof(p), test_tls_dirs[i]), 0755) != 0)
			return -1;
	for (i = 0; i < N(test_tls_files); i++) {
		fd = open(test_tls_at(p, sizeof(p), test_tls_files[i]),
			  O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static int test_tls_teardown(void **state)
{
	char p[PATH_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < N(test_tls_files); i++)
		unlink(test_tls_at(p, sizeof(p), test_tls_files[i]));
	for (i = N(test_tls_dirs); i > 0; i--)
		rmdir(test_tls_at(p, sizeof(p), test_tls_dirs[i - 1]));
	return rmdir(test_tls_dir);
}

/* IN with every "{D}" replaced by the directory; malloc'ed. */
static char *test_tls_expand(const char *in)
{
	size_t n = strlen(in) * 2 + 256, used = 0;
	char *out = malloc(n);
	const char *p;

	assert_non_null(out);
	for (p = in; *p; ) {
		if (used + sizeof(test_tls_dir) + 2 > n) {
			n *= 2;
			out = realloc(out, n);
			assert_non_null(out);
		}
		if (strncmp(p, "{D}", 3) == 0) {
			used += (size_t)sprintf(out + used, "%s", test_tls_dir);
			p += 3;
		} else {
			out[used++] = *p++;
		}
	}
	out[used] = '\0';
	return out;
}

/* Write TEXT ({D} expanded) to a new file in SUBDIR of the directory ("" for
 * itself); its name goes to PATH. */
static void test_tls_write(const char *subdir, const char *text, char path[PATH_MAX])
{
	char *t = test_tls_expand(text);
	char template[PATH_MAX];

	snprintf(template, sizeof(template), "%s%s%s/t-XXXXXX.conf", test_tls_dir,
		 *subdir ? "/" : "", subdir);
	config_test_write(template, t, path, PATH_MAX);
	free(t);
}

/* Load TEXT from a file in the directory, which must be valid. */
static void test_tls_load_ok(const char *text, struct gw_config *cfg)
{
	char path[PATH_MAX], err[CFG_ERR_LEN];
	int rc;

	test_tls_write("", text, path);
	rc = config_load(path, cfg, err, sizeof(err));
	unlink(path);
	if (rc != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(err, "");
}

/* Loading TEXT fails with "PATH:EXPECT" ({D} expanded in both). */
static void test_tls_expect(size_t i, const char *text, const char *expect)
{
	char path[PATH_MAX], err[CFG_ERR_LEN], full[CFG_ERR_LEN + PATH_MAX];
	char *e = test_tls_expand(expect);
	struct gw_config cfg;
	int rc;

	memset(&cfg, 0x5a, sizeof(cfg));
	test_tls_write("", text, path);
	rc = config_load(path, &cfg, err, sizeof(err));
	unlink(path);
	snprintf(full, sizeof(full), "%s:%s", path, e);
	free(e);
	if (rc != -EINVAL || strcmp(err, full) != 0)
		fail_msg("case %zu: rc %d, error\n  %s\nexpected\n  %s", i, rc, err, full);
	assert_null(strchr(err, '\n'));
	/* A failed load leaves the caller's struct alone. */
	assert_int_equal(((unsigned char *)&cfg)[0], 0x5a);
	assert_int_equal(cfg.tls.n_certs, 0x5a5a5a5a);
}

static void test_tls_defaults(void **state)
{
	struct gw_config d, cfg;

	(void)state;
	NEED_CORES();
	config_defaults(&d);
	assert_false(d.tls.enabled);
	assert_int_equal(d.tls.n_certs, 0);
	assert_int_equal(d.tls.min_version, CFG_TLS_V1_2);
	assert_true(d.tls.tls13);
	assert_string_equal(d.tls.ciphers, DEFAULT_CIPHERS);
	assert_string_equal(d.tls.curves, "X25519:P-256:P-384");
	assert_string_equal(d.tls.ca_file, "");
	assert_true(d.tls.request_client_cert);
	assert_int_equal(d.tls.expiry_warning_days, 30);
	assert_int_equal(d.tls.session_timeout, 3600);
	assert_int_equal(d.tls.ticket_key_rotation, 3600);
	assert_int_equal(d.tls.session_cache_size, 4096);
	assert_int_equal(d.tls.client_level, CFG_TLS_MAY);
	assert_string_equal(d.tls.client_ca_file, CA_DEFAULT);
	assert_string_equal(d.tls.client_cert, "");
	assert_string_equal(d.tls.client_key, "");

	/* No group, an empty one, empty sub-groups: all the defaults. */
	test_tls_load_ok(V PORTS, &cfg);
	assert_memory_equal(&cfg.tls, &d.tls, sizeof(d.tls));
	test_tls_load_ok(V PORTS "tls: { };\n", &cfg);
	assert_memory_equal(&cfg.tls, &d.tls, sizeof(d.tls));
	test_tls_load_ok(V PORTS "tls: { client: { }; certificates = ( ); };\n", &cfg);
	assert_memory_equal(&cfg.tls, &d.tls, sizeof(d.tls));

	/* Routes without tls_level take tls.client.level (-1), not "none" (0). */
	test_tls_load_ok(ROUTES(RT("") ",\n  { domains = [ \"*\" ]; next_hops = [ \"10.0.0.2\" ]; }"),
			 &cfg);
	assert_int_equal(cfg.n_routes, 2);
	assert_int_equal(cfg.routes[0].tls_level, -1);
	assert_int_equal(cfg.routes[1].tls_level, -1);
	assert_null(cfg.routes[0].tls_names);
	assert_int_equal(cfg.routes[0].n_tls_names, 0);
	config_free(&cfg);
}

/* Certificates make tls.enabled true unless the file says false. */
static void test_tls_enabled(void **state)
{
	char p[PATH_MAX];
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	test_tls_load_ok(TLS(CERT), &cfg);
	assert_true(cfg.tls.enabled);
	assert_int_equal(cfg.tls.n_certs, 1);
	assert_string_equal(cfg.tls.certs[0].cert, test_tls_at(p, sizeof(p), "ecdsa.crt"));
	assert_string_equal(cfg.tls.certs[0].key, test_tls_at(p, sizeof(p), "ecdsa.key"));
	assert_int_equal(cfg.tls.certs[0].line, 7);
	test_tls_load_ok(TLS(CERT " enabled = false;"), &cfg);
	assert_false(cfg.tls.enabled);
	assert_int_equal(cfg.tls.n_certs, 1);
	test_tls_load_ok(TLS(CERT " enabled = true;"), &cfg);
	assert_true(cfg.tls.enabled);
	test_tls_load_ok(TLS("enabled = false;"), &cfg);
	assert_false(cfg.tls.enabled);
	/* Eight certificates; one file may serve as certificate and key. */
	test_tls_load_ok(TLS("certificates = (\n"
			     "    { cert = \"ecdsa.crt\"; key = \"ecdsa.key\"; },\n"
			     "    { cert = \"rsa.crt\"; key = \"rsa.key\"; },\n"
			     "    { cert = \"client.crt\"; key = \"client.crt\"; },\n"
			     "    { cert = \"sub/x.crt\"; key = \"sub/x.key\"; },\n"
			     "    { cert = \"pki/gw/ecdsa.crt\"; key = \"pki/gw/ecdsa.key\"; },\n"
			     "    { cert = \"pki/gw/rsa.crt\"; key = \"pki/gw/rsa.key\"; },\n"
			     "    { cert = \"{D}/ca.pem\"; key = \"{D}/ca.pem\"; },\n"
			     "    { cert = \"pki/ca/ca.crt\"; key = \"rsa.key\"; } );"), &cfg);
	assert_int_equal(cfg.tls.n_certs, CFG_MAX_CERTS);
	assert_int_equal(cfg.tls.certs[7].line, 15);
	assert_string_equal(cfg.tls.certs[6].key, test_tls_at(p, sizeof(p), "ca.pem"));
}

/* Every setting given; a route of each level. */
static const char test_tls_all[] =
	V PORTS
	"tls: {\n"
	"  enabled = true;\n"
	"  certificates = (\n"
	"    { cert = \"ecdsa.crt\"; key = \"./ecdsa.key\"; },\n"
	"    { cert = \"{D}/rsa.crt\"; key = \"sub/../rsa.key\"; }\n"
	"  );\n"
	"  min_version = \"1.3\";\n"
	"  tls13 = true;\n"
	"  ciphers = \"ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384\";\n"
	"  curves = \"x25519:secp384r1:P-521:prime256v1\";\n"
	"  ca_file = \"ca.pem\";\n"
	"  request_client_cert = false;\n"
	"  expiry_warning_days = 0;\n"
	"  session_timeout = 600; ticket_key_rotation = 300; session_cache_size = 0;\n"
	"  client: {\n"
	"    level = \"encrypt\";\n"
	"    ca_file = \"{D}/ca.pem\";\n"
	"    cert = \"client.crt\";\n"
	"    key = \"client.key\";\n"
	"  };\n"
	"};\n"
	"routes = (\n"
	"  { domains = [ \"a.example\" ]; next_hops = [ \"10.0.0.1\" ]; tls_level = \"none\"; },\n"
	"  { domains = [ \"b.example\" ]; next_hops = [ \"10.0.0.2\" ]; tls_level = \"may\"; },\n"
	"  { domains = [ \"c.example\" ]; next_hops = [ \"10.0.0.3\" ]; tls_level = \"encrypt\"; },\n"
	"  { domains = [ \"d.example\" ]; next_hops = [ \"10.0.0.4\" ]; tls_level = \"verify\"; },\n"
	"  { domains = [ \"e.example\" ]; next_hops = [ \"10.0.0.5\" ]; tls_level = \"secure\";\n"
	"    tls_names = [ \"MX.Partner.Example.\", \"*.partner.example\", \"mx2.partner.example\",\n"
	"                  \"mx3.partner.example\", \"*.mx.partner.example\" ]; },\n"
	"  { domains = [ \"*\" ]; next_hops = [ \"10.0.0.6\" ]; }\n"
	");\n";

static void test_tls_every_setting(void **state)
{
	const struct cfg_tls *t;
	struct gw_config cfg;
	char p[PATH_MAX];
	unsigned i;

	(void)state;
	NEED_CORES();
	test_tls_load_ok(test_tls_all, &cfg);
	t = &cfg.tls;
	assert_true(t->enabled);
	assert_int_equal(t->n_certs, 2);
	/* Relative paths joined to the file's directory, nothing else changed. */
	assert_string_equal(t->certs[0].cert, test_tls_at(p, sizeof(p), "ecdsa.crt"));
	assert_string_equal(t->certs[0].key, test_tls_at(p, sizeof(p), "./ecdsa.key"));
	assert_string_equal(t->certs[1].cert, test_tls_at(p, sizeof(p), "rsa.crt"));
	assert_string_equal(t->certs[1].key, test_tls_at(p, sizeof(p), "sub/../rsa.key"));
	assert_int_equal(t->certs[0].line, 9);
	assert_int_equal(t->certs[1].line, 10);
	assert_int_equal(t->min_version, CFG_TLS_V1_3);
	assert_true(t->tls13);
	assert_string_equal(t->ciphers,
			    "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384");
	/* Curves by their canonical names, in the file's order. */
	assert_string_equal(t->curves, "X25519:P-384:P-521:P-256");
	assert_string_equal(t->ca_file, test_tls_at(p, sizeof(p), "ca.pem"));
	assert_false(t->request_client_cert);
	assert_int_equal(t->expiry_warning_days, 0);
	assert_int_equal(t->session_timeout, 600);
	assert_int_equal(t->ticket_key_rotation, 300);
	assert_int_equal(t->session_cache_size, 0);
	assert_int_equal(t->client_level, CFG_TLS_ENCRYPT);
	assert_string_equal(t->client_ca_file, test_tls_at(p, sizeof(p), "ca.pem"));
	assert_string_equal(t->client_cert, test_tls_at(p, sizeof(p), "client.crt"));
	assert_string_equal(t->client_key, test_tls_at(p, sizeof(p), "client.key"));
	/* Strings are padded with zeros (the structs compare whole). */
	for (i = strlen(t->curves); i < sizeof(t->curves); i++)
		assert_int_equal(t->curves[i], 0);
	for (i = strlen(t->ciphers); i < sizeof(t->ciphers); i++)
		assert_int_equal(t->ciphers[i], 0);

	assert_int_equal(cfg.n_routes, 6);
	for (i = 0; i < 5; i++)
		assert_int_equal(cfg.routes[i].tls_level, CFG_TLS_NONE + (int)i);
	assert_int_equal(cfg.routes[5].tls_level, -1);
	for (i = 0; i < 4; i++)
		assert_int_equal(cfg.routes[i].n_tls_names, 0);
	/* Names lower-case, without the trailing dot, in the file's order. */
	assert_int_equal(cfg.routes[4].n_tls_names, 5);
	assert_string_equal(cfg.routes[4].tls_names[0], "mx.partner.example");
	assert_string_equal(cfg.routes[4].tls_names[1], "*.partner.example");
	assert_string_equal(cfg.routes[4].tls_names[4], "*.mx.partner.example");
	config_free(&cfg);
	assert_null(cfg.routes);
	config_free(&cfg);

	/* 64 names, the most. */
	{
		char text[4096];
		size_t used;
		unsigned k;

		used = (size_t)snprintf(text, sizeof(text), "%s", ROUTES(RT("tls_level = "
			"\"secure\"; tls_names = [ \"n0.example\"")));
		used -= strlen(" }\n);\n");
		for (k = 1; k < 64; k++)
			used += (size_t)snprintf(text + used, sizeof(text) - used,
						 ", \"n%u.example\"", k);
		snprintf(text + used, sizeof(text) - used, " ]; }\n);\n");
		test_tls_load_ok(text, &cfg);
		assert_int_equal(cfg.routes[0].n_tls_names, 64);
		assert_string_equal(cfg.routes[0].tls_names[63], "n63.example");
		config_free(&cfg);
	}

	/* Each accepted suite alone; the six in another order. */
	test_tls_load_ok(TLS("ciphers = \"ECDHE-ECDSA-AES128-GCM-SHA256\";"), &cfg);
	test_tls_load_ok(TLS("ciphers = \"ECDHE-RSA-AES128-GCM-SHA256\";"), &cfg);
	test_tls_load_ok(TLS("ciphers = \"ECDHE-ECDSA-AES256-GCM-SHA384\";"), &cfg);
	test_tls_load_ok(TLS("ciphers = \"ECDHE-RSA-AES256-GCM-SHA384\";"), &cfg);
	test_tls_load_ok(TLS("ciphers = \"ECDHE-ECDSA-CHACHA20-POLY1305\";"), &cfg);
	test_tls_load_ok(TLS("ciphers = \"ECDHE-RSA-CHACHA20-POLY1305\";"), &cfg);
	test_tls_load_ok(TLS("ciphers = \"ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-CHACHA20-POLY1305:"
			     "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384:"
			     "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES128-GCM-SHA256\";"), &cfg);
	assert_int_equal(strlen(cfg.tls.ciphers), strlen(DEFAULT_CIPHERS));
	/* Curves: one alone, every alias, any case. */
	test_tls_load_ok(TLS("curves = \"P-256\";"), &cfg);
	assert_string_equal(cfg.tls.curves, "P-256");
	test_tls_load_ok(TLS("curves = \"secp256r1:SECP521R1:p-384\";"), &cfg);
	assert_string_equal(cfg.tls.curves, "P-256:P-521:P-384");
	/* TLS 1.2 only; ca_file "" is none; client cert "" is none. */
	test_tls_load_ok(TLS("min_version = \"1.2\"; tls13 = false; ca_file = \"\";\n"
			     "  client: { cert = \"\"; key = \"\"; level = \"none\"; };"), &cfg);
	assert_int_equal(cfg.tls.min_version, CFG_TLS_V1_2);
	assert_false(cfg.tls.tls13);
	assert_string_equal(cfg.tls.ca_file, "");
	assert_string_equal(cfg.tls.client_cert, "");
	assert_int_equal(cfg.tls.client_level, CFG_TLS_NONE);
	test_tls_load_ok(TLS("expiry_warning_days = 365;"), &cfg);
	assert_int_equal(cfg.tls.expiry_warning_days, 365);
	/* The default bundle, written out, is the default (checked when used). */
	test_tls_load_ok(CLIENT("ca_file = \"" CA_DEFAULT "\";"), &cfg);
	assert_string_equal(cfg.tls.client_ca_file, CA_DEFAULT);
}

static void test_tls_broken_cases(void **state)
{
	size_t i;

	(void)state;
	NEED_CORES();
	for (i = 0; i < N(test_tls_broken); i++)
		test_tls_expect(i, test_tls_broken[i].text, test_tls_broken[i].expect);
}

/* A relative path that only becomes too long once joined to the directory. */
static void test_tls_long_relative(void **state)
{
	char text[1024], expect[1024], name[256];
	size_t dir = strlen(test_tls_dir), len;

	(void)state;
	NEED_CORES();
	/* dir + "/" + name = 256 characters. */
	len = 256 - dir - 1;
	memset(name, 'x', len);
	name[len] = '\0';
	snprintf(text, sizeof(text), TLS("ca_file = \"%s\";"), name);
	snprintf(expect, sizeof(expect), "7: tls.ca_file: \"%s\" is too long once taken "
		 "from the configuration file's directory (256 characters, at most 255)",
		 name);
	test_tls_expect(0, text, expect);
	/* One shorter fits (and is then not found). */
	name[len - 1] = '\0';
	snprintf(text, sizeof(text), TLS("ca_file = \"%s\";"), name);
	snprintf(expect, sizeof(expect), "7: tls.ca_file: {D}/%s: No such file or directory",
		 name);
	test_tls_expect(1, text, expect);
}

/* A configuration file named by a relative path: its directory is taken from
 * the working directory; the stored paths are absolute all the same. */
static void test_tls_relative_file(void **state)
{
	char path[PATH_MAX], cwd[PATH_MAX], err[CFG_ERR_LEN], p[PATH_MAX], rel[PATH_MAX];
	char full[2 * PATH_MAX];
	const char *text = TLS("certificates = ( { cert = \"../../ecdsa.crt\";\n"
			       "    key = \"{D}/ecdsa.key\"; } );\n  ca_file = \"../../ca.pem\";");
	struct gw_config cfg;
	int rc;

	(void)state;
	NEED_CORES();
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	test_tls_write("rel/conf", text, path);
	assert_int_equal(chdir(test_tls_dir), 0);
	/* "rel/conf/t-....conf" */
	snprintf(rel, sizeof(rel), "%s", path + strlen(test_tls_dir) + 1);
	rc = config_load(rel, &cfg, err, sizeof(err));
	if (rc != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(cfg.tls.certs[0].cert,
			    test_tls_at(p, sizeof(p), "rel/conf/../../ecdsa.crt"));
	assert_string_equal(cfg.tls.certs[0].key, test_tls_at(p, sizeof(p), "ecdsa.key"));
	assert_string_equal(cfg.tls.ca_file, test_tls_at(p, sizeof(p), "rel/conf/../../ca.pem"));
	/* "./t-....conf" and "t-....conf" from the file's own directory. */
	assert_int_equal(chdir("rel/conf"), 0);
	snprintf(rel, sizeof(rel), "./%s", strrchr(path, '/') + 1);
	assert_int_equal(config_load(rel, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.tls.ca_file, test_tls_at(p, sizeof(p), "rel/conf/../../ca.pem"));
	assert_int_equal(config_load(rel + 2, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.tls.ca_file, test_tls_at(p, sizeof(p), "rel/conf/../../ca.pem"));
	/* Errors name the path as resolved. */
	assert_int_equal(chdir(test_tls_dir), 0);
	unlink(path);
	test_tls_write("rel", TLS("ca_file = \"nope.pem\";"), path);
	snprintf(rel, sizeof(rel), "%s", path + strlen(test_tls_dir) + 1);
	assert_int_equal(config_load(rel, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(full, sizeof(full), "%s:7: tls.ca_file: %s/rel/nope.pem: No such file "
		 "or directory", rel, test_tls_dir);
	assert_string_equal(err, full);
	unlink(path);
	assert_int_equal(chdir(cwd), 0);
}

/* Symbolic links are kept as written (rotation swaps their targets). */
static void test_tls_symlink(void **state)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	test_tls_at(link, sizeof(link), "current.crt");
	assert_int_equal(symlink(test_tls_at(target, sizeof(target), "rsa.crt"), link), 0);
	test_tls_load_ok(TLS("certificates = ( { cert = \"current.crt\"; key = \"rsa.key\"; } );"),
			 &cfg);
	assert_string_equal(cfg.tls.certs[0].cert, link);
	unlink(link);
	/* A dangling link is a missing file. */
	assert_int_equal(symlink(test_tls_at(target, sizeof(target), "gone.crt"), link), 0);
	test_tls_expect(0, TLS("certificates = ( { cert = \"current.crt\"; key = \"rsa.key\"; } );"),
			"7: tls.certificates.[0].cert: {D}/current.crt: No such file or directory");
	unlink(link);
}

/* An unreadable file (not testable as root, who reads everything). */
static void test_tls_unreadable(void **state)
{
	char p[PATH_MAX];
	int fd;

	(void)state;
	NEED_CORES();
	if (geteuid() == 0) {
		print_message("running as root: permissions are not checked\n");
		skip();
	}
	fd = open(test_tls_at(p, sizeof(p), "secret.key"), O_WRONLY | O_CREAT | O_EXCL, 0);
	assert_true(fd >= 0);
	close(fd);
	test_tls_expect(0, TLS("certificates = ( { cert = \"ecdsa.crt\"; key = \"secret.key\"; } );"),
			"7: tls.certificates.[0].key: {D}/secret.key: Permission denied");
	unlink(p);
}

/*
 * "verify" and "secure" need the trust anchors: with the default bundle
 * present they load; where a mount namespace can hide it (root, or an
 * unprivileged user namespace), they are refused and every other level
 * still loads.
 */
static const struct test_tls_case test_tls_trust_cases[] = {
	{ CLIENT("level = \"verify\";"),
	  "8: tls.client.level: \"verify\" verifies certificates against "
	  "tls.client.ca_file, but " CA_DEFAULT " (the default) cannot be read: No such "
	  "file or directory (install ca-certificates or set tls.client.ca_file)" },
	{ V PORTS "tls: { client: { ca_file = \"" CA_DEFAULT "\"; level = \"verify\"; }; };\n",
	  "6: tls.client.level: \"verify\" verifies certificates against "
	  "tls.client.ca_file, but " CA_DEFAULT " (the default) cannot be read: No such "
	  "file or directory (install ca-certificates or set tls.client.ca_file)" },
	{ ROUTES(RT("tls_level = \"may\";") ",\n  { domains = [ \"b.example\" ];\n"
		 "    next_hops = [ \"10.0.0.2\" ]; tls_level = \"verify\"; }"),
	  "9: routes.[1].tls_level: \"verify\" verifies certificates against "
	  "tls.client.ca_file, but " CA_DEFAULT " (the default) cannot be read: No such "
	  "file or directory (install ca-certificates or set tls.client.ca_file)" },
	{ ROUTES(RT("tls_level = \"secure\"; tls_names = [ \"mx.a.example\" ];")),
	  "7: routes.[0].tls_level: \"secure\" verifies certificates against "
	  "tls.client.ca_file, but " CA_DEFAULT " (the default) cannot be read: No such "
	  "file or directory (install ca-certificates or set tls.client.ca_file)" },
};

static const char *const test_tls_trust_ok[] = {
	V PORTS,
	CLIENT("level = \"encrypt\";"),
	ROUTES(RT("tls_level = \"encrypt\";")),
	/* Another bundle is checked whatever the level. */
	CLIENT("level = \"verify\"; ca_file = \"ca.pem\";"),
	V PORTS "tls: { client: { ca_file = \"ca.pem\"; }; };\n"
	"routes = (\n  " RT("tls_level = \"secure\"; tls_names = [ \"mx.a.example\" ];") "\n);\n",
};

/* Hide the default bundle's directory in a new mount namespace. */
static bool test_tls_hide_bundle(void)
{
	if (unshare(CLONE_NEWNS) != 0 &&
	    unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
		return false;
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
		return false;
	return mount("tmpfs", "/etc/ssl/certs", "tmpfs", 0, NULL) == 0 ||
	       mount("tmpfs", "/etc/ssl", "tmpfs", 0, NULL) == 0;
}

static void test_tls_trust(void **state)
{
	char path[PATH_MAX], err[CFG_ERR_LEN];
	struct gw_config cfg;
	size_t i;
	int status;
	pid_t pid;

	(void)state;
	NEED_CORES();
	if (access(CA_DEFAULT, R_OK) == 0) {
		for (i = 0; i < N(test_tls_trust_cases); i++) {
			test_tls_load_ok(test_tls_trust_cases[i].text, &cfg);
			config_free(&cfg);
		}
	}
	for (i = 0; i < N(test_tls_trust_ok); i++) {
		test_tls_load_ok(test_tls_trust_ok[i], &cfg);
		config_free(&cfg);
	}
	/* The files are written here; the loads happen in a child that may
	 * not see the default bundle. Exit 0: refused as expected; 77: no
	 * namespace; else the case that failed + 1. */
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (!test_tls_hide_bundle() || access(CA_DEFAULT, F_OK) == 0)
			_exit(77);
		for (i = 0; i < N(test_tls_trust_cases); i++) {
			char *e = test_tls_expand(test_tls_trust_cases[i].expect);
			char full[CFG_ERR_LEN + PATH_MAX];

			test_tls_write("", test_tls_trust_cases[i].text, path);
			snprintf(full, sizeof(full), "%s:%s", path, e);
			free(e);
			if (config_load(path, &cfg, err, sizeof(err)) != -EINVAL ||
			    strcmp(err, full) != 0) {
				fprintf(stderr, "case %zu: got\n  %s\nexpected\n  %s\n", i, err, full);
				_exit((int)i + 1);
			}
			unlink(path);
		}
		for (i = 0; i < N(test_tls_trust_ok); i++) {
			test_tls_write("", test_tls_trust_ok[i], path);
			if (config_load(path, &cfg, err, sizeof(err)) != 0) {
				fprintf(stderr, "ok case %zu: %s\n", i, err);
				_exit(50 + (int)i);
			}
			config_free(&cfg);
			unlink(path);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		print_message("no mount namespace here: the missing default bundle "
			      "is not tested\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* The example's commented-out tls group, uncommented, with the demo's layout
 * (config in demo/, certificates in pki/gw/), loads as documented. */
static void test_tls_example(void **state)
{
	char ex[PATH_MAX], path[PATH_MAX], err[CFG_ERR_LEN], line[1024];
	char p[PATH_MAX], *text;
	size_t len = 0, cap = 1 << 16;
	bool in = false, seen = false;
	struct gw_config cfg, d;
	FILE *f;

	(void)state;
	NEED_CORES();
	config_test_example(ex, sizeof(ex));
	/* As shipped: no tls group, all defaults. */
	assert_int_equal(config_load(ex, &cfg, err, sizeof(err)), 0);
	config_defaults(&d);
	assert_memory_equal(&cfg.tls, &d.tls, sizeof(d.tls));
	for (unsigned i = 0; i < cfg.n_routes; i++)
		assert_int_equal(cfg.routes[i].tls_level, -1);
	config_free(&cfg);

	f = fopen(ex, "r");
	assert_non_null(f);
	text = malloc(cap);
	assert_non_null(text);
	while (fgets(line, sizeof(line), f)) {
		const char *out = line;

		if (strcmp(line, "# tls: {\n") == 0)
			in = seen = true;
		if (in)
			out = line[1] == ' ' ? line + 2 : line + 1;
		if (in && strcmp(line, "# };\n") == 0)
			in = false;
		assert_true(len + strlen(out) < cap);
		memcpy(text + len, out, strlen(out));
		len += strlen(out);
	}
	text[len] = '\0';
	fclose(f);
	assert_true(seen);
	assert_false(in);
	test_tls_write("demo", text, path);
	free(text);
	if (config_load(path, &cfg, err, sizeof(err)) != 0)
		fail_msg("the example's tls group is refused: %s", err);
	unlink(path);
	assert_true(cfg.tls.enabled);
	assert_int_equal(cfg.tls.n_certs, 2);
	assert_string_equal(cfg.tls.certs[0].cert,
			    test_tls_at(p, sizeof(p), "demo/../pki/gw/ecdsa.crt"));
	assert_string_equal(cfg.tls.certs[1].key,
			    test_tls_at(p, sizeof(p), "demo/../pki/gw/rsa.key"));
	assert_string_equal(cfg.tls.ca_file, test_tls_at(p, sizeof(p), "demo/../pki/ca/ca.crt"));
	/* Everything else as the defaults, which the example documents. */
	assert_int_equal(cfg.tls.min_version, d.tls.min_version);
	assert_true(cfg.tls.tls13);
	assert_string_equal(cfg.tls.ciphers, d.tls.ciphers);
	assert_string_equal(cfg.tls.curves, d.tls.curves);
	assert_true(cfg.tls.request_client_cert);
	assert_int_equal(cfg.tls.expiry_warning_days, d.tls.expiry_warning_days);
	assert_int_equal(cfg.tls.client_level, CFG_TLS_MAY);
	assert_string_equal(cfg.tls.client_ca_file, CA_DEFAULT);
	assert_string_equal(cfg.tls.client_cert, "");
	config_free(&cfg);
}

/* A and B hold the same tls settings (lines aside) and route settings. */
static void test_tls_same(const struct gw_config *a, const struct gw_config *b)
{
	struct cfg_tls ta = a->tls, tb = b->tls;
	unsigned i, j;

	for (i = 0; i < CFG_MAX_CERTS; i++)
		ta.certs[i].line = tb.certs[i].line = 0;
	assert_memory_equal(&ta, &tb, sizeof(ta));
	assert_int_equal(a->n_routes, b->n_routes);
	for (i = 0; i < a->n_routes; i++) {
		assert_int_equal(a->routes[i].tls_level, b->routes[i].tls_level);
		assert_int_equal(a->routes[i].n_tls_names, b->routes[i].n_tls_names);
		for (j = 0; j < a->routes[i].n_tls_names; j++)
			assert_string_equal(a->routes[i].tls_names[j],
					    b->routes[i].tls_names[j]);
	}
}

/* format -> file (elsewhere: the paths are absolute) -> load: the same. */
static void test_tls_round_trip(const struct gw_config *in, char **textp)
{
	char path[64], err[CFG_ERR_LEN];
	int n = config_format(in, NULL, 0);
	struct gw_config out;
	char *text;
	FILE *f;
	int fd;

	assert_true(n > 0);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(config_format(in, text, (size_t)n + 1), n);
	strcpy(path, "/tmp/mailgw-test-tls-rt-XXXXXX.conf");
	fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	if (config_load(path, &out, err, sizeof(err)) != 0)
		fail_msg("formatted configuration refused: %s\n%s", err, text);
	unlink(path);
	test_tls_same(in, &out);
	config_free(&out);
	*textp = text;
}

static void test_tls_format(void **state)
{
	struct gw_config cfg;
	char *text, *e;

	(void)state;
	NEED_CORES();
	test_tls_load_ok(test_tls_all, &cfg);
	test_tls_round_trip(&cfg, &text);
	e = test_tls_expand(
		"\ntls: {\n  enabled = true;\n  certificates = (\n"
		"    { cert = \"{D}/ecdsa.crt\"; key = \"{D}/./ecdsa.key\"; },\n"
		"    { cert = \"{D}/rsa.crt\"; key = \"{D}/sub/../rsa.key\"; }\n  );\n"
		"  min_version = \"1.3\";\n  tls13 = true;\n"
		"  ciphers = \"ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384\";\n"
		"  curves = \"X25519:P-384:P-521:P-256\";\n  ca_file = \"{D}/ca.pem\";\n"
		"  request_client_cert = false;\n  expiry_warning_days = 0;\n"
		"  session_timeout = 600;\n  ticket_key_rotation = 300;\n  session_cache_size = 0;\n"
		"  client: {\n    level = \"encrypt\";\n    ca_file = \"{D}/ca.pem\";\n"
		"    cert = \"{D}/client.crt\";\n    key = \"{D}/client.key\";\n  };\n};\n"
		"routes = (\n");
	assert_non_null(strstr(text, e));
	free(e);
	assert_non_null(strstr(text, "    next_hops = (\n      { address = \"10.0.0.1\"; "
			       "port = 25; priority = 10; }\n    );\n    tls_level = \"none\";\n  },\n"));
	assert_non_null(strstr(text, "    tls_level = \"secure\";\n    tls_names = [\n"
			       "      \"mx.partner.example\",\n      \"*.partner.example\",\n"));
	/* The default route has no tls_level: it takes tls.client.level. */
	assert_non_null(strstr(text, "    next_hops = (\n      { address = \"10.0.0.6\"; "
			       "port = 25; priority = 10; }\n    );\n  }\n);\n"));
	assert_true(strstr(text, "\nsmtp: {") < strstr(text, "\ntls: {"));
	free(text);
	config_free(&cfg);

	/* The defaults. */
	test_tls_load_ok(V PORTS, &cfg);
	test_tls_round_trip(&cfg, &text);
	assert_non_null(strstr(text, "\ntls: {\n  enabled = false;\n  certificates = ( );\n"
			       "  min_version = \"1.2\";\n  tls13 = true;\n  ciphers = \""
			       DEFAULT_CIPHERS "\";\n  curves = \"X25519:P-256:P-384\";\n"
			       "  ca_file = \"\";\n  request_client_cert = true;\n"
			       "  expiry_warning_days = 30;\n  session_timeout = 3600;\n"
			       "  ticket_key_rotation = 3600;\n  session_cache_size = 4096;\n"
			       "  client: {\n    level = \"may\";\n"
			       "    ca_file = \"" CA_DEFAULT "\";\n    cert = \"\";\n"
			       "    key = \"\";\n  };\n};\n"));
	free(text);

	/* TLS 1.2 only, a certificate, a path with a quote and a backslash. */
	test_tls_load_ok(TLS(CERT " tls13 = false; ca_file = \"we\\\"ird\\\\.pem\";\n"
			     "  client: { level = \"none\"; };"), &cfg);
	assert_string_equal(strrchr(cfg.tls.ca_file, '/'), "/we\"ird\\.pem");
	test_tls_round_trip(&cfg, &text);
	assert_non_null(strstr(text, "  certificates = (\n    { cert = "));
	assert_non_null(strstr(text, "  tls13 = false;\n"));
	assert_non_null(strstr(text, "/we\\\"ird\\\\.pem\";\n"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_defaults),
		cmocka_unit_test(test_tls_enabled),
		cmocka_unit_test(test_tls_every_setting),
		cmocka_unit_test(test_tls_broken_cases),
		cmocka_unit_test(test_tls_long_relative),
		cmocka_unit_test(test_tls_relative_file),
		cmocka_unit_test(test_tls_symlink),
		cmocka_unit_test(test_tls_unreadable),
		cmocka_unit_test(test_tls_trust),
		cmocka_unit_test(test_tls_example),
		cmocka_unit_test(test_tls_format),
	};

	return cmocka_run_group_tests(tests, test_tls_setup, test_tls_teardown);
}
