/*
 * test_tcp_seq.c — unit tests of app/net/tcp_seq.h: comparisons modulo 2^32,
 * intervals and the RFC 9293 window tests, around the wrap in particular.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "app/net/tcp_seq.h"

static void
test_seq_order(void **state)
{
	(void)state;
	assert_true(tcp_seq_lt(1, 2));
	assert_false(tcp_seq_lt(2, 1));
	assert_false(tcp_seq_lt(5, 5));
	assert_true(tcp_seq_leq(5, 5));
	assert_true(tcp_seq_geq(5, 5));
	assert_false(tcp_seq_gt(5, 5));
	assert_true(tcp_seq_gt(1000, 999));
	assert_int_equal(tcp_seq_diff(1000, 999), 1);
	assert_int_equal(tcp_seq_diff(999, 1000), -1);
	assert_int_equal(tcp_seq_max(7, 9), 9);
	assert_int_equal(tcp_seq_min(7, 9), 7);
}

static void
test_seq_wrap(void **state)
{
	uint32_t a = 0xfffffff0u, b = 0x10;

	(void)state;
	assert_true(tcp_seq_lt(a, b));
	assert_true(tcp_seq_leq(a, b));
	assert_false(tcp_seq_gt(a, b));
	assert_false(tcp_seq_geq(a, b));
	assert_true(tcp_seq_gt(b, a));
	assert_true(tcp_seq_geq(b, a));
	assert_false(tcp_seq_lt(b, a));
	assert_int_equal(tcp_seq_diff(b, a), 32);
	assert_int_equal(tcp_seq_diff(a, b), -32);
	assert_int_equal(tcp_seq_max(a, b), b);
	assert_int_equal(tcp_seq_min(a, b), a);
	assert_int_equal(tcp_seq_max(b, a), b);
	assert_true(tcp_seq_lt(0xffffffffu, 0));
	assert_true(tcp_seq_gt(0, 0xffffffffu));
	assert_int_equal(tcp_seq_diff(0, 0xffffffffu), 1);
}

/* Up to 2^31 - 1 apart the order is well defined; at exactly 2^31 it is not (documented). */
static void
test_seq_half_space(void **state)
{
	uint32_t a = 0x12345678u;

	(void)state;
	assert_true(tcp_seq_lt(a, a + 0x7fffffffu));
	assert_false(tcp_seq_lt(a + 0x7fffffffu, a));
	assert_true(tcp_seq_gt(a, a + 0x80000001u));
	assert_true(tcp_seq_lt(a, a + 0x80000000u));
	assert_true(tcp_seq_lt(a + 0x80000000u, a));
	assert_int_equal(tcp_seq_diff(a + 0x7fffffffu, a), INT32_MAX);
}

static void
test_seq_between(void **state)
{
	(void)state;
	/* plain */
	assert_true(tcp_seq_between(100, 100, 200));
	assert_true(tcp_seq_between(199, 100, 200));
	assert_false(tcp_seq_between(200, 100, 200));
	assert_false(tcp_seq_between(99, 100, 200));
	/* across the wrap */
	assert_true(tcp_seq_between(0xfffffff0u, 0xfffffff0u, 0x10));
	assert_true(tcp_seq_between(0xffffffffu, 0xfffffff0u, 0x10));
	assert_true(tcp_seq_between(0, 0xfffffff0u, 0x10));
	assert_true(tcp_seq_between(0xf, 0xfffffff0u, 0x10));
	assert_false(tcp_seq_between(0x10, 0xfffffff0u, 0x10));
	assert_false(tcp_seq_between(0xffffffefu, 0xfffffff0u, 0x10));
	assert_false(tcp_seq_between(0x80000000u, 0xfffffff0u, 0x10));
	/* empty */
	assert_false(tcp_seq_between(5, 5, 5));
	/* wider than 2^31: intervals have no half-space limit */
	assert_true(tcp_seq_between(0xc0000000u, 0x10, 0xf0000000u));
	/* inclusive */
	assert_true(tcp_seq_between_incl(0x10, 0xfffffff0u, 0x10));
	assert_true(tcp_seq_between_incl(0xfffffff0u, 0xfffffff0u, 0x10));
	assert_false(tcp_seq_between_incl(0x11, 0xfffffff0u, 0x10));
	assert_true(tcp_seq_between_incl(5, 5, 5));
	assert_false(tcp_seq_between_incl(6, 5, 5));
}

