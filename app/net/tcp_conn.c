/*
 * tcp_conn.c — per-worker TCP state: the connection table (rte_hash over a
 * fixed slot array), listeners, ISNs (RFC 6528), flow ownership and steering
 * between workers, deferred stream events, active opens, and the console's
 * view. tcp_in.c / tcp_out.c / tcp_timer.c do the protocol work.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_jhash.h>
#include <rte_malloc.h>
#include <rte_thash.h>

#include "app/worker.h"
#include "app/net/ipv4.h"
#include "app/net/tcp_conn.h"

#define TCP_STEER_RING 4096

static struct tcp_syncookie_key tcp_keys[2];    /* [0] cookies, [1] ISNs; set once */
const struct tcp_syncookie_key *tcp_cookie_key = &tcp_keys[0];

static const char *const tcp_state_names[TCP_STATE_MAX] = {
	"CLOSED", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
	"CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
};

const char *
tcp_state_name(unsigned state)
{
	return state < TCP_STATE_MAX ? tcp_state_names[state] : "?";
}

int
tcp_worker_init(struct worker *w)
{
	const struct cfg_tcp *tc = &w->cfg->tcp;
	char name[RTE_HASH_NAMESIZE];
	int socket = (int)rte_lcore_to_socket_id(w->lcore_id);

	if (w->id == 0 && getrandom(tcp_keys, sizeof(tcp_keys), 0) != (ssize_t)sizeof(tcp_keys))
		return -EIO;
	struct tcp_ctx *t = rte_zmalloc_socket("tcp", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return -ENOMEM;
	w->tcp = t;
	snprintf(name, sizeof(name), "tcp_w%u", w->id);
	struct rte_hash_parameters hp = {
		.name = name, .entries = tc->max_connections, .key_len = sizeof(struct tcp_key),
		.hash_func = rte_jhash, .socket_id = socket,
	};
	t->table = rte_hash_create(&hp);
	t->n_conns = tc->max_connections;
	t->conns = rte_zmalloc_socket("tcp_conns", (size_t)t->n_conns * sizeof(struct tcp_conn),
				      RTE_CACHE_LINE_SIZE, socket);
	if (t->table == NULL || t->conns == NULL)
		return -ENOMEM;
	for (unsigned i = 0; i < t->n_conns; i++)
		t->conns[i].next = (i + 1 < t->n_conns) ? i + 2 : 0;
	t->free_head = 1;
	t->ms_hz = w->hz / 1000;
	t->next_port = (uint16_t)(tc->ephemeral_first + w->id);
	for (unsigned i = 0; i < w->cfg->n_workers && w->cfg->n_workers > 1; i++) {
		if (i == w->id)
			continue;
		snprintf(name, sizeof(name), "steer_%u_%u", i, w->id);
		t->steer_in[i] = rte_ring_create(name, TCP_STEER_RING, socket,
						 RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (t->steer_in[i] == NULL)
			return -ENOMEM;
	}
	return 0;
}

void
tcp_worker_fini(struct worker *w)
{
	struct tcp_ctx *t = w->tcp;

	if (t == NULL)
		return;
	if (t->conns != NULL)
		for (unsigned i = 0; i < t->n_conns; i++) {
			struct tcp_conn *c = &t->conns[i];
			tcp_bufq_free(&c->snd);
			tcp_bufq_free(&c->rcv);
			tcp_bufq_free(&c->ooo);
		}
	for (unsigned i = 0; i < RTE_DIM(t->steer_in); i++) {
		struct rte_mbuf *m;
		while (t->steer_in[i] && rte_ring_dequeue(t->steer_in[i], (void **)&m) == 0)
			rte_pktmbuf_free(m);
		rte_ring_free(t->steer_in[i]);
	}
	rte_hash_free(t->table);
	rte_free(t->conns);
	rte_free(t);
	w->tcp = NULL;
}

uint32_t
tcp_ts_now(const struct worker *w)
{
	return (uint32_t)(w->now / w->tcp->ms_hz);
}

/* RFC 6528: a keyed hash of the 4-tuple plus a 4 us clock. */
uint32_t
tcp_iss(struct worker *w, const struct tcp_key *k)
{
	uint64_t h = tcp_syncookie_siphash(&tcp_keys[1], k, sizeof(*k));
	return (uint32_t)h + (uint32_t)(w->now / (w->hz / 250000));
}

unsigned
tcp_flow_owner(const struct gw *gw, uint32_t raddr, uint16_t rport, uint32_t laddr, uint16_t lport)
{
	uint32_t tuple[3] = { raddr, laddr, ((uint32_t)rport << 16) | lport };

	if (gw->n_workers <= 1)
		return 0;
	/* The same symmetric key the ports' RSS uses; the default RETA spreads round-robin. */
	return rte_softrss(tuple, 3, port_rss_key()) % gw->n_workers;
}

struct tcp_conn *
tcp_conn_lookup(struct worker *w, const struct tcp_key *k)
{
	void *data;

	if (rte_hash_lookup_data(w->tcp->table, k, &data) < 0)
		return NULL;
	return data;
}

struct tcp_conn *
tcp_conn_alloc(struct worker *w, const struct tcp_key *k, unsigned port)
{
	struct tcp_ctx *t = w->tcp;

	if (t->free_head == 0)
		return NULL;
	struct tcp_conn *c = &t->conns[t->free_head - 1];
	uint32_t next = c->next, gen = c->gen + 1;
	memset(c, 0, sizeof(*c));
	c->gen = gen;
	c->idx = (uint32_t)(c - t->conns);
	if (rte_hash_add_key_data(t->table, k, c) < 0) {
		c->next = next;
		return NULL;
	}
	t->free_head = next;
	t->in_use++;
	c->w = w;
	c->key = *k;
	c->port = (uint8_t)port;
	c->s.impl = &tcp_stream_impl;
	c->s.worker = w;
	c->s.remote_addr = k->raddr;
	c->s.remote_port = k->rport;
	c->s.local_addr = k->laddr;
	c->s.local_port = k->lport;
	c->last_rx = w->now;
	tcp_timers_init(c);
	tcp_rto_init(&c->rto, w->cfg->tcp.rto_min_ms * 1000u, w->cfg->tcp.rto_max_ms * 1000u,
		     w->cfg->tcp.rto_initial_ms * 1000u);
	return c;
}

/* Take c off the TIME_WAIT list (its state is the caller's business). */
void
tcp_tw_unlink(struct tcp_ctx *t, struct tcp_conn *c)
{
	if (c->tw_prev)
		t->conns[c->tw_prev - 1].tw_next = c->tw_next;
	else
		t->tw_head = c->tw_next;
	if (c->tw_next)
		t->conns[c->tw_next - 1].tw_prev = c->tw_prev;
	else
		t->tw_tail = c->tw_prev;
	c->tw_prev = c->tw_next = 0;
	t->n_time_wait--;
}

/* Release the slot (the caller made sure no event is pending for it). */
void
tcp_conn_free(struct tcp_conn *c)
{
	struct worker *w = c->w;
	struct tcp_ctx *t = w->tcp;

	if (c->state == TCP_TIME_WAIT)
		tcp_tw_unlink(t, c);
	if (c->listener != NULL && c->listener->syn_pending > 0)
		c->listener->syn_pending--;
	tcp_timers_stop(c);
	tcp_bufq_free(&c->snd);
	tcp_bufq_free(&c->rcv);
	tcp_bufq_free(&c->ooo);
	rte_hash_del_key(t->table, &c->key);
	c->state = TCP_CLOSED;
	c->w = NULL;
	c->next = t->free_head;
	t->free_head = c->idx + 1;
	t->in_use--;
}

void
tcp_set_state(struct tcp_conn *c, enum tcp_state st)
{
	struct tcp_ctx *t = c->w->tcp;

	if (c->state == TCP_SYN_RECEIVED && c->listener != NULL) {
		c->listener->syn_pending--;
		c->listener = NULL;
	}
	if (st == TCP_TIME_WAIT && c->state != TCP_TIME_WAIT) {
		c->tw_prev = t->tw_tail;
		c->tw_next = 0;
		if (t->tw_tail)
			t->conns[t->tw_tail - 1].tw_next = c->idx + 1;
		else
			t->tw_head = c->idx + 1;
		t->tw_tail = c->idx + 1;
		t->n_time_wait++;
	}
	c->state = (uint8_t)st;
}

/* Queue an event for tcp_events (only while the app holds the stream). */
void
tcp_event(struct tcp_conn *c, uint8_t ev)
{
	struct tcp_ctx *t = c->w->tcp;

	if (!c->app_attached && ev != TCP_EV_CLOSED)
		return;
	if (c->events == 0) {
		c->ev_next = 0;
		if (t->ev_tail)
			t->conns[t->ev_tail - 1].ev_next = c->idx + 1;
		else
			t->ev_head = c->idx + 1;
		t->ev_tail = c->idx + 1;
	}
	c->events |= ev;
}

/*
 * The connection is over. Tell the app (deferred) if it holds the stream;
 * the slot is freed after that, or now. TIME_WAIT keeps its slot.
 */
void
tcp_conn_closed(struct tcp_conn *c, enum stream_close_reason why)
{
	tcp_timers_stop(c);
	if (c->state != TCP_TIME_WAIT)
		tcp_set_state(c, TCP_CLOSED);
	else
		tcp_time_wait_enter(c);
	c->close_reason = (uint8_t)why;
	if (c->app_attached)
		tcp_event(c, TCP_EV_CLOSED);
	else if (c->state == TCP_CLOSED && c->events == 0)
		tcp_conn_free(c);
}

void
tcp_events(struct worker *w)
{
	struct tcp_ctx *t = w->tcp;

	while (t->ev_head != 0) {
		struct tcp_conn *c = &t->conns[t->ev_head - 1];
		t->ev_head = c->ev_next;
		if (t->ev_head == 0)
			t->ev_tail = 0;
		uint8_t ev = c->events;
		uint32_t gen = c->gen;          /* a callback may free the slot and reuse it */
		c->events = 0;
		const struct stream_ops *ops = c->s.ops;
#define TCP_STILL_OURS(c) ((c)->gen == gen && (c)->app_attached)
		if (c->app_attached && ops != NULL) {
			if ((ev & TCP_EV_CONNECTED) && ops->connected)
				ops->connected(&c->s);
			if ((ev & TCP_EV_READABLE) && TCP_STILL_OURS(c) && ops->readable)
				ops->readable(&c->s);
			if ((ev & TCP_EV_WRITABLE) && TCP_STILL_OURS(c) && ops->writable)
				ops->writable(&c->s);
			if ((ev & TCP_EV_CLOSED) && TCP_STILL_OURS(c)) {
				c->app_attached = false;
				if (ops->closed)
					ops->closed(&c->s, (enum stream_close_reason)c->close_reason);
			}
		}
#undef TCP_STILL_OURS
		if (c->gen == gen && c->events == 0 && c->state == TCP_CLOSED && c->w != NULL &&
		    !c->app_attached)
			tcp_conn_free(c);
	}
}

struct tcp_listener *
tcp_listener_find(struct worker *w, uint16_t port)
{
	struct tcp_ctx *t = w->tcp;

	for (unsigned i = 0; i < t->n_listeners; i++)
		if (t->listeners[i].port == port)
			return &t->listeners[i];
	return NULL;
}

int
tcp_listen(struct worker *w, uint16_t port, tcp_accept_fn fn, void *arg)
{
	struct tcp_ctx *t = w->tcp;

	if (tcp_listener_find(w, port) != NULL)
		return -EADDRINUSE;
	if (t->n_listeners == TCP_MAX_LISTENERS)
		return -ENOSPC;
	t->listeners[t->n_listeners++] = (struct tcp_listener){ .port = port, .fn = fn, .arg = arg };
	return 0;
}

/* A local port whose flows this worker owns, unused towards daddr:dport. */
static int
tcp_pick_port(struct worker *w, uint32_t laddr, uint32_t daddr, uint16_t dport, struct tcp_key *k)
{
	const struct cfg_tcp *tc = &w->cfg->tcp;
	struct tcp_ctx *t = w->tcp;
	unsigned range = tc->ephemeral_last - tc->ephemeral_first + 1;

	for (unsigned i = 0; i < range; i++) {
		uint16_t lport = t->next_port;
		t->next_port = lport >= tc->ephemeral_last ? (uint16_t)tc->ephemeral_first : lport + 1;
		*k = (struct tcp_key){ .raddr = daddr, .laddr = laddr, .rport = dport, .lport = lport };
		if (tcp_flow_owner(w->gw, daddr, dport, laddr, lport) == w->id &&
		    tcp_conn_lookup(w, k) == NULL)
			return 0;
	}
	return -EADDRNOTAVAIL;
}

struct stream *
tcp_connect(struct worker *w, uint32_t daddr, uint16_t dport, const struct stream_ops *ops, void *ctx)
{
	unsigned p;
	uint32_t nh;
	struct tcp_key k;

	if (ipv4_route(w->gw, daddr, 0, &p, &nh) != 0) {
		errno = ENETUNREACH;
		return NULL;
	}
	if (tcp_pick_port(w, w->gw->ports[p].addr, daddr, dport, &k) != 0) {
		errno = EADDRNOTAVAIL;
		return NULL;
	}
	struct tcp_conn *c = tcp_conn_alloc(w, &k, p);
	if (c == NULL) {
		errno = ENOBUFS;
		return NULL;
	}
	c->s.ops = ops;
	c->s.ctx = ctx;
	c->app_attached = true;
	c->mss = tcp_mss_for_port(w, p);
	tcp_conn_init_send(c, tcp_iss(w, &k));
	c->rtt_start = w->now;          /* the SYN's round trip is the first RTT sample */
	c->rtt_seq = c->iss;
	tcp_set_state(c, TCP_SYN_SENT);
	tcp_send_syn(c, false);
	tcp_rtx_arm(c);
	w->ctr[p][STATS_TCP_CONN_OPENED]++;
	return &c->s;
}

void
tcp_conn_init_send(struct tcp_conn *c, uint32_t iss)
{
	c->iss = iss;
	c->snd_una = iss;
	c->snd_nxt = iss + 1;      /* the SYN */
	c->snd_max = iss + 1;
}

unsigned
tcp_snapshot(const struct worker *w, struct tcp_conn_view *out, unsigned max)
{
	const struct tcp_ctx *t = w->tcp;
	unsigned n = 0;

	for (unsigned i = 0; i < t->n_conns && n < max; i++) {
		const volatile struct tcp_conn *c = &t->conns[i];
		uint8_t st = c->state;
		if (st == TCP_CLOSED || c->w == NULL)
			continue;
		out[n] = (struct tcp_conn_view){
			.laddr = c->key.laddr, .raddr = c->key.raddr, .lport = c->key.lport,
			.rport = c->key.rport, .state = st, .worker = w->id,
			.rtt_us = c->rto.srtt, .cwnd = c->cc.cwnd, .snd_wnd = c->snd_wnd,
			.bytes_in = c->bytes_in, .bytes_out = c->bytes_out,
		};
		n++;
	}
	return n;
}

void
tcp_usage(const struct worker *w, unsigned *in_use, unsigned *time_wait)
{
	*in_use = *(const volatile unsigned *)&w->tcp->in_use;
	*time_wait = *(const volatile unsigned *)&w->tcp->n_time_wait;
}

unsigned
tcp_clear(struct worker *w, uint16_t lport, unsigned count, bool reset)
{
	struct tcp_ctx *t = w->tcp;
	unsigned n = 0;

	for (unsigned i = 0; i < t->n_conns && n < count; i++) {
		struct tcp_conn *c = &t->conns[i];
		if (c->w == NULL || c->state != TCP_ESTABLISHED || (lport && c->key.lport != lport))
			continue;
		if (reset) {
			tcp_send_reset(w, c->port, &c->key, c->snd_nxt, 0, RTE_TCP_RST_FLAG);
			w->ctr[c->port][STATS_TCP_CONN_ABORTED]++;
			tcp_conn_closed(c, STREAM_ABORTED);
		} else {
			stream_shutdown(&c->s);
		}
		n++;
	}
	return n;
}

void
tcp_steer_drain(struct worker *w)
{
	struct tcp_ctx *t = w->tcp;
	struct rte_mbuf *pkts[WORKER_BURST];

	for (unsigned i = 0; i < w->gw->n_workers; i++) {
		if (t->steer_in[i] == NULL)
			continue;
		unsigned n = rte_ring_dequeue_burst(t->steer_in[i], (void **)pkts, WORKER_BURST, NULL);
		for (unsigned k = 0; k < n; k++) {
			struct rte_mbuf *m = pkts[k];
			const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
			tcp_input(w, m->port, m, (ip->version_ihl & 0x0f) * 4u);
		}
	}
}
