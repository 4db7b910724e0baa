/*
 * route.c — benchmark of app/policy/route.c: the cost of one lookup with 10
 * and with 100,000 configured domains (and relay networks). Built by
 * tools/bench/route.mk into build/bench-route from this file and
 * app/policy/route.c alone (no DPDK, no libmailgw.a).
 *
 * Usage: bench-route [--quick] [--json]
 * For each kind of lookup (exact hit, wildcard hit, miss -> default route,
 * accepted-domain wildcard, relay network) it prints the hash-table probes
 * per lookup and ns per lookup against: the 10-domain table; the
 * 100,000-domain table with the very same queries (names of the small
 * table, which the large one holds too); and the 100,000-domain table
 * queried across all its names (its cache misses included). The ratios
 * 100k/10 follow. Every query set is 65,536 separately allocated strings (or
 * addresses) in random order, so the query side costs the same everywhere.
 * Timings: median of 5 runs of N lookups (CLOCK_MONOTONIC), results fed
 * into a volatile sink.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/policy/route.h"

#define BENCH_SMALL     10u
#define BENCH_LARGE     100000u
#define BENCH_Q         65536u          /* queries per set (a power of two) */
#define BENCH_RUNS      5

enum bench_kind { B_EXACT, B_WILD, B_MISS, B_ACCEPT, B_NET, B_KINDS };

static const char *const bench_kind_name[B_KINDS] = {
	"exact hit", "wildcard hit", "miss -> default", "accepted (wildcard)", "relay network",
};

/* One configuration of n domains (half exact, half wildcard) and n networks. */
struct bench_cfg {
	struct gw_config cfg;
	struct cfg_route routes[3];
	char **exact, **wild, **acc;
	char *dflt[2];
	struct cfg_cidr *nets;
	unsigned n;
};

/* The queries of one kind: names (or addresses), a power-of-two count. */
struct bench_q {
	const char **s;
	size_t *len;
	uint32_t *addr;
	unsigned n;
};

static volatile uintptr_t bench_sink;

static void *
bench_alloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL) {
		fprintf(stderr, "bench-route: out of memory\n");
		exit(1);
	}
	return p;
}

static char *
bench_fmt(const char *fmt, unsigned i)
{
	char buf[64];
	char *s;

	snprintf(buf, sizeof(buf), fmt, i);
	s = strdup(buf);
	if (s == NULL) {
		fprintf(stderr, "bench-route: out of memory\n");
		exit(1);
	}
	return s;
}

static void
bench_route(struct cfg_route *r, char **domains, unsigned n)
{
	memset(r, 0, sizeof(*r));
	r->domains = domains;
	r->n_domains = n;
	r->n_hops = 1;
	r->hops[0].addr = 0xc0000201u;
	r->hops[0].port = 25;
}

/* Network i: /32s in 100.64/10 for nine in ten, /24s in 20/8 for the rest. */
static uint32_t
bench_net_addr(unsigned i, uint8_t *len)
{
	if (i % 10 != 9) {
		*len = 32;
		return 0x64400000u + i * 7;
	}
	*len = 24;
	return 0x14000000u + (i << 8);
}

static void
bench_cfg_make(struct bench_cfg *b, unsigned n)
{
	unsigned i, h = n / 2;

	memset(b, 0, sizeof(*b));
	b->n = n;
	b->exact = bench_alloc(h, sizeof(char *));
	b->wild = bench_alloc(h, sizeof(char *));
	b->acc = bench_alloc(n, sizeof(char *));
	b->nets = bench_alloc(n, sizeof(*b->nets));
	for (i = 0; i < h; i++) {
		b->exact[i] = bench_fmt("h%u.example.org", i);
		b->wild[i] = bench_fmt("*.w%u.example.net", i);
		b->acc[2 * i] = b->exact[i];
		b->acc[2 * i + 1] = b->wild[i];
	}
	for (i = 0; i < n; i++)
		b->nets[i].addr = bench_net_addr(i, &b->nets[i].prefix_len);
	b->dflt[0] = "*";
	bench_route(&b->routes[0], b->exact, h);
	bench_route(&b->routes[1], b->wild, h);
	bench_route(&b->routes[2], b->dflt, 1);
	b->cfg.routes = b->routes;
	b->cfg.n_routes = 3;
	b->cfg.smtp.accepted_domains = b->acc;
	b->cfg.smtp.n_accepted_domains = 2 * h;
	b->cfg.smtp.relay_networks = b->nets;
	b->cfg.smtp.n_relay_networks = n;
}

