/*
 * test_net.c — the data path's network layer driven frame by frame: a real
 * EAL (no hugepages), a real worker (pool, ARP table, rings) and a net_ring
 * ethdev whose TX ring loops back to its RX, so every frame the gateway sends
 * can be read back and checked. Covers what af_packet cannot show (IPv4
 * fragments, which the kernel reassembles before af_packet delivers them),
 * ARP resolution, queueing, failure and expiry with a controlled clock, ICMP
 * rate limiting, and routing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <rte_arp.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "app/worker.h"
#include "app/net/arp.h"
#include "app/net/eth.h"
#include "app/net/ipv4.h"

#define GW_IP    RTE_IPV4(203, 0, 113, 1)
#define HOST_IP  RTE_IPV4(203, 0, 113, 10)

static struct gw_config cfg;
static struct gw gw;
static struct worker *w;
static const struct rte_ether_addr host_mac = { { 0x02, 0, 0, 0, 0, 0x10 } };

/* A frame from the host to the gateway: Ethernet header + payload. */
static struct rte_mbuf *
frame(uint16_t type, const void *payload, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	assert_non_null(m);
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eh) + len);
	eh->dst_addr = gw.ports[0].mac;
	eh->src_addr = host_mac;
	eh->ether_type = rte_cpu_to_be_16(type);
	memcpy(eh + 1, payload, len);
	return m;
}

/* An IPv4 packet host -> dst carrying an ICMP message of `type`, `data_len` data bytes. */
static uint16_t
icmp_packet(uint8_t *buf, uint32_t dst, uint8_t type, uint16_t frag, unsigned opt_len)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
	unsigned hl = sizeof(*ip) + opt_len;
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(buf + hl);
	uint16_t icmp_len = sizeof(*ic) + 24;

	memset(buf, 0, hl + icmp_len);
	ip->version_ihl = 0x40 | (hl / 4);
	ip->total_length = rte_cpu_to_be_16(hl + icmp_len);
	ip->fragment_offset = rte_cpu_to_be_16(frag);
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = rte_cpu_to_be_32(HOST_IP);
	ip->dst_addr = rte_cpu_to_be_32(dst);
	if (opt_len)
		memset(buf + sizeof(*ip), 1, opt_len);          /* NOP options */
	ic->icmp_type = type;
	ic->icmp_ident = rte_cpu_to_be_16(7);
	ic->icmp_seq_nb = rte_cpu_to_be_16(1);
	memset(ic + 1, 'p', 24);
	ic->icmp_cksum = ~rte_raw_cksum(ic, icmp_len);
	ip->hdr_checksum = ~rte_raw_cksum(ip, hl);
	return hl + icmp_len;
}

static uint16_t
arp_packet(uint8_t *buf, uint16_t op, uint32_t sip, uint32_t tip)
{
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)buf;
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = 6;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha = host_mac;
	a->arp_data.arp_sip = rte_cpu_to_be_32(sip);
	memset(&a->arp_data.arp_tha, 0, 6);
	a->arp_data.arp_tip = rte_cpu_to_be_32(tip);
	return sizeof(*a);
}

static void
input(struct rte_mbuf *m)
{
	net_input(w, 0, &m, 1);
	worker_tx_flush(w);
}

/* Read back up to max frames the gateway sent; returns how many. */
static unsigned
sent(struct rte_mbuf **out, unsigned max)
{
	return rte_eth_rx_burst(gw.ports[0].port_id, 0, out, (uint16_t)max);
}

static void
drain(void)
{
	struct rte_mbuf *m[32];
	unsigned n;
	while ((n = sent(m, 32)) != 0)
		rte_pktmbuf_free_bulk(m, n);
}

static uint64_t ctr(enum stats_id id) { return w->ctr[0][id]; }

/* Forget all neighbours (time travel past every timer). */
static void
arp_reset(void)
{
	for (int i = 0; i < 8; i++) {
		w->now += (uint64_t)(cfg.limits.arp_timeout + 5) * w->hz;
		arp_tick(w);
	}
	drain();
}

