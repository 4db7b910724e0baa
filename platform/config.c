/*
 * config.c — load and validate the gateway's libconfig file (schema v1).
 *
 * The control plane calls config_load() once at start-up (before the EAL is
 * initialised) and again on reload. It parses the file with libconfig, checks
 * every setting against the schema tables below, and fills one immutable
 * struct gw_config; config_format() writes it back for `mailgwctl show config`.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libconfig.h>

#include "platform/config.h"
#include "platform/config_priv.h"

#define CFG_MAX_CORE     (CPU_SETSIZE - 1)
#define CFG_SOCKET_LEN   108             /* sizeof(sun_path) */

/* A boolean setting stored in a bool field of struct gw_config. */
struct cfg_bool_rule {
	const char *name;
	size_t offset;
};

static const char *const cfg_root_names[] = {
	"version", "system", "ports", "tcp", "services", "linkem", "smtp",
	"tls", "routes", "connectors", "console", "log", NULL
};
static const char *const cfg_system_names[] = {
	"control_core", "worker_cores", "allow_shared_cores", "hugepages",
	"memory_mb", "file_prefix", "poll_mode", "idle_sleep_max_us",
	"eal_extra_args", "limits", "test_fault_alloc_every", NULL
};
static const char *const cfg_limit_names[] = {
	"mbufs_per_worker", "rx_descriptors", "tx_descriptors",
	"arp_cache_size", "arp_timeout", "arp_queue_length",
	"icmp_rate_limit", "log_ring_size", NULL
};
static const char *const cfg_port_names[] = {
	"name", "device", "address", "gateway", "mtu", NULL
};
static const char *const cfg_tcp_names[] = {
	"max_connections", "syn_backlog", "rcv_buffer", "snd_buffer",
	"reass_limit", "time_wait", "time_wait_max", "rto_min_ms", "rto_max_ms",
	"rto_initial_ms", "max_retransmits", "syn_retries", "delayed_ack_ms",
	"keepalive_idle", "keepalive_interval", "keepalive_probes",
	"idle_timeout", "syncookies", "ephemeral_ports",
	"conn_pool_share", "pool_low_watermark", "pool_reserve", NULL
};
static const char *const cfg_services_names[] = {
	"echo", "discard", "source", NULL
};
static const char *const cfg_service_names[] = { "enabled", "port", NULL };
static const char *const cfg_source_names[] = {
	"enabled", "port", "bytes", NULL
};
static const char *const cfg_linkem_names[] = {
	"port", "direction", "loss", "duplicate", "reorder", "corrupt",
	"delay_us", "jitter_us", "seed", NULL
};
static const char *const cfg_console_names[] = { "socket", NULL };
static const char *const cfg_log_names[] = { "file", "level", "rate_limit", NULL };

static const char *const cfg_poll_modes[] = { "busy", "adaptive", NULL };
static const char *const cfg_log_levels[] = {
	"err", "warning", "info", "debug", NULL
};
static const char *const cfg_syncookie_modes[] = {
	"auto", "always", "never", NULL
};
/* Indexed by enum cfg_linkem_dir - 1. */
static const char *const cfg_linkem_dirs[] = { "rx", "tx", "both", NULL };

static const struct cfg_int_rule cfg_system_ints[] = {
	{ "memory_mb", offsetof(struct gw_config, memory_mb), 64, 65536, false },
	{ "idle_sleep_max_us", offsetof(struct gw_config, idle_sleep_max_us),
	  1, 100000, false },
	{ "test_fault_alloc_every", offsetof(struct gw_config, test_fault_alloc_every),
	  0, 1000000, false },
};

static const struct cfg_int_rule cfg_limit_ints[] = {
	{ "mbufs_per_worker", offsetof(struct cfg_limits, mbufs_per_worker),
	  1023, 1048575, false },
	{ "rx_descriptors", offsetof(struct cfg_limits, rx_descriptors),
	  64, 16384, true },
	{ "tx_descriptors", offsetof(struct cfg_limits, tx_descriptors),
	  64, 16384, true },
	{ "arp_cache_size", offsetof(struct cfg_limits, arp_cache_size),
	  16, 65536, false },
	{ "arp_timeout", offsetof(struct cfg_limits, arp_timeout), 1, 86400, false },
	{ "arp_queue_length", offsetof(struct cfg_limits, arp_queue_length),
	  1, 64, false },
	{ "icmp_rate_limit", offsetof(struct cfg_limits, icmp_rate_limit),
	  1, 1000000, false },
	{ "log_ring_size", offsetof(struct cfg_limits, log_ring_size),
	  64, 65536, true },
};

static const struct cfg_int_rule cfg_tcp_ints[] = {
	{ "max_connections", offsetof(struct cfg_tcp, max_connections),
	  16, 1048576, false },
	{ "syn_backlog", offsetof(struct cfg_tcp, syn_backlog), 1, 65536, false },
	{ "rcv_buffer", offsetof(struct cfg_tcp, rcv_buffer), 4096, 16777216, false },
	{ "snd_buffer", offsetof(struct cfg_tcp, snd_buffer), 4096, 16777216, false },
	{ "reass_limit", offsetof(struct cfg_tcp, reass_limit), 0, 16777216, false },
	{ "time_wait", offsetof(struct cfg_tcp, time_wait), 1, 600, false },
	{ "time_wait_max", offsetof(struct cfg_tcp, time_wait_max),
	  0, 1048576, false },
	{ "rto_min_ms", offsetof(struct cfg_tcp, rto_min_ms), 1, 60000, false },
	{ "rto_max_ms", offsetof(struct cfg_tcp, rto_max_ms), 1, 600000, false },
	{ "rto_initial_ms", offsetof(struct cfg_tcp, rto_initial_ms),
	  1, 600000, false },
	{ "max_retransmits", offsetof(struct cfg_tcp, max_retransmits), 1, 30, false },
	{ "syn_retries", offsetof(struct cfg_tcp, syn_retries), 1, 30, false },
	{ "delayed_ack_ms", offsetof(struct cfg_tcp, delayed_ack_ms), 0, 500, false },
	{ "keepalive_idle", offsetof(struct cfg_tcp, keepalive_idle), 0, 86400, false },
	{ "keepalive_interval", offsetof(struct cfg_tcp, keepalive_interval),
	  1, 3600, false },
	{ "keepalive_probes", offsetof(struct cfg_tcp, keepalive_probes),
	  1, 100, false },
	{ "idle_timeout", offsetof(struct cfg_tcp, idle_timeout), 0, 86400, false },
	{ "conn_pool_share", offsetof(struct cfg_tcp, conn_pool_share), 1, 100, false },
	{ "pool_low_watermark", offsetof(struct cfg_tcp, pool_low_watermark), 1, 90, false },
	{ "pool_reserve", offsetof(struct cfg_tcp, pool_reserve), 1, 50, false },
};

/*
 * Pairs of tcp settings that must satisfy LO <= HI. One of the two is bounded
 * by the other (LO when lo_bounded, else HI): it is blamed when the file
 * gives it, the other one when only that is given.
 */
static const struct cfg_tcp_order {
	const char *lo, *hi;
	size_t lo_offset, hi_offset;
	bool lo_bounded;
} cfg_tcp_orders[] = {
	{ "rto_min_ms", "rto_max_ms", offsetof(struct cfg_tcp, rto_min_ms),
	  offsetof(struct cfg_tcp, rto_max_ms), false },
	{ "rto_min_ms", "rto_initial_ms", offsetof(struct cfg_tcp, rto_min_ms),
	  offsetof(struct cfg_tcp, rto_initial_ms), false },
	{ "rto_initial_ms", "rto_max_ms", offsetof(struct cfg_tcp, rto_initial_ms),
	  offsetof(struct cfg_tcp, rto_max_ms), true },
	{ "time_wait_max", "max_connections",
	  offsetof(struct cfg_tcp, time_wait_max),
	  offsetof(struct cfg_tcp, max_connections), true },
	{ "pool_reserve", "pool_low_watermark",
	  offsetof(struct cfg_tcp, pool_reserve),
	  offsetof(struct cfg_tcp, pool_low_watermark), true },
};

#define CFG_EPHEMERAL_MIN     1024
#define CFG_EPHEMERAL_SPAN    64              /* ports in the range, at least */
#define CFG_SOURCE_BYTES_MAX  (1LL << 50)
#define CFG_LINKEM_DELAY_MAX  1000000         /* microseconds */

/* A built-in service: its group in `services` and its place in the struct. */
static const struct cfg_service_rule {
	const char *name;
	size_t offset;                  /* of its struct cfg_service */
	const char *const *names;       /* settings its group may hold */
} cfg_service_rules[] = {
	{ "echo", offsetof(struct cfg_services, echo), cfg_service_names },
	{ "discard", offsetof(struct cfg_services, discard), cfg_service_names },
	{ "source", offsetof(struct cfg_services, source), cfg_source_names },
};

