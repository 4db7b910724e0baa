/*
 * test_tcp_rto.c — unit tests of app/net/tcp_rto.c against values computed by
 * hand from RFC 6298 (microseconds): first sample, steady state, a spike,
 * clamps, granularity and exponential backoff.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include "app/net/tcp_rto.h"

#define MS 1000u
#define S  1000000u

static double
test_rto_fabs(double x)
{
	return x < 0 ? -x : x;
}

static void
test_rto_init(void **state)
{
	struct tcp_rto r;

	(void)state;
	assert_int_equal(tcp_rto_init(&r, TCP_RTO_MIN_RFC_US, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US), 0);
	assert_int_equal(tcp_rto_current(&r), 1 * S);
	assert_int_equal(r.backoff, 0);
	assert_int_equal(r.has_sample, 0);
	/* the initial value is clamped too */
	assert_int_equal(tcp_rto_init(&r, 200 * MS, 60 * S, 100 * MS), 0);
	assert_int_equal(tcp_rto_current(&r), 200 * MS);
	assert_int_equal(tcp_rto_init(&r, 200 * MS, 2 * S, 3 * S), 0);
	assert_int_equal(tcp_rto_current(&r), 2 * S);
	assert_int_equal(tcp_rto_init(&r, 0, 60 * S, 1 * S), -EINVAL);
	assert_int_equal(tcp_rto_init(&r, 2 * S, 1 * S, 1 * S), -EINVAL);
}

/* (2.2): SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR. */
static void
test_rto_first_sample(void **state)
{
	struct tcp_rto r;

	(void)state;
	tcp_rto_init(&r, TCP_RTO_MIN_LINUX_US, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US);
	tcp_rto_sample(&r, 100 * MS);
	assert_int_equal(r.srtt, 100000);
	assert_int_equal(r.rttvar, 50000);
	assert_int_equal(tcp_rto_current(&r), 300000);

	/* The same sample under the RFC's 1 s minimum. */
	tcp_rto_init(&r, TCP_RTO_MIN_RFC_US, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US);
	tcp_rto_sample(&r, 100 * MS);
	assert_int_equal(r.srtt, 100000);
	assert_int_equal(tcp_rto_current(&r), 1 * S);

	/* An odd sample: R/2 rounds down. */
	tcp_rto_init(&r, 1, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US);
	tcp_rto_sample(&r, 333);
	assert_int_equal(r.rttvar, 166);
	assert_int_equal(tcp_rto_current(&r), 333 + 664);
}

/*
 * (2.3) with a steady 100 ms, then a 500 ms spike and back, min 200 ms:
 *   R       SRTT     RTTVAR   RTO
 *   100ms   100000    50000   300000   (first)
 *   100ms   100000    37500   250000
 *   100ms   100000    28125   212500
 *   100ms   100000    21093   184372 -> 200000 (min clamp)
 *   500ms   150000   115819   613276   RTTVAR = (3*21093 + 400000)/4
 *   100ms   143750    99364   541206   RTTVAR = (3*115819 + 50000)/4
 */
static void
test_rto_steady_and_spike(void **state)
{
	static const struct { uint32_t r, srtt, rttvar, rto; } step[] = {
		{ 100000, 100000, 50000, 300000 },
		{ 100000, 100000, 37500, 250000 },
		{ 100000, 100000, 28125, 212500 },
		{ 100000, 100000, 21093, 200000 },
		{ 500000, 150000, 115819, 613276 },
		{ 100000, 143750, 99364, 541206 },
	};
	struct tcp_rto r;

	(void)state;
	tcp_rto_init(&r, TCP_RTO_MIN_LINUX_US, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US);
	for (unsigned i = 0; i < sizeof(step) / sizeof(step[0]); i++) {
		tcp_rto_sample(&r, step[i].r);
		assert_int_equal(r.srtt, step[i].srtt);
		assert_int_equal(r.rttvar, step[i].rttvar);
		assert_int_equal(tcp_rto_current(&r), step[i].rto);
	}
}

