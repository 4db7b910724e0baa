/*
 * test_config.c — unit tests of platform/config.c (libconfig, schema v1).
 *
 * Each test writes a configuration under /tmp and calls config_load().
 * Error texts are checked exactly: "FILE:LINE: setting: message", where a
 * setting inside a port is named `ports.[N] ("name").setting` (N counts from
 * 0; the `("name")` part appears once the port's name is known to be valid),
 * and an element of an array setting `system.worker_cores.[N]`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/config.h"

#define V "version = 1;\n"
#define P1 "  { name = \"ext\"; device = \"net_af_packet0\"; address = \"192.0.2.1/24\"; },\n"
#define P2 "  { name = \"int\"; device = \"net_af_packet1\"; address = \"10.0.0.1/24\"; }\n"
#define PORTS "ports = (\n" P1 P2 ");\n"
/* The error is on line 3. */
#define SYS(x) V "system: {\n  " x "\n};\n" PORTS
/* The error is on line 4. */
#define LIM(x) V "system: {\n  limits: {\n    " x "\n  };\n};\n" PORTS
/* The first port's group is on line 3. */
#define PORT0(x) V "ports = (\n  { " x " }\n);\n"
/* The second port ("int") is on line 4. */
#define PORT1(x) V "ports = (\n" P1 "  { name = \"int\"; " x " }\n);\n"
/* console and log groups start on line 6. */
#define TAIL(x) V PORTS x

struct test_config_case {
	const char *text;
	const char *expect;     /* after "FILE:"; see test_config_prefix_only() */
};

