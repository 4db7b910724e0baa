/*
 * tcp_pool.c — the receive side's use of the worker's packet pool (called by
 * tcp_in.c for every segment that carries data or opens a connection, by
 * tcp_out.c for the window, and by tcp_timers once per loop pass). A queued
 * segment counts by the buffer it holds, not its payload (Linux truesize):
 * one connection's in-order and out-of-order queues together may hold
 * tcp.conn_pool_share of the pool. While the free buffers are below
 * tcp.pool_low_watermark (pool pressure) the worker prunes every
 * out-of-order queue and packs the receive queues first, and each connection
 * may hold only a few buffers (new ones too: an SMTP session needs little,
 * so legitimate clients still get through while hoarders are held); below
 * tcp.pool_reserve no data is queued at all and new connections are refused
 * (RST), so ACKs, SYN-ACKs, RSTs and ARP always find a buffer. Send queues
 * (a next hop that does not read) are held the same way under pressure. A
 * connection over its cap first packs its queues into fewer buffers (Linux
 * tcp_collapse), then drops out-of-order data from the highest sequence
 * number down (tcp_prune_ofo_queue), then the new segment.
 */
#include <inttypes.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

#include "app/worker.h"
#include "app/net/tcp_conn.h"
#include "app/net/tcp_seq.h"

#define TCP_POOL_RELIEVE_MS  100        /* pruning walks under pressure: at most this often */

/* pct percent of the pool, in buffers. */
static uint32_t
tcp_pool_level(const struct worker *w, unsigned pct)
{
	return (uint32_t)((uint64_t)w->pool->size * pct / 100);
}

uint32_t
tcp_pool_free(const struct worker *w)
{
	struct rte_mempool *mp = w->pool;
	struct rte_mempool_cache *cache = rte_mempool_default_cache(mp, rte_lcore_id());
	uint32_t low = tcp_pool_level(w, w->cfg->tcp.pool_low_watermark);

	/*
	 * The pool's own count plus this core's cache is O(1) and at most what
	 * is free: another worker that frees a buffer of ours (a segment it
	 * handed over) keeps it in its cache for a while. Near the watermark
	 * the exact count (every core's cache) decides.
	 */
	uint32_t n = rte_mempool_get_ops(mp->ops_index)->get_count(mp) + (cache != NULL ? cache->len : 0);
	return n >= low + low / 4 ? n : rte_mempool_avail_count(mp);
}

enum tcp_pool_state
tcp_pool_state(const struct worker *w)
{
	uint32_t free = tcp_pool_free(w);
	uint32_t low = tcp_pool_level(w, w->cfg->tcp.pool_low_watermark);

	if (free < tcp_pool_level(w, w->cfg->tcp.pool_reserve))
		return TCP_POOL_RESERVE;
	if (free < low || (w->tcp->pressure && free < low + low / 8))   /* recovery has some hysteresis */
		return TCP_POOL_LOW;
	return TCP_POOL_OK;
}

/* The most buffers c may hold in its receive queues when the pool is not under pressure. */
static uint32_t
tcp_rcv_cap_normal(const struct tcp_conn *c)
{
	const struct worker *w = c->w;
	uint32_t by_buffer = w->cfg->tcp.rcv_buffer / 512 + 8;   /* small segments, rcv_buffer bytes */
	uint32_t share = RTE_MAX(tcp_pool_level(w, w->cfg->tcp.conn_pool_share), (uint32_t)TCP_RCV_MIN_BUFS);

	return RTE_MIN(by_buffer, share);
}

uint32_t
tcp_rcv_cap(const struct tcp_conn *c)
{
	switch (tcp_pool_state(c->w)) {
	case TCP_POOL_RESERVE:
		return 0;
	case TCP_POOL_LOW:
		return RTE_MIN(tcp_rcv_cap_normal(c), (uint32_t)TCP_RCV_MIN_BUFS);
	default:
		return tcp_rcv_cap_normal(c);
	}
}

uint32_t
tcp_snd_cap(const struct tcp_conn *c)
{
	switch (tcp_pool_state(c->w)) {
	case TCP_POOL_RESERVE:
		return 1;                       /* never stuck with an empty queue: ACKs wake the writer */
	case TCP_POOL_LOW:
		return TCP_RCV_MIN_BUFS;
	default:
		return UINT32_MAX;              /* tcp.snd_buffer alone */
	}
}

/*
 * Drop up to n queued out-of-order segments of c, the highest sequence
 * numbers first, none that starts at or below `above` (closer to RCV.NXT
 * than the segment we make room for). Returns how many went (counted).
 */
uint32_t
tcp_ooo_prune(struct tcp_conn *c, uint32_t above, uint32_t n)
{
	struct tcp_bufq *q = &c->ooo;
	struct rte_mbuf **link = &q->head, *prev = NULL, *m;
	uint32_t keep = 0;

	if (q->tail == NULL || !tcp_seq_gt(q->tail->hash.usr, above))
		return 0;                       /* nothing above: the flood's case, in O(1) */
	for (m = q->head; m != NULL && !tcp_seq_gt(m->hash.usr, above); m = m->next)
		keep++;                         /* the queue is sorted: the eligible ones are a suffix */
	uint32_t k = RTE_MIN(n, q->n_mbufs - keep);
	if (k == 0)
		return 0;
	for (uint32_t i = 0; i < q->n_mbufs - k; i++) {
		prev = *link;
		link = &prev->next;
	}
	m = *link;
	*link = NULL;
	q->tail = prev;
	while (m != NULL) {
		struct rte_mbuf *next = m->next;
		q->bytes -= m->data_len;
		q->n_mbufs--;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = next;
	}
	c->w->ctr[c->port][STATS_TCP_RX_OOO_PRUNED] += k;
	return k;
}

