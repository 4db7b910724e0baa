/*
 * fuzz_net.c — libFuzzer target for the data path's packet input (net_input
 * and everything below it: Ethernet, ARP, IPv4, ICMP, TCP and the services
 * on top). Set-up as tests/unit/test_net.c: a real EAL without hugepages, one
 * worker, a net_ring port whose TX ring is its RX ring, so what the gateway
 * sends is read back with rte_eth_rx_burst. A fake peer 203.0.113.10 answers
 * the gateway's ARP requests and keeps a view (seq, ack, timestamps) of each
 * of its connections, built from what it sent and what the gateway sent.
 *
 * Every input starts from the same state: time rewound, the peer's MAC
 * taught, two connections established (echo, discard). The input is a list
 * of records [type:1][len:2 LE][body:len] (see the REC_* comments):
 *   raw frame | TCP segment relative to a connection | time jump | app action
 * After each record: timers, stream events, TX flush, the peer reads the ring,
 * and every received frame must have ended in exactly one RX_DONE/RX_DROP
 * counter. After the input: time runs on until everything has timed out;
 * then no connection, timer or neighbour entry may remain and every mbuf
 * must be back in the pool. Violations trap (libFuzzer reports a crash).
 *
 * Frames the fuzzer sends are by default copied into a malloc'ed external
 * buffer attached to a pool mbuf, ending exactly at the frame's last byte, so
 * ASan sees any read past the frame (a pool mbuf's data room would hide it).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "app/services.h"
#include "app/stats.h"
#include "app/worker.h"
#include "app/net/arp.h"
#include "app/net/eth.h"
#include "app/net/tcp.h"
#include "platform/config.h"
#include "platform/timer.h"

/* Not RTE_IPV4(): it shifts an int left into the sign bit (UBSan). */
#define GW_IP        0xcb007101u        /* 203.0.113.1 */
#define PEER_IP      0xcb00710au        /* 203.0.113.10 */
#define FRAME_MAX    2048               /* a pool mbuf's data room */
#define PEER_MTU     1500
#define N_PEERS      4
#define MAX_RECORDS  256
#define TIME_MAX_MS  600000u            /* one time record: at most 10 minutes */

/* Record types (type byte & 3). */
enum { REC_RAW = 0, REC_SEG = 1, REC_TIME = 2, REC_APP = 3 };

/* REC_RAW: type byte flags; body = the whole Ethernet frame. */
#define RAW_FIX_L2     0x10             /* dst = our MAC, src = the peer's */
#define RAW_FIX_CSUM   0x20             /* recompute IPv4 header and TCP/ICMP checksums */
#define RAW_HW_CSUM    0x40             /* mbuf says: checksums verified good by the NIC */
#define RAW_POOL_MBUF  0x80             /* copy into the pool mbuf (tailroom), not an exact buffer */

/*
 * REC_SEG body: sel:1 flags:1 ctl:1 seq:4 ack:4 wnd:2 optlen:1 opts:optlen payload...
 * sel: bits 0-1 connection slot; bit 2 (slots 2, 3): a new tuple, gateway port
 * seg_gports[bits 3-5]; bit 6: mbuf says checksums verified by the NIC; bit 7:
 * SACK blocks in opts are offsets from the end of the gateway's in-order data.
 * seq/ack: deltas (int16 unless SEG_*_WIDE) from the peer's SND.NXT (or
 * SND.UNA, the gateway's latest ACK) and from the gateway's in-order end.
 */
#define SEG_SEQ_UNA    0x01
#define SEG_SEQ_WIDE   0x02
#define SEG_ACK_WIDE   0x04
#define SEG_TS         0x08             /* append a timestamp option (peer clock, echo) */
#define SEG_NOADV      0x10             /* do not advance the peer's SND.NXT */
#define SEG_BAD_CSUM   0x20
#define SEG_IP_OPTS    0x40             /* 4 bytes of IPv4 options */
#define SEG_POOL_MBUF  0x80

#define SEL_HW_CSUM    0x40
#define SEL_SACK_REL   0x80

