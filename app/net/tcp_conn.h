/*
 * tcp_conn.h — internals shared by the TCP modules (tcp_conn.c: table,
 * slots, listeners; tcp_in.c: segment arrival; tcp_out.c: segment output;
 * tcp_timer.c: timers; tcp_stream.c: the stream interface and buffers).
 * Nothing outside app/net/tcp_*.c includes this.
 */
#ifndef MAILGW_APP_NET_TCP_CONN_H
#define MAILGW_APP_NET_TCP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_tcp.h>

#include "app/net/stream.h"
#include "app/net/tcp.h"
#include "app/net/tcp_cc.h"
#include "app/net/tcp_rto.h"
#include "app/net/tcp_syncookie.h"
#include "platform/timer.h"

enum tcp_state {
	TCP_CLOSED = 0,
	TCP_SYN_SENT,
	TCP_SYN_RECEIVED,
	TCP_ESTABLISHED,
	TCP_FIN_WAIT_1,
	TCP_FIN_WAIT_2,
	TCP_CLOSE_WAIT,
	TCP_CLOSING,
	TCP_LAST_ACK,
	TCP_TIME_WAIT,
	TCP_STATE_MAX
};

/* Deferred stream events (delivered by tcp_events). */
#define TCP_EV_CONNECTED  0x01
#define TCP_EV_READABLE   0x02
#define TCP_EV_WRITABLE   0x04
#define TCP_EV_CLOSED     0x08

#define TCP_SACK_BLOCKS   3
#define TCP_COALESCE_MAX  512           /* received segments this small are copied into the buffer before */
#define TCP_OPT_SPACE     40

struct tcp_key {
	uint32_t raddr;
	uint32_t laddr;
	uint16_t rport;
	uint16_t lport;
} __rte_packed;

/*
 * A byte queue made of mbufs (data only), chained through m->next. `cur`
 * remembers where the last copy started (the mbuf and the offset of its
 * first byte), so sending segment after segment does not walk from the head.
 */
struct tcp_bufq {
	struct rte_mbuf *head;
	struct rte_mbuf *tail;
	uint32_t bytes;
	uint32_t n_mbufs;
	struct rte_mbuf *cur;
	uint32_t cur_off;
};

struct tcp_listener {
	uint16_t port;
	uint16_t syn_pending;           /* connections in SYN_RECEIVED */
	tcp_accept_fn fn;
	void *arg;
};

struct tcp_conn {
	struct stream s;                /* first: stream <-> conn */
	struct worker *w;
	uint32_t idx;                   /* slot index */
	uint32_t gen;                   /* bumped each time the slot is reused */
	uint8_t state;                  /* enum tcp_state */
	uint8_t port;                   /* our port index */
	uint8_t events;                 /* TCP_EV_* waiting for tcp_events */
	uint8_t close_reason;
	struct tcp_key key;
	struct tcp_listener *listener;  /* set while SYN_RECEIVED (backlog accounting) */

	/* send side */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint16_t mss;                   /* segment payload limit, options excluded */
	uint8_t snd_wscale, rcv_wscale;
	bool ws_ok, ts_ok, sack_ok;
	bool fin_queued;                /* the app shut down: FIN after the data */
	bool fin_sent;
	bool fin_acked;                 /* our FIN is acknowledged: never send it again */
	bool app_attached;              /* the app holds the stream (not yet closed/aborted) */
	bool want_writable;             /* a write came up short */
	bool persist;                   /* rtx timer is the persist timer */
	bool tlp_armed;                 /* rtx timer is the tail loss probe timer */
	bool tlp_sent;                  /* a probe is out; none again until new data is ACKed */
	uint8_t rtx_count;              /* consecutive timeouts */
	uint8_t limited_transmit;       /* RFC 3042: new segments allowed past cwnd (0-2) */
	uint32_t high_rxt;              /* end of the highest retransmission in this recovery */
	uint8_t keep_probes;
	struct tcp_bufq snd;            /* from snd_una: sent-unacked, then unsent */

	/* receive side */
	uint32_t irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge we advertised */
	uint32_t ts_recent;
	uint32_t last_ack_sent;         /* RCV.NXT in our latest segment (RFC 7323 Last.ACK.sent) */
	bool fin_rcvd;
	bool ooo_fin;                   /* a FIN seen out of order, at ooo_fin_seq */
	uint32_t ooo_fin_seq;
	uint8_t segs_unacked;           /* full segments since our last ACK */
	bool ack_now;
	struct tcp_bufq rcv;            /* in order, not yet read */
	struct tcp_bufq ooo;            /* out of order, sorted; seq in m->hash.usr */
	uint32_t last_ooo_seq;
	bool rcv_packed;                /* both queues packed since a buffer was last added (tcp_pool.c) */
	bool pool_capped;               /* it was held to its share of the pool (logged once) */

