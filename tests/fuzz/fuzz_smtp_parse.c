/*
 * fuzz_smtp_parse.c — libFuzzer target for the pure SMTP parser
 * (app/smtp/smtp_parse.c): line assembly + command parsing, the DATA
 * scanner and the reply parser, each fed the same stream whole, byte by
 * byte and in random chunks; every way must give the same events at the
 * same offsets. No DPDK: the target links smtp_parse.o alone.
 *
 * Input: [seed:1][config:1][stream...]. seed drives the random chunk sizes;
 * config picks limits: bits 0-1 command line max (512, 64, 4096, 3), bit 2
 * EHLO keyword parsing, bits 3-4 reply max lines (64, 1, 3, 1000), bits 5-6
 * text line limit (1000, 1, 80, 4096), bit 7 SMTPUTF8 transaction flag.
 *
 * Invariants (a violation prints "INVARIANT" and traps):
 *  - chunked == whole for every parser (events, offsets, lines, output);
 *  - a command line returned OK is the stream's bytes before a CRLF, with
 *    no CR, LF or NUL, within the limit; a BARE_LF line ends at an LF not
 *    preceded by CR;
 *  - parsed pointers lie inside the line; a parsed path respects the RFC
 *    5321 lengths, addr = local "@" domain; SMTPUTF8 only ever widens what
 *    RCPT accepts;
 *  - the scanner's output is never longer than its input; END only right
 *    after CRLF "." CRLF (or ".\r\n" first), and, when no bare CR/LF came
 *    before, exactly at the first one with the reference unstuffing; every
 *    BARE_LF/BARE_CR report points at a real bare LF/CR;
 *  - a reply DONE ends at CRLF with a code in 200..559.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/smtp/smtp_parse.h"

#define FZ_MAX_INPUT    16384           /* longer inputs are skipped */
#define FZ_MAX_EVENTS   (FZ_MAX_INPUT + 1)

static void __attribute__((noreturn))
fz_fail(const char *what, size_t at)
{
	fprintf(stderr, "fuzz_smtp_parse: INVARIANT: %s (at %zu)\n", what, at);
	__builtin_trap();
}

#define FZ_CHECK(cond, at) do { if (!(cond)) fz_fail(#cond, (size_t)(at)); } while (0)

/* ------------------------------------------------------------- chunking */

struct fz_plan {
	int kind;               /* 0 whole, 1 byte by byte, 2 random */
	uint64_t rng;
	size_t max;
};

static size_t
fz_chunk(struct fz_plan *p, size_t left)
{
	size_t k;

	if (p->kind == 0)
		return left;
	if (p->kind == 1)
		return 1;
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	k = 1 + (size_t)(p->rng % p->max);
	return k < left ? k : left;
}

static struct fz_plan
fz_plan_make(int kind, uint8_t seed)
{
	struct fz_plan p = { kind, 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed << 32 | seed), 1 };

	p.max = 1 + (size_t)(seed % 8) * (seed % 8 + 1);       /* 1..57 */
	return p;
}

/* ---------------------------------------------------------- command lines */

struct fz_line_ev {
	enum smtp_line_status st;
	size_t end;
	uint32_t hash;          /* of the line's content (OK lines) */
};

struct fz_line_run {
	struct fz_line_ev ev[FZ_MAX_EVENTS];
	size_t n;
};

static uint32_t
fz_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (uint8_t)*p++) * 16777619u;
	return h;
}

static bool
fz_inside(const char *base, size_t n, const char *p, size_t len)
{
	return len == 0 || (p >= base && p <= base + n && len <= (size_t)(base + n - p));
}

