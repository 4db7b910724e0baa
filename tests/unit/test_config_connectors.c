/*
 * test_config_connectors.c — unit tests of platform/config_connectors.c
 * (the `connectors` group): every setting of inbound and outbound
 * connectors, every error ("FILE:LINE: connector "NAME": setting: what is
 * wrong", checked exactly), the ambiguity rules (a sender domain, address
 * range, certificate name or pin of two inbound connectors, a recipient
 * domain of two outbound ones) and what stays allowed (overlapping ranges,
 * exact and wildcard of one domain, a selector shared between kinds or
 * directions), the checks against the tls group, the commented example in
 * mailgw.conf, 20,000 connectors, and the config_format() round trip.
 *
 * Each configuration is written into a temporary directory that also holds
 * empty certificate, key and CA files (only their readability is checked).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/config_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/config.h"

#define V "version = 1;\n"
/* Lines 2..5. */
#define PORTS "ports = (\n" \
	"  { name = \"ext\"; device = \"net_af_packet0\"; address = \"192.0.2.1/24\"; },\n" \
	"  { name = \"int\"; device = \"net_af_packet1\"; address = \"10.0.0.1/24\"; }\n" \
	");\n"
/* Line 6: STARTTLS with a certificate and client-certificate CAs. */
#define TLSON "tls: { certificates = ( { cert = \"c.crt\"; key = \"c.key\"; } ); " \
	"ca_file = \"ca.crt\"; };\n"
/* `connectors: {` on line 7, `inbound = (` on line 8, X from line 9. */
#define IN_T(tls, x) V PORTS tls "connectors: {\n  inbound = (\n    " x "\n  );\n};\n"
#define IN(x) IN_T(TLSON, x)
#define OUT(x) V PORTS TLSON "connectors: {\n  outbound = (\n    " x "\n  );\n};\n"
/* Connector "a" with settings X. */
#define CA(x) "{ name = \"a\"; " x " }"
#define CB(x) "{ name = \"b\"; " x " }"
#define DOM "sender_domains = [ \"a.example\" ]; "
#define RCPT "recipient_domains = [ \"a.example\" ]; "
#define PIN_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define PIN_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define PIN2_HEX "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
#define PIN2_B64 "LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE="
#define PIN3_HEX "a1:fc:e4:36:38:54:ff:88:8c:ff:4b:8e:78:75:d6:00:" \
	"c2:68:23:90:41:2a:8c:f7:9b:37:d0:b1:11:48:b0:fa"
#define PIN_COLONS "00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:" \
	"10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F"
#define PIN_TEXT "is not a SHA-256 pin (44 characters of base64, or 64 hex digits, " \
	"colons allowed)"
#define NET_TEXT "is not an IPv4 or IPv6 address or network (a.b.c.d[/1..32] or " \
	"x:x::x[/1..128])"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char test_cc_dir[64];
static const char *const test_cc_files[] = { "c.crt", "c.key", "ca.crt" };

struct test_cc_case {
	const char *text;
	const char *expect;     /* after "FILE:" */
};

