/*
 * client_opts.c — the client's command line (client_usage() documents it)
 * into struct client_opts, with every value checked and bounded. Called by
 * client_main() before anything is opened.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/smtpgen/client.h"

void client_usage(FILE *f)
{
	fputs(
"usage: smtpgen client -S HOST:PORT [options]\n"
"  load:\n"
"    -s, --sessions N       concurrent sessions (default 1; most 200000)\n"
"    -m, --messages N       messages in all (default 100; 0 with --duration: no limit)\n"
"        --duration S       stop starting messages after S seconds\n"
"    -d, --per-conn N       messages per connection (default 1)\n"
"    -r, --rcpts N          recipients per message (default 1; most 1000)\n"
"    -l, --size SIZE        message size, e.g. 10k (default 4k; most 64m)\n"
"        --size-mix LIST    SIZE:WEIGHT,... e.g. 4k:50,32k:30,128k:15,1m:5\n"
"        --rate R           open loop: R new messages per second (sessions are\n"
"                           opened up to -s; a message waits when all are busy)\n"
"        --arrivals KIND    poisson (default) or fixed inter-arrival times\n"
"        --idle S           open loop: close a connection idle for S s (default 2)\n"
"        --backlog N        open loop: most messages waiting (default 100000)\n"
"  SMTP:\n"
"        --from ADDR        envelope sender (default smtpgen@client.test)\n"
"        --to ADDR          recipient; %d in it becomes 1..r (default user%d@example.com)\n"
"        --helo NAME        EHLO name (default smtpgen.test)\n"
"        --no-pipelining    one command at a time even if the server offers PIPELINING\n"
"        --timeout S        per reply / handshake / write progress (default 60)\n"
"        --think MS         a slow client: wait MS ms on average (0.5 to 1.5 times,\n"
"                           uniformly) before each command or pipelined group of\n"
"                           commands, the message data and QUIT included\n"
"        --handshake-only   no mail: each \"message\" is a session set-up, counted ok\n"
"                           at the EHLO reply (inside TLS with --starttls), then\n"
"                           QUIT; latency is connect to that reply (needs -d 1)\n"
"  TLS:\n"
"        --starttls         require STARTTLS (a server without it fails the message)\n"
"        --resume PCT       resume the previous TLS session on PCT % of connections\n"
"        --tls-version V    1.2 or 1.3 only (default: either, 1.2 at least)\n"
"        --ca FILE          verify the server certificate and its name\n"
"        --servername NAME  SNI and name to verify (default: -S's host unless an IP)\n"
"        --client-cert CRT --client-key KEY   present a client certificate\n"
"        --ciphers LIST     wolfSSL cipher list; --sigalgs LIST  e.g. ECDSA+SHA256\n"
"        --groups LIST      key-exchange groups offered: X25519, P-256, P-384, P-521\n"
"                           separated by \":\", preferred first (default: wolfSSL's)\n"
"  output and tests:\n"
"        --json             report as JSON on stdout\n"
"        --allow-fail       exit 0 even when messages failed\n"
"        --corrupt N        corrupt the body of every Nth message after hashing it\n"
"        --run-id ID        the <run> of X-Smtpgen-Id (default: random)\n"
"        --seed N           PRNG seed (default: random)\n"
"Each message carries X-Smtpgen-Id: <run>-<n> and X-Smtpgen-SHA256: SHA-256 of\n"
"its body (after the header's empty line, before dot-stuffing, CRLF line ends,\n"
"the final CRLF included, \".\" CRLF excluded). Exit 1 when a message failed.\n",
	f);
}

enum {
	OPT_DURATION = 256, OPT_SIZE_MIX, OPT_RATE, OPT_ARRIVALS, OPT_IDLE, OPT_BACKLOG, OPT_FROM,
	OPT_TO, OPT_HELO, OPT_NO_PIPE, OPT_TIMEOUT, OPT_STARTTLS, OPT_RESUME, OPT_TLSVER, OPT_CA,
	OPT_SNI, OPT_CCERT, OPT_CKEY, OPT_CIPHERS, OPT_SIGALGS, OPT_JSON, OPT_ALLOW_FAIL,
	OPT_CORRUPT, OPT_RUN, OPT_SEED, OPT_HS_ONLY, OPT_GROUPS, OPT_THINK,
};

static const struct option client_longopts[] = {
	{ "server", required_argument, NULL, 'S' },
	{ "sessions", required_argument, NULL, 's' },
	{ "messages", required_argument, NULL, 'm' },
	{ "per-conn", required_argument, NULL, 'd' },
	{ "rcpts", required_argument, NULL, 'r' },
	{ "size", required_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "size-mix", required_argument, NULL, OPT_SIZE_MIX },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "arrivals", required_argument, NULL, OPT_ARRIVALS },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "backlog", required_argument, NULL, OPT_BACKLOG },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "helo", required_argument, NULL, OPT_HELO },
	{ "no-pipelining", no_argument, NULL, OPT_NO_PIPE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "think", required_argument, NULL, OPT_THINK },
	{ "starttls", no_argument, NULL, OPT_STARTTLS },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ "tls-version", required_argument, NULL, OPT_TLSVER },
	{ "ca", required_argument, NULL, OPT_CA },
	{ "servername", required_argument, NULL, OPT_SNI },
	{ "client-cert", required_argument, NULL, OPT_CCERT },
	{ "client-key", required_argument, NULL, OPT_CKEY },
	{ "ciphers", required_argument, NULL, OPT_CIPHERS },
	{ "sigalgs", required_argument, NULL, OPT_SIGALGS },
	{ "groups", required_argument, NULL, OPT_GROUPS },
	{ "handshake-only", no_argument, NULL, OPT_HS_ONLY },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "allow-fail", no_argument, NULL, OPT_ALLOW_FAIL },
	{ "corrupt", required_argument, NULL, OPT_CORRUPT },
	{ "run-id", required_argument, NULL, OPT_RUN },
	{ "seed", required_argument, NULL, OPT_SEED },
	{ NULL, 0, NULL, 0 },
};

static int client_bad(const char *opt, const char *val, const char *why)
{
	fprintf(stderr, "smtpgen client: %s '%s': %s\n", opt, val ? val : "", why);
	return -EINVAL;
}

/* "4k:50,32k:30" (or a single size with weight 1). */
static int client_parse_mix(struct client_opts *o, const char *s, bool weighted)
{
	char buf[512], *save = NULL, *tok;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	o->nmix = 0;
	o->mix_total = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		unsigned long w = 1;
		uint64_t sz;

		if (o->nmix == CLIENT_MIX_MAX || (colon && !weighted))
			return -EINVAL;
		if (colon) {
			*colon = '\0';
			if (sg_parse_ulong(colon + 1, 1, 1000000, &w))
				return -EINVAL;
		}
		if (sg_parse_size(tok, &sz) || sz > CLIENT_SIZE_MAX)
			return -EINVAL;
		o->mix_size[o->nmix] = sz;
		o->mix_weight[o->nmix++] = (unsigned)w;
		o->mix_total += (unsigned)w;
	}
	return o->nmix ? 0 : -EINVAL;
}

