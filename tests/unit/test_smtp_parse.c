/*
 * test_smtp_parse.c — unit tests of app/smtp/smtp_parse.h: line assembly
 * (limits, bare CR/LF, NUL, PIPELINING consumption), commands, paths and
 * ESMTP parameters (RFC 5321 §4.1.2 examples, quoted strings, literals,
 * source routes, length limits at and one over), the DATA scanner (every
 * smuggling probe of issue 4, dot-unstuffing) and replies (multi-line EHLO,
 * enhanced codes, malformed replies). Every stream case is fed whole, byte
 * by byte, split in two at every position and in random chunks, and must
 * give the same result each way.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "app/smtp/smtp_parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------- chunking */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/*
 * Chunk plans for an input of n octets: 0 whole, 1 byte by byte, 2 split at
 * `arg`, 3 random chunks of 1..arg octets. next_chunk() gives the size of
 * the chunk starting at pos.
 */
struct plan {
	int kind;
	size_t arg;
};

static size_t
next_chunk(const struct plan *p, size_t pos, size_t n)
{
	size_t left = n - pos, k;

	switch (p->kind) {
	case 1:
		return 1;
	case 2:
		return pos < p->arg ? p->arg - pos : left;
	case 3:
		k = 1 + (size_t)(rng() % p->arg);
		return k < left ? k : left;
	default:
		return left;
	}
}

/* Every plan for n octets: whole, bytes, each 2-split, 8 random ones. */
static size_t
make_plans(struct plan *pl, size_t max, size_t n)
{
	size_t k = 0, i;

	pl[k++] = (struct plan){ 0, 0 };
	pl[k++] = (struct plan){ 1, 0 };
	for (i = 1; i < n && k < max - 8; i++)
		pl[k++] = (struct plan){ 2, i };
	for (i = 0; i < 8; i++)
		pl[k++] = (struct plan){ 3, 1 + i * 3 };
	return k;
}

/* ---------------------------------------------------------- line assembly */

struct line_ev {
	enum smtp_line_status st;
	char text[SMTP_CMD_LINE_MAX + 1];
	size_t end;     /* stream offset after the line */
};

struct line_run {
	struct line_ev ev[16];
	size_t n;
};

static void
line_run(const char *in, size_t n, size_t max, const struct plan *p, struct line_run *r)
{
	static struct smtp_line l;
	size_t pos = 0, c, used, off;

	memset(r, 0, sizeof(*r));
	assert_int_equal(smtp_line_init(&l, max), 0);
	while (pos < n) {
		c = next_chunk(p, pos, n);
		for (off = 0; off < c;) {
			enum smtp_line_status st = smtp_line_feed(&l, in + pos + off, c - off, &used);

			assert_true(used <= c - off);
			off += used;
			if (st == SMTP_LINE_MORE) {
				assert_int_equal(off, c);
				break;
			}
			assert_true(r->n < N(r->ev));
			r->ev[r->n].st = st;
			r->ev[r->n].end = pos + off;
			if (st == SMTP_LINE_OK) {
				assert_int_equal(strlen(l.buf), l.len);
				memcpy(r->ev[r->n].text, l.buf, l.len + 1);
			}
			r->n++;
		}
		pos += c;
	}
}

struct line_case {
	const char *in;
	size_t len;                     /* 0: strlen */
	unsigned n;
	enum smtp_line_status st[4];
	const char *text[4];            /* for SMTP_LINE_OK */
};

static const struct line_case line_cases[] = {
	{ "HELO x\r\n", 0, 1, { SMTP_LINE_OK }, { "HELO x" } },
	{ "\r\n", 0, 1, { SMTP_LINE_OK }, { "" } },
	{ "NOOP\r\nQUIT\r\n", 0, 2, { SMTP_LINE_OK, SMTP_LINE_OK }, { "NOOP", "QUIT" } },
	{ "NOOP\r\nQUI", 0, 1, { SMTP_LINE_OK }, { "NOOP" } },
	{ "NOOP\r", 0, 0, { 0 }, { 0 } },
	/* smuggling: bare LF ends the bad line, never a command */
	{ "MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\n", 0, 2, { SMTP_LINE_BARE_LF, SMTP_LINE_OK },
	  { NULL, "RCPT TO:<c@d>" } },
	{ "\n", 0, 1, { SMTP_LINE_BARE_LF }, { NULL } },
	{ "DATA\n.\nQUIT\r\n", 0, 3, { SMTP_LINE_BARE_LF, SMTP_LINE_BARE_LF, SMTP_LINE_OK },
	  { NULL, NULL, "QUIT" } },
	{ "DATA\r\r\n", 0, 1, { SMTP_LINE_BARE_CR }, { NULL } },
	{ "RSET\rQUIT\r\nNOOP\r\n", 0, 2, { SMTP_LINE_BARE_CR, SMTP_LINE_OK }, { NULL, "NOOP" } },
	{ "\r.\r\n", 0, 1, { SMTP_LINE_BARE_CR }, { NULL } },
	{ "A\r\rB\n", 0, 1, { SMTP_LINE_BARE_LF }, { NULL } },   /* both: LF wins */
	{ "NO\0OP\r\nQUIT\r\n", 13, 2, { SMTP_LINE_NUL, SMTP_LINE_OK }, { NULL, "QUIT" } },
	{ "\0\r\n", 3, 1, { SMTP_LINE_NUL }, { NULL } },
};

static void
check_line_case(const struct line_case *lc, const struct plan *p)
{
	struct line_run r;
	size_t n = lc->len ? lc->len : strlen(lc->in);
	unsigned i;

	line_run(lc->in, n, 0, p, &r);
	assert_int_equal(r.n, lc->n);
	for (i = 0; i < lc->n; i++) {
		assert_int_equal(r.ev[i].st, lc->st[i]);
		if (lc->st[i] == SMTP_LINE_OK)
			assert_string_equal(r.ev[i].text, lc->text[i]);
	}
}

static void
test_line_table(void **state)
{
	struct plan pl[64];
	size_t i, k, np;

	(void)state;
	for (i = 0; i < N(line_cases); i++) {
		size_t n = line_cases[i].len ? line_cases[i].len : strlen(line_cases[i].in);

		np = make_plans(pl, N(pl), n);
		for (k = 0; k < np; k++)
			check_line_case(&line_cases[i], &pl[k]);
	}
}

static void
test_line_limit(void **state)
{
	static char buf[SMTP_CMD_LINE_MAX + 64];
	static struct line_run r, w;
	struct plan whole = { 0, 0 }, bytes = { 1, 0 }, rnd = { 3, 40 };
	size_t sizes[] = { 512, 100, SMTP_CMD_LINE_MAX }, si, n;

	(void)state;
	for (si = 0; si < N(sizes); si++) {
		size_t max = sizes[si];

		/* exactly max incl. CRLF: accepted */
		memset(buf, 'x', max - 2);
		memcpy(buf + max - 2, "\r\nNOOP\r\n", 8);
		n = max + 6;
		line_run(buf, n, max, &whole, &w);
		assert_int_equal(w.n, 2);
		assert_int_equal(w.ev[0].st, SMTP_LINE_OK);
		assert_int_equal(strlen(w.ev[0].text), max - 2);
		assert_int_equal(w.ev[0].end, max);
		/* one over: refused, the rest of it discarded, the next line fine */
		memset(buf, 'x', max - 1);
		memcpy(buf + max - 1, "\r\nNOOP\r\n", 8);
		n = max + 7;
		line_run(buf, n, max, &whole, &w);
		assert_int_equal(w.n, 2);
		assert_int_equal(w.ev[0].st, SMTP_LINE_TOO_LONG);
		assert_int_equal(w.ev[0].end, max + 1);
		assert_int_equal(w.ev[1].st, SMTP_LINE_OK);
		assert_string_equal(w.ev[1].text, "NOOP");
		line_run(buf, n, max, &bytes, &r);
		assert_memory_equal(&r, &w, sizeof(r));
		line_run(buf, n, max, &rnd, &r);
		assert_memory_equal(&r, &w, sizeof(r));
	}
}

static void
test_line_init_limits(void **state)
{
	struct smtp_line l;

	(void)state;
	assert_int_equal(smtp_line_init(&l, 0), 0);
	assert_int_equal(l.max, 512);
	assert_int_equal(smtp_line_init(&l, 3), 0);
	assert_int_equal(smtp_line_init(&l, 2), -EINVAL);
	assert_int_equal(smtp_line_init(&l, SMTP_CMD_LINE_MAX), 0);
	assert_int_equal(smtp_line_init(&l, SMTP_CMD_LINE_MAX + 1), -EINVAL);
	assert_int_equal(smtp_line_err(SMTP_LINE_OK), SMTP_OK);
	assert_int_equal(smtp_line_err(SMTP_LINE_BARE_LF), SMTP_ERR_BARE_LF);
	assert_int_equal(smtp_line_err(SMTP_LINE_BARE_CR), SMTP_ERR_BARE_CR);
	assert_int_equal(smtp_line_err(SMTP_LINE_NUL), SMTP_ERR_NUL);
	assert_int_equal(smtp_line_err(SMTP_LINE_TOO_LONG), SMTP_ERR_LINE_TOO_LONG);
}

