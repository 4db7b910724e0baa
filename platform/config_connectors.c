/*
 * config_connectors.c — the `connectors` group of the configuration: the
 * per-partner TLS policy, inbound (partner -> us) and outbound (us -> partner).
 *
 * config_load() (config.c) calls cfg_load_connectors() after tls, whose
 * settings the connectors' TLS requirements are checked against. Each
 * connector is checked on its own (settings, lists, the restrict_* and TLS
 * combinations) and against the others: a selector claimed by two connectors
 * (the same sender domain, address range, certificate name or pin inbound;
 * the same recipient domain outbound) would make the choice ambiguous and is
 * refused, naming both. Errors read "FILE:LINE: connector "NAME": setting:
 * what is wrong". Claims live in one hash set: 100,000 connectors load in a
 * fraction of a second. app/policy/connector.c builds the lookup tables from
 * what this leaves in struct gw_config; config_format() calls
 * cfg_format_connectors() to write it back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "platform/config.h"
#include "platform/config_priv.h"

#define CFG_CONN_LABEL_LEN      (CFG_CONNECTOR_NAME_LEN + 16)   /* connector "NAME" */
#define CFG_CONN_CERT_NAMES_MAX 64
#define CFG_CONN_PINS_MAX       16
#define CFG_CONN_MAX_CONNECTORS 1000000       /* per direction */
#define CFG_CONN_NET_KEY_LEN    17            /* cfg_ip_net: addr[16] and prefix_len */

static const char *const cfg_conn_group_names[] = { "inbound", "outbound", NULL };
static const char *const cfg_conn_in_names[] = {
	"name", "sender_domains", "sender_ip_addresses", "tls_sender_certificate_name",
	"require_tls", "restrict_domains_to_certificate",
	"restrict_domains_to_ip_addresses", "client_cert_spki_pins", "min_tls_version",
	"mode", NULL
};
static const char *const cfg_conn_out_names[] = {
	"name", "recipient_domains", "smart_hosts", "tls_settings", "tls_domain",
	"server_spki_pins", "min_tls_version", "mode", NULL
};
static const char *const cfg_conn_modes[] = { "enforce", "report_only", NULL };
/* Indexed like cfg_conn_settings_levels. */
static const char *const cfg_conn_tls_settings[] = {
	"opportunistic", "encryption_only", "certificate_validation",
	"domain_validation", NULL
};
static const enum cfg_tls_level cfg_conn_settings_levels[] = {
	CFG_TLS_MAY, CFG_TLS_ENCRYPT, CFG_TLS_CHAIN, CFG_TLS_SECURE,
};

/* ---- claims: which connector holds a selector ------------------------------------ */

enum cfg_conn_kind { CFG_CONN_NAME, CFG_CONN_SENDER, CFG_CONN_CERT, CFG_CONN_PIN,
		    CFG_CONN_NET, CFG_CONN_RCPT };

struct cfg_conn_claim {
	uint64_t hash;
	const uint8_t *key;             /* into cfg: a string, a pin, a cfg_ip_net */
	uint16_t klen;
	uint8_t kind;                   /* enum cfg_conn_kind */
	uint8_t used;
	uint8_t out;                    /* of an outbound connector */
	unsigned owner;                 /* index of the connector in its list */
	unsigned item;                  /* index in the connector's list */
	int line;
};

/* Open addressing, at most half full, doubled as it fills. */
struct cfg_conn_claims {
	struct cfg_conn_claim *slots;
	size_t mask;
	size_t used;
};

/* What one load carries. */
struct cfg_conn_load {
	struct cfg_ctx *c;
	struct gw_config *cfg;
	struct cfg_conn_claims claims;
};

static uint64_t cfg_conn_hash(uint8_t kind, const uint8_t *key, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ kind;     /* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ key[i]) * 0x100000001b3ULL;
	h ^= h >> 33;                                   /* murmur3's finaliser */
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static struct cfg_conn_claim *cfg_conn_slot(struct cfg_conn_claim *slots, size_t mask,
					    uint64_t hash, uint8_t kind,
					    const uint8_t *key, size_t len)
{
	struct cfg_conn_claim *e;
	size_t i;

	for (i = hash & mask;; i = (i + 1) & mask) {
		e = &slots[i];
		if (!e->used || (e->hash == hash && e->kind == kind && e->klen == len &&
				 memcmp(e->key, key, len) == 0))
			return e;
	}
}

/* Double the set (or make it, for about HINT claims). */
static int cfg_conn_grow(struct cfg_conn_claims *set, size_t hint)
{
	size_t cap = set->slots ? 2 * (set->mask + 1) : 1024, i;
	struct cfg_conn_claim *slots, *e;

	while (!set->slots && cap < 2 * hint)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; set->slots && i <= set->mask; i++) {
		e = &set->slots[i];
		if (e->used)
			*cfg_conn_slot(slots, cap - 1, e->hash, e->kind, e->key,
				       e->klen) = *e;
	}
	free(set->slots);
	set->slots = slots;
	set->mask = cap - 1;
	return 0;
}

/*
 * Claim KEY of KIND for item ITEM of connector OWNER: NULL when it was free
 * (now claimed), else the earlier claim. *nomem on allocation failure.
 */
static const struct cfg_conn_claim *cfg_conn_claim(struct cfg_conn_load *l, uint8_t kind,
						   bool out, const void *key, size_t len,
						   unsigned owner, unsigned item,
						   int line, bool *nomem)
{
	uint64_t hash = cfg_conn_hash(kind, key, len);
	struct cfg_conn_claim *e;

	*nomem = false;
	if (2 * (l->claims.used + 1) > (l->claims.slots ? l->claims.mask + 1 : 0) &&
	    cfg_conn_grow(&l->claims, 0) < 0) {
		*nomem = true;
		return NULL;
	}
	e = cfg_conn_slot(l->claims.slots, l->claims.mask, hash, kind, key, len);
	if (e->used)
		return e;
	*e = (struct cfg_conn_claim){ .hash = hash, .key = key, .klen = (uint16_t)len,
				      .kind = kind, .used = 1, .out = out, .owner = owner,
				      .item = item, .line = line };
	l->claims.used++;
	return NULL;
}

static const char *cfg_conn_owner_name(const struct cfg_conn_load *l,
				       const struct cfg_conn_claim *e)
{
	return e->out ? l->cfg->connectors_out[e->owner].name :
	       l->cfg->connectors_in[e->owner].name;
}