static void client_defaults(struct client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->sessions = 1;
	o->per_conn = 1;
	o->rcpts = 1;
	o->total = 100;
	o->from = "smtpgen@client.test";
	o->to = "user%d@example.com";
	o->helo = "smtpgen.test";
	o->pipelining = true;
	o->timeout = 60;
	o->idle = 2;
	o->backlog = 100000;
	o->seed = sg_seed();
	client_parse_mix(o, "4k", false);
}

static int client_opt_num(struct client_opts *o, int c, const char *a, bool *total_set)
{
	unsigned long v;

	switch (c) {
	case 's':
		if (sg_parse_ulong(a, 1, CLIENT_SESSIONS_MAX, &v))
			return client_bad("-s", a, "expected 1..200000");
		o->sessions = (unsigned)v;
		return 0;
	case 'm':
		if (sg_parse_ulong(a, 0, 1000000000000ul, &v))
			return client_bad("-m", a, "expected a message count");
		o->total = v;
		*total_set = true;
		return 0;
	case 'd':
		if (sg_parse_ulong(a, 1, 1000000000ul, &v))
			return client_bad("-d", a, "expected messages per connection >= 1");
		o->per_conn = (unsigned)v;
		return 0;
	case 'r':
		if (sg_parse_ulong(a, 1, CLIENT_RCPTS_MAX, &v))
			return client_bad("-r", a, "expected 1..1000 recipients");
		o->rcpts = (unsigned)v;
		return 0;
	case 'l':
		if (client_parse_mix(o, a, false))
			return client_bad("-l", a, "expected a size up to 64m, e.g. 10k");
		return 0;
	case OPT_SIZE_MIX:
		if (client_parse_mix(o, a, true))
			return client_bad("--size-mix", a, "expected SIZE:WEIGHT,... (at most 16, sizes up to 64m)");
		return 0;
	case OPT_RESUME:
		if (sg_parse_ulong(a, 0, 100, &v))
			return client_bad("--resume", a, "expected a percentage 0..100");
		o->resume_pct = (unsigned)v;
		return 0;
	case OPT_CORRUPT:
		if (sg_parse_ulong(a, 1, 1000000000ul, &v))
			return client_bad("--corrupt", a, "expected N >= 1");
		o->corrupt = (unsigned)v;
		return 0;
	case OPT_BACKLOG:
		if (sg_parse_ulong(a, 1, 10000000ul, &v))
			return client_bad("--backlog", a, "expected 1..10000000");
		o->backlog = (unsigned)v;
		return 0;
	case OPT_SEED:
		if (sg_parse_ulong(a, 0, (unsigned long)-1, &v))
			return client_bad("--seed", a, "expected a number");
		o->seed = v;
		return 0;
	}
	return 1;
}