static void
test_seq_window_edges(void **state)
{
	uint32_t base = 0xffffff00u;

	(void)state;
	assert_int_equal(tcp_seq_wnd_end(base, 0x200), 0x100);
	assert_true(tcp_seq_in_wnd(base, base, 0x200));
	assert_true(tcp_seq_in_wnd(0, base, 0x200));
	assert_true(tcp_seq_in_wnd(0xff, base, 0x200));
	assert_false(tcp_seq_in_wnd(0x100, base, 0x200));
	assert_false(tcp_seq_in_wnd(base - 1, base, 0x200));
	assert_false(tcp_seq_in_wnd(base, base, 0));
}

/* The four cases of RFC 9293 §3.10.7.4, with the window straddling the wrap. */
static void
test_seq_seg_acceptable(void **state)
{
	uint32_t nxt = 0xfffffff0u;

	(void)state;
	/* len 0, wnd 0: only seq == RCV.NXT */
	assert_true(tcp_seq_seg_acceptable(nxt, 0, nxt, 0));
	assert_false(tcp_seq_seg_acceptable(nxt + 1, 0, nxt, 0));
	assert_false(tcp_seq_seg_acceptable(nxt - 1, 0, nxt, 0));
	/* len 0, wnd > 0: RCV.NXT <= seq < RCV.NXT + RCV.WND */
	assert_true(tcp_seq_seg_acceptable(nxt, 0, nxt, 100));
	assert_true(tcp_seq_seg_acceptable(0x50, 0, nxt, 100));
	assert_false(tcp_seq_seg_acceptable(nxt + 100, 0, nxt, 100));
	assert_false(tcp_seq_seg_acceptable(nxt - 1, 0, nxt, 100));
	/* len > 0, wnd 0: never */
	assert_false(tcp_seq_seg_acceptable(nxt, 1, nxt, 0));
	/* len > 0, wnd > 0: first or last octet inside */
	assert_true(tcp_seq_seg_acceptable(nxt, 10, nxt, 100));
	assert_true(tcp_seq_seg_acceptable(nxt - 5, 10, nxt, 100));     /* old start, new end */
	assert_false(tcp_seq_seg_acceptable(nxt - 10, 10, nxt, 100));   /* entirely old */
	assert_true(tcp_seq_seg_acceptable(nxt + 99, 50, nxt, 100));    /* starts at the last octet */
	assert_false(tcp_seq_seg_acceptable(nxt + 100, 50, nxt, 100));  /* entirely beyond */
	assert_true(tcp_seq_seg_acceptable(nxt - 1, 1000, nxt, 100));   /* covers the whole window */
	assert_true(tcp_seq_seg_acceptable(nxt - 1, 2, nxt, 1));        /* ditto, window of one */
	assert_false(tcp_seq_seg_acceptable(nxt - 1, 1, nxt, 1));       /* just before */
}

static void
test_seq_ack_new(void **state)
{
	uint32_t una = 0xfffffff0u, nxt = 0x20;

	(void)state;
	assert_false(tcp_seq_ack_new(una, una, nxt));
	assert_true(tcp_seq_ack_new(una + 1, una, nxt));
	assert_true(tcp_seq_ack_new(0, una, nxt));
	assert_true(tcp_seq_ack_new(nxt, una, nxt));
	assert_false(tcp_seq_ack_new(nxt + 1, una, nxt));
	assert_false(tcp_seq_ack_new(una - 1, una, nxt));
	/* nothing outstanding: no ACK is new */
	assert_false(tcp_seq_ack_new(una, una, una));
	assert_false(tcp_seq_ack_new(una + 1, una, una));
	assert_false(tcp_seq_ack_new(una - 1, una, una));
}

static void
test_seq_wnd_update(void **state)
{
	(void)state;
	assert_true(tcp_seq_wnd_update_ok(100, 500, 101, 400));         /* newer segment */
	assert_true(tcp_seq_wnd_update_ok(100, 500, 100, 500));         /* same seq, same ack */
	assert_true(tcp_seq_wnd_update_ok(100, 500, 100, 501));         /* same seq, newer ack */
	assert_false(tcp_seq_wnd_update_ok(100, 500, 100, 499));        /* same seq, older ack */
	assert_false(tcp_seq_wnd_update_ok(100, 500, 99, 600));         /* older segment */
	assert_true(tcp_seq_wnd_update_ok(0xffffffffu, 0xfffffff0u, 0, 0x10));  /* across the wrap */
	assert_false(tcp_seq_wnd_update_ok(0, 0x10, 0xffffffffu, 0x20));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_order),
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_seq_half_space),
		cmocka_unit_test(test_seq_between),
		cmocka_unit_test(test_seq_window_edges),
		cmocka_unit_test(test_seq_seg_acceptable),
		cmocka_unit_test(test_seq_ack_new),
		cmocka_unit_test(test_seq_wnd_update),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