/* Invariants of one parsed command line. */
static void
fz_check_cmd(const char *line, size_t n, unsigned flags)
{
	struct smtp_cmd c, u;
	enum smtp_err e = smtp_parse_command_ex(line, n, flags, &c);
	enum smtp_err eu = smtp_parse_command_ex(line, n, flags | SMTP_PARSE_SMTPUTF8, &u);
	const struct smtp_path *p = &c.path;
	size_t i;

	FZ_CHECK((unsigned)e < SMTP_ERR_COUNT && (unsigned)c.verb < SMTP_VERB_COUNT, 0);
	FZ_CHECK(smtp_err_text(e) != NULL && smtp_verb_name(c.verb) != NULL, 0);
	FZ_CHECK(fz_inside(line, n, c.arg, c.arg_len), 0);
	FZ_CHECK(fz_inside(line, n, p->addr, p->addr_len), 0);
	FZ_CHECK(fz_inside(line, n, p->local, p->local_len), 0);
	FZ_CHECK(fz_inside(line, n, p->domain, p->domain_len), 0);
	FZ_CHECK(c.n_unknown == 0 || fz_inside(line, n, c.unknown, c.unknown_len), 0);
	FZ_CHECK(c.n_unknown <= c.n_params || e != SMTP_OK, 0);
	FZ_CHECK(u.verb == c.verb, 0);
	if (e == SMTP_OK)
		FZ_CHECK(eu == SMTP_OK, 0);
	if (eu == SMTP_ERR_8BIT_WITHOUT_SMTPUTF8)
		FZ_CHECK(c.verb == SMTP_VERB_MAIL, 0);
	if ((e != SMTP_OK && e != SMTP_ERR_UNKNOWN_PARAM) ||
	    (c.verb != SMTP_VERB_MAIL && c.verb != SMTP_VERB_RCPT))
		return;
	FZ_CHECK(p->local_len <= SMTP_LOCAL_MAX && p->domain_len <= SMTP_DOMAIN_MAX, 0);
	FZ_CHECK(p->addr_len + 2 <= SMTP_PATH_MAX, 0);
	FZ_CHECK(!p->null || c.verb == SMTP_VERB_MAIL, 0);
	if (!p->null && !p->postmaster) {
		FZ_CHECK(p->addr == p->local && p->addr_len == p->local_len + 1 + p->domain_len, 0);
		FZ_CHECK(p->local_len > 0 && p->domain_len > 0 && p->addr[p->local_len] == '@', 0);
		FZ_CHECK(p->domain == p->local + p->local_len + 1, 0);
		FZ_CHECK(p->addr_literal == (p->domain[0] == '['), 0);
	}
	for (i = 0; i < p->addr_len && !p->utf8; i++)
		FZ_CHECK((uint8_t)p->addr[i] < 0x80, i);
	if (c.verb == SMTP_VERB_MAIL && !c.smtputf8)
		FZ_CHECK(!p->utf8, 0);
}

static void
fz_lines(const char *in, size_t n, size_t max, struct fz_plan *plan, struct fz_line_run *r,
	 bool check, unsigned pflags)
{
	static struct smtp_line l;
	size_t pos = 0, c, off, used, start = 0;

	r->n = 0;
	FZ_CHECK(smtp_line_init(&l, max) == 0, max);
	while (pos < n) {
		c = fz_chunk(plan, n - pos);
		for (off = 0; off < c;) {
			enum smtp_line_status st = smtp_line_feed(&l, in + pos + off, c - off, &used);
			size_t end;

			FZ_CHECK(used <= c - off, pos + off);
			off += used;
			if (st == SMTP_LINE_MORE) {
				FZ_CHECK(off == c, pos + off);
				break;
			}
			end = pos + off;
			FZ_CHECK(r->n < FZ_MAX_EVENTS, end);
			FZ_CHECK(end > start && in[end - 1] == '\n', end);
			r->ev[r->n].st = st;
			r->ev[r->n].end = end;
			r->ev[r->n].hash = 0;
			if (st == SMTP_LINE_BARE_LF)
				FZ_CHECK(end - start == 1 || in[end - 2] != '\r', end);
			if (st == SMTP_LINE_OK) {
				FZ_CHECK(l.len + 2 == end - start && l.len + 2 <= l.max, end);
				FZ_CHECK(memcmp(l.buf, in + start, l.len) == 0 && l.buf[l.len] == '\0', end);
				FZ_CHECK(memchr(l.buf, '\r', l.len) == NULL && memchr(l.buf, '\n', l.len) == NULL, end);
				FZ_CHECK(memchr(l.buf, '\0', l.len) == NULL, end);
				r->ev[r->n].hash = fz_hash(l.buf, l.len);
				if (check)
					fz_check_cmd(l.buf, l.len, pflags);
			}
			r->n++;
			start = end;
		}
		pos += c;
	}
}

