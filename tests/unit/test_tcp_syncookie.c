/*
 * test_tcp_syncookie.c — unit tests of app/net/tcp_syncookie.c: SipHash-2-4
 * against the paper's vector, cookie round trips per MSS class, rejection of
 * every kind of mismatch, the validity period, random forgeries, and the
 * timestamp encoding of window scale / SACK-permitted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "app/net/tcp_syncookie.h"

#define SADDR   0xc6336401u     /* 198.51.100.1, the peer */
#define DADDR   0xc0000201u     /* 192.0.2.1, us */
#define SPORT   40001
#define DPORT   25
#define PISN    0x89abcdefu

static struct tcp_syncookie_key test_key;

static int
test_setup(void **state)
{
	(void)state;
	for (int i = 0; i < 16; i++)
		test_key.k[i] = (uint8_t)(0xa5 ^ (i * 37));
	return 0;
}

static uint32_t
test_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 16);
}

/* SipHash paper, appendix A: key 00..0f, message 00..0e. */
static void
test_siphash_vector(void **state)
{
	struct tcp_syncookie_key k;
	uint8_t m[15];

	(void)state;
	for (int i = 0; i < 16; i++)
		k.k[i] = (uint8_t)i;
	for (int i = 0; i < 15; i++)
		m[i] = (uint8_t)i;
	assert_int_equal(tcp_syncookie_siphash(&k, m, sizeof(m)), 0xa129ca6149be45e5ull);
	/* Same key, empty message: first entry of the reference vectors. */
	assert_int_equal(tcp_syncookie_siphash(&k, m, 0), 0x726fdb47dd0e0e31ull);
	/* Any change of key or message changes the output. */
	k.k[15] ^= 1;
	assert_true(tcp_syncookie_siphash(&k, m, sizeof(m)) != 0xa129ca6149be45e5ull);
}

static void
test_cookie_roundtrip(void **state)
{
	static const struct { uint16_t in, used; } c[] = {
		{ 536, 536 }, { 1300, 1300 }, { 1440, 1440 }, { 1460, 1460 },
		{ 1000, 536 }, { 1399, 1300 }, { 1452, 1440 }, { 8960, 1460 },
		{ 65535, 1460 }, { 100, 536 }, { 0, 536 },
	};
	uint64_t now = 1700000000;

	(void)state;
	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint16_t used = 0, mss = 0;
		uint32_t ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN,
						 c[i].in, now, &used);

		assert_int_equal(used, c[i].used);
		assert_int_equal(tcp_syncookie_check(&test_key, SADDR, DADDR, SPORT, DPORT, PISN,
						     ck, now, &mss), 0);
		assert_int_equal(mss, c[i].used);
	}
	/* mss_used may be NULL; the same inputs give the same cookie */
	assert_int_equal(tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1460, now, NULL),
			 tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1460, now + 1, NULL));
}

/* Many tuples and ISNs, each checked with its own values. */
static void
test_cookie_roundtrip_random(void **state)
{
	uint64_t s = 0x123456789abcdefull;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		uint32_t sa = test_rand(&s), da = test_rand(&s), isn = test_rand(&s);
		uint16_t sp = (uint16_t)test_rand(&s), dp = (uint16_t)test_rand(&s), mss;
		uint64_t now = (uint64_t)test_rand(&s) * 1000;
		uint32_t ck = tcp_syncookie_make(&test_key, sa, da, sp, dp, isn, 1460, now, NULL);

		assert_int_equal(tcp_syncookie_check(&test_key, sa, da, sp, dp, isn, ck, now + 63, &mss), 0);
		assert_int_equal(mss, 1460);
	}
}

static int
test_check(uint32_t sa, uint32_t da, uint16_t sp, uint16_t dp, uint32_t isn, uint32_t ck, uint64_t now)
{
	uint16_t mss = 0;

	return tcp_syncookie_check(&test_key, sa, da, sp, dp, isn, ck, now, &mss);
}

static void
test_cookie_wrong_tuple(void **state)
{
	uint64_t now = 5000;
	uint32_t ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1460, now, NULL);
	struct tcp_syncookie_key other = test_key;

	(void)state;
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, now), 0);
	assert_int_equal(test_check(SADDR + 1, DADDR, SPORT, DPORT, PISN, ck, now), -EINVAL);
	assert_int_equal(test_check(SADDR, DADDR ^ 0x100, SPORT, DPORT, PISN, ck, now), -EINVAL);
	assert_int_equal(test_check(SADDR, DADDR, SPORT + 1, DPORT, PISN, ck, now), -EINVAL);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, 587, PISN, ck, now), -EINVAL);
	assert_int_equal(test_check(DADDR, SADDR, DPORT, SPORT, PISN, ck, now), -EINVAL);
	other.k[3] ^= 0x10;
	assert_int_equal(tcp_syncookie_check(&other, SADDR, DADDR, SPORT, DPORT, PISN, ck, now,
					     &(uint16_t){ 0 }), -EINVAL);
}

static void
test_cookie_wrong_isn(void **state)
{
	uint64_t now = 5000;
	uint32_t ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1300, now, NULL);
	static const uint32_t delta[] = { 1, 2, 3, 0xffffffffu, 0xfffffffeu, 0x20000000u, 0x80000000u, 1460 };

	(void)state;
	for (unsigned i = 0; i < sizeof(delta) / sizeof(delta[0]); i++) {
		assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN + delta[i], ck, now), -EINVAL);
		/* shifting ISN and cookie together is no way around it either */
		assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN + delta[i], ck + delta[i], now),
				 -EINVAL);
	}
}