	/* congestion control and timing */
	struct tcp_cc cc;
	struct tcp_rto rto;
	uint32_t rtt_seq;               /* timed segment (no timestamps), Karn */
	uint64_t rtt_start;             /* TSC; 0: none timed */
	uint64_t last_rx;               /* TSC of the last segment received */
	struct timer rtx_timer;         /* SYN/RTO/persist/TIME_WAIT */
	struct timer delack_timer;
	bool delack_quick;              /* a short pushed segment waits for its ACK (1 ms, not delayed_ack_ms) */
	struct timer keep_timer;        /* keepalive, idle, FIN_WAIT_2 */
	struct timer wr_timer;          /* the pool cut a write or a segment short: output and
	                                   writable again in 1 ms, doubling while nothing goes out */
	uint8_t wr_backoff;             /* log2 of that delay in ms (0..TCP_WR_BACKOFF_MAX) */

	uint64_t bytes_in, bytes_out;
	uint32_t next;                  /* free list / event list / TIME_WAIT list, index + 1 */
	uint32_t tw_prev, tw_next;      /* TIME_WAIT order, index + 1 */
	uint32_t ev_next;               /* event list, index + 1 */
};

struct tcp_ctx {
	struct rte_hash *table;         /* tcp_key -> struct tcp_conn * */
	struct tcp_conn *conns;
	unsigned n_conns;
	unsigned in_use;
	uint32_t free_head;             /* index + 1 */
	uint32_t ev_head, ev_tail;      /* conns with events, index + 1 */
	uint32_t tw_head, tw_tail;      /* TIME_WAIT, oldest first */
	unsigned n_time_wait;
	struct tcp_listener listeners[TCP_MAX_LISTENERS];
	unsigned n_listeners;
	struct rte_ring *steer_in[64];  /* from worker i to us (MAX workers) */
	uint16_t next_port;             /* ephemeral search start */
	uint64_t ms_hz;                 /* TSC per millisecond */

	/* packet pool pressure (tcp_pool.c) */
	bool pressure;                  /* free buffers went below tcp.pool_low_watermark */
	uint8_t relieved_state;         /* enum tcp_pool_state of the last pruning walk */
	uint64_t relieve_at;            /* TSC: next pruning walk while the pressure lasts */
	uint64_t refused;               /* SYNs refused during this pressure */
};

extern const struct tcp_syncookie_key *tcp_cookie_key;

/* tcp_conn.c */
struct tcp_conn *tcp_conn_lookup(struct worker *w, const struct tcp_key *k);
struct tcp_conn *tcp_conn_alloc(struct worker *w, const struct tcp_key *k, unsigned port);
void tcp_conn_free(struct tcp_conn *c);
void tcp_tw_unlink(struct tcp_ctx *t, struct tcp_conn *c);
void tcp_set_state(struct tcp_conn *c, enum tcp_state st);
void tcp_conn_closed(struct tcp_conn *c, enum stream_close_reason why);
void tcp_event(struct tcp_conn *c, uint8_t ev);
struct tcp_listener *tcp_listener_find(struct worker *w, uint16_t port);
void tcp_conn_init_send(struct tcp_conn *c, uint32_t iss);
uint32_t tcp_ts_now(const struct worker *w);
uint32_t tcp_iss(struct worker *w, const struct tcp_key *k);

/* tcp_out.c */
void tcp_output(struct tcp_conn *c);
void tcp_send_ack(struct tcp_conn *c);
int tcp_send_segment(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags);
void tcp_send_syn(struct tcp_conn *c, bool ack);
void tcp_send_probe(struct tcp_conn *c);
void tcp_send_reset(struct worker *w, unsigned p, const struct tcp_key *k, uint32_t seq,
		    uint32_t ack, uint8_t flags);
void tcp_send_cookie_synack(struct worker *w, unsigned p, const struct tcp_key *k,
			    uint32_t iss, uint32_t irs, int wscale, bool sack, bool ts,
			    uint32_t tsecr);
