/*
 * timer.c — the per-worker timer wheel, run from the worker loop after RX
 * (timer_run) and armed/cancelled by TCP and SMTP. A timer whose tick is less
 * than 256^(k+1) ticks ahead sits in level k, in the slot named by byte k of
 * its tick; when the wheel's tick reaches a level-k boundary the matching
 * slot is re-placed lower down (cascade), so level 0 fires exact ticks.
 */
#include <errno.h>
#include <string.h>

#include "platform/timer.h"

#define TIMER_SLOT_MASK     (TIMER_LEVEL_SLOTS - 1)
#define TIMER_MAP_WORDS     (TIMER_LEVEL_SLOTS / 64)
#define TIMER_WHERE_DUE     (TIMER_LEVELS * TIMER_LEVEL_SLOTS)
#define TIMER_WHERE_OVERFLOW (TIMER_WHERE_DUE + 1)

static void
timer_list_add(struct timer **head, struct timer *t)
{
	t->next = *head;
	if (t->next != NULL)
		t->next->pprev = &t->next;
	*head = t;
	t->pprev = head;
}

static void
timer_list_del(struct timer *t)
{
	*t->pprev = t->next;
	if (t->next != NULL)
		t->next->pprev = t->pprev;
	t->next = NULL;
	t->pprev = NULL;
}

/* Move the whole list at *from to the (empty) list head *to. */
static void
timer_list_take(struct timer **from, struct timer **to)
{
	*to = *from;
	*from = NULL;
	if (*to != NULL)
		(*to)->pprev = to;
}

static void
timer_map_clear(struct timer_wheel *tw, unsigned level, unsigned idx)
{
	tw->map[level][idx / 64] &= ~(1ull << (idx % 64));
}

/* The tick a TSC expiry fires in: rounded up, so never early. */
static uint64_t
timer_tick_of(const struct timer_wheel *tw, uint64_t expires)
{
	return expires / tw->tick_cycles + (expires % tw->tick_cycles != 0);
}

/* The smallest multiple of 2^shift at or after n. */
static uint64_t
timer_round_up(uint64_t n, unsigned shift)
{
	uint64_t mask = (1ull << shift) - 1;

	return n > UINT64_MAX - mask ? UINT64_MAX : (n + mask) & ~mask;
}

static void
timer_add_due(struct timer_wheel *tw, struct timer *t)
{
	t->where = TIMER_WHERE_DUE;
	timer_list_add(&tw->due, t);
}

/* Put an unlinked timer on the list its tick calls for, relative to tw->tick. */
static void
timer_place(struct timer_wheel *tw, struct timer *t)
{
	uint64_t tick = timer_tick_of(tw, t->expires);
	uint64_t delta;
	unsigned level, idx;

	if (tick < tw->tick) {
		timer_add_due(tw, t);
		return;
	}
	delta = tick - tw->tick;
	level = delta == 0 ? 0 : (63 - __builtin_clzll(delta)) / TIMER_LEVEL_BITS;
	if (level >= TIMER_LEVELS) {
		t->where = TIMER_WHERE_OVERFLOW;
		timer_list_add(&tw->overflow, t);
		return;
	}
	idx = (tick >> (level * TIMER_LEVEL_BITS)) & TIMER_SLOT_MASK;
	t->where = level * TIMER_LEVEL_SLOTS + idx;
	timer_list_add(&tw->slot[level][idx], t);
	tw->map[level][idx / 64] |= 1ull << (idx % 64);
}

/* Take a pending timer off its list (keeping the slot map exact). */
static void
timer_unlink(struct timer_wheel *tw, struct timer *t)
{
	unsigned level = t->where / TIMER_LEVEL_SLOTS, idx = t->where % TIMER_LEVEL_SLOTS;

	timer_list_del(t);
	if (t->where < TIMER_WHERE_DUE && tw->slot[level][idx] == NULL)
		timer_map_clear(tw, level, idx);
}

int
timer_wheel_init(struct timer_wheel *tw, uint64_t now, uint64_t tick_cycles)
{
	if (tw == NULL || tick_cycles == 0)
		return -EINVAL;
	memset(tw, 0, sizeof(*tw));
	tw->tick_cycles = tick_cycles;
	tw->tick = now / tick_cycles + 1;
	tw->now = now;
	return 0;
}

void
timer_init(struct timer *t, void (*fn)(struct timer *t, void *arg), void *arg)
{
	memset(t, 0, sizeof(*t));
	t->fn = fn;
	t->arg = arg;
}

