/*
 * tcp_rto.c — RFC 6298 retransmission timeout computation, integer only.
 * Pure arithmetic, no clock of its own: the TCP sender feeds RTT samples
 * (Karn's rule applied by the caller) and asks for the timeout to arm on the
 * per-core timer wheel; timer expiry calls tcp_rto_backoff().
 */
#include <errno.h>

#include "app/net/tcp_rto.h"

static uint32_t
tcp_rto_clamp(const struct tcp_rto *r, uint64_t v)
{
	if (v < r->min)
		return r->min;
	if (v > r->max)
		return r->max;
	return (uint32_t)v;
}

int
tcp_rto_init(struct tcp_rto *r, uint32_t min, uint32_t max, uint32_t initial)
{
	if (min == 0 || min > max)
		return -EINVAL;
	r->srtt = 0;
	r->rttvar = 0;
	r->backoff = 0;
	r->min = min;
	r->max = max;
	r->granularity = 1;
	r->has_sample = 0;
	r->rto = tcp_rto_clamp(r, initial);
	return 0;
}

void
tcp_rto_set_granularity(struct tcp_rto *r, uint32_t g)
{
	r->granularity = g != 0 ? g : 1;
}

void
tcp_rto_sample(struct tcp_rto *r, uint32_t rtt)
{
	uint64_t var;

	if (!r->has_sample) {
		/* (2.2) */
		r->srtt = rtt;
		r->rttvar = rtt / 2;
		r->has_sample = 1;
	} else {
		/* (2.3): RTTVAR first, with the old SRTT. */
		uint32_t err = r->srtt > rtt ? r->srtt - rtt : rtt - r->srtt;

		r->rttvar = (uint32_t)(((uint64_t)r->rttvar * 3 + err) / 4);
		r->srtt = (uint32_t)(((uint64_t)r->srtt * 7 + rtt) / 8);
	}
	var = (uint64_t)r->rttvar * TCP_RTO_K;
	if (var < r->granularity)
		var = r->granularity;
	r->rto = tcp_rto_clamp(r, r->srtt + var);
	r->backoff = 0;
}

uint32_t
tcp_rto_current(const struct tcp_rto *r)
{
	if (r->backoff >= 32)
		return r->max;
	return tcp_rto_clamp(r, (uint64_t)r->rto << r->backoff);
}

uint32_t
tcp_rto_backoff(struct tcp_rto *r)
{
	if (r->backoff < UINT32_MAX)
		r->backoff++;
	return tcp_rto_current(r);
}

void
tcp_rto_reset_backoff(struct tcp_rto *r)
{
	r->backoff = 0;
}
