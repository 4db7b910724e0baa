/*
 * connectors.c — benchmark of the connector table (app/policy/connector.c
 * and platform/config_connectors.c). Built by tools/bench/connectors.mk into
 * build/bench-connectors from this file, the configuration loader and the
 * connector table (DPDK for rte_fib / rte_lpm6; no libmailgw.a).
 *
 * Usage: bench-connectors [--quick | --load-only] [--json] [--keep FILE]
 *
 * 1. Writes a libconfig file of 100,000 connectors (by turns of eight:
 *    inbound by IPv4 /32, by IPv4 /24, by IPv6 /48, two by sender domain
 *    (exact and "*."), by certificate name (with its sender domain and
 *    restrict_domains_to_certificate); outbound by recipient domain (exact
 *    and "*.") with a smart host and domain_validation, twice), with a tls
 *    group (empty certificate files: only their readability is checked).
 * 2. Times config_load() (parse and validate, ambiguity checks included)
 *    and connector_table_build(), then a reload: load and build again while
 *    the first generation still exists (as mailgwctl reload does), then the
 *    frees. The acceptance limit is 2 s for load + build.
 * 3. Lookups against the table of 10 connectors made the same way and the
 *    100,000 one, per kind (address v4 and v6, sender domain exact and
 *    wildcard, certificate name, the full MAIL decision, recipient domain
 *    exact and wildcard, a miss): hash probes per lookup and ns per lookup
 *    for 10, for 100k with the very same queries (names both tables hold),
 *    and for 100k queried across all its connectors; the ratios 100k/10.
 *    Each query set is 65,536 facts in random order; timings are the median
 *    of 5 runs (CLOCK_MONOTONIC), results fed into a volatile sink.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <rte_eal.h>

#include "app/policy/connector.h"
#include "platform/config.h"

#define BENCH_SMALL     10u
#define BENCH_LARGE     100000u
#define BENCH_Q         65536u          /* queries per set (a power of two) */
#define BENCH_RUNS      5
#define BENCH_LIMIT_S   2.0
#define BENCH_NAME_LEN  48

enum bench_kind {
	B_V4, B_V6, B_SENDER, B_SENDER_WILD, B_CERT, B_MAIL, B_RCPT, B_RCPT_WILD, B_MISS, B_KINDS
};

static const char *const bench_kind_name[B_KINDS] = {
	"IPv4 address", "IPv6 address", "sender exact", "sender wildcard", "certificate name",
	"MAIL decision", "recipient exact", "recipient wildcard", "miss (no connector)",
};

/* The connector of each kind among a turn of eight (-1: none has it). */
static const int bench_turn[B_KINDS] = { 0, 2, 3, 4, 5, 5, 6, 7, -1 };

/* One query: facts (with their strings) or a recipient domain. */
struct bench_query {
	struct connector_facts f;
	const char *san[1];
	char name[BENCH_NAME_LEN];
	size_t len;
};

struct bench_q {
	struct bench_query *q;
	enum bench_kind kind;
};

static volatile uintptr_t bench_sink;
static char bench_dir[64];

static void *
bench_alloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (p == NULL) {
		fprintf(stderr, "bench-connectors: out of memory\n");
		exit(1);
	}
	return p;
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- the configuration ---------------------------------------------------------- */

/* Connector i of a turn of eight, as one line of the inbound or outbound list. */
static void
bench_write_in(FILE *f, unsigned i)
{
	unsigned m = i / 8;

	switch (i % 8) {
	case 0:
		fprintf(f, "    { name = \"in%u\"; sender_ip_addresses = [ \"10.%u.%u.%u\" ]; "
			"require_tls = true; },\n", i, i >> 16, (i >> 8) & 255, i & 255);
		break;
	case 1:
		fprintf(f, "    { name = \"in%u\"; sender_ip_addresses = [ \"20.%u.%u.0/24\" ]; },\n",
			i, m >> 8, m & 255);
		break;
	case 2:
		fprintf(f, "    { name = \"in%u\"; sender_ip_addresses = [ \"2001:db8:%x::/48\" ]; "
			"min_tls_version = \"1.2\"; },\n", i, m);
		break;
	case 3:
		fprintf(f, "    { name = \"in%u\"; sender_domains = [ \"s%u.example\" ]; "
			"require_tls = true; },\n", i, i);
		break;
	case 4:
		fprintf(f, "    { name = \"in%u\"; sender_domains = [ \"*.w%u.example\" ]; "
			"mode = \"report_only\"; require_tls = true; },\n", i, i);
		break;
	default:
		fprintf(f, "    { name = \"in%u\"; tls_sender_certificate_name = \"mx%u.example\"; "
			"sender_domains = [ \"c%u.example\" ]; "
			"restrict_domains_to_certificate = true; },\n", i, i, i);
		break;
	}
}

