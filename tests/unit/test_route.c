/*
 * test_route.c — unit tests of app/policy/route.h: exact before wildcard,
 * the closest wildcard, "*.example.com" not matching example.com, the
 * default route, case and trailing dots, accepted domains, relay networks
 * (every prefix length, duplicates, unmasked input), 100,000 domains and
 * networks all found with a probe count per lookup that does not grow with
 * the table, and every relay decision on paths from the real SMTP parser
 * (% and ! hacks, quoted @, source routes, address literals, <Postmaster>),
 * from outside and from inside relay_networks. Configurations are filled by
 * hand (config_defaults() and fields), not loaded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/policy/route.h"
#include "app/smtp/smtp_parse.h"
#include "platform/config.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define IP4(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* ------------------------------------------------------------- helpers */

/* A route for a NULL-terminated domain list, one next hop 192.0.2.<line>. */
static void
set_route(struct cfg_route *r, char **domains, unsigned line)
{
	memset(r, 0, sizeof(*r));
	r->domains = domains;
	while (domains[r->n_domains] != NULL)
		r->n_domains++;
	r->n_hops = 1;
	r->hops[0] = (struct cfg_next_hop){ .addr = IP4(192, 0, 2, line), .port = 25 };
	r->line = (int)line;
}

static struct route_table *
build(const struct gw_config *cfg)
{
	char err[256] = "";
	struct route_table *rt = route_table_build(cfg, err, sizeof(err));

	if (rt == NULL)
		fail_msg("route_table_build: %s", err);
	return rt;
}

static const struct cfg_route *
look(const struct route_table *rt, const char *d)
{
	return route_lookup(rt, d, strlen(d));
}

static bool
accepted(const struct route_table *rt, const char *d)
{
	return route_domain_accepted(rt, d, strlen(d));
}

/* ------------------------------------------------------------- routing */

static char *r0_doms[] = { "example.com", NULL };
static char *r1_doms[] = { "*.example.com", NULL };
static char *r2_doms[] = { "*.b.example.com", "other.net", NULL };
static char *r3_doms[] = { "*.com", NULL };
static char *r4_doms[] = { "*", NULL };
static char *r5_doms[] = { "a.b.example.com", NULL };

static void
routing_config(struct gw_config *cfg, struct cfg_route *routes, bool with_default)
{
	config_defaults(cfg);
	set_route(&routes[0], r0_doms, 1);
	set_route(&routes[1], r1_doms, 2);
	set_route(&routes[2], r2_doms, 3);
	set_route(&routes[3], r3_doms, 4);
	set_route(&routes[4], r5_doms, 5);
	set_route(&routes[5], r4_doms, 6);
	cfg->routes = routes;
	cfg->n_routes = with_default ? 6 : 5;
}

static void
test_exact_wildcard_default(void **state)
{
	struct cfg_route routes[6];
	struct gw_config cfg;
	struct route_table *rt;
	const struct cfg_route *dflt = &routes[5];

	(void)state;
	routing_config(&cfg, routes, true);
	rt = build(&cfg);
	assert_ptr_equal(look(rt, "example.com"), &routes[0]);
	assert_ptr_equal(look(rt, "x.example.com"), &routes[1]);
	assert_ptr_equal(look(rt, "x.y.z.example.com"), &routes[1]);
	assert_ptr_equal(look(rt, "b.example.com"), &routes[1]);    /* *.b.example.com: not b itself */
	assert_ptr_equal(look(rt, "c.b.example.com"), &routes[2]);  /* closest wildcard */
	assert_ptr_equal(look(rt, "x.c.b.example.com"), &routes[2]);
	assert_ptr_equal(look(rt, "a.b.example.com"), &routes[4]);  /* exact beats wildcards */
	assert_ptr_equal(look(rt, "x.a.b.example.com"), &routes[2]);
	assert_ptr_equal(look(rt, "other.net"), &routes[2]);
	assert_ptr_equal(look(rt, "x.other.net"), dflt);
	assert_ptr_equal(look(rt, "foo.com"), &routes[3]);
	assert_ptr_equal(look(rt, "com"), dflt);                    /* *.com does not match com */
	assert_ptr_equal(look(rt, "example.org"), dflt);
	assert_ptr_equal(look(rt, "ample.com"), &routes[3]);        /* suffixes end at dots */
	assert_ptr_equal(look(rt, "xexample.com"), &routes[3]);
	route_table_free(rt);
}

