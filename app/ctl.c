/*
 * ctl.c — console command handlers, called by platform/console.c from the
 * control plane's loop, and the same data for rte_telemetry. Output is an
 * aligned table for people or JSON (--json) for scripts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_telemetry.h>

#include "app/ctl.h"
#include "app/worker.h"
#include "app/net/arp.h"
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
		char buf[4096];
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
		console_printf(o, "%-6s %-5s %-4s %14s %18s %18s %6s\n", "WORKER", "LCORE", "CPU",
			       "LOOPS", "BUSY-CYCLES", "IDLE-CYCLES", "BUSY%");
	for (unsigned i = 0; i < gw->n_workers; i++) {
		const struct worker *w = gw->workers[i];
		uint64_t busy = *(const volatile uint64_t *)&w->busy_cycles;
		uint64_t idle = *(const volatile uint64_t *)&w->idle_cycles;
		uint64_t loops = *(const volatile uint64_t *)&w->loops;
		double pct = busy + idle ? 100.0 * busy / (busy + idle) : 0.0;
		int cpu = rte_lcore_to_cpu_id((int)w->lcore_id);
		if (json)
			console_printf(o, "%s{\"worker\":%u,\"lcore\":%u,\"cpu\":%d,\"loops\":%" PRIu64
				       ",\"busy_cycles\":%" PRIu64 ",\"idle_cycles\":%" PRIu64 "}",
				       i ? "," : "", w->id, w->lcore_id, cpu, loops, busy, idle);
		else
			console_printf(o, "%-6u %-5u %-4d %14" PRIu64 " %18" PRIu64 " %18" PRIu64 " %5.1f%%\n",
				       w->id, w->lcore_id, cpu, loops, busy, idle, pct);
	}
	if (json)
		console_printf(o, "]\n");
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

int
ctl_telemetry_register(struct gw *gw)
{
	ctl_gw = gw;
	if (rte_telemetry_register_cmd("/mailgw/stats", ctl_tel_stats,
				       "mailgw counters summed over workers. Parameters: name prefix") != 0 ||
	    rte_telemetry_register_cmd("/mailgw/ports", ctl_tel_ports, "mailgw ports. No parameters") != 0 ||
	    rte_telemetry_register_cmd("/mailgw/arp", ctl_tel_arp, "mailgw neighbour table. No parameters") != 0)
		return -EINVAL;
	return 0;
}