static int
setup(void **state)
{
	(void)state;
	char *argv[] = { "test_net", "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
			 "--no-telemetry", "-l", "0", "--vdev", "net_ring0", "--log-level", "*:error", NULL };
	char err[256];

	if (rte_eal_init(13, argv) < 0)
		return -1;
	config_defaults(&cfg);
	cfg.limits.mbufs_per_worker = 2047;
	cfg.limits.arp_cache_size = 16;
	cfg.limits.arp_queue_length = 4;
	cfg.limits.icmp_rate_limit = 1000;
	cfg.n_ports = 1;
	snprintf(cfg.ports[0].name, sizeof(cfg.ports[0].name), "ext");
	snprintf(cfg.ports[0].device, sizeof(cfg.ports[0].device), "net_ring0");
	cfg.ports[0].addr = GW_IP;
	cfg.ports[0].prefix_len = 24;
	cfg.ports[0].mtu = 1500;
	gw.cfg = &cfg;
	gw.n_workers = 1;
	gw.n_ports = 1;
	w = worker_create(&gw, 0, rte_lcore_id(), err, sizeof(err));
	if (w == NULL)
		return -1;
	gw.workers[0] = w;
	if (port_setup(&gw.ports[0], 0, &cfg.ports[0], 1, &w->pool, &cfg.limits, err, sizeof(err)) ||
	    port_start(&gw.ports[0], err, sizeof(err)))
		return -1;
	w->now = rte_rdtsc();
	w->icmp_last = w->now;
	w->icmp_tokens = (uint64_t)cfg.limits.icmp_rate_limit * w->hz;
	return 0;
}

static void
test_arp_request_answered(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct rte_mbuf *out[4];

	arp_reset();
	input(frame(RTE_ETHER_TYPE_ARP, buf, arp_packet(buf, RTE_ARP_OP_REQUEST, HOST_IP, GW_IP)));
	assert_int_equal(sent(out, 4), 1);
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eh + 1);
	assert_true(rte_is_same_ether_addr(&eh->dst_addr, &host_mac));
	assert_int_equal(rte_be_to_cpu_16(a->arp_opcode), RTE_ARP_OP_REPLY);
	assert_true(rte_is_same_ether_addr(&a->arp_data.arp_sha, &gw.ports[0].mac));
	assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_sip), GW_IP);
	assert_int_equal(rte_be_to_cpu_32(a->arp_data.arp_tip), HOST_IP);
	rte_pktmbuf_free(out[0]);

	struct arp_view v[4];
	assert_int_equal(arp_snapshot(w, v, 4), 1);
	assert_int_equal(v[0].ip, HOST_IP);
	assert_int_equal(v[0].state, ARP_REACHABLE);
}

