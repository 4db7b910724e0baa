/*
 * config_smtp.c — the `smtp` group and the `routes` list of the configuration.
 *
 * config_load() (config.c) calls cfg_load_smtp() and cfg_load_routes() after
 * tcp and services. They check the SMTP service's settings, the relay policy
 * (accepted domains, relay networks) and the routes, and hang the lists on
 * struct gw_config as they go (heap; config_free() frees them, also after an
 * error). Duplicates are found with a hash set: 100,000 domains load in
 * milliseconds. A route's tls_level and tls_names are read here; whether
 * the trust anchors exist for them is config_tls.c's check. config_format()
 * calls cfg_format_smtp() and cfg_format_routes() to write them back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/config.h"
#include "platform/config_priv.h"

#define CFG_LABEL_MAX         63
#define CFG_MESSAGE_SIZE_MIN  1024LL
#define CFG_MESSAGE_SIZE_MAX  (1LL << 40)   /* 1 TiB */
#define CFG_SMTP_PORT         25
#define CFG_HOP_PRIORITY_STEP 10            /* default priority: 10 * (position + 1) */
#define CFG_HOP_PRIORITY_MAX  65535
#define CFG_DOMAINS_ONE_LINE  4             /* longer lists: one domain a line */
#define CFG_TLS_NAMES_MAX     64            /* a "secure" route's tls_names */

static const char *const cfg_smtp_names[] = {
	"enabled", "port", "hostname", "limits", "timeouts", "client",
	"accepted_domains", "relay_networks", NULL
};
static const char *const cfg_smtp_limit_names[] = {
	"command_line", "text_line", "recipients", "message_size",
	"messages_per_session", "errors_per_session", "sessions_per_worker",
	"sessions_per_client", "connection_rate_per_client", "junk_commands",
	"min_data_rate", NULL
};
static const char *const cfg_smtp_timeout_names[] = {
	"command", "data", "message", "connect", "greeting", "mail", "rcpt",
	"data_init", "data_block", "data_end", "data_hold", NULL
};
static const char *const cfg_smtp_client_names[] = {
	"helo_name", "connections_per_worker", "cache_size", "cache_idle_timeout",
	"cache_max_messages", "retry_after", "destination_concurrency",
	"destination_wait", NULL
};
static const char *const cfg_route_names[] = {
	"domains", "next_hops", "tls_level", "tls_names", NULL
};
static const char *const cfg_hop_names[] = {
	"address", "port", "priority", NULL
};

/* smtp.limits but message_size (a uint64_t, see cfg_load_smtp_limits()). */
static const struct cfg_int_rule cfg_smtp_limit_ints[] = {
	{ "command_line", offsetof(struct cfg_smtp_limits, command_line),
	  512, 4096, false },
	{ "text_line", offsetof(struct cfg_smtp_limits, text_line),
	  1000, 1000000, false },
	{ "recipients", offsetof(struct cfg_smtp_limits, recipients),
	  1, 100000, false },
	{ "messages_per_session",
	  offsetof(struct cfg_smtp_limits, messages_per_session), 1, 100000, false },
	{ "errors_per_session", offsetof(struct cfg_smtp_limits, errors_per_session),
	  1, 1000, false },
	{ "sessions_per_worker",
	  offsetof(struct cfg_smtp_limits, sessions_per_worker), 1, 65536, false },
	{ "sessions_per_client",
	  offsetof(struct cfg_smtp_limits, sessions_per_client), 1, 65536, false },
	{ "connection_rate_per_client",
	  offsetof(struct cfg_smtp_limits, connection_rate_per_client),
	  0, 100000, false },
	{ "junk_commands", offsetof(struct cfg_smtp_limits, junk_commands),
	  1, 100000, false },
	{ "min_data_rate", offsetof(struct cfg_smtp_limits, min_data_rate),
	  0, 1000000000, false },
};

static const struct cfg_int_rule cfg_smtp_timeout_ints[] = {
	{ "command", offsetof(struct cfg_smtp_timeouts, command), 1, 3600, false },
	{ "data", offsetof(struct cfg_smtp_timeouts, data), 1, 3600, false },
	{ "message", offsetof(struct cfg_smtp_timeouts, message), 1, 86400, false },
	{ "connect", offsetof(struct cfg_smtp_timeouts, connect), 1, 3600, false },
	{ "greeting", offsetof(struct cfg_smtp_timeouts, greeting), 1, 3600, false },
	{ "mail", offsetof(struct cfg_smtp_timeouts, mail), 1, 3600, false },
	{ "rcpt", offsetof(struct cfg_smtp_timeouts, rcpt), 1, 3600, false },
	{ "data_init", offsetof(struct cfg_smtp_timeouts, data_init), 1, 3600, false },
	{ "data_block", offsetof(struct cfg_smtp_timeouts, data_block),
	  1, 3600, false },
	{ "data_end", offsetof(struct cfg_smtp_timeouts, data_end), 1, 3600, false },
	{ "data_hold", offsetof(struct cfg_smtp_timeouts, data_hold), 1, 3600, false },
};

/* smtp.client but helo_name. */
static const struct cfg_int_rule cfg_smtp_client_ints[] = {
	{ "connections_per_worker",
	  offsetof(struct cfg_smtp_client, connections_per_worker), 1, 131072, false },
	{ "cache_size", offsetof(struct cfg_smtp_client, cache_size), 0, 65536, false },
	{ "cache_idle_timeout", offsetof(struct cfg_smtp_client, cache_idle_timeout),
	  1, 3600, false },
	{ "cache_max_messages", offsetof(struct cfg_smtp_client, cache_max_messages),
	  1, 100000, false },
	{ "retry_after", offsetof(struct cfg_smtp_client, retry_after), 0, 3600, false },
	{ "destination_concurrency",
	  offsetof(struct cfg_smtp_client, destination_concurrency), 1, 65536, false },
	{ "destination_wait", offsetof(struct cfg_smtp_client, destination_wait),
	  0, 3600, false },
};

/* ---- domain names ------------------------------------------------------------ */