/* Every single-bit change (MSS index and counter bits included) is rejected. */
static void
test_cookie_tampered(void **state)
{
	uint64_t now = 5000;

	(void)state;
	for (uint16_t mss = 536; mss <= 1460; mss += 308) {
		uint32_t ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, mss, now, NULL);

		for (int b = 0; b < 32; b++)
			assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck ^ (1u << b), now),
					 -EINVAL);
		for (uint32_t d = 1; d < 8; d++)
			assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck + d, now), -EINVAL);
	}
}

/* Valid in its own 64 s period and the next; not before, not later. */
static void
test_cookie_expiry(void **state)
{
	uint64_t made = 64 * 1000 + 10;         /* counter 1000 */
	uint32_t ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1440, made, NULL);

	(void)state;
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, made), 0);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * 1001 - 1), 0);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * 1001), 0);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * 1002 - 1), 0);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * 1002), -EINVAL);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * 1003), -EINVAL);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * 1000 + 10000), -EINVAL);
	/* from the future (clock went back, or a guess) */
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * 1000 - 1), -EINVAL);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * 999 - 1), -EINVAL);
}

/* Made in the last second of a period, checked in the first of the next: accepted. */
static void
test_cookie_counter_boundary(void **state)
{
	uint64_t end = 64 * 7777 - 1;
	uint32_t ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1460, end, NULL);
	uint16_t mss = 0;

	(void)state;
	assert_int_equal(tcp_syncookie_check(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, ck, end + 1, &mss), 0);
	assert_int_equal(mss, 1460);
	/* clock start: counter 0 -> 1 */
	ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1460, 63, NULL);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64), 0);
	/* the 32-bit counter wrapping: UINT32_MAX -> 0 */
	ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1460,
				64 * (uint64_t)UINT32_MAX + 63, NULL);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 64 * ((uint64_t)UINT32_MAX + 1)), 0);
	ck = tcp_syncookie_make(&test_key, SADDR, DADDR, SPORT, DPORT, PISN, 1460, 0, NULL);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 127), 0);
	assert_int_equal(test_check(SADDR, DADDR, SPORT, DPORT, PISN, ck, 128), -EINVAL);
}

/* 1,000,000 random ACKs: each passes with probability 2^-29, so expect ~0.002. */
static void
test_cookie_forgery(void **state)
{
	uint64_t s = 0xfeedfacecafebeefull;
	unsigned accepted = 0;
	uint64_t now = 64 * 424242 + 5;

	(void)state;
	for (int i = 0; i < 1000000; i++) {
		uint32_t isn = test_rand(&s), ck = test_rand(&s);
		uint16_t sp = (i & 1) ? SPORT : (uint16_t)test_rand(&s);

		accepted += test_check(SADDR, DADDR, sp, DPORT, isn, ck, now) == 0;
	}
	print_message("forged ACKs accepted: %u of 1000000\n", accepted);
	assert_true(accepted < 10);
}

static void
test_ts_options(void **state)
{
	int ws, sack;

	(void)state;
	for (int w = -1; w <= 14; w++) {
		for (int sk = 0; sk <= 1; sk++) {
			for (uint32_t now = 0; now < 100; now += 7) {
				uint32_t ts = tcp_syncookie_ts_encode(now, w, sk);

				/* never ahead of the clock, at most 32 ticks behind (across 0 too) */
				assert_true((uint32_t)(now - ts) < 32);
				tcp_syncookie_ts_decode(ts, &ws, &sack);
				assert_int_equal(ws, w);
				assert_int_equal(sack, sk);
			}
		}
	}
	tcp_syncookie_ts_decode(tcp_syncookie_ts_encode(123456789, 15, 1), &ws, &sack);
	assert_int_equal(ws, 14);       /* RFC 7323 §2.3: larger scales are taken as 14 */
	assert_int_equal(sack, 1);
	tcp_syncookie_ts_decode(tcp_syncookie_ts_encode(0x1f, TCP_SYNCOOKIE_WSCALE_NONE, 0), &ws, &sack);
	assert_int_equal(ws, TCP_SYNCOOKIE_WSCALE_NONE);
	assert_int_equal(sack, 0);
	assert_int_equal(tcp_syncookie_ts_encode(0x1f, TCP_SYNCOOKIE_WSCALE_NONE, 0), 0x0f);
	assert_int_equal(tcp_syncookie_ts_encode(0x20, 7, 1), 0x17);  /* 0x37 would be ahead: back 32 */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vector),
		cmocka_unit_test(test_cookie_roundtrip),
		cmocka_unit_test(test_cookie_roundtrip_random),
		cmocka_unit_test(test_cookie_wrong_tuple),
		cmocka_unit_test(test_cookie_wrong_isn),
		cmocka_unit_test(test_cookie_tampered),
		cmocka_unit_test(test_cookie_expiry),
		cmocka_unit_test(test_cookie_counter_boundary),
		cmocka_unit_test(test_cookie_forgery),
		cmocka_unit_test(test_ts_options),
	};
	return cmocka_run_group_tests(tests, test_setup, NULL);
}
