/*
 * test_tcp_cc.c — unit tests of app/net/tcp_cc.c: initial window (RFC 6928),
 * slow start and congestion avoidance with byte counting (RFC 5681/3465),
 * fast retransmit and NewReno recovery (RFC 6582), RTO and idle restart.
 * A sender is simulated by hand: snd_una / snd_max and the flight they imply.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "app/net/tcp_cc.h"

#define MSS 1460u
#define ISS 1000u

static void
test_cc_initial_window(void **state)
{
	struct tcp_cc cc;

	(void)state;
	assert_int_equal(tcp_cc_initial_window(536), 5360);     /* 10 MSS */
	assert_int_equal(tcp_cc_initial_window(1460), 14600);   /* 10 MSS = 14600 */
	assert_int_equal(tcp_cc_initial_window(9000), 18000);   /* 2 MSS > 14600 */
	assert_int_equal(tcp_cc_initial_window(1000), 10000);
	assert_int_equal(tcp_cc_initial_window(4000), 14600);   /* the 14600 floor */
	assert_int_equal(tcp_cc_init(&cc, 9000, ISS), 0);
	assert_int_equal(cc.cwnd, 18000);
	assert_int_equal(cc.ssthresh, UINT32_MAX);
	assert_int_equal(cc.state, TCP_CC_SLOW_START);
	assert_int_equal(cc.recover, ISS);
	assert_int_equal(tcp_cc_init(&cc, 0, ISS), -EINVAL);
}

/* Slow start: + min(acked, 2 MSS) per ACK (RFC 3465 L = 2 SMSS). */
static void
test_cc_slow_start(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, MSS, ISS);
	assert_int_equal(tcp_cc_on_ack(&cc, MSS, ISS + 1 + MSS, 9 * MSS), TCP_CC_NONE);
	assert_int_equal(cc.cwnd, 11 * MSS);
	tcp_cc_on_ack(&cc, 2 * MSS, ISS + 1 + 3 * MSS, 8 * MSS);        /* delayed ACK */
	assert_int_equal(cc.cwnd, 13 * MSS);
	tcp_cc_on_ack(&cc, 4 * MSS, ISS + 1 + 7 * MSS, 6 * MSS);        /* stretch ACK: capped at 2 MSS */
	assert_int_equal(cc.cwnd, 15 * MSS);
	tcp_cc_on_ack(&cc, 100, ISS + 1 + 7 * MSS + 100, 6 * MSS);      /* small ACK: counts bytes */
	assert_int_equal(cc.cwnd, 15 * MSS + 100);
	assert_int_equal(cc.state, TCP_CC_SLOW_START);
	/* One RTT of per-segment ACKs doubles the window. */
	tcp_cc_init(&cc, MSS, ISS);
	for (int i = 0; i < 10; i++)
		tcp_cc_on_ack(&cc, MSS, ISS + 1 + (i + 1) * MSS, 0);
	assert_int_equal(cc.cwnd, 20 * MSS);
}

/* Slow start stops at ssthresh; from there congestion avoidance. */
static void
test_cc_switch_to_avoidance(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, MSS, ISS);
	cc.ssthresh = 11 * MSS + 500;
	tcp_cc_on_ack(&cc, MSS, ISS + 1 + MSS, 0);
	assert_int_equal(cc.cwnd, 11 * MSS);
	assert_int_equal(cc.state, TCP_CC_SLOW_START);
	tcp_cc_on_ack(&cc, 2 * MSS, ISS + 1 + 3 * MSS, 0);
	assert_int_equal(cc.cwnd, 11 * MSS + 500);              /* not beyond ssthresh */
	assert_int_equal(cc.state, TCP_CC_AVOIDANCE);
	assert_string_equal(tcp_cc_state_name(cc.state), "avoidance");
}