/* REC_TIME body: value:2 unit:1 (unit & 3: ms, 10 ms, 100 ms, s), at most TIME_MAX_MS. */
/*
 * REC_APP body: action:1 arg:1 bytes:2. action & 3: 0 open a probe connection
 * to the peer's port seg_gports[arg & 7] sending `bytes` % 8192; 1/2 close
 * (FIN) / reset one established connection on the gateway port of slot arg & 3;
 * 3 SYN-cookie mode arg % 3 for the rest of the input.
 */

static const uint16_t seg_gports[8] = { 7, 9, 19, 25, 0, 80, 65535, 7 };

/* The peer's view of one connection (host byte order). */
struct peer_conn {
	uint16_t pport, gport;          /* peer's port, gateway's port */
	uint32_t iss;
	uint32_t snd_nxt;               /* next sequence number the peer sends */
	uint32_t snd_una;               /* the gateway's latest ACK */
	uint32_t rcv_nxt;               /* end of the gateway's in-order data */
	bool synced;                    /* seen the gateway's SYN */
	uint32_t ts_val;                /* peer's timestamp clock */
	uint32_t ts_ecr;                /* gateway's latest TSval */
};

static struct gw_config cfg;
static struct gw gw;
static struct worker *w;
static uint16_t port_id;
static uint64_t t0;                     /* every input starts at this TSC */
static uint64_t ms_tsc;
static uint64_t next_arp_tick;
static uint16_t next_pport;
static struct peer_conn peers[N_PEERS];
static uint64_t last_ctr[STATS_MAX];    /* counters after the previous check, for reports */
static const struct rte_ether_addr peer_mac = { { 0x02, 0, 0, 0, 0, 0x10 } };
static bool trace;                      /* FUZZ_NET_TRACE=1: print the peer's side of the exchange */

static inline bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "fuzz_net: INVARIANT: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	__builtin_trap();
}

/* ---- input reader: past the end everything reads as zero ---- */
struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t
rd_u8(struct rd *r)
{
	if (r->n == 0)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t rd_u16(struct rd *r) { uint16_t v = rd_u8(r); return (uint16_t)(v | rd_u8(r) << 8); }
static uint32_t rd_u32(struct rd *r) { uint32_t v = rd_u16(r); return v | (uint32_t)rd_u16(r) << 16; }

/* ---- frames into the gateway ---- */
struct xbuf {
	struct rte_mbuf_ext_shared_info shinfo;
	uint8_t data[];                 /* headroom, then the frame up to the chunk's end */
};

static void
xbuf_free(void *addr, void *opaque)
{
	(void)addr;
	free(opaque);
}

/*
 * An mbuf holding the frame: exact (external buffer ending at the frame's
 * end, ASan-checked) or a plain pool mbuf. NULL when the pool is empty.
 */
static struct rte_mbuf *
mk_frame(const uint8_t *frame, size_t len, bool pool_mbuf, bool hw_csum)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);

	if (m == NULL)
		return NULL;
	if (len > FRAME_MAX)
		len = FRAME_MAX;
	if (!pool_mbuf) {
		struct xbuf *x = malloc(sizeof(*x) + RTE_PKTMBUF_HEADROOM + len);
		if (x == NULL)
			abort();
		memset(&x->shinfo, 0, sizeof(x->shinfo));
		x->shinfo.free_cb = xbuf_free;
		x->shinfo.fcb_opaque = x;
		rte_mbuf_ext_refcnt_set(&x->shinfo, 1);
		rte_pktmbuf_attach_extbuf(m, x->data, RTE_BAD_IOVA,
					  (uint16_t)(RTE_PKTMBUF_HEADROOM + len), &x->shinfo);
		rte_pktmbuf_reset_headroom(m);
	}
	memcpy(rte_pktmbuf_mtod(m, uint8_t *), frame, len);
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->port = port_id;
	if (hw_csum)
		m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	return m;
}

static void
feed(const uint8_t *frame, size_t len, bool pool_mbuf, bool hw_csum)
{
	struct rte_mbuf *m = mk_frame(frame, len, pool_mbuf, hw_csum);

	if (m != NULL)          /* pool exhausted: the NIC would have dropped it */
		net_input(w, 0, &m, 1);
}

static void
fill_eth(uint8_t *buf, uint16_t type)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)buf;

	eh->dst_addr = gw.ports[0].mac;
	eh->src_addr = peer_mac;
	eh->ether_type = rte_cpu_to_be_16(type);
}

