/*
 * linkem.h — deterministic link impairment (drivers/linkem.c): loss,
 * corruption, duplication, reordering, delay and jitter applied to the frames
 * of one port in one direction. There is no tc netem on the test kernels, so
 * the integration tests get their bad links from here (DESIGN §6).
 *
 * The worker applies it on RX right after rte_eth_rx_burst and on TX right
 * before rte_eth_tx_burst. Each worker owns its own struct linkem per port per
 * direction (share nothing, no locks, no allocation except the mbuf copies a
 * duplicate or a copy-on-write corruption needs). Off by default: a port and
 * direction without an impairment costs the one branch of linkem_enabled().
 *
 * Frames that are held (delayed, or reordered behind the next frame) wait in
 * bounded queues inside the struct; when a queue is full the frame passes
 * undelayed and counts queue_full: a frame is never lost except by `loss`.
 */
#ifndef MAILGW_DRIVERS_LINKEM_H
#define MAILGW_DRIVERS_LINKEM_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "platform/config.h"

#define LINKEM_QUEUE    1024    /* delayed frames held per instance */
#define LINKEM_REORDER  64      /* reordered frames held per instance */
#define LINKEM_REORDER_MAX_US 1000 /* a reordered frame with no follower leaves after this */

/* Counters: written by the owning worker only, read by the console (plain fields). */
struct linkem_stats {
	uint64_t passed;        /* frames handed out (duplicates and released frames included) */
	uint64_t lost;          /* freed by `loss` */
	uint64_t corrupted;     /* one bit flipped beyond the Ethernet header */
	uint64_t duplicated;    /* copies handed out (or held) besides the original */
	uint64_t dup_failed;    /* a duplicate wanted but no mbuf (or no room) for it */
	uint64_t reordered;     /* held back behind the next frame */
	uint64_t delayed;       /* held for delay + jitter */
	uint64_t queue_full;    /* would have been held, passed undelayed instead */
};

/* One held frame: released at tsc (delay) or by deadline tsc (reorder). */
struct linkem_slot {
	struct rte_mbuf *m;
	uint64_t tsc;
	uint64_t seq;           /* arrival order: ties and "released after the next frame" */
};

struct linkem {
	bool on;                /* impairing, or still holding frames */
	bool params;            /* an impairment is configured for this direction */
	int direction;          /* CFG_LINKEM_RX or CFG_LINKEM_TX */
	unsigned worker_id;
	uint64_t hz;
	uint64_t seed;          /* cfg seed in use (linkem_set reseeds when it changes) */
	uint64_t rng;           /* splitmix64 state */
	uint64_t loss_thr;      /* probabilities scaled to 2^32 */
	uint64_t corrupt_thr;
	uint64_t dup_thr;
	uint64_t reorder_thr;
	uint64_t delay_tsc;
	uint64_t jitter_tsc;
	uint64_t reorder_max_tsc;
	uint64_t seq;
	struct linkem_stats stats;
	uint32_t n_held;        /* entries in heap */
	uint32_t rq_head;       /* reorder FIFO */
	uint32_t rq_n;
	struct linkem_slot heap[LINKEM_QUEUE];  /* min-heap on (tsc, seq) */
	struct linkem_slot rq[LINKEM_REORDER];
};

/*
 * Set up le for one port and direction (CFG_LINKEM_RX or CFG_LINKEM_TX) of
 * worker worker_id; hz is the TSC rate that `now` is counted in. c may be NULL
 * (or name the other direction, or impair nothing): the instance is disabled.
 * The generator is seeded from c->seed, worker_id and direction, so a run is
 * reproducible and no two instances share a stream.
 */
void linkem_init(struct linkem *le, const struct cfg_linkem *c, unsigned worker_id,
		 int direction, uint64_t hz);

/*
 * Change the parameters at run time (owning worker only); c may be NULL to turn
 * the impairment off. Held frames, counters and the generator are kept (the
 * generator is reseeded only when c->seed changed). Held frames still leave on
 * time: the instance stays enabled until they have.
 */
void linkem_set(struct linkem *le, const struct cfg_linkem *c);

/* True when the worker must call linkem_process/linkem_flush for this instance. */
static inline bool
linkem_enabled(const struct linkem *le)
{
	return le->on;
}

/*
 * Impair the burst pkts[0..n) at time now (TSC). pkts is rewritten in place
 * with what leaves now: first held frames that are due, then the burst's
 * survivors, each followed by its duplicate and by the reordered frames it
 * releases. Returns the count, never more than max (pkts must have room for
 * max; n <= max). Duplicates are copied from pool. Whatever does not fit stays
 * held and leaves on a later call. Disabled: returns n, pkts untouched.
 */
uint16_t linkem_process(struct linkem *le, struct rte_mempool *pool, uint64_t now,
			struct rte_mbuf **pkts, uint16_t n, uint16_t max);

/*
 * Release held frames that are due at now into out[0..max); returns how many.
 * Call every loop pass, also when nothing was received.
 */
uint16_t linkem_flush(struct linkem *le, uint64_t now, struct rte_mbuf **out, uint16_t max);

/* Free every held frame (shutdown, or before dropping the instance). */
void linkem_drain(struct linkem *le);

#endif
