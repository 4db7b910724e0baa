/*
 * smtp_limit.h — per-client-address limits shared by all workers: concurrent
 * SMTP sessions per address (smtp.limits.sessions_per_client) and new
 * sessions per second per address (smtp.limits.connection_rate_per_client).
 *
 * Lock-free and fixed-size: a count-min sketch of SMTP_LIMIT_ROWS rows of
 * 2^buckets_log2 buckets of 64-bit atomics, each address hashed into one
 * bucket per row by independent keyed hashes (a random key per table, so a
 * client cannot pick addresses that collide with another's). An address's
 * count is the minimum over its buckets. Addresses that share a bucket add
 * up in it, so a collision can only make a client look busier than it is,
 * never less busy: the limits are never exceeded, and an unlucky client is
 * refused early only when it collides in every row with clients that are
 * themselves busy. With 2 x 65536 buckets (the default) and 10,000 active
 * addresses, an address shares both of its buckets with someone in about
 * 2 % of cases, and that only matters when those others hold many sessions.
 *
 * The same holds under contention: smtp_limit_open() first increments all
 * of the address's buckets, then reads them all back and decides on the
 * minimum, so concurrent opens for one address may refuse one another (a
 * transient over-estimate) but can never together exceed the limit.
 *
 * Rate: per bucket one 64-bit word (second << 24 | attempts), moved with
 * CAS: a fixed one-second window on the caller's monotonic second counter.
 * Every attempt counts toward the rate, refused ones too (as Postfix's anvil
 * counts connection attempts). Within a fixed window this changes no
 * decision (once over the limit, the rest of the second is refused either
 * way), but smtp_limit_rate() reports what the client really tried, and
 * attempts refused for too many sessions use up the rate as well.
 */
#ifndef MAILGW_APP_SMTP_SMTP_LIMIT_H
#define MAILGW_APP_SMTP_SMTP_LIMIT_H

#include <stdint.h>

#define SMTP_LIMIT_ROWS                 2
#define SMTP_LIMIT_BUCKETS_LOG2_DEFAULT 16      /* 2 x 65536 buckets, 2 MiB */
#define SMTP_LIMIT_BUCKETS_LOG2_MIN     4
#define SMTP_LIMIT_BUCKETS_LOG2_MAX     24
#define SMTP_LIMIT_RATE_MAX             0xffffffu  /* attempts counted per second, saturating */

struct smtp_limit;

enum smtp_limit_verdict {
	SMTP_LIMIT_OK = 0,              /* counted: call smtp_limit_close() once at the end */
	SMTP_LIMIT_TOO_MANY_SESSIONS,   /* max_sessions already open from this address */
	SMTP_LIMIT_RATE,                /* over max_rate new sessions this second */
};

/*
 * Create a table of SMTP_LIMIT_ROWS x 2^buckets_log2 buckets
 * (SMTP_LIMIT_BUCKETS_LOG2_MIN..MAX; use SMTP_LIMIT_BUCKETS_LOG2_DEFAULT),
 * all counts zero, with a fresh random hash key. Control plane, start-up
 * only. NULL with errno EINVAL (bad size) or ENOMEM.
 */
struct smtp_limit *smtp_limit_create(unsigned buckets_log2);

/* Free a table (NULL is fine); no session may still be using it. */
void smtp_limit_free(struct smtp_limit *l);

/*
 * At accept, from any worker: count the attempt toward the rate (when
 * max_rate > 0) and refuse with SMTP_LIMIT_RATE when it makes more than
 * max_rate this second; else count the session and refuse (uncounting it)
 * with SMTP_LIMIT_TOO_MANY_SESSIONS when that makes more than max_sessions
 * (0: no limit, still counted). On SMTP_LIMIT_OK the caller must call
 * smtp_limit_close() exactly once when the session ends. addr: IPv4, host
 * byte order; now_s: the caller's monotonic second counter (workers may
 * disagree by a second: an attempt then counts toward the later second).
 */
enum smtp_limit_verdict smtp_limit_open(struct smtp_limit *l, uint32_t addr,
					unsigned max_sessions, unsigned max_rate, uint64_t now_s);

/* The end of a session that smtp_limit_open() admitted. */
void smtp_limit_close(struct smtp_limit *l, uint32_t addr);

/* Sessions counted for addr now (an upper bound: the sketch's estimate). */
unsigned smtp_limit_sessions(const struct smtp_limit *l, uint32_t addr);

/* Attempts counted for addr in second now_s (an upper bound, as above). */
unsigned smtp_limit_rate(const struct smtp_limit *l, uint32_t addr, uint64_t now_s);

/* "ok", "too_many_sessions", "rate": for logs and counters. */
const char *smtp_limit_verdict_name(enum smtp_limit_verdict v);

#endif /* MAILGW_APP_SMTP_SMTP_LIMIT_H */