static const struct test_config_case test_config_broken[] = {
	/* unknown settings, at every level */
	{ SYS("worker_coers = [1];"),
	  "3: system.worker_coers: unknown setting (did you mean \"worker_cores\"?)" },
	{ V "colour = 1;\n" PORTS, "2: colour: unknown setting" },
	{ V "sytem: { };\n" PORTS,
	  "2: sytem: unknown setting (did you mean \"system\"?)" },
	{ LIM("arp_timout = 5;"),
	  "4: system.limits.arp_timout: unknown setting (did you mean \"arp_timeout\"?)" },
	{ PORT1("device = \"d\"; address = \"10.0.0.1/24\"; vlan = 5;"),
	  "4: ports.[1] (\"int\").vlan: unknown setting" },
	{ PORT0("name = \"ext\"; device = \"d\"; adress = \"10.0.0.1/24\";"),
	  "3: ports.[0] (\"ext\").adress: unknown setting (did you mean \"address\"?)" },
	{ TAIL("console: {\n  path = \"/x\";\n};\n"),
	  "7: console.path: unknown setting" },
	{ TAIL("log: {\n  levle = \"info\";\n};\n"),
	  "7: log.levle: unknown setting (did you mean \"level\"?)" },
	/* types */
	{ SYS("memory_mb = \"256\";"),
	  "3: system.memory_mb: expected an integer, got a string" },
	{ SYS("memory_mb = 256.0;"),
	  "3: system.memory_mb: expected an integer, got a float" },
	{ SYS("hugepages = 1;"),
	  "3: system.hugepages: expected a boolean, got an integer" },
	{ SYS("worker_cores = 1;"),
	  "3: system.worker_cores: expected an array of integers, got an integer" },
	{ SYS("worker_cores = [\"1\"];"),
	  "3: system.worker_cores.[0]: expected an integer, got a string" },
	{ SYS("eal_extra_args = \"--foo\";"),
	  "3: system.eal_extra_args: expected an array of strings, got a string" },
	{ SYS("limits = 5;"), "3: system.limits: expected a group, got an integer" },
	{ V "system = 5;\n" PORTS, "2: system: expected a group, got an integer" },
	{ SYS("poll_mode = 1;"),
	  "3: system.poll_mode: expected a string, got an integer" },
	{ PORT0("name = \"ext\"; device = \"d\"; address = \"10.0.0.1/24\"; mtu = \"1500\";"),
	  "3: ports.[0] (\"ext\").mtu: expected an integer, got a string" },
	{ PORT0("name = 1; device = \"d\"; address = \"10.0.0.1/24\";"),
	  "3: ports.[0].name: expected a string, got an integer" },
	{ V "ports = { name = \"ext\"; };\n",
	  "2: ports: expected a list of groups, got a group" },
	{ V "ports = ( 1 );\n", "2: ports.[0]: expected a group, got an integer" },
	/* ranges */
	{ SYS("memory_mb = 32;"),
	  "3: system.memory_mb: 32 is out of range (64..65536)" },
	{ SYS("memory_mb = 65537;"),
	  "3: system.memory_mb: 65537 is out of range (64..65536)" },
	{ SYS("idle_sleep_max_us = 0;"),
	  "3: system.idle_sleep_max_us: 0 is out of range (1..100000)" },
	{ SYS("control_core = -1;"),
	  "3: system.control_core: -1 is out of range (0..1023)" },
	{ LIM("mbufs_per_worker = 100;"),
	  "4: system.limits.mbufs_per_worker: 100 is out of range (1023..1048575)" },
	{ LIM("rx_descriptors = 1000;"),
	  "4: system.limits.rx_descriptors: 1000 is not a power of two" },
	{ LIM("tx_descriptors = 32768;"),
	  "4: system.limits.tx_descriptors: 32768 is out of range (64..16384)" },
	{ LIM("log_ring_size = 100;"),
	  "4: system.limits.log_ring_size: 100 is not a power of two" },
	{ LIM("arp_timeout = 0;"),
	  "4: system.limits.arp_timeout: 0 is out of range (1..86400)" },
	{ PORT0("name = \"ext\"; device = \"d\"; address = \"10.0.0.1/24\"; mtu = 100;"),
	  "3: ports.[0] (\"ext\").mtu: 100 is out of range (576..9000)" },
	/* cores */
	{ SYS("worker_cores = [999];"),
	  "3: system.worker_cores: core 999 does not exist or is not usable (usable cores: " },
	{ SYS("control_core = 999;"),
	  "3: system.control_core: core 999 does not exist or is not usable (usable cores: " },
	{ SYS("worker_cores = [];"),
	  "3: system.worker_cores: has 0 entries, expected 1..64" },
	{ SYS("worker_cores = [1, 1];"),
	  "3: system.worker_cores: core 1 is listed twice "
	  "(allowed only with system.allow_shared_cores = true)" },
	{ SYS("worker_cores = [0];"),
	  "3: system.worker_cores: core 0 is also the control core "
	  "(allowed only with system.allow_shared_cores = true)" },
	/* strings and enums */
	{ SYS("poll_mode = \"fast\";"),
	  "3: system.poll_mode: \"fast\" is unknown (expected \"busy\" or \"adaptive\")" },
	{ SYS("file_prefix = \"a b\";"),
	  "3: system.file_prefix: \"a b\" is invalid (1..63 characters of A-Z a-z 0-9 _ -)" },
	{ SYS("file_prefix = \"\";"),
	  "3: system.file_prefix: \"\" is invalid (1..63 characters of A-Z a-z 0-9 _ -)" },
	{ SYS("eal_extra_args = [\"--a\", \"\"];"),
	  "3: system.eal_extra_args.[1]: must not be empty" },
	{ SYS("eal_extra_args = [\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\","
	      "\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\"];"),
	  "3: system.eal_extra_args: has 17 entries, at most 16" },
	{ TAIL("log: {\n  level = \"verbose\";\n};\n"),
	  "7: log.level: \"verbose\" is unknown "
	  "(expected \"err\", \"warning\", \"info\" or \"debug\")" },
	{ TAIL("log: {\n  file = \"mailgw.log\";\n};\n"),
	  "7: log.file: \"mailgw.log\" is not an absolute path, \"syslog\" or \"stderr\"" },
	{ TAIL("console: {\n  socket = \"run/console.sock\";\n};\n"),
	  "7: console.socket: \"run/console.sock\" is not an absolute path" },
	{ TAIL("console: {\n  socket = \"/run/mailgw/0123456789012345678901234567890123456789"
	       "012345678901234567890123456789012345678901234567890123456789\";\n};\n"),
	  "7: console.socket: is too long (112 characters, at most 107)" },
	/* version and required settings */
	{ PORTS, "1: version: missing (required)" },
	{ "version = 2;\n" PORTS, "1: version: 2 is not supported (expected 1)" },
	{ "version = \"1\";\n" PORTS, "1: version: expected an integer, got a string" },
	{ V, "1: ports: missing (required)" },
	{ V "ports = ( );\n", "2: ports: has 0 entries, expected 1..8" },
	{ V "ports = (\n" P1 "  {\n    name = \"int\";\n    address = \"10.0.0.1/24\";\n  }\n);\n",
	  "4: ports.[1] (\"int\").device: missing (required)" },
	{ PORT0("device = \"d\"; address = \"10.0.0.1/24\";"),
	  "3: ports.[0].name: missing (required)" },
	{ PORT1("device = \"d\";"), "4: ports.[1] (\"int\").address: missing (required)" },
	{ PORT0("name = \"EXT\"; device = \"d\"; address = \"10.0.0.1/24\";"),
	  "3: ports.[0].name: \"EXT\" is invalid (1..15 characters of a-z 0-9 _ -)" },
	{ PORT0("name = \"a-very-long-name\"; device = \"d\"; address = \"10.0.0.1/24\";"),
	  "3: ports.[0].name: \"a-very-long-name\" is invalid (1..15 characters of a-z 0-9 _ -)" },
	{ PORT1("device = \"\"; address = \"10.0.0.1/24\";"),
	  "4: ports.[1] (\"int\").device: must not be empty" },
	/* addresses */
	{ PORT1("device = \"d\"; address = \"10.0.0.1/33\";"),
	  "4: ports.[1] (\"int\").address: \"10.0.0.1/33\" is not an IPv4 address "
	  "with a prefix length (a.b.c.d/1..32)" },
	{ PORT1("device = \"d\"; address = \"10.0.0/24\";"),
	  "4: ports.[1] (\"int\").address: \"10.0.0/24\" is not an IPv4 address "
	  "with a prefix length (a.b.c.d/1..32)" },
	{ PORT1("device = \"d\"; address = \"10.0.0.1\";"),
	  "4: ports.[1] (\"int\").address: \"10.0.0.1\" is not an IPv4 address "
	  "with a prefix length (a.b.c.d/1..32)" },
	{ PORT1("device = \"d\"; address = \"10.0.0.1/0\";"),
	  "4: ports.[1] (\"int\").address: \"10.0.0.1/0\": prefix length 0 is out of range (1..32)" },
	{ PORT1("device = \"d\"; address = \"10.0.0.0/24\";"),
	  "4: ports.[1] (\"int\").address: \"10.0.0.0/24\" is the network address of its subnet" },
	{ PORT1("device = \"d\"; address = \"10.0.0.255/24\";"),
	  "4: ports.[1] (\"int\").address: \"10.0.0.255/24\" is the broadcast address of its subnet" },
	{ PORT1("device = \"d\"; address = \"127.0.0.1/8\";"),
	  "4: ports.[1] (\"int\").address: \"127.0.0.1/8\" is a loopback address" },
	{ PORT1("device = \"d\"; address = \"224.0.0.1/24\";"),
	  "4: ports.[1] (\"int\").address: \"224.0.0.1/24\" is a multicast address" },
	{ PORT1("device = \"d\"; address = \"240.0.0.1/24\";"),
	  "4: ports.[1] (\"int\").address: \"240.0.0.1/24\" is a reserved (class E) address" },
	{ PORT1("device = \"d\"; address = \"0.0.0.0/32\";"),
	  "4: ports.[1] (\"int\").address: \"0.0.0.0/32\" is in 0.0.0.0/8, not a usable host address" },
	{ PORT1("device = \"d\"; address = \"10.0.0.1/24\"; gateway = \"10.0.1.1\";"),
	  "4: ports.[1] (\"int\").gateway: \"10.0.1.1\" is outside the port's subnet 10.0.0.0/24" },
	{ PORT1("device = \"d\"; address = \"10.0.0.1/24\"; gateway = \"10.0.0.1\";"),
	  "4: ports.[1] (\"int\").gateway: \"10.0.0.1\" is the port's own address" },
	{ PORT1("device = \"d\"; address = \"10.0.0.1/24\"; gateway = \"10.0.0.255\";"),
	  "4: ports.[1] (\"int\").gateway: \"10.0.0.255\" is the broadcast address of its subnet" },
	{ PORT1("device = \"d\"; address = \"10.0.0.1/24\"; gateway = \"10.0.0\";"),
	  "4: ports.[1] (\"int\").gateway: \"10.0.0\" is not an IPv4 address (a.b.c.d)" },
	/* two ports */
	{ V "ports = (\n" P1 "  { name = \"ext\"; device = \"d\"; address = \"10.0.0.1/24\"; }\n);\n",
	  "4: ports.[1] (\"ext\").name: \"ext\" is already used by ports.[0]" },
	{ PORT1("device = \"net_af_packet0\"; address = \"10.0.0.1/24\";"),
	  "4: ports.[1] (\"int\").device: \"net_af_packet0\" is already used by ports.[0] (\"ext\")" },
	{ PORT1("device = \"d\"; address = \"192.0.2.1/25\";"),
	  "4: ports.[1] (\"int\").address: 192.0.2.1 is already the address of ports.[0] (\"ext\")" },
	{ PORT1("device = \"d\"; address = \"192.0.2.200/25\";"),
	  "4: ports.[1] (\"int\").address: subnet 192.0.2.128/25 overlaps "
	  "subnet 192.0.2.0/24 of ports.[0] (\"ext\")" },
	{ PORT1("device = \"d\"; address = \"192.0.0.1/16\";"),
	  "4: ports.[1] (\"int\").address: subnet 192.0.0.0/16 overlaps "
	  "subnet 192.0.2.0/24 of ports.[0] (\"ext\")" },
	/* libconfig's own errors */
	{ V "system: {\n  memory_mb = ;\n};\n" PORTS, "3: syntax error" },
	{ V "system: {\n  memory_mb = 256;\n  hugepages = false;\n}};\n" PORTS,
	  "5: syntax error" },
	{ V V PORTS, "2: duplicate setting name" },
};