enum cfg_domain_error {
	CFG_DOMAIN_OK,
	CFG_DOMAIN_INVALID,
	CFG_DOMAIN_NON_ASCII,
	CFG_DOMAIN_LITERAL,
	CFG_DOMAIN_TOO_LONG,
	CFG_DOMAIN_LABEL_LONG,
	CFG_DOMAIN_ANY_REFUSED,
};

static bool cfg_ldh(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '-';
}

/* Dot-separated LDH labels of 1..63 characters, no hyphen at either end, the
 * last one not all digits. */
static enum cfg_domain_error cfg_check_labels(const char *p)
{
	const char *label = p;
	size_t n;

	for (;; p++) {
		if (*p != '.' && *p != '\0') {
			if (!cfg_ldh(*p))
				return CFG_DOMAIN_INVALID;
			continue;
		}
		n = (size_t)(p - label);
		if (n == 0 || label[0] == '-' || p[-1] == '-')
			return CFG_DOMAIN_INVALID;
		if (n > CFG_LABEL_MAX)
			return CFG_DOMAIN_LABEL_LONG;
		if (*p == '\0')
			break;
		label = p + 1;
	}
	for (p = label; *p >= '0' && *p <= '9'; p++)
		;
	return *p ? CFG_DOMAIN_OK : CFG_DOMAIN_INVALID;
}

/*
 * V as a domain name of at most MAX characters: a trailing dot dropped,
 * lower-cased with CFG_DOM_LOWER, into OUT (CFG_HOSTNAME_LEN bytes). Pure.
 */
static enum cfg_domain_error cfg_domain_norm(const char *v, unsigned flags,
					     size_t max, char *out)
{
	size_t len = strlen(v), i;
	enum cfg_domain_error e;
	const char *labels;
	uint32_t a;

	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] >= 0x80)
			return CFG_DOMAIN_NON_ASCII;
	if (len > 1 && v[len - 1] == '.')
		len--;
	if (v[0] == '[')
		return CFG_DOMAIN_LITERAL;
	if (len == 1 && v[0] == '*' && (flags & CFG_DOM_ANY)) {
		strcpy(out, "*");
		return CFG_DOMAIN_OK;
	}
	if (len == 1 && v[0] == '*' && (flags & CFG_DOM_WILDCARD))
		return CFG_DOMAIN_ANY_REFUSED;
	if (len > max || len >= CFG_HOSTNAME_LEN)
		return CFG_DOMAIN_TOO_LONG;
	memcpy(out, v, len);
	out[len] = '\0';
	if (config_parse_ipv4(out, &a) == 0)
		return CFG_DOMAIN_LITERAL;
	labels = out;
	if ((flags & CFG_DOM_WILDCARD) && out[0] == '*' && out[1] == '.')
		labels += 2;
	e = cfg_check_labels(labels);
	for (i = 0; e == CFG_DOMAIN_OK && (flags & CFG_DOM_LOWER) && i < len; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return e;
}

int cfg_get_domain(struct cfg_ctx *c, const config_setting_t *s,
		   const char *path, unsigned flags, size_t max,
		   char *out, const char **raw)
{
	int line = cfg_line(s), rc = cfg_get_string(c, s, path, raw);
	const char *v = *raw;

	if (rc < 0)
		return rc;
	switch (cfg_domain_norm(v, flags, max, out)) {
	case CFG_DOMAIN_OK:
		return 0;
	case CFG_DOMAIN_NON_ASCII:
		return cfg_fail(c, line, path, "\"%s\" is not ASCII (write an "
				"internationalized domain name in its A-label form, "
				"\"xn--...\")", v);
	case CFG_DOMAIN_LITERAL:
		return cfg_fail(c, line, path,
				"\"%s\" is an address literal, not a domain name", v);
	case CFG_DOMAIN_TOO_LONG:
		return cfg_fail(c, line, path, "is too long (%zu characters, at "
				"most %zu)", strlen(v), max);
	case CFG_DOMAIN_LABEL_LONG:
		return cfg_fail(c, line, path, "\"%s\" has a label longer than %d "
				"characters", v, CFG_LABEL_MAX);
	case CFG_DOMAIN_ANY_REFUSED:
		return cfg_fail(c, line, path, "\"*\" is allowed only in routes (the "
				"default route): accepting every domain would make an "
				"open relay");
	case CFG_DOMAIN_INVALID:
		break;
	}
	return cfg_fail(c, line, path, "\"%s\" is not a valid domain name", v);
}

/* ---- a set of what was seen while loading (duplicates) ------------------------ */

/* Where a domain (NAME) or a network (KEY) was first seen. */
struct cfg_seen {
	uint64_t hash;
	uint64_t key;
	const char *name;
	unsigned owner;                 /* index of its route or list entry */
	int line;
	bool used;
};

/* Open addressing, at most half full. */
struct cfg_seen_set {
	struct cfg_seen *slots;
	size_t mask;
};

static int cfg_seen_init(struct cfg_seen_set *set, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	set->slots = calloc(cap, sizeof(*set->slots));
	set->mask = cap - 1;
	return set->slots ? 0 : -ENOMEM;
}

static uint64_t cfg_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;     /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