/* A percentage (int or float, 0..100) of a linkem entry. */
static const struct cfg_percent_rule {
	const char *name;
	size_t offset;
} cfg_linkem_percents[] = {
	{ "loss", offsetof(struct cfg_linkem, loss) },
	{ "duplicate", offsetof(struct cfg_linkem, duplicate) },
	{ "reorder", offsetof(struct cfg_linkem, reorder) },
	{ "corrupt", offsetof(struct cfg_linkem, corrupt) },
};

static const struct cfg_int_rule cfg_linkem_ints[] = {
	{ "delay_us", offsetof(struct cfg_linkem, delay_us),
	  0, CFG_LINKEM_DELAY_MAX, false },
	{ "jitter_us", offsetof(struct cfg_linkem, jitter_us),
	  0, CFG_LINKEM_DELAY_MAX, false },
};

static const struct cfg_bool_rule cfg_system_bools[] = {
	{ "allow_shared_cores", offsetof(struct gw_config, allow_shared_cores) },
	{ "hugepages", offsetof(struct gw_config, hugepages) },
};

/* ---- errors and paths ------------------------------------------------- */

int cfg_fail(struct cfg_ctx *c, int line, const char *path, const char *fmt, ...)
{
	char msg[CFG_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s:%d: %s: %s", c->file,
			 line > 0 ? line : 1, path, msg);
	return -EINVAL;
}

int cfg_line(const config_setting_t *s)
{
	return s ? config_setting_source_line(s) : 0;
}

/* Line of group's member NAME, or of the group itself when it is absent. */
int cfg_member_line(const config_setting_t *group, const char *name)
{
	const config_setting_t *m = config_setting_get_member(group, name);

	return m ? cfg_line(m) : cfg_line(group);
}

void cfg_path(char *buf, size_t n, const char *prefix, const char *name)
{
	snprintf(buf, n, "%s%s%s", prefix, *prefix ? "." : "", name);
}

static const char *cfg_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a float";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	}
	return "nothing";
}

int cfg_type_error(struct cfg_ctx *c, const config_setting_t *s,
		   const char *path, const char *expected)
{
	return cfg_fail(c, cfg_line(s), path, "expected %s, got %s", expected,
			cfg_type_name(config_setting_type(s)));
}

/* ---- unknown settings --------------------------------------------------- */

/* Levenshtein distance of two short names (longer ones never match). */
static unsigned cfg_distance(const char *a, const char *b)
{
	unsigned row[65], i, j, diag, up;
	size_t la = strlen(a), lb = strlen(b);

	if (la > 64 || lb > 64)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* The known name closest to NAME within edit distance 2, or NULL. */
const char *cfg_closest(const char *const *known, const char *name)
{
	const char *best = NULL;
	unsigned d, best_d = 3;

	for (; *known; known++) {
		d = cfg_distance(*known, name);
		if (d < best_d) {
			best = *known;
			best_d = d;
		}
	}
	return best;
}

static bool cfg_is_known(const char *const *known, const char *name)
{
	for (; *known; known++)
		if (strcmp(*known, name) == 0)
			return true;
	return false;
}

/* Refuse any member of GROUP that is not in KNOWN. */
int cfg_check_names(struct cfg_ctx *c, const config_setting_t *group,
		    const char *prefix, const char *const *known)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	const char *name, *hint;
	int i, n = config_setting_length(group);

	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(group, i);
		name = config_setting_name(s);
		if (!name || cfg_is_known(known, name))
			continue;
		cfg_path(path, sizeof(path), prefix, name);
		hint = cfg_closest(known, name);
		if (hint)
			return cfg_fail(c, cfg_line(s), path,
					"unknown setting (did you mean \"%s\"?)", hint);
		return cfg_fail(c, cfg_line(s), path, "unknown setting");
	}
	return 0;
}

/* ---- typed getters -------------------------------------------------------- */

int cfg_get_int(struct cfg_ctx *c, const config_setting_t *s,
		const char *path, long long min, long long max,
		long long *out)
{
	int t = config_setting_type(s);

	*out = 0;
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return cfg_type_error(c, s, path, "an integer");
	*out = config_setting_get_int64(s);
	if (*out < min || *out > max)
		return cfg_fail(c, cfg_line(s), path,
				"%lld is out of range (%lld..%lld)", *out, min, max);
	return 0;
}

int cfg_get_string(struct cfg_ctx *c, const config_setting_t *s,
		   const char *path, const char **out)
{
	*out = "";
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_type_error(c, s, path, "a string");
	*out = config_setting_get_string(s);
	return 0;
}

/* Copy a string setting of at most MAXLEN characters into DST. */
int cfg_get_strcpy(struct cfg_ctx *c, const config_setting_t *s,
		   const char *path, char *dst, size_t maxlen)
{
	const char *v;
	size_t len;
	int rc = cfg_get_string(c, s, path, &v);

	if (rc < 0)
		return rc;
	len = strlen(v);
	if (len == 0)
		return cfg_fail(c, cfg_line(s), path, "must not be empty");
	if (len > maxlen)
		return cfg_fail(c, cfg_line(s), path,
				"is too long (%zu characters, at most %zu)", len, maxlen);
	memcpy(dst, v, len + 1);
	return 0;
}

/* NAMES as "\"a\", \"b\" or \"c\"". */
static void cfg_name_list(char *list, size_t n, const char *const *names)
{
	int i;

	list[0] = '\0';
	for (i = 0; names[i]; i++)
		snprintf(list + strlen(list), n - strlen(list), "%s\"%s\"",
			 i == 0 ? "" : names[i + 1] ? ", " : " or ", names[i]);
}

/* A string setting that must be one of NAMES; its index goes to OUT. */
int cfg_get_enum(struct cfg_ctx *c, const config_setting_t *s,
		 const char *path, const char *const *names, int *out)
{
	char list[256];
	const char *v;
	int i, rc = cfg_get_string(c, s, path, &v);

	if (rc < 0)
		return rc;
	for (i = 0; names[i]; i++) {
		if (strcmp(v, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	cfg_name_list(list, sizeof(list), names);
	return cfg_fail(c, cfg_line(s), path, "\"%s\" is unknown (expected %s)",
			v, list);
}

int cfg_get_bool(struct cfg_ctx *c, const config_setting_t *s,
		 const char *path, bool *out)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_type_error(c, s, path, "a boolean");
	*out = config_setting_get_bool(s);
	return 0;
}

/* Shortest "%g" form of V that reads back as V exactly. */
static void cfg_fmt_double(char buf[32], double v)
{
	int prec;

	for (prec = 15; prec < 17; prec++) {
		snprintf(buf, 32, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
	snprintf(buf, 32, "%.17g", v);
}

/* Optional group member NAME of PARENT: *out = NULL when absent. */
int cfg_get_group(struct cfg_ctx *c, const config_setting_t *parent,
		  const char *name, const char *path,
		  config_setting_t **out)
{
	*out = config_setting_get_member(parent, name);
	if (*out && config_setting_type(*out) != CONFIG_TYPE_GROUP)
		return cfg_type_error(c, *out, path, "a group");
	return 0;
}

bool cfg_is_sequence(const config_setting_t *s)
{
	return config_setting_is_array(s) || config_setting_is_list(s);
}

/* ---- system --------------------------------------------------------------- */

int cfg_load_ints(struct cfg_ctx *c, const config_setting_t *group,
		  const char *prefix, const struct cfg_int_rule *rules,
		  size_t n, void *dst)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	long long v;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		s = config_setting_get_member(group, rules[i].name);
		if (!s)
			continue;
		cfg_path(path, sizeof(path), prefix, rules[i].name);
		rc = cfg_get_int(c, s, path, rules[i].min, rules[i].max, &v);
		if (rc < 0)
			return rc;
		if (rules[i].pow2 && (v & (v - 1)) != 0)
			return cfg_fail(c, cfg_line(s), path,
					"%lld is not a power of two", v);
		*(unsigned *)((char *)dst + rules[i].offset) = (unsigned)v;
	}
	return 0;
}

static int cfg_load_bools(struct cfg_ctx *c, const config_setting_t *sys,
			  struct gw_config *cfg)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	size_t i;
	int rc;

	for (i = 0; i < CFG_NELEM(cfg_system_bools); i++) {
		s = config_setting_get_member(sys, cfg_system_bools[i].name);
		if (!s)
			continue;
		cfg_path(path, sizeof(path), "system", cfg_system_bools[i].name);
		rc = cfg_get_bool(c, s, path,
				  (bool *)((char *)cfg + cfg_system_bools[i].offset));
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int cfg_load_worker_cores(struct cfg_ctx *c, const config_setting_t *s,
				 struct gw_config *cfg)
{
	char path[CFG_PATH_BUF];
	long long v;
	int i, n, rc;

	if (!cfg_is_sequence(s))
		return cfg_type_error(c, s, "system.worker_cores",
				      "an array of integers");
	n = config_setting_length(s);
	if (n < 1 || n > CFG_MAX_WORKERS)
		return cfg_fail(c, cfg_line(s), "system.worker_cores",
				"has %d entries, expected 1..%d", n, CFG_MAX_WORKERS);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);

		snprintf(path, sizeof(path), "system.worker_cores.[%d]", i);
		rc = cfg_get_int(c, e, path, 0, CFG_MAX_CORE, &v);
		if (rc < 0)
			return rc;
		cfg->worker_cores[i] = (unsigned)v;
	}
	cfg->n_workers = (unsigned)n;
	return 0;
}

static int cfg_load_cores(struct cfg_ctx *c, const config_setting_t *sys,
			  struct gw_config *cfg)
{
	const config_setting_t *s;
	long long v;
	int rc;

	s = config_setting_get_member(sys, "control_core");
	if (s) {
		rc = cfg_get_int(c, s, "system.control_core", 0, CFG_MAX_CORE, &v);
		if (rc < 0)
			return rc;
		cfg->control_core = (unsigned)v;
	}
	s = config_setting_get_member(sys, "worker_cores");
	return s ? cfg_load_worker_cores(c, s, cfg) : 0;
}

static bool cfg_prefix_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
}

