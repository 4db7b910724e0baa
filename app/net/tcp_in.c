/*
 * tcp_in.c — TCP segment arrival (RFC 9293 §3.10.7), called from ipv4_input
 * for every TCP segment to one of our addresses. Validates the header and
 * checksum, hands segments of flows another worker owns to that worker,
 * answers SYNs on listeners (with SYN cookies when the backlog is full),
 * then runs the per-connection checks in the RFC's order: timestamps (PAWS),
 * sequence acceptability, RST (RFC 5961 challenge ACKs), SYN, ACK, data
 * (in order, or into the bounded reassembly queue), FIN.
 */
#include <string.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "app/worker.h"
#include "app/net/tcp_conn.h"
#include "app/net/tcp_seq.h"

struct tcp_opts {
	uint16_t mss;           /* 0: absent */
	int8_t ws;              /* -1: absent */
	bool sack_ok;
	bool sack_blocks;       /* the segment carries SACK blocks */
	uint8_t n_sack;
	uint32_t sack[4][2];    /* [start, end) as sent by the peer */
	bool ts;
	uint32_t tsval, tsecr;
};

/* Parse options defensively: a malformed length ends the parse. */
static void
tcp_parse_opts(const uint8_t *o, unsigned len, struct tcp_opts *out)
{
	*out = (struct tcp_opts){ .ws = -1 };
	for (unsigned i = 0; i < len;) {
		uint8_t kind = o[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		uint8_t olen = o[i + 1];
		if (kind == 2 && olen == 4)
			out->mss = (uint16_t)(o[i + 2] << 8 | o[i + 3]);
		else if (kind == 3 && olen == 3)
			out->ws = (int8_t)RTE_MIN(o[i + 2], 14);
		else if (kind == 4 && olen == 2)
			out->sack_ok = true;
		else if (kind == 5 && olen >= 10 && (olen - 2) % 8 == 0) {
			out->sack_blocks = true;
			for (unsigned b = 0; b < (olen - 2u) / 8 && out->n_sack < 4; b++) {
				const uint8_t *q = o + i + 2 + 8 * b;
				out->sack[out->n_sack][0] = (uint32_t)q[0] << 24 | q[1] << 16 | q[2] << 8 | q[3];
				out->sack[out->n_sack][1] = (uint32_t)q[4] << 24 | q[5] << 16 | q[6] << 8 | q[7];
				out->n_sack++;
			}
		}
		else if (kind == 8 && olen == 10) {
			out->ts = true;
			out->tsval = (uint32_t)o[i + 2] << 24 | o[i + 3] << 16 | o[i + 4] << 8 | o[i + 5];
			out->tsecr = (uint32_t)o[i + 6] << 24 | o[i + 7] << 16 | o[i + 8] << 8 | o[i + 9];
		}
		i += olen;
	}
}

/* Take what the peer's SYN (or SYN-ACK) offers. */
static void
tcp_apply_syn_opts(struct tcp_conn *c, const struct tcp_opts *o)
{
	uint16_t ours = tcp_mss_for_port(c->w, c->port);

	c->mss = o->mss ? RTE_MIN(o->mss, ours) : RTE_MIN(536, ours);
	if (c->mss < 64)
		c->mss = 64;
	c->ws_ok = o->ws >= 0;
	c->snd_wscale = c->ws_ok ? (uint8_t)o->ws : 0;
	if (!c->ws_ok)
		c->rcv_wscale = 0;
	c->sack_ok = o->sack_ok;
	c->ts_ok = o->ts;
	if (o->ts)
		c->ts_recent = o->tsval;
	if (c->ts_ok && c->mss > 12)
		c->mss -= 12;           /* room for the timestamp option in every segment */
}

/* wnd_field of a SYN-ACK is not scaled (RFC 7323 §2.2); of any later segment it is. */
static void
tcp_established(struct tcp_conn *c, uint32_t wnd_field, bool syn, uint32_t seq, uint32_t ack)
{
	tcp_set_state(c, TCP_ESTABLISHED);
	c->snd_wnd = syn ? wnd_field : wnd_field << c->snd_wscale;
	c->snd_wl1 = seq;
	c->snd_wl2 = ack;
	tcp_cc_init(&c->cc, c->mss, c->iss);
	tcp_keep_arm(c);
}

/* The app takes a passive connection: the listener's accept function attaches it. */
static void
tcp_accept(struct tcp_conn *c, struct tcp_listener *l)
{
	struct worker *w = c->w;

	c->app_attached = true;
	w->ctr[c->port][STATS_TCP_CONN_ACCEPTED]++;
	l->fn(w, &c->s, l->arg);
	if (c->app_attached)
		tcp_event(c, TCP_EV_CONNECTED);
}

/* A SYN for a listener: a half-open connection, or a SYN cookie when full. */
static void
tcp_listen_syn(struct worker *w, unsigned p, const struct tcp_key *k, struct tcp_listener *l,
	       const struct rte_tcp_hdr *th, const struct tcp_opts *o)
{
	const struct cfg_tcp *tc = &w->cfg->tcp;
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
	bool full = l->syn_pending >= tc->syn_backlog;
	struct tcp_conn *c = NULL;

	if (tcp_pool_refuse_syn(w, p, k, seq))
		return;
	if (full)
		w->ctr[p][STATS_TCP_LISTEN_OVERFLOWS]++;
	if (!full && tc->syncookies != CFG_SYNCOOKIES_ALWAYS)
		c = tcp_conn_alloc(w, k, p);
	if (c == NULL) {
		if (tc->syncookies == CFG_SYNCOOKIES_NEVER)
			return;
		uint16_t mss = o->mss ? RTE_MIN(o->mss, tcp_mss_for_port(w, p)) : 536;
		uint32_t iss = tcp_syncookie_make(tcp_cookie_key, k->raddr, k->laddr, k->rport, k->lport,
						  seq, mss, w->now / w->hz, NULL);
		tcp_send_cookie_synack(w, p, k, iss, seq, o->ws, o->sack_ok, o->ts, o->tsval);
		w->ctr[p][STATS_TCP_SYNCOOKIES_SENT]++;
		return;
	}
	c->irs = seq;
	c->rcv_nxt = seq + 1;
	tcp_apply_syn_opts(c, o);
	tcp_conn_init_send(c, tcp_iss(w, k));
	c->snd_wnd = rte_be_to_cpu_16(th->rx_win);
	tcp_set_state(c, TCP_SYN_RECEIVED);
	c->listener = l;
	l->syn_pending++;
	tcp_send_syn(c, true);
	tcp_rtx_arm(c);
}

/* An ACK with no connection on a listener: maybe the end of a SYN-cookie handshake. */
static struct tcp_conn *
tcp_listen_ack(struct worker *w, unsigned p, const struct tcp_key *k, struct tcp_listener *l,
	       const struct rte_tcp_hdr *th, const struct tcp_opts *o)
{
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq), ack = rte_be_to_cpu_32(th->recv_ack);
	uint16_t mss;

	if (w->cfg->tcp.syncookies == CFG_SYNCOOKIES_NEVER ||
	    tcp_syncookie_check(tcp_cookie_key, k->raddr, k->laddr, k->rport, k->lport, seq - 1,
				ack - 1, w->now / w->hz, &mss) != 0) {
		w->ctr[p][STATS_TCP_SYNCOOKIES_REJECTED]++;
		tcp_send_reset(w, p, k, ack, 0, RTE_TCP_RST_FLAG);
		return NULL;
	}
	struct tcp_conn *c = tcp_conn_alloc(w, k, p);
	if (c == NULL) {
		w->ctr[p][STATS_TCP_LISTEN_OVERFLOWS]++;
		return NULL;
	}
	struct tcp_opts syn = { .mss = mss, .ws = -1 };
	if (o->ts) {
		int ws, sack;
		tcp_syncookie_ts_decode(o->tsecr, &ws, &sack);
		syn.ws = (int8_t)ws;
		syn.sack_ok = sack;
		syn.ts = true;
		syn.tsval = o->tsval;
	}
	c->irs = seq - 1;
	c->rcv_nxt = seq;
	c->rcv_wscale = syn.ws >= 0 ? tcp_wscale_for(w->cfg->tcp.rcv_buffer) : 0;
	tcp_apply_syn_opts(c, &syn);
	tcp_conn_init_send(c, ack - 1);
	c->snd_una = ack;
	w->ctr[p][STATS_TCP_SYNCOOKIES_ACCEPTED]++;
	tcp_established(c, rte_be_to_cpu_16(th->rx_win), false, seq, ack);
	tcp_accept(c, l);
	return c;
}

