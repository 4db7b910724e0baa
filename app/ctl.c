/*
 * ctl.c — console command handlers, called by platform/console.c from the
 * control plane's loop, and the same data for rte_telemetry. Output is an
 * aligned table for people or JSON (--json) for scripts.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <arpa/inet.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_telemetry.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "app/ctl.h"
#include "app/worker.h"
#include "app/net/arp.h"
#include "app/net/tcp.h"
#include "app/smtp/smtp_client.h"
#include "app/smtp/smtp_server.h"
#include "crypto/tls.h"
#include "crypto/tls_ticket.h"
#include "crypto/tls_report.h"
#include "platform/log.h"
#include "platform/console_table.h"

/* Process-wide pointer for telemetry callbacks (control plane, set once). */
static struct gw *ctl_gw;

static void
ctl_ip(uint32_t a, char *buf, size_t len)
{
	snprintf(buf, len, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

static void
ctl_mac(const struct rte_ether_addr *m, char *buf, size_t len)
{
	port_format_mac(m, buf, len);
}

static int
ctl_help(struct console_out *o, bool json)
{
	if (!json) {
		char buf[8192];
		console_cmd_help(buf, sizeof(buf));
		console_printf(o, "commands:\n%s", buf);
		return 0;
	}
	console_printf(o, "[");
	for (int i = 0; i < CONSOLE_CMD_MAX; i++) {
		console_printf(o, "%s{\"command\":", i ? "," : "");
		console_json_str(o, console_cmds[i].words);
		console_printf(o, ",\"args\":");
		console_json_str(o, console_cmds[i].args);
		console_printf(o, ",\"help\":");
		console_json_str(o, console_cmds[i].help);
		console_printf(o, "}");
	}
	console_printf(o, "]\n");
	return 0;
}

static int
ctl_show_ports(struct gw *gw, struct console_out *o, bool json)
{
	if (!json)
		console_printf(o, "%-6s %-14s %-17s %-18s %-15s %-5s %-6s %-4s %12s %12s %10s %10s\n",
			       "PORT", "DRIVER", "MAC", "ADDRESS", "GATEWAY", "LINK", "QUEUES",
			       "CSUM", "RX-PACKETS", "TX-PACKETS", "RX-MISSED", "ERRORS");
	else
		console_printf(o, "[");
	for (unsigned i = 0; i < gw->n_ports; i++) {
		const struct port *p = &gw->ports[i];
		struct rte_eth_stats st;
		char mac[32], addr[24], gwa[20], link[16];
		memset(&st, 0, sizeof(st));
		rte_eth_stats_get(p->port_id, &st);
		ctl_mac(&p->mac, mac, sizeof(mac));
		ctl_ip(p->addr, addr, sizeof(addr));
		snprintf(addr + strlen(addr), sizeof(addr) - strlen(addr), "/%u", p->prefix_len);
		if (p->gateway)
			ctl_ip(p->gateway, gwa, sizeof(gwa));
		else
			snprintf(gwa, sizeof(gwa), "-");
		snprintf(link, sizeof(link), "%s", p->link_up ? "up" : "down");
		const char *csum = p->tx_ip_csum ? "hw" : "sw";
		if (!json) {
			console_printf(o, "%-6s %-14s %-17s %-18s %-15s %-5s %-6u %-4s %12" PRIu64
				       " %12" PRIu64 " %10" PRIu64 " %10" PRIu64 "\n", p->name, p->driver,
				       mac, addr, gwa, link, p->n_queues, csum, st.ipackets, st.opackets,
				       st.imissed, st.ierrors + st.oerrors + st.rx_nombuf);
			continue;
		}
		console_printf(o, "%s{\"name\":\"%s\",\"driver\":\"%s\",\"mac\":\"%s\",\"address\":\"%s\","
			       "\"gateway\":\"%s\",\"mtu\":%u,\"link\":\"%s\",\"speed_mbps\":%u,\"queues\":%u,"
			       "\"rss\":%s,\"checksum\":\"%s\",\"rx_packets\":%" PRIu64 ",\"tx_packets\":%" PRIu64
			       ",\"rx_bytes\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ",\"rx_missed\":%" PRIu64
			       ",\"rx_errors\":%" PRIu64 ",\"tx_errors\":%" PRIu64 ",\"rx_nombuf\":%" PRIu64 "}",
			       i ? "," : "", p->name, p->driver, mac, addr, p->gateway ? gwa : "", p->mtu,
			       link, p->link_speed, p->n_queues, p->rss ? "true" : "false", csum,
			       st.ipackets, st.opackets, st.ibytes, st.obytes, st.imissed, st.ierrors,
			       st.oerrors, st.rx_nombuf);
	}
	if (json)
		console_printf(o, "]\n");
	return 0;
}

static int
ctl_port_index(struct gw *gw, const char *name)
{
	for (unsigned i = 0; i < gw->n_ports; i++)
		if (strcmp(gw->ports[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* The KIND column: rx = a received frame consumed, drop = one dropped. */
static const char *const ctl_kind[] = {
	[STATS_EVENT] = "-", [STATS_RX_DONE] = "rx", [STATS_RX_DROP] = "drop", [STATS_TX_DROP] = "tx-drop",
};

static int
ctl_show_stats(struct gw *gw, struct console_out *o, int argc, char **argv, bool json)
{
	const char *prefix = "";
	bool all = false;
	int port = -1;
	uint64_t v[STATS_MAX];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0) {
			all = true;
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			port = ctl_port_index(gw, argv[++i]);
			if (port < 0) {
				console_printf(o, "error: no port named \"%s\"\n", argv[i]);
				return 1;
			}
		} else if (argv[i][0] == '-') {
			console_printf(o, "error: unknown option \"%s\" (usage: show stats [PREFIX] [--all] [--port NAME])\n", argv[i]);
			return 2;
		} else {
			prefix = argv[i];
		}
	}
	stats_sum(gw->workers, gw->n_workers, port, v);
	size_t plen = strlen(prefix);
	bool first = true;
	if (json)
		console_printf(o, "{");
	for (unsigned c = 0; c < STATS_MAX; c++) {
		if (strncmp(stats_desc[c].name, prefix, plen) != 0 || (!all && v[c] == 0 && !json))
			continue;
		if (json)
			console_printf(o, "%s\"%s\":%" PRIu64, first ? "" : ",", stats_desc[c].name, v[c]);
		else
			console_printf(o, "%-24s %14" PRIu64 "  %-7s %s\n", stats_desc[c].name, v[c],
				       ctl_kind[stats_desc[c].kind], stats_desc[c].help);
		first = false;
	}
	if (json)
		console_printf(o, "}\n");
	else if (first)
		console_printf(o, "(no non-zero counters%s%s; --all shows every one)\n",
			       plen ? " matching " : "", prefix);
	return 0;
}

static int
ctl_show_arp(struct gw *gw, struct console_out *o, bool json)
{
	unsigned max = gw->cfg->limits.arp_cache_size;
	struct arp_view *v = calloc(max, sizeof(*v));
	bool first = true;

	if (v == NULL)
		return 1;
	if (json)
		console_printf(o, "[");
	else
		console_printf(o, "%-16s %-17s %-6s %-11s %8s %6s %6s\n", "ADDRESS", "MAC", "PORT",
			       "STATE", "AGE-MS", "QUEUED", "WORKER");
	for (unsigned wi = 0; wi < gw->n_workers; wi++) {
		unsigned n = arp_snapshot(gw->workers[wi], v, max);
		for (unsigned i = 0; i < n; i++) {
			char ip[20], mac[32];
			ctl_ip(v[i].ip, ip, sizeof(ip));
			ctl_mac(&v[i].mac, mac, sizeof(mac));
			const char *port = v[i].port < gw->n_ports ? gw->ports[v[i].port].name : "?";
			if (json)
				console_printf(o, "%s{\"address\":\"%s\",\"mac\":\"%s\",\"port\":\"%s\","
					       "\"state\":\"%s\",\"age_ms\":%" PRIu64 ",\"queued\":%u,\"worker\":%u}",
					       first ? "" : ",", ip, mac, port, arp_state_name(v[i].state),
					       v[i].age_ms, v[i].queued, v[i].worker);
			else
				console_printf(o, "%-16s %-17s %-6s %-11s %8" PRIu64 " %6u %6u\n", ip,
					       v[i].state == ARP_INCOMPLETE ? "(incomplete)" : mac, port,
					       arp_state_name(v[i].state), v[i].age_ms, v[i].queued, v[i].worker);
			first = false;
		}
	}
	if (json)
		console_printf(o, "]\n");
	free(v);
	return 0;
}

static int
ctl_show_config(struct gw *gw, struct console_out *o, bool json)
{
	char *buf = malloc(65536);
	if (buf == NULL)
		return 1;
	config_format(gw->cfg, buf, 65536);
	if (json) {
		console_printf(o, "{\"path\":");
		console_json_str(o, gw->cfg->path);
		console_printf(o, ",\"text\":");
		console_json_str(o, buf);
		console_printf(o, "}\n");
	} else {
		console_printf(o, "# %s\n%s", gw->cfg->path, buf);
	}
	free(buf);
	return 0;
}

static int
ctl_show_workers(struct gw *gw, struct console_out *o, bool json)
{
	if (json)
		console_printf(o, "[");
	else
		console_printf(o, "%-6s %-5s %-4s %12s %16s %16s %6s %9s %9s %7s %6s\n", "WORKER", "LCORE",
			       "CPU", "LOOPS", "BUSY-CYCLES", "IDLE-CYCLES", "BUSY%", "MBUFS", "FREE",
			       "CONNS", "TW");
	for (unsigned i = 0; i < gw->n_workers; i++) {
		const struct worker *w = gw->workers[i];
		uint64_t busy = *(const volatile uint64_t *)&w->busy_cycles;
		uint64_t idle = *(const volatile uint64_t *)&w->idle_cycles;
		uint64_t loops = *(const volatile uint64_t *)&w->loops;
		double pct = busy + idle ? 100.0 * busy / (busy + idle) : 0.0;
		int cpu = rte_lcore_to_cpu_id((int)w->lcore_id);
		unsigned total = w->pool->size, avail = rte_mempool_avail_count(w->pool);
		unsigned conns, tw;
		tcp_usage(w, &conns, &tw);
		if (json)
			console_printf(o, "%s{\"worker\":%u,\"lcore\":%u,\"cpu\":%d,\"loops\":%" PRIu64
				       ",\"busy_cycles\":%" PRIu64 ",\"idle_cycles\":%" PRIu64 ",\"mbufs_total\":%u"
				       ",\"mbufs_avail\":%u,\"connections\":%u,\"time_wait\":%u}",
				       i ? "," : "", w->id, w->lcore_id, cpu, loops, busy, idle, total, avail,
				       conns, tw);
		else
			console_printf(o, "%-6u %-5u %-4d %12" PRIu64 " %16" PRIu64 " %16" PRIu64 " %5.1f%% %9u %9u %7u %6u\n",
				       w->id, w->lcore_id, cpu, loops, busy, idle, pct, total, avail, conns, tw);
	}
	if (json)
		console_printf(o, "]\n");
	return 0;
}

/* Does connection v match every filter word (a port number, an address, a state)? */
static bool
ctl_conn_match(const struct tcp_conn_view *v, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *end;
		unsigned long n = strtoul(argv[i], &end, 10);
		uint32_t a;
		if (*end == '\0' && n <= 65535) {
			if (v->lport != n && v->rport != n)
				return false;
		} else if (config_parse_ipv4(argv[i], &a) == 0) {
			if (v->laddr != a && v->raddr != a)
				return false;
		} else if (strcasecmp(argv[i], tcp_state_name(v->state)) != 0) {
			return false;
		}
	}
	return true;
}

static int
ctl_show_connections(struct gw *gw, struct console_out *o, int argc, char **argv, bool json)
{
	unsigned max = gw->cfg->tcp.max_connections;
	struct tcp_conn_view *v = calloc(max, sizeof(*v));
	bool first = true;

	if (v == NULL)
		return 1;
	if (json)
		console_printf(o, "[");
	else
		console_printf(o, "%-21s %-21s %-12s %8s %9s %9s %12s %12s %6s\n", "LOCAL", "REMOTE",
			       "STATE", "RTT-MS", "CWND", "SND-WND", "BYTES-IN", "BYTES-OUT", "WORKER");
	for (unsigned wi = 0; wi < gw->n_workers; wi++) {
		unsigned n = tcp_snapshot(gw->workers[wi], v, max);
		for (unsigned i = 0; i < n; i++) {
			char l[24], r[24];
			if (!ctl_conn_match(&v[i], argc, argv))
				continue;
			ctl_ip(v[i].laddr, l, sizeof(l));
			ctl_ip(v[i].raddr, r, sizeof(r));
			if (json) {
				console_printf(o, "%s{\"worker\":%u,\"local\":\"%s:%u\",\"remote\":\"%s:%u\","
					       "\"state\":\"%s\",\"rtt_us\":%u,\"cwnd\":%u,\"snd_wnd\":%u,"
					       "\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 "}",
					       first ? "" : ",", v[i].worker, l, v[i].lport, r, v[i].rport,
					       tcp_state_name(v[i].state), v[i].rtt_us, v[i].cwnd, v[i].snd_wnd,
					       v[i].bytes_in, v[i].bytes_out);
			} else {
				char ls[32], rs[32];
				snprintf(ls, sizeof(ls), "%s:%u", l, v[i].lport);
				snprintf(rs, sizeof(rs), "%s:%u", r, v[i].rport);
				console_printf(o, "%-21s %-21s %-12s %8.1f %9u %9u %12" PRIu64 " %12" PRIu64 " %6u\n",
					       ls, rs, tcp_state_name(v[i].state), v[i].rtt_us / 1000.0,
					       v[i].cwnd, v[i].snd_wnd, v[i].bytes_in, v[i].bytes_out, v[i].worker);
			}
			first = false;
		}
	}
	if (json)
		console_printf(o, "]\n");
	free(v);
	return 0;
}

static void
ctl_session_line(struct console_out *o, const struct smtp_session_view *v, unsigned wi, bool json,
		 bool first)
{
	char a[24], c[32];

	ctl_ip(v->client_addr, a, sizeof(a));
	snprintf(c, sizeof(c), "%s:%u", a, v->client_port);
	if (json)
		console_printf(o, "%s{\"id\":\"%s\",\"worker\":%u,\"client\":\"%s\",\"helo\":\"%s\","
			       "\"state\":\"%s\",\"age_s\":%u,\"transactions\":%u,\"relayed\":%u,"
			       "\"failed\":%u,\"next_hop\":\"%s\"}", first ? "" : ",", v->id, wi, c,
			       v->helo, v->state, v->age_s, v->transactions, v->relayed, v->failed,
			       v->next_hop);
	else
		console_printf(o, "%-16s %6u %-21s %-24s %-16s %6u %5u %7u %6u %s\n", v->id, wi, c,
			       v->helo[0] ? v->helo : "-", v->state, v->age_s, v->transactions,
			       v->relayed, v->failed, v->next_hop);
}

/* show sessions: next-hop connections per destination, all workers (in use / limit / waiting). */
static void
ctl_show_destinations(struct gw *gw, struct console_out *o, bool json)
{
	struct smtp_client_dest_view sum[64], v[64];
	unsigned n = 0;

	for (unsigned wi = 0; wi < gw->n_workers; wi++) {
		unsigned k = smtp_client_destinations(gw->workers[wi], v, RTE_DIM(v));
		for (unsigned i = 0; i < k; i++) {
			unsigned j = 0;
			while (j < n && (sum[j].addr != v[i].addr || sum[j].port != v[i].port))
				j++;
			if (j == n && n == RTE_DIM(sum))
				continue;
			if (j == n)
				sum[n++] = (struct smtp_client_dest_view){ .addr = v[i].addr, .port = v[i].port };
			sum[j].in_use += v[i].in_use;
			sum[j].waiting += v[i].waiting;
		}
	}
	unsigned lim = gw->cfg->smtp.client.destination_concurrency;
	unsigned eff = 0;
	for (unsigned i = 0; i < RTE_MAX(1u, gw->n_workers); i++)
		eff += smtp_client_dest_limit(lim, gw->n_workers, i);
	if (json)
		console_printf(o, "\"destination_concurrency\":%u,\"destinations\":[", lim);
	else if (n != 0)
		console_printf(o, "%-21s %6s %6s %7s\n", "NEXT-HOP", "IN-USE", "LIMIT", "WAITING");
	for (unsigned j = 0; j < n; j++) {
		uint32_t a = sum[j].addr;
		char hop[24];
		snprintf(hop, sizeof(hop), "%u.%u.%u.%u:%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255,
			 sum[j].port);
		/* each worker has its share: their sum is the limit in force */
		if (json)
			console_printf(o, "%s{\"next_hop\":\"%s\",\"in_use\":%u,\"limit\":%u,\"waiting\":%u}",
				       j ? "," : "", hop, sum[j].in_use, eff, sum[j].waiting);
		else
			console_printf(o, "%-21s %6u %6u %7u\n", hop, sum[j].in_use, eff, sum[j].waiting);
	}
	if (json)
		console_printf(o, "]}\n");
}

static int
ctl_show_sessions(struct gw *gw, struct console_out *o, bool json)
{
	unsigned max = gw->cfg->smtp.limits.sessions_per_worker;
	struct smtp_session_view *v = calloc(max ? max : 1, sizeof(*v));
	unsigned total = 0, in_use = 0, idle = 0;

	if (v == NULL)
		return 1;
	if (json)
		console_printf(o, "{\"sessions\":[");
	else
		console_printf(o, "%-16s %6s %-21s %-24s %-16s %6s %5s %7s %6s %s\n", "SESSION", "WORKER",
			       "CLIENT", "HELO", "STATE", "AGE-S", "MSGS", "RELAYED", "FAILED", "NEXT-HOP");
	for (unsigned wi = 0; wi < gw->n_workers; wi++) {
		unsigned n = smtp_server_snapshot(gw->workers[wi], v, max);
		for (unsigned i = 0; i < n; i++, total++)
			ctl_session_line(o, &v[i], wi, json, total == 0);
		unsigned u, d;
		smtp_client_usage(gw->workers[wi], &u, &d);
		in_use += u;
		idle += d;
	}
	if (json)
		console_printf(o, "],\"next_hop_connections\":%u,\"cached\":%u,", in_use, idle);
	else
		console_printf(o, "%u session(s); %u next-hop connection(s), %u idle in the cache\n",
			       total, in_use, idle);
	ctl_show_destinations(gw, o, json);
	free(v);
	return 0;
}

static int
ctl_show_certs(struct gw *gw, struct console_out *o, bool json)
{
	struct tls_cert_view v[CFG_MAX_CERTS];
	unsigned n = tls_gen_certs(gw->tls, v, CFG_MAX_CERTS);

	if (json)
		console_printf(o, "[");
	for (unsigned i = 0; i < n; i++) {
		if (json)
			console_printf(o, "%s{\"path\":\"%s\",\"subject\":\"%s\",\"sans\":\"%s\",\"key\":\"%s\","
				       "\"issuer\":\"%s\",\"sha256\":\"%s\",\"not_after\":\"%s\",\"days_left\":%ld}",
				       i ? "," : "", v[i].path, v[i].subject, v[i].sans, v[i].key, v[i].issuer,
				       v[i].sha256, v[i].not_after, v[i].days_left);
		else
			console_printf(o, "certificate %u: %s\n  subject   %s\n  names     %s\n  key       %s\n"
				       "  issuer    %s\n  sha256    %s\n  expires   %s (%ld days%s)\n", i, v[i].path,
				       v[i].subject, v[i].sans, v[i].key, v[i].issuer, v[i].sha256, v[i].not_after,
				       v[i].days_left, v[i].days_left < 0 ? ", EXPIRED" :
				       v[i].days_left <= (long)gw->cfg->tls.expiry_warning_days ? ", renew soon" : "");
	}
	if (json)
		console_printf(o, "]\n");
	else if (n == 0)
		console_printf(o, "no certificates configured (tls.certificates): STARTTLS is not offered\n");
	return 0;
}

static int
ctl_peer_cmp(const void *a, const void *b)
{
	const struct tls_report_peer *x = a, *y = b;

	if (x->outbound != y->outbound)
		return x->outbound ? 1 : -1;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* All workers' peers, merged by (direction, address). Returns how many; *out is malloc'd. */
static unsigned
ctl_tls_peers(struct gw *gw, struct tls_report_peer **out, uint64_t *dropped)
{
	struct tls_report_peer *v = calloc((size_t)gw->n_workers * TLS_REPORT_PEERS, sizeof(*v));
	unsigned n = 0, m = 0;

	*dropped = 0;
	if (v == NULL)
		return 0;
	for (unsigned wi = 0; wi < gw->n_workers; wi++) {
		const struct tls_report *r = gw->workers[wi]->tls_report;
		*dropped += r->dropped;
		for (unsigned i = 0; i < TLS_REPORT_PEERS; i++)
			if (r->peers[i].addr != 0)
				v[n++] = r->peers[i];
	}
	qsort(v, n, sizeof(*v), ctl_peer_cmp);
	for (unsigned i = 0; i < n; i++) {
		if (m != 0 && v[m - 1].addr == v[i].addr && v[m - 1].outbound == v[i].outbound) {
			struct tls_report_peer *p = &v[m - 1];
			p->tls13 += v[i].tls13; p->tls12 += v[i].tls12;
			p->plaintext += v[i].plaintext; p->refused += v[i].refused;
			if (v[i].last_seen > p->last_seen) {
				p->last_seen = v[i].last_seen;
				if (v[i].version != NULL) { p->version = v[i].version; p->cipher = v[i].cipher; }
				if (v[i].refused_version) p->refused_version = v[i].refused_version;
			}
			continue;
		}
		v[m++] = v[i];
	}
	*out = v;
	return m;
}

static int
ctl_show_tls(struct gw *gw, struct console_out *o, int argc, char **argv, bool json)
{
	struct tls_report_peer *v = NULL;
	uint64_t dropped, t13 = 0, t12 = 0, plain = 0, refused = 0;
	int dir = argc > 0 ? (strcmp(argv[0], "in") == 0 ? 0 : strcmp(argv[0], "out") == 0 ? 1 : -2) : -1;
	unsigned n;

	if (dir == -2) {
		console_printf(o, "error: \"%s\": expected in or out\n", argv[0]);
		return 1;
	}
	n = ctl_tls_peers(gw, &v, &dropped);
	if (json)
		console_printf(o, "{\"peers\":[");
	else
		console_printf(o, "%-15s %-4s %6s %6s %6s %8s %-9s %-32s %s\n", "PEER", "DIR", "TLS1.3", "TLS1.2",
			       "PLAIN", "OLD-TLS", "LAST-TLS", "LAST-CIPHER", "REFUSED-VERSION");
	for (unsigned i = 0, k = 0; i < n; i++) {
		const struct tls_report_peer *p = &v[i];
		char a[24];
		if (dir >= 0 && (int)p->outbound != dir)
			continue;
		ctl_ip(p->addr, a, sizeof(a));
		t13 += p->tls13; t12 += p->tls12; plain += p->plaintext; refused += p->refused;
		if (json)
			console_printf(o, "%s{\"peer\":\"%s\",\"direction\":\"%s\",\"tls1_3\":%u,\"tls1_2\":%u,"
				       "\"plaintext\":%u,\"refused_old\":%u,\"last_version\":\"%s\",\"last_cipher\":\"%s\","
				       "\"refused_version\":\"%s\",\"last_seen\":%" PRIu64 "}", k++ ? "," : "", a,
				       p->outbound ? "out" : "in", p->tls13, p->tls12, p->plaintext, p->refused,
				       p->version ? p->version : "", p->cipher ? p->cipher : "",
				       p->refused ? tls_version_name(p->refused_version) : "", p->last_seen);
		else
			console_printf(o, "%-15s %-4s %6u %6u %6u %8u %-9s %-32s %s\n", a, p->outbound ? "out" : "in",
				       p->tls13, p->tls12, p->plaintext, p->refused, p->version ? p->version : "-",
				       p->cipher ? p->cipher : "-", p->refused ? tls_version_name(p->refused_version) : "-");
	}
	if (json)
		console_printf(o, "],\"sessions\":{\"tls1_3\":%" PRIu64 ",\"tls1_2\":%" PRIu64 ",\"plaintext\":%" PRIu64
			       ",\"refused_old\":%" PRIu64 "},\"not_recorded\":%" PRIu64 "}\n", t13, t12, plain, refused,
			       dropped);
	else
		console_printf(o, "sessions: %" PRIu64 " TLS 1.3, %" PRIu64 " TLS 1.2, %" PRIu64 " plaintext, %" PRIu64
			       " refused old TLS%s\n", t13, t12, plain, refused, dropped ? " (some peers not recorded: "
			       "table full)" : "");
	free(v);
	return 0;
}

int
ctl_reload_certs(struct gw *gw, char *msg, size_t len)
{
	char err[CFG_ERR_LEN] = "";
	struct tls_gen *g = tls_gen_create(gw->cfg, err, sizeof(err));
	struct tls_cert_view v[CFG_MAX_CERTS];

	if (g == NULL) {
		snprintf(msg, len, "reload certs refused, the running certificates stay: %s", err);
		log_msg(CFG_LOG_ERR, "tls: %s", msg);
		return -EINVAL;
	}
	unsigned n = tls_gen_certs(g, v, CFG_MAX_CERTS);
	for (unsigned i = 0; i < n; i++)
		if (v[i].days_left < 0 || v[i].not_after[0] == '\0') {
			snprintf(msg, len, "reload certs refused, the running certificates stay: "
				 "tls.certificates.[%u]: %s %s", i, v[i].path, v[i].not_after[0] ?
				 "has expired" : "cannot be read as a certificate");
			log_msg(CFG_LOG_ERR, "tls: %s", msg);
			tls_gen_free(g);
			return -EINVAL;
		}
	struct tls_gen *old = gw->tls;
	__atomic_store_n(&gw->tls, g, __ATOMIC_RELEASE);
	if (gw->rcu != NULL)
		rte_rcu_qsbr_synchronize(gw->rcu, RTE_QSBR_THRID_INVALID);
	tls_gen_free(old);              /* sessions in flight hold wolfSSL references to their contexts */
	gw->tls_generation++;
	snprintf(msg, len, "certificates reloaded: generation %" PRIu64 ", %u certificate(s)", gw->tls_generation, n);
	log_msg(CFG_LOG_INFO, "tls: %s", msg);
	return 0;
}

int
ctl_rotate_tickets(struct gw *gw, uint64_t now)
{
	char err[CFG_ERR_LEN] = "";
	struct tls_ticket_keys *old = gw->tickets;
	struct tls_ticket_keys *k = tls_ticket_keys_rotate(old, now, gw->cfg->tls.session_timeout, err, sizeof(err));

	if (k == NULL) {
		log_msg(CFG_LOG_ERR, "%s; the ticket keys stay as they are", err);
		return -ENOMEM;
	}
	__atomic_store_n(&gw->tickets, k, __ATOMIC_RELEASE);
	if (gw->rcu != NULL && old != NULL)
		rte_rcu_qsbr_synchronize(gw->rcu, RTE_QSBR_THRID_INVALID);
	tls_ticket_keys_free(old);
	log_msg(CFG_LOG_INFO, "tls: session-ticket key %" PRIu64 " in use (%u key(s) accepted)", k->serial, k->n);
	return 0;
}

void
ctl_publish_policy(struct gw *gw, struct policy_gen *g)
{
	struct policy_gen *old = gw->policy;

	__atomic_store_n(&gw->policy, g, __ATOMIC_RELEASE);
	if (gw->rcu != NULL)
		rte_rcu_qsbr_synchronize(gw->rcu, RTE_QSBR_THRID_INVALID);
	if (old != NULL) {              /* no worker sees it now: only its holders keep it */
		old->next_retired = gw->retired;
		gw->retired = old;
	}
}

void
ctl_free_retired(struct gw *gw)
{
	for (struct policy_gen **p = &gw->retired; *p != NULL;) {
		struct policy_gen *g = *p;
		if (policy_gen_unused(g)) {
			*p = g->next_retired;
			log_msg(CFG_LOG_INFO, "connectors: generation %" PRIu64 " freed (no session holds it)", g->serial);
			policy_gen_free(g);
		} else {
			p = &g->next_retired;
		}
	}
}

/* Parse "--name VALUE" options into unsigned longs; returns 0 or prints the error. */
static int
ctl_opt_ulong(struct console_out *o, int *i, int argc, char **argv, unsigned long long *out)
{
	char *end;
	if (*i + 1 >= argc) {
		console_printf(o, "error: %s needs a value\n", argv[*i]);
		return -1;
	}
	*out = strtoull(argv[++*i], &end, 10);
	if (*end != '\0') {
		console_printf(o, "error: %s: \"%s\" is not a number\n", argv[*i - 1], argv[*i]);
		return -1;
	}
	return 0;
}

static int
ctl_post_all(struct gw *gw, struct worker_msg *msg, struct console_out *o)
{
	for (unsigned i = 0; i < gw->n_workers; i++)
		if (worker_post(gw->workers[i], msg) != 0) {
			console_printf(o, "error: worker %u's inbox is full; try again\n", i);
			return 1;
		}
	return 0;
}

static int
ctl_clear_connections(struct gw *gw, struct console_out *o, int argc, char **argv)
{
	unsigned long long port = 0, count = ~0u;
	bool reset = false;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--port") == 0) {
			if (ctl_opt_ulong(o, &i, argc, argv, &port) != 0 || port > 65535)
				return 2;
		} else if (strcmp(argv[i], "--count") == 0) {
			if (ctl_opt_ulong(o, &i, argc, argv, &count) != 0)
				return 2;
		} else if (strcmp(argv[i], "--reset") == 0) {
			reset = true;
		} else {
			console_printf(o, "error: unknown argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	/* Split the count by how many matching connections each worker holds. */
	unsigned max = gw->cfg->tcp.max_connections, left = (unsigned)RTE_MIN(count, (unsigned long long)UINT32_MAX);
	unsigned total = 0;
	struct tcp_conn_view *v = calloc(max, sizeof(*v));
	if (v == NULL)
		return 1;
	for (unsigned wi = 0; wi < gw->n_workers && left > 0; wi++) {
		unsigned n = tcp_snapshot(gw->workers[wi], v, max), mine = 0;
		for (unsigned i = 0; i < n; i++)
			mine += strcmp(tcp_state_name(v[i].state), "ESTABLISHED") == 0 &&
				(port == 0 || v[i].lport == port);
		mine = RTE_MIN(mine, left);
		if (mine == 0)
			continue;
		struct worker_msg msg = { .type = WORKER_MSG_CLEAR, .dport = (uint16_t)port, .count = mine,
					  .flags = reset };
		if (worker_post(gw->workers[wi], &msg) != 0) {
			console_printf(o, "error: worker %u's inbox is full; try again\n", wi);
			free(v);
			return 1;
		}
		left -= mine;
		total += mine;
	}
	free(v);
	console_printf(o, "%s %u connection(s)\n", reset ? "resetting" : "closing", total);
	return 0;
}

static uint64_t
ctl_counter(struct gw *gw, enum stats_id id)
{
	uint64_t v[STATS_MAX];
	stats_sum(gw->workers, gw->n_workers, -1, v);
	return v[id];
}

/* Wait (serving logs) until the probes finish or the timeout passes. */
static bool
ctl_wait_probes(struct gw *gw, uint64_t target, unsigned timeout_s)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (unsigned i = 0; i < timeout_s * 100u; i++) {
		if (ctl_counter(gw, STATS_PROBE_VERIFIED) + ctl_counter(gw, STATS_PROBE_FAILED) >= target)
			return true;
		for (unsigned k = 0; k < gw->n_workers; k++)
			log_drain(gw->workers[k]->log_ring);
		nanosleep(&ts, NULL);
	}
	return false;
}

static int
ctl_tcp_connect(struct gw *gw, struct console_out *o, int argc, char **argv)
{
	unsigned long long count = 1, bytes = 65536, timeout = 60, port;
	uint32_t addr;
	char *end;

	if (argc < 2 || config_parse_ipv4(argv[0], &addr) != 0 ||
	    (port = strtoull(argv[1], &end, 10), *end != '\0') || port == 0 || port > 65535) {
		console_printf(o, "usage: tcp connect ADDRESS PORT [--count N] [--bytes B] [--timeout S]\n");
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		unsigned long long *dst = strcmp(argv[i], "--count") == 0 ? &count :
			strcmp(argv[i], "--bytes") == 0 ? &bytes : strcmp(argv[i], "--timeout") == 0 ? &timeout : NULL;
		if (dst == NULL || ctl_opt_ulong(o, &i, argc, argv, dst) != 0) {
			if (dst == NULL)
				console_printf(o, "error: unknown argument \"%s\"\n", argv[i]);
			return 2;
		}
	}
	if (count == 0 || count > gw->cfg->tcp.max_connections * (unsigned long long)gw->n_workers ||
	    bytes > 0x7fffffffull) {
		console_printf(o, "error: --count 1..%u, --bytes 0..2147483647\n",
			       gw->cfg->tcp.max_connections * gw->n_workers);
		return 2;
	}
	uint64_t v0 = ctl_counter(gw, STATS_PROBE_VERIFIED), f0 = ctl_counter(gw, STATS_PROBE_FAILED);
	for (unsigned i = 0; i < gw->n_workers; i++) {
		uint32_t share = (uint32_t)(count / gw->n_workers + (i < count % gw->n_workers));
		struct worker_msg msg = { .type = WORKER_MSG_CONNECT, .ip = addr, .dport = (uint16_t)port,
					  .count = share, .bytes = bytes };
		if (share != 0 && worker_post(gw->workers[i], &msg) != 0) {
			console_printf(o, "error: worker %u's inbox is full\n", i);
			return 1;
		}
	}
	bool done = ctl_wait_probes(gw, v0 + f0 + count, (unsigned)timeout);
	uint64_t ok = ctl_counter(gw, STATS_PROBE_VERIFIED) - v0, bad = ctl_counter(gw, STATS_PROBE_FAILED) - f0;
	console_printf(o, "%" PRIu64 " of %llu connection(s) verified, %" PRIu64 " failed%s\n", ok, count, bad,
		       done ? "" : " (timed out waiting for the rest)");
	return ok == count ? 0 : 1;
}

/* The control plane's record of each port's impairment (what `show linkem` prints). */
static struct cfg_linkem ctl_linkem_cur[CFG_MAX_PORTS][2];
static struct cfg_linkem ctl_linkem_slots[64];
static unsigned ctl_linkem_next;

static void
ctl_linkem_load(struct gw *gw)
{
	for (unsigned i = 0; i < gw->cfg->n_linkem; i++) {
		const struct cfg_linkem *c = &gw->cfg->linkem[i];
		int p = -1;
		for (unsigned k = 0; k < gw->n_ports; k++)
			if (strcmp(gw->ports[k].name, c->port) == 0)
				p = (int)k;
		if (p < 0)
			continue;
		if (c->direction & CFG_LINKEM_RX)
			ctl_linkem_cur[p][0] = *c;
		if (c->direction & CFG_LINKEM_TX)
			ctl_linkem_cur[p][1] = *c;
	}
}

static int
ctl_show_linkem(struct gw *gw, struct console_out *o, bool json)
{
	static const char *dirs[] = { "rx", "tx" };
	bool first = true;

	if (json)
		console_printf(o, "[");
	else
		console_printf(o, "%-6s %-3s %6s %6s %7s %7s %8s %8s %10s %8s %8s %8s %8s\n", "PORT", "DIR",
			       "LOSS%", "DUP%", "REORD%", "CORR%", "DELAY-US", "JITTER", "PASSED", "LOST",
			       "DUPED", "REORD", "CORRUPT");
	for (unsigned p = 0; p < gw->n_ports; p++)
		for (unsigned d = 0; d < 2; d++) {
			const struct cfg_linkem *c = &ctl_linkem_cur[p][d];
			struct linkem_stats t = { 0 };
			for (unsigned wi = 0; wi < gw->n_workers; wi++) {
				const struct linkem *le = d ? gw->workers[wi]->linkem_tx[p] : gw->workers[wi]->linkem_rx[p];
				t.passed += le->stats.passed;
				t.lost += le->stats.lost;
				t.duplicated += le->stats.duplicated;
				t.reordered += le->stats.reordered;
				t.corrupted += le->stats.corrupted;
			}
			if (json)
				console_printf(o, "%s{\"port\":\"%s\",\"direction\":\"%s\",\"loss\":%g,"
					       "\"duplicate\":%g,\"reorder\":%g,\"corrupt\":%g,\"delay_us\":%u,"
					       "\"jitter_us\":%u,\"passed\":%" PRIu64 ",\"lost\":%" PRIu64
					       ",\"duplicated\":%" PRIu64 ",\"reordered\":%" PRIu64
					       ",\"corrupted\":%" PRIu64 "}", first ? "" : ",", gw->ports[p].name,
					       dirs[d], c->loss, c->duplicate, c->reorder, c->corrupt, c->delay_us,
					       c->jitter_us, t.passed, t.lost, t.duplicated, t.reordered, t.corrupted);
			else
				console_printf(o, "%-6s %-3s %6.2f %6.2f %7.2f %7.2f %8u %8u %10" PRIu64 " %8" PRIu64
					       " %8" PRIu64 " %8" PRIu64 " %8" PRIu64 "\n", gw->ports[p].name, dirs[d],
					       c->loss, c->duplicate, c->reorder, c->corrupt, c->delay_us, c->jitter_us,
					       t.passed, t.lost, t.duplicated, t.reordered, t.corrupted);
			first = false;
		}
	if (json)
		console_printf(o, "]\n");
	return 0;
}

/* "loss=2.5" etc. into c; returns 0 or prints what is wrong. */
static int
ctl_linkem_kv(struct console_out *o, const char *arg, struct cfg_linkem *c)
{
	char key[32];
	const char *eq = strchr(arg, '=');
	char *end;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(key)) {
		console_printf(o, "error: \"%s\": expected key=value\n", arg);
		return -1;
	}
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	double v = strtod(eq + 1, &end);
	if (*end != '\0' || eq[1] == '\0' || v < 0) {
		console_printf(o, "error: %s: \"%s\" is not a non-negative number\n", key, eq + 1);
		return -1;
	}
	double *pct = strcmp(key, "loss") == 0 ? &c->loss : strcmp(key, "duplicate") == 0 ? &c->duplicate :
		      strcmp(key, "reorder") == 0 ? &c->reorder : strcmp(key, "corrupt") == 0 ? &c->corrupt : NULL;
	if (pct != NULL) {
		if (v > 100) {
			console_printf(o, "error: %s: %g is out of range (0..100 percent)\n", key, v);
			return -1;
		}
		*pct = v;
	} else if (strcmp(key, "delay_us") == 0 || strcmp(key, "jitter_us") == 0) {
		if (v > 1000000) {
			console_printf(o, "error: %s: %g is out of range (0..1000000)\n", key, v);
			return -1;
		}
		*(key[0] == 'd' ? &c->delay_us : &c->jitter_us) = (unsigned)v;
	} else if (strcmp(key, "seed") == 0) {
		c->seed = (uint64_t)v;
	} else {
		console_printf(o, "error: unknown setting \"%s\" (loss, duplicate, reorder, corrupt, "
			       "delay_us, jitter_us, seed)\n", key);
		return -1;
	}
	return 0;
}

static int
ctl_linkem_cmd(struct gw *gw, struct console_out *o, int argc, char **argv, bool on)
{
	int p = argc > 0 ? ctl_port_index(gw, argv[0]) : -1;
	int i = 1;
	unsigned dir = CFG_LINKEM_BOTH;

	if (p < 0) {
		console_printf(o, "error: name a configured port (\"%s\")\n", argc ? argv[0] : "");
		return 2;
	}
	if (i < argc && (strcmp(argv[i], "rx") == 0 || strcmp(argv[i], "tx") == 0 || strcmp(argv[i], "both") == 0)) {
		dir = argv[i][0] == 'r' ? CFG_LINKEM_RX : argv[i][0] == 't' ? CFG_LINKEM_TX : CFG_LINKEM_BOTH;
		i++;
	}
	struct cfg_linkem *c = &ctl_linkem_slots[ctl_linkem_next++ % RTE_DIM(ctl_linkem_slots)];
	memset(c, 0, sizeof(*c));
	snprintf(c->port, sizeof(c->port), "%s", gw->ports[p].name);
	c->direction = (enum cfg_linkem_dir)dir;
	c->seed = 1;
	for (; on && i < argc; i++)
		if (ctl_linkem_kv(o, argv[i], c) != 0)
			return 2;
	if (i < argc) {
		console_printf(o, "error: unexpected \"%s\"\n", argv[i]);
		return 2;
	}
	struct worker_msg msg = { .type = WORKER_MSG_LINKEM, .port = (uint16_t)p, .flags = dir,
				  .cfg = on ? c : NULL };
	if (ctl_post_all(gw, &msg, o) != 0)
		return 1;
	if (dir & CFG_LINKEM_RX)
		ctl_linkem_cur[p][0] = on ? *c : (struct cfg_linkem){ 0 };
	if (dir & CFG_LINKEM_TX)
		ctl_linkem_cur[p][1] = on ? *c : (struct cfg_linkem){ 0 };
	log_msg(CFG_LOG_WARNING, "linkem on %s (%s): %s", gw->ports[p].name,
		dir == CFG_LINKEM_BOTH ? "both" : dir == CFG_LINKEM_RX ? "rx" : "tx",
		on ? "impairment set from the console" : "off");
	return ctl_show_linkem(gw, o, false);
}

/* ---- connectors: show connectors, show connector NAME, test connector, reload ---- */

/* A text buffer with snprintf semantics (selector texts, JSON-bound strings). */
struct ctl_text {
	char *buf;
	size_t len, used;
};

static void __attribute__((format(printf, 2, 3)))
ctl_tput(struct ctl_text *t, const char *fmt, ...)
{
	size_t room = t->used < t->len ? t->len - t->used : 0;
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(room ? t->buf + t->used : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->used += (size_t)n;
}

/* "LABEL a, b, c" (at most three, then "+N more"). */
static void
ctl_tput_list(struct ctl_text *t, const char *sep, const char *label, char *const *v, unsigned n)
{
	if (n == 0)
		return;
	ctl_tput(t, "%s%s", t->used ? sep : "", label);
	for (unsigned i = 0; i < n && i < 3; i++)
		ctl_tput(t, "%s %s", i ? "," : "", v[i]);
	if (n > 3)
		ctl_tput(t, " +%u more", n - 3);
}

static void
ctl_net_text(const struct cfg_ip_net *n, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(n->v4 ? AF_INET : AF_INET6, n->v4 ? &n->addr[12] : n->addr, a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, n->prefix_len);
}

static const char *
ctl_tls_min_text(int v)
{
	return v == CFG_TLS_V1_3 ? " 1.3+" : v == CFG_TLS_V1_2 ? " 1.2+" : "";
}

/* A min_tls_version for JSON: "1.2", "1.3" or "" (none). */
static const char *
ctl_tls_version_text(int v)
{
	return v == CFG_TLS_V1_3 ? "1.3" : v == CFG_TLS_V1_2 ? "1.2" : "";
}

/* What selects inbound connector CI and what it requires, on one line. */
static void
ctl_conn_in_text(const struct cfg_connector_in *ci, char *buf, size_t len)
{
	struct ctl_text t = { buf, len, 0 };
	bool cert = ci->n_cert_names || ci->n_pins;
	char net[INET6_ADDRSTRLEN + 8];

	buf[0] = '\0';
	ctl_tput_list(&t, "; ", "cert", ci->cert_names, ci->n_cert_names);
	if (ci->n_pins)
		ctl_tput(&t, "%spinned keys %u", t.used ? "; " : "", ci->n_pins);
	for (unsigned i = 0; i < ci->n_ips && i < 3; i++) {
		ctl_net_text(&ci->ips[i], net, sizeof(net));
		ctl_tput(&t, "%s%s", i ? ", " : t.used ? "; ip " : "ip ", net);
	}
	if (ci->n_ips > 3)
		ctl_tput(&t, " +%u more", ci->n_ips - 3);
	ctl_tput_list(&t, "; ", "sender", ci->sender_domains, ci->n_sender_domains);
	if (ci->require_tls || ci->min_tls_version || cert)
		ctl_tput(&t, "; requires TLS%s%s", ctl_tls_min_text(ci->min_tls_version),
			 cert ? " and its certificate" : "");
	if (ci->restrict_domains_to_certificate || ci->restrict_domains_to_ip_addresses)
		ctl_tput(&t, "; domains only with its %s%s%s", ci->restrict_domains_to_certificate ?
			 "certificate" : "", ci->restrict_domains_to_certificate &&
			 ci->restrict_domains_to_ip_addresses ? " and " : "",
			 ci->restrict_domains_to_ip_addresses ? "addresses" : "");
}

static const char *
ctl_conn_out_level(const struct cfg_route *r)
{
	switch (r->tls_level) {
	case CFG_TLS_ENCRYPT: return "encryption_only";
	case CFG_TLS_CHAIN:   return "certificate_validation";
	case CFG_TLS_SECURE:  return "domain_validation";
	default:              return "opportunistic";
	}
}

/* An outbound connector's recipients, next hop and TLS, on one line. */
static void
ctl_conn_out_text(const struct cfg_connector_out *co, char *buf, size_t len)
{
	struct ctl_text t = { buf, len, 0 };
	const struct cfg_route *r = &co->route;
	char a[20];

	buf[0] = '\0';
	ctl_tput_list(&t, "; ", "rcpt", r->domains, r->n_domains);
	ctl_tput(&t, " ->");
	for (unsigned i = 0; i < r->n_hops && i < 3; i++) {
		ctl_ip(r->hops[i].addr, a, sizeof(a));
		ctl_tput(&t, "%s %s:%u", i ? "," : "", a, r->hops[i].port);
	}
	if (r->n_hops > 3)
		ctl_tput(&t, " +%u more", r->n_hops - 3);
	if (r->n_hops == 0)
		ctl_tput(&t, " routes");
	ctl_tput(&t, "; %s", ctl_conn_out_level(r));
	if (r->tls_level == CFG_TLS_SECURE && r->n_tls_names)
		ctl_tput(&t, " %s", r->tls_names[0]);
	if (co->n_pins)
		ctl_tput(&t, "; pinned keys %u", co->n_pins);
	if (co->min_tls_version)
		ctl_tput(&t, "; TLS%s", ctl_tls_min_text(co->min_tls_version));
}

/* Connector ID's counters summed over g's workers. */
static void
ctl_conn_sum(const struct policy_gen *g, uint32_t id, struct connector_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (unsigned w = 0; w < g->n_workers; w++)
		if (g->ctr[w] != NULL)
			connector_counters_add(sum, &g->ctr[w][id]);
}

static uint64_t
ctl_reasons_total(const uint64_t *v)
{
	uint64_t n = 0;

	for (unsigned r = 0; r < CONNECTOR_R_COUNT; r++)
		n += v[r];
	return n;
}

static void
ctl_json_strs(struct console_out *o, const char *key, char *const *v, unsigned n)
{
	console_printf(o, ",\"%s\":[", key);
	for (unsigned i = 0; i < n; i++) {
		console_printf(o, "%s", i ? "," : "");
		console_json_str(o, v[i]);
	}
	console_printf(o, "]");
}

/* The settings of connector ID as JSON members (after "name"). */
static void
ctl_conn_json_settings(struct console_out *o, const struct connector_table *t, uint32_t id)
{
	const struct cfg_connector_in *ci = connector_inbound(t, id);
	const struct cfg_connector_out *co = connector_outbound(t, id);
	char net[INET6_ADDRSTRLEN + 8];

	if (ci != NULL) {
		ctl_json_strs(o, "sender_domains", ci->sender_domains, ci->n_sender_domains);
		console_printf(o, ",\"sender_ip_addresses\":[");
		for (unsigned i = 0; i < ci->n_ips; i++) {
			ctl_net_text(&ci->ips[i], net, sizeof(net));
			console_printf(o, "%s\"%s\"", i ? "," : "", net);
		}
		console_printf(o, "]");
		ctl_json_strs(o, "tls_sender_certificate_name", ci->cert_names, ci->n_cert_names);
		console_printf(o, ",\"client_cert_spki_pins\":%u,\"require_tls\":%s,\"min_tls_version\":\"%s\""
			       ",\"restrict_domains_to_certificate\":%s,\"restrict_domains_to_ip_addresses\":%s",
			       ci->n_pins, ci->require_tls || ci->min_tls_version || ci->n_cert_names ||
			       ci->n_pins ? "true" : "false", ctl_tls_version_text(ci->min_tls_version),
			       ci->restrict_domains_to_certificate ? "true" : "false",
			       ci->restrict_domains_to_ip_addresses ? "true" : "false");
		return;
	}
	ctl_json_strs(o, "recipient_domains", co->route.domains, co->route.n_domains);
	console_printf(o, ",\"smart_hosts\":[");
	for (unsigned i = 0; i < co->route.n_hops; i++) {
		ctl_ip(co->route.hops[i].addr, net, sizeof(net));
		console_printf(o, "%s\"%s:%u\"", i ? "," : "", net, co->route.hops[i].port);
	}
	console_printf(o, "],\"tls_settings\":\"%s\",\"tls_domain\":", ctl_conn_out_level(&co->route));
	console_json_str(o, co->route.tls_level == CFG_TLS_SECURE && co->route.n_tls_names ?
			 co->route.tls_names[0] : "");
	console_printf(o, ",\"server_spki_pins\":%u,\"min_tls_version\":\"%s\"", co->n_pins,
		       ctl_tls_version_text(co->min_tls_version));
}

/* One connector's row of `show connectors`. */
static void
ctl_conn_row(struct console_out *o, const struct policy_gen *g, uint32_t id, bool json)
{
	const struct cfg_connector_in *ci = connector_inbound(g->table, id);
	const struct cfg_connector_out *co = connector_outbound(g->table, id);
	struct connector_counters c;
	char sel[1024];

	ctl_conn_sum(g, id, &c);
	if (ci != NULL)
		ctl_conn_in_text(ci, sel, sizeof(sel));
	else
		ctl_conn_out_text(co, sel, sizeof(sel));
	enum cfg_connector_mode mode = ci != NULL ? ci->mode : co->mode;
	const char *mname = mode == CFG_CONNECTOR_REPORT_ONLY ? "report_only" : "enforce";
	uint64_t refused = ctl_reasons_total(c.refused), would = ctl_reasons_total(c.would_refuse);
	if (!json) {
		console_printf(o, "%-20s %-3s %-11s %9" PRIu64 " %8" PRIu64 " %12" PRIu64 "  %s\n",
			       connector_name(g->table, id), ci ? "in" : "out", mname, c.accepted, refused,
			       would, sel);
		return;
	}
	console_printf(o, "%s{\"name\":", id ? "," : "");
	console_json_str(o, connector_name(g->table, id));
	console_printf(o, ",\"direction\":\"%s\",\"mode\":\"%s\",\"line\":%d,\"summary\":",
		       ci ? "inbound" : "outbound", mname, ci ? ci->line : co->line);
	console_json_str(o, sel);
	ctl_conn_json_settings(o, g->table, id);
	console_printf(o, ",\"accepted\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"would_refuse\":%" PRIu64 "}",
		       c.accepted, refused, would);
}

static int
ctl_show_connectors(struct gw *gw, struct console_out *o, int argc, char **argv, bool json)
{
	const struct policy_gen *g = gw->policy;        /* only this thread replaces it */
	const struct gw_config *cfg = g->cfg;

	if (argc > 0) {
		console_printf(o, "error: unexpected \"%s\" (show connector NAME shows one)\n", argv[0]);
		return 2;
	}
	if (json) {
		console_printf(o, "{\"generation\":%" PRIu64 ",\"path\":", g->serial);
		console_json_str(o, cfg->path);
		console_printf(o, ",\"inbound\":%u,\"outbound\":%u,\"connectors\":[", cfg->n_connectors_in,
			       cfg->n_connectors_out);
	} else if (g->n_connectors == 0) {
		console_printf(o, "connectors: generation %" PRIu64 ", none configured: every session gets the "
			       "default policy (opportunistic TLS)\n", g->serial);
	} else {
		console_printf(o, "connectors: generation %" PRIu64 ", %u inbound, %u outbound\n"
			       "%-20s %-3s %-11s %9s %8s %12s  %s\n", g->serial, cfg->n_connectors_in,
			       cfg->n_connectors_out, "NAME", "DIR", "MODE", "ACCEPTED", "REFUSED",
			       "WOULD-REFUSE", "SELECTED BY, REQUIRES / RECIPIENTS -> NEXT HOP; TLS");
	}
	for (uint32_t id = 0; id < g->n_connectors; id++)
		ctl_conn_row(o, g, id, json);
	if (json)
		console_printf(o, "]}\n");
	return 0;
}

/* {"name":n,...} of the non-zero entries of V (one per reason, protocol or cipher). */
static void
ctl_json_counts(struct console_out *o, const char *key, const uint64_t *v, unsigned n,
		const char *(*name)(unsigned))
{
	bool first = true;

	console_printf(o, ",\"%s\":{", key);
	for (unsigned i = 0; i < n; i++)
		if (v[i] != 0) {
			console_printf(o, "%s\"%s\":%" PRIu64, first ? "" : ",", name(i), v[i]);
			first = false;
		}
	console_printf(o, "}");
}

static const char *
ctl_reason_at(unsigned i)
{
	return connector_reason_name((enum connector_reason)i);
}

static const char *
ctl_tls_seen_at(unsigned i)
{
	static const char *const n[CONNECTOR_TLS_SEEN_COUNT] = { "plaintext", "tls1_2", "tls1_3" };

	return n[i];
}

static int
ctl_show_connector(struct gw *gw, struct console_out *o, int argc, char **argv, bool json)
{
	const struct policy_gen *g = gw->policy;
	struct connector_counters c;

	char name[4 * CFG_CONNECTOR_NAME_LEN] = "";
	size_t used = 0;

	if (argc < 1) {
		console_printf(o, "usage: show connector NAME (show connectors lists them)\n");
		return 2;
	}
	for (int i = 0; i < argc && used < sizeof(name); i++)  /* a name with spaces comes as words */
		used += (size_t)snprintf(name + used, sizeof(name) - used, "%s%s", i ? " " : "", argv[i]);
	uint32_t id = connector_find(g->table, name);
	if (id == CONNECTOR_NONE) {
		console_printf(o, "error: no connector named \"%s\" in generation %" PRIu64
			       " (show connectors lists them)\n", name, g->serial);
		return 1;
	}
	ctl_conn_sum(g, id, &c);
	int n = connector_describe(g->table, id, NULL, 0) + connector_counters_text(&c, NULL, 0) + 2;
	char *d = malloc((size_t)n), *k;
	if (d == NULL)
		return 1;
	connector_describe(g->table, id, d, (size_t)n);
	k = d + strlen(d) + 1;
	connector_counters_text(&c, k, (size_t)n - strlen(d) - 1);
	if (!json) {
		console_printf(o, "%scounters (generation %" PRIu64 ", all workers):\n%s", d, g->serial, k);
		free(d);
		return 0;
	}
	console_printf(o, "{\"generation\":%" PRIu64 ",\"name\":", g->serial);
	console_json_str(o, name);
	console_printf(o, ",\"direction\":\"%s\"", connector_inbound(g->table, id) ? "inbound" : "outbound");
	ctl_conn_json_settings(o, g->table, id);
	console_printf(o, ",\"description\":");
	console_json_str(o, d);
	console_printf(o, ",\"accepted\":%" PRIu64, c.accepted);
	ctl_json_counts(o, "refused", c.refused, CONNECTOR_R_COUNT, ctl_reason_at);
	ctl_json_counts(o, "would_refuse", c.would_refuse, CONNECTOR_R_COUNT, ctl_reason_at);
	ctl_json_counts(o, "sessions", c.tls, CONNECTOR_TLS_SEEN_COUNT, ctl_tls_seen_at);
	ctl_json_counts(o, "ciphers", c.cipher, CONNECTOR_CIPHER_COUNT, connector_cipher_name);
	console_printf(o, ",\"cert_not_after\":%" PRId64 ",\"cert_seen\":%" PRId64 "}\n", c.cert_not_after,
		       c.cert_seen);
	free(d);
	return 0;
}

/* A certificate file's facts for the simulator: its identities as the workers take them (tls_names.h). */
struct ctl_sim_cert {
	WOLFSSL_X509 *x;
	struct tls_names names;
	const char *sans[TLS_NAMES_MAX];
	char why[CFG_PATH_LEN + 128];
};

/* Text for a wolfSSL verification error (the common ones in OpenSSL's words). */
static const char *
ctl_verify_text(int rc, char *buf, size_t len)
{
	switch (rc) {
	case ASN_NO_SIGNER_E:   return "unable to get local issuer certificate (not issued by tls.ca_file)";
	case ASN_AFTER_DATE_E:  return "certificate has expired";
	case ASN_BEFORE_DATE_E: return "certificate is not yet valid";
	case ASN_SIG_CONFIRM_E: return "certificate signature failure";
	default:
		snprintf(buf, len, "%s (%d)", wc_GetErrorString(rc), rc);
		return buf;
	}
}

/*
 * Verify the leaf of PEM file PATH against CA_FILE as the handshake would:
 * the certificates after the leaf (its chain) are taken as intermediates when
 * they verify themselves. 0, or a wolfSSL error (why in WHY).
 */
static int
ctl_sim_verify(const char *ca_file, const char *path, char *why, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
	enum { PEM_MAX = 1 << 20, CHAIN_MAX = 16 };
	WOLFSSL_CERT_MANAGER *cm = wolfSSL_CertManagerNew();
	const unsigned char *blk[CHAIN_MAX];
	long blen[CHAIN_MAX];
	char *pem = calloc(1, PEM_MAX);
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int rc = -1;

	if (cm == NULL || pem == NULL || f == NULL) {
		snprintf(why, len, "cannot read it again (out of memory, or the file is gone)");
		goto out;
	}
	if (fread(pem, 1, PEM_MAX - 1, f) == 0 || ferror(f)) {
		snprintf(why, len, "cannot read it again");
		goto out;
	}
	for (const char *p = pem, *e; n < CHAIN_MAX && (p = strstr(p, begin)) != NULL &&
	     (e = strstr(p, end)) != NULL; p = e, n++) {
		blk[n] = (const unsigned char *)p;
		blen[n] = (long)(e + sizeof(end) - 1 - p);
	}
	if (wolfSSL_CertManagerLoadCA(cm, ca_file, NULL) != WOLFSSL_SUCCESS) {
		snprintf(why, len, "cannot load tls.ca_file %s", ca_file);
		goto out;
	}
	for (size_t i = n; i-- > 1;)    /* the chain, from the top: intermediates that verify */
		if (wolfSSL_CertManagerVerifyBuffer(cm, blk[i], blen[i], WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS)
			wolfSSL_CertManagerLoadCABuffer(cm, blk[i], blen[i], WOLFSSL_FILETYPE_PEM);
	rc = n ? wolfSSL_CertManagerVerifyBuffer(cm, blk[0], blen[0], WOLFSSL_FILETYPE_PEM) : ASN_PARSE_E;
	if (rc == WOLFSSL_SUCCESS) {
		rc = 0;
	} else {
		char text[128];
		snprintf(why, len, "%s", ctl_verify_text(rc, text, sizeof(text)));
	}
out:
	if (f != NULL)
		fclose(f);
	free(pem);
	if (cm != NULL)
		wolfSSL_CertManagerFree(cm);
	return rc;
}

/* Read q->cert_file into q->f (certificate, SANs, CN, SPKI, verified) and c. 0 or -1 (err). */
static int
ctl_sim_cert_load(const struct gw_config *cfg, struct connector_sim *q, struct ctl_sim_cert *c,
		  char *err, size_t errlen)
{
	unsigned char spki[2048];
	int spki_len = (int)sizeof(spki);
	FILE *f = fopen(q->cert_file, "r");

	if (f == NULL) {
		snprintf(err, errlen, "--cert: cannot open %s: %s (the gateway reads it: give a path it "
			 "can see)", q->cert_file, strerror(errno));
		return -1;
	}
	fclose(f);
	c->x = wolfSSL_X509_load_certificate_file(q->cert_file, WOLFSSL_FILETYPE_PEM);
	if (c->x == NULL) {
		snprintf(err, errlen, "--cert: %s holds no PEM certificate", q->cert_file);
		return -1;
	}
	q->f.cert = true;
	tls_names_of_x509(c->x, &c->names);     /* what a worker takes from it (tls_peer_facts) */
	connector_facts_names(&q->f, &c->names, c->sans, RTE_DIM(c->sans));
	if (wolfSSL_X509_get_pubkey_buffer(c->x, spki, &spki_len) == WOLFSSL_SUCCESS && spki_len > 0)
		q->f.have_spki = wc_Sha256Hash(spki, (word32)spki_len, q->f.spki_sha256) == 0;
	if (cfg->tls.ca_file[0] == '\0')
		snprintf(c->why, sizeof(c->why), "no tls.ca_file to verify it against");
	else
		q->f.cert_verified = ctl_sim_verify(cfg->tls.ca_file, q->cert_file, c->why, sizeof(c->why)) == 0;
	if (!q->f.cert_verified)
		q->f.verify_text = c->why;
	return 0;
}

/* The certificate's facts, as the session's log would see them. */
static void
ctl_sim_cert_print(struct console_out *o, const struct gw_config *cfg, const struct connector_sim *q,
		   const struct ctl_sim_cert *c)
{
	char names[TLS_NAMES_BUF + 2 * TLS_NAMES_MAX];

	tls_names_format(&c->names, names, sizeof(names));
	console_printf(o, "certificate %s: names %s (%s)", q->cert_file, names[0] ? names : "none",
		       c->names.from_cn ? "its CN: no dNSName SAN" : "dNSName SANs");
	if (c->names.invalid || c->names.over)
		console_printf(o, ", %u name(s) refused (not DNS names), %u over the limit", c->names.invalid,
			       c->names.over);
	console_printf(o, ", SPKI SHA-256 ");
	for (unsigned i = 0; q->f.have_spki && i < CFG_SPKI_PIN_LEN; i++)
		console_printf(o, "%02x", q->f.spki_sha256[i]);
	if (q->f.cert_verified)
		console_printf(o, "; chain verified against %s\n", cfg->tls.ca_file);
	else
		console_printf(o, "; not verified: %s\n", c->why);
}

static int
ctl_test_connector(struct gw *gw, struct console_out *o, int argc, char **argv, bool json)
{
	const struct policy_gen *g = gw->policy;
	struct connector_sim *q = calloc(1, sizeof(*q));
	struct ctl_sim_cert c = { 0 };
	char err[CFG_ERR_LEN];
	int rc = 2;

	if (q == NULL)
		return 1;
	if (connector_sim_parse(q, argc, (const char *const *)argv, err, sizeof(err)) != 0) {
		console_printf(o, "error: %s\nusage: test connector --ip A [--sender S] [--recipient R] "
			       "[--cert-name N | --cert FILE] [--tls 1.2|1.3|none]\n", err);
		goto out;
	}
	/* client certificates are verified by the running TLS generation: gw->cfg's tls.ca_file */
	if (q->cert_file[0] && ctl_sim_cert_load(gw->cfg, q, &c, err, sizeof(err)) != 0) {
		console_printf(o, "error: %s\n", err);
		rc = 1;
		goto out;
	}
	int n = connector_simulate(g->table, q, NULL, 0) + 1;
	char *r = malloc((size_t)n);
	if (r == NULL) {
		rc = 1;
		goto out;
	}
	connector_simulate(g->table, q, r, (size_t)n);
	if (json) {
		console_printf(o, "{\"generation\":%" PRIu64 ",\"report\":", g->serial);
		console_json_str(o, r);
		console_printf(o, "}\n");
	} else {
		if (q->cert_file[0])
			ctl_sim_cert_print(o, gw->cfg, q, &c);
		console_printf(o, "%s(connector table generation %" PRIu64 ")\n", r, g->serial);
	}
	free(r);
	rc = 0;
out:
	if (c.x != NULL)
		wolfSSL_X509_free(c.x);
	free(q);
	return rc;
}

/*
 * config_load() checks the configured cores against the calling thread's
 * CPU affinity; the EAL pins the control thread to the control core, so the
 * worker cores would look unusable. Load with the affinity widened to every
 * CPU the kernel allows (cpusets still apply), then put it back.
 */
static int
ctl_config_load(const char *path, struct gw_config *cfg, char *err, size_t errlen)
{
	cpu_set_t saved, all;
	bool widened = false;

	if (pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0) {
		CPU_ZERO(&all);
		for (int i = 0; i < CPU_SETSIZE; i++)
			CPU_SET(i, &all);
		widened = pthread_setaffinity_np(pthread_self(), sizeof(all), &all) == 0;
	}
	int rc = config_load(path, cfg, err, errlen);
	if (widened)
		pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
	return rc;
}

/* The configuration as `show config` writes it, without its connectors (malloc'd; NULL: no memory). */
static char *
ctl_config_text(const struct gw_config *cfg)
{
	struct gw_config *x = malloc(sizeof(*x));
	char *text = NULL;

	if (x == NULL)
		return NULL;
	*x = *cfg;                      /* a shallow copy, only formatted: nothing is freed */
	x->connectors_in = NULL;
	x->connectors_out = NULL;
	x->n_connectors_in = x->n_connectors_out = 0;
	int n = config_format(x, NULL, 0);
	if (n >= 0 && (text = malloc((size_t)n + 1)) != NULL)
		config_format(x, text, (size_t)n + 1);
	free(x);
	return text;
}

/* Whether A and B differ outside the connectors group (true when that cannot be told). */
static bool
ctl_config_differs(const struct gw_config *a, const struct gw_config *b)
{
	char *ta = ctl_config_text(a), *tb = ctl_config_text(b);
	bool differs = ta == NULL || tb == NULL || strcmp(ta, tb) != 0;

	free(ta);
	free(tb);
	return differs;
}

/* `mailgwctl reload`: the configuration file again; its connectors become a new generation. */
static int
ctl_reload(struct gw *gw, struct console_out *o, int argc, char **argv, bool json)
{
	struct gw_config *cfg = calloc(1, sizeof(*cfg));
	const struct policy_gen *cur = gw->policy;
	struct policy_gen *g = NULL;
	char err[CFG_ERR_LEN] = "";

	if (argc > 0) {
		console_printf(o, "error: unexpected \"%s\" (reload takes no arguments; reload certs "
			       "loads the certificates)\n", argv[0]);
		free(cfg);
		return 2;
	}
	if (cfg == NULL || ctl_config_load(gw->cfg->path, cfg, err, sizeof(err)) != 0 ||
	    (g = policy_gen_create(cfg, true, gw->n_workers, cur->serial + 1, err, sizeof(err))) == NULL) {
		if (cfg != NULL)
			config_free(cfg);       /* harmless after a failed config_load() */
		free(cfg);
		log_msg(CFG_LOG_ERR, "reload refused, the running connectors stay: %s", err);
		if (json) {
			console_printf(o, "{\"reloaded\":false,\"generation\":%" PRIu64 ",\"error\":", cur->serial);
			console_json_str(o, err);
			console_printf(o, "}\n");
		} else {
			console_printf(o, "reload refused, the running connectors stay: %s\n", err);
		}
		return 1;
	}
	bool restart = ctl_config_differs(gw->cfg, cfg);
	ctl_publish_policy(gw, g);
	log_msg(CFG_LOG_INFO, "connectors reloaded from %s: generation %" PRIu64 ", %u inbound, %u outbound%s",
		cfg->path, g->serial, cfg->n_connectors_in, cfg->n_connectors_out,
		restart ? " (changes outside connectors wait for a restart)" : "");
	if (json) {
		console_printf(o, "{\"reloaded\":true,\"generation\":%" PRIu64 ",\"inbound\":%u,\"outbound\":%u,"
			       "\"restart_needed\":%s}\n", g->serial, cfg->n_connectors_in, cfg->n_connectors_out,
			       restart ? "true" : "false");
		return 0;
	}
	console_printf(o, "connectors reloaded: generation %" PRIu64 ", %u inbound, %u outbound\n", g->serial,
		       cfg->n_connectors_in, cfg->n_connectors_out);
	if (restart)
		console_printf(o, "note: changes outside `connectors` need a restart (show config shows the "
			       "running configuration)\n");
	return 0;
}

int
ctl_handle(void *ctx, struct console_out *o, int argc, char **argv, bool json)
{
	struct gw *gw = ctx;
	int used = 0;
	const struct console_cmd_desc *cmd = console_cmd_match(argc, argv, &used);

	if (cmd == NULL) {
		console_printf(o, "error: unknown command \"%s\"; try \"help\"\n", argc ? argv[0] : "");
		return 2;
	}
	argc -= used;
	argv += used;
	switch (cmd->id) {
	case CONSOLE_HELP:         return ctl_help(o, json);
	case CONSOLE_SHOW_PORTS:   return ctl_show_ports(gw, o, json);
	case CONSOLE_SHOW_STATS:   return ctl_show_stats(gw, o, argc, argv, json);
	case CONSOLE_SHOW_ARP:     return ctl_show_arp(gw, o, json);
	case CONSOLE_SHOW_CONFIG:  return ctl_show_config(gw, o, json);
	case CONSOLE_SHOW_WORKERS: return ctl_show_workers(gw, o, json);
	case CONSOLE_SHOW_CONNECTIONS: return ctl_show_connections(gw, o, argc, argv, json);
	case CONSOLE_SHOW_SESSIONS: return ctl_show_sessions(gw, o, json);
	case CONSOLE_SHOW_CERTS: return ctl_show_certs(gw, o, json);
	case CONSOLE_SHOW_TLS: return ctl_show_tls(gw, o, argc, argv, json);
	case CONSOLE_RELOAD_CERTS: {
		char m[CFG_ERR_LEN + 128];
		int rc = ctl_reload_certs(gw, m, sizeof(m));
		console_printf(o, "%s%s\n", rc == 0 ? "" : "error: ", m);
		return rc == 0 ? 0 : 1;
	}
	case CONSOLE_CLEAR_CONNECTIONS: return ctl_clear_connections(gw, o, argc, argv);
	case CONSOLE_TCP_CONNECT:  return ctl_tcp_connect(gw, o, argc, argv);
	case CONSOLE_SHOW_LINKEM:  return ctl_show_linkem(gw, o, json);
	case CONSOLE_LINKEM_SET:   return ctl_linkem_cmd(gw, o, argc, argv, true);
	case CONSOLE_LINKEM_OFF:   return ctl_linkem_cmd(gw, o, argc, argv, false);
	case CONSOLE_SHOW_CONNECTORS: return ctl_show_connectors(gw, o, argc, argv, json);
	case CONSOLE_SHOW_CONNECTOR: return ctl_show_connector(gw, o, argc, argv, json);
	case CONSOLE_TEST_CONNECTOR: return ctl_test_connector(gw, o, argc, argv, json);
	case CONSOLE_RELOAD:       return ctl_reload(gw, o, argc, argv, json);
	default:                   return 2;
	}
}

/* /mailgw/stats[,PREFIX]: every counter (matching PREFIX) summed over workers,
 * named with "/" for "." ("icmp/rx_echo_request"). */
static int
ctl_tel_stats(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
	uint64_t v[STATS_MAX];
	const char *prefix = params ? params : "";

	stats_sum(ctl_gw->workers, ctl_gw->n_workers, -1, v);
	rte_tel_data_start_dict(d);
	for (unsigned c = 0; c < STATS_MAX; c++) {
		char name[RTE_TEL_MAX_STRING_LEN];
		if (strncmp(stats_desc[c].name, prefix, strlen(prefix)) != 0)
			continue;
		/* Telemetry names allow [A-Za-z0-9_/]: "icmp.rx_x" becomes "icmp/rx_x". */
		snprintf(name, sizeof(name), "%s", stats_desc[c].name);
		for (char *q = name; *q; q++)
			if (*q == '.')
				*q = '/';
		rte_tel_data_add_dict_u64(d, name, v[c]);
	}
	return 0;
}

/* /mailgw/ports: name -> DPDK port id, link, addresses. */
static int
ctl_tel_ports(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < ctl_gw->n_ports; i++) {
		const struct port *p = &ctl_gw->ports[i];
		struct rte_tel_data *c = rte_tel_data_alloc();
		char ip[20], mac[32];
		if (c == NULL)
			return -ENOMEM;
		rte_tel_data_start_dict(c);
		ctl_ip(p->addr, ip, sizeof(ip));
		ctl_mac(&p->mac, mac, sizeof(mac));
		rte_tel_data_add_dict_int(c, "ethdev_port", p->port_id);
		rte_tel_data_add_dict_string(c, "address", ip);
		rte_tel_data_add_dict_int(c, "prefix_len", p->prefix_len);
		rte_tel_data_add_dict_string(c, "mac", mac);
		rte_tel_data_add_dict_string(c, "link", p->link_up ? "up" : "down");
		rte_tel_data_add_dict_int(c, "queues", p->n_queues);
		rte_tel_data_add_dict_container(d, p->name, c, 0);
	}
	return 0;
}

/* /mailgw/arp: one string per neighbour: "address mac port state worker". */
static int
ctl_tel_arp(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
	unsigned max = ctl_gw->cfg->limits.arp_cache_size;
	struct arp_view *v = calloc(max, sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
	for (unsigned wi = 0; wi < ctl_gw->n_workers; wi++) {
		unsigned n = arp_snapshot(ctl_gw->workers[wi], v, max);
		for (unsigned i = 0; i < n; i++) {
			char ip[20], mac[32], line[RTE_TEL_MAX_STRING_LEN];
			ctl_ip(v[i].ip, ip, sizeof(ip));
			ctl_mac(&v[i].mac, mac, sizeof(mac));
			snprintf(line, sizeof(line), "%s %s %s %s worker%u", ip, mac,
				 ctl_gw->ports[v[i].port].name, arp_state_name(v[i].state), v[i].worker);
			rte_tel_data_add_array_string(d, line);
		}
	}
	free(v);
	return 0;
}

void
ctl_init(struct gw *gw)
{
	ctl_gw = gw;
	ctl_linkem_load(gw);
}

int
ctl_telemetry_register(void)
{
	if (rte_telemetry_register_cmd("/mailgw/stats", ctl_tel_stats,
				       "mailgw counters summed over workers. Parameters: name prefix") != 0 ||
	    rte_telemetry_register_cmd("/mailgw/ports", ctl_tel_ports, "mailgw ports. No parameters") != 0 ||
	    rte_telemetry_register_cmd("/mailgw/arp", ctl_tel_arp, "mailgw neighbour table. No parameters") != 0)
		return -EINVAL;
	return 0;
}