static void
bench_cfg_free(struct bench_cfg *b)
{
	unsigned i;

	for (i = 0; i < b->n / 2; i++) {
		free(b->exact[i]);
		free(b->wild[i]);
	}
	free(b->exact);
	free(b->wild);
	free(b->acc);
	free(b->nets);
}

/* xorshift64: reproducible query choice. */
static unsigned
bench_rand(uint64_t *x, unsigned n)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (unsigned)(*x % n);
}

/* nq queries of one kind, each for a random one of the first `names` names of a configuration. */
static void
bench_q_make(struct bench_q *q, enum bench_kind k, unsigned names, unsigned nq)
{
	static const char *const fmt[B_KINDS] = {
		"h%u.example.org", "mx.w%u.example.net", "host%u.example.com", "a.b.w%u.example.net",
	};
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned i, j;
	uint8_t len;

	q->n = nq;
	q->s = bench_alloc(nq, sizeof(*q->s));
	q->len = bench_alloc(nq, sizeof(*q->len));
	q->addr = bench_alloc(nq, sizeof(*q->addr));
	for (i = 0; i < nq; i++) {
		j = bench_rand(&x, names);
		if (k == B_NET) {
			/* half hits, half misses (top bit flipped: outside every network) */
			q->addr[i] = bench_net_addr(j, &len) ^ (i % 2 ? 0 : 0x80000000u);
			continue;
		}
		q->s[i] = bench_fmt(fmt[k], j / 2);     /* h names: name j/2 of each half */
		q->len[i] = strlen(q->s[i]);
	}
}

