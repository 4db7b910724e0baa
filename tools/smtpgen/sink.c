/*
 * sink.c — smtpgen's sink sessions and event loop (sink.h). Per session:
 * accept -> greeting -> commands (EHLO/HELO, STARTTLS, MAIL, RCPT, DATA,
 * RSET, NOOP, VRFY, QUIT; pipelined input is answered in order) -> DATA
 * streamed through the verifier (sg_verify_feed) -> end-of-data reply. A
 * configured delay parks the session's input until its timer fires, so
 * replies never overtake each other. One epoll: the listener (level), the
 * signalfd and every session (edge-triggered); one timer heap.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/smtpgen/sg_conn.h"
#include "tools/smtpgen/sg_msg.h"
#include "tools/smtpgen/sg_timer.h"
#include "tools/smtpgen/sg_util.h"
#include "tools/smtpgen/sink.h"

#define SINK_IN        8192
#define SINK_OUT       4096
#define SINK_ROOM      640              /* out space kept free for one more reply */
#define SINK_LINE_MAX  2048             /* longest command line taken */
#define SINK_RCPTS_MAX 10000
#define SINK_EV_LISTEN UINT64_MAX
#define SINK_EV_SIGNAL (UINT64_MAX - 1)
#define SINK_STOP_GRACE_NS 2000000000ull

/* sg_warn kinds of the sink (the client's use 0..15) */
enum { SINK_W_MISMATCH = 16, SINK_W_NOHASH, SINK_W_TLS, SINK_W_ACCEPT, SINK_W_LIMIT };

enum sink_state { SK_FREE, SK_CMD, SK_DATA, SK_TLS_PEEK, SK_TLS };

struct sink_sess {
	struct sg_conn c;
	struct sg_timer timer;
	uint32_t idx, gen;
	enum sink_state st;
	bool helo, mail, tls, skip_line, close_after, out_busy;
	bool delayed, pend_due;         /* a reply waits for its delay / the delay is over */
	unsigned rcpts;
	size_t out_len, pend_len;
	struct sg_verify v;
	struct sink_sess *free_next;
	char pend[SINK_REPLY_MAX + 112];
	char out[SINK_OUT];
	char in[SINK_IN];
};

struct sink {
	const struct sink_opts *o;
	struct sink_stats *st;
	int ep, lfd, sfd;
	struct sink_sess **sess;
	unsigned nsess, active;
	struct sink_sess *free;
	struct sg_timers timers;
	struct sg_tls_server tls;
	struct sg_rng rng;
	bool stopping, signalled;
	uint64_t stop_at, queue_id;
};

static const char *const sink_default_fail[SS_CONFIGURABLE] = {
	"421 4.3.2 smtpgen sink: injected failure\r\n",
	"451 4.3.0 smtpgen sink: injected failure (mail)\r\n",
	"451 4.3.0 smtpgen sink: injected failure (rcpt)\r\n",
	"451 4.3.0 smtpgen sink: injected failure (data)\r\n",
	"451 4.3.0 smtpgen sink: injected failure (eod)\r\n",
};

/* --------------------------------------------------------------- replies */

/* The configured reply for stage if this occurrence fails, else normal. */
static const char *sink_choose(struct sink *sk, enum sink_stage stage, const char *normal)
{
	const struct sink_stage_cfg *c = &sk->o->stage[stage];
	bool fail = c->fail_pct >= 0 ? sg_rng_below(&sk->rng, 100) < (unsigned)c->fail_pct : c->code != 0;

	if (!fail)
		return normal;
	return c->code ? c->reply : sink_default_fail[stage];
}

