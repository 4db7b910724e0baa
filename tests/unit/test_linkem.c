/*
 * test_linkem.c — drivers/linkem with a fake clock: a real EAL (no hugepages)
 * and a real mbuf pool, no ports. Frames carry their arrival number at byte 14
 * so every test can tell what came out, in which order and how many times;
 * every test ends by checking that the pool got all its mbufs back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <rte_eal.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "drivers/linkem.h"

#define HZ        1000000000ULL         /* fake TSC: 1 tick = 1 ns */
#define US        (HZ / 1000000)
#define FRAME_LEN 80
#define BURST     32

static struct rte_mempool *pool;
static unsigned pool_start;
static struct linkem le;                /* ~26 KB: not on the stack */

/*
 * A frame: Ethernet header, then id (4 bytes), then a pattern from id.
 * noinline: gcc 12 misreads the bounds of rte_pktmbuf_append()'s pointer.
 */
static __rte_noinline void
fill(uint8_t *p, uint32_t id)
{
	memset(p, 0x02, RTE_ETHER_ADDR_LEN);                     /* destination */
	memset(p + RTE_ETHER_ADDR_LEN, 0x04, RTE_ETHER_ADDR_LEN);  /* source */
	p[12] = 0x08;                                           /* IPv4 */
	p[13] = 0x00;
	memcpy(p + RTE_ETHER_HDR_LEN, &id, sizeof(id));
	for (unsigned i = RTE_ETHER_HDR_LEN + 4; i < FRAME_LEN; i++)
		p[i] = (uint8_t)(id * 31 + i);
}

static struct rte_mbuf *
mk(uint32_t id)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t *p;

	assert_non_null(m);
	p = (uint8_t *)rte_pktmbuf_append(m, FRAME_LEN);
	if (p == NULL)
		fail();
	fill(p, id);
	return m;
}

static uint32_t
id_of(const struct rte_mbuf *m)
{
	uint32_t id;

	memcpy(&id, rte_pktmbuf_mtod_offset(m, const uint8_t *, RTE_ETHER_HDR_LEN), sizeof(id));
	return id;
}

static struct cfg_linkem
cfg(void)
{
	struct cfg_linkem c;

	memset(&c, 0, sizeof(c));
	snprintf(c.port, sizeof(c.port), "ext");
	c.direction = CFG_LINKEM_BOTH;
	c.seed = 42;
	return c;
}

/* Output of a run: the ids in the order they left. */
struct trace {
	uint32_t *ids;
	unsigned n;
	unsigned cap;
};

static void
record(struct trace *t, struct rte_mbuf **pkts, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		assert_true(t->n < t->cap);
		t->ids[t->n++] = id_of(pkts[i]);
	}
	rte_pktmbuf_free_bulk(pkts, n);
}

/*
 * Push `frames` frames through le in bursts of BURST, the clock advancing
 * step ticks per burst, flushing between bursts; then flush far in the future.
 */
static void
run(struct trace *t, unsigned frames, uint64_t step)
{
	struct rte_mbuf *pkts[2 * BURST];
	uint64_t now = 1000;

	for (unsigned id = 0; id < frames; now += step) {
		uint16_t k = 0;
		while (k < BURST && id < frames)
			pkts[k++] = mk(id++);
		record(t, pkts, linkem_process(&le, pool, now, pkts, k, 2 * BURST));
		record(t, pkts, linkem_flush(&le, now, pkts, 2 * BURST));
	}
	for (uint16_t k; (k = linkem_flush(&le, now + 10 * HZ, pkts, 2 * BURST)) != 0;)
		record(t, pkts, k);
}

static struct trace
trace_new(unsigned cap)
{
	struct trace t = { calloc(cap, sizeof(uint32_t)), 0, cap };

	assert_non_null(t.ids);
	return t;
}

static void
no_leak(void)
{
	assert_int_equal(rte_mempool_avail_count(pool), pool_start);
}

static int
setup(void **state)
{
	(void)state;
	char *argv[] = { "test_linkem", "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
			 "--no-telemetry", "-l", "0", "--log-level", "*:error", NULL };

	if (rte_eal_init(11, argv) < 0)
		return -1;
	pool = rte_pktmbuf_pool_create("linkem_test", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL)
		return -1;
	pool_start = rte_mempool_avail_count(pool);
	return 0;
}

