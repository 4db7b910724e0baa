/*
 * smtp_parse.c — the pure SMTP parser (see smtp_parse.h): line assembly,
 * commands, paths and ESMTP parameters, the DATA scanner and the reply
 * parser. Called by the SMTP server (app/smtp/smtp_server.c) on each readable
 * chunk of a session's stream, and by the SMTP client for next-hop replies.
 * No I/O, no allocation, no locale: every character class is spelled out.
 */
#include <errno.h>
#include <string.h>

#include "app/smtp/smtp_parse.h"

/* ------------------------------------------------------------ error table */

struct smtp_err_def {
	unsigned code;
	const char *enhanced;
	const char *text;
};

static const struct smtp_err_def smtp_err_defs[SMTP_ERR_COUNT] = {
	[SMTP_OK]                       = { 0, "", "ok" },
	[SMTP_ERR_UNKNOWN_VERB]         = { 500, "5.5.2", "command not recognized" },
	[SMTP_ERR_SYNTAX]               = { 501, "5.5.4", "syntax error in arguments" },
	[SMTP_ERR_ARG_REQUIRED]         = { 501, "5.5.4", "argument required" },
	[SMTP_ERR_NO_ARG_ALLOWED]       = { 501, "5.5.4", "no arguments allowed" },
	[SMTP_ERR_DOMAIN_SYNTAX]        = { 501, "5.5.4", "invalid domain name or address literal" },
	[SMTP_ERR_PATH_SYNTAX]          = { 501, "5.1.3", "bad address syntax" },
	[SMTP_ERR_LOCAL_TOO_LONG]       = { 501, "5.1.3", "local part too long" },
	[SMTP_ERR_DOMAIN_TOO_LONG]      = { 501, "5.1.3", "domain too long" },
	[SMTP_ERR_PATH_TOO_LONG]        = { 501, "5.1.3", "path too long" },
	[SMTP_ERR_NULL_RCPT]            = { 501, "5.1.3", "null recipient not allowed" },
	[SMTP_ERR_BAD_PARAM]            = { 501, "5.5.4", "malformed or duplicate parameter" },
	[SMTP_ERR_BAD_SIZE]             = { 501, "5.5.4", "invalid SIZE value" },
	[SMTP_ERR_BAD_BODY]             = { 501, "5.5.4", "invalid BODY value" },
	[SMTP_ERR_UNKNOWN_PARAM]        = { 555, "5.5.4", "parameter not recognized" },
	[SMTP_ERR_8BIT_WITHOUT_SMTPUTF8] = { 553, "5.6.7", "non-ASCII address without SMTPUTF8" },
	[SMTP_ERR_BAD_UTF8]             = { 553, "5.6.7", "malformed UTF-8" },
	[SMTP_ERR_LINE_TOO_LONG]        = { 500, "5.5.2", "line too long" },
	[SMTP_ERR_BARE_LF]              = { 500, "5.5.2", "bare <LF> received, <CRLF> required" },
	[SMTP_ERR_BARE_CR]              = { 500, "5.5.2", "bare <CR> received, <CRLF> required" },
	[SMTP_ERR_NUL]                  = { 500, "5.5.2", "NUL octet in command" },
	[SMTP_ERR_DATA_BARE_LF]         = { 550, "5.6.11", "bare <LF> in message data, <CRLF> required" },
	[SMTP_ERR_DATA_BARE_CR]         = { 550, "5.6.11", "bare <CR> in message data, <CRLF> required" },
	[SMTP_ERR_DATA_LINE_TOO_LONG]   = { 500, "5.5.2", "message line too long" },
	[SMTP_ERR_REPLY_CODE]           = { 0, "", "reply without a valid code" },
	[SMTP_ERR_REPLY_INCONSISTENT]   = { 0, "", "reply codes differ across lines" },
	[SMTP_ERR_REPLY_TOO_MANY_LINES] = { 0, "", "reply has too many lines" },
	[SMTP_ERR_REPLY_LINE_TOO_LONG]  = { 0, "", "reply line too long" },
	[SMTP_ERR_REPLY_BAD_EOL]        = { 0, "", "reply line without <CRLF> (bare LF/CR or NUL)" },
};

static const struct smtp_err_def *
smtp_err_def(enum smtp_err e)
{
	if ((unsigned)e >= SMTP_ERR_COUNT)
		return &smtp_err_defs[SMTP_ERR_SYNTAX];
	return &smtp_err_defs[e];
}

const char *
smtp_err_text(enum smtp_err e)
{
	return smtp_err_def(e)->text;
}

unsigned
smtp_err_code(enum smtp_err e)
{
	return smtp_err_def(e)->code;
}

const char *
smtp_err_enhanced(enum smtp_err e)
{
	return smtp_err_def(e)->enhanced;
}

/* -------------------------------------------------------- character sets */

static bool
smtp_is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
smtp_is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool
smtp_is_alnum(unsigned char c)
{
	return smtp_is_alpha(c) || smtp_is_digit(c);
}

static bool
smtp_is_xdigit(unsigned char c)
{
	return smtp_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static unsigned char
smtp_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* RFC 5322 atext, ASCII part. */
static bool
smtp_is_atext(unsigned char c)
{
	return smtp_is_alnum(c) || (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* s[0..n) equals the NUL-terminated ASCII word w, ignoring case. */
static bool
smtp_ci_eq(const char *s, size_t n, const char *w)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i] == '\0' || smtp_lower((unsigned char)s[i]) != smtp_lower((unsigned char)w[i]))
			return false;
	return w[n] == '\0';
}

