/*
 * smtp_session.h — an inbound SMTP session and its transaction, shared by the
 * server (app/smtp/smtp_server.c: commands, limits, timeouts) and the relay
 * (app/smtp/relay.c: the paired outbound transaction). Private to app/smtp.
 */
#ifndef MAILGW_APP_SMTP_SMTP_SESSION_H
#define MAILGW_APP_SMTP_SMTP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "platform/timer.h"
#include "app/smtp/smtp_parse.h"
#include "app/smtp/smtp_client.h"
#include "app/smtp/received.h"

struct worker;
struct stream;
struct cfg_route;

#define SMTP_IN_BUF     8192    /* input read ahead (commands and message data) */
#define SMTP_OUT_BUF    2048    /* replies not yet taken by the stream */
#define SMTP_RCPT_LOG   400     /* recipients kept for the log line */
#define SMTP_CLOSE_WAIT_S 10    /* after the last reply: seconds before a reset */
#define SMTP_LINE_BUDGET  16    /* a command line past this many times smtp.limits.command_line: closed */

enum smtp_state {
	SMTP_ST_CMD = 0,        /* reading commands */
	SMTP_ST_WAIT,           /* a command waits on the next hop's reply */
	SMTP_ST_DATA,           /* relaying message data */
	SMTP_ST_DATA_END,       /* end of data relayed: waiting for the next hop's verdict */
	SMTP_ST_DISCARD,        /* the message is refused: reading on to its end */
	SMTP_ST_CLOSING,        /* the last reply is queued: closing */
	SMTP_ST_TLS,            /* after 220 to STARTTLS: the handshake runs */
	SMTP_ST_COUNT
};

struct smtp_session {
	struct worker *w;
	struct stream *s;
	enum smtp_state state;
	uint32_t gen;                   /* bumped when the slot is freed */
	bool active;
	bool limit_counted;             /* counted in gw->smtp_limit */
	char id[20];                    /* session id, hex */
	uint32_t client_addr;
	uint16_t client_port;
	uint64_t started;               /* TSC */
	struct policy_gen *policy;      /* the connector table this session started under (held) */
	uint32_t connector;             /* the inbound connector of the last MAIL (CONNECTOR_NONE: default) */
	bool connector_tls_counted;     /* its TLS facts counted for this session */
	const struct cfg_connector_out *out_conn;   /* the outbound connector of the open transaction */
	const struct cfg_connector_out *next_conn;  /* ... of the recipient relay_route() just checked */
	char helo[SMTP_DOMAIN_MAX + 3];
	bool esmtp;
	bool helo_done;
	bool tls;                       /* the session runs over TLS (after STARTTLS) */
	bool tls_failed;                /* its STARTTLS handshake failed */
	bool tls_pending;               /* STARTTLS said 220: the handshake starts once it is all written */
	bool fin_sent;                  /* CLOSING: every reply written, then FIN */
	/* counts */
	unsigned commands, errors, transactions, relayed, failed;
	unsigned junk;                  /* NOOP/RSET/VRFY/HELP/HELO/EHLO since the last message relayed */
	unsigned junk_relayed;          /* relayed when junk was last reset */
	const char *close_reason;
	/* transaction */
	bool in_mail;
	char from[SMTP_PATH_MAX + 1];
	size_t from_len;
	uint64_t size_param;
	enum smtp_body body;
	bool smtputf8;
	unsigned n_rcpt, n_rcpt_tried;
	char rcpt_log[SMTP_RCPT_LOG];
	size_t rcpt_log_len;
	char first_rcpt[SMTP_PATH_MAX + 1];
	size_t first_rcpt_len;
	char cur_rcpt[SMTP_PATH_MAX + 1];       /* the RCPT waiting on the next hop */
	size_t cur_rcpt_len;
	const struct cfg_route *route;
	struct smtp_client *cl;
	bool cl_retried;                /* no retry on a new connection (done, or not a cached one) */
	bool mail_refused;              /* the next hop refused MAIL: answer the RCPT with that */
	unsigned mail_code;
	char mail_text[160];
	enum smtp_client_fail broken;   /* the next hop failed mid-transaction (SMTP_CL_F_COUNT: no) */
	char msg_id[28];
	uint64_t t_mail, t_data, t_eod; /* TSC: MAIL accepted, 354 sent, end of data */
	struct smtp_data_scanner scan;
	unsigned refuse_code;           /* DISCARD: the reply owed at the end of data */
	char refuse_text[160];
	char hdr[RECEIVED_MAX];         /* our Received: field, written ahead of the data (always fits) */
	size_t hdr_len, hdr_off;
	/* deadlines (smtp.timeouts.command from a command line's first octet; the message's from t_data) */
	uint64_t cmd_deadline;          /* TSC: the command line begun must be complete by then; 0: none begun */
	bool timer_deadline;            /* the timer is armed for a deadline, not for idleness */
	/* buffers (not cleared at accept) */
	struct smtp_line line;
	char in[SMTP_IN_BUF];
	size_t in_off, in_len;
	char out[SMTP_OUT_BUF];
	size_t out_len;
	struct timer timer;
	struct smtp_session *next_free;
};

/* ---- server side (smtp_server.c), used by the relay ---- */

/* Queue a reply line (CRLF added). */
void smtp_reply(struct smtp_session *ss, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Count a client error; at smtp.limits.errors_per_session the session ends with 421. */
void smtp_error(struct smtp_session *ss);

/* Send nothing more: FIN after the queued replies; the next hop is reset mid-DATA. */
void smtp_close_session(struct smtp_session *ss, const char *reason);

/* Change state (logged at debug level). */
void smtp_enter_state(struct smtp_session *ss, enum smtp_state st);

/* Process buffered input and new input as far as the state allows, then flush replies. */
void smtp_pump(struct smtp_session *ss);

/* Bytes of input buffered or readable; reads ahead up to max. Returns what is buffered. */
size_t smtp_fill(struct smtp_session *ss, size_t max);

/* Forget the transaction (after the final reply, RSET, or a new EHLO). */
void smtp_txn_reset(struct smtp_session *ss);

/* "203.0.113.10" */
const char *smtp_addr_str(uint32_t a, char buf[16]);

/* ---- relay (relay.c) ---- */

void relay_rcpt(struct smtp_session *ss, const struct smtp_cmd *cmd);
void relay_data(struct smtp_session *ss);

/* One step of the DATA phase; false when it must wait (input or next hop). */
bool relay_data_step(struct smtp_session *ss);

/* End the paired outbound transaction: clean returns the connection to the cache. */
void relay_release(struct smtp_session *ss, bool clean);

#endif
