/*
 * test_smtp_client.c — unit tests of the pure parts of app/smtp/smtp_client.h:
 * which reply codes each stage of a next-hop conversation allows (issue 12,
 * item 11: 354 to MAIL, 250 as greeting or to DATA, 1xx/3xx anywhere else
 * are protocol errors), a worker's share of destination_concurrency, and the
 * fair-share admission (item 12: the last quarter of a next hop's
 * connections only for client addresses holding none).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <cmocka.h>

#include "app/smtp/smtp_client.h"

static void
test_code_fits_greeting(void **state)
{
	(void)state;
	assert_true(smtp_client_code_fits(SMTP_CL_STAGE_GREETING, 220));
	assert_true(smtp_client_code_fits(SMTP_CL_STAGE_GREETING, 554));
	assert_true(smtp_client_code_fits(SMTP_CL_STAGE_GREETING, 421));
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_GREETING, 250));    /* "250 early" */
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_GREETING, 221));
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_GREETING, 354));
	assert_true(smtp_client_code_fits(SMTP_CL_STAGE_STARTTLS, 220));
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_STARTTLS, 250));
	assert_true(smtp_client_code_fits(SMTP_CL_STAGE_STARTTLS, 454));
}

static void
test_code_fits_commands(void **state)
{
	(void)state;
	for (unsigned code = 100; code < 600; code++) {
		bool final = code / 100 == 2 || code / 100 == 4 || code / 100 == 5;
		assert_int_equal(smtp_client_code_fits(SMTP_CL_STAGE_COMMAND, code), final);
		assert_int_equal(smtp_client_code_fits(SMTP_CL_STAGE_EOD, code), final);
		assert_int_equal(smtp_client_code_fits(SMTP_CL_STAGE_DATA, code),
				 code == 354 || code / 100 == 4 || code / 100 == 5);
		assert_true(smtp_client_code_fits(SMTP_CL_STAGE_QUIT, code));
	}
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_COMMAND, 354));     /* 354 to MAIL */
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_DATA, 250));        /* 250 to DATA */
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_EOD, 354));
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_COMMAND, 0));
	assert_false(smtp_client_code_fits(SMTP_CL_STAGE_QUIT, 600));
}

static void
test_dest_limit(void **state)
{
	(void)state;
	assert_int_equal(smtp_client_dest_limit(20, 1, 0), 20);
	assert_int_equal(smtp_client_dest_limit(20, 2, 0), 10);
	assert_int_equal(smtp_client_dest_limit(20, 2, 1), 10);
	/* 20 over 3 workers: 7 + 7 + 6, the setting exactly (not 21) */
	assert_int_equal(smtp_client_dest_limit(20, 3, 0) + smtp_client_dest_limit(20, 3, 1) +
			 smtp_client_dest_limit(20, 3, 2), 20);
	assert_int_equal(smtp_client_dest_limit(20, 3, 2), 6);
	assert_int_equal(smtp_client_dest_limit(1, 4, 3), 1);       /* never 0: every worker can reach it */
	assert_int_equal(smtp_client_dest_limit(5, 0, 0), 5);
}

static void
test_dest_admits(void **state)
{
	(void)state;
	/* limit 8: reserve 2; anyone below 6, only newcomers at 6 and 7, nobody at 8 */
	for (unsigned in_use = 0; in_use < 6; in_use++)
		assert_true(smtp_client_dest_admits(in_use, 8, in_use));
	assert_false(smtp_client_dest_admits(6, 8, 1));
	assert_true(smtp_client_dest_admits(6, 8, 0));
	assert_true(smtp_client_dest_admits(7, 8, 0));
	assert_false(smtp_client_dest_admits(8, 8, 0));
	assert_false(smtp_client_dest_admits(9, 8, 0));
	/* small limits have no reserve */
	assert_true(smtp_client_dest_admits(0, 1, 0));
	assert_false(smtp_client_dest_admits(1, 1, 0));
	assert_true(smtp_client_dest_admits(2, 3, 2));
	/* one address alone can never hold more than limit - limit/4 */
	unsigned held = 0;
	while (smtp_client_dest_admits(held, 20, held))
		held++;
	assert_int_equal(held, 15);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_code_fits_greeting),
		cmocka_unit_test(test_code_fits_commands),
		cmocka_unit_test(test_dest_limit),
		cmocka_unit_test(test_dest_admits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
