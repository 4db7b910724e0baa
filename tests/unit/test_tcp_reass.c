/*
 * test_tcp_reass.c — TCP receive-side reassembly driven by a scripted peer
 * (tcp_peer.h) against a reading application (tp_app1 on TP_APP_PORT, which
 * reads everything into a buffer) and the echo service: in-order data, holes
 * filled later, every kind of overlap, sequence numbers wrapping past 2^32,
 * the tcp.reass_limit memory bound, the SACK blocks of the duplicate ACKs
 * (RFC 2018), a FIN that arrives before the data in front of it, and the
 * timestamp echoed while a hole is open (RFC 7323 §4.3). The bytes the
 * application gets must be exactly the peer's stream. Tests marked
 * "regression" pin RFC behaviour the gateway once got wrong.
 */
#include "tcp_peer.h"

static struct tp_seg segs[TP_MAX_SEGS];

/* A connection from the peer (initial sequence number iss) to the reading app. */
static void
open_reader(struct tp_conn *pc, uint32_t iss)
{
	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_open(pc, TP_APP_PORT, iss, NULL);
	assert_non_null(tp_app1.s);
	assert_string_equal(tp_state(pc), "ESTABLISHED");
}

/* Sequence number of stream offset off. */
static uint32_t
sq(const struct tp_conn *pc, uint32_t off)
{
	return pc->iss + 1 + off;
}

/* Stream bytes [off, off + len) from the peer, with extra flags (FIN). */
static void
put(struct tp_conn *pc, uint32_t off, uint16_t len, uint8_t extra)
{
	static uint8_t buf[2048];

	assert_true(len <= 1448);               /* the MSS with timestamps: IP packets within the MTU */
	for (unsigned i = 0; i < len; i++)
		buf[i] = tp_pattern((uint64_t)off + i);
	tp_send(pc, TP_ACK | TP_PSH | extra, sq(pc, off), pc->rcv_nxt, buf, len);
	uint32_t end = sq(pc, off) + len + !!(extra & TP_FIN);
	if ((int32_t)(end - pc->snd_nxt) > 0)
		pc->snd_nxt = end;
}

/*
 * The gateway's answer: one or more pure ACKs (an ACK, maybe a window update
 * after the app read), all acknowledging the same byte. Returns the first.
 */
#define acks() acks_at(__LINE__)
static struct tp_seg *
acks_at(int line)
{
	unsigned n = tp_recv(segs, TP_MAX_SEGS);

	if (n == 0)
		fail_msg("the gateway sent no ACK (line %d)", line);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(segs[i].flags, TP_ACK);
		assert_int_equal(segs[i].len, 0);
		assert_int_equal(segs[i].ack, segs[0].ack);
	}
	return &segs[0];
}

/* The gateway acknowledged stream offset off (and SYN): returns that ACK. */
#define expect_ack(pc, off) expect_ack_at(pc, off, __LINE__)
static struct tp_seg *
expect_ack_at(const struct tp_conn *pc, uint32_t off, int line)
{
	struct tp_seg *a = acks_at(line);
	if (a->ack != sq(pc, off))
		fail_msg("ACK at stream offset %d, expected %u (line %d)", (int)(a->ack - sq(pc, 0)), off, line);
	return a;
}

/* The SACK blocks of a, as stream offsets, must be exactly {lo, hi} pairs (first first). */
static void
expect_sack(const struct tp_conn *pc, const struct tp_seg *a, unsigned n, const uint32_t (*blk)[2])
{
	char got[256] = "";
	size_t k = 0;

	for (unsigned i = 0; i < a->n_sack; i++)
		k += (size_t)snprintf(got + k, sizeof(got) - k, " [%d,%d)", (int)(a->sack[i][0] - sq(pc, 0)),
				      (int)(a->sack[i][1] - sq(pc, 0)));
	if (a->n_sack != n)
		fail_msg("%u SACK blocks (%s ), expected %u", a->n_sack, got, n);
	for (unsigned i = 0; i < n; i++)
		if (a->sack[i][0] != sq(pc, blk[i][0]) || a->sack[i][1] != sq(pc, blk[i][1]))
			fail_msg("SACK block %u is not [%u,%u): got%s", i, blk[i][0], blk[i][1], got);
}

