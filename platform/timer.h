/*
 * timer.h — the per-worker timer wheel (RTO, delayed ACK, persist, keepalive,
 * TIME_WAIT, SMTP timeouts). Timers are intrusive: a struct timer lives inside
 * its owner (a TCP connection, a session), so arming never allocates. The
 * wheel has 4 levels of 256 slots (2^32 ticks) plus an overflow list, O(1)
 * arm and cancel, and is driven by the worker's TSC. One wheel per worker,
 * one thread, no locks. Pure C: no DPDK needed.
 *
 * Time is an absolute TSC value; a tick is tick_cycles of it. A timer fires
 * in the first timer_run() whose now has reached its tick, the multiple of
 * tick_cycles at or after its expiry: never before expires, and never in a
 * later tick than that one when timer_run() is called every tick.
 */
#ifndef MAILGW_PLATFORM_TIMER_H
#define MAILGW_PLATFORM_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define TIMER_LEVEL_BITS  8
#define TIMER_LEVEL_SLOTS (1u << TIMER_LEVEL_BITS)
#define TIMER_LEVELS      4     /* 2^32 ticks (49 days of 1 ms) before overflow */

struct timer {
	struct timer *next;
	struct timer **pprev;           /* NULL when not pending */
	uint64_t expires;               /* TSC */
	void (*fn)(struct timer *t, void *arg);
	void *arg;
	uint32_t where;                 /* the wheel's list it is on (internal) */
};

/* Plain struct, embedded in the worker. Read-only outside timer.c. */
struct timer_wheel {
	uint64_t tick_cycles;
	uint64_t tick;                  /* next tick to process (TSC / tick_cycles) */
	uint64_t now;                   /* of the latest timer_run (or init) */
	unsigned n_pending;             /* armed timers */
	struct timer *due;              /* armed already expired: fire next run */
	struct timer *overflow;         /* 2^32 ticks or more ahead */
	uint64_t map[TIMER_LEVELS][TIMER_LEVEL_SLOTS / 64];    /* non-empty slots */
	struct timer *slot[TIMER_LEVELS][TIMER_LEVEL_SLOTS];
};

/*
 * Set up an empty wheel at time now (TSC) with ticks of tick_cycles (e.g. the
 * TSC rate / 1000 for 1 ms). Returns 0, or -EINVAL if tw is NULL or
 * tick_cycles is 0.
 */
int timer_wheel_init(struct timer_wheel *tw, uint64_t now, uint64_t tick_cycles);

/* Prepare a timer (not pending) that will call fn(t, arg) when it fires. */
void timer_init(struct timer *t, void (*fn)(struct timer *t, void *arg), void *arg);

/*
 * Arm t to fire at expires (absolute TSC). An armed timer is moved. An expiry
 * at or before the now of the latest timer_run() (or of timer_wheel_init)
 * fires on the next run.
 */
void timer_arm(struct timer_wheel *tw, struct timer *t, uint64_t expires);

/* Disarm t; nothing happens if it is not pending. */
void timer_cancel(struct timer_wheel *tw, struct timer *t);

/* Whether t is armed and has not fired yet. */
static inline bool
timer_pending(const struct timer *t)
{
	return t->pprev != NULL;
}

/*
 * Fire every timer due by now (TSC): those armed for the past, and those
 * whose tick now has reached. Returns how many. A timer is disarmed before
 * its callback runs; callbacks may arm and cancel any timer of this wheel,
 * themselves included, but must not call timer_run(). A timer armed by a
 * callback fires on a later run, never this one (so "re-arm for now" cannot
 * loop), while one cancelled by a callback does not fire.
 */
unsigned timer_run(struct timer_wheel *tw, uint64_t now);

/*
 * When the next timer_run() may have something to do (TSC): no timer fires
 * in a timer_run(now) with now below this. It is never later than the tick of
 * the earliest pending timer and may be earlier (it is a level's boundary
 * when nothing is close); 0 if a timer is already due, UINT64_MAX if none is
 * pending. For an adaptive worker deciding how long it may sleep; a few ns.
 */
uint64_t timer_next_expiry(const struct timer_wheel *tw);

#endif
