/*
 * tcp_out.c — TCP segment output: builds segments (options: MSS, window
 * scale, SACK-permitted and SACK blocks, timestamps), sends what the peer's
 * window and cwnd allow from the send queue, ACKs (delayed or at once), FIN,
 * resets, SYN-ACKs for SYN cookies and window probes. Everything leaves
 * through ipv4_output.
 */
#include <string.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "app/worker.h"
#include "app/net/ipv4.h"
#include "app/net/tcp_conn.h"
#include "app/net/tcp_seq.h"

#define TCP_OPT_EOL     0
#define TCP_OPT_NOP     1
#define TCP_OPT_MSS     2
#define TCP_OPT_WS      3
#define TCP_OPT_SACKOK  4
#define TCP_OPT_SACK    5
#define TCP_OPT_TS      8
#define TCP_MSS_MAX     1800    /* one mbuf per segment: 2 KiB data room */

uint16_t
tcp_mss_for_port(const struct worker *w, unsigned p)
{
	unsigned mss = w->gw->ports[p].mtu - 40u;
	return (uint16_t)(mss > TCP_MSS_MAX ? TCP_MSS_MAX : mss);
}

/*
 * Receive space: bytes free in the buffer, and no more segments than the
 * buffers the connection may still hold (its share of the pool, less under
 * pool pressure: tcp_pool.c) can take at one MSS each.
 */
uint32_t
tcp_rcv_window(const struct tcp_conn *c)
{
	uint32_t limit = c->w->cfg->tcp.rcv_buffer;
	uint32_t used = c->rcv.bytes + c->ooo.bytes;
	uint32_t cap = tcp_rcv_cap(c), held = tcp_rcv_held(c);

	if (used >= limit || held >= cap)
		return 0;
	return RTE_MIN(limit - used, (cap - held) * (uint32_t)c->mss);
}

/* The window field for a non-SYN segment; the right edge never moves left. */
static uint16_t
tcp_window_field(struct tcp_conn *c)
{
	uint32_t win = tcp_rcv_window(c);
	uint32_t edge = c->rcv_nxt + win;

	if (tcp_seq_lt(edge, c->rcv_adv))
		win = c->rcv_adv - c->rcv_nxt;
	win >>= c->rcv_wscale;
	if (win > 65535)
		win = 65535;
	c->rcv_adv = c->rcv_nxt + (win << c->rcv_wscale);
	return (uint16_t)win;
}

static unsigned
tcp_opt_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
	o[0] = TCP_OPT_NOP;
	o[1] = TCP_OPT_NOP;
	o[2] = TCP_OPT_TS;
	o[3] = 10;
	uint32_t v = rte_cpu_to_be_32(tsval), e = rte_cpu_to_be_32(tsecr);
	memcpy(o + 4, &v, 4);
	memcpy(o + 8, &e, 4);
	return 12;
}

/*
 * SACK blocks from the out-of-order queue (RFC 2018 §4): the first block is
 * the range holding the most recently received segment, then the other
 * ranges in sequence order, as many as fit.
 */