void
timer_arm(struct timer_wheel *tw, struct timer *t, uint64_t expires)
{
	if (timer_pending(t))
		timer_unlink(tw, t);
	else
		tw->n_pending++;
	t->expires = expires;
	if (expires <= tw->now)
		timer_add_due(tw, t);
	else
		timer_place(tw, t);
}

void
timer_cancel(struct timer_wheel *tw, struct timer *t)
{
	if (!timer_pending(t))
		return;
	timer_unlink(tw, t);
	tw->n_pending--;
}

/* Offset (0..255) from slot `from` to the next non-empty slot, cyclically; -1 if none. */
static int
timer_map_next(const uint64_t *map, unsigned from)
{
	unsigned first = from / 64, bit = from % 64;

	for (unsigned i = 0; i <= TIMER_MAP_WORDS; i++) {
		unsigned w = (first + i) % TIMER_MAP_WORDS;
		uint64_t bits = map[w];

		if (i == 0)
			bits &= ~0ull << bit;
		else if (i == TIMER_MAP_WORDS)
			bits &= ~(~0ull << bit);
		if (bits != 0)
			return (int)((w * 64 + __builtin_ctzll(bits) - from) & TIMER_SLOT_MASK);
	}
	return -1;
}

/*
 * The first tick at or after tw->tick where something happens: a level-0
 * slot fires, or a level-k slot (or the overflow list) cascades. No pending
 * timer's tick is earlier. UINT64_MAX when nothing is on the wheel.
 */
static uint64_t
timer_next_tick(const struct timer_wheel *tw)
{
	uint64_t best = UINT64_MAX;

	for (unsigned k = 0; k < TIMER_LEVELS; k++) {
		unsigned shift = k * TIMER_LEVEL_BITS;
		uint64_t b = timer_round_up(tw->tick, shift), at;
		int j = timer_map_next(tw->map[k], (b >> shift) & TIMER_SLOT_MASK);

		if (j < 0)
			continue;
		at = b + ((uint64_t)j << shift);
		if (at < best)
			best = at;
	}
	if (tw->overflow != NULL) {
		uint64_t b = timer_round_up(tw->tick, TIMER_LEVELS * TIMER_LEVEL_BITS);

		if (b < best)
			best = b;
	}
	return best;
}

uint64_t
timer_next_expiry(const struct timer_wheel *tw)
{
	uint64_t tick;

	if (tw->due != NULL)
		return 0;
	tick = timer_next_tick(tw);
	if (tick > UINT64_MAX / tw->tick_cycles)
		return UINT64_MAX;
	return tick * tw->tick_cycles;
}

/* At tick t (a level-1 boundary): re-place the slots of every level whose boundary t is. */
static void
timer_cascade(struct timer_wheel *tw, uint64_t t)
{
	for (unsigned k = 1; k <= TIMER_LEVELS; k++) {
		unsigned shift = k * TIMER_LEVEL_BITS;
		struct timer *list, *x;

		if ((t & ((1ull << shift) - 1)) != 0)
			break;
		if (k == TIMER_LEVELS) {
			timer_list_take(&tw->overflow, &list);
		} else {
			unsigned idx = (t >> shift) & TIMER_SLOT_MASK;

			timer_list_take(&tw->slot[k][idx], &list);
			timer_map_clear(tw, k, idx);
		}
		while ((x = list) != NULL) {
			timer_list_del(x);
			timer_place(tw, x);
		}
	}
}

/* Fire every timer on the local list *l (which callbacks may change). */
static unsigned
timer_fire_list(struct timer_wheel *tw, struct timer **l)
{
	struct timer *t;
	unsigned n = 0;

	while ((t = *l) != NULL) {
		timer_list_del(t);
		tw->n_pending--;
		t->fn(t, t->arg);
		n++;
	}
	return n;
}

unsigned
timer_run(struct timer_wheel *tw, uint64_t now)
{
	uint64_t target = now / tw->tick_cycles;
	struct timer *local;
	unsigned fired = 0;

	if (now > tw->now)
		tw->now = now;          /* armed from here on for <= now: next run */
	if (tw->due != NULL) {
		timer_list_take(&tw->due, &local);
		fired += timer_fire_list(tw, &local);
	}
	while (tw->tick <= target) {
		uint64_t t = timer_next_tick(tw);
		unsigned idx = t & TIMER_SLOT_MASK;

		if (t > target) {
			tw->tick = target + 1;
			break;
		}
		tw->tick = t;
		if (idx == 0)
			timer_cascade(tw, t);
		timer_list_take(&tw->slot[0][idx], &local);
		timer_map_clear(tw, 0, idx);
		tw->tick = t + 1;
		fired += timer_fire_list(tw, &local);
	}
	return fired;
}