static int cfg_load_file_prefix(struct cfg_ctx *c, const config_setting_t *sys,
				struct gw_config *cfg)
{
	const config_setting_t *s = config_setting_get_member(sys, "file_prefix");
	const char *v;
	size_t i;
	int rc;

	if (!s)
		return 0;
	rc = cfg_get_string(c, s, "system.file_prefix", &v);
	if (rc < 0)
		return rc;
	for (i = 0; v[i] && cfg_prefix_char(v[i]); i++)
		;
	if (i == 0 || v[i] || i >= sizeof(cfg->file_prefix))
		return cfg_fail(c, cfg_line(s), "system.file_prefix",
				"\"%s\" is invalid (1..63 characters of A-Z a-z 0-9 _ -)",
				v);
	memcpy(cfg->file_prefix, v, i + 1);
	return 0;
}

static int cfg_load_poll_mode(struct cfg_ctx *c, const config_setting_t *sys,
			      struct gw_config *cfg)
{
	const config_setting_t *s = config_setting_get_member(sys, "poll_mode");
	int mode, rc;

	if (!s)
		return 0;
	rc = cfg_get_enum(c, s, "system.poll_mode", cfg_poll_modes, &mode);
	if (rc == 0)
		cfg->poll_mode = (enum cfg_poll_mode)mode;
	return rc;
}

static int cfg_load_eal_args(struct cfg_ctx *c, const config_setting_t *sys,
			     struct gw_config *cfg)
{
	const config_setting_t *s = config_setting_get_member(sys, "eal_extra_args");
	char path[CFG_PATH_BUF];
	int i, n, rc;

	if (!s)
		return 0;
	if (!cfg_is_sequence(s))
		return cfg_type_error(c, s, "system.eal_extra_args",
				      "an array of strings");
	n = config_setting_length(s);
	if (n > CFG_MAX_EAL_EXTRA)
		return cfg_fail(c, cfg_line(s), "system.eal_extra_args",
				"has %d entries, at most %d", n, CFG_MAX_EAL_EXTRA);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "system.eal_extra_args.[%d]", i);
		rc = cfg_get_strcpy(c, config_setting_get_elem(s, i), path,
				    cfg->eal_extra_args[i], CFG_DEVICE_LEN - 1);
		if (rc < 0)
			return rc;
	}
	cfg->n_eal_extra = (unsigned)n;
	return 0;
}

static int cfg_load_limits(struct cfg_ctx *c, const config_setting_t *sys,
			   struct gw_config *cfg)
{
	config_setting_t *lim;
	int rc = cfg_get_group(c, sys, "limits", "system.limits", &lim);

	if (rc < 0 || !lim)
		return rc;
	rc = cfg_check_names(c, lim, "system.limits", cfg_limit_names);
	if (rc == 0)
		rc = cfg_load_ints(c, lim, "system.limits", cfg_limit_ints,
				   CFG_NELEM(cfg_limit_ints), &cfg->limits);
	return rc;
}

static int cfg_load_system(struct cfg_ctx *c, const config_setting_t *root,
			   struct gw_config *cfg)
{
	config_setting_t *sys;
	int rc = cfg_get_group(c, root, "system", "system", &sys);

	if (rc < 0 || !sys)
		return rc;
	rc = cfg_check_names(c, sys, "system", cfg_system_names);
	if (rc == 0)
		rc = cfg_load_cores(c, sys, cfg);
	if (rc == 0)
		rc = cfg_load_bools(c, sys, cfg);
	if (rc == 0)
		rc = cfg_load_ints(c, sys, "system", cfg_system_ints,
				   CFG_NELEM(cfg_system_ints), cfg);
	if (rc == 0)
		rc = cfg_load_file_prefix(c, sys, cfg);
	if (rc == 0)
		rc = cfg_load_poll_mode(c, sys, cfg);
	if (rc == 0)
		rc = cfg_load_eal_args(c, sys, cfg);
	if (rc == 0)
		rc = cfg_load_limits(c, sys, cfg);
	return rc;
}

/* ---- cores ------------------------------------------------------------------ */

/* The usable CPUs as a list of ranges: "0-3,6,8-9". */
static void cfg_format_cpus(const cpu_set_t *set, char *buf, size_t len)
{
	size_t used = 0;
	int i, j;

	buf[0] = '\0';
	for (i = 0; i < CPU_SETSIZE && used < len; i++) {
		if (!CPU_ISSET(i, set))
			continue;
		for (j = i; j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, set); j++)
			;
		used += snprintf(buf + used, len - used, j > i ? "%s%d-%d" : "%s%d",
				 used ? "," : "", i, j);
		i = j;
	}
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* Line of system.NAME, or of the system group, or 1 when both are absent. */
static int cfg_system_line(const config_setting_t *root, const char *name)
{
	const config_setting_t *sys = config_setting_get_member(root, "system");

	return sys ? cfg_member_line(sys, name) : 1;
}

static int cfg_check_usable(struct cfg_ctx *c, const config_setting_t *root,
			    const char *name, unsigned core)
{
	char cpus[256], path[CFG_PATH_BUF];

	if (core < CPU_SETSIZE && CPU_ISSET(core, &c->usable))
		return 0;
	cfg_format_cpus(&c->usable, cpus, sizeof(cpus));
	cfg_path(path, sizeof(path), "system", name);
	return cfg_fail(c, cfg_system_line(root, name), path,
			"core %u does not exist or is not usable (usable cores: %s)",
			core, cpus);
}

static int cfg_check_sharing(struct cfg_ctx *c, const config_setting_t *root,
			     const struct gw_config *cfg)
{
	int line = cfg_system_line(root, "worker_cores");
	unsigned i, j;

	if (cfg->allow_shared_cores)
		return 0;
	for (i = 0; i < cfg->n_workers; i++) {
		if (cfg->worker_cores[i] == cfg->control_core)
			return cfg_fail(c, line, "system.worker_cores",
					"core %u is also the control core (allowed only "
					"with system.allow_shared_cores = true)",
					cfg->worker_cores[i]);
		for (j = 0; j < i; j++)
			if (cfg->worker_cores[j] == cfg->worker_cores[i])
				return cfg_fail(c, line, "system.worker_cores",
						"core %u is listed twice (allowed only "
						"with system.allow_shared_cores = true)",
						cfg->worker_cores[i]);
	}
	return 0;
}

/* Every core, given or defaulted, must be in this process's affinity set. */
static int cfg_check_cores(struct cfg_ctx *c, const config_setting_t *root,
			   const struct gw_config *cfg)
{
	unsigned i;
	int rc = cfg_check_usable(c, root, "control_core", cfg->control_core);

	for (i = 0; rc == 0 && i < cfg->n_workers; i++)
		rc = cfg_check_usable(c, root, "worker_cores", cfg->worker_cores[i]);
	return rc == 0 ? cfg_check_sharing(c, root, cfg) : rc;
}

/* ---- addresses ----------------------------------------------------------- */

/* 1..3 decimal digits without a leading zero, at most MAX; NULL if not. */
static const char *cfg_parse_num(const char *s, unsigned max, unsigned *out)
{
	const char *p = s;
	unsigned v = 0;

	while (*p >= '0' && *p <= '9' && p - s < 3)
		v = v * 10 + (unsigned)(*p++ - '0');
	if (p == s || (p - s > 1 && *s == '0') || v > max ||
	    (*p >= '0' && *p <= '9'))
		return NULL;
	*out = v;
	return p;
}

