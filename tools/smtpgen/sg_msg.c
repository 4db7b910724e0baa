/*
 * sg_msg.c — message generation and verification (see sg_msg.h for the
 * hash definition). The client calls sg_msg_build() once per message after
 * building the pool at start-up; the sink feeds DATA through sg_verify_feed()
 * and asks sg_verify_finish() for the verdict; `smtpgen verify` does the
 * same for stored files.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/smtpgen/sg_msg.h"

/* ----------------------------------------------------------------- pool */

/* Length of the next pool line (without CRLF): mostly text-like widths. */
static uint32_t sg_pool_linelen(struct sg_rng *r)
{
	uint32_t k = sg_rng_below(r, 100);

	if (k < 10)
		return sg_rng_below(r, 8);              /* empty and short lines */
	if (k < 85)
		return 40 + sg_rng_below(r, 39);        /* 40..78 */
	return 79 + sg_rng_below(r, 420);               /* up to 498 */
}

/* One line of printable ASCII into raw (no CRLF); some start with ".". */
static uint32_t sg_pool_line(struct sg_rng *r, char *out)
{
	static const char *const dotted[] = { ".", "..", ". ", "...", ".x" };
	uint32_t len = sg_pool_linelen(r), i = 0;

	if (sg_rng_below(r, 100) < 6) {
		const char *d = dotted[sg_rng_below(r, SG_ARRAY_SIZE(dotted))];

		while (*d)
			out[i++] = *d++;
	}
	for (; i < len; i++) {
		uint32_t c = sg_rng_below(r, 100);

		out[i] = c < 16 ? ' ' : (char)(0x21 + sg_rng_below(r, 0x7e - 0x21 + 1));
	}
	if (i > 0 && out[i - 1] == ' ')
		out[i - 1] = 'z';                       /* no trailing white space */
	if (i == 0 && sg_rng_below(r, 2))
		return 0;
	return i;
}

int sg_pool_init(struct sg_pool *p, size_t bytes, uint64_t seed)
{
	size_t cap = bytes + 1024, lcap = bytes / 8 + 64, r = 0, s = 0;
	struct sg_rng rng;
	char line[512];

	memset(p, 0, sizeof(*p));
	p->raw = malloc(cap);
	p->stuffed = malloc(cap + cap / 2);
	p->roff = malloc(lcap * sizeof(*p->roff));
	p->soff = malloc(lcap * sizeof(*p->soff));
	if (!p->raw || !p->stuffed || !p->roff || !p->soff) {
		sg_pool_free(p);
		return -ENOMEM;
	}
	sg_rng_seed(&rng, seed);
	while (r < bytes && p->nlines + 1 < lcap) {
		uint32_t len = sg_pool_line(&rng, line);

		p->roff[p->nlines] = r;
		p->soff[p->nlines] = s;
		p->nlines++;
		memcpy(p->raw + r, line, len);
		r += len;
		p->raw[r++] = '\r';
		p->raw[r++] = '\n';
		if (len > 0 && line[0] == '.')
			p->stuffed[s++] = '.';
		memcpy(p->stuffed + s, line, len);
		s += len;
		p->stuffed[s++] = '\r';
		p->stuffed[s++] = '\n';
	}
	p->roff[p->nlines] = r;
	p->soff[p->nlines] = s;
	return 0;
}

void sg_pool_free(struct sg_pool *p)
{
	free(p->raw);
	free(p->stuffed);
	free(p->roff);
	free(p->soff);
	memset(p, 0, sizeof(*p));
}

