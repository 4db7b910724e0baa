/*
 * tcp_cc.c — per-connection congestion control: slow start, congestion
 * avoidance (RFC 5681, byte counting of RFC 3465), NewReno fast recovery
 * (RFC 6582) and the loss window after an RTO. Pure arithmetic: the TCP
 * sender (tcp_in.c on ACKs, tcp_timer.c on RTO) feeds events and acts on the
 * returned action; tcp_out.c asks tcp_cc_send_room() how much may leave.
 */
#include <errno.h>

#include "app/net/tcp_cc.h"
#include "app/net/tcp_seq.h"

static uint32_t
tcp_cc_min(uint64_t a, uint64_t b)
{
	return (uint32_t)(a < b ? a : b);
}

uint32_t
tcp_cc_initial_window(uint32_t mss)
{
	uint64_t lo = 2 * (uint64_t)mss;

	if (lo < 14600)
		lo = 14600;
	return tcp_cc_min(tcp_cc_min(10 * (uint64_t)mss, lo), TCP_CC_CWND_MAX);
}

int
tcp_cc_init(struct tcp_cc *cc, uint32_t mss, uint32_t iss)
{
	if (mss == 0)
		return -EINVAL;
	cc->mss = mss;
	cc->cwnd = tcp_cc_initial_window(mss);
	cc->ssthresh = UINT32_MAX;
	cc->recover = iss;
	cc->bytes_acked = 0;
	cc->dupacks = 0;
	cc->partial_acks = 0;
	cc->state = TCP_CC_SLOW_START;
	cc->rto_again = 0;
	return 0;
}

/* RFC 5681 (4): ssthresh after a loss. */
static uint32_t
tcp_cc_loss_ssthresh(const struct tcp_cc *cc, uint32_t flight)
{
	uint64_t two = 2 * (uint64_t)cc->mss;

	return tcp_cc_min(flight / 2 > two ? flight / 2 : two, TCP_CC_CWND_MAX);
}

static void
tcp_cc_set_growth_state(struct tcp_cc *cc)
{
	cc->state = cc->cwnd < cc->ssthresh ? TCP_CC_SLOW_START : TCP_CC_AVOIDANCE;
}

/*
 * Open cwnd for acked bytes: below ssthresh by min(acked, limit), stopping
 * at ssthresh (RFC 3465 §2.2); at or above it by one MSS each time a whole
 * cwnd of bytes has been acknowledged (RFC 3465 §2.1).
 */
static void
tcp_cc_grow(struct tcp_cc *cc, uint32_t acked, uint32_t limit)
{
	if (cc->cwnd < cc->ssthresh) {
		uint64_t c = (uint64_t)cc->cwnd + (acked < limit ? acked : limit);

		cc->cwnd = tcp_cc_min(tcp_cc_min(c, cc->ssthresh), TCP_CC_CWND_MAX);
		cc->bytes_acked = 0;
		return;
	}
	cc->bytes_acked = tcp_cc_min((uint64_t)cc->bytes_acked + acked, UINT32_MAX);
	if (cc->bytes_acked >= cc->cwnd) {
		cc->bytes_acked -= cc->cwnd;
		cc->cwnd = tcp_cc_min((uint64_t)cc->cwnd + cc->mss, TCP_CC_CWND_MAX);
	}
}

/* RFC 6582 §3.2 step 3: an ACK of new data during fast recovery. */
static enum tcp_cc_action
tcp_cc_recovery_ack(struct tcp_cc *cc, uint32_t acked, uint32_t snd_una, uint32_t flight)
{
	if (tcp_seq_geq(snd_una, cc->recover)) {
		uint64_t f = (flight > cc->mss ? flight : cc->mss) + (uint64_t)cc->mss;

		cc->cwnd = tcp_cc_min(cc->ssthresh, f);
		cc->bytes_acked = 0;
		tcp_cc_set_growth_state(cc);
		return TCP_CC_EXIT_RECOVERY;
	}
	/* Partial ACK: deflate by what it acked, add back one MSS if >= 1 MSS. */
	cc->partial_acks++;
	cc->cwnd = cc->cwnd > acked ? cc->cwnd - acked : 0;
	if (acked >= cc->mss)
		cc->cwnd += cc->mss;
	if (cc->cwnd < cc->mss)
		cc->cwnd = cc->mss;
	return TCP_CC_RETRANSMIT_NEXT_HOLE;
}