/* s[0..n) starts with the ASCII word w, ignoring case. */
static bool
smtp_ci_prefix(const char *s, size_t n, const char *w)
{
	size_t k = strlen(w);

	return n >= k && smtp_ci_eq(s, k, w);
}

/* ------------------------------------------------------------------ UTF-8 */

/* What a path/argument scan saw besides its syntax. */
struct smtp_pctx {
	bool utf8;              /* non-ASCII octets */
	bool bad_utf8;          /* ... not well-formed UTF-8 (RFC 3629) */
};

/*
 * Length of the UTF-8 sequence at s (s[0] >= 0x80): 2..4 when well-formed,
 * else 1 with c->bad_utf8 set. Overlongs, surrogates and > U+10FFFF are bad.
 */
static size_t
smtp_u8_len(const char *s, size_t n, struct smtp_pctx *c)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, k;

	c->utf8 = true;
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		need = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		need = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		need = 4;
	else
		goto bad;
	if (u[0] == 0xe0)
		lo = 0xa0;
	else if (u[0] == 0xed)
		hi = 0x9f;
	else if (u[0] == 0xf0)
		lo = 0x90;
	else if (u[0] == 0xf4)
		hi = 0x8f;
	if (n < need || u[1] < lo || u[1] > hi)
		goto bad;
	for (k = 2; k < need; k++)
		if (u[k] < 0x80 || u[k] > 0xbf)
			goto bad;
	return need;
bad:
	c->bad_utf8 = true;
	return 1;
}

/* ----------------------------------------------------------- line assembly */

int
smtp_line_init(struct smtp_line *l, size_t max)
{
	if (max == 0)
		max = SMTP_CMD_LINE_DEFAULT;
	if (max < 3 || max > SMTP_CMD_LINE_MAX)
		return -EINVAL;
	l->max = max;
	l->len = 0;
	l->total = 0;
	l->flags = 0;
	l->cr = false;
	l->done = false;
	l->buf[0] = '\0';
	return 0;
}

static void
smtp_line_put(struct smtp_line *l, char ch)
{
	l->total++;
	if (l->len < l->max - 2)
		l->buf[l->len++] = ch;
	else
		l->flags |= SMTP_LINE_F_TOO_LONG;
}

static enum smtp_line_status
smtp_line_end(struct smtp_line *l)
{
	l->done = true;
	l->buf[l->len] = '\0';
	if (l->flags & SMTP_LINE_F_BARE_LF)
		return SMTP_LINE_BARE_LF;
	if (l->flags & SMTP_LINE_F_BARE_CR)
		return SMTP_LINE_BARE_CR;
	if (l->flags & SMTP_LINE_F_NUL)
		return SMTP_LINE_NUL;
	if (l->flags & SMTP_LINE_F_TOO_LONG)
		return SMTP_LINE_TOO_LONG;
	return SMTP_LINE_OK;
}

enum smtp_line_status
smtp_line_feed(struct smtp_line *l, const char *in, size_t len, size_t *consumed)
{
	size_t i;

	if (l->done) {
		l->done = false;
		l->len = 0;
		l->total = 0;
		l->flags = 0;
		l->buf[0] = '\0';
	}
	for (i = 0; i < len; i++) {
		char ch = in[i];

		if (l->cr) {
			l->cr = false;
			if (ch == '\n') {
				*consumed = i + 1;
				return smtp_line_end(l);
			}
			l->flags |= SMTP_LINE_F_BARE_CR;
			smtp_line_put(l, '\r');
		}
		if (ch == '\r') {
			l->cr = true;
		} else if (ch == '\n') {
			l->flags |= SMTP_LINE_F_BARE_LF;
			*consumed = i + 1;
			return smtp_line_end(l);
		} else {
			if (ch == '\0')
				l->flags |= SMTP_LINE_F_NUL;
			smtp_line_put(l, ch);
		}
	}
	*consumed = len;
	return SMTP_LINE_MORE;
}

enum smtp_err
smtp_line_err(enum smtp_line_status st)
{
	switch (st) {
	case SMTP_LINE_TOO_LONG:
		return SMTP_ERR_LINE_TOO_LONG;
	case SMTP_LINE_BARE_LF:
		return SMTP_ERR_BARE_LF;
	case SMTP_LINE_BARE_CR:
		return SMTP_ERR_BARE_CR;
	case SMTP_LINE_NUL:
		return SMTP_ERR_NUL;
	default:
		return SMTP_OK;
	}
}

/* -------------------------------------------------- domains and literals */

/*
 * Domain = sub-domain *("." sub-domain), sub-domain = Let-dig [Ldh-str]
 * (RFC 5321 §4.1.2), U-labels (any UTF-8) allowed as letters (RFC 6531).
 * Returns the octets of the longest well-formed domain at s, 0 when a label
 * is empty, starts or ends with '-', or an ASCII label exceeds 63 octets.
 */
static size_t
smtp_scan_domain(const char *s, size_t n, struct smtp_pctx *c)
{
	size_t i = 0, label;
	bool ascii;

	for (;;) {
		label = i;
		ascii = true;
		while (i < n) {
			unsigned char ch = (unsigned char)s[i];

			if (smtp_is_alnum(ch) || ch == '-') {
				i++;
			} else if (ch >= 0x80) {
				ascii = false;
				i += smtp_u8_len(s + i, n - i, c);
			} else {
				break;
			}
		}
		if (i == label || s[label] == '-' || s[i - 1] == '-')
			return 0;
		if (ascii && i - label > 63)
			return 0;
		if (i < n && s[i] == '.') {
			i++;
			continue;
		}
		return i;
	}
}

