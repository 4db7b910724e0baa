/*
 * smtp_server.c — the inbound ESMTP session (RFC 5321) on the stream API:
 * accept with per-worker and per-client limits, greeting, the command table
 * with PIPELINING (input is read ahead and replies are flushed when the
 * session has to wait), limits and timeouts, and the session log. RCPT and
 * DATA hand over to the relay (relay.c), which pairs the transaction with
 * one to the next hop. Called from the worker loop's stream events/timers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <rte_common.h>
#include <rte_malloc.h>

#include "app/worker.h"
#include "app/net/stream.h"
#include "app/net/tcp.h"
#include "app/smtp/smtp_server.h"
#include "app/smtp/smtp_session.h"
#include "app/smtp/smtp_limit.h"
#include "crypto/tls.h"
#include "crypto/tls_report.h"

struct smtp_ctx {
	struct smtp_session *sessions;
	unsigned n, active;
	struct smtp_session *free;
	uint64_t seq;
	uint32_t boot;                  /* start time, for ids */
};

static const char *const smtp_state_names[SMTP_ST_COUNT] = {
	[SMTP_ST_CMD] = "command", [SMTP_ST_WAIT] = "wait-next-hop", [SMTP_ST_DATA] = "data",
	[SMTP_ST_DATA_END] = "wait-final-reply", [SMTP_ST_DISCARD] = "data-refused",
	[SMTP_ST_CLOSING] = "closing", [SMTP_ST_TLS] = "tls-handshake",
};

static const struct stream_ops smtp_stream_ops;

static struct smtp_ctx *
smtp_ctx(const struct worker *w)
{
	return w->smtp;
}

const char *
smtp_addr_str(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
	return buf;
}

static const char *
smtp_host(const struct smtp_session *ss)
{
	return ss->w->cfg->smtp.hostname;
}

/* ---- set-up ---- */

int
smtp_server_init(struct worker *w)
{
	unsigned n = w->cfg->smtp.limits.sessions_per_worker;
	struct smtp_ctx *x;

	if (!w->cfg->smtp.enabled)
		return 0;
	x = rte_zmalloc("smtp", sizeof(*x), RTE_CACHE_LINE_SIZE);
	if (x == NULL)
		return -ENOMEM;
	x->sessions = rte_zmalloc("smtp_sessions", (size_t)n * sizeof(struct smtp_session), RTE_CACHE_LINE_SIZE);
	if (x->sessions == NULL) {
		rte_free(x);
		return -ENOMEM;
	}
	x->n = n;
	for (unsigned i = n; i-- > 0;) {
		x->sessions[i].next_free = x->free;
		x->free = &x->sessions[i];
	}
	x->boot = (uint32_t)time(NULL);
	w->smtp = x;
	if (smtp_client_init(w) != 0) {
		smtp_server_fini(w);
		return -ENOMEM;
	}
	return 0;
}

void
smtp_server_fini(struct worker *w)
{
	struct smtp_ctx *x = smtp_ctx(w);

	smtp_client_fini(w);
	if (x == NULL)
		return;
	rte_free(x->sessions);
	rte_free(x);
	w->smtp = NULL;
}

/* ---- output ---- */

static void smtp_tls_begin(struct smtp_session *ss);

/*
 * Write the queued replies, as far as the stream takes them (the rest on its
 * writable event). Once all are out: the TLS handshake after a 220 to
 * STARTTLS, or the FIN of a closing session.
 */
static void
smtp_flush(struct smtp_session *ss)
{
	if (ss->s == NULL)
		return;
	if (ss->out_len != 0) {
		ssize_t n = stream_write(ss->s, ss->out, ss->out_len);
		if (n <= 0)
			return;
		memmove(ss->out, ss->out + n, ss->out_len - (size_t)n);
		ss->out_len -= (size_t)n;
		if (ss->out_len != 0)
			return;
	}
	if (ss->tls_pending)
		smtp_tls_begin(ss);
	else if (ss->state == SMTP_ST_CLOSING && !ss->fin_sent) {
		ss->fin_sent = true;
		stream_shutdown(ss->s);
	}
}

void
smtp_reply(struct smtp_session *ss, const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	if (ss->out_len + (size_t)n > sizeof(ss->out))
		smtp_flush(ss);
	if (ss->out_len + (size_t)n > sizeof(ss->out)) {
		/* the client reads no replies: stop talking to it */
		smtp_close_session(ss, "client not reading replies");
		return;
	}
	memcpy(ss->out + ss->out_len, line, (size_t)n);
	ss->out_len += (size_t)n;
}

/* ---- state, timers, closing ---- */

void
smtp_enter_state(struct smtp_session *ss, enum smtp_state st)
{
	if (ss->state == st)
		return;
	if (ss->w->cfg->log_level >= CFG_LOG_DEBUG)
		WORKER_LOG(ss->w, CFG_LOG_DEBUG, "smtp: session=%s %s -> %s", ss->id,
			   smtp_state_names[ss->state], smtp_state_names[st]);
	ss->state = st;
}

/*
 * The message's deadline (TSC), relayed or refused alike: smtp.timeouts.message
 * after the 354, and sooner for a slow one: smtp.timeouts.data plus one
 * second per smtp.limits.min_data_rate octets received (counted up to
 * message_size), Postfix's smtpd_min_data_rate.
 */
static uint64_t
smtp_message_deadline(const struct smtp_session *ss)
{
	const struct cfg_smtp *c = &ss->w->cfg->smtp;
	uint64_t secs = c->timeouts.message;

	if (c->limits.min_data_rate != 0) {
		uint64_t bytes = RTE_MIN(ss->scan.raw_bytes, c->limits.message_size);
		secs = RTE_MIN(secs, c->timeouts.data + bytes / c->limits.min_data_rate);
	}
	return ss->t_data + secs * ss->w->hz;
}