/* Avoidance: exactly + 1 MSS per window of acknowledged bytes (per RTT). */
static void
test_cc_avoidance_one_mss_per_rtt(void **state)
{
	struct tcp_cc cc;
	uint32_t una = ISS + 1;

	(void)state;
	tcp_cc_init(&cc, MSS, ISS);
	cc.ssthresh = cc.cwnd;          /* 10 MSS: avoidance from the start */
	for (unsigned rtt = 0; rtt < 20; rtt++) {
		uint32_t w = cc.cwnd, segs = w / MSS;

		assert_int_equal(w, (10 + rtt) * MSS);
		for (uint32_t s = 0; s < segs; s++) {
			una += MSS;
			tcp_cc_on_ack(&cc, MSS, una, (segs - s - 1) * MSS);
			assert_int_equal(cc.state, TCP_CC_AVOIDANCE);
			assert_int_equal(cc.cwnd, s + 1 < segs ? w : w + MSS);
		}
	}
	/* Delayed ACKs (2 MSS each) grow it at the same rate. */
	tcp_cc_init(&cc, MSS, ISS);
	cc.ssthresh = cc.cwnd;
	for (int i = 0; i < 5; i++)
		tcp_cc_on_ack(&cc, 2 * MSS, una, 0);
	assert_int_equal(cc.cwnd, 11 * MSS);
}

/* Enter fast recovery on the third duplicate: 14600 in flight. */
static void
test_cc_enter_recovery(struct tcp_cc *cc, uint32_t una, uint32_t max)
{
	tcp_cc_init(cc, MSS, ISS);
	assert_int_equal(tcp_cc_on_dupack(cc, una, max, max - una), TCP_CC_NONE);
	assert_int_equal(tcp_cc_on_dupack(cc, una, max, max - una), TCP_CC_NONE);
	assert_int_equal(cc->cwnd, 10 * MSS);
	assert_int_equal(cc->dupacks, 2);
	assert_int_equal(tcp_cc_on_dupack(cc, una, max, max - una), TCP_CC_FAST_RETRANSMIT);
}

static void
test_cc_fast_retransmit(void **state)
{
	struct tcp_cc cc;
	uint32_t una = ISS + 1 + 5 * MSS, max = una + 10 * MSS;

	(void)state;
	test_cc_enter_recovery(&cc, una, max);
	assert_int_equal(cc.state, TCP_CC_RECOVERY);
	assert_int_equal(cc.ssthresh, 5 * MSS);                 /* flight / 2 */
	assert_int_equal(cc.cwnd, 8 * MSS);                     /* ssthresh + 3 MSS */
	assert_int_equal(cc.recover, max);
	/* Further duplicates inflate cwnd and ask for nothing else. */
	assert_int_equal(tcp_cc_on_dupack(&cc, una, max, 10 * MSS), TCP_CC_NONE);
	assert_int_equal(cc.cwnd, 9 * MSS);
	assert_int_equal(tcp_cc_send_room(&cc, 10 * MSS), 0);
	tcp_cc_on_dupack(&cc, una, max, 10 * MSS);
	tcp_cc_on_dupack(&cc, una, max, 10 * MSS);
	assert_int_equal(tcp_cc_send_room(&cc, 10 * MSS), MSS);

	/* Small flight: ssthresh floor of 2 MSS. */
	tcp_cc_init(&cc, MSS, ISS);
	for (int i = 0; i < 2; i++)
		tcp_cc_on_dupack(&cc, ISS + 1, ISS + 1 + 3000, 3000);
	assert_int_equal(tcp_cc_on_dupack(&cc, ISS + 1, ISS + 1 + 3000, 3000), TCP_CC_FAST_RETRANSMIT);
	assert_int_equal(cc.ssthresh, 2 * MSS);
	assert_int_equal(cc.cwnd, 5 * MSS);
}

/* A new ACK between duplicates restarts the count. */
static void
test_cc_dupack_count_reset(void **state)
{
	struct tcp_cc cc;
	uint32_t una = ISS + 1;

	(void)state;
	tcp_cc_init(&cc, MSS, ISS);
	tcp_cc_on_dupack(&cc, una, una + 10 * MSS, 10 * MSS);
	tcp_cc_on_dupack(&cc, una, una + 10 * MSS, 10 * MSS);
	una += MSS;
	tcp_cc_on_ack(&cc, MSS, una, 9 * MSS);
	assert_int_equal(cc.dupacks, 0);
	assert_int_equal(tcp_cc_on_dupack(&cc, una, una + 9 * MSS, 9 * MSS), TCP_CC_NONE);
	assert_int_equal(tcp_cc_on_dupack(&cc, una, una + 9 * MSS, 9 * MSS), TCP_CC_NONE);
	assert_int_equal(tcp_cc_on_dupack(&cc, una, una + 9 * MSS, 9 * MSS), TCP_CC_FAST_RETRANSMIT);
	/* only the third fires */
	assert_int_equal(tcp_cc_on_dupack(&cc, una, una + 9 * MSS, 9 * MSS), TCP_CC_NONE);
}

