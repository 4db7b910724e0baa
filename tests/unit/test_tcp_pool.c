/*
 * test_tcp_pool.c — what one peer can take of a worker's packet pool
 * (issue 12, item 2), driven by the scripted peer of tcp_peer.h on a real
 * worker whose pool has 8,191 buffers:
 *   - the out-of-order flood: 1-byte segments at every other sequence
 *     number inside the window we advertised. Each held a whole buffer, so
 *     8,000 of them (8 KB of payload) emptied the pool. Now the connection
 *     holds no more than its cap, the drops and prunes are counted, the
 *     stream still arrives intact when the holes are filled, and a second
 *     connection still gets its SYN-ACK and ACKs during the flood;
 *   - receive- and send-queue hoarding: connections whose application
 *     never reads, and peers that never read what echo sends back, each
 *     filling its queues. Each holds at most its share, under
 *     pool pressure only a few buffers, and a reading connection still
 *     works then; the pool stays above its reserve, new connections are
 *     refused (RST) only there, ACKs keep flowing, and everything comes back
 *     afterwards.
 * Counters are looked up by name, so that the test also builds (and fails)
 * on the code before the fix.
 */
#include <rte_mempool.h>

#include "tcp_peer.h"

#define POOL_APP_PORT   5002            /* a listener whose application never reads */
#define HOARD_MAX       400
#define FLOOD_SEGS      8000            /* 1-byte segments, every other sequence number */

static struct tp_seg segs[TP_MAX_SEGS];
static struct stream *held[HOARD_MAX]; /* the never-reading application's streams */
static unsigned n_held;

/* A counter by its name (0 when the build has no such counter). */
static uint64_t
ctr(const char *name)
{
	for (unsigned i = 0; i < STATS_MAX; i++)
		if (strcmp(stats_desc[i].name, name) == 0)
			return w->ctr[0][i];
	return 0;
}

static unsigned
pool_free(void)
{
	return rte_mempool_avail_count(w->pool);
}

/* Fail with the numbers when the pool is (nearly) empty: every ACK would fail next. */
#define check_pool(what, i) do { \
	if (pool_free() < 64) \
		fail_msg("%s: the pool is drained: %u of %u buffers free after %u segments", \
			 (what), pool_free(), w->pool->size, (unsigned)(i)); \
} while (0)

static void
hold_closed(struct stream *s, enum stream_close_reason why)
{
	(void)why;
	for (unsigned i = 0; i < n_held; i++)
		if (held[i] == s)
			held[i] = NULL;
}

static const struct stream_ops hold_ops = { .closed = hold_closed };

static void
hold_accept(struct worker *wk, struct stream *s, void *arg)
{
	(void)wk;
	(void)arg;
	if (n_held == HOARD_MAX) {
		stream_abort(s);
		return;
	}
	s->ops = &hold_ops;
	held[n_held++] = s;
}

/* The scripted application aborts its connection; the RST is sent and thrown away. */
static void
app_abort(struct tp_app *a)
{
	stream_abort(a->s);
	a->s = NULL;
	tp_pass();
	tp_drain();
}

/* Sequence number of stream offset off. */
static uint32_t
sq(const struct tp_conn *pc, uint32_t off)
{
	return pc->iss + 1 + off;
}

/* Stream bytes [off, off + len) of the reference pattern. */
static void
put(struct tp_conn *pc, uint32_t off, uint16_t len)
{
	static uint8_t buf[2048];

	for (unsigned i = 0; i < len; i++)
		buf[i] = tp_pattern((uint64_t)off + i);
	tp_send(pc, TP_ACK | TP_PSH, sq(pc, off), pc->rcv_nxt, buf, len);
	if ((int32_t)(sq(pc, off) + len - pc->snd_nxt) > 0)
		pc->snd_nxt = sq(pc, off) + len;
}

/* The gateway's latest segment to pc in what it sent now; false when it sent pc nothing. */
static bool
last_to(const struct tp_conn *pc, struct tp_seg *out)
{
	unsigned n = tp_recv(segs, TP_MAX_SEGS);
	bool found = false;

	for (unsigned i = 0; i < n; i++)
		if (segs[i].sport == pc->gport && segs[i].dport == pc->pport) {
			*out = segs[i];
			found = true;
		}
	return found;
}