/*
 * The timer for what the session waits on: the client (command/data
 * timeout, re-armed by input; or the deadline of the command line or
 * message under way, which input never moves, whichever comes first) or
 * closing.
 */
static void
smtp_rearm(struct smtp_session *ss)
{
	struct worker *w = ss->w;
	const struct cfg_smtp_timeouts *t = &w->cfg->smtp.timeouts;
	uint64_t deadline = 0;
	unsigned secs;

	switch (ss->state) {
	case SMTP_ST_CMD:
		deadline = ss->cmd_deadline;
		/* fall through */
	case SMTP_ST_TLS:
		secs = t->command;
		break;
	case SMTP_ST_DATA:
	case SMTP_ST_DISCARD:
		secs = t->data;
		deadline = smtp_message_deadline(ss);
		break;
	case SMTP_ST_CLOSING:
		secs = SMTP_CLOSE_WAIT_S;
		break;
	default:                /* the next hop's timeouts run instead */
		timer_cancel(&w->timers, &ss->timer);
		return;
	}
	uint64_t at = w->now + (uint64_t)secs * w->hz;
	ss->timer_deadline = deadline != 0 && deadline <= at;
	timer_arm(&w->timers, &ss->timer, ss->timer_deadline ? deadline : at);
}

static void
smtp_log_session(struct smtp_session *ss)
{
	char a[16];
	struct worker *w = ss->w;
	uint64_t ms = (w->now - ss->started) * 1000 / w->hz;

	WORKER_LOG_RL(w, WORKER_RL_SMTP_DISCONNECT, CFG_LOG_INFO,
		      "smtp: session=%s disconnect client=%s:%u helo=%s duration=%" PRIu64
		   ".%03" PRIu64 "s commands=%u errors=%u transactions=%u relayed=%u failed=%u reason=%s",
		   ss->id, smtp_addr_str(ss->client_addr, a), ss->client_port, ss->helo[0] ? ss->helo : "-",
		   ms / 1000, ms % 1000, ss->commands, ss->errors, ss->transactions, ss->relayed,
		   ss->failed, ss->close_reason ? ss->close_reason : "closed");
}

static void
smtp_free(struct smtp_session *ss)
{
	struct worker *w = ss->w;
	struct smtp_ctx *x = smtp_ctx(w);

	smtp_log_session(ss);
	if (!ss->tls && !ss->tls_failed && ss->commands != 0)
		tls_report_session(w->tls_report, ss->client_addr, false, NULL, NULL);
	timer_cancel(&w->timers, &ss->timer);
	if (ss->cl != NULL)
		relay_release(ss, false);
	if (ss->limit_counted)
		smtp_limit_close(w->gw->smtp_limit, ss->client_addr);
	policy_gen_release(ss->policy);
	ss->policy = NULL;
	ss->active = false;
	ss->gen++;
	ss->s = NULL;
	ss->next_free = x->free;
	x->free = ss;
	x->active--;
}

/* Queue nothing more: flush, FIN, and reset if the client has not closed in SMTP_CLOSE_WAIT_S. */
void
smtp_close_session(struct smtp_session *ss, const char *reason)
{
	if (ss->state == SMTP_ST_CLOSING)
		return;
	if (ss->close_reason == NULL)
		ss->close_reason = reason;
	if (ss->cl != NULL)
		relay_release(ss, ss->state == SMTP_ST_CMD || ss->state == SMTP_ST_WAIT);
	smtp_enter_state(ss, SMTP_ST_CLOSING);
	ss->tls_pending = false;
	smtp_flush(ss);                 /* FIN once the replies are all out */
	smtp_rearm(ss);
}

/*
 * A command line or a message not complete by its deadline, however
 * steadily its octets trickle in (slowloris): 421 4.4.2, closed, counted,
 * logged. Mid-DATA the next hop gets a reset, never an end of data.
 */
static void
smtp_deadline_exceeded(struct smtp_session *ss)
{
	struct worker *w = ss->w;
	bool cmd = ss->state == SMTP_ST_CMD;
	uint64_t secs = (w->now - (cmd ? ss->cmd_deadline - (uint64_t)w->cfg->smtp.timeouts.command * w->hz :
				   ss->t_data)) / w->hz;
	uint64_t bytes = cmd ? ss->line.total : ss->scan.raw_bytes;
	char a[16];

	w->ctr[0][cmd ? STATS_SMTP_COMMAND_DEADLINE : ss->state == SMTP_ST_DATA ? STATS_SMTP_DATA_DEADLINE :
		  STATS_SMTP_DISCARD_DEADLINE]++;
	WORKER_LOG_RL(w, WORKER_RL_SMTP_DEADLINE, CFG_LOG_WARNING, "smtp: session=%s client=%s: %s not complete "
		      "by its deadline (%" PRIu64 " octets in %" PRIu64 " s), session closed", ss->id,
		      smtp_addr_str(ss->client_addr, a), cmd ? "command line" : ss->state == SMTP_ST_DATA ?
		      "message" : "refused message", bytes, secs);
	if (!cmd)
		ss->failed++;
	smtp_reply(ss, "421 4.4.2 %s Error: %s deadline exceeded", smtp_host(ss), cmd ? "command" : "message");
	smtp_close_session(ss, cmd ? "command deadline" : "message deadline");
}