/* RFC 2920: the caller stops after DATA; what follows is message data, untouched. */
static void
test_line_pipelining(void **state)
{
	const char *in = "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n";
	struct smtp_line l;
	struct smtp_cmd c;
	size_t pos = 0, used, n = strlen(in);
	enum smtp_verb want[] = { SMTP_VERB_MAIL, SMTP_VERB_RCPT, SMTP_VERB_DATA };
	unsigned k;

	(void)state;
	smtp_line_init(&l, 0);
	for (k = 0; k < 3; k++) {
		assert_int_equal(smtp_line_feed(&l, in + pos, n - pos, &used), SMTP_LINE_OK);
		pos += used;
		assert_int_equal(smtp_parse_command(l.buf, l.len, &c), SMTP_OK);
		assert_int_equal(c.verb, want[k]);
		assert_int_equal((smtp_verb_flags(c.verb) & SMTP_VERB_F_LAST) != 0, k == 2);
	}
	assert_string_equal(in + pos, "Subject: x\r\n");
}

/* --------------------------------------------------------------- commands */

struct verb_case {
	const char *line;
	enum smtp_err err;
	enum smtp_verb verb;
	const char *arg;        /* NULL: not checked */
};

static const struct verb_case verb_cases[] = {
	{ "HELO", SMTP_ERR_ARG_REQUIRED, SMTP_VERB_HELO, NULL },
	{ "EHLO", SMTP_ERR_ARG_REQUIRED, SMTP_VERB_EHLO, NULL },
	{ "MAIL", SMTP_ERR_ARG_REQUIRED, SMTP_VERB_MAIL, NULL },
	{ "RCPT   ", SMTP_ERR_ARG_REQUIRED, SMTP_VERB_RCPT, NULL },
	{ "DATA", SMTP_OK, SMTP_VERB_DATA, "" },
	{ "data", SMTP_OK, SMTP_VERB_DATA, "" },
	{ "dAtA  ", SMTP_OK, SMTP_VERB_DATA, "" },
	{ "DATA x", SMTP_ERR_NO_ARG_ALLOWED, SMTP_VERB_DATA, "x" },
	{ "RSET", SMTP_OK, SMTP_VERB_RSET, "" },
	{ "RSET now", SMTP_ERR_NO_ARG_ALLOWED, SMTP_VERB_RSET, NULL },
	{ "QUIT", SMTP_OK, SMTP_VERB_QUIT, "" },
	{ "QUIT bye", SMTP_ERR_NO_ARG_ALLOWED, SMTP_VERB_QUIT, NULL },
	{ "STARTTLS", SMTP_OK, SMTP_VERB_STARTTLS, "" },
	{ "starttls x", SMTP_ERR_NO_ARG_ALLOWED, SMTP_VERB_STARTTLS, NULL },
	{ "NOOP", SMTP_OK, SMTP_VERB_NOOP, "" },
	{ "NOOP hello there", SMTP_OK, SMTP_VERB_NOOP, "hello there" },
	{ "HELP", SMTP_OK, SMTP_VERB_HELP, "" },
	{ "help MAIL", SMTP_OK, SMTP_VERB_HELP, "MAIL" },
	{ "VRFY postmaster", SMTP_OK, SMTP_VERB_VRFY, "postmaster" },
	{ "VRFY", SMTP_ERR_ARG_REQUIRED, SMTP_VERB_VRFY, NULL },
	{ "EXPN staff", SMTP_OK, SMTP_VERB_EXPN, "staff" },
	{ "AUTH PLAIN AGFAYgBj", SMTP_OK, SMTP_VERB_AUTH, "PLAIN AGFAYgBj" },
	{ "AUTH", SMTP_ERR_ARG_REQUIRED, SMTP_VERB_AUTH, NULL },
	{ "BDAT 1000 LAST", SMTP_OK, SMTP_VERB_BDAT, "1000 LAST" },
	{ "FOO", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "   ", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ " MAIL FROM:<a@b.c>", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "MAILFROM:<a@b.c>", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "MAIL\tFROM:<a@b.c>", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "DATAX", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "DAT", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "STARTTLSX", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "GET / HTTP/1.1", SMTP_ERR_UNKNOWN_VERB, SMTP_VERB_UNKNOWN, NULL },
	{ "MAIL FROM <a@b.c>", SMTP_ERR_SYNTAX, SMTP_VERB_MAIL, NULL },
	{ "MAIL TO:<a@b.c>", SMTP_ERR_SYNTAX, SMTP_VERB_MAIL, NULL },
	{ "RCPT FROM:<a@b.c>", SMTP_ERR_SYNTAX, SMTP_VERB_RCPT, NULL },
	{ "RCPT TO a@b.c", SMTP_ERR_SYNTAX, SMTP_VERB_RCPT, NULL },
	{ "RCPT TO", SMTP_ERR_SYNTAX, SMTP_VERB_RCPT, NULL },
};

static void
test_verbs(void **state)
{
	struct smtp_cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < N(verb_cases); i++) {
		const struct verb_case *vc = &verb_cases[i];
		enum smtp_err e = smtp_parse_command(vc->line, strlen(vc->line), &c);

		if (e != vc->err || c.verb != vc->verb)
			fail_msg("\"%s\": err %d verb %d, want %d %d", vc->line, e, c.verb, vc->err, vc->verb);
		if (vc->arg) {
			assert_int_equal(c.arg_len, strlen(vc->arg));
			assert_memory_equal(c.arg, vc->arg, c.arg_len);
		}
	}
}

static void
test_verb_table(void **state)
{
	(void)state;
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_MAIL), "MAIL");
	assert_string_equal(smtp_verb_name(SMTP_VERB_UNKNOWN), "?");
	assert_string_equal(smtp_verb_name(SMTP_VERB_COUNT), "?");
	/* RFC 2920 §3.1: these end a group */
	assert_true(smtp_verb_flags(SMTP_VERB_EHLO) & SMTP_VERB_F_LAST);
	assert_true(smtp_verb_flags(SMTP_VERB_DATA) & SMTP_VERB_F_LAST);
	assert_true(smtp_verb_flags(SMTP_VERB_VRFY) & SMTP_VERB_F_LAST);
	assert_true(smtp_verb_flags(SMTP_VERB_EXPN) & SMTP_VERB_F_LAST);
	assert_true(smtp_verb_flags(SMTP_VERB_QUIT) & SMTP_VERB_F_LAST);
	assert_true(smtp_verb_flags(SMTP_VERB_NOOP) & SMTP_VERB_F_LAST);
	assert_true(smtp_verb_flags(SMTP_VERB_STARTTLS) & SMTP_VERB_F_LAST);
	assert_true(smtp_verb_flags(SMTP_VERB_UNKNOWN) & SMTP_VERB_F_LAST);
	assert_false(smtp_verb_flags(SMTP_VERB_MAIL) & SMTP_VERB_F_LAST);
	assert_false(smtp_verb_flags(SMTP_VERB_RCPT) & SMTP_VERB_F_LAST);
	assert_false(smtp_verb_flags(SMTP_VERB_RSET) & SMTP_VERB_F_LAST);
	assert_false(smtp_verb_flags(SMTP_VERB_BDAT) & SMTP_VERB_F_LAST);
}

static void
test_err_table(void **state)
{
	unsigned e;

	(void)state;
	for (e = 0; e < SMTP_ERR_COUNT; e++) {
		assert_non_null(smtp_err_text(e));
		assert_true(strlen(smtp_err_text(e)) > 0);
		assert_non_null(smtp_err_enhanced(e));
		if (e > SMTP_OK && e < SMTP_ERR_REPLY_CODE) {
			assert_in_range(smtp_err_code(e), 500, 559);
			assert_int_equal(smtp_err_enhanced(e)[0], '5');
		}
	}
	assert_int_equal(smtp_err_code(SMTP_OK), 0);
	assert_int_equal(smtp_err_code(SMTP_ERR_UNKNOWN_PARAM), 555);
	assert_int_equal(smtp_err_code(SMTP_ERR_PATH_SYNTAX), 501);
	assert_int_equal(smtp_err_code(SMTP_ERR_8BIT_WITHOUT_SMTPUTF8), 553);
	assert_int_equal(smtp_err_code(SMTP_ERR_DATA_BARE_LF), 550);
	assert_string_equal(smtp_err_enhanced(SMTP_ERR_PATH_SYNTAX), "5.1.3");
	assert_non_null(smtp_err_text(SMTP_ERR_COUNT));
	assert_non_null(smtp_err_text((enum smtp_err)1000));
}

/* Valid paths: what comes out. */
struct path_case {
	const char *line;
	unsigned flags;         /* SMTP_PARSE_* */
	const char *addr, *local, *domain;
	unsigned path_flags;    /* P_* */
};
#define P_NULL   0x01
#define P_PM     0x02
#define P_ROUTE  0x04
#define P_QUOTED 0x08
#define P_LIT    0x10
#define P_UTF8   0x20