/* An expectation ending in "(usable cores: " is only the start of the error:
 * the list depends on this machine's CPUs. */
static bool test_config_prefix_only(const char *expect)
{
	static const char tail[] = "(usable cores: ";
	size_t n = strlen(expect);

	return n >= sizeof(tail) - 1 && strcmp(expect + n - (sizeof(tail) - 1), tail) == 0;
}

/* The config tests assume cores 0 and 1 are usable (the defaults). */
static bool test_config_cores_ok(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 &&
	       CPU_ISSET(0, &set) && CPU_ISSET(1, &set);
}

#define NEED_CORES() do { \
	if (!test_config_cores_ok()) { \
		print_message("cores 0 and 1 are not both usable here\n"); \
		skip(); \
	} \
} while (0)

/* Write TEXT to a new file under /tmp; its name goes to PATH. */
static void test_config_write(const char *text, char path[64])
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/mailgw-test-config-XXXXXX.conf");
	fd = mkstemps(path, 5);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Load TEXT from a temporary file; returns config_load()'s result. */
static int test_config_load_text(const char *text, struct gw_config *cfg,
				 char path[64], char *err, size_t errlen)
{
	int rc;

	test_config_write(text, path);
	rc = config_load(path, cfg, err, errlen);
	unlink(path);
	return rc;
}

