/*
 * relay.c — cut-through: each inbound transaction is paired with one to the
 * next hop (smtp_client.c). The outbound transaction opens at the first
 * accepted RCPT; every RCPT, DATA and end-of-data reply the client sees is
 * the next hop's (code kept); message data streams through with back-pressure
 * both ways behind our Received: field, exactly as the client sent it
 * (dot-stuffing included). Nothing is acknowledged before the next hop did.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <rte_common.h>

#include "app/worker.h"
#include "app/net/stream.h"
#include "app/policy/route.h"
#include "app/smtp/received.h"
#include "app/smtp/smtp_session.h"
#include "crypto/tls.h"

static const struct smtp_client_ops relay_client_ops;
static void relay_fail_reply(enum smtp_client_fail why, const char *peer, char *buf, size_t len);

/* ---- replies passed on ---- */

/* The next hop's text, printable ASCII only (it reaches our client and the log). */
static void
relay_clean_text(char *dst, size_t len, const char *src, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < len; i++)
		dst[j++] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[j] = '\0';
}

/* "550 5.1.1 text": the next hop's code (421 -> 451), its enhanced code or class.dflt. */
static void
relay_format_reply(char *buf, size_t len, const struct smtp_reply *r, const char *dflt)
{
	char text[400], enh[24];

	/* The next hop's 421 closes its connection, not ours: our client hears 451. */
	unsigned code = r->code == 421 ? 451 : r->code;

	relay_clean_text(text, sizeof(text), r->text, r->text_len);
	if (r->has_enhanced && r->enh[0] == code / 100)
		snprintf(enh, sizeof(enh), "%u.%u.%u", r->enh[0], r->enh[1], r->enh[2]);
	else
		snprintf(enh, sizeof(enh), "%u.%s", code / 100, dflt);
	snprintf(buf, len, "%u %s %s", code, enh, text);
}

/* ---- the message log line ---- */

static void
relay_log_message(struct smtp_session *ss, const char *status, const char *reply)
{
	struct worker *w = ss->w;
	char a[16];
	uint64_t hz = w->hz;
	uint64_t total = (w->now - ss->t_mail) * 1000 / hz;
	uint64_t before = ss->t_data > ss->t_mail ? (ss->t_data - ss->t_mail) * 1000 / hz : 0;
	uint64_t xfer = ss->t_eod > ss->t_data && ss->t_data ? (ss->t_eod - ss->t_data) * 1000 / hz : 0;
	uint64_t verdict = ss->t_eod && w->now > ss->t_eod ? (w->now - ss->t_eod) * 1000 / hz : 0;

	const struct tls_info *in = ss->tls && ss->s != NULL ? tls_stream_info(ss->s) : NULL;
	const struct tls_info *out = smtp_client_tls(ss->cl);
	char tls_in[96] = "none", tls_out[96] = "none";

	if (in != NULL)
		snprintf(tls_in, sizeof(tls_in), "%s/%s%s", in->version, in->cipher,
			 !in->peer_cert ? "" : in->peer_verified ? "/cert-verified" : "/cert-unverified");
	if (out != NULL)
		snprintf(tls_out, sizeof(tls_out), "%s/%s", out->version, out->cipher);
	const char *conn = ss->policy != NULL && ss->connector != CONNECTOR_NONE ?
			   connector_name(ss->policy->table, ss->connector) : "-";
	if (strcmp(status, "sent") == 0)
		connector_count_accepted(policy_gen_counters(ss->policy, w->id), ss->connector);
	WORKER_LOG(w, CFG_LOG_INFO, "smtp: msg=%s session=%s client=%s:%u helo=%s tls=%s connector=%s from=<%s> to=%s "
		   "nrcpt=%u size=%" PRIu64 " nexthop=%s tls_out=%s delay=%" PRIu64 "ms delays=%" PRIu64 "/%" PRIu64
		   "/%" PRIu64 " status=%s reply=\"%s\"",
		   ss->msg_id, ss->id, smtp_addr_str(ss->client_addr, a), ss->client_port,
		   ss->helo[0] ? ss->helo : "-", tls_in, conn, ss->from, ss->rcpt_log_len ? ss->rcpt_log : "-",
		   ss->n_rcpt, ss->scan.raw_bytes, ss->cl ? smtp_client_peer(ss->cl) : "-", tls_out,
		   total, before, xfer, verdict, status, reply);
}