static const struct test_cc_case test_cc_broken[] = {
	/* the group and its lists */
	{ V PORTS TLSON "connectors = 1;\n", "7: connectors: expected a group, got an integer" },
	{ V PORTS TLSON "connectors: { inbund = ( ); };\n",
	  "7: connectors.inbund: unknown setting (did you mean \"inbound\"?)" },
	{ V PORTS TLSON "connectors: { outbound = { }; };\n",
	  "7: connectors.outbound: expected a list of groups, got a group" },
	{ V PORTS TLSON "connectors: { inbound = [ \"a\" ]; };\n",
	  "7: connectors.inbound: expected a list of groups, got an array" },
	/* libconfig gives a scalar in a list the line after it */
	{ IN("\"a\""), "10: connectors.inbound.[0]: expected a group, got a string" },
	{ OUT("{ name = \"o\"; " RCPT "},\n    5"),
	  "10: connectors.outbound.[1]: expected a group, got an integer" },
	/* names */
	{ IN("{ " DOM "}"), "9: connectors.inbound.[0].name: missing (required)" },
	{ IN("{ nmae = \"a\"; " DOM "}"),
	  "9: connectors.inbound.[0].nmae: unknown setting (did you mean \"name\"?)" },
	{ OUT("{ " RCPT "}"), "9: connectors.outbound.[0].name: missing (required)" },
	{ IN("{ name = 1; " DOM "}"),
	  "9: connectors.inbound.[0].name: expected a string, got an integer" },
	{ IN("{ name = \"\"; " DOM "}"),
	  "9: connectors.inbound.[0].name: \"\" must not be empty" },
	{ IN("{ name = \"a\\\"b\"; " DOM "}"),
	  "9: connectors.inbound.[0].name: \"a\"b\" may hold printable ASCII only, "
	  "without '\"' and '\\'" },
	{ IN("{ name = \"tab\\there\"; " DOM "}"),
	  "9: connectors.inbound.[0].name: \"tab\there\" may hold printable ASCII only, "
	  "without '\"' and '\\'" },
	{ IN("{ name = \" a\"; " DOM "}"),
	  "9: connectors.inbound.[0].name: \" a\" has a leading or trailing space" },
	{ IN("{ name = \"0123456789012345678901234567890123456789012345678901234567890123\"; "
	     DOM "}"),
	  "9: connectors.inbound.[0].name: \"0123456789012345678901234567890123456789012345"
	  "678901234567890123\" is too long (at most 63 characters)" },
	{ IN(CA(DOM) ",\n    " CA("sender_domains = [ \"b.example\" ];")),
	  "10: connector \"a\": name: is already used by connectors.inbound.[0] (line 9)" },
	{ V PORTS TLSON "connectors: {\n  inbound = ( " CA(DOM) " );\n  outbound = (\n    "
	  CA(RCPT) " );\n};\n",
	  "10: connector \"a\": name: is already used by connectors.inbound.[0] (line 8)" },
	/* inbound: settings */
	{ IN(CA("sender_domain = [ \"a.example\" ];")),
	  "9: connector \"a\": sender_domain: unknown setting (did you mean "
	  "\"sender_domains\"?)" },
	{ IN(CA(DOM "tls_settings = \"encryption_only\";")),
	  "9: connector \"a\": tls_settings: unknown setting" },
	{ IN(CA(DOM "smart_hosts = [ \"10.0.0.2\" ];")),
	  "9: connector \"a\": smart_hosts: unknown setting" },
	{ IN(CA("require_tls = true;")),
	  "9: connector \"a\": matches nothing (set sender_domains, sender_ip_addresses, "
	  "tls_sender_certificate_name or client_cert_spki_pins)" },
	{ IN(CA(DOM "require_tls = 1;")),
	  "9: connector \"a\": require_tls: expected a boolean, got an integer" },
	{ IN(CA(DOM "restrict_domains_to_certificate = \"yes\";")),
	  "9: connector \"a\": restrict_domains_to_certificate: expected a boolean, got a string" },
	{ IN(CA(DOM "mode = \"enforced\";")),
	  "9: connector \"a\": mode: \"enforced\" is unknown (expected \"enforce\" or "
	  "\"report_only\")" },
	{ IN(CA(DOM "min_tls_version = \"1.1\";")),
	  "9: connector \"a\": min_tls_version: \"1.1\" is below the TLS 1.2 floor "
	  "(TLS 1.0/1.1 are never used)" },
	{ IN(CA(DOM "min_tls_version = \"1.4\";")),
	  "9: connector \"a\": min_tls_version: \"1.4\" is unknown (expected \"1.2\" or \"1.3\")" },
	{ IN(CA(DOM "min_tls_version = 1.2;")),
	  "9: connector \"a\": min_tls_version: expected a string (\"1.2\" or \"1.3\"), got a float" },
	/* inbound: sender_domains */
	{ IN(CA("sender_domains = \"a.example\";")),
	  "9: connector \"a\": sender_domains: expected an array of strings, got a string" },
	{ IN(CA("sender_domains = [ ];")), "9: connector \"a\": sender_domains: is empty" },
	{ IN(CA("sender_domains = [ 5 ];")),
	  "9: connector \"a\": sender_domains.[0]: expected a string, got an integer" },
	{ IN(CA("sender_domains = [ \"*\" ];")),
	  "9: connector \"a\": sender_domains.[0]: \"*\" would match every sender (mail "
	  "matched by no connector already gets the default policy)" },
	{ IN(CA("sender_domains = [ \"a.example\", \"a_b.example\" ];")),
	  "9: connector \"a\": sender_domains.[1]: \"a_b.example\" is not a valid domain name" },
	{ IN(CA("sender_domains = [ \"[192.0.2.1]\" ];")),
	  "9: connector \"a\": sender_domains.[0]: \"[192.0.2.1]\" is an address literal, "
	  "not a domain name" },
	{ IN(CA("sender_domains = [ \"*.*.a.example\" ];")),
	  "9: connector \"a\": sender_domains.[0]: \"*.*.a.example\" is not a valid domain name" },
	{ IN(CA("sender_domains = [ \"a.example\", \"A.Example.\" ];")),
	  "9: connector \"a\": sender_domains.[1]: \"A.Example.\" is already listed at "
	  "sender_domains.[0]" },
	{ IN(CA(DOM) ",\n    " CB("sender_domains = [ \"b.example\", \"A.EXAMPLE\" ];")),
	  "10: connector \"b\": sender_domains.[1]: \"A.EXAMPLE\" is already claimed by "
	  "connector \"a\" (line 9)" },
	{ IN(CA("sender_domains = [ \"*.a.example\" ];") ",\n    "
	     CB("sender_domains = [ \"*.a.example\" ];")),
	  "10: connector \"b\": sender_domains.[0]: \"*.a.example\" is already claimed by "
	  "connector \"a\" (line 9)" },
	/* inbound: sender_ip_addresses */
	{ IN(CA("sender_ip_addresses = \"192.0.2.0/24\";")),
	  "9: connector \"a\": sender_ip_addresses: expected an array of strings, got a string" },
	{ IN(CA("sender_ip_addresses = [ ];")), "9: connector \"a\": sender_ip_addresses: is empty" },
	{ IN(CA("sender_ip_addresses = [ \"192.0.2\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"192.0.2\" " NET_TEXT },
	{ IN(CA("sender_ip_addresses = [ \"192.0.2.0/\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"192.0.2.0/\" " NET_TEXT },
	{ IN(CA("sender_ip_addresses = [ \"192.0.2.0/024\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"192.0.2.0/024\" " NET_TEXT },
	{ IN(CA("sender_ip_addresses = [ \"2001:db8::/1x\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"2001:db8::/1x\" " NET_TEXT },
	{ IN(CA("sender_ip_addresses = [ \"2001:db8:::1\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"2001:db8:::1\" " NET_TEXT },
	{ IN(CA("sender_ip_addresses = [ \"mx.a.example\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"mx.a.example\" " NET_TEXT },
	{ IN(CA("sender_ip_addresses = [ \"192.0.2.0/33\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"192.0.2.0/33\": prefix length 33 is "
	  "out of range (1..32)" },
	{ IN(CA("sender_ip_addresses = [ \"2001:db8::/129\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"2001:db8::/129\": prefix length 129 "
	  "is out of range (1..128)" },
	{ IN(CA("sender_ip_addresses = [ \"0.0.0.0/0\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"0.0.0.0/0\" would match every address" },
	{ IN(CA("sender_ip_addresses = [ \"::/0\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"::/0\" would match every address" },
	{ IN(CA("sender_ip_addresses = [ \"192.0.2.1/24\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"192.0.2.1/24\" has host bits set "
	  "(the network is 192.0.2.0/24)" },
	{ IN(CA("sender_ip_addresses = [ \"2001:db8:1::/32\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"2001:db8:1::/32\" has host bits set "
	  "(the network is 2001:db8::/32)" },
	{ IN(CA("sender_ip_addresses = [ \"::ffff:192.0.2.1\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[0]: \"::ffff:192.0.2.1\" is an IPv4-mapped "
	  "IPv6 address (write IPv4 networks as a.b.c.d/N)" },
	{ IN(CA("sender_ip_addresses = [ \"192.0.2.0/24\", \"192.0.2.0/24\" ];")),
	  "9: connector \"a\": sender_ip_addresses.[1]: \"192.0.2.0/24\" is already listed at "
	  "sender_ip_addresses.[0]" },
	{ IN(CA("sender_ip_addresses = [ \"192.0.2.7\" ];") ",\n    "
	     CB("sender_ip_addresses = [ \"198.51.100.0/24\", \"192.0.2.7/32\" ];")),
	  "10: connector \"b\": sender_ip_addresses.[1]: \"192.0.2.7/32\" is already claimed by "
	  "connector \"a\" (line 9)" },
	{ IN(CA("sender_ip_addresses = [ \"2001:db8::/48\" ];") ",\n    "
	     CB("sender_ip_addresses = [ \"2001:0db8:0:0::/48\" ];")),
	  "10: connector \"b\": sender_ip_addresses.[0]: \"2001:0db8:0:0::/48\" is already "
	  "claimed by connector \"a\" (line 9)" },
	/* inbound: certificate names and pins */
	{ IN(CA("tls_sender_certificate_name = 5;")),
	  "9: connector \"a\": tls_sender_certificate_name: expected an array of strings, "
	  "got an integer" },
	{ IN(CA("tls_sender_certificate_name = \"*\";")),
	  "9: connector \"a\": tls_sender_certificate_name: \"*\" would accept any certificate" },
	{ IN(CA("tls_sender_certificate_name = [ \"mx.a.example\", \"*.\" ];")),
	  "9: connector \"a\": tls_sender_certificate_name.[1]: \"*.\" would accept any "
	  "certificate" },
	{ IN(CA("tls_sender_certificate_name = \"mx a.example\";")),
	  "9: connector \"a\": tls_sender_certificate_name: \"mx a.example\" is not a valid "
	  "domain name" },
	{ IN(CA("tls_sender_certificate_name = \"mx.a.example\";") ",\n    "
	     CB("tls_sender_certificate_name = [ \"MX.A.EXAMPLE\" ];")),
	  "10: connector \"b\": tls_sender_certificate_name.[0]: \"MX.A.EXAMPLE\" is already "
	  "claimed by connector \"a\" (line 9)" },
	{ IN(CA("client_cert_spki_pins = \"" PIN_HEX "\";")),
	  "9: connector \"a\": client_cert_spki_pins: expected an array of strings, got a string" },
	{ IN(CA("client_cert_spki_pins = [ \"" PIN_HEX "0\" ];")),
	  "9: connector \"a\": client_cert_spki_pins.[0]: \"" PIN_HEX "0\" " PIN_TEXT },
	{ IN(CA("client_cert_spki_pins = [ \"xyz\" ];")),
	  "9: connector \"a\": client_cert_spki_pins.[0]: \"xyz\" " PIN_TEXT },
	{ IN(CA("client_cert_spki_pins = [ \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\" ];")),
	  "9: connector \"a\": client_cert_spki_pins.[0]: \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGB"
	  "kaGxwdHh9=\" " PIN_TEXT },
	{ IN(CA("client_cert_spki_pins = [ \"" PIN_B64 "\", \"" PIN_HEX "\" ];")),
	  "9: connector \"a\": client_cert_spki_pins.[1]: \"" PIN_HEX "\" is already listed at "
	  "client_cert_spki_pins.[0]" },
	{ IN(CA("client_cert_spki_pins = [ \"" PIN_COLONS "\" ];") ",\n    "
	     CB("client_cert_spki_pins = [ \"" PIN2_HEX "\", \"" PIN_B64 "\" ];")),
	  "10: connector \"b\": client_cert_spki_pins.[1]: \"" PIN_B64 "\" is already claimed "
	  "by connector \"a\" (line 9)" },
	{ IN(CA("client_cert_spki_pins = [ \"" PIN_HEX "\", \"" PIN_HEX "\", \"" PIN_HEX
		"\", \"" PIN_HEX "\", \"" PIN_HEX "\", \"" PIN_HEX "\", \"" PIN_HEX "\", \""
		PIN_HEX "\", \"" PIN_HEX "\", \"" PIN_HEX "\", \"" PIN_HEX "\", \"" PIN_HEX
		"\", \"" PIN_HEX "\", \"" PIN_HEX "\", \"" PIN_HEX "\", \"" PIN_HEX "\", \""
		PIN_HEX "\" ];")),
	  "9: connector \"a\": client_cert_spki_pins: has 17 entries, at most 16" },
	/* inbound: restrict_* */
	{ IN(CA(DOM "restrict_domains_to_certificate = true;")),
	  "9: connector \"a\": restrict_domains_to_certificate: needs "
	  "tls_sender_certificate_name or client_cert_spki_pins (the certificate it "
	  "restricts the sender domains to)" },
	{ IN(CA("tls_sender_certificate_name = \"mx.a.example\";\n"
		"      restrict_domains_to_certificate = true;")),
	  "10: connector \"a\": restrict_domains_to_certificate: needs sender_domains (the "
	  "domains it restricts)" },
	{ IN(CA(DOM "\n      restrict_domains_to_ip_addresses = true;")),
	  "10: connector \"a\": restrict_domains_to_ip_addresses: needs sender_ip_addresses "
	  "(the ranges it restricts the sender domains to)" },
	{ IN(CA("sender_ip_addresses = [ \"192.0.2.0/24\" ];"
		" restrict_domains_to_ip_addresses = true;")),
	  "9: connector \"a\": restrict_domains_to_ip_addresses: needs sender_domains (the "
	  "domains it restricts)" },
	/* inbound: what the tls group must provide */
	{ IN_T("", CA(DOM "require_tls = true;")),
	  "8: connector \"a\": require_tls: needs STARTTLS (tls.enabled, with tls.certificates)" },
	{ IN_T("tls: { enabled = false; };\n", CA(DOM "\n      min_tls_version = \"1.2\";")),
	  "10: connector \"a\": min_tls_version: needs STARTTLS (tls.enabled, with "
	  "tls.certificates)" },
	{ IN_T("", CA("tls_sender_certificate_name = \"mx.a.example\";")),
	  "8: connector \"a\": tls_sender_certificate_name: needs STARTTLS (tls.enabled, with "
	  "tls.certificates)" },
	{ IN_T("", CA("client_cert_spki_pins = [ \"" PIN_HEX "\" ];")),
	  "8: connector \"a\": client_cert_spki_pins: needs STARTTLS (tls.enabled, with "
	  "tls.certificates)" },
	{ IN_T("tls: { certificates = ( { cert = \"c.crt\"; key = \"c.key\"; } ); };\n",
	       CA("tls_sender_certificate_name = \"mx.a.example\";")),
	  "9: connector \"a\": tls_sender_certificate_name: needs tls.ca_file (the CAs that "
	  "verify client certificates)" },
	{ IN_T("tls: { certificates = ( { cert = \"c.crt\"; key = \"c.key\"; } ); "
	       "request_client_cert = false; };\n", CA("client_cert_spki_pins = [ \"" PIN_HEX
						      "\" ];")),
	  "9: connector \"a\": client_cert_spki_pins: needs tls.request_client_cert = true" },
	{ IN_T("tls: { certificates = ( { cert = \"c.crt\"; key = \"c.key\"; } ); "
	       "tls13 = false; };\n", CA(DOM "\n      min_tls_version = \"1.3\";")),
	  "10: connector \"a\": min_tls_version: \"1.3\" needs tls.tls13 = true" },
	/* outbound */
	{ OUT(CA("recipient_domain = [ \"a.example\" ];")),
	  "9: connector \"a\": recipient_domain: unknown setting (did you mean "
	  "\"recipient_domains\"?)" },
	{ OUT(CA(RCPT "smarthosts = [ \"10.0.0.2\" ];")),
	  "9: connector \"a\": smarthosts: unknown setting (did you mean \"smart_hosts\"?)" },
	{ OUT(CA(RCPT "require_tls = true;")), "9: connector \"a\": require_tls: unknown setting" },
	{ OUT(CA("smart_hosts = [ \"10.0.0.2\" ];")),
	  "9: connector \"a\": recipient_domains: missing (required)" },
	{ OUT(CA("recipient_domains = \"a.example\";")),
	  "9: connector \"a\": recipient_domains: expected an array of strings, got a string" },
	{ OUT(CA("recipient_domains = [ ];")), "9: connector \"a\": recipient_domains: is empty" },
	{ OUT(CA("recipient_domains = [ \"a.example\", \"a.example.\" ];")),
	  "9: connector \"a\": recipient_domains.[1]: \"a.example.\" is already listed at "
	  "recipient_domains.[0]" },
	{ OUT(CA(RCPT) ",\n    " CB("recipient_domains = [ \"b.example\", \"A.example\" ];")),
	  "10: connector \"b\": recipient_domains.[1]: \"A.example\" is already claimed by "
	  "connector \"a\" (line 9)" },
	{ OUT(CA("recipient_domains = [ \"*\" ];") ",\n    "
	     CB("recipient_domains = [ \"*\" ];")),
	  "10: connector \"b\": recipient_domains.[0]: \"*\" is already claimed by connector "
	  "\"a\" (line 9)" },
	{ OUT(CA(RCPT "smart_hosts = \"10.0.0.2\";")),
	  "9: connector \"a\": smart_hosts: expected a list of next hops, got a string" },
	{ OUT(CA(RCPT "smart_hosts = [ ];")),
	  "9: connector \"a\": smart_hosts: is empty (leave it out to take the next hop from "
	  "routes)" },
	{ OUT(CA(RCPT "smart_hosts = [ \"mx.a.example\" ];")),
	  "9: connector \"a\": smart_hosts.[0]: \"mx.a.example\" is not an IPv4 address with an "
	  "optional :PORT" },
	{ OUT(CA(RCPT "smart_hosts = [ \"10.0.0.2:0\" ];")),
	  "9: connector \"a\": smart_hosts.[0]: \"10.0.0.2:0\": port 0 is out of range (1..65535)" },
	{ OUT(CA(RCPT "smart_hosts = [ \"127.0.0.1\" ];")),
	  "9: connector \"a\": smart_hosts.[0]: \"127.0.0.1\" is a loopback address" },
	{ OUT(CA(RCPT "smart_hosts = ( \"10.0.0.2\", { address = \"10.0.0.2\"; } );")),
	  "9: connector \"a\": smart_hosts.[1]: 10.0.0.2:25 is already used by smart_hosts.[0]" },
	{ OUT(CA(RCPT "smart_hosts = ( { adress = \"10.0.0.2\"; } );")),
	  "9: connector \"a\": smart_hosts.[0].adress: unknown setting (did you mean "
	  "\"address\"?)" },
	{ OUT(CA(RCPT "smart_hosts = [ \"10.0.0.1\", \"10.0.0.2\", \"10.0.0.3\", \"10.0.0.4\", "
		 "\"10.0.0.5\", \"10.0.0.6\", \"10.0.0.7\", \"10.0.0.8\", \"10.0.0.9\" ];")),
	  "9: connector \"a\": smart_hosts: has 9 entries, at most 8" },
	{ OUT(CA(RCPT "tls_settings = \"verify\";")),
	  "9: connector \"a\": tls_settings: \"verify\" is unknown (expected \"opportunistic\", "
	  "\"encryption_only\", \"certificate_validation\" or \"domain_validation\")" },
	{ OUT(CA(RCPT "tls_settings = \"certificate_validation\";\n"
		 "      tls_domain = \"mx.a.example\";")),
	  "10: connector \"a\": tls_domain: only used with tls_settings = \"domain_validation\"" },
	{ OUT(CA(RCPT "tls_domain = \"mx.a.example\";")),
	  "9: connector \"a\": tls_domain: only used with tls_settings = \"domain_validation\"" },
	{ OUT(CA(RCPT "\n      tls_settings = \"domain_validation\";")),
	  "10: connector \"a\": tls_settings: \"domain_validation\" needs tls_domain (the name "
	  "the partner's certificate must carry)" },
	{ OUT(CA(RCPT "tls_settings = \"domain_validation\"; tls_domain = \"*\";")),
	  "9: connector \"a\": tls_domain: \"*\" would accept any certificate" },
	{ OUT(CA(RCPT "tls_settings = \"domain_validation\"; tls_domain = [ \"mx.a.example\" ];")),
	  "9: connector \"a\": tls_domain: expected a string, got an array" },
	{ OUT(CA(RCPT "tls_settings = \"domain_validation\"; tls_domain = \"10.0.0.2\";")),
	  "9: connector \"a\": tls_domain: \"10.0.0.2\" is an address literal, not a domain name" },
	{ OUT(CA(RCPT "\n      server_spki_pins = [ \"" PIN_HEX "\" ];")),
	  "10: connector \"a\": server_spki_pins: needs tls_settings \"encryption_only\" or "
	  "stronger (\"opportunistic\" falls back to plaintext)" },
	{ OUT(CA(RCPT "tls_settings = \"opportunistic\"; min_tls_version = \"1.3\";")),
	  "9: connector \"a\": min_tls_version: needs tls_settings \"encryption_only\" or "
	  "stronger (\"opportunistic\" falls back to plaintext)" },
	{ OUT(CA(RCPT "tls_settings = \"encryption_only\"; server_spki_pins = [ \"" PIN_HEX
		 "\", \"" PIN_COLONS "\" ];")),
	  "9: connector \"a\": server_spki_pins.[1]: \"" PIN_COLONS "\" is already listed at "
	  "server_spki_pins.[0]" },
	{ OUT(CA(RCPT "tls_settings = \"encryption_only\"; server_spki_pins = [ \"sha256\" ];")),
	  "9: connector \"a\": server_spki_pins.[0]: \"sha256\" " PIN_TEXT },
	{ OUT(CA(RCPT "mode = \"report\";")),
	  "9: connector \"a\": mode: \"report\" is unknown (expected \"enforce\" or "
	  "\"report_only\")" },
};

static const char *test_cc_at(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", test_cc_dir, name);
	return buf;
}

static int test_cc_setup(void **state)
{
	char p[PATH_MAX];
	size_t i;
	int fd;

	(void)state;
	strcpy(test_cc_dir, "/tmp/mailgw-test-cc-XXXXXX");
	if (!mkdtemp(test_cc_dir))
		return -1;
	for (i = 0; i < N(test_cc_files); i++) {
		fd = open(test_cc_at(p, sizeof(p), test_cc_files[i]), O_WRONLY | O_CREAT | O_EXCL,
			  0600);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static int test_cc_teardown(void **state)
{
	char p[PATH_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < N(test_cc_files); i++)
		unlink(test_cc_at(p, sizeof(p), test_cc_files[i]));
	return rmdir(test_cc_dir);
}

static void test_cc_write(const char *text, char path[PATH_MAX])
{
	char template[PATH_MAX];

	snprintf(template, sizeof(template), "%s/t-XXXXXX.conf", test_cc_dir);
	config_test_write(template, text, path, PATH_MAX);
}

/* Load TEXT, which must be valid. */
static void test_cc_load_ok(const char *text, struct gw_config *cfg)
{
	char path[PATH_MAX], err[CFG_ERR_LEN];
	int rc;

	test_cc_write(text, path);
	rc = config_load(path, cfg, err, sizeof(err));
	unlink(path);
	if (rc != 0)
		fail_msg("refused: %s\n%s", err, text);
	assert_string_equal(err, "");
}

static void test_cc_load_ok_free(const char *text)
{
	struct gw_config cfg;

	test_cc_load_ok(text, &cfg);
	config_free(&cfg);
}

/* Loading TEXT fails with "PATH:EXPECT" and leaves the caller's struct alone. */
static void test_cc_expect(size_t i, const char *text, const char *expect)
{
	char path[PATH_MAX], err[CFG_ERR_LEN], full[CFG_ERR_LEN + PATH_MAX];
	struct gw_config cfg;
	int rc;

	memset(&cfg, 0x5a, sizeof(cfg));
	test_cc_write(text, path);
	rc = config_load(path, &cfg, err, sizeof(err));
	unlink(path);
	snprintf(full, sizeof(full), "%s:%s", path, expect);
	if (rc != -EINVAL || strcmp(err, full) != 0)
		fail_msg("case %zu: rc %d, error\n  %s\nexpected\n  %s", i, rc, err, full);
	assert_null(strchr(err, '\n'));
	assert_int_equal(((unsigned char *)&cfg)[0], 0x5a);
	assert_int_equal(cfg.n_connectors_in, 0x5a5a5a5a);
}

static void test_cc_errors(void **state)
{
	char text[8192], names[4096] = "";
	size_t i;

	(void)state;
	NEED_CORES();
	for (i = 0; i < N(test_cc_broken); i++)
		test_cc_expect(i, test_cc_broken[i].text, test_cc_broken[i].expect);
	/* at most 64 certificate names */
	for (i = 0; i < 65; i++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s\"mx%zu.a.example\"",
			 i ? ", " : "", i);
	snprintf(text, sizeof(text), IN(CA("tls_sender_certificate_name = [ %s ];")), names);
	test_cc_expect(0, text, "9: connector \"a\": tls_sender_certificate_name: has 65 entries, "
		       "at most 64");
	strcpy(strrchr(names, ','), "");
	snprintf(text, sizeof(text), IN(CA("tls_sender_certificate_name = [ %s ];")), names);
	test_cc_load_ok_free(text);
}

/* ---- valid configurations ----------------------------------------------------------- */

static void test_cc_none(void **state)
{
	struct gw_config d, cfg;

	(void)state;
	NEED_CORES();
	config_defaults(&d);
	assert_null(d.connectors_in);
	assert_null(d.connectors_out);
	assert_int_equal(d.n_connectors_in + d.n_connectors_out, 0);
	test_cc_load_ok(V PORTS, &cfg);
	assert_int_equal(cfg.n_connectors_in + cfg.n_connectors_out, 0);
	config_free(&cfg);
	test_cc_load_ok(V PORTS "connectors: { inbound = ( ); outbound = ( ); };\n", &cfg);
	assert_int_equal(cfg.n_connectors_in + cfg.n_connectors_out, 0);
	assert_null(cfg.connectors_in);
	config_free(&cfg);
	config_free(&cfg);              /* twice is harmless */
}

static const char test_cc_all[] =
	V PORTS TLSON
	"connectors: {\n"
	"  inbound = (\n"
	"    { name = \"Contoso In\";\n"
	"      sender_domains = [ \"Contoso.COM.\", \"*.contoso.com\" ];\n"
	"      sender_ip_addresses = [ \"198.51.100.0/24\", \"203.0.113.7\", \"2001:DB8:100::/48\","
	" \"2001:db8::1\" ];\n"
	"      tls_sender_certificate_name = [ \"MX.contoso.com\", \"*.mail.contoso.com\" ];\n"
	"      client_cert_spki_pins = [ \"" PIN_B64 "\", \"" PIN3_HEX "\" ];\n"
	"      require_tls = true;\n"
	"      restrict_domains_to_certificate = true;\n"
	"      restrict_domains_to_ip_addresses = true;\n"
	"      min_tls_version = \"1.3\";\n"
	"      mode = \"report_only\"; },\n"
	"    { name = \"fabrikam\"; tls_sender_certificate_name = \"fabrikam.example\"; },\n"
	"    { name = \"wide\"; sender_ip_addresses = [ \"198.0.0.0/8\", \"2001:db8::/32\" ]; },\n"
	"    { name = \"pin\"; client_cert_spki_pins = [ \"" PIN2_B64 "\" ]; }\n"
	"  );\n"
	"  outbound = (\n"
	"    { name = \"contoso out\"; recipient_domains = [ \"contoso.com\" ];\n"
	"      smart_hosts = ( \"198.51.100.25:2525\", { address = \"198.51.100.26\"; priority = 5; } );\n"
	"      tls_settings = \"domain_validation\"; tls_domain = \"MX.Contoso.com\";\n"
	"      server_spki_pins = [ \"" PIN_HEX "\" ]; min_tls_version = \"1.2\"; },\n"
	"    { name = \"enc\"; recipient_domains = [ \"*.contoso.com\", \"enc.example\" ];\n"
	"      tls_settings = \"encryption_only\"; mode = \"report_only\"; },\n"
	"    { name = \"chain\"; recipient_domains = [ \"chain.example\" ];"
	" tls_settings = \"certificate_validation\"; },\n"
	"    { name = \"all\"; recipient_domains = [ \"*\" ]; tls_settings = \"opportunistic\"; }\n"
	"  );\n"
	"};\n";

static void test_cc_net(const struct cfg_ip_net *n, const char *addr, unsigned len, bool v4)
{
	char a[INET6_ADDRSTRLEN];

	assert_int_equal(n->v4, v4);
	assert_int_equal(n->prefix_len, len);
	assert_non_null(inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? &n->addr[12] : n->addr, a,
				  sizeof(a)));
	assert_string_equal(a, addr);
	if (v4) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

		assert_memory_equal(n->addr, mapped, sizeof(mapped));
	}
}

static void test_cc_check_in(const struct gw_config *cfg)
{
	const struct cfg_connector_in *c = &cfg->connectors_in[0];
	unsigned i;

	assert_int_equal(cfg->n_connectors_in, 4);
	assert_string_equal(c->name, "Contoso In");
	assert_int_equal(c->n_sender_domains, 2);
	assert_string_equal(c->sender_domains[0], "contoso.com");
	assert_string_equal(c->sender_domains[1], "*.contoso.com");
	assert_int_equal(c->n_ips, 4);
	test_cc_net(&c->ips[0], "198.51.100.0", 24, true);
	test_cc_net(&c->ips[1], "203.0.113.7", 32, true);
	test_cc_net(&c->ips[2], "2001:db8:100::", 48, false);
	test_cc_net(&c->ips[3], "2001:db8::1", 128, false);
	assert_int_equal(c->n_cert_names, 2);
	assert_string_equal(c->cert_names[0], "mx.contoso.com");
	assert_string_equal(c->cert_names[1], "*.mail.contoso.com");
	assert_int_equal(c->n_pins, 2);
	for (i = 0; i < CFG_SPKI_PIN_LEN; i++)
		assert_int_equal(c->pins[0][i], i);
	assert_int_equal(c->pins[1][0], 0xa1);
	assert_int_equal(c->pins[1][31], 0xfa);
	assert_true(c->require_tls && c->restrict_domains_to_certificate &&
		    c->restrict_domains_to_ip_addresses);
	assert_int_equal(c->min_tls_version, CFG_TLS_V1_3);
	assert_int_equal(c->mode, CFG_CONNECTOR_REPORT_ONLY);
	assert_int_equal(c->line, 9);
	c = &cfg->connectors_in[1];
	assert_int_equal(c->n_cert_names, 1);
	assert_string_equal(c->cert_names[0], "fabrikam.example");
	assert_false(c->require_tls || c->restrict_domains_to_certificate ||
		     c->restrict_domains_to_ip_addresses);
	assert_int_equal(c->min_tls_version, 0);
	assert_int_equal(c->mode, CFG_CONNECTOR_ENFORCE);
	assert_int_equal(c->line, 19);
	assert_int_equal(cfg->connectors_in[3].pins[0][0], 0x2d);
	assert_int_equal(cfg->connectors_in[3].pins[0][31], 0x81);
}

static void test_cc_check_out(const struct gw_config *cfg)
{
	const struct cfg_connector_out *c = &cfg->connectors_out[0];

	assert_int_equal(cfg->n_connectors_out, 4);
	assert_string_equal(c->name, "contoso out");
	assert_int_equal(c->route.n_domains, 1);
	assert_string_equal(c->route.domains[0], "contoso.com");
	assert_int_equal(c->route.n_hops, 2);       /* sorted by priority */
	assert_int_equal(c->route.hops[0].addr, 0xc633641a);
	assert_int_equal(c->route.hops[0].port, 25);
	assert_int_equal(c->route.hops[0].priority, 5);
	assert_int_equal(c->route.hops[1].addr, 0xc6336419);
	assert_int_equal(c->route.hops[1].port, 2525);
	assert_int_equal(c->route.hops[1].priority, 10);
	assert_int_equal(c->route.tls_level, CFG_TLS_SECURE);
	assert_int_equal(c->route.n_tls_names, 1);
	assert_string_equal(c->route.tls_names[0], "mx.contoso.com");
	assert_int_equal(c->n_pins, 1);
	assert_int_equal(c->pins[0][31], 0x1f);
	assert_int_equal(c->min_tls_version, CFG_TLS_V1_2);
	assert_int_equal(c->mode, CFG_CONNECTOR_ENFORCE);
	assert_int_equal(c->line, 24);
	assert_int_equal(c->route.line, 24);
	c = &cfg->connectors_out[1];
	assert_int_equal(c->route.n_hops, 0);       /* next hop from routes */
	assert_int_equal(c->route.tls_level, CFG_TLS_ENCRYPT);
	assert_null(c->route.tls_names);
	assert_int_equal(c->mode, CFG_CONNECTOR_REPORT_ONLY);
	assert_int_equal(cfg->connectors_out[2].route.tls_level, CFG_TLS_CHAIN);
	assert_int_equal(cfg->connectors_out[3].route.tls_level, CFG_TLS_MAY);
	assert_string_equal(cfg->connectors_out[3].route.domains[0], "*");
}

static void test_cc_values(void **state)
{
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	test_cc_load_ok(test_cc_all, &cfg);
	test_cc_check_in(&cfg);
	test_cc_check_out(&cfg);
	config_free(&cfg);
	assert_null(cfg.connectors_in);
	assert_null(cfg.connectors_out);
	assert_int_equal(cfg.n_connectors_in + cfg.n_connectors_out, 0);
}

/* What may overlap: differently specific ranges, a domain and its wildcard,
 * one name in two kinds or directions, a server pin of two outbound connectors. */
static void test_cc_allowed(void **state)
{
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	test_cc_load_ok(IN(CA("sender_ip_addresses = [ \"10.0.0.0/8\", \"10.1.0.0/16\" ];") ",\n    "
			   CB("sender_ip_addresses = [ \"10.1.2.0/24\", \"10.1.2.3\", \"10.1.0.0/17\" ];"
			      " sender_domains = [ \"a.example\" ];") ",\n    "
			   "{ name = \"c\"; sender_domains = [ \"*.a.example\" ];"
			   " tls_sender_certificate_name = [ \"a.example\", \"*.a.example\" ]; },\n    "
			   "{ name = \"d\"; client_cert_spki_pins = [ \"" PIN_HEX "\" ]; }"),
			&cfg);
	assert_int_equal(cfg.n_connectors_in, 4);
	config_free(&cfg);
	test_cc_load_ok(V PORTS TLSON "connectors: {\n"
			"  inbound = ( { name = \"i\"; sender_domains = [ \"a.example\" ];"
			" client_cert_spki_pins = [ \"" PIN_HEX "\" ]; } );\n"
			"  outbound = ( { name = \"o\"; recipient_domains = [ \"a.example\" ];"
			" tls_settings = \"encryption_only\"; server_spki_pins = [ \"" PIN_HEX "\" ]; },\n"
			"    { name = \"p\"; recipient_domains = [ \"*.a.example\" ];"
			" tls_settings = \"encryption_only\"; server_spki_pins = [ \"" PIN_HEX "\" ]; } );\n"
			"};\n"
			"routes = ( { domains = [ \"a.example\" ]; next_hops = [ \"10.0.0.9\" ]; } );\n",
			&cfg);
	assert_int_equal(cfg.n_connectors_out, 2);
	config_free(&cfg);
	/* No TLS needed: a connector that only names its partner (default policy + counters). */
	test_cc_load_ok(IN_T("", CA(DOM "sender_ip_addresses = [ \"192.0.2.0/24\" ];"
				    " mode = \"enforce\"; require_tls = false;")), &cfg);
	config_free(&cfg);
}

/* ---- round trip ------------------------------------------------------------------- */

static void test_cc_same(const struct gw_config *a, const struct gw_config *b)
{
	unsigned i, j;

	assert_int_equal(a->n_connectors_in, b->n_connectors_in);
	assert_int_equal(a->n_connectors_out, b->n_connectors_out);
	for (i = 0; i < a->n_connectors_in; i++) {
		const struct cfg_connector_in *x = &a->connectors_in[i], *y = &b->connectors_in[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->n_sender_domains, y->n_sender_domains);
		for (j = 0; j < x->n_sender_domains; j++)
			assert_string_equal(x->sender_domains[j], y->sender_domains[j]);
		assert_int_equal(x->n_ips, y->n_ips);
		for (j = 0; j < x->n_ips; j++) {
			assert_memory_equal(x->ips[j].addr, y->ips[j].addr, 16);
			assert_int_equal(x->ips[j].prefix_len, y->ips[j].prefix_len);
			assert_int_equal(x->ips[j].v4, y->ips[j].v4);
		}
		assert_int_equal(x->n_cert_names, y->n_cert_names);
		for (j = 0; j < x->n_cert_names; j++)
			assert_string_equal(x->cert_names[j], y->cert_names[j]);
		assert_int_equal(x->n_pins, y->n_pins);
		if (x->n_pins)
			assert_memory_equal(x->pins, y->pins, x->n_pins * CFG_SPKI_PIN_LEN);
		assert_int_equal(x->require_tls, y->require_tls);
		assert_int_equal(x->restrict_domains_to_certificate,
				 y->restrict_domains_to_certificate);
		assert_int_equal(x->restrict_domains_to_ip_addresses,
				 y->restrict_domains_to_ip_addresses);
		assert_int_equal(x->min_tls_version, y->min_tls_version);
		assert_int_equal(x->mode, y->mode);
	}
	for (i = 0; i < a->n_connectors_out; i++) {
		const struct cfg_connector_out *x = &a->connectors_out[i], *y = &b->connectors_out[i];

		assert_string_equal(x->name, y->name);
		assert_int_equal(x->route.n_domains, y->route.n_domains);
		for (j = 0; j < x->route.n_domains; j++)
			assert_string_equal(x->route.domains[j], y->route.domains[j]);
		assert_int_equal(x->route.n_hops, y->route.n_hops);
		assert_memory_equal(x->route.hops, y->route.hops,
				    x->route.n_hops * sizeof(x->route.hops[0]));
		assert_int_equal(x->route.tls_level, y->route.tls_level);
		assert_int_equal(x->route.n_tls_names, y->route.n_tls_names);
		for (j = 0; j < x->route.n_tls_names; j++)
			assert_string_equal(x->route.tls_names[j], y->route.tls_names[j]);
		assert_int_equal(x->n_pins, y->n_pins);
		if (x->n_pins)
			assert_memory_equal(x->pins, y->pins, x->n_pins * CFG_SPKI_PIN_LEN);
		assert_int_equal(x->min_tls_version, y->min_tls_version);
		assert_int_equal(x->mode, y->mode);
	}
}

static void test_cc_format(void **state)
{
	char path[PATH_MAX], err[CFG_ERR_LEN], *text;
	struct gw_config cfg, again;
	int n;

	(void)state;
	NEED_CORES();
	test_cc_load_ok(test_cc_all, &cfg);
	n = config_format(&cfg, NULL, 0);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(config_format(&cfg, text, (size_t)n + 1), n);
	assert_non_null(strstr(text, "\nconnectors: {\n  inbound = (\n    {\n"
			       "      name = \"Contoso In\";\n"
			       "      sender_domains = [ \"contoso.com\", \"*.contoso.com\" ];\n"
			       "      sender_ip_addresses = [ \"198.51.100.0/24\", \"203.0.113.7/32\", "
			       "\"2001:db8:100::/48\", \"2001:db8::1/128\" ];\n"));
	assert_non_null(strstr(text, "      client_cert_spki_pins = [ \"" PIN_HEX "\", "
			       "\"a1fce4363854ff888cff4b8e7875d600c2682390412a8cf79b37d0b11148b0fa\" ];\n"
			       "      require_tls = true;\n"));
	assert_non_null(strstr(text, "      min_tls_version = \"1.3\";\n"
			       "      mode = \"report_only\";\n    },\n"));
	assert_non_null(strstr(text, "      smart_hosts = (\n"
			       "        { address = \"198.51.100.26\"; port = 25; priority = 5; },\n"
			       "        { address = \"198.51.100.25\"; port = 2525; priority = 10; }\n"
			       "      );\n      tls_settings = \"domain_validation\";\n"
			       "      tls_domain = \"mx.contoso.com\";\n"));
	assert_non_null(strstr(text, "      recipient_domains = [ \"*\" ];\n"
			       "      tls_settings = \"opportunistic\";\n"
			       "      mode = \"enforce\";\n    }\n  );\n};\n"));
	test_cc_write(text, path);
	if (config_load(path, &again, err, sizeof(err)) != 0)
		fail_msg("formatted configuration refused: %s\n%s", err, text);
	unlink(path);
	test_cc_same(&cfg, &again);
	config_free(&again);
	config_free(&cfg);
	free(text);
}

/* ---- the example and a large table --------------------------------------------------- */

/* The commented-out `connectors` group of the example file, uncommented (malloc'ed). */
static char *test_cc_example_group(void)
{
	char path[PATH_MAX], line[1024];
	size_t used = 0, cap = 65536;
	char *out = malloc(cap);
	bool in = false;
	FILE *f = fopen(config_test_example(path, sizeof(path)), "r");

	assert_non_null(f);
	assert_non_null(out);
	while (fgets(line, sizeof(line), f)) {
		if (strcmp(line, "# connectors: {\n") == 0)
			in = true;
		if (!in)
			continue;
		assert_true(line[0] == '#');
		used += (size_t)snprintf(out + used, cap - used, "%s",
					 line[1] == ' ' ? line + 2 : line + 1);
		assert_true(used < cap);
		if (strcmp(line, "# };\n") == 0)
			break;
	}
	fclose(f);
	assert_true(in);
	return out;
}

static void test_cc_example(void **state)
{
	char path[PATH_MAX], err[CFG_ERR_LEN], *group, *text;
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	/* As shipped: the group is commented out. */
	if (config_load(config_test_example(path, sizeof(path)), &cfg, err, sizeof(err)) != 0)
		fail_msg("example refused: %s", err);
	assert_int_equal(cfg.n_connectors_in + cfg.n_connectors_out, 0);
	config_free(&cfg);
	/* Uncommented, with TLS on: valid, and what the comments say. */
	group = test_cc_example_group();
	text = malloc(strlen(group) + 1024);
	assert_non_null(text);
	sprintf(text, "%s%s%s", V PORTS TLSON, group, "\n");
	test_cc_load_ok(text, &cfg);
	assert_int_equal(cfg.n_connectors_in, 1);
	assert_int_equal(cfg.n_connectors_out, 1);
	assert_true(cfg.connectors_in[0].require_tls);
	assert_true(cfg.connectors_in[0].n_cert_names > 0);
	assert_true(cfg.connectors_in[0].restrict_domains_to_certificate);
	assert_int_equal(cfg.connectors_out[0].route.tls_level, CFG_TLS_SECURE);
	assert_true(cfg.connectors_out[0].route.n_hops > 0);
	config_free(&cfg);
	free(group);
	free(text);
}

#define TEST_CC_LARGE 20000u

/* N inbound connectors (address, domain, certificate by turns) and N / 4 outbound. */
static char *test_cc_large_text(unsigned n, const char *extra)
{
	size_t cap = (size_t)n * 160 + 4096, used = 0;
	char *t = malloc(cap);
	unsigned i;

	assert_non_null(t);
	used += (size_t)sprintf(t, "%sconnectors: {\n  inbound = (\n", V PORTS TLSON);
	for (i = 0; i < n; i++) {
		if (i % 3 == 0)
			used += (size_t)sprintf(t + used, "    { name = \"in%u\"; sender_ip_addresses = "
						"[ \"10.%u.%u.0/24\", \"2001:db8:%x::/48\" ]; },\n",
						i, i >> 8 & 255, i & 255, i);
		else if (i % 3 == 1)
			used += (size_t)sprintf(t + used, "    { name = \"in%u\"; sender_domains = "
						"[ \"d%u.example\", \"*.d%u.example\" ]; "
						"require_tls = true; },\n", i, i, i);
		else
			used += (size_t)sprintf(t + used, "    { name = \"in%u\"; "
						"tls_sender_certificate_name = \"mx.c%u.example\"; "
						"sender_domains = [ \"c%u.example\" ]; "
						"restrict_domains_to_certificate = true; },\n", i, i, i);
	}
	used += (size_t)sprintf(t + used, "%s  );\n  outbound = (\n", extra);
	for (i = 0; i < n / 4; i++)
		used += (size_t)sprintf(t + used, "    { name = \"out%u\"; recipient_domains = "
					"[ \"r%u.example\" ]; smart_hosts = [ \"192.0.2.%u\" ]; "
					"tls_settings = \"encryption_only\"; }%s\n", i, i,
					i % 250 + 1, i + 1 < n / 4 ? "," : "");
	sprintf(t + used, "  );\n};\n");
	return t;
}

static void test_cc_large(void **state)
{
	char *text, expect[256];
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	text = test_cc_large_text(TEST_CC_LARGE, "    { name = \"last\"; sender_domains = "
				  "[ \"x.example\" ]; }\n");
	test_cc_load_ok(text, &cfg);
	assert_int_equal(cfg.n_connectors_in, TEST_CC_LARGE + 1);
	assert_int_equal(cfg.n_connectors_out, TEST_CC_LARGE / 4);
	config_free(&cfg);
	free(text);
	/* A duplicate at the very end is found, naming the first claimant. */
	text = test_cc_large_text(TEST_CC_LARGE, "    { name = \"last\"; sender_domains = "
				  "[ \"x.example\", \"*.D19999.example\" ]; }\n");
	snprintf(expect, sizeof(expect), "%u: connector \"last\": sender_domains.[1]: "
		 "\"*.D19999.example\" is already claimed by connector \"in19999\" (line %u)",
		 9 + TEST_CC_LARGE, 9 + 19999);
	test_cc_expect(0, text, expect);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cc_errors),
		cmocka_unit_test(test_cc_none),
		cmocka_unit_test(test_cc_values),
		cmocka_unit_test(test_cc_allowed),
		cmocka_unit_test(test_cc_format),
		cmocka_unit_test(test_cc_example),
		cmocka_unit_test(test_cc_large),
	};

	return cmocka_run_group_tests(tests, test_cc_setup, test_cc_teardown);
}