static void
smtp_timer_fired(struct timer *t, void *arg)
{
	struct smtp_session *ss = arg;
	struct worker *w = ss->w;

	(void)t;
	if (ss->state == SMTP_ST_CLOSING) {
		struct stream *s = ss->s;
		if (s != NULL) {
			s->ctx = NULL;
			stream_abort(s);
		}
		smtp_free(ss);
		return;
	}
	if (ss->timer_deadline) {
		smtp_deadline_exceeded(ss);
		return;
	}
	w->ctr[0][STATS_SMTP_TIMEOUTS]++;
	WORKER_LOG_RL(w, WORKER_RL_SMTP_TIMEOUT, CFG_LOG_INFO, "smtp: session=%s timeout in state %s", ss->id,
		   smtp_state_names[ss->state]);
	if (ss->state == SMTP_ST_TLS) {         /* no reply can be sent in the middle of a handshake */
		w->ctr[0][STATS_TLS_FAIL_TIMEOUT]++;
		ss->tls_failed = true;
		smtp_close_session(ss, "TLS handshake timed out");
		return;
	}
	smtp_reply(ss, "421 4.4.2 %s Error: timeout exceeded", smtp_host(ss));
	smtp_close_session(ss, "timeout");
}

void
smtp_error(struct smtp_session *ss)
{
	struct worker *w = ss->w;

	w->ctr[0][STATS_SMTP_CMD_ERRORS]++;
	if (++ss->errors < w->cfg->smtp.limits.errors_per_session)
		return;
	w->ctr[0][STATS_SMTP_TOO_MANY_ERRORS]++;
	smtp_reply(ss, "421 4.7.0 %s Error: too many errors", smtp_host(ss));
	smtp_close_session(ss, "too many errors");
}

/*
 * A command that moves no mail on (NOOP, RSET, VRFY, HELP, HELO/EHLO): past
 * smtp.limits.junk_commands since the last message relayed, each counts as
 * an error, so complete lines sent slowly cannot hold a session for ever
 * either (Postfix's smtpd_junk_command_limit).
 */
static void
smtp_junk(struct smtp_session *ss)
{
	struct worker *w = ss->w;

	if (ss->junk_relayed != ss->relayed) {
		ss->junk_relayed = ss->relayed;
		ss->junk = 0;
	}
	if (++ss->junk <= w->cfg->smtp.limits.junk_commands)
		return;
	w->ctr[0][STATS_SMTP_JUNK_COMMANDS]++;
	smtp_error(ss);
}

/* ---- input ---- */

size_t
smtp_fill(struct smtp_session *ss, size_t max)
{
	if (ss->in_off == ss->in_len) {
		ss->in_off = ss->in_len = 0;
		if (ss->s != NULL) {
			ssize_t n = stream_read(ss->s, ss->in, RTE_MIN(max, sizeof(ss->in)));
			if (n > 0)
				ss->in_len = (size_t)n;
		}
	}
	return ss->in_len - ss->in_off;
}

void
smtp_txn_reset(struct smtp_session *ss)
{
	if (ss->cl != NULL)
		relay_release(ss, true);
	ss->in_mail = false;
	ss->from_len = 0;
	ss->size_param = 0;
	ss->body = SMTP_BODY_NONE;
	ss->smtputf8 = false;
	ss->n_rcpt = ss->n_rcpt_tried = 0;
	ss->rcpt_log_len = 0;
	ss->rcpt_log[0] = '\0';
	ss->first_rcpt_len = 0;
	ss->route = NULL;
	ss->out_conn = NULL;
	ss->cl_retried = false;
	ss->mail_refused = false;
	ss->broken = SMTP_CL_F_COUNT;
	ss->hdr_len = ss->hdr_off = 0;
	ss->refuse_code = 0;
}

/* ---- commands ---- */

static void
smtp_cmd_helo(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	const struct cfg_smtp *c = &ss->w->cfg->smtp;

	smtp_txn_reset(ss);
	snprintf(ss->helo, sizeof(ss->helo), "%.*s", (int)cmd->arg_len, cmd->arg);
	ss->helo_done = true;
	ss->esmtp = cmd->verb == SMTP_VERB_EHLO;
	if (!ss->esmtp) {
		smtp_reply(ss, "250 %s", c->hostname);
	} else {
		smtp_reply(ss, "250-%s", c->hostname);
		smtp_reply(ss, "250-PIPELINING");
		smtp_reply(ss, "250-SIZE %" PRIu64, c->limits.message_size);
		smtp_reply(ss, "250-8BITMIME");
		if (!ss->tls && tls_gen_server_ready(gw_tls(ss->w->gw)))
			smtp_reply(ss, "250-STARTTLS");
		smtp_reply(ss, "250-ENHANCEDSTATUSCODES");
		smtp_reply(ss, "250 SMTPUTF8");
	}
	smtp_junk(ss);
}

/* What the connector table is asked about this session at MAIL (sans: room for the certificate's names). */
static void
smtp_connector_facts(const struct smtp_session *ss, const struct smtp_path *from, struct connector_facts *f,
		     const char **sans, unsigned max_sans)
{
	const struct tls_info *ti = ss->tls && ss->s != NULL ? tls_stream_info(ss->s) : NULL;
	const char *at = from->addr_len ? memrchr(from->addr, '@', from->addr_len) : NULL;

	memset(f, 0, sizeof(*f));
	f->addr4 = ss->client_addr;
	if (at != NULL) {
		f->sender_domain = at + 1;
		f->sender_len = from->addr_len - (size_t)(at + 1 - from->addr);
	}
	if (ti == NULL)
		return;
	f->tls_version = connector_tls_version(ti->version);
	f->cert = ti->peer_cert;
	if (!f->cert)
		return;
	f->cert_verified = ti->peer_verified;
	f->verify_text = ti->verify_text;
	f->have_spki = true;
	memcpy(f->spki_sha256, ti->peer_spki, sizeof(f->spki_sha256));
	connector_facts_names(f, &ti->peer_names, sans, max_sans);     /* identities, never the printed subject */
}

/*
 * The connector table's decision at MAIL: the connector selected (by the
 * client certificate, the address, then the sender domain) and whether its
 * policy, or the sender domain owner's, refuses. Counted per connector and
 * logged; false when refused (the reply is sent).
 */