static int client_opt_time(struct client_opts *o, int c, const char *a)
{
	switch (c) {
	case OPT_DURATION:
		if (sg_parse_double(a, 0.001, 1e7, &o->duration))
			return client_bad("--duration", a, "expected seconds > 0");
		return 0;
	case OPT_RATE:
		if (sg_parse_double(a, 0.001, 1e7, &o->rate))
			return client_bad("--rate", a, "expected messages per second > 0");
		return 0;
	case OPT_TIMEOUT:
		if (sg_parse_double(a, 0.01, 86400, &o->timeout))
			return client_bad("--timeout", a, "expected seconds > 0");
		return 0;
	case OPT_THINK:
		if (sg_parse_double(a, 0, 3600000, &o->think))
			return client_bad("--think", a, "expected milliseconds >= 0");
		o->think /= 1000.0;
		return 0;
	case OPT_IDLE:
		if (sg_parse_double(a, 0, 86400, &o->idle))
			return client_bad("--idle", a, "expected seconds >= 0");
		return 0;
	case OPT_ARRIVALS:
		if (strcmp(a, "poisson") && strcmp(a, "fixed"))
			return client_bad("--arrivals", a, "expected poisson or fixed");
		o->fixed_arrivals = strcmp(a, "fixed") == 0;
		return 0;
	}
	return 1;
}

