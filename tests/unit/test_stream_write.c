/*
 * test_stream_write.c — what a TCP stream write promises when the packet
 * pool runs dry (issue 12, item 3), with the scripted peer of tcp_peer.h and
 * the worker's fault knob (w->fault_alloc_every: every Nth packet-buffer
 * allocation fails). A write states exactly what it took; a short write is
 * always followed by a writable event, even with nothing in flight to bring
 * an ACK; bytes taken are always sent, even when the pool refused their
 * segment; and a writer that resumes where each write stopped delivers
 * exactly its bytes, in order, while every Nth allocation fails.
 */
#include <stdlib.h>

#include "tcp_peer.h"

static struct tp_seg segs[TP_MAX_SEGS];
static uint8_t sink[1 << 20];

/* A passive open to the scripted app's port; the peer's side in *pc. */
static void
open_app(struct tp_conn *pc)
{
	struct tp_seg sa;

	tp_app_reset(&tp_app1);
	tp_accept_app = &tp_app1;
	tp_open(pc, TP_APP_PORT, 0x51510000u, &sa);
	assert_non_null(tp_app1.s);
	pc->sink = sink;
	pc->sink_size = sizeof(sink);
}

/* The peer takes in what the gateway sent and ACKs it; returns the segments seen. */
static unsigned
peer_round(struct tp_conn *pc)
{
	unsigned n = tp_recv(segs, TP_MAX_SEGS);

	tp_absorb_all(pc, segs, n);
	if (n != 0)
		tp_ack(pc);
	return n;
}

static void
fault(unsigned every)
{
	w->fault_alloc_every = every;
	w->fault_alloc_n = 0;
}

/* Regression: a write the pool refused with nothing in flight never got its writable event. */
static void
test_refused_write_gets_writable(void **state)
{
	struct tp_conn pc;
	(void)state;

	open_app(&pc);
	fault(1);                               /* every allocation fails */
	uint64_t no_mbuf = tp_ctr(STATS_PORT_TX_NO_MBUF);
	assert_int_equal(stream_write(tp_app1.s, "hello", 5), 0);      /* took nothing, says so */
	assert_true(tp_ctr(STATS_PORT_TX_NO_MBUF) > no_mbuf);
	fault(0);
	tp_pass();
	tp_recv_none();
	int before = tp_app1.n_writable;
	tp_tick(3);
	assert_true(tp_app1.n_writable > before);       /* resume: the pool may have room again */
	assert_int_equal(stream_write(tp_app1.s, "hello", 5), 5);
	tp_pass();
	peer_round(&pc);
	assert_int_equal(pc.bytes, 5);
	assert_memory_equal(sink, "hello", 5);
}

/* Regression: bytes taken whose segment the pool refused sat in the queue with no timer to send them. */
static void
test_refused_segment_is_sent(void **state)
{
	struct tp_conn pc;
	(void)state;

	open_app(&pc);
	fault(2);               /* the queue's buffer is allocation 1 (ok), the segment 2 (refused) */
	assert_int_equal(stream_write(tp_app1.s, "queued", 6), 6);
	fault(0);
	tp_pass();
	tp_recv_none();
	tp_tick(3);
	peer_round(&pc);
	assert_int_equal(pc.bytes, 6);
	assert_memory_equal(sink, "queued", 6);
}

/* ---- a writer that resumes where each write stopped ---- */

struct writer {
	uint64_t off, total;
	unsigned short_writes;
};
static struct writer wr;

static void
writer_pump(struct stream *s)
{
	static uint8_t chunk[20000];

	while (wr.off < wr.total) {
		size_t n = (size_t)RTE_MIN((uint64_t)sizeof(chunk), wr.total - wr.off);
		for (size_t i = 0; i < n; i++)
			chunk[i] = tp_pattern(wr.off + i);
		ssize_t r = stream_write(s, chunk, n);
		assert_true(r >= 0 && (size_t)r <= n);
		wr.off += (uint64_t)r;
		if ((size_t)r < n) {
			wr.short_writes += stream_write_space(s) >= n;  /* space was promised, the pool said no */
			return;                 /* the writable event resumes us */
		}
	}
}

static void
writer_nop(struct stream *s)
{
	(void)s;
}

static const struct stream_ops writer_ops = {
	.readable = writer_nop,
	.writable = writer_pump,
};

static void
bulk_with_faults(unsigned every, uint64_t total)
{
	struct tp_conn pc;

	open_app(&pc);
	tp_app1.s->ops = &writer_ops;
	wr = (struct writer){ .total = total };
	fault(every);
	writer_pump(tp_app1.s);
	for (unsigned ms = 0; ms < 60000 && pc.bytes < total; ms++) {
		tp_pass();
		peer_round(&pc);
		tp_tick(1);
	}
	fault(0);
	assert_int_equal(wr.off, total);
	assert_int_equal(pc.bytes, total);              /* every byte taken arrived ... */
	for (uint64_t i = 0; i < total; i++)            /* ... once, in order */
		if (sink[i] != tp_pattern(i))
			fail_msg("byte %" PRIu64 " differs", i);
	tp_tick(5);
	peer_round(&pc);
	assert_int_equal(pc.bytes, total);              /* and nothing more */
	assert_true(tp_ctr(STATS_PORT_TX_NO_MBUF) > 0);
	assert_true(wr.short_writes > 0);               /* the pool did cut writes short */
}

/* Every 7th allocation fails while 600 KB stream out: exactly those bytes arrive, in order. */
static void
test_bulk_every_7th_fails(void **state)
{
	(void)state;
	bulk_with_faults(7, 600000);
}

/* Every 3rd: segments, queue buffers and ACKs all go short; still exactly the bytes. */
static void
test_bulk_every_3rd_fails(void **state)
{
	(void)state;
	bulk_with_faults(3, 300000);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		TP_TEST(test_refused_write_gets_writable),
		TP_TEST(test_refused_segment_is_sent),
		TP_TEST(test_bulk_every_7th_fails),
		TP_TEST(test_bulk_every_3rd_fails),
	};
	return cmocka_run_group_tests(tests, tp_setup, NULL);
}