/* Hand a segment to the worker that owns its flow. */
static void
tcp_hand_over(struct worker *w, unsigned p, unsigned owner, struct rte_mbuf *m)
{
	struct rte_ring *r = w->gw->workers[owner]->tcp->steer_in[w->id];

	m->port = (uint16_t)p;
	if (rte_ring_sp_enqueue(r, m) != 0)
		return worker_drop(w, p, m, STATS_STEER_RING_FULL);
	w->ctr[p][STATS_STEER_HANDED_OVER]++;
}

/* No connection: listener work, or RST for a closed port (RFC 9293 §3.10.7.1). */
static void
tcp_input_closed(struct worker *w, unsigned p, struct rte_mbuf *m, const struct tcp_key *k,
		 const struct rte_tcp_hdr *th, unsigned plen, const struct tcp_opts *o)
{
	struct tcp_listener *l = tcp_listener_find(w, k->lport);
	uint8_t f = th->tcp_flags;
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq), ack = rte_be_to_cpu_32(th->recv_ack);

	if (f & RTE_TCP_RST_FLAG)
		return worker_drop(w, p, m, STATS_TCP_RX_SEGMENTS);
	if (l == NULL) {
		if (f & RTE_TCP_ACK_FLAG)
			tcp_send_reset(w, p, k, ack, 0, RTE_TCP_RST_FLAG);
		else
			tcp_send_reset(w, p, k, 0, seq + plen + !!(f & RTE_TCP_SYN_FLAG) + !!(f & RTE_TCP_FIN_FLAG),
				       RTE_TCP_RST_FLAG | RTE_TCP_ACK_FLAG);
		return worker_drop(w, p, m, STATS_TCP_RX_CLOSED_PORT);
	}
	if ((f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_SYN_FLAG) {
		tcp_listen_syn(w, p, k, l, th, o);
		return worker_drop(w, p, m, STATS_TCP_RX_SEGMENTS);
	}
	if ((f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) == RTE_TCP_ACK_FLAG) {
		struct tcp_conn *c = tcp_listen_ack(w, p, k, l, th, o);
		if (c != NULL) {
			unsigned hlen = (rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *)->version_ihl & 0xf) * 4u;
			unsigned doff = (th->data_off >> 4) * 4u;
			w->ctr[p][STATS_TCP_RX_SEGMENTS]++;
			tcp_input_conn(c, m, th, hlen + doff, plen);
			return;
		}
	}
	worker_drop(w, p, m, STATS_TCP_RX_SEGMENTS);
}