static void
relay_note_rcpt(struct smtp_session *ss, const char *to, size_t len)
{
	if (ss->n_rcpt == 0) {
		ss->first_rcpt_len = RTE_MIN(len, sizeof(ss->first_rcpt) - 1);
		memcpy(ss->first_rcpt, to, ss->first_rcpt_len);
	}
	size_t room = sizeof(ss->rcpt_log) - ss->rcpt_log_len;
	if (room < 8)
		return;
	int n = snprintf(ss->rcpt_log + ss->rcpt_log_len, room, "%s<%.*s>",
			 ss->rcpt_log_len ? "," : "", (int)len, to);
	if (n > 0 && (size_t)n < room)
		ss->rcpt_log_len += (size_t)n;
	else
		snprintf(ss->rcpt_log + sizeof(ss->rcpt_log) - 5, 5, ",...");
}

/* ---- RCPT ---- */

/* Whether two routes lead to the same next hops (one connection can serve both). */
static bool
relay_same_hops(const struct cfg_route *a, const struct cfg_route *b)
{
	if (a == b)
		return true;
	if (a->n_hops != b->n_hops)
		return false;
	for (unsigned i = 0; i < a->n_hops; i++)
		if (a->hops[i].addr != b->hops[i].addr || a->hops[i].port != b->hops[i].port)
			return false;
	return true;
}

/* The TLS level a route's mail gets: its outbound connector's, else the route's, else tls.client.level. */
static int
relay_tls_level(const struct worker *w, const struct cfg_route *r, const struct cfg_connector_out *co)
{
	const struct cfg_route *eff = co != NULL ? &co->route : r;

	return eff->tls_level < 0 ? (int)w->cfg->tls.client_level : eff->tls_level;
}

/* Whether two routes at level "secure" accept exactly the same certificate names. */
static bool
relay_same_names(const struct cfg_route *a, const struct cfg_route *b)
{
	if (a->n_tls_names != b->n_tls_names)
		return false;
	for (unsigned i = 0; i < a->n_tls_names; i++)
		if (strcmp(a->tls_names[i], b->tls_names[i]) != 0)
			return false;
	return true;
}

/*
 * Whether a recipient of route r (outbound connector co) may join the open
 * transaction (ss->route, ss->out_conn): the same next hops and connector,
 * and a TLS policy at least as strict as r's (a transaction carries the
 * strictest requirement of its recipients, decided by its first). Levels
 * none < may < encrypt: r rides along when the open level is the same or
 * higher (TLS that is stronger than r asks for never weakens r's mail).
 * verify and secure check names that belong to their own route: r rides
 * along only the same route, or "secure" with the very same names. One
 * outbound connector applies one policy (level, tls_domain, pins, minimum
 * version) to all its recipients, whichever route found their next hop.
 * A weaker recipient riding along never fails for the stricter route's
 * checks: RCPTs are relayed one at a time, so the open transaction's
 * connection has passed them (its first RCPT got 250) before r is asked.
 */
static bool
relay_same_policy(const struct smtp_session *ss, const struct cfg_route *r, const struct cfg_connector_out *co)
{
	int open = relay_tls_level(ss->w, ss->route, ss->out_conn), need = relay_tls_level(ss->w, r, co);

	if (ss->route == r || co != NULL)      /* co == ss->out_conn: its own policy, names and pins */
		return true;
	if (need <= CFG_TLS_ENCRYPT)
		return open >= need;
	return need == CFG_TLS_SECURE && open == CFG_TLS_SECURE && relay_same_names(ss->route, r);
}

