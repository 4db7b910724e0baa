/*
 * smtp_limit.c — per-client-address session and connection-rate limits
 * shared by all workers (see smtp_limit.h): a count-min sketch of atomic
 * buckets, no locks, no allocation after smtp_limit_create(). The SMTP
 * server calls smtp_limit_open() when it accepts a connection, before the
 * greeting, and smtp_limit_close() when an admitted session ends.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "app/smtp/smtp_limit.h"

#define SMTP_LIMIT_CNT_BITS     24
#define SMTP_LIMIT_CNT_MASK     ((1ull << SMTP_LIMIT_CNT_BITS) - 1)
#define SMTP_LIMIT_SEC_MASK     ((1ull << (64 - SMTP_LIMIT_CNT_BITS)) - 1)

/* One bucket: both counters of the addresses hashed here, in one cache line. */
struct smtp_limit_bucket {
	_Atomic uint64_t sessions;      /* sessions open */
	_Atomic uint64_t rate;          /* second << 24 | attempts in that second */
};

struct smtp_limit {
	unsigned log2;                  /* buckets per row = 1 << log2 */
	uint64_t key[SMTP_LIMIT_ROWS];  /* per-row hash keys */
	struct smtp_limit_bucket *bucket;  /* SMTP_LIMIT_ROWS rows, one after the other */
};

/* SplitMix64's finaliser: a keyed 64-bit mix of the address. */
static inline uint64_t
smtp_limit_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* The address's bucket in each row. */
static inline void
smtp_limit_buckets(const struct smtp_limit *l, uint32_t addr,
		   struct smtp_limit_bucket *b[SMTP_LIMIT_ROWS])
{
	unsigned r;

	for (r = 0; r < SMTP_LIMIT_ROWS; r++) {
		uint64_t h = smtp_limit_mix(addr ^ l->key[r]);

		b[r] = &l->bucket[((size_t)r << l->log2) + (size_t)(h >> (64 - l->log2))];
	}
}