static void
test_case_dot_and_length(void **state)
{
	struct cfg_route routes[6];
	struct gw_config cfg;
	struct route_table *rt;
	char big[600], dots[ROUTE_DOMAIN_MAX + 1];

	(void)state;
	routing_config(&cfg, routes, true);
	rt = build(&cfg);
	assert_ptr_equal(look(rt, "EXAMPLE.COM"), &routes[0]);
	assert_ptr_equal(look(rt, "Example.Com."), &routes[0]);
	assert_ptr_equal(look(rt, "X.C.B.EXAMPLE.COM."), &routes[2]);
	assert_ptr_equal(look(rt, "com."), &routes[5]);
	assert_ptr_equal(route_lookup(rt, "example.comXYZ", 11), &routes[0]);  /* not NUL-terminated */
	assert_ptr_equal(route_lookup(rt, "x.example.com.tail", 13), &routes[1]);
	assert_null(look(rt, ""));
	assert_null(look(rt, "."));
	assert_null(route_lookup(rt, NULL, 0));
	assert_ptr_equal(look(rt, "example.com.."), &routes[5]);   /* one dot tolerated, not two */
	/* longer than a domain can be: only the default route */
	memset(big, 'a', sizeof(big));
	memcpy(big + sizeof(big) - 12, ".example.com", 12);
	assert_ptr_equal(route_lookup(rt, big, sizeof(big)), &routes[5]);
	/* all dots: every suffix probed, nothing overflows */
	memset(dots, '.', sizeof(dots));
	assert_ptr_equal(route_lookup(rt, dots, ROUTE_DOMAIN_MAX), &routes[5]);
	route_table_free(rt);
}

/* n octets of labels "aaa...": 63-octet labels joined by dots (a valid name when n <= 255). */
static char *
long_name(const char *prefix, size_t n, const char *suffix)
{
	size_t p = strlen(prefix), i;
	char *s = malloc(p + n + strlen(suffix) + 1);

	assert_non_null(s);
	memcpy(s, prefix, p);
	for (i = 0; i < n; i++)
		s[p + i] = (i % 64 == 63) ? '.' : (char)('a' + i / 64);
	strcpy(s + p + n, suffix);
	return s;
}

/* Configured names at and over ROUTE_DOMAIN_MAX: stored up to it, ignored past it. */
static void
test_long_config_domains(void **state)
{
	char *doms[6], *dflt[2] = { "*", NULL }, *q;
	struct cfg_route routes[2];
	struct gw_config cfg;
	struct route_table *rt;
	struct route_stats st;
	unsigned i;

	(void)state;
	doms[0] = long_name("", 255, "");               /* exact, the longest */
	doms[1] = long_name("*.", 253, "");             /* x.<253> is 255 octets */
	doms[2] = long_name("", 257, "");               /* too long: ignored */
	doms[3] = long_name("*.", 257, ".");            /* too long: ignored */
	doms[4] = long_name("", 300, ".");              /* too long: ignored */
	doms[5] = NULL;
	config_defaults(&cfg);
	set_route(&routes[0], doms, 1);
	set_route(&routes[1], dflt, 2);
	cfg.routes = routes;
	cfg.n_routes = 2;
	rt = build(&cfg);
	assert_ptr_equal(look(rt, doms[0]), &routes[0]);
	q = long_name("x.", 253, "");
	assert_ptr_equal(look(rt, q), &routes[0]);
	free(q);
	assert_ptr_equal(look(rt, doms[2]), &routes[1]);
	route_table_stats(rt, &st);
	assert_int_equal(st.names, 2);
	assert_int_equal(st.ignored, 3);
	route_table_free(rt);
	for (i = 0; i < 5; i++)
		free(doms[i]);
}

