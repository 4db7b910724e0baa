/*
 * test_received.c — unit tests of app/smtp/received.h: the Received: field
 * mailgw prepends (RFC 5321 §4.4): layout, folding, the "for" clause only
 * with one recipient, protocol keywords, date format; the worst case of
 * every input fits the session's buffer (issue 12, item 7: it did not, and
 * the field was dropped); shortened, never dropped, for a small buffer;
 * the HELO sanitised.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "app/smtp/received.h"
#include "app/worker.h"
#include "app/smtp/smtp_session.h"

static void
test_received_one_rcpt(void **state)
{
	char buf[512];
	struct received_info ri = {
		.helo = "mail.partner.example", .client_addr = 0xCB00710A, .hostname = "mx.gw.example",
		.protocol = received_protocol(true, false, false), .id = "6B0361EC00000000.1",
		.rcpt = "user@example.com", .rcpt_len = 16, .when = 1795341789,  /* 2026-11-22 10:03:09 UTC */
	};
	(void)state;
	size_t n = received_format(buf, sizeof(buf), &ri);
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf,
		"Received: from mail.partner.example ([203.0.113.10])\r\n"
		"\tby mx.gw.example (mailgw) with ESMTP id 6B0361EC00000000.1\r\n"
		"\tfor <user@example.com>;\r\n"
		"\tSun, 22 Nov 2026 10:03:09 +0000\r\n");
}

static void
test_received_many_rcpts_helo(void **state)
{
	char buf[512];
	struct received_info ri = {
		.helo = "[192.0.2.7]", .client_addr = 0xC0000207, .hostname = "gw",
		.protocol = received_protocol(false, false, false), .id = "X.2", .rcpt = NULL,
		.when = 0,
	};
	(void)state;
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_string_equal(buf,
		"Received: from [192.0.2.7] ([192.0.2.7])\r\n"
		"\tby gw (mailgw) with SMTP id X.2;\r\n"
		"\tThu, 1 Jan 1970 00:00:00 +0000\r\n");
	/* no HELO at all */
	ri.helo = "";
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_non_null(strstr(buf, "from unknown ([192.0.2.7])"));
}

static void
test_received_tls(void **state)
{
	char buf[512];
	struct received_info ri = {
		.helo = "mail.partner.example", .client_addr = 0xCB00710A, .hostname = "mx.gw.example",
		.protocol = received_protocol(true, false, true), .id = "A.1", .when = 1795341789,
		.tls_version = "TLSv1.3", .tls_cipher = "TLS13-AES256-GCM-SHA384", .tls_bits = 256,
	};
	(void)state;
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_string_equal(buf,
		"Received: from mail.partner.example ([203.0.113.10])\r\n"
		"\t(using TLSv1.3 with cipher TLS13-AES256-GCM-SHA384 (256/256 bits))\r\n"
		"\tby mx.gw.example (mailgw) with ESMTPS id A.1;\r\n"
		"\tSun, 22 Nov 2026 10:03:09 +0000\r\n");
}

static void
test_received_protocols_and_limits(void **state)
{
	char buf[64];
	struct received_info ri = {
		.helo = "h", .client_addr = 1, .hostname = "gw", .protocol = "ESMTP", .id = "i",
		.when = 0,
	};
	(void)state;
	assert_string_equal(received_protocol(true, true, false), "UTF8SMTP");
	assert_string_equal(received_protocol(true, false, false), "ESMTP");
	assert_string_equal(received_protocol(false, false, false), "SMTP");
	assert_string_equal(received_protocol(true, false, true), "ESMTPS");
	assert_string_equal(received_protocol(true, true, true), "UTF8SMTPS");
	/* too small a buffer even for the shortest form: 0, never a cut field */
	assert_int_equal(received_format(buf, 20, &ri), 0);
	assert_int_equal(received_format(buf, sizeof(buf), &ri), 0);
}

/* ---- the field's shape: what any receiver of it relies on ---- */

