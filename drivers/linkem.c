/*
 * linkem.c — deterministic link impairment for one port and direction of one
 * worker. Sits between the ethdev and the stack: RX frames pass through
 * linkem_process() right after rte_eth_rx_burst, TX frames right before
 * rte_eth_tx_burst; linkem_flush() releases held frames every loop pass.
 * Per frame: loss, corrupt, duplicate, then reorder or delay (+jitter).
 */
#include <string.h>
#include <rte_ether.h>

#include "drivers/linkem.h"

/* splitmix64: tiny, fast, and every seed (0 included) gives a good stream. */
static inline uint64_t
linkem_rand(struct linkem *le)
{
	uint64_t z = (le->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* True with probability thr / 2^32; draws nothing when thr is 0. */
static inline bool
linkem_hit(struct linkem *le, uint64_t thr)
{
	return thr != 0 && (linkem_rand(le) >> 32) < thr;
}

static uint64_t
linkem_thr(double pct)
{
	if (!(pct > 0))                 /* 0, negative, NaN */
		return 0;
	if (pct >= 100)
		return 1ULL << 32;
	return (uint64_t)(pct / 100.0 * 4294967296.0 + 0.5);
}

static uint64_t
linkem_us_to_tsc(uint64_t us, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)us * hz / 1000000);
}

static void
linkem_update_on(struct linkem *le)
{
	le->on = le->params || le->n_held != 0 || le->rq_n != 0;
}

void
linkem_init(struct linkem *le, const struct cfg_linkem *c, unsigned worker_id,
	    int direction, uint64_t hz)
{
	memset(le, 0, sizeof(*le));
	le->worker_id = worker_id;
	le->direction = direction;
	le->hz = hz;
	le->reorder_max_tsc = linkem_us_to_tsc(LINKEM_REORDER_MAX_US, hz);
	le->seed = c != NULL ? c->seed : 0;
	/* Worker and direction in separate bits so no two instances share a stream. */
	le->rng = le->seed ^ ((uint64_t)worker_id << 32) ^ ((uint64_t)(unsigned)direction << 56);
	linkem_set(le, c);
}

void
linkem_set(struct linkem *le, const struct cfg_linkem *c)
{
	if (c == NULL || ((unsigned)c->direction & (unsigned)le->direction) == 0) {
		le->loss_thr = le->corrupt_thr = le->dup_thr = le->reorder_thr = 0;
		le->delay_tsc = le->jitter_tsc = 0;
		le->params = false;
		linkem_update_on(le);
		return;
	}
	if (c->seed != le->seed) {
		le->seed = c->seed;
		le->rng = le->seed ^ ((uint64_t)le->worker_id << 32) ^
			  ((uint64_t)(unsigned)le->direction << 56);
	}
	le->loss_thr = linkem_thr(c->loss);
	le->corrupt_thr = linkem_thr(c->corrupt);
	le->dup_thr = linkem_thr(c->duplicate);
	le->reorder_thr = linkem_thr(c->reorder);
	le->delay_tsc = linkem_us_to_tsc(c->delay_us, le->hz);
	le->jitter_tsc = linkem_us_to_tsc(c->jitter_us, le->hz);
	le->params = le->loss_thr || le->corrupt_thr || le->dup_thr || le->reorder_thr ||
		     le->delay_tsc || le->jitter_tsc;
	linkem_update_on(le);
}

/* ---- the delay heap: min on (tsc, seq) ---- */

static inline bool
linkem_before(const struct linkem_slot *a, const struct linkem_slot *b)
{
	return a->tsc < b->tsc || (a->tsc == b->tsc && a->seq < b->seq);
}

static bool
linkem_heap_push(struct linkem *le, struct rte_mbuf *m, uint64_t tsc, uint64_t seq)
{
	if (le->n_held == LINKEM_QUEUE)
		return false;
	uint32_t i = le->n_held++;
	struct linkem_slot s = { m, tsc, seq };

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!linkem_before(&s, &le->heap[parent]))
			break;
		le->heap[i] = le->heap[parent];
		i = parent;
	}
	le->heap[i] = s;
	return true;
}