/*
 * A SYN from a new peer port, offering window wnd (raw field): true with the
 * connection established, false when refused (RST).
 */
static bool
try_open_wnd(struct tp_conn *pc, uint16_t gport, uint32_t iss, uint16_t wnd)
{
	struct tp_seg s;

	tp_conn_init(pc, gport, iss);
	pc->wnd = wnd;
	tp_send_syn(pc);
	unsigned got = tp_recv(segs, TP_MAX_SEGS);
	if (got != 1)
		fail_msg("the SYN got %u answers: first flags 0x%x %u->%u, second flags 0x%x %u->%u (%u free)", got,
			 segs[0].flags, segs[0].sport, segs[0].dport, segs[1].flags, segs[1].sport, segs[1].dport,
			 pool_free());
	s = segs[0];
	if (s.flags & TP_RST) {
		assert_int_equal(s.flags, TP_RST | TP_ACK);
		assert_int_equal(s.ack, iss + 1);
		return false;
	}
	assert_int_equal(s.flags, TP_SYN | TP_ACK);
	pc->gw_iss = s.seq;
	pc->rcv_nxt = s.seq + 1;
	pc->ts_recent = s.tsval;
	tp_ack(pc);
	tp_drain();
	return true;
}

static bool
try_open(struct tp_conn *pc, uint16_t gport, uint32_t iss)
{
	return try_open_wnd(pc, gport, iss, 65535);
}

/* Reset every connection on the gateway's port lport, a batch at a time (the RSTs are thrown away). */
static void
reset_port(uint16_t lport)
{
	while (tcp_clear(w, lport, 32, true) != 0) {
		tp_pass();
		tp_drain();
	}
	tp_pass();
	tp_drain();
	n_held = 0;
}

/* The every-other-byte flood on pc: FLOOD_SEGS 1-byte segments at odd offsets; each is answered. */
static void
flood(struct tp_conn *pc)
{
	struct tp_seg a;

	for (unsigned i = 0; i < FLOOD_SEGS; i++) {
		put(pc, 2 * i + 1, 1);
		check_pool("out-of-order flood", i);
		if (i % 500 == 0) {
			if (!last_to(pc, &a))
				fail_msg("no ACK to flood segment %u (%u buffers free)", i, pool_free());
			assert_int_equal(a.ack, sq(pc, 0));     /* the hole at offset 0 is still open */
		} else if (i % 32 == 0) {
			tp_drain();
		}
	}
	tp_drain();
}

/* A second connection gets its SYN-ACK and the ACK of its data. */
static void
second_connection_works(void)
{
	struct tp_conn pc2;
	struct tp_seg a;

	tp_app_reset(&tp_app2);
	tp_accept_app = &tp_app2;
	assert_true(try_open(&pc2, TP_APP_PORT, 7700000));
	assert_non_null(tp_app2.s);
	tp_data(&pc2, "HELO x\r\n", 8);
	assert_true(last_to(&pc2, &a));
	assert_int_equal(a.ack, pc2.snd_nxt);
	assert_int_equal(tp_app2.len, 8);
	app_abort(&tp_app2);
}

/* Fill every hole with full segments in order: the app must read exactly the pattern. */
static void
fill_and_check(struct tp_conn *pc, uint32_t len)
{
	struct tp_seg a;

	for (uint32_t off = 0; off < len; off += 1000) {
		put(pc, off, (uint16_t)RTE_MIN(1000u, len - off));
		assert_true(last_to(pc, &a));
		assert_int_equal(a.ack, sq(pc, RTE_MIN(off + 1000, len)));
	}
	assert_int_equal(tp_app1.len, len);
	for (uint32_t i = 0; i < len; i++)
		if (tp_app1.buf[i] != tp_pattern(i))
			fail_msg("byte %u of the stream is 0x%02x, expected 0x%02x", i, tp_app1.buf[i], tp_pattern(i));
}

static void
open_reader(struct tp_conn *pc, uint32_t iss)
{
	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	assert_true(try_open(pc, TP_APP_PORT, iss));
	assert_non_null(tp_app1.s);
}

/*
 * The flood with the default configuration: reass_limit counts buffers, so
 * the out-of-order queue stops at 120 segments (262,144 / 2,176).
 */