static const struct path_case path_ok[] = {
	/* RFC 5321 §4.1.1.2/3 and appendix D */
	{ "MAIL FROM:<userx@y.foo.org>", 0, "userx@y.foo.org", "userx", "y.foo.org", 0 },
	{ "MAIL FROM:<Smith@bar.com>", 0, "Smith@bar.com", "Smith", "bar.com", 0 },
	{ "RCPT TO:<Jones@XYZ.COM>", 0, "Jones@XYZ.COM", "Jones", "XYZ.COM", 0 },
	{ "MAIL FROM:<>", 0, "", "", "", P_NULL },
	{ "mail from:<>", 0, "", "", "", P_NULL },
	{ "RCPT TO:<Postmaster>", 0, "Postmaster", "Postmaster", "", P_PM },
	{ "RCPT TO:<postmaster>", 0, "postmaster", "postmaster", "", P_PM },
	{ "RCPT TO:<POSTMASTER> NOTIFY=NEVER", 0, NULL, NULL, NULL, P_PM },
	{ "RCPT TO:<Postmaster@example.com>", 0, "Postmaster@example.com", "Postmaster",
	  "example.com", 0 },
	/* source routes: accepted, flagged, dropped */
	{ "RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>", 0, "userc@d.bar.org", "userc",
	  "d.bar.org", P_ROUTE },
	{ "MAIL FROM:<@a.example:u@b.example>", 0, "u@b.example", "u", "b.example", P_ROUTE },
	{ "RCPT TO:<@a,@b,@c:x@d>", 0, "x@d", "x", "d", P_ROUTE },
	/* quoted local parts, kept as written */
	{ "RCPT TO:<\"John Doe\"@example.com>", 0, "\"John Doe\"@example.com", "\"John Doe\"",
	  "example.com", P_QUOTED },
	{ "RCPT TO:<\"a\\\"b\\\\c\"@example.com>", 0, "\"a\\\"b\\\\c\"@example.com",
	  "\"a\\\"b\\\\c\"", "example.com", P_QUOTED },
	{ "RCPT TO:<\"\"@example.com>", 0, "\"\"@example.com", "\"\"", "example.com", P_QUOTED },
	{ "RCPT TO:<\"a@b\"@example.com>", 0, "\"a@b\"@example.com", "\"a@b\"", "example.com",
	  P_QUOTED },
	{ "RCPT TO:<\"user@victim.example\"@relay.example>", 0,
	  "\"user@victim.example\"@relay.example", "\"user@victim.example\"", "relay.example",
	  P_QUOTED },
	{ "RCPT TO:<\"<>,;: \\ \"@example.com>", 0, "\"<>,;: \\ \"@example.com",
	  "\"<>,;: \\ \"", "example.com", P_QUOTED },
	/* % and ! hacks: syntactically fine, passed through intact */
	{ "RCPT TO:<user%victim.example@relay.example>", 0, "user%victim.example@relay.example",
	  "user%victim.example", "relay.example", 0 },
	{ "RCPT TO:<victim.example!user@relay.example>", 0, "victim.example!user@relay.example",
	  "victim.example!user", "relay.example", 0 },
	{ "RCPT TO:<a!b%c@d.example>", 0, "a!b%c@d.example", "a!b%c", "d.example", 0 },
	/* atext, dots, digits, hyphens */
	{ "MAIL FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", 0, "!#$%&'*+-/=?^_`{|}~@example.com",
	  "!#$%&'*+-/=?^_`{|}~", "example.com", 0 },
	{ "MAIL FROM:<first.middle.last@x-y.example>", 0, "first.middle.last@x-y.example",
	  "first.middle.last", "x-y.example", 0 },
	{ "MAIL FROM:<1@2.3>", 0, "1@2.3", "1", "2.3", 0 },
	{ "MAIL FROM:<user@localhost>", 0, "user@localhost", "user", "localhost", 0 },
	{ "MAIL FROM:<a@xn--bcher-kva.example>", 0, "a@xn--bcher-kva.example", "a",
	  "xn--bcher-kva.example", 0 },
	{ "MAIL FROM:<a@a--b.example>", 0, "a@a--b.example", "a", "a--b.example", 0 },
	/* address literals */
	{ "RCPT TO:<user@[192.0.2.1]>", 0, "user@[192.0.2.1]", "user", "[192.0.2.1]", P_LIT },
	{ "RCPT TO:<user@[0.0.0.0]>", 0, NULL, NULL, "[0.0.0.0]", P_LIT },
	{ "RCPT TO:<user@[255.255.255.255]>", 0, NULL, NULL, "[255.255.255.255]", P_LIT },
	{ "RCPT TO:<user@[IPv6:2001:db8::1]>", 0, "user@[IPv6:2001:db8::1]", "user",
	  "[IPv6:2001:db8::1]", P_LIT },
	{ "RCPT TO:<user@[ipv6:2001:DB8::1]>", 0, NULL, NULL, "[ipv6:2001:DB8::1]", P_LIT },
	{ "RCPT TO:<u@[IPv6:2001:db8:0:0:0:0:0:1]>", 0, NULL, NULL, NULL, P_LIT },
	{ "RCPT TO:<u@[IPv6:::]>", 0, NULL, NULL, "[IPv6:::]", P_LIT },
	{ "RCPT TO:<u@[IPv6:::1]>", 0, NULL, NULL, NULL, P_LIT },
	{ "RCPT TO:<u@[IPv6:1::]>", 0, NULL, NULL, NULL, P_LIT },
	{ "RCPT TO:<u@[IPv6:1:2:3:4:5:6::]>", 0, NULL, NULL, NULL, P_LIT },
	{ "RCPT TO:<u@[IPv6:1:2:3::4:5:6]>", 0, NULL, NULL, NULL, P_LIT },
	{ "RCPT TO:<u@[IPv6:::ffff:192.0.2.1]>", 0, NULL, NULL, NULL, P_LIT },
	{ "RCPT TO:<u@[IPv6:1:2:3:4:5:6:192.0.2.1]>", 0, NULL, NULL, NULL, P_LIT },
	{ "RCPT TO:<u@[IPv6:1:2:3:4::192.0.2.1]>", 0, NULL, NULL, NULL, P_LIT },
	/* leniencies: space after the colon, trailing spaces */
	{ "MAIL FROM: <a@b.example>", 0, "a@b.example", "a", "b.example", 0 },
	{ "RCPT TO:  <a@b.example>   ", 0, "a@b.example", "a", "b.example", 0 },
	/* SMTPUTF8 (RFC 6531) */
	{ "MAIL FROM:<\xc3\xbc" "ser@b\xc3\xbc" "cher.example> SMTPUTF8", 0,
	  "\xc3\xbc" "ser@b\xc3\xbc" "cher.example", "\xc3\xbc" "ser", "b\xc3\xbc" "cher.example",
	  P_UTF8 },
	{ "MAIL FROM:<\"\xe2\x82\xac uro\"@example.com> smtputf8", 0, NULL, NULL, NULL,
	  P_UTF8 | P_QUOTED },
	{ "MAIL FROM:<\xf0\x9f\x93\xa7@example.com> SMTPUTF8", 0, NULL, NULL, NULL, P_UTF8 },
	{ "RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8>",
	  SMTP_PARSE_SMTPUTF8, NULL, NULL, NULL, P_UTF8 },
};

static void
check_span(const char *what, const char *line, const char *p, size_t n, const char *want)
{
	if (want == NULL)
		return;
	if (n != strlen(want) || memcmp(p, want, n) != 0)
		fail_msg("\"%s\": %s is \"%.*s\", want \"%s\"", line, what, (int)n, p, want);
}

static void
test_paths_valid(void **state)
{
	struct smtp_cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < N(path_ok); i++) {
		const struct path_case *pc = &path_ok[i];
		enum smtp_err e = smtp_parse_command_ex(pc->line, strlen(pc->line), pc->flags, &c);
		const struct smtp_path *p = &c.path;

		if (e != SMTP_OK && !(e == SMTP_ERR_UNKNOWN_PARAM && c.verb == SMTP_VERB_RCPT))
			fail_msg("\"%s\": %s", pc->line, smtp_err_text(e));
		check_span("addr", pc->line, p->addr, p->addr_len, pc->addr);
		check_span("local", pc->line, p->local, p->local_len, pc->local);
		check_span("domain", pc->line, p->domain, p->domain_len, pc->domain);
		assert_int_equal(p->null, !!(pc->path_flags & P_NULL));
		assert_int_equal(p->postmaster, !!(pc->path_flags & P_PM));
		assert_int_equal(p->source_route, !!(pc->path_flags & P_ROUTE));
		assert_int_equal(p->quoted, !!(pc->path_flags & P_QUOTED));
		assert_int_equal(p->addr_literal, !!(pc->path_flags & P_LIT));
		assert_int_equal(p->utf8, !!(pc->path_flags & P_UTF8));
		/* pointers stay inside the line */
		assert_true(p->addr >= pc->line && p->addr + p->addr_len <= pc->line + strlen(pc->line));
	}
}

struct err_case {
	const char *line;
	unsigned flags;
	enum smtp_err err;
};