/* Four dotted octets at the start of S; returns the end or NULL. */
const char *cfg_parse_quad(const char *s, uint32_t *addr)
{
	unsigned octet, i;
	uint32_t a = 0;

	for (i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return NULL;
		s = cfg_parse_num(s, 255, &octet);
		if (!s)
			return NULL;
		a = a << 8 | octet;
	}
	*addr = a;
	return s;
}

int config_parse_ipv4(const char *s, uint32_t *addr)
{
	uint32_t a;

	if (!s)
		return -EINVAL;
	s = cfg_parse_quad(s, &a);
	if (!s || *s)
		return -EINVAL;
	*addr = a;
	return 0;
}

int config_parse_cidr(const char *s, uint32_t *addr, uint8_t *prefix_len)
{
	unsigned len;
	uint32_t a;

	if (!s)
		return -EINVAL;
	s = cfg_parse_quad(s, &a);
	if (!s || *s++ != '/')
		return -EINVAL;
	s = cfg_parse_num(s, 32, &len);
	if (!s || *s)
		return -EINVAL;
	*addr = a;
	*prefix_len = (uint8_t)len;
	return 0;
}

uint32_t cfg_mask(unsigned prefix_len)
{
	return prefix_len ? 0xffffffffu << (32 - prefix_len) : 0;
}

void cfg_ntoa(uint32_t a, char buf[16])
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
}

/* Why A cannot be a host address in a /LEN subnet, or NULL if it can. */
const char *cfg_bad_host(uint32_t a, unsigned len)
{
	uint32_t host = ~cfg_mask(len);

	if ((a >> 24) == 0)
		return "is in 0.0.0.0/8, not a usable host address";
	if ((a >> 24) == 127)
		return "is a loopback address";
	if ((a >> 28) == 14)
		return "is a multicast address";
	if ((a >> 28) == 15)
		return "is a reserved (class E) address";
	if (len <= 30 && (a & host) == 0)
		return "is the network address of its subnet";
	if (len <= 30 && (a & host) == host)
		return "is the broadcast address of its subnet";
	return NULL;
}

/* ---- ports ------------------------------------------------------------------ */

static bool cfg_name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

static bool cfg_valid_port_name(const char *v)
{
	size_t i;

	for (i = 0; v[i] && cfg_name_char(v[i]); i++)
		;
	return i > 0 && !v[i] && i < CFG_NAME_LEN;
}

static bool cfg_hex_run(const char *s, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

/* [DDDD:]BB:DD.F, optionally followed by ",devargs". */
static bool cfg_is_pci(const char *d)
{
	if (cfg_hex_run(d, 4) && d[4] == ':')
		d += 5;
	if (!cfg_hex_run(d, 2) || d[2] != ':' || !cfg_hex_run(d + 3, 2) ||
	    d[5] != '.' || d[6] < '0' || d[6] > '7')
		return false;
	return d[7] == '\0' || d[7] == ',';
}

/* "ports.[1] (\"int\")" once the name is known to be valid, else "ports.[1]". */
static void cfg_port_label(char *buf, size_t n, unsigned idx, const char *name)
{
	if (name && cfg_valid_port_name(name))
		snprintf(buf, n, "ports.[%u] (\"%s\")", idx, name);
	else
		snprintf(buf, n, "ports.[%u]", idx);
}

/* Required member NAME of a port group, with "missing" at the group's line. */
static int cfg_port_member(struct cfg_ctx *c, const config_setting_t *g,
			   const char *label, const char *name,
			   const config_setting_t **out)
{
	char path[CFG_PATH_BUF];

	*out = config_setting_get_member(g, name);
	if (*out)
		return 0;
	cfg_path(path, sizeof(path), label, name);
	return cfg_fail(c, cfg_line(g), path, "missing (required)");
}

static int cfg_port_name(struct cfg_ctx *c, const config_setting_t *g,
			 const char *label, struct cfg_port *p)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	const char *v;
	int rc = cfg_port_member(c, g, label, "name", &s);

	cfg_path(path, sizeof(path), label, "name");
	if (rc == 0)
		rc = cfg_get_string(c, s, path, &v);
	if (rc < 0)
		return rc;
	if (!cfg_valid_port_name(v))
		return cfg_fail(c, cfg_line(s), path,
				"\"%s\" is invalid (1..15 characters of a-z 0-9 _ -)", v);
	snprintf(p->name, sizeof(p->name), "%s", v);
	return 0;
}

static int cfg_port_device(struct cfg_ctx *c, const config_setting_t *g,
			   const char *label, struct cfg_port *p)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	int rc = cfg_port_member(c, g, label, "device", &s);

	cfg_path(path, sizeof(path), label, "device");
	if (rc == 0)
		rc = cfg_get_strcpy(c, s, path, p->device, CFG_DEVICE_LEN - 1);
	if (rc == 0)
		p->is_pci = cfg_is_pci(p->device);
	return rc;
}

static int cfg_port_address(struct cfg_ctx *c, const config_setting_t *g,
			    const char *label, struct cfg_port *p)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	const char *v, *why;
	int rc = cfg_port_member(c, g, label, "address", &s);

	cfg_path(path, sizeof(path), label, "address");
	if (rc == 0)
		rc = cfg_get_string(c, s, path, &v);
	if (rc < 0)
		return rc;
	if (config_parse_cidr(v, &p->addr, &p->prefix_len) < 0)
		return cfg_fail(c, cfg_line(s), path, "\"%s\" is not an IPv4 address "
				"with a prefix length (a.b.c.d/1..32)", v);
	if (p->prefix_len == 0)
		return cfg_fail(c, cfg_line(s), path,
				"\"%s\": prefix length 0 is out of range (1..32)", v);
	why = cfg_bad_host(p->addr, p->prefix_len);
	if (why)
		return cfg_fail(c, cfg_line(s), path, "\"%s\" %s", v, why);
	return 0;
}

static int cfg_port_gateway(struct cfg_ctx *c, const config_setting_t *g,
			    const char *label, struct cfg_port *p)
{
	const config_setting_t *s = config_setting_get_member(g, "gateway");
	uint32_t mask = cfg_mask(p->prefix_len);
	char path[CFG_PATH_BUF], net[16];
	const char *v, *why;
	int rc;

	if (!s)
		return 0;
	cfg_path(path, sizeof(path), label, "gateway");
	rc = cfg_get_string(c, s, path, &v);
	if (rc < 0)
		return rc;
	if (config_parse_ipv4(v, &p->gateway) < 0)
		return cfg_fail(c, cfg_line(s), path,
				"\"%s\" is not an IPv4 address (a.b.c.d)", v);
	cfg_ntoa(p->addr & mask, net);
	if ((p->gateway & mask) != (p->addr & mask))
		return cfg_fail(c, cfg_line(s), path, "\"%s\" is outside the "
				"port's subnet %s/%u", v, net, p->prefix_len);
	if (p->gateway == p->addr)
		return cfg_fail(c, cfg_line(s), path,
				"\"%s\" is the port's own address", v);
	why = cfg_bad_host(p->gateway, p->prefix_len);
	if (why)
		return cfg_fail(c, cfg_line(s), path, "\"%s\" %s", v, why);
	return 0;
}

static int cfg_port_mtu(struct cfg_ctx *c, const config_setting_t *g,
			const char *label, struct cfg_port *p)
{
	const config_setting_t *s = config_setting_get_member(g, "mtu");
	char path[CFG_PATH_BUF];
	long long v;
	int rc;

	if (!s)
		return 0;
	cfg_path(path, sizeof(path), label, "mtu");
	rc = cfg_get_int(c, s, path, 576, 9000, &v);
	if (rc == 0)
		p->mtu = (uint16_t)v;
	return rc;
}

static int cfg_load_port(struct cfg_ctx *c, const config_setting_t *g,
			 unsigned idx, struct cfg_port *p)
{
	const config_setting_t *name;
	char label[64];
	int rc;

	cfg_port_label(label, sizeof(label), idx, NULL);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_type_error(c, g, label, "a group");
	name = config_setting_get_member(g, "name");
	if (name && config_setting_type(name) == CONFIG_TYPE_STRING)
		cfg_port_label(label, sizeof(label), idx,
			       config_setting_get_string(name));
	p->line = cfg_line(g);
	p->mtu = 1500;
	rc = cfg_check_names(c, g, label, cfg_port_names);
	if (rc == 0)
		rc = cfg_port_name(c, g, label, p);
	if (rc == 0)
		rc = cfg_port_device(c, g, label, p);
	if (rc == 0)
		rc = cfg_port_address(c, g, label, p);
	if (rc == 0)
		rc = cfg_port_gateway(c, g, label, p);
	if (rc == 0)
		rc = cfg_port_mtu(c, g, label, p);
	return rc;
}