/*
 * Claim TEXT (what the file wrote: WHAT) at PATH for connector IDX; an
 * earlier claim is an error naming its connector, or its place in this
 * connector's SETTING list.
 */
static int cfg_conn_claim_or_fail(struct cfg_conn_load *l, uint8_t kind, bool out,
				  const void *key, size_t len, unsigned idx,
				  unsigned item, int line, const char *path,
				  const char *setting, const char *what)
{
	bool nomem;
	const struct cfg_conn_claim *e = cfg_conn_claim(l, kind, out, key, len, idx, item,
							line, &nomem);

	if (nomem)
		return cfg_nomem(l->c, line, path);
	if (!e)
		return 0;
	if (e->out == out && e->owner == idx)
		return cfg_fail(l->c, line, path, "\"%s\" is already listed at %s.[%u]",
				what, setting, e->item);
	return cfg_fail(l->c, line, path, "\"%s\" is already claimed by connector "
			"\"%s\" (line %d)", what, cfg_conn_owner_name(l, e), e->line);
}

/* ---- small parsers ---------------------------------------------------------------- */

static int cfg_conn_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 64 hex digits, optionally a colon between each pair. */
static int cfg_conn_parse_hex_pin(const char *s, uint8_t out[CFG_SPKI_PIN_LEN])
{
	size_t len = strlen(s), i;
	bool colons = len == 3 * CFG_SPKI_PIN_LEN - 1;
	int hi, lo;

	if (len != 2 * CFG_SPKI_PIN_LEN && !colons)
		return -EINVAL;
	for (i = 0; i < CFG_SPKI_PIN_LEN; i++, s += colons ? 3 : 2) {
		hi = cfg_conn_hexval(s[0]);
		lo = cfg_conn_hexval(s[1]);
		if (hi < 0 || lo < 0 || (colons && i + 1 < CFG_SPKI_PIN_LEN && s[2] != ':'))
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int cfg_conn_b64val(char ch)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = ch ? strchr(abc, ch) : NULL;

	return p ? (int)(p - abc) : -1;
}

/* 44 characters of standard base64 ending in "=" (32 bytes). */
static int cfg_conn_parse_b64_pin(const char *s, uint8_t out[CFG_SPKI_PIN_LEN])
{
	uint32_t acc = 0;
	unsigned i, bits = 0, n = 0;
	int v;

	if (strlen(s) != 44 || s[43] != '=')
		return -EINVAL;
	for (i = 0; i < 43; i++) {
		v = cfg_conn_b64val(s[i]);
		if (v < 0)
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* The 2 bits left over must be zero (canonical encoding). */
	return n == CFG_SPKI_PIN_LEN && (acc & ((1u << bits) - 1)) == 0 ? 0 : -EINVAL;
}

/* A prefix length of 1..3 decimal digits (no sign, no leading zero). */
static int cfg_conn_parse_len(const char *s, unsigned *len)
{
	unsigned n = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9' && p - s < 3; p++)
		n = n * 10 + (unsigned)(*p - '0');
	if (p == s || *p || (s[0] == '0' && p - s > 1))
		return -EINVAL;
	*len = n;
	return 0;
}

/*
 * "a.b.c.d[/N]" or an IPv6 address "[/N]" into NET (without the line): 0,
 * -EINVAL (syntax) or -ERANGE (length; *len says which).
 */
static int cfg_conn_parse_net(const char *v, struct cfg_ip_net *net, unsigned *len)
{
	const char *slash = strchr(v, '/');
	char host[64];
	size_t n = slash ? (size_t)(slash - v) : strlen(v);
	uint32_t a;

	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, v, n);
	host[n] = '\0';
	memset(net->addr, 0, sizeof(net->addr));
	net->v4 = strchr(host, ':') == NULL;
	if (net->v4) {
		if (config_parse_ipv4(host, &a) < 0)
			return -EINVAL;
		net->addr[10] = net->addr[11] = 0xff;
		a = htonl(a);
		memcpy(&net->addr[12], &a, 4);
	} else if (inet_pton(AF_INET6, host, net->addr) != 1) {
		return -EINVAL;
	}
	*len = net->v4 ? 32 : 128;
	if (slash && cfg_conn_parse_len(slash + 1, len) < 0)
		return -EINVAL;
	if (*len > (net->v4 ? 32u : 128u))
		return -ERANGE;
	net->prefix_len = (uint8_t)*len;
	return 0;
}

/* The bits of NET past its prefix are zero (those of IPv4 counted from bit 96). */
static bool cfg_conn_net_masked(const struct cfg_ip_net *net, struct cfg_ip_net *base)
{
	unsigned bits = net->prefix_len + (net->v4 ? 96u : 0u), i;

	*base = *net;
	for (i = bits; i < 128; i++)
		base->addr[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
	return memcmp(base->addr, net->addr, 16) == 0;
}

/* "a.b.c.d/N" or "x::y/N" of NET. */
static void cfg_conn_net_text(const struct cfg_ip_net *net, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(net->v4 ? AF_INET : AF_INET6, net->v4 ? &net->addr[12] : net->addr,
		  a, sizeof(a));
	snprintf(buf, len, "%s/%u", a, net->prefix_len);
}

static bool cfg_conn_v4_mapped(const uint8_t a[16])
{
	static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a, pre, sizeof(pre)) == 0;
}

/* ---- connector names and settings ---------------------------------------------------- */

/*
 * BUF (N bytes) = A B C D, truncated (NULLs skipped). Every connector needs
 * a dozen paths for its errors: cheaper than snprintf with 100,000 of them.
 */
static void cfg_conn_join(char *buf, size_t n, const char *a, const char *b,
			  const char *c, const char *d)
{
	const char *part[4] = { a, b, c, d };
	size_t used = 0, len, i;

	for (i = 0; i < 4; i++) {
		len = part[i] ? strlen(part[i]) : 0;
		if (len > n - 1 - used)
			len = n - 1 - used;
		memcpy(buf + used, part[i] ? part[i] : "", len);
		used += len;
	}
	buf[used] = '\0';
}

/* ".[I]" into BUF (16 bytes). */
static const char *cfg_conn_index(char *buf, unsigned i)
{
	char *p = buf + 15;

	*p = '\0';
	*--p = ']';
	do
		*--p = (char)('0' + i % 10);
	while ((i /= 10) != 0);
	*--p = '[';
	*--p = '.';
	return p;
}

/* `connector "NAME"` */
static void cfg_conn_label(char *buf, size_t n, const char *name)
{
	cfg_conn_join(buf, n, "connector \"", name, "\"", NULL);
}

/* `connector "NAME": SETTING` */
static void cfg_conn_spath(char *buf, size_t n, const char *label, const char *setting)
{
	cfg_conn_join(buf, n, label, ": ", setting, NULL);
}

/* `connector "NAME": SETTING.[I]` */
static void cfg_conn_ipath(char *buf, size_t n, const char *label, const char *setting,
			   unsigned i)
{
	char idx[16];

	cfg_conn_join(buf, n, label, ": ", setting, cfg_conn_index(idx, i));
}

/* Why NAME cannot be a connector's name, or NULL. */
static const char *cfg_conn_bad_name(const char *v)
{
	size_t len = strlen(v), i;

	if (len == 0)
		return "must not be empty";
	if (len >= CFG_CONNECTOR_NAME_LEN)
		return "is too long (at most 63 characters)";
	for (i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e ||
		    v[i] == '"' || v[i] == '\\')
			return "may hold printable ASCII only, without '\"' and '\\'";
	if (v[0] == ' ' || v[len - 1] == ' ')
		return "has a leading or trailing space";
	return NULL;
}

/* Member `name` of connector group G (LIST.[IDX]): required, unique in both lists. */
static int cfg_conn_load_name(struct cfg_conn_load *l, const config_setting_t *g,
			      const char *list, unsigned idx, bool out,
			      char dst[CFG_CONNECTOR_NAME_LEN])
{
	const config_setting_t *s = config_setting_get_member(g, "name");
	char path[CFG_PATH_BUF], label[CFG_CONN_LABEL_LEN], num[16];
	const struct cfg_conn_claim *e;
	const char *v, *why;
	bool nomem;
	int rc;

	cfg_conn_join(path, sizeof(path), list, cfg_conn_index(num, idx), NULL, NULL);
	rc = s ? 0 : cfg_check_names(l->c, g, path,
				     out ? cfg_conn_out_names : cfg_conn_in_names);
	cfg_conn_join(path, sizeof(path), list, cfg_conn_index(num, idx), ".name", NULL);
	if (rc == 0 && !s)
		return cfg_fail(l->c, cfg_line(g), path, "missing (required)");
	if (rc < 0)
		return rc;
	rc = cfg_get_string(l->c, s, path, &v);
	if (rc == 0 && (why = cfg_conn_bad_name(v)) != NULL)
		return cfg_fail(l->c, cfg_line(s), path, "\"%s\" %s", v, why);
	if (rc < 0)
		return rc;
	memcpy(dst, v, strlen(v) + 1);
	e = cfg_conn_claim(l, CFG_CONN_NAME, out, dst, strlen(dst), idx, 0, cfg_line(g),
			   &nomem);
	if (nomem)
		return cfg_nomem(l->c, cfg_line(s), path);
	if (!e)
		return 0;
	cfg_conn_label(label, sizeof(label), v);
	cfg_conn_spath(path, sizeof(path), label, "name");
	return cfg_fail(l->c, cfg_line(s), path, "is already used by connectors.%s.[%u] "
			"(line %d)", e->out ? "outbound" : "inbound", e->owner, e->line);
}

/* Refuse a member of G not in KNOWN: "connector "X": foo: unknown setting". */
static int cfg_conn_check_names(struct cfg_conn_load *l, const config_setting_t *g,
				const char *label, const char *const *known)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *s;
	const char *name, *hint;
	const char *const *k;
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		s = config_setting_get_elem(g, (unsigned)i);
		name = config_setting_name(s);
		for (k = known; name && *k && strcmp(*k, name) != 0; k++)
			;
		if (!name || *k)
			continue;
		cfg_conn_spath(path, sizeof(path), label, name);
		hint = cfg_closest(known, name);
		if (hint)
			return cfg_fail(l->c, cfg_line(s), path,
					"unknown setting (did you mean \"%s\"?)", hint);
		return cfg_fail(l->c, cfg_line(s), path, "unknown setting");
	}
	return 0;
}