static const struct err_case path_bad[] = {
	{ "MAIL FROM:a@b.example", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b.example", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:a@b.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<<a@b.example>>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b.example>x", 0, SMTP_ERR_SYNTAX },
	{ "MAIL FROM:<a@b.example>>", 0, SMTP_ERR_SYNTAX },
	{ "MAIL FROM:< >", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:< a@b.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b.example >", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<Postmaster>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<user>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<@>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<@b.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<.a@b.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a.@b.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a..b@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a b@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a(b)@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a,b@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a\\b@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b..example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@.b.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b.example.>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@-b.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b-.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b_c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<a@b.example;x>", 0, SMTP_ERR_PATH_SYNTAX },
	/* quoted strings */
	{ "MAIL FROM:<\"unterminated@b.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<\"a\"b@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<\"a\".b@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<\"a\tb\"@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<\"a\\\tb\"@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<\"a\\\"@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "MAIL FROM:<\"a\x7f\"@c.example>", 0, SMTP_ERR_PATH_SYNTAX },
	/* address literals */
	{ "RCPT TO:<u@[1.2.3]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[1.2.3.4.5]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[256.1.1.1]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[1.2.3.1000]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[1.2.3.]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[1.2.3.4>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[1.2.3.4]x>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[1.2.3.4].example>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:1:2:3:4:5:6:7]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:1:2:3:4:5:6:7:8:9]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:1:2:3:4:5:6:7::]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:1::2::3]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:12345::]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:1:]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6::1]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:g::1]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:1:2:3:4:5::192.0.2.1]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:1:2:3:4:5:6:7:192.0.2.1]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[IPv6:fe80::1%eth0]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[2001:db8::1]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[x-tag:content]>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<u@[1.2.3.4\\]>", 0, SMTP_ERR_PATH_SYNTAX },
	/* source routes */
	{ "RCPT TO:<@a,b:u@c>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<@a,@b u@c>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<@a:>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<@:u@c>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<@a,:u@c>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<@[1.2.3.4]:u@c>", 0, SMTP_ERR_PATH_SYNTAX },
	{ "RCPT TO:<@a:@b:u@c>", 0, SMTP_ERR_PATH_SYNTAX },
	/* null paths */
	{ "RCPT TO:<>", 0, SMTP_ERR_NULL_RCPT },
	{ "RCPT TO:<> NOTIFY=NEVER", 0, SMTP_ERR_NULL_RCPT },
	{ "MAIL FROM:<>x", 0, SMTP_ERR_SYNTAX },
	{ "RCPT TO:<Postmaster>x", 0, SMTP_ERR_SYNTAX },
	/* 8-bit */
	{ "MAIL FROM:<\xc3\xbc@b.example>", 0, SMTP_ERR_8BIT_WITHOUT_SMTPUTF8 },
	{ "MAIL FROM:<u@b\xc3\xbc.example>", 0, SMTP_ERR_8BIT_WITHOUT_SMTPUTF8 },
	{ "MAIL FROM:<u@b.example> ENVID=\xc3\xbc", 0, SMTP_ERR_8BIT_WITHOUT_SMTPUTF8 },
	{ "RCPT TO:<\xc3\xbc@b.example>", 0, SMTP_ERR_8BIT_WITHOUT_SMTPUTF8 },
	{ "MAIL FROM:<\xc0\xaf@b.example>", 0, SMTP_ERR_8BIT_WITHOUT_SMTPUTF8 },
	{ "MAIL FROM:<\xc0\xaf@b.example> SMTPUTF8", 0, SMTP_ERR_BAD_UTF8 },
	{ "MAIL FROM:<\xed\xa0\x80@b.example> SMTPUTF8", 0, SMTP_ERR_BAD_UTF8 },
	{ "MAIL FROM:<\xf4\x90\x80\x80@b.example> SMTPUTF8", 0, SMTP_ERR_BAD_UTF8 },
	{ "MAIL FROM:<\xe2\x82@b.example> SMTPUTF8", 0, SMTP_ERR_BAD_UTF8 },
	{ "MAIL FROM:<\xff@b.example> SMTPUTF8", 0, SMTP_ERR_BAD_UTF8 },
	{ "RCPT TO:<\xc3\x41@b.example>", SMTP_PARSE_SMTPUTF8, SMTP_ERR_BAD_UTF8 },
	{ "MAIL FROM:<u@b\xc3\xbc-.example> SMTPUTF8", 0, SMTP_ERR_PATH_SYNTAX },
};

static void
check_err_cases(const struct err_case *cs, size_t n)
{
	struct smtp_cmd c;
	size_t i;

	for (i = 0; i < n; i++) {
		enum smtp_err e = smtp_parse_command_ex(cs[i].line, strlen(cs[i].line), cs[i].flags, &c);

		if (e != cs[i].err)
			fail_msg("\"%s\": %s (%d), want %s (%d)", cs[i].line, smtp_err_text(e), e,
				 smtp_err_text(cs[i].err), cs[i].err);
	}
}

static void
test_paths_invalid(void **state)
{
	(void)state;
	check_err_cases(path_bad, N(path_bad));
}

/* n octets of a valid domain: labels of 50, never a dot first or last. */
static void
make_domain(char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = ((i + 1) % 51 == 0 && i + 1 < n) ? '.' : 'd';
	buf[n] = '\0';
}

static enum smtp_err
parse_fmt(struct smtp_cmd *c, const char *fmt, ...)
{
	static char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(line));
	return smtp_parse_command(line, (size_t)n, c);
}

static void
test_path_limits(void **state)
{
	char local[80], dom[300];
	struct smtp_cmd c;

	(void)state;
	/* local part: 64 ok, 65 not */
	memset(local, 'l', 64);
	local[64] = '\0';
	assert_int_equal(parse_fmt(&c, "MAIL FROM:<%s@x.example>", local), SMTP_OK);
	assert_int_equal(c.path.local_len, 64);
	local[64] = 'l';
	local[65] = '\0';
	assert_int_equal(parse_fmt(&c, "MAIL FROM:<%s@x.example>", local), SMTP_ERR_LOCAL_TOO_LONG);
	/* quoted: the quotes count */
	memset(local, 'q', 62);
	local[62] = '\0';
	assert_int_equal(parse_fmt(&c, "RCPT TO:<\"%s\"@x.example>", local), SMTP_OK);
	assert_int_equal(parse_fmt(&c, "RCPT TO:<\"%sq\"@x.example>", local), SMTP_ERR_LOCAL_TOO_LONG);
	/* path: "<" 64 "@" 189 ">" = 256 ok, 257 not */
	memset(local, 'l', 64);
	local[64] = '\0';
	make_domain(dom, 189);
	assert_int_equal(parse_fmt(&c, "RCPT TO:<%s@%s>", local, dom), SMTP_OK);
	assert_int_equal(c.path.domain_len, 189);
	make_domain(dom, 190);
	assert_int_equal(parse_fmt(&c, "RCPT TO:<%s@%s>", local, dom), SMTP_ERR_PATH_TOO_LONG);
	/* the source route counts towards the path */
	make_domain(dom, 180);
	assert_int_equal(parse_fmt(&c, "RCPT TO:<@r.example:%s@%s>", local, dom), SMTP_ERR_PATH_TOO_LONG);
	make_domain(dom, 177);
	assert_int_equal(parse_fmt(&c, "RCPT TO:<@r.example:%s@%s>", local, dom), SMTP_OK);
	assert_true(c.path.source_route);
	/* domain: 256 refused as such */
	make_domain(dom, 256);
	assert_int_equal(parse_fmt(&c, "RCPT TO:<u@%s>", dom), SMTP_ERR_DOMAIN_TOO_LONG);
	make_domain(dom, 255);
	assert_int_equal(parse_fmt(&c, "RCPT TO:<u@%s>", dom), SMTP_ERR_PATH_TOO_LONG);
	/* a label: 63 ok, 64 not */
	memset(dom, 'a', 63);
	strcpy(dom + 63, ".example");
	assert_int_equal(parse_fmt(&c, "RCPT TO:<u@%s>", dom), SMTP_OK);
	memset(dom, 'a', 64);
	strcpy(dom + 64, ".example");
	assert_int_equal(parse_fmt(&c, "RCPT TO:<u@%s>", dom), SMTP_ERR_PATH_SYNTAX);
}

struct helo_case {
	const char *line;
	enum smtp_err err;
	bool literal;
};

static const struct helo_case helo_cases[] = {
	{ "EHLO mail.example.com", SMTP_OK, false },
	{ "HELO localhost", SMTP_OK, false },
	{ "ehlo MX1.Example.COM", SMTP_OK, false },
	{ "EHLO 123.example", SMTP_OK, false },
	{ "EHLO a", SMTP_OK, false },
	{ "EHLO mail.example.com   ", SMTP_OK, false },
	{ "EHLO [192.0.2.1]", SMTP_OK, true },
	{ "EHLO [IPv6:2001:db8::1]", SMTP_OK, true },
	{ "EHLO [IPv6:::ffff:10.0.0.1]", SMTP_OK, true },
	{ "EHLO b\xc3\xbc" "cher.example", SMTP_OK, false },
	{ "EHLO mail..example", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO -mail.example", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO mail-.example", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO mail_1.example", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO mail.example.", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO .example", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO foo bar", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO <mail.example>", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO [1.2.3.4", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO [300.1.1.1]", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO [1.2.3.4] x", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO [IPv6:fe80::1%eth0]", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO 192.0.2.1]", SMTP_ERR_DOMAIN_SYNTAX, false },
	{ "EHLO b\xc3" "cher.example", SMTP_ERR_BAD_UTF8, false },
};

static void
test_helo(void **state)
{
	struct smtp_cmd c;
	char dom[300];
	size_t i;

	(void)state;
	for (i = 0; i < N(helo_cases); i++) {
		const struct helo_case *hc = &helo_cases[i];
		enum smtp_err e = smtp_parse_command(hc->line, strlen(hc->line), &c);

		if (e != hc->err)
			fail_msg("\"%s\": %s, want %s", hc->line, smtp_err_text(e), smtp_err_text(hc->err));
		if (e == SMTP_OK)
			assert_int_equal(c.arg_literal, hc->literal);
	}
	assert_int_equal(smtp_parse_command("EHLO mail.example.com  ", 23, &c), SMTP_OK);
	assert_int_equal(c.arg_len, 16);
	assert_memory_equal(c.arg, "mail.example.com", 16);
	assert_int_equal(smtp_parse_command("EHLO b\xc3\xbc" "cher.example", 20, &c), SMTP_OK);
	assert_true(c.utf8);
	/* 255 octets ok, 256 not; 63-octet label ok, 64 not */
	make_domain(dom, 255);
	assert_int_equal(parse_fmt(&c, "EHLO %s", dom), SMTP_OK);
	make_domain(dom, 256);
	assert_int_equal(parse_fmt(&c, "EHLO %s", dom), SMTP_ERR_DOMAIN_TOO_LONG);
	memset(dom, 'h', 63);
	dom[63] = '\0';
	assert_int_equal(parse_fmt(&c, "EHLO %s", dom), SMTP_OK);
	memset(dom, 'h', 64);
	dom[64] = '\0';
	assert_int_equal(parse_fmt(&c, "EHLO %s", dom), SMTP_ERR_DOMAIN_SYNTAX);
}

