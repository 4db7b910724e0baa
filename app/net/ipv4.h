/*
 * ipv4.h — IPv4 input validation and output routing.
 */
#ifndef MAILGW_APP_NET_IPV4_H
#define MAILGW_APP_NET_IPV4_H

#include <stdint.h>
#include <rte_mbuf.h>

struct worker;
struct gw;

#define IPV4_DEFAULT_TTL 64

/* Handle an IPv4 packet received on port index p (data at the IP header). Consumes m. */
void ipv4_input(struct worker *w, unsigned p, struct rte_mbuf *m);

/*
 * Choose the port and next hop for dst: the connected network with the
 * longest prefix, else a default gateway (the hint port's first, then the
 * first port that has one). Returns 0 or -ENETUNREACH.
 */
int ipv4_route(const struct gw *gw, uint32_t dst, unsigned hint, unsigned *port, uint32_t *nh);

/*
 * Send m (data at a complete IPv4 header; checksum filled here) to its
 * destination. hint: the port to prefer for default routes. Consumes m.
 */
void ipv4_output(struct worker *w, struct rte_mbuf *m, unsigned hint);

/* True when a is usable as a source of packets we accept (not 0/8, 127/8, multicast, class E). */
int ipv4_is_martian(uint32_t a);

#endif
