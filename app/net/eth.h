/*
 * eth.h — Ethernet input/output: the entry point of the data path.
 */
#ifndef MAILGW_APP_NET_ETH_H
#define MAILGW_APP_NET_ETH_H

#include <stdint.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

struct worker;

/*
 * Process a burst of frames received on port index p. Every frame ends
 * consumed or dropped with a counter saying why; the mbufs are owned by the
 * net layer from here on.
 */
void net_input(struct worker *w, unsigned p, struct rte_mbuf **pkts, uint16_t n);

/*
 * Prepend an Ethernet header (our MAC -> dst, ethertype in host order) to m
 * and queue it for transmission on port index p. Consumes m.
 */
void eth_output(struct worker *w, unsigned p, struct rte_mbuf *m,
		const struct rte_ether_addr *dst, uint16_t ethertype);

#endif
