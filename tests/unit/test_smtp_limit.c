/*
 * test_smtp_limit.c — unit tests of app/smtp/smtp_limit.h: the session limit
 * holds and close releases it, addresses are independent, the rate resets
 * each second (fake clock) and counts refused attempts, collisions in a tiny
 * table only ever over-estimate, and 4 threads x 100,000 open/close on
 * shared and private addresses never exceed a limit at any moment and end
 * with every count back at 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "app/smtp/smtp_limit.h"

#define IP4(a, b, c, d) \
	(((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define ADDR_A IP4(203, 0, 113, 1)
#define ADDR_B IP4(203, 0, 113, 2)

static struct smtp_limit *
make(unsigned log2)
{
	struct smtp_limit *l = smtp_limit_create(log2);

	assert_non_null(l);
	return l;
}

static void
test_create(void **state)
{
	(void)state;
	errno = 0;
	assert_null(smtp_limit_create(SMTP_LIMIT_BUCKETS_LOG2_MIN - 1));
	assert_int_equal(errno, EINVAL);
	assert_null(smtp_limit_create(SMTP_LIMIT_BUCKETS_LOG2_MAX + 1));
	smtp_limit_free(make(SMTP_LIMIT_BUCKETS_LOG2_MIN));
	smtp_limit_free(make(SMTP_LIMIT_BUCKETS_LOG2_DEFAULT));
	smtp_limit_free(NULL);
	assert_string_equal(smtp_limit_verdict_name(SMTP_LIMIT_OK), "ok");
	assert_string_equal(smtp_limit_verdict_name(SMTP_LIMIT_TOO_MANY_SESSIONS),
			    "too_many_sessions");
	assert_string_equal(smtp_limit_verdict_name(SMTP_LIMIT_RATE), "rate");
}

static void
test_sessions_limit(void **state)
{
	struct smtp_limit *l = make(SMTP_LIMIT_BUCKETS_LOG2_DEFAULT);
	unsigned i;

	(void)state;
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(smtp_limit_open(l, ADDR_A, 3, 0, 1), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 3);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 3, 0, 1), SMTP_LIMIT_TOO_MANY_SESSIONS);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 3, 0, 1), SMTP_LIMIT_TOO_MANY_SESSIONS);
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 3);            /* refusals uncounted */
	/* the other address is not affected */
	assert_int_equal(smtp_limit_open(l, ADDR_B, 3, 0, 1), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_sessions(l, ADDR_B), 1);
	/* close releases one place */
	smtp_limit_close(l, ADDR_A);
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 2);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 3, 0, 1), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 3, 0, 1), SMTP_LIMIT_TOO_MANY_SESSIONS);
	/* a higher limit admits more; a lower one refuses at once */
	assert_int_equal(smtp_limit_open(l, ADDR_A, 4, 0, 1), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 1, 0, 1), SMTP_LIMIT_TOO_MANY_SESSIONS);
	for (i = 0; i < 4; i++)
		smtp_limit_close(l, ADDR_A);
	smtp_limit_close(l, ADDR_B);
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 0);
	assert_int_equal(smtp_limit_sessions(l, ADDR_B), 0);
	smtp_limit_free(l);
}

static void
test_no_session_limit(void **state)
{
	struct smtp_limit *l = make(SMTP_LIMIT_BUCKETS_LOG2_DEFAULT);
	unsigned i;

	(void)state;
	for (i = 0; i < 1000; i++)
		assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 0, 1), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 1000);         /* still counted */
	for (i = 0; i < 1000; i++)
		smtp_limit_close(l, ADDR_A);
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 0);
	smtp_limit_free(l);
}

static void
test_rate(void **state)
{
	struct smtp_limit *l = make(SMTP_LIMIT_BUCKETS_LOG2_DEFAULT);
	uint64_t now = 1000;
	unsigned i;

	(void)state;
	for (i = 0; i < 5; i++)
		assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 5, now), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 5, now), SMTP_LIMIT_RATE);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 5, now), SMTP_LIMIT_RATE);
	assert_int_equal(smtp_limit_rate(l, ADDR_A, now), 7);           /* refused attempts count */
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 5);            /* rate refusals hold no session */
	assert_int_equal(smtp_limit_open(l, ADDR_B, 0, 5, now), SMTP_LIMIT_OK);
	/* the next second starts afresh */
	assert_int_equal(smtp_limit_rate(l, ADDR_A, now + 1), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 5, now + 1), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 5, now + 1), SMTP_LIMIT_RATE);
	/* a worker whose clock is a second behind counts toward the later second */
	assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 5, now), SMTP_LIMIT_RATE);
	assert_int_equal(smtp_limit_rate(l, ADDR_A, now + 1), 7);
	/* a long pause, then the limit again */
	now += 3600;
	for (i = 0; i < 5; i++)
		assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 5, now), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 0, 5, now), SMTP_LIMIT_RATE);
	/* max_rate 0: off, nothing counted */
	assert_int_equal(smtp_limit_open(l, ADDR_B, 0, 0, now), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_rate(l, ADDR_B, now), 0);
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 15);
	smtp_limit_free(l);
}

