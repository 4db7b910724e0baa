/*
 * test_config_smtp.c — unit tests of platform/config_smtp.c: the `smtp`
 * group (service, limits, timeouts, client, accepted domains, relay
 * networks) and the `routes` list of the configuration.
 *
 * Like test_config.c, each test writes a configuration under /tmp and calls
 * config_load(); error texts are checked exactly, "FILE:LINE: setting:
 * message", with elements named `smtp.accepted_domains.[N]`,
 * `routes.[N].domains.[M]` and `routes.[N].next_hops.[M]` (from 0). Covered:
 * defaults, every setting, every error, wildcard and default-route parsing,
 * domain normalisation, next-hop order, 100,000 domains under a second,
 * config_free() and the config_format() round trip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/config_test.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform/config.h"

#define V "version = 1;\n"
#define P1 "  { name = \"ext\"; device = \"net_af_packet0\"; address = \"192.0.2.1/24\"; },\n"
#define P2 "  { name = \"int\"; device = \"net_af_packet1\"; address = \"10.0.0.1/24\"; }\n"
/* Lines 2..5. */
#define PORTS "ports = (\n" P1 P2 ");\n"
/* `smtp: {` is on line 6, X on line 7. */
#define SMTP(x) V PORTS "smtp: {\n  " x "\n};\n"
/* X is on line 8. */
#define LIMITS(x) V PORTS "smtp: {\n  limits: {\n    " x "\n  };\n};\n"
#define TIMEOUTS(x) V PORTS "smtp: {\n  timeouts: {\n    " x "\n  };\n};\n"
#define CLIENT(x) V PORTS "smtp: {\n  client: {\n    " x "\n  };\n};\n"
/* `routes = (` is on line 6, X starts on line 7. */
#define ROUTES(x) V PORTS "routes = (\n  " x "\n);\n"
/* A route to D with one next hop. */
#define RT(d) "{ domains = [ " d " ]; next_hops = [ \"10.0.0.1\" ]; }"
/* A route of domain a.example to the next hops H. */
#define HOPS(h) "{ domains = [ \"a.example\" ]; next_hops = " h "; }"
/* 63 characters. */
#define L63 "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij" \
	    "abcdefghij" "abc"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct test_smtp_case {
	const char *text;
	const char *expect;     /* after "FILE:" */
};

