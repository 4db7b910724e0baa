/*
 * test_received.c — unit tests of app/smtp/received.h: the Received: field
 * mailgw prepends (RFC 5321 §4.4): layout, folding, the "for" clause only
 * with one recipient, protocol keywords, date format, and truncation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "app/smtp/received.h"

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
	/* too small a buffer: 0, never a cut field */
	assert_int_equal(received_format(buf, 20, &ri), 0);
	assert_int_equal(received_format(buf, sizeof(buf), &ri), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_received_one_rcpt),
		cmocka_unit_test(test_received_many_rcpts_helo),
		cmocka_unit_test(test_received_tls),
		cmocka_unit_test(test_received_protocols_and_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