static void
fz_lines_same(const struct fz_line_run *a, const struct fz_line_run *b)
{
	size_t i;

	FZ_CHECK(a->n == b->n, a->n);
	for (i = 0; i < a->n; i++)
		FZ_CHECK(a->ev[i].st == b->ev[i].st && a->ev[i].end == b->ev[i].end &&
			 a->ev[i].hash == b->ev[i].hash, i);
}

/* ------------------------------------------------------------ DATA scanner */

struct fz_data_ev {
	enum smtp_data_status st;
	uint64_t pos, off;
};

struct fz_data_run {
	struct fz_data_ev ev[FZ_MAX_EVENTS];
	size_t n;
	char *out;
	size_t out_len, out_cap;
	bool ended;
	uint64_t end, raw, outb, lines, bare_lf, bare_cr, first;
	unsigned flags;
	size_t longest;
};

static void
fz_sink(void *arg, const char *p, size_t n)
{
	struct fz_data_run *r = arg;

	FZ_CHECK(n > 0 && r->out_len + n <= r->out_cap, r->out_len);
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
}

/* One report of the scanner, checked against the stream. */
static void
fz_data_event(const char *in, size_t n, struct fz_data_run *r, enum smtp_data_status st,
	      uint64_t pos, const struct smtp_data_scanner *s)
{
	FZ_CHECK(r->n < FZ_MAX_EVENTS, pos);
	r->ev[r->n].st = st;
	r->ev[r->n].pos = pos;
	r->ev[r->n].off = st == SMTP_DATA_END ? 0 : s->event_off;
	r->n++;
	if (st == SMTP_DATA_END) {
		FZ_CHECK(pos >= 3 && memcmp(in + pos - 3, ".\r\n", 3) == 0, pos);
		FZ_CHECK(pos == 3 || (pos >= 5 && in[pos - 5] == '\r' && in[pos - 4] == '\n'), pos);
	} else if (st == SMTP_DATA_BARE_LF) {
		FZ_CHECK(pos < n && in[pos] == '\n' && s->event_off == pos, pos);
		FZ_CHECK(pos == 0 || in[pos - 1] != '\r', pos);
	} else {
		FZ_CHECK(pos < n && s->event_off + 1 == pos && in[pos - 1] == '\r' && in[pos] != '\n', pos);
	}
}

static void
fz_data(const char *in, size_t n, size_t max_line, struct fz_plan *plan, struct fz_data_run *r)
{
	struct smtp_data_scanner s;
	size_t pos = 0, c, off, used;
	enum smtp_data_status st;

	r->n = 0;
	r->out_len = 0;
	r->ended = false;
	r->end = 0;
	smtp_data_init(&s, max_line, fz_sink, r);
	while (pos < n && !r->ended) {
		c = fz_chunk(plan, n - pos);
		for (off = 0; off < c;) {
			uint64_t out0 = s.out_bytes;

			st = smtp_data_feed(&s, in + pos + off, c - off, &used);
			FZ_CHECK(used <= c - off && s.raw_bytes == pos + off + used, pos + off);
			/* one held CR may come out with the next chunk */
			FZ_CHECK(s.out_bytes - out0 <= used + 1 && s.out_bytes <= s.raw_bytes, pos + off);
			off += used;
			if (st == SMTP_DATA_MORE) {
				FZ_CHECK(off == c, pos + off);
				break;
			}
			fz_data_event(in, n, r, st, pos + off, &s);
			if (st == SMTP_DATA_END) {
				r->ended = true;
				r->end = pos + off;
				break;
			}
		}
		pos += c;
	}
	FZ_CHECK(s.out_bytes == r->out_len && s.out_bytes <= s.raw_bytes, s.raw_bytes);
	r->raw = s.raw_bytes;
	r->outb = s.out_bytes;
	r->lines = s.lines;
	r->bare_lf = s.bare_lf;
	r->bare_cr = s.bare_cr;
	r->first = s.first_bare_off;
	r->flags = s.flags;
	r->longest = s.longest;
}

