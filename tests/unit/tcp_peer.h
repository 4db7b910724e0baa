/*
 * tcp_peer.h — a scripted TCP peer for the TCP unit tests (test_tcp_fsm.c,
 * test_tcp_reass.c). Same harness as test_net.c: a real EAL (no hugepages),
 * a real worker and a net_ring port whose TX loops back to its RX. The peer
 * (203.0.113.10, 02:00:00:00:00:10) builds Ethernet + IPv4 + TCP frames with
 * correct checksums and options, feeds them to net_input one by one, runs the
 * stream events and flushes; what the gateway sent is read back from the port
 * and parsed (flags, seq, ack, window, options, payload). Time is w->now,
 * moved forward by tp_tick() in 1 ms steps with the TCP timers run each step.
 *
 * Applications: the built-in services (echo 7, discard 9, source 19) and a
 * scripted one (struct tp_app) listening on TP_APP_PORT or opened with
 * tcp_connect, which records its stream events.
 *
 * Header-only and included by exactly one test file per binary.
 */
#ifndef MAILGW_TESTS_UNIT_TCP_PEER_H
#define MAILGW_TESTS_UNIT_TCP_PEER_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_tcp.h>

#include "app/worker.h"
#include "app/services.h"
#include "app/net/eth.h"
#include "app/net/stream.h"
#include "app/net/tcp.h"

#define TP_GW_IP        RTE_IPV4(203, 0, 113, 1)
#define TP_PEER_IP      RTE_IPV4(203, 0, 113, 10)
#define TP_APP_PORT     5001            /* the scripted application's listener */
#define TP_CLOSED_PORT  2323            /* nobody listens here */
#define TP_MAX_SEGS     256

#define TP_FIN  RTE_TCP_FIN_FLAG
#define TP_SYN  RTE_TCP_SYN_FLAG
#define TP_RST  RTE_TCP_RST_FLAG
#define TP_PSH  RTE_TCP_PSH_FLAG
#define TP_ACK  RTE_TCP_ACK_FLAG

static struct gw_config tp_cfg;
static struct cfg_tcp tp_tcp_base;      /* restored before every test */
static struct cfg_services tp_svc_base;
static struct gw tp_gw;
static struct worker *w;
static const struct rte_ether_addr tp_peer_mac = { { 0x02, 0, 0, 0, 0, 0x10 } };
static uint16_t tp_next_port = 40000;   /* the peer's ports: a fresh one per connection */

/* A TCP segment, to send or as parsed from what the gateway sent. */
struct tp_seg {
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd;                   /* the raw window field */
	uint16_t sport, dport;
	int mss;                        /* options; -1: absent */
	int ws;
	bool sack_ok;
	bool ts;
	uint32_t tsval, tsecr;
	unsigned n_sack;
	uint32_t sack[4][2];
	uint16_t len;
	uint8_t data[2048];
};

/* The peer's side of one connection. */
struct tp_conn {
	uint16_t pport;                 /* the peer's port */
	uint16_t gport;                 /* the gateway's port */
	uint32_t iss;                   /* the peer's initial sequence number */
	uint32_t snd_nxt;               /* the peer's next sequence number */
	uint32_t gw_iss;                /* the gateway's initial sequence number */
	uint32_t rcv_nxt;               /* after everything the gateway sent (FIN included) */
	uint16_t wnd;                   /* window field the peer sends */
	int ws;                         /* scale the peer offers in its SYN (-1: none) */
	uint16_t mss;                   /* MSS the peer offers */
	bool ts;                        /* timestamps negotiated */
	uint32_t tsval;                 /* the peer's timestamp clock */
	uint32_t ts_recent;             /* the gateway's latest TSval */
	bool gw_fin;                    /* the gateway sent FIN */
	uint32_t gw_fin_seq;
	uint64_t bytes;                 /* payload received from the gateway, in order */
	uint8_t *sink;                  /* optional: where that payload goes */
	size_t sink_size;
};

/* ---- the scripted application ---- */

struct tp_app {
	struct stream *s;               /* NULL once closed (or aborted) */
	int n_connected, n_readable, n_writable, n_closed;
	int reason;                     /* enum stream_close_reason of `closed` */
	bool eof;
	bool autoread;                  /* read everything on readable */
	bool shutdown_on_eof;
	size_t len;
	uint8_t buf[1 << 18];
};

