/*
 * console_table.c — the list of console commands and their help text.
 * Linked into both mailgw (platform/console.c dispatches on it) and mailgwctl.
 */
#include <stdio.h>
#include <string.h>

#include "platform/console_table.h"

const struct console_cmd_desc console_cmds[CONSOLE_CMD_MAX] = {
	{ CONSOLE_HELP,         "help",         "",
	  "list the console commands" },
	{ CONSOLE_SHOW_PORTS,   "show ports",   "",
	  "ports: driver, MAC, address, link, queues, offloads, packet counters" },
	{ CONSOLE_SHOW_STATS,   "show stats",   "[PREFIX] [--all] [--port NAME]",
	  "counters whose name starts with PREFIX (non-zero ones unless --all)" },
	{ CONSOLE_SHOW_ARP,     "show arp",     "",
	  "neighbour (ARP) entries of every worker: address, MAC, port, state, age" },
	{ CONSOLE_SHOW_CONFIG,  "show config",  "",
	  "the running configuration with every default filled in" },
	{ CONSOLE_SHOW_WORKERS, "show workers", "",
	  "worker cores: lcore, CPU, loops, busy/idle cycles, packet buffers, connections" },
	{ CONSOLE_SHOW_CONNECTIONS, "show connections", "[PORT|ADDRESS|STATE]...",
	  "TCP connections: tuple, state, RTT, cwnd, bytes in/out, owning worker" },
	{ CONSOLE_CLEAR_CONNECTIONS, "clear connections", "[--port P] [--count N] [--reset]",
	  "close established connections (FIN; RST with --reset)" },
	{ CONSOLE_TCP_CONNECT, "tcp connect", "ADDRESS PORT [--count N] [--bytes B] [--timeout S]",
	  "test: open N connections, send B bytes each, check the echo comes back" },
	{ CONSOLE_SHOW_LINKEM, "show linkem", "",
	  "link impairment per port and direction, with its counters" },
	{ CONSOLE_LINKEM_SET, "linkem set", "PORT [rx|tx|both] [loss=%] [duplicate=%] [reorder=%] "
	  "[corrupt=%] [delay_us=N] [jitter_us=N] [seed=N]",
	  "impair a port (settings not given are 0)" },
	{ CONSOLE_LINKEM_OFF, "linkem off", "PORT [rx|tx|both]",
	  "stop impairing a port" },
	{ CONSOLE_SHOW_SESSIONS, "show sessions", "",
	  "SMTP sessions: id, client, HELO, state, age, messages relayed/failed, next hop; "
	  "next-hop connections in use and cached" },
	{ CONSOLE_SHOW_CERTS, "show certs", "",
	  "our TLS certificates: subject, SANs, key type, issuer, SHA-256 fingerprint, expiry, days left" },
	{ CONSOLE_SHOW_TLS, "show tls", "[in|out]",
	  "peers by TLS: sessions with TLS 1.3, 1.2, plaintext, refused old TLS; last version and cipher" },
	{ CONSOLE_RELOAD_CERTS, "reload certs", "",
	  "load certificates, keys and CA bundles again (also SIGHUP); a broken set is refused, the old stays" },
	{ CONSOLE_SHOW_CONNECTORS, "show connectors", "",
	  "connector table and generation: per connector what selects it or its next hop and TLS, "
	  "messages accepted, refused, would-refuse" },
	{ CONSOLE_SHOW_CONNECTOR, "show connector", "NAME",
	  "one connector's policy and counters: refusals by reason, TLS versions and ciphers, "
	  "partner certificate expiry" },
	{ CONSOLE_TEST_CONNECTOR, "test connector", "--ip A [--sender S] [--recipient R] "
	  "[--cert-name N | --cert FILE] [--tls 1.2|1.3|none]",
	  "simulate on the live table: each direction's connector, why, the decision and reply" },
	{ CONSOLE_RELOAD, "reload", "",
	  "publish the configuration file's connectors (sessions keep theirs); a broken file is refused" },
};

const struct console_cmd_desc *
console_cmd_match(int argc, char **argv, int *n_words)
{
	const struct console_cmd_desc *best = NULL;
	int best_n = 0;

	for (int i = 0; i < CONSOLE_CMD_MAX; i++) {
		char words[64];
		char *save = NULL;
		int n = 0, ok = 1;
		snprintf(words, sizeof(words), "%s", console_cmds[i].words);
		for (char *t = strtok_r(words, " ", &save); t; t = strtok_r(NULL, " ", &save), n++)
			if (n >= argc || strcmp(t, argv[n]) != 0) {
				ok = 0;
				break;
			}
		if (ok && n > best_n) {
			best = &console_cmds[i];
			best_n = n;
		}
	}
	*n_words = best_n;
	return best;
}

int
console_cmd_help(char *buf, unsigned long len)
{
	int off = 0;

	for (int i = 0; i < CONSOLE_CMD_MAX && (unsigned long)off < len; i++) {
		char left[160];
		snprintf(left, sizeof(left), "%s%s%s", console_cmds[i].words,
			 console_cmds[i].args[0] ? " " : "", console_cmds[i].args);
		if (strlen(left) > 44)
			off += snprintf(buf + off, len - off, "  %s\n  %-44s %s\n", left, "", console_cmds[i].help);
		else
			off += snprintf(buf + off, len - off, "  %-44s %s\n", left, console_cmds[i].help);
	}
	return off;
}