/* Pseudo-header + segment must sum to 0xffff. */
static bool
tcp_csum_ok(const struct rte_ipv4_hdr *ip, const struct rte_tcp_hdr *th, unsigned len)
{
	uint32_t sum = rte_raw_cksum(th, len) + rte_ipv4_phdr_cksum(ip, 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

void
tcp_input(struct worker *w, unsigned p, struct rte_mbuf *m, unsigned hlen)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	unsigned len = rte_be_to_cpu_16(ip->total_length) - hlen;
	const struct rte_tcp_hdr *th = rte_pktmbuf_mtod_offset(m, const struct rte_tcp_hdr *, hlen);

	if (len < sizeof(*th))
		return worker_drop(w, p, m, STATS_TCP_RX_BAD_HEADER);
	unsigned doff = (th->data_off >> 4) * 4u;
	if (doff < sizeof(*th) || doff > len)
		return worker_drop(w, p, m, STATS_TCP_RX_BAD_HEADER);
	uint64_t cs = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	if (cs == RTE_MBUF_F_RX_L4_CKSUM_BAD ||
	    (cs != RTE_MBUF_F_RX_L4_CKSUM_GOOD && !tcp_csum_ok(ip, th, len)))
		return worker_drop(w, p, m, STATS_TCP_RX_BAD_CSUM);
	struct tcp_key k = {
		.raddr = rte_be_to_cpu_32(ip->src_addr), .laddr = rte_be_to_cpu_32(ip->dst_addr),
		.rport = rte_be_to_cpu_16(th->src_port), .lport = rte_be_to_cpu_16(th->dst_port),
	};
	unsigned owner = tcp_flow_owner(w->gw, k.raddr, k.rport, k.laddr, k.lport);
	if (owner != w->id)
		return tcp_hand_over(w, p, owner, m);

	struct tcp_conn *c = tcp_conn_lookup(w, &k);
	if (c != NULL && c->state == TCP_TIME_WAIT && c->events == 0 &&
	    (th->tcp_flags & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG | RTE_TCP_RST_FLAG)) == RTE_TCP_SYN_FLAG) {
		/*
		 * A new SYN for a 4-tuple we hold in TIME_WAIT (clients reuse ports
		 * fast when we closed first): a new connection if it is newer than the
		 * old one's end (RFC 6191 with timestamps, RFC 1122 4.2.2.13 by
		 * sequence number); else the challenge ACK below.
		 */
		struct tcp_opts o;
		tcp_parse_opts((const uint8_t *)(th + 1), doff - sizeof(*th), &o);
		uint32_t seq = rte_be_to_cpu_32(th->sent_seq);
		bool newer = c->ts_ok && o.ts ? tcp_seq_gt(o.tsval, c->ts_recent) : tcp_seq_gt(seq, c->rcv_nxt);
		if (newer) {
			w->ctr[p][STATS_TCP_TIME_WAIT_RECYCLED]++;
			tcp_time_wait_end(c);
			return tcp_input_closed(w, p, m, &k, th, len - doff, &o);
		}
	}
	if (c == NULL) {
		struct tcp_opts o;
		tcp_parse_opts((const uint8_t *)(th + 1), doff - sizeof(*th), &o);
		return tcp_input_closed(w, p, m, &k, th, len - doff, &o);
	}
	w->ctr[p][STATS_TCP_RX_SEGMENTS]++;
	tcp_input_conn(c, m, th, hlen + doff, len - doff);
}

