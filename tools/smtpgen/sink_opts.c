/*
 * sink_opts.c — the sink's command line (sink_usage() documents it) into
 * struct sink_opts, every value checked. Called by sink_main().
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/smtpgen/sink.h"
#include "tools/smtpgen/sg_util.h"

const char *const sink_stage_names[SS_COUNT] = {
	"greeting", "mail", "rcpt", "data", "eod", "ehlo", "starttls", "other",
};

void sink_usage(FILE *f)
{
	fputs(
"usage: smtpgen sink -L ADDR:PORT [options]\n"
"  TLS:\n"
"    --starttls --cert CRT --key KEY     offer STARTTLS with this certificate (chain)\n"
"    --cert2 CRT2 --key2 KEY2            a second one of the other key type: RSA and\n"
"                                        ECDSA side by side, chosen per ClientHello\n"
"    --request-client-cert --ca FILE     ask for a client certificate (verified with FILE)\n"
"    --require-client-cert               ... and refuse the handshake without one\n"
"  playing a next hop (STAGE: greeting mail rcpt data eod):\n"
"    --reply-STAGE \"CODE TEXT\"           answer STAGE with this (a 421 closes the session)\n"
"    --delay-STAGE MS                    wait MS milliseconds before answering STAGE\n"
"    --fail-pct STAGE:PCT                answer only PCT % of STAGE with --reply-STAGE\n"
"                                        (default failure: 451 4.3.0; greeting: 421 4.3.2)\n"
"    --max-size N                        SIZE N; larger messages get 552 5.3.4\n"
"    --reject-mismatch                   answer a body-hash mismatch with 554 5.6.0\n"
"    --hostname NAME                     name in the greeting and EHLO (sink.smtpgen.test)\n"
"  running:\n"
"    --max-sessions N                    concurrent sessions (default 20000; more get 421)\n"
"    --timeout S                         idle timeout per session (default 300)\n"
"    --exit-after N                      stop after N messages received\n"
"    --duration S                        stop after S seconds (also SIGTERM, SIGINT)\n"
"    --json                              report as JSON on stdout\n"
"    --json-report FILE                  also write the JSON report to FILE\n"
"    --require-hash                      a message without X-Smtpgen-SHA256 fails the run\n"
"    --pid-file FILE                     write the sink's pid there once it listens\n"
"Every message is verified: SHA-256 of its body (after the header's empty line,\n"
"unstuffed, CRLF line ends) against its X-Smtpgen-SHA256 field. Exit 1 when any\n"
"message mismatched (or, with --require-hash, had no hash).\n",
	f);
}

enum {
	OPT_STARTTLS = 256, OPT_CERT, OPT_KEY, OPT_CERT2, OPT_KEY2, OPT_CA, OPT_REQ_CC, OPT_REQUIRE_CC,
	OPT_FAIL_PCT, OPT_MAX_SIZE, OPT_REJECT_MISMATCH, OPT_HOSTNAME, OPT_MAX_SESSIONS, OPT_TIMEOUT,
	OPT_EXIT_AFTER, OPT_DURATION, OPT_JSON, OPT_JSON_REPORT, OPT_REQUIRE_HASH, OPT_SEED, OPT_PID_FILE,
	OPT_REPLY = 512,                /* + stage */
	OPT_DELAY = 768,                /* + stage */
};