static struct tp_app *tp_accept_app;    /* what the next accepted connection is given */
static struct tp_app tp_app1, tp_app2;  /* the tests' applications (aborted after each test) */

static void
tp_app_connected(struct stream *s)
{
	struct tp_app *a = s->ctx;
	a->n_connected++;
}

static void
tp_app_readable(struct stream *s)
{
	struct tp_app *a = s->ctx;
	a->n_readable++;
	if (a->autoread) {
		ssize_t r;
		while (a->len < sizeof(a->buf) &&
		       (r = stream_read(s, a->buf + a->len, sizeof(a->buf) - a->len)) > 0)
			a->len += (size_t)r;
	}
	if (stream_eof(s)) {
		a->eof = true;
		if (a->shutdown_on_eof)
			stream_shutdown(s);
	}
}

static void
tp_app_writable(struct stream *s)
{
	struct tp_app *a = s->ctx;
	a->n_writable++;
}

static void
tp_app_closed(struct stream *s, enum stream_close_reason why)
{
	struct tp_app *a = s->ctx;
	a->n_closed++;
	a->reason = (int)why;
	a->s = NULL;
}

static const struct stream_ops tp_app_ops = {
	.connected = tp_app_connected,
	.readable = tp_app_readable,
	.writable = tp_app_writable,
	.closed = tp_app_closed,
};

static void
tp_app_accept(struct worker *wk, struct stream *s, void *arg)
{
	(void)wk;
	(void)arg;
	if (tp_accept_app == NULL) {
		stream_abort(s);
		return;
	}
	s->ops = &tp_app_ops;
	s->ctx = tp_accept_app;
	tp_accept_app->s = s;
	tp_accept_app = NULL;
}

static inline void
tp_app_reset(struct tp_app *a)
{
	memset(a, 0, offsetof(struct tp_app, buf));
	a->autoread = true;
	a->reason = -1;
}

/* ---- the wire ---- */

static inline uint64_t
tp_ctr(enum stats_id id)
{
	return w->ctr[0][id];
}

static inline uint64_t
tp_ms(void)
{
	return w->now / (w->hz / 1000);
}

/* Run stream events and send what is queued (one worker loop pass, less RX). */
static inline void
tp_pass(void)
{
	tcp_events(w);
	worker_tx_flush(w);
}

static inline void
tp_input_frame(struct rte_mbuf *m)
{
	net_input(w, 0, &m, 1);
	tp_pass();
}

/* The peer asks who has the gateway's address (to dst: its MAC, or broadcast). */
static void
tp_send_arp_request(const struct rte_ether_addr *dst)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);

	assert_non_null(m);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eh) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eh + 1);
	eh->dst_addr = *dst;
	eh->src_addr = tp_peer_mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	a->arp_data.arp_sha = tp_peer_mac;
	a->arp_data.arp_sip = rte_cpu_to_be_32(TP_PEER_IP);
	memset(&a->arp_data.arp_tha, 0, 6);
	a->arp_data.arp_tip = rte_cpu_to_be_32(TP_GW_IP);
	tp_input_frame(m);
}

/* Encode s's options into o; returns the length (a multiple of 4). */
static inline unsigned
tp_put_opts(const struct tp_seg *s, uint8_t *o)
{
	unsigned n = 0;

	if (s->mss >= 0) {
		o[n++] = 2;
		o[n++] = 4;
		o[n++] = (uint8_t)(s->mss >> 8);
		o[n++] = (uint8_t)s->mss;
	}
	if (s->sack_ok) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 4;
		o[n++] = 2;
	}
	if (s->ts) {
		o[n++] = 1;
		o[n++] = 1;
		o[n++] = 8;
		o[n++] = 10;
		for (int i = 3; i >= 0; i--)
			o[n++] = (uint8_t)(s->tsval >> (8 * i));
		for (int i = 3; i >= 0; i--)
			o[n++] = (uint8_t)(s->tsecr >> (8 * i));
	}
	if (s->ws >= 0) {
		o[n++] = 1;
		o[n++] = 3;
		o[n++] = 3;
		o[n++] = (uint8_t)s->ws;
	}
	while (n % 4)
		o[n++] = 0;
	return n;
}

