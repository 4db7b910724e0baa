/*
 * client.c — smtpgen's client sessions and event loop (client.h). Per
 * session: connect -> 220 -> EHLO (HELO fallback) -> [STARTTLS -> TLS
 * handshake -> EHLO] -> transactions (MAIL, RCPT..., DATA as one PIPELINING
 * group, or one by one) -> body -> final reply -> next message, RSET after a
 * refusal, QUIT after -d messages (--handshake-only: QUIT after the EHLO
 * that ends the set-up, which counts as the message; --think: each command
 * group waits in the output queue first). client_run() drives every session
 * from one epoll (edge-triggered) and a timer heap; open loop (--rate) adds
 * an arrival process and a bounded backlog.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/smtpgen/client.h"

enum client_state {
	CS_FREE,        /* slot unused */
	CS_BACKOFF,     /* waiting a little before reconnecting after a failure */
	CS_CONNECTING,
	CS_GREETING,
	CS_EHLO,
	CS_HELO,
	CS_STARTTLS,
	CS_TLS,         /* handshake in progress */
	CS_EHLO2,       /* EHLO again inside TLS */
	CS_IDLE,        /* open loop: ready, waiting for a message to arrive */
	CS_TXN,         /* MAIL / RCPT / DATA replies outstanding */
	CS_BODY,        /* message sent (or being sent), final reply outstanding */
	CS_RSET,
	CS_QUIT,
};

static const char *const client_state_names[] = {
	"free", "backoff", "connecting", "greeting", "ehlo", "helo", "starttls", "tls",
	"ehlo", "idle", "transaction", "end of data", "rset", "quit",
};

const char *const client_stage_names[CST_COUNT] = {
	"connect", "greeting", "ehlo", "starttls", "tls", "mail", "rcpt", "data", "eod", "rset", "quit",
};

const char *const client_err_names[CE_COUNT] = {
	"connect", "timeout", "disconnect", "io", "bad_reply", "tls", "no_starttls",
	"reply_4xx", "reply_5xx", "backlog_full",
};

#define CLIENT_BACKOFF_NS 20000000ull   /* 20 ms after a failed connection */
#define CLIENT_QUIT_NS    2000000000ull /* for 221 and the server's close after QUIT */

struct client_sess {
	struct sg_conn c;
	struct sg_timer timer;
	struct sg_reply rep;
	uint32_t idx, gen;
	enum client_state st;
	unsigned ext;                   /* EHLO keywords of this connection */
	bool tls, resume_tried, eod_sent, have_msg, mail_ok, lockstep;
	bool holding;                   /* --think: output queued, not to be sent before hold_until */
	uint64_t hold_until;
	unsigned msgs;                  /* transactions started on this connection */
	unsigned rk;                    /* next reply: 0 MAIL, 1..r RCPT, r+1 DATA */
	unsigned rcpt_ok;
	int fail_code;                  /* first refusal of the transaction */
	enum client_stage fail_stage;
	uint64_t n, t_start, t_eod;
	struct sg_msg msg;
	struct client_sess *idle_prev, *idle_next, *free_next;
	char *cmd;
	char in[CLIENT_IN_BUF];
	char head[SG_MSG_HEAD_MAX];
};

struct client {
	const struct client_opts *o;
	struct client_stats *st;
	int ep;
	struct client_sess *sess;
	unsigned nsess, active;
	size_t cmd_cap;
	struct sg_timers timers;
	struct sg_pool pool;
	struct sg_rng rng;
	WOLFSSL_CTX *ctx;
	WOLFSSL_SESSION *saved;         /* the latest session, for --resume */
	uint64_t next_n, deadline;
	bool stopping, open_loop, dispatching;
	/* open loop */
	uint64_t next_arrival, *queue;  /* arrival times waiting for a session */
	unsigned qhead, qlen;
	struct client_sess idle;        /* list head of CS_IDLE sessions */
	struct client_sess *free;       /* CS_FREE slots */
};

static volatile sig_atomic_t client_signals;

static void client_on_signal(int sig)
{
	(void)sig;
	client_signals++;
}

/* ------------------------------------------------------------ helpers */

static void client_count_code(struct client *cl, enum client_stage stage, int code)
{
	if (code >= 200 && code < 600)
		cl->st->stage_codes[stage][code - 200]++;
}

static void client_count_name(struct client_name_count *t, const char *name)
{
	int i;

	if (!name)
		name = "unknown";
	for (i = 0; i < CLIENT_NAMES && t[i].name; i++)
		if (strcmp(t[i].name, name) == 0)
			break;
	if (i == CLIENT_NAMES)
		i = CLIENT_NAMES - 1;           /* table full: lump into the last */
	if (!t[i].name)
		t[i].name = name;
	t[i].n++;
}

static void client_arm(struct client *cl, struct client_sess *s, uint64_t ns)
{
	sg_timer_arm(&cl->timers, &s->timer, sg_now_ns() + ns);
}

static uint64_t client_timeout_ns(const struct client *cl)
{
	return (uint64_t)(cl->o->timeout * 1e9);
}

