/*
 * test_timer.c — the timer wheel against a fake clock: exact firing ticks,
 * cancel and re-arm, expiries in the past, 100k random timers across every
 * level and the overflow list, callbacks that re-arm and cancel, large start
 * values and large jumps, and timer_next_expiry as a lower bound. Every fire
 * is checked: never before its expiry, never later than the first run that
 * reached its tick.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "platform/timer.h"

#define MS_2G4      2400000ull          /* 1 ms of a 2.4 GHz TSC */
#define START       (1ull << 40)

struct tt {
	struct timer t;                 /* first: the callback casts back */
	uint64_t expires;               /* as last armed */
	uint64_t arm_run;               /* test_runs when last armed */
	unsigned fired;
	bool armed;
	bool past;                      /* armed for at or before the run's now */
	uint64_t period;                /* re-arm itself at expires + period */
	unsigned id;
	void (*then)(struct tt *x);     /* after the checks */
};

static struct timer_wheel tw;
static uint64_t tc;                     /* tick_cycles */
static uint64_t clk;                    /* now of the current / last run */
static uint64_t prev_clk;               /* now of the run before it */
static uint64_t test_runs;              /* timer_run calls so far */
static bool strict;                     /* also: fired within a tick of its tick */
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The TSC at which a timer armed for expires becomes due: its tick. */
static uint64_t
due_at(uint64_t expires)
{
	return (expires / tc + (expires % tc != 0)) * tc;
}

static void tt_fire(struct timer *t, void *arg);

static void
setup_wheel(uint64_t now, uint64_t tick_cycles, uint64_t seed)
{
	tc = tick_cycles;
	clk = prev_clk = now;
	test_runs = 0;
	strict = false;
	rng = seed;
	assert_int_equal(timer_wheel_init(&tw, now, tick_cycles), 0);
}

static void
tt_init(struct tt *x, unsigned id)
{
	memset(x, 0, sizeof(*x));
	x->id = id;
	timer_init(&x->t, tt_fire, x);
}

static void
tt_arm(struct tt *x, uint64_t expires)
{
	x->expires = expires;
	x->arm_run = test_runs;
	x->armed = true;
	x->past = expires <= clk;
	timer_arm(&tw, &x->t, expires);
	assert_true(timer_pending(&x->t));
}

static void
tt_cancel(struct tt *x)
{
	x->armed = false;
	timer_cancel(&tw, &x->t);
	assert_false(timer_pending(&x->t));
}

/*
 * Every fire: it was armed, not before its expiry, and not late: if a run
 * came between the arming one and this one, its now was short of the tick.
 */
static void
tt_fire(struct timer *t, void *arg)
{
	struct tt *x = arg;

	assert_ptr_equal(t, &x->t);
	assert_false(timer_pending(t));
	assert_true(x->armed);
	assert_true(clk >= x->expires);
	if (test_runs > x->arm_run + 1)
		assert_true(prev_clk < due_at(x->expires));
	if (strict && !x->past)
		assert_true(clk < due_at(x->expires) + tc);
	x->armed = false;
	x->fired++;
	if (x->period != 0)
		tt_arm(x, x->expires + x->period);
	if (x->then != NULL)
		x->then(x);
}

static unsigned
drive(uint64_t now)
{
	prev_clk = clk;
	clk = now;
	test_runs++;
	return timer_run(&tw, now);
}

static void
test_init_einval(void **state)
{
	(void)state;
	assert_int_equal(timer_wheel_init(NULL, 0, 1), -EINVAL);
	assert_int_equal(timer_wheel_init(&tw, 0, 0), -EINVAL);
	assert_int_equal(timer_wheel_init(&tw, START, MS_2G4), 0);
	assert_int_equal(tw.n_pending, 0);
	assert_true(timer_next_expiry(&tw) == UINT64_MAX);
	assert_int_equal(timer_run(&tw, START * 4), 0);
}

/* One timer, clock moving in sub-tick steps: fires in its tick, not before expires. */
static void
test_single_exact(void **state)
{
	static const uint64_t offs[] = { 1, MS_2G4 - 1, MS_2G4, MS_2G4 + 1, 5 * MS_2G4,
					 300 * MS_2G4 + 17, 70000 * MS_2G4 };
	(void)state;
	for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		struct tt x;

		setup_wheel(START + 12345, MS_2G4, 1);
		strict = true;
		tt_init(&x, 0);
		tt_arm(&x, clk + offs[i]);
		while (x.fired == 0) {
			uint64_t now = clk + MS_2G4 / 7;

			assert_int_equal(drive(now), now >= due_at(x.expires) ? 1 : 0);
		}
		assert_true(clk >= x.expires && clk < due_at(x.expires) + MS_2G4 / 7);
		assert_int_equal(drive(clk + 1000 * MS_2G4), 0);
		assert_int_equal(tw.n_pending, 0);
	}
}