/* With no neighbour entry the echo reply waits for ARP, then goes out. */
static void
test_echo_reply_waits_for_arp(void **state)
{
	(void)state;
	uint8_t buf[128], abuf[64];
	struct rte_mbuf *out[4];

	arp_reset();
	input(frame(RTE_ETHER_TYPE_IPV4, buf, icmp_packet(buf, GW_IP, RTE_IP_ICMP_ECHO_REQUEST, 0, 0)));
	assert_int_equal(sent(out, 4), 1);   /* only our ARP request */
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	assert_int_equal(rte_be_to_cpu_16(eh->ether_type), RTE_ETHER_TYPE_ARP);
	assert_true(rte_is_broadcast_ether_addr(&eh->dst_addr));
	rte_pktmbuf_free(out[0]);

	input(frame(RTE_ETHER_TYPE_ARP, abuf, arp_packet(abuf, RTE_ARP_OP_REPLY, HOST_IP, GW_IP)));
	assert_int_equal(sent(out, 4), 1);   /* the queued echo reply */
	eh = rte_pktmbuf_mtod(out[0], struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_icmp_hdr *ic = (struct rte_icmp_hdr *)(ip + 1);
	assert_true(rte_is_same_ether_addr(&eh->dst_addr, &host_mac));
	assert_int_equal(rte_be_to_cpu_32(ip->src_addr), GW_IP);
	assert_int_equal(rte_be_to_cpu_32(ip->dst_addr), HOST_IP);
	assert_int_equal(rte_raw_cksum(ip, sizeof(*ip)), 0xffff);
	assert_int_equal(ic->icmp_type, RTE_IP_ICMP_ECHO_REPLY);
	assert_int_equal(rte_raw_cksum(ic, rte_be_to_cpu_16(ip->total_length) - sizeof(*ip)), 0xffff);
	rte_pktmbuf_free(out[0]);
}

/* Options are skipped; the reply carries a plain 20-byte header. */
static void
test_echo_with_options(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct rte_mbuf *out[4];
	uint64_t opts = ctr(STATS_IPV4_RX_OPTIONS);

	input(frame(RTE_ETHER_TYPE_IPV4, buf, icmp_packet(buf, GW_IP, RTE_IP_ICMP_ECHO_REQUEST, 0, 8)));
	assert_int_equal(ctr(STATS_IPV4_RX_OPTIONS), opts + 1);
	assert_int_equal(sent(out, 4), 1);
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(out[0], struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	assert_int_equal(ip->version_ihl, 0x45);
	assert_int_equal(rte_be_to_cpu_16(ip->total_length), 20 + 8 + 24);
	rte_pktmbuf_free(out[0]);
}

static void
test_fragments_dropped(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct rte_mbuf *out[4];
	uint64_t before = ctr(STATS_IPV4_RX_FRAGMENT);

	input(frame(RTE_ETHER_TYPE_IPV4, buf, icmp_packet(buf, GW_IP, 8, RTE_IPV4_HDR_MF_FLAG, 0)));
	input(frame(RTE_ETHER_TYPE_IPV4, buf, icmp_packet(buf, GW_IP, 8, 185, 0)));  /* offset 1480 */
	input(frame(RTE_ETHER_TYPE_IPV4, buf, icmp_packet(buf, GW_IP, 8, RTE_IPV4_HDR_DF_FLAG, 0)));
	assert_int_equal(ctr(STATS_IPV4_RX_FRAGMENT), before + 2);
	assert_int_equal(sent(out, 4), 1);     /* DF alone is not a fragment: answered */
	rte_pktmbuf_free(out[0]);
}

static void
test_icmp_rate_limit(void **state)
{
	(void)state;
	uint8_t buf[128];
	uint64_t limited = ctr(STATS_ICMP_RX_RATE_LIMITED);
	uint64_t replies = ctr(STATS_ICMP_TX_ECHO_REPLY);

	w->icmp_tokens = 3 * w->hz;            /* three replies left in the bucket */
	w->icmp_last = w->now;
	for (int i = 0; i < 10; i++)
		input(frame(RTE_ETHER_TYPE_IPV4, buf, icmp_packet(buf, GW_IP, 8, 0, 0)));
	assert_int_equal(ctr(STATS_ICMP_TX_ECHO_REPLY), replies + 3);
	assert_int_equal(ctr(STATS_ICMP_RX_RATE_LIMITED), limited + 7);
	drain();
	w->icmp_tokens = (uint64_t)cfg.limits.icmp_rate_limit * w->hz;
}

/* A neighbour that never answers: 3 requests, then its packets are dropped. */
static void
test_arp_resolve_fails(void **state)
{
	(void)state;
	uint8_t buf[128];
	arp_reset();
	uint64_t failed = ctr(STATS_ARP_RESOLVE_FAILED);
	uint64_t unresolved = ctr(STATS_ARP_TX_UNRESOLVED);
	uint64_t qfull = ctr(STATS_ARP_TX_QUEUE_FULL);
	uint64_t reqs = ctr(STATS_ARP_TX_REQUEST);
	for (int i = 0; i < 6; i++)   /* queue holds 4 */
		input(frame(RTE_ETHER_TYPE_IPV4, buf, icmp_packet(buf, GW_IP, 8, 0, 0)));
	assert_int_equal(ctr(STATS_ARP_TX_QUEUE_FULL), qfull + 2);
	for (int i = 0; i < 4; i++) {
		w->now += w->hz + w->hz / 10;
		arp_tick(w);
	}
	worker_tx_flush(w);
	assert_int_equal(ctr(STATS_ARP_TX_REQUEST), reqs + 3);
	assert_int_equal(ctr(STATS_ARP_RESOLVE_FAILED), failed + 1);
	assert_int_equal(ctr(STATS_ARP_TX_UNRESOLVED), unresolved + 4);
	struct arp_view v[4];
	assert_int_equal(arp_snapshot(w, v, 4), 0);
	drain();
}

/* Idle entries expire after arp_timeout; entries in use are re-probed first. */
static void
test_arp_expiry(void **state)
{
	(void)state;
	uint8_t abuf[64];
	uint64_t expired = ctr(STATS_ARP_EXPIRED);
	struct arp_view v[4];

	arp_reset();
	input(frame(RTE_ETHER_TYPE_ARP, abuf, arp_packet(abuf, RTE_ARP_OP_REQUEST, HOST_IP, GW_IP)));
	drain();
	w->now += (uint64_t)(cfg.limits.arp_timeout - 1) * w->hz;
	arp_tick(w);
	assert_int_equal(arp_snapshot(w, v, 4), 1);
	w->now += 2 * w->hz;
	arp_tick(w);
	assert_int_equal(arp_snapshot(w, v, 4), 0);
	assert_int_equal(ctr(STATS_ARP_EXPIRED), expired + 1);
}

/* An ICMP packet from us to ip, through ipv4_output (and so ARP). */
static void
send_to(uint32_t ip)
{
	uint8_t buf[128];
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	uint16_t len = icmp_packet(buf, ip, 0, 0, 0);

	memcpy(rte_pktmbuf_append(m, len), buf, len);
	struct rte_ipv4_hdr *iph = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	iph->src_addr = rte_cpu_to_be_32(GW_IP);
	ipv4_output(w, m, 0);
}

static bool
arp_has(uint32_t ip)
{
	struct arp_view v[32];
	unsigned n = arp_snapshot(w, v, 32);

	for (unsigned i = 0; i < n; i++)
		if (v[i].ip == ip)
			return true;
	return false;
}

/*
 * A table full of neighbours that never answered (spoofed SYN sources): a
 * new neighbour recycles one of them, it is not refused.
 */
static void
test_arp_table_full(void **state)
{
	(void)state;
	uint64_t full = ctr(STATS_ARP_TX_CACHE_FULL), evicted = ctr(STATS_ARP_EVICTED);
	uint64_t unresolved = ctr(STATS_ARP_TX_UNRESOLVED);

	arp_reset();
	for (unsigned i = 0; i < cfg.limits.arp_cache_size + 2; i++)
		send_to(RTE_IPV4(203, 0, 113, 100 + i));
	worker_tx_flush(w);
	assert_int_equal(ctr(STATS_ARP_TX_CACHE_FULL), full);
	assert_int_equal(ctr(STATS_ARP_EVICTED), evicted + 2);
	assert_int_equal(ctr(STATS_ARP_TX_UNRESOLVED), unresolved + 2);
	assert_true(arp_has(RTE_IPV4(203, 0, 113, 100 + cfg.limits.arp_cache_size + 1)));
	arp_reset();
}

/* Neighbours that have already failed to answer for a second go before one just asked for. */
static void
test_arp_table_full_oldest_first(void **state)
{
	(void)state;
	uint32_t fresh = RTE_IPV4(203, 0, 113, 160);

	arp_reset();
	for (unsigned i = 0; i + 1 < cfg.limits.arp_cache_size; i++)
		send_to(RTE_IPV4(203, 0, 113, 100 + i));
	w->now += w->hz + w->hz / 10;           /* their second request is out */
	arp_tick(w);
	send_to(fresh);                         /* the last free entry */
	for (unsigned i = 0; i + 1 < cfg.limits.arp_cache_size; i++) {
		send_to(RTE_IPV4(203, 0, 113, 170 + i));
		assert_true(arp_has(fresh));
	}
	worker_tx_flush(w);
	arp_reset();
}

/* A table full of neighbours in use: those are kept, the new one is refused. */
static void
test_arp_table_full_in_use(void **state)
{
	(void)state;
	uint8_t buf[64];
	uint64_t full = ctr(STATS_ARP_TX_CACHE_FULL), evicted = ctr(STATS_ARP_EVICTED);

	arp_reset();
	for (unsigned i = 0; i < cfg.limits.arp_cache_size; i++) {
		uint32_t ip = RTE_IPV4(203, 0, 113, 100 + i);
		input(frame(RTE_ETHER_TYPE_ARP, buf, arp_packet(buf, RTE_ARP_OP_REQUEST, ip, GW_IP)));
		send_to(ip);
	}
	send_to(RTE_IPV4(203, 0, 113, 200));
	worker_tx_flush(w);
	assert_int_equal(ctr(STATS_ARP_TX_CACHE_FULL), full + 1);
	assert_int_equal(ctr(STATS_ARP_EVICTED), evicted);
	assert_true(arp_has(RTE_IPV4(203, 0, 113, 100)));
	arp_reset();
}

/* Packets waiting on unresolved neighbours are bounded all together, not only per neighbour. */
static void
test_arp_held_limit(void **state)
{
	(void)state;
	struct arp_table *mine = w->arp;
	uint64_t held_full = ctr(STATS_ARP_TX_HELD_FULL), qfull = ctr(STATS_ARP_TX_QUEUE_FULL);
	unsigned avail = rte_mempool_avail_count(w->pool);

	w->arp = arp_table_create(16, 4, 6, SOCKET_ID_ANY);
	assert_non_null(w->arp);
	for (unsigned d = 0; d < 3; d++)
		for (unsigned k = 0; k < 3; k++)
			send_to(RTE_IPV4(203, 0, 113, 150 + d));
	worker_tx_flush(w);
	/* 3 + 3 held; the third neighbour's first packet replaced one, its next two dropped. */
	assert_int_equal(ctr(STATS_ARP_TX_HELD_FULL), held_full + 3);
	assert_int_equal(ctr(STATS_ARP_TX_QUEUE_FULL), qfull);
	struct arp_view v[4];
	unsigned n = arp_snapshot(w, v, 4), total = 0, third = 0;
	for (unsigned i = 0; i < n; i++) {
		total += v[i].queued;
		if (v[i].ip == RTE_IPV4(203, 0, 113, 152))
			third = v[i].queued;
	}
	assert_int_equal(total, 6);
	assert_int_equal(third, 1);
	drain();
	arp_table_free(w->arp);
	w->arp = mine;
	assert_true(rte_mempool_avail_count(w->pool) >= avail);   /* every held packet freed */
}

/* Each malformed frame is dropped and counted under its own reason. */
static void
test_malformed(void **state)
{
	(void)state;
	uint8_t buf[128];
	struct rte_mbuf *out[4];
	struct {
		enum stats_id id;
		void (*mutate)(uint8_t *ip);
	} cases[] = {
		{ STATS_IPV4_RX_BAD_VERSION, NULL },
		{ STATS_IPV4_RX_BAD_CSUM, NULL },
		{ STATS_IPV4_RX_BAD_SRC, NULL },
		{ STATS_IPV4_RX_NOT_FOR_US, NULL },
		{ STATS_IPV4_RX_UNKNOWN_PROTO, NULL },
		{ STATS_ICMP_RX_BAD_CSUM, NULL },
	};
	for (unsigned i = 0; i < RTE_DIM(cases); i++) {
		uint16_t len = icmp_packet(buf, GW_IP, 8, 0, 0);
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
		switch (cases[i].id) {
		case STATS_IPV4_RX_BAD_VERSION: ip->version_ihl = 0x65; break;
		case STATS_IPV4_RX_BAD_CSUM: ip->hdr_checksum ^= 0x0101; break;
		case STATS_IPV4_RX_BAD_SRC: ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(127, 0, 0, 1)); break;
		case STATS_IPV4_RX_NOT_FOR_US: ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(203, 0, 113, 2)); break;
		case STATS_IPV4_RX_UNKNOWN_PROTO: ip->next_proto_id = IPPROTO_UDP; break;
		case STATS_ICMP_RX_BAD_CSUM: buf[sizeof(*ip) + 9] ^= 0xff; break;
		default: break;
		}
		if (cases[i].id != STATS_IPV4_RX_BAD_CSUM && cases[i].id != STATS_ICMP_RX_BAD_CSUM) {
			ip->hdr_checksum = 0;
			ip->hdr_checksum = ~rte_raw_cksum(ip, sizeof(*ip));
		}
		uint64_t before = ctr(cases[i].id);
		input(frame(RTE_ETHER_TYPE_IPV4, buf, len));
		assert_int_equal(ctr(cases[i].id), before + 1);
		assert_int_equal(sent(out, 4), 0);
	}
}