static void
test_no_default(void **state)
{
	struct cfg_route routes[6];
	struct gw_config cfg;
	struct route_table *rt;
	struct route_stats st;

	(void)state;
	routing_config(&cfg, routes, false);
	rt = build(&cfg);
	assert_null(look(rt, "example.org"));
	assert_null(look(rt, "com"));
	assert_null(look(rt, "x.other.net"));
	assert_ptr_equal(look(rt, "foo.com"), &routes[3]);
	route_table_stats(rt, &st);
	assert_false(st.has_default);
	assert_int_equal(st.routes, 5);
	/* "example.com", "b.example.com", "other.net", "com", "a.b.example.com": stored once each */
	assert_int_equal(st.names, 5);
	route_table_free(rt);
}

static char *dup_a[] = { "dup.example", "*.wild.example", "*", "UPPER.Example.", NULL };
static char *dup_b[] = { "dup.example", "*.wild.example", "*", "only-b.example", NULL };

static void
test_first_route_wins(void **state)
{
	struct cfg_route routes[2];
	struct gw_config cfg;
	struct route_table *rt;

	(void)state;
	config_defaults(&cfg);
	set_route(&routes[0], dup_a, 1);
	set_route(&routes[1], dup_b, 2);
	cfg.routes = routes;
	cfg.n_routes = 2;
	rt = build(&cfg);
	assert_ptr_equal(look(rt, "dup.example"), &routes[0]);
	assert_ptr_equal(look(rt, "x.wild.example"), &routes[0]);
	assert_ptr_equal(look(rt, "nowhere.example"), &routes[0]);
	assert_ptr_equal(look(rt, "only-b.example"), &routes[1]);
	assert_ptr_equal(look(rt, "upper.example"), &routes[0]);    /* config case and dot tolerated */
	route_table_free(rt);
}

static char *acc_doms[] = { "example.com", "*.example.net", "*", "Mixed.Example.", NULL };

static void
test_accepted_domains(void **state)
{
	struct gw_config cfg;
	struct route_table *rt;
	struct route_stats st;

	(void)state;
	config_defaults(&cfg);
	cfg.smtp.accepted_domains = acc_doms;
	cfg.smtp.n_accepted_domains = 4;
	rt = build(&cfg);
	assert_true(accepted(rt, "example.com"));
	assert_true(accepted(rt, "EXAMPLE.com."));
	assert_false(accepted(rt, "sub.example.com"));
	assert_false(accepted(rt, "example.net"));
	assert_true(accepted(rt, "a.example.net"));
	assert_true(accepted(rt, "A.B.EXAMPLE.NET."));
	assert_true(accepted(rt, "mixed.example"));
	assert_false(accepted(rt, "evil.com"));                     /* "*" is not accept-all */
	assert_false(accepted(rt, ""));
	assert_false(accepted(rt, "."));
	assert_null(look(rt, "example.com"));                       /* accepted has no route by itself */
	route_table_stats(rt, &st);
	assert_int_equal(st.ignored, 1);
	route_table_free(rt);
}