/* The first block must be blk0; the others, in any order, exactly rest[]. */
static void
expect_sack_first(const struct tp_conn *pc, const struct tp_seg *a, const uint32_t blk0[2],
		  unsigned n_rest, const uint32_t (*rest)[2])
{
	assert_int_equal(a->n_sack, 1 + n_rest);
	uint32_t first[1][2] = { { blk0[0], blk0[1] } };
	struct tp_seg one = *a;
	one.n_sack = 1;
	expect_sack(pc, &one, 1, first);
	for (unsigned i = 0; i < n_rest; i++) {
		bool found = false;
		for (unsigned j = 1; j < a->n_sack; j++)
			found |= a->sack[j][0] == sq(pc, rest[i][0]) && a->sack[j][1] == sq(pc, rest[i][1]);
		if (!found)
			fail_msg("no SACK block [%u,%u) after the first", rest[i][0], rest[i][1]);
	}
}

/* What the app has read is exactly the stream's first len bytes. */
static void
expect_delivered(uint32_t len)
{
	if (tp_app1.len != len)
		fail_msg("the application read %zu bytes, expected %u", tp_app1.len, len);
	for (uint32_t i = 0; i < len; i++)
		if (tp_app1.buf[i] != tp_pattern(i))
			fail_msg("byte %u delivered as 0x%02x, expected 0x%02x", i, tp_app1.buf[i], tp_pattern(i));
}

/* End the peer's stream at off: FIN, CLOSE_WAIT, the app sees EOF after exactly off bytes. */
static void
finish(struct tp_conn *pc, uint32_t off)
{
	pc->snd_nxt = sq(pc, off);
	tp_fin_ack(pc, pc->rcv_nxt);
	struct tp_seg *a = acks();
	assert_int_equal(a->ack, sq(pc, off) + 1);
	assert_string_equal(tp_state(pc), "CLOSE_WAIT");
	assert_true(tp_app1.eof);
	expect_delivered(off);
}

/* ---- in order ---- */

static void
test_in_order(void **state)
{
	(void)state;
	struct tp_conn pc;
	uint64_t ooo = tp_ctr(STATS_TCP_RX_OOO_SEGMENTS), rx = tp_ctr(STATS_TCP_RX_BYTES);

	open_reader(&pc, 100000);
	for (uint32_t off = 0; off < 5500; off += 1000) {
		uint16_t len = (uint16_t)RTE_MIN(1000u, 5500 - off);
		put(&pc, off, len, 0);
		struct tp_seg *a = expect_ack(&pc, off + len);
		assert_int_equal(a->n_sack, 0);
	}
	expect_delivered(5500);
	assert_int_equal(tp_ctr(STATS_TCP_RX_OOO_SEGMENTS), ooo);
	assert_int_equal(tp_ctr(STATS_TCP_RX_BYTES), rx + 5500);
	/* Old data again (an exact duplicate): acknowledged, not delivered twice. */
	put(&pc, 2000, 1000, 0);
	expect_ack(&pc, 5500);
	/* Partly old, partly new: only the new part is delivered. */
	put(&pc, 5000, 1000, 0);
	expect_ack(&pc, 6000);
	finish(&pc, 6000);
}

/* Through the echo service: what comes back is the stream. */
static void
test_in_order_echo(void **state)
{
	(void)state;
	struct tp_conn pc;
	static uint8_t back[8192];

	tp_open(&pc, 7, 200000, NULL);
	pc.sink = back;
	pc.sink_size = sizeof(back);
	put(&pc, 0, 1000, 0);
	put(&pc, 2000, 1000, 0);                /* out of order */
	put(&pc, 1000, 1000, 0);
	put(&pc, 3000, 1000, 0);
	for (int i = 0; i < 10 && pc.bytes < 4000; i++) {
		unsigned n = tp_recv(segs, TP_MAX_SEGS);
		tp_absorb_all(&pc, segs, n);
		tp_ack(&pc);
		tp_tick(1);
	}
	assert_int_equal(pc.bytes, 4000);
	for (unsigned i = 0; i < 4000; i++)
		assert_int_equal(back[i], tp_pattern(i));
}

