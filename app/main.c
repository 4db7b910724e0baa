/*
 * main.c — mailgw's entry point and control plane (DESIGN §3): parse the
 * command line, load the configuration, turn it into EAL arguments, create
 * the workers and ports, launch one worker per configured core, then serve
 * the console, drain the workers' logs and watch links until SIGINT/SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_version.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "app/ctl.h"
#include "app/worker.h"
#include "app/policy/route.h"
#include "app/smtp/smtp_limit.h"
#include "crypto/selftest.h"
#include "crypto/tls.h"
#include "crypto/tls_ticket.h"
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include "platform/config.h"
#include "platform/console.h"
#include "platform/log.h"

#define MAILGW_VERSION "0.1.0"
#define MAIN_DEFAULT_CONFIG "/etc/mailgw/mailgw.conf"

#define MAIN_MAX_EAL_ARGS (32 + CFG_MAX_PORTS * 2 + CFG_MAX_EAL_EXTRA)

static volatile sig_atomic_t main_stop_signal;
static volatile sig_atomic_t main_hup;

static void
main_on_signal(int sig)
{
	main_stop_signal = sig;
}

static void
main_on_hup(int sig)
{
	(void)sig;
	main_hup = 1;
}

static void
main_usage(FILE *f)
{
	fprintf(f,
		"usage: mailgw [-c FILE]                run the gateway\n"
		"       mailgw --check-config [-c FILE] validate a configuration and exit\n"
		"       mailgw --version | --help\n"
		"\n"
		"  -c, --config FILE   configuration file (default %s)\n"
		"EAL arguments come from the configuration (system.*, ports.*.device);\n"
		"system.eal_extra_args adds more for experts.\n", MAIN_DEFAULT_CONFIG);
}

/* The EAL command line the configuration asks for. Strings live in store. */
static int
main_eal_args(const struct gw_config *cfg, char **argv, char store[][CFG_DEVICE_LEN])
{
	int argc = 0, s = 0;
	int off;

	argv[argc++] = "mailgw";
	off = snprintf(store[s], CFG_DEVICE_LEN, "0@%u", cfg->control_core);
	for (unsigned i = 0; i < cfg->n_workers && off < CFG_DEVICE_LEN; i++)
		off += snprintf(store[s] + off, CFG_DEVICE_LEN - off, ",%u@%u", i + 1, cfg->worker_cores[i]);
	argv[argc++] = "--lcores";
	argv[argc++] = store[s++];
	argv[argc++] = "--main-lcore";
	argv[argc++] = "0";
	argv[argc++] = "--file-prefix";
	argv[argc++] = (char *)cfg->file_prefix;
	argv[argc++] = "-m";
	snprintf(store[s], CFG_DEVICE_LEN, "%u", cfg->memory_mb);
	argv[argc++] = store[s++];
	if (!cfg->hugepages)
		argv[argc++] = "--no-huge";
	bool any_pci = false;
	for (unsigned i = 0; i < cfg->n_ports; i++)
		any_pci |= cfg->ports[i].is_pci;
	if (!any_pci)
		argv[argc++] = "--no-pci";
	for (unsigned i = 0; i < cfg->n_ports; i++) {
		argv[argc++] = cfg->ports[i].is_pci ? "-a" : "--vdev";
		port_eal_device(cfg->ports[i].device, cfg->n_workers, cfg->limits.rx_descriptors,
				store[s], CFG_DEVICE_LEN);
		argv[argc++] = store[s++];
	}
	argv[argc++] = "--log-level";
	argv[argc++] = cfg->log_level >= CFG_LOG_DEBUG ? "info" : "warning";
	for (unsigned i = 0; i < cfg->n_eal_extra; i++)
		argv[argc++] = (char *)cfg->eal_extra_args[i];
	argv[argc] = NULL;
	return argc;
}