/* Build the frame for s (peer -> gateway) and feed it to the gateway. */
static inline void
tp_emit(const struct tp_seg *s)
{
	uint8_t opts[40];
	unsigned optlen = tp_put_opts(s, opts);
	unsigned thl = sizeof(struct rte_tcp_hdr) + optlen;
	unsigned iplen = sizeof(struct rte_ipv4_hdr) + thl + s->len;
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);

	assert_non_null(m);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eh) + iplen);
	assert_non_null(eh);
	eh->dst_addr = tp_gw.ports[0].mac;
	eh->src_addr = tp_peer_mac;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(ip + 1);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)iplen);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(TP_PEER_IP);
	ip->dst_addr = rte_cpu_to_be_32(TP_GW_IP);
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	th->src_port = rte_cpu_to_be_16(s->sport);
	th->dst_port = rte_cpu_to_be_16(s->dport);
	th->sent_seq = rte_cpu_to_be_32(s->seq);
	th->recv_ack = rte_cpu_to_be_32(s->ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = s->flags;
	th->rx_win = rte_cpu_to_be_16(s->wnd);
	th->tcp_urp = 0;
	th->cksum = 0;
	memcpy(th + 1, opts, optlen);
	memcpy((uint8_t *)(th + 1) + optlen, s->data, s->len);
	th->cksum = rte_ipv4_udptcp_cksum(ip, th);
	tp_input_frame(m);
}

/* Parse the TCP options of a segment the gateway sent. */
static inline void
tp_parse_opts(const uint8_t *o, unsigned len, struct tp_seg *s)
{
	for (unsigned i = 0; i < len;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		assert_true(i + 1 < len && o[i + 1] >= 2 && i + o[i + 1] <= len);
		const uint8_t *v = o + i + 2;
		switch (o[i]) {
		case 2:
			s->mss = v[0] << 8 | v[1];
			break;
		case 3:
			s->ws = v[0];
			break;
		case 4:
			s->sack_ok = true;
			break;
		case 5:
			s->n_sack = (o[i + 1] - 2u) / 8;
			for (unsigned b = 0; b < s->n_sack && b < 4; b++) {
				s->sack[b][0] = (uint32_t)v[8 * b] << 24 | v[8 * b + 1] << 16 | v[8 * b + 2] << 8 | v[8 * b + 3];
				s->sack[b][1] = (uint32_t)v[8 * b + 4] << 24 | v[8 * b + 5] << 16 | v[8 * b + 6] << 8 | v[8 * b + 7];
			}
			break;
		case 8:
			s->ts = true;
			s->tsval = (uint32_t)v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
			s->tsecr = (uint32_t)v[4] << 24 | v[5] << 16 | v[6] << 8 | v[7];
			break;
		default:
			break;
		}
		i += o[i + 1];
	}
}

/*
 * Read back every TCP segment the gateway sent (other frames are dropped),
 * checking the Ethernet/IP addressing and both checksums. At most max are
 * kept (more is a test failure). Returns how many.
 */
static inline unsigned
tp_recv(struct tp_seg *out, unsigned max)
{
	struct rte_mbuf *m[32];
	unsigned n, got = 0;

	while ((n = rte_eth_rx_burst(tp_gw.ports[0].port_id, 0, m, 32)) != 0) {
		for (unsigned i = 0; i < n; i++) {
			struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m[i], struct rte_ether_hdr *);
			if (eh->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
				rte_pktmbuf_free(m[i]);
				continue;
			}
			assert_true(rte_is_same_ether_addr(&eh->dst_addr, &tp_peer_mac));
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
			assert_int_equal(ip->next_proto_id, IPPROTO_TCP);
			assert_int_equal(rte_be_to_cpu_32(ip->src_addr), TP_GW_IP);
			assert_int_equal(rte_be_to_cpu_32(ip->dst_addr), TP_PEER_IP);
			unsigned hl = (ip->version_ihl & 0xf) * 4u;
			assert_int_equal(rte_raw_cksum(ip, hl), 0xffff);
			struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)ip + hl);
			unsigned tl = rte_be_to_cpu_16(ip->total_length) - hl;
			uint32_t sum = rte_raw_cksum(th, tl) + rte_ipv4_phdr_cksum(ip, 0);
			sum = (sum & 0xffff) + (sum >> 16);
			sum = (sum & 0xffff) + (sum >> 16);
			assert_int_equal(sum, 0xffff);
			unsigned doff = (th->data_off >> 4) * 4u;
			assert_true(got < max);
			struct tp_seg *s = &out[got++];
			memset(s, 0, offsetof(struct tp_seg, data));
			s->mss = s->ws = -1;
			s->flags = th->tcp_flags;
			s->seq = rte_be_to_cpu_32(th->sent_seq);
			s->ack = rte_be_to_cpu_32(th->recv_ack);
			s->wnd = rte_be_to_cpu_16(th->rx_win);
			s->sport = rte_be_to_cpu_16(th->src_port);
			s->dport = rte_be_to_cpu_16(th->dst_port);
			tp_parse_opts((const uint8_t *)(th + 1), doff - sizeof(*th), s);
			s->len = (uint16_t)(tl - doff);
			assert_true(s->len <= sizeof(s->data));
			memcpy(s->data, (uint8_t *)th + doff, s->len);
			rte_pktmbuf_free(m[i]);
		}
	}
	return got;
}

