/*
 * tcp_stream.c — the stream interface of a TCP connection (app/net/stream.h)
 * and its byte queues: data lives in mbufs from the worker's pool, chained
 * through m->next; the send queue runs from SND.UNA, the receive queue holds
 * in-order bytes not yet read. Writes are bounded by tcp.snd_buffer (and
 * under packet pool pressure by the buffers they may hold: tcp_pool.c), reads
 * reopen the receive window (with a window update when it grew enough).
 */
#include <errno.h>
#include <string.h>
#include <rte_tcp.h>

#include "app/worker.h"
#include "app/net/tcp_conn.h"
#include "app/net/tcp_seq.h"

void
tcp_bufq_free(struct tcp_bufq *q)
{
	struct rte_mbuf *m = q->head;

	while (m != NULL) {
		struct rte_mbuf *n = m->next;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = n;
	}
	*q = (struct tcp_bufq){ 0 };
}

bool
tcp_bufq_fits_tail(const struct tcp_bufq *q, uint32_t len)
{
	const struct rte_mbuf *t = q->tail;

	return t != NULL && len <= TCP_COALESCE_MAX && rte_pktmbuf_tailroom(t) >= len;
}

void
tcp_bufq_append_mbuf(struct tcp_bufq *q, struct rte_mbuf *m)
{
	struct rte_mbuf *t = q->tail;

	m->next = NULL;
	q->bytes += m->data_len;
	if (tcp_bufq_fits_tail(q, m->data_len)) {
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len),
		       rte_pktmbuf_mtod(m, uint8_t *), m->data_len);
		t->data_len += m->data_len;
		t->pkt_len = t->data_len;
		rte_pktmbuf_free_seg(m);
		return;
	}
	if (t != NULL)
		t->next = m;
	else
		q->head = m;
	q->tail = m;
	q->n_mbufs++;
}

/* Unlink and free b, the buffer after a in q (its bytes are gone). */
static void
tcp_bufq_unlink_next(struct tcp_bufq *q, struct rte_mbuf *a, struct rte_mbuf *b)
{
	a->next = b->next;
	if (q->tail == b)
		q->tail = a;
	q->n_mbufs--;
	b->next = NULL;
	rte_pktmbuf_free_seg(b);
}

uint32_t
tcp_bufq_collapse(struct tcp_bufq *q, bool ooo)
{
	uint32_t freed = 0;
	struct rte_mbuf *a = q->head;

	while (a != NULL && a->next != NULL) {
		struct rte_mbuf *b = a->next;
		if ((ooo && a->hash.usr + a->data_len != b->hash.usr) || !RTE_MBUF_DIRECT(a) ||
		    rte_mbuf_refcnt_read(a) != 1) {
			a = b;
			continue;
		}
		if (rte_pktmbuf_tailroom(a) < b->data_len && rte_pktmbuf_headroom(a) != 0) {
			memmove(a->buf_addr, rte_pktmbuf_mtod(a, void *), a->data_len);
			a->data_off = 0;        /* the headers went long ago: all the room is data room */
		}
		uint16_t n = (uint16_t)RTE_MIN((uint32_t)rte_pktmbuf_tailroom(a), (uint32_t)b->data_len);
		if (n == 0) {
			a = b;
			continue;
		}
		memcpy(rte_pktmbuf_mtod_offset(a, uint8_t *, a->data_len), rte_pktmbuf_mtod(b, uint8_t *), n);
		a->data_len += n;
		a->pkt_len = a->data_len;
		rte_pktmbuf_adj(b, n);
		if (ooo)
			b->hash.usr += n;
		if (b->data_len != 0) {
			a = b;
			continue;
		}
		tcp_bufq_unlink_next(q, a, b);
		freed++;
	}
	q->cur = NULL;                  /* the copy cursor's buffer may be gone */
	return freed;
}