/* Partial ACKs: retransmit the next hole, deflate by the amount acked, add back 1 MSS. */
static void
test_cc_partial_ack(void **state)
{
	struct tcp_cc cc;
	uint32_t una = ISS + 1 + 5 * MSS, max = una + 10 * MSS;

	(void)state;
	test_cc_enter_recovery(&cc, una, max);
	tcp_cc_on_dupack(&cc, una, max, 10 * MSS);              /* cwnd 9 MSS */
	una += 2 * MSS;
	assert_int_equal(tcp_cc_on_ack(&cc, 2 * MSS, una, max - una), TCP_CC_RETRANSMIT_NEXT_HOLE);
	assert_int_equal(cc.cwnd, 9 * MSS - 2 * MSS + MSS);
	assert_int_equal(cc.partial_acks, 1);                   /* first: restart the RTO timer */
	assert_int_equal(cc.state, TCP_CC_RECOVERY);
	assert_int_equal(cc.dupacks, 0);
	una += 500;                                             /* less than 1 MSS: no add-back */
	assert_int_equal(tcp_cc_on_ack(&cc, 500, una, max - una), TCP_CC_RETRANSMIT_NEXT_HOLE);
	assert_int_equal(cc.cwnd, 8 * MSS - 500);
	assert_int_equal(cc.partial_acks, 2);
	/* duplicates after a partial ACK keep inflating */
	tcp_cc_on_dupack(&cc, una, max, max - una);
	assert_int_equal(cc.cwnd, 9 * MSS - 500);
	/* deflation never leaves less than 1 MSS */
	una = max - 1;
	assert_int_equal(tcp_cc_on_ack(&cc, 100 * MSS, una, 1), TCP_CC_RETRANSMIT_NEXT_HOLE);
	assert_int_equal(cc.cwnd, MSS);
	assert_int_equal(cc.ssthresh, 5 * MSS);
}

/* A full ACK ends recovery: cwnd = min(ssthresh, max(flight, MSS) + MSS). */
static void
test_cc_full_ack(void **state)
{
	struct tcp_cc cc;
	uint32_t una = ISS + 1 + 5 * MSS, max = una + 10 * MSS;

	(void)state;
	/* little left in flight: cwnd = flight + MSS, back in slow start */
	test_cc_enter_recovery(&cc, una, max);
	assert_int_equal(tcp_cc_on_ack(&cc, 10 * MSS, max, MSS), TCP_CC_EXIT_RECOVERY);
	assert_int_equal(cc.cwnd, 2 * MSS);
	assert_int_equal(cc.state, TCP_CC_SLOW_START);
	/* nothing in flight: max(flight, MSS) + MSS */
	test_cc_enter_recovery(&cc, una, max);
	tcp_cc_on_ack(&cc, 10 * MSS, max, 0);
	assert_int_equal(cc.cwnd, 2 * MSS);
	/* much new data in flight: cwnd = ssthresh, avoidance */
	test_cc_enter_recovery(&cc, una, max);
	for (int i = 0; i < 6; i++)                             /* cwnd 14 MSS: 4 new segments out */
		tcp_cc_on_dupack(&cc, una, max + 4 * MSS, 14 * MSS);
	assert_int_equal(tcp_cc_on_ack(&cc, 10 * MSS, max, 4 * MSS), TCP_CC_EXIT_RECOVERY);
	assert_int_equal(cc.cwnd, 5 * MSS);
	assert_int_equal(cc.state, TCP_CC_AVOIDANCE);
	assert_int_equal(cc.dupacks, 0);
	/* the next ACK grows it again, by byte counting */
	tcp_cc_on_ack(&cc, 4 * MSS, max + 4 * MSS, MSS);
	assert_int_equal(cc.cwnd, 5 * MSS);
	tcp_cc_on_ack(&cc, MSS, max + 5 * MSS, 0);
	assert_int_equal(cc.cwnd, 6 * MSS);
}