/* The route for <Postmaster> (no domain): our host name's, else the first exact accepted domain's. */
static const struct cfg_route *
relay_postmaster_route(struct worker *w)
{
	const struct cfg_smtp *c = &w->cfg->smtp;
	const struct cfg_route *r = route_lookup(w->gw->routes, c->hostname, strlen(c->hostname));

	for (unsigned i = 0; r == NULL && i < c->n_accepted_domains; i++)
		if (c->accepted_domains[i][0] != '*')
			r = route_lookup(w->gw->routes, c->accepted_domains[i], strlen(c->accepted_domains[i]));
	return r;
}

/* Whether the recipient can join the open transaction (if any); false when the RCPT was answered 452. */
static bool
relay_fits_txn(struct smtp_session *ss, const struct smtp_path *p, const struct cfg_route *route,
	       const struct cfg_connector_out *co)
{
	struct worker *w = ss->w;

	if (ss->route == NULL)
		return true;
	if (!relay_same_hops(ss->route, route) || ss->out_conn != co) {
		w->ctr[0][STATS_SMTP_RCPT_OTHER_HOP]++;
		smtp_reply(ss, "452 4.5.3 <%.*s>: routed to another next hop; send it in a new transaction",
			   (int)p->addr_len, p->addr);
		return false;
	}
	if (!relay_same_policy(ss, route, co)) {
		w->ctr[0][STATS_SMTP_RCPT_OTHER_TLS]++;
		WORKER_LOG_RL(w, WORKER_RL_SMTP_RCPT_DEFERRED, CFG_LOG_INFO, "smtp: session=%s to=<%.*s> deferred: "
			   "its route needs TLS level %s, the open transaction has %s", ss->id, (int)p->addr_len, p->addr,
			   config_tls_level_name((enum cfg_tls_level)relay_tls_level(w, route, co)),
			   config_tls_level_name((enum cfg_tls_level)relay_tls_level(w, ss->route, ss->out_conn)));
		smtp_reply(ss, "452 4.5.3 <%.*s>: needs a stricter TLS policy than this transaction's; send it "
			   "in a new transaction", (int)p->addr_len, p->addr);
		return false;
	}
	return true;
}

/* The policy checks before anything goes to the next hop; false when the RCPT was answered. */
static bool
relay_rcpt_allowed(struct smtp_session *ss, const struct smtp_cmd *cmd, const struct cfg_route **route)
{
	struct worker *w = ss->w;
	const struct smtp_path *p = &cmd->path;
	char a[16];

	if (ss->n_rcpt_tried >= w->cfg->smtp.limits.recipients) {
		w->ctr[0][STATS_SMTP_TOO_MANY_RCPTS]++;
		smtp_reply(ss, "452 4.5.3 Error: too many recipients");
		return false;
	}
	ss->n_rcpt_tried++;
	enum route_relay_verdict v = route_relay_check(w->gw->routes, ss->client_addr, p);
	if (v != ROUTE_RELAY_OK_DOMAIN && v != ROUTE_RELAY_OK_NETWORK) {
		w->ctr[0][v == ROUTE_RELAY_DENIED_ROUTING_HACK ? STATS_SMTP_RELAY_HACK : STATS_SMTP_RELAY_DENIED]++;
		WORKER_LOG_RL(w, WORKER_RL_SMTP_RELAY_DENIED, CFG_LOG_INFO,
			      "smtp: session=%s client=%s relay denied: from=<%s> to=<%.*s> (%s)",
			   ss->id, smtp_addr_str(ss->client_addr, a), ss->from, (int)p->addr_len, p->addr,
			   route_relay_verdict_name(v));
		smtp_reply(ss, "554 5.7.1 <%.*s>: Relay access denied", (int)p->addr_len, p->addr);
		smtp_error(ss);
		return false;
	}
	uint32_t cid = CONNECTOR_NONE;
	const struct cfg_connector_out *co = ss->policy != NULL && ss->policy->n_connectors > 0 ?
		connector_outbound_lookup(ss->policy->table, p->domain, p->domain_len, &cid) : NULL;
	*route = co != NULL && co->route.n_hops > 0 ? &co->route :         /* its smart hosts */
		 route_lookup(w->gw->routes, p->domain, p->domain_len);
	if (*route == NULL && p->postmaster)    /* <Postmaster>: ours, routed like our own name */
		*route = relay_postmaster_route(w);
	if (*route == NULL) {
		w->ctr[0][STATS_SMTP_NO_ROUTE]++;
		smtp_reply(ss, "451 4.4.4 <%.*s>: no route to the recipient's domain", (int)p->addr_len, p->addr);
		return false;
	}
	if (!relay_fits_txn(ss, p, *route, co))
		return false;
	if (ss->broken != SMTP_CL_F_COUNT) {    /* the same 451 the failure gave, e.g. 4.4.5 after data_hold */
		char line[200];
		relay_fail_reply(ss->broken, "-", line, sizeof(line));
		smtp_reply(ss, "%s", line);
		return false;
	}
	ss->next_conn = co;
	return true;
}

