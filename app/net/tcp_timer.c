/*
 * tcp_timer.c — the TCP timers of one connection, on the worker's timer
 * wheel (platform/timer.c, 1 ms ticks): retransmission (SYN, data, FIN;
 * RFC 6298 with exponential back-off and an abort bound, preceded by a tail
 * loss probe, RFC 8985 §7), persist (zero
 * window probes), delayed ACK, keepalive / idle / FIN_WAIT_2, and TIME_WAIT
 * with a bounded count (the oldest is recycled).
 */
#include <rte_tcp.h>

#include "app/worker.h"
#include "app/net/tcp_conn.h"
#include "app/net/tcp_seq.h"

static uint64_t
tcp_us_to_tsc(const struct worker *w, uint64_t us)
{
	return us * (w->hz / 1000000);
}

/* Leave TIME_WAIT for CLOSED (the slot is freed by the caller or tcp_events). */
static void
tcp_tw_leave(struct tcp_conn *c)
{
	tcp_tw_unlink(c->w->tcp, c);
	c->state = TCP_CLOSED;
}

static void
tcp_tw_finish(struct tcp_conn *c)
{
	timer_cancel(&c->w->timers, &c->rtx_timer);
	tcp_tw_leave(c);
	if (c->events == 0)
		tcp_conn_free(c);
}

void
tcp_time_wait_end(struct tcp_conn *c)
{
	tcp_tw_finish(c);
}

void
tcp_time_wait_enter(struct tcp_conn *c)
{
	struct worker *w = c->w;
	struct tcp_ctx *t = w->tcp;

	timer_cancel(&w->timers, &c->delack_timer);
	timer_cancel(&w->timers, &c->keep_timer);
	timer_arm(&w->timers, &c->rtx_timer, w->now + (uint64_t)w->cfg->tcp.time_wait * w->hz);
	while (t->n_time_wait > w->cfg->tcp.time_wait_max && t->tw_head != 0) {
		struct tcp_conn *old = &t->conns[t->tw_head - 1];
		w->ctr[old->port][STATS_TCP_TIME_WAIT_RECYCLED]++;
		if (old == c) {         /* no TIME_WAIT allowed at all */
			timer_cancel(&w->timers, &c->rtx_timer);
			tcp_tw_leave(c);
			return;
		}
		tcp_tw_finish(old);
	}
}

static void
tcp_timeout(struct tcp_conn *c)
{
	c->w->ctr[c->port][STATS_TCP_CONN_TIMED_OUT]++;
	tcp_conn_closed(c, STREAM_TIMEOUT);
}

/* SYN / SYN-ACK retransmission. */
static void
tcp_syn_timeout(struct tcp_conn *c)
{
	if (c->rtx_count >= c->w->cfg->tcp.syn_retries) {
		if (c->state == TCP_SYN_RECEIVED && !c->app_attached)
			tcp_conn_closed(c, STREAM_TIMEOUT);   /* never accepted: forget it */
		else
			tcp_timeout(c);
		return;
	}
	c->rtx_count++;
	tcp_rto_backoff(&c->rto);
	c->w->ctr[c->port][STATS_TCP_RETRANSMITS]++;
	tcp_send_syn(c, c->state == TCP_SYN_RECEIVED);
	tcp_rtx_arm(c);
}

/*
 * Tail loss probe (RFC 8985 §7): no ACK for PTO. Send one new segment if
 * there is one, else resend the last, so that the peer's ACK (and its SACK
 * blocks) shows what was lost, instead of waiting for the RTO. Then the RTO
 * runs as usual.
 */
static void
tcp_tlp_fire(struct tcp_conn *c)
{
	struct worker *w = c->w;
	uint32_t sent = c->snd_max - c->snd_una;
	uint32_t data_end = c->snd_una + c->snd.bytes;

	c->tlp_armed = false;
	c->tlp_sent = true;
	w->ctr[c->port][STATS_TCP_TLP_PROBES]++;
	if (tcp_seq_lt(c->snd_max, data_end) && c->snd_nxt == c->snd_max && c->snd_wnd > sent) {
		uint32_t len = RTE_MIN((uint32_t)c->mss, data_end - c->snd_max);
		if (tcp_send_segment(c, c->snd_max, len, 0) == 0) {
			c->snd_nxt = c->snd_max = c->snd_max + len;
		}
	} else if (c->snd.bytes != 0 && sent != 0) {
		uint32_t len = RTE_MIN(RTE_MIN((uint32_t)c->mss, c->snd.bytes), sent);
		w->ctr[c->port][STATS_TCP_RETRANSMITS]++;
		tcp_send_segment(c, c->snd_una + RTE_MIN(sent, c->snd.bytes) - len, len, 0);
	}
	tcp_rtx_arm(c);
}