/* Attempts refused for too many sessions use up the rate too; rate refusals come first. */
static void
test_rate_and_sessions(void **state)
{
	struct smtp_limit *l = make(SMTP_LIMIT_BUCKETS_LOG2_DEFAULT);

	(void)state;
	assert_int_equal(smtp_limit_open(l, ADDR_A, 1, 3, 7), SMTP_LIMIT_OK);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 1, 3, 7), SMTP_LIMIT_TOO_MANY_SESSIONS);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 1, 3, 7), SMTP_LIMIT_TOO_MANY_SESSIONS);
	smtp_limit_close(l, ADDR_A);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 1, 3, 7), SMTP_LIMIT_RATE);
	assert_int_equal(smtp_limit_sessions(l, ADDR_A), 0);
	assert_int_equal(smtp_limit_open(l, ADDR_A, 1, 3, 8), SMTP_LIMIT_OK);
	smtp_limit_close(l, ADDR_A);
	smtp_limit_free(l);
}

/* 16 buckets a row, 1000 addresses: collisions everywhere, estimates never low. */
static void
test_collisions_overestimate(void **state)
{
	struct smtp_limit *l = make(SMTP_LIMIT_BUCKETS_LOG2_MIN);
	unsigned i, k, over = 0, admitted;

	(void)state;
	for (i = 0; i < 1000; i++)
		for (k = 0; k < i % 4; k++)
			assert_int_equal(smtp_limit_open(l, IP4(10, 0, i >> 8, i & 255), 0, 0, 1),
					 SMTP_LIMIT_OK);
	for (i = 0; i < 1000; i++) {
		unsigned est = smtp_limit_sessions(l, IP4(10, 0, i >> 8, i & 255));

		assert_true(est >= i % 4);
		over += est > i % 4;
	}
	assert_true(over > 0);
	/* with a limit: a new address is refused early (collision), never admitted past it */
	admitted = 0;
	while (smtp_limit_open(l, IP4(192, 0, 2, 1), 2000, 0, 1) == SMTP_LIMIT_OK)
		admitted++;
	assert_true(admitted < 2000);
	assert_true(smtp_limit_sessions(l, IP4(192, 0, 2, 1)) <= 2000);
	for (k = 0; k < admitted; k++)
		smtp_limit_close(l, IP4(192, 0, 2, 1));
	for (i = 0; i < 1000; i++)
		for (k = 0; k < i % 4; k++)
			smtp_limit_close(l, IP4(10, 0, i >> 8, i & 255));
	for (i = 0; i < 1000; i++)
		assert_int_equal(smtp_limit_sessions(l, IP4(10, 0, i >> 8, i & 255)), 0);
	smtp_limit_free(l);
}

/* ------------------------------------------------------------- threads */

#define THREADS         4
#define ITERATIONS      100000
#define HOLD            4               /* sessions a thread holds at most */
#define MAX_SHARED      3               /* the limit (a thread alone can reach it) */
#define N_ADDRS         (2 + THREADS)   /* two shared, one private per thread */

struct mt {
	struct smtp_limit *l;
	pthread_barrier_t start;            /* all threads start together */
	uint32_t addr[N_ADDRS];
	_Atomic unsigned open[N_ADDRS];     /* admitted and not yet closed, per address */
	_Atomic unsigned peak[N_ADDRS];
	_Atomic unsigned long ok, refused;
};

struct mt_arg {
	struct mt *mt;
	unsigned id;
};

static void
mt_admit(struct mt *mt, unsigned a)
{
	unsigned now = atomic_fetch_add(&mt->open[a], 1) + 1, peak = atomic_load(&mt->peak[a]);

	while (now > peak && !atomic_compare_exchange_weak(&mt->peak[a], &peak, now))
		;
}