static uint64_t cfg_hash_u64(uint64_t x)
{
	x ^= x >> 33;                           /* murmur3's finaliser */
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

/* The slot of NAME (or of KEY when NAME is NULL): its entry, or the free slot
 * where it goes. The caller fills a free slot. */
static struct cfg_seen *cfg_seen_find(struct cfg_seen_set *set, const char *name,
				      uint64_t key)
{
	uint64_t hash = name ? cfg_hash_str(name) : cfg_hash_u64(key);
	struct cfg_seen *e;
	size_t i;

	for (i = hash & set->mask;; i = (i + 1) & set->mask) {
		e = &set->slots[i];
		if (!e->used) {
			e->hash = hash;
			e->key = key;
			e->name = name;
			return e;
		}
		if (e->hash == hash &&
		    (name ? strcmp(e->name, name) == 0 : e->key == key))
			return e;
	}
}

static void cfg_seen_add(struct cfg_seen *e, unsigned owner, int line)
{
	e->owner = owner;
	e->line = line;
	e->used = true;
}

int cfg_nomem(struct cfg_ctx *c, int line, const char *path)
{
	cfg_fail(c, line, path, "out of memory");
	return -ENOMEM;
}

/* ---- smtp ---------------------------------------------------------------------- */

/* gethostname(), or "localhost" when that is not a valid domain name. */
static void cfg_default_hostname(char out[CFG_HOSTNAME_LEN])
{
	char name[CFG_HOSTNAME_LEN + 1];

	memset(name, 0, sizeof(name));
	memset(out, 0, CFG_HOSTNAME_LEN);
	if (gethostname(name, sizeof(name) - 1) != 0 ||
	    cfg_domain_norm(name, 0, CFG_HOSTNAME_LEN - 1, out) != CFG_DOMAIN_OK) {
		memset(out, 0, CFG_HOSTNAME_LEN);
		strcpy(out, "localhost");
	}
}

void cfg_smtp_defaults(struct gw_config *cfg)
{
	struct cfg_smtp *m = &cfg->smtp;

	m->enabled = true;
	m->port = CFG_SMTP_PORT;
	cfg_default_hostname(m->hostname);
	/* Field by field: the padding stays as config_defaults() cleared it. */
	m->limits.command_line = 512;
	m->limits.text_line = 1000;
	m->limits.recipients = 100;
	m->limits.message_size = 36700160;
	m->limits.messages_per_session = 100;
	m->limits.errors_per_session = 10;
	m->limits.sessions_per_worker = 1024;
	m->limits.sessions_per_client = 20;
	m->limits.connection_rate_per_client = 0;
	m->limits.junk_commands = 100;
	m->limits.min_data_rate = 500;
	m->timeouts = (struct cfg_smtp_timeouts){
		.command = 300, .data = 300, .message = 3600, .connect = 30, .greeting = 300,
		.mail = 300, .rcpt = 300, .data_init = 120, .data_block = 180,
		.data_end = 600, .data_hold = 60,
	};
	memcpy(m->client.helo_name, m->hostname, CFG_HOSTNAME_LEN);
	m->client.connections_per_worker = 1088;
	m->client.cache_size = 64;
	m->client.cache_idle_timeout = 10;
	m->client.cache_max_messages = 100;
	m->client.retry_after = 30;
	m->client.destination_concurrency = 20;
	m->client.destination_wait = 10;
}

/* smtp.NAME (hostname or client.helo_name): a domain name, case kept. */
static int cfg_load_host(struct cfg_ctx *c, const config_setting_t *s,
			 const char *path, char dst[CFG_HOSTNAME_LEN])
{
	char norm[CFG_HOSTNAME_LEN];
	const char *raw;
	int rc = cfg_get_domain(c, s, path, 0, CFG_HOSTNAME_LEN - 1, norm, &raw);

	if (rc < 0)
		return rc;
	memset(dst, 0, CFG_HOSTNAME_LEN);
	strcpy(dst, norm);
	return 0;
}

static int cfg_load_smtp_limits(struct cfg_ctx *c, const config_setting_t *smtp,
				struct cfg_smtp_limits *l)
{
	const char *path = "smtp.limits";
	const config_setting_t *s;
	config_setting_t *g;
	long long v;
	int rc = cfg_get_group(c, smtp, "limits", path, &g);

	if (rc < 0 || !g)
		return rc;
	rc = cfg_check_names(c, g, path, cfg_smtp_limit_names);
	if (rc == 0)
		rc = cfg_load_ints(c, g, path, cfg_smtp_limit_ints,
				   CFG_NELEM(cfg_smtp_limit_ints), l);
	s = config_setting_get_member(g, "message_size");
	if (rc == 0 && s) {
		rc = cfg_get_int(c, s, "smtp.limits.message_size",
				 CFG_MESSAGE_SIZE_MIN, CFG_MESSAGE_SIZE_MAX, &v);
		if (rc == 0)
			l->message_size = (uint64_t)v;
	}
	return rc;
}

static int cfg_load_smtp_timeouts(struct cfg_ctx *c, const config_setting_t *smtp,
				  struct cfg_smtp_timeouts *t)
{
	const char *path = "smtp.timeouts";
	config_setting_t *g;
	int rc = cfg_get_group(c, smtp, "timeouts", path, &g);

	if (rc < 0 || !g)
		return rc;
	rc = cfg_check_names(c, g, path, cfg_smtp_timeout_names);
	if (rc == 0)
		rc = cfg_load_ints(c, g, path, cfg_smtp_timeout_ints,
				   CFG_NELEM(cfg_smtp_timeout_ints), t);
	if (rc == 0 && t->message < t->data)      /* the message deadline covers one data wait at least */
		return cfg_fail(c, cfg_member_line(g, "message"), "smtp.timeouts.message",
				"%u is less than smtp.timeouts.data (%u)", t->message, t->data);
	return rc;
}

/* cache_size <= connections_per_worker; blames cache_size if the file gives it. */
static int cfg_check_client_cache(struct cfg_ctx *c, const config_setting_t *g,
				  const struct cfg_smtp_client *cl)
{
	const config_setting_t *lo = config_setting_get_member(g, "cache_size");
	const config_setting_t *hi =
		config_setting_get_member(g, "connections_per_worker");

	if (cl->cache_size <= cl->connections_per_worker)
		return 0;
	if (lo)
		return cfg_fail(c, cfg_line(lo), "smtp.client.cache_size",
				"%u is above smtp.client.connections_per_worker (%u%s)",
				cl->cache_size, cl->connections_per_worker,
				hi ? "" : ", the default");
	return cfg_fail(c, cfg_line(hi), "smtp.client.connections_per_worker",
			"%u is below smtp.client.cache_size (%u, the default)",
			cl->connections_per_worker, cl->cache_size);
}

/* smtp.client; helo_name defaults to smtp.hostname (already loaded). */
static int cfg_load_smtp_client(struct cfg_ctx *c, const config_setting_t *smtp,
				struct cfg_smtp *m)
{
	const char *path = "smtp.client";
	const config_setting_t *s = NULL;
	config_setting_t *g;
	int rc = cfg_get_group(c, smtp, "client", path, &g);

	if (rc == 0 && g)
		rc = cfg_check_names(c, g, path, cfg_smtp_client_names);
	if (rc == 0 && g)
		s = config_setting_get_member(g, "helo_name");
	if (rc == 0 && s)
		rc = cfg_load_host(c, s, "smtp.client.helo_name", m->client.helo_name);
	else if (rc == 0)
		memcpy(m->client.helo_name, m->hostname, CFG_HOSTNAME_LEN);
	if (rc == 0 && g)
		rc = cfg_load_ints(c, g, path, cfg_smtp_client_ints,
				   CFG_NELEM(cfg_smtp_client_ints), &m->client);
	if (rc == 0 && g)
		rc = cfg_check_client_cache(c, g, &m->client);
	return rc;
}

static int cfg_load_accepted(struct cfg_ctx *c, const config_setting_t *s,
			     struct cfg_smtp *m)
{
	const char *path = "smtp.accepted_domains", *raw;
	char epath[CFG_PATH_BUF], norm[CFG_HOSTNAME_LEN];
	struct cfg_seen_set set = { 0 };
	const config_setting_t *e;
	struct cfg_seen *seen;
	int i, n, rc = 0;

	if (!cfg_is_sequence(s))
		return cfg_type_error(c, s, path, "an array of strings");
	n = config_setting_length(s);
	if (n == 0)
		return 0;
	m->accepted_domains = calloc((size_t)n, sizeof(*m->accepted_domains));
	if (!m->accepted_domains || cfg_seen_init(&set, (size_t)n) < 0)
		return cfg_nomem(c, cfg_line(s), path);
	m->n_accepted_domains = (unsigned)n;
	for (i = 0; rc == 0 && i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		snprintf(epath, sizeof(epath), "%s.[%d]", path, i);
		rc = cfg_get_domain(c, e, epath, CFG_DOM_WILDCARD | CFG_DOM_LOWER,
				    CFG_DOMAIN_MAX, norm, &raw);
		if (rc < 0)
			break;
		m->accepted_domains[i] = strdup(norm);
		if (!m->accepted_domains[i]) {
			rc = cfg_nomem(c, cfg_line(e), epath);
			break;
		}
		seen = cfg_seen_find(&set, m->accepted_domains[i], 0);
		if (seen->used)
			rc = cfg_fail(c, cfg_line(e), epath, "\"%s\" is already listed "
				      "at %s.[%u] (line %d)", raw, path, seen->owner,
				      seen->line);
		else
			cfg_seen_add(seen, (unsigned)i, cfg_line(e));
	}
	free(set.slots);
	return rc;
}

/* "a.b.c.d" (a /32) or "a.b.c.d/N"; returns 0 or -EINVAL. */
static int cfg_parse_network(const char *v, struct cfg_cidr *net)
{
	if (config_parse_cidr(v, &net->addr, &net->prefix_len) == 0)
		return 0;
	net->prefix_len = 32;
	return config_parse_ipv4(v, &net->addr);
}

static int cfg_load_network(struct cfg_ctx *c, const config_setting_t *e,
			    const char *path, struct cfg_cidr *net)
{
	char host[16], base[16];
	uint32_t mask;
	const char *v;
	int rc = cfg_get_string(c, e, path, &v);

	if (rc < 0)
		return rc;
	net->line = cfg_line(e);
	if (cfg_parse_network(v, net) < 0)
		return cfg_fail(c, net->line, path, "\"%s\" is not an IPv4 address or "
				"network (a.b.c.d or a.b.c.d/1..32)", v);
	if (net->prefix_len == 0)
		return cfg_fail(c, net->line, path,
				"\"%s\" would make an open relay", v);
	mask = cfg_mask(net->prefix_len);
	if (net->addr & ~mask) {
		cfg_ntoa(net->addr & ~mask, host);
		cfg_ntoa(net->addr & mask, base);
		return cfg_fail(c, net->line, path, "\"%s\" has host bits set (%s; "
				"the network is %s/%u)", v, host, base,
				net->prefix_len);
	}
	return 0;
}

static int cfg_load_relay_networks(struct cfg_ctx *c, const config_setting_t *s,
				   struct cfg_smtp *m)
{
	const char *path = "smtp.relay_networks";
	struct cfg_seen_set set = { 0 };
	char epath[CFG_PATH_BUF];
	const config_setting_t *e;
	struct cfg_cidr *net;
	struct cfg_seen *seen;
	int i, n, rc = 0;

	if (!cfg_is_sequence(s))
		return cfg_type_error(c, s, path, "an array of strings");
	n = config_setting_length(s);
	if (n == 0)
		return 0;
	m->relay_networks = calloc((size_t)n, sizeof(*m->relay_networks));
	if (!m->relay_networks || cfg_seen_init(&set, (size_t)n) < 0)
		return cfg_nomem(c, cfg_line(s), path);
	m->n_relay_networks = (unsigned)n;
	for (i = 0; rc == 0 && i < n; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		net = &m->relay_networks[i];
		snprintf(epath, sizeof(epath), "%s.[%d]", path, i);
		rc = cfg_load_network(c, e, epath, net);
		if (rc < 0)
			break;
		seen = cfg_seen_find(&set, NULL, (uint64_t)net->addr << 8 | net->prefix_len);
		if (seen->used)
			rc = cfg_fail(c, net->line, epath, "\"%s\" is already listed at "
				      "%s.[%u] (line %d)", config_setting_get_string(e),
				      path, seen->owner, seen->line);
		else
			cfg_seen_add(seen, (unsigned)i, net->line);
	}
	free(set.slots);
	return rc;
}

/*
 * An enabled SMTP service's port: outside tcp.ephemeral_ports and not an
 * enabled built-in service's. Blames smtp.port if the file gives it, else
 * the service.
 */
static int cfg_check_smtp_port(struct cfg_ctx *c, const config_setting_t *root,
			       const config_setting_t *smtp,
			       const struct gw_config *cfg)
{
	const struct {
		const char *name;
		const struct cfg_service *sv;
	} svc[] = {
		{ "echo", &cfg->services.echo },
		{ "discard", &cfg->services.discard },
		{ "source", &cfg->services.source },
	};
	const config_setting_t *ps = smtp ? config_setting_get_member(smtp, "port") : NULL;
	const config_setting_t *svcs = config_setting_get_member(root, "services");
	const config_setting_t *s;
	unsigned port = cfg->smtp.port;
	char path[CFG_PATH_BUF];
	size_t i;

	if (!cfg->smtp.enabled)
		return 0;
	if (ps && port >= cfg->tcp.ephemeral_first && port <= cfg->tcp.ephemeral_last)
		return cfg_fail(c, cfg_line(ps), "smtp.port", "%u is inside "
				"tcp.ephemeral_ports [%u, %u]", port,
				cfg->tcp.ephemeral_first, cfg->tcp.ephemeral_last);
	for (i = 0; i < CFG_NELEM(svc); i++) {
		if (!svc[i].sv->enabled || svc[i].sv->port != port)
			continue;
		if (ps)
			return cfg_fail(c, cfg_line(ps), "smtp.port", "%u is already "
					"used by services.%s", port, svc[i].name);
		snprintf(path, sizeof(path), "services.%s.port", svc[i].name);
		s = svcs ? config_setting_get_member(svcs, svc[i].name) : NULL;
		return cfg_fail(c, s ? cfg_member_line(s, "port") : 1, path,
				"%u is already used by smtp.port (the default)", port);
	}
	return 0;
}

int cfg_load_smtp(struct cfg_ctx *c, const config_setting_t *root,
		  struct gw_config *cfg)
{
	struct cfg_smtp *m = &cfg->smtp;
	const config_setting_t *s;
	config_setting_t *smtp;
	long long v;
	int rc = cfg_get_group(c, root, "smtp", "smtp", &smtp);

	if (rc < 0 || !smtp)
		return rc < 0 ? rc : cfg_check_smtp_port(c, root, NULL, cfg);
	rc = cfg_check_names(c, smtp, "smtp", cfg_smtp_names);
	if (rc == 0 && (s = config_setting_get_member(smtp, "enabled")))
		rc = cfg_get_bool(c, s, "smtp.enabled", &m->enabled);
	if (rc == 0 && (s = config_setting_get_member(smtp, "port"))) {
		rc = cfg_get_int(c, s, "smtp.port", 1, 65535, &v);
		m->port = (uint16_t)v;
	}
	if (rc == 0 && (s = config_setting_get_member(smtp, "hostname")))
		rc = cfg_load_host(c, s, "smtp.hostname", m->hostname);
	if (rc == 0)
		rc = cfg_load_smtp_limits(c, smtp, &m->limits);
	if (rc == 0)
		rc = cfg_load_smtp_timeouts(c, smtp, &m->timeouts);
	if (rc == 0)
		rc = cfg_load_smtp_client(c, smtp, m);
	if (rc == 0 && (s = config_setting_get_member(smtp, "accepted_domains")))
		rc = cfg_load_accepted(c, s, m);
	if (rc == 0 && (s = config_setting_get_member(smtp, "relay_networks")))
		rc = cfg_load_relay_networks(c, s, m);
	if (rc == 0)
		rc = cfg_check_smtp_port(c, root, smtp, cfg);
	return rc;
}

/* ---- routes -------------------------------------------------------------------- */

/* "a.b.c.d" or "a.b.c.d:PORT": 0, -EINVAL (syntax) or -ERANGE (port). */
static int cfg_parse_hop(const char *v, uint32_t *addr, unsigned *port)
{
	const char *p = cfg_parse_quad(v, addr), *digits;
	unsigned long n = 0;

	*port = CFG_SMTP_PORT;
	if (!p)
		return -EINVAL;
	if (*p == '\0')
		return 0;
	if (*p++ != ':')
		return -EINVAL;
	for (digits = p; *p >= '0' && *p <= '9' && p - digits < 6; p++)
		n = n * 10 + (unsigned long)(*p - '0');
	if (p == digits || *p || (*digits == '0' && p - digits > 1))
		return -EINVAL;
	*port = (unsigned)n;
	return n >= 1 && n <= 65535 ? 0 : -ERANGE;
}

/* A next hop written "ADDR[:PORT]". */
static int cfg_load_hop_string(struct cfg_ctx *c, const config_setting_t *e,
			       const char *path, struct cfg_next_hop *h)
{
	const char *v = config_setting_get_string(e), *why;
	unsigned port;
	int rc = cfg_parse_hop(v, &h->addr, &port);

	if (rc == -EINVAL)
		return cfg_fail(c, cfg_line(e), path, "\"%s\" is not an IPv4 "
				"address with an optional :PORT", v);
	if (rc == -ERANGE)
		return cfg_fail(c, cfg_line(e), path, "\"%s\": port %u is out of "
				"range (1..65535)", v, port);
	why = cfg_bad_host(h->addr, 32);
	if (why)
		return cfg_fail(c, cfg_line(e), path, "\"%s\" %s", v, why);
	h->port = (uint16_t)port;
	return 0;
}

/* A next hop written { address = "a.b.c.d"; port = N; priority = N; }. */
static int cfg_load_hop_group(struct cfg_ctx *c, const config_setting_t *g,
			      const char *label, struct cfg_next_hop *h)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	const char *v, *why;
	long long n;
	int rc = cfg_check_names(c, g, label, cfg_hop_names);

	cfg_path(path, sizeof(path), label, "address");
	s = config_setting_get_member(g, "address");
	if (rc == 0 && !s)
		return cfg_fail(c, cfg_line(g), path, "missing (required)");
	if (rc == 0)
		rc = cfg_get_string(c, s, path, &v);
	if (rc < 0)
		return rc;
	if (config_parse_ipv4(v, &h->addr) < 0)
		return cfg_fail(c, cfg_line(s), path,
				"\"%s\" is not an IPv4 address (a.b.c.d)", v);
	why = cfg_bad_host(h->addr, 32);
	if (why)
		return cfg_fail(c, cfg_line(s), path, "\"%s\" %s", v, why);
	cfg_path(path, sizeof(path), label, "port");
	s = config_setting_get_member(g, "port");
	if (s && (rc = cfg_get_int(c, s, path, 1, 65535, &n)) < 0)
		return rc;
	if (s)
		h->port = (uint16_t)n;
	cfg_path(path, sizeof(path), label, "priority");
	s = config_setting_get_member(g, "priority");
	if (s && (rc = cfg_get_int(c, s, path, 0, CFG_HOP_PRIORITY_MAX, &n)) < 0)
		return rc;
	if (s)
		h->priority = (unsigned)n;
	return 0;
}

