/*
 * sg_timer.c — the min-heap behind smtpgen's session timers (sg_timer.h):
 * client reply timeouts and reconnect back-off, sink delays and idle
 * timeouts. Driven from the event loops in client.c and sink.c.
 */
#include <errno.h>
#include <stdlib.h>

#include "tools/smtpgen/sg_timer.h"

int sg_timers_init(struct sg_timers *h, int cap)
{
	h->heap = calloc((size_t)cap, sizeof(*h->heap));
	h->n = 0;
	h->cap = cap;
	return h->heap ? 0 : -ENOMEM;
}

void sg_timers_free(struct sg_timers *h)
{
	free(h->heap);
	h->heap = NULL;
	h->n = h->cap = 0;
}

static void sg_timers_place(struct sg_timers *h, int i, struct sg_timer *t)
{
	h->heap[i] = t;
	t->idx = i;
}

static void sg_timers_up(struct sg_timers *h, int i)
{
	struct sg_timer *t = h->heap[i];

	while (i > 0) {
		int p = (i - 1) / 2;

		if (h->heap[p]->when <= t->when)
			break;
		sg_timers_place(h, i, h->heap[p]);
		i = p;
	}
	sg_timers_place(h, i, t);
}

static void sg_timers_down(struct sg_timers *h, int i)
{
	struct sg_timer *t = h->heap[i];

	for (;;) {
		int c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->heap[c + 1]->when < h->heap[c]->when)
			c++;
		if (t->when <= h->heap[c]->when)
			break;
		sg_timers_place(h, i, h->heap[c]);
		i = c;
	}
	sg_timers_place(h, i, t);
}

void sg_timer_cancel(struct sg_timers *h, struct sg_timer *t)
{
	int i = t->idx;
	struct sg_timer *last;

	if (i < 0)
		return;
	t->idx = -1;
	last = h->heap[--h->n];
	if (i == h->n)
		return;
	sg_timers_place(h, i, last);
	sg_timers_up(h, i);
	sg_timers_down(h, last->idx);
}

void sg_timer_arm(struct sg_timers *h, struct sg_timer *t, uint64_t when)
{
	sg_timer_cancel(h, t);
	if (h->n >= h->cap)
		abort();        /* one timer per session: sized at start-up */
	t->when = when;
	sg_timers_place(h, h->n++, t);
	sg_timers_up(h, t->idx);
}

struct sg_timer *sg_timers_pop(struct sg_timers *h, uint64_t now)
{
	struct sg_timer *t;

	if (h->n == 0 || h->heap[0]->when > now)
		return NULL;
	t = h->heap[0];
	sg_timer_cancel(h, t);
	return t;
}

int sg_timers_wait_ms(const struct sg_timers *h, uint64_t now, int max_ms)
{
	uint64_t d;

	if (h->n == 0)
		return max_ms;
	if (h->heap[0]->when <= now)
		return 0;
	d = (h->heap[0]->when - now + 999999) / 1000000;
	return d < (uint64_t)max_ms ? (int)d : max_ms;
}