/* Throw away whatever the gateway sent. */
static inline void
tp_drain(void)
{
	static struct tp_seg junk[TP_MAX_SEGS];
	tp_recv(junk, TP_MAX_SEGS);
}

/* Exactly one segment must have been sent: return it in *s. */
static inline void
tp_recv_one(struct tp_seg *s)
{
	static struct tp_seg segs[TP_MAX_SEGS];
	unsigned n = tp_recv(segs, TP_MAX_SEGS);
	if (n != 1)
		fail_msg("expected one segment from the gateway, got %u", n);
	*s = segs[0];
}

/* Nothing must have been sent. */
static inline void
tp_recv_none(void)
{
	static struct tp_seg segs[TP_MAX_SEGS];
	unsigned n = tp_recv(segs, TP_MAX_SEGS);
	if (n != 0)
		fail_msg("expected silence, the gateway sent %u segment(s), first flags 0x%x seq %u ack %u",
			 n, segs[0].flags, segs[0].seq, segs[0].ack);
}

/* Move time forward by ms, 1 ms at a time, running timers and events each step. */
static inline void
tp_tick(unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		w->now += w->hz / 1000;
		tcp_timers(w);
		tp_pass();
	}
}

/*
 * Step time 1 ms at a time until the gateway sends something (at most
 * limit_ms): the segments land in out; returns the ms waited, or -1.
 */
static inline int
tp_wait_send(struct tp_seg *out, unsigned max, unsigned *n, unsigned limit_ms)
{
	for (unsigned i = 1; i <= limit_ms; i++) {
		tp_tick(1);
		*n = tp_recv(out, max);
		if (*n != 0)
			return (int)i;
	}
	*n = 0;
	return -1;
}

/* ---- the peer's connections ---- */

static inline void
tp_conn_init(struct tp_conn *pc, uint16_t gport, uint32_t iss)
{
	memset(pc, 0, sizeof(*pc));
	pc->pport = tp_next_port++;
	pc->gport = gport;
	pc->iss = iss;
	pc->snd_nxt = iss;
	pc->wnd = 65535;
	pc->ws = 2;
	pc->mss = 1460;
	pc->ts = true;
	pc->tsval = 1000;
}

/* A segment of pc from the peer: ports, window, timestamps filled in. */
static inline void
tp_seg_init(const struct tp_conn *pc, struct tp_seg *s, uint8_t flags, uint32_t seq, uint32_t ack)
{
	memset(s, 0, offsetof(struct tp_seg, data));
	s->flags = flags;
	s->seq = seq;
	s->ack = ack;
	s->wnd = pc->wnd;
	s->sport = pc->pport;
	s->dport = pc->gport;
	s->mss = s->ws = -1;
	s->ts = pc->ts;
	s->tsval = pc->tsval;
	s->tsecr = pc->ts_recent;
}

/* Send one segment of pc (the peer's clock ticks once per segment: pc->tsval is the last sent). */
static inline void
tp_send(struct tp_conn *pc, uint8_t flags, uint32_t seq, uint32_t ack, const void *data, uint16_t len)
{
	static struct tp_seg s;
	pc->tsval++;
	tp_seg_init(pc, &s, flags, seq, ack);
	if (len)
		memcpy(s.data, data, len);
	s.len = len;
	tp_emit(&s);
}