/* ------------------------------------------------------------------ */
/* Per-connection processing.                                          */

struct tcp_seg {
	uint32_t seq, ack, wnd;
	unsigned plen;          /* payload bytes */
	unsigned poff;          /* payload offset from the mbuf's data start */
	uint8_t flags;
	struct tcp_opts o;
};

static void
tcp_syn_sent(struct tcp_conn *c, struct tcp_seg *s)
{
	struct worker *w = c->w;
	bool ack = s->flags & RTE_TCP_ACK_FLAG;

	if (ack && (tcp_seq_leq(s->ack, c->iss) || tcp_seq_gt(s->ack, c->snd_max))) {
		if (!(s->flags & RTE_TCP_RST_FLAG))
			tcp_send_reset(w, c->port, &c->key, s->ack, 0, RTE_TCP_RST_FLAG);
		return;
	}
	if (s->flags & RTE_TCP_RST_FLAG) {
		if (ack) {
			w->ctr[c->port][STATS_TCP_RX_RESETS]++;
			tcp_conn_closed(c, STREAM_REFUSED);
		}
		return;
	}
	if (!(s->flags & RTE_TCP_SYN_FLAG))
		return;
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	tcp_apply_syn_opts(c, &s->o);
	if (!ack) {                         /* simultaneous open */
		tcp_set_state(c, TCP_SYN_RECEIVED);
		tcp_send_syn(c, true);
		return;
	}
	c->snd_una = s->ack;
	if (c->rtt_start != 0 && c->rtx_count == 0)     /* Karn: not after a SYN retransmission */
		tcp_rto_sample(&c->rto, (uint32_t)((w->now - c->rtt_start) * 1000000 / w->hz));
	c->rtt_start = 0;
	tcp_established(c, s->wnd, true, s->seq, s->ack);
	tcp_rtx_stop(c);
	c->rtx_count = 0;
	tcp_event(c, TCP_EV_CONNECTED);
	tcp_send_ack(c);
	tcp_output(c);
}

/* RFC 5961 §3-4: RST must hit RCV.NXT exactly; in-window RST and any SYN get a challenge ACK. */
static bool
tcp_check_rst_syn(struct tcp_conn *c, const struct tcp_seg *s)
{
	struct worker *w = c->w;

	if (s->flags & RTE_TCP_RST_FLAG) {
		if (c->state == TCP_TIME_WAIT)
			return false;       /* RFC 1337: no TIME_WAIT assassination */
		if (s->seq != c->rcv_nxt) {
			w->ctr[c->port][STATS_TCP_CHALLENGE_ACKS]++;
			tcp_send_ack(c);
			return false;
		}
		w->ctr[c->port][STATS_TCP_RX_RESETS]++;
		if (c->state == TCP_SYN_RECEIVED && !c->app_attached) {
			tcp_conn_closed(c, STREAM_RESET);   /* passive, never accepted: just forget it */
			return false;
		}
		tcp_conn_closed(c, STREAM_RESET);
		return false;
	}
	if (s->flags & RTE_TCP_SYN_FLAG) {
		w->ctr[c->port][STATS_TCP_CHALLENGE_ACKS]++;
		tcp_send_ack(c);
		return false;
	}
	return true;
}

/* Our FIN was acknowledged. */
static void
tcp_fin_acked(struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_FIN_WAIT_1:
		tcp_set_state(c, TCP_FIN_WAIT_2);
		tcp_keep_arm(c);                /* FIN_WAIT_2 gives up after time_wait x 2 */
		break;
	case TCP_CLOSING:
		c->w->ctr[c->port][STATS_TCP_CONN_CLOSED]++;
		tcp_set_state(c, TCP_TIME_WAIT);
		tcp_conn_closed(c, STREAM_CLOSED);
		break;
	case TCP_LAST_ACK:
		c->w->ctr[c->port][STATS_TCP_CONN_CLOSED]++;
		tcp_conn_closed(c, STREAM_CLOSED);
		break;
	default:
		break;
	}
}

static void
tcp_rtt_sample(struct tcp_conn *c, const struct tcp_seg *s)
{
	struct worker *w = c->w;

	if (c->ts_ok && s->o.ts && s->o.tsecr != 0) {
		uint32_t ms = tcp_ts_now(w) - s->o.tsecr;
		if (ms < 600000)
			tcp_rto_sample(&c->rto, ms * 1000u + 500);
	} else if (c->rtt_start != 0 && tcp_seq_gt(s->ack, c->rtt_seq)) {
		tcp_rto_sample(&c->rto, (uint32_t)((w->now - c->rtt_start) * 1000000 / w->hz));
		c->rtt_start = 0;
	}
}