/* Optional boolean SETTING of G. */
static int cfg_conn_load_bool(struct cfg_conn_load *l, const config_setting_t *g,
			      const char *label, const char *setting, bool *dst)
{
	const config_setting_t *s = config_setting_get_member(g, setting);
	char path[CFG_PATH_BUF];

	if (!s)
		return 0;
	cfg_conn_spath(path, sizeof(path), label, setting);
	return cfg_get_bool(l->c, s, path, dst);
}

/* Optional min_tls_version: "1.2" or "1.3". */
static int cfg_conn_load_min_version(struct cfg_conn_load *l, const config_setting_t *g,
				     const char *label, int *dst)
{
	const config_setting_t *s = config_setting_get_member(g, "min_tls_version");
	char path[CFG_PATH_BUF];
	const char *v;
	int rc;

	if (!s)
		return 0;
	cfg_conn_spath(path, sizeof(path), label, "min_tls_version");
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_type_error(l->c, s, path, "a string (\"1.2\" or \"1.3\")");
	rc = cfg_get_string(l->c, s, path, &v);
	if (strcmp(v, "1.2") == 0)
		*dst = CFG_TLS_V1_2;
	else if (strcmp(v, "1.3") == 0)
		*dst = CFG_TLS_V1_3;
	else if (strcmp(v, "1") == 0 || strcmp(v, "1.0") == 0 || strcmp(v, "1.1") == 0)
		rc = cfg_fail(l->c, cfg_line(s), path, "\"%s\" is below the TLS 1.2 "
			      "floor (TLS 1.0/1.1 are never used)", v);
	else
		rc = cfg_fail(l->c, cfg_line(s), path, "\"%s\" is unknown (expected "
			      "\"1.2\" or \"1.3\")", v);
	return rc;
}

/* Optional mode: "enforce" (default) or "report_only". */
static int cfg_conn_load_mode(struct cfg_conn_load *l, const config_setting_t *g,
			      const char *label, enum cfg_connector_mode *dst)
{
	const config_setting_t *s = config_setting_get_member(g, "mode");
	char path[CFG_PATH_BUF];
	int v, rc;

	if (!s)
		return 0;
	cfg_conn_spath(path, sizeof(path), label, "mode");
	rc = cfg_get_enum(l->c, s, path, cfg_conn_modes, &v);
	if (rc == 0)
		*dst = (enum cfg_connector_mode)v;
	return rc;
}

/* ---- lists --------------------------------------------------------------------- */

