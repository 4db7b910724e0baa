/*
 * test_config.c — unit tests of platform/config.c (libconfig, schema v1).
 *
 * Each test writes a configuration under /tmp and calls config_load().
 * Error texts are checked exactly: "FILE:LINE: setting: message", where a
 * setting inside a port is named `ports.[N] ("name").setting` (N counts from
 * 0; the `("name")` part appears once the port's name is known to be valid),
 * one inside a linkem entry `linkem.[N] ("port").setting` likewise, and an
 * element of an array setting `system.worker_cores.[N]`. The smtp group and
 * the routes are tested in test_config_smtp.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/config_test.h"

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
/* The error is on line 3. */
#define TCP(x) V "tcp: {\n  " x "\n};\n" PORTS
/* The error is on line 3. */
#define SVC(x) V "services: {\n  " x "\n};\n" PORTS
/* `linkem = (` is on line 6, its first entry on line 7. */
#define LINKEM(x) V PORTS "linkem = (\n  " x "\n);\n"
#define LE4 "{ port = \"ext\"; }, { port = \"ext\"; }, { port = \"ext\"; }, { port = \"ext\"; },\n"

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
	{ TAIL("log: {\n  rate_limit = -1;\n};\n"),
	  "7: log.rate_limit: -1 is out of range (0..1000000)" },
	{ TAIL("log: {\n  rate_limit = 1000001;\n};\n"),
	  "7: log.rate_limit: 1000001 is out of range (0..1000000)" },
	{ TAIL("log: {\n  rate_limit = \"100\";\n};\n"),
	  "7: log.rate_limit: expected an integer, got a string" },
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
	/* tcp */
	{ TCP("max_conections = 100;"),
	  "3: tcp.max_conections: unknown setting (did you mean \"max_connections\"?)" },
	{ V "tpc: { };\n" PORTS, "2: tpc: unknown setting (did you mean \"tcp\"?)" },
	{ V "tcp = 5;\n" PORTS, "2: tcp: expected a group, got an integer" },
	{ TCP("max_connections = 8;"),
	  "3: tcp.max_connections: 8 is out of range (16..1048576)" },
	{ TCP("syn_backlog = 65537;"),
	  "3: tcp.syn_backlog: 65537 is out of range (1..65536)" },
	{ TCP("rcv_buffer = 4095;"),
	  "3: tcp.rcv_buffer: 4095 is out of range (4096..16777216)" },
	{ TCP("snd_buffer = 16777217;"),
	  "3: tcp.snd_buffer: 16777217 is out of range (4096..16777216)" },
	{ TCP("reass_limit = -1;"),
	  "3: tcp.reass_limit: -1 is out of range (0..16777216)" },
	{ TCP("time_wait = 0;"), "3: tcp.time_wait: 0 is out of range (1..600)" },
	{ TCP("time_wait_max = 1048577;"),
	  "3: tcp.time_wait_max: 1048577 is out of range (0..1048576)" },
	{ TCP("rto_min_ms = 0;"), "3: tcp.rto_min_ms: 0 is out of range (1..60000)" },
	{ TCP("rto_max_ms = 600001;"),
	  "3: tcp.rto_max_ms: 600001 is out of range (1..600000)" },
	{ TCP("max_retransmits = 31;"),
	  "3: tcp.max_retransmits: 31 is out of range (1..30)" },
	{ TCP("syn_retries = 0;"), "3: tcp.syn_retries: 0 is out of range (1..30)" },
	{ TCP("delayed_ack_ms = 501;"),
	  "3: tcp.delayed_ack_ms: 501 is out of range (0..500)" },
	{ TCP("keepalive_idle = 86401;"),
	  "3: tcp.keepalive_idle: 86401 is out of range (0..86400)" },
	{ TCP("keepalive_interval = 0;"),
	  "3: tcp.keepalive_interval: 0 is out of range (1..3600)" },
	{ TCP("keepalive_probes = 101;"),
	  "3: tcp.keepalive_probes: 101 is out of range (1..100)" },
	{ TCP("idle_timeout = 100000;"),
	  "3: tcp.idle_timeout: 100000 is out of range (0..86400)" },
	{ TCP("conn_pool_share = 0;"),
	  "3: tcp.conn_pool_share: 0 is out of range (1..100)" },
	{ TCP("pool_low_watermark = 91;"),
	  "3: tcp.pool_low_watermark: 91 is out of range (1..90)" },
	{ TCP("pool_reserve = 51;"),
	  "3: tcp.pool_reserve: 51 is out of range (1..50)" },
	{ TCP("time_wait = 60.0;"), "3: tcp.time_wait: expected an integer, got a float" },
	{ TCP("syncookies = \"sometimes\";"),
	  "3: tcp.syncookies: \"sometimes\" is unknown "
	  "(expected \"auto\", \"always\" or \"never\")" },
	{ TCP("syncookies = true;"),
	  "3: tcp.syncookies: expected a string, got a boolean" },
	/* tcp settings that depend on each other */
	{ TCP("rto_initial_ms = 100;"),
	  "3: tcp.rto_initial_ms: 100 is below tcp.rto_min_ms (200, the default)" },
	{ TCP("rto_min_ms = 500; rto_initial_ms = 300;"),
	  "3: tcp.rto_initial_ms: 300 is below tcp.rto_min_ms (500)" },
	{ TCP("rto_min_ms = 2000;"),
	  "3: tcp.rto_min_ms: 2000 is above tcp.rto_initial_ms (1000, the default)" },
	{ TCP("rto_max_ms = 500;"),
	  "3: tcp.rto_max_ms: 500 is below tcp.rto_initial_ms (1000, the default)" },
	{ TCP("rto_min_ms = 300; rto_max_ms = 250; rto_initial_ms = 260;"),
	  "3: tcp.rto_max_ms: 250 is below tcp.rto_min_ms (300)" },
	{ TCP("rto_initial_ms = 70000;"),
	  "3: tcp.rto_initial_ms: 70000 is above tcp.rto_max_ms (60000, the default)" },
	{ TCP("time_wait_max = 10000;"),
	  "3: tcp.time_wait_max: 10000 is above tcp.max_connections (8192, the default)" },
	{ TCP("max_connections = 1000;"),
	  "3: tcp.max_connections: 1000 is below tcp.time_wait_max (4096, the default)" },
	{ TCP("max_connections = 100; time_wait_max = 101;"),
	  "3: tcp.time_wait_max: 101 is above tcp.max_connections (100)" },
	{ TCP("rto_max_ms = 65000;\n  rto_initial_ms = 70000;"),
	  "4: tcp.rto_initial_ms: 70000 is above tcp.rto_max_ms (65000)" },
	{ TCP("rto_min_ms = 500;\n  rto_max_ms = 400;"),
	  "4: tcp.rto_max_ms: 400 is below tcp.rto_min_ms (500)" },
	{ TCP("pool_reserve = 30;"),
	  "3: tcp.pool_reserve: 30 is above tcp.pool_low_watermark (25, the default)" },
	{ TCP("pool_low_watermark = 4;"),
	  "3: tcp.pool_low_watermark: 4 is below tcp.pool_reserve (5, the default)" },
	/* tcp.ephemeral_ports */
	{ TCP("ephemeral_ports = [32768];"),
	  "3: tcp.ephemeral_ports: has 1 entries, expected 2" },
	{ TCP("ephemeral_ports = [32768, 40000, 50000];"),
	  "3: tcp.ephemeral_ports: has 3 entries, expected 2" },
	{ TCP("ephemeral_ports = 32768;"),
	  "3: tcp.ephemeral_ports: expected an array of two integers, got an integer" },
	{ TCP("ephemeral_ports = [60999, 32768];"),
	  "3: tcp.ephemeral_ports: [60999, 32768]: the first port must be below the last" },
	{ TCP("ephemeral_ports = [40000, 40000];"),
	  "3: tcp.ephemeral_ports: [40000, 40000]: the first port must be below the last" },
	{ TCP("ephemeral_ports = [40000, 40062];"),
	  "3: tcp.ephemeral_ports: [40000, 40062] has 63 ports, at least 64" },
	{ TCP("ephemeral_ports = [1023, 60999];"),
	  "3: tcp.ephemeral_ports.[0]: 1023 is out of range (1024..65535)" },
	{ TCP("ephemeral_ports = [32768, 65536];"),
	  "3: tcp.ephemeral_ports.[1]: 65536 is out of range (1024..65535)" },
	{ TCP("ephemeral_ports = (\"32768\", 60999);"),
	  "3: tcp.ephemeral_ports.[0]: expected an integer, got a string" },
	/* services */
	{ V "services = 1;\n" PORTS, "2: services: expected a group, got an integer" },
	{ SVC("chargen = { enabled = true; port = 19; };"),
	  "3: services.chargen: unknown setting" },
	{ SVC("ecko = { enabled = true; };"),
	  "3: services.ecko: unknown setting (did you mean \"echo\"?)" },
	{ SVC("echo = { enabled = true; prot = 7; };"),
	  "3: services.echo.prot: unknown setting (did you mean \"port\"?)" },
	{ SVC("discard = { bytes = 5; };"),
	  "3: services.discard.bytes: unknown setting" },
	{ SVC("echo = 1;"), "3: services.echo: expected a group, got an integer" },
	{ SVC("echo = { enabled = 1; };"),
	  "3: services.echo.enabled: expected a boolean, got an integer" },
	{ SVC("echo = { port = 0; };"),
	  "3: services.echo.port: 0 is out of range (1..65535)" },
	{ SVC("source = { port = 65536; };"),
	  "3: services.source.port: 65536 is out of range (1..65535)" },
	{ SVC("source = { bytes = 1125899906842625L; };"),
	  "3: services.source.bytes: 1125899906842625 is out of range (0..1125899906842624)" },
	{ SVC("source = { bytes = -1; };"),
	  "3: services.source.bytes: -1 is out of range (0..1125899906842624)" },
	{ SVC("source = { bytes = 1.5; };"),
	  "3: services.source.bytes: expected an integer, got a float" },
	{ SVC("echo = { enabled = true; port = 9; };\n  discard = { enabled = true; };"),
	  "4: services.discard.port: 9 is already used by services.echo" },
	{ SVC("echo = { enabled = true; };\n  source = {\n    enabled = true;\n    port = 7;\n  };"),
	  "6: services.source.port: 7 is already used by services.echo" },
	{ SVC("echo = { enabled = true; port = 40000; };"),
	  "3: services.echo.port: 40000 is inside tcp.ephemeral_ports [32768, 60999]" },
	{ V "tcp: { ephemeral_ports = [1024, 2047]; };\n"
	  "services: {\n  discard = { enabled = true; port = 2047; };\n};\n" PORTS,
	  "4: services.discard.port: 2047 is inside tcp.ephemeral_ports [1024, 2047]" },
	/* linkem */
	{ V PORTS "linkem = { port = \"ext\"; };\n",
	  "6: linkem: expected a list of groups, got a group" },
	{ V PORTS "linkm = ( );\n", "6: linkm: unknown setting (did you mean \"linkem\"?)" },
	{ LINKEM("5"), "7: linkem.[0]: expected a group, got an integer" },
	{ LINKEM(LE4 LE4 LE4 LE4 "{ port = \"int\"; }"),
	  "6: linkem: has 17 entries, at most 16" },
	{ LINKEM("{ loss = 1.0; }"), "7: linkem.[0].port: missing (required)" },
	{ LINKEM("{ port = 1; }"), "7: linkem.[0].port: expected a string, got an integer" },
	{ LINKEM("{ port = \"dmz\"; }"),
	  "7: linkem.[0] (\"dmz\").port: \"dmz\" is not a configured port "
	  "(expected \"ext\" or \"int\")" },
	{ LINKEM("{ port = \"EXT\"; }"),
	  "7: linkem.[0].port: \"EXT\" is not a configured port "
	  "(expected \"ext\" or \"int\")" },
	{ LINKEM("{ port = \"ext\"; los = 2.0; }"),
	  "7: linkem.[0] (\"ext\").los: unknown setting (did you mean \"loss\"?)" },
	{ LINKEM("{ port = \"ext\"; rate = 2; }"),
	  "7: linkem.[0] (\"ext\").rate: unknown setting" },
	{ LINKEM("{ port = \"ext\"; direction = \"in\"; }"),
	  "7: linkem.[0] (\"ext\").direction: \"in\" is unknown "
	  "(expected \"rx\", \"tx\" or \"both\")" },
	{ LINKEM("{ port = \"ext\"; loss = 101; }"),
	  "7: linkem.[0] (\"ext\").loss: 101 is out of range (0..100)" },
	{ LINKEM("{ port = \"ext\"; duplicate = 100.5; }"),
	  "7: linkem.[0] (\"ext\").duplicate: 100.5 is out of range (0..100)" },
	{ LINKEM("{ port = \"ext\"; reorder = -0.001; }"),
	  "7: linkem.[0] (\"ext\").reorder: -0.001 is out of range (0..100)" },
	{ LINKEM("{ port = \"ext\"; corrupt = \"1%\"; }"),
	  "7: linkem.[0] (\"ext\").corrupt: expected a number, got a string" },
	{ LINKEM("{ port = \"ext\"; delay_us = 1000001; }"),
	  "7: linkem.[0] (\"ext\").delay_us: 1000001 is out of range (0..1000000)" },
	{ LINKEM("{ port = \"ext\"; jitter_us = -1; }"),
	  "7: linkem.[0] (\"ext\").jitter_us: -1 is out of range (0..1000000)" },
	{ LINKEM("{ port = \"ext\"; seed = -1; }"),
	  "7: linkem.[0] (\"ext\").seed: -1 is out of range (0..9223372036854775807)" },
	{ LINKEM("{ port = \"ext\"; seed = 1.0; }"),
	  "7: linkem.[0] (\"ext\").seed: expected an integer, got a float" },
	{ LINKEM("{ port = \"ext\"; },\n  { port = \"ext\"; direction = \"rx\"; }"),
	  "8: linkem.[1] (\"ext\").direction: \"rx\" overlaps \"both\" of linkem.[0] (\"ext\")" },
	{ LINKEM("{ port = \"int\"; direction = \"tx\"; },\n  { port = \"ext\"; },\n"
		 "  { port = \"int\";\n    direction = \"both\"; }"),
	  "10: linkem.[2] (\"int\").direction: \"both\" overlaps \"tx\" of linkem.[0] (\"int\")" },
	{ LINKEM("{ port = \"int\"; direction = \"rx\"; },\n  { port = \"int\"; direction = \"rx\"; }"),
	  "8: linkem.[1] (\"int\").direction: \"rx\" is already used by linkem.[0] (\"int\")" },
	{ LINKEM("{ port = \"ext\"; },\n  { port = \"ext\"; }"),
	  "8: linkem.[1] (\"ext\").direction: \"both\" is already used by linkem.[0] (\"ext\")" },
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

