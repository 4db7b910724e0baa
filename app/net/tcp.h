/*
 * tcp.h — the userspace TCP stack's interface to the rest of the gateway:
 * per-worker set-up, segment input (from ipv4.c), timers and steering (from
 * the worker loop), listeners and active opens for the layers above, and the
 * console's view of connections. Connections reach the layers above only as
 * streams (app/net/stream.h).
 */
#ifndef MAILGW_APP_NET_TCP_H
#define MAILGW_APP_NET_TCP_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_mbuf.h>

#include "app/net/stream.h"

struct worker;
struct gw;

#define TCP_MAX_LISTENERS 16

/* Called for each new passive connection: set s->ops and s->ctx (or abort it). */
typedef void (*tcp_accept_fn)(struct worker *w, struct stream *s, void *arg);

/* Per-worker TCP state: create at worker creation. Returns 0 or -ENOMEM. */
int tcp_worker_init(struct worker *w);

/* Free what tcp_worker_init made (connections are dropped without a word). */
void tcp_worker_fini(struct worker *w);

/* Handle a TCP segment for us (m's data at the validated IP header of hlen bytes). Consumes m. */
void tcp_input(struct worker *w, unsigned p, struct rte_mbuf *m, unsigned hlen);

/* Listen on TCP port `port` of every local address. Returns 0, -EADDRINUSE or -ENOSPC. */
int tcp_listen(struct worker *w, uint16_t port, tcp_accept_fn fn, void *arg);

/*
 * Open a connection to daddr:dport from this worker (the local port is chosen
 * so that return traffic belongs to this worker). ops/ctx as for an accepted
 * stream; ops->connected or ops->closed(STREAM_REFUSED/TIMEOUT) follows.
 * Returns the stream, or NULL (no route, no free port or slot: errno set).
 */
struct stream *tcp_connect(struct worker *w, uint32_t daddr, uint16_t dport,
			   const struct stream_ops *ops, void *ctx);

/* Process the other workers' handed-over segments. Call every loop pass. */
void tcp_steer_drain(struct worker *w);

/* Run due TCP timers. Call every loop pass with w->now set. */
void tcp_timers(struct worker *w);

/* Deliver deferred stream events (readable/writable/closed). Call every loop pass. */
void tcp_events(struct worker *w);

/* The worker that owns the flow (remote, local) among n workers. */
unsigned tcp_flow_owner(const struct gw *gw, uint32_t raddr, uint16_t rport,
			uint32_t laddr, uint16_t lport);

/* A connection as the console shows it. */
struct tcp_conn_view {
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint8_t state;
	unsigned worker;
	uint32_t rtt_us;
	uint32_t cwnd;
	uint32_t snd_wnd;
	uint64_t bytes_in, bytes_out;
};

/*
 * Copy up to max connections of worker w (from another thread: a racy but
 * memory-safe snapshot of plain fields). Returns the number copied.
 */
unsigned tcp_snapshot(const struct worker *w, struct tcp_conn_view *out, unsigned max);

/* Connections in use and in TIME_WAIT on worker w (racy reads). */
void tcp_usage(const struct worker *w, unsigned *in_use, unsigned *time_wait);

/* "ESTABLISHED", "TIME_WAIT", ... */
const char *tcp_state_name(unsigned state);

/*
 * On the owning worker: close (FIN) up to count established connections with
 * local port lport (0: any), or reset them when reset is true. Returns how many.
 */
unsigned tcp_clear(struct worker *w, uint16_t lport, unsigned count, bool reset);

#endif