/* Take in what the gateway sent on pc: its sequence space, payload, timestamp. */
static inline void
tp_absorb(struct tp_conn *pc, const struct tp_seg *s)
{
	if (s->sport != pc->gport || s->dport != pc->pport)
		return;
	if (s->ts)
		pc->ts_recent = s->tsval;
	if (s->flags & TP_RST)
		return;
	uint32_t seq = s->seq + !!(s->flags & TP_SYN);
	if (s->len && seq == pc->rcv_nxt) {
		if (pc->sink != NULL) {
			assert_true(pc->bytes + s->len <= pc->sink_size);
			memcpy(pc->sink + pc->bytes, s->data, s->len);
		}
		pc->bytes += s->len;
		pc->rcv_nxt += s->len;
	}
	uint32_t end = s->seq + s->len + !!(s->flags & TP_SYN) + !!(s->flags & TP_FIN);
	if ((s->flags & TP_FIN) && end - 1 == pc->rcv_nxt) {
		pc->gw_fin = true;
		pc->gw_fin_seq = end - 1;
		pc->rcv_nxt = end;
	}
}

static inline void
tp_absorb_all(struct tp_conn *pc, const struct tp_seg *s, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		tp_absorb(pc, &s[i]);
}

/* The peer's SYN with every option (MSS, SACK-permitted, timestamps, window scale). */
static inline void
tp_send_syn(struct tp_conn *pc)
{
	static struct tp_seg s;
	pc->tsval++;
	tp_seg_init(pc, &s, TP_SYN, pc->iss, 0);
	s.mss = pc->mss;
	s.sack_ok = true;
	s.ws = pc->ws;
	s.tsecr = 0;
	s.ts = true;
	tp_emit(&s);
	pc->snd_nxt = pc->iss + 1;
}

/* Handshake up to SYN_RECEIVED: SYN in, the SYN-ACK returned in *synack. */
static inline void
tp_syn(struct tp_conn *pc, struct tp_seg *synack)
{
	tp_send_syn(pc);
	tp_recv_one(synack);
	assert_int_equal(synack->flags, TP_SYN | TP_ACK);
	assert_int_equal(synack->ack, pc->iss + 1);
	pc->gw_iss = synack->seq;
	pc->rcv_nxt = synack->seq + 1;
	if (synack->ts)
		pc->ts_recent = synack->tsval;
}

/* Pure ACK of everything received so far. */
static inline void
tp_ack(struct tp_conn *pc)
{
	tp_send(pc, TP_ACK, pc->snd_nxt, pc->rcv_nxt, NULL, 0);
}

/* A passive open completed (SYN, SYN-ACK, ACK) to gport. */
static inline void
tp_open(struct tp_conn *pc, uint16_t gport, uint32_t iss, struct tp_seg *synack)
{
	static struct tp_seg sa;
	tp_conn_init(pc, gport, iss);
	tp_syn(pc, synack ? synack : &sa);
	tp_ack(pc);
}

/* Data from the peer at its snd_nxt, acknowledging everything received. */
static inline void
tp_data(struct tp_conn *pc, const void *data, uint16_t len)
{
	tp_send(pc, TP_ACK | TP_PSH, pc->snd_nxt, pc->rcv_nxt, data, len);
	pc->snd_nxt += len;
}

/* The peer's FIN, acknowledging `ack`. */
static inline void
tp_fin_ack(struct tp_conn *pc, uint32_t ack)
{
	tp_send(pc, TP_FIN | TP_ACK, pc->snd_nxt, ack, NULL, 0);
	pc->snd_nxt++;
}

/* The connection as the console sees it; false when there is none. */
static inline bool
tp_view(const struct tp_conn *pc, struct tcp_conn_view *v)
{
	static struct tcp_conn_view all[512];
	unsigned n = tcp_snapshot(w, all, RTE_DIM(all));

	for (unsigned i = 0; i < n; i++)
		if (all[i].rport == pc->pport && all[i].lport == pc->gport &&
		    all[i].raddr == TP_PEER_IP) {
			*v = all[i];
			return true;
		}
	return false;
}

/* "ESTABLISHED", ...; "CLOSED" when the connection is gone. */
static inline const char *
tp_state(const struct tp_conn *pc)
{
	struct tcp_conn_view v;
	return tp_view(pc, &v) ? tcp_state_name(v.state) : "CLOSED";
}

/* Bytes of the reference stream: byte i of every test stream. */
static inline uint8_t
tp_pattern(uint64_t i)
{
	return (uint8_t)(i * 131u + 17u + (i >> 9));
}

/* ---- set-up ---- */

static void (*tp_tweak)(struct gw_config *cfg);