/* Snum 3("." Snum), each 1-3 digits of 0..255: exactly s[0..n). */
static bool
smtp_ipv4_ok(const char *s, size_t n)
{
	size_t i = 0, d;
	unsigned part, v;

	for (part = 0; part < 4; part++) {
		for (v = 0, d = 0; i < n && d < 3 && smtp_is_digit((unsigned char)s[i]); i++, d++)
			v = v * 10 + (unsigned)(s[i] - '0');
		if (d == 0 || v > 255)
			return false;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return false;
			i++;
		}
	}
	return i == n;
}

/*
 * IPv6-addr of RFC 5321 §4.1.3, exactly s[0..n): full (8 groups), comp
 * ("::" and at most 6 groups), and both with an IPv4 tail (6 groups, or
 * "::" and at most 4). The tail counts as two groups.
 */
static bool
smtp_ipv6_ok(const char *s, size_t n)
{
	size_t i = 0, j;
	unsigned groups = 0;
	bool dbl = false;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		dbl = true;
		i = 2;
		if (i == n)
			return true;
	}
	for (;;) {
		for (j = i; j < n && j - i < 5 && smtp_is_xdigit((unsigned char)s[j]); j++)
			;
		if (j < n && s[j] == '.')
			return smtp_ipv4_ok(s + i, n - i) && (dbl ? groups + 2 <= 6 : groups + 2 == 8);
		if (j == i || j - i > 4)
			return false;
		groups++;
		i = j;
		if (i == n)
			return dbl ? groups <= 6 : groups == 8;
		if (s[i] != ':' || ++i == n)
			return false;
		if (s[i] == ':') {
			if (dbl)
				return false;
			dbl = true;
			if (++i == n)
				return groups <= 6;
		}
	}
}

/*
 * address-literal at s ('['): "[" IPv4 / "IPv6:" IPv6 "]". General literals
 * (Standardized-tag ":" dcontent) are refused: no tag but IPv6 is registered.
 * Returns the octets including the brackets, 0 when malformed.
 */
static size_t
smtp_scan_literal(const char *s, size_t n)
{
	size_t end;

	if (n < 2 || s[0] != '[')
		return 0;
	for (end = 1; end < n && s[end] != ']'; end++)
		if (s[end] == '[' || s[end] == '\\')
			return 0;
	if (end == n)
		return 0;
	if (smtp_ci_prefix(s + 1, end - 1, "IPv6:"))
		return smtp_ipv6_ok(s + 6, end - 6) ? end + 1 : 0;
	return smtp_ipv4_ok(s + 1, end - 1) ? end + 1 : 0;
}

/* ----------------------------------------------------------------- paths */

/* Dot-string = Atom *("." Atom); returns its octets, 0 when malformed. */
static size_t
smtp_scan_dot_string(const char *s, size_t n, struct smtp_pctx *c)
{
	size_t i = 0, atom;

	for (;;) {
		atom = i;
		while (i < n) {
			unsigned char ch = (unsigned char)s[i];

			if (ch >= 0x80)
				i += smtp_u8_len(s + i, n - i, c);
			else if (smtp_is_atext(ch))
				i++;
			else
				break;
		}
		if (i == atom)
			return 0;
		if (i < n && s[i] == '.') {
			i++;
			continue;
		}
		return i;
	}
}

/* Quoted-string at s ('"'), qtextSMTP / quoted-pairSMTP; octets incl. quotes, 0 when malformed. */
static size_t
smtp_scan_quoted(const char *s, size_t n, struct smtp_pctx *c)
{
	size_t i = 1;

	while (i < n) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"')
			return i + 1;
		if (ch == '\\') {
			if (i + 1 >= n || s[i + 1] < 32 || s[i + 1] > 126)
				return 0;
			i += 2;
		} else if (ch >= 0x80) {
			i += smtp_u8_len(s + i, n - i, c);
		} else if (ch < 32 || ch > 126) {
			return 0;
		} else {
			i++;
		}
	}
	return 0;
}

/* A-d-l ":" at s ('@'): At-domain *("," At-domain) ":"; octets, 0 when malformed. */
static size_t
smtp_scan_route(const char *s, size_t n, struct smtp_pctx *c)
{
	size_t i = 0, d;

	for (;;) {
		if (i >= n || s[i] != '@')
			return 0;
		i++;
		d = smtp_scan_domain(s + i, n - i, c);
		if (d == 0)
			return 0;
		i += d;
		if (i < n && s[i] == ',') {
			i++;
			continue;
		}
		return (i < n && s[i] == ':') ? i + 1 : 0;
	}
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) at s; octets, 0 when malformed. */
static size_t
smtp_scan_mailbox(const char *s, size_t n, struct smtp_path *p, struct smtp_pctx *c)
{
	size_t l, d;

	if (n == 0)
		return 0;
	p->quoted = s[0] == '"';
	l = p->quoted ? smtp_scan_quoted(s, n, c) : smtp_scan_dot_string(s, n, c);
	if (l == 0 || l >= n || s[l] != '@')
		return 0;
	if (l + 1 < n && s[l + 1] == '[') {
		d = smtp_scan_literal(s + l + 1, n - l - 1);
		p->addr_literal = true;
	} else {
		d = smtp_scan_domain(s + l + 1, n - l - 1, c);
	}
	if (d == 0)
		return 0;
	p->local = s;
	p->local_len = l;
	p->domain = s + l + 1;
	p->domain_len = d;
	p->addr = s;
	p->addr_len = l + 1 + d;
	return p->addr_len;
}

