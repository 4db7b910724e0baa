/*
 * tcp_seq.h — TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).
 *
 * Sequence numbers (and ACK numbers, and RFC 7323 timestamps) live on a
 * circle of 2^32 values. Comparisons look at the signed 32-bit distance
 * b - a: a < b when b is less than 2^31 ahead of a. They are meaningful only
 * for values less than 2^31 apart (TCP keeps windows far smaller); at
 * exactly 2^31 apart both tcp_seq_lt(a, b) and tcp_seq_lt(b, a) are true.
 * Examples: tcp_seq_lt(0xfffffff0, 0x10) (32 ahead across the wrap) and
 * tcp_seq_diff(0x10, 0xfffffff0) == 32.
 *
 * Intervals (tcp_seq_between and friends) do not have that limit: they run
 * forward from lo to hi on the circle, whatever their size below 2^32.
 * Pure header: no DPDK, usable from unit tests and tools.
 */
#ifndef MAILGW_APP_NET_TCP_SEQ_H
#define MAILGW_APP_NET_TCP_SEQ_H

#include <stdint.h>

/* Signed distance from b to a: a - b as int32_t (positive when a is after b). */
static inline int32_t
tcp_seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

/* a < b: a comes before b. */
static inline int
tcp_seq_lt(uint32_t a, uint32_t b)
{
	return tcp_seq_diff(a, b) < 0;
}

/* a <= b. */
static inline int
tcp_seq_leq(uint32_t a, uint32_t b)
{
	return tcp_seq_diff(a, b) <= 0;
}

/* a > b: a comes after b. */
static inline int
tcp_seq_gt(uint32_t a, uint32_t b)
{
	return tcp_seq_diff(a, b) > 0;
}

/* a >= b. */
static inline int
tcp_seq_geq(uint32_t a, uint32_t b)
{
	return tcp_seq_diff(a, b) >= 0;
}

/* The later of a and b. */
static inline uint32_t
tcp_seq_max(uint32_t a, uint32_t b)
{
	return tcp_seq_gt(a, b) ? a : b;
}

/* The earlier of a and b. */
static inline uint32_t
tcp_seq_min(uint32_t a, uint32_t b)
{
	return tcp_seq_lt(a, b) ? a : b;
}

/* lo <= a < hi, walking forward from lo; empty when lo == hi. */
static inline int
tcp_seq_between(uint32_t a, uint32_t lo, uint32_t hi)
{
	return a - lo < hi - lo;
}

/* lo <= a <= hi, walking forward from lo; just {lo} when lo == hi. */
static inline int
tcp_seq_between_incl(uint32_t a, uint32_t lo, uint32_t hi)
{
	return a - lo <= hi - lo;
}

/* The right edge of a window: the first sequence number past base + wnd. */
static inline uint32_t
tcp_seq_wnd_end(uint32_t base, uint32_t wnd)
{
	return base + wnd;
}

/* base <= a < base + wnd: a lies inside the window (never, when wnd is 0). */
static inline int
tcp_seq_in_wnd(uint32_t a, uint32_t base, uint32_t wnd)
{
	return a - base < wnd;
}

/*
 * Receive acceptability test of RFC 9293 §3.10.7.4 for a segment of seg_len
 * sequence numbers (payload + SYN + FIN) starting at seq, against RCV.NXT
 * and RCV.WND. A zero window accepts only an empty segment at rcv_nxt. With
 * data, the RFC asks for the first or the last octet inside the window; this
 * also accepts a segment that starts before RCV.NXT and ends beyond the
 * window (covering it all), as Linux and the BSDs do: it carries new data.
 */
static inline int
tcp_seq_seg_acceptable(uint32_t seq, uint32_t seg_len, uint32_t rcv_nxt, uint32_t rcv_wnd)
{
	if (rcv_wnd == 0)
		return seg_len == 0 && seq == rcv_nxt;
	if (seg_len == 0)
		return tcp_seq_in_wnd(seq, rcv_nxt, rcv_wnd);
	return tcp_seq_in_wnd(seq, rcv_nxt, rcv_wnd) ||
	       tcp_seq_between(rcv_nxt, seq, seq + seg_len);
}

/* SND.UNA < ack <= SND.NXT: the ACK acknowledges something new (RFC 9293 §3.10.7.4). */
static inline int
tcp_seq_ack_new(uint32_t ack, uint32_t snd_una, uint32_t snd_nxt)
{
	uint32_t d = ack - snd_una;

	return d != 0 && d <= snd_nxt - snd_una;
}

/*
 * Send-window update rule of RFC 9293 §3.10.7.4: take the window of a
 * segment (seq, ack) when SND.WL1 < seq, or SND.WL1 == seq and
 * SND.WL2 <= ack, so that old segments never shrink or move the window back.
 */
static inline int
tcp_seq_wnd_update_ok(uint32_t wl1, uint32_t wl2, uint32_t seq, uint32_t ack)
{
	return tcp_seq_lt(wl1, seq) || (wl1 == seq && tcp_seq_leq(wl2, ack));
}

#endif