struct param_case {
	const char *line;
	enum smtp_err err;
	bool has_size;
	uint64_t size;
	enum smtp_body body;
	bool smtputf8;
	unsigned n_params, n_unknown;
	const char *unknown;
};

#define MF "MAIL FROM:<a@b.example>"
static const struct param_case param_cases[] = {
	{ MF, SMTP_OK, false, 0, SMTP_BODY_NONE, false, 0, 0, NULL },
	{ MF " SIZE=1000", SMTP_OK, true, 1000, SMTP_BODY_NONE, false, 1, 0, NULL },
	{ MF " size=0", SMTP_OK, true, 0, SMTP_BODY_NONE, false, 1, 0, NULL },
	{ MF " SIZE=18446744073709551615", SMTP_OK, true, UINT64_MAX, 0, false, 1, 0, NULL },
	{ MF " SIZE=18446744073709551614", SMTP_OK, true, UINT64_MAX - 1, 0, false, 1, 0, NULL },
	{ MF " SIZE=18446744073709551616", SMTP_OK, true, UINT64_MAX, 0, false, 1, 0, NULL },
	{ MF " SIZE=99999999999999999999", SMTP_OK, true, UINT64_MAX, 0, false, 1, 0, NULL },
	{ MF " SIZE=00000000000000000001", SMTP_OK, true, 1, 0, false, 1, 0, NULL },
	{ MF " SIZE=123456789012345678901", SMTP_ERR_BAD_SIZE, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SIZE=", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SIZE", SMTP_ERR_BAD_SIZE, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SIZE=12a", SMTP_ERR_BAD_SIZE, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SIZE=-1", SMTP_ERR_BAD_SIZE, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SIZE=+1", SMTP_ERR_BAD_SIZE, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SIZE=1 SIZE=2", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " BODY=8BITMIME", SMTP_OK, false, 0, SMTP_BODY_8BITMIME, false, 1, 0, NULL },
	{ MF " body=7bit", SMTP_OK, false, 0, SMTP_BODY_7BIT, false, 1, 0, NULL },
	{ MF " BODY=BINARYMIME", SMTP_ERR_BAD_BODY, 0, 0, 0, false, 0, 0, NULL },
	{ MF " BODY", SMTP_ERR_BAD_BODY, 0, 0, 0, false, 0, 0, NULL },
	{ MF " BODY=7BIT BODY=7BIT", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SMTPUTF8", SMTP_OK, false, 0, SMTP_BODY_NONE, true, 1, 0, NULL },
	{ MF " SMTPUTF8=yes", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SMTPUTF8 SMTPUTF8", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " SIZE=10 BODY=8BITMIME SMTPUTF8", SMTP_OK, true, 10, SMTP_BODY_8BITMIME, true, 3, 0,
	  NULL },
	{ MF "   SIZE=10    BODY=8BITMIME  ", SMTP_OK, true, 10, SMTP_BODY_8BITMIME, false, 2, 0,
	  NULL },
	{ MF " FOO=bar", SMTP_ERR_UNKNOWN_PARAM, false, 0, 0, false, 1, 1, "FOO" },
	{ MF " RET=HDRS ENVID=x+2By SIZE=5", SMTP_ERR_UNKNOWN_PARAM, true, 5, 0, false, 3, 2, "RET" },
	{ MF " AUTH=<>", SMTP_ERR_UNKNOWN_PARAM, false, 0, 0, false, 1, 1, "AUTH" },
	{ MF " X-FOO-1", SMTP_ERR_UNKNOWN_PARAM, false, 0, 0, false, 1, 1, "X-FOO-1" },
	{ MF " FOO SIZE=x", SMTP_ERR_BAD_SIZE, 0, 0, 0, false, 0, 1, NULL },
	{ MF " -FOO", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " F_O=1", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " K=a=b", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " K=a\tb", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF " =x", SMTP_ERR_BAD_PARAM, 0, 0, 0, false, 0, 0, NULL },
	{ MF "SIZE=1", SMTP_ERR_SYNTAX, 0, 0, 0, false, 0, 0, NULL },
	{ MF "\tSIZE=1", SMTP_ERR_SYNTAX, 0, 0, 0, false, 0, 0, NULL },
	/* RCPT knows none of MAIL's parameters */
	{ "RCPT TO:<a@b.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b.example",
	  SMTP_ERR_UNKNOWN_PARAM, false, 0, 0, false, 2, 2, "NOTIFY" },
	{ "RCPT TO:<a@b.example> SIZE=10", SMTP_ERR_UNKNOWN_PARAM, false, 0, 0, false, 1, 1, "SIZE" },
	{ "RCPT TO:<a@b.example> SMTPUTF8", SMTP_ERR_UNKNOWN_PARAM, false, 0, 0, false, 1, 1,
	  "SMTPUTF8" },
};
#undef MF

static void
test_params(void **state)
{
	struct smtp_cmd c;
	size_t i;

	(void)state;
	for (i = 0; i < N(param_cases); i++) {
		const struct param_case *pc = &param_cases[i];
		enum smtp_err e = smtp_parse_command(pc->line, strlen(pc->line), &c);

		if (e != pc->err)
			fail_msg("\"%s\": %s, want %s", pc->line, smtp_err_text(e), smtp_err_text(pc->err));
		if (e != SMTP_OK && e != SMTP_ERR_UNKNOWN_PARAM)
			continue;
		assert_int_equal(c.has_size, pc->has_size);
		assert_true(c.size == pc->size);
		assert_int_equal(c.body, pc->body);
		assert_int_equal(c.smtputf8, pc->smtputf8);
		assert_int_equal(c.n_params, pc->n_params);
		assert_int_equal(c.n_unknown, pc->n_unknown);
		check_span("unknown", pc->line, c.unknown, c.unknown_len, pc->unknown);
	}
}

/* ----------------------------------------------------------- DATA scanner */

struct data_ev {
	enum smtp_data_status st;
	uint64_t pos;           /* stream offset where the scan stopped */
	uint64_t off;           /* event_off */
};

struct data_res {
	char out[4096];
	size_t out_len;
	struct data_ev ev[80];
	unsigned n_ev;
	bool ended;
	uint64_t end;
	uint64_t raw, outb, lines, bare_lf, bare_cr, first_bare;
	unsigned flags;
	size_t longest;
};

static void
data_sink(void *arg, const char *p, size_t n)
{
	struct data_res *r = arg;

	assert_true(n > 0);
	assert_true(r->out_len + n <= sizeof(r->out));
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
}

/* Scan in[0..n) chunked by plan p, resuming after each bare report. */
static void
data_run(const char *in, size_t n, size_t max_line, const struct plan *p, bool with_emit,
	 struct data_res *r)
{
	struct smtp_data_scanner s;
	size_t pos = 0, c, off, used;
	enum smtp_data_status st;

	memset(r, 0, sizeof(*r));
	smtp_data_init(&s, max_line, with_emit ? data_sink : NULL, r);
	while (pos < n && !r->ended) {
		c = next_chunk(p, pos, n);
		for (off = 0; off < c;) {
			st = smtp_data_feed(&s, in + pos + off, c - off, &used);
			assert_true(used <= c - off);
			off += used;
			assert_true(s.raw_bytes == pos + off);
			if (st == SMTP_DATA_MORE) {
				assert_int_equal(off, c);
				break;
			}
			assert_true(r->n_ev < N(r->ev));
			r->ev[r->n_ev].st = st;
			r->ev[r->n_ev].pos = pos + off;
			r->ev[r->n_ev].off = s.event_off;
			r->n_ev++;
			if (st == SMTP_DATA_BARE_LF)
				assert_int_equal(in[pos + off], '\n');
			if (st == SMTP_DATA_END) {
				r->ended = true;
				r->end = pos + off;
				assert_int_equal(smtp_data_feed(&s, "x", 1, &used), SMTP_DATA_END);
				assert_int_equal(used, 0);
				break;
			}
		}
		pos += c;
	}
	r->raw = s.raw_bytes;
	r->outb = s.out_bytes;
	r->lines = s.lines;
	r->bare_lf = s.bare_lf;
	r->bare_cr = s.bare_cr;
	r->first_bare = s.first_bare_off;
	r->flags = s.flags;
	r->longest = s.longest;
	if (!with_emit)
		r->out_len = 0;
	else
		assert_true(r->outb == r->out_len);
}

struct data_case {
	const char *name;
	const char *in;
	const char *out;        /* unstuffed output */
	int64_t end;            /* stream offset after ".\r\n"; -1: no end */
	uint64_t lines;
	unsigned n_ev;          /* bare reports */
	enum smtp_data_status ev[4];
	uint64_t off[4];
};

#define LF SMTP_DATA_BARE_LF
#define CR SMTP_DATA_BARE_CR
static const struct data_case data_cases[] = {
	{ "simple", "Hello\r\n.\r\n", "Hello\r\n", 10, 1, 0, { 0 }, { 0 } },
	{ "empty message", ".\r\n", "", 3, 0, 0, { 0 }, { 0 } },
	{ "one empty line", "\r\n.\r\n", "\r\n", 5, 1, 0, { 0 }, { 0 } },
	{ "empty lines", "\r\n\r\n.\r\n", "\r\n\r\n", 7, 2, 0, { 0 }, { 0 } },
	{ "stuffed dot line", "..\r\n.\r\n", ".\r\n", 7, 1, 0, { 0 }, { 0 } },
	{ "stuffed leading dot", "..leading\r\n.\r\n", ".leading\r\n", 14, 1, 0, { 0 }, { 0 } },
	{ "many dots", "a\r\n..\r\n...\r\n....x\r\n.\r\n", "a\r\n.\r\n..\r\n...x\r\n", 22, 4, 0,
	  { 0 }, { 0 } },
	{ "unneeded stuffing", ".x\r\n. \r\n.\r\n", "x\r\n \r\n", 11, 2, 0, { 0 }, { 0 } },
	{ "dot inside lines", "a.b\r\n a.\r\n.\r\n", "a.b\r\n a.\r\n", 13, 2, 0, { 0 }, { 0 } },
	{ "pipelined after end", "a\r\n.\r\nMAIL FROM:<x@y>\r\n", "a\r\n", 6, 1, 0, { 0 }, { 0 } },
	{ "no end yet", "a\r\n.\r", "a\r\n", -1, 1, 0, { 0 }, { 0 } },
	{ "no end: dot only", "a\r\n.", "a\r\n", -1, 1, 0, { 0 }, { 0 } },
	{ "no end: dot in line", "a.\r\n", "a.\r\n", -1, 1, 0, { 0 }, { 0 } },
	{ "crlf dot crlf inside a line", "a\r\nb.\r\n.\r\n", "a\r\nb.\r\n", 10, 2, 0, { 0 }, { 0 } },
	/* the smuggling probes: reported, and never an end */
	{ "\\n.\\n", "a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", 10, 1, 2, { LF, LF }, { 1, 3 } },
	{ "\\r\\n.\\n", "a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n", 11, 2, 1, { LF }, { 4 } },
	{ "\\n.\\r\\n", "a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n", 11, 2, 1, { LF }, { 1 } },
	{ "\\r.\\r", "a\r.\rb\r\n.\r\n", "a\r.\rb\r\n", 10, 1, 2, { CR, CR }, { 1, 3 } },
	{ "\\r.\\r\\n", "a\r.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n", 11, 2, 1, { CR }, { 1 } },
	{ "\\r\\n.\\r", "a\r\n.\rX\r\n.\r\n", "a\r\n\rX\r\n", 11, 2, 1, { CR }, { 4 } },
	{ "\\r\\n.\\r.\\r", "a\r\n.\r.\r\n.\r\n", "a\r\n\r.\r\n", 11, 2, 1, { CR }, { 4 } },
	{ "\\n.\\n at start", "\n.\n", "\n.\n", -1, 0, 2, { LF, LF }, { 0, 2 } },
	{ "\\n.\\r\\n at start", "\n.\r\n", "\n.\r\n", -1, 1, 1, { LF }, { 0 } },
	{ ".\\n at start", ".\nx\r\n.\r\n", "\nx\r\n", 8, 1, 1, { LF }, { 1 } },
	{ ".\\r at start", ".\rx\r\n.\r\n", "\rx\r\n", 8, 1, 1, { CR }, { 1 } },
	{ "\\r.\\r\\n at start", "\r.\r\n", "\r.\r\n", -1, 1, 1, { CR }, { 0 } },
	{ "\\r\\r\\n", "a\r\r\n.\r\n", "a\r\r\n", 7, 1, 1, { CR }, { 1 } },
	{ "\\r\\n\\n.\\r\\n", "a\r\n\n.\r\nb\r\n.\r\n", "a\r\n\n.\r\nb\r\n", 13, 3, 1, { LF },
	  { 3 } },
	{ "\\n\\n", "a\n\n.\r\n", "a\n\n.\r\n", -1, 1, 2, { LF, LF }, { 1, 2 } },
	{ "\\r\\n.\\n.\\r\\n", "x\r\n.\n.\r\n", "x\r\n\n.\r\n", -1, 2, 1, { LF }, { 4 } },
	{ "\\r\\n..\\n", "x\r\n..\n.\r\n", "x\r\n.\n.\r\n", -1, 2, 1, { LF }, { 5 } },
	{ "\\r\\r.\\r\\n", "a\r\r.\r\n", "a\r\r.\r\n", -1, 1, 2, { CR, CR }, { 1, 2 } },
};
#undef LF
#undef CR

static void
check_data_case(const struct data_case *dc)
{
	static struct data_res w, r;
	struct plan pl[80], whole = { 0, 0 };
	size_t n = strlen(dc->in), np, k;
	unsigned i;

	data_run(dc->in, n, 0, &whole, true, &w);
	if (w.out_len != strlen(dc->out) || memcmp(w.out, dc->out, w.out_len) != 0)
		fail_msg("%s: output \"%.*s\"", dc->name, (int)w.out_len, w.out);
	assert_int_equal(w.ended, dc->end >= 0);
	if (dc->end >= 0)
		assert_int_equal(w.end, dc->end);
	assert_int_equal(w.lines, dc->lines);
	if (w.n_ev != dc->n_ev + w.ended)
		fail_msg("%s: %u reports, want %u", dc->name, w.n_ev - w.ended, dc->n_ev);
	for (i = 0; i < dc->n_ev; i++) {
		assert_int_equal(w.ev[i].st, dc->ev[i]);
		assert_int_equal(w.ev[i].off, dc->off[i]);
	}
	assert_int_equal(w.bare_lf + w.bare_cr, dc->n_ev);
	if (dc->n_ev)
		assert_int_equal(w.first_bare, dc->off[0]);
	assert_true(w.outb <= w.raw);
	np = make_plans(pl, N(pl), n);
	for (k = 0; k < np; k++) {
		data_run(dc->in, n, 0, &pl[k], true, &r);
		if (memcmp(&r, &w, sizeof(r)) != 0)
			fail_msg("%s: plan %d/%zu differs from whole", dc->name, pl[k].kind, pl[k].arg);
	}
	/* pass-through only: same counts, same stops */
	data_run(dc->in, n, 0, &whole, false, &r);
	w.out_len = 0;
	memset(w.out, 0, sizeof(w.out));
	assert_memory_equal(&r, &w, sizeof(r));
}

static void
test_data_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < N(data_cases); i++)
		check_data_case(&data_cases[i]);
}