/* RTO: ssthresh = max(flight / 2, 2 MSS), cwnd = 1 MSS, loss state with L = 1 MSS. */
static void
test_cc_rto(void **state)
{
	struct tcp_cc cc;
	uint32_t una = ISS + 1 + 5 * MSS, max = una + 10 * MSS;

	(void)state;
	tcp_cc_init(&cc, MSS, ISS);
	tcp_cc_on_rto(&cc, 10 * MSS, max);
	assert_int_equal(cc.state, TCP_CC_LOSS);
	assert_string_equal(tcp_cc_state_name(cc.state), "loss");
	assert_int_equal(cc.cwnd, MSS);
	assert_int_equal(cc.ssthresh, 5 * MSS);
	assert_int_equal(cc.recover, max);
	/* the same data times out again: ssthresh held, cwnd stays 1 MSS */
	tcp_cc_on_rto(&cc, 2 * MSS, max);
	assert_int_equal(cc.ssthresh, 5 * MSS);
	assert_int_equal(cc.cwnd, MSS);
	/* slow start after the RTO: + 1 MSS per ACK even for 2 MSS acked */
	una += 2 * MSS;
	assert_int_equal(tcp_cc_on_ack(&cc, 2 * MSS, una, max - una), TCP_CC_NONE);
	assert_int_equal(cc.cwnd, 2 * MSS);
	assert_int_equal(cc.state, TCP_CC_LOSS);
	/* duplicates below recover are leftovers of the go-back-N: no fast retransmit */
	for (int i = 0; i < 5; i++)
		assert_int_equal(tcp_cc_on_dupack(&cc, una, max, max - una), TCP_CC_NONE);
	assert_int_equal(cc.state, TCP_CC_LOSS);
	assert_int_equal(cc.cwnd, 2 * MSS);
	/* recover acknowledged: loss is over */
	tcp_cc_on_ack(&cc, max - una, max, 0);
	assert_int_equal(cc.cwnd, 3 * MSS);
	assert_int_equal(cc.state, TCP_CC_SLOW_START);
	/* an RTO after progress recomputes ssthresh */
	tcp_cc_on_rto(&cc, 4 * MSS, max + 4 * MSS);
	assert_int_equal(cc.ssthresh, 2 * MSS);
	/* small flight: floor of 2 MSS */
	tcp_cc_init(&cc, MSS, ISS);
	tcp_cc_on_rto(&cc, 100, ISS + 101);
	assert_int_equal(cc.ssthresh, 2 * MSS);
}

/* An RTO in fast recovery abandons it. */
static void
test_cc_rto_in_recovery(void **state)
{
	struct tcp_cc cc;
	uint32_t una = ISS + 1, max = una + 10 * MSS;

	(void)state;
	test_cc_enter_recovery(&cc, una, max);
	tcp_cc_on_rto(&cc, 10 * MSS, max + 2 * MSS);
	assert_int_equal(cc.state, TCP_CC_LOSS);
	assert_int_equal(cc.cwnd, MSS);
	assert_int_equal(cc.recover, max + 2 * MSS);
	/* a partial-looking ACK is just slow start now */
	assert_int_equal(tcp_cc_on_ack(&cc, MSS, una + MSS, 0), TCP_CC_NONE);
	assert_int_equal(cc.cwnd, 2 * MSS);
}

/* Duplicates that do not go beyond recover do not start a second recovery (RFC 6582 step 2). */
static void
test_cc_no_second_recovery(void **state)
{
	struct tcp_cc cc;
	uint32_t una = ISS + 1, max = una + 10 * MSS;

	(void)state;
	test_cc_enter_recovery(&cc, una, max);
	tcp_cc_on_ack(&cc, 10 * MSS, max, 4 * MSS);             /* exit, recover = max */
	for (int i = 0; i < 3; i++)
		assert_int_equal(tcp_cc_on_dupack(&cc, max, max + 4 * MSS, 4 * MSS), TCP_CC_NONE);
	/* beyond recover they do */
	tcp_cc_on_ack(&cc, MSS, max + MSS, 3 * MSS);
	for (int i = 0; i < 2; i++)
		tcp_cc_on_dupack(&cc, max + MSS, max + 4 * MSS, 3 * MSS);
	assert_int_equal(tcp_cc_on_dupack(&cc, max + MSS, max + 4 * MSS, 3 * MSS), TCP_CC_FAST_RETRANSMIT);
}