/* The probe timeout: 2 SRTT, at least 10 ms; with one segment out, room for a delayed ACK. */
static uint64_t
tcp_pto_us(const struct tcp_conn *c)
{
	uint64_t pto = RTE_MAX(2ull * c->rto.srtt, 10000ull);
	if (c->snd_max - c->snd_una <= c->mss)
		pto = RTE_MAX(pto, c->rto.srtt + c->rto.srtt / 2 + 40000ull);
	return RTE_MIN(pto, (uint64_t)tcp_rto_current(&c->rto));
}

static void
tcp_rtx_fire(struct timer *t, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	(void)t;

	if (c->state == TCP_TIME_WAIT)
		return tcp_tw_finish(c);
	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)
		return tcp_syn_timeout(c);
	if (c->tlp_armed)
		return tcp_tlp_fire(c);
	if (c->rtx_count >= w->cfg->tcp.max_retransmits)
		return tcp_timeout(c);
	c->rtx_count++;
	tcp_rto_backoff(&c->rto);
	if (c->persist) {
		c->persist = false;
		tcp_send_probe(c);
		tcp_rtx_arm(c);
		return;
	}
	w->ctr[c->port][STATS_TCP_RTO_TIMEOUTS]++;
	tcp_cc_on_rto(&c->cc, c->snd_max - c->snd_una, c->snd_max);
	c->snd_nxt = c->snd_una;        /* go back N */
	c->high_rxt = c->snd_una;
	c->rtt_start = 0;               /* Karn: no sample from retransmissions */
	tcp_output(c);
	tcp_rtx_arm(c);
}

void
tcp_rtx_arm(struct tcp_conn *c)
{
	struct worker *w = c->w;

	if (timer_pending(&c->rtx_timer))
		return;
	c->persist = c->state >= TCP_ESTABLISHED && c->snd_max == c->snd_una;
	uint64_t us = tcp_rto_current(&c->rto);
	c->tlp_armed = !c->persist && !c->tlp_sent && c->sack_ok && c->rto.has_sample &&
		       c->rtx_count == 0 && c->state == TCP_ESTABLISHED &&
		       (c->cc.state == TCP_CC_SLOW_START || c->cc.state == TCP_CC_AVOIDANCE);
	if (c->tlp_armed)
		us = tcp_pto_us(c);
	timer_arm(&w->timers, &c->rtx_timer, w->now + tcp_us_to_tsc(w, us));
}

void
tcp_rtx_stop(struct tcp_conn *c)
{
	timer_cancel(&c->w->timers, &c->rtx_timer);
	c->persist = false;
	c->tlp_armed = false;
}

static void
tcp_delack_fire(struct timer *t, void *arg)
{
	struct tcp_conn *c = arg;
	(void)t;

	if (c->segs_unacked != 0 && c->state != TCP_TIME_WAIT && c->state != TCP_CLOSED)
		tcp_send_ack(c);
}

void
tcp_delack_arm(struct tcp_conn *c)
{
	struct worker *w = c->w;

	unsigned ms = c->delack_quick ? RTE_MIN(1u, w->cfg->tcp.delayed_ack_ms) : w->cfg->tcp.delayed_ack_ms;
	uint64_t when = w->now + (uint64_t)ms * w->tcp->ms_hz;

	if (!timer_pending(&c->delack_timer) || c->delack_timer.expires > when)
		timer_arm(&w->timers, &c->delack_timer, when);
}

/* The next keepalive / idle / FIN_WAIT_2 deadline, 0 for none. */
static uint64_t
tcp_keep_deadline(const struct tcp_conn *c)
{
	const struct worker *w = c->w;
	const struct cfg_tcp *tc = &w->cfg->tcp;
	uint64_t d = 0;

	if (c->state == TCP_FIN_WAIT_2)
		d = c->last_rx + 2ull * tc->time_wait * w->hz;
	if (tc->idle_timeout != 0) {
		uint64_t i = c->last_rx + (uint64_t)tc->idle_timeout * w->hz;
		d = d == 0 ? i : RTE_MIN(d, i);
	}
	if (tc->keepalive_idle != 0 && c->state == TCP_ESTABLISHED) {
		uint64_t k = c->last_rx + ((uint64_t)tc->keepalive_idle +
					   (uint64_t)c->keep_probes * tc->keepalive_interval) * w->hz;
		d = d == 0 ? k : RTE_MIN(d, k);
	}
	return d;
}