/* Write TEXT to a new file under /tmp; its name goes to PATH. */
static void test_config_write(const char *text, char path[64])
{
	config_test_write("/tmp/mailgw-test-config-XXXXXX.conf", text, path, 64);
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
	assert_int_equal(d.tcp.max_connections, 8192);
	assert_int_equal(d.tcp.syn_backlog, 1024);
	assert_int_equal(d.tcp.rcv_buffer, 262144);
	assert_int_equal(d.tcp.snd_buffer, 262144);
	assert_int_equal(d.tcp.reass_limit, 262144);
	assert_int_equal(d.tcp.time_wait, 60);
	assert_int_equal(d.tcp.time_wait_max, 4096);
	assert_int_equal(d.tcp.rto_min_ms, 200);
	assert_int_equal(d.tcp.rto_max_ms, 60000);
	assert_int_equal(d.tcp.rto_initial_ms, 1000);
	assert_int_equal(d.tcp.max_retransmits, 8);
	assert_int_equal(d.tcp.syn_retries, 5);
	assert_int_equal(d.tcp.delayed_ack_ms, 40);
	assert_int_equal(d.tcp.keepalive_idle, 0);
	assert_int_equal(d.tcp.keepalive_interval, 75);
	assert_int_equal(d.tcp.keepalive_probes, 9);
	assert_int_equal(d.tcp.idle_timeout, 0);
	assert_int_equal(d.tcp.syncookies, CFG_SYNCOOKIES_AUTO);
	assert_int_equal(d.tcp.ephemeral_first, 32768);
	assert_int_equal(d.tcp.ephemeral_last, 60999);
	assert_int_equal(d.tcp.conn_pool_share, 2);
	assert_int_equal(d.tcp.pool_low_watermark, 25);
	assert_int_equal(d.tcp.pool_reserve, 5);
	assert_false(d.services.echo.enabled);
	assert_int_equal(d.services.echo.port, 7);
	assert_false(d.services.discard.enabled);
	assert_int_equal(d.services.discard.port, 9);
	assert_false(d.services.source.enabled);
	assert_int_equal(d.services.source.port, 19);
	assert_int_equal(d.services.source_bytes, 1048576);
	assert_int_equal(d.n_linkem, 0);
	assert_string_equal(d.console_socket, "/run/mailgw/console.sock");
	assert_string_equal(d.log_file, "stderr");
	assert_int_equal(d.log_level, CFG_LOG_INFO);
	assert_int_equal(d.log_rate_limit, 100);

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

static void test_example_file(void **state)
{
	char path[PATH_MAX + 64], err[CFG_ERR_LEN];
	struct gw_config cfg, d;

	(void)state;
	NEED_CORES();
	config_test_example(path, sizeof(path));
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
	assert_int_equal(cfg.log_rate_limit, 100);

	/* The example shows the defaults of tcp and services; no linkem. */
	config_defaults(&d);
	assert_memory_equal(&cfg.tcp, &d.tcp, sizeof(d.tcp));
	assert_memory_equal(&cfg.services, &d.services, sizeof(d.services));
	assert_int_equal(cfg.n_linkem, 0);
	config_free(&cfg);
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

/* Every setting of tcp, services and linkem, none at its default. */
static const char test_config_all_new[] = V
	"system: { worker_cores = [1]; };\n"
	PORTS
	"tcp: {\n"
	"  max_connections = 100000; syn_backlog = 65536; rcv_buffer = 4096;\n"
	"  snd_buffer = 16777216; reass_limit = 0; time_wait = 600;\n"
	"  time_wait_max = 100000; rto_min_ms = 1; rto_max_ms = 600000;\n"
	"  rto_initial_ms = 3000; max_retransmits = 30; syn_retries = 1;\n"
	"  delayed_ack_ms = 0; keepalive_idle = 7200; keepalive_interval = 3600;\n"
	"  keepalive_probes = 100; idle_timeout = 86400; syncookies = \"never\";\n"
	"  ephemeral_ports = (1024, 1087);\n"
	"};\n"
	"services: {\n"
	"  echo = { enabled = true; port = 7007; };\n"
	"  discard: { enabled = true; port = 65535; };\n"
	"  source = { enabled = true; port = 1; bytes = 1125899906842624L; };\n"
	"};\n"
	"linkem = (\n"
	"  { port = \"ext\"; direction = \"rx\"; loss = 2.5; duplicate = 1;\n"
	"    reorder = 100; corrupt = 0.001; delay_us = 1000000; jitter_us = 250;\n"
	"    seed = 9223372036854775807L; },\n"
	"  { port = \"ext\"; direction = \"tx\"; seed = 0; },\n"
	"  {\n"
	"    port = \"int\";\n"
	"    loss = 33.333333333333336; duplicate = 0.1; reorder = 1e-05;\n"
	"    corrupt = 100.0; delay_us = 0; jitter_us = 1000000; seed = 42;\n"
	"  }\n"
	");\n";

static void test_new_groups(void **state)
{
	char path[64], err[CFG_ERR_LEN];
	struct gw_config cfg;

	(void)state;
	NEED_CORES();
	assert_int_equal(test_config_load_text(test_config_all_new, &cfg, path,
					       err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(cfg.tcp.max_connections, 100000);
	assert_int_equal(cfg.tcp.syn_backlog, 65536);
	assert_int_equal(cfg.tcp.rcv_buffer, 4096);
	assert_int_equal(cfg.tcp.snd_buffer, 16777216);
	assert_int_equal(cfg.tcp.reass_limit, 0);
	assert_int_equal(cfg.tcp.time_wait, 600);
	assert_int_equal(cfg.tcp.time_wait_max, 100000);
	assert_int_equal(cfg.tcp.rto_min_ms, 1);
	assert_int_equal(cfg.tcp.rto_max_ms, 600000);
	assert_int_equal(cfg.tcp.rto_initial_ms, 3000);
	assert_int_equal(cfg.tcp.max_retransmits, 30);
	assert_int_equal(cfg.tcp.syn_retries, 1);
	assert_int_equal(cfg.tcp.delayed_ack_ms, 0);
	assert_int_equal(cfg.tcp.keepalive_idle, 7200);
	assert_int_equal(cfg.tcp.keepalive_interval, 3600);
	assert_int_equal(cfg.tcp.keepalive_probes, 100);
	assert_int_equal(cfg.tcp.idle_timeout, 86400);
	assert_int_equal(cfg.tcp.syncookies, CFG_SYNCOOKIES_NEVER);
	assert_int_equal(cfg.tcp.ephemeral_first, 1024);
	assert_int_equal(cfg.tcp.ephemeral_last, 1087);
	assert_true(cfg.services.echo.enabled);
	assert_int_equal(cfg.services.echo.port, 7007);
	assert_true(cfg.services.discard.enabled);
	assert_int_equal(cfg.services.discard.port, 65535);
	assert_true(cfg.services.source.enabled);
	assert_int_equal(cfg.services.source.port, 1);
	assert_true(cfg.services.source_bytes == 1ULL << 50);
	assert_int_equal(cfg.n_linkem, 3);
	assert_string_equal(cfg.linkem[0].port, "ext");
	assert_int_equal(cfg.linkem[0].direction, CFG_LINKEM_RX);
	assert_true(cfg.linkem[0].loss == 2.5);
	assert_true(cfg.linkem[0].duplicate == 1.0);
	assert_true(cfg.linkem[0].reorder == 100.0);
	assert_true(cfg.linkem[0].corrupt == 0.001);
	assert_int_equal(cfg.linkem[0].delay_us, 1000000);
	assert_int_equal(cfg.linkem[0].jitter_us, 250);
	assert_true(cfg.linkem[0].seed == 9223372036854775807ULL);
	assert_int_equal(cfg.linkem[0].line, 22);
	/* Left out: direction "both", percentages and delays 0, seed 1. */
	assert_string_equal(cfg.linkem[1].port, "ext");
	assert_int_equal(cfg.linkem[1].direction, CFG_LINKEM_TX);
	assert_true(cfg.linkem[1].loss == 0 && cfg.linkem[1].duplicate == 0 &&
		    cfg.linkem[1].reorder == 0 && cfg.linkem[1].corrupt == 0);
	assert_int_equal(cfg.linkem[1].delay_us, 0);
	assert_int_equal(cfg.linkem[1].jitter_us, 0);
	assert_true(cfg.linkem[1].seed == 0);
	assert_int_equal(cfg.linkem[1].line, 25);
	assert_string_equal(cfg.linkem[2].port, "int");
	assert_int_equal(cfg.linkem[2].direction, CFG_LINKEM_BOTH);
	assert_true(cfg.linkem[2].loss == 100.0 / 3);
	assert_true(cfg.linkem[2].duplicate == 0.1);
	assert_true(cfg.linkem[2].reorder == 1e-05);
	assert_true(cfg.linkem[2].corrupt == 100.0);
	assert_int_equal(cfg.linkem[2].jitter_us, 1000000);
	assert_true(cfg.linkem[2].seed == 42);
	assert_int_equal(cfg.linkem[2].line, 26);

	/* An entry with only its port gets every default. */
	assert_int_equal(test_config_load_text(LINKEM("{ port = \"int\"; }"), &cfg,
					       path, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_linkem, 1);
	assert_int_equal(cfg.linkem[0].direction, CFG_LINKEM_BOTH);
	assert_true(cfg.linkem[0].loss == 0 && cfg.linkem[0].corrupt == 0);
	assert_true(cfg.linkem[0].seed == 1);
	assert_int_equal(cfg.linkem[0].line, 7);
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

	/* Empty groups and an empty linkem list. */
	assert_int_equal(test_config_load_text(V PORTS "tcp: { };\nservices: { echo: { }; };\n"
					       "linkem = ( );\n", &cfg, path, err,
					       sizeof(err)), 0);
	assert_int_equal(cfg.n_linkem, 0);
	assert_int_equal(cfg.tcp.max_connections, 8192);
	/* Disabled services may share a port and sit in the ephemeral range. */
	assert_int_equal(test_config_load_text(SVC("echo = { port = 40000; };"),
					       &cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.services.echo.port, 40000);
	assert_int_equal(test_config_load_text(SVC(
		"echo = { port = 5000; }; discard = { port = 5000; };\n"
		"  source = { enabled = true; port = 5000; bytes = 0; };"),
		&cfg, path, err, sizeof(err)), 0);
	assert_false(cfg.services.echo.enabled);
	assert_int_equal(cfg.services.echo.port, 5000);
	assert_true(cfg.services.source.enabled);
	assert_int_equal(cfg.services.source_bytes, 0);
	assert_int_equal(test_config_load_text(TCP(
		"ephemeral_ports = [49152, 49215]; rto_min_ms = 1000; rto_initial_ms = 1000;\n"
		"  rto_max_ms = 1000; time_wait_max = 16; max_connections = 16;"),
		&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.tcp.ephemeral_first, 49152);
	assert_int_equal(cfg.tcp.ephemeral_last, 49215);
	/* source.bytes as a plain int; seed at int64's lower bound of 0. */
	assert_int_equal(test_config_load_text(SVC("source = { bytes = 2147483647; };"),
					       &cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.services.source_bytes, 2147483647);
	/* rx and tx of one port, and the same direction of two ports. */
	assert_int_equal(test_config_load_text(LINKEM(
		"{ port = \"ext\"; direction = \"rx\"; }, { port = \"ext\"; direction = \"tx\"; },\n"
		"  { port = \"int\"; direction = \"rx\"; loss = 0; corrupt = 0.0; }"),
		&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_linkem, 3);
	assert_int_equal(cfg.linkem[2].direction, CFG_LINKEM_RX);
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

/*
 * OUT's heap lists (smtp domains and networks, routes) hold what IN's do;
 * then they are freed and OUT takes IN's pointers, so that the structs can be
 * compared whole. test_config_smtp.c tests these lists in detail.
 */
static void test_config_same_lists(struct gw_config *out,
				   const struct gw_config *in)
{
	unsigned i, j;

	assert_int_equal(out->smtp.n_accepted_domains, in->smtp.n_accepted_domains);
	for (i = 0; i < in->smtp.n_accepted_domains; i++)
		assert_string_equal(out->smtp.accepted_domains[i],
				    in->smtp.accepted_domains[i]);
	assert_int_equal(out->smtp.n_relay_networks, in->smtp.n_relay_networks);
	for (i = 0; i < in->smtp.n_relay_networks; i++) {
		assert_int_equal(out->smtp.relay_networks[i].addr,
				 in->smtp.relay_networks[i].addr);
		assert_int_equal(out->smtp.relay_networks[i].prefix_len,
				 in->smtp.relay_networks[i].prefix_len);
	}
	assert_int_equal(out->n_routes, in->n_routes);
	for (i = 0; i < in->n_routes; i++) {
		assert_int_equal(out->routes[i].n_domains, in->routes[i].n_domains);
		for (j = 0; j < in->routes[i].n_domains; j++)
			assert_string_equal(out->routes[i].domains[j],
					    in->routes[i].domains[j]);
		assert_int_equal(out->routes[i].n_hops, in->routes[i].n_hops);
		assert_memory_equal(out->routes[i].hops, in->routes[i].hops,
				    in->routes[i].n_hops * sizeof(in->routes[i].hops[0]));
	}
	config_free(out);
	out->smtp.accepted_domains = in->smtp.accepted_domains;
	out->smtp.n_accepted_domains = in->smtp.n_accepted_domains;
	out->smtp.relay_networks = in->smtp.relay_networks;
	out->smtp.n_relay_networks = in->smtp.n_relay_networks;
	out->routes = in->routes;
	out->n_routes = in->n_routes;
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
	for (i = 0; i < out.n_linkem; i++)
		out.linkem[i].line = in->linkem[i].line;
	test_config_same_lists(&out, in);
	assert_memory_equal(&out, in, sizeof(out));
}

static void test_format(void **state)
{
	char path[PATH_MAX + 64], err[CFG_ERR_LEN], small[32], *big;
	struct gw_config cfg;
	int n;

	(void)state;
	NEED_CORES();
	config_test_example(path, sizeof(path));
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	test_config_round_trip(&cfg);
	config_free(&cfg);
	/* Without linkem entries there is no linkem list. */
	big = malloc(65536);
	assert_non_null(big);
	config_format(&cfg, big, 65536);
	assert_non_null(strstr(big, "\ntcp: {\n"));
	assert_non_null(strstr(big, "\nservices: {\n"));
	assert_null(strstr(big, "linkem"));
	free(big);

	assert_int_equal(test_config_load_text(test_config_all_new, &cfg, path, err,
					       sizeof(err)), 0);
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
		"tcp: { syncookies = \"always\"; ephemeral_ports = [65472, 65535]; keepalive_idle = 1; };\n"
		"services: { discard: { enabled = true; port = 65471; }; source: { bytes = 3000000000L; }; };\n"
		"linkem = (\n"
		"  { port = \"host\"; direction = \"tx\"; loss = 0.30000000000000004; seed = 2147483648L; },\n"
		"  { port = \"p2p\"; reorder = 99.99999999999999; corrupt = 5e-324; delay_us = 7; },\n"
		"  { port = \"host\"; direction = \"rx\"; duplicate = 12; seed = 2147483647; }\n"
		");\n"
		"console: { socket = \"/tmp/c.sock\"; };\n"
		"log: { file = \"syslog\"; level = \"debug\"; };\n",
		&cfg, path, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_linkem, 3);
	assert_true(cfg.linkem[1].corrupt > 0);
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
		cmocka_unit_test(test_new_groups),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_parse_cidr),
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
