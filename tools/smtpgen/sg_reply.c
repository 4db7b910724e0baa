/*
 * sg_reply.c — SMTP reply assembly for the client (sg_reply.h). client.c
 * feeds every octet it reads in command mode through sg_reply_feed().
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/smtpgen/sg_reply.h"
#include "tools/smtpgen/sg_util.h"

void sg_reply_init(struct sg_reply *r)
{
	r->code = 0;
	r->lines = 0;
	r->ext = 0;
	r->size_limit = 0;
	r->len = 0;
	r->text[0] = '\0';
}

/* Append n octets of s to r->text, unprintable ones as '?'. */
static void sg_reply_settext(struct sg_reply *r, const char *s, size_t n)
{
	size_t i, k = strlen(r->text);

	for (i = 0; i < n && k + 1 < sizeof(r->text); i++)
		r->text[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	r->text[k] = '\0';
}

/* EHLO keywords of one line's text (after "250-" / "250 "). */
static void sg_reply_keyword(struct sg_reply *r, const char *t, size_t n)
{
	if (sg_prefix_ci(t, n, "PIPELINING") && (n == 10 || t[10] == ' '))
		r->ext |= SG_EXT_PIPELINING;
	else if (sg_prefix_ci(t, n, "STARTTLS") && (n == 8 || t[8] == ' '))
		r->ext |= SG_EXT_STARTTLS;
	else if (sg_prefix_ci(t, n, "8BITMIME") && (n == 8 || t[8] == ' '))
		r->ext |= SG_EXT_8BITMIME;
	else if (sg_prefix_ci(t, n, "SIZE") && (n == 4 || t[4] == ' ')) {
		r->ext |= SG_EXT_SIZE;
		r->size_limit = n > 5 ? strtoull(t + 5, NULL, 10) : 0;
	}
}

/* One complete line (without its line end) of n octets. */
static enum sg_reply_status sg_reply_line(struct sg_reply *r, const char *l, size_t n)
{
	int code;

	if (n < 3 || !isdigit((unsigned char)l[0]) || !isdigit((unsigned char)l[1]) ||
	    !isdigit((unsigned char)l[2]) || l[0] < '2' || l[0] > '5' || (n > 3 && l[3] != ' ' && l[3] != '-')) {
		snprintf(r->text, sizeof(r->text), "malformed reply line: ");
		sg_reply_settext(r, l, n < 60 ? n : 60);
		return SG_REPLY_BAD;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (r->lines == 0) {
		r->code = code;
		r->text[0] = '\0';
		sg_reply_settext(r, l, n);
	} else if (code != r->code) {
		snprintf(r->text, sizeof(r->text), "multi-line reply changes its code (%d, then %d)", r->code, code);
		return SG_REPLY_BAD;
	} else {
		sg_reply_keyword(r, l + 4, n > 4 ? n - 4 : 0);
	}
	if (++r->lines > SG_REPLY_LINES_MAX) {
		snprintf(r->text, sizeof(r->text), "reply of more than %d lines", SG_REPLY_LINES_MAX);
		return SG_REPLY_BAD;
	}
	return (n > 3 && l[3] == '-') ? SG_REPLY_MORE : SG_REPLY_DONE;
}

enum sg_reply_status sg_reply_feed(struct sg_reply *r, const char *p, size_t n, size_t *used)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(p + i, '\n', n - i);
		size_t take = nl ? (size_t)(nl - (p + i)) + 1 : n - i;
		enum sg_reply_status st;
		size_t ll;

		if (r->len + take > sizeof(r->line)) {
			*used = i;
			snprintf(r->text, sizeof(r->text), "reply line longer than %d octets", SG_REPLY_LINE_MAX);
			return SG_REPLY_BAD;
		}
		memcpy(r->line + r->len, p + i, take);
		r->len += take;
		i += take;
		if (!nl)
			break;
		ll = r->len - 1;
		if (ll > 0 && r->line[ll - 1] == '\r')
			ll--;
		st = sg_reply_line(r, r->line, ll);
		r->len = 0;
		if (st != SG_REPLY_MORE) {
			*used = i;
			return st;
		}
	}
	*used = i;
	return SG_REPLY_MORE;
}