/* Port J against an earlier port I: names, devices, addresses, subnets. */
static int cfg_check_port_pair(struct cfg_ctx *c, const config_setting_t *gj,
			       const struct cfg_port *pi, unsigned i,
			       const struct cfg_port *pj, unsigned j)
{
	unsigned len = pi->prefix_len < pj->prefix_len ? pi->prefix_len : pj->prefix_len;
	char li[64], lj[64], path[CFG_PATH_BUF], a[16], b[16];

	cfg_port_label(li, sizeof(li), i, pi->name);
	cfg_port_label(lj, sizeof(lj), j, pj->name);
	cfg_path(path, sizeof(path), lj, "name");
	if (strcmp(pi->name, pj->name) == 0)
		return cfg_fail(c, cfg_member_line(gj, "name"), path,
				"\"%s\" is already used by ports.[%u]", pj->name, i);
	cfg_path(path, sizeof(path), lj, "device");
	if (strcmp(pi->device, pj->device) == 0)
		return cfg_fail(c, cfg_member_line(gj, "device"), path,
				"\"%s\" is already used by %s", pj->device, li);
	cfg_path(path, sizeof(path), lj, "address");
	cfg_ntoa(pj->addr, a);
	if (pi->addr == pj->addr)
		return cfg_fail(c, cfg_member_line(gj, "address"), path,
				"%s is already the address of %s", a, li);
	if (((pi->addr ^ pj->addr) & cfg_mask(len)) == 0) {
		cfg_ntoa(pj->addr & cfg_mask(pj->prefix_len), a);
		cfg_ntoa(pi->addr & cfg_mask(pi->prefix_len), b);
		return cfg_fail(c, cfg_member_line(gj, "address"), path,
				"subnet %s/%u overlaps subnet %s/%u of %s",
				a, pj->prefix_len, b, pi->prefix_len, li);
	}
	return 0;
}

static int cfg_load_ports(struct cfg_ctx *c, const config_setting_t *root,
			  struct gw_config *cfg)
{
	const config_setting_t *ports = config_setting_get_member(root, "ports");
	unsigned i, j;
	int n, rc = 0;

	if (!ports)
		return cfg_fail(c, 1, "ports", "missing (required)");
	if (config_setting_type(ports) != CONFIG_TYPE_LIST)
		return cfg_type_error(c, ports, "ports", "a list of groups");
	n = config_setting_length(ports);
	if (n < 1 || n > CFG_MAX_PORTS)
		return cfg_fail(c, cfg_line(ports), "ports",
				"has %d entries, expected 1..%d", n, CFG_MAX_PORTS);
	for (i = 0; rc == 0 && i < (unsigned)n; i++)
		rc = cfg_load_port(c, config_setting_get_elem(ports, i), i,
				   &cfg->ports[i]);
	for (j = 1; rc == 0 && j < (unsigned)n; j++)
		for (i = 0; rc == 0 && i < j; i++)
			rc = cfg_check_port_pair(c, config_setting_get_elem(ports, j),
						 &cfg->ports[i], i, &cfg->ports[j], j);
	cfg->n_ports = (unsigned)n;
	return rc;
}

/* ---- tcp -------------------------------------------------------------------- */

static unsigned cfg_tcp_value(const struct cfg_tcp *t, size_t offset)
{
	return *(const unsigned *)((const char *)t + offset);
}

/*
 * tcp.LO <= tcp.HI. Blames the bounded setting if the file gives it, else
 * the other one; a defaulted setting is named with ", the default".
 */
static int cfg_check_tcp_order(struct cfg_ctx *c, const config_setting_t *tcp,
			       const struct cfg_tcp_order *o,
			       const struct cfg_tcp *t)
{
	const config_setting_t *lo = config_setting_get_member(tcp, o->lo);
	const config_setting_t *hi = config_setting_get_member(tcp, o->hi);
	unsigned vlo = cfg_tcp_value(t, o->lo_offset);
	unsigned vhi = cfg_tcp_value(t, o->hi_offset);
	char path[CFG_PATH_BUF];

	if (vlo <= vhi)
		return 0;
	if (lo && (o->lo_bounded || !hi)) {
		cfg_path(path, sizeof(path), "tcp", o->lo);
		return cfg_fail(c, cfg_line(lo), path, "%u is above tcp.%s (%u%s)",
				vlo, o->hi, vhi, hi ? "" : ", the default");
	}
	cfg_path(path, sizeof(path), "tcp", o->hi);
	return cfg_fail(c, cfg_line(hi), path, "%u is below tcp.%s (%u%s)",
			vhi, o->lo, vlo, lo ? "" : ", the default");
}

/* ephemeral_ports = [first, last]: 1024..65535, first < last, >= 64 ports. */
static int cfg_load_ephemeral(struct cfg_ctx *c, const config_setting_t *tcp,
			      struct cfg_tcp *t)
{
	const config_setting_t *s = config_setting_get_member(tcp, "ephemeral_ports");
	const char *path = "tcp.ephemeral_ports";
	char epath[CFG_PATH_BUF];
	long long v[2];
	int i, n, rc;

	if (!s)
		return 0;
	if (!cfg_is_sequence(s))
		return cfg_type_error(c, s, path, "an array of two integers");
	n = config_setting_length(s);
	if (n != 2)
		return cfg_fail(c, cfg_line(s), path, "has %d entries, expected 2", n);
	for (i = 0; i < 2; i++) {
		snprintf(epath, sizeof(epath), "%s.[%d]", path, i);
		rc = cfg_get_int(c, config_setting_get_elem(s, i), epath,
				 CFG_EPHEMERAL_MIN, 65535, &v[i]);
		if (rc < 0)
			return rc;
	}
	if (v[0] >= v[1])
		return cfg_fail(c, cfg_line(s), path, "[%lld, %lld]: the first port "
				"must be below the last", v[0], v[1]);
	if (v[1] - v[0] + 1 < CFG_EPHEMERAL_SPAN)
		return cfg_fail(c, cfg_line(s), path, "[%lld, %lld] has %lld ports, "
				"at least %d", v[0], v[1], v[1] - v[0] + 1,
				CFG_EPHEMERAL_SPAN);
	t->ephemeral_first = (unsigned)v[0];
	t->ephemeral_last = (unsigned)v[1];
	return 0;
}

static int cfg_load_tcp(struct cfg_ctx *c, const config_setting_t *root,
			struct gw_config *cfg)
{
	const config_setting_t *s;
	config_setting_t *tcp;
	size_t i;
	int mode, rc = cfg_get_group(c, root, "tcp", "tcp", &tcp);

	if (rc < 0 || !tcp)
		return rc;
	rc = cfg_check_names(c, tcp, "tcp", cfg_tcp_names);
	if (rc == 0)
		rc = cfg_load_ints(c, tcp, "tcp", cfg_tcp_ints,
				   CFG_NELEM(cfg_tcp_ints), &cfg->tcp);
	s = config_setting_get_member(tcp, "syncookies");
	if (rc == 0 && s) {
		rc = cfg_get_enum(c, s, "tcp.syncookies", cfg_syncookie_modes, &mode);
		if (rc == 0)
			cfg->tcp.syncookies = (enum cfg_syncookies)mode;
	}
	if (rc == 0)
		rc = cfg_load_ephemeral(c, tcp, &cfg->tcp);
	for (i = 0; rc == 0 && i < CFG_NELEM(cfg_tcp_orders); i++)
		rc = cfg_check_tcp_order(c, tcp, &cfg_tcp_orders[i], &cfg->tcp);
	return rc;
}

/* ---- services --------------------------------------------------------------- */

/* Service I of cfg_service_rules[]. */
static const struct cfg_service *cfg_service(const struct cfg_services *svc,
					     size_t i)
{
	return (const struct cfg_service *)((const char *)svc +
					    cfg_service_rules[i].offset);
}

static int cfg_load_service(struct cfg_ctx *c, const config_setting_t *svcs,
			    const struct cfg_service_rule *r,
			    struct cfg_services *svc)
{
	struct cfg_service *sv = (struct cfg_service *)((char *)svc + r->offset);
	char label[64], path[CFG_PATH_BUF];
	const config_setting_t *s;
	config_setting_t *g;
	long long v;
	int rc;