static void test_defaults(void **state)
{
	struct gw_config d, cfg;
	char path[64], err[CFG_ERR_LEN];

	(void)state;
	config_defaults(&d);
	assert_int_equal(d.version, 1);
	assert_int_equal(d.control_core, 0);
	assert_int_equal(d.n_workers, 1);
	assert_int_equal(d.worker_cores[0], 1);
	assert_false(d.allow_shared_cores);
	assert_false(d.hugepages);
	assert_int_equal(d.memory_mb, 256);
	assert_string_equal(d.file_prefix, "mailgw");
	assert_int_equal(d.poll_mode, CFG_POLL_BUSY);
	assert_int_equal(d.idle_sleep_max_us, 200);
	assert_int_equal(d.n_eal_extra, 0);
	assert_int_equal(d.limits.mbufs_per_worker, 8191);
	assert_int_equal(d.limits.rx_descriptors, 1024);
	assert_int_equal(d.limits.tx_descriptors, 1024);
	assert_int_equal(d.limits.arp_cache_size, 1024);
	assert_int_equal(d.limits.arp_timeout, 300);
	assert_int_equal(d.limits.arp_queue_length, 8);
	assert_int_equal(d.limits.icmp_rate_limit, 1000);
	assert_int_equal(d.limits.log_ring_size, 1024);
	assert_int_equal(d.n_ports, 0);
	assert_string_equal(d.console_socket, "/run/mailgw/console.sock");
	assert_string_equal(d.log_file, "stderr");
	assert_int_equal(d.log_level, CFG_LOG_INFO);

	/* A file with only the required settings gets exactly the defaults. */
	NEED_CORES();
	assert_int_equal(test_config_load_text(V "ports = (\n" P2 ");\n", &cfg,
					       path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(cfg.path, path);
	assert_int_equal(cfg.n_ports, 1);
	assert_string_equal(cfg.ports[0].name, "int");
	assert_string_equal(cfg.ports[0].device, "net_af_packet1");
	assert_false(cfg.ports[0].is_pci);
	assert_int_equal(cfg.ports[0].addr, 0x0a000001);
	assert_int_equal(cfg.ports[0].prefix_len, 24);
	assert_int_equal(cfg.ports[0].gateway, 0);
	assert_int_equal(cfg.ports[0].mtu, 1500);
	assert_int_equal(cfg.ports[0].line, 3);
	memcpy(d.path, cfg.path, sizeof(d.path));
	memcpy(d.ports, cfg.ports, sizeof(d.ports));
	d.n_ports = cfg.n_ports;
	assert_memory_equal(&d, &cfg, sizeof(d));
}

/* The example file, wherever the test is run from. */
static const char *test_config_example(char *buf, size_t len)
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

static void test_example_file(void **state)
{
	char path[PATH_MAX + 64], err[CFG_ERR_LEN];
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	test_config_example(path, sizeof(path));
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(cfg.control_core, 0);
	assert_int_equal(cfg.n_workers, 1);
	assert_int_equal(cfg.worker_cores[0], 1);
	assert_false(cfg.hugepages);
	assert_int_equal(cfg.memory_mb, 256);
	assert_int_equal(cfg.poll_mode, CFG_POLL_ADAPTIVE);
	assert_int_equal(cfg.n_ports, 2);
	assert_string_equal(cfg.ports[0].name, "ext");
	assert_string_equal(cfg.ports[0].device, "net_af_packet0,iface=mgw-ext0");
	assert_int_equal(cfg.ports[0].addr, 0xcb007101);
	assert_int_equal(cfg.ports[0].prefix_len, 24);
	assert_int_equal(cfg.ports[0].gateway, 0);
	assert_string_equal(cfg.ports[1].name, "int");
	assert_string_equal(cfg.ports[1].device, "net_af_packet1,iface=mgw-int0");
	assert_int_equal(cfg.ports[1].addr, 0x0a140001);
	assert_int_equal(cfg.ports[1].prefix_len, 24);
	assert_string_equal(cfg.console_socket, "/run/mailgw/console.sock");
	assert_string_equal(cfg.log_file, "/var/log/mailgw.log");
	assert_int_equal(cfg.log_level, CFG_LOG_INFO);
}

/* Does ERR match the case's expectation for file PATH? */
static bool test_config_matches(const char *err, const char *path,
				const char *expect)
{
	char full[CFG_ERR_LEN];
	size_t n;

	snprintf(full, sizeof(full), "%s:%s", path, expect);
	if (!test_config_prefix_only(expect))
		return strcmp(err, full) == 0;
	n = strlen(err);
	return strncmp(err, full, strlen(full)) == 0 && n > 0 && err[n - 1] == ')';
}

static void test_broken(void **state)
{
	char path[64], err[CFG_ERR_LEN];
	const struct test_config_case *t;
	struct gw_config cfg;
	size_t i;
	int rc;

	(void)state;
	NEED_CORES();
	for (i = 0; i < sizeof(test_config_broken) / sizeof(test_config_broken[0]); i++) {
		t = &test_config_broken[i];
		memset(&cfg, 0x5a, sizeof(cfg));
		rc = test_config_load_text(t->text, &cfg, path, err, sizeof(err));
		if (rc != -EINVAL || !test_config_matches(err, path, t->expect))
			fail_msg("case %zu: rc %d, error\n  %s\nexpected\n  %s:%s",
				 i, rc, err, path, t->expect);
		assert_null(strchr(err, '\n'));
		/* A failed load leaves the caller's struct alone. */
		assert_int_equal(((unsigned char *)&cfg)[0], 0x5a);
		assert_int_equal(cfg.n_ports, 0x5a5a5a5a);
	}
}

/* Settings that look odd but are valid. */
static void test_accepted(void **state)
{
	char path[64], err[CFG_ERR_LEN];
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	assert_int_equal(test_config_load_text(SYS("memory_mb = 1024L;"), &cfg, path,
					       err, sizeof(err)), 0);
	assert_int_equal(cfg.memory_mb, 1024);
	assert_int_equal(test_config_load_text(
		SYS("allow_shared_cores = true; worker_cores = (0, 0, 1);"),
		&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_workers, 3);
	assert_int_equal(cfg.worker_cores[2], 1);
	assert_int_equal(test_config_load_text(V "ports = (\n"
		"  { name = \"a\"; device = \"0000:03:00.1\"; address = \"10.0.0.1/31\"; gateway = \"10.0.0.0\"; },\n"
		"  { name = \"b\"; device = \"03:00.7,rxq=2\"; address = \"10.0.1.1/32\"; },\n"
		"  { name = \"c\"; device = \"03:00.8\"; address = \"10.0.2.1/30\"; gateway = \"10.0.2.2\"; mtu = 9000; }\n"
		");\n", &cfg, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(cfg.n_ports, 3);
	assert_true(cfg.ports[0].is_pci);
	assert_int_equal(cfg.ports[0].gateway, 0x0a000000);
	assert_true(cfg.ports[1].is_pci);
	assert_false(cfg.ports[2].is_pci);
	assert_int_equal(cfg.ports[2].mtu, 9000);
	assert_int_equal(cfg.ports[2].line, 5);
}

static void test_unreadable(void **state)
{
	char err[CFG_ERR_LEN];
	struct gw_config cfg;

	(void)state;
	assert_int_equal(config_load("/tmp/mailgw-test-config-none/x.conf", &cfg,
				     err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/tmp/mailgw-test-config-none/x.conf: cannot read: "
			    "No such file or directory");
	assert_int_equal(config_load("/tmp", &cfg, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/tmp: cannot read: Is a directory");
	/* A short error buffer is truncated, never overrun. */
	err[8] = 'X';
	assert_int_equal(config_load("/tmp/mailgw-test-config-none/x.conf", &cfg,
				     err, 8), -ENOENT);
	assert_string_equal(err, "/tmp/ma");
	assert_int_equal(err[8], 'X');
}

static void test_parse_cidr(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3.4", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/100", "1.2.3/24",
		"1.2.3.4.5/24", "256.1.1.1/8", "01.2.3.4/8", "1.2.3.4/08",
		" 1.2.3.4/8", "1.2.3.4/8 ", "1.2.3.4/-1", "1.2.3.4/+8", "1..3.4/8",
		"1.2.3.4/8/9", "0x1.2.3.4/8", "1.2.3.4 /8", "1.2.3.4/ 8", "a.b.c.d/8",
		"1.2.3.1000/8", "-1.2.3.4/8",
	};
	uint32_t a = 0;
	uint8_t len = 0;
	size_t i;

	(void)state;
	assert_int_equal(config_parse_cidr("0.0.0.0/0", &a, &len), 0);
	assert_int_equal(a, 0);
	assert_int_equal(len, 0);
	assert_int_equal(config_parse_cidr("255.255.255.255/32", &a, &len), 0);
	assert_int_equal(a, 0xffffffff);
	assert_int_equal(len, 32);
	assert_int_equal(config_parse_cidr("192.0.2.10/9", &a, &len), 0);
	assert_int_equal(a, 0xc000020a);
	assert_int_equal(len, 9);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = 7;
		len = 7;
		if (config_parse_cidr(bad[i], &a, &len) != -EINVAL)
			fail_msg("cidr \"%s\" was accepted", bad[i]);
		assert_int_equal(a, 7);
		assert_int_equal(len, 7);
	}
	assert_int_equal(config_parse_cidr(NULL, &a, &len), -EINVAL);
}

static void test_parse_ipv4(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.", "1.2.3.4/8", "1.2.3.256", "1.2.3.1000",
		"-1.2.3.4", "1.2.3.4\n", " 1.2.3.4", "1.02.3.4", "1.2.3.", ".1.2.3",
		"1,2,3,4", "0x01020304", "16909060",
	};
	uint32_t a = 0;
	size_t i;

	(void)state;
	assert_int_equal(config_parse_ipv4("1.2.3.4", &a), 0);
	assert_int_equal(a, 0x01020304);
	assert_int_equal(config_parse_ipv4("0.0.0.0", &a), 0);
	assert_int_equal(a, 0);
	assert_int_equal(config_parse_ipv4("255.255.255.255", &a), 0);
	assert_int_equal(a, 0xffffffff);
	assert_int_equal(config_parse_ipv4("10.0.0.100", &a), 0);
	assert_int_equal(a, 0x0a000064);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a = 7;
		if (config_parse_ipv4(bad[i], &a) != -EINVAL)
			fail_msg("ipv4 \"%s\" was accepted", bad[i]);
		assert_int_equal(a, 7);
	}
	assert_int_equal(config_parse_ipv4(NULL, &a), -EINVAL);
}

/* format -> file -> load gives back the same configuration. */
static void test_config_round_trip(const struct gw_config *in)
{
	static char text[65536];
	struct gw_config out;
	char path[64], err[CFG_ERR_LEN];
	int n = config_format(in, text, sizeof(text));
	unsigned i;

	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(strlen(text), n);
	assert_int_equal(test_config_load_text(text, &out, path, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(out.path, path);
	memcpy(out.path, in->path, sizeof(out.path));
	for (i = 0; i < out.n_ports; i++)       /* lines of the new text */
		out.ports[i].line = in->ports[i].line;
	assert_memory_equal(&out, in, sizeof(out));
}

static void test_format(void **state)
{
	char path[PATH_MAX + 64], err[CFG_ERR_LEN], small[32], *big;
	struct gw_config cfg;
	int n;

	(void)state;
	NEED_CORES();
	test_config_example(path, sizeof(path));
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	test_config_round_trip(&cfg);

	assert_int_equal(test_config_load_text(V
		"system: {\n"
		"  control_core = 1; worker_cores = [0, 1, 1]; allow_shared_cores = true;\n"
		"  hugepages = true; memory_mb = 4096; file_prefix = \"gw-2_B\";\n"
		"  poll_mode = \"busy\"; idle_sleep_max_us = 100000;\n"
		"  eal_extra_args = [\"--log-level=7\", \"say \\\"hi\\\" \\\\ \\t\"];\n"
		"  limits: { mbufs_per_worker = 1023; rx_descriptors = 64; tx_descriptors = 16384;\n"
		"    arp_cache_size = 16; arp_timeout = 86400; arp_queue_length = 64;\n"
		"    icmp_rate_limit = 1; log_ring_size = 65536; };\n"
		"};\n"
		"ports = (\n"
		"  { name = \"ext\"; device = \"0000:01:00.0\"; address = \"198.51.100.7/28\"; gateway = \"198.51.100.1\"; mtu = 9000; },\n"
		"  { name = \"int_1\"; device = \"net_af_packet1,iface=x\"; address = \"10.1.2.3/8\"; mtu = 576; },\n"
		"  { name = \"p2p\"; device = \"net_tap0\"; address = \"172.16.0.1/31\"; gateway = \"172.16.0.0\"; },\n"
		"  { name = \"host\"; device = \"net_tap1\"; address = \"172.16.0.9/32\"; }\n"
		");\n"
		"console: { socket = \"/tmp/c.sock\"; };\n"
		"log: { file = \"syslog\"; level = \"debug\"; };\n",
		&cfg, path, err, sizeof(err)), 0);
	assert_string_equal(cfg.eal_extra_args[1], "say \"hi\" \\ \t");
	test_config_round_trip(&cfg);

	/* Truncation works like snprintf. */
	n = config_format(&cfg, small, sizeof(small));
	assert_true(n > (int)sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	big = malloc((size_t)n + 1);
	assert_non_null(big);
	assert_int_equal(config_format(&cfg, big, (size_t)n + 1), n);
	assert_memory_equal(big, small, sizeof(small) - 1);
	free(big);
	assert_int_equal(config_format(&cfg, NULL, 0), n);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(config_poll_mode_name(CFG_POLL_BUSY), "busy");
	assert_string_equal(config_poll_mode_name(CFG_POLL_ADAPTIVE), "adaptive");
	assert_string_equal(config_log_level_name(CFG_LOG_ERR), "err");
	assert_string_equal(config_log_level_name(CFG_LOG_WARNING), "warning");
	assert_string_equal(config_log_level_name(CFG_LOG_INFO), "info");
	assert_string_equal(config_log_level_name(CFG_LOG_DEBUG), "debug");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_parse_cidr),
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