static unsigned
tcp_opt_sack(const struct tcp_conn *c, uint8_t *o, unsigned room)
{
	uint32_t blk[TCP_SACK_BLOCKS][2];
	unsigned n = 1, max = room < 12 ? 0 : RTE_MIN((room - 4) / 8, (unsigned)TCP_SACK_BLOCKS);
	bool have_first = false;
	const struct rte_mbuf *m = c->ooo.head;

	if (max == 0)
		return 0;
	while (m != NULL) {
		uint32_t s = m->hash.usr, e = s + m->data_len;
		for (m = m->next; m != NULL && m->hash.usr == e; m = m->next)
			e += m->data_len;               /* adjacent segments form one range */
		if (!have_first && tcp_seq_between(c->last_ooo_seq, s, e)) {
			blk[0][0] = s;
			blk[0][1] = e;
			have_first = true;
		} else if (n < max) {
			blk[n][0] = s;
			blk[n][1] = e;
			n++;
		}
	}
	if (!have_first) {      /* the newest segment was merged away: report in order */
		if (n == 1)
			return 0;
		memmove(blk[0], blk[1], sizeof(blk[0]) * (n - 1));
		n--;
	}
	o[0] = TCP_OPT_NOP;
	o[1] = TCP_OPT_NOP;
	o[2] = TCP_OPT_SACK;
	o[3] = (uint8_t)(2 + 8 * n);
	for (unsigned i = 0; i < n; i++) {
		uint32_t bs = rte_cpu_to_be_32(blk[i][0]), be = rte_cpu_to_be_32(blk[i][1]);
		memcpy(o + 4 + 8 * i, &bs, 4);
		memcpy(o + 8 + 8 * i, &be, 4);
	}
	return 4 + 8 * n;
}

/*
 * A segment with IP and TCP headers filled (checksums later), room for len
 * payload bytes after the options. NULL when the pool is empty (counted).
 */
static struct rte_mbuf *
tcp_build(struct worker *w, unsigned p, const struct tcp_key *k, uint32_t seq, uint32_t ack,
	  uint8_t flags, uint16_t wnd, const uint8_t *opts, unsigned optlen, unsigned len)
{
	struct rte_mbuf *m = worker_pkt_alloc(w);
	if (m == NULL) {
		w->ctr[p][STATS_PORT_TX_NO_MBUF]++;
		return NULL;
	}
	unsigned thl = sizeof(struct rte_tcp_hdr) + optlen;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)rte_pktmbuf_append(m, sizeof(*ip) + thl + len);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + thl + len);
	ip->packet_id = 0;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = IPV4_DEFAULT_TTL;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(k->laddr);
	ip->dst_addr = rte_cpu_to_be_32(k->raddr);
	th->src_port = rte_cpu_to_be_16(k->lport);
	th->dst_port = rte_cpu_to_be_16(k->rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->tcp_urp = 0;
	if (optlen != 0)
		memcpy(th + 1, opts, optlen);
	return m;
}

/* Checksum and hand to IP. */
static void
tcp_emit(struct worker *w, unsigned p, struct rte_mbuf *m, unsigned len)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);

	th->cksum = 0;
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	w->ctr[p][STATS_TCP_TX_SEGMENTS]++;
	w->ctr[p][STATS_TCP_TX_BYTES] += len;
	if (th->tcp_flags & RTE_TCP_RST_FLAG)
		w->ctr[p][STATS_TCP_TX_RESETS]++;
	ipv4_output(w, m, p);
}

/* Options for a non-SYN segment of c: timestamps, SACK blocks. */
static unsigned
tcp_opts(struct tcp_conn *c, uint8_t *o, bool with_sack)
{
	unsigned n = 0;

	if (c->ts_ok)
		n += tcp_opt_ts(o, tcp_ts_now(c->w), c->ts_recent);
	if (with_sack && c->sack_ok && c->ooo.head != NULL)
		n += tcp_opt_sack(c, o + n, TCP_OPT_SPACE - n);
	return n;
}

int
tcp_send_segment(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct worker *w = c->w;
	uint8_t opts[TCP_OPT_SPACE];
	unsigned optlen = tcp_opts(c, opts, len == 0);
	uint16_t wnd = tcp_window_field(c);
	struct rte_mbuf *m = tcp_build(w, c->port, &c->key, seq, c->rcv_nxt, flags | RTE_TCP_ACK_FLAG,
				       wnd, opts, optlen, len);
	if (m == NULL)
		return -ENOBUFS;
	if (len != 0) {
		uint8_t *dst = rte_pktmbuf_mtod_offset(m, uint8_t *, 40 + optlen);
		tcp_bufq_copy(&c->snd, seq - c->snd_una, dst, len);
		c->bytes_out += len;
	}
	c->segs_unacked = 0;
	c->ack_now = false;
	c->last_ack_sent = c->rcv_nxt;
	timer_cancel(&w->timers, &c->delack_timer);
	tcp_emit(w, c->port, m, len);
	return 0;
}