/* ---- holes ---- */

static void
test_hole_filled_later(void **state)
{
	(void)state;
	struct tp_conn pc;
	uint64_t ooo = tp_ctr(STATS_TCP_RX_OOO_SEGMENTS), ooob = tp_ctr(STATS_TCP_RX_OOO_BYTES);
	static const uint32_t b1[][2] = { { 2000, 3000 } }, b2[][2] = { { 2000, 4000 } };

	open_reader(&pc, 300000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2000, 1000, 0);
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b1);
	put(&pc, 3000, 1000, 0);
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b2);
	expect_delivered(1000);
	assert_int_equal(tp_ctr(STATS_TCP_RX_OOO_SEGMENTS), ooo + 2);
	assert_int_equal(tp_ctr(STATS_TCP_RX_OOO_BYTES), ooob + 2000);
	put(&pc, 1000, 1000, 0);
	struct tp_seg *a = expect_ack(&pc, 4000);
	assert_int_equal(a->n_sack, 0);
	expect_delivered(4000);
	finish(&pc, 4000);
}

/* ---- overlaps (a hole at [1000, 2000) keeps everything after it queued) ---- */

/* The new segment overlaps the front of a queued one: its tail is trimmed. */
static void
test_overlap_front(void **state)
{
	(void)state;
	struct tp_conn pc;
	static const uint32_t b1[][2] = { { 2000, 3000 } }, b2[][2] = { { 1500, 3000 } };

	open_reader(&pc, 400000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2000, 1000, 0);
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b1);
	put(&pc, 1500, 1000, 0);                /* [1500, 2500) */
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b2);
	put(&pc, 1000, 1000, 0);                /* fills [1000, 1500), overlaps [1500, 2000) */
	expect_ack(&pc, 3000);
	expect_delivered(3000);
	finish(&pc, 3000);
}

/*
 * Regression (fixed): a new out-of-order segment whose front overlaps the back of a queued
 * one must keep the queued bytes (the union is received). tcp_ooo_insert()
 * finds the first queued segment ending after the new one's start and then,
 * in its "segments we cover completely" loop, frees any queued segment that
 * ends before the new one does, even one that starts before it: the bytes
 * between the two starts are thrown away (SACKed data reneged), and the ACK
 * stops short when the hole is filled. Input: hole at [1000,2000), queued
 * [2000,3000), then [2500,3500), then [1000,2000). Expected: SACK [2000,3500)
 * and ACK 3500 at the end. Actual: SACK [2500,3500), ACK 2000.
 */
static void
test_overlap_back(void **state)
{
	(void)state;
	struct tp_conn pc;
	static const uint32_t b1[][2] = { { 2000, 3000 } };

	open_reader(&pc, 500000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2000, 1000, 0);
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b1);
	put(&pc, 2500, 1000, 0);                /* [2500, 3500) */
	struct tp_seg *a = expect_ack(&pc, 1000);
	print_message("  SACK after [2500,3500) joins [2000,3000): [%d,%d)\n",
		      (int)(a->sack[0][0] - sq(&pc, 0)), (int)(a->sack[0][1] - sq(&pc, 0)));
	put(&pc, 1000, 1000, 0);
	expect_ack(&pc, 3500);                  /* regression: was 2000 */
	expect_delivered(3500);
	finish(&pc, 3500);
}

/*
 * Regression (same cause as test_overlap_back) (fixed): a segment starting inside one queued
 * segment and covering the next. Input: hole at [1000,2000), queued
 * [2000,2300) and [2600,2900), then [2200,3400), then [1000,2000). Expected
 * ACK 3400; actual 2000 ([2000,2300) was freed, [2000,2200) lost).
 */