/* Pack c's receive queues into fewer buffers (counted) unless they are; returns the buffers freed. */
uint32_t
tcp_rcv_collapse(struct tcp_conn *c)
{
	if (c->rcv_packed)
		return 0;
	uint32_t freed = tcp_bufq_collapse(&c->rcv, false) + tcp_bufq_collapse(&c->ooo, true);

	c->rcv_packed = true;
	c->w->ctr[c->port][STATS_TCP_RX_COLLAPSED] += freed;
	return freed;
}

/* The segment is dropped for want of room: counted, and logged once per connection. */
static void
tcp_rcv_refused(struct tcp_conn *c, uint32_t cap)
{
	struct worker *w = c->w;
	bool pressure = cap < tcp_rcv_cap_normal(c);

	w->ctr[c->port][pressure ? STATS_TCP_RX_POOL_DROPPED : STATS_TCP_RX_QUEUE_CAPPED]++;
	if (c->pool_capped)
		return;
	c->pool_capped = true;
	uint32_t a = c->key.raddr;
	WORKER_LOG(w, CFG_LOG_WARNING, "tcp: %u.%u.%u.%u:%u -> port %u holds %u receive buffers (%u bytes, "
		   "%u out of order), its %s of %u: dropping its segments until it has room",
		   a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255, c->key.rport, c->key.lport,
		   tcp_rcv_held(c), c->rcv.bytes + c->ooo.bytes, c->ooo.n_mbufs,
		   pressure ? "limit under pool pressure" : "share of the pool", cap);
}

bool
tcp_rcv_admit(struct tcp_conn *c, const struct rte_mbuf *m, uint32_t seq)
{
	bool in_order = seq == c->rcv_nxt;

	if (in_order && tcp_bufq_fits_tail(&c->rcv, m->data_len))
		return true;                    /* copied into the tail buffer: nothing more is held */
	uint32_t cap = tcp_rcv_cap(c);
	if (tcp_rcv_held(c) < cap)
		return true;
	if (cap < tcp_rcv_cap_normal(c))
		tcp_pool_check(c->w);           /* under pressure: the walk over every connection is due */
	if (tcp_rcv_collapse(c) != 0 && tcp_rcv_held(c) < cap)
		return true;
	if (tcp_rcv_held(c) >= cap)
		tcp_ooo_prune(c, in_order ? c->rcv_nxt : seq, tcp_rcv_held(c) - cap + 1);
	if (tcp_rcv_held(c) < cap)
		return true;
	tcp_rcv_refused(c, cap);
	return false;
}

/* Under pressure: every out-of-order queue goes, every receive queue is packed (logged when log). */
static void
tcp_pool_relieve(struct worker *w, enum tcp_pool_state st, bool log)
{
	struct tcp_ctx *t = w->tcp;
	uint64_t pruned = 0, collapsed = 0;
	uint32_t before = tcp_pool_free(w);

	for (unsigned i = 0; i < t->n_conns; i++) {
		struct tcp_conn *c = &t->conns[i];
		if (c->w == NULL || (c->ooo.n_mbufs == 0 && c->rcv.n_mbufs < 2))
			continue;
		if (c->ooo.n_mbufs != 0)
			pruned += tcp_ooo_prune(c, c->rcv_nxt, c->ooo.n_mbufs);
		collapsed += tcp_rcv_collapse(c);
	}
	t->relieve_at = w->now + (uint64_t)TCP_POOL_RELIEVE_MS * t->ms_hz;
	t->relieved_state = (uint8_t)st;
	if (!log)
		return;
	WORKER_LOG(w, CFG_LOG_WARNING, "tcp: packet pool %s: %u of %u buffers free (watermark %u, reserve %u); "
		   "pruned %" PRIu64 " out-of-order segments, packed %" PRIu64 " buffers, now %u free; %s",
		   st == TCP_POOL_RESERVE ? "at its reserve" : "low", before, w->pool->size,
		   tcp_pool_level(w, w->cfg->tcp.pool_low_watermark), tcp_pool_level(w, w->cfg->tcp.pool_reserve),
		   pruned, collapsed, tcp_pool_free(w),
		   st == TCP_POOL_RESERVE ? "no data is queued and new connections are refused"
					  : "each connection holds at most " RTE_STR(TCP_RCV_MIN_BUFS) " buffers");
}

void
tcp_pool_check(struct worker *w)
{
	struct tcp_ctx *t = w->tcp;
	enum tcp_pool_state st = tcp_pool_state(w);

	if (st == TCP_POOL_OK) {
		if (t->pressure) {
			t->pressure = false;
			WORKER_LOG(w, CFG_LOG_INFO, "tcp: packet pool recovered: %u of %u buffers free; "
				   "%" PRIu64 " new connections were refused meanwhile", tcp_pool_free(w),
				   w->pool->size, t->refused);
			t->refused = 0;
		}
		return;
	}
	if (!t->pressure) {
		t->pressure = true;
		w->ctr[0][STATS_TCP_POOL_PRESSURE]++;
		tcp_pool_relieve(w, st, true);
	} else if (st > t->relieved_state) {
		tcp_pool_relieve(w, st, true);  /* worse: down to the reserve */
	} else if (w->now >= t->relieve_at) {
		tcp_pool_relieve(w, st, false);
	}
}

bool
tcp_pool_refuse_syn(struct worker *w, unsigned p, const struct tcp_key *k, uint32_t seq)
{
	tcp_pool_check(w);
	if (tcp_pool_state(w) != TCP_POOL_RESERVE)
		return false;
	w->ctr[p][STATS_TCP_POOL_PRESSURE_REFUSED]++;
	w->tcp->refused++;
	tcp_send_reset(w, p, k, 0, seq + 1, RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
	return true;
}