/* Without bare CR/LF: END at the first CRLF.CRLF, output = lines minus one leading dot. */
static void
fz_data_reference(const char *in, size_t n, const struct fz_data_run *w)
{
	size_t i = 0, e, end = n, o = 0;
	bool ended = false;

	if (w->bare_lf || w->bare_cr || (!w->ended && n > 0 && in[n - 1] == '\r'))
		return;
	if (n >= 3 && memcmp(in, ".\r\n", 3) == 0) {
		FZ_CHECK(w->ended && w->end == 3 && w->out_len == 0, 3);
		return;
	}
	for (e = 0; e + 5 <= n && !ended; e++)
		if (memcmp(in + e, "\r\n.\r\n", 5) == 0) {
			ended = true;
			FZ_CHECK(w->ended && w->end == e + 5, e);
			end = e + 2;
		}
	FZ_CHECK(ended == w->ended, n);
	while (i < end) {
		size_t ls = i;

		while (i < end && !(i + 1 < n && in[i] == '\r' && in[i + 1] == '\n'))
			i++;
		if (i < end)
			i += 2;
		if (in[ls] == '.')
			ls++;
		FZ_CHECK(o + (i - ls) <= w->out_len && memcmp(w->out + o, in + ls, i - ls) == 0, ls);
		o += i - ls;
	}
	FZ_CHECK(o == w->out_len, o);
}

static void
fz_data_same(const struct fz_data_run *a, const struct fz_data_run *b)
{
	size_t i;

	FZ_CHECK(a->n == b->n && a->ended == b->ended && a->end == b->end, a->n);
	for (i = 0; i < a->n; i++)
		FZ_CHECK(a->ev[i].st == b->ev[i].st && a->ev[i].pos == b->ev[i].pos &&
			 a->ev[i].off == b->ev[i].off, i);
	FZ_CHECK(a->out_len == b->out_len && memcmp(a->out, b->out, a->out_len) == 0, a->out_len);
	FZ_CHECK(a->raw == b->raw && a->outb == b->outb && a->lines == b->lines, a->raw);
	FZ_CHECK(a->bare_lf == b->bare_lf && a->bare_cr == b->bare_cr && a->first == b->first, 0);
	FZ_CHECK(a->flags == b->flags && a->longest == b->longest, a->longest);
}

/* ---------------------------------------------------------------- replies */

struct fz_reply_ev {
	enum smtp_reply_status st;
	size_t end;
	unsigned code, n_lines, ehlo, enh[3];
	enum smtp_err err;
	bool has_enh;
	uint64_t size;
	uint32_t text;
};

struct fz_reply_run {
	struct fz_reply_ev ev[FZ_MAX_EVENTS];
	size_t n;
};

static void
fz_reply_event(const char *in, const struct smtp_reply *r, enum smtp_reply_status st, size_t end,
	       struct fz_reply_ev *e)
{
	memset(e, 0, sizeof(*e));
	e->st = st;
	e->end = end;
	e->code = r->code;
	e->n_lines = r->n_lines;
	e->ehlo = r->ehlo;
	memcpy(e->enh, r->enh, sizeof(e->enh));
	e->err = r->err;
	e->has_enh = r->has_enhanced;
	e->size = r->ehlo_size;
	FZ_CHECK(r->text_len < sizeof(r->text) && r->text[r->text_len] == '\0', end);
	e->text = fz_hash(r->text, r->text_len);
	FZ_CHECK(end >= 1 && in[end - 1] == '\n', end);
	if (st == SMTP_REPLY_DONE) {
		FZ_CHECK(r->err == SMTP_OK && r->code >= 200 && r->code <= 559, end);
		FZ_CHECK(r->n_lines >= 1 && r->n_lines <= r->max_lines, end);
		FZ_CHECK(end >= 5 && in[end - 2] == '\r', end);
		FZ_CHECK(!r->has_enhanced || r->enh[0] == r->code / 100, end);
	} else {
		FZ_CHECK(r->err >= SMTP_ERR_REPLY_CODE && r->err < SMTP_ERR_COUNT, end);
	}
}