static void
test_overlap_back_several(void **state)
{
	(void)state;
	struct tp_conn pc;

	open_reader(&pc, 550000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2000, 300, 0);                 /* [2000, 2300) */
	expect_ack(&pc, 1000);
	put(&pc, 2600, 300, 0);                 /* [2600, 2900) */
	expect_ack(&pc, 1000);
	put(&pc, 2200, 1200, 0);                /* [2200, 3400): over the end of one, all of the other */
	expect_ack(&pc, 1000);
	put(&pc, 1000, 1000, 0);
	expect_ack(&pc, 3400);                  /* regression: was 2000 ([2000, 2200) was dropped) */
	expect_delivered(3400);
	finish(&pc, 3400);
}

/* A new segment covering several queued ones replaces them. */
static void
test_overlap_covering(void **state)
{
	(void)state;
	struct tp_conn pc;
	static const uint32_t f[2] = { 3000, 3300 }, r[][2] = { { 2000, 2300 }, { 2500, 2800 } };
	static const uint32_t all[][2] = { { 1900, 3300 } };

	open_reader(&pc, 600000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2000, 300, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2500, 300, 0);
	expect_ack(&pc, 1000);
	put(&pc, 3000, 300, 0);
	expect_sack_first(&pc, expect_ack(&pc, 1000), f, 2, r);
	put(&pc, 1900, 1400, 0);                /* [1900, 3300) over all three */
	expect_sack(&pc, expect_ack(&pc, 1000), 1, all);
	put(&pc, 1900, 1400, 0);                /* and again */
	expect_sack(&pc, expect_ack(&pc, 1000), 1, all);
	put(&pc, 1000, 900, 0);
	expect_ack(&pc, 3300);
	expect_delivered(3300);
	finish(&pc, 3300);
}

/* Exact duplicates of a queued segment: kept once. */
static void
test_overlap_duplicate(void **state)
{
	(void)state;
	struct tp_conn pc;
	static const uint32_t b1[][2] = { { 2000, 3000 } };
	uint64_t ooo = tp_ctr(STATS_TCP_RX_OOO_SEGMENTS), dropped = tp_ctr(STATS_TCP_RX_OOO_DROPPED);

	open_reader(&pc, 700000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	for (int i = 0; i < 3; i++) {
		put(&pc, 2000, 1000, 0);
		expect_sack(&pc, expect_ack(&pc, 1000), 1, b1);
	}
	/* One queued; the two exact duplicates are dropped (counted as such, like Linux's TCPOFODrop). */
	assert_int_equal(tp_ctr(STATS_TCP_RX_OOO_SEGMENTS), ooo + 1);
	assert_int_equal(tp_ctr(STATS_TCP_RX_OOO_DROPPED), dropped + 2);
	put(&pc, 1000, 1000, 0);
	expect_ack(&pc, 3000);
	expect_delivered(3000);
	finish(&pc, 3000);
}

/*
 * Regression (fixed): a segment entirely inside a queued one must change nothing. Its tail
 * trim (end - queued start) is larger than the segment, rte_pktmbuf_trim()
 * refuses it, and the segment is queued as it is, in front of the one that
 * contains it: the queue is no longer sorted, the SACK blocks overlap, and
 * tcp_ooo_pull() stops at the misplaced head. Input: hole at [1000,2000),
 * queued [2000,3400), then [2500,3000), then [1000,2000). Expected: one SACK
 * block [2000,3400) throughout, ACK 3400 at the end. Actual: SACK blocks
 * [2000,3400) [2500,3000) (the queue holds [2500,3000) ahead of
 * [2000,3400)), ACK 2000.
 */
static void
test_overlap_inside(void **state)
{
	(void)state;
	struct tp_conn pc;
	static const uint32_t b1[][2] = { { 2000, 3400 } };

	open_reader(&pc, 800000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2000, 1400, 0);
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b1);
	put(&pc, 2500, 500, 0);
	struct tp_seg *a = expect_ack(&pc, 1000);
	for (unsigned i = 0; i < a->n_sack; i++)
		print_message("  SACK block %u after [2500,3000) inside [2000,3400): [%d,%d)\n", i,
			      (int)(a->sack[i][0] - sq(&pc, 0)), (int)(a->sack[i][1] - sq(&pc, 0)));
	put(&pc, 1000, 1000, 0);
	expect_ack(&pc, 3400);                  /* regression: was 2000 */
	expect_delivered(3400);
	finish(&pc, 3400);
}