static void
test_ooo_flood_default(void **state)
{
	(void)state;
	struct tp_conn pc;
	unsigned before = pool_free();
	uint64_t dropped = ctr("tcp.rx_ooo_dropped") + ctr("tcp.rx_queue_capped");

	open_reader(&pc, 5000000);
	flood(&pc);
	unsigned during = pool_free();
	print_message("out-of-order flood, defaults: %u buffers free before, %u after %u segments\n",
		      before, during, FLOOD_SEGS);
	if (during + 200 < before)
		fail_msg("one connection took %u of %u buffers with %u bytes of payload",
			 before - during, w->pool->size, FLOOD_SEGS);
	assert_true(ctr("tcp.rx_ooo_dropped") + ctr("tcp.rx_queue_capped") >= dropped + FLOOD_SEGS - 200);
	second_connection_works();
	fill_and_check(&pc, 2 * FLOOD_SEGS + 1000);
	app_abort(&tp_app1);
	assert_true(pool_free() + 32 >= before);
}

/*
 * The flood where the operator raised reass_limit: the connection's share
 * of the pool (tcp.conn_pool_share, 2 % = 163 buffers) is the bound. The
 * first in-order segment finds the connection at its cap and prunes the
 * newest out-of-order segment to make room.
 */
static void
test_ooo_flood_cap(void **state)
{
	(void)state;
	struct tp_conn pc;
	unsigned before = pool_free(), cap = w->pool->size * 2 / 100;
	uint64_t capped = ctr("tcp.rx_queue_capped"), pruned = ctr("tcp.rx_ooo_pruned");

	tp_cfg.tcp.reass_limit = 16777216;
	open_reader(&pc, 6000000);
	flood(&pc);
	unsigned during = pool_free();
	print_message("out-of-order flood, reass_limit 16 MiB: %u buffers free before, %u after %u segments "
		      "(cap %u)\n", before, during, FLOOD_SEGS, cap);
	if (during + cap + 16 < before)
		fail_msg("one connection took %u of %u buffers (its cap is %u)", before - during,
			 w->pool->size, cap);
	assert_true(ctr("tcp.rx_queue_capped") >= capped + FLOOD_SEGS - cap - 16);
	second_connection_works();
	fill_and_check(&pc, 2 * FLOOD_SEGS + 1000);
	assert_true(ctr("tcp.rx_ooo_pruned") > pruned);
	app_abort(&tp_app1);
	assert_true(pool_free() + 32 >= before);
}

/*
 * Full segments in order on pc until the gateway stops taking them (at
 * most max): returns how many it acknowledged. Every segment is answered.
 */
static unsigned
hoard(struct tp_conn *pc, unsigned max)
{
	static uint8_t buf[1448];
	struct tp_seg a;
	unsigned n = 0;

	for (; n < max; n++) {
		tp_send(pc, TP_ACK, pc->snd_nxt, pc->rcv_nxt, buf, sizeof(buf));
		check_pool("hoarding", n);
		if (!last_to(pc, &a))
			fail_msg("no ACK to hoarding segment %u (%u buffers free)", n, pool_free());
		if (a.ack != pc->snd_nxt + sizeof(buf))
			break;          /* dropped (window full or pool pressure), but answered */
		pc->snd_nxt += sizeof(buf);
	}
	return n;
}

/* The gateway answers an ARP request for its address (with the pool at its reserve). */
static bool
arp_answered(void)
{
	static const struct rte_ether_addr bcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct rte_mbuf *rx[32];
	bool replied = false;

	tp_send_arp_request(&bcast);
	unsigned n = rte_eth_rx_burst(tp_gw.ports[0].port_id, 0, rx, 32);
	for (unsigned i = 0; i < n; i++) {
		struct rte_ether_hdr *e = rte_pktmbuf_mtod(rx[i], struct rte_ether_hdr *);
		const struct rte_arp_hdr *r = (const struct rte_arp_hdr *)(e + 1);
		replied |= e->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP) &&
			   r->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
		rte_pktmbuf_free(rx[i]);
	}
	return replied;
}

/* A reading connection still moves len bytes (the window may be small). */
static void
reader_works(uint32_t len)
{
	struct tp_conn pc;

	open_reader(&pc, 90000000);
	fill_and_check(&pc, len);
	app_abort(&tp_app1);
}

