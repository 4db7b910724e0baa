/*
 * icmp.c — ICMP (RFC 792) for our addresses: echo requests are answered,
 * within a per-worker rate limit; every other message is counted and dropped.
 * Called from ipv4_input; replies leave through ipv4_output.
 */
#include <rte_byteorder.h>
#include <rte_icmp.h>
#include <rte_ip.h>

#include "app/worker.h"
#include "app/net/icmp.h"
#include "app/net/ipv4.h"

/* Token bucket: icmp_rate_limit replies per second, burst of one second. */
static int
icmp_rate_ok(struct worker *w)
{
	uint64_t rate = w->cfg->limits.icmp_rate_limit;
	uint64_t cap = rate * w->hz;

	w->icmp_tokens += (w->now - w->icmp_last) * rate;
	w->icmp_last = w->now;
	if (w->icmp_tokens > cap)
		w->icmp_tokens = cap;
	if (w->icmp_tokens < w->hz)
		return 0;
	w->icmp_tokens -= w->hz;
	return 1;
}

void
icmp_input(struct worker *w, unsigned p, struct rte_mbuf *m, unsigned hlen)
{
	const struct port *port = &w->gw->ports[p];
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	unsigned len = rte_be_to_cpu_16(ip->total_length) - hlen;
	struct rte_icmp_hdr *ic = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, hlen);

	if (len < sizeof(*ic))
		return worker_drop(w, p, m, STATS_ICMP_RX_TRUNCATED);
	if (rte_raw_cksum(ic, len) != 0xffff)
		return worker_drop(w, p, m, STATS_ICMP_RX_BAD_CSUM);
	if (ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || ic->icmp_code != 0)
		return worker_drop(w, p, m, STATS_ICMP_RX_OTHER_TYPE);
	if (!icmp_rate_ok(w))
		return worker_drop(w, p, m, STATS_ICMP_RX_RATE_LIMITED);
	w->ctr[p][STATS_ICMP_RX_ECHO_REQUEST]++;

	/* Reply in place, with a fresh option-less header. */
	uint32_t peer = ip->src_addr;
	uint16_t id = ip->packet_id;
	if (hlen > sizeof(*ip))
		ip = (struct rte_ipv4_hdr *)rte_pktmbuf_adj(m, hlen - sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->type_of_service = 0;
	ip->total_length = rte_cpu_to_be_16(sizeof(*ip) + len);
	ip->packet_id = id;
	ip->fragment_offset = 0;
	ip->time_to_live = IPV4_DEFAULT_TTL;
	ip->next_proto_id = IPPROTO_ICMP;
	ip->src_addr = rte_cpu_to_be_32(port->addr);
	ip->dst_addr = peer;
	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	ic->icmp_cksum = 0;
	ic->icmp_cksum = ~rte_raw_cksum(ic, len);
	w->ctr[p][STATS_ICMP_TX_ECHO_REPLY]++;
	ipv4_output(w, m, p);
}