/* ARP from the peer: a request for the gateway, or a reply to its request. */
static void
feed_arp(uint16_t op)
{
	uint8_t buf[RTE_ETHER_HDR_LEN + sizeof(struct rte_arp_hdr)];
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(buf + RTE_ETHER_HDR_LEN);

	fill_eth(buf, RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = peer_mac;
	a->arp_data.arp_sip = rte_cpu_to_be_32(PEER_IP);
	if (op == RTE_ARP_OP_REPLY)
		a->arp_data.arp_tha = gw.ports[0].mac;
	else
		memset(&a->arp_data.arp_tha, 0, sizeof(a->arp_data.arp_tha));
	a->arp_data.arp_tip = rte_cpu_to_be_32(GW_IP);
	feed(buf, sizeof(buf), true, false);
}

static uint16_t
l4_csum(const struct rte_ipv4_hdr *ip, const void *l4, unsigned len)
{
	uint32_t sum = rte_raw_cksum(l4, len) + rte_ipv4_phdr_cksum(ip, 0);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* A TCP segment from the peer for connection s. */
static void
send_seg(const struct peer_conn *s, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t wnd,
	 const uint8_t *opts, unsigned optlen, const uint8_t *payload, unsigned plen,
	 uint8_t ctl, bool hw_csum)
{
	uint8_t buf[RTE_ETHER_HDR_LEN + PEER_MTU];
	unsigned iphl = sizeof(struct rte_ipv4_hdr) + ((ctl & SEG_IP_OPTS) ? 4 : 0);
	unsigned thl = sizeof(struct rte_tcp_hdr) + optlen;     /* optlen: multiple of 4, <= 40 */

	if (plen > PEER_MTU - iphl - thl)
		plen = PEER_MTU - iphl - thl;
	fill_eth(buf, RTE_ETHER_TYPE_IPV4);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + RTE_ETHER_HDR_LEN);
	memset(ip, 0, iphl);
	ip->version_ihl = (uint8_t)(0x40 | iphl / 4);
	ip->total_length = rte_cpu_to_be_16((uint16_t)(iphl + thl + plen));
	ip->packet_id = rte_cpu_to_be_16(0x1234);
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_TCP;
	ip->src_addr = rte_cpu_to_be_32(PEER_IP);
	ip->dst_addr = rte_cpu_to_be_32(GW_IP);
	if (iphl > sizeof(*ip))
		memset(ip + 1, 1, iphl - sizeof(*ip));          /* NOPs */
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, iphl);

	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)((uint8_t *)ip + iphl);
	th->src_port = rte_cpu_to_be_16(s->pport);
	th->dst_port = rte_cpu_to_be_16(s->gport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32(ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen)
		memcpy(th + 1, opts, optlen);
	if (plen)
		memcpy((uint8_t *)(th + 1) + optlen, payload, plen);
	th->cksum = l4_csum(ip, th, thl + plen);
	if (trace)
		fprintf(stderr, "  peer -> %5u:%-5u %02x seq %u ack %u win %u len %u opt %u ctl %02x\n",
			s->pport, s->gport, flags, seq, ack, wnd, plen, optlen, ctl);
	if (ctl & SEG_BAD_CSUM)
		th->cksum ^= 0x0100;
	feed(buf, RTE_ETHER_HDR_LEN + iphl + thl + plen, ctl & SEG_POOL_MBUF, hw_csum);
}

/* NOP NOP TS: 12 bytes. */
static unsigned
opt_ts(uint8_t *o, uint32_t val, uint32_t ecr)
{
	uint32_t v = rte_cpu_to_be_32(val), e = rte_cpu_to_be_32(ecr);

	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	memcpy(o + 4, &v, 4);
	memcpy(o + 8, &e, 4);
	return 12;
}

/* ---- what the gateway sent: the peer reads the ring ---- */

static struct peer_conn *
peer_find(uint16_t pport, uint16_t gport)
{
	for (unsigned i = 0; i < N_PEERS; i++)
		if (peers[i].pport == pport && peers[i].gport == gport)
			return &peers[i];
	return NULL;
}

