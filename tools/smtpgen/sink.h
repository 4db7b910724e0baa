/*
 * sink.h — smtpgen's sink mode: an SMTP server for benchmarks and tests. It
 * accepts many thousands of concurrent sessions on one epoll, offers
 * PIPELINING, SIZE and (with certificates) STARTTLS, verifies every message
 * against its X-Smtpgen-SHA256 field (sg_msg.h), and can play a slow or
 * failing next hop: per-stage reply codes, delays and failure percentages.
 * On SIGTERM/SIGINT, --exit-after N messages or --duration it prints its
 * report and exits 1 if any message failed verification.
 *
 * sink_opts.c parses the command line, sink.c runs the sessions,
 * sink_report.c prints the report.
 */
#ifndef MAILGW_TOOLS_SMTPGEN_SINK_H
#define MAILGW_TOOLS_SMTPGEN_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "tools/smtpgen/sg_tls.h"

#define SINK_REPLY_MAX     400     /* one configured reply line, CRLF included */
#define SINK_MISMATCH_IDS  10      /* mismatching X-Smtpgen-Id values kept for the report */

/* Where a reply can be configured (and where replies are counted, plus the rest). */
enum sink_stage {
	SS_GREETING, SS_MAIL, SS_RCPT, SS_DATA, SS_EOD,
	SS_CONFIGURABLE,
	SS_EHLO = SS_CONFIGURABLE, SS_STARTTLS, SS_OTHER, SS_COUNT
};

struct sink_stage_cfg {
	char reply[SINK_REPLY_MAX];     /* "CODE TEXT\r\n" from --reply-STAGE, or empty */
	int code;                       /* its code, 0 when none */
	unsigned delay_ms;              /* --delay-STAGE */
	int fail_pct;                   /* --fail-pct STAGE:PCT, -1 when not given */
};

struct sink_opts {
	const char *listen;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *hostname, *json_report, *pid_file;
	bool starttls, json, reject_mismatch, require_hash;
	struct sg_tls_server_opts tls;
	struct sink_stage_cfg stage[SS_CONFIGURABLE];
	uint64_t max_size, exit_after;
	double duration, timeout;
	unsigned max_sessions;
	uint64_t seed;
};

struct sink_stats {
	uint64_t conns, refused, concurrent, max_concurrent;
	uint64_t tls_full, tls_resumed, tls_failed, served[3], client_certs;
	uint64_t messages, verified, mismatched, no_hash, accepted, rejected, too_big, bytes;
	uint64_t codes[SS_COUNT][400];
	char mismatch_ids[SINK_MISMATCH_IDS][72];
	unsigned nmismatch_ids;
	uint64_t t0, t_end, t_first, t_last;
	double cpu_user, cpu_sys;
};

extern const char *const sink_stage_names[SS_COUNT];

/* Parse sink options (argv[0] is "sink"); 0, or -EINVAL after a message on stderr. */
int sink_parse(struct sink_opts *o, int argc, char **argv);
void sink_usage(FILE *f);
/* Serve until told to stop; 0, or -errno on a start-up failure. */
int sink_run(const struct sink_opts *o, struct sink_stats *st);
/* The report, human or JSON, to f. */
void sink_report(const struct sink_opts *o, const struct sink_stats *st, FILE *f, bool json);
/* smtpgen sink ...: the process's exit status. */
int sink_main(int argc, char **argv);

#endif