static void
fz_replies(const char *in, size_t n, unsigned max_lines, bool ehlo, struct fz_plan *plan,
	   struct fz_reply_run *rr)
{
	static struct smtp_reply r;
	size_t pos = 0, c, off, used;

	rr->n = 0;
	FZ_CHECK(smtp_reply_init(&r, 0, max_lines, ehlo) == 0, 0);
	while (pos < n) {
		c = fz_chunk(plan, n - pos);
		for (off = 0; off < c;) {
			enum smtp_reply_status st = smtp_reply_feed(&r, in + pos + off, c - off, &used);

			FZ_CHECK(used <= c - off, pos + off);
			off += used;
			if (st == SMTP_REPLY_MORE) {
				FZ_CHECK(off == c, pos + off);
				break;
			}
			FZ_CHECK(rr->n < FZ_MAX_EVENTS, pos + off);
			fz_reply_event(in, &r, st, pos + off, &rr->ev[rr->n++]);
		}
		pos += c;
	}
}

/* ------------------------------------------------------------------ main */

static const size_t fz_line_max[4] = { 512, 64, SMTP_CMD_LINE_MAX, 3 };
static const unsigned fz_reply_lines[4] = { 64, 1, 3, 1000 };
static const size_t fz_text_max[4] = { 1000, 1, 80, 4096 };

static struct fz_line_run fz_lw, fz_lc;
static struct fz_data_run fz_dw, fz_dc;
static struct fz_reply_run fz_rw, fz_rc;
static char fz_out_w[FZ_MAX_INPUT], fz_out_c[FZ_MAX_INPUT];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 2;
	size_t n, k;
	uint8_t seed, cfg;
	struct fz_plan plan;

	if (size < 2 || size > FZ_MAX_INPUT)
		return 0;
	seed = data[0];
	cfg = data[1];
	n = size - 2;
	fz_dw.out = fz_out_w;
	fz_dc.out = fz_out_c;
	fz_dw.out_cap = fz_dc.out_cap = n;

	plan = fz_plan_make(0, seed);
	fz_lines(in, n, fz_line_max[cfg & 3], &plan, &fz_lw, true, cfg >> 7);
	plan = fz_plan_make(0, seed);
	fz_data(in, n, fz_text_max[(cfg >> 5) & 3], &plan, &fz_dw);
	fz_data_reference(in, n, &fz_dw);
	plan = fz_plan_make(0, seed);
	fz_replies(in, n, fz_reply_lines[(cfg >> 3) & 3], cfg & 4, &plan, &fz_rw);

	for (k = 1; k <= 2; k++) {
		plan = fz_plan_make((int)k, seed);
		fz_lines(in, n, fz_line_max[cfg & 3], &plan, &fz_lc, false, 0);
		fz_lines_same(&fz_lw, &fz_lc);
		plan = fz_plan_make((int)k, seed);
		fz_data(in, n, fz_text_max[(cfg >> 5) & 3], &plan, &fz_dc);
		fz_data_same(&fz_dw, &fz_dc);
		plan = fz_plan_make((int)k, seed);
		fz_replies(in, n, fz_reply_lines[(cfg >> 3) & 3], cfg & 4, &plan, &fz_rc);
		FZ_CHECK(fz_rc.n == fz_rw.n &&
			 memcmp(fz_rc.ev, fz_rw.ev, fz_rw.n * sizeof(fz_rw.ev[0])) == 0, k);
	}
	/* the whole stream as one command line, too */
	fz_check_cmd(in, n, cfg >> 7);
	return 0;
}