	cfg_path(label, sizeof(label), "services", r->name);
	rc = cfg_get_group(c, svcs, r->name, label, &g);
	if (rc < 0 || !g)
		return rc;
	rc = cfg_check_names(c, g, label, r->names);
	s = config_setting_get_member(g, "enabled");
	if (rc == 0 && s) {
		cfg_path(path, sizeof(path), label, "enabled");
		rc = cfg_get_bool(c, s, path, &sv->enabled);
	}
	s = config_setting_get_member(g, "port");
	if (rc == 0 && s) {
		cfg_path(path, sizeof(path), label, "port");
		rc = cfg_get_int(c, s, path, 1, 65535, &v);
		if (rc == 0)
			sv->port = (uint16_t)v;
	}
	s = config_setting_get_member(g, "bytes");
	if (rc == 0 && s) {             /* only "source" gets past the names */
		cfg_path(path, sizeof(path), label, "bytes");
		rc = cfg_get_int(c, s, path, 0, CFG_SOURCE_BYTES_MAX, &v);
		if (rc == 0)
			svc->source_bytes = (uint64_t)v;
	}
	return rc;
}

/* Enabled service J against the ephemeral ports and the services before it. */
static int cfg_check_service(struct cfg_ctx *c, const config_setting_t *svcs,
			     const struct gw_config *cfg, size_t j)
{
	const struct cfg_service *sj = cfg_service(&cfg->services, j);
	const struct cfg_service *si;
	char label[64], path[CFG_PATH_BUF];
	int line;
	size_t i;

	cfg_path(label, sizeof(label), "services", cfg_service_rules[j].name);
	cfg_path(path, sizeof(path), label, "port");
	line = cfg_member_line(config_setting_get_member(svcs,
				cfg_service_rules[j].name), "port");
	if (sj->port >= cfg->tcp.ephemeral_first && sj->port <= cfg->tcp.ephemeral_last)
		return cfg_fail(c, line, path, "%u is inside tcp.ephemeral_ports "
				"[%u, %u]", sj->port, cfg->tcp.ephemeral_first,
				cfg->tcp.ephemeral_last);
	for (i = 0; i < j; i++) {
		si = cfg_service(&cfg->services, i);
		if (si->enabled && si->port == sj->port)
			return cfg_fail(c, line, path, "%u is already used by services.%s",
					sj->port, cfg_service_rules[i].name);
	}
	return 0;
}

static int cfg_load_services(struct cfg_ctx *c, const config_setting_t *root,
			     struct gw_config *cfg)
{
	config_setting_t *svcs;
	size_t i;
	int rc = cfg_get_group(c, root, "services", "services", &svcs);

	if (rc < 0 || !svcs)
		return rc;
	rc = cfg_check_names(c, svcs, "services", cfg_services_names);
	for (i = 0; rc == 0 && i < CFG_NELEM(cfg_service_rules); i++)
		rc = cfg_load_service(c, svcs, &cfg_service_rules[i], &cfg->services);
	for (i = 0; rc == 0 && i < CFG_NELEM(cfg_service_rules); i++)
		if (cfg_service(&cfg->services, i)->enabled)
			rc = cfg_check_service(c, svcs, cfg, i);
	return rc;
}

/* ---- linkem ----------------------------------------------------------------- */

/* "linkem.[0] (\"ext\")" when PORT looks like a port name, else "linkem.[0]". */
static void cfg_linkem_label(char *buf, size_t n, unsigned idx, const char *port)
{
	if (port && cfg_valid_port_name(port))
		snprintf(buf, n, "linkem.[%u] (\"%s\")", idx, port);
	else
		snprintf(buf, n, "linkem.[%u]", idx);
}

static int cfg_linkem_port(struct cfg_ctx *c, const config_setting_t *g,
			   const char *label, const struct gw_config *cfg,
			   struct cfg_linkem *e)
{
	const char *names[CFG_MAX_PORTS + 1];
	char path[CFG_PATH_BUF], list[256];
	const config_setting_t *s;
	const char *v;
	unsigned i;
	int rc = cfg_port_member(c, g, label, "port", &s);

	cfg_path(path, sizeof(path), label, "port");
	if (rc == 0)
		rc = cfg_get_string(c, s, path, &v);
	if (rc < 0)
		return rc;
	for (i = 0; i < cfg->n_ports; i++) {
		if (strcmp(v, cfg->ports[i].name) == 0) {
			snprintf(e->port, sizeof(e->port), "%s", v);
			return 0;
		}
		names[i] = cfg->ports[i].name;
	}
	names[i] = NULL;
	cfg_name_list(list, sizeof(list), names);
	return cfg_fail(c, cfg_line(s), path,
			"\"%s\" is not a configured port (expected %s)", v, list);
}

/* An integer or a float, 0..100. */
static int cfg_get_percent(struct cfg_ctx *c, const config_setting_t *s,
			   const char *path, double *out)
{
	char num[32];
	long long i;
	double v;
	int rc;

	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		rc = cfg_get_int(c, s, path, 0, 100, &i);
		if (rc == 0)
			*out = (double)i;
		return rc;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(s);
		if (!(v >= 0 && v <= 100)) {
			cfg_fmt_double(num, v);
			return cfg_fail(c, cfg_line(s), path,
					"%s is out of range (0..100)", num);
		}
		*out = v == 0 ? 0 : v;  /* no -0 */
		return 0;
	}
	return cfg_type_error(c, s, path, "a number");
}

static int cfg_linkem_values(struct cfg_ctx *c, const config_setting_t *g,
			     const char *label, struct cfg_linkem *e)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	long long v;
	size_t i;
	int dir, rc = 0;

	s = config_setting_get_member(g, "direction");
	if (s) {
		cfg_path(path, sizeof(path), label, "direction");
		rc = cfg_get_enum(c, s, path, cfg_linkem_dirs, &dir);
		if (rc == 0)
			e->direction = (enum cfg_linkem_dir)(dir + 1);
	}
	for (i = 0; rc == 0 && i < CFG_NELEM(cfg_linkem_percents); i++) {
		s = config_setting_get_member(g, cfg_linkem_percents[i].name);
		if (!s)
			continue;
		cfg_path(path, sizeof(path), label, cfg_linkem_percents[i].name);
		rc = cfg_get_percent(c, s, path,
				     (double *)((char *)e + cfg_linkem_percents[i].offset));
	}
	if (rc == 0)
		rc = cfg_load_ints(c, g, label, cfg_linkem_ints,
				   CFG_NELEM(cfg_linkem_ints), e);
	s = config_setting_get_member(g, "seed");
	if (rc == 0 && s) {
		cfg_path(path, sizeof(path), label, "seed");
		rc = cfg_get_int(c, s, path, 0, INT64_MAX, &v);
		if (rc == 0)
			e->seed = (uint64_t)v;
	}
	return rc;
}

static int cfg_load_linkem_entry(struct cfg_ctx *c, const config_setting_t *g,
				 unsigned idx, const struct gw_config *cfg,
				 struct cfg_linkem *e)
{
	const config_setting_t *port;
	char label[64];
	int rc;

	cfg_linkem_label(label, sizeof(label), idx, NULL);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_type_error(c, g, label, "a group");
	port = config_setting_get_member(g, "port");
	if (port && config_setting_type(port) == CONFIG_TYPE_STRING)
		cfg_linkem_label(label, sizeof(label), idx,
				 config_setting_get_string(port));
	memset(e, 0, sizeof(*e));
	e->direction = CFG_LINKEM_BOTH;
	e->seed = 1;
	e->line = cfg_line(g);
	rc = cfg_check_names(c, g, label, cfg_linkem_names);
	if (rc == 0)
		rc = cfg_linkem_port(c, g, label, cfg, e);
	if (rc == 0)
		rc = cfg_linkem_values(c, g, label, e);
	return rc;
}

/* Entry J against an earlier entry I: one port's directions may not overlap. */
static int cfg_check_linkem_pair(struct cfg_ctx *c, const config_setting_t *gj,
				 const struct cfg_linkem *ei, unsigned i,
				 const struct cfg_linkem *ej, unsigned j)
{
	const char *di = cfg_linkem_dirs[ei->direction - 1];
	const char *dj = cfg_linkem_dirs[ej->direction - 1];
	char li[64], lj[64], path[CFG_PATH_BUF];
	int line = cfg_member_line(gj, "direction");

	if (strcmp(ei->port, ej->port) != 0 || (ei->direction & ej->direction) == 0)
		return 0;
	cfg_linkem_label(li, sizeof(li), i, ei->port);
	cfg_linkem_label(lj, sizeof(lj), j, ej->port);
	cfg_path(path, sizeof(path), lj, "direction");
	if (ei->direction == ej->direction)
		return cfg_fail(c, line, path, "\"%s\" is already used by %s", dj, li);
	return cfg_fail(c, line, path, "\"%s\" overlaps \"%s\" of %s", dj, di, li);
}

static int cfg_load_linkem(struct cfg_ctx *c, const config_setting_t *root,
			   struct gw_config *cfg)
{
	const config_setting_t *list = config_setting_get_member(root, "linkem");
	unsigned i, j;
	int n, rc = 0;