static int client_opt_str(struct client_opts *o, int c, const char *a)
{
	switch (c) {
	case 'S': o->server = a; return 0;
	case OPT_FROM: o->from = a; return 0;
	case OPT_TO: o->to = a; return 0;
	case OPT_HELO: o->helo = a; return 0;
	case OPT_NO_PIPE: o->pipelining = false; return 0;
	case OPT_STARTTLS: o->starttls = true; return 0;
	case OPT_TLSVER: o->tls.version = a; return 0;
	case OPT_CA: o->tls.ca = a; return 0;
	case OPT_SNI: o->servername = a; return 0;
	case OPT_CCERT: o->tls.cert = a; return 0;
	case OPT_CKEY: o->tls.key = a; return 0;
	case OPT_CIPHERS: o->tls.ciphers = a; return 0;
	case OPT_SIGALGS: o->tls.sigalgs = a; return 0;
	case OPT_GROUPS: o->tls.groups = a; return 0;
	case OPT_HS_ONLY: o->handshake_only = true; return 0;
	case OPT_JSON: o->json = true; return 0;
	case OPT_ALLOW_FAIL: o->allow_fail = true; return 0;
	case OPT_RUN: o->run = a; return 0;
	}
	return 1;
}

static bool client_addr_ok(const char *a)
{
	size_t n = strlen(a), i;

	if (n == 0 || n >= SG_MSG_ADDR_MAX - 16)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)a[i] <= ' ' || a[i] == '<' || a[i] == '>' || (unsigned char)a[i] >= 0x7f)
			return false;
	return true;
}

/* Cross-option checks once everything is parsed. */
static int client_check(struct client_opts *o, bool total_set)
{
	char err[256];
	size_t i;

	if (!o->server)
		return client_bad("-S", "", "the server HOST:PORT is required");
	if (sg_parse_hostport(o->server, &o->addr, &o->addrlen, o->host, sizeof(o->host), err, sizeof(err)))
		return client_bad("-S", o->server, err);
	if (o->duration > 0 && !total_set)
		o->total = 0;
	if (o->total == 0 && o->duration <= 0)
		return client_bad("-m", "0", "needs --duration");
	if (!client_addr_ok(o->from) || !client_addr_ok(o->to))
		return client_bad("--from/--to", o->from, "addresses: printable, no spaces or <>, under 240 octets");
	if (!client_addr_ok(o->helo))
		return client_bad("--helo", o->helo, "expected a domain name");
	if (!o->run) {
		static char run[17];

		snprintf(run, sizeof(run), "%08x", (unsigned)(sg_seed() & 0xffffffffu));
		o->run = run;
	}
	for (i = 0; o->run[i]; i++)
		if (!((o->run[i] >= '0' && o->run[i] <= '9') || ((o->run[i] | 0x20) >= 'a' && (o->run[i] | 0x20) <= 'z')))
			return client_bad("--run-id", o->run, "letters and digits only");
	if (i == 0 || i > 16)
		return client_bad("--run-id", o->run, "1 to 16 letters and digits");
	if ((o->tls.cert != NULL) != (o->tls.key != NULL))
		return client_bad("--client-cert", o->tls.cert, "needs --client-key as well (and vice versa)");
	if ((o->resume_pct || o->tls.ca || o->tls.cert || o->tls.version || o->tls.groups) && !o->starttls)
		return client_bad("--resume/--ca/--client-cert/--tls-version/--groups", "", "only make sense with --starttls");
	if (o->handshake_only && o->per_conn != 1)
		return client_bad("--handshake-only", "", "one set-up per connection: -d must be 1");
	if (!o->servername && !sg_is_ip_literal(o->host))
		o->servername = o->host;
	return 0;
}

int client_parse(struct client_opts *o, int argc, char **argv)
{
	bool total_set = false;
	int c, r;

	client_defaults(o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "S:s:m:d:r:l:h", client_longopts, NULL)) != -1) {
		if (c == 'h') {
			client_usage(stdout);
			exit(0);
		}
		if (c == '?') {
			client_usage(stderr);
			return -EINVAL;
		}
		r = client_opt_num(o, c, optarg, &total_set);
		if (r > 0)
			r = client_opt_time(o, c, optarg);
		if (r > 0)
			r = client_opt_str(o, c, optarg);
		if (r)
			return r < 0 ? r : -EINVAL;
	}
	if (optind < argc)
		return client_bad("argument", argv[optind], "unexpected");
	return client_check(o, total_set);
}
