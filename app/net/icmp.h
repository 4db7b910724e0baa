/*
 * icmp.h — ICMP: echo replies (rate-limited), everything else counted.
 */
#ifndef MAILGW_APP_NET_ICMP_H
#define MAILGW_APP_NET_ICMP_H

#include <rte_mbuf.h>

struct worker;

/* Handle an ICMP message for us; m's data starts at the (validated) IP header of hlen bytes. Consumes m. */
void icmp_input(struct worker *w, unsigned p, struct rte_mbuf *m, unsigned hlen);

#endif