/* Stable insertion sort by priority: equal priorities keep the file's order. */
static void cfg_sort_hops(struct cfg_next_hop *hops, unsigned n)
{
	struct cfg_next_hop h;
	unsigned i, j;

	for (i = 1; i < n; i++) {
		h = hops[i];
		for (j = i; j > 0 && hops[j - 1].priority > h.priority; j--)
			hops[j] = hops[j - 1];
		hops[j] = h;
	}
}

/* Hop I of the list at PATH (REF in messages), against the hops before it. */
static int cfg_load_hop(struct cfg_ctx *c, const config_setting_t *e,
			const char *path_list, const char *ref, unsigned i,
			struct cfg_next_hop *hops)
{
	struct cfg_next_hop *h = &hops[i];
	char path[CFG_PATH_BUF], a[16];
	unsigned j;
	int rc;

	snprintf(path, sizeof(path), "%s.[%u]", path_list, i);
	h->port = CFG_SMTP_PORT;
	h->priority = CFG_HOP_PRIORITY_STEP * (i + 1);
	if (config_setting_type(e) == CONFIG_TYPE_STRING)
		rc = cfg_load_hop_string(c, e, path, h);
	else if (config_setting_type(e) == CONFIG_TYPE_GROUP)
		rc = cfg_load_hop_group(c, e, path, h);
	else
		rc = cfg_type_error(c, e, path, "a string or a group");
	for (j = 0; rc == 0 && j < i; j++) {
		if (hops[j].addr != h->addr || hops[j].port != h->port)
			continue;
		cfg_ntoa(h->addr, a);
		rc = cfg_fail(c, cfg_line(e), path, "%s:%u is already used by "
			      "%s.[%u]", a, h->port, ref, j);
	}
	return rc;
}