/* An ACK of new data (SND.UNA < ack <= SND.MAX). */
static void
tcp_new_ack(struct tcp_conn *c, const struct tcp_seg *s)
{
	struct worker *w = c->w;
	uint32_t acked = s->ack - c->snd_una;
	uint32_t data = RTE_MIN(acked, c->snd.bytes);
	bool fin_acked = c->fin_sent && s->ack == c->snd_una + c->snd.bytes + 1;

	tcp_rtt_sample(c, s);
	c->limited_transmit = 0;
	c->tlp_sent = false;
	tcp_bufq_drop_front(&c->snd, data);
	c->snd_una = s->ack;
	if (tcp_seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	c->rtx_count = 0;
	tcp_rto_reset_backoff(&c->rto);
	enum tcp_cc_action a = tcp_cc_on_ack(&c->cc, acked, c->snd_una, c->snd_max - c->snd_una);
	if (a == TCP_CC_RETRANSMIT_NEXT_HOLE && c->snd.bytes != 0 && tcp_seq_geq(c->snd_una, c->high_rxt)) {
		uint32_t len = RTE_MIN((uint32_t)c->mss, c->snd.bytes);
		w->ctr[c->port][STATS_TCP_RETRANSMITS]++;
		tcp_send_segment(c, c->snd_una, len, 0);
		c->high_rxt = c->snd_una + len;
	}
	tcp_rtx_stop(c);
	if (c->snd_max != c->snd_una)
		tcp_rtx_arm(c);
	if (c->want_writable && data != 0) {
		c->want_writable = false;
		tcp_event(c, TCP_EV_WRITABLE);
	}
	if (fin_acked) {
		c->fin_acked = true;
		tcp_fin_acked(c);
	}
}

/*
 * A duplicate ACK. The third starts fast retransmit (RFC 5681/6582). Two
 * additions: limited transmit (RFC 3042: the first two may each let one new
 * segment out, so a small window still yields three duplicates), and after
 * an RTO, while go-back-N retransmission is under way, three duplicates mean
 * a retransmission was lost too: resend the hole now rather than wait for
 * another, backed-off, timeout.
 */
/*
 * In recovery, the peer's SACK blocks show which data arrived. The first
 * stretch at or after high_rxt (what we already resent) that no block covers
 * and that lies below the highest SACKed byte by more than two segments is
 * taken as lost (RFC 6675 §4, simplified: no full scoreboard, the blocks of
 * this ACK only). Returns true and the segment to resend.
 */
static bool
tcp_sack_hole(const struct tcp_conn *c, const struct tcp_opts *o, uint32_t *seq, uint32_t *len)
{
	uint32_t high = c->snd_una, from = tcp_seq_max(c->snd_una, c->high_rxt);

	for (unsigned b = 0; b < o->n_sack; b++)
		if (tcp_seq_between_incl(o->sack[b][1], c->snd_una, c->snd_max))
			high = tcp_seq_max(high, o->sack[b][1]);
	for (bool moved = true; moved;) {     /* skip blocks covering `from` */
		moved = false;
		for (unsigned b = 0; b < o->n_sack; b++)
			if (tcp_seq_leq(o->sack[b][0], from) && tcp_seq_lt(from, o->sack[b][1])) {
				from = o->sack[b][1];
				moved = true;
			}
	}
	if (!tcp_seq_lt(from + 2u * c->mss, high))
		return false;
	uint32_t end = high;
	for (unsigned b = 0; b < o->n_sack; b++)
		if (tcp_seq_gt(o->sack[b][0], from) && tcp_seq_lt(o->sack[b][0], end))
			end = o->sack[b][0];
	*seq = from;
	*len = RTE_MIN(end - from, (uint32_t)c->mss);
	return from - c->snd_una < c->snd.bytes;
}

static void
tcp_dupack(struct tcp_conn *c, const struct tcp_opts *o)
{
	struct worker *w = c->w;
	uint32_t hole, hole_len;
	uint32_t flight = c->snd_max - c->snd_una;
	enum tcp_cc_action a = tcp_cc_on_dupack(&c->cc, c->snd_una, c->snd_max, flight);
	bool resend = a == TCP_CC_FAST_RETRANSMIT ||
		      (c->cc.state == TCP_CC_LOSS && c->cc.dupacks == TCP_CC_DUPTHRESH);

	if (resend && c->snd.bytes != 0) {
		w->ctr[c->port][STATS_TCP_FAST_RETRANSMITS]++;
		w->ctr[c->port][STATS_TCP_RETRANSMITS]++;
		c->rtt_start = 0;   /* Karn */
		uint32_t len = RTE_MIN((uint32_t)c->mss, c->snd.bytes);
		tcp_send_segment(c, c->snd_una, len, 0);
		c->high_rxt = c->snd_una + len;
		return;
	}
	if ((c->cc.state == TCP_CC_RECOVERY || c->cc.state == TCP_CC_LOSS) && c->sack_ok &&
	    tcp_sack_hole(c, o, &hole, &hole_len)) {
		w->ctr[c->port][STATS_TCP_RETRANSMITS]++;
		c->rtt_start = 0;
		tcp_send_segment(c, hole, hole_len, 0);
		c->high_rxt = hole + hole_len;
		return;
	}
	if (c->cc.dupacks < TCP_CC_DUPTHRESH && c->cc.state != TCP_CC_RECOVERY)
		c->limited_transmit = (uint8_t)c->cc.dupacks;
}

/* ACK field processing; false when the segment must be dropped. */
static bool
tcp_process_ack(struct tcp_conn *c, const struct tcp_seg *s)
{
	struct worker *w = c->w;

	if (!(s->flags & RTE_TCP_ACK_FLAG))
		return false;
	if (c->state == TCP_SYN_RECEIVED) {
		if (!tcp_seq_between_incl(s->ack, c->snd_una + 1, c->snd_max)) {
			tcp_send_reset(w, c->port, &c->key, s->ack, 0, RTE_TCP_RST_FLAG);
			return false;
		}
		struct tcp_listener *l = c->listener;
		c->snd_una = s->ack;
		tcp_rtx_stop(c);
		c->rtx_count = 0;
		tcp_established(c, s->wnd, false, s->seq, s->ack);
		if (l != NULL)
			tcp_accept(c, l);
		return c->state != TCP_CLOSED;
	}
	if (tcp_seq_gt(s->ack, c->snd_max)) {
		tcp_send_ack(c);
		return false;
	}
	uint32_t wnd = s->wnd << c->snd_wscale;
	if (tcp_seq_ack_new(s->ack, c->snd_una, c->snd_max)) {
		tcp_new_ack(c, s);
	} else if (s->ack == c->snd_una && s->plen == 0 && !(s->flags & RTE_TCP_FIN_FLAG) &&
		   c->snd_max != c->snd_una && (wnd == c->snd_wnd || s->o.sack_blocks)) {
		/* RFC 5681 §2 wants the window unchanged; an ACK reporting SACK blocks is a
		 * duplicate whatever its window says (RFC 6675 §2). */
		w->ctr[c->port][STATS_TCP_RX_DUP_ACKS]++;
		tcp_dupack(c, &s->o);
	}
	if (c->state == TCP_CLOSED || c->state == TCP_TIME_WAIT)
		return c->state == TCP_TIME_WAIT;
	if (c->persist)
		c->rtx_count = 0;       /* the peer answers our window probes: it is alive */
	if (tcp_seq_wnd_update_ok(c->snd_wl1, c->snd_wl2, s->seq, s->ack)) {
		bool opened = c->snd_wnd == 0 && wnd != 0;
		c->snd_wnd = wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = s->ack;
		if (opened && c->persist)
			tcp_rtx_stop(c);
	}
	return true;
}

/* A small segment that continues prev (the queued one before it) is copied into prev's free room. */
static bool
tcp_ooo_coalesce(struct tcp_bufq *q, struct rte_mbuf *prev, struct rte_mbuf *m, uint32_t seq)
{
	if (prev == NULL || prev->hash.usr + prev->data_len != seq || m->data_len > TCP_COALESCE_MAX ||
	    rte_pktmbuf_tailroom(prev) < m->data_len || !RTE_MBUF_DIRECT(prev) ||
	    rte_mbuf_refcnt_read(prev) != 1)
		return false;
	memcpy(rte_pktmbuf_mtod_offset(prev, uint8_t *, prev->data_len), rte_pktmbuf_mtod(m, uint8_t *),
	       m->data_len);
	prev->data_len += m->data_len;
	prev->pkt_len = prev->data_len;
	q->bytes += m->data_len;
	rte_pktmbuf_free(m);
	return true;
}

/*
 * Insert an out-of-order segment (m at its payload, starting at seq) into
 * the sorted queue: a front already queued is cut off, queued segments it
 * covers go, and its tail is cut where the next queued segment begins; a
 * small one that continues its predecessor is copied into it. Returns false
 * (m not queued) for a duplicate or when the queue's buffers (truesize)
 * would exceed reass_limit.
 */
static bool
tcp_ooo_insert(struct tcp_conn *c, struct rte_mbuf *m, uint32_t seq)
{
	struct tcp_bufq *q = &c->ooo;
	struct rte_mbuf **link = &q->head, *prev = NULL;
	uint32_t end = seq + m->data_len;

	if ((uint64_t)(q->n_mbufs + 1) * m->buf_len > c->w->cfg->tcp.reass_limit)
		return false;
	if (q->tail != NULL && tcp_seq_leq(q->tail->hash.usr + q->tail->data_len, seq)) {
		prev = q->tail;                     /* beyond everything queued: no walk */
		link = &prev->next;
	}
	while (*link != NULL && tcp_seq_leq((*link)->hash.usr + (*link)->data_len, seq)) {
		prev = *link;
		link = &prev->next;
	}
	if (*link != NULL && tcp_seq_leq((*link)->hash.usr, seq)) {
		uint32_t qend = (*link)->hash.usr + (*link)->data_len;
		if (tcp_seq_geq(qend, end))
			return false;               /* all of it is queued already */
		rte_pktmbuf_adj(m, (uint16_t)(qend - seq));
		seq = qend;
		prev = *link;
		link = &prev->next;
	}
	while (*link != NULL && tcp_seq_lt((*link)->hash.usr, end)) {
		struct rte_mbuf *n = *link;
		if (tcp_seq_gt(n->hash.usr + n->data_len, end)) {
			rte_pktmbuf_trim(m, (uint16_t)(end - n->hash.usr));
			break;
		}
		*link = n->next;                    /* covered: ours replaces it */
		if (q->tail == n)
			q->tail = prev;
		q->bytes -= n->data_len;
		q->n_mbufs--;
		n->next = NULL;
		rte_pktmbuf_free_seg(n);
	}
	c->last_ooo_seq = seq;
	if (tcp_ooo_coalesce(q, prev, m, seq))
		return true;
	m->hash.usr = seq;
	m->next = *link;
	*link = m;
	if (m->next == NULL)
		q->tail = m;
	q->bytes += m->data_len;
	q->n_mbufs++;
	return true;
}

/* Move what became contiguous from the reassembly queue to the receive queue. */
static void
tcp_ooo_pull(struct tcp_conn *c)
{
	struct tcp_bufq *q = &c->ooo;

	while (q->head != NULL && tcp_seq_leq(q->head->hash.usr, c->rcv_nxt)) {
		struct rte_mbuf *m = q->head;
		q->head = m->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->bytes -= m->data_len;
		q->n_mbufs--;
		m->next = NULL;
		uint32_t skip = c->rcv_nxt - m->hash.usr;
		if (skip >= m->data_len) {
			rte_pktmbuf_free_seg(m);
			continue;
		}
		rte_pktmbuf_adj(m, (uint16_t)skip);
		c->rcv_nxt += m->data_len;
		c->bytes_in += m->data_len;
		tcp_bufq_append_mbuf(&c->rcv, m);
	}
}

/*
 * Payload: in order into the receive queue, ahead into reassembly. Returns
 * true when m was queued (no longer ours to free).
 */
static bool
tcp_data(struct tcp_conn *c, struct rte_mbuf *m, struct tcp_seg *s)
{
	struct worker *w = c->w;
	uint32_t seq = s->seq;

	rte_pktmbuf_adj(m, (uint16_t)s->poff);
	rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_data_len(m) - s->plen));
	if (tcp_seq_lt(seq, c->rcv_nxt)) {          /* already have the front */
		uint32_t cut = c->rcv_nxt - seq;
		rte_pktmbuf_adj(m, (uint16_t)cut);
		seq = c->rcv_nxt;
	}
	uint32_t wnd = tcp_rcv_window(c);
	uint32_t edge = tcp_seq_max(c->rcv_nxt + wnd, c->rcv_adv);
	if (tcp_seq_gt(seq + m->data_len, edge))
		rte_pktmbuf_trim(m, (uint16_t)(seq + m->data_len - edge));
	if (m->data_len == 0)
		return false;
	if (!tcp_rcv_admit(c, m, seq)) {
		c->ack_now = true;                  /* the peer learns our window (and SACK) */
		return false;
	}
	c->rcv_packed = false;
	if (seq != c->rcv_nxt) {
		uint32_t len = m->data_len;
		c->ack_now = true;                  /* duplicate ACK with SACK */
		if (!tcp_ooo_insert(c, m, seq)) {
			w->ctr[c->port][STATS_TCP_RX_OOO_DROPPED]++;
			return false;
		}
		w->ctr[c->port][STATS_TCP_RX_OOO_SEGMENTS]++;
		w->ctr[c->port][STATS_TCP_RX_OOO_BYTES] += len;
		w->ctr[c->port][STATS_TCP_RX_BYTES] += len;
		return true;
	}
	w->ctr[c->port][STATS_TCP_RX_BYTES] += m->data_len;
	bool filled = c->ooo.head != NULL;
	c->rcv_nxt += m->data_len;
	c->bytes_in += m->data_len;
	tcp_bufq_append_mbuf(&c->rcv, m);
	if (filled) {
		tcp_ooo_pull(c);
		c->ack_now = true;
	}
	tcp_event(c, TCP_EV_READABLE);
	/*
	 * A short pushed segment is a request or a reply (SMTP): the peer may hold
	 * its next one behind Nagle until this is ACKed. The ACK rides on our
	 * answer if the application gives one in this loop pass, else it leaves
	 * after 1 ms instead of delayed_ack_ms.
	 */
	c->delack_quick = (s->flags & RTE_TCP_PSH_FLAG) && s->plen < c->mss;
	if (++c->segs_unacked >= 2 || w->cfg->tcp.delayed_ack_ms == 0)
		c->ack_now = true;
	return true;
}