/* "<Postmaster>" (any case) at s; RCPT only. */
static bool
smtp_is_postmaster(const char *s, size_t n, struct smtp_path *p)
{
	if (!smtp_ci_prefix(s, n, "<Postmaster>"))
		return false;
	p->postmaster = true;
	p->addr = p->local = s + 1;
	p->addr_len = p->local_len = 10;
	p->domain = s + 11;
	return true;
}

/*
 * Reverse-path / Forward-path at s ("<" ... ">"), RFC 5321 §4.1.2, with the
 * length limits of §4.5.3.1. *used: its octets.
 */
static enum smtp_err
smtp_parse_path(const char *s, size_t n, bool rcpt, size_t *used, struct smtp_path *p,
		struct smtp_pctx *c)
{
	size_t i = 1, m;

	if (n < 2 || s[0] != '<')
		return SMTP_ERR_PATH_SYNTAX;
	if (s[1] == '>') {
		if (rcpt)
			return SMTP_ERR_NULL_RCPT;
		p->null = true;
		p->addr = p->local = p->domain = s + 1;
		*used = 2;
		return SMTP_OK;
	}
	if (rcpt && smtp_is_postmaster(s, n, p)) {
		*used = 12;
		return SMTP_OK;
	}
	if (s[1] == '@') {
		i = 1 + smtp_scan_route(s + 1, n - 1, c);
		if (i == 1)
			return SMTP_ERR_PATH_SYNTAX;
		p->source_route = true;
	}
	m = smtp_scan_mailbox(s + i, n - i, p, c);
	if (m == 0 || i + m >= n || s[i + m] != '>')
		return SMTP_ERR_PATH_SYNTAX;
	*used = i + m + 1;
	if (p->local_len > SMTP_LOCAL_MAX)
		return SMTP_ERR_LOCAL_TOO_LONG;
	if (p->domain_len > SMTP_DOMAIN_MAX)
		return SMTP_ERR_DOMAIN_TOO_LONG;
	if (*used > SMTP_PATH_MAX)
		return SMTP_ERR_PATH_TOO_LONG;
	return SMTP_OK;
}

/* ------------------------------------------------------- ESMTP parameters */

/* SIZE=1*20DIGIT (RFC 1870); saturates at UINT64_MAX. */
static enum smtp_err
smtp_param_size(struct smtp_cmd *out, const char *v, size_t vn)
{
	uint64_t x = 0;
	size_t i;

	if (out->has_size)
		return SMTP_ERR_BAD_PARAM;
	if (vn == 0 || vn > 20)
		return SMTP_ERR_BAD_SIZE;
	for (i = 0; i < vn; i++) {
		unsigned d;

		if (!smtp_is_digit((unsigned char)v[i]))
			return SMTP_ERR_BAD_SIZE;
		d = (unsigned)(v[i] - '0');
		x = (x > (UINT64_MAX - d) / 10) ? UINT64_MAX : x * 10 + d;
	}
	out->has_size = true;
	out->size = x;
	return SMTP_OK;
}

/* One esmtp-param of MAIL (mail) or RCPT; v is NULL when it has no value. */
static enum smtp_err
smtp_param(struct smtp_cmd *out, bool mail, const char *k, size_t kn, const char *v, size_t vn)
{
	if (mail && smtp_ci_eq(k, kn, "SIZE"))
		return smtp_param_size(out, v, v ? vn : 0);
	if (mail && smtp_ci_eq(k, kn, "BODY")) {
		if (out->body != SMTP_BODY_NONE)
			return SMTP_ERR_BAD_PARAM;
		if (v && smtp_ci_eq(v, vn, "7BIT"))
			out->body = SMTP_BODY_7BIT;
		else if (v && smtp_ci_eq(v, vn, "8BITMIME"))
			out->body = SMTP_BODY_8BITMIME;
		else
			return SMTP_ERR_BAD_BODY;
		return SMTP_OK;
	}
	if (mail && smtp_ci_eq(k, kn, "SMTPUTF8")) {
		if (v || out->smtputf8)
			return SMTP_ERR_BAD_PARAM;
		out->smtputf8 = true;
		return SMTP_OK;
	}
	if (out->n_unknown++ == 0) {
		out->unknown = k;
		out->unknown_len = kn;
	}
	return SMTP_OK;
}

/* esmtp-value = 1*(%d33-60 / %d62-126 / UTF8-non-ascii); its octets at s. */
static size_t
smtp_scan_esmtp_value(const char *s, size_t n, struct smtp_pctx *c)
{
	size_t i = 0;

	while (i < n) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x80)
			i += smtp_u8_len(s + i, n - i, c);
		else if (ch >= 33 && ch <= 126 && ch != '=')
			i++;
		else
			break;
	}
	return i;
}