static void
peer_init(struct peer_conn *s, uint16_t pport, uint16_t gport, uint32_t iss)
{
	*s = (struct peer_conn){
		.pport = pport, .gport = gport, .iss = iss, .snd_nxt = iss, .snd_una = iss,
		.ts_val = 1000 + iss % 1000,
	};
}

/* Update the peer's view from one TCP segment the gateway sent. */
static void
observe_tcp(const struct rte_ipv4_hdr *ip, unsigned iphl, unsigned total)
{
	const struct rte_tcp_hdr *th = (const struct rte_tcp_hdr *)((const uint8_t *)ip + iphl);
	unsigned doff = (th->data_off >> 4) * 4u;

	if (total < iphl + sizeof(*th) || doff < sizeof(*th) || iphl + doff > total)
		return;
	if (rte_be_to_cpu_32(ip->src_addr) != GW_IP || rte_be_to_cpu_32(ip->dst_addr) != PEER_IP)
		return;
	uint16_t gport = rte_be_to_cpu_16(th->src_port), pport = rte_be_to_cpu_16(th->dst_port);
	uint8_t f = th->tcp_flags;
	uint32_t seq = rte_be_to_cpu_32(th->sent_seq), ack = rte_be_to_cpu_32(th->recv_ack);
	unsigned plen = total - iphl - doff;
	struct peer_conn *s = peer_find(pport, gport);

	if (trace)
		fprintf(stderr, "  gw  -> %5u:%-5u %02x seq %u ack %u win %u len %u\n", gport, pport, f,
			seq, ack, rte_be_to_cpu_16(th->rx_win), plen);

	if (s == NULL) {
		if ((f & (RTE_TCP_SYN_FLAG | RTE_TCP_ACK_FLAG)) != RTE_TCP_SYN_FLAG)
			return;
		s = &peers[N_PEERS - 1];        /* the gateway opens a connection (app action) */
		peer_init(s, pport, gport, 0x20000000u);
	}
	const uint8_t *o = (const uint8_t *)(th + 1);
	for (unsigned i = 0; i + 1 < doff - sizeof(*th);) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (o[i + 1] < 2 || i + o[i + 1] > doff - sizeof(*th))
			break;
		if (o[i] == 8 && o[i + 1] == 10) {
			uint32_t v;
			memcpy(&v, o + i + 2, 4);
			s->ts_ecr = rte_be_to_cpu_32(v);
		}
		i += o[i + 1];
	}
	if (f & RTE_TCP_SYN_FLAG) {
		s->rcv_nxt = seq + 1;
		s->synced = true;
	} else if (s->synced) {
		uint32_t end = seq + plen + !!(f & RTE_TCP_FIN_FLAG);
		if (seq_leq(seq, s->rcv_nxt) && seq_lt(s->rcv_nxt, end))
			s->rcv_nxt = end;
	}
	if (f & RTE_TCP_ACK_FLAG) {
		s->snd_una = ack;
		if (seq_lt(s->snd_nxt, ack))
			s->snd_nxt = ack;
	}
}

/* One frame the gateway sent. Returns true for an ARP request for the peer. */
static bool
observe(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	unsigned len = rte_pktmbuf_data_len(m);

	if (m->nb_segs != 1 || len < RTE_ETHER_HDR_LEN)
		return false;
	uint16_t type = rte_be_to_cpu_16(((const struct rte_ether_hdr *)p)->ether_type);
	p += RTE_ETHER_HDR_LEN;
	len -= RTE_ETHER_HDR_LEN;
	if (type == RTE_ETHER_TYPE_ARP) {
		const struct rte_arp_hdr *a = (const struct rte_arp_hdr *)p;
		return len >= sizeof(*a) && a->arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) &&
		       a->arp_data.arp_tip == rte_cpu_to_be_32(PEER_IP);
	}
	if (type != RTE_ETHER_TYPE_IPV4 || len < sizeof(struct rte_ipv4_hdr))
		return false;
	const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)p;
	unsigned iphl = (ip->version_ihl & 0x0f) * 4u, total = rte_be_to_cpu_16(ip->total_length);
	if (iphl < sizeof(*ip) || total > len || total < iphl)
		return false;
	if (ip->next_proto_id == IPPROTO_TCP)
		observe_tcp(ip, iphl, total);
	return false;
}