static void client_idle_remove(struct client_sess *s)
{
	if (!s->idle_prev)
		return;
	s->idle_prev->idle_next = s->idle_next;
	s->idle_next->idle_prev = s->idle_prev;
	s->idle_prev = s->idle_next = NULL;
}

static void client_idle_add(struct client *cl, struct client_sess *s)
{
	s->idle_next = cl->idle.idle_next;
	s->idle_prev = &cl->idle;
	cl->idle.idle_next->idle_prev = s;
	cl->idle.idle_next = s;
}

static void client_state(struct client_sess *s, enum client_state st)
{
	if (s->st == CS_IDLE && st != CS_IDLE)
		client_idle_remove(s);
	s->st = st;
}

/* The recipient address number i (1-based): the first "%d" of --to becomes i. */
static int client_rcpt(const char *tmpl, unsigned i, char *out, size_t cap)
{
	const char *p = strstr(tmpl, "%d");

	if (!p)
		return snprintf(out, cap, "%s", tmpl);
	return snprintf(out, cap, "%.*s%u%s", (int)(p - tmpl), tmpl, i, p + 2);
}

static uint64_t client_pick_size(struct client *cl)
{
	const struct client_opts *o = cl->o;
	unsigned w, i;

	if (o->nmix == 1)
		return o->mix_size[0];
	w = sg_rng_below(&cl->rng, o->mix_total);
	for (i = 0; i + 1 < o->nmix && w >= o->mix_weight[i]; i++)
		w -= o->mix_weight[i];
	return o->mix_size[i];
}

/* ------------------------------------------------------- message claims */

/* Is there (or will there be) another message for a session to take? */
static bool client_more(const struct client *cl)
{
	if (cl->open_loop)
		return cl->qlen > 0;
	return !cl->stopping && (cl->o->total == 0 || cl->next_n <= cl->o->total);
}

static bool client_arrivals_done(const struct client *cl)
{
	return cl->stopping || (cl->o->total && cl->st->arrivals >= cl->o->total);
}

/* Give s the next message (number and start time); false when none. */
static bool client_claim(struct client *cl, struct client_sess *s)
{
	uint64_t now = sg_now_ns();

	if (!client_more(cl))
		return false;
	s->t_start = now;
	if (cl->open_loop) {
		uint64_t late;

		s->t_start = cl->queue[cl->qhead];
		cl->qhead = (cl->qhead + 1) % cl->o->backlog;
		cl->qlen--;
		late = now > s->t_start ? (now - s->t_start) / 1000 : 0;
		if (late > cl->st->late_max_us)
			cl->st->late_max_us = late;
	}
	s->n = cl->next_n++;
	s->have_msg = true;
	cl->st->attempted++;
	return true;
}

static void client_msg_done(struct client *cl, struct client_sess *s, bool ok, int code,
                            enum client_stage stage)
{
	struct client_stats *st = cl->st;

	if (!s->have_msg)
		return;
	s->have_msg = false;
	st->t_last = sg_now_ns();
	if (code >= 200 && code < 600)
		st->final_codes[code - 200]++;
	if (ok) {
		st->ok++;
		st->bytes += s->msg.size;
	} else {
		st->failed++;
		st->failed_at[stage]++;
	}
}

/* ---------------------------------------------------- connection life */

static void client_start(struct client *cl, struct client_sess *s);
static void client_next(struct client *cl, struct client_sess *s);
static void client_dispatch(struct client *cl);

/* Close the connection; the slot goes back to work (closed loop) or to the free list. */
static void client_end(struct client *cl, struct client_sess *s, bool failed)
{
	client_state(s, CS_FREE);
	sg_timer_cancel(&cl->timers, &s->timer);
	sg_conn_close(&s->c, failed);
	s->gen++;
	cl->active--;
	if (cl->open_loop) {
		s->free_next = cl->free;
		cl->free = s;
		client_dispatch(cl);
		return;
	}
	if (!client_more(cl))
		return;
	if (failed) {
		client_state(s, CS_BACKOFF);
		cl->active++;
		client_arm(cl, s, CLIENT_BACKOFF_NS);
		return;
	}
	client_start(cl, s);
}

/* A connection-level failure: the message in progress (if any) fails at stage. */
static void client_fail(struct client *cl, struct client_sess *s, enum client_err kind,
                        enum client_stage stage, int code, const char *what)
{
	cl->st->errors[kind]++;
	sg_warn(kind, "%s: %s (in %s)", cl->o->server, what, client_state_names[s->st]);
	client_msg_done(cl, s, false, code, stage);
	client_end(cl, s, true);
}

static int client_queue(struct client *cl, struct client_sess *s, const char *p, size_t n)
{
	if (cl->o->think > 0 && !s->holding && !sg_conn_pending(&s->c)) {
		s->holding = true;              /* the first of a group: think first */
		s->hold_until = sg_now_ns() + (uint64_t)(cl->o->think * (0.5 + sg_rng_unit(&cl->rng)) * 1e9);
	}
	return sg_conn_queue(&s->c, p, n);
}