uint32_t
tcp_bufq_copy(struct tcp_bufq *q, uint32_t off, void *dst, uint32_t len)
{
	struct rte_mbuf *m = q->head;
	uint32_t base = 0, done = 0;

	if (q->cur != NULL && q->cur_off <= off) {
		m = q->cur;
		base = q->cur_off;
	}
	while (m != NULL && off - base >= m->data_len) {
		base += m->data_len;
		m = m->next;
	}
	q->cur = m;
	q->cur_off = base;
	off -= base;
	while (m != NULL && done < len) {
		uint32_t n = RTE_MIN((uint32_t)m->data_len - off, len - done);
		memcpy((uint8_t *)dst + done, rte_pktmbuf_mtod_offset(m, const uint8_t *, off), n);
		done += n;
		off = 0;
		m = m->next;
	}
	return done;
}

void
tcp_bufq_drop_front(struct tcp_bufq *q, uint32_t len)
{
	uint32_t dropped = 0;

	while (len != 0 && q->head != NULL) {
		struct rte_mbuf *m = q->head;
		if (len < m->data_len) {
			rte_pktmbuf_adj(m, (uint16_t)len);
			q->bytes -= len;
			dropped += len;
			break;
		}
		len -= m->data_len;
		dropped += m->data_len;
		q->bytes -= m->data_len;
		q->head = m->next;
		q->n_mbufs--;
		if (q->cur == m)
			q->cur = NULL;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
	if (q->head == NULL)
		q->tail = NULL;
	if (q->cur != NULL)         /* every byte after the head moved down by `dropped` */
		q->cur_off = q->cur == q->head ? 0 : q->cur_off - dropped;
}

/* Append bytes to the send queue; returns how many fitted (pool permitting). */
static uint32_t
tcp_bufq_append_bytes(struct worker *w, unsigned p, struct tcp_bufq *q, const uint8_t *src, uint32_t len)
{
	uint32_t done = 0;

	while (done < len) {
		struct rte_mbuf *t = q->tail;
		if (t == NULL || rte_pktmbuf_tailroom(t) == 0) {
			struct rte_mbuf *m = worker_pkt_alloc(w);
			if (m == NULL) {
				w->ctr[p][STATS_PORT_TX_NO_MBUF]++;
				break;
			}
			m->next = NULL;
			if (t != NULL)
				t->next = m;
			else
				q->head = m;
			q->tail = t = m;
			q->n_mbufs++;
		}
		uint32_t n = RTE_MIN((uint32_t)rte_pktmbuf_tailroom(t), len - done);
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len), src + done, n);
		t->data_len += n;
		t->pkt_len = t->data_len;
		q->bytes += n;
		done += n;
	}
	return done;
}

static ssize_t
tcp_stream_read(struct stream *s, void *buf, size_t len)
{
	struct tcp_conn *c = tcp_conn_of(s);
	uint32_t before = tcp_rcv_window(c);
	uint32_t n = tcp_bufq_copy(&c->rcv, 0, buf, (uint32_t)RTE_MIN(len, (size_t)UINT32_MAX));

	tcp_bufq_drop_front(&c->rcv, n);
	/* Window update when the window grew by two segments or half the buffer (RFC 9293 §3.8.6.2.2). */
	uint32_t after = tcp_rcv_window(c);
	uint32_t advertised = c->rcv_adv - c->rcv_nxt;
	if (n != 0 && c->state >= TCP_ESTABLISHED && c->state <= TCP_FIN_WAIT_2 && !c->fin_rcvd &&
	    after > before && (after - advertised >= 2u * c->mss ||
			       after - advertised >= c->w->cfg->tcp.rcv_buffer / 2) && after > advertised)
		tcp_send_ack(c);
	return n;
}

/*
 * Bytes the send queue may still take: tcp.snd_buffer's room, and what the
 * buffers it may still hold (tcp_snd_cap: less under pool pressure) carry.
 * Counts in *by_pool whether the pool is what limits it.
 */