/* [SP esmtp-param *(SP esmtp-param)] after a path; SP runs tolerated. */
static enum smtp_err
smtp_parse_params(const char *s, size_t n, bool mail, struct smtp_cmd *out, struct smtp_pctx *c)
{
	size_t i = 0, k, v, vn;
	enum smtp_err e;

	if (n > 0 && s[0] != ' ')
		return SMTP_ERR_SYNTAX;
	while (i < n) {
		while (i < n && s[i] == ' ')
			i++;
		for (k = i; i < n && (smtp_is_alnum((unsigned char)s[i]) || (i > k && s[i] == '-')); i++)
			;
		if (i == k)
			return SMTP_ERR_BAD_PARAM;
		v = 0;
		vn = 0;
		if (i < n && s[i] == '=') {
			v = ++i;
			vn = smtp_scan_esmtp_value(s + i, n - i, c);
			if (vn == 0)
				return SMTP_ERR_BAD_PARAM;
			i += vn;
		}
		if (i < n && s[i] != ' ')
			return SMTP_ERR_BAD_PARAM;
		e = smtp_param(out, mail, s + k, (v ? v - 1 : i) - k, v ? s + v : NULL, vn);
		if (e != SMTP_OK)
			return e;
		out->n_params++;
	}
	return SMTP_OK;
}

/* --------------------------------------------------------------- commands */

/* Checks after a clean parse of MAIL/RCPT: UTF-8 permission, then unknown parameters. */
static enum smtp_err
smtp_finish_envelope(struct smtp_cmd *out, const struct smtp_pctx *c, bool utf8_ok)
{
	if (c->utf8 && !utf8_ok)
		return SMTP_ERR_8BIT_WITHOUT_SMTPUTF8;
	if (c->bad_utf8)
		return SMTP_ERR_BAD_UTF8;
	return out->n_unknown ? SMTP_ERR_UNKNOWN_PARAM : SMTP_OK;
}

/* MAIL FROM:Reverse-path [SP Mail-parameters] */
static enum smtp_err
smtp_parse_mail(const char *a, size_t n, unsigned flags, struct smtp_cmd *out)
{
	struct smtp_pctx c = { false, false };
	size_t i = 5, used = 0;
	enum smtp_err e;

	(void)flags;
	if (!smtp_ci_prefix(a, n, "FROM:"))
		return SMTP_ERR_SYNTAX;
	while (i < n && a[i] == ' ')
		i++;
	e = smtp_parse_path(a + i, n - i, false, &used, &out->path, &c);
	if (e != SMTP_OK)
		return e;
	out->path.utf8 = c.utf8;
	i += used;
	e = smtp_parse_params(a + i, n - i, true, out, &c);
	if (e != SMTP_OK)
		return e;
	return smtp_finish_envelope(out, &c, out->smtputf8);
}

/* RCPT TO:( "<Postmaster>" / Forward-path ) [SP Rcpt-parameters] */
static enum smtp_err
smtp_parse_rcpt(const char *a, size_t n, unsigned flags, struct smtp_cmd *out)
{
	struct smtp_pctx c = { false, false };
	size_t i = 3, used = 0;
	enum smtp_err e;

	if (!smtp_ci_prefix(a, n, "TO:"))
		return SMTP_ERR_SYNTAX;
	while (i < n && a[i] == ' ')
		i++;
	e = smtp_parse_path(a + i, n - i, true, &used, &out->path, &c);
	if (e != SMTP_OK)
		return e;
	out->path.utf8 = c.utf8;
	i += used;
	e = smtp_parse_params(a + i, n - i, false, out, &c);
	if (e != SMTP_OK)
		return e;
	return smtp_finish_envelope(out, &c, (flags & SMTP_PARSE_SMTPUTF8) != 0);
}

/* HELO/EHLO ( Domain / address-literal ) */
static enum smtp_err
smtp_parse_helo(const char *a, size_t n, unsigned flags, struct smtp_cmd *out)
{
	struct smtp_pctx c = { false, false };

	(void)flags;
	if (a[0] == '[') {
		if (smtp_scan_literal(a, n) != n)
			return SMTP_ERR_DOMAIN_SYNTAX;
		out->arg_literal = true;
		return SMTP_OK;
	}
	if (smtp_scan_domain(a, n, &c) != n)
		return SMTP_ERR_DOMAIN_SYNTAX;
	out->utf8 = c.utf8;
	if (c.bad_utf8)
		return SMTP_ERR_BAD_UTF8;
	return n > SMTP_DOMAIN_MAX ? SMTP_ERR_DOMAIN_TOO_LONG : SMTP_OK;
}

typedef enum smtp_err (*smtp_cmd_parse_fn)(const char *arg, size_t n, unsigned flags,
					   struct smtp_cmd *out);

/* The command table: verb, flags, argument parser (NULL: raw argument). */
struct smtp_verb_def {
	const char *name;
	enum smtp_verb verb;
	unsigned flags;
	smtp_cmd_parse_fn parse;
};