static void
test_disabled_identity(void **state)
{
	(void)state;
	struct rte_mbuf *pkts[BURST], *orig[BURST];
	struct cfg_linkem c = cfg();

	linkem_init(&le, NULL, 0, CFG_LINKEM_RX, HZ);
	assert_false(linkem_enabled(&le));
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);     /* configured, but impairs nothing */
	assert_false(linkem_enabled(&le));
	c.loss = 50;
	c.direction = CFG_LINKEM_TX;
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);     /* the other direction */
	assert_false(linkem_enabled(&le));
	linkem_init(&le, &c, 0, CFG_LINKEM_TX, HZ);
	assert_true(linkem_enabled(&le));

	linkem_init(&le, NULL, 0, CFG_LINKEM_RX, HZ);
	for (unsigned i = 0; i < BURST; i++)
		orig[i] = pkts[i] = mk(i);
	assert_int_equal(linkem_process(&le, pool, 5, pkts, BURST, BURST), BURST);
	assert_memory_equal(pkts, orig, sizeof(pkts));
	assert_int_equal(linkem_flush(&le, 5, pkts, BURST), 0);
	rte_pktmbuf_free_bulk(orig, BURST);
	no_leak();
}

/* 100k frames at 2% loss: the fraction, the accounting, the exact repeat. */
static void
test_loss(void **state)
{
	(void)state;
	enum { N = 100000 };
	struct cfg_linkem c = cfg();
	struct trace a = trace_new(N), b = trace_new(N), d = trace_new(N);

	c.loss = 2;
	linkem_init(&le, &c, 3, CFG_LINKEM_RX, HZ);
	run(&a, N, 10 * US);
	assert_int_equal(le.stats.lost + le.stats.passed, N);
	assert_int_equal(le.stats.passed, a.n);
	assert_true(le.stats.lost >= N * 17 / 1000 && le.stats.lost <= N * 23 / 1000);
	for (unsigned i = 1; i < a.n; i++)
		assert_true(a.ids[i] > a.ids[i - 1]);   /* loss alone never reorders */
	no_leak();

	linkem_init(&le, &c, 3, CFG_LINKEM_RX, HZ);     /* same seed, worker, direction */
	run(&b, N, 10 * US);
	assert_int_equal(a.n, b.n);
	assert_memory_equal(a.ids, b.ids, a.n * sizeof(uint32_t));

	linkem_init(&le, &c, 3, CFG_LINKEM_TX, HZ);     /* another direction: another stream */
	run(&d, N, 10 * US);
	assert_true(d.n != a.n || memcmp(a.ids, d.ids, a.n * sizeof(uint32_t)) != 0);
	no_leak();
	free(a.ids);
	free(b.ids);
	free(d.ids);
}

/* 1% duplicates: each copy right after its original, byte for byte. */
static void
test_duplicate(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct cfg_linkem c = cfg();
	struct rte_mbuf *pkts[2 * BURST];
	uint64_t now = 1000, copies = 0;
	uint32_t next = 0;

	c.duplicate = 1;
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);
	while (next < N) {
		uint16_t k = 0;
		while (k < BURST)
			pkts[k++] = mk(next++);
		uint16_t out = linkem_process(&le, pool, now, pkts, k, 2 * BURST);
		assert_true(out >= k);
		for (uint16_t i = 1; i < out; i++) {
			if (id_of(pkts[i]) != id_of(pkts[i - 1]))
				continue;
			assert_ptr_not_equal(pkts[i], pkts[i - 1]);
			assert_int_equal(rte_pktmbuf_pkt_len(pkts[i]), rte_pktmbuf_pkt_len(pkts[i - 1]));
			assert_memory_equal(rte_pktmbuf_mtod(pkts[i], void *),
					    rte_pktmbuf_mtod(pkts[i - 1], void *),
					    rte_pktmbuf_pkt_len(pkts[i]));
			copies++;
		}
		rte_pktmbuf_free_bulk(pkts, out);
		now += 10 * US;
	}
	assert_int_equal(copies, le.stats.duplicated);
	assert_int_equal(le.stats.dup_failed, 0);
	assert_true(copies >= N * 7 / 1000 && copies <= N * 13 / 1000);
	assert_int_equal(le.stats.passed, N + copies);
	no_leak();
}

