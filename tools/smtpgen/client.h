/*
 * client.h — smtpgen's client mode: the load generator. Opens -s sessions
 * (closed loop) or starts messages at a --rate (open loop), speaks ESMTP
 * with PIPELINING and STARTTLS (wolfSSL, session resumption), sends
 * generated messages carrying their body's SHA-256 (sg_msg.h), and reports
 * throughput, handshakes, reply codes, errors, latency and its own CPU time.
 * With --handshake-only a "message" is one session set-up (EHLO, STARTTLS,
 * handshake, EHLO, QUIT): a handshake benchmark without mail.
 *
 * client_opts.c parses the command line, client.c runs the sessions,
 * client_report.c prints the report. Everything is one thread, one epoll.
 */
#ifndef MAILGW_TOOLS_SMTPGEN_CLIENT_H
#define MAILGW_TOOLS_SMTPGEN_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tools/smtpgen/sg_conn.h"
#include "tools/smtpgen/sg_hist.h"
#include "tools/smtpgen/sg_msg.h"
#include "tools/smtpgen/sg_reply.h"
#include "tools/smtpgen/sg_timer.h"
#include "tools/smtpgen/sg_tls.h"
#include "tools/smtpgen/sg_util.h"

#define CLIENT_MIX_MAX      16
#define CLIENT_SESSIONS_MAX 200000
#define CLIENT_RCPTS_MAX    1000
#define CLIENT_SIZE_MAX     (64ull << 20)
#define CLIENT_IN_BUF       2048
#define CLIENT_NAMES        16      /* distinct TLS versions / ciphers counted */

struct client_opts {
	const char *server;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char host[256];
	const char *servername;         /* SNI and certificate name (default: -S's host) */
	unsigned sessions, per_conn, rcpts;
	uint64_t total;                 /* messages; 0 = until --duration */
	double duration;                /* seconds; 0 = until -m */
	uint64_t mix_size[CLIENT_MIX_MAX];
	unsigned mix_weight[CLIENT_MIX_MAX], nmix, mix_total;
	const char *from, *to, *helo, *run;
	bool starttls, pipelining, json, allow_fail, fixed_arrivals;
	bool handshake_only;            /* a "message" is a session set-up: EHLO [STARTTLS, EHLO], QUIT */
	unsigned resume_pct, corrupt;
	double rate, timeout, idle;
	double think;                   /* a slow client: seconds (mean) before each command group; 0 = none */
	unsigned backlog;
	uint64_t seed;
	struct sg_tls_client_opts tls;
};

/* Where in the dialogue something happened (replies and failures are counted per stage). */
enum client_stage {
	CST_CONNECT, CST_GREETING, CST_EHLO, CST_STARTTLS, CST_TLS, CST_MAIL, CST_RCPT,
	CST_DATA, CST_EOD, CST_RSET, CST_QUIT, CST_COUNT
};

/* Kinds of error (events; a failed message is counted once, by its stage). */
enum client_err {
	CE_CONNECT, CE_TIMEOUT, CE_DISCONNECT, CE_IO, CE_BAD_REPLY, CE_TLS,
	CE_NO_STARTTLS, CE_REPLY_4XX, CE_REPLY_5XX, CE_BACKLOG_FULL, CE_COUNT
};

struct client_name_count {
	const char *name;
	uint64_t n;
};

struct client_stats {
	uint64_t attempted, ok, failed, bytes;
	uint64_t conns, tls_full, tls_resumed, resume_tried;
	uint64_t arrivals, late_max_us;
	uint64_t errors[CE_COUNT];
	uint64_t failed_at[CST_COUNT];
	uint64_t final_codes[400];              /* outcome of each message that got a reply */
	uint64_t stage_codes[CST_COUNT][400];   /* every reply, by stage */
	struct sg_hist lat_start, lat_eod;
	struct client_name_count versions[CLIENT_NAMES], ciphers[CLIENT_NAMES], groups[CLIENT_NAMES];
	uint64_t t0, t_end, t_last;             /* start, end, last completed message (ns) */
	double cpu_user, cpu_sys;
};

/* Parse client options (argv[0] is "client"); 0, or -EINVAL after a message on stderr. */
int client_parse(struct client_opts *o, int argc, char **argv);
/* Print the client's usage to f. */
void client_usage(FILE *f);
/* Run the load; fills st. 0, or -errno on a start-up failure. */
int client_run(const struct client_opts *o, struct client_stats *st);
/* Print the report (human table or JSON). */
void client_report(const struct client_opts *o, const struct client_stats *st, FILE *f);
/* smtpgen client ...: parse, run, report; the process's exit status. */
int client_main(int argc, char **argv);

extern const char *const client_stage_names[CST_COUNT];
extern const char *const client_err_names[CE_COUNT];

#endif