/* Sequence numbers across 2^32. */
static void
test_cc_wrap(void **state)
{
	struct tcp_cc cc;
	uint32_t iss = 0xfffff000u, una = iss + 1 + 1000, max = una + 10 * MSS;

	(void)state;
	tcp_cc_init(&cc, MSS, iss);
	for (int i = 0; i < 2; i++)
		tcp_cc_on_dupack(&cc, una, max, 10 * MSS);
	assert_int_equal(tcp_cc_on_dupack(&cc, una, max, 10 * MSS), TCP_CC_FAST_RETRANSMIT);
	assert_true(cc.recover < una);                          /* wrapped */
	assert_int_equal(tcp_cc_on_ack(&cc, 5 * MSS, una + 5 * MSS, 5 * MSS), TCP_CC_RETRANSMIT_NEXT_HOLE);
	assert_int_equal(tcp_cc_on_ack(&cc, 5 * MSS, max, 0), TCP_CC_EXIT_RECOVERY);
}

static void
test_cc_idle_and_names(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, MSS, ISS);
	for (int i = 0; i < 20; i++)
		tcp_cc_on_ack(&cc, 2 * MSS, ISS + 1, 0);
	assert_int_equal(cc.cwnd, 50 * MSS);
	tcp_cc_on_idle(&cc);
	assert_int_equal(cc.cwnd, 10 * MSS);
	assert_int_equal(cc.state, TCP_CC_SLOW_START);
	cc.cwnd = 3 * MSS;
	tcp_cc_on_idle(&cc);
	assert_int_equal(cc.cwnd, 3 * MSS);                     /* never grows */
	assert_int_equal(tcp_cc_send_room(&cc, MSS), 2 * MSS);
	assert_int_equal(tcp_cc_send_room(&cc, 4 * MSS), 0);
	assert_string_equal(tcp_cc_state_name(TCP_CC_SLOW_START), "slow_start");
	assert_string_equal(tcp_cc_state_name(TCP_CC_AVOIDANCE), "avoidance");
	assert_string_equal(tcp_cc_state_name(TCP_CC_RECOVERY), "recovery");
	assert_string_equal(tcp_cc_state_name(TCP_CC_LOSS), "loss");
	assert_string_equal(tcp_cc_state_name((enum tcp_cc_state)42), "unknown");
}

/* cwnd stops at TCP_CC_CWND_MAX however long slow start runs. */
static void
test_cc_cwnd_cap(void **state)
{
	struct tcp_cc cc;

	(void)state;
	tcp_cc_init(&cc, 65535, ISS);
	for (int i = 0; i < 100000; i++)
		tcp_cc_on_ack(&cc, 0x7fffffffu, ISS + 1, 0);
	assert_int_equal(cc.cwnd, TCP_CC_CWND_MAX);
	for (int i = 0; i < 100000; i++)
		tcp_cc_on_dupack(&cc, ISS + 1, ISS + 1, 0xffffffffu);
	assert_true(cc.cwnd <= TCP_CC_CWND_MAX);
	assert_true(cc.ssthresh <= TCP_CC_CWND_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cc_initial_window),
		cmocka_unit_test(test_cc_slow_start),
		cmocka_unit_test(test_cc_switch_to_avoidance),
		cmocka_unit_test(test_cc_avoidance_one_mss_per_rtt),
		cmocka_unit_test(test_cc_fast_retransmit),
		cmocka_unit_test(test_cc_dupack_count_reset),
		cmocka_unit_test(test_cc_partial_ack),
		cmocka_unit_test(test_cc_full_ack),
		cmocka_unit_test(test_cc_rto),
		cmocka_unit_test(test_cc_rto_in_recovery),
		cmocka_unit_test(test_cc_no_second_recovery),
		cmocka_unit_test(test_cc_wrap),
		cmocka_unit_test(test_cc_idle_and_names),
		cmocka_unit_test(test_cc_cwnd_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