static bool
smtp_connector_mail(struct smtp_session *ss, const struct smtp_path *from)
{
	struct worker *w = ss->w;
	struct policy_gen *g = ss->policy;
	struct connector_facts f;
	struct connector_decision d;
	const char *sans[TLS_NAMES_MAX];
	char text[768], addr[16];

	if (g == NULL || g->n_connectors == 0)
		return true;
	smtp_connector_facts(ss, from, &f, sans, RTE_DIM(sans));
	connector_inbound_decide(g->table, &f, CONNECTOR_STAGE_MAIL, &d);
	ss->connector = d.sel.id;
	struct connector_counters *ctr = policy_gen_counters(g, w->id);
	connector_count_decision(ctr, &d);
	if (d.sel.id != CONNECTOR_NONE && !ss->connector_tls_counted) {
		const struct tls_info *ti = ss->tls && ss->s != NULL ? tls_stream_info(ss->s) : NULL;
		connector_count_tls(ctr, d.sel.id, f.tls_version, ti ? ti->cipher : NULL,
				    ti && ti->peer_cert ? ti->peer_not_after : 0, (int64_t)time(NULL));
		ss->connector_tls_counted = true;
	}
	if (d.verdict == CONNECTOR_ALLOW)
		return true;
	connector_decision_text(g->table, &d, text, sizeof(text));
	WORKER_LOG_RL(w, WORKER_RL_SMTP_CONNECTOR, CFG_LOG_WARNING, "smtp: session=%s client=%s: %s", ss->id,
		      smtp_addr_str(ss->client_addr, addr), text);
	if (d.verdict == CONNECTOR_WOULD_REFUSE) {
		w->ctr[0][STATS_SMTP_CONNECTOR_WOULD_REFUSE]++;
		return true;
	}
	w->ctr[0][STATS_SMTP_CONNECTOR_REFUSED]++;
	smtp_reply(ss, "%s", d.reply);
	smtp_error(ss);
	return false;
}