/* Over 10,000 random samples the integer results stay within tens of microseconds of the real-valued formulas. */
static void
test_rto_matches_real_formulas(void **state)
{
	struct tcp_rto r;
	double srtt = 0, rttvar = 0;
	uint32_t x = 12345;

	(void)state;
	tcp_rto_init(&r, 1, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US);
	for (int i = 0; i < 10000; i++) {
		uint32_t rtt;

		x ^= x << 13; x ^= x >> 17; x ^= x << 5;
		rtt = 20000 + x % 300000;
		tcp_rto_sample(&r, rtt);
		if (i == 0) {
			srtt = rtt;
			rttvar = rtt / 2.0;
		} else {
			rttvar = 0.75 * rttvar + 0.25 * test_rto_fabs(srtt - rtt);
			srtt = 0.875 * srtt + 0.125 * rtt;
		}
		assert_true(test_rto_fabs(srtt - r.srtt) < 16);
		assert_true(test_rto_fabs(rttvar - r.rttvar) < 16);
		assert_true(test_rto_fabs(srtt + 4 * rttvar - tcp_rto_current(&r)) < 64);
	}
}

static void
test_rto_max_clamp(void **state)
{
	struct tcp_rto r;

	(void)state;
	tcp_rto_init(&r, TCP_RTO_MIN_RFC_US, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US);
	tcp_rto_sample(&r, 50 * S);     /* 50 s + 4 * 25 s = 150 s */
	assert_int_equal(r.srtt, 50 * S);
	assert_int_equal(tcp_rto_current(&r), TCP_RTO_MAX_US);
	/* srtt + 4 rttvar beyond 2^32 units must not wrap */
	tcp_rto_init(&r, 1, UINT32_MAX, 1);
	tcp_rto_sample(&r, 0xf0000000u);
	assert_int_equal(tcp_rto_current(&r), UINT32_MAX);
}

/* G: with no variance, RTO = SRTT + G (RFC 6298 (2.3) max(G, K*RTTVAR)). */
static void
test_rto_granularity(void **state)
{
	struct tcp_rto r;

	(void)state;
	tcp_rto_init(&r, 1, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US);
	tcp_rto_set_granularity(&r, 10 * MS);
	tcp_rto_sample(&r, 0);
	assert_int_equal(tcp_rto_current(&r), 10 * MS);
	for (int i = 0; i < 100; i++)
		tcp_rto_sample(&r, 1000);
	assert_int_equal(r.srtt, 1000 - 7);     /* (7*SRTT + 1000)/8 rounds down: stalls 7 below */
	assert_int_equal(r.rttvar, 7);          /* (3*RTTVAR + 7)/4 stalls at 7 */
	assert_int_equal(tcp_rto_current(&r), r.srtt + 10 * MS);
	tcp_rto_set_granularity(&r, 0);
	assert_int_equal(r.granularity, 1);
}

static void
test_rto_backoff(void **state)
{
	struct tcp_rto r;

	(void)state;
	tcp_rto_init(&r, TCP_RTO_MIN_LINUX_US, 2 * S, TCP_RTO_INITIAL_US);
	tcp_rto_sample(&r, 100 * MS);                   /* RTO 300 ms */
	assert_int_equal(tcp_rto_backoff(&r), 600000);
	assert_int_equal(tcp_rto_backoff(&r), 1200000);
	assert_int_equal(tcp_rto_backoff(&r), 2 * S);   /* capped */
	assert_int_equal(tcp_rto_backoff(&r), 2 * S);
	assert_int_equal(r.backoff, 4);
	for (int i = 0; i < 100; i++)                   /* no shift overflow */
		assert_int_equal(tcp_rto_backoff(&r), 2 * S);
	assert_int_equal(r.backoff, 104);
	tcp_rto_reset_backoff(&r);
	assert_int_equal(tcp_rto_current(&r), 300000);
	/* A new sample forgets the backoff as well. */
	tcp_rto_backoff(&r);
	tcp_rto_sample(&r, 100 * MS);                   /* RTTVAR 37500: RTO 250 ms */
	assert_int_equal(r.backoff, 0);
	assert_int_equal(tcp_rto_current(&r), 250000);
	/* Before any sample, the backoff doubles the initial RTO (RFC 6298 5.5). */
	tcp_rto_init(&r, TCP_RTO_MIN_RFC_US, TCP_RTO_MAX_US, TCP_RTO_INITIAL_US);
	assert_int_equal(tcp_rto_backoff(&r), 2 * S);
	assert_int_equal(tcp_rto_backoff(&r), 4 * S);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rto_init),
		cmocka_unit_test(test_rto_first_sample),
		cmocka_unit_test(test_rto_steady_and_spike),
		cmocka_unit_test(test_rto_matches_real_formulas),
		cmocka_unit_test(test_rto_max_clamp),
		cmocka_unit_test(test_rto_granularity),
		cmocka_unit_test(test_rto_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
