/*
 * worker.c — the run-to-completion loop of one data-path core (DESIGN §2):
 * RX burst on every port (through linkem when impaired) -> net_input ->
 * segments handed over by other workers -> inbox messages -> timers -> stream
 * events -> TX flush (through linkem), then an idle back-off in adaptive mode.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "app/services.h"
#include "app/worker.h"
#include "app/net/arp.h"
#include "app/net/eth.h"
#include "app/net/tcp.h"
#include "app/smtp/smtp_server.h"
#include "crypto/tls.h"
#include "crypto/tls_report.h"

#define WORKER_TICK_MS         100     /* housekeeping period */
#define WORKER_IDLE_POLLS      64      /* empty polls before sleeping (adaptive) */
#define WORKER_INBOX_SIZE      1024

/* One linkem per port and direction (disabled unless configured), so the console can turn any on. */
static int
worker_linkem_create(struct worker *w, int socket)
{
	const struct gw_config *cfg = w->cfg;

	for (unsigned p = 0; p < cfg->n_ports; p++) {
		const struct cfg_linkem *c = NULL;
		for (unsigned i = 0; i < cfg->n_linkem; i++)
			if (strcmp(cfg->linkem[i].port, cfg->ports[p].name) == 0)
				c = &cfg->linkem[i];
		w->linkem_rx[p] = rte_zmalloc_socket("linkem", sizeof(struct linkem), RTE_CACHE_LINE_SIZE, socket);
		w->linkem_tx[p] = rte_zmalloc_socket("linkem", sizeof(struct linkem), RTE_CACHE_LINE_SIZE, socket);
		if (w->linkem_rx[p] == NULL || w->linkem_tx[p] == NULL)
			return -ENOMEM;
		linkem_init(w->linkem_rx[p], c, w->id, CFG_LINKEM_RX, w->hz);
		linkem_init(w->linkem_tx[p], c, w->id, CFG_LINKEM_TX, w->hz);
	}
	return 0;
}