/*
 * buf (n bytes) is one well-formed, folded field: CRLF line ends only, each
 * line at most 998 characters (and at most max_line), every continuation
 * line starting with a TAB and holding more than white space, ending in
 * CRLF. Returns it unfolded (CRLFs removed, NUL-terminated) in out, with
 * each TAB as a space (to compare words).
 */
static void
check_field(const char *buf, size_t n, size_t max_line, char *out, size_t out_len)
{
	size_t line_start = 0, o = 0;

	assert_true(n > 11);
	assert_int_equal(n, strlen(buf));
	assert_memory_equal(buf, "Received: ", 10);
	assert_memory_equal(buf + n - 2, "\r\n", 2);
	for (size_t i = 0; i < n; i++) {
		assert_true(buf[i] != '\0');
		if (buf[i] == '\r') {
			assert_true(i + 1 < n && buf[i + 1] == '\n');
			size_t len = i - line_start;
			assert_true(len <= 998);
			if (len > max_line)
				fail_msg("line of %zu characters (at most %zu): %.*s", len, max_line, (int)len,
					 buf + line_start);
			if (line_start != 0) {
				assert_true(buf[line_start] == '\t');
				assert_true(strspn(buf + line_start, " \t") < len);
			}
			i++;
			line_start = i + 1;
			continue;
		}
		assert_true(buf[i] != '\n');
		assert_true(o + 1 < out_len);
		out[o++] = buf[i] == '\t' ? ' ' : buf[i];
	}
	out[o] = '\0';
}

/* A domain name of exactly len characters: labels of up to 63 "a"-"z", dots between. */
static void
long_domain(char *out, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix), i = 0;

	while (i + sl < len) {
		out[i] = (i + 1) % 64 == 0 && i + sl + 1 < len ? '.' : (char)('a' + i % 26);
		i++;
	}
	memcpy(out + i, suffix, sl + 1);
	assert_int_equal(strlen(out), len);
}