/* Read (and free) everything the gateway sent; answer its ARP requests for the peer. */
static void
drain(void)
{
	struct rte_mbuf *pkts[32];
	uint16_t n;

	for (unsigned round = 0; round < 64; round++) {
		bool arp_req = false;
		while ((n = rte_eth_rx_burst(port_id, 0, pkts, RTE_DIM(pkts))) != 0) {
			for (uint16_t i = 0; i < n; i++)
				arp_req |= observe(pkts[i]);
			rte_pktmbuf_free_bulk(pkts, n);
		}
		if (!arp_req)
			return;
		if (trace)
			fprintf(stderr, "  gw  -> ARP who-has peer: answered\n");
		feed_arp(RTE_ARP_OP_REPLY);
		tcp_events(w);
		worker_tx_flush(w);
	}
}

/* The RX_DONE and RX_DROP counters (app/stats.h), listed once at start-up. */
static uint16_t fate_ids[STATS_MAX];
static unsigned n_fates;

static void
fates_init(void)
{
	for (unsigned c = 0; c < STATS_MAX; c++)
		if (stats_desc[c].kind == STATS_RX_DONE || stats_desc[c].kind == STATS_RX_DROP)
			fate_ids[n_fates++] = (uint16_t)c;
}

/* Print the counters the last step changed, then trap. */
static void __attribute__((noreturn))
accounting_failed(uint64_t frames, uint64_t fates)
{
	uint64_t v[STATS_MAX];

	stats_sum(gw.workers, 1, 0, v);
	fprintf(stderr, "fuzz_net: counters changed by the last step:\n");
	for (unsigned c = 0; c < STATS_MAX; c++)
		if (v[c] != last_ctr[c])
			fprintf(stderr, "  %-28s +%" PRIu64 "\n", stats_desc[c].name, v[c] - last_ctr[c]);
	fail("frame accounting: port.rx_frames %" PRIu64 " != %" PRIu64 " frame fates", frames, fates);
}

/*
 * port.rx_frames == sum of RX_DONE + RX_DROP counters (app/stats.h). Run
 * after every step, so it sums only the fate counters of the one worker
 * and port (stats_sum over all ~170 counters was most of the harness's
 * time); the full snapshot for the report is taken only when it fails.
 */
static void
check_accounting(void)
{
	const uint64_t *v = w->ctr[0];
	uint64_t fates = 0;

	for (unsigned i = 0; i < n_fates; i++)
		fates += v[fate_ids[i]];
	if (v[STATS_PORT_RX_FRAMES] != fates)
		accounting_failed(v[STATS_PORT_RX_FRAMES], fates);
	memcpy(last_ctr, v, sizeof(last_ctr));
}

/* What the worker loop does after its RX burst. */
static void
settle(void)
{
	tcp_timers(w);
	tcp_events(w);
	worker_tx_flush(w);
	drain();
	check_accounting();
}

/* Run the clock to target: every timer expiry and at least every max_step is a loop pass. */
static void
advance_to(uint64_t target, uint64_t max_step)
{
	do {
		uint64_t next = timer_next_expiry(&w->timers), t = target;
		if (next > w->now && next < t)
			t = next;
		if (t - w->now > max_step)
			t = w->now + max_step;
		w->now = t;
		tcp_timers(w);
		if (w->now >= next_arp_tick) {
			arp_tick(w);
			next_arp_tick = w->now + 100 * ms_tsc;
		}
		settle();
	} while (w->now < target);
}

/* ---- records ---- */

/* Fix the IPv4 header checksum and the TCP/ICMP checksum of a raw frame, where they fit. */
static void
raw_fix_csum(uint8_t *buf, size_t len)
{
	if (len < RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) ||
	    rte_be_to_cpu_16(((struct rte_ether_hdr *)buf)->ether_type) != RTE_ETHER_TYPE_IPV4)
		return;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(buf + RTE_ETHER_HDR_LEN);
	size_t room = len - RTE_ETHER_HDR_LEN;
	unsigned hl = (ip->version_ihl & 0x0f) * 4u, total = rte_be_to_cpu_16(ip->total_length);
	if (hl < sizeof(*ip) || hl > room)
		return;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = (uint16_t)~rte_raw_cksum(ip, hl);
	if (total < hl || total > room)
		return;
	uint8_t *l4 = (uint8_t *)ip + hl;
	unsigned l4len = total - hl;
	if (ip->next_proto_id == IPPROTO_TCP && l4len >= sizeof(struct rte_tcp_hdr)) {
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)l4;
		th->cksum = 0;
		th->cksum = l4_csum(ip, th, l4len);
	} else if (ip->next_proto_id == IPPROTO_ICMP && l4len >= 4) {
		l4[2] = l4[3] = 0;
		uint16_t c = (uint16_t)~rte_raw_cksum(l4, l4len);
		memcpy(l4 + 2, &c, 2);
	}
}