/*
 * Connections to port that hoard buffers (the peer offers window wnd): each
 * takes at most most_segs segments until the pool is under pressure (below 25 %
 * free), then at most 8 more; a reading connection still works then. Only
 * when the pool is down to its reserve (5 %) are new connections refused
 * (RST). The pool never goes below the reserve, ACKs keep coming, and it all
 * comes back when the connections go.
 */
static void
hoarding(const char *label, uint16_t port, uint16_t wnd, unsigned most_segs)
{
	static struct tp_conn pcs[HOARD_MAX];
	struct tp_conn probe;
	unsigned before = pool_free(), low = pool_free(), n = 0, refused_at = 0, most = 0, at_pressure = 0;
	unsigned watermark = w->pool->size * 25 / 100, reserve = w->pool->size * 5 / 100;
	uint64_t refused = ctr("tcp.pool_pressure_refused"), pressure = ctr("tcp.pool_pressure");

	for (; n < HOARD_MAX; n++) {
		unsigned free_now = pool_free();
		if (!try_open_wnd(&pcs[n], port, 8000000 + n * 100000, wnd)) {
			refused_at = free_now;
			break;
		}
		unsigned took = hoard(&pcs[n], 400);
		most = RTE_MAX(most, took);
		low = RTE_MIN(low, pool_free());
		if (at_pressure == 0 && pool_free() + 100 < watermark) {
			at_pressure = n + 1;            /* under pressure for good (packing is done) */
			reader_works(20000);            /* with a small window */
		}
	}
	print_message("%s: %u buffers free before, lowest %u; under pressure after %u connections, the first "
		      "refusal after %u (at %u free; watermark %u, reserve %u); at most %u segments taken by one\n",
		      label, before, low, at_pressure, n, refused_at, watermark, reserve, most);
	if (n == HOARD_MAX)
		fail_msg("%s: %u connections and no refusal: %u of %u buffers free", label, n, pool_free(),
			 w->pool->size);
	assert_true(at_pressure != 0 && at_pressure < n);
	assert_true(ctr("tcp.pool_pressure") > pressure);
	assert_true(most <= most_segs);
	assert_true(refused_at < reserve + 8);               /* refused only at the reserve */
	assert_int_equal(ctr("tcp.pool_pressure_refused"), refused + 1);
	assert_true(low + 16 >= reserve);
	/* Down at the reserve every connection still gets its ACKs, and ARP is answered. */
	for (unsigned i = 0; i < n; i += 7)
		hoard(&pcs[i], 2);
	assert_true(arp_answered());
	assert_true(pool_free() + 16 >= reserve);
	/* The connections go: the pool is back, and so are new connections. */
	reset_port(port);
	unsigned after = pool_free();
	print_message("%s: %u buffers free after the connections closed\n", label, after);
	assert_true(after + 32 >= before);
	tp_accept_app = NULL;
	assert_true(try_open(&probe, port, 99000000));
	reset_port(port);
	reader_works(20000);
}

/* Connections whose application never reads: their receive queues fill (2 % = 163 buffers each). */
static void
test_rcv_queue_hoarding(void **state)
{
	(void)state;
	if (tcp_listen(w, POOL_APP_PORT, hold_accept, NULL) != 0)
		fail_msg("cannot listen on %u", POOL_APP_PORT);
	hoarding("receive-queue hoarding", POOL_APP_PORT, 65535, w->pool->size * 2 / 100);
}

/*
 * A peer that never reads (window 0) from the echo service: echo moves what
 * arrives to its send queue (up to tcp.snd_buffer, 128 buffers), then stops
 * reading, and the receive queue fills too; under pressure the send queue
 * is held as well (tcp.tx_pool_limited).
 */
static void
test_snd_queue_hoarding(void **state)
{
	(void)state;
	uint64_t limited = ctr("tcp.tx_pool_limited");

	hoarding("send-queue hoarding (echo, window 0)", 7, 0,
		 w->pool->size * 2 / 100 + tp_cfg.tcp.snd_buffer / 1448 + 8);
	assert_true(ctr("tcp.tx_pool_limited") > limited);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TP_TEST(test_ooo_flood_default),
		TP_TEST(test_ooo_flood_cap),
		TP_TEST(test_rcv_queue_hoarding),
		TP_TEST(test_snd_queue_hoarding),
	};
	return cmocka_run_group_tests(tests, tp_setup, NULL);
}