static void *
mt_thread(void *p)
{
	struct mt_arg *arg = p;
	struct mt *mt = arg->mt;
	unsigned held[HOLD], n_held = 0, i, a;
	uint64_t rng = 0x9e3779b97f4a7c15ull * (arg->id + 1);
	unsigned long ok = 0, refused = 0;

	pthread_barrier_wait(&mt->start);
	for (i = 0; i < ITERATIONS; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		a = (rng % 3 == 0) ? 2 + arg->id : (unsigned)(rng >> 8) % 2;
		if (n_held == HOLD || (n_held > 0 && (rng >> 20) % 2)) {
			unsigned c = held[--n_held];

			atomic_fetch_sub(&mt->open[c], 1);
			smtp_limit_close(mt->l, mt->addr[c]);
		}
		if (smtp_limit_open(mt->l, mt->addr[a], MAX_SHARED, 0, 0) != SMTP_LIMIT_OK) {
			refused++;
			continue;
		}
		mt_admit(mt, a);
		held[n_held++] = a;
		ok++;
	}
	while (n_held > 0) {
		a = held[--n_held];
		atomic_fetch_sub(&mt->open[a], 1);
		smtp_limit_close(mt->l, mt->addr[a]);
	}
	atomic_fetch_add(&mt->ok, ok);
	atomic_fetch_add(&mt->refused, refused);
	return NULL;
}

static void
test_threads(void **state)
{
	static struct mt mt;
	struct mt_arg args[THREADS];
	pthread_t t[THREADS];
	unsigned i;

	(void)state;
	memset(&mt, 0, sizeof(mt));
	mt.l = make(SMTP_LIMIT_BUCKETS_LOG2_DEFAULT);
	assert_int_equal(pthread_barrier_init(&mt.start, NULL, THREADS), 0);
	for (i = 0; i < N_ADDRS; i++)
		mt.addr[i] = IP4(198, 51, 100, 10 + i);
	for (i = 0; i < THREADS; i++) {
		args[i] = (struct mt_arg){ &mt, i };
		assert_int_equal(pthread_create(&t[i], NULL, mt_thread, &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	print_message("threads: %lu admitted, %lu refused; peaks shared %u %u, private",
		      atomic_load(&mt.ok), atomic_load(&mt.refused), atomic_load(&mt.peak[0]),
		      atomic_load(&mt.peak[1]));
	for (i = 2; i < N_ADDRS; i++)
		print_message(" %u", atomic_load(&mt.peak[i]));
	print_message("\n");
	for (i = 0; i < N_ADDRS; i++) {
		assert_true(atomic_load(&mt.peak[i]) <= MAX_SHARED);
		assert_true(atomic_load(&mt.peak[i]) > 0);
		assert_int_equal(atomic_load(&mt.open[i]), 0);
		assert_int_equal(smtp_limit_sessions(mt.l, mt.addr[i]), 0);
	}
	assert_true(atomic_load(&mt.ok) > 0);
	assert_true(atomic_load(&mt.refused) > 0);          /* the limit was reached */
	pthread_barrier_destroy(&mt.start);
	smtp_limit_free(mt.l);
}

/* 4 threads, one address, one second: never more than max_rate admitted. */
#define RATE_MAX        1000
#define RATE_TRIES      20000

static struct smtp_limit *rate_l;
static _Atomic unsigned rate_ok;

static void *
rate_thread(void *p)
{
	unsigned i;

	(void)p;
	for (i = 0; i < RATE_TRIES; i++)
		if (smtp_limit_open(rate_l, ADDR_A, 0, RATE_MAX, 42) == SMTP_LIMIT_OK) {
			atomic_fetch_add(&rate_ok, 1);
			smtp_limit_close(rate_l, ADDR_A);
		}
	return NULL;
}

static void
test_threads_rate(void **state)
{
	pthread_t t[THREADS];
	unsigned i;

	(void)state;
	rate_l = make(SMTP_LIMIT_BUCKETS_LOG2_DEFAULT);
	atomic_store(&rate_ok, 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, rate_thread, NULL), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_true(atomic_load(&rate_ok) <= RATE_MAX);
	assert_true(atomic_load(&rate_ok) > 0);
	assert_int_equal(smtp_limit_rate(rate_l, ADDR_A, 42), THREADS * RATE_TRIES);
	assert_int_equal(smtp_limit_sessions(rate_l, ADDR_A), 0);
	smtp_limit_free(rate_l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_sessions_limit),
		cmocka_unit_test(test_no_session_limit),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_rate_and_sessions),
		cmocka_unit_test(test_collisions_overestimate),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_threads_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