static void
bench_q_free(struct bench_q *q)
{
	unsigned i;

	for (i = 0; i < q->n; i++)
		free((char *)q->s[i]);
	free(q->s);
	free(q->len);
	free(q->addr);
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* iters lookups of kind k cycling through q; returns ns per lookup. */
static double
bench_loop(const struct route_table *rt, enum bench_kind k, const struct bench_q *q,
	   unsigned iters)
{
	unsigned i, m = q->n - 1;
	uintptr_t acc = 0;
	double t0 = bench_now();

	switch (k) {
	case B_EXACT:
	case B_WILD:
	case B_MISS:
		for (i = 0; i < iters; i++)
			acc += (uintptr_t)route_lookup(rt, q->s[i & m], q->len[i & m]);
		break;
	case B_ACCEPT:
		for (i = 0; i < iters; i++)
			acc += route_domain_accepted(rt, q->s[i & m], q->len[i & m]);
		break;
	default:
		for (i = 0; i < iters; i++)
			acc += route_relay_network(rt, q->addr[i & m]);
		break;
	}
	bench_sink += acc;
	return (bench_now() - t0) * 1e9 / iters;
}

/* Median ns per lookup over BENCH_RUNS runs, and probes per lookup over one pass. */
static void
bench_measure(const struct route_table *rt, enum bench_kind k, const struct bench_q *q,
	      unsigned iters, double *ns, double *probes)
{
	double t[BENCH_RUNS], tmp;
	unsigned i, j, p = 0;

	for (i = 0; i < q->n; i++) {
		if (k == B_NET)
			route_relay_network_ex(rt, q->addr[i], &p);
		else if (k == B_ACCEPT)
			route_domain_accepted_ex(rt, q->s[i], q->len[i], &p);
		else
			route_lookup_ex(rt, q->s[i], q->len[i], &p);
	}
	*probes = (double)p / q->n;
	bench_loop(rt, k, q, iters / 4 + 1);        /* warm-up */
	for (i = 0; i < BENCH_RUNS; i++)
		t[i] = bench_loop(rt, k, q, iters);
	for (i = 1; i < BENCH_RUNS; i++)
		for (j = i; j > 0 && t[j - 1] > t[j]; j--) {
			tmp = t[j];
			t[j] = t[j - 1];
			t[j - 1] = tmp;
		}
	*ns = t[BENCH_RUNS / 2];
}

/* Results of one kind: [0] 10 domains, [1] 100k same names, [2] 100k all names. */
struct bench_row {
	double ns[3], probes[3];
};

static void
bench_print(const struct bench_row *rows, unsigned iters, int json, const struct route_stats *st)
{
	unsigned k;

	if (json) {
		printf("{\"iterations\": %u, \"small\": %u, \"large\": %u, \"large_bytes\": %zu, "
		       "\"results\": [", iters, BENCH_SMALL, BENCH_LARGE, st[1].bytes);
		for (k = 0; k < B_KINDS; k++)
			printf("%s{\"kind\": \"%s\", \"probes\": [%.3f, %.3f, %.3f], "
			       "\"ns\": [%.2f, %.2f, %.2f], \"ratio_same\": %.3f, \"ratio_all\": %.3f}",
			       k ? ", " : "", bench_kind_name[k], rows[k].probes[0], rows[k].probes[1],
			       rows[k].probes[2], rows[k].ns[0], rows[k].ns[1], rows[k].ns[2],
			       rows[k].ns[1] / rows[k].ns[0], rows[k].ns[2] / rows[k].ns[0]);
		printf("]}\n");
		return;
	}
	printf("route lookups: %u vs %u domains (and relay networks); median of %d runs of %u lookups\n",
	       BENCH_SMALL, BENCH_LARGE, BENCH_RUNS, iters);
	for (k = 0; k < 2; k++)
		printf("  %6u domains: %u name slots, longest probe %u; %u networks, %u prefix lengths; "
		       "%.1f KiB\n", k ? BENCH_LARGE : BENCH_SMALL, st[k].name_slots,
		       st[k].name_max_probe, st[k].networks, st[k].prefix_lengths, st[k].bytes / 1024.0);
	printf("\n");
	printf("%-20s %21s   %26s   %17s\n", "", "probes per lookup", "ns per lookup",
	       "ratio 100k/10");
	printf("%-20s %6s %6s %7s   %8s %8s %8s   %8s %8s\n", "lookup", "10", "100k", "100k*",
	       "10", "100k", "100k*", "100k", "100k*");
	for (k = 0; k < B_KINDS; k++)
		printf("%-20s %6.2f %6.2f %7.2f   %8.1f %8.1f %8.1f   %8.2f %8.2f\n",
		       bench_kind_name[k], rows[k].probes[0], rows[k].probes[1], rows[k].probes[2],
		       rows[k].ns[0], rows[k].ns[1], rows[k].ns[2], rows[k].ns[1] / rows[k].ns[0],
		       rows[k].ns[2] / rows[k].ns[0]);
	printf("\n100k:  the 100,000-domain table, the very same queries as the 10-domain one\n"
	       "100k*: the 100,000-domain table, queries across all its names (cache misses)\n");
}

static struct route_table *
bench_build(const struct bench_cfg *b)
{
	char err[256];
	struct route_table *rt = route_table_build(&b->cfg, err, sizeof(err));

	if (rt == NULL) {
		fprintf(stderr, "bench-route: %s\n", err);
		exit(1);
	}
	return rt;
}

int
main(int argc, char **argv)
{
	struct bench_row rows[B_KINDS];
	struct bench_cfg small, large;
	struct route_stats st[2];
	struct route_table *rs, *rl;
	struct bench_q q;
	unsigned iters = 1000000, k;
	int i, json = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			iters = 200000;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else {
			fprintf(stderr, "usage: bench-route [--quick] [--json]\n");
			return 2;
		}
	}
	bench_cfg_make(&small, BENCH_SMALL);
	bench_cfg_make(&large, BENCH_LARGE);
	rs = bench_build(&small);
	rl = bench_build(&large);
	for (k = 0; k < B_KINDS; k++) {
		bench_q_make(&q, k, BENCH_SMALL, BENCH_Q);
		bench_measure(rs, k, &q, iters, &rows[k].ns[0], &rows[k].probes[0]);
		bench_measure(rl, k, &q, iters, &rows[k].ns[1], &rows[k].probes[1]);
		bench_q_free(&q);
		bench_q_make(&q, k, BENCH_LARGE, BENCH_Q);
		bench_measure(rl, k, &q, iters, &rows[k].ns[2], &rows[k].probes[2]);
		bench_q_free(&q);
	}
	route_table_stats(rs, &st[0]);
	route_table_stats(rl, &st[1]);
	bench_print(rows, iters, json, st);
	route_table_free(rs);
	route_table_free(rl);
	bench_cfg_free(&small);
	bench_cfg_free(&large);
	return 0;
}