/* Workers, then ports (their RX queues take the workers' pools), then start. */
static int
main_setup(struct gw *gw, char *err, size_t errlen)
{
	const struct gw_config *cfg = gw->cfg;
	struct rte_mempool *pools[CFG_MAX_WORKERS];

	wolfSSL_Init();
	gw->tls = tls_gen_create(cfg, err, errlen);
	if (gw->tls == NULL)
		return -EINVAL;
	gw->tickets = tls_ticket_keys_rotate(NULL, (uint64_t)time(NULL), cfg->tls.session_timeout, err, errlen);
	if (gw->tickets == NULL)
		return -ENOMEM;
	gw->routes = route_table_build(cfg, err, errlen);
	if (gw->routes == NULL)
		return -ENOMEM;
	gw->policy = policy_gen_create(cfg, false, cfg->n_workers, 0, err, errlen);
	if (gw->policy == NULL)
		return -ENOMEM;
	gw->smtp_limit = smtp_limit_create(SMTP_LIMIT_BUCKETS_LOG2_DEFAULT);
	if (gw->smtp_limit == NULL) {
		snprintf(err, errlen, "out of memory for the per-client SMTP limits");
		return -ENOMEM;
	}
	gw->rcu = rte_zmalloc("rcu", rte_rcu_qsbr_get_memsize(cfg->n_workers), RTE_CACHE_LINE_SIZE);
	if (gw->rcu == NULL || rte_rcu_qsbr_init(gw->rcu, cfg->n_workers) != 0) {
		snprintf(err, errlen, "out of memory for the RCU state");
		return -ENOMEM;
	}
	gw->n_workers = cfg->n_workers;
	for (unsigned i = 0; i < cfg->n_workers; i++) {
		gw->workers[i] = worker_create(gw, i, i + 1, err, errlen);
		if (gw->workers[i] == NULL)
			return -ENOMEM;
		pools[i] = gw->workers[i]->pool;
	}
	gw->n_ports = cfg->n_ports;
	for (unsigned i = 0; i < cfg->n_ports; i++) {
		int rc = port_setup(&gw->ports[i], i, &cfg->ports[i], cfg->n_workers, pools,
				    &cfg->limits, err, errlen);
		if (rc != 0)
			return rc;
	}
	for (unsigned i = 0; i < gw->n_ports; i++) {
		int rc = port_start(&gw->ports[i], err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static void
main_log_ports(const struct gw *gw)
{
	for (unsigned i = 0; i < gw->n_ports; i++) {
		const struct port *p = &gw->ports[i];
		char mac[RTE_ETHER_ADDR_FMT_SIZE];
		port_format_mac(&p->mac, mac, sizeof(mac));
		log_msg(CFG_LOG_INFO, "port %s: %s, %s, %u.%u.%u.%u/%u, mtu %u, %u queue(s), rss %s, "
			"checksums %s, link %s", p->name, p->driver, mac, p->addr >> 24,
			(p->addr >> 16) & 0xff, (p->addr >> 8) & 0xff, p->addr & 0xff, p->prefix_len,
			p->mtu, p->n_queues, p->rss ? "on" : "off", p->tx_ip_csum ? "hw" : "sw",
			p->link_up ? "up" : "down");
	}
}

/* Warn about our certificates from tls.expiry_warning_days before they expire (at start, then daily). */
static void
main_check_certs(const struct gw *gw)
{
	struct tls_cert_view v[CFG_MAX_CERTS];
	unsigned n = tls_gen_certs(gw->tls, v, CFG_MAX_CERTS);

	for (unsigned i = 0; i < n; i++) {
		if (v[i].days_left < 0)
			log_msg(CFG_LOG_ERR, "tls: certificate %s (%s) EXPIRED on %s", v[i].path, v[i].subject,
				v[i].not_after);
		else if (v[i].days_left <= (long)gw->cfg->tls.expiry_warning_days)
			log_msg(CFG_LOG_WARNING, "tls: certificate %s (%s) expires in %ld day(s), on %s",
				v[i].path, v[i].subject, v[i].days_left, v[i].not_after);
	}
}

/* The control plane's loop: console, logs, links. */
static void
main_loop(struct gw *gw, int console_fd)
{
	uint64_t next_link = 0, next_cert_check = rte_rdtsc() + 86400 * gw->hz;
	uint64_t rotation = gw->cfg->tls.ticket_key_rotation * gw->hz, next_rotation = rte_rdtsc() + rotation;

	while (main_stop_signal == 0) {
		if (main_hup) {
			char m[CFG_ERR_LEN + 128];
			main_hup = 0;
			log_msg(CFG_LOG_INFO, "SIGHUP: reloading certificates");
			ctl_reload_certs(gw, m, sizeof(m));
		}
		if (rte_rdtsc() >= next_rotation) {
			next_rotation = rte_rdtsc() + rotation;
			ctl_rotate_tickets(gw, (uint64_t)time(NULL));
		}
		ctl_free_retired(gw);
		if (rte_rdtsc() >= next_cert_check) {
			next_cert_check = rte_rdtsc() + 86400 * gw->hz;
			main_check_certs(gw);
		}
		console_poll(console_fd, 10, ctl_handle, gw);   /* and the log rings drained every 10 ms */
		for (unsigned i = 0; i < gw->n_workers; i++)
			log_drain(gw->workers[i]->log_ring);
		if (rte_rdtsc() >= next_link) {
			next_link = rte_rdtsc() + gw->hz;
			for (unsigned i = 0; i < gw->n_ports; i++)
				if (port_poll_link(&gw->ports[i]))
					log_msg(CFG_LOG_WARNING, "port %s: link %s", gw->ports[i].name,
						gw->ports[i].link_up ? "up" : "down");
		}
	}
}

/* Stop workers, flush logs and counters, close ports. */
static void
main_shutdown(struct gw *gw, int console_fd)
{
	uint64_t v[STATS_MAX];

	gw->stop = true;
	rte_eal_mp_wait_lcore();
	for (unsigned i = 0; i < gw->n_workers; i++)
		log_drain(gw->workers[i]->log_ring);
	stats_sum(gw->workers, gw->n_workers, -1, v);
	log_msg(CFG_LOG_INFO, "final counters: rx %" PRIu64 " frames, tx %" PRIu64 " frames, "
		"%" PRIu64 " echo replies, %" PRIu64 " ARP requests answered", v[STATS_PORT_RX_FRAMES],
		v[STATS_PORT_TX_FRAMES], v[STATS_ICMP_TX_ECHO_REPLY], v[STATS_ARP_RX_REQUEST]);
	console_close(console_fd, gw->cfg->console_socket);
	for (unsigned i = 0; i < gw->n_ports; i++)
		port_close(&gw->ports[i]);
	for (unsigned i = 0; i < gw->n_workers; i++)
		worker_destroy(gw->workers[i]);
	smtp_limit_free(gw->smtp_limit);
	route_table_free((struct route_table *)gw->routes);
	tls_gen_free(gw->tls);
	tls_ticket_keys_free(gw->tickets);
	policy_gen_free(gw->policy);
	while (gw->retired != NULL) {
		struct policy_gen *g = gw->retired;
		gw->retired = g->next_retired;
		policy_gen_free(g);
	}
	wolfSSL_Cleanup();
}

static int
main_run(const struct gw_config *cfg)
{
	static struct gw gw;
	static char store[4 + CFG_MAX_PORTS][CFG_DEVICE_LEN];
	char *eal_argv[MAIN_MAX_EAL_ARGS];
	char err[CFG_ERR_LEN] = "";
	int eal_argc = main_eal_args(cfg, eal_argv, store);

	if (crypto_selftest(err, sizeof(err)) != 0) {
		fprintf(stderr, "mailgw: crypto self-test failed: %s\n", err);
		return 1;
	}
	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, "mailgw: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (log_open(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "mailgw: %s\n", err);
		return 1;
	}
	gw.cfg = cfg;
	gw.hz = rte_get_tsc_hz();
	gw.start_tsc = rte_rdtsc();
	log_msg(CFG_LOG_INFO, "mailgw %s starting: %s, %s, %u worker(s), config %s", MAILGW_VERSION,
		rte_version(), crypto_build_features(), cfg->n_workers, cfg->path);
	if (main_setup(&gw, err, sizeof(err)) != 0) {
		log_msg(CFG_LOG_ERR, "%s", err);
		fprintf(stderr, "mailgw: %s\n", err);
		return 1;
	}
	main_log_ports(&gw);
	main_check_certs(&gw);
	int console_fd = console_open(cfg->console_socket, err, sizeof(err));
	if (console_fd < 0) {
		log_msg(CFG_LOG_ERR, "%s", err);
		fprintf(stderr, "mailgw: %s\n", err);
		return 1;
	}
	ctl_init(&gw);
	if (ctl_telemetry_register() != 0)
		log_msg(CFG_LOG_WARNING, "telemetry commands not registered");
	signal(SIGINT, main_on_signal);
	signal(SIGTERM, main_on_signal);
	signal(SIGHUP, main_on_hup);
	signal(SIGPIPE, SIG_IGN);
	for (unsigned i = 0; i < gw.n_workers; i++)
		rte_eal_remote_launch(worker_main, gw.workers[i], gw.workers[i]->lcore_id);
	log_msg(CFG_LOG_INFO, "ready: %u port(s), %u worker(s), console %s", gw.n_ports,
		gw.n_workers, cfg->console_socket);
	if (cfg->smtp.enabled)
		log_msg(CFG_LOG_INFO, "smtp: %s listening on port %u: %u accepted domain(s), %u relay "
			"network(s), %u route(s)", cfg->smtp.hostname, cfg->smtp.port,
			cfg->smtp.n_accepted_domains, cfg->smtp.n_relay_networks, cfg->n_routes);
	main_loop(&gw, console_fd);
	log_msg(CFG_LOG_INFO, "stopping on signal %d", (int)main_stop_signal);
	main_shutdown(&gw, console_fd);
	log_msg(CFG_LOG_INFO, "stopped");
	log_close();
	rte_eal_cleanup();
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct gw_config cfg;
	const char *path = MAIN_DEFAULT_CONFIG;
	bool check = false;
	char err[CFG_ERR_LEN];
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'C': check = true; break;
		case 'V':
			printf("mailgw %s (%s; %s)\n", MAILGW_VERSION, rte_version(), crypto_build_features());
			return 0;
		case 'h': main_usage(stdout); return 0;
		default: main_usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mailgw: unexpected argument \"%s\"\n", argv[optind]);
		main_usage(stderr);
		return 2;
	}
	if (config_load(path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (check) {
		printf("%s: configuration OK\n", path);
		return 0;
	}
	return main_run(&cfg);
}