static void
rec_raw(uint8_t type, const uint8_t *body, size_t n)
{
	uint8_t buf[FRAME_MAX];
	size_t len = RTE_MIN(n, sizeof(buf));

	memcpy(buf, body, len);
	if ((type & RAW_FIX_L2) && len >= RTE_ETHER_HDR_LEN) {
		struct rte_ether_hdr *eh = (struct rte_ether_hdr *)buf;
		eh->dst_addr = gw.ports[0].mac;
		eh->src_addr = peer_mac;
	}
	if (type & RAW_FIX_CSUM)
		raw_fix_csum(buf, len);
	feed(buf, len, type & RAW_POOL_MBUF, type & RAW_HW_CSUM);
}

/* Add base to every edge of the SACK options in o (the fuzzer writes them relative). */
static void
sack_relative(uint8_t *o, unsigned len, uint32_t base)
{
	for (unsigned i = 0; i < len;) {
		if (o[i] == 0)
			break;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len || o[i + 1] < 2 || i + o[i + 1] > len)
			break;
		if (o[i] == 5)
			for (unsigned e = i + 2; e + 4 <= i + o[i + 1]; e += 4) {
				uint32_t v;
				memcpy(&v, o + e, 4);
				v = rte_cpu_to_be_32(rte_be_to_cpu_32(v) + base);
				memcpy(o + e, &v, 4);
			}
		i += o[i + 1];
	}
}

static void
rec_seg(const uint8_t *body, size_t n)
{
	struct rd r = { body, n };
	uint8_t sel = rd_u8(&r), flags = rd_u8(&r), ctl = rd_u8(&r);
	uint32_t dseq = rd_u32(&r), dack = rd_u32(&r);
	uint16_t wnd = rd_u16(&r);
	unsigned want = rd_u8(&r) % 41, optlen = RTE_MIN(want, (unsigned)r.n);
	uint8_t opts[40] = { 0 };
	struct peer_conn *s = &peers[sel & 3];

	if ((sel & 3) >= 2 && (sel & 4))
		peer_init(s, next_pport++, seg_gports[(sel >> 3) & 7], 0x30000000u + (sel & 3) * 0x1000u);
	memcpy(opts, r.p, optlen);
	r.p += optlen;
	r.n -= optlen;
	if (sel & SEL_SACK_REL)
		sack_relative(opts, optlen, s->rcv_nxt);
	if ((ctl & SEG_TS) && optlen + 12 <= sizeof(opts))
		optlen += opt_ts(opts + optlen, s->ts_val, s->ts_ecr);
	optlen = (optlen + 3) & ~3u;                    /* padded with EOL (zeros) */

	uint32_t seq = (ctl & SEG_SEQ_UNA) ? s->snd_una : s->snd_nxt;
	seq += (ctl & SEG_SEQ_WIDE) ? dseq : (uint32_t)(int32_t)(int16_t)dseq;
	uint32_t ack = s->rcv_nxt + ((ctl & SEG_ACK_WIDE) ? dack : (uint32_t)(int32_t)(int16_t)dack);
	unsigned iphl = sizeof(struct rte_ipv4_hdr) + ((ctl & SEG_IP_OPTS) ? 4 : 0);
	unsigned plen = (unsigned)RTE_MIN(r.n, (size_t)(PEER_MTU - iphl - sizeof(struct rte_tcp_hdr) - optlen));

	send_seg(s, flags, seq, ack, wnd, opts, optlen, r.p, plen, ctl, sel & SEL_HW_CSUM);
	s->ts_val++;
	uint32_t end = seq + plen + !!(flags & RTE_TCP_SYN_FLAG) + !!(flags & RTE_TCP_FIN_FLAG);
	if (!(ctl & SEG_NOADV) && seq_leq(seq, s->snd_nxt) && seq_lt(s->snd_nxt, end))
		s->snd_nxt = end;
}