void
tcp_send_ack(struct tcp_conn *c)
{
	tcp_send_segment(c, c->snd_nxt, 0, 0);
}

void
tcp_send_probe(struct tcp_conn *c)
{
	tcp_send_segment(c, c->snd_una - 1, 0, 0);
}

static unsigned
tcp_syn_opts(struct tcp_conn *c, uint8_t *o, bool synack)
{
	/* The MSS option says what we can receive (RFC 9293 §3.7.1), not what we send. */
	uint16_t mss = rte_cpu_to_be_16(tcp_mss_for_port(c->w, c->port));
	unsigned n = 0;

	o[n++] = TCP_OPT_MSS;
	o[n++] = 4;
	memcpy(o + n, &mss, 2);
	n += 2;
	if (!synack || c->sack_ok) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_SACKOK;
		o[n++] = 2;
	}
	if (!synack || c->ts_ok)
		n += tcp_opt_ts(o + n, tcp_ts_now(c->w), c->ts_recent);
	if (!synack || c->ws_ok) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_WS;
		o[n++] = 3;
		o[n++] = c->rcv_wscale;
	}
	return n;
}

uint8_t
tcp_wscale_for(uint32_t buf)
{
	uint8_t s = 0;
	while (s < 14 && (buf >> s) > 65535)
		s++;
	return s;
}

void
tcp_send_syn(struct tcp_conn *c, bool ack)
{
	struct worker *w = c->w;
	uint8_t opts[TCP_OPT_SPACE];

	if (!ack || c->ws_ok)
		c->rcv_wscale = tcp_wscale_for(w->cfg->tcp.rcv_buffer);
	unsigned optlen = tcp_syn_opts(c, opts, ack);
	uint32_t win = RTE_MIN(tcp_rcv_window(c), 65535u);
	struct rte_mbuf *m = tcp_build(w, c->port, &c->key, c->iss, ack ? c->rcv_nxt : 0,
				       RTE_TCP_SYN_FLAG | (ack ? RTE_TCP_ACK_FLAG : 0),
				       (uint16_t)win, opts, optlen, 0);
	if (m == NULL)
		return;
	c->rcv_adv = c->rcv_nxt + win;
	c->last_ack_sent = c->rcv_nxt;
	tcp_emit(w, c->port, m, 0);
}

void
tcp_send_reset(struct worker *w, unsigned p, const struct tcp_key *k, uint32_t seq, uint32_t ack,
	       uint8_t flags)
{
	struct rte_mbuf *m = tcp_build(w, p, k, seq, ack, flags, 0, NULL, 0, 0);
	if (m != NULL)
		tcp_emit(w, p, m, 0);
}

void
tcp_send_cookie_synack(struct worker *w, unsigned p, const struct tcp_key *k, uint32_t iss,
		       uint32_t irs, int wscale, bool sack, bool ts, uint32_t tsecr)
{
	uint8_t o[TCP_OPT_SPACE];
	uint16_t bmss = rte_cpu_to_be_16(tcp_mss_for_port(w, p));   /* `mss` is in the cookie */
	unsigned n = 0;

	o[n++] = TCP_OPT_MSS;
	o[n++] = 4;
	memcpy(o + n, &bmss, 2);
	n += 2;
	if (sack && ts) {       /* without timestamps there is nowhere to keep SACK/WS */
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_SACKOK;
		o[n++] = 2;
	}
	if (ts) {
		uint32_t now = (uint32_t)(w->now / w->tcp->ms_hz);
		n += tcp_opt_ts(o + n, tcp_syncookie_ts_encode(now, wscale, sack), tsecr);
	}
	if (ts && wscale != TCP_SYNCOOKIE_WSCALE_NONE) {
		o[n++] = TCP_OPT_NOP;
		o[n++] = TCP_OPT_WS;
		o[n++] = 3;
		o[n++] = tcp_wscale_for(w->cfg->tcp.rcv_buffer);
	}
	struct rte_mbuf *m = tcp_build(w, p, k, iss, irs + 1, RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG,
				       (uint16_t)RTE_MIN(w->cfg->tcp.rcv_buffer, 65535u), o, n, 0);
	if (m != NULL)
		tcp_emit(w, p, m, 0);
}