/* SETTING of G as a non-empty sequence of at most MAX (0: no limit); *n its length. */
static int cfg_conn_get_list(struct cfg_conn_load *l, const config_setting_t *s,
			     const char *label, const char *setting, unsigned max,
			     unsigned *n)
{
	char path[CFG_PATH_BUF];
	int len;

	cfg_conn_spath(path, sizeof(path), label, setting);
	if (!cfg_is_sequence(s))
		return cfg_type_error(l->c, s, path, "an array of strings");
	len = config_setting_length(s);
	if (len == 0)
		return cfg_fail(l->c, cfg_line(s), path, "is empty");
	if (max && (unsigned)len > max)
		return cfg_fail(l->c, cfg_line(s), path, "has %d entries, at most %u",
				len, max);
	*n = (unsigned)len;
	return 0;
}

/* How a list of domain names is read and claimed. */
struct cfg_conn_domain_rule {
	const char *setting;
	uint8_t kind;                   /* enum cfg_conn_kind */
	bool any;                       /* "*" allowed (outbound recipient_domains) */
	bool one;                       /* a single string is a list of one */
	const char *star;               /* why "*" is refused */
};

static const struct cfg_conn_domain_rule cfg_conn_sender_rule = {
	"sender_domains", CFG_CONN_SENDER, false, false,
	"would match every sender (mail matched by no connector already gets the "
	"default policy)"
};
static const struct cfg_conn_domain_rule cfg_conn_cert_rule = {
	"tls_sender_certificate_name", CFG_CONN_CERT, false, true,
	"would accept any certificate"
};
static const struct cfg_conn_domain_rule cfg_conn_rcpt_rule = {
	"recipient_domains", CFG_CONN_RCPT, true, false, NULL
};

/*
 * Domain name E (at PATH) into *DST (heap, normal form): "*.x" allowed,
 * "*" only with ANY (else refused for the reason STAR). *RAW: as written.
 */
static int cfg_conn_get_domain(struct cfg_conn_load *l, const config_setting_t *e,
			       const char *path, bool any, const char *star, char **dst,
			       const char **raw)
{
	unsigned flags = CFG_DOM_WILDCARD | CFG_DOM_LOWER | (any ? CFG_DOM_ANY : 0);
	char norm[CFG_HOSTNAME_LEN];
	int rc = cfg_get_string(l->c, e, path, raw);

	if (rc == 0 && !any && (strcmp(*raw, "*") == 0 || strcmp(*raw, "*.") == 0))
		return cfg_fail(l->c, cfg_line(e), path, "\"%s\" %s", *raw, star);
	if (rc == 0)
		rc = cfg_get_domain(l->c, e, path, flags, CFG_DOMAIN_MAX, norm, raw);
	if (rc < 0)
		return rc;
	*dst = strdup(norm);
	return *dst ? 0 : cfg_nomem(l->c, cfg_line(e), path);
}

/* Entry E (at PATH) of a domain list into *DST, claimed for connector IDX. */
static int cfg_conn_load_domain(struct cfg_conn_load *l, const config_setting_t *e,
				const char *path, const struct cfg_conn_domain_rule *r,
				bool out, unsigned idx, unsigned item, char **dst)
{
	const char *raw;
	int rc = cfg_conn_get_domain(l, e, path, r->any, r->star, dst, &raw);

	if (rc < 0)
		return rc;
	return cfg_conn_claim_or_fail(l, r->kind, out, *dst, strlen(*dst), idx, item,
				      cfg_line(e), path, r->setting, raw);
}

/*
 * Domain list R->setting of G into *LIST (heap, each string too). A single
 * string counts as a list of one when R->one (tls_sender_certificate_name).
 */
static int cfg_conn_load_domains(struct cfg_conn_load *l, const config_setting_t *s,
				 const char *label, const struct cfg_conn_domain_rule *r,
				 bool out, unsigned idx, unsigned max, char ***list,
				 unsigned *n)
{
	char path[CFG_PATH_BUF];
	bool one = r->one && config_setting_type(s) == CONFIG_TYPE_STRING;
	unsigned i, len = 1;
	int rc = one ? 0 : cfg_conn_get_list(l, s, label, r->setting, max, &len);

	if (rc < 0)
		return rc;
	*list = calloc(len, sizeof(**list));
	if (!*list)
		return cfg_nomem(l->c, cfg_line(s), label);
	*n = len;
	for (i = 0; rc == 0 && i < len; i++) {
		if (one)
			cfg_conn_spath(path, sizeof(path), label, r->setting);
		else
			cfg_conn_ipath(path, sizeof(path), label, r->setting, i);
		rc = cfg_conn_load_domain(l, one ? s : config_setting_get_elem(s, i),
					  path, r, out, idx, i, &(*list)[i]);
	}
	return rc;
}

/* Entry E (at PATH) of sender_ip_addresses into NET, claimed for connector IDX. */
static int cfg_conn_load_net(struct cfg_conn_load *l, const config_setting_t *e,
			     const char *path, unsigned idx, unsigned item,
			     struct cfg_ip_net *net)
{
	struct cfg_ip_net base;
	char text[INET6_ADDRSTRLEN + 8];
	const char *v;
	unsigned len;
	int rc = cfg_get_string(l->c, e, path, &v), line = cfg_line(e);

	if (rc < 0)
		return rc;
	net->line = line;
	rc = cfg_conn_parse_net(v, net, &len);
	if (rc == -ERANGE)
		return cfg_fail(l->c, line, path, "\"%s\": prefix length %u is out of "
				"range (1..%u)", v, len, net->v4 ? 32 : 128);
	if (rc < 0)
		return cfg_fail(l->c, line, path, "\"%s\" is not an IPv4 or IPv6 address "
				"or network (a.b.c.d[/1..32] or x:x::x[/1..128])", v);
	if (!net->v4 && cfg_conn_v4_mapped(net->addr))
		return cfg_fail(l->c, line, path, "\"%s\" is an IPv4-mapped IPv6 "
				"address (write IPv4 networks as a.b.c.d/N)", v);
	if (net->prefix_len == 0)
		return cfg_fail(l->c, line, path, "\"%s\" would match every address", v);
	if (!cfg_conn_net_masked(net, &base)) {
		cfg_conn_net_text(&base, text, sizeof(text));
		return cfg_fail(l->c, line, path, "\"%s\" has host bits set (the network "
				"is %s)", v, text);
	}
	return cfg_conn_claim_or_fail(l, CFG_CONN_NET, false, net->addr,
				      CFG_CONN_NET_KEY_LEN, idx, item,
				      line, path, "sender_ip_addresses", v);
}