int cfg_load_hop_list(struct cfg_ctx *c, const config_setting_t *s,
		      const char *path, const char *ref,
		      struct cfg_next_hop *hops, unsigned *n_hops)
{
	unsigned i;
	int n, rc = 0;

	*n_hops = 0;
	if (!cfg_is_sequence(s))
		return cfg_type_error(c, s, path, "a list of next hops");
	n = config_setting_length(s);
	if (n > CFG_MAX_NEXT_HOPS)
		return cfg_fail(c, cfg_line(s), path, "has %d entries, at most %d",
				n, CFG_MAX_NEXT_HOPS);
	for (i = 0; rc == 0 && i < (unsigned)n; i++)
		rc = cfg_load_hop(c, config_setting_get_elem(s, i), path, ref, i, hops);
	if (rc == 0) {
		*n_hops = (unsigned)n;
		cfg_sort_hops(hops, *n_hops);
	}
	return rc;
}

static int cfg_load_hops(struct cfg_ctx *c, const config_setting_t *g,
			 const char *label, struct cfg_route *r)
{
	const config_setting_t *s = config_setting_get_member(g, "next_hops");
	char path[CFG_PATH_BUF];
	int rc;

	cfg_path(path, sizeof(path), label, "next_hops");
	if (!s)
		return cfg_fail(c, cfg_line(g), label, "no next_hops");
	rc = cfg_load_hop_list(c, s, path, path, r->hops, &r->n_hops);
	if (rc == 0 && r->n_hops == 0)
		rc = cfg_fail(c, cfg_line(s), label, "no next_hops");
	return rc;
}

