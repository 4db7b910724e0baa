/*
 * sg_timer.h — one-shot timers for smtpgen's event loops: a binary min-heap
 * of intrusive timers (a struct sg_timer lives inside its session), O(log n)
 * arm and cancel, no allocation after sg_timers_init(). Times are
 * sg_now_ns() values. The loop asks sg_timers_wait_ms() how long epoll may
 * sleep, then pops due timers with sg_timers_pop().
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SG_TIMER_H
#define MAILGW_TOOLS_SMTPGEN_SG_TIMER_H

#include <stdint.h>

struct sg_timer {
	uint64_t when;
	int idx;                /* position in the heap, -1 when not armed */
};

struct sg_timers {
	struct sg_timer **heap;
	int n, cap;
};

/* Room for cap armed timers (one per session is the rule). 0 / -ENOMEM. */
int sg_timers_init(struct sg_timers *h, int cap);
void sg_timers_free(struct sg_timers *h);
/* Initialise a timer as not armed. */
static inline void sg_timer_init(struct sg_timer *t) { t->idx = -1; t->when = 0; }
/* Arm (or re-arm) t to fire at when. */
void sg_timer_arm(struct sg_timers *h, struct sg_timer *t, uint64_t when);
/* Disarm t; nothing when it is not armed. */
void sg_timer_cancel(struct sg_timers *h, struct sg_timer *t);
/* The earliest timer due at now (removed from the heap), or NULL. */
struct sg_timer *sg_timers_pop(struct sg_timers *h, uint64_t now);
/* Milliseconds until the earliest timer (rounded up), at most max_ms. */
int sg_timers_wait_ms(const struct sg_timers *h, uint64_t now, int max_ms);

#endif
