/*
 * test_log.c — unit tests of the log rate limiter (platform/log.h log_rl_*)
 * on a fake clock: the burst, the steady rate, the summary count handed to
 * the next line let through or to log_rl_pending() a second later, rate 0
 * (no limit), clock jumps and a clock going backwards.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "platform/log.h"

#define HZ 1000000ull           /* the fake clock: microseconds */

/* n lines at clock now: how many let through; *reported sums the summaries handed back. */
static unsigned
offer(struct log_rl *rl, uint64_t now, unsigned rate, unsigned n, uint64_t *reported)
{
	unsigned ok = 0;
	uint32_t r;

	for (unsigned i = 0; i < n; i++) {
		if (log_rl_allow(rl, now, HZ, rate, &r)) {
			ok++;
			*reported += r;
		} else {
			assert_int_equal(r, 0);
		}
	}
	return ok;
}

static void
test_log_rl_burst_then_summary(void **state)
{
	struct log_rl rl = { 0 };
	uint64_t rep = 0;
	uint32_t r;
	(void)state;
	/* a burst of 1,000 lines at one instant: rate 10 lets 10 through */
	assert_int_equal(offer(&rl, 5 * HZ, 10, 1000, &rep), 10);
	assert_int_equal(rep, 0);
	assert_int_equal(rl.suppressed, 990);
	/* 50 ms later: not yet a token (one per 100 ms) */
	assert_false(log_rl_allow(&rl, 5 * HZ + HZ / 20, HZ, 10, &r));
	/* 100 ms after the burst: one line, and the summary of the 991 before it */
	assert_true(log_rl_allow(&rl, 5 * HZ + HZ / 10, HZ, 10, &r));
	assert_int_equal(r, 991);
	assert_int_equal(rl.suppressed, 0);
	/* the next one let through reports nothing more */
	assert_true(log_rl_allow(&rl, 5 * HZ + HZ, HZ, 10, &r));
	assert_int_equal(r, 0);
}

static void
test_log_rl_steady_rate(void **state)
{
	struct log_rl rl = { 0 };
	uint64_t rep = 0, now = 0;
	unsigned ok = 0, offered = 0;
	(void)state;
	/* a line every millisecond for 10 s at rate 50: the burst of 50, then 50 a second */
	for (; now < 10 * HZ; now += HZ / 1000, offered++)
		ok += offer(&rl, now, 50, 1, &rep);
	assert_in_range(ok, 50 + 500 - 1, 50 + 500 + 1);
	/* every line is either let through or counted: reported + still pending */
	assert_int_equal(ok + rep + rl.suppressed, offered);
}

static void
test_log_rl_pending(void **state)
{
	struct log_rl rl = { 0 };
	uint64_t rep = 0;
	(void)state;
	assert_int_equal(log_rl_pending(&rl, 0, HZ), 0);
	assert_int_equal(offer(&rl, HZ, 2, 7, &rep), 2);
	/* the burst ends with no line after it: its summary comes from the tick, a second after its first suppression */
	assert_int_equal(log_rl_pending(&rl, HZ + HZ / 2, HZ), 0);
	assert_int_equal(log_rl_pending(&rl, 2 * HZ, HZ), 5);
	assert_int_equal(log_rl_pending(&rl, 3 * HZ, HZ), 0);       /* once */
	/* and a line let through afterwards reports nothing twice */
	uint32_t r;
	assert_true(log_rl_allow(&rl, 3 * HZ, HZ, 2, &r));
	assert_int_equal(r, 0);
}

static void
test_log_rl_no_limit_and_clock_jumps(void **state)
{
	struct log_rl rl = { 0 };
	uint64_t rep = 0;
	uint32_t r;
	(void)state;
	/* rate 0: everything goes, nothing is counted */
	assert_int_equal(offer(&rl, 0, 0, 100000, &rep), 100000);
	assert_int_equal(rl.suppressed, 0);
	/* a huge gap: one second's worth of tokens at most, no overflow */
	struct log_rl big = { 0 };
	assert_int_equal(offer(&big, 1, 1000000, 1000000, &rep), 1000000);
	assert_int_equal(offer(&big, UINT64_MAX / 2, 1000000, 2000000, &rep), 1000000);
	/* the clock going backwards: no refill, no wrap */
	struct log_rl back = { 0 };
	assert_int_equal(offer(&back, 10 * HZ, 3, 3, &rep), 3);
	assert_false(log_rl_allow(&back, 1 * HZ, HZ, 3, &r));
	assert_false(log_rl_allow(&back, 10 * HZ, HZ, 3, &r));
	assert_true(log_rl_allow(&back, 11 * HZ, HZ, 3, &r));
	assert_int_equal(r, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_rl_burst_then_summary),
		cmocka_unit_test(test_log_rl_steady_rate),
		cmocka_unit_test(test_log_rl_pending),
		cmocka_unit_test(test_log_rl_no_limit_and_clock_jumps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