/* Count, for each output, how many later-arriving frames left before it (Fenwick tree). */
static unsigned
overtakers(const uint32_t *ids, unsigned n, unsigned i, unsigned *bit)
{
	unsigned greater = 0;

	for (unsigned k = ids[i] + 1; k > 0; k -= k & -k)
		greater += bit[k];              /* seen with id <= ids[i] */
	greater = i - greater;
	for (unsigned k = ids[i] + 1; k <= n; k += k & -k)
		bit[k]++;
	return greater;
}

/* 5% reorder: every frame exactly once, each reordered frame behind exactly one frame. */
static void
test_reorder(void **state)
{
	(void)state;
	enum { N = 20000 };
	struct cfg_linkem c = cfg();
	struct trace t = trace_new(N);
	unsigned *bit = calloc(N + 1, sizeof(unsigned)), *seen = calloc(N, sizeof(unsigned));
	unsigned displaced = 0;

	c.reorder = 5;
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);
	run(&t, N, 10 * US);
	assert_int_equal(t.n, N);
	for (unsigned i = 0; i < N; i++) {
		assert_true(t.ids[i] < N);
		assert_int_equal(++seen[t.ids[i]], 1);
		unsigned o = overtakers(t.ids, N, i, bit);
		assert_true(o <= 1);
		displaced += o;
	}
	/* Each reordered frame is overtaken by the one frame that released it
	 * (a reordered last frame leaves on its 1 ms deadline, overtaken by none). */
	assert_true(displaced > 0);
	assert_true(displaced == le.stats.reordered || displaced + 1 == le.stats.reordered);
	assert_true(le.stats.reordered >= N * 4 / 100 && le.stats.reordered <= N * 6 / 100);
	assert_int_equal(le.stats.passed, N);
	no_leak();
	free(t.ids);
	free(bit);
	free(seen);
}

/* A reordered frame with no follower leaves after 1 ms, not before. */
static void
test_reorder_deadline(void **state)
{
	(void)state;
	struct cfg_linkem c = cfg();
	struct rte_mbuf *pkts[4];

	c.reorder = 100;
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);
	pkts[0] = mk(7);
	assert_int_equal(linkem_process(&le, pool, 0, pkts, 1, 4), 0);
	assert_int_equal(linkem_flush(&le, 1000 * US - 1, pkts, 4), 0);
	assert_int_equal(linkem_flush(&le, 1000 * US, pkts, 4), 1);
	assert_int_equal(id_of(pkts[0]), 7);
	rte_pktmbuf_free(pkts[0]);

	/* With a follower the held frame leaves right behind it. */
	pkts[0] = mk(1);
	assert_int_equal(linkem_process(&le, pool, 0, pkts, 1, 4), 0);
	c.reorder = 0;
	linkem_set(&le, &c);                            /* impairs nothing now */
	assert_true(linkem_enabled(&le));               /* but still holds frame 1 */
	pkts[0] = mk(2);
	assert_int_equal(linkem_process(&le, pool, 10, pkts, 1, 4), 2);
	assert_int_equal(id_of(pkts[0]), 2);
	assert_int_equal(id_of(pkts[1]), 1);
	assert_false(linkem_enabled(&le));              /* nothing held, nothing configured */
	rte_pktmbuf_free_bulk(pkts, 2);
	no_leak();
}

/* Corruption: exactly one bit differs, never in the Ethernet header; shared frames are copied. */
static void
test_corrupt(void **state)
{
	(void)state;
	struct cfg_linkem c = cfg();
	struct rte_mbuf *pkts[BURST];
	uint8_t ref[FRAME_LEN];
	unsigned pos_hit[FRAME_LEN] = { 0 };

	c.corrupt = 100;
	linkem_init(&le, &c, 0, CFG_LINKEM_TX, HZ);
	for (uint32_t base = 0; base < 64 * BURST; base += BURST) {
		for (unsigned i = 0; i < BURST; i++)
			pkts[i] = mk(base + i);
		assert_int_equal(linkem_process(&le, pool, 0, pkts, BURST, BURST), BURST);
		for (unsigned i = 0; i < BURST; i++) {
			const uint8_t *p = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
			unsigned bits = 0;
			fill(ref, base + i);
			assert_int_equal(rte_pktmbuf_pkt_len(pkts[i]), FRAME_LEN);
			assert_memory_equal(p, ref, RTE_ETHER_HDR_LEN);
			for (unsigned b = RTE_ETHER_HDR_LEN; b < FRAME_LEN; b++) {
				bits += (unsigned)__builtin_popcount(p[b] ^ ref[b]);
				pos_hit[b] += p[b] != ref[b];
			}
			assert_int_equal(bits, 1);
		}
		rte_pktmbuf_free_bulk(pkts, BURST);
	}
	assert_int_equal(le.stats.corrupted, 64 * BURST);
	assert_true(pos_hit[RTE_ETHER_HDR_LEN] > 0 && pos_hit[FRAME_LEN - 1] > 0);

	/* A frame someone else still holds (refcnt 2) is copied, not written. */
	struct rte_mbuf *kept = mk(99);
	rte_mbuf_refcnt_update(kept, 1);
	pkts[0] = kept;
	assert_int_equal(linkem_process(&le, pool, 0, pkts, 1, 1), 1);
	assert_ptr_not_equal(pkts[0], kept);
	assert_int_equal(rte_mbuf_refcnt_read(kept), 1);
	fill(ref, 99);
	assert_memory_equal(rte_pktmbuf_mtod(kept, void *), ref, FRAME_LEN);
	assert_memory_not_equal(rte_pktmbuf_mtod(pkts[0], void *), ref, FRAME_LEN);
	rte_pktmbuf_free(pkts[0]);
	rte_pktmbuf_free(kept);
	no_leak();
}