static const struct option sink_longopts[] = {
	{ "listen", required_argument, NULL, 'L' },
	{ "help", no_argument, NULL, 'h' },
	{ "starttls", no_argument, NULL, OPT_STARTTLS },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "cert2", required_argument, NULL, OPT_CERT2 },
	{ "key2", required_argument, NULL, OPT_KEY2 },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "request-client-cert", no_argument, NULL, OPT_REQ_CC },
	{ "require-client-cert", no_argument, NULL, OPT_REQUIRE_CC },
	{ "fail-pct", required_argument, NULL, OPT_FAIL_PCT },
	{ "max-size", required_argument, NULL, OPT_MAX_SIZE },
	{ "reject-mismatch", no_argument, NULL, OPT_REJECT_MISMATCH },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "exit-after", required_argument, NULL, OPT_EXIT_AFTER },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "json-report", required_argument, NULL, OPT_JSON_REPORT },
	{ "require-hash", no_argument, NULL, OPT_REQUIRE_HASH },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ "pid-file", required_argument, NULL, OPT_PID_FILE },
	{ "reply-greeting", required_argument, NULL, OPT_REPLY + SS_GREETING },
	{ "reply-mail", required_argument, NULL, OPT_REPLY + SS_MAIL },
	{ "reply-rcpt", required_argument, NULL, OPT_REPLY + SS_RCPT },
	{ "reply-data", required_argument, NULL, OPT_REPLY + SS_DATA },
	{ "reply-eod", required_argument, NULL, OPT_REPLY + SS_EOD },
	{ "delay-greeting", required_argument, NULL, OPT_DELAY + SS_GREETING },
	{ "delay-mail", required_argument, NULL, OPT_DELAY + SS_MAIL },
	{ "delay-rcpt", required_argument, NULL, OPT_DELAY + SS_RCPT },
	{ "delay-data", required_argument, NULL, OPT_DELAY + SS_DATA },
	{ "delay-eod", required_argument, NULL, OPT_DELAY + SS_EOD },
	{ NULL, 0, NULL, 0 },
};

static int sink_bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "smtpgen sink: %s '%s': %s\n", opt, val ? val : "", why);
	return -EINVAL;
}

/* "CODE TEXT": a single line, code 2xx..5xx. */
static int sink_opt_reply(struct sink_opts *o, int stage, const char *a)
{
	struct sink_stage_cfg *c = &o->stage[stage];
	size_t n = strlen(a), i;

	if (n < 3 || n + 3 > sizeof(c->reply) || a[0] < '2' || a[0] > '5' || !isdigit((unsigned char)a[1]) ||
	    !isdigit((unsigned char)a[2]) || (n > 3 && a[3] != ' '))
		return sink_bad("--reply-*", a, "expected \"CODE TEXT\" with CODE 200..599, one line, under 400 octets");
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] < 0x20 || (unsigned char)a[i] >= 0x7f)
			return sink_bad("--reply-*", a, "printable ASCII only");
	snprintf(c->reply, sizeof(c->reply), "%s\r\n", a);
	c->code = (a[0] - '0') * 100 + (a[1] - '0') * 10 + (a[2] - '0');
	return 0;
}

static int sink_opt_fail(struct sink_opts *o, const char *a)
{
	const char *colon = strchr(a, ':');
	unsigned long pct;
	int i;

	if (!colon || sg_parse_ulong(colon + 1, 0, 100, &pct))
		return sink_bad("--fail-pct", a, "expected STAGE:PCT, PCT 0..100");
	for (i = 0; i < SS_CONFIGURABLE; i++)
		if ((size_t)(colon - a) == strlen(sink_stage_names[i]) &&
		    strncmp(a, sink_stage_names[i], (size_t)(colon - a)) == 0)
			break;
	if (i == SS_CONFIGURABLE)
		return sink_bad("--fail-pct", a, "STAGE is one of greeting mail rcpt data eod");
	o->stage[i].fail_pct = (int)pct;
	return 0;
}

static int sink_opt_num(struct sink_opts *o, int c, const char *a)
{
	unsigned long v;

	if (c >= OPT_DELAY && c < OPT_DELAY + SS_CONFIGURABLE) {
		if (sg_parse_ulong(a, 0, 3600000, &v))
			return sink_bad("--delay-*", a, "expected milliseconds 0..3600000");
		o->stage[c - OPT_DELAY].delay_ms = (unsigned)v;
		return 0;
	}
	switch (c) {
	case OPT_MAX_SIZE:
		if (sg_parse_size(a, &o->max_size))
			return sink_bad("--max-size", a, "expected a size, e.g. 10m");
		return 0;
	case OPT_MAX_SESSIONS:
		if (sg_parse_ulong(a, 1, 1000000, &v))
			return sink_bad("--max-sessions", a, "expected 1..1000000");
		o->max_sessions = (unsigned)v;
		return 0;
	case OPT_EXIT_AFTER:
		if (sg_parse_ulong(a, 1, (unsigned long)-1, &v))
			return sink_bad("--exit-after", a, "expected N >= 1");
		o->exit_after = v;
		return 0;
	case OPT_SEED:
		if (sg_parse_ulong(a, 0, (unsigned long)-1, &v))
			return sink_bad("--seed", a, "expected a number");
		o->seed = v;
		return 0;
	case OPT_TIMEOUT:
		if (sg_parse_double(a, 0.01, 86400, &o->timeout))
			return sink_bad("--timeout", a, "expected seconds > 0");
		return 0;
	case OPT_DURATION:
		if (sg_parse_double(a, 0.001, 1e7, &o->duration))
			return sink_bad("--duration", a, "expected seconds > 0");
		return 0;
	}
	return 1;
}