static uint32_t
tcp_snd_room(const struct tcp_conn *c, bool *by_pool)
{
	const struct tcp_bufq *q = &c->snd;
	uint32_t limit = c->w->cfg->tcp.snd_buffer;
	uint32_t room = q->bytes < limit ? limit - q->bytes : 0;
	uint32_t cap = tcp_snd_cap(c);

	*by_pool = false;
	if (cap == UINT32_MAX)
		return room;
	uint64_t per_buf = rte_pktmbuf_data_room_size(c->w->pool) - RTE_PKTMBUF_HEADROOM;
	uint64_t pool = (q->tail != NULL ? rte_pktmbuf_tailroom(q->tail) : 0) +
			(q->n_mbufs < cap ? (cap - q->n_mbufs) * per_buf : 0);
	*by_pool = pool < room;
	return (uint32_t)RTE_MIN((uint64_t)room, pool);
}

static ssize_t
tcp_stream_write(struct stream *s, const void *buf, size_t len)
{
	struct tcp_conn *c = tcp_conn_of(s);
	bool by_pool;

	if (c->fin_queued || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT &&
			      c->state != TCP_SYN_SENT && c->state != TCP_SYN_RECEIVED))
		return -EPIPE;
	uint32_t room = tcp_snd_room(c, &by_pool);
	uint32_t want = (uint32_t)RTE_MIN(len, (size_t)room);
	bool short_by_pool = want < len && by_pool;
	uint32_t n = tcp_bufq_append_bytes(c->w, c->port, &c->snd, buf, want);
	if (n == want && n != 0)
		c->wr_backoff = 0;              /* the pool gave what was asked */
	uint32_t left = tcp_snd_room(c, &by_pool);
	if (short_by_pool || (n != 0 && left == 0 && by_pool))
		c->w->ctr[c->port][STATS_TCP_TX_POOL_LIMITED]++;
	c->want_writable = n < len || left == 0 || len == 0;   /* len 0: "tell me when" */
	if (n < want || (len == 0 && c->snd.bytes == 0))
		tcp_write_retry_arm(c);         /* the pool cut it short, or nothing in flight to ACK */
	tcp_output(c);
	return n;
}

static size_t
tcp_stream_write_space(const struct stream *s)
{
	const struct tcp_conn *c = (const struct tcp_conn *)s;
	bool by_pool;

	if (c->fin_queued)
		return 0;
	return tcp_snd_room(c, &by_pool);
}

static size_t
tcp_stream_read_avail(const struct stream *s)
{
	return ((const struct tcp_conn *)s)->rcv.bytes;
}

static size_t
tcp_stream_unacked(const struct stream *s)
{
	return ((const struct tcp_conn *)s)->snd.bytes;   /* trimmed as ACKs arrive */
}

static bool
tcp_stream_eof(const struct stream *s)
{
	const struct tcp_conn *c = (const struct tcp_conn *)s;
	return c->fin_rcvd && c->rcv.bytes == 0;
}

static int
tcp_stream_shutdown(struct stream *s)
{
	struct tcp_conn *c = tcp_conn_of(s);

	if (c->fin_queued)
		return 0;
	switch (c->state) {
	case TCP_ESTABLISHED:
		tcp_set_state(c, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		tcp_set_state(c, TCP_LAST_ACK);
		break;
	default:
		return -ENOTCONN;
	}
	c->fin_queued = true;
	tcp_output(c);
	return 0;
}

static void
tcp_stream_abort(struct stream *s)
{
	struct tcp_conn *c = tcp_conn_of(s);
	struct worker *w = c->w;

	c->app_attached = false;
	if (c->state == TCP_CLOSED || c->state == TCP_TIME_WAIT)
		return;
	if (c->state != TCP_SYN_SENT)
		tcp_send_reset(w, c->port, &c->key, c->snd_nxt, 0, RTE_TCP_RST_FLAG);
	w->ctr[c->port][STATS_TCP_CONN_ABORTED]++;
	tcp_conn_closed(c, STREAM_ABORTED);
}

const struct stream_impl tcp_stream_impl = {
	.read = tcp_stream_read,
	.write = tcp_stream_write,
	.write_space = tcp_stream_write_space,
	.read_avail = tcp_stream_read_avail,
	.unacked = tcp_stream_unacked,
	.eof = tcp_stream_eof,
	.shutdown = tcp_stream_shutdown,
	.abort = tcp_stream_abort,
};
