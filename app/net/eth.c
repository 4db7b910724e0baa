/*
 * eth.c — Ethernet: the first stage of the data path (after rte_eth_rx_burst
 * in worker.c). Validates the frame, strips the header and hands it to ARP or
 * IPv4; on output prepends our header and queues the frame for TX.
 */
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "app/worker.h"
#include "app/net/arp.h"
#include "app/net/eth.h"
#include "app/net/ipv4.h"

/* Our MAC, or broadcast: anything else is dropped with a reason. */
static enum stats_id
eth_check_dst(const struct port *port, const struct rte_ether_hdr *eh)
{
	if (rte_is_same_ether_addr(&eh->dst_addr, &port->mac))
		return STATS_MAX;
	if (rte_is_broadcast_ether_addr(&eh->dst_addr))
		return STATS_MAX;
	if (rte_is_multicast_ether_addr(&eh->dst_addr))
		return STATS_ETH_RX_MULTICAST;
	return STATS_ETH_RX_OTHER_HOST;
}

static void
eth_input(struct worker *w, unsigned p, struct rte_mbuf *m)
{
	const struct port *port = &w->gw->ports[p];
	uint32_t len = rte_pktmbuf_pkt_len(m);
	enum stats_id why;

	w->ctr[p][STATS_PORT_RX_FRAMES]++;
	w->ctr[p][STATS_PORT_RX_BYTES] += len;
	if (m->nb_segs != 1)
		return worker_drop(w, p, m, STATS_ETH_RX_MULTISEG);
	if (len < sizeof(struct rte_ether_hdr))
		return worker_drop(w, p, m, STATS_ETH_RX_RUNT);
	if (len > (uint32_t)port->mtu + RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)
		return worker_drop(w, p, m, STATS_ETH_RX_OVERSIZE);

	const struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	/* Our own frames, looped back by a capture socket of another queue. */
	if (rte_is_same_ether_addr(&eh->src_addr, &port->mac))
		return worker_drop(w, p, m, STATS_ETH_RX_OWN_SOURCE);
	why = eth_check_dst(port, eh);
	if (why != STATS_MAX)
		return worker_drop(w, p, m, why);
	if (!rte_is_unicast_ether_addr(&eh->src_addr) || rte_is_zero_ether_addr(&eh->src_addr))
		return worker_drop(w, p, m, STATS_ETH_RX_BAD_SOURCE);

	uint16_t type = rte_be_to_cpu_16(eh->ether_type);
	rte_pktmbuf_adj(m, sizeof(struct rte_ether_hdr));
	switch (type) {
	case RTE_ETHER_TYPE_IPV4:
		return ipv4_input(w, p, m);
	case RTE_ETHER_TYPE_ARP:
		return arp_input(w, p, m);
	case RTE_ETHER_TYPE_IPV6:
		return worker_drop(w, p, m, STATS_ETH_RX_IPV6);
	case RTE_ETHER_TYPE_VLAN:
	case RTE_ETHER_TYPE_QINQ:
		return worker_drop(w, p, m, STATS_ETH_RX_VLAN);
	default:
		return worker_drop(w, p, m, STATS_ETH_RX_UNKNOWN_TYPE);
	}
}

void
net_input(struct worker *w, unsigned p, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		eth_input(w, p, pkts[i]);
	}
}

void
eth_output(struct worker *w, unsigned p, struct rte_mbuf *m,
	   const struct rte_ether_addr *dst, uint16_t ethertype)
{
	struct rte_ether_hdr *eh;

	eh = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eh));
	if (eh == NULL) {
		w->ctr[p][STATS_PORT_TX_NO_MBUF]++;
		rte_pktmbuf_free(m);
		return;
	}
	rte_ether_addr_copy(dst, &eh->dst_addr);
	rte_ether_addr_copy(&w->gw->ports[p].mac, &eh->src_addr);
	eh->ether_type = rte_cpu_to_be_16(ethertype);
	m->l2_len = sizeof(*eh);
	worker_tx(w, p, m);
}
