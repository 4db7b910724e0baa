/*
 * config_test.h — what the configuration unit tests (test_config*.c) share:
 * the check that cores 0 and 1 are usable (the defaults assume them) and a
 * temporary file holding a configuration text, the path of the shipped
 * example configuration. Include after cmocka.h.
 */
#ifndef MAILGW_TESTS_UNIT_CONFIG_TEST_H
#define MAILGW_TESTS_UNIT_CONFIG_TEST_H

#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The config tests assume cores 0 and 1 are usable (the defaults). */
static inline bool
config_test_cores_ok(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 &&
	       CPU_ISSET(0, &set) && CPU_ISSET(1, &set);
}

#define NEED_CORES() do { \
	if (!config_test_cores_ok()) { \
		print_message("cores 0 and 1 are not both usable here\n"); \
		skip(); \
	} \
} while (0)

/* Write TEXT to a new file from TEMPLATE (ending "XXXXXX.conf"), whose name goes to PATH. */
static inline void
config_test_write(const char *template, const char *text, char *path, size_t len)
{
	FILE *f;
	int fd;

	snprintf(path, len, "%s", template);
	fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The shipped example configuration, wherever the test is run from; its path goes to buf. */
static inline const char *
config_test_example(char *buf, size_t len)
{
	static const char rel[] = "platform/rootfs/etc/mailgw/mailgw.conf";
	char exe[PATH_MAX];
	ssize_t n;

	snprintf(buf, len, "%s", rel);
	if (access(buf, R_OK) == 0)
		return buf;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(buf, len, "%s/../../%s", dirname(exe), rel);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	snprintf(buf, len, "%s/../../%s", dirname(strdupa(__FILE__)), rel);
	return buf;
}

#endif