static void
rec_time(const uint8_t *body, size_t n)
{
	static const uint32_t unit_ms[4] = { 1, 10, 100, 1000 };
	struct rd r = { body, n };
	uint32_t v = rd_u16(&r);
	uint32_t ms = RTE_MIN(v * unit_ms[rd_u8(&r) & 3], TIME_MAX_MS);

	for (unsigned i = 0; i < N_PEERS; i++)
		peers[i].ts_val += ms;
	if (trace)
		fprintf(stderr, "  time +%u ms\n", ms);
	advance_to(w->now + ms * ms_tsc, w->hz);
}

/* What the control plane can ask of a worker (WORKER_MSG_CONNECT / CLEAR), and the SYN-cookie mode. */
static void
rec_app(const uint8_t *body, size_t n)
{
	struct rd r = { body, n };
	uint8_t action = rd_u8(&r), arg = rd_u8(&r);
	uint16_t bytes = rd_u16(&r);

	switch (action & 3) {
	case 0:
		services_probe(w, PEER_IP, seg_gports[arg & 7], 1, bytes % 8192);
		break;
	case 1:
	case 2:
		tcp_clear(w, peers[arg & 3].gport, 1, (action & 3) == 2);
		break;
	case 3:
		cfg.tcp.syncookies = (enum cfg_syncookies)(arg % 3);
		break;
	}
}

/* ---- per input: a fresh start, and a full wind-down ---- */

static void
handshake(struct peer_conn *s)
{
	uint8_t o[24] = { 2, 4, 0x05, 0xb4, 1, 1, 4, 2 };

	opt_ts(o + 8, s->ts_val, 0);
	o[20] = 1;
	o[21] = 3;
	o[22] = 3;
	o[23] = 7;
	send_seg(s, RTE_TCP_SYN_FLAG, s->iss, 0, 65535, o, sizeof(o), NULL, 0, 0, false);
	s->snd_nxt = s->iss + 1;
	s->ts_val++;
	settle();
	if (!s->synced)
		fail("set-up: no SYN-ACK from port %u", s->gport);
	unsigned optlen = opt_ts(o, s->ts_val, s->ts_ecr);
	send_seg(s, RTE_TCP_ACK_FLAG, s->snd_nxt, s->rcv_nxt, 1024, o, optlen, NULL, 0, 0, false);
	s->ts_val++;
	settle();
}

static void
begin_input(void)
{
	timer_wheel_init(&w->timers, t0, ms_tsc);
	w->now = t0;
	next_arp_tick = t0;
	w->icmp_last = t0;
	w->icmp_tokens = (uint64_t)cfg.limits.icmp_rate_limit * w->hz;
	cfg.tcp.syncookies = CFG_SYNCOOKIES_AUTO;
	next_pport = 41000;
	peer_init(&peers[0], 40007, 7, 0x10000000u);
	peer_init(&peers[1], 40009, 9, 0xfffff000u);    /* wraps after 4 KiB */
	peer_init(&peers[2], 40019, 19, 0x7ffffff0u);   /* not connected: the source service */
	peer_init(&peers[3], 40025, 25, 0x00000000u);   /* not connected: a closed port */
	feed_arp(RTE_ARP_OP_REQUEST);
	settle();
	handshake(&peers[0]);
	handshake(&peers[1]);
}