static struct linkem_slot
linkem_heap_pop(struct linkem *le)
{
	struct linkem_slot top = le->heap[0];
	struct linkem_slot last = le->heap[--le->n_held];
	uint32_t n = le->n_held, i = 0;

	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && linkem_before(&le->heap[c + 1], &le->heap[c]))
			c++;
		if (!linkem_before(&le->heap[c], &last))
			break;
		le->heap[i] = le->heap[c];
		i = c;
	}
	if (n != 0)
		le->heap[i] = last;
	return top;
}

/* ---- the reorder FIFO: frames waiting for the next frame to leave ---- */

static bool
linkem_rq_push(struct linkem *le, struct rte_mbuf *m, uint64_t deadline, uint64_t seq)
{
	if (le->rq_n == LINKEM_REORDER)
		return false;
	le->rq[(le->rq_head + le->rq_n++) % LINKEM_REORDER] = (struct linkem_slot){ m, deadline, seq };
	return true;
}

static struct linkem_slot
linkem_rq_pop(struct linkem *le)
{
	struct linkem_slot s = le->rq[le->rq_head];

	le->rq_head = (le->rq_head + 1) % LINKEM_REORDER;
	le->rq_n--;
	return s;
}

/* ---- output ---- */

/* Where frames leave to: pkts[n..lim) is free. */
struct linkem_out {
	struct rte_mbuf **pkts;
	uint16_t n;
	uint16_t lim;
};

/*
 * Hand m (arrival seq) out, then the reordered frames that arrived before it.
 * Returns false (m not taken) when there is no room.
 */
static bool
linkem_emit(struct linkem *le, struct linkem_out *o, struct rte_mbuf *m, uint64_t seq)
{
	if (o->n >= o->lim)
		return false;
	o->pkts[o->n++] = m;
	le->stats.passed++;
	while (le->rq_n != 0 && le->rq[le->rq_head].seq < seq && o->n < o->lim) {
		o->pkts[o->n++] = linkem_rq_pop(le).m;
		le->stats.passed++;
	}
	return true;
}

/* Release held frames due at now, earliest first, while there is room. */
static void
linkem_release(struct linkem *le, uint64_t now, struct linkem_out *o)
{
	while (o->n < o->lim) {
		const struct linkem_slot *h = le->n_held != 0 && le->heap[0].tsc <= now ?
					      &le->heap[0] : NULL;
		const struct linkem_slot *q = le->rq_n != 0 && le->rq[le->rq_head].tsc <= now ?
					      &le->rq[le->rq_head] : NULL;
		struct linkem_slot s;

		if (h == NULL && q == NULL)
			break;
		s = h != NULL && (q == NULL || linkem_before(h, q)) ? linkem_heap_pop(le)
								    : linkem_rq_pop(le);
		linkem_emit(le, o, s.m, s.seq);
	}
}

/* ---- per frame ---- */

/* A segment list nobody else references may be written in place. */
static bool
linkem_writable(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
			return false;
	return true;
}

/*
 * Flip one random bit of one random byte past the Ethernet header. A frame
 * shared with someone else (a clone kept for retransmission) is copied first.
 * Returns the frame to go on with.
 */
static struct rte_mbuf *
linkem_corrupt(struct linkem *le, struct rte_mempool *pool, struct rte_mbuf *m)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	uint64_t r = linkem_rand(le);

	if (len <= RTE_ETHER_HDR_LEN)
		return m;
	if (!linkem_writable(m)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
		if (c == NULL)
			return m;               /* no mbuf: leave it intact */
		rte_pktmbuf_free(m);
		m = c;
	}
	uint32_t off = RTE_ETHER_HDR_LEN + (uint32_t)((r >> 3) % (len - RTE_ETHER_HDR_LEN));
	struct rte_mbuf *seg = m;
	while (off >= seg->data_len) {
		off -= seg->data_len;
		seg = seg->next;
	}
	*rte_pktmbuf_mtod_offset(seg, uint8_t *, off) ^= (uint8_t)(1u << (r & 7));
	le->stats.corrupted++;
	return m;
}