/* Raw bytes up to the end are the input itself: a cut-through relay forwards them as they are. */
static void
test_data_passthrough(void **state)
{
	const char *msg = "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n";
	struct smtp_data_scanner s;
	size_t used, n = strlen(msg), pos = 0;
	char fwd[128];
	size_t fwd_len = 0;
	enum smtp_data_status st = SMTP_DATA_MORE;

	(void)state;
	smtp_data_init(&s, 0, NULL, NULL);
	while (st == SMTP_DATA_MORE && pos < n) {
		size_t c = n - pos < 5 ? n - pos : 5;

		st = smtp_data_feed(&s, msg + pos, c, &used);
		memcpy(fwd + fwd_len, msg + pos, used);
		fwd_len += used;
		pos += used;
	}
	assert_int_equal(st, SMTP_DATA_END);
	assert_int_equal(fwd_len, n - 6);
	assert_memory_equal(fwd, "Subject: x\r\n\r\n..dot\r\nbody\r\n.\r\n", fwd_len);
	assert_string_equal(msg + pos, "QUIT\r\n");
	assert_true(s.raw_bytes == fwd_len);
	assert_true(s.out_bytes == fwd_len - 4);        /* one stuffing dot, ".\r\n" */
	assert_true(s.lines == 4);
}

/* BARE_LF stops before the LF: nothing forwarded holds it. */
static void
test_data_bare_stops(void **state)
{
	const char *msg = "abc\r\n.\nMAIL FROM:<evil@x>\r\n";
	struct smtp_data_scanner s;
	size_t used;

	(void)state;
	smtp_data_init(&s, 0, NULL, NULL);
	assert_int_equal(smtp_data_feed(&s, msg, strlen(msg), &used), SMTP_DATA_BARE_LF);
	assert_int_equal(used, 6);
	assert_int_equal(msg[used], '\n');
	assert_true(s.event_off == 6);
	assert_true(s.flags & SMTP_DATA_F_BARE_LF);
	/* resuming: reported once, then treated as text; no end in sight */
	assert_int_equal(smtp_data_feed(&s, msg + 6, strlen(msg) - 6, &used), SMTP_DATA_MORE);
	assert_int_equal(used, strlen(msg) - 6);
	assert_true(s.bare_lf == 1);
	/* a caller that does not resume at the LF does not get a free pass later */
	smtp_data_init(&s, 0, NULL, NULL);
	assert_int_equal(smtp_data_feed(&s, "a\nb", 3, &used), SMTP_DATA_BARE_LF);
	assert_int_equal(smtp_data_feed(&s, "x", 1, &used), SMTP_DATA_MORE);
	assert_int_equal(smtp_data_feed(&s, "\n", 1, &used), SMTP_DATA_BARE_LF);
	assert_int_equal(used, 0);
	/* bare CR: stops before the octet after it */
	smtp_data_init(&s, 0, NULL, NULL);
	assert_int_equal(smtp_data_feed(&s, "ab\r.\r\n", 6, &used), SMTP_DATA_BARE_CR);
	assert_int_equal(used, 3);
	assert_true(s.event_off == 2);
	assert_true(s.flags & SMTP_DATA_F_BARE_CR);
}