/* Open the outbound transaction (MAIL queued); false when the RCPT was answered. */
static bool
relay_open(struct smtp_session *ss, const struct cfg_route *route, bool fresh)
{
	enum smtp_client_fail why = SMTP_CL_F_CONNECT;

	ss->cl = smtp_client_open(ss->w, route, ss->policy, ss->next_conn, fresh, ss->client_addr,
				  &relay_client_ops, ss, &why);
	if (ss->cl == NULL) {
		char line[200];
		relay_fail_reply(why, "-", line, sizeof(line));
		smtp_reply(ss, "%s", line);
		return false;
	}
	ss->route = route;
	ss->out_conn = ss->next_conn;
	ss->mail_refused = false;
	if (!smtp_client_reused(ss->cl))
		ss->cl_retried = true;          /* only a cached connection is retried on a new one */
	smtp_client_mail(ss->cl, ss->from, ss->from_len, ss->size_param, ss->body, ss->smtputf8);
	return true;
}

void
relay_rcpt(struct smtp_session *ss, const struct smtp_cmd *cmd)
{
	const struct cfg_route *route = NULL;

	if (!relay_rcpt_allowed(ss, cmd, &route))
		return;
	ss->cur_rcpt_len = RTE_MIN(cmd->path.addr_len, (size_t)SMTP_PATH_MAX);
	memcpy(ss->cur_rcpt, cmd->path.addr, ss->cur_rcpt_len);
	ss->cur_rcpt[ss->cur_rcpt_len] = '\0';
	if (ss->cl == NULL && !relay_open(ss, route, false))
		return;
	smtp_client_rcpt(ss->cl, ss->cur_rcpt, ss->cur_rcpt_len);
	if (ss->cl != NULL)
		smtp_enter_state(ss, SMTP_ST_WAIT);
}

/* ---- DATA ---- */

void
relay_data(struct smtp_session *ss)
{
	if (ss->broken != SMTP_CL_F_COUNT || ss->cl == NULL) {
		char line[200];
		relay_fail_reply(ss->broken != SMTP_CL_F_COUNT ? ss->broken : SMTP_CL_F_LOST, "-", line, sizeof(line));
		smtp_reply(ss, "%s", line);
		return;
	}
	smtp_client_data(ss->cl);
	if (ss->cl != NULL)
		smtp_enter_state(ss, SMTP_ST_WAIT);
}

