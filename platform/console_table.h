/*
 * console_table.h — the console's command list, shared by the gateway (which
 * dispatches on it) and mailgwctl (which prints it for `help`), so the help
 * can never drift from what the gateway accepts.
 */
#ifndef MAILGW_PLATFORM_CONSOLE_TABLE_H
#define MAILGW_PLATFORM_CONSOLE_TABLE_H

#define CONSOLE_DEFAULT_SOCKET "/run/mailgw/console.sock"
#define CONSOLE_MAX_REQUEST    1024
#define CONSOLE_MAX_ARGS       16

enum console_cmd_id {
	CONSOLE_HELP,
	CONSOLE_SHOW_PORTS,
	CONSOLE_SHOW_STATS,
	CONSOLE_SHOW_ARP,
	CONSOLE_SHOW_CONFIG,
	CONSOLE_SHOW_WORKERS,
	CONSOLE_SHOW_CONNECTIONS,
	CONSOLE_CLEAR_CONNECTIONS,
	CONSOLE_TCP_CONNECT,
	CONSOLE_SHOW_LINKEM,
	CONSOLE_LINKEM_SET,
	CONSOLE_LINKEM_OFF,
	CONSOLE_SHOW_SESSIONS,
	CONSOLE_SHOW_CERTS,
	CONSOLE_SHOW_TLS,
	CONSOLE_RELOAD_CERTS,
	CONSOLE_SHOW_CONNECTORS,
	CONSOLE_SHOW_CONNECTOR,
	CONSOLE_TEST_CONNECTOR,
	CONSOLE_RELOAD,
	CONSOLE_CMD_MAX
};

struct console_cmd_desc {
	enum console_cmd_id id;
	const char *words;      /* "show stats" */
	const char *args;       /* "[PREFIX] [--all]" */
	const char *help;
};

extern const struct console_cmd_desc console_cmds[CONSOLE_CMD_MAX];

/*
 * Match argv against the table (longest command words first). Returns the
 * command and sets *n_words to how many argv entries it used; NULL when
 * nothing matches.
 */
const struct console_cmd_desc *console_cmd_match(int argc, char **argv, int *n_words);

/* Write the command list, one aligned line per command, into buf (snprintf semantics). */
int console_cmd_help(char *buf, unsigned long len);

#endif