static const struct test_smtp_case test_smtp_broken[] = {
	/* names and types */
	{ V PORTS "smpt: { };\n", "6: smpt: unknown setting (did you mean \"smtp\"?)" },
	{ V PORTS "route = ( );\n",
	  "6: route: unknown setting (did you mean \"routes\"?)" },
	{ V PORTS "smtp = 1;\n", "6: smtp: expected a group, got an integer" },
	{ SMTP("prot = 25;"), "7: smtp.prot: unknown setting (did you mean \"port\"?)" },
	{ SMTP("relay = [ ];"), "7: smtp.relay: unknown setting" },
	{ SMTP("accepted_domain = [ ];"),
	  "7: smtp.accepted_domain: unknown setting (did you mean \"accepted_domains\"?)" },
	{ LIMITS("recipient = 5;"),
	  "8: smtp.limits.recipient: unknown setting (did you mean \"recipients\"?)" },
	{ TIMEOUTS("dta = 5;"),
	  "8: smtp.timeouts.dta: unknown setting (did you mean \"data\"?)" },
	{ CLIENT("helo = \"x\";"), "8: smtp.client.helo: unknown setting" },
	{ CLIENT("cache_sise = 5;"),
	  "8: smtp.client.cache_sise: unknown setting (did you mean \"cache_size\"?)" },
	{ SMTP("limits = 5;"), "7: smtp.limits: expected a group, got an integer" },
	{ SMTP("timeouts = ( );"), "7: smtp.timeouts: expected a group, got a list" },
	{ SMTP("client = \"x\";"), "7: smtp.client: expected a group, got a string" },
	{ SMTP("enabled = 1;"), "7: smtp.enabled: expected a boolean, got an integer" },
	{ SMTP("port = \"25\";"), "7: smtp.port: expected an integer, got a string" },
	{ SMTP("port = 0;"), "7: smtp.port: 0 is out of range (1..65535)" },
	{ SMTP("port = 65536;"), "7: smtp.port: 65536 is out of range (1..65535)" },
	{ SMTP("hostname = 5;"), "7: smtp.hostname: expected a string, got an integer" },
	/* host names */
	{ SMTP("hostname = \"mx_1.example\";"),
	  "7: smtp.hostname: \"mx_1.example\" is not a valid domain name" },
	{ SMTP("hostname = \"-mx.example\";"),
	  "7: smtp.hostname: \"-mx.example\" is not a valid domain name" },
	{ SMTP("hostname = \"mx-.example\";"),
	  "7: smtp.hostname: \"mx-.example\" is not a valid domain name" },
	{ SMTP("hostname = \"mx..example\";"),
	  "7: smtp.hostname: \"mx..example\" is not a valid domain name" },
	{ SMTP("hostname = \"mx.example..\";"),
	  "7: smtp.hostname: \"mx.example..\" is not a valid domain name" },
	{ SMTP("hostname = \"\";"), "7: smtp.hostname: \"\" is not a valid domain name" },
	{ SMTP("hostname = \".\";"), "7: smtp.hostname: \".\" is not a valid domain name" },
	{ SMTP("hostname = \"mx.123\";"),
	  "7: smtp.hostname: \"mx.123\" is not a valid domain name" },
	{ SMTP("hostname = \"*.example.net\";"),
	  "7: smtp.hostname: \"*.example.net\" is not a valid domain name" },
	{ SMTP("hostname = \"*\";"), "7: smtp.hostname: \"*\" is not a valid domain name" },
	{ SMTP("hostname = \"mx example\";"),
	  "7: smtp.hostname: \"mx example\" is not a valid domain name" },
	{ SMTP("hostname = \"192.0.2.1\";"),
	  "7: smtp.hostname: \"192.0.2.1\" is an address literal, not a domain name" },
	{ SMTP("hostname = \"[192.0.2.1]\";"),
	  "7: smtp.hostname: \"[192.0.2.1]\" is an address literal, not a domain name" },
	{ SMTP("hostname = \"mx.b\xc3\xbc" "cher.example\";"),
	  "7: smtp.hostname: \"mx.b\xc3\xbc" "cher.example\" is not ASCII (write an "
	  "internationalized domain name in its A-label form, \"xn--...\")" },
	{ SMTP("hostname = \"a" L63 ".example\";"),
	  "7: smtp.hostname: \"a" L63 ".example\" has a label longer than 63 characters" },
	{ SMTP("hostname = \"" L63 "." L63 "." L63 "." L63 "a\";"),
	  "7: smtp.hostname: is too long (256 characters, at most 255)" },
	{ CLIENT("helo_name = \"helo name\";"),
	  "8: smtp.client.helo_name: \"helo name\" is not a valid domain name" },
	{ CLIENT("helo_name = 1;"),
	  "8: smtp.client.helo_name: expected a string, got an integer" },
	/* limits */
	{ LIMITS("command_line = 511;"),
	  "8: smtp.limits.command_line: 511 is out of range (512..4096)" },
	{ LIMITS("command_line = 4097;"),
	  "8: smtp.limits.command_line: 4097 is out of range (512..4096)" },
	{ LIMITS("text_line = 999;"),
	  "8: smtp.limits.text_line: 999 is out of range (1000..1000000)" },
	{ LIMITS("text_line = 1000001;"),
	  "8: smtp.limits.text_line: 1000001 is out of range (1000..1000000)" },
	{ LIMITS("recipients = 0;"),
	  "8: smtp.limits.recipients: 0 is out of range (1..100000)" },
	{ LIMITS("recipients = 100001;"),
	  "8: smtp.limits.recipients: 100001 is out of range (1..100000)" },
	{ LIMITS("message_size = 1023;"),
	  "8: smtp.limits.message_size: 1023 is out of range (1024..1099511627776)" },
	{ LIMITS("message_size = 1099511627777L;"),
	  "8: smtp.limits.message_size: 1099511627777 is out of range (1024..1099511627776)" },
	/* libconfig wraps a big integer written without L, as for every setting */
	{ LIMITS("message_size = 3000000000;"),
	  "8: smtp.limits.message_size: -1294967296 is out of range (1024..1099511627776)" },
	{ LIMITS("message_size = \"35M\";"),
	  "8: smtp.limits.message_size: expected an integer, got a string" },
	{ LIMITS("message_size = 1.5e6;"),
	  "8: smtp.limits.message_size: expected an integer, got a float" },
	{ LIMITS("messages_per_session = 0;"),
	  "8: smtp.limits.messages_per_session: 0 is out of range (1..100000)" },
	{ LIMITS("messages_per_session = 100001;"),
	  "8: smtp.limits.messages_per_session: 100001 is out of range (1..100000)" },
	{ LIMITS("errors_per_session = 0;"),
	  "8: smtp.limits.errors_per_session: 0 is out of range (1..1000)" },
	{ LIMITS("errors_per_session = 1001;"),
	  "8: smtp.limits.errors_per_session: 1001 is out of range (1..1000)" },
	{ LIMITS("sessions_per_worker = 0;"),
	  "8: smtp.limits.sessions_per_worker: 0 is out of range (1..65536)" },
	{ LIMITS("sessions_per_worker = 65537;"),
	  "8: smtp.limits.sessions_per_worker: 65537 is out of range (1..65536)" },
	{ LIMITS("sessions_per_client = 0;"),
	  "8: smtp.limits.sessions_per_client: 0 is out of range (1..65536)" },
	{ LIMITS("sessions_per_client = 65537;"),
	  "8: smtp.limits.sessions_per_client: 65537 is out of range (1..65536)" },
	{ LIMITS("connection_rate_per_client = -1;"),
	  "8: smtp.limits.connection_rate_per_client: -1 is out of range (0..100000)" },
	{ LIMITS("connection_rate_per_client = 100001;"),
	  "8: smtp.limits.connection_rate_per_client: 100001 is out of range (0..100000)" },
	/* timeouts */
	{ TIMEOUTS("command = 0;"), "8: smtp.timeouts.command: 0 is out of range (1..3600)" },
	{ TIMEOUTS("data = 3601;"), "8: smtp.timeouts.data: 3601 is out of range (1..3600)" },
	{ TIMEOUTS("connect = 0;"), "8: smtp.timeouts.connect: 0 is out of range (1..3600)" },
	{ TIMEOUTS("greeting = 3601;"),
	  "8: smtp.timeouts.greeting: 3601 is out of range (1..3600)" },
	{ TIMEOUTS("mail = 0;"), "8: smtp.timeouts.mail: 0 is out of range (1..3600)" },
	{ TIMEOUTS("rcpt = 3601;"), "8: smtp.timeouts.rcpt: 3601 is out of range (1..3600)" },
	{ TIMEOUTS("data_init = 0;"),
	  "8: smtp.timeouts.data_init: 0 is out of range (1..3600)" },
	{ TIMEOUTS("data_block = -5;"),
	  "8: smtp.timeouts.data_block: -5 is out of range (1..3600)" },
	{ TIMEOUTS("data_end = 3601;"),
	  "8: smtp.timeouts.data_end: 3601 is out of range (1..3600)" },
	{ TIMEOUTS("data_end = 600.0;"),
	  "8: smtp.timeouts.data_end: expected an integer, got a float" },
	/* the deadlines (issue 12, item 8) */
	{ TIMEOUTS("message = 0;"), "8: smtp.timeouts.message: 0 is out of range (1..86400)" },
	{ TIMEOUTS("message = 86401;"), "8: smtp.timeouts.message: 86401 is out of range (1..86400)" },
	{ TIMEOUTS("message = 299;"), "8: smtp.timeouts.message: 299 is less than smtp.timeouts.data (300)" },
	{ TIMEOUTS("data = 60;\n    message = 59;"),
	  "9: smtp.timeouts.message: 59 is less than smtp.timeouts.data (60)" },
	{ TIMEOUTS("data = 3600;\n    message = \"1h\";"),
	  "9: smtp.timeouts.message: expected an integer, got a string" },
	{ LIMITS("junk_commands = 0;"),
	  "8: smtp.limits.junk_commands: 0 is out of range (1..100000)" },
	{ LIMITS("junk_commands = 100001;"),
	  "8: smtp.limits.junk_commands: 100001 is out of range (1..100000)" },
	{ LIMITS("min_data_rate = -1;"),
	  "8: smtp.limits.min_data_rate: -1 is out of range (0..1000000000)" },
	{ LIMITS("min_data_rate = 1000000001;"),
	  "8: smtp.limits.min_data_rate: 1000000001 is out of range (0..1000000000)" },
	{ LIMITS("min_data_rte = 5;"),
	  "8: smtp.limits.min_data_rte: unknown setting (did you mean \"min_data_rate\"?)" },
	/* client */
	{ CLIENT("connections_per_worker = 0;"),
	  "8: smtp.client.connections_per_worker: 0 is out of range (1..131072)" },
	{ CLIENT("connections_per_worker = 131073;"),
	  "8: smtp.client.connections_per_worker: 131073 is out of range (1..131072)" },
	{ CLIENT("cache_size = -1;"),
	  "8: smtp.client.cache_size: -1 is out of range (0..65536)" },
	{ CLIENT("cache_size = 65537;"),
	  "8: smtp.client.cache_size: 65537 is out of range (0..65536)" },
	{ CLIENT("cache_idle_timeout = 0;"),
	  "8: smtp.client.cache_idle_timeout: 0 is out of range (1..3600)" },
	{ CLIENT("cache_idle_timeout = 3601;"),
	  "8: smtp.client.cache_idle_timeout: 3601 is out of range (1..3600)" },
	{ CLIENT("cache_max_messages = 0;"),
	  "8: smtp.client.cache_max_messages: 0 is out of range (1..100000)" },
	{ CLIENT("cache_max_messages = 100001;"),
	  "8: smtp.client.cache_max_messages: 100001 is out of range (1..100000)" },
	{ CLIENT("retry_after = -1;"),
	  "8: smtp.client.retry_after: -1 is out of range (0..3600)" },
	{ CLIENT("retry_after = 3601;"),
	  "8: smtp.client.retry_after: 3601 is out of range (0..3600)" },
	{ CLIENT("cache_size = 100; connections_per_worker = 50;"),
	  "8: smtp.client.cache_size: 100 is above smtp.client.connections_per_worker (50)" },
	{ CLIENT("cache_size = 2000;"),
	  "8: smtp.client.cache_size: 2000 is above "
	  "smtp.client.connections_per_worker (1088, the default)" },
	{ CLIENT("connections_per_worker = 32;"),
	  "8: smtp.client.connections_per_worker: 32 is below "
	  "smtp.client.cache_size (64, the default)" },
	/* the SMTP port against tcp and services */
	{ SMTP("port = 40000;"),
	  "7: smtp.port: 40000 is inside tcp.ephemeral_ports [32768, 60999]" },
	{ V PORTS "tcp: { ephemeral_ports = [ 1024, 2047 ]; };\nsmtp: {\n  port = 1025;\n};\n",
	  "8: smtp.port: 1025 is inside tcp.ephemeral_ports [1024, 2047]" },
	{ V PORTS "services: { echo = { enabled = true; port = 2525; }; };\n"
	  "smtp: {\n  port = 2525;\n};\n",
	  "8: smtp.port: 2525 is already used by services.echo" },
	{ V PORTS "services: {\n  source = { enabled = true; port = 25; };\n};\n",
	  "7: services.source.port: 25 is already used by smtp.port (the default)" },
	{ V PORTS "services: {\n  discard = { enabled = true; port = 25; };\n};\n"
	  "smtp: { hostname = \"mx.example\"; };\n",
	  "7: services.discard.port: 25 is already used by smtp.port (the default)" },
	/* accepted_domains */
	{ SMTP("accepted_domains = \"example.com\";"),
	  "7: smtp.accepted_domains: expected an array of strings, got a string" },
	{ SMTP("accepted_domains = [ 1 ];"),
	  "7: smtp.accepted_domains.[0]: expected a string, got an integer" },
	{ SMTP("accepted_domains = [ \"a.example\", \"b.example\", \"c.example\",\n"
	       "    \"exa mple.com\" ];"),
	  "8: smtp.accepted_domains.[3]: \"exa mple.com\" is not a valid domain name" },
	{ SMTP("accepted_domains = [ \"*\" ];"),
	  "7: smtp.accepted_domains.[0]: \"*\" is allowed only in routes (the default "
	  "route): accepting every domain would make an open relay" },
	{ SMTP("accepted_domains = [ \"*.\" ];"),
	  "7: smtp.accepted_domains.[0]: \"*\" is allowed only in routes (the default "
	  "route): accepting every domain would make an open relay" },
	{ SMTP("accepted_domains = [ \"*example.com\" ];"),
	  "7: smtp.accepted_domains.[0]: \"*example.com\" is not a valid domain name" },
	{ SMTP("accepted_domains = [ \"a.*.example.com\" ];"),
	  "7: smtp.accepted_domains.[0]: \"a.*.example.com\" is not a valid domain name" },
	{ SMTP("accepted_domains = [ \"*.*.example.com\" ];"),
	  "7: smtp.accepted_domains.[0]: \"*.*.example.com\" is not a valid domain name" },
	{ SMTP("accepted_domains = [ \"example.com\", \"b\xc3\xbc" "cher.example\" ];"),
	  "7: smtp.accepted_domains.[1]: \"b\xc3\xbc" "cher.example\" is not ASCII "
	  "(write an internationalized domain name in its A-label form, \"xn--...\")" },
	{ SMTP("accepted_domains = [ \"10.0.0.1\" ];"),
	  "7: smtp.accepted_domains.[0]: \"10.0.0.1\" is an address literal, not a domain name" },
	{ SMTP("accepted_domains = [ \"[10.0.0.1]\" ];"),
	  "7: smtp.accepted_domains.[0]: \"[10.0.0.1]\" is an address literal, not a domain name" },
	{ SMTP("accepted_domains = [ \"" L63 "." L63 "." L63 "." L63 "\" ];"),
	  "7: smtp.accepted_domains.[0]: is too long (255 characters, at most 253)" },
	{ SMTP("accepted_domains = [ \"*." L63 "." L63 "." L63 "." L63 "\" ];"),
	  "7: smtp.accepted_domains.[0]: is too long (257 characters, at most 253)" },
	{ SMTP("accepted_domains = [ \"-a.example\" ];"),
	  "7: smtp.accepted_domains.[0]: \"-a.example\" is not a valid domain name" },
	{ SMTP("accepted_domains = [\n    \"example.com\",\n    \"*.example.com\",\n"
	       "    \"Example.COM.\" ];"),
	  "10: smtp.accepted_domains.[2]: \"Example.COM.\" is already listed at "
	  "smtp.accepted_domains.[0] (line 8)" },
	{ SMTP("accepted_domains = [ \"*.example.com\", \"*.EXAMPLE.com\" ];"),
	  "7: smtp.accepted_domains.[1]: \"*.EXAMPLE.com\" is already listed at "
	  "smtp.accepted_domains.[0] (line 7)" },
	/* relay_networks */
	{ SMTP("relay_networks = \"10.0.0.0/8\";"),
	  "7: smtp.relay_networks: expected an array of strings, got a string" },
	{ SMTP("relay_networks = [ 10 ];"),
	  "7: smtp.relay_networks.[0]: expected a string, got an integer" },
	{ SMTP("relay_networks = [ \"10.20.0.300\" ];"),
	  "7: smtp.relay_networks.[0]: \"10.20.0.300\" is not an IPv4 address or "
	  "network (a.b.c.d or a.b.c.d/1..32)" },
	{ SMTP("relay_networks = [ \"10.20.0.0/33\" ];"),
	  "7: smtp.relay_networks.[0]: \"10.20.0.0/33\" is not an IPv4 address or "
	  "network (a.b.c.d or a.b.c.d/1..32)" },
	{ SMTP("relay_networks = [ \"10.20.0.0/\" ];"),
	  "7: smtp.relay_networks.[0]: \"10.20.0.0/\" is not an IPv4 address or "
	  "network (a.b.c.d or a.b.c.d/1..32)" },
	{ SMTP("relay_networks = [ \"10.20/16\" ];"),
	  "7: smtp.relay_networks.[0]: \"10.20/16\" is not an IPv4 address or "
	  "network (a.b.c.d or a.b.c.d/1..32)" },
	{ SMTP("relay_networks = [ \"10.0.0.0/8\", \"0.0.0.0/0\" ];"),
	  "7: smtp.relay_networks.[1]: \"0.0.0.0/0\" would make an open relay" },
	{ SMTP("relay_networks = [ \"10.0.0.0/0\" ];"),
	  "7: smtp.relay_networks.[0]: \"10.0.0.0/0\" would make an open relay" },
	{ SMTP("relay_networks = [ \"10.20.0.1/24\" ];"),
	  "7: smtp.relay_networks.[0]: \"10.20.0.1/24\" has host bits set "
	  "(0.0.0.1; the network is 10.20.0.0/24)" },
	{ SMTP("relay_networks = [ \"192.0.2.7/16\" ];"),
	  "7: smtp.relay_networks.[0]: \"192.0.2.7/16\" has host bits set "
	  "(0.0.2.7; the network is 192.0.0.0/16)" },
	{ SMTP("relay_networks = [ \"128.0.0.0/1\", \"255.0.0.0/1\" ];"),
	  "7: smtp.relay_networks.[1]: \"255.0.0.0/1\" has host bits set "
	  "(127.0.0.0; the network is 128.0.0.0/1)" },
	{ SMTP("relay_networks = [\n    \"192.0.2.7\",\n    \"10.0.0.0/8\",\n"
	       "    \"192.0.2.7/32\" ];"),
	  "10: smtp.relay_networks.[2]: \"192.0.2.7/32\" is already listed at "
	  "smtp.relay_networks.[0] (line 8)" },
	/* routes: structure */
	{ V PORTS "routes = { };\n", "6: routes: expected a list of groups, got a group" },
	{ ROUTES("5"), "7: routes.[0]: expected a group, got an integer" },
	{ ROUTES(RT("\"a.example\"") ",\n  ( 1 )"),
	  "8: routes.[1]: expected a group, got a list" },
	{ ROUTES("{ domain = [ \"a.example\" ]; next_hops = [ \"10.0.0.1\" ]; }"),
	  "7: routes.[0].domain: unknown setting (did you mean \"domains\"?)" },
	{ ROUTES("{ domains = [ \"a.example\" ]; next_hops = [ \"10.0.0.1\" ]; tls = 1; }"),
	  "7: routes.[0].tls: unknown setting" },
	{ ROUTES("{ next_hops = [ \"10.0.0.1\" ]; }"), "7: routes.[0]: no domains" },
	{ ROUTES("{\n    domains = [ ];\n    next_hops = [ \"10.0.0.1\" ]; }"),
	  "8: routes.[0]: no domains" },
	{ ROUTES("{ domains = \"a.example\"; next_hops = [ \"10.0.0.1\" ]; }"),
	  "7: routes.[0].domains: expected an array of strings, got a string" },
	{ ROUTES("{ domains = ( \"a.example\", 5 ); next_hops = [ \"10.0.0.1\" ]; }"),
	  "7: routes.[0].domains.[1]: expected a string, got an integer" },
	{ ROUTES(RT("\"a.example\"") ",\n  { domains = [ \"b.example\" ]; }"),
	  "8: routes.[1]: no next_hops" },
	{ ROUTES(HOPS("[ ]")), "7: routes.[0]: no next_hops" },
	{ ROUTES(HOPS("( )")), "7: routes.[0]: no next_hops" },
	{ ROUTES(HOPS("\"10.0.0.1\"")),
	  "7: routes.[0].next_hops: expected a list of next hops, got a string" },
	{ ROUTES(HOPS("[ \"10.0.0.1\", \"10.0.0.2\", \"10.0.0.3\", \"10.0.0.4\", \"10.0.0.5\",\n"
		      "    \"10.0.0.6\", \"10.0.0.7\", \"10.0.0.8\", \"10.0.0.9\" ]")),
	  "7: routes.[0].next_hops: has 9 entries, at most 8" },
	{ ROUTES(HOPS("( \"10.0.0.1\", 25 )")),
	  "7: routes.[0].next_hops.[1]: expected a string or a group, got an integer" },
	/* routes: next hops written as strings */
	{ ROUTES(RT("\"a.example\"") ",\n  { domains = [ \"b.example\" ];\n"
		 "    next_hops = [ \"10.20.0.300:25\" ]; }"),
	  "9: routes.[1].next_hops.[0]: \"10.20.0.300:25\" is not an IPv4 address "
	  "with an optional :PORT" },
	{ ROUTES(HOPS("[ \"10.0.0.1:\" ]")),
	  "7: routes.[0].next_hops.[0]: \"10.0.0.1:\" is not an IPv4 address "
	  "with an optional :PORT" },
	{ ROUTES(HOPS("[ \"10.0.0.1:025\" ]")),
	  "7: routes.[0].next_hops.[0]: \"10.0.0.1:025\" is not an IPv4 address "
	  "with an optional :PORT" },
	{ ROUTES(HOPS("[ \"10.0.0.1:1000000\" ]")),
	  "7: routes.[0].next_hops.[0]: \"10.0.0.1:1000000\" is not an IPv4 address "
	  "with an optional :PORT" },
	{ ROUTES(HOPS("[ \"10.0.0.1:smtp\" ]")),
	  "7: routes.[0].next_hops.[0]: \"10.0.0.1:smtp\" is not an IPv4 address "
	  "with an optional :PORT" },
	{ ROUTES(HOPS("[ \"mx.example:25\" ]")),
	  "7: routes.[0].next_hops.[0]: \"mx.example:25\" is not an IPv4 address "
	  "with an optional :PORT" },
	{ ROUTES(HOPS("[ \"10.0.0.1/24\" ]")),
	  "7: routes.[0].next_hops.[0]: \"10.0.0.1/24\" is not an IPv4 address "
	  "with an optional :PORT" },
	{ ROUTES(HOPS("[ \"10.0.0.1:0\" ]")),
	  "7: routes.[0].next_hops.[0]: \"10.0.0.1:0\": port 0 is out of range (1..65535)" },
	{ ROUTES(HOPS("[ \"10.0.0.1:65536\" ]")),
	  "7: routes.[0].next_hops.[0]: \"10.0.0.1:65536\": port 65536 is out of "
	  "range (1..65535)" },
	{ ROUTES(HOPS("[ \"127.0.0.1\" ]")),
	  "7: routes.[0].next_hops.[0]: \"127.0.0.1\" is a loopback address" },
	{ ROUTES(HOPS("[ \"224.0.0.1:25\" ]")),
	  "7: routes.[0].next_hops.[0]: \"224.0.0.1:25\" is a multicast address" },
	{ ROUTES(HOPS("[ \"255.255.255.255\" ]")),
	  "7: routes.[0].next_hops.[0]: \"255.255.255.255\" is a reserved (class E) address" },
	{ ROUTES(HOPS("[ \"0.1.2.3\" ]")),
	  "7: routes.[0].next_hops.[0]: \"0.1.2.3\" is in 0.0.0.0/8, not a usable host address" },
	{ ROUTES(HOPS("[ \"10.0.0.1\", \"10.0.0.2:2525\",\n    \"10.0.0.1:25\" ]")),
	  "8: routes.[0].next_hops.[2]: 10.0.0.1:25 is already used by "
	  "routes.[0].next_hops.[0]" },
	/* routes: next hops written as groups */
	{ ROUTES(HOPS("( { port = 25; } )")),
	  "7: routes.[0].next_hops.[0].address: missing (required)" },
	{ ROUTES(HOPS("( { address = \"10.0.0.1\"; prot = 25; } )")),
	  "7: routes.[0].next_hops.[0].prot: unknown setting (did you mean \"port\"?)" },
	{ ROUTES(HOPS("( { address = \"10.0.0.1\"; weight = 5; } )")),
	  "7: routes.[0].next_hops.[0].weight: unknown setting" },
	{ ROUTES(HOPS("( { address = 10; } )")),
	  "7: routes.[0].next_hops.[0].address: expected a string, got an integer" },
	{ ROUTES(HOPS("( { address = \"10.0.0.1:25\"; } )")),
	  "7: routes.[0].next_hops.[0].address: \"10.0.0.1:25\" is not an IPv4 "
	  "address (a.b.c.d)" },
	{ ROUTES(HOPS("( { address = \"127.0.0.2\"; } )")),
	  "7: routes.[0].next_hops.[0].address: \"127.0.0.2\" is a loopback address" },
	{ ROUTES(HOPS("( { address = \"10.0.0.1\"; port = 0; } )")),
	  "7: routes.[0].next_hops.[0].port: 0 is out of range (1..65535)" },
	{ ROUTES(HOPS("( { address = \"10.0.0.1\"; port = \"25\"; } )")),
	  "7: routes.[0].next_hops.[0].port: expected an integer, got a string" },
	{ ROUTES(HOPS("( { address = \"10.0.0.1\"; priority = -1; } )")),
	  "7: routes.[0].next_hops.[0].priority: -1 is out of range (0..65535)" },
	{ ROUTES(HOPS("( \"10.0.0.1\",\n    { address = \"10.0.0.2\";\n"
		      "      priority = 65536; } )")),
	  "9: routes.[0].next_hops.[1].priority: 65536 is out of range (0..65535)" },
	{ ROUTES(HOPS("( { address = \"10.0.0.1\"; port = 2525; },\n"
		      "    \"10.0.0.1:2525\" )")),
	  "8: routes.[0].next_hops.[1]: 10.0.0.1:2525 is already used by "
	  "routes.[0].next_hops.[0]" },
	/* routes: domains */
	{ ROUTES(RT("\"exa mple.com\"")),
	  "7: routes.[0].domains.[0]: \"exa mple.com\" is not a valid domain name" },
	{ ROUTES(RT("\"a.example\", \"b\xc3\xa9.example\"")),
	  "7: routes.[0].domains.[1]: \"b\xc3\xa9.example\" is not ASCII (write an "
	  "internationalized domain name in its A-label form, \"xn--...\")" },
	{ ROUTES(RT("\"192.0.2.1\"")),
	  "7: routes.[0].domains.[0]: \"192.0.2.1\" is an address literal, not a domain name" },
	{ ROUTES(RT("\"**\"")), "7: routes.[0].domains.[0]: \"**\" is not a valid domain name" },
	{ ROUTES(RT("\"*.\"") ",\n  " RT("\"*\"")),
	  "8: routes.[1].domains.[0]: \"*\": routes.[0] (line 7) is already the default route" },
	{ ROUTES(RT("\"a.example\"") ",\n  " RT("\"*\"") ",\n  " RT("\"b.example\",\n    \"*\"")),
	  "10: routes.[2].domains.[1]: \"*\": routes.[1] (line 8) is already the default route" },
	{ ROUTES(RT("\"example.com\", \"*.example.com\"") ",\n  " RT("\"example.org\"")
		 ",\n  " RT("\"example.com\"")),
	  "9: routes.[2].domains.[0]: \"example.com\" is already routed by routes.[0] (line 7)" },
	{ ROUTES(RT("\"example.org\",\n    \"*.Example.COM\"") ",\n  " RT("\"*.example.com.\"")),
	  "9: routes.[1].domains.[0]: \"*.example.com.\" is already routed by "
	  "routes.[0] (line 8)" },
	{ ROUTES(RT("\"example.org\", \"EXAMPLE.org\"")),
	  "7: routes.[0].domains.[1]: \"EXAMPLE.org\" is already routed by "
	  "routes.[0] (line 7)" },
};