enum tcp_cc_action
tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked, uint32_t snd_una, uint32_t flight)
{
	cc->dupacks = 0;
	cc->rto_again = 0;
	switch (cc->state) {
	case TCP_CC_RECOVERY:
		return tcp_cc_recovery_ack(cc, acked, snd_una, flight);
	case TCP_CC_LOSS:
		/* RFC 3465 §2.3: L = 1 MSS in the slow start after an RTO. */
		tcp_cc_grow(cc, acked, cc->mss);
		if (tcp_seq_geq(snd_una, cc->recover))
			tcp_cc_set_growth_state(cc);
		return TCP_CC_NONE;
	default:
		tcp_cc_grow(cc, acked, 2 * cc->mss);
		tcp_cc_set_growth_state(cc);
		return TCP_CC_NONE;
	}
}

enum tcp_cc_action
tcp_cc_on_dupack(struct tcp_cc *cc, uint32_t snd_una, uint32_t snd_max, uint32_t flight)
{
	if (cc->dupacks < UINT32_MAX)
		cc->dupacks++;
	if (cc->state == TCP_CC_RECOVERY) {
		/* RFC 6582 §3.2 step 4: inflate by one MSS per further duplicate. */
		cc->cwnd = tcp_cc_min((uint64_t)cc->cwnd + cc->mss, TCP_CC_CWND_MAX);
		return TCP_CC_NONE;
	}
	if (cc->dupacks != TCP_CC_DUPTHRESH)
		return TCP_CC_NONE;
	/* RFC 6582 §3.2 step 2: duplicates not beyond recover are leftovers. */
	if (!tcp_seq_gt(snd_una, cc->recover))
		return TCP_CC_NONE;
	cc->ssthresh = tcp_cc_loss_ssthresh(cc, flight);
	cc->cwnd = tcp_cc_min((uint64_t)cc->ssthresh + 3 * (uint64_t)cc->mss, TCP_CC_CWND_MAX);
	cc->recover = snd_max;
	cc->partial_acks = 0;
	cc->bytes_acked = 0;
	cc->state = TCP_CC_RECOVERY;
	return TCP_CC_FAST_RETRANSMIT;
}

void
tcp_cc_on_rto(struct tcp_cc *cc, uint32_t flight, uint32_t snd_max)
{
	/* RFC 5681 §3.1: ssthresh is held when the same data times out again. */
	if (!cc->rto_again)
		cc->ssthresh = tcp_cc_loss_ssthresh(cc, flight);
	cc->rto_again = 1;
	cc->cwnd = cc->mss;
	cc->recover = snd_max;
	cc->dupacks = 0;
	cc->partial_acks = 0;
	cc->bytes_acked = 0;
	cc->state = TCP_CC_LOSS;
}

void
tcp_cc_on_idle(struct tcp_cc *cc)
{
	uint32_t iw = tcp_cc_initial_window(cc->mss);

	if (cc->state == TCP_CC_RECOVERY || cc->state == TCP_CC_LOSS)
		return;
	if (cc->cwnd > iw)
		cc->cwnd = iw;
	cc->bytes_acked = 0;
	tcp_cc_set_growth_state(cc);
}

uint32_t
tcp_cc_send_room(const struct tcp_cc *cc, uint32_t flight)
{
	return cc->cwnd > flight ? cc->cwnd - flight : 0;
}

const char *
tcp_cc_state_name(enum tcp_cc_state s)
{
	switch (s) {
	case TCP_CC_SLOW_START:
		return "slow_start";
	case TCP_CC_AVOIDANCE:
		return "avoidance";
	case TCP_CC_RECOVERY:
		return "recovery";
	case TCP_CC_LOSS:
		return "loss";
	}
	return "unknown";
}