static void
test_cancel(void **state)
{
	struct tt a, b, c;

	(void)state;
	setup_wheel(START, MS_2G4, 2);
	tt_init(&a, 0);
	tt_init(&b, 1);
	tt_init(&c, 2);
	tt_cancel(&a);                          /* never armed: harmless */
	tt_arm(&a, clk + 3 * MS_2G4);
	tt_arm(&b, clk + 3 * MS_2G4);           /* same slot as a */
	tt_arm(&c, clk + 100000 * MS_2G4);      /* level 2 */
	assert_int_equal(tw.n_pending, 3);
	tt_cancel(&a);
	tt_cancel(&a);
	tt_cancel(&c);
	assert_int_equal(tw.n_pending, 1);
	assert_int_equal(drive(clk + 200000 * MS_2G4), 1);
	assert_int_equal(a.fired + b.fired * 10 + c.fired * 100, 10);
	assert_true(timer_next_expiry(&tw) == UINT64_MAX);
	tt_cancel(&b);                          /* already fired */
	assert_int_equal(tw.n_pending, 0);
}

/* Re-arming moves a timer, earlier or later, across levels; it fires once. */
static void
test_rearm_moves(void **state)
{
	static const uint64_t seq[][2] = {      /* first, then re-armed to (ticks) */
		{ 10, 5 }, { 5, 10 }, { 10, 70000 }, { 70000, 10 }, { 1u << 25, 300 },
		{ 300, 1ull << 33 }, { 1ull << 33, 2 },
	};
	(void)state;
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct tt x;
		unsigned fired = 0;

		setup_wheel(START / 1000 * 1000, 1000, 3);
		strict = true;
		tt_init(&x, 0);
		tt_arm(&x, clk + seq[i][0] * tc);
		tt_arm(&x, clk + seq[i][1] * tc);
		assert_int_equal(tw.n_pending, 1);
		while (timer_pending(&x.t)) {
			uint64_t ne = timer_next_expiry(&tw), next = clk + tc;

			fired += drive(ne > next ? ne : next);
		}
		assert_int_equal(fired, 1);
		assert_int_equal(x.fired, 1);
		assert_true(clk == x.expires);
	}
}

/* Past expiries fire on the next run, even with the same now. */
static void
test_past_fires_next_run(void **state)
{
	struct tt a, b, c;

	(void)state;
	setup_wheel(START, MS_2G4, 4);
	tt_init(&a, 0);
	tt_init(&b, 1);
	tt_init(&c, 2);
	tt_arm(&a, 0);
	tt_arm(&b, clk - 1);
	tt_arm(&c, clk);
	assert_true(timer_next_expiry(&tw) == 0);
	assert_int_equal(drive(clk), 3);
	assert_int_equal(a.fired + b.fired + c.fired, 3);
	/* after a run: at or before its now is the past too */
	tt_arm(&a, clk);
	tt_arm(&b, clk - 5 * MS_2G4);
	assert_int_equal(drive(clk), 2);
	assert_true(timer_next_expiry(&tw) == UINT64_MAX);
}

/* A callback re-arming itself for "now" fires once per run, never loops. */
static void
rearm_now(struct tt *x)
{
	tt_arm(x, clk);
}

static void
test_rearm_now_in_callback(void **state)
{
	struct tt x;

	(void)state;
	setup_wheel(START / MS_2G4 * MS_2G4, MS_2G4, 5);
	tt_init(&x, 0);
	x.then = rearm_now;
	tt_arm(&x, clk + MS_2G4);
	for (unsigned i = 1; i <= 5; i++)
		assert_int_equal(drive(clk + MS_2G4), 1);
	assert_int_equal(drive(clk), 1);
	assert_int_equal(x.fired, 6);
	tt_cancel(&x);
	assert_int_equal(drive(clk + MS_2G4), 0);
}