#define LAST SMTP_VERB_F_LAST
#define NEED SMTP_VERB_F_NEEDS_ARG
#define NONE SMTP_VERB_F_NO_ARG
static const struct smtp_verb_def smtp_verb_defs[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN]  = { "?",        SMTP_VERB_UNKNOWN,  LAST,        NULL },
	[SMTP_VERB_HELO]     = { "HELO",     SMTP_VERB_HELO,     LAST | NEED, smtp_parse_helo },
	[SMTP_VERB_EHLO]     = { "EHLO",     SMTP_VERB_EHLO,     LAST | NEED, smtp_parse_helo },
	[SMTP_VERB_MAIL]     = { "MAIL",     SMTP_VERB_MAIL,     NEED,        smtp_parse_mail },
	[SMTP_VERB_RCPT]     = { "RCPT",     SMTP_VERB_RCPT,     NEED,        smtp_parse_rcpt },
	[SMTP_VERB_DATA]     = { "DATA",     SMTP_VERB_DATA,     LAST | NONE, NULL },
	[SMTP_VERB_RSET]     = { "RSET",     SMTP_VERB_RSET,     NONE,        NULL },
	[SMTP_VERB_NOOP]     = { "NOOP",     SMTP_VERB_NOOP,     LAST,        NULL },
	[SMTP_VERB_QUIT]     = { "QUIT",     SMTP_VERB_QUIT,     LAST | NONE, NULL },
	[SMTP_VERB_VRFY]     = { "VRFY",     SMTP_VERB_VRFY,     LAST | NEED, NULL },
	[SMTP_VERB_HELP]     = { "HELP",     SMTP_VERB_HELP,     LAST,        NULL },
	[SMTP_VERB_STARTTLS] = { "STARTTLS", SMTP_VERB_STARTTLS, LAST | NONE, NULL },
	[SMTP_VERB_AUTH]     = { "AUTH",     SMTP_VERB_AUTH,     LAST | NEED, NULL },
	[SMTP_VERB_BDAT]     = { "BDAT",     SMTP_VERB_BDAT,     NEED,        NULL },
	[SMTP_VERB_EXPN]     = { "EXPN",     SMTP_VERB_EXPN,     LAST | NEED, NULL },
};
#undef LAST
#undef NEED
#undef NONE

const char *
smtp_verb_name(enum smtp_verb v)
{
	return (unsigned)v < SMTP_VERB_COUNT ? smtp_verb_defs[v].name : "?";
}

unsigned
smtp_verb_flags(enum smtp_verb v)
{
	return (unsigned)v < SMTP_VERB_COUNT ? smtp_verb_defs[v].flags : SMTP_VERB_F_LAST;
}

static const struct smtp_verb_def *
smtp_verb_lookup(const char *s, size_t n)
{
	unsigned v;

	for (v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++)
		if (smtp_ci_eq(s, n, smtp_verb_defs[v].name))
			return &smtp_verb_defs[v];
	return NULL;
}

enum smtp_err
smtp_parse_command_ex(const char *line, size_t len, unsigned flags, struct smtp_cmd *out)
{
	const struct smtp_verb_def *def;
	size_t v = 0, i;

	memset(out, 0, sizeof(*out));
	out->arg = "";
	while (len > 0 && line[len - 1] == ' ')
		len--;
	while (v < len && line[v] != ' ')
		v++;
	def = smtp_verb_lookup(line, v);
	if (def == NULL)
		return SMTP_ERR_UNKNOWN_VERB;
	out->verb = def->verb;
	for (i = v; i < len && line[i] == ' '; i++)
		;
	out->arg = line + i;
	out->arg_len = len - i;
	if (out->arg_len == 0)
		return (def->flags & SMTP_VERB_F_NEEDS_ARG) ? SMTP_ERR_ARG_REQUIRED : SMTP_OK;
	if (def->flags & SMTP_VERB_F_NO_ARG)
		return SMTP_ERR_NO_ARG_ALLOWED;
	return def->parse ? def->parse(out->arg, out->arg_len, flags, out) : SMTP_OK;
}

enum smtp_err
smtp_parse_command(const char *line, size_t len, struct smtp_cmd *out)
{
	return smtp_parse_command_ex(line, len, 0, out);
}

/* ----------------------------------------------------------- DATA scanner */

/* Where the scanner stands in the raw (dot-stuffed) stream. */
enum smtp_data_state {
	SMTP_DS_BOL = 0,        /* at the start of a line */
	SMTP_DS_DOT,            /* "." at the start of a line, dropped */
	SMTP_DS_DOT_CR,         /* ".\r" at the start of a line, CR held */
	SMTP_DS_MID,            /* inside a line */
	SMTP_DS_CR,             /* inside a line after a CR (already emitted) */
	SMTP_DS_END,            /* terminator seen */
};

/* What one octet does (smtp_data_step). */
enum smtp_data_act {
	SMTP_DA_EMIT,           /* part of the unstuffed output, verbatim */
	SMTP_DA_EOL,            /* same, and it is the LF of a CRLF */
	SMTP_DA_DROP,           /* consumed, not output */
	SMTP_DA_END,            /* consumed: the terminator's LF */
	SMTP_DA_BARE_LF,        /* stop before this LF */
	SMTP_DA_BARE_CR,        /* stop before this octet: the CR before it was bare */
	SMTP_DA_BARE_HELD_CR,   /* same, and the held CR of ".\r" must be emitted */
};

void
smtp_data_init(struct smtp_data_scanner *s, size_t max_line, smtp_data_emit_fn emit,
	       void *emit_arg)
{
	memset(s, 0, sizeof(*s));
	s->emit = emit;
	s->emit_arg = emit_arg;
	s->max_line = max_line ? max_line : SMTP_TEXT_LINE_DEFAULT;
	s->state = SMTP_DS_BOL;
}

static void
smtp_data_emit(struct smtp_data_scanner *s, const char *p, size_t n)
{
	if (n == 0)
		return;
	s->out_bytes += n;
	if (s->emit)
		s->emit(s->emit_arg, p, n);
}

/* A bare LF at raw offset off: report it once (acc: already reported), then let it through as text. */
static enum smtp_data_act
smtp_data_lf(struct smtp_data_scanner *s, uint64_t off, bool acc)
{
	if (acc) {
		s->state = SMTP_DS_MID;
		return SMTP_DA_EMIT;
	}
	s->lf_reported = true;
	s->flags |= SMTP_DATA_F_BARE_LF;
	if (s->bare_lf++ == 0 && s->bare_cr == 0)
		s->first_bare_off = off;
	s->event_off = off;
	return SMTP_DA_BARE_LF;
}