static void
test_data_line_length(void **state)
{
	static char buf[3000];
	static struct data_res w, r;
	struct plan whole = { 0, 0 }, bytes = { 1, 0 }, rnd = { 3, 64 };
	size_t n;

	(void)state;
	/* 1000 incl. CRLF: fine */
	memset(buf, 'x', 998);
	memcpy(buf + 998, "\r\n.\r\n", 6);
	data_run(buf, 1003, 0, &whole, true, &w);
	assert_true(w.ended);
	assert_false(w.flags & SMTP_DATA_F_LONG_LINE);
	assert_int_equal(w.longest, 1000);
	/* 1001: flagged, still scanned */
	memset(buf, 'x', 999);
	memcpy(buf + 999, "\r\n.\r\n", 6);
	data_run(buf, 1004, 0, &whole, true, &w);
	assert_true(w.ended);
	assert_true(w.flags & SMTP_DATA_F_LONG_LINE);
	assert_int_equal(w.longest, 1001);
	data_run(buf, 1004, 0, &bytes, true, &r);
	assert_memory_equal(&r, &w, sizeof(r));
	/* the stuffing dot counts: it is on the wire */
	buf[0] = '.';
	memset(buf + 1, 'x', 997);
	memcpy(buf + 998, "\r\n.\r\n", 6);
	data_run(buf, 1003, 0, &whole, true, &w);
	assert_false(w.flags & SMTP_DATA_F_LONG_LINE);
	buf[998] = 'x';
	memcpy(buf + 999, "\r\n.\r\n", 6);
	data_run(buf, 1004, 0, &rnd, true, &w);
	assert_true(w.flags & SMTP_DATA_F_LONG_LINE);
	/* a line still running past the limit is flagged before it ends */
	memset(buf, 'y', 2000);
	data_run(buf, 2000, 0, &rnd, true, &w);
	assert_false(w.ended);
	assert_true(w.flags & SMTP_DATA_F_LONG_LINE);
	/* a configured limit */
	n = 80;
	memset(buf, 'z', n);
	memcpy(buf + n, "\r\n.\r\n", 6);
	data_run(buf, n + 5, 81, &whole, true, &w);
	assert_true(w.flags & SMTP_DATA_F_LONG_LINE);
	data_run(buf, n + 5, 82, &whole, true, &w);
	assert_false(w.flags & SMTP_DATA_F_LONG_LINE);
}

/*
 * Reference for inputs without bare CR/LF: the end is the first CRLF.CRLF
 * (or ".\r\n" first), and each CRLF line loses one leading dot.
 */
static void
data_reference(const char *in, size_t n, struct data_res *ref)
{
	size_t i = 0, e, end = n;

	memset(ref, 0, sizeof(*ref));
	ref->ended = false;
	if (n >= 3 && memcmp(in, ".\r\n", 3) == 0) {
		ref->ended = true;
		ref->end = 3;
		return;
	}
	for (e = 0; e + 5 <= n; e++)
		if (memcmp(in + e, "\r\n.\r\n", 5) == 0) {
			ref->ended = true;
			ref->end = e + 5;
			end = e + 2;
			break;
		}
	while (i < end) {
		size_t ls = i;

		while (i < end && !(i + 1 < n && in[i] == '\r' && in[i + 1] == '\n'))
			i++;
		if (i < end)
			i += 2;
		if (in[ls] == '.' && i - ls > 0)
			ls++;
		memcpy(ref->out + ref->out_len, in + ls, i - ls);
		ref->out_len += i - ls;
	}
}

/* Random streams over {a . \r \n}: every chunking agrees, and with the reference where it applies. */
static void
test_data_random(void **state)
{
	static char in[96];
	static struct data_res w, r, ref;
	struct plan pl[4] = { { 1, 0 }, { 3, 2 }, { 3, 7 }, { 2, 0 } };
	const char alpha[] = "a.\r\n";
	unsigned iter, k, checked = 0;

	(void)state;
	for (iter = 0; iter < 20000; iter++) {
		size_t n = 1 + (size_t)(rng() % 64), i;

		if (iter & 1) {
			for (i = 0; i < n; i++)
				in[i] = alpha[rng() % 4];
		} else {
			for (i = 0; i < n; i++) {
				unsigned t = (unsigned)(rng() % 3);

				if (t == 2 && i + 1 < n) {
					in[i++] = '\r';
					in[i] = '\n';
				} else {
					in[i] = t == 1 ? '.' : 'a';
				}
			}
		}
		data_run(in, n, 0, &(struct plan){ 0, 0 }, true, &w);
		pl[3].arg = 1 + (size_t)(rng() % n);
		for (k = 0; k < N(pl); k++) {
			data_run(in, n, 0, &pl[k], true, &r);
			if (memcmp(&r, &w, sizeof(r)) != 0)
				fail_msg("chunking %u changes the result of \"%.*s\"", k, (int)n, in);
		}
		assert_true(w.outb <= w.raw);
		if (w.ended)
			assert_true((w.end == 3 && memcmp(in, ".\r\n", 3) == 0) ||
				    (w.end >= 5 && memcmp(in + w.end - 5, "\r\n.\r\n", 5) == 0));
		if (w.bare_lf || w.bare_cr)
			continue;
		data_reference(in, w.ended ? n : w.raw, &ref);
		if (!w.ended && w.raw >= 1 && in[w.raw - 1] == '\r')
			continue;       /* a CR still waiting for its LF */
		assert_int_equal(ref.ended, w.ended);
		if (w.ended)
			assert_true(ref.end == w.end);
		if (ref.out_len != w.out_len || memcmp(ref.out, w.out, w.out_len) != 0)
			fail_msg("\"%.*s\": unstuffed output differs from the reference", (int)n, in);
		checked++;
	}
	assert_true(checked > 1000);
}

/* ---------------------------------------------------------------- replies */

struct reply_ev {
	enum smtp_reply_status st;
	size_t end;
	unsigned code, n_lines;
	enum smtp_err err;
	bool has_enh;
	unsigned enh[3];
	char text[SMTP_REPLY_LINE_DEFAULT];
	unsigned ehlo;
	uint64_t size;
};

struct reply_run {
	struct reply_ev ev[8];
	unsigned n;
};

static void
reply_run(const char *in, size_t n, unsigned max_lines, bool ehlo, const struct plan *p,
	  struct reply_run *rr)
{
	static struct smtp_reply r;
	size_t pos = 0, c, off, used;

	memset(rr, 0, sizeof(*rr));
	assert_int_equal(smtp_reply_init(&r, 0, max_lines, ehlo), 0);
	while (pos < n) {
		c = next_chunk(p, pos, n);
		for (off = 0; off < c;) {
			enum smtp_reply_status st = smtp_reply_feed(&r, in + pos + off, c - off, &used);
			struct reply_ev *e;

			off += used;
			if (st == SMTP_REPLY_MORE)
				break;
			assert_true(rr->n < N(rr->ev));
			e = &rr->ev[rr->n++];
			e->st = st;
			e->end = pos + off;
			e->code = r.code;
			e->n_lines = r.n_lines;
			e->err = r.err;
			e->has_enh = r.has_enhanced;
			memcpy(e->enh, r.enh, sizeof(e->enh));
			memcpy(e->text, r.text, r.text_len + 1);
			e->ehlo = r.ehlo;
			e->size = r.ehlo_size;
			if (st == SMTP_REPLY_ERROR)
				return;         /* a client gives up on the connection */
		}
		pos += c;
	}
}

struct reply_case {
	const char *in;
	bool ehlo;
	enum smtp_reply_status st;
	enum smtp_err err;
	unsigned code, n_lines;
	const char *enh;        /* "x.y.z" or NULL */
	const char *text;
	unsigned ext;
	uint64_t size;
};