/* Let everything time out; then nothing may be left but the listeners. */
static void
end_input(void)
{
	struct arp_view v[1];
	unsigned in_use = 0, time_wait = 0, i;

	for (i = 0; i < 1000; i++) {
		tcp_usage(w, &in_use, &time_wait);
		if (in_use == 0 && w->timers.n_pending == 0 && arp_snapshot(w, v, 1) == 0)
			break;
		advance_to(w->now + 10 * w->hz, 10 * w->hz);
	}
	if (i == 1000)
		fail("nothing times out: %u connections (%u TIME_WAIT), %u timers, ARP entries %u after %u s",
		     in_use, time_wait, w->timers.n_pending, arp_snapshot(w, v, 1), i * 10);
	unsigned held = rte_mempool_in_use_count(w->pool);
	if (held != 0)
		fail("mbuf leak: %u mbufs still in use with no connection, neighbour or queue left", held);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal_argv[] = { "fuzz_net", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
			     "--no-telemetry", "-l", "0", "--vdev", "net_ring0", "--log-level", "*:error",
			     NULL };
	char err[256];

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_NET_TRACE") != NULL;
	fates_init();
	if (rte_eal_init((int)RTE_DIM(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "fuzz_net: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	config_defaults(&cfg);
	cfg.limits.mbufs_per_worker = 2047;
	cfg.limits.arp_cache_size = 16;
	cfg.limits.arp_queue_length = 4;
	cfg.limits.arp_timeout = 30;
	cfg.limits.icmp_rate_limit = 1000;
	cfg.tcp.max_connections = 64;
	cfg.tcp.syn_backlog = 8;
	cfg.tcp.rcv_buffer = 16384;
	cfg.tcp.snd_buffer = 16384;
	cfg.tcp.reass_limit = 16384;
	cfg.tcp.time_wait = 5;
	cfg.tcp.time_wait_max = 8;
	cfg.tcp.keepalive_idle = 20;
	cfg.tcp.keepalive_interval = 5;
	cfg.tcp.keepalive_probes = 3;
	cfg.tcp.idle_timeout = 60;
	cfg.services.echo.enabled = true;
	cfg.services.discard.enabled = true;
	cfg.services.source.enabled = true;
	cfg.services.source_bytes = 4096;
	cfg.n_ports = 1;
	snprintf(cfg.ports[0].name, sizeof(cfg.ports[0].name), "ext");
	snprintf(cfg.ports[0].device, sizeof(cfg.ports[0].device), "net_ring0");
	cfg.ports[0].addr = GW_IP;
	cfg.ports[0].prefix_len = 24;
	cfg.ports[0].mtu = 1500;
	gw.cfg = &cfg;
	gw.n_workers = 1;
	gw.n_ports = 1;
	gw.hz = rte_get_tsc_hz();
	w = worker_create(&gw, 0, rte_lcore_id(), err, sizeof(err));
	if (w == NULL) {
		fprintf(stderr, "fuzz_net: %s\n", err);
		exit(1);
	}
	gw.workers[0] = w;
	if (port_setup(&gw.ports[0], 0, &cfg.ports[0], 1, &w->pool, &cfg.limits, err, sizeof(err)) ||
	    port_start(&gw.ports[0], err, sizeof(err))) {
		fprintf(stderr, "fuzz_net: %s\n", err);
		exit(1);
	}
	port_id = gw.ports[0].port_id;
	ms_tsc = w->hz / 1000;
	t0 = rte_rdtsc();
	w->now = t0;
	services_start(w);

	/* The start of every input must give two established connections. */
	begin_input();
	struct tcp_conn_view views[8];
	unsigned n = tcp_snapshot(w, views, RTE_DIM(views)), est = 0;
	for (unsigned i = 0; i < n; i++)
		est += strcmp(tcp_state_name(views[i].state), "ESTABLISHED") == 0;
	if (n != 2 || est != 2) {
		fprintf(stderr, "fuzz_net: set-up: %u connections, %u established\n", n, est);
		exit(1);
	}
	end_input();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	begin_input();
	for (unsigned nrec = 0; size - off >= 3 && nrec < MAX_RECORDS; nrec++) {
		uint8_t type = data[off];
		size_t len = (size_t)data[off + 1] | (size_t)data[off + 2] << 8;
		off += 3;
		len = RTE_MIN(len, size - off);
		const uint8_t *body = data + off;
		off += len;
		if (trace)
			fprintf(stderr, "record %u: type %02x len %zu\n", nrec, type, len);
		switch (type & 3) {
		case REC_RAW:
			rec_raw(type, body, len);
			break;
		case REC_SEG:
			rec_seg(body, len);
			break;
		case REC_TIME:
			rec_time(body, len);
			break;
		case REC_APP:
			rec_app(body, len);
			break;
		}
		settle();
	}
	end_input();
	return 0;
}