/*
 * Reorder, delay or pass one frame (an original or a duplicate). Returns false
 * when it could go nowhere (no output room, queues full): the caller frees it.
 */
static bool
linkem_route(struct linkem *le, uint64_t now, struct rte_mbuf *m, struct linkem_out *o)
{
	uint64_t seq = le->seq++;
	bool full = false;

	if (linkem_hit(le, le->reorder_thr)) {
		if (linkem_rq_push(le, m, now + le->delay_tsc + le->reorder_max_tsc, seq)) {
			le->stats.reordered++;
			return true;
		}
		full = true;
	}
	if (le->delay_tsc != 0 || le->jitter_tsc != 0) {
		uint64_t t = now + le->delay_tsc;
		if (le->jitter_tsc != 0)
			t += linkem_rand(le) % (le->jitter_tsc + 1);
		if (linkem_heap_push(le, m, t, seq)) {
			le->stats.delayed++;
			return true;
		}
		full = true;
	}
	if (full)
		le->stats.queue_full++;
	if (linkem_emit(le, o, m, seq))
		return true;
	return linkem_heap_push(le, m, now, seq);   /* no room now: leaves next call */
}

static void
linkem_frame(struct linkem *le, struct rte_mempool *pool, uint64_t now,
	     struct rte_mbuf *m, struct linkem_out *o)
{
	struct rte_mbuf *dup = NULL;

	if (linkem_hit(le, le->loss_thr)) {
		rte_pktmbuf_free(m);
		le->stats.lost++;
		return;
	}
	if (linkem_hit(le, le->corrupt_thr))
		m = linkem_corrupt(le, pool, m);
	if (linkem_hit(le, le->dup_thr)) {
		dup = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
		if (dup == NULL)
			le->stats.dup_failed++;
	}
	if (!linkem_route(le, now, m, o)) {
		/* Cannot happen (the original always has its own slot); never leak. */
		rte_pktmbuf_free(m);
		le->stats.lost++;
	}
	if (dup != NULL) {
		if (linkem_route(le, now, dup, o)) {
			le->stats.duplicated++;
		} else {
			rte_pktmbuf_free(dup);
			le->stats.dup_failed++;
		}
	}
}

uint16_t
linkem_process(struct linkem *le, struct rte_mempool *pool, uint64_t now,
	       struct rte_mbuf **pkts, uint16_t n, uint16_t max)
{
	if (!le->on)
		return n;
	if (max < n)
		max = n;
	/* Park the burst at the end of pkts; output grows from the front. */
	uint16_t r = (uint16_t)(max - n);
	if (n != 0 && r != 0)
		memmove(&pkts[r], pkts, n * sizeof(*pkts));
	struct linkem_out o = { pkts, 0, r };

	linkem_release(le, now, &o);
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[r + i];
		o.lim = (uint16_t)(r + i + 1);  /* its slot is free now */
		linkem_frame(le, pool, now, m, &o);
	}
	linkem_update_on(le);
	return o.n;
}

uint16_t
linkem_flush(struct linkem *le, uint64_t now, struct rte_mbuf **out, uint16_t max)
{
	struct linkem_out o = { out, 0, max };

	if (!le->on)
		return 0;
	linkem_release(le, now, &o);
	linkem_update_on(le);
	return o.n;
}

void
linkem_drain(struct linkem *le)
{
	while (le->n_held != 0)
		rte_pktmbuf_free(linkem_heap_pop(le).m);
	while (le->rq_n != 0)
		rte_pktmbuf_free(linkem_rq_pop(le).m);
	linkem_update_on(le);
}