/* A FIN at `fin_seq`: in order, it ends the peer's stream. */
static void
tcp_fin(struct tcp_conn *c, uint32_t fin_seq)
{
	if (fin_seq != c->rcv_nxt) {
		c->ooo_fin = true;
		c->ooo_fin_seq = fin_seq;
		c->ack_now = true;
		return;
	}
	c->ooo_fin = false;
	c->rcv_nxt++;
	c->fin_rcvd = true;
	c->ack_now = true;
	tcp_event(c, TCP_EV_READABLE);
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		tcp_set_state(c, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT_1:
		tcp_set_state(c, TCP_CLOSING);
		break;
	case TCP_FIN_WAIT_2:
		tcp_send_ack(c);
		tcp_set_state(c, TCP_TIME_WAIT);
		c->w->ctr[c->port][STATS_TCP_CONN_CLOSED]++;
		tcp_conn_closed(c, STREAM_CLOSED);
		break;
	default:
		break;
	}
}

/* Sequence checks before anything else; false: drop (an ACK may have been sent). */
static bool
tcp_acceptable(struct tcp_conn *c, const struct tcp_seg *s)
{
	uint32_t seg_len = s->plen + !!(s->flags & RTE_TCP_SYN_FLAG) + !!(s->flags & RTE_TCP_FIN_FLAG);
	uint32_t wnd = tcp_seq_max(c->rcv_nxt + tcp_rcv_window(c), c->rcv_adv) - c->rcv_nxt;

	/*
	 * PAWS (RFC 7323 §5): an older timestamp marks an old duplicate. Only for
	 * segments that carry data, SYN or FIN: a reordered pure ACK is harmless
	 * and may be a duplicate ACK that recovery needs (Linux does the same).
	 */
	if (c->ts_ok && s->o.ts && !(s->flags & RTE_TCP_RST_FLAG) && seg_len != 0 &&
	    tcp_seq_lt(s->o.tsval, c->ts_recent)) {
		tcp_send_ack(c);
		return false;
	}
	if (tcp_seq_seg_acceptable(s->seq, seg_len, c->rcv_nxt, wnd))
		return true;
	if (!(s->flags & RTE_TCP_RST_FLAG)) {
		tcp_send_ack(c);
		if (c->state == TCP_TIME_WAIT && (s->flags & RTE_TCP_FIN_FLAG))
			tcp_time_wait_enter(c);     /* retransmitted FIN: restart 2 MSL */
	}
	return false;
}