static int sink_code(const char *text)
{
	return (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
}

/* Answer with text (one or more complete lines) at stage: now or after its delay. */
static void sink_say(struct sink *sk, struct sink_sess *s, enum sink_stage stage, const char *text)
{
	size_t len = strlen(text);
	int code = sink_code(text);

	if (code >= 200 && code < 600)
		sk->st->codes[stage][code - 200]++;
	if (code == 421 || (stage == SS_GREETING && code / 100 != 2))
		s->close_after = true;
	if (stage < SS_CONFIGURABLE && sk->o->stage[stage].delay_ms && len <= sizeof(s->pend)) {
		memcpy(s->pend, text, len);
		s->pend_len = len;
		s->delayed = true;
		sg_timer_arm(&sk->timers, &s->timer, sg_now_ns() + sk->o->stage[stage].delay_ms * 1000000ull);
		return;
	}
	if (s->out_len + len > sizeof(s->out))
		abort();                        /* SINK_ROOM is kept free before every command */
	memcpy(s->out + s->out_len, text, len);
	s->out_len += len;
}

static void sink_reset_txn(struct sink_sess *s)
{
	s->mail = false;
	s->rcpts = 0;
}

/* -------------------------------------------------------------- commands */

static void sink_cmd_ehlo(struct sink *sk, struct sink_sess *s, const char *arg, bool ehlo)
{
	char r[SINK_OUT / 2], size[40];

	(void)arg;
	s->helo = true;
	sink_reset_txn(s);
	if (!ehlo) {
		snprintf(r, sizeof(r), "250 %s\r\n", sk->o->hostname);
		sink_say(sk, s, SS_EHLO, r);
		return;
	}
	if (sk->o->max_size)
		snprintf(size, sizeof(size), "SIZE %llu", (unsigned long long)sk->o->max_size);
	else
		snprintf(size, sizeof(size), "SIZE");
	snprintf(r, sizeof(r), "250-%s\r\n250-PIPELINING\r\n250-%s\r\n250-8BITMIME\r\n%s250 ENHANCEDSTATUSCODES\r\n",
	         sk->o->hostname, size, sk->o->starttls && !s->tls ? "250-STARTTLS\r\n" : "");
	sink_say(sk, s, SS_EHLO, r);
}

static void sink_cmd_mail(struct sink *sk, struct sink_sess *s, const char *arg)
{
	const char *p = strcasestr(arg, " SIZE=");

	if (!s->helo) {
		sink_say(sk, s, SS_MAIL, "503 5.5.1 Error: send HELO/EHLO first\r\n");
		return;
	}
	if (s->mail) {
		sink_say(sk, s, SS_MAIL, "503 5.5.1 Error: nested MAIL command\r\n");
		return;
	}
	if (!sg_prefix_ci(arg, strlen(arg), "FROM:")) {
		sink_say(sk, s, SS_MAIL, "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
		return;
	}
	if (p && sk->o->max_size && strtoull(p + 6, NULL, 10) > sk->o->max_size) {
		sink_say(sk, s, SS_MAIL, "552 5.3.4 Message size exceeds fixed limit\r\n");
		return;
	}
	p = sink_choose(sk, SS_MAIL, "250 2.1.0 Ok\r\n");
	s->mail = p[0] == '2';
	sink_say(sk, s, SS_MAIL, p);
}

static void sink_cmd_rcpt(struct sink *sk, struct sink_sess *s, const char *arg)
{
	const char *p;

	if (!s->mail) {
		sink_say(sk, s, SS_RCPT, "503 5.5.1 Error: need MAIL command\r\n");
		return;
	}
	if (!sg_prefix_ci(arg, strlen(arg), "TO:")) {
		sink_say(sk, s, SS_RCPT, "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
		return;
	}
	if (s->rcpts >= SINK_RCPTS_MAX) {
		sink_say(sk, s, SS_RCPT, "452 4.5.3 Error: too many recipients\r\n");
		return;
	}
	p = sink_choose(sk, SS_RCPT, "250 2.1.5 Ok\r\n");
	s->rcpts += p[0] == '2';
	sink_say(sk, s, SS_RCPT, p);
}

static void sink_cmd_data(struct sink *sk, struct sink_sess *s, const char *arg)
{
	const char *p;

	(void)arg;
	if (!s->mail) {
		sink_say(sk, s, SS_DATA, "503 5.5.1 Error: need MAIL command\r\n");
		return;
	}
	if (!s->rcpts) {
		sink_say(sk, s, SS_DATA, "554 5.5.1 Error: no valid recipients\r\n");
		return;
	}
	p = sink_choose(sk, SS_DATA, "354 End data with <CR><LF>.<CR><LF>\r\n");
	if (sink_code(p) == 354) {
		s->st = SK_DATA;
		sg_verify_init(&s->v, false);
	}
	sink_say(sk, s, SS_DATA, p);
}

static void sink_cmd_starttls(struct sink *sk, struct sink_sess *s, const char *arg)
{
	(void)arg;
	if (!sk->o->starttls) {
		sink_say(sk, s, SS_STARTTLS, "502 5.5.1 Error: command not implemented\r\n");
		return;
	}
	if (s->tls) {
		sink_say(sk, s, SS_STARTTLS, "503 5.5.1 Error: TLS already active\r\n");
		return;
	}
	sink_say(sk, s, SS_STARTTLS, "220 2.0.0 Ready to start TLS\r\n");
	sg_conn_discard_input(&s->c);   /* nothing sent in clear after STARTTLS counts */
	s->st = SK_TLS_PEEK;
}

static void sink_cmd_simple(struct sink *sk, struct sink_sess *s, const char *verb)
{
	if (strcasecmp(verb, "RSET") == 0) {
		sink_reset_txn(s);
		sink_say(sk, s, SS_OTHER, "250 2.0.0 Ok\r\n");
	} else if (strcasecmp(verb, "NOOP") == 0) {
		sink_say(sk, s, SS_OTHER, "250 2.0.0 Ok\r\n");
	} else if (strcasecmp(verb, "VRFY") == 0) {
		sink_say(sk, s, SS_OTHER, "252 2.0.0 Cannot VRFY user\r\n");
	} else if (strcasecmp(verb, "QUIT") == 0) {
		sink_say(sk, s, SS_OTHER, "221 2.0.0 Bye\r\n");
		s->close_after = true;
	} else {
		sink_say(sk, s, SS_OTHER, "502 5.5.2 Error: command not recognized\r\n");
	}
}

/* One command line (line end removed, NUL-terminated). */
static void sink_command(struct sink *sk, struct sink_sess *s, char *line)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	if (strcasecmp(line, "EHLO") == 0 || strcasecmp(line, "HELO") == 0)
		sink_cmd_ehlo(sk, s, arg, strcasecmp(line, "EHLO") == 0);
	else if (strcasecmp(line, "MAIL") == 0)
		sink_cmd_mail(sk, s, arg);
	else if (strcasecmp(line, "RCPT") == 0)
		sink_cmd_rcpt(sk, s, arg);
	else if (strcasecmp(line, "DATA") == 0)
		sink_cmd_data(sk, s, arg);
	else if (strcasecmp(line, "STARTTLS") == 0)
		sink_cmd_starttls(sk, s, arg);
	else
		sink_cmd_simple(sk, s, line);
}

/* ----------------------------------------------------------- end of data */

static void sink_verdict(struct sink *sk, struct sink_sess *s, enum sg_verdict vd, const char *got)
{
	struct sink_stats *st = sk->st;
	const char *id = s->v.id[0] ? s->v.id : "(no X-Smtpgen-Id)";

	if (vd == SG_VERIFIED) {
		st->verified++;
	} else if (vd == SG_NO_HASH) {
		st->no_hash++;
		sg_warn(SINK_W_NOHASH, "sink: message %s has no X-Smtpgen-SHA256 field", id);
	} else {
		st->mismatched++;
		if (st->nmismatch_ids < SINK_MISMATCH_IDS)
			snprintf(st->mismatch_ids[st->nmismatch_ids++], sizeof(st->mismatch_ids[0]), "%s", id);
		sg_warn(SINK_W_MISMATCH, "sink: body SHA-256 mismatch in message %s: header says %.64s, body hashes to %s",
		        id, s->v.bad_hash ? "(malformed)" : s->v.want, got);
	}
}

static void sink_eod(struct sink *sk, struct sink_sess *s)
{
	struct sink_stats *st = sk->st;
	char got[65], normal[96];
	const char *r;
	enum sg_verdict vd = sg_verify_finish(&s->v, got);

	st->messages++;
	st->bytes += s->v.size;
	st->t_last = sg_now_ns();
	if (!st->t_first)
		st->t_first = st->t_last;
	sink_verdict(sk, s, vd, got);
	snprintf(normal, sizeof(normal), "250 2.0.0 Ok: queued as SG%llu\r\n", (unsigned long long)++sk->queue_id);
	if (sk->o->max_size && s->v.size > sk->o->max_size) {
		st->too_big++;
		r = "552 5.3.4 Error: message file too big\r\n";
	} else if (vd == SG_MISMATCH && sk->o->reject_mismatch) {
		r = "554 5.6.0 smtpgen sink: body SHA-256 mismatch\r\n";
	} else {
		r = sink_choose(sk, SS_EOD, normal);
	}
	if (r[0] == '2')
		st->accepted++;
	else
		st->rejected++;
	sink_say(sk, s, SS_EOD, r);
	sink_reset_txn(s);
	s->st = SK_CMD;
	if (sk->o->exit_after && st->messages >= sk->o->exit_after && !sk->stopping) {
		sk->stopping = true;
		sk->stop_at = sg_now_ns() + SINK_STOP_GRACE_NS;
	}
}

/* --------------------------------------------------------------- input */

/* A command line without its line end; false when it must wait for more input. */
static bool sink_line(struct sink *sk, struct sink_sess *s)
{
	const char *d = sg_conn_data(&s->c), *nl;
	size_t n = sg_conn_avail(&s->c), len;
	char line[SINK_LINE_MAX + 1];

	nl = memchr(d, '\n', n);
	if (!nl) {
		if (n <= SINK_LINE_MAX)
			return false;
		if (!s->skip_line)
			sink_say(sk, s, SS_OTHER, "500 5.5.2 Error: line too long\r\n");
		s->skip_line = true;
		sg_conn_consume(&s->c, n);
		return true;
	}
	len = (size_t)(nl - d) + 1;
	if (s->skip_line || len > SINK_LINE_MAX) {
		if (!s->skip_line)
			sink_say(sk, s, SS_OTHER, "500 5.5.2 Error: line too long\r\n");
		s->skip_line = false;
		sg_conn_consume(&s->c, len);
		return true;
	}
	memcpy(line, d, len);
	sg_conn_consume(&s->c, len);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	line[len] = '\0';
	sink_command(sk, s, line);
	return true;
}

/* Work through buffered input; true when anything was done. */
static bool sink_process(struct sink *sk, struct sink_sess *s)
{
	bool progress = false;

	while (!s->delayed && !s->close_after && (s->st == SK_CMD || s->st == SK_DATA) &&
	       s->out_len + SINK_ROOM <= sizeof(s->out) && sg_conn_avail(&s->c) > 0) {
		if (s->st == SK_DATA) {
			size_t k = sg_verify_feed(&s->v, sg_conn_data(&s->c), sg_conn_avail(&s->c));

			sg_conn_consume(&s->c, k);
			progress = true;
			if (!s->v.done)
				break;
			sink_eod(sk, s);
			continue;
		}
		if (!sink_line(sk, s))
			break;
		progress = true;
	}
	return progress;
}

/* ------------------------------------------------------------- sessions */

static void sink_close(struct sink *sk, struct sink_sess *s, bool rst)
{
	if (s->st == SK_DATA)
		sg_verify_abort(&s->v);
	sg_timer_cancel(&sk->timers, &s->timer);
	sg_conn_close(&s->c, rst);
	s->st = SK_FREE;
	s->gen++;
	s->free_next = sk->free;
	sk->free = s;
	sk->active--;
	sk->st->concurrent--;
}

/* Send what is buffered; false when it must wait (or the session ended). */
static bool sink_flush(struct sink *sk, struct sink_sess *s)
{
	if (s->out_len && !s->out_busy) {
		sg_conn_queue(&s->c, s->out, s->out_len);
		s->out_busy = true;
	}
	if (sg_conn_pending(&s->c)) {
		int r = sg_conn_flush(&s->c);

		if (r == SG_IO_AGAIN)
			return false;
		if (r == SG_IO_ERR) {
			sink_close(sk, s, true);
			return false;
		}
	}
	s->out_busy = false;
	s->out_len = 0;
	return true;
}

static void sink_tls_begin(struct sink *sk, struct sink_sess *s, int idx)
{
	WOLFSSL *ssl = wolfSSL_new(sk->tls.ctx[idx]);

	if (!ssl || sg_conn_start_tls(&s->c, ssl)) {
		if (ssl)
			wolfSSL_free(ssl);
		sk->st->tls_failed++;
		sink_close(sk, s, true);
		return;
	}
	sk->st->served[sk->tls.type[idx]]++;
	s->st = SK_TLS;
}

/* Peek at the ClientHello to pick a certificate; false when it must wait. */
static bool sink_tls_peek(struct sink *sk, struct sink_sess *s)
{
	uint8_t buf[16384 + 5];
	ssize_t n;
	int idx = 0;

	if (sk->tls.nctx > 1) {
		n = recv(s->c.fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		if (n <= 0) {
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return false;
			sink_close(sk, s, n < 0);
			return false;
		}
		idx = sg_tls_pick(&sk->tls, buf, (size_t)n);
		if (idx == -EAGAIN) {
			if ((size_t)n < sizeof(buf))
				return false;
			idx = 0;
		}
	}
	sink_tls_begin(sk, s, idx);
	return s->st == SK_TLS;
}

static bool sink_handshake(struct sink *sk, struct sink_sess *s)
{
	int r = sg_conn_handshake(&s->c, true);
	char buf[160];

	if (r == SG_IO_AGAIN)
		return false;
	if (r == SG_IO_ERR) {
		sk->st->tls_failed++;
		sg_warn(SINK_W_TLS, "sink: TLS handshake failed: %s", sg_conn_error(&s->c, buf, sizeof(buf)));
		sink_close(sk, s, true);
		return false;
	}
	if (wolfSSL_session_reused(s->c.ssl))
		sk->st->tls_resumed++;
	else
		sk->st->tls_full++;
	if (sk->o->tls.request_client_cert || sk->o->tls.require_client_cert) {
		WOLFSSL_X509 *x = wolfSSL_get_peer_certificate(s->c.ssl);

		if (x) {
			sk->st->client_certs++;
			wolfSSL_X509_free(x);
		}
	}
	s->tls = true;
	s->helo = false;
	sink_reset_txn(s);
	s->st = SK_CMD;
	return true;
}

/* Make all the progress possible on s. */
static void sink_drive(struct sink *sk, struct sink_sess *s)
{
	uint32_t gen = s->gen;

	for (;;) {
		ssize_t r;

		if (!sink_flush(sk, s))
			return;
		if (s->pend_due) {
			s->pend_due = s->delayed = false;
			memcpy(s->out, s->pend, s->pend_len);
			s->out_len = s->pend_len;
			continue;
		}
		if (s->close_after && !s->delayed) {
			sink_close(sk, s, false);
		return;
	}
		if (s->st == SK_TLS_PEEK && !sink_tls_peek(sk, s))
			return;
		if (s->st == SK_TLS && !sink_handshake(sk, s))
			return;
		if (s->delayed)
			return;
		if (sink_process(sk, s))
			continue;
		r = sg_conn_read(&s->c);
		if (r > 0)
			continue;
		if (r == SG_IO_AGAIN || r == SG_IO_FULL)
			break;
		sink_close(sk, s, r == SG_IO_ERR);
		return;
	}
	if (s->gen == gen && !s->delayed)
		sg_timer_arm(&sk->timers, &s->timer, sg_now_ns() + (uint64_t)(sk->o->timeout * 1e9));
}

static void sink_on_timer(struct sink *sk, struct sink_sess *s)
{
	if (s->st == SK_FREE)
		return;
	if (s->delayed) {
		s->pend_due = true;
		sink_drive(sk, s);
		return;
	}
	sink_close(sk, s, true);                /* idle too long */
}

static struct sink_sess *sink_alloc(struct sink *sk)
{
	struct sink_sess *s = sk->free;

	if (s) {
		sk->free = s->free_next;
		return s;
	}
	if (sk->nsess >= sk->o->max_sessions)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->idx = sk->nsess;
	sg_timer_init(&s->timer);
	sk->sess[sk->nsess++] = s;
	return s;
}

static void sink_accept_one(struct sink *sk, int fd)
{
	static const char full[] = "421 4.3.2 smtpgen sink: too many sessions\r\n";
	struct sink_sess *s = sink_alloc(sk);
	struct epoll_event ev;
	char greet[300];
	int one = 1;

	if (!s) {
		sk->st->refused++;
		sg_warn(SINK_W_LIMIT, "sink: %u sessions open, refusing more (--max-sessions)", sk->o->max_sessions);
		(void)!send(fd, full, sizeof(full) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	sg_conn_init(&s->c, fd, s->in, sizeof(s->in));
	s->st = SK_CMD;
	s->helo = s->mail = s->tls = s->skip_line = s->close_after = s->out_busy = false;
	s->delayed = s->pend_due = false;
	s->rcpts = 0;
	s->out_len = s->pend_len = 0;
	sk->active++;
	sk->st->conns++;
	if (++sk->st->concurrent > sk->st->max_concurrent)
		sk->st->max_concurrent = sk->st->concurrent;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = (uint64_t)s->gen << 32 | s->idx;
	if (epoll_ctl(sk->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		sink_close(sk, s, true);
		return;
	}
	snprintf(greet, sizeof(greet), "220 %s ESMTP smtpgen sink\r\n", sk->o->hostname);
	sink_say(sk, s, SS_GREETING, sink_choose(sk, SS_GREETING, greet));
	sink_drive(sk, s);
}

static void sink_accept(struct sink *sk)
{
	int i;

	for (i = 0; i < 256 && !sk->stopping; i++) {
		int fd = accept4(sk->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				sg_warn(SINK_W_ACCEPT, "sink: accept: %s", strerror(errno));
		return;
	}
		sink_accept_one(sk, fd);
	}
}

/* --------------------------------------------------------------- set-up */

static int sink_listen(struct sink *sk)
{
	const struct sink_opts *o = sk->o;
	int one = 1;

	sk->lfd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sk->lfd < 0)
		return -errno;
	setsockopt(sk->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(sk->lfd, (const struct sockaddr *)&o->addr, o->addrlen) < 0 || listen(sk->lfd, 4096) < 0) {
		int e = errno;

		fprintf(stderr, "smtpgen sink: cannot listen on %s: %s\n", o->listen, strerror(e));
		return -e;
	}
	return 0;
}

static int sink_setup(struct sink *sk, const struct sink_opts *o, struct sink_stats *st)
{
	struct epoll_event ev;
	sigset_t ss;
	char err[256];
	int rc;

	memset(sk, 0, sizeof(*sk));
	sk->o = o;
	sk->st = st;
	sk->ep = sk->lfd = sk->sfd = -1;
	sg_rng_seed(&sk->rng, o->seed);
	sk->sess = calloc(o->max_sessions, sizeof(*sk->sess));
	if (!sk->sess || sg_timers_init(&sk->timers, (int)o->max_sessions + 1))
		return -ENOMEM;
	if (o->starttls && sg_tls_server_init(&sk->tls, &o->tls, err, sizeof(err))) {
		fprintf(stderr, "smtpgen sink: %s\n", err);
		return -EINVAL;
	}
	rc = sink_listen(sk);
	if (rc)
		return rc;
	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	sk->sfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
	sk->ep = epoll_create1(EPOLL_CLOEXEC);
	if (sk->sfd < 0 || sk->ep < 0)
		return -errno;
	ev.events = EPOLLIN;
	ev.data.u64 = SINK_EV_LISTEN;
	epoll_ctl(sk->ep, EPOLL_CTL_ADD, sk->lfd, &ev);
	ev.data.u64 = SINK_EV_SIGNAL;
	epoll_ctl(sk->ep, EPOLL_CTL_ADD, sk->sfd, &ev);
	return 0;
}

static void sink_teardown(struct sink *sk)
{
	unsigned i;

	for (i = 0; sk->sess && i < sk->nsess; i++) {
		if (sk->sess[i]->st != SK_FREE)
			sink_close(sk, sk->sess[i], true);
		free(sk->sess[i]);
	}
	free(sk->sess);
	sg_timers_free(&sk->timers);
	if (sk->o->starttls)
		sg_tls_server_free(&sk->tls);
	if (sk->lfd >= 0)
		close(sk->lfd);
	if (sk->sfd >= 0)
		close(sk->sfd);
	if (sk->ep >= 0)
		close(sk->ep);
}

static void sink_events(struct sink *sk, int timeout_ms)
{
	struct epoll_event ev[256];
	struct sg_timer *t;
	int n, i;

	n = epoll_wait(sk->ep, ev, (int)SG_ARRAY_SIZE(ev), timeout_ms);
	for (i = 0; i < n; i++) {
		uint64_t d = ev[i].data.u64;
		struct sink_sess *s;

		if (d == SINK_EV_LISTEN) {
			sink_accept(sk);
		} else if (d == SINK_EV_SIGNAL) {
			struct signalfd_siginfo si;

			while (read(sk->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				sk->signalled = true;
		} else if ((uint32_t)d < sk->nsess) {
			s = sk->sess[(uint32_t)d];
			if (s->gen == (uint32_t)(d >> 32) && s->st != SK_FREE)
				sink_drive(sk, s);
		}
	}
	while ((t = sg_timers_pop(&sk->timers, sg_now_ns())))
		sink_on_timer(sk, sg_container_of(t, struct sink_sess, timer));
}

static void sink_loop(struct sink *sk)
{
	uint64_t end = sk->o->duration > 0 ? sk->st->t0 + (uint64_t)(sk->o->duration * 1e9) : 0;

	while (!sk->signalled) {
		uint64_t now = sg_now_ns();

		if (end && now >= end)
			break;
		if (sk->stopping) {
			if (sk->lfd >= 0) {
				close(sk->lfd);         /* no new sessions */
				sk->lfd = -1;
			}
			if (sk->active == 0 || now >= sk->stop_at)
				break;
		}
		sink_events(sk, sg_timers_wait_ms(&sk->timers, now, 100));
	}
}

int sink_run(const struct sink_opts *o, struct sink_stats *st)
{
	struct sink sk;
	double u0, s0;
	int rc;

	memset(st, 0, sizeof(*st));
	signal(SIGPIPE, SIG_IGN);
	sg_raise_nofile(o->max_sessions + 64);
	rc = sink_setup(&sk, o, st);
	if (rc) {
		if (rc == -ENOMEM)
			fprintf(stderr, "smtpgen sink: out of memory\n");
		sink_teardown(&sk);
		return rc;
	}
	if (o->pid_file) {
		FILE *f = fopen(o->pid_file, "w");

		if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f)) {
			fprintf(stderr, "smtpgen sink: cannot write %s: %s\n", o->pid_file, strerror(errno));
			sink_teardown(&sk);
			return -EIO;
		}
	}
	fprintf(stderr, "smtpgen sink: listening on %s%s%s\n", o->listen, o->starttls ? " with STARTTLS" : "",
	        o->starttls && sk.tls.nctx > 1 ? " (RSA and ECDSA)" : "");
	sg_cpu_times(&u0, &s0);
	st->t0 = sg_now_ns();
	sink_loop(&sk);
	st->t_end = sg_now_ns();
	sg_cpu_times(&st->cpu_user, &st->cpu_sys);
	st->cpu_user -= u0;
	st->cpu_sys -= s0;
	sink_teardown(&sk);
	return 0;
}

int sink_main(int argc, char **argv)
{
	struct sink_opts o;
	struct sink_stats *st;
	int rc;

	if (sink_parse(&o, argc, argv))
		return 2;
	st = calloc(1, sizeof(*st));
	if (!st || sink_run(&o, st)) {
		free(st);
		return 2;
	}
	sink_report(&o, st, stdout, o.json);
	if (o.json_report) {
		FILE *f = fopen(o.json_report, "w");

		if (f) {
			sink_report(&o, st, f, true);
			fclose(f);
		} else {
			fprintf(stderr, "smtpgen sink: cannot write %s: %s\n", o.json_report, strerror(errno));
		}
	}
	rc = st->mismatched || (o.require_hash && st->no_hash) ? 1 : 0;
	free(st);
	return rc;
}