static void
bench_write_out(FILE *f, unsigned i, bool last)
{
	fprintf(f, "    { name = \"out%u\"; recipient_domains = [ \"%sr%u.example\" ]; "
		"smart_hosts = [ \"192.0.2.%u\" ]; tls_settings = \"domain_validation\"; "
		"tls_domain = \"mx.r%u.example\"; }%s\n", i, i % 8 == 7 ? "*." : "", i,
		i % 250 + 1, i, last ? "" : ",");
}

/* The file of n connectors into PATH; its size in bytes. */
static long
bench_write(const char *path, unsigned n)
{
	FILE *f = fopen(path, "w");
	unsigned i, last_out = n;
	long size;

	if (f == NULL) {
		fprintf(stderr, "bench-connectors: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	for (i = 0; i < n; i++)
		if (i % 8 >= 6)
			last_out = i;
	fprintf(f, "version = 1;\n"
		"system: { worker_cores = [ 0 ]; allow_shared_cores = true; };\n"
		"ports = ( { name = \"ext\"; device = \"net_af_packet0\"; address = \"192.0.2.1/24\"; } );\n"
		"tls: { certificates = ( { cert = \"c.crt\"; key = \"c.key\"; } ); ca_file = \"ca.crt\"; };\n"
		"connectors: {\n  inbound = (\n");
	for (i = 0; i < n; i++)
		if (i % 8 < 6)
			bench_write_in(f, i);
	fprintf(f, "    { name = \"last-in\"; sender_domains = [ \"last.example\" ]; }\n"
		"  );\n  outbound = (\n");
	for (i = 0; i < n; i++)
		if (i % 8 >= 6)
			bench_write_out(f, i, i == last_out);
	fprintf(f, "  );\n};\n");
	size = ftell(f);
	fclose(f);
	return size;
}

static void
bench_files(void)
{
	static const char *const names[] = { "c.crt", "c.key", "ca.crt" };
	char p[128];
	size_t i;
	int fd;

	strcpy(bench_dir, "/tmp/mailgw-bench-conn-XXXXXX");
	if (!mkdtemp(bench_dir)) {
		perror("bench-connectors: mkdtemp");
		exit(1);
	}
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", bench_dir, names[i]);
		fd = open(p, O_WRONLY | O_CREAT, 0600);
		if (fd >= 0)
			close(fd);
	}
}

static void
bench_files_free(void)
{
	static const char *const names[] = { "c.crt", "c.key", "ca.crt", "10.conf", "100k.conf" };
	char p[128];
	size_t i;

	for (i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/%s", bench_dir, names[i]);
		unlink(p);
	}
	rmdir(bench_dir);
}

static void
bench_load(const char *path, struct gw_config *cfg)
{
	char err[CFG_ERR_LEN];

	if (config_load(path, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench-connectors: %s\n", err);
		exit(1);
	}
}

static struct connector_table *
bench_build(const struct gw_config *cfg)
{
	char err[256];
	struct connector_table *t = connector_table_build(cfg, err, sizeof(err));

	if (t == NULL) {
		fprintf(stderr, "bench-connectors: %s\n", err);
		exit(1);
	}
	return t;
}

/* ---- queries ---------------------------------------------------------------------- */

/* xorshift64: reproducible query choice. */
static unsigned
bench_rand(uint64_t *x, unsigned n)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return (unsigned)(*x % n);
}

/* A connector number of the turn position of kind k among the first n. */
static unsigned
bench_pick(uint64_t *x, enum bench_kind k, unsigned n)
{
	unsigned turns = (n + 7) / 8, i;

	do
		i = bench_rand(x, turns) * 8 + (unsigned)(bench_turn[k] < 0 ? 0 : bench_turn[k]);
	while (i >= n);
	return i;
}

static void
bench_query(struct bench_query *q, enum bench_kind k, unsigned i)
{
	struct connector_facts *f = &q->f;

	memset(q, 0, sizeof(*q));
	f->addr4 = 0xc6336401;                          /* 198.51.100.1: no connector */
	if (k == B_V4)
		f->addr4 = 0x0a000000u | i;
	if (k == B_V6) {
		f->v6 = true;
		inet_pton(AF_INET6, "2001:db8::1", f->addr6);
		f->addr6[4] = (uint8_t)((i / 8) >> 8);
		f->addr6[5] = (uint8_t)(i / 8);
	}
	if (k == B_SENDER || k == B_SENDER_WILD || k == B_MAIL || k == B_MISS) {
		q->len = (size_t)snprintf(q->name, sizeof(q->name), k == B_SENDER ? "s%u.example" :
					  k == B_SENDER_WILD ? "mx.w%u.example" :
					  k == B_MAIL ? "c%u.example" : "m%u.z%u.t", i, i);
		f->sender_domain = q->name;
		f->sender_len = q->len;
	}
	if (k == B_CERT || k == B_MAIL) {
		snprintf(k == B_MAIL ? q->name + 24 : q->name, 24, "mx%u.example", i);
		q->san[0] = k == B_MAIL ? q->name + 24 : q->name;
		f->sans = q->san;
		f->n_sans = 1;
		f->cert = f->cert_verified = true;
		f->tls_version = CFG_TLS_V1_3;
	}
	if (k == B_RCPT || k == B_RCPT_WILD)
		q->len = (size_t)snprintf(q->name, sizeof(q->name), k == B_RCPT ? "r%u.example" :
					  "a.r%u.example", i);
}

static void
bench_q_make(struct bench_q *q, enum bench_kind k, unsigned names)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned i;

	q->kind = k;
	q->q = bench_alloc(BENCH_Q, sizeof(*q->q));
	for (i = 0; i < BENCH_Q; i++) {
		if (k == B_MISS)
			bench_query(&q->q[i], k, bench_rand(&x, 1u << 30));
		else
			bench_query(&q->q[i], k, bench_pick(&x, k, names));
	}
}