struct worker *
worker_create(struct gw *gw, unsigned id, unsigned lcore_id, char *err, size_t errlen)
{
	const struct gw_config *cfg = gw->cfg;
	int socket = (int)rte_lcore_to_socket_id(lcore_id);
	char name[RTE_MEMPOOL_NAMESIZE];
	struct worker *w;

	w = rte_zmalloc_socket("worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
	if (w == NULL) {
		snprintf(err, errlen, "worker %u: out of memory (raise system.memory_mb)", id);
		return NULL;
	}
	w->id = id;
	w->lcore_id = lcore_id;
	w->queue = (uint16_t)id;
	w->gw = gw;
	w->cfg = cfg;
	w->hz = rte_get_tsc_hz();
	w->fault_alloc_every = cfg->test_fault_alloc_every;    /* testing only; 0 = off */
	snprintf(name, sizeof(name), "mbuf_w%u", id);
	w->pool = rte_pktmbuf_pool_create(name, cfg->limits.mbufs_per_worker, 256, 0,
					  RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	snprintf(name, sizeof(name), "inbox_w%u", id);
	w->inbox = rte_ring_create_elem(name, sizeof(struct worker_msg), WORKER_INBOX_SIZE,
					socket, RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "log_w%u", id);
	w->log_ring = log_ring_create(name, cfg->limits.log_ring_size, socket);
	w->arp = arp_table_create(cfg->limits.arp_cache_size, cfg->limits.arp_queue_length,
				  cfg->limits.mbufs_per_worker / ARP_HELD_SHARE, socket);
	timer_wheel_init(&w->timers, rte_rdtsc(), w->hz / 1000);
	int tcp_rc = tcp_worker_init(w);
	if (tcp_rc != 0) {
		snprintf(err, errlen, "worker %u: cannot allocate the TCP tables for %u connections "
			 "(raise system.memory_mb or lower tcp.max_connections)", id,
			 cfg->tcp.max_connections);
		worker_destroy(w);
		return NULL;
	}
	if (smtp_server_init(w) != 0) {
		snprintf(err, errlen, "worker %u: cannot allocate %u SMTP sessions and %u next-hop "
			 "connections (raise system.memory_mb or lower smtp.limits.sessions_per_worker / "
			 "smtp.client.connections_per_worker)", id, cfg->smtp.limits.sessions_per_worker,
			 cfg->smtp.client.connections_per_worker);
		worker_destroy(w);
		return NULL;
	}
	w->tls_report = rte_zmalloc_socket("tls_report", sizeof(struct tls_report), RTE_CACHE_LINE_SIZE, socket);
	if (w->tls_report == NULL || tls_worker_init(w, cfg->smtp.limits.sessions_per_worker +
				  cfg->smtp.client.connections_per_worker) != 0) {
		snprintf(err, errlen, "worker %u: out of memory for TLS session slots (raise system.memory_mb)", id);
		worker_destroy(w);
		return NULL;
	}
	if (worker_linkem_create(w, socket) != 0 || services_init(w) != 0) {
		snprintf(err, errlen, "worker %u: out of memory for linkem/services (raise system.memory_mb)", id);
		worker_destroy(w);
		return NULL;
	}
	if (w->pool == NULL || w->inbox == NULL || w->log_ring == NULL || w->arp == NULL) {
		snprintf(err, errlen, "worker %u: cannot allocate %s: %s (raise system.memory_mb "
			 "or lower system.limits)", id,
			 w->pool == NULL ? "packet pool" : w->arp == NULL ? "ARP table" : "rings",
			 rte_strerror(rte_errno));
		worker_destroy(w);
		return NULL;
	}
	return w;
}

void
worker_destroy(struct worker *w)
{
	if (w == NULL)
		return;
	services_fini(w);
	smtp_server_fini(w);
	tls_worker_fini(w);
	rte_free(w->tls_report);
	tcp_worker_fini(w);
	for (unsigned p = 0; p < CFG_MAX_PORTS; p++) {
		if (w->linkem_rx[p] != NULL)
			linkem_drain(w->linkem_rx[p]);
		if (w->linkem_tx[p] != NULL)
			linkem_drain(w->linkem_tx[p]);
		rte_free(w->linkem_rx[p]);
		rte_free(w->linkem_tx[p]);
	}
	arp_table_free(w->arp);
	rte_ring_free(w->log_ring);
	rte_ring_free(w->inbox);
	rte_mempool_free(w->pool);
	rte_free(w);
}

int
worker_post(struct worker *to, const struct worker_msg *msg)
{
	return rte_ring_mp_enqueue_elem(to->inbox, (void *)(uintptr_t)msg, sizeof(*msg)) == 0 ? 0 : -ENOBUFS;
}

void
worker_tx(struct worker *w, unsigned p, struct rte_mbuf *m)
{
	struct worker_txq *q = &w->txq[p];

	q->pkts[q->n++] = m;
	if (q->n >= WORKER_BURST)
		worker_tx_flush(w);
}

void
worker_tx_flush(struct worker *w)
{
	for (unsigned p = 0; p < w->gw->n_ports; p++) {
		struct worker_txq *q = &w->txq[p];
		struct linkem *le = w->linkem_tx[p];
		if (le != NULL && linkem_enabled(le))
			q->n = q->n ? linkem_process(le, w->pool, w->now, q->pkts, q->n, RTE_DIM(q->pkts))
				    : linkem_flush(le, w->now, q->pkts, RTE_DIM(q->pkts));
		if (q->n == 0)
			continue;
		uint16_t sent = rte_eth_tx_burst(w->gw->ports[p].port_id, w->queue, q->pkts, q->n);
		for (uint16_t i = 0; i < sent; i++)
			w->ctr[p][STATS_PORT_TX_BYTES] += rte_pktmbuf_pkt_len(q->pkts[i]);
		w->ctr[p][STATS_PORT_TX_FRAMES] += sent;
		for (uint16_t i = sent; i < q->n; i++) {
			w->ctr[p][STATS_PORT_TX_RING_FULL]++;
			rte_pktmbuf_free(q->pkts[i]);
		}
		q->n = 0;
	}
}

static void
worker_inbox(struct worker *w)
{
	struct worker_msg msg;

	while (rte_ring_sc_dequeue_elem(w->inbox, &msg, sizeof(msg)) == 0) {
		switch (msg.type) {
		case WORKER_MSG_ARP_LEARN:
			if (msg.port < w->gw->n_ports)
				arp_learn_shared(w, &msg);
			break;
		case WORKER_MSG_LINKEM:
			if (msg.port < w->gw->n_ports) {
				if (msg.flags & CFG_LINKEM_RX)
					linkem_set(w->linkem_rx[msg.port], msg.cfg);
				if (msg.flags & CFG_LINKEM_TX)
					linkem_set(w->linkem_tx[msg.port], msg.cfg);
			}
			break;
		case WORKER_MSG_CONNECT:
			services_probe(w, msg.ip, msg.dport, msg.count, msg.bytes);
			break;
		case WORKER_MSG_CLEAR:
			tcp_clear(w, msg.dport, msg.count, msg.flags & 1);
			break;
		default:
			break;
		}
	}
}

/* Adaptive mode: after a run of empty polls sleep, longer each time, up to the limit. */
static void
worker_idle(struct worker *w)
{
	if (w->cfg->poll_mode != CFG_POLL_ADAPTIVE || ++w->idle_polls < WORKER_IDLE_POLLS)
		return;
	if (w->idle_sleep_us < w->cfg->idle_sleep_max_us)
		w->idle_sleep_us = w->idle_sleep_us ? w->idle_sleep_us * 2 : 1;
	if (w->idle_sleep_us > w->cfg->idle_sleep_max_us)
		w->idle_sleep_us = w->cfg->idle_sleep_max_us;
	struct timespec ts = { 0, (long)w->idle_sleep_us * 1000 };
	nanosleep(&ts, NULL);
}

static unsigned
worker_poll(struct worker *w)
{
	struct rte_mbuf *pkts[2 * WORKER_BURST];
	unsigned total = 0;

	for (unsigned p = 0; p < w->gw->n_ports; p++) {
		uint16_t n = rte_eth_rx_burst(w->gw->ports[p].port_id, w->queue, pkts, WORKER_BURST);
		struct linkem *le = w->linkem_rx[p];
		if (le != NULL && linkem_enabled(le))
			n = n ? linkem_process(le, w->pool, w->now, pkts, n, RTE_DIM(pkts))
			      : linkem_flush(le, w->now, pkts, RTE_DIM(pkts));
		if (n != 0) {
			net_input(w, p, pkts, n);
			total += n;
		}
	}
	return total;
}

static const char *const worker_rl_names[WORKER_RL_COUNT] = {
#define WORKER_RL_NAME(k, name) [WORKER_RL_##k] = name,
	WORKER_RL_KEYS(WORKER_RL_NAME)
#undef WORKER_RL_NAME
};

bool
worker_log_rl(struct worker *w, enum worker_rl key, enum cfg_log_level level)
{
	uint32_t n;

	if (level > w->cfg->log_level)
		return false;
	if (!log_rl_allow(&w->log_rl[key], w->now, w->hz, w->cfg->log_rate_limit, &n)) {
		w->ctr[0][STATS_LOG_SUPPRESSED]++;
		return false;
	}
	if (n != 0)
		WORKER_LOG(w, level, "log: %u similar lines suppressed (%s)", n, worker_rl_names[key]);
	return true;
}

void
worker_log_rl_tick(struct worker *w)
{
	for (unsigned k = 0; k < WORKER_RL_COUNT; k++) {
		uint32_t n = log_rl_pending(&w->log_rl[k], w->now, w->hz);
		if (n != 0)
			WORKER_LOG(w, CFG_LOG_WARNING, "log: %u similar lines suppressed (%s)", n, worker_rl_names[k]);
	}
}

int
worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t tick = w->hz * WORKER_TICK_MS / 1000;

	w->now = rte_rdtsc();
	w->next_tick = w->now + tick;
	w->icmp_last = w->now;
	w->icmp_tokens = (uint64_t)w->cfg->limits.icmp_rate_limit * w->hz;
	if (w->id == 0)
		for (unsigned p = 0; p < w->gw->n_ports; p++)
			arp_announce(w, p);
	services_start(w);
	smtp_server_start(w);
	if (w->gw->rcu != NULL) {
		rte_rcu_qsbr_thread_register(w->gw->rcu, w->id);
		rte_rcu_qsbr_thread_online(w->gw->rcu, w->id);
	}
	WORKER_LOG(w, CFG_LOG_INFO, "worker %u running on lcore %u (cpu %d)", w->id,
		   w->lcore_id, rte_lcore_to_cpu_id((int)w->lcore_id));

	uint64_t pass_start = rte_rdtsc();
	unsigned n = 0;
	while (!w->gw->stop) {
		/* Charge the previous pass (and any idle sleep) to busy or idle. */
		w->now = rte_rdtsc();
		if (n != 0)
			w->busy_cycles += w->now - pass_start;
		else
			w->idle_cycles += w->now - pass_start;
		pass_start = w->now;
		n = worker_poll(w);
		tcp_steer_drain(w);
		worker_inbox(w);
		tcp_timers(w);
		if (w->now >= w->next_tick) {
			w->next_tick = w->now + tick;
			arp_tick(w);
			worker_log_rl_tick(w);
		}
		tcp_events(w);
		worker_tx_flush(w);
		if (w->gw->rcu != NULL)
			rte_rcu_qsbr_quiescent(w->gw->rcu, w->id);
		w->loops++;
		if (n != 0) {
			w->idle_polls = 0;
			w->idle_sleep_us = 0;
		} else {
			worker_idle(w);
		}
	}
	worker_tx_flush(w);
	if (w->gw->rcu != NULL)
		rte_rcu_qsbr_thread_offline(w->gw->rcu, w->id);
	WORKER_LOG(w, CFG_LOG_INFO, "worker %u stopped after %" PRIu64 " loops", w->id, w->loops);
	return 0;
}