/* The first line index j > i with roff[j] - roff[i] >= need (or nlines). */
static uint32_t sg_pool_end(const struct sg_pool *p, uint32_t i, uint64_t need)
{
	uint32_t lo = i, hi = p->nlines;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (p->roff[mid] - p->roff[i] >= need)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The last start line from which need octets still fit in the pool. */
static uint32_t sg_pool_last_start(const struct sg_pool *p, uint64_t need)
{
	uint32_t lo = 0, hi = p->nlines;

	if (p->roff[p->nlines] < need)
		return 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo + 1) / 2;

		if (p->roff[p->nlines] - p->roff[mid] >= need)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* ------------------------------------------------------------- building */

int sg_msg_build(const struct sg_pool *p, struct sg_rng *rng, const struct sg_msg_spec *spec,
                 char *buf, size_t cap, struct sg_msg *m)
{
	char date[64], uniq[96];
	struct tm tm;
	time_t now = time(NULL);
	wc_Sha256 sha;
	uint8_t dig[WC_SHA256_DIGEST_SIZE];
	uint32_t i = 0, j = 0;
	uint64_t need;
	char *hashpos, *uniqpos;
	int hl, ul;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	ul = snprintf(uniq, sizeof(uniq), "smtpgen %s-%llu %016llx%016llx\r\n", spec->run,
	              (unsigned long long)spec->n, (unsigned long long)sg_rng_next(rng),
	              (unsigned long long)sg_rng_next(rng));
	hl = snprintf(buf, cap,
	              "From: <%s>\r\nTo: <%s>\r\nSubject: smtpgen %s-%llu\r\nDate: %s\r\n"
	              "Message-ID: <%s-%llu@smtpgen.invalid>\r\n"
	              SG_MSG_ID_HDR " %s-%llu\r\n" SG_MSG_HASH_HDR " ",
	              spec->from, spec->to, spec->run, (unsigned long long)spec->n, date,
	              spec->run, (unsigned long long)spec->n, spec->run, (unsigned long long)spec->n);
	if (hl < 0 || ul < 0 || (size_t)hl + 64 + 4 + (size_t)ul + 1 > cap)
		return -ENOSPC;
	hashpos = buf + hl;
	memcpy(hashpos + 64, "\r\n\r\n", 4);
	uniqpos = hashpos + 68;
	memcpy(uniqpos, uniq, (size_t)ul);
	m->head_len = (size_t)(uniqpos - buf) + (size_t)ul;

	need = spec->size > m->head_len ? spec->size - m->head_len : 0;
	if (need > 0 && p->nlines > 0) {
		i = sg_rng_below(rng, sg_pool_last_start(p, need) + 1);
		j = sg_pool_end(p, i, need);
	}
	m->slice = p->stuffed + p->soff[i];
	m->slice_len = p->soff[j] - p->soff[i];
	m->size = m->head_len + (p->roff[j] - p->roff[i]);

	wc_InitSha256(&sha);
	wc_Sha256Update(&sha, (const byte *)uniq, (word32)ul);
	if (j > i)
		wc_Sha256Update(&sha, (const byte *)p->raw + p->roff[i], (word32)(p->roff[j] - p->roff[i]));
	wc_Sha256Final(&sha, dig);
	wc_Sha256Free(&sha);
	sg_hex(dig, sizeof(dig), m->hash);
	memcpy(hashpos, m->hash, 64);
	if (spec->corrupt)
		uniqpos[8] = uniqpos[8] == 'X' ? 'Y' : 'X';     /* a byte of "<run>" */
	return 0;
}

/* ------------------------------------------------------------ verifying */

void sg_verify_init(struct sg_verify *v, bool raw)
{
	memset(v, 0, sizeof(*v));
	v->raw = raw;
	v->bol = true;
	wc_InitSha256(&v->sha);
}

void sg_verify_abort(struct sg_verify *v)
{
	wc_Sha256Free(&v->sha);
}

static int sg_unhex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A complete header line (in v->hline, possibly truncated) has ended. */
static void sg_verify_header(struct sg_verify *v)
{
	size_t n = v->hlen, k, h = 0;
	const char *l = v->hline;

	while (n > 0 && (l[n - 1] == '\n' || l[n - 1] == '\r'))
		n--;
	if (n == 0) {
		v->in_body = true;
		return;
	}
	if (sg_prefix_ci(l, n, SG_MSG_HASH_HDR) && !v->have_hash) {
		k = strlen(SG_MSG_HASH_HDR);
		while (k < n && (l[k] == ' ' || l[k] == '\t'))
			k++;
		for (; k < n && h < 64 && sg_unhex(l[k]) >= 0; k++)
			v->want[h++] = (char)(l[k] | 0x20);
		v->want[h] = '\0';
		while (k < n && (l[k] == ' ' || l[k] == '\t'))
			k++;
		v->have_hash = true;
		v->bad_hash = h != 64 || k != n;
	} else if (sg_prefix_ci(l, n, SG_MSG_ID_HDR) && !v->id[0]) {
		k = strlen(SG_MSG_ID_HDR);
		while (k < n && (l[k] == ' ' || l[k] == '\t'))
			k++;
		for (h = 0; k < n && h < SG_MSG_ID_MAX && l[k] > ' '; k++)
			v->id[h++] = l[k];
		v->id[h] = '\0';
	}
}

/* Content octets (after unstuffing) of at most one line: s ends at or before its LF. */
static void sg_verify_content(struct sg_verify *v, const char *s, size_t len)
{
	bool eol = len > 0 && s[len - 1] == '\n';

	v->size += len;
	if (!v->in_body) {
		size_t room = sizeof(v->hline) - v->hlen, k = len < room ? len : room;

		memcpy(v->hline + v->hlen, s, k);
		v->hlen += k;
		if (eol) {
			if (v->hlen == sizeof(v->hline))
				v->hline[v->hlen - 1] = '\n';   /* truncated: still ends */
			sg_verify_header(v);
			v->hlen = 0;
		}
		return;
	}
	if (!eol) {
		if (len) {
			wc_Sha256Update(&v->sha, (const byte *)s, (word32)len);
			v->prev = s[len - 1];
		}
		return;
	}
	if (len > 1)
		wc_Sha256Update(&v->sha, (const byte *)s, (word32)(len - 1));
	if ((len > 1 ? s[len - 2] : v->prev) == '\r')
		wc_Sha256Update(&v->sha, (const byte *)"\n", 1);
	else
		wc_Sha256Update(&v->sha, (const byte *)"\r\n", 2);
	v->prev = '\n';
}

/* At the start of a DATA line: unstuffing and the end of DATA. Returns true
 * when the octet at *s was taken here (the caller moves on). */
static bool sg_verify_linestart(struct sg_verify *v, char c)
{
	if (v->dot == 0) {
		if (c == '.') {
			v->dot = 1;
			return true;
		}
		v->bol = false;
		return false;
	}
	if (v->dot == 1) {
		if (c == '\r') {
			v->dot = 2;
			return true;
		}
		v->dot = 0;
		if (c == '\n') {                /* ".\n": lenient end of DATA */
			v->done = true;
			return true;
		}
		v->bol = false;                 /* the dot was stuffing: drop it */
		return false;
	}
	v->dot = 0;
	if (c == '\n') {
		v->done = true;
		return true;
	}
	v->bol = false;                         /* ".\r" then more: keep the CR */
	sg_verify_content(v, "\r", 1);
	return false;
}

size_t sg_verify_feed(struct sg_verify *v, const char *p, size_t n)
{
	const char *s = p, *end = p + n;

	while (s < end && !v->done) {
		const char *nl, *stop;

		if (v->bol && !v->raw) {
			if (sg_verify_linestart(v, *s)) {
				s++;
				continue;
			}
		}
		nl = memchr(s, '\n', (size_t)(end - s));
		stop = nl ? nl + 1 : end;
		sg_verify_content(v, s, (size_t)(stop - s));
		v->bol = nl != NULL;
		s = stop;
	}
	return (size_t)(s - p);
}

enum sg_verdict sg_verify_finish(struct sg_verify *v, char got_hex[65])
{
	uint8_t dig[WC_SHA256_DIGEST_SIZE];

	if (!v->in_body && v->hlen > 0) {       /* raw input ending inside a header line */
		sg_verify_header(v);
		v->hlen = 0;
	}
	wc_Sha256Final(&v->sha, dig);
	wc_Sha256Free(&v->sha);
	sg_hex(dig, sizeof(dig), got_hex);
	if (!v->have_hash)
		return SG_NO_HASH;
	if (v->bad_hash || memcmp(v->want, got_hex, 64) != 0)
		return SG_MISMATCH;
	return SG_VERIFIED;
}