	if (!list)
		return 0;
	if (config_setting_type(list) != CONFIG_TYPE_LIST)
		return cfg_type_error(c, list, "linkem", "a list of groups");
	n = config_setting_length(list);
	if (n > CFG_MAX_LINKEM)
		return cfg_fail(c, cfg_line(list), "linkem",
				"has %d entries, at most %d", n, CFG_MAX_LINKEM);
	for (i = 0; rc == 0 && i < (unsigned)n; i++)
		rc = cfg_load_linkem_entry(c, config_setting_get_elem(list, i), i,
					   cfg, &cfg->linkem[i]);
	for (j = 1; rc == 0 && j < (unsigned)n; j++)
		for (i = 0; rc == 0 && i < j; i++)
			rc = cfg_check_linkem_pair(c, config_setting_get_elem(list, j),
						   &cfg->linkem[i], i,
						   &cfg->linkem[j], j);
	cfg->n_linkem = (unsigned)n;
	return rc;
}

/* ---- console, log, version ------------------------------------------------ */

static int cfg_load_console(struct cfg_ctx *c, const config_setting_t *root,
			    struct gw_config *cfg)
{
	config_setting_t *con;
	const config_setting_t *s;
	int rc = cfg_get_group(c, root, "console", "console", &con);

	if (rc < 0 || !con)
		return rc;
	rc = cfg_check_names(c, con, "console", cfg_console_names);
	s = config_setting_get_member(con, "socket");
	if (rc < 0 || !s)
		return rc;
	rc = cfg_get_strcpy(c, s, "console.socket", cfg->console_socket,
			    CFG_SOCKET_LEN - 1);
	if (rc == 0 && cfg->console_socket[0] != '/')
		return cfg_fail(c, cfg_line(s), "console.socket",
				"\"%s\" is not an absolute path", cfg->console_socket);
	return rc;
}

static int cfg_load_log_file(struct cfg_ctx *c, const config_setting_t *s,
			     struct gw_config *cfg)
{
	int rc = cfg_get_strcpy(c, s, "log.file", cfg->log_file, CFG_PATH_LEN - 1);

	if (rc < 0)
		return rc;
	if (cfg->log_file[0] != '/' && strcmp(cfg->log_file, "syslog") != 0 &&
	    strcmp(cfg->log_file, "stderr") != 0)
		return cfg_fail(c, cfg_line(s), "log.file", "\"%s\" is not an "
				"absolute path, \"syslog\" or \"stderr\"", cfg->log_file);
	return 0;
}

static int cfg_load_log(struct cfg_ctx *c, const config_setting_t *root,
			struct gw_config *cfg)
{
	config_setting_t *log;
	const config_setting_t *s;
	int level, rc = cfg_get_group(c, root, "log", "log", &log);

	if (rc < 0 || !log)
		return rc;
	rc = cfg_check_names(c, log, "log", cfg_log_names);
	s = config_setting_get_member(log, "file");
	if (rc == 0 && s)
		rc = cfg_load_log_file(c, s, cfg);
	s = config_setting_get_member(log, "level");
	if (rc == 0 && s) {
		rc = cfg_get_enum(c, s, "log.level", cfg_log_levels, &level);
		if (rc == 0)
			cfg->log_level = (enum cfg_log_level)level;
	}
	s = config_setting_get_member(log, "rate_limit");
	if (rc == 0 && s) {
		long long v;
		rc = cfg_get_int(c, s, "log.rate_limit", 0, 1000000, &v);
		if (rc == 0)
			cfg->log_rate_limit = (unsigned)v;
	}
	return rc;
}

static int cfg_load_version(struct cfg_ctx *c, const config_setting_t *root,
			    struct gw_config *cfg)
{
	const config_setting_t *s = config_setting_get_member(root, "version");
	int t;

	if (!s)
		return cfg_fail(c, 1, "version", "missing (required)");
	t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return cfg_type_error(c, s, "version", "an integer");
	if (config_setting_get_int64(s) != CFG_SCHEMA_VERSION)
		return cfg_fail(c, cfg_line(s), "version", "%lld is not supported "
				"(expected %d)", config_setting_get_int64(s),
				CFG_SCHEMA_VERSION);
	cfg->version = CFG_SCHEMA_VERSION;
	return 0;
}

/* ---- load ------------------------------------------------------------------- */

static int cfg_validate(struct cfg_ctx *c, const config_setting_t *root,
			struct gw_config *cfg)
{
	int rc = cfg_check_names(c, root, "", cfg_root_names);