/* Write TEXT to a new file under /tmp; its name goes to PATH. */
static void test_smtp_write(const char *text, char path[64])
{
	config_test_write("/tmp/mailgw-test-smtp-XXXXXX.conf", text, path, 64);
}

/* Load TEXT from a temporary file; returns config_load()'s result. */
static int test_smtp_load(const char *text, struct gw_config *cfg, char *err,
			  size_t errlen)
{
	char path[64];
	int rc;

	test_smtp_write(text, path);
	rc = config_load(path, cfg, err, errlen);
	unlink(path);
	return rc;
}

/* Load TEXT, which must be valid. */
static void test_smtp_load_ok(const char *text, struct gw_config *cfg)
{
	char err[CFG_ERR_LEN];

	if (test_smtp_load(text, cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(err, "");
}

static void test_smtp_hop(const struct cfg_next_hop *h, uint32_t addr,
			  unsigned port, unsigned priority)
{
	assert_int_equal(h->addr, addr);
	assert_int_equal(h->port, port);
	assert_int_equal(h->priority, priority);
}

static void test_smtp_defaults(void **state)
{
	char host[CFG_HOSTNAME_LEN + 1] = "";
	struct gw_config d, cfg;

	(void)state;
	config_defaults(&d);
	assert_true(d.smtp.enabled);
	assert_int_equal(d.smtp.port, 25);
	/* The host name, unless it is not a valid domain name. */
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	if (strcmp(d.smtp.hostname, host) != 0)
		assert_string_equal(d.smtp.hostname, "localhost");
	assert_string_equal(d.smtp.client.helo_name, d.smtp.hostname);
	assert_int_equal(d.smtp.limits.command_line, 512);
	assert_int_equal(d.smtp.limits.text_line, 1000);
	assert_int_equal(d.smtp.limits.recipients, 100);
	assert_true(d.smtp.limits.message_size == 36700160);
	assert_int_equal(d.smtp.limits.messages_per_session, 100);
	assert_int_equal(d.smtp.limits.errors_per_session, 10);
	assert_int_equal(d.smtp.limits.sessions_per_worker, 1024);
	assert_int_equal(d.smtp.limits.sessions_per_client, 20);
	assert_int_equal(d.smtp.limits.connection_rate_per_client, 0);
	assert_int_equal(d.smtp.limits.min_data_rate, 500);
	assert_int_equal(d.smtp.limits.junk_commands, 100);
	assert_int_equal(d.smtp.timeouts.command, 300);
	assert_int_equal(d.smtp.timeouts.data, 300);
	assert_int_equal(d.smtp.timeouts.message, 3600);
	assert_int_equal(d.smtp.timeouts.connect, 30);
	assert_int_equal(d.smtp.timeouts.greeting, 300);
	assert_int_equal(d.smtp.timeouts.mail, 300);
	assert_int_equal(d.smtp.timeouts.rcpt, 300);
	assert_int_equal(d.smtp.timeouts.data_init, 120);
	assert_int_equal(d.smtp.timeouts.data_block, 180);
	assert_int_equal(d.smtp.timeouts.data_end, 600);
	assert_int_equal(d.smtp.client.connections_per_worker, 1088);
	assert_int_equal(d.smtp.client.cache_size, 64);
	assert_int_equal(d.smtp.client.cache_idle_timeout, 10);
	assert_int_equal(d.smtp.client.cache_max_messages, 100);
	assert_int_equal(d.smtp.client.retry_after, 30);
	assert_null(d.smtp.accepted_domains);
	assert_int_equal(d.smtp.n_accepted_domains, 0);
	assert_null(d.smtp.relay_networks);
	assert_int_equal(d.smtp.n_relay_networks, 0);
	assert_null(d.routes);
	assert_int_equal(d.n_routes, 0);
	config_free(&d);                        /* nothing to free */
	assert_null(d.routes);

	/* No smtp group, an empty one, empty lists: the defaults. */
	NEED_CORES();
	test_smtp_load_ok(V PORTS, &cfg);
	assert_memory_equal(&cfg.smtp, &d.smtp, sizeof(d.smtp));
	assert_null(cfg.routes);
	assert_int_equal(cfg.n_routes, 0);
	test_smtp_load_ok(V PORTS "smtp: { limits: { }; timeouts: { }; client: { }; };\n"
			  "routes = ( );\n", &cfg);
	assert_memory_equal(&cfg.smtp, &d.smtp, sizeof(d.smtp));
	assert_null(cfg.routes);
	test_smtp_load_ok(SMTP("accepted_domains = [ ]; relay_networks = ( );"), &cfg);
	assert_memory_equal(&cfg.smtp, &d.smtp, sizeof(d.smtp));
}

/* Every smtp setting, none at its default. */
static const char test_smtp_all[] = V PORTS
	"smtp: {\n"
	"  enabled = false; port = 2525; hostname = \"MX-1.Gw.Example.\";\n"
	"  limits: {\n"
	"    command_line = 4096; text_line = 1000000; recipients = 1;\n"
	"    message_size = 1099511627776L; messages_per_session = 100000;\n"
	"    errors_per_session = 1000; sessions_per_worker = 65536;\n"
	"    sessions_per_client = 1; connection_rate_per_client = 100000; min_data_rate = 0;"
	" junk_commands = 100000;\n"
	"  };\n"
	"  timeouts: { command = 1; data = 2; message = 86400; connect = 3; greeting = 4; mail = 5;\n"
	"    rcpt = 6; data_init = 7; data_block = 8; data_end = 3600; };\n"
	"  client: { helo_name = \"out.gw.example\"; connections_per_worker = 131072;\n"
	"    cache_size = 65536; cache_idle_timeout = 3600; cache_max_messages = 1;\n"
	"    retry_after = 0; };\n"
	"  accepted_domains = ( \"Example.COM.\", \"*.example.com\", \"*.com\",\n"
	"    \"xn--bcher-kva.example\", \"a-b.c-d.example\", \"x\" );\n"
	"  relay_networks = [ \"10.20.0.0/24\", \"192.0.2.7\", \"10.0.0.0/8\",\n"
	"    \"198.51.100.1/32\", \"128.0.0.0/1\" ];\n"
	"};\n"
	"routes = (\n"
	"  { domains = [ \"example.com\", \"*.example.com\" ];\n"
	"    next_hops = [ \"10.20.0.10:25\", \"10.20.0.11\", \"10.20.0.12:2525\" ]; },\n"
	"  { domains = [ \"*\" ];\n"
	"    next_hops = ( { address = \"203.0.113.10\"; port = 2525; priority = 10; },\n"
	"                  { address = \"203.0.113.11\"; priority = 10; } ); },\n"
	"  { domains = [ \"a.example\" ];\n"
	"    next_hops = ( { address = \"10.0.0.1\"; priority = 20; }, \"10.0.0.2\",\n"
	"                  { address = \"10.0.0.3\"; port = 26; }, { address = \"10.0.0.4\"; priority = 5; },\n"
	"                  { address = \"10.0.0.5\"; priority = 10; }, \"10.0.0.6:27\" ); }\n"
	");\n";

static void test_smtp_every_setting(void **state)
{
	const struct cfg_smtp *m;
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	test_smtp_load_ok(test_smtp_all, &cfg);
	m = &cfg.smtp;
	assert_false(m->enabled);
	assert_int_equal(m->port, 2525);
	assert_string_equal(m->hostname, "MX-1.Gw.Example");    /* case kept, no dot */
	assert_int_equal(m->limits.command_line, 4096);
	assert_int_equal(m->limits.text_line, 1000000);
	assert_int_equal(m->limits.recipients, 1);
	assert_true(m->limits.message_size == 1ULL << 40);
	assert_int_equal(m->limits.messages_per_session, 100000);
	assert_int_equal(m->limits.errors_per_session, 1000);
	assert_int_equal(m->limits.sessions_per_worker, 65536);
	assert_int_equal(m->limits.sessions_per_client, 1);
	assert_int_equal(m->limits.connection_rate_per_client, 100000);
	assert_int_equal(m->limits.min_data_rate, 0);
	assert_int_equal(m->limits.junk_commands, 100000);
	assert_int_equal(m->timeouts.command, 1);
	assert_int_equal(m->timeouts.data, 2);
	assert_int_equal(m->timeouts.message, 86400);
	assert_int_equal(m->timeouts.connect, 3);
	assert_int_equal(m->timeouts.greeting, 4);
	assert_int_equal(m->timeouts.mail, 5);
	assert_int_equal(m->timeouts.rcpt, 6);
	assert_int_equal(m->timeouts.data_init, 7);
	assert_int_equal(m->timeouts.data_block, 8);
	assert_int_equal(m->timeouts.data_end, 3600);
	assert_string_equal(m->client.helo_name, "out.gw.example");
	assert_int_equal(m->client.connections_per_worker, 131072);
	assert_int_equal(m->client.cache_size, 65536);
	assert_int_equal(m->client.cache_idle_timeout, 3600);
	assert_int_equal(m->client.cache_max_messages, 1);
	assert_int_equal(m->client.retry_after, 0);
	/* Domains lower-case, without the trailing dot, in the file's order. */
	assert_int_equal(m->n_accepted_domains, 6);
	assert_string_equal(m->accepted_domains[0], "example.com");
	assert_string_equal(m->accepted_domains[1], "*.example.com");
	assert_string_equal(m->accepted_domains[2], "*.com");
	assert_string_equal(m->accepted_domains[3], "xn--bcher-kva.example");
	assert_string_equal(m->accepted_domains[4], "a-b.c-d.example");
	assert_string_equal(m->accepted_domains[5], "x");
	/* A bare address is a /32. */
	assert_int_equal(m->n_relay_networks, 5);
	assert_int_equal(m->relay_networks[0].addr, 0x0a140000);
	assert_int_equal(m->relay_networks[0].prefix_len, 24);
	assert_int_equal(m->relay_networks[0].line, 21);
	assert_int_equal(m->relay_networks[1].addr, 0xc0000207);
	assert_int_equal(m->relay_networks[1].prefix_len, 32);
	assert_int_equal(m->relay_networks[2].addr, 0x0a000000);
	assert_int_equal(m->relay_networks[2].prefix_len, 8);
	assert_int_equal(m->relay_networks[3].prefix_len, 32);
	assert_int_equal(m->relay_networks[3].line, 22);
	assert_int_equal(m->relay_networks[4].addr, 0x80000000);
	assert_int_equal(m->relay_networks[4].prefix_len, 1);

	assert_int_equal(cfg.n_routes, 3);
	assert_int_equal(cfg.routes[0].line, 25);
	assert_int_equal(cfg.routes[0].n_domains, 2);
	assert_string_equal(cfg.routes[0].domains[0], "example.com");
	assert_string_equal(cfg.routes[0].domains[1], "*.example.com");
	/* Strings: port 25 unless given, priority 10 * (position + 1). */
	assert_int_equal(cfg.routes[0].n_hops, 3);
	test_smtp_hop(&cfg.routes[0].hops[0], 0x0a14000a, 25, 10);
	test_smtp_hop(&cfg.routes[0].hops[1], 0x0a14000b, 25, 20);
	test_smtp_hop(&cfg.routes[0].hops[2], 0x0a14000c, 2525, 30);
	/* The default route; equal priorities keep the file's order. */
	assert_int_equal(cfg.routes[1].line, 27);
	assert_int_equal(cfg.routes[1].n_domains, 1);
	assert_string_equal(cfg.routes[1].domains[0], "*");
	assert_int_equal(cfg.routes[1].n_hops, 2);
	test_smtp_hop(&cfg.routes[1].hops[0], 0xcb00710a, 2525, 10);
	test_smtp_hop(&cfg.routes[1].hops[1], 0xcb00710b, 25, 10);
	/* Mixed: sorted stably by priority (given, or 10 * (position + 1)). */
	assert_int_equal(cfg.routes[2].n_hops, 6);
	test_smtp_hop(&cfg.routes[2].hops[0], 0x0a000004, 25, 5);
	test_smtp_hop(&cfg.routes[2].hops[1], 0x0a000005, 25, 10);
	test_smtp_hop(&cfg.routes[2].hops[2], 0x0a000001, 25, 20);
	test_smtp_hop(&cfg.routes[2].hops[3], 0x0a000002, 25, 20);
	test_smtp_hop(&cfg.routes[2].hops[4], 0x0a000003, 26, 30);
	test_smtp_hop(&cfg.routes[2].hops[5], 0x0a000006, 27, 60);
	config_free(&cfg);
	assert_null(cfg.routes);
	assert_int_equal(cfg.n_routes, 0);
	assert_null(cfg.smtp.accepted_domains);
	assert_int_equal(cfg.smtp.n_accepted_domains, 0);
	assert_null(cfg.smtp.relay_networks);
	assert_int_equal(cfg.smtp.n_relay_networks, 0);
	config_free(&cfg);                      /* twice is harmless */
}

/* Settings that look odd but are valid. */
static void test_smtp_accepted(void **state)
{
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	/* helo_name follows the file's hostname; 63-character labels, 255 in all. */
	test_smtp_load_ok(SMTP("hostname = \"" L63 "." L63 "." L63 "." L63 "\";"), &cfg);
	assert_int_equal(strlen(cfg.smtp.hostname), 255);
	assert_string_equal(cfg.smtp.client.helo_name, cfg.smtp.hostname);
	test_smtp_load_ok(SMTP("hostname = \"localhost\"; client: { cache_size = 0; };"),
			  &cfg);
	assert_string_equal(cfg.smtp.hostname, "localhost");
	assert_string_equal(cfg.smtp.client.helo_name, "localhost");
	assert_int_equal(cfg.smtp.client.cache_size, 0);
	/* message_size as a plain integer and at its bounds. */
	test_smtp_load_ok(LIMITS("message_size = 1024;"), &cfg);
	assert_true(cfg.smtp.limits.message_size == 1024);
	test_smtp_load_ok(LIMITS("message_size = 2147483647;"), &cfg);
	assert_true(cfg.smtp.limits.message_size == 2147483647);
	test_smtp_load_ok(LIMITS("message_size = 4294967296L;"), &cfg);
	assert_true(cfg.smtp.limits.message_size == 4294967296ULL);
	/* cache_size may equal connections_per_worker. */
	test_smtp_load_ok(CLIENT("cache_size = 7; connections_per_worker = 7;"), &cfg);
	/* A disabled SMTP service may sit anywhere. */
	test_smtp_load_ok(V PORTS "services: { echo = { enabled = true; port = 25; }; };\n"
			  "smtp: { enabled = false; };\n", &cfg);
	test_smtp_load_ok(SMTP("enabled = false; port = 40000;"), &cfg);
	test_smtp_load_ok(V PORTS "services: { echo = { port = 25; }; };\n", &cfg);
	/* Overlapping networks; the longest domain. */
	test_smtp_load_ok(SMTP("relay_networks = [ \"10.0.0.0/8\", \"10.20.0.0/24\", "
			       "\"10.20.0.1\", \"255.255.255.255/32\" ];"), &cfg);
	config_free(&cfg);
	test_smtp_load_ok(SMTP("accepted_domains = [ \"" L63 "." L63 "." L63 "."
			       "abcdefghij" "abcdefghij" "abcdefghij" "abcdefghij"
			       "abcdefghij" "abcdefghij" "a\" ];"), &cfg);
	assert_int_equal(strlen(cfg.smtp.accepted_domains[0]), 253);
	config_free(&cfg);
	/* "*" among other domains of a route; "*." is "*"; exact and wildcard
	 * of one domain in different routes. */
	test_smtp_load_ok(ROUTES(RT("\"example.org\", \"*.\"") ",\n  "
				 RT("\"example.com\"") ",\n  " RT("\"*.example.com\"")),
			  &cfg);
	assert_int_equal(cfg.n_routes, 3);
	assert_string_equal(cfg.routes[0].domains[1], "*");
	assert_string_equal(cfg.routes[2].domains[0], "*.example.com");
	assert_int_equal(cfg.routes[2].line, 9);
	config_free(&cfg);
	/* One address on two ports; eight next hops; a list of strings. */
	test_smtp_load_ok(ROUTES(HOPS("( \"10.0.0.1:25\", \"10.0.0.1:2525\", \"10.0.0.3\","
				      " \"10.0.0.4\", \"10.0.0.5\", \"10.0.0.6\", \"10.0.0.7\","
				      " \"10.0.0.8:65535\" )")), &cfg);
	assert_int_equal(cfg.routes[0].n_hops, CFG_MAX_NEXT_HOPS);
	test_smtp_hop(&cfg.routes[0].hops[1], 0x0a000001, 2525, 20);
	test_smtp_hop(&cfg.routes[0].hops[7], 0x0a000008, 65535, 80);
	config_free(&cfg);
	/* Priorities at their bounds, and all equal. */
	test_smtp_load_ok(ROUTES(HOPS("( { address = \"10.0.0.1\"; priority = 65535; },"
				      " { address = \"10.0.0.2\"; priority = 0; } )")), &cfg);
	test_smtp_hop(&cfg.routes[0].hops[0], 0x0a000002, 25, 0);
	test_smtp_hop(&cfg.routes[0].hops[1], 0x0a000001, 25, 65535);
	config_free(&cfg);
	test_smtp_load_ok(ROUTES(HOPS("( { address = \"10.0.0.4\"; priority = 7; },"
				      " { address = \"10.0.0.3\"; priority = 7; },"
				      " { address = \"10.0.0.2\"; priority = 7; },"
				      " { address = \"10.0.0.1\"; priority = 7; } )")), &cfg);
	test_smtp_hop(&cfg.routes[0].hops[0], 0x0a000004, 25, 7);
	test_smtp_hop(&cfg.routes[0].hops[3], 0x0a000001, 25, 7);
	config_free(&cfg);
}

/* Does ERR match "PATH:EXPECT"? */
static void test_smtp_expect(size_t i, const char *text, const char *expect)
{
	char path[64], err[CFG_ERR_LEN], full[CFG_ERR_LEN + 64];
	struct gw_config cfg;
	int rc;

	memset(&cfg, 0x5a, sizeof(cfg));
	test_smtp_write(text, path);
	rc = config_load(path, &cfg, err, sizeof(err));
	unlink(path);
	snprintf(full, sizeof(full), "%s:%s", path, expect);
	if (rc != -EINVAL || strcmp(err, full) != 0)
		fail_msg("case %zu: rc %d, error\n  %s\nexpected\n  %s", i, rc, err, full);
	assert_null(strchr(err, '\n'));
	/* A failed load leaves the caller's struct alone. */
	assert_int_equal(((unsigned char *)&cfg)[0], 0x5a);
	assert_int_equal(cfg.n_routes, 0x5a5a5a5a);
}

static void test_smtp_broken_cases(void **state)
{
	size_t i;

	(void)state;
	NEED_CORES();
	for (i = 0; i < N(test_smtp_broken); i++)
		test_smtp_expect(i, test_smtp_broken[i].text, test_smtp_broken[i].expect);
}

static void test_smtp_example_file(void **state)
{
	char path[PATH_MAX + 64], err[CFG_ERR_LEN];
	struct gw_config cfg, d;

	(void)state;
	NEED_CORES();
	config_test_example(path, sizeof(path));
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_true(cfg.smtp.enabled);
	assert_int_equal(cfg.smtp.port, 25);
	assert_string_equal(cfg.smtp.hostname, "mx.gw.example");
	assert_string_equal(cfg.smtp.client.helo_name, "mx.gw.example");
	/* RFC defaults everywhere else. */
	config_defaults(&d);
	assert_memory_equal(&cfg.smtp.limits, &d.smtp.limits, sizeof(d.smtp.limits));
	assert_memory_equal(&cfg.smtp.timeouts, &d.smtp.timeouts, sizeof(d.smtp.timeouts));
	assert_int_equal(cfg.smtp.client.connections_per_worker, 1088);
	assert_int_equal(cfg.smtp.client.cache_size, 64);
	assert_int_equal(cfg.smtp.client.cache_idle_timeout, 10);
	assert_int_equal(cfg.smtp.client.cache_max_messages, 100);
	assert_int_equal(cfg.smtp.client.retry_after, 30);
	assert_int_equal(cfg.smtp.n_accepted_domains, 2);
	assert_string_equal(cfg.smtp.accepted_domains[0], "example.com");
	assert_string_equal(cfg.smtp.accepted_domains[1], "*.example.com");
	assert_int_equal(cfg.smtp.n_relay_networks, 1);
	assert_int_equal(cfg.smtp.relay_networks[0].addr, 0x0a140000);
	assert_int_equal(cfg.smtp.relay_networks[0].prefix_len, 24);
	assert_int_equal(cfg.n_routes, 2);
	assert_int_equal(cfg.routes[0].n_domains, 2);
	assert_string_equal(cfg.routes[0].domains[0], "example.com");
	assert_string_equal(cfg.routes[0].domains[1], "*.example.com");
	assert_int_equal(cfg.routes[0].n_hops, 1);
	test_smtp_hop(&cfg.routes[0].hops[0], 0x0a14000a, 25, 10);     /* mgw-int */
	assert_int_equal(cfg.routes[1].n_domains, 1);
	assert_string_equal(cfg.routes[1].domains[0], "*");
	assert_int_equal(cfg.routes[1].n_hops, 1);
	test_smtp_hop(&cfg.routes[1].hops[0], 0xcb00710a, 25, 10);     /* mgw-ext */
	config_free(&cfg);
}

/* CPU seconds of this process since T0 (other processes on the machine do
 * not count). */
static double test_smtp_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Well under a second; under valgrind or a sanitizer, set
 * MAILGW_TEST_NO_TIMING=1. */
static void test_smtp_fast(double s)
{
	if (!getenv("MAILGW_TEST_NO_TIMING"))
		assert_true(s < 1.0);
}

#define TEST_SMTP_MANY 100000

/*
 * A file with TEST_SMTP_MANY route domains: in one route (ONE_ROUTE) or one
 * route each, one domain a line from line 3; the last one repeats the first
 * when DUP. Returns malloc'ed text.
 */
static char *test_smtp_many_text(bool one_route, bool dup)
{
	size_t len = (size_t)TEST_SMTP_MANY * 96 + 4096, used = 0;
	char *t = malloc(len);
	unsigned i;

	assert_non_null(t);
	used += (size_t)snprintf(t + used, len - used, V "routes = (\n%s",
				 one_route ? "  { domains = [\n" : "");
	for (i = 0; i < TEST_SMTP_MANY; i++) {
		unsigned d = dup && i + 1 == TEST_SMTP_MANY ? 0 : i;

		if (one_route)
			used += (size_t)snprintf(t + used, len - used, "    \"%s%u.example\"%s\n",
						 d % 3 ? "*.d" : "D", d,
						 i + 1 < TEST_SMTP_MANY ? "," : " ];");
		else
			used += (size_t)snprintf(t + used, len - used, "  { domains = [ \"%s%u.example\" ]; "
						 "next_hops = [ \"10.0.0.1\" ]; },\n",
						 d % 3 ? "*.d" : "D", d);
	}
	snprintf(t + used, len - used, "%s  " RT("\"*\"") "\n);\n" PORTS,
		 one_route ? "    next_hops = [ \"10.0.0.1\", \"10.0.0.2\" ]; },\n" : "");
	return t;
}

static void test_smtp_many_case(bool one_route)
{
	char path[64], err[CFG_ERR_LEN], expect[CFG_ERR_LEN + 64];
	struct gw_config cfg;
	struct timespec t0;
	char *text = test_smtp_many_text(one_route, false);
	double s;

	test_smtp_write(text, path);
	free(text);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	s = test_smtp_since(&t0);
	unlink(path);
	print_message("%d route domains in %s: loaded in %.3f s of CPU\n", TEST_SMTP_MANY,
		      one_route ? "one route" : "as many routes", s);
	test_smtp_fast(s);
	if (one_route) {
		assert_int_equal(cfg.n_routes, 2);
		assert_int_equal(cfg.routes[0].n_domains, TEST_SMTP_MANY);
		assert_string_equal(cfg.routes[0].domains[0], "d0.example");
		assert_string_equal(cfg.routes[0].domains[99999], "d99999.example");
		assert_string_equal(cfg.routes[0].domains[99998], "*.d99998.example");
	} else {
		assert_int_equal(cfg.n_routes, TEST_SMTP_MANY + 1);
		assert_string_equal(cfg.routes[TEST_SMTP_MANY - 1].domains[0],
				    "d99999.example");
		assert_int_equal(cfg.routes[TEST_SMTP_MANY - 1].line, TEST_SMTP_MANY + 2);
	}
	config_free(&cfg);

	/* The same with the first domain again at the end: found, freed. */
	text = test_smtp_many_text(one_route, true);
	test_smtp_write(text, path);
	free(text);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EINVAL);
	s = test_smtp_since(&t0);
	unlink(path);
	test_smtp_fast(s);
	if (one_route)
		snprintf(expect, sizeof(expect), "%s:%d: routes.[0].domains.[%d]: "
			 "\"D0.example\" is already routed by routes.[0] (line 4)",
			 path, TEST_SMTP_MANY + 3, TEST_SMTP_MANY - 1);
	else
		snprintf(expect, sizeof(expect), "%s:%d: routes.[%d].domains.[0]: "
			 "\"D0.example\" is already routed by routes.[0] (line 3)",
			 path, TEST_SMTP_MANY + 2, TEST_SMTP_MANY - 1);
	assert_string_equal(err, expect);
}

static void test_smtp_many(void **state)
{
	(void)state;
	NEED_CORES();
	test_smtp_many_case(true);
	test_smtp_many_case(false);
}

/* A and B hold the same smtp settings and routes (lines aside). */
static void test_smtp_same(const struct gw_config *a, const struct gw_config *b)
{
	const struct cfg_route *ra, *rb;
	unsigned i, j;

	assert_memory_equal(&a->smtp, &b->smtp,
			    offsetof(struct cfg_smtp, accepted_domains));
	assert_int_equal(a->smtp.n_accepted_domains, b->smtp.n_accepted_domains);
	for (i = 0; i < a->smtp.n_accepted_domains; i++)
		assert_string_equal(a->smtp.accepted_domains[i],
				    b->smtp.accepted_domains[i]);
	assert_int_equal(a->smtp.n_relay_networks, b->smtp.n_relay_networks);
	for (i = 0; i < a->smtp.n_relay_networks; i++) {
		assert_int_equal(a->smtp.relay_networks[i].addr,
				 b->smtp.relay_networks[i].addr);
		assert_int_equal(a->smtp.relay_networks[i].prefix_len,
				 b->smtp.relay_networks[i].prefix_len);
	}
	assert_int_equal(a->n_routes, b->n_routes);
	for (i = 0; i < a->n_routes; i++) {
		ra = &a->routes[i];
		rb = &b->routes[i];
		assert_int_equal(ra->n_domains, rb->n_domains);
		for (j = 0; j < ra->n_domains; j++)
			assert_string_equal(ra->domains[j], rb->domains[j]);
		assert_int_equal(ra->n_hops, rb->n_hops);
		for (j = 0; j < ra->n_hops; j++)
			test_smtp_hop(&ra->hops[j], rb->hops[j].addr, rb->hops[j].port,
				      rb->hops[j].priority);
	}
}

/* format -> file -> load gives back the same smtp settings and routes. */
static void test_smtp_round_trip(const struct gw_config *in)
{
	int n = config_format(in, NULL, 0);
	struct gw_config out;
	char *text;

	assert_true(n > 0);
	text = malloc((size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(config_format(in, text, (size_t)n + 1), n);
	assert_int_equal(strlen(text), n);
	test_smtp_load_ok(text, &out);
	free(text);
	test_smtp_same(in, &out);
	config_free(&out);
}

static void test_smtp_format(void **state)
{
	char path[PATH_MAX + 64], err[CFG_ERR_LEN], *big;
	struct gw_config cfg;
	int n;

	(void)state;
	NEED_CORES();
	test_smtp_load_ok(test_smtp_all, &cfg);
	test_smtp_round_trip(&cfg);
	big = malloc(65536);
	assert_non_null(big);
	config_format(&cfg, big, 65536);
	assert_non_null(strstr(big, "\nsmtp: {\n  enabled = false;\n  port = 2525;\n"
			       "  hostname = \"MX-1.Gw.Example\";\n"));
	assert_non_null(strstr(big, "    message_size = 1099511627776L;\n"));
	assert_non_null(strstr(big, "  accepted_domains = [\n    \"example.com\",\n"));
	assert_non_null(strstr(big, "  relay_networks = [ \"10.20.0.0/24\", \"192.0.2.7/32\", "));
	assert_non_null(strstr(big, "\nroutes = (\n  {\n    domains = [ \"example.com\", "
			       "\"*.example.com\" ];\n    next_hops = (\n      { address = "
			       "\"10.20.0.10\"; port = 25; priority = 10; },\n"));
	assert_true(strstr(big, "\nsmtp: {") < strstr(big, "\nroutes = (") &&
		    strstr(big, "\nroutes = (") < strstr(big, "\nconsole: {"));
	config_free(&cfg);

	/* Defaults: empty lists, no routes list. */
	test_smtp_load_ok(V PORTS, &cfg);
	test_smtp_round_trip(&cfg);
	config_format(&cfg, big, 65536);
	assert_non_null(strstr(big, "  accepted_domains = [ ];\n  relay_networks = [ ];\n};\n"));
	assert_null(strstr(big, "routes"));
	free(big);

	/* The example file. */
	config_test_example(path, sizeof(path));
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	test_smtp_round_trip(&cfg);
	config_free(&cfg);

	/* 100,000 domains: all of it, or truncated like snprintf. */
	big = test_smtp_many_text(true, false);
	test_smtp_load_ok(big, &cfg);
	free(big);
	test_smtp_round_trip(&cfg);
	big = malloc(65536);
	assert_non_null(big);
	n = config_format(&cfg, big, 65536);
	assert_true(n > 100000 * 10);
	assert_int_equal(strlen(big), 65535);
	free(big);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_defaults),
		cmocka_unit_test(test_smtp_every_setting),
		cmocka_unit_test(test_smtp_accepted),
		cmocka_unit_test(test_smtp_broken_cases),
		cmocka_unit_test(test_smtp_example_file),
		cmocka_unit_test(test_smtp_many),
		cmocka_unit_test(test_smtp_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