/* A random delay in ticks spread over every level and the overflow list. */
static uint64_t
random_ticks(uint64_t max_shift)
{
	unsigned r = rnd() % 100;
	uint64_t lo, hi;

	if (r < 35)
		lo = 0, hi = 1ull << 8;
	else if (r < 60)
		lo = 1ull << 8, hi = 1ull << 16;
	else if (r < 80)
		lo = 1ull << 16, hi = 1ull << 24;
	else if (r < 95)
		lo = 1ull << 24, hi = 1ull << 32;
	else
		lo = 1ull << 32, hi = 1ull << 34;
	if (hi > 1ull << max_shift)
		hi = 1ull << max_shift;
	if (lo >= hi)
		lo = 0;
	return lo + rnd() % (hi - lo);
}

/*
 * 100k timers, ticks from 0 to 2^34 ahead (up to 199 days of 1 ms): the clock
 * moves in random sub-tick steps and jumps to timer_next_expiry when that is
 * further, so a wrong lower bound would make some timer late.
 */
static void
test_random_100k_all_levels(void **state)
{
	enum { N = 100000 };
	struct tt *x = calloc(N, sizeof(*x));
	unsigned fired = 0;

	(void)state;
	assert_non_null(x);
	setup_wheel(START + 777, MS_2G4, 6);
	strict = true;
	for (unsigned i = 0; i < N; i++) {
		uint64_t off = random_ticks(34) * tc + rnd() % tc;

		tt_init(&x[i], i);
		tt_arm(&x[i], i % 100 == 0 ? clk - off % (1000 * tc) : clk + off);
	}
	assert_int_equal(tw.n_pending, N);
	while (tw.n_pending > 0) {
		uint64_t ne = timer_next_expiry(&tw), next = clk + 1 + rnd() % tc;

		assert_true(ne != UINT64_MAX);
		fired += drive(ne > next ? ne : next);
	}
	assert_int_equal(fired, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(x[i].fired, 1);
	assert_true(timer_next_expiry(&tw) == UINT64_MAX);
	free(x);
}

/* 100k timers up to 2^22 ticks (70 minutes of 1 ms), a run at every tick. */
static void
test_random_100k_every_tick(void **state)
{
	enum { N = 100000 };
	struct tt *x = calloc(N, sizeof(*x));
	uint64_t start = (START / 1000) * 1000, end = start;
	unsigned fired = 0;

	(void)state;
	assert_non_null(x);
	setup_wheel(start, 1000, 7);
	strict = true;
	for (unsigned i = 0; i < N; i++) {
		uint64_t exp = start + 1 + random_ticks(22) * tc + rnd() % tc;

		tt_init(&x[i], i);
		tt_arm(&x[i], exp);
		if (exp > end)
			end = exp;
	}
	for (uint64_t now = start + tc; now <= end + tc; now += tc)
		fired += drive(now);
	assert_int_equal(fired, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(x[i].fired, 1);
	assert_int_equal(tw.n_pending, 0);
	free(x);
}

/*
 * Periodic timers (absolute schedule, periods over several levels);
 * "killers" that cancel victims due later and move others; and pairs due in
 * the same tick (order within a tick is free) where the first to fire
 * cancels, or moves, its partner, which may already be on the firing list.
 */
enum { N_PER = 8, N_KILL = 16, N_VICT = 64, N_PAIR = 64 };
static struct tt per[N_PER], kill[N_KILL], vict[N_VICT], moved[N_KILL], pair[N_PAIR];

static void
pair_then(struct tt *x)
{
	struct tt *y = &pair[x->id ^ 1];

	if ((x->id & 2) == 0)
		tt_cancel(y);
	else if (y->armed)
		tt_arm(y, clk + 5 * tc);
}

static void
killer(struct tt *k)
{
	for (unsigned i = k->id * 4; i < k->id * 4 + 4; i++)
		tt_cancel(&vict[i]);
	tt_cancel(k);                           /* itself: already disarmed */
	tt_arm(&moved[k->id], clk + (k->id + 1) * 1000 * tc);
}

static void
test_periodic_and_cancel_others(void **state)
{
	static const uint64_t periods[N_PER] = { 1, 2, 3, 7, 255, 256, 257, 70001 };
	uint64_t start, end;

	(void)state;
	setup_wheel(START / 1000 * 1000, 1000, 8);
	strict = true;
	start = clk;
	end = start + 300000 * tc;
	for (unsigned i = 0; i < N_PER; i++) {
		tt_init(&per[i], i);
		per[i].period = periods[i] * tc;
		tt_arm(&per[i], start + periods[i] * tc);
	}
	for (unsigned i = 0; i < N_VICT; i++) {        /* next tick, level 1, 2 */
		static const uint64_t after[4] = { 1, 300, 1200, 70000 };

		tt_init(&vict[i], 200 + i);
		tt_arm(&vict[i], start + (10 + 40 * (i / 4) + after[i % 4]) * tc);
	}
	for (unsigned i = 0; i < N_PAIR; i++) {        /* levels 0 to 2 */
		tt_init(&pair[i], i);
		pair[i].then = pair_then;
		tt_arm(&pair[i], start + (7 + 293 * (i / 2) * (i / 2)) * tc - (i & 1));
	}
	for (unsigned i = 0; i < N_KILL; i++) {
		tt_init(&kill[i], i);
		tt_init(&moved[i], 100 + i);
		kill[i].then = killer;
		tt_arm(&kill[i], start + (10 + 40 * i) * tc);
		tt_arm(&moved[i], start + (15 + 40 * i) * tc + 1);     /* moved before due */
	}
	for (uint64_t now = start + tc; now <= end; now += tc)
		drive(now);
	for (unsigned i = 0; i < N_PER; i++)
		assert_int_equal(per[i].fired, (end - start) / (periods[i] * tc));
	for (unsigned i = 0; i < N_KILL; i++) {
		assert_int_equal(kill[i].fired, 1);
		assert_int_equal(moved[i].fired, 1);
		assert_true(moved[i].expires > kill[i].expires);
	}
	for (unsigned i = 0; i < N_VICT; i++)
		assert_int_equal(vict[i].fired, 0);
	for (unsigned i = 0; i < N_PAIR; i += 2) {
		if ((i & 2) == 0) {
			assert_int_equal(pair[i].fired + pair[i + 1].fired, 1);
		} else {
			assert_int_equal(pair[i].fired + pair[i + 1].fired * 2, 3);
			assert_true(pair[i].expires != pair[i + 1].expires);
		}
	}
	for (unsigned i = 0; i < N_PER; i++)
		tt_cancel(&per[i]);
	assert_int_equal(tw.n_pending, 0);
}

/*
 * Chaos: callbacks and the code between runs arm, re-arm and cancel random
 * timers (past, same tick, any level); runs come in small steps and large
 * jumps. After every run the wheel agrees with a brute-force model, and
 * timer_next_expiry is a lower bound that is later than now when nothing is
 * due.
 */
enum { N_CHAOS = 1000 };
static struct tt *chaos;
static bool chaos_calm;

static void
chaos_op(void)
{
	struct tt *y = &chaos[rnd() % N_CHAOS];
	unsigned r = rnd() % 10;

	if (r < 3)
		tt_cancel(y);
	else if (r < 4)
		tt_arm(y, clk - rnd() % (3 * tc));
	else
		tt_arm(y, clk + random_ticks(33) * tc + rnd() % tc);
}

static void
chaos_then(struct tt *x)
{
	if (chaos_calm)
		return;
	if (rnd() % 4 == 0)
		tt_arm(x, clk + random_ticks(20) * tc);
	for (unsigned n = rnd() % 3; n > 0; n--)
		chaos_op();
}

static void
chaos_check(void)
{
	uint64_t min_due = UINT64_MAX, ne = timer_next_expiry(&tw);
	unsigned armed = 0;

	for (unsigned i = 0; i < N_CHAOS; i++) {
		uint64_t due;

		assert_int_equal(timer_pending(&chaos[i].t), chaos[i].armed);
		if (!chaos[i].armed)
			continue;
		armed++;
		due = chaos[i].past ? 0 : due_at(chaos[i].expires);
		if (due < min_due)
			min_due = due;
	}
	assert_int_equal(tw.n_pending, armed);
	assert_true(ne <= min_due);
	if (min_due > clk)
		assert_true(ne > clk);
}

static void
test_chaos(void **state)
{
	(void)state;
	chaos = calloc(N_CHAOS, sizeof(*chaos));
	assert_non_null(chaos);
	setup_wheel(START + 3, 997, 9);
	chaos_calm = false;
	for (unsigned i = 0; i < N_CHAOS; i++) {
		tt_init(&chaos[i], i);
		chaos[i].then = chaos_then;
		tt_arm(&chaos[i], clk + random_ticks(30) * tc + rnd() % tc);
	}
	for (unsigned step = 0; step < 30000; step++) {
		uint64_t r = rnd() % 100, ne = timer_next_expiry(&tw), next;

		if (r < 80)
			next = clk + rnd() % (2 * tc);
		else if (r < 95)
			next = ne > clk && ne != UINT64_MAX ? ne : clk + tc;
		else
			next = clk + (rnd() % (1ull << 28)) * tc;
		for (unsigned n = rnd() % 3; n > 0; n--)
			chaos_op();
		chaos_check();
		drive(next);
		chaos_check();
	}
	chaos_calm = true;                      /* drain: everything fires once */
	while (tw.n_pending > 0) {
		uint64_t ne = timer_next_expiry(&tw);

		drive(ne > clk ? ne : clk + 1);
		chaos_check();
	}
	free(chaos);
}

/* A run after days of nothing fires exactly what is due, and quickly. */
static void
test_large_jump(void **state)
{
	enum { N = 2000 };
	static struct tt x[N];
	uint64_t day = 86400000ull * MS_2G4, start, mid;
	unsigned due = 0, fired;

	(void)state;
	setup_wheel(START, MS_2G4, 10);
	start = clk;
	mid = start + 3 * day;
	for (unsigned i = 0; i < N; i++) {
		tt_init(&x[i], i);
		tt_arm(&x[i], start + rnd() % (10 * day));
		due += due_at(x[i].expires) <= mid;
	}
	fired = drive(mid);
	assert_int_equal(fired, due);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(x[i].fired, due_at(x[i].expires) <= mid);
	assert_true(timer_next_expiry(&tw) > mid);
	fired += drive(start + 11 * day);
	assert_int_equal(fired, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(x[i].fired, 1);
}

/* Huge now values (2^62, tick of 1 cycle) and timers beyond the wheel's range. */
static void
test_large_now_and_overflow(void **state)
{
	static const uint64_t offs[] = { 0, 1, 255, 256, 65535, 65536, (1ull << 32) - 1,
					 1ull << 32, (1ull << 32) + 1, (1ull << 35) + 12345,
					 (1ull << 40) + 3 };
	enum { N = sizeof(offs) / sizeof(offs[0]) };
	struct tt x[N];
	uint64_t start = (1ull << 62) + 5;

	(void)state;
	setup_wheel(start, 1, 11);
	strict = true;
	for (unsigned i = 0; i < N; i++) {
		tt_init(&x[i], i);
		tt_arm(&x[i], start + 1 + offs[i]);
	}
	while (tw.n_pending > 0) {
		uint64_t ne = timer_next_expiry(&tw);

		assert_true(ne > clk);
		drive(ne);
	}
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(x[i].fired, 1);
	assert_true(test_runs < 1000);     /* 2^40 ticks: one run per 2^32 */
}

/* timer_next_expiry: exact for level 0, a bound for the rest, 0 when due. */
static void
test_next_expiry(void **state)
{
	struct tt a, b;

	(void)state;
	setup_wheel(START, 1000, 12);
	tt_init(&a, 0);
	tt_init(&b, 1);
	assert_true(timer_next_expiry(&tw) == UINT64_MAX);
	tt_arm(&a, clk + 100 * tc + 1);
	assert_true(timer_next_expiry(&tw) == due_at(a.expires));
	tt_arm(&b, clk + 50 * tc);
	assert_true(timer_next_expiry(&tw) == due_at(b.expires));
	tt_cancel(&b);
	assert_true(timer_next_expiry(&tw) == due_at(a.expires));
	tt_arm(&a, clk + 1000000 * tc);
	assert_true(timer_next_expiry(&tw) <= due_at(a.expires));
	assert_true(timer_next_expiry(&tw) > clk);
	tt_arm(&b, clk - 1);
	assert_true(timer_next_expiry(&tw) == 0);
	tt_cancel(&b);
	assert_true(timer_next_expiry(&tw) > clk);
	tt_cancel(&a);
	assert_true(timer_next_expiry(&tw) == UINT64_MAX);
	for (unsigned i = 0; i < 1000; i++) {   /* one timer anywhere: a bound, never 0 */
		uint64_t ne;

		tt_arm(&a, clk + 1 + random_ticks(36) * tc);
		ne = timer_next_expiry(&tw);
		assert_true(ne > clk && ne <= due_at(a.expires));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_einval),
		cmocka_unit_test(test_single_exact),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_rearm_moves),
		cmocka_unit_test(test_past_fires_next_run),
		cmocka_unit_test(test_rearm_now_in_callback),
		cmocka_unit_test(test_random_100k_all_levels),
		cmocka_unit_test(test_random_100k_every_tick),
		cmocka_unit_test(test_periodic_and_cancel_others),
		cmocka_unit_test(test_chaos),
		cmocka_unit_test(test_large_jump),
		cmocka_unit_test(test_large_now_and_overflow),
		cmocka_unit_test(test_next_expiry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