void
tcp_keep_arm(struct tcp_conn *c)
{
	c->keep_probes = 0;
	uint64_t d = tcp_keep_deadline(c);
	if (d != 0)
		timer_arm(&c->w->timers, &c->keep_timer, d);
	else
		timer_cancel(&c->w->timers, &c->keep_timer);
}

static void
tcp_keep_fire(struct timer *t, void *arg)
{
	struct tcp_conn *c = arg;
	struct worker *w = c->w;
	const struct cfg_tcp *tc = &w->cfg->tcp;
	uint64_t idle = w->now - c->last_rx;
	(void)t;

	if (c->state == TCP_FIN_WAIT_2 && idle >= 2ull * tc->time_wait * w->hz) {
		w->ctr[c->port][STATS_TCP_CONN_CLOSED]++;
		return tcp_conn_closed(c, STREAM_CLOSED);
	}
	if (tc->idle_timeout != 0 && idle >= (uint64_t)tc->idle_timeout * w->hz) {
		tcp_send_reset(w, c->port, &c->key, c->snd_nxt, 0, RTE_TCP_RST_FLAG);
		w->ctr[c->port][STATS_TCP_CONN_ABORTED]++;
		return tcp_conn_closed(c, STREAM_IDLE);
	}
	if (tc->keepalive_idle != 0 && c->state == TCP_ESTABLISHED &&
	    idle >= ((uint64_t)tc->keepalive_idle + (uint64_t)c->keep_probes * tc->keepalive_interval) * w->hz) {
		if (c->keep_probes >= tc->keepalive_probes)
			return tcp_timeout(c);
		c->keep_probes++;
		tcp_send_probe(c);
	}
	uint8_t probes = c->keep_probes;
	uint64_t d = tcp_keep_deadline(c);
	if (d != 0)
		timer_arm(&w->timers, &c->keep_timer, RTE_MAX(d, w->now + w->tcp->ms_hz));
	c->keep_probes = probes;
}

#define TCP_WR_BACKOFF_MAX 6     /* retries of a pool-refused write: 1 ms doubling up to 64 ms */

static void
tcp_write_retry_fire(struct timer *t, void *arg)
{
	struct tcp_conn *c = arg;
	uint32_t nxt = c->snd_nxt;
	bool fin = c->fin_sent;
	(void)t;

	tcp_output(c);                  /* what the pool refused to send */
	if (c->snd_nxt != nxt || c->fin_sent != fin)
		c->wr_backoff = 0;      /* the pool gave again */
	else if (c->wr_backoff < TCP_WR_BACKOFF_MAX)
		c->wr_backoff++;        /* still empty: ask less often (a drained pool is not polled every ms) */
	if (c->want_writable && c->app_attached) {
		c->want_writable = false;
		tcp_event(c, TCP_EV_WRITABLE);
	}
}

void
tcp_write_retry_arm(struct tcp_conn *c)
{
	struct worker *w = c->w;

	if (!timer_pending(&c->wr_timer))
		timer_arm(&w->timers, &c->wr_timer, w->now + (w->tcp->ms_hz << c->wr_backoff));
}

void
tcp_timers_init(struct tcp_conn *c)
{
	timer_init(&c->rtx_timer, tcp_rtx_fire, c);
	timer_init(&c->delack_timer, tcp_delack_fire, c);
	timer_init(&c->keep_timer, tcp_keep_fire, c);
	timer_init(&c->wr_timer, tcp_write_retry_fire, c);
}

void
tcp_timers_stop(struct tcp_conn *c)
{
	struct worker *w = c->w;

	timer_cancel(&w->timers, &c->rtx_timer);
	timer_cancel(&w->timers, &c->delack_timer);
	timer_cancel(&w->timers, &c->keep_timer);
	timer_cancel(&w->timers, &c->wr_timer);
	c->persist = false;
}

void
tcp_timers(struct worker *w)
{
	timer_run(&w->timers, w->now);
	tcp_pool_check(w);
}