/* The octet at off followed a CR that was not part of a CRLF. */
static void
smtp_data_bare_cr(struct smtp_data_scanner *s, uint64_t off)
{
	s->flags |= SMTP_DATA_F_BARE_CR;
	if (s->bare_cr++ == 0 && s->bare_lf == 0)
		s->first_bare_off = off - 1;
	s->event_off = off - 1;
	s->state = SMTP_DS_MID;
}

/* A CRLF ended a line of the message (line_len counts its LF). */
static void
smtp_data_eol(struct smtp_data_scanner *s)
{
	s->lines++;
	if (s->line_len > s->max_line)
		s->flags |= SMTP_DATA_F_LONG_LINE;
	if (s->line_len > s->longest)
		s->longest = s->line_len;
	s->line_len = 0;
	s->state = SMTP_DS_BOL;
}

/* One octet ch at raw offset off, in the current state. */
static enum smtp_data_act
smtp_data_step(struct smtp_data_scanner *s, char ch, uint64_t off)
{
	bool acc = s->lf_reported;

	s->lf_reported = false;
	switch (s->state) {
	case SMTP_DS_BOL:
		if (ch == '.') {
			s->state = SMTP_DS_DOT;
			return SMTP_DA_DROP;
		}
		break;
	case SMTP_DS_DOT:
		if (ch == '\r') {
			s->state = SMTP_DS_DOT_CR;
			return SMTP_DA_DROP;
		}
		break;
	case SMTP_DS_DOT_CR:
		if (ch == '\n') {
			s->state = SMTP_DS_END;
			return SMTP_DA_END;
		}
		smtp_data_bare_cr(s, off);
		return SMTP_DA_BARE_HELD_CR;
	case SMTP_DS_CR:
		if (ch == '\n')
			return SMTP_DA_EOL;
		smtp_data_bare_cr(s, off);
		return SMTP_DA_BARE_CR;
	default:
		break;
	}
	/* BOL, DOT (its dot dropped) and MID: an ordinary octet of a line */
	if (ch == '\n')
		return smtp_data_lf(s, off, acc);
	s->state = ch == '\r' ? SMTP_DS_CR : SMTP_DS_MID;
	return SMTP_DA_EMIT;
}

/* Inside a line: skip to the next CR or LF. */
static size_t
smtp_data_span(const char *in, size_t i, size_t len)
{
	while (i < len && in[i] != '\r' && in[i] != '\n')
		i++;
	return i;
}

enum smtp_data_status
smtp_data_feed(struct smtp_data_scanner *s, const char *in, size_t len, size_t *consumed)
{
	enum smtp_data_status st = SMTP_DATA_MORE;
	size_t i = 0, run = 0, j;

	if (s->state == SMTP_DS_END) {
		*consumed = 0;
		return SMTP_DATA_END;
	}
	while (i < len && st == SMTP_DATA_MORE) {
		if (s->state == SMTP_DS_MID && !s->lf_reported) {
			j = smtp_data_span(in, i, len);
			s->line_len += j - i;
			i = j;
			if (i == len)
				break;
		}
		switch (smtp_data_step(s, in[i], s->raw_bytes + i)) {
		case SMTP_DA_EMIT:
			s->line_len++;
			i++;
			break;
		case SMTP_DA_EOL:
			s->line_len++;
			i++;
			smtp_data_eol(s);
			break;
		case SMTP_DA_DROP:
			smtp_data_emit(s, in + run, i - run);
			s->line_len++;
			run = ++i;
			break;
		case SMTP_DA_END:
			smtp_data_emit(s, in + run, i - run);
			run = ++i;
			st = SMTP_DATA_END;
			break;
		case SMTP_DA_BARE_LF:
			st = SMTP_DATA_BARE_LF;
			break;
		case SMTP_DA_BARE_HELD_CR:
			smtp_data_emit(s, in + run, i - run);
			run = i;
			smtp_data_emit(s, "\r", 1);
			st = SMTP_DATA_BARE_CR;
			break;
		case SMTP_DA_BARE_CR:
			st = SMTP_DATA_BARE_CR;
			break;
		}
		if (s->line_len > s->max_line)
			s->flags |= SMTP_DATA_F_LONG_LINE;
	}
	if (s->line_len > s->max_line)
		s->flags |= SMTP_DATA_F_LONG_LINE;
	smtp_data_emit(s, in + run, i - run);
	s->raw_bytes += i;
	*consumed = i;
	return st;
}

/* ---------------------------------------------------------------- replies */

int
smtp_reply_init(struct smtp_reply *r, size_t max_line, unsigned max_lines, bool parse_ehlo)
{
	if (max_line == 0)
		max_line = SMTP_REPLY_LINE_DEFAULT;
	if (smtp_line_init(&r->line, max_line) != 0 || max_line < 5)
		return -EINVAL;
	r->max_lines = max_lines ? max_lines : SMTP_REPLY_LINES_DEFAULT;
	r->parse_ehlo = parse_ehlo;
	r->done = false;
	r->code = 0;
	r->n_lines = 0;
	r->err = SMTP_OK;
	r->has_enhanced = false;
	r->enh[0] = r->enh[1] = r->enh[2] = 0;
	r->text[0] = '\0';
	r->text_len = 0;
	r->ehlo = 0;
	r->ehlo_size = 0;
	return 0;
}