static void
test_empty_and_errors(void **state)
{
	struct gw_config cfg;
	struct route_table *rt;
	char err[128] = "";

	(void)state;
	config_defaults(&cfg);
	rt = build(&cfg);
	assert_null(look(rt, "example.com"));
	assert_false(accepted(rt, "example.com"));
	assert_false(route_relay_network(rt, IP4(10, 0, 0, 1)));
	route_table_free(rt);
	route_table_free(NULL);
	errno = 0;
	assert_null(route_table_build(NULL, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_true(err[0] != '\0');
	assert_null(route_lookup(NULL, "example.com", 11));
	assert_false(route_domain_accepted(NULL, "example.com", 11));
	assert_false(route_relay_network(NULL, 1));
}

/* ----------------------------------------------------------- big tables */

/*
 * A configuration of n domains: half exact "hN.example.org" in route 0,
 * half wildcards "*.wN.example.net" in route 1, a default route 2, and the
 * same names accepted.
 */
struct big {
	struct gw_config cfg;
	struct cfg_route routes[3];
	char **exact, **wild, **acc;
	char *dflt[2];
	unsigned n;
};

static void
big_make(struct big *b, unsigned n)
{
	unsigned i, h = n / 2;
	char buf[64];

	memset(b, 0, sizeof(*b));
	b->n = n;
	b->exact = calloc(h + 1, sizeof(char *));
	b->wild = calloc(h + 1, sizeof(char *));
	b->acc = calloc(n, sizeof(char *));
	assert_non_null(b->exact);
	assert_non_null(b->wild);
	assert_non_null(b->acc);
	for (i = 0; i < h; i++) {
		snprintf(buf, sizeof(buf), "h%u.example.org", i);
		b->exact[i] = strdup(buf);
		snprintf(buf, sizeof(buf), "*.w%u.example.net", i);
		b->wild[i] = strdup(buf);
		b->acc[2 * i] = b->exact[i];
		b->acc[2 * i + 1] = b->wild[i];
	}
	b->dflt[0] = "*";
	config_defaults(&b->cfg);
	set_route(&b->routes[0], b->exact, 1);
	set_route(&b->routes[1], b->wild, 2);
	set_route(&b->routes[2], b->dflt, 3);
	b->cfg.routes = b->routes;
	b->cfg.n_routes = 3;
	b->cfg.smtp.accepted_domains = b->acc;
	b->cfg.smtp.n_accepted_domains = 2 * h;
}

static void
big_free(struct big *b)
{
	unsigned i;

	for (i = 0; i < b->n / 2; i++) {
		free(b->exact[i]);
		free(b->wild[i]);
	}
	free(b->exact);
	free(b->wild);
	free(b->acc);
}

/* Probes of one route_lookup_ex of d; checks it returns want. */
static unsigned
probe(const struct route_table *rt, const char *d, const struct cfg_route *want)
{
	unsigned p = 0;

	assert_ptr_equal(route_lookup_ex(rt, d, strlen(d), &p), want);
	return p;
}

/*
 * Probes per hash-table find (one find per label tried) of lookups in a
 * table of n domains, by kind, and the most one lookup took. Queried names
 * spread over the whole table; the misses vary every label, so that no
 * shared suffix (".com") decides the average.
 */
struct probe_figures {
	double exact, wild, miss, accepted;
	unsigned worst;
};

static void
big_measure(unsigned n, unsigned lookups, struct probe_figures *f)
{
	struct big b;
	struct route_table *rt;
	unsigned i, j, p, pe = 0, pw = 0, pm = 0, pa = 0, h = n / 2;
	char buf[64];

	big_make(&b, n);
	rt = build(&b.cfg);
	memset(f, 0, sizeof(*f));
	for (i = 0; i < lookups; i++) {
		j = (unsigned)(((uint64_t)i * 7919u) % h);
		snprintf(buf, sizeof(buf), "h%u.example.org", j);           /* 1 find */
		pe += p = probe(rt, buf, &b.routes[0]);
		f->worst = p > f->worst ? p : f->worst;
		snprintf(buf, sizeof(buf), "x.W%u.example.net", j);         /* 2 finds */
		pw += p = probe(rt, buf, &b.routes[1]);
		f->worst = p > f->worst ? p : f->worst;
		snprintf(buf, sizeof(buf), "m%u.z%u.t%u", i, i, i);         /* 3 finds */
		pm += p = probe(rt, buf, &b.routes[2]);
		f->worst = p > f->worst ? p : f->worst;
		p = 0;
		snprintf(buf, sizeof(buf), "a.b.w%u.example.net.", j);      /* 3 finds */
		assert_true(route_domain_accepted_ex(rt, buf, strlen(buf), &p));
		pa += p;
	}
	f->exact = (double)pe / lookups;
	f->wild = (double)pw / (2.0 * lookups);
	f->miss = (double)pm / (3.0 * lookups);
	f->accepted = (double)pa / (3.0 * lookups);
	route_table_free(rt);
	big_free(&b);
}

static void
test_100k_domains(void **state)
{
	struct probe_figures s, l;
	struct big b;
	struct route_table *rt;
	struct route_stats st;
	unsigned i;
	char buf[64];

	(void)state;
	/* every one of 100,000 names found, and nothing similar */
	big_make(&b, 100000);
	rt = build(&b.cfg);
	for (i = 0; i < 50000; i++) {
		snprintf(buf, sizeof(buf), "h%u.example.org", i);
		assert_ptr_equal(look(rt, buf), &b.routes[0]);
		assert_true(accepted(rt, buf));
		snprintf(buf, sizeof(buf), "x.h%u.example.org", i);
		assert_ptr_equal(look(rt, buf), &b.routes[2]);
		assert_false(accepted(rt, buf));
		snprintf(buf, sizeof(buf), "w%u.example.net", i);
		assert_ptr_equal(look(rt, buf), &b.routes[2]);      /* wildcard only */
		assert_false(accepted(rt, buf));
		snprintf(buf, sizeof(buf), "mx.w%u.example.net", i);
		assert_ptr_equal(look(rt, buf), &b.routes[1]);
	}
	route_table_stats(rt, &st);
	assert_int_equal(st.names, 100000);                         /* shared with accepted: once */
	assert_true(st.name_slots >= 200000 && st.name_slots <= 400000);   /* load 0.25..0.5 */
	assert_true(st.name_max_probe <= 64);
	route_table_free(rt);
	big_free(&b);

	/* the same kinds of lookups against 10 and 100,000 domains: the same probe counts */
	big_measure(10, 20000, &s);
	big_measure(100000, 20000, &l);
	print_message("probes per find      10 domains   100k domains\n"
		      "  exact (1 find)     %8.2f   %8.2f\n  wildcard (2)       %8.2f   %8.2f\n"
		      "  miss (3)           %8.2f   %8.2f\n  accepted wild (3)  %8.2f   %8.2f\n"
		      "  worst lookup       %8u   %8u\n",
		      s.exact, l.exact, s.wild, l.wild, s.miss, l.miss, s.accepted, l.accepted,
		      s.worst, l.worst);
	/* linear probing at load <= 0.5: about 1.5 slots a hit, 2.5 a miss */
	assert_true(s.exact <= 2.0 && l.exact <= 2.0);
	assert_true(s.wild <= 2.5 && l.wild <= 2.5);
	assert_true(s.miss <= 2.5 && l.miss <= 2.5);
	assert_true(s.accepted <= 2.5 && l.accepted <= 2.5);
	assert_true(l.exact <= s.exact + 0.5);
	assert_true(l.wild <= s.wild + 0.5);
	assert_true(l.miss <= s.miss + 0.5);
	assert_true(l.accepted <= s.accepted + 0.5);
	assert_true(l.worst <= 64);
}

/* ------------------------------------------------------------ networks */

static void
test_relay_networks(void **state)
{
	struct cfg_cidr nets[] = {
		{ IP4(10, 0, 0, 0), 8, 1 },
		{ IP4(192, 168, 1, 77), 24, 2 },    /* host bits set: masked */
		{ IP4(203, 0, 113, 7), 32, 3 },
		{ IP4(172, 16, 0, 0), 12, 4 },
		{ IP4(10, 0, 0, 0), 8, 5 },         /* duplicate */
		{ IP4(10, 1, 0, 0), 16, 6 },        /* inside the /8 */
	};
	struct gw_config cfg;
	struct route_table *rt;
	struct route_stats st;

	(void)state;
	config_defaults(&cfg);
	cfg.smtp.relay_networks = nets;
	cfg.smtp.n_relay_networks = N(nets);
	rt = build(&cfg);
	assert_true(route_relay_network(rt, IP4(10, 0, 0, 0)));
	assert_true(route_relay_network(rt, IP4(10, 255, 255, 255)));
	assert_true(route_relay_network(rt, IP4(10, 1, 2, 3)));
	assert_false(route_relay_network(rt, IP4(11, 0, 0, 0)));
	assert_false(route_relay_network(rt, IP4(9, 255, 255, 255)));
	assert_true(route_relay_network(rt, IP4(192, 168, 1, 0)));
	assert_true(route_relay_network(rt, IP4(192, 168, 1, 255)));
	assert_false(route_relay_network(rt, IP4(192, 168, 2, 0)));
	assert_false(route_relay_network(rt, IP4(192, 168, 0, 255)));
	assert_true(route_relay_network(rt, IP4(203, 0, 113, 7)));
	assert_false(route_relay_network(rt, IP4(203, 0, 113, 6)));
	assert_false(route_relay_network(rt, IP4(203, 0, 113, 8)));
	assert_true(route_relay_network(rt, IP4(172, 16, 0, 0)));
	assert_true(route_relay_network(rt, IP4(172, 31, 255, 255)));
	assert_false(route_relay_network(rt, IP4(172, 32, 0, 0)));
	assert_false(route_relay_network(rt, IP4(172, 15, 255, 255)));
	assert_false(route_relay_network(rt, 0));
	assert_false(route_relay_network(rt, 0xffffffffu));
	route_table_stats(rt, &st);
	assert_int_equal(st.networks, 5);
	assert_int_equal(st.prefix_lengths, 5);
	route_table_free(rt);

	/* /0 is everything */
	nets[0] = (struct cfg_cidr){ 0, 0, 1 };
	cfg.smtp.n_relay_networks = 1;
	rt = build(&cfg);
	assert_true(route_relay_network(rt, IP4(198, 51, 100, 1)));
	assert_true(route_relay_network(rt, 0xffffffffu));
	route_table_free(rt);
}

/* Average probes per relay_network lookup of n /32s and n/10 /24s. */
static double
nets_measure(unsigned n)
{
	struct cfg_cidr *nets = calloc(n + n / 10 + 1, sizeof(*nets));
	struct gw_config cfg;
	struct route_table *rt;
	unsigned i, p = 0, k = 0;

	assert_non_null(nets);
	for (i = 0; i < n; i++)
		nets[k++] = (struct cfg_cidr){ IP4(100, 64, 0, 0) + i * 7, 32, 1 };
	for (i = 0; i < n / 10 + 1; i++)
		nets[k++] = (struct cfg_cidr){ IP4(20, 0, 0, 0) + (i << 8), 24, 2 };
	config_defaults(&cfg);
	cfg.smtp.relay_networks = nets;
	cfg.smtp.n_relay_networks = k;
	rt = build(&cfg);
	for (i = 0; i < n; i++) {
		assert_true(route_relay_network_ex(rt, IP4(100, 64, 0, 0) + i * 7, &p));
		assert_true(route_relay_network_ex(rt, IP4(20, 0, 0, 9) + ((i % (n / 10 + 1)) << 8), &p));
		assert_false(route_relay_network_ex(rt, IP4(100, 64, 0, 1) + i * 7, &p));
	}
	route_table_free(rt);
	free(nets);
	return (double)p / (3.0 * n);
}

static void
test_networks_probes(void **state)
{
	double s, l;

	(void)state;
	s = nets_measure(10);
	l = nets_measure(100000);
	print_message("relay_networks probes per lookup: 10 networks %.2f, 100k networks %.2f\n",
		      s, l);
	/* two prefix lengths: two probe sequences at most */
	assert_true(s <= 2 * 2.0 && l <= 2 * 2.0);
	assert_true(l <= s + 1.0);
}

/* --------------------------------------------------------------- relay */

struct relay_case {
	const char *line;
	enum route_relay_verdict outside;       /* from a client outside relay_networks */
};

static const struct relay_case relay_cases[] = {
	{ "RCPT TO:<user@example.com>", ROUTE_RELAY_OK_DOMAIN },
	{ "RCPT TO:<User@EXAMPLE.COM>", ROUTE_RELAY_OK_DOMAIN },
	{ "RCPT TO:<user@sub.example.org>", ROUTE_RELAY_OK_DOMAIN },
	{ "RCPT TO:<user@a.b.example.org>", ROUTE_RELAY_OK_DOMAIN },
	{ "RCPT TO:<\"john smith\"@example.com>", ROUTE_RELAY_OK_DOMAIN },
	{ "RCPT TO:<user@example.org>", ROUTE_RELAY_DENIED },       /* *.example.org only */
	{ "RCPT TO:<user@evil.com>", ROUTE_RELAY_DENIED },
	{ "RCPT TO:<user@example.com.evil.com>", ROUTE_RELAY_DENIED },
	{ "RCPT TO:<user@xexample.com>", ROUTE_RELAY_DENIED },
	{ "RCPT TO:<postmaster@evil.com>", ROUTE_RELAY_DENIED },
	{ "RCPT TO:<user%evil.com@example.com>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<user%evil.com@sub.example.org>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<evil.com!user@example.com>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<\"user@evil.com\"@example.com>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<\"user%evil.com\"@example.com>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<\"evil.com!user\"@example.com>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<\"user\\@evil.com\"@example.com>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<@example.com:user@evil.com>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<@example.com:user@example.com>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<@a.example.com,@b.example.com:user@example.com>",
	  ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<user@[192.0.2.1]>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<user@[IPv6:2001:db8::1]>", ROUTE_RELAY_DENIED_ROUTING_HACK },
	{ "RCPT TO:<Postmaster>", ROUTE_RELAY_OK_DOMAIN },
	{ "RCPT TO:<postmaster>", ROUTE_RELAY_OK_DOMAIN },
	{ "RCPT TO:<POSTMASTER>", ROUTE_RELAY_OK_DOMAIN },
};

static char *relay_acc[] = { "example.com", "*.example.org", NULL };

static void
relay_config(struct gw_config *cfg, struct cfg_cidr *nets)
{
	config_defaults(cfg);
	cfg->smtp.accepted_domains = relay_acc;
	cfg->smtp.n_accepted_domains = 2;
	nets[0] = (struct cfg_cidr){ IP4(10, 0, 0, 0), 8, 1 };
	nets[1] = (struct cfg_cidr){ IP4(198, 51, 100, 25), 32, 2 };
	cfg->smtp.relay_networks = nets;
	cfg->smtp.n_relay_networks = 2;
}

static void
test_relay_check(void **state)
{
	const uint32_t outside[] = { IP4(203, 0, 113, 9), IP4(198, 51, 100, 24), IP4(11, 0, 0, 1) };
	const uint32_t inside[] = { IP4(10, 1, 2, 3), IP4(198, 51, 100, 25) };
	struct cfg_cidr nets[2];
	struct gw_config cfg;
	struct route_table *rt;
	struct smtp_cmd cmd;
	size_t i, k;

	(void)state;
	relay_config(&cfg, nets);
	rt = build(&cfg);
	for (i = 0; i < N(relay_cases); i++) {
		const struct relay_case *c = &relay_cases[i];
		enum smtp_err e = smtp_parse_command(c->line, strlen(c->line), &cmd);

		if (e != SMTP_OK)
			fail_msg("%s: parse error %d", c->line, (int)e);
		assert_int_equal(cmd.verb, SMTP_VERB_RCPT);
		for (k = 0; k < N(outside); k++) {
			enum route_relay_verdict v = route_relay_check(rt, outside[k], &cmd.path);

			if (v != c->outside)
				fail_msg("%s from outside: %s, want %s", c->line,
					 route_relay_verdict_name(v), route_relay_verdict_name(c->outside));
			assert_int_equal(route_relay_allowed(v), c->outside <= ROUTE_RELAY_OK_NETWORK);
		}
		for (k = 0; k < N(inside); k++)
			assert_int_equal(route_relay_check(rt, inside[k], &cmd.path),
					 ROUTE_RELAY_OK_NETWORK);
	}
	route_table_free(rt);
}

static void
test_relay_check_edges(void **state)
{
	struct cfg_cidr nets[2];
	struct gw_config cfg;
	struct route_table *rt;
	struct smtp_cmd cmd;
	struct smtp_path p;
	const char *mail = "MAIL FROM:<>";

	(void)state;
	/* nothing configured: only <Postmaster> */
	config_defaults(&cfg);
	rt = build(&cfg);
	assert_int_equal(smtp_parse_command("RCPT TO:<user@example.com>", 26, &cmd), SMTP_OK);
	assert_int_equal(route_relay_check(rt, IP4(10, 0, 0, 1), &cmd.path), ROUTE_RELAY_DENIED);
	assert_int_equal(smtp_parse_command("RCPT TO:<Postmaster>", 20, &cmd), SMTP_OK);
	assert_int_equal(route_relay_check(rt, IP4(10, 0, 0, 1), &cmd.path), ROUTE_RELAY_OK_DOMAIN);
	route_table_free(rt);

	relay_config(&cfg, nets);
	rt = build(&cfg);
	/* a null path is no recipient; neither is none */
	assert_int_equal(smtp_parse_command(mail, strlen(mail), &cmd), SMTP_OK);
	assert_true(cmd.path.null);
	assert_int_equal(route_relay_check(rt, IP4(203, 0, 113, 9), &cmd.path),
			 ROUTE_RELAY_DENIED_BAD_PATH);
	assert_int_equal(route_relay_check(rt, IP4(203, 0, 113, 9), NULL),
			 ROUTE_RELAY_DENIED_BAD_PATH);
	/* a trailing dot on the domain (the parser refuses one; the policy tolerates it) */
	memset(&p, 0, sizeof(p));
	p.addr = "user@example.com.";
	p.addr_len = 17;
	p.local = p.addr;
	p.local_len = 4;
	p.domain = p.addr + 5;
	p.domain_len = 12;
	assert_int_equal(route_relay_check(rt, IP4(203, 0, 113, 9), &p), ROUTE_RELAY_OK_DOMAIN);
	p.domain = "evil.com.";
	p.domain_len = 9;
	assert_int_equal(route_relay_check(rt, IP4(203, 0, 113, 9), &p), ROUTE_RELAY_DENIED);
	route_table_free(rt);
}

static void
test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(route_relay_verdict_name(ROUTE_RELAY_OK_DOMAIN), "ok_domain");
	assert_string_equal(route_relay_verdict_name(ROUTE_RELAY_OK_NETWORK), "ok_network");
	assert_string_equal(route_relay_verdict_name(ROUTE_RELAY_DENIED), "denied");
	assert_string_equal(route_relay_verdict_name(ROUTE_RELAY_DENIED_ROUTING_HACK),
			    "denied_routing_hack");
	assert_string_equal(route_relay_verdict_name(ROUTE_RELAY_DENIED_BAD_PATH),
			    "denied_bad_path");
	assert_string_equal(route_relay_verdict_name(ROUTE_RELAY_VERDICT_COUNT), "?");
	assert_true(route_relay_allowed(ROUTE_RELAY_OK_DOMAIN));
	assert_true(route_relay_allowed(ROUTE_RELAY_OK_NETWORK));
	assert_false(route_relay_allowed(ROUTE_RELAY_DENIED));
	assert_false(route_relay_allowed(ROUTE_RELAY_DENIED_ROUTING_HACK));
	assert_false(route_relay_allowed(ROUTE_RELAY_DENIED_BAD_PATH));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_wildcard_default),
		cmocka_unit_test(test_case_dot_and_length),
		cmocka_unit_test(test_long_config_domains),
		cmocka_unit_test(test_no_default),
		cmocka_unit_test(test_first_route_wins),
		cmocka_unit_test(test_accepted_domains),
		cmocka_unit_test(test_empty_and_errors),
		cmocka_unit_test(test_100k_domains),
		cmocka_unit_test(test_relay_networks),
		cmocka_unit_test(test_networks_probes),
		cmocka_unit_test(test_relay_check),
		cmocka_unit_test(test_relay_check_edges),
		cmocka_unit_test(test_verdict_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
