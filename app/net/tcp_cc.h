/*
 * tcp_cc.h — congestion control of one TCP sender: RFC 5681 slow start and
 * congestion avoidance with appropriate byte counting (RFC 3465), initial
 * window of RFC 6928, fast retransmit and NewReno fast recovery (RFC 6582),
 * loss recovery after a retransmission timeout.
 *
 * All quantities are bytes, except sequence numbers. "flight" is always the
 * sender's real FlightSize, SND.MAX - SND.UNA (data sent and not yet
 * acknowledged, after the ACK being processed), never the inflated cwnd.
 * SND.MAX is the highest sequence number sent + 1 (SND.NXT, unless the
 * sender has rewound SND.NXT to retransmit).
 *
 * How the sender drives it:
 *  - tcp_cc_init() when the connection is established (MSS negotiated).
 *  - for an ACK that advances SND.UNA: tcp_cc_on_ack(); act on the result
 *    (below); then send what tcp_cc_send_room() and the peer's window allow.
 *    Restart the RTO timer as RFC 6298 5.3 says, except after a partial ACK
 *    in recovery: then restart it only when cc->partial_acks == 1 (RFC 6582
 *    §4, "Impatient" variant: a long recovery ends in a timeout, not in one
 *    retransmission per RTT).
 *  - for a duplicate ACK (RFC 5681 §2: data outstanding, no payload, no
 *    SYN/FIN, ACK == SND.UNA, same advertised window; the sender decides):
 *    tcp_cc_on_dupack(); TCP_CC_FAST_RETRANSMIT means resend the segment at
 *    SND.UNA now. In recovery every further duplicate inflates cwnd by one
 *    MSS, which may let new data out. Before the third one, limited transmit
 *    (RFC 3042) is the sender's option: cc->dupacks tells how many there were.
 *  - when the retransmission timer expires: tcp_cc_on_rto() before rewinding
 *    SND.NXT (go-back-N from SND.UNA, cwnd = 1 MSS, then slow start).
 *  - before sending after an idle period longer than the RTO:
 *    tcp_cc_on_idle() (RFC 5681 §4.1 restart window).
 */
#ifndef MAILGW_APP_NET_TCP_CC_H
#define MAILGW_APP_NET_TCP_CC_H

#include <stdint.h>

#define TCP_CC_DUPTHRESH        3               /* duplicate ACKs before fast retransmit */
#define TCP_CC_CWND_MAX         0x40000000u     /* 1 GiB: the largest window with scale 14 */

enum tcp_cc_state {
	TCP_CC_SLOW_START,      /* cwnd < ssthresh: +min(acked, 2 MSS) per ACK */
	TCP_CC_AVOIDANCE,       /* cwnd >= ssthresh: +1 MSS per cwnd of acked bytes */
	TCP_CC_RECOVERY,        /* NewReno fast recovery, until `recover` is acknowledged */
	TCP_CC_LOSS,            /* after an RTO, until `recover` is acknowledged: slow start, L = 1 MSS */
};

/* What the sender must do after an event, besides sending what cwnd allows. */
enum tcp_cc_action {
	TCP_CC_NONE,
	TCP_CC_FAST_RETRANSMIT,         /* 3rd duplicate ACK: resend the segment at SND.UNA */
	TCP_CC_RETRANSMIT_NEXT_HOLE,    /* partial ACK: resend the segment at the new SND.UNA */
	TCP_CC_EXIT_RECOVERY,           /* full ACK: fast recovery is over (cwnd deflated) */
};

struct tcp_cc {
	uint32_t cwnd;          /* congestion window */
	uint32_t ssthresh;      /* slow start threshold; "infinite" (UINT32_MAX) at start */
	uint32_t mss;           /* SMSS */
	uint32_t recover;       /* SND.MAX when recovery/loss began (RFC 6582 `recover`) */
	uint32_t bytes_acked;   /* congestion avoidance byte counter (RFC 3465) */
	uint32_t dupacks;       /* consecutive duplicate ACKs */
	uint32_t partial_acks;  /* partial ACKs in this recovery */
	uint8_t state;          /* enum tcp_cc_state */
	uint8_t rto_again;      /* an RTO with no ACK of new data since the last one */
};

/* RFC 6928 initial window for this MSS: min(10 MSS, max(2 MSS, 14600)). */
uint32_t tcp_cc_initial_window(uint32_t mss);

/*
 * Start: cwnd = initial window, ssthresh infinite, slow start, recover = iss
 * (the connection's initial send sequence number, RFC 6582 §3.2 step 1).
 * Returns 0, or -EINVAL when mss is 0.
 */
int tcp_cc_init(struct tcp_cc *cc, uint32_t mss, uint32_t iss);

/*
 * An ACK moved SND.UNA forward by acked bytes to snd_una; flight is what is
 * still outstanding. Grows cwnd (slow start / avoidance / loss) or, in
 * recovery, either deflates it on a partial ACK (TCP_CC_RETRANSMIT_NEXT_HOLE)
 * or ends recovery with cwnd = min(ssthresh, max(flight, MSS) + MSS)
 * (TCP_CC_EXIT_RECOVERY). Resets the duplicate ACK count.
 */
enum tcp_cc_action tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, uint32_t snd_una, uint32_t flight);

/*
 * A duplicate ACK (ACK field == snd_una). On the third, when snd_una is
 * beyond `recover` (RFC 6582 §3.2 step 2: not a leftover of the previous
 * recovery or RTO; duplicates at exactly `recover` are ambiguous, §4.1, and
 * are left to the RTO, as FreeBSD does), enters recovery:
 * ssthresh = max(flight / 2, 2 MSS), cwnd = ssthresh + 3 MSS,
 * recover = snd_max; returns TCP_CC_FAST_RETRANSMIT. In recovery, inflates
 * cwnd by one MSS. Otherwise TCP_CC_NONE.
 */
enum tcp_cc_action tcp_cc_on_dupack(struct tcp_cc *cc, uint32_t snd_una, uint32_t snd_max, uint32_t flight);

/*
 * The retransmission timer expired: ssthresh = max(flight / 2, 2 MSS)
 * (held when the same data timed out again, RFC 5681 §3.1), cwnd = 1 MSS,
 * recover = snd_max, state LOSS (fast recovery, if any, is abandoned).
 */
void tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight, uint32_t snd_max);

/* Sending after more than an RTO of idleness: cwnd = min(cwnd, initial window). */
void tcp_cc_on_idle(struct tcp_cc *cc);

/* Bytes cwnd lets the sender put in flight now: cwnd - flight, or 0. */
uint32_t tcp_cc_send_room(const struct tcp_cc *cc, uint32_t flight);

/* "slow_start", "avoidance", "recovery", "loss" (for logs and the console). */
const char *tcp_cc_state_name(enum tcp_cc_state s);

#endif