/* ---- sequence numbers wrapping past 2^32 ---- */

static void
test_wrap_around(void **state)
{
	(void)state;
	struct tp_conn pc;
	/* Stream offset 2500 is sequence number 0. */
	const uint32_t iss = 0xffffffffu - 2500;
	static const uint32_t b1[][2] = { { 2000, 3000 } }, b2[][2] = { { 2000, 4000 } };
	static const uint32_t b3[][2] = { { 4500, 5000 } }, r3[][2] = { { 2000, 4000 } };

	open_reader(&pc, iss);
	assert_int_equal(sq(&pc, 2500), 0);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2000, 1000, 0);                /* across the wrap, ahead of the hole */
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b1);
	put(&pc, 3000, 1000, 0);                /* after the wrap */
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b2);
	put(&pc, 4500, 500, 0);
	expect_sack_first(&pc, expect_ack(&pc, 1000), b3[0], 1, r3);
	put(&pc, 1000, 1000, 0);                /* fills the hole before the wrap */
	struct tp_seg *a = expect_ack(&pc, 4000);
	static const uint32_t b4[][2] = { { 4500, 5000 } };
	expect_sack(&pc, a, 1, b4);
	put(&pc, 3500, 1000, 0);                /* overlaps the delivered data and the queued block */
	expect_ack(&pc, 5000);
	expect_delivered(5000);
	finish(&pc, 5000);
}

/* ---- the memory bound ---- */

/*
 * Beyond tcp.reass_limit out-of-order data is dropped; retransmissions
 * complete the stream. The limit counts the buffers the segments hold
 * (truesize: one packet buffer each), not their payload.
 */