/* The 354 came: start relaying behind our Received: field. */
static void
relay_data_start(struct smtp_session *ss)
{
	struct worker *w = ss->w;
	const struct tls_info *ti = tls_stream_info(ss->s);
	struct received_info ri = {
		.helo = ss->helo,
		.client_addr = ss->client_addr,
		.hostname = w->cfg->smtp.hostname,
		.protocol = received_protocol(ss->esmtp, ss->smtputf8, ti != NULL),
		.tls_version = ti ? ti->version : NULL,
		.tls_cipher = ti ? ti->cipher : NULL,
		.tls_bits = ti ? ti->bits : 0,
		.id = ss->msg_id,
		.rcpt = ss->n_rcpt == 1 ? ss->first_rcpt : NULL,
		.rcpt_len = ss->first_rcpt_len,
		.utf8 = ss->smtputf8,
		.when = time(NULL),
	};

	snprintf(ss->msg_id, sizeof(ss->msg_id), "%s.%u", ss->id, ss->transactions);
	ss->hdr_len = received_format(ss->hdr, sizeof(ss->hdr), &ri);
	ss->hdr_off = 0;
	ss->t_data = w->now;
	ss->t_eod = 0;
	smtp_data_init(&ss->scan, w->cfg->smtp.limits.text_line, NULL, NULL);
	smtp_reply(ss, "354 End data with <CR><LF>.<CR><LF>");
	smtp_enter_state(ss, SMTP_ST_DATA);
}

/* Stop relaying this message: the next hop gets a reset, the client gets code/text at its end. */
static void
relay_refuse(struct smtp_session *ss, unsigned code, const char *text)
{
	if (ss->refuse_code == 0) {
		ss->refuse_code = code;
		snprintf(ss->refuse_text, sizeof(ss->refuse_text), "%.*s", (int)sizeof(ss->refuse_text) - 1, text);
	}
	if (ss->cl != NULL)
		relay_release(ss, false);       /* never let the next hop see an end of data */
	smtp_enter_state(ss, SMTP_ST_DISCARD);
}

/* The end of a message that was not relayed: the reply owed, the log line. */
static void
relay_discard_done(struct smtp_session *ss)
{
	struct worker *w = ss->w;
	char reply[200];

	snprintf(reply, sizeof(reply), "%u %s", ss->refuse_code, ss->refuse_text);
	ss->t_eod = w->now;
	ss->failed++;
	w->ctr[0][ss->refuse_code / 100 == 4 ? STATS_SMTP_MSG_TEMPFAIL : STATS_SMTP_MSG_REJECTED]++;
	relay_log_message(ss, ss->refuse_code / 100 == 4 ? "deferred" : "refused", reply);
	smtp_reply(ss, "%s", reply);
	if (ss->refuse_code / 100 == 5)
		smtp_error(ss);
	smtp_enter_state(ss, SMTP_ST_CMD);
	smtp_txn_reset(ss);
}

/* What the scanner found that refuses the message; false if nothing. */
static bool
relay_check_scan(struct smtp_session *ss, enum smtp_data_status st)
{
	struct worker *w = ss->w;
	char text[160], a[16];

	if (st == SMTP_DATA_BARE_LF || st == SMTP_DATA_BARE_CR) {
		bool lf = st == SMTP_DATA_BARE_LF;
		if (ss->refuse_code == 0 || ss->refuse_code != 550) {
			w->ctr[0][lf ? STATS_SMTP_BARE_LF_DATA : STATS_SMTP_BARE_CR_DATA]++;
			WORKER_LOG(w, CFG_LOG_WARNING, "smtp: msg=%s session=%s client=%s: bare %s in message "
				   "data at offset %" PRIu64 ", message refused (smuggling defence)", ss->msg_id,
				   ss->id, smtp_addr_str(ss->client_addr, a), lf ? "LF" : "CR", ss->scan.event_off);
		}
		snprintf(text, sizeof(text), "5.6.11 Error: bare <%s> in message data; message refused "
			 "(SMTP smuggling defence)", lf ? "LF" : "CR");
		relay_refuse(ss, 550, text);
		return true;
	}
	if (ss->scan.raw_bytes > w->cfg->smtp.limits.message_size) {
		w->ctr[0][STATS_SMTP_TOO_BIG]++;
		relay_refuse(ss, 552, "5.3.4 Message size exceeds fixed limit");
		return true;
	}
	if (ss->scan.flags & SMTP_DATA_F_LONG_LINE) {
		w->ctr[0][STATS_SMTP_TEXT_TOO_LONG]++;
		snprintf(text, sizeof(text), "5.5.2 Error: message line longer than %u octets; message refused",
			 w->cfg->smtp.limits.text_line);
		relay_refuse(ss, 500, text);
		return true;
	}
	return false;
}