/* --think: whether the queued output must still wait (false once its time has come). */
static bool client_held(struct client_sess *s)
{
	if (s->holding && sg_now_ns() >= s->hold_until)
		s->holding = false;
	return s->holding;
}

/* Queue a constant command. */
static void client_send(struct client *cl, struct client_sess *s, const char *line)
{
	client_queue(cl, s, line, strlen(line));
}

/* Open a connection for s, which holds a claimed message (or none, open loop). */
static void client_open(struct client *cl, struct client_sess *s)
{
	struct epoll_event ev;
	int fd, one = 1;

	cl->active++;
	cl->st->conns++;
	s->msgs = 0;
	s->tls = s->resume_tried = s->holding = false;
	s->ext = 0;
	sg_reply_init(&s->rep);
	fd = socket(cl->o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	sg_conn_init(&s->c, fd, s->in, sizeof(s->in));
	client_state(s, CS_CONNECTING);
	if (fd < 0) {
		client_fail(cl, s, CE_CONNECT, CST_CONNECT, 0, strerror(errno));
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = (uint64_t)s->gen << 32 | s->idx;
	if (epoll_ctl(cl->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		client_fail(cl, s, CE_CONNECT, CST_CONNECT, 0, strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&cl->o->addr, cl->o->addrlen) < 0 && errno != EINPROGRESS) {
		char what[128];

		snprintf(what, sizeof(what), "connect: %s", strerror(errno));
		client_fail(cl, s, CE_CONNECT, CST_CONNECT, 0, what);
		return;
	}
	client_arm(cl, s, client_timeout_ns(cl));
}

/* Closed loop: a free slot claims a message and connects for it. */
static void client_start(struct client *cl, struct client_sess *s)
{
	if (client_claim(cl, s))
		client_open(cl, s);
	else
		client_state(s, CS_FREE);
}

/* ---------------------------------------------------------- the dialogue */

static void client_quit(struct client *cl, struct client_sess *s)
{
	client_state(s, CS_QUIT);
	client_send(cl, s, "QUIT\r\n");
}

static void client_ehlo(struct client *cl, struct client_sess *s, enum client_state st)
{
	int n = snprintf(s->cmd, cl->cmd_cap, "%s %s\r\n", st == CS_HELO ? "HELO" : "EHLO", cl->o->helo);

	client_state(s, st);
	client_queue(cl, s, s->cmd, (size_t)n);
}

/* Command k of the transaction (0 MAIL, 1..r RCPT, r+1 DATA) appended at s->cmd + off. */
static size_t client_cmd(struct client *cl, struct client_sess *s, unsigned k, size_t off)
{
	char *p = s->cmd + off, addr[SG_MSG_ADDR_MAX];
	size_t cap = cl->cmd_cap - off;
	int n;

	if (k == 0 && (s->ext & SG_EXT_SIZE))
		n = snprintf(p, cap, "MAIL FROM:<%s> SIZE=%llu\r\n", cl->o->from, (unsigned long long)s->msg.size);
	else if (k == 0)
		n = snprintf(p, cap, "MAIL FROM:<%s>\r\n", cl->o->from);
	else if (k <= cl->o->rcpts) {
		client_rcpt(cl->o->to, k, addr, sizeof(addr));
		n = snprintf(p, cap, "RCPT TO:<%s>\r\n", addr);
	} else
		n = snprintf(p, cap, "DATA\r\n");
	return off + (size_t)n;
}

/* Start the transaction of the message s holds. */
static void client_txn(struct client *cl, struct client_sess *s)
{
	struct sg_msg_spec spec;
	char to[SG_MSG_ADDR_MAX];
	size_t len = 0;
	unsigned k;

	client_rcpt(cl->o->to, 1, to, sizeof(to));
	spec.run = cl->o->run;
	spec.n = s->n;
	spec.from = cl->o->from;
	spec.to = to;
	spec.size = client_pick_size(cl);
	spec.corrupt = cl->o->corrupt && s->n % cl->o->corrupt == 0;
	sg_msg_build(&cl->pool, &cl->rng, &spec, s->head, sizeof(s->head), &s->msg);
	s->msgs++;
	s->rk = 0;
	s->rcpt_ok = 0;
	s->mail_ok = s->eod_sent = false;
	s->fail_code = 0;
	s->lockstep = !(cl->o->pipelining && (s->ext & SG_EXT_PIPELINING));
	for (k = 0; k <= cl->o->rcpts + 1; k++) {
		len = client_cmd(cl, s, k, len);
		if (s->lockstep)
			break;
	}
	client_state(s, CS_TXN);
	client_queue(cl, s, s->cmd, len);
}

/* The server is ready for a transaction: send one, wait for one, or leave. */
static void client_next(struct client *cl, struct client_sess *s)
{
	if (s->msgs >= cl->o->per_conn) {
		client_quit(cl, s);
		return;
	}
	if (s->have_msg || client_claim(cl, s)) {
		client_txn(cl, s);
		return;
	}
	if (cl->open_loop && !client_arrivals_done(cl) && cl->o->idle > 0) {
		client_state(s, CS_IDLE);
		client_idle_add(cl, s);
		client_arm(cl, s, (uint64_t)(cl->o->idle * 1e9));
		return;
	}
	client_quit(cl, s);
}

static void client_tls_start(struct client *cl, struct client_sess *s)
{
	WOLFSSL *ssl = wolfSSL_new(cl->ctx);
	const char *name = cl->o->servername;

	if (!ssl) {
		client_fail(cl, s, CE_TLS, CST_TLS, 0, "wolfSSL_new failed");
		return;
	}
	if (name) {
		wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, name, (unsigned short)strlen(name));
		if (cl->o->tls.ca)
			wolfSSL_check_domain_name(ssl, name);
	}
	if (cl->saved && cl->o->resume_pct && sg_rng_below(&cl->rng, 100) < cl->o->resume_pct) {
		wolfSSL_set_session(ssl, cl->saved);
		s->resume_tried = true;
		cl->st->resume_tried++;
	}
	sg_conn_discard_input(&s->c);
	if (sg_conn_start_tls(&s->c, ssl)) {
		wolfSSL_free(ssl);
		client_fail(cl, s, CE_TLS, CST_TLS, 0, "wolfSSL_set_fd failed");
		return;
	}
	s->tls = true;
	client_state(s, CS_TLS);
}

static void client_tls_done(struct client *cl, struct client_sess *s)
{
	WOLFSSL *ssl = s->c.ssl;
	const char *name;

	if (wolfSSL_session_reused(ssl))
		cl->st->tls_resumed++;
	else
		cl->st->tls_full++;
	client_count_name(cl->st->versions, wolfSSL_get_version(ssl));
	client_count_name(cl->st->ciphers, wolfSSL_get_cipher_name(ssl));
	name = wolfSSL_get_curve_name(ssl);        /* none: a resumed TLS 1.2 session */
	client_count_name(cl->st->groups, name ? name : "none");
	client_ehlo(cl, s, CS_EHLO2);
}

/*
 * Keep the session of the latest full handshake for --resume (taken after
 * EHLO: TLS 1.3 tickets arrive after the handshake). Not that of a resumed
 * one: wolfSSL 5.5.4 stores a session from a resumed TLS 1.3 connection
 * that fails the next resumption's PSK binder check against OpenSSL
 * ("binder does not verify"; wolfSSL/wolfssl#6172). wolfSSL servers accept
 * it, which is why only Postfix showed it.
 */
static void client_tls_save(struct client *cl, struct client_sess *s)
{
	WOLFSSL_SESSION *sess;

	if (!cl->o->resume_pct || wolfSSL_session_reused(s->c.ssl))
		return;
	sess = wolfSSL_get1_session(s->c.ssl);
	if (!sess)
		return;
	if (cl->saved)
		wolfSSL_SESSION_free(cl->saved);
	cl->saved = sess;
}

static void client_refused(struct client *cl, struct client_sess *s, enum client_stage stage, int code)
{
	char what[256];

	snprintf(what, sizeof(what), "%s refused: %s", client_stage_names[stage], s->rep.text);
	client_fail(cl, s, code >= 500 ? CE_REPLY_5XX : CE_REPLY_4XX, stage, code, what);
}

/* --handshake-only: the session is set up; that was the message. */
static void client_setup_done(struct client *cl, struct client_sess *s, int code)
{
	sg_hist_add(&cl->st->lat_start, (sg_now_ns() - s->t_start) / 1000);
	client_msg_done(cl, s, true, code, CST_EHLO);
	client_quit(cl, s);
}

/* The EHLO/HELO reply: STARTTLS next, or the first transaction (or QUIT). */
static void client_on_ehlo(struct client *cl, struct client_sess *s, int code, unsigned ext)
{
	if (code / 100 == 5 && s->st == CS_EHLO) {
		client_ehlo(cl, s, CS_HELO);
		return;
	}
	if (code / 100 != 2) {
		client_refused(cl, s, CST_EHLO, code);
		return;
	}
	s->ext = s->st == CS_HELO ? 0 : ext;
	if (s->st == CS_EHLO2)
		client_tls_save(cl, s);
	if (s->st == CS_EHLO2 || !cl->o->starttls) {
		if (cl->o->handshake_only)
			client_setup_done(cl, s, code);
		else
			client_next(cl, s);
	} else if (!(s->ext & SG_EXT_STARTTLS)) {
		client_fail(cl, s, CE_NO_STARTTLS, CST_STARTTLS, 0, "the server does not offer STARTTLS");
	} else {
		client_state(s, CS_STARTTLS);
		client_send(cl, s, "STARTTLS\r\n");
	}
}

/* Replies before the first transaction: greeting, EHLO/HELO, STARTTLS. */
static void client_on_setup(struct client *cl, struct client_sess *s, int code, unsigned ext)
{
	switch (s->st) {
	case CS_GREETING:
		if (code / 100 != 2)
			client_refused(cl, s, CST_GREETING, code);
		else
			client_ehlo(cl, s, CS_EHLO);
		break;
	case CS_EHLO:
	case CS_HELO:
	case CS_EHLO2:
		client_on_ehlo(cl, s, code, ext);
		break;
	case CS_STARTTLS:
		if (code != 220)
			client_refused(cl, s, CST_STARTTLS, code);
		else
			client_tls_start(cl, s);
		break;
	default:
		break;
	}
}

/* The message failed by a refusal; reset the transaction and go on. */
static void client_txn_refused(struct client *cl, struct client_sess *s)
{
	int c = s->fail_code;

	client_msg_done(cl, s, false, c, s->fail_stage);
	cl->st->errors[c >= 500 ? CE_REPLY_5XX : c >= 400 ? CE_REPLY_4XX : CE_BAD_REPLY]++;
	client_state(s, CS_RSET);
	client_send(cl, s, "RSET\r\n");
}

static void client_note_refusal(struct client_sess *s, enum client_stage stage, int code)
{
	if (!s->fail_code) {
		s->fail_code = code;
		s->fail_stage = stage;
	}
}

/* DATA answered: send the message (or an empty one when nothing was accepted). */
static void client_on_data(struct client *cl, struct client_sess *s, int code)
{
	if (code != 354) {
		client_note_refusal(s, CST_DATA, code);
		client_txn_refused(cl, s);
		return;
	}
	client_state(s, CS_BODY);
	if (!s->mail_ok || !s->rcpt_ok) {           /* pipelined group half refused */
		client_queue(cl, s, ".\r\n", 3);
		return;
	}
	client_queue(cl, s, s->head, s->msg.head_len);
	client_queue(cl, s, s->msg.slice, s->msg.slice_len);
	client_queue(cl, s, ".\r\n", 3);
}

/* Reply k of the transaction. */
static void client_on_txn(struct client *cl, struct client_sess *s, int code)
{
	unsigned k = s->rk++, r = cl->o->rcpts;
	bool ok = code / 100 == 2;

	if (k == 0) {
		client_count_code(cl, CST_MAIL, code);
		s->mail_ok = ok;
		if (!ok)
			client_note_refusal(s, CST_MAIL, code);
	} else if (k <= r) {
		client_count_code(cl, CST_RCPT, code);
		s->rcpt_ok += ok;
		if (k == r && !s->rcpt_ok)
			client_note_refusal(s, CST_RCPT, code);
	} else {
		client_count_code(cl, CST_DATA, code);
		client_on_data(cl, s, code);
		return;
	}
	if (!s->lockstep)
		return;
	if ((k == 0 && !s->mail_ok) || (k == r && !s->rcpt_ok)) {
		client_txn_refused(cl, s);
		return;
	}
	client_queue(cl, s, s->cmd, client_cmd(cl, s, k + 1, 0));
}

/* The final reply after end of data. */
static void client_on_eod(struct client *cl, struct client_sess *s, int code)
{
	uint64_t now = sg_now_ns();
	bool sent = s->mail_ok && s->rcpt_ok;

	client_count_code(cl, CST_EOD, code);
	if (sent) {
		sg_hist_add(&cl->st->lat_start, (now - s->t_start) / 1000);
		if (s->eod_sent)
			sg_hist_add(&cl->st->lat_eod, (now - s->t_eod) / 1000);
	}
	if (!sent) {
		client_txn_refused(cl, s);
		return;
	}
	if (code / 100 != 2) {
		cl->st->errors[code >= 500 ? CE_REPLY_5XX : CE_REPLY_4XX]++;
		client_msg_done(cl, s, false, code, CST_EOD);
	} else {
		client_msg_done(cl, s, true, code, CST_EOD);
	}
	client_next(cl, s);
}

static enum client_stage client_reply_stage(const struct client *cl, const struct client_sess *s)
{
	switch (s->st) {
	case CS_GREETING: return CST_GREETING;
	case CS_EHLO: case CS_HELO: case CS_EHLO2: return CST_EHLO;
	case CS_STARTTLS: return CST_STARTTLS;
	case CS_TXN: return s->rk == 0 ? CST_MAIL : s->rk <= cl->o->rcpts ? CST_RCPT : CST_DATA;
	case CS_BODY: return CST_EOD;
	case CS_RSET: return CST_RSET;
	default: return CST_QUIT;
	}
}

/* One complete reply; false when the session ended (or changed connection). */
static bool client_on_reply(struct client *cl, struct client_sess *s, int code, unsigned ext)
{
	uint32_t gen = s->gen;
	enum client_stage stage = client_reply_stage(cl, s);

	if (s->st != CS_TXN && s->st != CS_BODY)
		client_count_code(cl, stage, code);
	if (code == 421 && s->st != CS_QUIT) {
		if (s->st == CS_TXN || s->st == CS_BODY)
			client_count_code(cl, stage, code);
		client_refused(cl, s, stage, code);     /* the server is closing */
		return false;
	}
	if (s->st == CS_BODY && !s->eod_sent) {
		client_fail(cl, s, CE_BAD_REPLY, CST_EOD, code, "reply before the end of data");
		return false;
	}
	switch (s->st) {
	case CS_TXN: client_on_txn(cl, s, code); break;
	case CS_BODY: client_on_eod(cl, s, code); break;
	case CS_RSET: client_next(cl, s); break;
	case CS_QUIT: break;                    /* 221: wait for the server to close first */
	case CS_IDLE:
		client_fail(cl, s, CE_BAD_REPLY, CST_QUIT, code, "unexpected reply while idle");
		break;
	default: client_on_setup(cl, s, code, ext); break;
	}
	return s->gen == gen && s->st != CS_FREE && s->st != CS_TLS;
}

/* Everything read so far, reply by reply. */
static bool client_input(struct client *cl, struct client_sess *s)
{
	uint32_t gen;
	bool more;

	while (sg_conn_avail(&s->c) > 0) {
		size_t used = 0;
		enum sg_reply_status r = sg_reply_feed(&s->rep, sg_conn_data(&s->c), sg_conn_avail(&s->c), &used);
		int code = s->rep.code;
		unsigned ext = s->rep.ext;

		sg_conn_consume(&s->c, used);
		if (r == SG_REPLY_MORE)
			return true;
		if (r == SG_REPLY_BAD) {
			client_fail(cl, s, CE_BAD_REPLY, client_reply_stage(cl, s), 0, s->rep.text);
			return false;
		}
		if (s->c.oidx < s->c.nout && s->st != CS_BODY && s->st != CS_QUIT) {
			client_fail(cl, s, CE_BAD_REPLY, client_reply_stage(cl, s), code,
			            "reply before the command was sent");
			return false;
		}
		gen = s->gen;
		more = client_on_reply(cl, s, code, ext);       /* may use s->rep.text */
		if (s->gen == gen)
			sg_reply_init(&s->rep);
		if (!more)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ the engine */

static bool client_connected(struct client *cl, struct client_sess *s)
{
	int err = 0;
	socklen_t len = sizeof(err);
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);

	getsockopt(s->c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		char what[128];

		snprintf(what, sizeof(what), "connect: %s", strerror(err));
		client_fail(cl, s, CE_CONNECT, CST_CONNECT, 0, what);
		return false;
	}
	if (getpeername(s->c.fd, (struct sockaddr *)&peer, &plen) < 0)
		return false;                           /* still in progress */
	client_state(s, CS_GREETING);
	return true;
}

static void client_io_error(struct client *cl, struct client_sess *s, ssize_t r)
{
	char buf[160], what[200];

	if (s->st == CS_QUIT) {                         /* closed after QUIT: fine */
		client_end(cl, s, false);
		return;
	}
	if (r == SG_IO_EOF) {
		client_fail(cl, s, CE_DISCONNECT, client_reply_stage(cl, s), 0, "the server closed the connection");
		return;
	}
	snprintf(what, sizeof(what), "%s", sg_conn_error(&s->c, buf, sizeof(buf)));
	client_fail(cl, s, s->c.tls_err ? CE_TLS : CE_IO, s->st == CS_TLS ? CST_TLS : client_reply_stage(cl, s), 0, what);
}

/* One TLS handshake step; false when the session must wait or ended. */
static bool client_handshake(struct client *cl, struct client_sess *s)
{
	int r = sg_conn_handshake(&s->c, false);

	if (r == SG_IO_AGAIN)
		return false;
	if (r == SG_IO_ERR) {
		client_io_error(cl, s, r);
		return false;
	}
	client_tls_done(cl, s);
	return true;
}

/* Make all the progress possible on s (called on its epoll events). */
static void client_drive(struct client *cl, struct client_sess *s)
{
	uint32_t gen = s->gen;

	if (s->st == CS_CONNECTING && !client_connected(cl, s))
		return;
	for (;;) {
		ssize_t r;

		if (s->st == CS_TLS && !client_handshake(cl, s))
			return;
		if (sg_conn_pending(&s->c) && !client_held(s)) {
			r = sg_conn_flush(&s->c);
			if (r == SG_IO_ERR) {
				client_io_error(cl, s, r);
				return;
			}
		}
		if (s->st == CS_BODY && !s->eod_sent && !sg_conn_pending(&s->c)) {
			s->eod_sent = true;
			s->t_eod = sg_now_ns();
		}
		r = sg_conn_read(&s->c);
		if (r == SG_IO_AGAIN)
			break;
		if (r < 0) {
			client_io_error(cl, s, r);
			return;
		}
		if (!client_input(cl, s)) {
			if (s->gen != gen || s->st != CS_TLS)
				return;
		}
	}
	if (s->holding)
		sg_timer_arm(&cl->timers, &s->timer, s->hold_until);
	else if (s->st == CS_QUIT)
		client_arm(cl, s, client_timeout_ns(cl) < CLIENT_QUIT_NS ? client_timeout_ns(cl) : CLIENT_QUIT_NS);
	else if (s->st != CS_IDLE && s->st != CS_FREE)
		client_arm(cl, s, client_timeout_ns(cl));
}

static void client_on_timer(struct client *cl, struct client_sess *s)
{
	if (s->holding && s->st != CS_FREE && s->st != CS_BACKOFF) {
		client_drive(cl, s);            /* --think: time to send */
		return;
	}
	switch (s->st) {
	case CS_BACKOFF:
		cl->active--;
		client_start(cl, s);
		return;
	case CS_IDLE:
		client_quit(cl, s);
		client_drive(cl, s);
		return;
	case CS_QUIT:
		client_end(cl, s, false);
		return;
	case CS_FREE:
		return;
	default:
		client_fail(cl, s, CE_TIMEOUT, s->st == CS_CONNECTING ? CST_CONNECT :
		            s->st == CS_TLS ? CST_TLS : client_reply_stage(cl, s), 0, "timed out");
	}
}

/* --------------------------------------------------------- open loop */

static double client_gap_s(struct client *cl)
{
	if (cl->o->fixed_arrivals)
		return 1.0 / cl->o->rate;
	return -log(sg_rng_unit(&cl->rng)) / cl->o->rate;
}

/* Messages whose arrival time has come join the backlog. */
static void client_arrivals(struct client *cl, uint64_t now)
{
	while (!client_arrivals_done(cl) && cl->next_arrival <= now) {
		if (cl->qlen < cl->o->backlog) {
			cl->queue[(cl->qhead + cl->qlen) % cl->o->backlog] = cl->next_arrival;
			cl->qlen++;
		} else {
			cl->st->errors[CE_BACKLOG_FULL]++;
			cl->st->attempted++;
			cl->st->failed++;
			cl->next_n++;
		}
		cl->st->arrivals++;
		cl->next_arrival += (uint64_t)(client_gap_s(cl) * 1e9);
	}
}

/* Hand waiting messages to idle sessions, then to new connections. */
static void client_dispatch(struct client *cl)
{
	if (cl->dispatching)
		return;                         /* re-entered from client_end() */
	cl->dispatching = true;
	while (cl->qlen > 0) {
		struct client_sess *s = cl->idle.idle_next;

		if (s != &cl->idle) {
			client_claim(cl, s);
			client_txn(cl, s);
			client_drive(cl, s);
			continue;
		}
		s = cl->free;
		if (!s)
			break;
		cl->free = s->free_next;
		client_claim(cl, s);
		client_open(cl, s);
	}
	if (client_arrivals_done(cl) && cl->qlen == 0) {
		while (cl->idle.idle_next != &cl->idle) {
			struct client_sess *s = cl->idle.idle_next;

			client_quit(cl, s);
			client_drive(cl, s);
		}
	}
	cl->dispatching = false;
}

/* --------------------------------------------------------------- set-up */

static int client_setup(struct client *cl, const struct client_opts *o, struct client_stats *st)
{
	uint64_t maxsz = 0;
	unsigned i;
	char err[256];

	memset(cl, 0, sizeof(*cl));
	cl->o = o;
	cl->st = st;
	cl->open_loop = o->rate > 0;
	cl->next_n = 1;
	cl->idle.idle_next = cl->idle.idle_prev = &cl->idle;
	sg_rng_seed(&cl->rng, o->seed);
	for (i = 0; i < o->nmix; i++)
		maxsz = o->mix_size[i] > maxsz ? o->mix_size[i] : maxsz;
	if (sg_pool_init(&cl->pool, (size_t)(2 * maxsz + (1u << 20)), o->seed ^ 0x5eedu))
		return -ENOMEM;
	cl->nsess = o->sessions;
	cl->cmd_cap = 128 + (size_t)(o->rcpts + 2) * (SG_MSG_ADDR_MAX + 32);
	cl->sess = calloc(cl->nsess, sizeof(*cl->sess));
	if (!cl->sess || sg_timers_init(&cl->timers, (int)cl->nsess + 1))
		return -ENOMEM;
	for (i = 0; i < cl->nsess; i++) {
		cl->sess[i].idx = i;
		cl->sess[i].c.fd = -1;
		sg_timer_init(&cl->sess[i].timer);
		cl->sess[i].cmd = malloc(cl->cmd_cap);
		if (!cl->sess[i].cmd)
			return -ENOMEM;
	}
	if (cl->open_loop) {
		cl->queue = calloc(o->backlog, sizeof(*cl->queue));
		if (!cl->queue)
			return -ENOMEM;
		for (i = cl->nsess; i-- > 0;) {
			cl->sess[i].free_next = cl->free;
			cl->free = &cl->sess[i];
		}
	}
	if (o->starttls) {
		cl->ctx = sg_tls_client_ctx(&o->tls, err, sizeof(err));
		if (!cl->ctx) {
			fprintf(stderr, "smtpgen client: %s\n", err);
			return -EINVAL;
		}
	}
	cl->ep = epoll_create1(EPOLL_CLOEXEC);
	return cl->ep < 0 ? -errno : 0;
}

static void client_teardown(struct client *cl)
{
	unsigned i;

	for (i = 0; cl->sess && i < cl->nsess; i++) {
		sg_conn_close(&cl->sess[i].c, true);
		free(cl->sess[i].cmd);
	}
	free(cl->sess);
	free(cl->queue);
	sg_timers_free(&cl->timers);
	sg_pool_free(&cl->pool);
	if (cl->saved)
		wolfSSL_SESSION_free(cl->saved);
	if (cl->ctx)
		wolfSSL_CTX_free(cl->ctx);
	if (cl->ep >= 0)
		close(cl->ep);
}

/* A second ^C: everything in flight fails now. */
static void client_abort_all(struct client *cl)
{
	unsigned i;

	cl->stopping = true;
	cl->qlen = 0;
	for (i = 0; i < cl->nsess; i++) {
		struct client_sess *s = &cl->sess[i];

		if (s->st == CS_FREE)
			continue;
		if (s->st == CS_BACKOFF) {
			sg_timer_cancel(&cl->timers, &s->timer);
			client_state(s, CS_FREE);
			cl->active--;
			continue;
		}
		client_fail(cl, s, CE_TIMEOUT, client_reply_stage(cl, s), 0, "interrupted");
	}
}

static int client_wait_ms(struct client *cl, uint64_t now)
{
	int ms = sg_timers_wait_ms(&cl->timers, now, 100);

	if (cl->open_loop && !client_arrivals_done(cl)) {
		uint64_t d = cl->next_arrival > now ? (cl->next_arrival - now) / 1000000 : 0;

		if (d < (uint64_t)ms)
			ms = (int)d;
	}
	return ms;
}

static void client_events(struct client *cl, int timeout_ms)
{
	struct epoll_event ev[256];
	struct sg_timer *t;
	int n, i;
	uint64_t now;

	n = epoll_wait(cl->ep, ev, (int)SG_ARRAY_SIZE(ev), timeout_ms);
	for (i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)ev[i].data.u64, gen = (uint32_t)(ev[i].data.u64 >> 32);
		struct client_sess *s = &cl->sess[idx];

		if (s->gen == gen && s->st != CS_FREE && s->st != CS_BACKOFF)
			client_drive(cl, s);
	}
	now = sg_now_ns();
	while ((t = sg_timers_pop(&cl->timers, now)))
		client_on_timer(cl, sg_container_of(t, struct client_sess, timer));
}

static void client_loop(struct client *cl)
{
	for (;;) {
		uint64_t now = sg_now_ns();

		if (client_signals == 1 || (cl->deadline && now >= cl->deadline))
			cl->stopping = true;
		if (client_signals >= 2)
			client_abort_all(cl);
		if (cl->open_loop) {
			client_arrivals(cl, now);
			client_dispatch(cl);
		}
		if (cl->active == 0 && !client_more(cl) && (!cl->open_loop || client_arrivals_done(cl)))
			break;
		client_events(cl, client_wait_ms(cl, now));
	}
}

int client_run(const struct client_opts *o, struct client_stats *st)
{
	struct client cl;
	struct sigaction sa;
	double u0, s0;
	unsigned i;
	int rc;

	memset(st, 0, sizeof(*st));
	sg_hist_init(&st->lat_start);
	sg_hist_init(&st->lat_eod);
	sg_raise_nofile(o->sessions + 64);
	rc = client_setup(&cl, o, st);
	if (rc) {
		if (rc == -ENOMEM)
			fprintf(stderr, "smtpgen client: out of memory for %u sessions\n", o->sessions);
		client_teardown(&cl);
		return rc;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = client_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sg_cpu_times(&u0, &s0);
	st->t0 = st->t_last = sg_now_ns();
	cl.deadline = o->duration > 0 ? st->t0 + (uint64_t)(o->duration * 1e9) : 0;
	cl.next_arrival = st->t0;
	if (!cl.open_loop)
		for (i = 0; i < cl.nsess && client_more(&cl); i++)
			client_start(&cl, &cl.sess[i]);
	client_loop(&cl);
	st->t_end = sg_now_ns();
	sg_cpu_times(&st->cpu_user, &st->cpu_sys);
	st->cpu_user -= u0;
	st->cpu_sys -= s0;
	client_teardown(&cl);
	return 0;
}

int client_main(int argc, char **argv)
{
	struct client_opts o;
	struct client_stats *st;
	int rc;

	if (client_parse(&o, argc, argv))
		return 2;
	st = calloc(1, sizeof(*st));
	if (!st)
		return 2;
	rc = client_run(&o, st);
	if (rc) {
		free(st);
		return 2;
	}
	client_report(&o, st, stdout);
	rc = (st->failed > 0 || st->ok < st->attempted) && !o.allow_fail ? 1 : 0;
	free(st);
	return rc;
}
