/*
 * ipv4.c — IPv4 (RFC 791) on the data path: header and checksum validation,
 * fragments and martians dropped with a counter, options skipped; delivery
 * to ICMP and TCP. Output: route over the
 * ports' connected networks and default gateways, then ARP.
 */
#include <errno.h>
#include <rte_byteorder.h>
#include <rte_ip.h>

#include "app/worker.h"
#include "app/net/arp.h"
#include "app/net/icmp.h"
#include "app/net/ipv4.h"
#include "app/net/tcp.h"

int
ipv4_is_martian(uint32_t a)
{
	uint8_t first = a >> 24;
	return first == 0 || first == 127 || first >= 224;
}

/* Validate the header; returns STATS_MAX when good and sets *hlen. */
static enum stats_id
ipv4_check(const struct port *port, struct rte_mbuf *m, unsigned *hlen)
{
	uint32_t len = rte_pktmbuf_data_len(m);

	if (len < sizeof(struct rte_ipv4_hdr))
		return STATS_IPV4_RX_TRUNCATED;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	if ((ip->version_ihl >> 4) != 4)
		return STATS_IPV4_RX_BAD_VERSION;
	unsigned hl = (ip->version_ihl & 0x0f) * 4u;
	if (hl < sizeof(struct rte_ipv4_hdr))
		return STATS_IPV4_RX_BAD_HLEN;
	if (hl > len)
		return STATS_IPV4_RX_TRUNCATED;
	unsigned total = rte_be_to_cpu_16(ip->total_length);
	if (total < hl)
		return STATS_IPV4_RX_BAD_LEN;
	if (total > len)
		return STATS_IPV4_RX_TRUNCATED;
	uint64_t csum = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
	if (csum == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
	    (csum != RTE_MBUF_F_RX_IP_CKSUM_GOOD && rte_raw_cksum(ip, hl) != 0xffff))
		return STATS_IPV4_RX_BAD_CSUM;
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return STATS_IPV4_RX_FRAGMENT;
	uint32_t src = rte_be_to_cpu_32(ip->src_addr);
	uint32_t dst = rte_be_to_cpu_32(ip->dst_addr);
	uint32_t bcast = port->addr | ~port->mask;
	if (ipv4_is_martian(src) || src == port->addr || (src == bcast && port->prefix_len < 31))
		return STATS_IPV4_RX_BAD_SRC;
	if (dst == port->addr) {
		/* Drop Ethernet padding beyond the IP total length. */
		if (total < len)
			rte_pktmbuf_trim(m, len - total);
		*hlen = hl;
		return STATS_MAX;
	}
	if (dst >= 0xe0000000u || (dst == bcast && port->prefix_len < 31))
		return STATS_IPV4_RX_BROADCAST;
	return STATS_IPV4_RX_NOT_FOR_US;
}

void
ipv4_input(struct worker *w, unsigned p, struct rte_mbuf *m)
{
	unsigned hlen = 0;
	enum stats_id why = ipv4_check(&w->gw->ports[p], m, &hlen);

	if (why != STATS_MAX)
		return worker_drop(w, p, m, why);
	if (hlen > sizeof(struct rte_ipv4_hdr))
		w->ctr[p][STATS_IPV4_RX_OPTIONS]++;
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);
	switch (ip->next_proto_id) {
	case IPPROTO_ICMP:
		return icmp_input(w, p, m, hlen);
	case IPPROTO_TCP:
		return tcp_input(w, p, m, hlen);
	default:
		return worker_drop(w, p, m, STATS_IPV4_RX_UNKNOWN_PROTO);
	}
}

int
ipv4_route(const struct gw *gw, uint32_t dst, unsigned hint, unsigned *port, uint32_t *nh)
{
	int best = -1;

	for (unsigned i = 0; i < gw->n_ports; i++) {
		const struct port *p = &gw->ports[i];
		if ((dst & p->mask) == (p->addr & p->mask) &&
		    (best < 0 || p->prefix_len > gw->ports[best].prefix_len))
			best = (int)i;
	}
	if (best >= 0) {
		*port = (unsigned)best;
		*nh = dst;
		return 0;
	}
	if (hint < gw->n_ports && gw->ports[hint].gateway != 0) {
		*port = hint;
		*nh = gw->ports[hint].gateway;
		return 0;
	}
	for (unsigned i = 0; i < gw->n_ports; i++) {
		if (gw->ports[i].gateway != 0) {
			*port = i;
			*nh = gw->ports[i].gateway;
			return 0;
		}
	}
	return -ENETUNREACH;
}

void
ipv4_output(struct worker *w, struct rte_mbuf *m, unsigned hint)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	unsigned p;
	uint32_t nh;

	if (ipv4_route(w->gw, rte_be_to_cpu_32(ip->dst_addr), hint, &p, &nh) != 0) {
		w->ctr[hint][STATS_IPV4_TX_NO_ROUTE]++;
		rte_pktmbuf_free(m);
		return;
	}
	ip->hdr_checksum = 0;
	m->l3_len = (ip->version_ihl & 0x0f) * 4u;
	if (w->gw->ports[p].tx_ip_csum) {
		m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
		m->l2_len = RTE_ETHER_HDR_LEN;
	} else {
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	w->ctr[p][STATS_IPV4_TX_PACKETS]++;
	arp_output(w, p, nh, m);
}