/* Our Received: field goes first; false while it does not fit yet. */
static bool
relay_send_header(struct smtp_session *ss)
{
	while (ss->hdr_off < ss->hdr_len) {
		size_t n = smtp_client_write(ss->cl, ss->hdr + ss->hdr_off, ss->hdr_len - ss->hdr_off);
		if (n == 0)
			return false;
		ss->hdr_off += n;
	}
	return true;
}

/*
 * Send the used bytes just scanned (the scanner was *before before them).
 * The next hop's stream may take fewer than it had room for (its buffer
 * pool ran dry): the scanner is then rewound to exactly the bytes taken,
 * so that what it has seen, the offset and the bytes sent stay one, and
 * the rest is scanned and sent again on the writable event. Returns the
 * bytes taken; *st is what the scanner says about those.
 */
static size_t
relay_send_scanned(struct smtp_session *ss, const struct smtp_data_scanner *before, size_t used,
		   enum smtp_data_status *st)
{
	size_t took = smtp_client_write(ss->cl, ss->in + ss->in_off, used);

	if (took < used) {
		size_t again = 0;
		ss->w->ctr[0][STATS_SMTP_DATA_SHORT_WRITES]++;
		ss->scan = *before;
		*st = took == 0 ? SMTP_DATA_MORE : smtp_data_feed(&ss->scan, ss->in + ss->in_off, took, &again);
	}
	return took;
}

bool
relay_data_step(struct smtp_session *ss)
{
	bool discard = ss->state == SMTP_ST_DISCARD;
	size_t room = SIZE_MAX;

	if (!discard) {
		if (!relay_send_header(ss))
			return false;
		room = smtp_client_write_space(ss->cl);
		if (room == 0) {
			smtp_client_wait_writable(ss->cl);     /* its writable event resumes us */
			return false;
		}
	}
	size_t avail = smtp_fill(ss, room);
	if (avail == 0) {
		if (ss->s != NULL && stream_eof(ss->s)) {
			ss->failed++;           /* the next hop gets a reset: never an end of data */
			smtp_close_session(ss, "client closed during DATA");
		}
		return false;
	}
	size_t n = RTE_MIN(avail, room), used = 0;
	struct smtp_data_scanner before = ss->scan;
	enum smtp_data_status st = smtp_data_feed(&ss->scan, ss->in + ss->in_off, n, &used);
	if (!discard) {
		if (relay_check_scan(ss, st)) {
			ss->in_off += used;
			if (st == SMTP_DATA_END)        /* the end came in the same chunk */
				relay_discard_done(ss);
			return true;
		}
		size_t took = relay_send_scanned(ss, &before, used, &st);
		ss->w->ctr[0][STATS_SMTP_MSG_BYTES] += took;
		ss->in_off += took;
		if (took < used)
			return false;           /* the stream's writable event resumes us */
	} else {
		if (st == SMTP_DATA_BARE_LF || st == SMTP_DATA_BARE_CR)
			relay_check_scan(ss, st);
		ss->in_off += used;
	}
	if (st != SMTP_DATA_END)
		return true;
	if (ss->state == SMTP_ST_DISCARD) {
		relay_discard_done(ss);
		return true;
	}
	ss->t_eod = ss->w->now;
	smtp_client_end_data(ss->cl);
	smtp_enter_state(ss, SMTP_ST_DATA_END);
	return false;
}