/* Bytes of data queued but not yet sent, and where the FIN goes. */
static uint32_t
tcp_unsent(const struct tcp_conn *c)
{
	uint32_t sent = c->snd_nxt - c->snd_una;
	return sent >= c->snd.bytes ? 0 : c->snd.bytes - sent;
}

/* Start timing one new segment for an RTT sample (when there are no timestamps). */
static void
tcp_time_segment(struct tcp_conn *c, uint32_t seq)
{
	if (!c->ts_ok && c->rtt_start == 0 && seq == c->snd_max) {
		c->rtt_seq = seq;
		c->rtt_start = c->w->now;
	}
}

/* Send what the windows allow; FIN when everything is out; an ACK if one is owed. */
void
tcp_output(struct tcp_conn *c)
{
	struct worker *w = c->w;
	bool sent_any = false;

	if (c->state < TCP_ESTABLISHED || c->state == TCP_TIME_WAIT)
		return;
	for (;;) {
		uint32_t unsent = tcp_unsent(c);
		uint32_t flight = c->snd_nxt - c->snd_una;
		uint32_t cwnd = c->cc.cwnd + (uint32_t)c->limited_transmit * c->mss;
		uint32_t wnd = RTE_MIN(c->snd_wnd, cwnd);
		uint32_t room = wnd > flight ? wnd - flight : 0;
		uint32_t len = RTE_MIN(RTE_MIN(unsent, (uint32_t)c->mss), room);
		if (len == 0 || (len < c->mss && len < unsent && flight != 0))
			break;          /* nothing, or only a sliver of window: wait for ACKs */
		bool last = len == unsent;
		if (tcp_seq_lt(c->snd_nxt, c->snd_max))
			w->ctr[c->port][STATS_TCP_RETRANSMITS]++;
		tcp_time_segment(c, c->snd_nxt);
		if (tcp_send_segment(c, c->snd_nxt, len, last ? RTE_TCP_PSH_FLAG : 0) != 0)
			break;
		c->snd_nxt += len;
		c->snd_max = tcp_seq_max(c->snd_max, c->snd_nxt);
		sent_any = true;
	}
	uint32_t fin_seq = c->snd_una + c->snd.bytes;
	if (c->fin_queued && !c->fin_acked && c->snd_nxt == fin_seq) {
		if (tcp_seq_lt(c->snd_nxt, c->snd_max))
			w->ctr[c->port][STATS_TCP_RETRANSMITS]++;
		if (tcp_send_segment(c, fin_seq, 0, RTE_TCP_FIN_FLAG) == 0) {
			c->snd_nxt = fin_seq + 1;
			c->snd_max = tcp_seq_max(c->snd_max, c->snd_nxt);
			c->fin_sent = true;
			sent_any = true;
		}
	}
	if (!sent_any && c->ack_now)
		tcp_send_ack(c);
	if (c->snd_nxt != c->snd_una)
		tcp_rtx_arm(c);
	else if (tcp_unsent(c) != 0 && c->snd_wnd == 0)
		tcp_rtx_arm(c);         /* persist: probe the zero window */
	else if (tcp_unsent(c) != 0 || (c->fin_queued && !c->fin_sent))
		tcp_write_retry_arm(c); /* nothing in flight, the pool refused a segment: no ACK will come */
}