static void
smtp_cmd_mail(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	struct worker *w = ss->w;
	const struct cfg_smtp_limits *l = &w->cfg->smtp.limits;

	if (!ss->helo_done) {
		smtp_reply(ss, "503 5.5.1 Error: send HELO/EHLO first");
		smtp_error(ss);
		return;
	}
	if (ss->in_mail) {
		smtp_reply(ss, "503 5.5.1 Error: nested MAIL command");
		smtp_error(ss);
		return;
	}
	if (!ss->esmtp && cmd->n_params != 0) {
		smtp_reply(ss, "555 5.5.4 Error: MAIL parameters need EHLO");
		smtp_error(ss);
		return;
	}
	if (ss->transactions >= l->messages_per_session) {
		w->ctr[0][STATS_SMTP_TOO_MANY_MSGS]++;
		smtp_reply(ss, "421 4.7.0 %s Error: too many messages in this session", smtp_host(ss));
		smtp_close_session(ss, "too many messages");
		return;
	}
	if (cmd->has_size && cmd->size > l->message_size) {
		w->ctr[0][STATS_SMTP_TOO_BIG]++;
		smtp_reply(ss, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (!smtp_connector_mail(ss, &cmd->path))
		return;
	smtp_txn_reset(ss);
	ss->in_mail = true;
	ss->transactions++;
	ss->from_len = RTE_MIN(cmd->path.addr_len, (size_t)SMTP_PATH_MAX);
	memcpy(ss->from, cmd->path.addr, ss->from_len);
	ss->from[ss->from_len] = '\0';
	ss->size_param = cmd->has_size ? cmd->size : 0;
	ss->body = cmd->body;
	ss->smtputf8 = cmd->smtputf8;
	ss->t_mail = w->now;
	smtp_reply(ss, "250 2.1.0 Ok");
}

static void
smtp_cmd_rcpt(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	if (!ss->in_mail) {
		smtp_reply(ss, "503 5.5.1 Error: need MAIL command");
		smtp_error(ss);
		return;
	}
	relay_rcpt(ss, cmd);
}

static void
smtp_cmd_data(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	(void)cmd;
	if (!ss->in_mail) {
		smtp_reply(ss, "503 5.5.1 Error: need MAIL command");
		smtp_error(ss);
		return;
	}
	if (ss->n_rcpt == 0) {
		if (ss->n_rcpt_tried != 0)
			smtp_reply(ss, "554 5.5.1 Error: no valid recipients");
		else
			smtp_reply(ss, "503 5.5.1 Error: need RCPT command");
		smtp_error(ss);
		return;
	}
	relay_data(ss);
}

static void
smtp_cmd_rset(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_txn_reset(ss);
	smtp_reply(ss, "250 2.0.0 Ok");
	smtp_junk(ss);
}

static void
smtp_cmd_noop(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(ss, "250 2.0.0 Ok");
	smtp_junk(ss);
}

static void
smtp_cmd_quit(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(ss, "221 2.0.0 Bye");
	smtp_close_session(ss, "quit");
}

static void
smtp_cmd_vrfy(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(ss, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
	smtp_junk(ss);
}

static void
smtp_cmd_help(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(ss, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP");
	smtp_junk(ss);
}

/*
 * STARTTLS (RFC 3207): 220, then the handshake on the same connection. Bytes
 * after the command in the same read are the CVE-2011-0411 injection: the
 * session is refused and closed, never carried into the TLS session.
 */
static void
smtp_cmd_starttls(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	struct worker *w = ss->w;
	char a[16];

	(void)cmd;
	if (ss->tls) {
		smtp_reply(ss, "554 5.5.1 Error: TLS already active");
		smtp_error(ss);
		return;
	}
	if (ss->in_off != ss->in_len) {
		w->ctr[0][STATS_TLS_INJECTION]++;
		WORKER_LOG_RL(w, WORKER_RL_SMTP_INJECTION, CFG_LOG_WARNING,
			      "smtp: session=%s client=%s: %zu bytes pipelined after STARTTLS "
			   "(command injection), session closed", ss->id, smtp_addr_str(ss->client_addr, a),
			   ss->in_len - ss->in_off);
		smtp_reply(ss, "554 5.5.1 Error: data sent after STARTTLS before the TLS handshake; closing");
		smtp_close_session(ss, "STARTTLS injection");
		return;
	}
	smtp_flush(ss);
	if (ss->out_len != 0 || !tls_server_available(w, gw_tls(w->gw))) {
		w->ctr[0][STATS_TLS_UNAVAILABLE]++;
		smtp_reply(ss, "454 4.7.0 TLS not available due to local problem");
		return;
	}
	w->ctr[0][STATS_TLS_STARTTLS]++;
	smtp_txn_reset(ss);
	smtp_reply(ss, "220 2.0.0 Ready to start TLS");
	ss->tls_pending = true;         /* no byte of TLS before the last byte of the 220 */
	smtp_enter_state(ss, SMTP_ST_TLS);
	smtp_flush(ss);
}

/* The 220 to STARTTLS is all written: the filter takes the stream over for the handshake. */
static void
smtp_tls_begin(struct smtp_session *ss)
{
	struct worker *w = ss->w;
	struct stream *t = tls_server_start(w, gw_tls(w->gw), ss->s, &smtp_stream_ops, ss);

	ss->tls_pending = false;
	if (t == NULL) {                /* the last slot went to another session meanwhile */
		w->ctr[0][STATS_TLS_UNAVAILABLE]++;
		smtp_close_session(ss, "TLS not available");
		return;
	}
	ss->s = t;
}

static void
smtp_cmd_unimpl(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(ss, "502 5.5.1 Error: command not implemented");
	smtp_error(ss);
}

/* The command table (DESIGN §7): verb -> handler. */
static const struct {
	enum smtp_verb verb;
	void (*fn)(struct smtp_session *ss, const struct smtp_cmd *cmd);
} smtp_cmd_table[] = {
	{ SMTP_VERB_HELO, smtp_cmd_helo },
	{ SMTP_VERB_EHLO, smtp_cmd_helo },
	{ SMTP_VERB_MAIL, smtp_cmd_mail },
	{ SMTP_VERB_RCPT, smtp_cmd_rcpt },
	{ SMTP_VERB_DATA, smtp_cmd_data },
	{ SMTP_VERB_RSET, smtp_cmd_rset },
	{ SMTP_VERB_NOOP, smtp_cmd_noop },
	{ SMTP_VERB_QUIT, smtp_cmd_quit },
	{ SMTP_VERB_VRFY, smtp_cmd_vrfy },
	{ SMTP_VERB_HELP, smtp_cmd_help },
	{ SMTP_VERB_STARTTLS, smtp_cmd_starttls },
	{ SMTP_VERB_AUTH, smtp_cmd_unimpl },
	{ SMTP_VERB_BDAT, smtp_cmd_unimpl },
	{ SMTP_VERB_EXPN, smtp_cmd_unimpl },
};

/* A syntax error from the parser, as a reply. */
static void
smtp_reply_parse_error(struct smtp_session *ss, const struct smtp_cmd *cmd, enum smtp_err e)
{
	const char *enh = smtp_err_enhanced(e);

	if (cmd->verb == SMTP_VERB_MAIL && strcmp(enh, "5.1.3") == 0)
		enh = "5.1.7";
	if (e == SMTP_ERR_UNKNOWN_VERB)
		smtp_reply(ss, "500 5.5.2 Error: command not recognized");
	else
		smtp_reply(ss, "%u %s Error: %s", smtp_err_code(e), enh, smtp_err_text(e));
	smtp_error(ss);
}

static void
smtp_dispatch(struct smtp_session *ss, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	unsigned flags = 0;

	ss->commands++;
	ss->w->ctr[0][STATS_SMTP_COMMANDS]++;
	if (ss->smtputf8)
		flags |= SMTP_PARSE_SMTPUTF8;
	enum smtp_err e = smtp_parse_command_ex(line, len, flags, &cmd);
	if (e != SMTP_OK) {
		smtp_reply_parse_error(ss, &cmd, e);
		return;
	}
	for (unsigned i = 0; i < RTE_DIM(smtp_cmd_table); i++)
		if (smtp_cmd_table[i].verb == cmd.verb) {
			smtp_cmd_table[i].fn(ss, &cmd);
			if (smtp_verb_flags(cmd.verb) & SMTP_VERB_F_LAST)
				smtp_flush(ss);
			return;
		}
	smtp_reply_parse_error(ss, &cmd, SMTP_ERR_UNKNOWN_VERB);
}

static void
smtp_bad_line(struct smtp_session *ss, enum smtp_line_status st)
{
	struct worker *w = ss->w;
	char a[16];

	switch (st) {
	case SMTP_LINE_TOO_LONG:
		w->ctr[0][STATS_SMTP_LINE_TOO_LONG]++;
		smtp_reply(ss, "500 5.5.2 Error: command line too long");
		break;
	case SMTP_LINE_BARE_LF:
		w->ctr[0][STATS_SMTP_BARE_LF_COMMAND]++;
		smtp_reply(ss, "500 5.5.2 Error: bare <LF> in command; command refused");
		break;
	case SMTP_LINE_BARE_CR:
		w->ctr[0][STATS_SMTP_BARE_CR_COMMAND]++;
		smtp_reply(ss, "500 5.5.2 Error: bare <CR> in command; command refused");
		break;
	default:
		w->ctr[0][STATS_SMTP_BARE_CR_COMMAND]++;
		smtp_reply(ss, "500 5.5.2 Error: NUL in command; command refused");
		break;
	}
	if (st != SMTP_LINE_TOO_LONG)
		WORKER_LOG_RL(w, WORKER_RL_SMTP_BAD_LINE, CFG_LOG_WARNING,
			      "smtp: session=%s client=%s: %s in a command line, refused",
			   ss->id, smtp_addr_str(ss->client_addr, a),
			   st == SMTP_LINE_BARE_LF ? "bare LF" : st == SMTP_LINE_BARE_CR ? "bare CR" : "NUL");
	smtp_error(ss);
}

/*
 * A command line with no end in sight (past SMTP_LINE_BUDGET times the
 * limit): no client needs one; the rest would only be read and thrown away
 * until the deadline, so the session ends now.
 */
static void
smtp_line_flood(struct smtp_session *ss)
{
	struct worker *w = ss->w;
	char a[16];

	w->ctr[0][STATS_SMTP_LINE_FLOOD]++;
	WORKER_LOG_RL(w, WORKER_RL_SMTP_BAD_LINE, CFG_LOG_WARNING,
		      "smtp: session=%s client=%s: command line of %zu octets and no end, session closed",
		      ss->id, smtp_addr_str(ss->client_addr, a), ss->line.total);
	smtp_reply(ss, "421 4.7.0 %s Error: command line too long; closing", smtp_host(ss));
	smtp_close_session(ss, "command line flood");
}

/* One command-mode step; false when waiting for input. */
static bool
smtp_cmd_step(struct smtp_session *ss)
{
	if (ss->out_len > sizeof(ss->out) / 2) {
		smtp_flush(ss);
		if (ss->out_len > sizeof(ss->out) / 2)
			return false;           /* the client is not reading: wait for writable */
	}
	size_t avail = smtp_fill(ss, sizeof(ss->in));
	if (avail == 0) {
		if (ss->s != NULL && stream_eof(ss->s))
			smtp_close_session(ss, "client closed");
		return false;
	}
	size_t used = 0;
	enum smtp_line_status st = smtp_line_feed(&ss->line, ss->in + ss->in_off, avail, &used);
	ss->in_off += used;
	if (st != SMTP_LINE_MORE)
		ss->cmd_deadline = 0;
	else if (ss->cmd_deadline == 0 && used != 0)   /* its first octet: the line's deadline starts */
		ss->cmd_deadline = ss->w->now + (uint64_t)ss->w->cfg->smtp.timeouts.command * ss->w->hz;
	if (st == SMTP_LINE_MORE && ss->line.total > (size_t)SMTP_LINE_BUDGET * ss->line.max) {
		smtp_line_flood(ss);
		return false;
	}
	if (st == SMTP_LINE_OK)
		smtp_dispatch(ss, ss->line.buf, ss->line.len);
	else if (st != SMTP_LINE_MORE)
		smtp_bad_line(ss, st);
	return true;
}

void
smtp_pump(struct smtp_session *ss)
{
	uint32_t gen = ss->gen;
	bool more = true;

	while (more && ss->gen == gen) {
		switch (ss->state) {
		case SMTP_ST_CMD:
			more = smtp_cmd_step(ss);
			break;
		case SMTP_ST_DATA:
		case SMTP_ST_DISCARD:
			more = relay_data_step(ss);
			break;
		default:
			more = false;
			break;
		}
	}
	if (ss->gen != gen)
		return;
	smtp_flush(ss);
	if (ss->state != SMTP_ST_CLOSING)
		smtp_rearm(ss);
}

/* ---- stream events ---- */

static void
smtp_readable(struct stream *s)
{
	struct smtp_session *ss = s->ctx;

	if (ss == NULL)
		return;
	if (ss->state == SMTP_ST_CLOSING) {     /* after 221/421: read and drop */
		char sink[512];
		while (stream_read(s, sink, sizeof(sink)) > 0)
			;
		return;
	}
	smtp_pump(ss);
}

static void
smtp_writable(struct stream *s)
{
	struct smtp_session *ss = s->ctx;

	if (ss != NULL)
		smtp_pump(ss);
}


/* n bytes as lower-case hex into out (2n + 1 bytes). */
static void
smtp_hex(const uint8_t *p, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[p[i] >> 4];
		out[2 * i + 1] = hex[p[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Inbound TLS session counters: by suite (in connector_cipher_index() order) and by key-exchange group. */
static void
smtp_tls_count(struct worker *w, const struct tls_info *ti)
{
	static const struct { const char *name; unsigned stat; } groups[] = {
		{ "X25519", STATS_TLS_G_X25519 }, { "SECP256R1", STATS_TLS_G_P256 }, { "SECP384R1", STATS_TLS_G_P384 },
	};
	RTE_BUILD_BUG_ON(STATS_TLS_C_OTHER - STATS_TLS_C_T13_AES128_GCM_SHA256 + 1 != CONNECTOR_CIPHER_COUNT);
	unsigned c = STATS_TLS_C_T13_AES128_GCM_SHA256 + connector_cipher_index(ti->cipher);
	unsigned g = ti->curve == NULL ? STATS_TLS_G_NONE : STATS_TLS_G_OTHER;

	for (unsigned i = 0; i < RTE_DIM(groups) && ti->curve != NULL; i++)
		if (strcasecmp(ti->curve, groups[i].name) == 0)
			g = groups[i].stat;
	w->ctr[0][c]++;
	w->ctr[0][g]++;
}
/* The TLS handshake after STARTTLS is done: a fresh session (RFC 3207 §4.2), over TLS. */
static void
smtp_tls_up(struct stream *s)
{
	struct smtp_session *ss = s->ctx;
	struct worker *w;
	const struct tls_info *ti = tls_stream_info(s);
	char a[16];

	if (ss == NULL || ti == NULL)
		return;
	w = ss->w;
	ss->tls = true;
	ss->helo_done = false;
	ss->esmtp = false;
	ss->helo[0] = '\0';
	smtp_txn_reset(ss);
	smtp_line_init(&ss->line, w->cfg->smtp.limits.command_line);
	w->ctr[0][STATS_TLS_HANDSHAKES]++;
	if (ti->resumed)
		w->ctr[0][STATS_TLS_RESUMED]++;
	w->ctr[0][strcmp(ti->version, "TLSv1.3") == 0 ? STATS_TLS_V1_3 : STATS_TLS_V1_2]++;
	smtp_tls_count(w, ti);
	tls_report_session(w->tls_report, ss->client_addr, false, ti->version, ti->cipher);
	char spki[72], cert[sizeof(ti->peer_subject) + 128] = "";
	if (ti->peer_cert) {
		smtp_hex(ti->peer_spki, sizeof(ti->peer_spki), spki);
		snprintf(cert, sizeof(cert), ", client certificate %s (%s, SPKI SHA-256 %s)", ti->peer_subject,
			 ti->peer_verified ? "verified" : "not verified", spki);
	}
	WORKER_LOG_RL(w, WORKER_RL_SMTP_TLS_UP, CFG_LOG_INFO,
		      "smtp: session=%s client=%s: TLS established: %s with cipher %s (%d/%d bits)%s%s",
		   ss->id, smtp_addr_str(ss->client_addr, a), ti->version, ti->cipher, ti->bits, ti->bits,
		   ti->resumed ? ", resumed" : "", cert);
	if (ti->peer_cert) {
		char names[TLS_NAMES_BUF + 2 * TLS_NAMES_MAX], refused[96] = "";
		const struct tls_names *pn = &ti->peer_names;
		tls_names_format(pn, names, sizeof(names));
		if (pn->invalid || pn->over)
			snprintf(refused, sizeof(refused), " (%u name(s) refused: not DNS names; %u over the limit)",
				 pn->invalid, pn->over);
		WORKER_LOG_RL(w, WORKER_RL_SMTP_TLS_CERT, CFG_LOG_INFO,
			      "smtp: session=%s client certificate: subject %s, %s %s%s%s%s", ss->id,
			   ti->peer_subject, pn->from_cn ? "CN (no dNSName SAN)" : "SANs", names[0] ? names : "none",
			   refused, ti->peer_verified ? "" : ", chain: ", ti->peer_verified ? "" : ti->verify_text);
	}
	smtp_enter_state(ss, SMTP_ST_CMD);
	smtp_pump(ss);
}

/* A handshake after STARTTLS failed: count and log why (with the version a client offered). */
static void
smtp_tls_failed(struct smtp_session *ss, struct stream *s)
{
	struct worker *w = ss->w;
	enum tls_fail f = tls_stream_failure(s);
	const struct tls_info *ti = tls_stream_info(s);
	uint16_t v = ti ? ti->offered_version : 0;
	char a[16];

	if (f == TLS_F_VERSION)
		tls_report_refused(w->tls_report, ss->client_addr, v);
	if (f == TLS_F_VERSION)
		w->ctr[0][v == 0x0301 ? STATS_TLS_REFUSED_V1_0 : v == 0x0302 ? STATS_TLS_REFUSED_V1_1 :
			  STATS_TLS_REFUSED_OLD]++;
	else if (f == TLS_F_CIPHER)
		w->ctr[0][STATS_TLS_FAIL_CIPHER]++;
	else if (f == TLS_F_NOT_TLS)
		w->ctr[0][STATS_TLS_FAIL_NOT_TLS]++;
	else if (f == TLS_F_PEER_ALERT)
		w->ctr[0][STATS_TLS_FAIL_ALERT]++;
	else if (f == TLS_F_CLOSED)
		w->ctr[0][STATS_TLS_FAIL_CLOSED]++;
	else if (f == TLS_F_TIMEOUT)
		w->ctr[0][STATS_TLS_FAIL_TIMEOUT]++;
	else
		w->ctr[0][STATS_TLS_FAIL_OTHER]++;
	WORKER_LOG_RL(w, WORKER_RL_SMTP_TLS_FAILED, f == TLS_F_VERSION ? CFG_LOG_WARNING : CFG_LOG_INFO,
		   "smtp: session=%s client=%s: TLS handshake failed: %s%s%s (wolfSSL error %d)", ss->id,
		   smtp_addr_str(ss->client_addr, a), tls_fail_text(f),
		   f == TLS_F_VERSION ? "; the client offered " : "", f == TLS_F_VERSION ? tls_version_name(v) : "",
		   ti ? ti->lib_err : 0);
	ss->close_reason = "TLS handshake failed";
	ss->tls_failed = true;
}

static void
smtp_closed(struct stream *s, enum stream_close_reason why)
{
	struct smtp_session *ss = s->ctx;

	if (ss == NULL)
		return;
	if (ss->state == SMTP_ST_TLS)
		smtp_tls_failed(ss, s);
	ss->s = NULL;
	if (ss->close_reason == NULL)
		ss->close_reason = why == STREAM_RESET ? "client reset" : why == STREAM_TIMEOUT ?
				   "client timed out" : "client closed";
	smtp_free(ss);
}

static const struct stream_ops smtp_stream_ops = {
	.connected = smtp_tls_up,
	.readable = smtp_readable,
	.writable = smtp_writable,
	.closed = smtp_closed,
};

/* ---- accept ---- */

/* A connection we cannot serve: one 421 line, FIN, nothing more. */
static void
smtp_refuse(struct stream *s, const char *line)
{
	static const struct stream_ops drop_ops = { 0 };

	s->ops = &drop_ops;
	s->ctx = NULL;
	stream_write(s, line, strlen(line));
	stream_shutdown(s);
}

static bool
smtp_accept_limits(struct worker *w, struct stream *s)
{
	const struct cfg_smtp *c = &w->cfg->smtp;
	struct smtp_ctx *x = smtp_ctx(w);
	char line[400], a[16];

	if (x->free == NULL || x->active >= c->limits.sessions_per_worker) {
		w->ctr[0][STATS_SMTP_REFUSED_BUSY]++;
		snprintf(line, sizeof(line), "421 4.3.2 %s Service busy, too many sessions; try again later\r\n",
			 c->hostname);
		WORKER_LOG_RL(w, WORKER_RL_SMTP_REFUSED, CFG_LOG_WARNING,
			      "smtp: refused %s:%u: smtp.limits.sessions_per_worker (%u) "
			   "reached", smtp_addr_str(s->remote_addr, a), s->remote_port,
			   c->limits.sessions_per_worker);
		smtp_refuse(s, line);
		return false;
	}
	if (w->gw->smtp_limit == NULL)
		return true;
	enum smtp_limit_verdict v = smtp_limit_open(w->gw->smtp_limit, s->remote_addr,
						    c->limits.sessions_per_client,
						    c->limits.connection_rate_per_client, w->now / w->hz);
	if (v == SMTP_LIMIT_OK)
		return true;
	smtp_addr_str(s->remote_addr, a);
	if (v == SMTP_LIMIT_RATE) {
		w->ctr[0][STATS_SMTP_REFUSED_RATE]++;
		snprintf(line, sizeof(line), "421 4.7.0 %s Error: too many connections per second from %s\r\n",
			 c->hostname, a);
	} else {
		w->ctr[0][STATS_SMTP_REFUSED_CLIENT]++;
		snprintf(line, sizeof(line), "421 4.7.0 %s Error: too many connections from %s\r\n",
			 c->hostname, a);
	}
	WORKER_LOG_RL(w, WORKER_RL_SMTP_REFUSED, CFG_LOG_INFO, "smtp: refused %s:%u: %s", a, s->remote_port,
		   v == SMTP_LIMIT_RATE ? "connection rate limit" : "too many sessions from this client");
	smtp_refuse(s, line);
	return false;
}

static void
smtp_accept(struct worker *w, struct stream *s, void *arg)
{
	struct smtp_ctx *x = smtp_ctx(w);
	struct smtp_session *ss;
	char a[16];

	(void)arg;
	if (!smtp_accept_limits(w, s))
		return;
	ss = x->free;
	x->free = ss->next_free;
	x->active++;
	uint32_t gen = ss->gen;
	memset(ss, 0, offsetof(struct smtp_session, line));
	ss->gen = gen;
	ss->active = true;
	ss->limit_counted = w->gw->smtp_limit != NULL;
	ss->w = w;
	ss->s = s;
	ss->client_addr = s->remote_addr;
	ss->client_port = s->remote_port;
	ss->started = w->now;
	ss->policy = gw_policy_hold(w->gw);
	ss->connector = CONNECTOR_NONE;
	ss->broken = SMTP_CL_F_COUNT;
	ss->in_off = ss->in_len = ss->out_len = 0;
	snprintf(ss->id, sizeof(ss->id), "%08X%02X%06" PRIX64, x->boot, w->id & 0xff, x->seq++ & 0xffffff);
	smtp_line_init(&ss->line, w->cfg->smtp.limits.command_line);
	timer_init(&ss->timer, smtp_timer_fired, ss);
	s->ops = &smtp_stream_ops;
	s->ctx = ss;
	w->ctr[0][STATS_SMTP_SESSIONS]++;
	WORKER_LOG_RL(w, WORKER_RL_SMTP_CONNECT, CFG_LOG_INFO, "smtp: session=%s connect client=%s:%u", ss->id,
		   smtp_addr_str(ss->client_addr, a), ss->client_port);
	smtp_reply(ss, "220 %s ESMTP mailgw", smtp_host(ss));
	smtp_flush(ss);
	smtp_rearm(ss);
}

void
smtp_server_start(struct worker *w)
{
	const struct cfg_smtp *c = &w->cfg->smtp;

	if (!c->enabled || smtp_ctx(w) == NULL)
		return;
	int rc = tcp_listen(w, c->port, smtp_accept, NULL);
	if (rc != 0)
		WORKER_LOG(w, CFG_LOG_ERR, "smtp: cannot listen on port %u: %s", c->port, strerror(-rc));
}

/* ---- console ---- */

unsigned
smtp_server_snapshot(const struct worker *w, struct smtp_session_view *out, unsigned max)
{
	const struct smtp_ctx *x = smtp_ctx(w);
	unsigned n = 0;
	uint64_t now = rte_rdtsc();

	if (x == NULL)
		return 0;
	for (unsigned i = 0; i < x->n && n < max; i++) {
		const struct smtp_session *ss = &x->sessions[i];
		if (!ss->active)
			continue;
		struct smtp_session_view *v = &out[n++];
		memcpy(v->id, ss->id, sizeof(v->id));
		v->id[sizeof(v->id) - 1] = '\0';
		v->client_addr = ss->client_addr;
		v->client_port = ss->client_port;
		snprintf(v->helo, sizeof(v->helo), "%.*s", (int)sizeof(v->helo) - 1, ss->helo);
		v->state = ss->state < SMTP_ST_COUNT ? smtp_state_names[ss->state] : "?";
		v->age_s = (uint32_t)(now > ss->started ? (now - ss->started) / w->hz : 0);
		v->transactions = ss->transactions;
		v->relayed = ss->relayed;
		v->failed = ss->failed;
		const struct smtp_client *cl = ss->cl;
		snprintf(v->next_hop, sizeof(v->next_hop), "%s", cl != NULL ? smtp_client_peer(cl) : "-");
	}
	return n;
}

unsigned
smtp_server_active(const struct worker *w)
{
	const struct smtp_ctx *x = smtp_ctx(w);

	return x ? x->active : 0;
}