static void
test_reass_limit(void **state)
{
	(void)state;
	struct tp_conn pc;
	uint64_t ooo = tp_ctr(STATS_TCP_RX_OOO_SEGMENTS), ooob = tp_ctr(STATS_TCP_RX_OOO_BYTES);
	uint64_t dropped = tp_ctr(STATS_TCP_RX_OOO_DROPPED);
	static const uint32_t held[][2] = { { 2000, 10000 } };

	tp_cfg.tcp.reass_limit = 8 * RTE_MBUF_DEFAULT_BUF_SIZE + 100;
	open_reader(&pc, 900000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	for (uint32_t off = 2000; off < 12000; off += 1000) {
		put(&pc, off, 1000, 0);
		expect_ack(&pc, 1000);
	}
	/* Ten segments arrived out of order; eight buffers fit, two are dropped. */
	assert_int_equal(tp_ctr(STATS_TCP_RX_OOO_SEGMENTS), ooo + 8);
	assert_int_equal(tp_ctr(STATS_TCP_RX_OOO_BYTES), ooob + 8000);
	assert_int_equal(tp_ctr(STATS_TCP_RX_OOO_DROPPED), dropped + 2);
	put(&pc, 11000, 1000, 0);               /* a dropped one again: still no room */
	struct tp_seg *a = expect_ack(&pc, 1000);
	expect_sack(&pc, a, 1, held);
	put(&pc, 1000, 1000, 0);
	expect_ack(&pc, 10000);
	expect_delivered(10000);
	/* The peer retransmits what was dropped. */
	put(&pc, 10000, 1000, 0);
	expect_ack(&pc, 11000);
	put(&pc, 11000, 1000, 0);
	expect_ack(&pc, 12000);
	finish(&pc, 12000);
}

/* ---- SACK blocks (RFC 2018 §4) ---- */

static void
test_sack_blocks(void **state)
{
	(void)state;
	struct tp_conn pc;

	open_reader(&pc, 1000000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);

	static const uint32_t a1[][2] = { { 2000, 3000 } };
	put(&pc, 2000, 1000, 0);
	expect_sack(&pc, expect_ack(&pc, 1000), 1, a1);

	static const uint32_t f2[2] = { 4000, 5000 }, r2[][2] = { { 2000, 3000 } };
	put(&pc, 4000, 1000, 0);
	expect_sack_first(&pc, expect_ack(&pc, 1000), f2, 1, r2);

	static const uint32_t f3[2] = { 6000, 7000 }, r3[][2] = { { 2000, 3000 }, { 4000, 5000 } };
	put(&pc, 6000, 1000, 0);
	expect_sack_first(&pc, expect_ack(&pc, 1000), f3, 2, r3);

	/* A segment in the middle: the first block is where it landed (merged). */
	static const uint32_t f4[2] = { 2000, 5000 }, r4[][2] = { { 6000, 7000 } };
	put(&pc, 3000, 1000, 0);
	expect_sack_first(&pc, expect_ack(&pc, 1000), f4, 1, r4);

	/* An older range extended: first again. */
	static const uint32_t f5[2] = { 6000, 7500 }, r5[][2] = { { 2000, 5000 } };
	put(&pc, 7000, 500, 0);
	expect_sack_first(&pc, expect_ack(&pc, 1000), f5, 1, r5);

	/* Part of the hole: ACK moves, the blocks stay beyond it. */
	static const uint32_t f6[2] = { 6000, 7500 };
	put(&pc, 1000, 1000, 0);
	struct tp_seg *a = expect_ack(&pc, 5000);
	expect_sack_first(&pc, a, f6, 0, NULL);

	/* The last hole: no SACK any more. */
	put(&pc, 5000, 1000, 0);
	a = expect_ack(&pc, 7500);
	assert_int_equal(a->n_sack, 0);
	expect_delivered(7500);
	finish(&pc, 7500);
}

/*
 * Regression (fixed): RFC 2018 §4: "The first SACK block ... MUST specify the contiguous
 * block of data containing the segment which triggered this ACK". With more
 * queued ranges than fit (3 with timestamps), tcp_opt_sack() collects the
 * first three in sequence order and stops, so when the newest segment is in
 * the 4th range or later it is not reported at all and the first block is
 * the lowest range. Input: hole at [1000,2000), then [2000,2500), [3000,3500),
 * [4000,4500), [5000,5500). Expected first block of the last ACK:
 * [5000,5500). Actual: [2000,2500).
 */
static void
test_sack_first_block_many_holes(void **state)
{
	(void)state;
	struct tp_conn pc;

	open_reader(&pc, 1100000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	for (uint32_t off = 2000; off <= 5000; off += 1000) {
		put(&pc, off, 500, 0);
		struct tp_seg *a = expect_ack(&pc, 1000);
		assert_true(a->n_sack >= 1);
		print_message("  after [%u,%u): first SACK block [%d,%d) of %u\n", off, off + 500,
			      (int)(a->sack[0][0] - sq(&pc, 0)), (int)(a->sack[0][1] - sq(&pc, 0)), a->n_sack);
		uint32_t first[2] = { off, off + 500 };
		struct tp_seg one = *a;
		one.n_sack = 1;
		expect_sack_first(&pc, &one, first, 0, NULL);   /* regression: was fails for [5000,5500) */
	}
}

/* ---- FIN ---- */

/*
 * Regression (fixed): a FIN that arrives with out-of-order data must take effect once the
 * hole before it is filled. tcp_fin() records it (ooo_fin); when the filling
 * segment arrives, tcp_ooo_pull() moves the queued data and clears ooo_fin
 * ("the FIN is now in order: tcp_fin handles it"), but tcp_input_conn() then
 * tests that very flag before calling tcp_fin(), so the FIN is forgotten: no
 * ACK of it, no CLOSE_WAIT, no EOF until the peer retransmits it. Input:
 * [0,1000), then [2000,3000)+FIN, then [1000,2000). Expected: ACK 3001,
 * CLOSE_WAIT, EOF after 3000 bytes. Actual: ACK 3000, ESTABLISHED, no EOF.
 */
static void
test_fin_before_hole_filled(void **state)
{
	(void)state;
	struct tp_conn pc;
	static const uint32_t b1[][2] = { { 2000, 3000 } };

	open_reader(&pc, 1200000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	put(&pc, 2000, 1000, TP_FIN);
	expect_sack(&pc, expect_ack(&pc, 1000), 1, b1);
	assert_string_equal(tp_state(&pc), "ESTABLISHED");      /* not yet */
	assert_false(tp_app1.eof);
	put(&pc, 1000, 1000, 0);
	struct tp_seg *a = acks();
	print_message("  after the hole is filled: ACK at offset %d, %s, eof %d\n",
		      (int)(a->ack - sq(&pc, 0)), tp_state(&pc), tp_app1.eof);
	assert_int_equal(a->ack, sq(&pc, 3000) + 1);            /* regression: was 3000 */
	assert_string_equal(tp_state(&pc), "CLOSE_WAIT");
	assert_true(tp_app1.eof);
	expect_delivered(3000);
}

/* A bare FIN ahead of a hole (nothing queued): it takes effect once the hole is filled. */
static void
test_bare_fin_before_hole_filled(void **state)
{
	(void)state;
	struct tp_conn pc;

	open_reader(&pc, 1300000);
	put(&pc, 0, 1000, 0);
	expect_ack(&pc, 1000);
	tp_send(&pc, TP_FIN | TP_ACK, sq(&pc, 2000), pc.rcv_nxt, NULL, 0);
	expect_ack(&pc, 1000);
	assert_string_equal(tp_state(&pc), "ESTABLISHED");
	assert_false(tp_app1.eof);
	put(&pc, 1000, 1000, 0);
	struct tp_seg *a = acks();
	assert_int_equal(a->ack, sq(&pc, 2000) + 1);
	assert_string_equal(tp_state(&pc), "CLOSE_WAIT");
	assert_true(tp_app1.eof);
	expect_delivered(2000);
}

/* ---- timestamps while a hole is open ---- */

/*
 * RFC 7323 §4.3: TS.Recent takes the TSval of a segment only when
 * SEG.SEQ <= Last.ACK.sent, so that while a hole is open the duplicate ACKs
 * echo the timestamp of the last in-order segment (example (C) there), and
 * the segment that fills the hole sets it again.
 */
static void
test_ts_echo_with_hole(void **state)
{
	(void)state;
	struct tp_conn pc;

	open_reader(&pc, 1400000);
	put(&pc, 0, 1000, 0);
	uint32_t t_in_order = pc.tsval;
	struct tp_seg *a = expect_ack(&pc, 1000);
	assert_int_equal(a->tsecr, t_in_order);
	put(&pc, 2000, 1000, 0);
	a = expect_ack(&pc, 1000);
	assert_int_equal(a->tsecr, t_in_order);                 /* not the out-of-order one's */
	put(&pc, 1000, 1000, 0);
	a = expect_ack(&pc, 3000);
	assert_int_equal(a->tsecr, pc.tsval);                   /* the segment that filled it */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TP_TEST(test_in_order),
		TP_TEST(test_in_order_echo),
		TP_TEST(test_hole_filled_later),
		TP_TEST(test_overlap_front),
		TP_TEST(test_overlap_back),
		TP_TEST(test_overlap_back_several),
		TP_TEST(test_overlap_covering),
		TP_TEST(test_overlap_duplicate),
		TP_TEST(test_overlap_inside),
		TP_TEST(test_wrap_around),
		TP_TEST(test_reass_limit),
		TP_TEST(test_sack_blocks),
		TP_TEST(test_sack_first_block_many_holes),
		TP_TEST(test_fin_before_hole_filled),
		TP_TEST(test_bare_fin_before_hole_filled),
		TP_TEST(test_ts_echo_with_hole),
	};
	return cmocka_run_group_tests(tests, tp_setup, NULL);
}