/* One lookup of query q; *probes counts (when not NULL). */
static uintptr_t
bench_one(const struct connector_table *t, enum bench_kind k, const struct bench_query *q,
	  unsigned *probes)
{
	struct connector_selection sel;
	struct connector_decision d;
	uint32_t id;

	switch (k) {
	case B_MAIL:
		connector_inbound_decide(t, &q->f, CONNECTOR_STAGE_MAIL, &d);
		return d.verdict + d.by;
	case B_RCPT:
	case B_RCPT_WILD:
		connector_outbound_lookup_ex(t, q->name, q->len, &id, probes);
		return id;
	default:
		connector_inbound_select_ex(t, &q->f, true, &sel, probes);
		return sel.id;
	}
}

/* iters lookups of q's kind; returns ns per lookup. */
static double
bench_loop(const struct connector_table *t, const struct bench_q *q, unsigned iters)
{
	uintptr_t acc = 0;
	double t0 = bench_now();
	unsigned i;

	for (i = 0; i < iters; i++)
		acc += bench_one(t, q->kind, &q->q[i & (BENCH_Q - 1)], NULL);
	bench_sink += acc;
	return (bench_now() - t0) * 1e9 / iters;
}

static void
bench_measure(const struct connector_table *t, const struct bench_q *q, unsigned iters,
	      double *ns, double *probes)
{
	double r[BENCH_RUNS], tmp;
	unsigned i, j, p = 0;

	for (i = 0; i < BENCH_Q; i++)
		bench_one(t, q->kind, &q->q[i], &p);
	*probes = q->kind == B_MAIL ? -1 : (double)p / BENCH_Q;     /* not counted */
	bench_loop(t, q, iters / 4 + 1);
	for (i = 0; i < BENCH_RUNS; i++)
		r[i] = bench_loop(t, q, iters);
	for (i = 1; i < BENCH_RUNS; i++)
		for (j = i; j > 0 && r[j - 1] > r[j]; j--) {
			tmp = r[j];
			r[j] = r[j - 1];
			r[j - 1] = tmp;
		}
	*ns = r[BENCH_RUNS / 2];
}