/* The largest inputs the session can hand over, into the session's own buffer: the whole field. */
static void
test_received_worst_case_fits_session_buffer(void **state)
{
	struct smtp_session *ss = NULL;
	char hdr[sizeof(ss->hdr)], unfolded[4096], want[4096];
	char helo[RECEIVED_HELO_MAX + 1], host[RECEIVED_HOST_MAX + 1], rcpt[RECEIVED_RCPT_MAX + 1];
	char ver[RECEIVED_TLS_MAX + 1], cipher[RECEIVED_TLS_MAX + 1], id[RECEIVED_ID_MAX + 1];
	struct received_info ri = {
		.helo = helo, .client_addr = 0xFFFFFFFF, .hostname = host, .protocol = "UTF8SMTPS", .id = id,
		.rcpt = rcpt, .rcpt_len = RECEIVED_RCPT_MAX, .utf8 = true, .when = 253402300799,  /* 9999-12-31 */
		.tls_version = ver, .tls_cipher = cipher, .tls_bits = 99999,
	};
	(void)state;
	/* the session's HELO buffer, smtp.hostname's limit, the longest path of RFC 5321 */
	assert_int_equal(sizeof(ss->helo) - 1, RECEIVED_HELO_MAX);
	assert_int_equal(sizeof(ss->first_rcpt) - 1, RECEIVED_RCPT_MAX);
	assert_int_equal(CFG_HOSTNAME_LEN - 1, RECEIVED_HOST_MAX);
	assert_true(sizeof(ss->msg_id) - 1 <= RECEIVED_ID_MAX);
	long_domain(helo, RECEIVED_HELO_MAX, ".partner.example");
	long_domain(host, RECEIVED_HOST_MAX, ".gw.example");
	memset(rcpt, 'r', 64);
	rcpt[64] = '@';
	long_domain(rcpt + 65, RECEIVED_RCPT_MAX - 65, ".example.com");
	memset(ver, 'V', RECEIVED_TLS_MAX);
	ver[RECEIVED_TLS_MAX] = '\0';
	memset(cipher, 'C', RECEIVED_TLS_MAX);
	cipher[RECEIVED_TLS_MAX] = '\0';
	memset(id, '7', RECEIVED_ID_MAX);
	id[RECEIVED_ID_MAX] = '\0';

	size_t n = received_format(hdr, sizeof(hdr), &ri);
	assert_true(n > 0);
	check_field(hdr, n, 998, unfolded, sizeof(unfolded));
	/* nothing left out: each word once, in order; folded, so a space or a TAB between words */
	snprintf(want, sizeof(want), "Received: from %s ([255.255.255.255])\t(using %s with cipher %s "
		 "(65535/65535 bits))\tby %s (mailgw) with UTF8SMTPS id %s\tfor <%s>;\tFri, 31 Dec 9999 23:59:59 +0000",
		 helo, ver, cipher, host, id, rcpt);
	for (char *p = want; *p; p++)
		if (*p == '\t')
			*p = ' ';
	assert_string_equal(unfolded, want);
	/* inputs beyond the bounds are cut, so the field still fits */
	char huge[2000];
	memset(huge, 'h', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	ri.helo = huge;
	ri.hostname = huge;
	ri.id = huge;
	ri.tls_version = huge;
	ri.tls_cipher = huge;
	ri.rcpt = huge;
	ri.rcpt_len = sizeof(huge) - 1;         /* too long to be a path: no "for" clause */
	n = received_format(hdr, sizeof(hdr), &ri);
	assert_true(n > 0);
	check_field(hdr, n, 998, unfolded, sizeof(unfolded));
	assert_null(strstr(unfolded, " for <"));
	assert_non_null(strstr(unfolded, " (mailgw) with UTF8SMTPS id "));
}

/* Long but ordinary inputs: folded at spaces, every line within 78 characters. */
static void
test_received_folds_long_lines(void **state)
{
	char buf[RECEIVED_MAX], unfolded[RECEIVED_MAX];
	char helo[70], host[70];
	struct received_info ri = {
		.helo = helo, .client_addr = 0xCB00710A, .hostname = host,
		.protocol = received_protocol(true, false, true), .id = "6B0361EC00000000.1",
		.rcpt = "someone.with.a.long.name@department.example.com", .rcpt_len = 47, .when = 1795341789,
		.tls_version = "TLSv1.2", .tls_cipher = "ECDHE-ECDSA-CHACHA20-POLY1305", .tls_bits = 256,
	};
	(void)state;
	long_domain(helo, 60, ".partner.example");
	long_domain(host, 60, ".gw.example");
	size_t n = received_format(buf, sizeof(buf), &ri);
	check_field(buf, n, 78, unfolded, sizeof(unfolded));
	char want[1024];
	snprintf(want, sizeof(want),
		 "Received: from %s\r\n"
		 "\t([203.0.113.10])\r\n"
		 "\t(using TLSv1.2 with cipher ECDHE-ECDSA-CHACHA20-POLY1305 (256/256 bits))\r\n"
		 "\tby %s (mailgw) with\r\n"
		 "\tESMTPS id 6B0361EC00000000.1\r\n"
		 "\tfor <someone.with.a.long.name@department.example.com>;\r\n"
		 "\tSun, 22 Nov 2026 10:03:09 +0000\r\n", helo, host);
	assert_string_equal(buf, want);
}

/*
 * Any buffer size: the field is whole or 0, never cut; the "for" clause goes
 * first, then the HELO is cut; and once a size fits, every larger one does.
 */
static void
test_received_shortened_never_dropped(void **state)
{
	char buf[RECEIVED_MAX], unfolded[RECEIVED_MAX], helo[RECEIVED_HELO_MAX + 1];
	struct received_info ri = {
		.helo = helo, .client_addr = 0xCB00710A, .hostname = "mx.gw.example", .protocol = "ESMTPS",
		.id = "6B0361EC00000000.1", .rcpt = "user@example.com", .rcpt_len = 16, .when = 1795341789,
		.tls_version = "TLSv1.3", .tls_cipher = "TLS13-AES256-GCM-SHA384", .tls_bits = 256,
	};
	size_t full, no_for = 0, smallest = 0;
	(void)state;
	long_domain(helo, 255, ".partner.example");
	full = received_format(buf, sizeof(buf), &ri);
	assert_true(full > 0);
	for (size_t len = full + 1; len > 0; len--) {
		size_t n = received_format(buf, len, &ri);
		if (n == 0) {
			assert_true(smallest != 0);     /* every larger size fitted */
			for (size_t l2 = len; l2 > 0; l2--)
				assert_int_equal(received_format(buf, l2, &ri), 0);
			break;
		}
		smallest = len;
		assert_true(n < len);
		check_field(buf, n, 998, unfolded, sizeof(unfolded));
		assert_non_null(strstr(unfolded, "Received: from "));
		assert_non_null(strstr(unfolded, "by mx.gw.example (mailgw) with ESMTPS id 6B0361EC00000000.1"));
		assert_non_null(strstr(unfolded, "Sun, 22 Nov 2026 10:03:09 +0000"));
		if (len > full) {
			assert_int_equal(n, full);
			assert_non_null(strstr(unfolded, helo));
		} else if (strstr(unfolded, "for <user@example.com>;") == NULL) {
			if (no_for == 0)
				no_for = len;
		} else {
			assert_int_equal(no_for, 0);    /* the "for" clause never comes back on a smaller size */
		}
		if (strstr(unfolded, helo) == NULL)
			assert_true(no_for != 0);       /* the HELO is cut only once "for" is gone */
	}
	assert_true(no_for != 0 && no_for <= full);
	assert_true(smallest < no_for - 200);   /* the HELO was cut by more than 200 characters */
	/* at the smallest size the HELO is gone: "unknown" or a stub of it */
	assert_true(received_format(buf, smallest, &ri) > 0);
}

/* A HELO address literal with characters that mean something in the field: replaced, never copied. */
static void
test_received_helo_sanitised(void **state)
{
	char buf[RECEIVED_MAX];
	struct received_info ri = {
		.helo = "[x:(a);\"b\\c]", .client_addr = 0x0A000001, .hostname = "gw", .protocol = "ESMTP",
		.id = "i", .when = 0,
	};
	(void)state;
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_non_null(strstr(buf, "Received: from [x:?a???b?c] ([10.0.0.1])\r\n"));
	/* UTF-8 (a U-label) only in an SMTPUTF8 transaction */
	ri.helo = "m\xc3\xbcnchen.example";
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_non_null(strstr(buf, "from m??nchen.example ("));
	ri.utf8 = true;
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_non_null(strstr(buf, "from m\xc3\xbcnchen.example ("));
	/* a recipient that cannot go into the field: no "for" clause, the field is still there */
	ri.utf8 = false;
	ri.rcpt = "a\r\nX-Injected: 1@example.com";
	ri.rcpt_len = strlen(ri.rcpt);
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_null(strstr(buf, "X-Injected"));
	assert_null(strstr(buf, "for <"));
	ri.rcpt = "\"we\xc3\xb1\"@example.com";
	ri.rcpt_len = strlen(ri.rcpt);
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_null(strstr(buf, "for <"));
	ri.utf8 = true;
	assert_true(received_format(buf, sizeof(buf), &ri) > 0);
	assert_non_null(strstr(buf, "\tfor <\"we\xc3\xb1\"@example.com>;\r\n"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_received_one_rcpt),
		cmocka_unit_test(test_received_many_rcpts_helo),
		cmocka_unit_test(test_received_tls),
		cmocka_unit_test(test_received_protocols_and_limits),
		cmocka_unit_test(test_received_worst_case_fits_session_buffer),
		cmocka_unit_test(test_received_folds_long_lines),
		cmocka_unit_test(test_received_shortened_never_dropped),
		cmocka_unit_test(test_received_helo_sanitised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