static int cfg_conn_load_nets(struct cfg_conn_load *l, const config_setting_t *s,
			      const char *label, unsigned idx,
			      struct cfg_connector_in *ci)
{
	char path[CFG_PATH_BUF];
	unsigned i, n = 0;
	int rc = cfg_conn_get_list(l, s, label, "sender_ip_addresses", 0, &n);

	if (rc < 0)
		return rc;
	ci->ips = calloc(n, sizeof(*ci->ips));
	if (!ci->ips)
		return cfg_nomem(l->c, cfg_line(s), label);
	ci->n_ips = n;
	for (i = 0; rc == 0 && i < n; i++) {
		cfg_conn_ipath(path, sizeof(path), label, "sender_ip_addresses", i);
		rc = cfg_conn_load_net(l, config_setting_get_elem(s, i), path, idx, i,
				       &ci->ips[i]);
	}
	return rc;
}

/*
 * Pin list SETTING into *PINS: each once; inbound pins (CLAIM) also once
 * across connectors (they select the connector).
 */
static int cfg_conn_load_pins(struct cfg_conn_load *l, const config_setting_t *s,
			      const char *label, const char *setting, bool claim,
			      unsigned idx, uint8_t (**pins)[CFG_SPKI_PIN_LEN],
			      unsigned *n_pins)
{
	char path[CFG_PATH_BUF];
	const config_setting_t *e;
	const char *v;
	unsigned i, j, n = 0;
	int rc = cfg_conn_get_list(l, s, label, setting, CFG_CONN_PINS_MAX, &n);

	if (rc == 0 && !(*pins = calloc(n, sizeof(**pins))))
		rc = cfg_nomem(l->c, cfg_line(s), label);
	if (rc < 0)
		return rc;
	*n_pins = n;
	for (i = 0; rc == 0 && i < n; i++) {
		e = config_setting_get_elem(s, i);
		cfg_conn_ipath(path, sizeof(path), label, setting, i);
		rc = cfg_get_string(l->c, e, path, &v);
		if (rc == 0 && cfg_conn_parse_hex_pin(v, (*pins)[i]) < 0 &&
		    cfg_conn_parse_b64_pin(v, (*pins)[i]) < 0)
			rc = cfg_fail(l->c, cfg_line(e), path, "\"%s\" is not a SHA-256 "
				      "pin (44 characters of base64, or 64 hex digits, "
				      "colons allowed)", v);
		for (j = 0; rc == 0 && !claim && j < i; j++)
			if (memcmp((*pins)[j], (*pins)[i], CFG_SPKI_PIN_LEN) == 0)
				rc = cfg_fail(l->c, cfg_line(e), path, "\"%s\" is already "
					      "listed at %s.[%u]", v, setting, j);
		if (rc == 0 && claim)
			rc = cfg_conn_claim_or_fail(l, CFG_CONN_PIN, false, (*pins)[i],
						    CFG_SPKI_PIN_LEN,
						    idx, i, cfg_line(e), path, setting, v);
	}
	return rc;
}

/* ---- inbound ------------------------------------------------------------------------- */

/* The first of a connector's settings that makes TLS required, or NULL. */
static const char *cfg_conn_in_tls_setting(const struct cfg_connector_in *ci)
{
	if (ci->require_tls)
		return "require_tls";
	if (ci->min_tls_version)
		return "min_tls_version";
	if (ci->n_cert_names)
		return "tls_sender_certificate_name";
	if (ci->n_pins)
		return "client_cert_spki_pins";
	return NULL;
}

/* The restrict_* settings: each needs the list it restricts to, and sender_domains. */
static int cfg_conn_check_in_restrict(struct cfg_conn_load *l, const config_setting_t *g,
				      const char *label,
				      const struct cfg_connector_in *ci)
{
	char path[CFG_PATH_BUF];
	int line;

	if (ci->restrict_domains_to_certificate) {
		line = cfg_member_line(g, "restrict_domains_to_certificate");
		cfg_conn_spath(path, sizeof(path), label,
			       "restrict_domains_to_certificate");
		if (!ci->n_cert_names && !ci->n_pins)
			return cfg_fail(l->c, line, path,
					"needs tls_sender_certificate_name "
					"or client_cert_spki_pins (the certificate it "
					"restricts the sender domains to)");
		if (!ci->n_sender_domains)
			return cfg_fail(l->c, line, path, "needs sender_domains (the "
					"domains it restricts)");
	}
	if (ci->restrict_domains_to_ip_addresses) {
		line = cfg_member_line(g, "restrict_domains_to_ip_addresses");
		cfg_conn_spath(path, sizeof(path), label,
			       "restrict_domains_to_ip_addresses");
		if (!ci->n_ips)
			return cfg_fail(l->c, line, path, "needs sender_ip_addresses (the "
					"ranges it restricts the sender domains to)");
		if (!ci->n_sender_domains)
			return cfg_fail(l->c, line, path, "needs sender_domains (the "
					"domains it restricts)");
	}
	return 0;
}

/* What the connector needs of the tls group: STARTTLS, client certificates, CAs. */
static int cfg_conn_check_in_tls(struct cfg_conn_load *l, const config_setting_t *g,
				 const char *label, const struct cfg_connector_in *ci)
{
	const struct cfg_tls *t = &l->cfg->tls;
	const char *setting = cfg_conn_in_tls_setting(ci);
	char path[CFG_PATH_BUF];
	int line;

	if (!setting)
		return 0;
	line = cfg_member_line(g, setting);
	cfg_conn_spath(path, sizeof(path), label, setting);
	if (!t->enabled)
		return cfg_fail(l->c, line, path, "needs STARTTLS (tls.enabled, with "
				"tls.certificates)");
	cfg_conn_spath(path, sizeof(path), label, "min_tls_version");
	if (ci->min_tls_version == CFG_TLS_V1_3 && !t->tls13)
		return cfg_fail(l->c, cfg_member_line(g, "min_tls_version"), path,
				"\"1.3\" needs tls.tls13 = true");
	setting = ci->n_cert_names ? "tls_sender_certificate_name" :
		  ci->n_pins ? "client_cert_spki_pins" : NULL;
	if (!setting)
		return 0;
	line = cfg_member_line(g, setting);
	cfg_conn_spath(path, sizeof(path), label, setting);
	if (!t->request_client_cert)
		return cfg_fail(l->c, line, path, "needs tls.request_client_cert = true");
	if (ci->n_cert_names && !t->ca_file[0])
		return cfg_fail(l->c, line, path, "needs tls.ca_file (the CAs that "
				"verify client certificates)");
	return 0;
}