/* Domain I of route IDX: stored, and refused if an earlier route has it. */
static int cfg_load_route_domain(struct cfg_ctx *c, const config_setting_t *e,
				 const char *path, unsigned idx, char **dst,
				 struct cfg_seen_set *set)
{
	char norm[CFG_HOSTNAME_LEN];
	struct cfg_seen *seen;
	const char *raw;
	int rc = cfg_get_domain(c, e, path, CFG_DOM_WILDCARD | CFG_DOM_ANY |
				CFG_DOM_LOWER, CFG_DOMAIN_MAX, norm, &raw);

	if (rc < 0)
		return rc;
	*dst = strdup(norm);
	if (!*dst)
		return cfg_nomem(c, cfg_line(e), path);
	seen = cfg_seen_find(set, *dst, 0);
	if (!seen->used) {
		cfg_seen_add(seen, idx, cfg_line(e));
		return 0;
	}
	if (strcmp(*dst, "*") == 0)
		return cfg_fail(c, cfg_line(e), path, "\"%s\": routes.[%u] (line %d) "
				"is already the default route", raw, seen->owner,
				seen->line);
	return cfg_fail(c, cfg_line(e), path, "\"%s\" is already routed by "
			"routes.[%u] (line %d)", raw, seen->owner, seen->line);
}

static int cfg_load_route_domains(struct cfg_ctx *c, const config_setting_t *g,
				  const char *label, unsigned idx,
				  struct cfg_route *r, struct cfg_seen_set *set)
{
	const config_setting_t *s = config_setting_get_member(g, "domains");
	char path[CFG_PATH_BUF];
	unsigned i;
	int n, rc = 0;

	if (!s)
		return cfg_fail(c, cfg_line(g), label, "no domains");
	cfg_path(path, sizeof(path), label, "domains");
	if (!cfg_is_sequence(s))
		return cfg_type_error(c, s, path, "an array of strings");
	n = config_setting_length(s);
	if (n == 0)
		return cfg_fail(c, cfg_line(s), label, "no domains");
	r->domains = calloc((size_t)n, sizeof(*r->domains));
	if (!r->domains)
		return cfg_nomem(c, cfg_line(s), path);
	r->n_domains = (unsigned)n;
	for (i = 0; rc == 0 && i < (unsigned)n; i++) {
		snprintf(path, sizeof(path), "%s.domains.[%u]", label, i);
		rc = cfg_load_route_domain(c, config_setting_get_elem(s, i), path,
					   idx, &r->domains[i], set);
	}
	return rc;
}