uint32_t tcp_rcv_window(const struct tcp_conn *c);
uint16_t tcp_mss_for_port(const struct worker *w, unsigned p);
uint8_t tcp_wscale_for(uint32_t rcv_buffer);   /* our window scale for that buffer */

/* tcp_in.c */
void tcp_input_conn(struct tcp_conn *c, struct rte_mbuf *m, const struct rte_tcp_hdr *th,
		    unsigned payload_off, unsigned payload_len);

/* tcp_timer.c */
void tcp_timers_init(struct tcp_conn *c);
void tcp_timers_stop(struct tcp_conn *c);
/* The packet pool refused a write or a segment: tcp_output and a writable event in 1 ms (nothing
   may be in flight to bring an ACK). */
void tcp_write_retry_arm(struct tcp_conn *c);
void tcp_rtx_arm(struct tcp_conn *c);
void tcp_rtx_stop(struct tcp_conn *c);
void tcp_delack_arm(struct tcp_conn *c);
void tcp_keep_arm(struct tcp_conn *c);
/* End a TIME_WAIT connection now (a newer SYN for its 4-tuple arrived); its slot is freed. */
void tcp_time_wait_end(struct tcp_conn *c);

void tcp_time_wait_enter(struct tcp_conn *c);

/* tcp_stream.c */
extern const struct stream_impl tcp_stream_impl;
void tcp_bufq_free(struct tcp_bufq *q);
uint32_t tcp_bufq_copy(struct tcp_bufq *q, uint32_t off, void *dst, uint32_t len);
void tcp_bufq_drop_front(struct tcp_bufq *q, uint32_t len);
void tcp_bufq_append_mbuf(struct tcp_bufq *q, struct rte_mbuf *m);
/* Would len bytes appended to q be copied into its tail buffer (no buffer more held)? */
bool tcp_bufq_fits_tail(const struct tcp_bufq *q, uint32_t len);
/*
 * Pack q's bytes into fewer buffers, in place (no allocation): each buffer
 * takes what follows into its free room. For an out-of-order queue (seq in
 * m->hash.usr) only where one segment ends where the next begins. Returns
 * the buffers freed.
 */
uint32_t tcp_bufq_collapse(struct tcp_bufq *q, bool ooo);

/* tcp_pool.c: the receive queues' share of the worker's packet pool */
#define TCP_RCV_MIN_BUFS  8             /* what a connection may hold under pool pressure */

enum tcp_pool_state {
	TCP_POOL_OK = 0,
	TCP_POOL_LOW,                   /* free < tcp.pool_low_watermark: pressure */
	TCP_POOL_RESERVE,               /* free < tcp.pool_reserve: control segments only */
};

/* Free buffers in the worker's pool (O(1) unless near tcp.pool_low_watermark). */
uint32_t tcp_pool_free(const struct worker *w);
/* Where the pool stands against the watermark and the reserve. */
enum tcp_pool_state tcp_pool_state(const struct worker *w);
/* Buffers c's receive queues (in order + out of order) may hold now. */
uint32_t tcp_rcv_cap(const struct tcp_conn *c);
/* Buffers c's send queue may hold now: no bound but tcp.snd_buffer unless the pool is under pressure. */
uint32_t tcp_snd_cap(const struct tcp_conn *c);
/*
 * Make room for m (payload at seq) in c's receive queues: pack them, then
 * prune out-of-order data above seq. False (counted): m must be dropped.
 */
bool tcp_rcv_admit(struct tcp_conn *c, const struct rte_mbuf *m, uint32_t seq);
/* Drop up to n out-of-order segments above seq, highest first (counted). Returns how many. */
uint32_t tcp_ooo_prune(struct tcp_conn *c, uint32_t above, uint32_t n);
/* Pack c's receive queues (counted). Returns the buffers freed. */
uint32_t tcp_rcv_collapse(struct tcp_conn *c);
/* Note pressure changes: on entering it (and every 100 ms in it), prune and pack every connection. */
void tcp_pool_check(struct worker *w);
/* A SYN for key k while the pool is at its reserve is refused with RST (counted): true when it was. */
bool tcp_pool_refuse_syn(struct worker *w, unsigned p, const struct tcp_key *k, uint32_t seq);

/* Buffers held by c's receive queues. */
static inline uint32_t
tcp_rcv_held(const struct tcp_conn *c)
{
	return c->rcv.n_mbufs + c->ooo.n_mbufs;
}

static inline struct tcp_conn *
tcp_conn_of(struct stream *s)
{
	return (struct tcp_conn *)s;
}

#endif