/* The settings of inbound connector G (name already read). */
static int cfg_conn_load_in_settings(struct cfg_conn_load *l, const config_setting_t *g,
				     const char *label, unsigned idx,
				     struct cfg_connector_in *ci)
{
	const config_setting_t *s;
	int rc = cfg_conn_check_names(l, g, label, cfg_conn_in_names);

	if (rc == 0 && (s = config_setting_get_member(g, "sender_domains")))
		rc = cfg_conn_load_domains(l, s, label, &cfg_conn_sender_rule, false, idx,
					   0, &ci->sender_domains, &ci->n_sender_domains);
	if (rc == 0 && (s = config_setting_get_member(g, "sender_ip_addresses")))
		rc = cfg_conn_load_nets(l, s, label, idx, ci);
	if (rc == 0 && (s = config_setting_get_member(g, "tls_sender_certificate_name")))
		rc = cfg_conn_load_domains(l, s, label, &cfg_conn_cert_rule, false, idx,
					   CFG_CONN_CERT_NAMES_MAX, &ci->cert_names,
					   &ci->n_cert_names);
	if (rc == 0 && (s = config_setting_get_member(g, "client_cert_spki_pins")))
		rc = cfg_conn_load_pins(l, s, label, "client_cert_spki_pins", true, idx,
					&ci->pins, &ci->n_pins);
	if (rc == 0)
		rc = cfg_conn_load_bool(l, g, label, "require_tls", &ci->require_tls);
	if (rc == 0)
		rc = cfg_conn_load_bool(l, g, label, "restrict_domains_to_certificate",
					&ci->restrict_domains_to_certificate);
	if (rc == 0)
		rc = cfg_conn_load_bool(l, g, label, "restrict_domains_to_ip_addresses",
					&ci->restrict_domains_to_ip_addresses);
	if (rc == 0)
		rc = cfg_conn_load_min_version(l, g, label, &ci->min_tls_version);
	if (rc == 0)
		rc = cfg_conn_load_mode(l, g, label, &ci->mode);
	return rc;
}

static int cfg_conn_load_in(struct cfg_conn_load *l, const config_setting_t *g,
			    unsigned idx)
{
	struct cfg_connector_in *ci = &l->cfg->connectors_in[idx];
	char label[CFG_CONN_LABEL_LEN], path[CFG_PATH_BUF];
	int rc;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		snprintf(path, sizeof(path), "connectors.inbound.[%u]", idx);
		return cfg_type_error(l->c, g, path, "a group");
	}
	ci->line = cfg_line(g);
	rc = cfg_conn_load_name(l, g, "connectors.inbound", idx, false, ci->name);
	if (rc < 0)
		return rc;
	cfg_conn_label(label, sizeof(label), ci->name);
	rc = cfg_conn_load_in_settings(l, g, label, idx, ci);
	if (rc == 0 && !ci->n_sender_domains && !ci->n_ips && !ci->n_cert_names &&
	    !ci->n_pins)
		rc = cfg_fail(l->c, ci->line, label, "matches nothing (set sender_domains, "
			      "sender_ip_addresses, tls_sender_certificate_name or "
			      "client_cert_spki_pins)");
	if (rc == 0)
		rc = cfg_conn_check_in_restrict(l, g, label, ci);
	if (rc == 0)
		rc = cfg_conn_check_in_tls(l, g, label, ci);
	return rc;
}

/* ---- outbound ------------------------------------------------------------------------ */

/* tls_settings (default "opportunistic") and tls_domain, with "domain_validation" only. */
static int cfg_conn_load_out_tls(struct cfg_conn_load *l, const config_setting_t *g,
				 const char *label, struct cfg_connector_out *co)
{
	const config_setting_t *s = config_setting_get_member(g, "tls_settings");
	const config_setting_t *d = config_setting_get_member(g, "tls_domain");
	struct cfg_route *r = &co->route;
	char spath[CFG_PATH_BUF], dpath[CFG_PATH_BUF];
	const char *v_raw;
	int v = 0, rc = 0;

	cfg_conn_spath(spath, sizeof(spath), label, "tls_settings");
	cfg_conn_spath(dpath, sizeof(dpath), label, "tls_domain");
	if (s)
		rc = cfg_get_enum(l->c, s, spath, cfg_conn_tls_settings, &v);
	if (rc < 0)
		return rc;
	r->tls_level = (int)cfg_conn_settings_levels[v];
	if (d && r->tls_level != CFG_TLS_SECURE)
		return cfg_fail(l->c, cfg_line(d), dpath, "only used with tls_settings = "
				"\"domain_validation\"");
	if (r->tls_level != CFG_TLS_SECURE)
		return 0;
	if (!d)
		return cfg_fail(l->c, cfg_line(s), spath, "\"domain_validation\" needs "
				"tls_domain (the name the partner's certificate must "
				"carry)");
	if (!(r->tls_names = calloc(1, sizeof(*r->tls_names))))
		return cfg_nomem(l->c, cfg_line(d), dpath);
	r->n_tls_names = 1;
	return cfg_conn_get_domain(l, d, dpath, false, "would accept any certificate",
				   &r->tls_names[0], &v_raw);
}

/* Pins and a minimum version need TLS that cannot fall back to plaintext;
 * levels that verify need the trust anchors. */
static int cfg_conn_check_out_tls(struct cfg_conn_load *l, const config_setting_t *g,
				  const char *label, const struct cfg_connector_out *co)
{
	const char *setting = co->n_pins ? "server_spki_pins" :
			      co->min_tls_version ? "min_tls_version" : NULL;
	const char *ca = l->cfg->tls.client_ca_file;
	char path[CFG_PATH_BUF];
	int e;

	if (setting && co->route.tls_level == CFG_TLS_MAY) {
		cfg_conn_spath(path, sizeof(path), label, setting);
		return cfg_fail(l->c, cfg_member_line(g, setting), path, "needs "
				"tls_settings \"encryption_only\" or stronger "
				"(\"opportunistic\" falls back to plaintext)");
	}
	if (co->route.tls_level < CFG_TLS_VERIFY || access(ca, R_OK) == 0)
		return 0;
	e = errno;
	cfg_conn_spath(path, sizeof(path), label, "tls_settings");
	return cfg_fail(l->c, cfg_member_line(g, "tls_settings"), path, "\"%s\" verifies "
			"certificates against tls.client.ca_file, but %s cannot be "
			"read: %s",
			co->route.tls_level == CFG_TLS_CHAIN ? "certificate_validation" :
			"domain_validation", ca, strerror(e));
}