/* 1-3 digits at s[*i]; false when none. */
static bool
smtp_reply_num(const char *s, size_t n, size_t *i, unsigned *v)
{
	size_t d;

	for (*v = 0, d = 0; *i < n && d < 3 && smtp_is_digit((unsigned char)s[*i]); (*i)++, d++)
		*v = *v * 10 + (unsigned)(s[*i] - '0');
	return d > 0;
}

/* Enhanced status code (RFC 3463) at the start of the first line's text t; its class must match the code's. */
static size_t
smtp_reply_enhanced(struct smtp_reply *r, const char *t, size_t n)
{
	size_t i;
	unsigned cls = r->code / 100;

	if (n < 5 || cls == 3 || (unsigned char)t[0] != '0' + cls || t[1] != '.')
		return 0;
	r->enh[0] = cls;
	i = 2;
	if (!smtp_reply_num(t, n, &i, &r->enh[1]) || i >= n || t[i] != '.')
		return 0;
	i++;
	if (!smtp_reply_num(t, n, &i, &r->enh[2]) || (i < n && t[i] != ' '))
		return 0;
	r->has_enhanced = true;
	return i < n ? i + 1 : i;
}

/* EHLO keyword line: ehlo-keyword *(SP ehlo-param). Unknown or malformed lines are ignored. */
static void
smtp_reply_ehlo_line(struct smtp_reply *r, const char *t, size_t n)
{
	static const struct { const char *kw; unsigned flag; } kws[] = {
		{ "PIPELINING", SMTP_EXT_PIPELINING }, { "SIZE", SMTP_EXT_SIZE },
		{ "8BITMIME", SMTP_EXT_8BITMIME }, { "STARTTLS", SMTP_EXT_STARTTLS },
		{ "SMTPUTF8", SMTP_EXT_SMTPUTF8 },
		{ "ENHANCEDSTATUSCODES", SMTP_EXT_ENHANCEDSTATUSCODES },
		{ "CHUNKING", SMTP_EXT_CHUNKING }, { "BINARYMIME", SMTP_EXT_BINARYMIME },
		{ "DSN", SMTP_EXT_DSN }, { "AUTH", SMTP_EXT_AUTH },
		{ "REQUIRETLS", SMTP_EXT_REQUIRETLS },
	};
	size_t k = 0, i, j;
	uint64_t size = 0;

	while (k < n && t[k] != ' ' && t[k] != '=')
		k++;
	for (i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (smtp_ci_eq(t, k, kws[i].kw))
			break;
	if (i == sizeof(kws) / sizeof(kws[0]))
		return;
	r->ehlo |= kws[i].flag;
	if (kws[i].flag != SMTP_EXT_SIZE || k >= n)
		return;
	for (j = k + 1; j < n && smtp_is_digit((unsigned char)t[j]); j++) {
		unsigned d = (unsigned)(t[j] - '0');

		size = (size > (UINT64_MAX - d) / 10) ? UINT64_MAX : size * 10 + d;
	}
	if (j > k + 1 && (j == n || t[j] == ' '))
		r->ehlo_size = size;
}

/* One complete reply line (no CRLF); sets *last on the final line. */
static enum smtp_err
smtp_reply_line(struct smtp_reply *r, const char *s, size_t n, bool *last)
{
	unsigned code;
	size_t t;

	if (n < 3 || s[0] < '2' || s[0] > '5' || s[1] < '0' || s[1] > '5' ||
	    !smtp_is_digit((unsigned char)s[2]) || (n > 3 && s[3] != ' ' && s[3] != '-'))
		return SMTP_ERR_REPLY_CODE;
	code = (unsigned)(s[0] - '0') * 100 + (unsigned)(s[1] - '0') * 10 + (unsigned)(s[2] - '0');
	if (r->n_lines > 0 && code != r->code)
		return SMTP_ERR_REPLY_INCONSISTENT;
	if (++r->n_lines > r->max_lines)
		return SMTP_ERR_REPLY_TOO_MANY_LINES;
	*last = n == 3 || s[3] == ' ';
	t = n > 3 ? 4 : 3;
	if (r->n_lines == 1) {
		r->code = code;
		t += smtp_reply_enhanced(r, s + t, n - t);
		r->text_len = n - t < sizeof(r->text) - 1 ? n - t : sizeof(r->text) - 1;
		memcpy(r->text, s + t, r->text_len);
		r->text[r->text_len] = '\0';
	} else if (r->parse_ehlo) {
		smtp_reply_ehlo_line(r, s + t, n - t);
	}
	return SMTP_OK;
}

enum smtp_reply_status
smtp_reply_feed(struct smtp_reply *r, const char *in, size_t len, size_t *consumed)
{
	size_t pos = 0, used;
	enum smtp_line_status ls;
	bool last = false;

	if (r->done)
		smtp_reply_init(r, r->line.max, r->max_lines, r->parse_ehlo);
	while (pos < len) {
		ls = smtp_line_feed(&r->line, in + pos, len - pos, &used);
		pos += used;
		if (ls == SMTP_LINE_MORE)
			break;
		if (ls == SMTP_LINE_OK)
			r->err = smtp_reply_line(r, r->line.buf, r->line.len, &last);
		else
			r->err = ls == SMTP_LINE_TOO_LONG ? SMTP_ERR_REPLY_LINE_TOO_LONG
							  : SMTP_ERR_REPLY_BAD_EOL;
		if (r->err != SMTP_OK || last) {
			r->done = true;
			*consumed = pos;
			return r->err != SMTP_OK ? SMTP_REPLY_ERROR : SMTP_REPLY_DONE;
		}
	}
	*consumed = pos;
	return SMTP_REPLY_MORE;
}