/* ---- the next hop's side ---- */

static void
relay_on_rcpt(struct smtp_session *ss, const struct smtp_reply *r)
{
	struct worker *w = ss->w;
	char line[512];

	if (ss->mail_refused) {
		/* MAIL was refused: this RCPT gets that answer, the outbound transaction ends */
		smtp_reply(ss, "%u %s", ss->mail_code, ss->mail_text);
		relay_release(ss, true);
		ss->route = NULL;
		ss->out_conn = NULL;
	} else if (r->code / 100 == 2) {
		w->ctr[0][STATS_SMTP_RCPT_ACCEPTED]++;
		relay_note_rcpt(ss, ss->cur_rcpt, ss->cur_rcpt_len);
		ss->n_rcpt++;
		relay_format_reply(line, sizeof(line), r, "1.5");
		smtp_reply(ss, "%s", line);
	} else {
		w->ctr[0][STATS_SMTP_RCPT_REFUSED]++;
		relay_format_reply(line, sizeof(line), r, "1.0");
		smtp_reply(ss, "%s", line);
		if (ss->n_rcpt == 0) {          /* nothing open downstream worth keeping */
			relay_release(ss, true);
			ss->route = NULL;
			ss->out_conn = NULL;
		}
	}
	smtp_enter_state(ss, SMTP_ST_CMD);
}

static void
relay_on_eod(struct smtp_session *ss, const struct smtp_reply *r)
{
	struct worker *w = ss->w;
	char line[512];
	unsigned cls = r->code / 100;

	relay_format_reply(line, sizeof(line), r, "0.0");
	if (cls == 2) {
		ss->relayed++;
		w->ctr[0][STATS_SMTP_MSG_RELAYED]++;
	} else {
		ss->failed++;
		w->ctr[0][cls == 4 ? STATS_SMTP_MSG_TEMPFAIL : STATS_SMTP_MSG_REJECTED]++;
	}
	relay_log_message(ss, cls == 2 ? "sent" : cls == 4 ? "deferred" : "bounced", line);
	smtp_reply(ss, "%s", line);
	smtp_enter_state(ss, SMTP_ST_CMD);
	smtp_txn_reset(ss);             /* the connection goes back to the cache */
}

static void
relay_client_reply(void *owner, enum smtp_client_cmd cmd, const struct smtp_reply *r)
{
	struct smtp_session *ss = owner;
	char line[512];

	switch (cmd) {
	case SMTP_CL_MAIL:
		if (r->code / 100 != 2) {
			relay_format_reply(line, sizeof(line), r, "1.0");
			ss->mail_refused = true;
			ss->mail_code = (unsigned)atoi(line);
			snprintf(ss->mail_text, sizeof(ss->mail_text), "%.*s", (int)sizeof(ss->mail_text) - 1, line + 4);
		}
		return;                         /* the RCPT's reply follows */
	case SMTP_CL_RCPT:
		relay_on_rcpt(ss, r);
		break;
	case SMTP_CL_DATA:
		if (r->code == 354) {
			relay_data_start(ss);
		} else {
			relay_format_reply(line, sizeof(line), r, "0.0");
			smtp_reply(ss, "%s", line);
			smtp_enter_state(ss, SMTP_ST_CMD);
			smtp_txn_reset(ss);
		}
		break;
	case SMTP_CL_EOD:
		relay_on_eod(ss, r);
		break;
	}
	smtp_pump(ss);
}

/*
 * The 451 for a next-hop failure: 4.4.1 no answer, 4.4.2 connection lost,
 * 4.5.0 protocol error (a reply out of stage or early), 4.4.5 no next-hop
 * capacity (destination_concurrency, connections_per_worker, data_hold),
 * 4.4.0 other.
 */