static int sink_opt_str(struct sink_opts *o, int c, const char *a)
{
	if (c >= OPT_REPLY && c < OPT_REPLY + SS_CONFIGURABLE)
		return sink_opt_reply(o, c - OPT_REPLY, a);
	switch (c) {
	case 'L': o->listen = a; return 0;
	case OPT_STARTTLS: o->starttls = true; return 0;
	case OPT_CERT: o->tls.cert = a; return 0;
	case OPT_KEY: o->tls.key = a; return 0;
	case OPT_CERT2: o->tls.cert2 = a; return 0;
	case OPT_KEY2: o->tls.key2 = a; return 0;
	case OPT_CA: o->tls.ca = a; return 0;
	case OPT_REQ_CC: o->tls.request_client_cert = true; return 0;
	case OPT_REQUIRE_CC: o->tls.require_client_cert = true; return 0;
	case OPT_FAIL_PCT: return sink_opt_fail(o, a);
	case OPT_REJECT_MISMATCH: o->reject_mismatch = true; return 0;
	case OPT_REQUIRE_HASH: o->require_hash = true; return 0;
	case OPT_HOSTNAME: o->hostname = a; return 0;
	case OPT_JSON: o->json = true; return 0;
	case OPT_JSON_REPORT: o->json_report = a; return 0;
	case OPT_PID_FILE: o->pid_file = a; return 0;
	}
	return 1;
}

static int sink_check(struct sink_opts *o)
{
	char err[256], host[256];
	size_t i;

	if (!o->listen)
		return sink_bad("-L", "", "the listening ADDR:PORT is required");
	if (sg_parse_hostport(o->listen, &o->addr, &o->addrlen, host, sizeof(host), err, sizeof(err)))
		return sink_bad("-L", o->listen, err);
	if (o->starttls && (!o->tls.cert || !o->tls.key))
		return sink_bad("--starttls", "", "needs --cert and --key");
	if (!o->starttls && (o->tls.cert || o->tls.cert2 || o->tls.request_client_cert || o->tls.require_client_cert))
		return sink_bad("--cert/--request-client-cert", "", "only make sense with --starttls");
	if ((o->tls.cert2 != NULL) != (o->tls.key2 != NULL))
		return sink_bad("--cert2", o->tls.cert2, "needs --key2 as well (and vice versa)");
	for (i = 0; o->hostname[i]; i++)
		if ((unsigned char)o->hostname[i] <= ' ' || (unsigned char)o->hostname[i] >= 0x7f || i > 200)
			return sink_bad("--hostname", o->hostname, "expected a domain name");
	return 0;
}

int sink_parse(struct sink_opts *o, int argc, char **argv)
{
	int c, r, i;

	memset(o, 0, sizeof(*o));
	o->hostname = "sink.smtpgen.test";
	o->max_sessions = 20000;
	o->timeout = 300;
	o->seed = sg_seed();
	for (i = 0; i < SS_CONFIGURABLE; i++)
		o->stage[i].fail_pct = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "L:h", sink_longopts, NULL)) != -1) {
		if (c == 'h') {
			sink_usage(stdout);
			exit(0);
		}
		if (c == '?') {
			sink_usage(stderr);
			return -EINVAL;
		}
		r = sink_opt_num(o, c, optarg);
		if (r > 0)
			r = sink_opt_str(o, c, optarg);
		if (r)
			return r < 0 ? r : -EINVAL;
	}
	if (optind < argc)
		return sink_bad("argument", argv[optind], "unexpected");
	return sink_check(o);
}