/* Name I of a "secure" route's tls_names: a domain name, "*." allowed, once. */
static int cfg_load_tls_name(struct cfg_ctx *c, const config_setting_t *e,
			     const char *label, unsigned i, struct cfg_route *r)
{
	char path[CFG_PATH_BUF], norm[CFG_HOSTNAME_LEN];
	const char *raw;
	unsigned j;
	int rc;

	snprintf(path, sizeof(path), "%s.tls_names.[%u]", label, i);
	rc = cfg_get_string(c, e, path, &raw);
	if (rc == 0 && (strcmp(raw, "*") == 0 || strcmp(raw, "*.") == 0))
		return cfg_fail(c, cfg_line(e), path, "\"%s\" would accept any "
				"certificate", raw);
	if (rc == 0)
		rc = cfg_get_domain(c, e, path, CFG_DOM_WILDCARD | CFG_DOM_LOWER,
				    CFG_DOMAIN_MAX, norm, &raw);
	for (j = 0; rc == 0 && j < i; j++)
		if (strcmp(r->tls_names[j], norm) == 0)
			return cfg_fail(c, cfg_line(e), path, "\"%s\" is already "
					"listed at %s.tls_names.[%u]", raw, label, j);
	if (rc == 0 && !(r->tls_names[i] = strdup(norm)))
		rc = cfg_nomem(c, cfg_line(e), path);
	return rc;
}

static int cfg_load_tls_names(struct cfg_ctx *c, const config_setting_t *s,
			      const char *label, struct cfg_route *r)
{
	char path[CFG_PATH_BUF];
	unsigned i;
	int n, rc = 0;

	cfg_path(path, sizeof(path), label, "tls_names");
	if (!cfg_is_sequence(s))
		return cfg_type_error(c, s, path, "an array of strings");
	n = config_setting_length(s);
	if (n == 0)
		return cfg_fail(c, cfg_line(s), path, "is empty (tls_level = "
				"\"secure\" needs at least one name)");
	if (n > CFG_TLS_NAMES_MAX)
		return cfg_fail(c, cfg_line(s), path, "has %d entries, at most %d",
				n, CFG_TLS_NAMES_MAX);
	r->tls_names = calloc((size_t)n, sizeof(*r->tls_names));
	if (!r->tls_names)
		return cfg_nomem(c, cfg_line(s), path);
	r->n_tls_names = (unsigned)n;
	for (i = 0; rc == 0 && i < (unsigned)n; i++)
		rc = cfg_load_tls_name(c, config_setting_get_elem(s, i), label, i, r);
	return rc;
}

/* tls_level (default -1: tls.client.level) and, with "secure" only, tls_names. */
static int cfg_load_route_tls(struct cfg_ctx *c, const config_setting_t *g,
			      const char *label, struct cfg_route *r)
{
	const config_setting_t *lv = config_setting_get_member(g, "tls_level");
	const config_setting_t *names = config_setting_get_member(g, "tls_names");
	char lpath[CFG_PATH_BUF], npath[CFG_PATH_BUF];
	int level, rc;

	cfg_path(lpath, sizeof(lpath), label, "tls_level");
	cfg_path(npath, sizeof(npath), label, "tls_names");
	if (lv) {
		rc = cfg_get_enum(c, lv, lpath, cfg_tls_levels, &level);
		if (rc < 0)
			return rc;
		r->tls_level = level;
	}
	if (names && r->tls_level != CFG_TLS_SECURE)
		return cfg_fail(c, cfg_line(names), npath,
				"only used with tls_level = \"secure\"");
	if (r->tls_level != CFG_TLS_SECURE)
		return 0;
	if (!names)
		return cfg_fail(c, cfg_line(lv), lpath, "\"secure\" needs tls_names "
				"(the names a next hop's certificate may carry)");
	return cfg_load_tls_names(c, names, label, r);
}

static int cfg_load_route(struct cfg_ctx *c, const config_setting_t *g,
			  unsigned idx, struct cfg_route *r,
			  struct cfg_seen_set *set)
{
	char label[32];
	int rc;

	snprintf(label, sizeof(label), "routes.[%u]", idx);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_type_error(c, g, label, "a group");
	r->line = cfg_line(g);
	r->tls_level = -1;              /* calloc'ed: 0 would be "none" */
	rc = cfg_check_names(c, g, label, cfg_route_names);
	if (rc == 0)
		rc = cfg_load_route_domains(c, g, label, idx, r, set);
	if (rc == 0)
		rc = cfg_load_hops(c, g, label, r);
	if (rc == 0)
		rc = cfg_load_route_tls(c, g, label, r);
	return rc;
}

/* Domains in all routes, to size the set (what is not a list counts 0). */
static size_t cfg_count_route_domains(const config_setting_t *list)
{
	const config_setting_t *g, *d;
	size_t total = 0;
	int i, n = config_setting_length(list);

	for (i = 0; i < n; i++) {
		g = config_setting_get_elem(list, (unsigned)i);
		d = config_setting_type(g) == CONFIG_TYPE_GROUP ?
		    config_setting_get_member(g, "domains") : NULL;
		if (d && cfg_is_sequence(d))
			total += (size_t)config_setting_length(d);
	}
	return total;
}

int cfg_load_routes(struct cfg_ctx *c, const config_setting_t *root,
		    struct gw_config *cfg)
{
	const config_setting_t *list = config_setting_get_member(root, "routes");
	struct cfg_seen_set set = { 0 };
	unsigned i;
	int n, rc = 0;