/* recipient_domains (required) and smart_hosts (optional). */
static int cfg_conn_load_out_route(struct cfg_conn_load *l, const config_setting_t *g,
				   const char *label, unsigned idx,
				   struct cfg_connector_out *co)
{
	const config_setting_t *s = config_setting_get_member(g, "recipient_domains");
	struct cfg_route *r = &co->route;
	char path[CFG_PATH_BUF];
	int rc;

	cfg_conn_spath(path, sizeof(path), label, "recipient_domains");
	if (!s)
		return cfg_fail(l->c, co->line, path, "missing (required)");
	rc = cfg_conn_load_domains(l, s, label, &cfg_conn_rcpt_rule, true, idx, 0,
				   &r->domains, &r->n_domains);
	s = config_setting_get_member(g, "smart_hosts");
	cfg_conn_spath(path, sizeof(path), label, "smart_hosts");
	if (rc == 0 && s)
		rc = cfg_load_hop_list(l->c, s, path, "smart_hosts", r->hops, &r->n_hops);
	if (rc == 0 && s && r->n_hops == 0)
		rc = cfg_fail(l->c, cfg_line(s), path, "is empty (leave it out to take "
			      "the next hop from routes)");
	return rc;
}

static int cfg_conn_load_out(struct cfg_conn_load *l, const config_setting_t *g,
			     unsigned idx)
{
	struct cfg_connector_out *co = &l->cfg->connectors_out[idx];
	char label[CFG_CONN_LABEL_LEN], path[CFG_PATH_BUF];
	const config_setting_t *s;
	int rc;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		snprintf(path, sizeof(path), "connectors.outbound.[%u]", idx);
		return cfg_type_error(l->c, g, path, "a group");
	}
	co->line = co->route.line = cfg_line(g);
	rc = cfg_conn_load_name(l, g, "connectors.outbound", idx, true, co->name);
	if (rc < 0)
		return rc;
	cfg_conn_label(label, sizeof(label), co->name);
	rc = cfg_conn_check_names(l, g, label, cfg_conn_out_names);
	if (rc == 0)
		rc = cfg_conn_load_out_route(l, g, label, idx, co);
	if (rc == 0)
		rc = cfg_conn_load_out_tls(l, g, label, co);
	if (rc == 0 && (s = config_setting_get_member(g, "server_spki_pins")))
		rc = cfg_conn_load_pins(l, s, label, "server_spki_pins", false, idx,
					&co->pins, &co->n_pins);
	if (rc == 0)
		rc = cfg_conn_load_min_version(l, g, label, &co->min_tls_version);
	if (rc == 0)
		rc = cfg_conn_load_mode(l, g, label, &co->mode);
	if (rc == 0)
		rc = cfg_conn_check_out_tls(l, g, label, co);
	return rc;
}

/* ---- the group ----------------------------------------------------------------- */

/* The list NAME of the connectors group: its length into *n (0 when absent). */
static int cfg_conn_get_dir(struct cfg_conn_load *l, const config_setting_t *grp,
			    const char *name, const config_setting_t **list, unsigned *n)
{
	char path[CFG_PATH_BUF];
	int len;

	*n = 0;
	*list = config_setting_get_member(grp, name);
	cfg_path(path, sizeof(path), "connectors", name);
	if (!*list)
		return 0;
	if (config_setting_type(*list) != CONFIG_TYPE_LIST)
		return cfg_type_error(l->c, *list, path, "a list of groups");
	len = config_setting_length(*list);
	if (len > CFG_CONN_MAX_CONNECTORS)
		return cfg_fail(l->c, cfg_line(*list), path, "has %d entries, at most %d",
				len, CFG_CONN_MAX_CONNECTORS);
	*n = (unsigned)len;
	return 0;
}

static int cfg_conn_load_group(struct cfg_conn_load *l, const config_setting_t *grp)
{
	const config_setting_t *in, *out;
	struct gw_config *cfg = l->cfg;
	unsigned i, n_in, n_out;
	int rc = cfg_check_names(l->c, grp, "connectors", cfg_conn_group_names);

	if (rc == 0)
		rc = cfg_conn_get_dir(l, grp, "inbound", &in, &n_in);
	if (rc == 0)
		rc = cfg_conn_get_dir(l, grp, "outbound", &out, &n_out);
	if (rc < 0)
		return rc;
	if (n_in && !(cfg->connectors_in = calloc(n_in, sizeof(*cfg->connectors_in))))
		return cfg_nomem(l->c, cfg_line(in), "connectors.inbound");
	cfg->n_connectors_in = n_in;
	if (n_out && !(cfg->connectors_out = calloc(n_out, sizeof(*cfg->connectors_out))))
		return cfg_nomem(l->c, cfg_line(out), "connectors.outbound");
	cfg->n_connectors_out = n_out;
	/* a name and about two selectors each: grown no more than once or twice */
	if (cfg_conn_grow(&l->claims, 3 * ((size_t)n_in + n_out)) < 0)
		return cfg_nomem(l->c, cfg_line(grp), "connectors");
	for (i = 0; rc == 0 && i < n_in; i++)
		rc = cfg_conn_load_in(l, config_setting_get_elem(in, i), i);
	for (i = 0; rc == 0 && i < n_out; i++)
		rc = cfg_conn_load_out(l, config_setting_get_elem(out, i), i);
	return rc;
}

int cfg_load_connectors(struct cfg_ctx *c, const config_setting_t *root,
			struct gw_config *cfg)
{
	struct cfg_conn_load l = { .c = c, .cfg = cfg };
	config_setting_t *grp;
	int rc = cfg_get_group(c, root, "connectors", "connectors", &grp);

	if (rc == 0 && grp)
		rc = cfg_conn_load_group(&l, grp);
	free(l.claims.slots);
	return rc;
}

