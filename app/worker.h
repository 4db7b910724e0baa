/*
 * worker.h — one data-path core: its queues, pools, tables and counters,
 * and the gateway context they all hang off.
 *
 * A struct worker is the first argument of every data-path function; it owns
 * everything it touches (DESIGN §2, share nothing). The only shared state is
 * read-only after start-up (struct gw: configuration, ports) plus the stop
 * flag and the per-worker inbox rings.
 */
#ifndef MAILGW_APP_WORKER_H
#define MAILGW_APP_WORKER_H

#include <stdbool.h>
#include <stdint.h>
#include <rte_common.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_rcu_qsbr.h>

#include "platform/config.h"
#include "drivers/port.h"
#include "app/stats.h"
#include "platform/log.h"
#include "platform/timer.h"
#include "drivers/linkem.h"
#include "app/policy/policy_gen.h"

#define WORKER_BURST 32

struct arp_table;
struct tcp_ctx;
struct worker;
struct route_table;
struct smtp_limit;
struct tls_gen;
struct tls_ticket_keys;
struct tls_report;

/* The gateway context: built by main before the workers start. */
struct gw {
	const struct gw_config *cfg;
	struct port ports[CFG_MAX_PORTS];
	unsigned n_ports;
	struct worker *workers[CFG_MAX_WORKERS];
	unsigned n_workers;
	const struct route_table *routes;   /* relay permission and next hops (read-only) */
	struct smtp_limit *smtp_limit;      /* per-client-address limits, shared (atomics) */
	struct tls_gen *tls;                /* certificates and TLS policy: read with gw_tls(), replaced under RCU */
	struct tls_ticket_keys *tickets;    /* session-ticket keys of all workers: atomic load, replaced under RCU */
	struct policy_gen *policy;          /* connector table: gw_policy() + policy_gen_hold(); replaced by reload */
	struct policy_gen *retired;         /* replaced generations not yet freed (control plane only) */
	struct rte_rcu_qsbr *rcu;           /* workers report quiescence once per loop pass */
	uint64_t tls_generation;            /* bumped by each successful `reload certs` */
	volatile bool stop;             /* set by the control plane on SIGINT/SIGTERM */
	uint64_t start_tsc;
	uint64_t hz;
};

/*
 * Kinds of per-connection log lines, each rate-limited on its own per worker
 * (WORKER_LOG_RL, log.rate_limit lines a second): what an attacker or a
 * burst repeats. The one-line-per-message log line is never among them.
 */
#define WORKER_RL_KEYS(X) \
	X(SMTP_CONNECT,         "smtp: session connect") \
	X(SMTP_DISCONNECT,      "smtp: session disconnect") \
	X(SMTP_REFUSED,         "smtp: connection refused") \
	X(SMTP_TIMEOUT,         "smtp: session timeout") \
	X(SMTP_DEADLINE,        "smtp: deadline exceeded") \
	X(SMTP_TLS_UP,          "smtp: TLS established") \
	X(SMTP_TLS_CERT,        "smtp: client certificate") \
	X(SMTP_TLS_FAILED,      "smtp: TLS handshake failed") \
	X(SMTP_BAD_LINE,        "smtp: bad command line") \
	X(SMTP_INJECTION,       "smtp: STARTTLS injection") \
	X(SMTP_CONNECTOR,       "smtp: connector decision") \
	X(SMTP_RELAY_DENIED,    "smtp: relay denied") \
	X(SMTP_RCPT_DEFERRED,   "smtp: recipient deferred to another transaction") \
	X(CLIENT_STARTTLS,      "smtp client: STARTTLS not offered or refused") \
	X(CLIENT_TLS_UP,        "smtp client: TLS established") \
	X(CLIENT_TLS_FAILED,    "smtp client: TLS handshake failed") \
	X(CLIENT_CLOSED,        "smtp client: next hop closed") \
	X(CLIENT_TIMEOUT,       "smtp client: next hop timeout") \
	X(CLIENT_REFUSED,       "smtp client: next hop refused or malformed")

enum worker_rl {
#define WORKER_RL_ENUM(k, name) WORKER_RL_##k,
	WORKER_RL_KEYS(WORKER_RL_ENUM)
#undef WORKER_RL_ENUM
	WORKER_RL_COUNT
};

struct worker_txq {
	uint16_t n;
	struct rte_mbuf *pkts[2 * WORKER_BURST];   /* room for linkem's held frames */
};

/* Messages between workers (fixed size, carried by value in the inbox ring). */
enum worker_msg_type {
	WORKER_MSG_ARP_LEARN = 1,       /* a neighbour's MAC, seen by another worker */
	WORKER_MSG_LINKEM = 2,          /* new impairment for (port, dir): *cfg */
	WORKER_MSG_CONNECT = 3,         /* open `count` test connections to ip:dport */
	WORKER_MSG_CLEAR = 4,           /* close `count` connections on local port dport */
};

struct worker_msg {
	uint16_t type;
	uint16_t port;                  /* port index (ARP, linkem) */
	uint32_t ip;                    /* host byte order */
	uint8_t mac[6];
	uint16_t dport;
	uint32_t count;
	uint32_t flags;                 /* linkem: direction; clear: 1 = reset */
	uint64_t bytes;
	const void *cfg;                /* linkem: struct cfg_linkem, owned by the control plane */
};