/* ---- report ----------------------------------------------------------------------- */

struct bench_row {
	double ns[3], probes[3];
};

struct bench_times {
	long bytes;
	double load, build, reload_load, reload_build, free_old;
	struct connector_stats st;
};

static void
bench_print_times(const struct bench_times *tm, unsigned in, unsigned out)
{
	double total = tm->load + tm->build;

	printf("connector table: %u connectors (%u inbound, %u outbound), %.1f MB of configuration\n",
	       in + out, in, out, tm->bytes / 1e6);
	printf("  load + validate   %7.3f s\n  build table       %7.3f s\n"
	       "  total             %7.3f s   (limit %.1f s: %s)\n"
	       "  reload: load %.3f s + build %.3f s = %.3f s, with the old generation alive\n"
	       "  free the old generation: %.3f s\n",
	       tm->load, tm->build, total, BENCH_LIMIT_S, total < BENCH_LIMIT_S ? "ok" : "OVER",
	       tm->reload_load, tm->reload_build, tm->reload_load + tm->reload_build,
	       tm->free_old);
	printf("  table: %u names in %u slots (longest probe %u), %u IPv4 prefixes (%u tbl8), "
	       "%u IPv6 prefixes (%u tbl8); heap %.1f MB, DPDK %.1f MB\n\n",
	       tm->st.names, tm->st.name_slots, tm->st.name_max_probe, tm->st.prefixes4,
	       tm->st.tbl8_4, tm->st.prefixes6, tm->st.tbl8_6, tm->st.bytes / 1e6,
	       tm->st.dpdk_bytes / 1e6);
}

static void
bench_print(const struct bench_row *rows, unsigned iters, const struct bench_times *tm,
	    unsigned in, unsigned out, int json)
{
	unsigned k;

	if (json) {
		printf("{\"connectors\": %u, \"config_bytes\": %ld, \"load_s\": %.4f, \"build_s\": %.4f, "
		       "\"total_s\": %.4f, \"reload_s\": %.4f, \"limit_s\": %.1f, \"results\": [",
		       in + out, tm->bytes, tm->load, tm->build, tm->load + tm->build,
		       tm->reload_load + tm->reload_build, BENCH_LIMIT_S);
		for (k = 0; k < B_KINDS; k++)
			printf("%s{\"kind\": \"%s\", \"probes\": [%.3f, %.3f, %.3f], "
			       "\"ns\": [%.2f, %.2f, %.2f], \"ratio_same\": %.3f, \"ratio_all\": %.3f}",
			       k ? ", " : "", bench_kind_name[k], rows[k].probes[0], rows[k].probes[1],
			       rows[k].probes[2], rows[k].ns[0], rows[k].ns[1], rows[k].ns[2],
			       rows[k].ns[1] / rows[k].ns[0], rows[k].ns[2] / rows[k].ns[0]);
		printf("]}\n");
		return;
	}
	bench_print_times(tm, in, out);
	printf("lookups: %u vs %u connectors; median of %d runs of %u lookups\n\n", BENCH_SMALL,
	       BENCH_LARGE, BENCH_RUNS, iters);
	printf("%-20s %21s   %26s   %17s\n", "", "probes per lookup", "ns per lookup",
	       "ratio 100k/10");
	printf("%-20s %6s %6s %7s   %8s %8s %8s   %8s %8s\n", "lookup", "10", "100k", "100k*",
	       "10", "100k", "100k*", "100k", "100k*");
	for (k = 0; k < B_KINDS; k++) {
		if (rows[k].probes[0] < 0)
			printf("%-20s %6s %6s %7s", bench_kind_name[k], "-", "-", "-");
		else
			printf("%-20s %6.2f %6.2f %7.2f", bench_kind_name[k], rows[k].probes[0],
			       rows[k].probes[1], rows[k].probes[2]);
		printf("   %8.1f %8.1f %8.1f   %8.2f %8.2f\n", rows[k].ns[0], rows[k].ns[1],
		       rows[k].ns[2], rows[k].ns[1] / rows[k].ns[0], rows[k].ns[2] / rows[k].ns[0]);
	}
	printf("\nprobes: hash-table slots inspected (an address lookup, one rte_fib / rte_lpm6 "
	       "walk, counts 1;\n        the MAIL decision is not counted)\n"
	       "100k:  the 100,000-connector table, the very same queries as the 10-connector one\n"
	       "100k*: the 100,000-connector table, queries across all its connectors (cache misses)\n");
}