	if (rc == 0)
		rc = cfg_load_version(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_system(c, root, cfg);
	if (rc == 0)
		rc = cfg_check_cores(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_ports(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_tcp(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_services(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_linkem(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_smtp(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_routes(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_tls(c, root, cfg);     /* after the routes' tls_level */
	if (rc == 0)
		rc = cfg_load_connectors(c, root, cfg);     /* after tls */
	if (rc == 0)
		rc = cfg_load_console(c, root, cfg);
	if (rc == 0)
		rc = cfg_load_log(c, root, cfg);
	return rc;
}

static int cfg_io_error(struct cfg_ctx *c, int errnum)
{
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: cannot read: %s", c->file,
			 strerror(errnum));
	return -errnum;
}

/* Open and parse the file into LC; on failure LC is already destroyed. */
static int cfg_parse_file(struct cfg_ctx *c, config_t *lc)
{
	FILE *f = fopen(c->file, "r");
	struct stat st;
	int ok;

	if (!f)
		return cfg_io_error(c, errno);
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return cfg_io_error(c, EISDIR);
	}
	config_init(lc);
	ok = config_read(lc, f);
	fclose(f);
	if (ok)
		return 0;
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s:%d: %s",
			 config_error_file(lc) ? config_error_file(lc) : c->file,
			 config_error_line(lc), config_error_text(lc));
	config_destroy(lc);
	return -EINVAL;
}

/* The CPUs this process may run on (all online ones if that is unknown). */
static void cfg_usable_cpus(cpu_set_t *set)
{
	long i, n;

	CPU_ZERO(set);
	if (sched_getaffinity(0, sizeof(*set), set) == 0)
		return;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	for (i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(i, set);
}

void config_defaults(struct gw_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->version = CFG_SCHEMA_VERSION;
	cfg->control_core = 0;
	cfg->worker_cores[0] = 1;
	cfg->n_workers = 1;
	cfg->memory_mb = 256;
	strcpy(cfg->file_prefix, "mailgw");
	cfg->poll_mode = CFG_POLL_BUSY;
	cfg->idle_sleep_max_us = 200;
	cfg->limits = (struct cfg_limits){
		.mbufs_per_worker = 8191, .rx_descriptors = 1024,
		.tx_descriptors = 1024, .arp_cache_size = 1024, .arp_timeout = 300,
		.arp_queue_length = 8, .icmp_rate_limit = 1000, .log_ring_size = 1024,
	};
	cfg->tcp = (struct cfg_tcp){
		.max_connections = 8192, .syn_backlog = 1024, .rcv_buffer = 262144,
		.snd_buffer = 262144, .reass_limit = 262144, .time_wait = 60,
		.time_wait_max = 4096, .rto_min_ms = 200, .rto_max_ms = 60000,
		.rto_initial_ms = 1000, .max_retransmits = 8, .syn_retries = 5,
		.delayed_ack_ms = 40, .keepalive_idle = 0, .keepalive_interval = 75,
		.keepalive_probes = 9, .idle_timeout = 0,
		.syncookies = CFG_SYNCOOKIES_AUTO,
		.ephemeral_first = 32768, .ephemeral_last = 60999,
		.conn_pool_share = 2, .pool_low_watermark = 25, .pool_reserve = 5,
	};
	cfg->services.echo.port = 7;
	cfg->services.discard.port = 9;
	cfg->services.source.port = 19;
	cfg->services.source_bytes = 1048576;
	cfg_smtp_defaults(cfg);
	cfg_tls_defaults(cfg);
	strcpy(cfg->console_socket, "/run/mailgw/console.sock");
	strcpy(cfg->log_file, "stderr");
	cfg->log_level = CFG_LOG_INFO;
	cfg->log_rate_limit = 100;
}

int config_load(const char *path, struct gw_config *out, char *err, size_t errlen)
{
	struct cfg_ctx c = { .file = path, .err = err, .errlen = errlen };
	struct gw_config cfg;
	config_t lc;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	rc = cfg_parse_file(&c, &lc);
	if (rc < 0)
		return rc;
	cfg_usable_cpus(&c.usable);
	config_defaults(&cfg);
	snprintf(cfg.path, sizeof(cfg.path), "%s", path);
	rc = cfg_validate(&c, config_root_setting(&lc), &cfg);
	config_destroy(&lc);
	if (rc == 0)
		*out = cfg;
	else
		config_free(&cfg);     /* what the smtp group, routes and connectors allocated */
	return rc;
}

/* ---- format ----------------------------------------------------------------- */

void cfg_put(struct cfg_out *o, const char *fmt, ...)
{
	size_t room = o->used < o->len ? o->len - o->used : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? o->buf + o->used : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->used += (size_t)n;
}

/* A libconfig string literal: quotes, backslashes and controls escaped. */
void cfg_put_string(struct cfg_out *o, const char *s)
{
	unsigned char ch;

	cfg_put(o, "\"");
	for (; (ch = (unsigned char)*s) != '\0'; s++) {
		if (ch == '"' || ch == '\\')
			cfg_put(o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			cfg_put(o, "\\x%02x", ch);
		else
			cfg_put(o, "%c", ch);
	}
	cfg_put(o, "\"");
}

void cfg_put_str_setting(struct cfg_out *o, const char *indent,
			 const char *name, const char *value)
{
	cfg_put(o, "%s%s = ", indent, name);
	cfg_put_string(o, value);
	cfg_put(o, ";\n");
}

static void cfg_format_limits(struct cfg_out *o, const struct cfg_limits *l)
{
	size_t i;

	cfg_put(o, "  limits: {\n");
	for (i = 0; i < CFG_NELEM(cfg_limit_ints); i++)
		cfg_put(o, "    %s = %u;\n", cfg_limit_ints[i].name,
			*(const unsigned *)((const char *)l + cfg_limit_ints[i].offset));
	cfg_put(o, "  };\n");
}

static void cfg_format_system(struct cfg_out *o, const struct gw_config *cfg)
{
	unsigned i;

	cfg_put(o, "system: {\n  control_core = %u;\n  worker_cores = [ ",
		cfg->control_core);
	for (i = 0; i < cfg->n_workers; i++)
		cfg_put(o, "%s%u", i ? ", " : "", cfg->worker_cores[i]);
	cfg_put(o, " ];\n  allow_shared_cores = %s;\n  hugepages = %s;\n"
		"  memory_mb = %u;\n",
		cfg->allow_shared_cores ? "true" : "false",
		cfg->hugepages ? "true" : "false", cfg->memory_mb);
	cfg_put_str_setting(o, "  ", "file_prefix", cfg->file_prefix);
	cfg_put_str_setting(o, "  ", "poll_mode",
			    config_poll_mode_name(cfg->poll_mode));
	cfg_put(o, "  idle_sleep_max_us = %u;\n", cfg->idle_sleep_max_us);
	if (cfg->test_fault_alloc_every != 0)
		cfg_put(o, "  test_fault_alloc_every = %u;\n", cfg->test_fault_alloc_every);
	cfg_put(o, "  eal_extra_args = [ ");
	for (i = 0; i < cfg->n_eal_extra; i++) {
		cfg_put(o, "%s", i ? ", " : "");
		cfg_put_string(o, cfg->eal_extra_args[i]);
	}
	cfg_put(o, "%s];\n", cfg->n_eal_extra ? " " : "");
	cfg_format_limits(o, &cfg->limits);
	cfg_put(o, "};\n");
}

static void cfg_format_port(struct cfg_out *o, const struct cfg_port *p,
			    bool last)
{
	char a[16];

	cfg_put(o, "  {\n");
	cfg_put_str_setting(o, "    ", "name", p->name);
	cfg_put_str_setting(o, "    ", "device", p->device);
	cfg_ntoa(p->addr, a);
	cfg_put(o, "    address = \"%s/%u\";\n", a, p->prefix_len);
	if (p->gateway) {
		cfg_ntoa(p->gateway, a);
		cfg_put(o, "    gateway = \"%s\";\n", a);
	}
	cfg_put(o, "    mtu = %u;\n  }%s\n", p->mtu, last ? "" : ",");
}

static void cfg_format_tcp(struct cfg_out *o, const struct cfg_tcp *t)
{
	size_t i;

	cfg_put(o, "tcp: {\n");
	for (i = 0; i < CFG_NELEM(cfg_tcp_ints); i++)
		cfg_put(o, "  %s = %u;\n", cfg_tcp_ints[i].name,
			cfg_tcp_value(t, cfg_tcp_ints[i].offset));
	cfg_put_str_setting(o, "  ", "syncookies",
			    (unsigned)t->syncookies < 3 ?
			    cfg_syncookie_modes[t->syncookies] : "unknown");
	cfg_put(o, "  ephemeral_ports = [ %u, %u ];\n};\n", t->ephemeral_first,
		t->ephemeral_last);
}

/* A 64-bit integer; libconfig needs the L suffix above INT32_MAX. */
void cfg_put_u64(struct cfg_out *o, uint64_t v)
{
	cfg_put(o, "%llu%s", (unsigned long long)v, v > INT32_MAX ? "L" : "");
}

static void cfg_format_services(struct cfg_out *o, const struct cfg_services *svc)
{
	const struct cfg_service *sv;
	size_t i;

	cfg_put(o, "services: {\n");
	for (i = 0; i < CFG_NELEM(cfg_service_rules); i++) {
		sv = cfg_service(svc, i);
		cfg_put(o, "  %s: { enabled = %s; port = %u;", cfg_service_rules[i].name,
			sv->enabled ? "true" : "false", sv->port);
		if (sv == &svc->source) {
			cfg_put(o, " bytes = ");
			cfg_put_u64(o, svc->source_bytes);
			cfg_put(o, ";");
		}
		cfg_put(o, " };\n");
	}
	cfg_put(o, "};\n");
}

static void cfg_format_linkem(struct cfg_out *o, const struct cfg_linkem *e,
			      bool last)
{
	char num[32];
	size_t i;

	cfg_put(o, "  {\n");
	cfg_put_str_setting(o, "    ", "port", e->port);
	cfg_put_str_setting(o, "    ", "direction",
			    e->direction >= CFG_LINKEM_RX && e->direction <= CFG_LINKEM_BOTH ?
			    cfg_linkem_dirs[e->direction - 1] : "unknown");
	for (i = 0; i < CFG_NELEM(cfg_linkem_percents); i++) {
		cfg_fmt_double(num, *(const double *)((const char *)e +
						      cfg_linkem_percents[i].offset));
		cfg_put(o, "    %s = %s%s;\n", cfg_linkem_percents[i].name, num,
			strpbrk(num, ".e") ? "" : ".0");
	}
	cfg_put(o, "    delay_us = %u;\n    jitter_us = %u;\n    seed = ",
		e->delay_us, e->jitter_us);
	cfg_put_u64(o, e->seed);
	cfg_put(o, ";\n  }%s\n", last ? "" : ",");
}

int config_format(const struct gw_config *cfg, char *buf, size_t len)
{
	struct cfg_out o = { .buf = buf, .len = buf ? len : 0, .used = 0 };
	const char *p;
	unsigned i;

	if (o.len)
		buf[0] = '\0';
	cfg_put(&o, "# mailgw effective configuration, loaded from ");
	for (p = cfg->path; *p; p++)
		cfg_put(&o, "%c", (unsigned char)*p < 0x20 ? '?' : *p);
	cfg_put(&o, "\nversion = %d;\n", cfg->version);
	cfg_format_system(&o, cfg);
	cfg_put(&o, "ports = (\n");
	for (i = 0; i < cfg->n_ports; i++)
		cfg_format_port(&o, &cfg->ports[i], i + 1 == cfg->n_ports);
	cfg_put(&o, ");\n");
	cfg_format_tcp(&o, &cfg->tcp);
	cfg_format_services(&o, &cfg->services);
	if (cfg->n_linkem) {
		cfg_put(&o, "linkem = (\n");
		for (i = 0; i < cfg->n_linkem; i++)
			cfg_format_linkem(&o, &cfg->linkem[i], i + 1 == cfg->n_linkem);
		cfg_put(&o, ");\n");
	}
	cfg_format_smtp(&o, cfg);
	cfg_format_tls(&o, cfg);
	cfg_format_routes(&o, cfg);
	cfg_format_connectors(&o, cfg);
	cfg_put(&o, "console: {\n");
	cfg_put_str_setting(&o, "  ", "socket", cfg->console_socket);
	cfg_put(&o, "};\nlog: {\n");
	cfg_put_str_setting(&o, "  ", "file", cfg->log_file);
	cfg_put_str_setting(&o, "  ", "level", config_log_level_name(cfg->log_level));
	cfg_put(&o, "  rate_limit = ");
	cfg_put_u64(&o, cfg->log_rate_limit);
	cfg_put(&o, ";\n};\n");
	return (int)o.used;
}

const char *config_poll_mode_name(enum cfg_poll_mode m)
{
	return (unsigned)m < 2 ? cfg_poll_modes[m] : "unknown";
}

const char *config_log_level_name(enum cfg_log_level l)
{
	return (unsigned)l < 4 ? cfg_log_levels[l] : "unknown";
}