	if (!list)
		return 0;
	if (config_setting_type(list) != CONFIG_TYPE_LIST)
		return cfg_type_error(c, list, "routes", "a list of groups");
	n = config_setting_length(list);
	if (n == 0)
		return 0;
	cfg->routes = calloc((size_t)n, sizeof(*cfg->routes));
	if (!cfg->routes ||
	    cfg_seen_init(&set, cfg_count_route_domains(list)) < 0)
		return cfg_nomem(c, cfg_line(list), "routes");
	cfg->n_routes = (unsigned)n;
	for (i = 0; rc == 0 && i < (unsigned)n; i++)
		rc = cfg_load_route(c, config_setting_get_elem(list, i), i,
				    &cfg->routes[i], &set);
	free(set.slots);
	return rc;
}

void config_free(struct gw_config *cfg)
{
	unsigned i, j;

	for (i = 0; i < cfg->smtp.n_accepted_domains; i++)
		free(cfg->smtp.accepted_domains[i]);
	free(cfg->smtp.accepted_domains);
	cfg->smtp.accepted_domains = NULL;
	cfg->smtp.n_accepted_domains = 0;
	free(cfg->smtp.relay_networks);
	cfg->smtp.relay_networks = NULL;
	cfg->smtp.n_relay_networks = 0;
	for (i = 0; i < cfg->n_routes; i++) {
		for (j = 0; j < cfg->routes[i].n_domains; j++)
			free(cfg->routes[i].domains[j]);
		free(cfg->routes[i].domains);
		for (j = 0; j < cfg->routes[i].n_tls_names; j++)
			free(cfg->routes[i].tls_names[j]);
		free(cfg->routes[i].tls_names);
	}
	free(cfg->routes);
	cfg->routes = NULL;
	cfg->n_routes = 0;
	cfg_connectors_free(cfg);
}

/* ---- format -------------------------------------------------------------------- */

static void cfg_format_ints(struct cfg_out *o, const char *indent,
			    const struct cfg_int_rule *rules, size_t n,
			    const void *src)
{
	size_t i;

	for (i = 0; i < n; i++)
		cfg_put(o, "%s%s = %u;\n", indent, rules[i].name,
			*(const unsigned *)((const char *)src + rules[i].offset));
}

/* INDENT NAME = [ "a", "b" ]; one a line when there are many. */
static void cfg_format_domains(struct cfg_out *o, const char *indent,
			       const char *name, char *const *d, unsigned n)
{
	bool lines = n > CFG_DOMAINS_ONE_LINE;
	unsigned i;

	cfg_put(o, "%s%s = [%s", indent, name, n ? (lines ? "\n" : " ") : " ");
	for (i = 0; i < n; i++) {
		if (lines)
			cfg_put(o, "%s  ", indent);
		cfg_put_string(o, d[i]);
		cfg_put(o, "%s", i + 1 == n ? (lines ? "\n" : " ") :
			(lines ? ",\n" : ", "));
	}
	cfg_put(o, "%s];\n", lines ? indent : "");
}

void cfg_format_smtp(struct cfg_out *o, const struct gw_config *cfg)
{
	const struct cfg_smtp *m = &cfg->smtp;
	char a[16];
	unsigned i;

	cfg_put(o, "smtp: {\n  enabled = %s;\n  port = %u;\n",
		m->enabled ? "true" : "false", m->port);
	cfg_put_str_setting(o, "  ", "hostname", m->hostname);
	cfg_put(o, "  limits: {\n");
	cfg_format_ints(o, "    ", cfg_smtp_limit_ints,
			CFG_NELEM(cfg_smtp_limit_ints), &m->limits);
	cfg_put(o, "    message_size = ");
	cfg_put_u64(o, m->limits.message_size);
	cfg_put(o, ";\n  };\n  timeouts: {\n");
	cfg_format_ints(o, "    ", cfg_smtp_timeout_ints,
			CFG_NELEM(cfg_smtp_timeout_ints), &m->timeouts);
	cfg_put(o, "  };\n  client: {\n");
	cfg_put_str_setting(o, "    ", "helo_name", m->client.helo_name);
	cfg_format_ints(o, "    ", cfg_smtp_client_ints,
			CFG_NELEM(cfg_smtp_client_ints), &m->client);
	cfg_put(o, "  };\n");
	cfg_format_domains(o, "  ", "accepted_domains", m->accepted_domains,
			   m->n_accepted_domains);
	cfg_put(o, "  relay_networks = [");
	for (i = 0; i < m->n_relay_networks; i++) {
		cfg_ntoa(m->relay_networks[i].addr, a);
		cfg_put(o, "%s\"%s/%u\"", i ? ", " : " ", a,
			m->relay_networks[i].prefix_len);
	}
	cfg_put(o, " ];\n};\n");
}

static void cfg_format_route(struct cfg_out *o, const struct cfg_route *r,
			     bool last)
{
	const struct cfg_next_hop *h;
	char a[16];
	unsigned i;

	cfg_put(o, "  {\n");
	cfg_format_domains(o, "    ", "domains", r->domains, r->n_domains);
	cfg_put(o, "    next_hops = (\n");
	for (i = 0; i < r->n_hops; i++) {
		h = &r->hops[i];
		cfg_ntoa(h->addr, a);
		cfg_put(o, "      { address = \"%s\"; port = %u; priority = %u; }%s\n",
			a, h->port, h->priority, i + 1 == r->n_hops ? "" : ",");
	}
	cfg_put(o, "    );\n");
	if (r->tls_level >= CFG_TLS_NONE && r->tls_level <= CFG_TLS_SECURE)
		cfg_put_str_setting(o, "    ", "tls_level", cfg_tls_levels[r->tls_level]);
	if (r->n_tls_names)
		cfg_format_domains(o, "    ", "tls_names", r->tls_names, r->n_tls_names);
	cfg_put(o, "  }%s\n", last ? "" : ",");
}

void cfg_format_routes(struct cfg_out *o, const struct gw_config *cfg)
{
	unsigned i;

	if (!cfg->n_routes)
		return;
	cfg_put(o, "routes = (\n");
	for (i = 0; i < cfg->n_routes; i++)
		cfg_format_route(o, &cfg->routes[i], i + 1 == cfg->n_routes);
	cfg_put(o, ");\n");
}