/* ---- main ------------------------------------------------------------------------- */

static void
bench_eal(void)
{
	char *argv[] = { "bench-connectors", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf",
			 "--no-telemetry", "-l", "0", "--log-level", "*:error", NULL };
	cpu_set_t cpus;

	if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0 || rte_eal_init(11, argv) < 0) {
		fprintf(stderr, "bench-connectors: cannot initialise the EAL\n");
		exit(1);
	}
	sched_setaffinity(0, sizeof(cpus), &cpus);
}

/* Load, build, reload with the old generation alive, free. */
static void
bench_times(const char *path, struct bench_times *tm, struct gw_config *keep,
	    struct connector_table **keep_t)
{
	struct gw_config cfg, cfg2;
	struct connector_table *t, *t2;
	double t0;

	t0 = bench_now();
	bench_load(path, &cfg);
	tm->load = bench_now() - t0;
	t0 = bench_now();
	t = bench_build(&cfg);
	tm->build = bench_now() - t0;
	t0 = bench_now();
	bench_load(path, &cfg2);
	tm->reload_load = bench_now() - t0;
	t0 = bench_now();
	t2 = bench_build(&cfg2);
	tm->reload_build = bench_now() - t0;
	connector_table_stats(t2, &tm->st);
	t0 = bench_now();
	connector_table_free(t);
	config_free(&cfg);
	tm->free_old = bench_now() - t0;
	*keep = cfg2;
	*keep_t = t2;
}

int
main(int argc, char **argv)
{
	struct bench_row rows[B_KINDS];
	struct bench_times tm = { 0 };
	struct gw_config small, large;
	struct connector_table *ts, *tl;
	struct bench_q q;
	char ps[128], pl[128];
	unsigned iters = 1000000, k;
	const char *keep = NULL;
	int i, json = 0, load_only = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			iters = 200000;
		} else if (strcmp(argv[i], "--load-only") == 0) {
			load_only = 1;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc) {
			keep = argv[++i];
		} else {
			fprintf(stderr, "usage: bench-connectors [--quick | --load-only] [--json] "
				"[--keep FILE]\n");
			return 2;
		}
	}
	bench_eal();
	bench_files();
	snprintf(ps, sizeof(ps), "%s/10.conf", bench_dir);
	snprintf(pl, sizeof(pl), "%s/100k.conf", bench_dir);
	bench_write(ps, BENCH_SMALL);
	tm.bytes = bench_write(pl, BENCH_LARGE);
	bench_times(pl, &tm, &large, &tl);
	if (load_only) {
		bench_print_times(&tm, large.n_connectors_in, large.n_connectors_out);
		connector_table_free(tl);
		config_free(&large);
		bench_files_free();
		return tm.load + tm.build < BENCH_LIMIT_S ? 0 : 1;
	}
	bench_load(ps, &small);
	ts = bench_build(&small);
	for (k = 0; k < B_KINDS; k++) {
		bench_q_make(&q, k, BENCH_SMALL);
		bench_measure(ts, &q, iters, &rows[k].ns[0], &rows[k].probes[0]);
		bench_measure(tl, &q, iters, &rows[k].ns[1], &rows[k].probes[1]);
		free(q.q);
		bench_q_make(&q, k, BENCH_LARGE);
		bench_measure(tl, &q, iters, &rows[k].ns[2], &rows[k].probes[2]);
		free(q.q);
	}
	bench_print(rows, iters, &tm, large.n_connectors_in, large.n_connectors_out, json);
	connector_table_free(tl);
	config_free(&large);
	connector_table_free(ts);
	config_free(&small);
	if (keep && rename(pl, keep) != 0)
		fprintf(stderr, "bench-connectors: %s: %s\n", keep, strerror(errno));
	bench_files_free();
	rte_eal_cleanup();
	return tm.load + tm.build < BENCH_LIMIT_S ? 0 : 1;
}