static void cfg_conn_free_strings(char **v, unsigned n)
{
	unsigned i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void cfg_connectors_free(struct gw_config *cfg)
{
	struct cfg_connector_in *ci;
	struct cfg_connector_out *co;
	unsigned i;

	for (i = 0; i < cfg->n_connectors_in; i++) {
		ci = &cfg->connectors_in[i];
		cfg_conn_free_strings(ci->sender_domains, ci->n_sender_domains);
		cfg_conn_free_strings(ci->cert_names, ci->n_cert_names);
		free(ci->ips);
		free(ci->pins);
	}
	for (i = 0; i < cfg->n_connectors_out; i++) {
		co = &cfg->connectors_out[i];
		cfg_conn_free_strings(co->route.domains, co->route.n_domains);
		cfg_conn_free_strings(co->route.tls_names, co->route.n_tls_names);
		free(co->pins);
	}
	free(cfg->connectors_in);
	free(cfg->connectors_out);
	cfg->connectors_in = NULL;
	cfg->connectors_out = NULL;
	cfg->n_connectors_in = cfg->n_connectors_out = 0;
}

/* ---- format -------------------------------------------------------------------- */

/* INDENT NAME = [ "a", "b" ]; */
static void cfg_conn_put_strings(struct cfg_out *o, const char *name, char *const *v,
				 unsigned n)
{
	unsigned i;

	if (!n)
		return;
	cfg_put(o, "      %s = [ ", name);
	for (i = 0; i < n; i++) {
		cfg_put(o, "%s", i ? ", " : "");
		cfg_put_string(o, v[i]);
	}
	cfg_put(o, " ];\n");
}

static void cfg_conn_put_pins(struct cfg_out *o, const char *name,
			      const uint8_t (*pins)[CFG_SPKI_PIN_LEN], unsigned n)
{
	unsigned i, j;

	if (!n)
		return;
	cfg_put(o, "      %s = [ ", name);
	for (i = 0; i < n; i++) {
		cfg_put(o, "%s\"", i ? ", " : "");
		for (j = 0; j < CFG_SPKI_PIN_LEN; j++)
			cfg_put(o, "%02x", pins[i][j]);
		cfg_put(o, "\"");
	}
	cfg_put(o, " ];\n");
}

/* min_tls_version and mode, the last settings of both kinds. */
static void cfg_conn_put_tail(struct cfg_out *o, int min_version,
			      enum cfg_connector_mode mode, bool last)
{
	if (min_version)
		cfg_put(o, "      min_tls_version = \"%s\";\n",
			min_version == CFG_TLS_V1_3 ? "1.3" : "1.2");
	cfg_put(o, "      mode = \"%s\";\n    }%s\n",
		mode == CFG_CONNECTOR_REPORT_ONLY ? "report_only" : "enforce",
		last ? "" : ",");
}

static void cfg_conn_format_in(struct cfg_out *o, const struct cfg_connector_in *ci,
			       bool last)
{
	char net[INET6_ADDRSTRLEN + 8];
	unsigned i;

	cfg_put(o, "    {\n");
	cfg_put_str_setting(o, "      ", "name", ci->name);
	cfg_conn_put_strings(o, "sender_domains", ci->sender_domains, ci->n_sender_domains);
	if (ci->n_ips)
		cfg_put(o, "      sender_ip_addresses = [ ");
	for (i = 0; i < ci->n_ips; i++) {
		cfg_conn_net_text(&ci->ips[i], net, sizeof(net));
		cfg_put(o, "%s\"%s\"%s", i ? ", " : "", net,
			i + 1 == ci->n_ips ? " ];\n" : "");
	}
	cfg_conn_put_strings(o, "tls_sender_certificate_name", ci->cert_names,
			     ci->n_cert_names);
	cfg_conn_put_pins(o, "client_cert_spki_pins",
			  (const uint8_t (*)[CFG_SPKI_PIN_LEN])ci->pins, ci->n_pins);
	cfg_put(o, "      require_tls = %s;\n      restrict_domains_to_certificate = %s;\n"
		"      restrict_domains_to_ip_addresses = %s;\n",
		ci->require_tls ? "true" : "false",
		ci->restrict_domains_to_certificate ? "true" : "false",
		ci->restrict_domains_to_ip_addresses ? "true" : "false");
	cfg_conn_put_tail(o, ci->min_tls_version, ci->mode, last);
}

static void cfg_conn_format_out(struct cfg_out *o, const struct cfg_connector_out *co,
				bool last)
{
	const struct cfg_route *r = &co->route;
	char a[16];
	unsigned i;

	cfg_put(o, "    {\n");
	cfg_put_str_setting(o, "      ", "name", co->name);
	cfg_conn_put_strings(o, "recipient_domains", r->domains, r->n_domains);
	if (r->n_hops)
		cfg_put(o, "      smart_hosts = (\n");
	for (i = 0; i < r->n_hops; i++) {
		cfg_ntoa(r->hops[i].addr, a);
		cfg_put(o, "        { address = \"%s\"; port = %u; priority = %u; }%s\n", a,
			r->hops[i].port, r->hops[i].priority,
			i + 1 == r->n_hops ? "" : ",");
	}
	if (r->n_hops)
		cfg_put(o, "      );\n");
	for (i = 0; i < CFG_NELEM(cfg_conn_settings_levels); i++)
		if ((int)cfg_conn_settings_levels[i] == r->tls_level)
			cfg_put_str_setting(o, "      ", "tls_settings",
					    cfg_conn_tls_settings[i]);
	if (r->n_tls_names)
		cfg_put_str_setting(o, "      ", "tls_domain", r->tls_names[0]);
	cfg_conn_put_pins(o, "server_spki_pins",
			  (const uint8_t (*)[CFG_SPKI_PIN_LEN])co->pins, co->n_pins);
	cfg_conn_put_tail(o, co->min_tls_version, co->mode, last);
}

void cfg_format_connectors(struct cfg_out *o, const struct gw_config *cfg)
{
	unsigned i;

	if (!cfg->n_connectors_in && !cfg->n_connectors_out)
		return;
	cfg_put(o, "connectors: {\n");
	if (cfg->n_connectors_in)
		cfg_put(o, "  inbound = (\n");
	for (i = 0; i < cfg->n_connectors_in; i++)
		cfg_conn_format_in(o, &cfg->connectors_in[i],
				   i + 1 == cfg->n_connectors_in);
	if (cfg->n_connectors_in)
		cfg_put(o, "  );\n");
	if (cfg->n_connectors_out)
		cfg_put(o, "  outbound = (\n");
	for (i = 0; i < cfg->n_connectors_out; i++)
		cfg_conn_format_out(o, &cfg->connectors_out[i],
				    i + 1 == cfg->n_connectors_out);
	if (cfg->n_connectors_out)
		cfg_put(o, "  );\n");
	cfg_put(o, "};\n");
}