/* 500 us delay: nothing before its time, everything at it, in order. */
static void
test_delay(void **state)
{
	(void)state;
	struct cfg_linkem c = cfg();
	struct rte_mbuf *pkts[3 * BURST];
	uint64_t t0 = 5000;

	c.delay_us = 500;
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);
	for (unsigned i = 0; i < BURST; i++)
		pkts[i] = mk(i);
	assert_int_equal(linkem_process(&le, pool, t0, pkts, BURST, BURST), 0);
	for (unsigned i = 0; i < BURST; i++)
		pkts[i] = mk(BURST + i);
	assert_int_equal(linkem_process(&le, pool, t0 + 100 * US, pkts, BURST, BURST), 0);
	assert_int_equal(le.stats.delayed, 2 * BURST);
	assert_int_equal(linkem_flush(&le, t0 + 500 * US - 1, pkts, 3 * BURST), 0);

	/* The first burst is due: it leaves at the front of the next process(). */
	pkts[0] = mk(1000);
	assert_int_equal(linkem_process(&le, pool, t0 + 500 * US, pkts, 1, 3 * BURST), BURST);
	for (unsigned i = 0; i < BURST; i++)
		assert_int_equal(id_of(pkts[i]), i);
	rte_pktmbuf_free_bulk(pkts, BURST);
	assert_int_equal(linkem_flush(&le, t0 + 600 * US - 1, pkts, 3 * BURST), 0);
	assert_int_equal(linkem_flush(&le, t0 + 600 * US, pkts, 3 * BURST), BURST);
	for (unsigned i = 0; i < BURST; i++)
		assert_int_equal(id_of(pkts[i]), BURST + i);
	rte_pktmbuf_free_bulk(pkts, BURST);
	assert_int_equal(linkem_flush(&le, t0 + 1000 * US, pkts, 3 * BURST), 1);
	assert_int_equal(id_of(pkts[0]), 1000);
	rte_pktmbuf_free(pkts[0]);
	no_leak();
}

/* Jitter: every frame within [delay, delay + jitter], some overtaken. */
static void
test_jitter(void **state)
{
	(void)state;
	struct cfg_linkem c = cfg();
	struct rte_mbuf *pkts[BURST];
	uint32_t order[BURST];
	unsigned got = 0, inversions = 0;

	c.delay_us = 100;
	c.jitter_us = 400;
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);
	for (unsigned i = 0; i < BURST; i++)
		pkts[i] = mk(i);
	assert_int_equal(linkem_process(&le, pool, 0, pkts, BURST, BURST), 0);
	assert_int_equal(linkem_flush(&le, 100 * US - 1, pkts, BURST), 0);
	for (uint64_t t = 100 * US; t <= 500 * US; t += US) {
		uint16_t k = linkem_flush(&le, t, pkts, BURST);
		for (uint16_t i = 0; i < k; i++)
			order[got++] = id_of(pkts[i]);
		rte_pktmbuf_free_bulk(pkts, k);
	}
	assert_int_equal(got, BURST);
	for (unsigned i = 1; i < BURST; i++)
		inversions += order[i] < order[i - 1];
	assert_true(inversions > 0);
	assert_int_equal(le.n_held, 0);
	assert_int_equal(le.stats.delayed, BURST);
	no_leak();
}