static const struct reply_case reply_cases[] = {
	{ "250 OK\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 250, 1, NULL, "OK", 0, 0 },
	{ "220\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 220, 1, NULL, "", 0, 0 },
	{ "220 \r\n", false, SMTP_REPLY_DONE, SMTP_OK, 220, 1, NULL, "", 0, 0 },
	{ "250 2.1.0 Ok\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 250, 1, "2.1.0", "Ok", 0, 0 },
	{ "250 2.0.0\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 250, 1, "2.0.0", "", 0, 0 },
	{ "550 5.1.1 <x@y>: Recipient address rejected\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 550,
	  1, "5.1.1", "<x@y>: Recipient address rejected", 0, 0 },
	{ "451 4.3.0 Error: queue file write error\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 451, 1,
	  "4.3.0", "Error: queue file write error", 0, 0 },
	{ "552 5.3.4 Message size exceeds fixed limit\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 552, 1,
	  "5.3.4", "Message size exceeds fixed limit", 0, 0 },
	{ "550 5.7.123 x\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 550, 1, "5.7.123", "x", 0, 0 },
	{ "250 5.1.1 class mismatch\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 250, 1, NULL,
	  "5.1.1 class mismatch", 0, 0 },
	{ "250 2.1.1000 too long\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 250, 1, NULL,
	  "2.1.1000 too long", 0, 0 },
	{ "250 2.1.0x\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 250, 1, NULL, "2.1.0x", 0, 0 },
	{ "354 End data with <CR><LF>.<CR><LF>\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 354, 1, NULL,
	  "End data with <CR><LF>.<CR><LF>", 0, 0 },
	{ "354 3.0.0 go ahead\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 354, 1, NULL,
	  "3.0.0 go ahead", 0, 0 },
	{ "220-first\r\n220-second\r\n220 last\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 220, 3, NULL,
	  "first", 0, 0 },
	{ "250-\r\n250 \r\n", false, SMTP_REPLY_DONE, SMTP_OK, 250, 2, NULL, "", 0, 0 },
	/* a multi-line reply to something else: no keywords */
	{ "250-help\r\n250 PIPELINING\r\n", false, SMTP_REPLY_DONE, SMTP_OK, 250, 2, NULL, "help",
	  0, 0 },
	/* EHLO */
	{ "250-mx.example.com Hello client.example [192.0.2.1]\r\n250-PIPELINING\r\n"
	  "250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n"
	  "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
	  "250 CHUNKING\r\n", true, SMTP_REPLY_DONE, SMTP_OK, 250, 11, NULL,
	  "mx.example.com Hello client.example [192.0.2.1]",
	  SMTP_EXT_PIPELINING | SMTP_EXT_SIZE | SMTP_EXT_STARTTLS | SMTP_EXT_ENHANCEDSTATUSCODES |
	  SMTP_EXT_8BITMIME | SMTP_EXT_DSN | SMTP_EXT_SMTPUTF8 | SMTP_EXT_CHUNKING, 10240000 },
	{ "250-mx\r\n250-size\r\n250-pipelining\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n"
	  "250-BINARYMIME\r\n250 REQUIRETLS\r\n", true, SMTP_REPLY_DONE, SMTP_OK, 250, 7, NULL,
	  "mx", SMTP_EXT_SIZE | SMTP_EXT_PIPELINING | SMTP_EXT_AUTH | SMTP_EXT_BINARYMIME |
	  SMTP_EXT_REQUIRETLS, 0 },
	{ "250-mx\r\n250-SIZE 12x\r\n250-SIZEX\r\n250 X-PIPELINING\r\n", true, SMTP_REPLY_DONE,
	  SMTP_OK, 250, 4, NULL, "mx", SMTP_EXT_SIZE, 0 },
	{ "250-mx\r\n250 SIZE 99999999999999999999999\r\n", true, SMTP_REPLY_DONE, SMTP_OK, 250, 2,
	  NULL, "mx", SMTP_EXT_SIZE, UINT64_MAX },
	{ "250 mx.example.com\r\n", true, SMTP_REPLY_DONE, SMTP_OK, 250, 1, NULL,
	  "mx.example.com", 0, 0 },
	/* malformed */
	{ "25 OK\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL, "", 0, 0 },
	{ "abc\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL, "", 0, 0 },
	{ "\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL, "", 0, 0 },
	{ "250_x\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL, "", 0, 0 },
	{ "2500 x\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL, "", 0, 0 },
	{ "600 x\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL, "", 0, 0 },
	{ "160 x\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL, "", 0, 0 },
	{ "260 x\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL, "", 0, 0 },
	{ "250-a\r\n25x b\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 250, 1, NULL, "a",
	  0, 0 },
	{ "250-a\r\n251 b\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_INCONSISTENT, 250, 1, NULL,
	  "a", 0, 0 },
	{ "250-a\r\n550 b\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_INCONSISTENT, 250, 1, NULL,
	  "a", 0, 0 },
	{ "250 OK\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_BAD_EOL, 0, 0, NULL, "", 0, 0 },
	{ "250-a\n250 OK\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_BAD_EOL, 0, 0, NULL, "", 0,
	  0 },
	{ "250 a\rb\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_BAD_EOL, 0, 0, NULL, "", 0, 0 },
	{ "1-a\r\n2-b\r\n3-c\r\n4 d\r\n", false, SMTP_REPLY_ERROR, SMTP_ERR_REPLY_CODE, 0, 0, NULL,
	  "", 0, 0 },
	{ "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", false, SMTP_REPLY_ERROR,
	  SMTP_ERR_REPLY_TOO_MANY_LINES, 250, 4, NULL, "a", 0, 0 },
};

static void
test_reply_table(void **state)
{
	static struct reply_run w, r;
	struct plan pl[300];
	size_t i, np, k;

	(void)state;
	for (i = 0; i < N(reply_cases); i++) {
		const struct reply_case *rc = &reply_cases[i];
		size_t n = strlen(rc->in);
		const struct reply_ev *e = &w.ev[0];
		char enh[32];

		/* max 3 lines for the TOO_MANY case; 64 (default) for the rest */
		reply_run(rc->in, n, rc->err == SMTP_ERR_REPLY_TOO_MANY_LINES ? 3 : 0, rc->ehlo,
			  &(struct plan){ 0, 0 }, &w);
		if (w.n != 1 || e->st != rc->st || e->err != rc->err)
			fail_msg("\"%s\": %u replies, status %d, %s", rc->in, w.n, e->st,
				 smtp_err_text(e->err));
		assert_true(e->end <= n);
		if (rc->st == SMTP_REPLY_DONE)
			assert_int_equal(e->end, n);
		assert_int_equal(e->code, rc->code);
		assert_int_equal(e->n_lines, rc->n_lines);
		assert_int_equal(e->has_enh, rc->enh != NULL);
		if (rc->enh) {
			snprintf(enh, sizeof(enh), "%u.%u.%u", e->enh[0], e->enh[1], e->enh[2]);
			assert_string_equal(enh, rc->enh);
		}
		assert_string_equal(e->text, rc->text);
		assert_int_equal(e->ehlo, rc->ext);
		assert_true(e->size == rc->size);
		np = make_plans(pl, N(pl), n);
		for (k = 0; k < np; k++) {
			reply_run(rc->in, n, rc->err == SMTP_ERR_REPLY_TOO_MANY_LINES ? 3 : 0, rc->ehlo,
				  &pl[k], &r);
			assert_memory_equal(&r, &w, sizeof(r));
		}
	}
}

static void
test_reply_pipelined(void **state)
{
	static struct reply_run r;
	const char *in = "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no\r\n354 go\r\n";
	struct plan p = { 1, 0 };

	(void)state;
	reply_run(in, strlen(in), 0, false, &p, &r);
	assert_int_equal(r.n, 4);
	assert_int_equal(r.ev[0].code, 250);
	assert_int_equal(r.ev[0].end, 14);
	assert_int_equal(r.ev[1].enh[2], 5);
	assert_int_equal(r.ev[2].code, 550);
	assert_string_equal(r.ev[2].text, "no");
	assert_int_equal(r.ev[3].code, 354);
	assert_int_equal(r.ev[3].end, strlen(in));
}

static void
test_reply_limits(void **state)
{
	static char buf[700];
	static struct smtp_reply r;
	size_t used;

	(void)state;
	assert_int_equal(smtp_reply_init(&r, 4, 0, false), -EINVAL);
	assert_int_equal(smtp_reply_init(&r, SMTP_CMD_LINE_MAX + 1, 0, false), -EINVAL);
	/* 512 incl. CRLF ok, 513 not */
	memcpy(buf, "250 ", 4);
	memset(buf + 4, 't', 506);
	memcpy(buf + 510, "\r\n", 2);
	assert_int_equal(smtp_reply_init(&r, 0, 0, false), 0);
	assert_int_equal(smtp_reply_feed(&r, buf, 512, &used), SMTP_REPLY_DONE);
	assert_int_equal(r.text_len, 506);
	memset(buf + 4, 't', 507);
	memcpy(buf + 511, "\r\n", 2);
	assert_int_equal(smtp_reply_init(&r, 0, 0, false), 0);
	assert_int_equal(smtp_reply_feed(&r, buf, 513, &used), SMTP_REPLY_ERROR);
	assert_int_equal(r.err, SMTP_ERR_REPLY_LINE_TOO_LONG);
	/* a larger configured limit: the text is kept truncated */
	memset(buf + 4, 't', 600);
	memcpy(buf + 604, "\r\n", 2);
	assert_int_equal(smtp_reply_init(&r, 1024, 0, false), 0);
	assert_int_equal(smtp_reply_feed(&r, buf, 606, &used), SMTP_REPLY_DONE);
	assert_int_equal(r.text_len, SMTP_REPLY_LINE_DEFAULT - 1);
	/* default line count: 64 ok, 65 not */
	assert_int_equal(smtp_reply_init(&r, 0, 0, false), 0);
	for (unsigned i = 0; i < 63; i++)
		assert_int_equal(smtp_reply_feed(&r, "250-x\r\n", 7, &used), SMTP_REPLY_MORE);
	assert_int_equal(smtp_reply_feed(&r, "250 x\r\n", 7, &used), SMTP_REPLY_DONE);
	assert_int_equal(r.n_lines, 64);
	assert_int_equal(smtp_reply_init(&r, 0, 0, false), 0);
	for (unsigned i = 0; i < 64; i++)
		assert_int_equal(smtp_reply_feed(&r, "250-x\r\n", 7, &used), SMTP_REPLY_MORE);
	assert_int_equal(smtp_reply_feed(&r, "250 x\r\n", 7, &used), SMTP_REPLY_ERROR);
	assert_int_equal(r.err, SMTP_ERR_REPLY_TOO_MANY_LINES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_table),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_line_init_limits),
		cmocka_unit_test(test_line_pipelining),
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_verb_table),
		cmocka_unit_test(test_err_table),
		cmocka_unit_test(test_paths_valid),
		cmocka_unit_test(test_paths_invalid),
		cmocka_unit_test(test_path_limits),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_data_table),
		cmocka_unit_test(test_data_passthrough),
		cmocka_unit_test(test_data_bare_stops),
		cmocka_unit_test(test_data_line_length),
		cmocka_unit_test(test_data_random),
		cmocka_unit_test(test_reply_table),
		cmocka_unit_test(test_reply_pipelined),
		cmocka_unit_test(test_reply_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