static void
relay_fail_reply(enum smtp_client_fail why, const char *peer, char *buf, size_t len)
{
	switch (why) {
	case SMTP_CL_F_PROTOCOL:
		snprintf(buf, len, "451 4.5.0 next hop protocol error; try again later");
		return;
	case SMTP_CL_F_BUSY:
	case SMTP_CL_F_NO_SLOT:
		snprintf(buf, len, "451 4.4.5 Insufficient next-hop capacity; try again later");
		return;
	case SMTP_CL_F_HOLD:
		snprintf(buf, len, "451 4.4.5 Error: transaction or message data too slow; next-hop connection released");
		return;
	case SMTP_CL_F_TLS_NOT_OFFERED:
		snprintf(buf, len, "451 4.7.4 TLS is required, but was not offered by host %s", peer);
		return;
	case SMTP_CL_F_TLS_HANDSHAKE:
	case SMTP_CL_F_TLS_VERIFY:
		snprintf(buf, len, "451 4.7.5 %s (host %s)", smtp_client_fail_text(why), peer);
		return;
	default:
		break;
	}
	const char *enh = why == SMTP_CL_F_CONNECT || why == SMTP_CL_F_TIMEOUT ? "4.4.1" :
			  why == SMTP_CL_F_LOST ? "4.4.2" : "4.4.0";
	snprintf(buf, len, "451 %s %s; try again later", enh, smtp_client_fail_text(why));
}

static void
relay_client_failed(void *owner, enum smtp_client_fail why, const char *peer)
{
	struct smtp_session *ss = owner;
	char line[200];

	ss->cl = NULL;                          /* the client is gone */
	relay_fail_reply(why, peer, line, sizeof(line));
	switch (ss->state) {
	case SMTP_ST_WAIT:
		if (ss->n_rcpt == 0 && !ss->cl_retried && why == SMTP_CL_F_LOST) {
			/* maybe a stale cached connection: once more on a new one */
			ss->cl_retried = true;
			ss->next_conn = ss->out_conn;
			if (relay_open(ss, ss->route, true)) {
				smtp_client_rcpt(ss->cl, ss->cur_rcpt, ss->cur_rcpt_len);
				return;
			}
			smtp_enter_state(ss, SMTP_ST_CMD);
			break;
		}
		smtp_reply(ss, "%s", line);
		if (ss->n_rcpt != 0)
			ss->broken = why;       /* recipients accepted there are lost with it */
		else {
			ss->route = NULL;
			ss->out_conn = NULL;
		}
		smtp_enter_state(ss, SMTP_ST_CMD);
		break;
	case SMTP_ST_DATA:
		relay_refuse(ss, 451, line + 4);
		break;
	case SMTP_ST_DATA_END:
		ss->refuse_code = 451;
		snprintf(ss->refuse_text, sizeof(ss->refuse_text), "%.*s", (int)sizeof(ss->refuse_text) - 1, line + 4);
		relay_discard_done(ss);
		break;
	default:                                /* between commands: DATA will say so */
		ss->broken = why;
		return;
	}
	smtp_pump(ss);
}

static void
relay_client_writable(void *owner)
{
	struct smtp_session *ss = owner;

	if (ss->state == SMTP_ST_DATA)
		smtp_pump(ss);
}

/* Message bytes the session has passed on (smtp.timeouts.data_hold watches it move). */
static uint64_t
relay_client_progress(void *owner)
{
	const struct smtp_session *ss = owner;

	return ss->scan.raw_bytes + ss->hdr_off;
}

static const struct smtp_client_ops relay_client_ops = {
	.reply = relay_client_reply,
	.failed = relay_client_failed,
	.writable = relay_client_writable,
	.progress = relay_client_progress,
};

void
relay_release(struct smtp_session *ss, bool clean)
{
	struct smtp_client *cl = ss->cl;

	ss->cl = NULL;
	if (cl != NULL)
		smtp_client_release(cl, clean);
}