void
tcp_input_conn(struct tcp_conn *c, struct rte_mbuf *m, const struct rte_tcp_hdr *th,
	       unsigned payload_off, unsigned payload_len)
{
	struct tcp_seg s = {
		.seq = rte_be_to_cpu_32(th->sent_seq), .ack = rte_be_to_cpu_32(th->recv_ack),
		.wnd = rte_be_to_cpu_16(th->rx_win), .plen = payload_len, .poff = payload_off,
		.flags = th->tcp_flags,
	};
	tcp_parse_opts((const uint8_t *)(th + 1), (th->data_off >> 4) * 4u - sizeof(*th), &s.o);
	c->last_rx = c->w->now;
	if (c->state == TCP_SYN_SENT) {
		tcp_syn_sent(c, &s);
		rte_pktmbuf_free(m);
		return;
	}
	bool queued = false;
	if (!tcp_acceptable(c, &s) || !tcp_check_rst_syn(c, &s) || !tcp_process_ack(c, &s))
		goto done;
	/* RFC 7323 §4.3: TS.Recent from segments at or before the last ACK we sent. */
	if (c->ts_ok && s.o.ts && tcp_seq_leq(s.seq, c->last_ack_sent) && tcp_seq_geq(s.o.tsval, c->ts_recent))
		c->ts_recent = s.o.tsval;
	if (c->state == TCP_TIME_WAIT)
		goto done;
	tcp_keep_arm(c);
	bool can_recv = c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
			c->state == TCP_FIN_WAIT_2;
	if (s.plen != 0 && can_recv && !c->fin_rcvd)
		queued = tcp_data(c, m, &s);
	if ((s.flags & RTE_TCP_FIN_FLAG) && !c->fin_rcvd && c->state != TCP_CLOSED)
		tcp_fin(c, s.seq + s.plen);
	else if (c->ooo_fin && !c->fin_rcvd && c->rcv_nxt == c->ooo_fin_seq)
		tcp_fin(c, c->ooo_fin_seq);
	if (c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT) {
		tcp_output(c);
		if (!c->ack_now && c->segs_unacked != 0)
			tcp_delack_arm(c);
	}
done:
	if (!queued)
		rte_pktmbuf_free(m);
}
