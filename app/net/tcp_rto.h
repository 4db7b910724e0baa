/*
 * tcp_rto.h — retransmission timeout estimator (RFC 6298), one per connection.
 *
 * Units: whatever the caller feeds in, used consistently for samples, limits
 * and results; the TCP stack uses microseconds. All values are uint32_t
 * (microseconds: up to 71 minutes). Arithmetic is integer only and rounds
 * down: SRTT settles up to 7 units below the real-valued formula's value,
 * RTTVAR a few units off, which is noise at microsecond resolution.
 *
 * Who calls what:
 *  - tcp_rto_sample() for each RTT measurement R. Karn's rule (RFC 6298 §3)
 *    is the caller's: never feed a sample taken from a segment that was
 *    retransmitted, because the ACK is ambiguous — unless the sample comes
 *    from the timestamp option's echo (RFC 7323 §4), which is not.
 *    RFC 6298 expects at least one sample per RTT (RFC 7323 §4.2 allows one
 *    per ACK with timestamps).
 *  - tcp_rto_current() when (re)arming the retransmission timer.
 *  - tcp_rto_backoff() when that timer expires (RFC 6298 5.5), before
 *    re-arming it; `backoff` then counts the consecutive expiries, which is
 *    what the caller compares with its retry limit to give up.
 *  - tcp_rto_reset_backoff() when an ACK acknowledges new data but yields no
 *    sample (Karn), so the doubled value does not outlive the loss episode.
 *    A new sample resets the backoff as well.
 *  - RFC 6298 5.7: if the timer expired during the handshake and the
 *    minimum is below 3 s, the caller re-initialises to 3 s once data flows.
 */
#ifndef MAILGW_APP_NET_TCP_RTO_H
#define MAILGW_APP_NET_TCP_RTO_H

#include <stdint.h>

#define TCP_RTO_K               4               /* RTTVAR multiplier (RFC 6298 (2.3)) */
#define TCP_RTO_INITIAL_US      1000000u        /* RFC 6298 (2.1): 1 s */
#define TCP_RTO_MIN_RFC_US      1000000u        /* RFC 6298 (2.4): 1 s */
#define TCP_RTO_MIN_LINUX_US    200000u         /* Linux's TCP_RTO_MIN: 200 ms */
#define TCP_RTO_MAX_US          60000000u       /* RFC 6298 (2.5): at least 60 s */

struct tcp_rto {
	uint32_t srtt;          /* smoothed RTT; valid once has_sample */
	uint32_t rttvar;        /* RTT variation */
	uint32_t rto;           /* timeout before backoff, clamped to [min, max] */
	uint32_t backoff;       /* consecutive expiries since the last reset */
	uint32_t min;           /* lower clamp */
	uint32_t max;           /* upper clamp (also caps the backed-off value) */
	uint32_t granularity;   /* G: clock granularity, default 1 unit */
	uint32_t has_sample;    /* 0 until the first measurement */
};

/*
 * Start an estimator: no sample yet, RTO = initial clamped to [min, max],
 * G = 1 unit. Returns 0, or -EINVAL when min is 0 or min > max.
 */
int tcp_rto_init(struct tcp_rto *r, uint32_t min, uint32_t max, uint32_t initial);

/* Set G, the granularity of the clock that drives the timer (RFC 6298 (2.3)); 0 counts as 1. */
void tcp_rto_set_granularity(struct tcp_rto *r, uint32_t g);

/*
 * Feed an RTT measurement. First: SRTT = R, RTTVAR = R/2; then
 * RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R| and SRTT = 7/8 SRTT + 1/8 R (in that
 * order); RTO = SRTT + max(G, 4 RTTVAR), clamped. Resets the backoff.
 */
void tcp_rto_sample(struct tcp_rto *r, uint32_t rtt);

/* The timer expired: double the timeout (capped at max). Returns the new tcp_rto_current(). */
uint32_t tcp_rto_backoff(struct tcp_rto *r);

/* Forget the backoff: tcp_rto_current() is the computed RTO again. */
void tcp_rto_reset_backoff(struct tcp_rto *r);

/* The timeout to arm now: rto doubled once per backoff, capped at max. */
uint32_t tcp_rto_current(const struct tcp_rto *r);

#endif