static int
tp_setup(void **state)
{
	(void)state;
	char *argv[] = { "test_tcp", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			 "--no-telemetry", "-l", "0", "--vdev", "net_ring0", "--log-level", "*:error", NULL };
	char err[256];

	if (rte_eal_init(13, argv) < 0)
		return -1;
	config_defaults(&tp_cfg);
	tp_cfg.limits.mbufs_per_worker = 8191;
	tp_cfg.limits.arp_cache_size = 16;
	tp_cfg.limits.arp_queue_length = 4;
	tp_cfg.n_ports = 1;
	snprintf(tp_cfg.ports[0].name, sizeof(tp_cfg.ports[0].name), "ext");
	snprintf(tp_cfg.ports[0].device, sizeof(tp_cfg.ports[0].device), "net_ring0");
	tp_cfg.ports[0].addr = TP_GW_IP;
	tp_cfg.ports[0].prefix_len = 24;
	tp_cfg.ports[0].mtu = 1500;
	tp_cfg.tcp.max_connections = 1024;
	tp_cfg.tcp.time_wait = 1;
	tp_cfg.tcp.rto_min_ms = 100;
	tp_cfg.tcp.rto_initial_ms = 200;
	tp_cfg.tcp.rto_max_ms = 10000;
	tp_cfg.tcp.max_retransmits = 3;
	tp_cfg.tcp.syn_retries = 2;
	tp_cfg.tcp.delayed_ack_ms = 0;
	tp_cfg.services.echo.enabled = true;
	tp_cfg.services.discard.enabled = true;
	tp_cfg.services.source.enabled = true;
	tp_cfg.services.source_bytes = 20000;
	if (tp_tweak)
		tp_tweak(&tp_cfg);
	tp_tcp_base = tp_cfg.tcp;
	tp_svc_base = tp_cfg.services;
	tp_gw.cfg = &tp_cfg;
	tp_gw.n_workers = 1;
	tp_gw.n_ports = 1;
	w = worker_create(&tp_gw, 0, rte_lcore_id(), err, sizeof(err));
	if (w == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	tp_gw.workers[0] = w;
	if (port_setup(&tp_gw.ports[0], 0, &tp_cfg.ports[0], 1, &w->pool, &tp_cfg.limits, err, sizeof(err)) ||
	    port_start(&tp_gw.ports[0], err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	w->now = rte_rdtsc();
	services_start(w);
	if (tcp_listen(w, TP_APP_PORT, tp_app_accept, NULL) != 0)
		return -1;

	/* Teach ARP: the peer asks for us, so replies need no resolution. */
	tp_send_arp_request(&tp_gw.ports[0].mac);
	tp_drain();
	return 0;
}

/* Before each test: the base configuration, nothing pending on the wire. */
static int
tp_test_setup(void **state)
{
	(void)state;
	tp_cfg.tcp = tp_tcp_base;
	tp_cfg.services = tp_svc_base;
	tp_accept_app = NULL;
	tp_pass();
	tp_drain();
	return 0;
}

/*
 * After each test: abort what the applications hold, reset what is still
 * established, and let time pass until every other leftover (TIME_WAIT,
 * retransmissions, half-open connections) has ended, so that no later test
 * sees a stray segment.
 */
static int
tp_test_teardown(void **state)
{
	(void)state;
	tp_cfg.tcp = tp_tcp_base;
	tp_accept_app = NULL;
	if (tp_app1.s != NULL)
		stream_abort(tp_app1.s);
	if (tp_app2.s != NULL)
		stream_abort(tp_app2.s);
	tp_app1.s = tp_app2.s = NULL;
	tcp_clear(w, 0, UINT32_MAX, true);
	for (unsigned i = 0; i < 8; i++) {
		tp_tick(1000);
		tp_drain();
	}
	unsigned in_use, tw;
	tcp_usage(w, &in_use, &tw);
	if (in_use != 0) {
		/* Only silent connections may remain (CLOSE_WAIT, idle ESTABLISHED). */
		struct tcp_conn_view v[8];
		unsigned n = tcp_snapshot(w, v, 8);
		for (unsigned i = 0; i < n; i++)
			assert_true(strcmp(tcp_state_name(v[i].state), "CLOSE_WAIT") == 0 ||
				    strcmp(tcp_state_name(v[i].state), "ESTABLISHED") == 0);
	}
	return 0;
}

#define TP_TEST(fn) cmocka_unit_test_setup_teardown(fn, tp_test_setup, tp_test_teardown)

#endif