struct worker {
	unsigned id;
	unsigned lcore_id;
	uint16_t queue;                 /* this worker's queue on every port */
	struct gw *gw;
	const struct gw_config *cfg;
	struct rte_mempool *pool;
	struct rte_ring *inbox;         /* struct worker_msg, many producers */
	struct rte_ring *log_ring;      /* struct log_rec, to the control plane */
	struct arp_table *arp;
	struct tcp_ctx *tcp;
	struct timer_wheel timers;      /* 1 ms ticks: TCP and later SMTP */
	struct linkem *linkem_rx[CFG_MAX_PORTS];
	struct linkem *linkem_tx[CFG_MAX_PORTS];
	void *services;                 /* app/services.c state */
	void *smtp;                     /* app/smtp/smtp_server.c state */
	void *smtp_client;              /* app/smtp/smtp_client.c state */
	void *tls;                      /* crypto/tls.c filter slots */
	struct tls_report *tls_report;  /* crypto/tls_report.c: peers by TLS version */

	uint64_t now;                   /* TSC at the top of this loop pass */
	uint64_t hz;
	uint64_t next_tick;             /* next housekeeping pass (ARP ageing) */
	uint64_t icmp_tokens;           /* echo-reply token bucket, scaled by hz */
	uint64_t icmp_last;

	/* loop accounting, read by the console */
	uint64_t loops;
	uint64_t busy_cycles;
	uint64_t idle_cycles;
	uint32_t idle_polls;            /* consecutive empty polls (adaptive mode) */
	uint32_t idle_sleep_us;

	struct worker_txq txq[CFG_MAX_PORTS];
	uint64_t ctr[CFG_MAX_PORTS][STATS_MAX];

	struct log_rl log_rl[WORKER_RL_COUNT];  /* WORKER_LOG_RL's buckets */

	/* fault injection (tests and fuzzers only; 0 = off): every Nth packet-buffer allocation fails */
	uint32_t fault_alloc_every;
	uint32_t fault_alloc_n;
} __rte_cache_aligned;

/* The current TLS generation (a new one is published by `reload certs`; the old one freed after RCU). */
static inline struct tls_gen *
gw_tls(const struct gw *gw)
{
	return __atomic_load_n(&gw->tls, __ATOMIC_ACQUIRE);
}

/*
 * The current connector-table generation, held for the caller (a session
 * or a next-hop connection) until policy_gen_release(). Call from a worker
 * between two quiescent states.
 */
static inline struct policy_gen *
gw_policy_hold(const struct gw *gw)
{
	return policy_gen_hold(__atomic_load_n(&gw->policy, __ATOMIC_ACQUIRE));
}

/*
 * A packet buffer from the worker's pool, or NULL when it is empty (or when
 * the fault-injection knob fails this one). Every data-path allocation goes
 * through here.
 */
static inline struct rte_mbuf *
worker_pkt_alloc(struct worker *w)
{
	if (unlikely(w->fault_alloc_every != 0) && ++w->fault_alloc_n % w->fault_alloc_every == 0)
		return NULL;
	return rte_pktmbuf_alloc(w->pool);
}

/* Log from a worker: never blocks; a full ring counts log.dropped. */
#define WORKER_LOG(w, level, ...) do { \
	if (log_ring_printf((w)->log_ring, (w)->cfg->log_level, (level), (w)->id, __VA_ARGS__) != 0) \
		(w)->ctr[0][STATS_LOG_DROPPED]++; \
} while (0)

/*
 * Whether a line of this kind at this level goes out now (WORKER_LOG_RL):
 * false when it is above log.level, or beyond log.rate_limit a second (then
 * counted in log.suppressed). A line let through after suppressed ones is
 * preceded by "log: N similar lines suppressed (KIND)".
 */
bool worker_log_rl(struct worker *w, enum worker_rl key, enum cfg_log_level level);

/* Housekeeping: the summary of each kind whose suppressed lines are a second old and not yet reported. */
void worker_log_rl_tick(struct worker *w);

/*
 * WORKER_LOG for per-connection lines that repeat at connection rates
 * (open/close, handshakes, STARTTLS notes, refusals): at most
 * log.rate_limit a second per kind and worker, then a summary.
 */
#define WORKER_LOG_RL(w, key, level, ...) do { \
	if (worker_log_rl((w), (key), (level))) \
		WORKER_LOG(w, level, __VA_ARGS__); \
} while (0)

/* Count one event on port index p. */
static inline void
worker_count(struct worker *w, unsigned p, enum stats_id id)
{
	w->ctr[p][id]++;
}

/* Count a dropped received frame and free it. */
static inline void
worker_drop(struct worker *w, unsigned p, struct rte_mbuf *m, enum stats_id id)
{
	w->ctr[p][id]++;
	rte_pktmbuf_free(m);
}

/* Queue a finished frame for transmission on port index p (flushed each loop pass). */
void worker_tx(struct worker *w, unsigned p, struct rte_mbuf *m);

/* Send whatever is queued on every port. */
void worker_tx_flush(struct worker *w);

/*
 * Create worker id's private state: pool, rings, ARP table. Called on the
 * control plane before ports are set up (the RX queues need the pools).
 */
struct worker *worker_create(struct gw *gw, unsigned id, unsigned lcore_id,
			     char *err, size_t errlen);

/* Free what worker_create made. */
void worker_destroy(struct worker *w);

/* The worker loop (rte_eal_remote_launch entry point; arg is struct worker *). */
int worker_main(void *arg);

/* Post a message to another worker's inbox. Returns 0 or -ENOBUFS. */
int worker_post(struct worker *to, const struct worker_msg *msg);

#endif
