/*
 * received.c — formats the Received: trace field the relay writes to the next
 * hop ahead of the client's message data (app/smtp/relay.c, at the 354). One
 * clause per line, each folded at spaces (RFC 5322 §2.2.3); inputs are cut to
 * the RECEIVED_*_MAX bounds so that RECEIVED_MAX always holds the field.
 */
#include <stdio.h>
#include <string.h>

#include "app/smtp/received.h"

const char *
received_protocol(bool ehlo, bool smtputf8, bool tls)
{
	if (smtputf8)
		return tls ? "UTF8SMTPS" : "UTF8SMTP";
	if (tls)
		return "ESMTPS";
	return ehlo ? "ESMTP" : "SMTP";
}

/* The field being written: bounded, folded by word. */
struct rcv_out {
	char *buf;
	size_t len;                     /* capacity, the terminating NUL included */
	size_t n;                       /* written */
	size_t col;                     /* characters on the current line */
	bool over;                      /* something did not fit */
};

static void
rcv_raw(struct rcv_out *o, const char *s, size_t n)
{
	if (o->over || o->n + n >= o->len) {
		o->over = true;
		return;
	}
	memcpy(o->buf + o->n, s, n);
	o->n += n;
	o->col += n;
}

/* A new line of the field: the continuation starts with a TAB. */
static void
rcv_newline(struct rcv_out *o)
{
	rcv_raw(o, "\r\n\t", 3);
	o->col = 1;
}

/* One word: after a space, or first on a new line when it would pass 78 characters. */
static void
rcv_word(struct rcv_out *o, const char *s, size_t n)
{
	if (o->col > 1) {
		if (o->col + 1 + n > RECEIVED_LINE_PREFERRED)
			rcv_newline(o);
		else
			rcv_raw(o, " ", 1);
	}
	rcv_raw(o, s, n);
}

/* Each space-separated word of s, folding where needed. */
static void
rcv_words(struct rcv_out *o, const char *s)
{
	while (*s != '\0') {
		size_t n = strcspn(s, " ");
		if (n != 0)
			rcv_word(o, s, n);
		s += n;
		s += strspn(s, " ");
	}
}

/*
 * At most max bytes of src into dst (NUL-terminated): letters, digits and
 * ". - _ : [ ]" kept, UTF-8 kept when utf8 (never cut inside a character),
 * every other byte "?". Returns the length.
 */
static size_t
rcv_sanitise(char *dst, const char *src, size_t max, bool utf8)
{
	size_t n = 0;

	for (; src != NULL && src[n] != '\0' && n < max; n++) {
		unsigned char c = (unsigned char)src[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  strchr(".-_:[]", c) != NULL || (utf8 && c >= 0x80);
		dst[n] = ok ? (char)c : '?';
	}
	if (utf8 && src != NULL && src[n] != '\0')     /* cut: not inside a UTF-8 sequence */
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	dst[n] = '\0';
	return n;
}

/* The recipient can go into "for <...>": printable, UTF-8 only in an SMTPUTF8 transaction, not too long. */
static bool
rcv_rcpt_ok(const struct received_info *ri)
{
	if (ri->rcpt == NULL || ri->rcpt_len == 0 || ri->rcpt_len > RECEIVED_RCPT_MAX)
		return false;
	for (size_t i = 0; i < ri->rcpt_len; i++) {
		unsigned char c = (unsigned char)ri->rcpt[i];
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !ri->utf8) || c == '>')
			return false;
	}
	return true;
}

/* The clauses after the first line: TLS, by, for. */
static void
rcv_clauses(struct rcv_out *o, const struct received_info *ri, bool with_for)
{
	char host[RECEIVED_HOST_MAX + 1], id[RECEIVED_ID_MAX + 1], ver[RECEIVED_TLS_MAX + 1];
	char cipher[RECEIVED_TLS_MAX + 1], text[RECEIVED_HOST_MAX + RECEIVED_ID_MAX + 2 * RECEIVED_TLS_MAX + 96];
	int bits = ri->tls_bits < 0 ? 0 : ri->tls_bits > 65535 ? 65535 : ri->tls_bits;

	if (ri->tls_version != NULL) {
		rcv_sanitise(ver, ri->tls_version, RECEIVED_TLS_MAX, false);
		rcv_sanitise(cipher, ri->tls_cipher ? ri->tls_cipher : "?", RECEIVED_TLS_MAX, false);
		snprintf(text, sizeof(text), "(using %s with cipher %s (%d/%d bits))", ver, cipher, bits, bits);
		rcv_newline(o);
		rcv_words(o, text);
	}
	rcv_sanitise(host, ri->hostname, RECEIVED_HOST_MAX, false);
	rcv_sanitise(id, ri->id, RECEIVED_ID_MAX, false);
	snprintf(text, sizeof(text), "by %s (mailgw) with %.16s id %s%s", host, ri->protocol, id,
		 with_for ? "" : ";");
	rcv_newline(o);
	rcv_words(o, text);
	if (with_for) {
		snprintf(text, sizeof(text), "for <%.*s>;", (int)ri->rcpt_len, ri->rcpt);
		rcv_newline(o);
		rcv_word(o, text, strlen(text));        /* one word: an address is never folded */
	}
}

/* The whole field with the HELO cut to helo_max bytes; 0 if it does not fit. */
static size_t
rcv_try(char *buf, size_t len, const struct received_info *ri, bool with_for, size_t helo_max)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct rcv_out o = { .buf = buf, .len = len };
	char helo[RECEIVED_HELO_MAX + 1], from[RECEIVED_HELO_MAX + 40], date[64];
	uint32_t a = ri->client_addr;
	struct tm tm;

	if (rcv_sanitise(helo, ri->helo, helo_max, ri->utf8) == 0)
		snprintf(helo, sizeof(helo), "unknown");
	snprintf(from, sizeof(from), "from %s ([%u.%u.%u.%u])", helo, a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
	rcv_raw(&o, "Received:", 9);
	rcv_words(&o, from);
	rcv_clauses(&o, ri, with_for);
	gmtime_r(&ri->when, &tm);
	snprintf(date, sizeof(date), "%s, %d %s %d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	rcv_newline(&o);
	rcv_raw(&o, date, strlen(date));
	rcv_raw(&o, "\r\n", 2);
	if (o.over)
		return 0;
	buf[o.n] = '\0';
	return o.n;
}

size_t
received_format(char *buf, size_t len, const struct received_info *ri)
{
	bool with_for = rcv_rcpt_ok(ri);
	size_t n, helo_len = ri->helo != NULL ? strnlen(ri->helo, RECEIVED_HELO_MAX) : 0;

	if (buf == NULL || len == 0)
		return 0;
	n = rcv_try(buf, len, ri, with_for, RECEIVED_HELO_MAX);
	if (n == 0 && with_for)                 /* first the "for" clause goes */
		n = rcv_try(buf, len, ri, false, RECEIVED_HELO_MAX);
	if (n != 0)
		return n;
	size_t bare = rcv_try(buf, len, ri, false, 0);     /* then the HELO is cut ("unknown" at worst) */
	if (bare == 0)
		return 0;
	size_t k = len - 1 - bare + 7;          /* room left, plus "unknown" */
	for (k = k < helo_len ? k : helo_len; k > 0; k--)
		if ((n = rcv_try(buf, len, ri, false, k)) != 0)
			return n;
	return rcv_try(buf, len, ri, false, 0);
}