/* Full delay queue: the rest pass undelayed and are counted; never lost. */
static void
test_queue_full(void **state)
{
	(void)state;
	struct cfg_linkem c = cfg();
	struct rte_mbuf *pkts[BURST];
	unsigned passed = 0;

	c.delay_us = 1000000;
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);
	for (uint32_t id = 0; id < LINKEM_QUEUE + 100; id += 4) {
		for (unsigned i = 0; i < 4; i++)
			pkts[i] = mk(id + i);
		uint16_t k = linkem_process(&le, pool, 0, pkts, 4, BURST);
		for (uint16_t i = 0; i < k; i++)
			assert_true(id_of(pkts[i]) >= LINKEM_QUEUE);
		passed += k;
		rte_pktmbuf_free_bulk(pkts, k);
	}
	assert_int_equal(passed, 100);
	assert_int_equal(le.stats.queue_full, 100);
	assert_int_equal(le.stats.delayed, LINKEM_QUEUE);
	assert_int_equal(le.n_held, LINKEM_QUEUE);
	linkem_drain(&le);
	no_leak();
}

/* Output never exceeds max: what does not fit stays held and leaves next call. */
static void
test_max(void **state)
{
	(void)state;
	struct cfg_linkem c = cfg();
	struct rte_mbuf *pkts[BURST];
	unsigned got = 0, seen[2 * BURST] = { 0 };

	c.duplicate = 100;
	linkem_init(&le, &c, 0, CFG_LINKEM_RX, HZ);
	for (unsigned i = 0; i < BURST; i++)
		pkts[i] = mk(i);
	uint16_t k = linkem_process(&le, pool, 0, pkts, BURST, BURST);
	assert_int_equal(k, BURST);
	for (uint16_t i = 0; i < k; i++)
		seen[id_of(pkts[i])]++;
	got += k;
	rte_pktmbuf_free_bulk(pkts, k);
	while ((k = linkem_flush(&le, 0, pkts, 5)) != 0) {
		assert_true(k <= 5);
		for (uint16_t i = 0; i < k; i++)
			seen[id_of(pkts[i])]++;
		got += k;
		rte_pktmbuf_free_bulk(pkts, k);
	}
	assert_int_equal(got, 2 * BURST);
	for (unsigned i = 0; i < BURST; i++)
		assert_int_equal(seen[i], 2);
	assert_int_equal(le.stats.duplicated, BURST);
	no_leak();
}

/* Everything at once, then drain: the pool gets every mbuf back. */
static void
test_drain(void **state)
{
	(void)state;
	struct cfg_linkem c = cfg();
	struct rte_mbuf *pkts[2 * BURST];
	uint64_t now = 0, out = 0;
	uint32_t id = 0;

	c.loss = 5;
	c.corrupt = 5;
	c.duplicate = 10;
	c.reorder = 10;
	c.delay_us = 2000;
	c.jitter_us = 500;
	linkem_init(&le, &c, 1, CFG_LINKEM_TX, HZ);
	for (; id < 3000; now += 100 * US) {
		for (unsigned i = 0; i < BURST; i++)
			pkts[i] = mk(id++);
		uint16_t k = linkem_process(&le, pool, now, pkts, BURST, 2 * BURST);
		rte_pktmbuf_free_bulk(pkts, k);
		out += k;
		k = linkem_flush(&le, now, pkts, 2 * BURST);
		rte_pktmbuf_free_bulk(pkts, k);
		out += k;
	}
	/* Every frame accounted for: lost, out (copies included) or still held. */
	assert_int_equal(out, le.stats.passed);
	assert_int_equal(id - le.stats.lost + le.stats.duplicated, out + le.n_held + le.rq_n);
	assert_true(le.stats.corrupted > 0 && le.stats.reordered > 0 && le.stats.delayed > 0);
	assert_true(le.n_held > 0 && le.rq_n > 0);     /* both queues in use */
	assert_int_equal(le.stats.queue_full, 0);
	assert_true(rte_mempool_avail_count(pool) < pool_start);
	linkem_drain(&le);
	assert_int_equal(le.n_held + le.rq_n, 0);
	no_leak();
	linkem_set(&le, NULL);
	assert_false(linkem_enabled(&le));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_identity),
		cmocka_unit_test(test_loss),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_reorder_deadline),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_queue_full),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_drain),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