/* A random key per row; getrandom() or, failing that, the clock and an address. */
static void
smtp_limit_keys(struct smtp_limit *l)
{
	struct timespec ts;
	unsigned r;

	if (getrandom(l->key, sizeof(l->key), GRND_NONBLOCK) == (ssize_t)sizeof(l->key))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	for (r = 0; r < SMTP_LIMIT_ROWS; r++)
		l->key[r] = smtp_limit_mix((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
					   (uintptr_t)l ^ ((uint64_t)r << 56));
}

struct smtp_limit *
smtp_limit_create(unsigned buckets_log2)
{
	struct smtp_limit *l;
	size_t n;

	if (buckets_log2 < SMTP_LIMIT_BUCKETS_LOG2_MIN || buckets_log2 > SMTP_LIMIT_BUCKETS_LOG2_MAX) {
		errno = EINVAL;
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	n = (size_t)SMTP_LIMIT_ROWS << buckets_log2;
	l->bucket = aligned_alloc(64, n * sizeof(*l->bucket));
	if (l->bucket == NULL) {
		free(l);
		errno = ENOMEM;
		return NULL;
	}
	memset(l->bucket, 0, n * sizeof(*l->bucket));
	l->log2 = buckets_log2;
	smtp_limit_keys(l);
	return l;
}

void
smtp_limit_free(struct smtp_limit *l)
{
	if (l == NULL)
		return;
	free(l->bucket);
	free(l);
}

/* ---------------------------------------------------------------- rate */

/* Count one attempt in second now (or in the later second the word already holds). */
static void
smtp_limit_rate_bump(struct smtp_limit_bucket *b, uint64_t now)
{
	uint64_t old = atomic_load(&b->rate), nw, sec, cnt;

	do {
		sec = old >> SMTP_LIMIT_CNT_BITS;
		cnt = old & SMTP_LIMIT_CNT_MASK;
		if (sec < now)
			nw = (now << SMTP_LIMIT_CNT_BITS) | 1;
		else
			nw = (sec << SMTP_LIMIT_CNT_BITS) | (cnt < SMTP_LIMIT_CNT_MASK ? cnt + 1 : cnt);
	} while (!atomic_compare_exchange_weak(&b->rate, &old, nw));
}

/* Attempts a bucket holds for second now (0 when it holds an earlier second). */
static uint64_t
smtp_limit_rate_read(struct smtp_limit_bucket *b, uint64_t now)
{
	uint64_t w = atomic_load(&b->rate);

	return (w >> SMTP_LIMIT_CNT_BITS) >= now ? (w & SMTP_LIMIT_CNT_MASK) : 0;
}

/* Count the attempt in every row, then read every row back: over max_rate? */
static bool
smtp_limit_rate_over(struct smtp_limit_bucket *b[SMTP_LIMIT_ROWS], unsigned max_rate,
		     uint64_t now)
{
	uint64_t est = UINT64_MAX, v;
	unsigned r;

	for (r = 0; r < SMTP_LIMIT_ROWS; r++)
		smtp_limit_rate_bump(b[r], now);
	for (r = 0; r < SMTP_LIMIT_ROWS; r++) {
		v = smtp_limit_rate_read(b[r], now);
		if (v < est)
			est = v;
	}
	return est > max_rate;
}

/* ------------------------------------------------------------ sessions */

/*
 * Increment every row first, read every row back afterwards, decide on the
 * minimum. Why that never admits more than max for one address, whatever
 * the interleaving (all operations are sequentially consistent): among any
 * max + 1 admitted sessions open at one moment, take the one whose read of
 * row 0 came last. Each of the others had incremented every row before its
 * own read of row 0, so before this one's; none had decremented yet. So
 * this one read at least max + 1 in every row, and refused. Deciding on
 * fetch_add's return values instead is not safe: two opens can each see a
 * low value in a different row.
 */
static bool
smtp_limit_sessions_over(struct smtp_limit_bucket *b[SMTP_LIMIT_ROWS], unsigned max)
{
	uint64_t est = UINT64_MAX, v;
	unsigned r;

	for (r = 0; r < SMTP_LIMIT_ROWS; r++)
		atomic_fetch_add(&b[r]->sessions, 1);
	if (max == 0)
		return false;
	for (r = 0; r < SMTP_LIMIT_ROWS; r++) {
		v = atomic_load(&b[r]->sessions);
		if (v < est)
			est = v;
	}
	if (est <= max)
		return false;
	for (r = 0; r < SMTP_LIMIT_ROWS; r++)
		atomic_fetch_sub(&b[r]->sessions, 1);
	return true;
}

enum smtp_limit_verdict
smtp_limit_open(struct smtp_limit *l, uint32_t addr, unsigned max_sessions, unsigned max_rate,
		uint64_t now_s)
{
	struct smtp_limit_bucket *b[SMTP_LIMIT_ROWS];

	smtp_limit_buckets(l, addr, b);
	if (max_rate > 0 && smtp_limit_rate_over(b, max_rate, now_s & SMTP_LIMIT_SEC_MASK))
		return SMTP_LIMIT_RATE;
	if (smtp_limit_sessions_over(b, max_sessions))
		return SMTP_LIMIT_TOO_MANY_SESSIONS;
	return SMTP_LIMIT_OK;
}

void
smtp_limit_close(struct smtp_limit *l, uint32_t addr)
{
	struct smtp_limit_bucket *b[SMTP_LIMIT_ROWS];
	unsigned r;

	smtp_limit_buckets(l, addr, b);
	for (r = 0; r < SMTP_LIMIT_ROWS; r++)
		atomic_fetch_sub(&b[r]->sessions, 1);
}

unsigned
smtp_limit_sessions(const struct smtp_limit *l, uint32_t addr)
{
	struct smtp_limit_bucket *b[SMTP_LIMIT_ROWS];
	uint64_t est = UINT64_MAX, v;
	unsigned r;

	smtp_limit_buckets(l, addr, b);
	for (r = 0; r < SMTP_LIMIT_ROWS; r++) {
		v = atomic_load(&b[r]->sessions);
		if (v < est)
			est = v;
	}
	return est > UINT32_MAX ? UINT32_MAX : (unsigned)est;
}

unsigned
smtp_limit_rate(const struct smtp_limit *l, uint32_t addr, uint64_t now_s)
{
	struct smtp_limit_bucket *b[SMTP_LIMIT_ROWS];
	uint64_t est = UINT64_MAX, v;
	unsigned r;

	smtp_limit_buckets(l, addr, b);
	for (r = 0; r < SMTP_LIMIT_ROWS; r++) {
		v = smtp_limit_rate_read(b[r], now_s & SMTP_LIMIT_SEC_MASK);
		if (v < est)
			est = v;
	}
	return (unsigned)est;
}

const char *
smtp_limit_verdict_name(enum smtp_limit_verdict v)
{
	switch (v) {
	case SMTP_LIMIT_OK:
		return "ok";
	case SMTP_LIMIT_TOO_MANY_SESSIONS:
		return "too_many_sessions";
	case SMTP_LIMIT_RATE:
		return "rate";
	}
	return "?";
}