static void
test_route(void **state)
{
	(void)state;
	struct gw g = { .n_ports = 2 };
	unsigned port;
	uint32_t nh;

	g.ports[0].addr = RTE_IPV4(10, 0, 0, 1);
	g.ports[0].mask = 0xffff0000u;
	g.ports[0].prefix_len = 16;
	g.ports[1].addr = RTE_IPV4(10, 0, 5, 1);
	g.ports[1].mask = 0xffffff00u;
	g.ports[1].prefix_len = 24;
	g.ports[1].gateway = RTE_IPV4(10, 0, 5, 254);
	assert_int_equal(ipv4_route(&g, RTE_IPV4(10, 0, 5, 9), 0, &port, &nh), 0);
	assert_int_equal(port, 1);                          /* longest prefix */
	assert_int_equal(nh, RTE_IPV4(10, 0, 5, 9));
	assert_int_equal(ipv4_route(&g, RTE_IPV4(10, 0, 7, 9), 1, &port, &nh), 0);
	assert_int_equal(port, 0);
	assert_int_equal(ipv4_route(&g, RTE_IPV4(192, 0, 2, 1), 0, &port, &nh), 0);
	assert_int_equal(port, 1);                          /* the only default gateway */
	assert_int_equal(nh, RTE_IPV4(10, 0, 5, 254));
	g.ports[1].gateway = 0;
	assert_int_equal(ipv4_route(&g, RTE_IPV4(192, 0, 2, 1), 0, &port, &nh), -ENETUNREACH);
}

/* After everything above: each received frame ended in exactly one counter. */
static void
test_accounting(void **state)
{
	(void)state;
	uint64_t v[STATS_MAX], fates = 0;

	stats_sum(gw.workers, 1, 0, v);
	for (unsigned c = 0; c < STATS_MAX; c++)
		if (stats_desc[c].kind == STATS_RX_DONE || stats_desc[c].kind == STATS_RX_DROP)
			fates += v[c];
	assert_true(v[STATS_PORT_RX_FRAMES] > 0);
	assert_int_equal(v[STATS_PORT_RX_FRAMES], fates);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp_request_answered),
		cmocka_unit_test(test_echo_reply_waits_for_arp),
		cmocka_unit_test(test_echo_with_options),
		cmocka_unit_test(test_fragments_dropped),
		cmocka_unit_test(test_icmp_rate_limit),
		cmocka_unit_test(test_arp_resolve_fails),
		cmocka_unit_test(test_arp_expiry),
		cmocka_unit_test(test_arp_table_full),
		cmocka_unit_test(test_arp_table_full_oldest_first),
		cmocka_unit_test(test_arp_table_full_in_use),
		cmocka_unit_test(test_arp_held_limit),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_accounting),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
