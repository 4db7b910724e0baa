/*
 * test_connector.c — unit tests of app/policy/connector.h, table-driven:
 * inbound selection (pin before certificate name before address before
 * sender domain; the most specific of each: longest prefix, exact name
 * before wildcard, one-label certificate wildcards, SANs before CN, IPv4
 * and IPv6), every inbound decision and reply (TLS required, version,
 * certificate missing / not verified / name / pin, restrict_domains_to_*
 * whoever the client is, report_only, an enforced refusal over a reported
 * one, the session stage against MAIL), outbound lookup and every outbound
 * decision, counters, the log and console texts, the simulator, a table of
 * 100,000 connectors whose lookups cost the probes of a table of 10, two
 * generations side by side, and the hostile certificates of tools/mkcerts
 * (issue 12, item 5) through the identities a worker takes from them.
 *
 * The fixture is a configuration loaded with config_load() (so it is one
 * the validation accepts); the EAL runs without hugepages for rte_fib and
 * rte_lpm6.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/config_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "app/policy/connector.h"
#include "platform/config.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define PIN_A "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define PIN_B "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"

static char test_dir[64];
static const char *const test_files[] = { "c.crt", "c.key", "ca.crt" };
static struct gw_config fx_cfg;
static struct connector_table *fx;

static const char fx_text[] =
	"version = 1;\n"
	"ports = ( { name = \"ext\"; device = \"net_af_packet0\"; address = \"192.0.2.1/24\"; } );\n"
	"tls: { certificates = ( { cert = \"c.crt\"; key = \"c.key\"; } ); ca_file = \"ca.crt\"; };\n"
	"connectors: {\n"
	"  inbound = (\n"
	"    { name = \"addr\"; sender_ip_addresses = [ \"198.51.100.0/24\" ]; require_tls = true; },\n"
	"    { name = \"addr-narrow\"; sender_ip_addresses = [ \"198.51.100.128/25\" ]; },\n"
	"    { name = \"v6\"; sender_ip_addresses = [ \"2001:db8:1::/48\" ];"
	" min_tls_version = \"1.3\"; },\n"
	"    { name = \"v6-host\"; sender_ip_addresses = [ \"2001:db8:1::25\" ]; require_tls = true;"
	" mode = \"report_only\"; },\n"
	"    { name = \"certname\"; tls_sender_certificate_name = [ \"mx.partner.example\","
	" \"*.relay.partner.example\" ]; sender_domains = [ \"partner.example\" ];"
	" restrict_domains_to_certificate = true; },\n"
	"    { name = \"wildcert\"; tls_sender_certificate_name = \"*.partner.example\"; },\n"
	"    { name = \"pinned\"; client_cert_spki_pins = [ \"" PIN_A "\" ];"
	" sender_domains = [ \"pinned.example\" ]; sender_ip_addresses = [ \"203.0.113.0/24\" ];"
	" restrict_domains_to_certificate = true; restrict_domains_to_ip_addresses = true; },\n"
	"    { name = \"both\"; tls_sender_certificate_name = \"both.example\";"
	" client_cert_spki_pins = [ \"" PIN_B "\" ]; },\n"
	"    { name = \"dom\"; sender_domains = [ \"dom.example\", \"*.dom.example\" ];"
	" require_tls = true; },\n"
	"    { name = \"subdom\"; sender_domains = [ \"*.sub.dom.example\" ]; require_tls = true;"
	" mode = \"report_only\"; },\n"
	"    { name = \"ipr\"; sender_domains = [ \"ipr.example\" ];"
	" sender_ip_addresses = [ \"192.0.2.0/28\", \"2001:db8:9::/64\" ];"
	" restrict_domains_to_ip_addresses = true; },\n"
	"    { name = \"ipr-report\"; sender_domains = [ \"ipr-report.example\" ];"
	" sender_ip_addresses = [ \"192.0.2.64/28\" ]; restrict_domains_to_ip_addresses = true;"
	" mode = \"report_only\"; },\n"
	"    { name = \"v13\"; sender_domains = [ \"v13.example\" ]; min_tls_version = \"1.3\"; }\n"
	"  );\n"
	"  outbound = (\n"
	"    { name = \"o-exact\"; recipient_domains = [ \"partner.example\" ];"
	" smart_hosts = [ \"198.51.100.25\" ]; tls_settings = \"domain_validation\";"
	" tls_domain = \"mx.partner.example\"; },\n"
	"    { name = \"o-wild\"; recipient_domains = [ \"*.partner.example\" ];"
	" tls_settings = \"encryption_only\"; server_spki_pins = [ \"" PIN_A "\" ];"
	" min_tls_version = \"1.3\"; },\n"
	"    { name = \"o-deeper\"; recipient_domains = [ \"*.eu.partner.example\" ];"
	" tls_settings = \"certificate_validation\"; mode = \"report_only\"; },\n"
	"    { name = \"o-all\"; recipient_domains = [ \"*\" ]; }\n"
	"  );\n"
	"};\n";

/* ------------------------------------------------------------- fixture */

static const char *
test_at(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", test_dir, name);
	return buf;
}

static void
test_load(const char *text, struct gw_config *cfg)
{
	char path[PATH_MAX], template[PATH_MAX], err[CFG_ERR_LEN];

	snprintf(template, sizeof(template), "%s/t-XXXXXX.conf", test_dir);
	config_test_write(template, text, path, sizeof(path));
	if (config_load(path, cfg, err, sizeof(err)) != 0)
		fail_msg("refused: %s", err);
	unlink(path);
}

static struct connector_table *
test_build(const struct gw_config *cfg)
{
	char err[256] = "";
	struct connector_table *t = connector_table_build(cfg, err, sizeof(err));

	if (t == NULL)
		fail_msg("connector_table_build: %s", err);
	return t;
}

static int
setup(void **state)
{
	char *argv[] = { "test_connector", "--no-huge", "-m", "768", "--no-pci", "--no-shconf",
			 "--no-telemetry", "-l", "0", "--log-level", "*:error", NULL };
	char p[PATH_MAX];
	cpu_set_t cpus;
	size_t i;
	int fd;

	(void)state;
	/* The EAL pins this thread to lcore 0; config_load() checks the cores it may use. */
	if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0 || rte_eal_init(11, argv) < 0 ||
	    sched_setaffinity(0, sizeof(cpus), &cpus) != 0)
		return -1;
	strcpy(test_dir, "/tmp/mailgw-test-conn-XXXXXX");
	if (!mkdtemp(test_dir))
		return -1;
	for (i = 0; i < N(test_files); i++) {
		fd = open(test_at(p, sizeof(p), test_files[i]), O_WRONLY | O_CREAT | O_EXCL, 0600);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

static int
teardown(void **state)
{
	char p[PATH_MAX];
	size_t i;

	(void)state;
	connector_table_free(fx);
	config_free(&fx_cfg);
	for (i = 0; i < N(test_files); i++)
		unlink(test_at(p, sizeof(p), test_files[i]));
	rmdir(test_dir);
	rte_eal_cleanup();
	return 0;
}

/* The fixture table, built once. */
static const struct connector_table *
fixture(void)
{
	if (fx == NULL) {
		test_load(fx_text, &fx_cfg);
		fx = test_build(&fx_cfg);
	}
	return fx;
}

/* ------------------------------------------------------------- facts */

enum { CERT_NONE, CERT_UNVERIFIED, CERT_VERIFIED, CERT_UNTRUSTED /* no verify text */ };
enum { PIN_NONE, PIN_IS_A, PIN_IS_B, PIN_OTHER };

/* A client, as a line of a table. */
struct client {
	const char *ip;
	int tls;                        /* 0, CFG_TLS_V1_2, CFG_TLS_V1_3 */
	int cert;                       /* CERT_* */
	const char *sans;               /* comma-separated, or NULL */
	const char *cn;
	int pin;                        /* PIN_* */
	const char *sender;             /* domain at MAIL, or NULL */
};

/* Storage behind struct connector_facts. */
struct facts_buf {
	struct connector_facts f;
	char sans[256];
	const char *san[8];
};

static void
hex_pin(const char *hex, uint8_t out[CFG_SPKI_PIN_LEN])
{
	unsigned i, v;

	for (i = 0; i < CFG_SPKI_PIN_LEN; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
facts_ip(struct connector_facts *f, const char *ip)
{
	struct in_addr a;

	if (inet_pton(AF_INET, ip, &a) == 1) {
		f->addr4 = ntohl(a.s_addr);
		return;
	}
	f->v6 = true;
	assert_int_equal(inet_pton(AF_INET6, ip, f->addr6), 1);
}

static void
facts_cert(struct facts_buf *b, const struct client *c)
{
	char *p, *save = NULL;

	b->f.cert = c->cert != CERT_NONE || c->pin != PIN_NONE;
	b->f.cert_verified = c->cert == CERT_VERIFIED;
	b->f.verify_text = c->cert == CERT_UNVERIFIED ? "certificate has expired" : NULL;
	snprintf(b->sans, sizeof(b->sans), "%s", c->sans ? c->sans : "");
	for (p = strtok_r(b->sans, ",", &save); p && b->f.n_sans < N(b->san);
	     p = strtok_r(NULL, ",", &save))
		b->san[b->f.n_sans++] = p;
	b->f.sans = b->san;
	b->f.cn = c->cn;
	b->f.have_spki = c->pin != PIN_NONE;
	if (c->pin == PIN_IS_A)
		hex_pin(PIN_A, b->f.spki_sha256);
	else if (c->pin == PIN_IS_B)
		hex_pin(PIN_B, b->f.spki_sha256);
	else if (c->pin == PIN_OTHER)
		memset(b->f.spki_sha256, 0x77, CFG_SPKI_PIN_LEN);
}

static const struct connector_facts *
facts(struct facts_buf *b, const struct client *c)
{
	memset(b, 0, sizeof(*b));
	facts_ip(&b->f, c->ip);
	b->f.tls_version = c->tls;
	facts_cert(b, c);
	if (c->sender) {
		b->f.sender_domain = c->sender;
		b->f.sender_len = strlen(c->sender);
	}
	return &b->f;
}

/* The id of connector NAME in the fixture ("" for none). */
static uint32_t
id_of(const struct connector_table *t, const char *name)
{
	uint32_t id = name[0] ? connector_find(t, name) : CONNECTOR_NONE;

	if (name[0] && id == CONNECTOR_NONE)
		fail_msg("no connector %s", name);
	return id;
}

#define V12 CFG_TLS_V1_2
#define V13 CFG_TLS_V1_3
#define M_NONE CONNECTOR_MATCH_NONE
#define M_PIN CONNECTOR_MATCH_CERT_PIN
#define M_NAME CONNECTOR_MATCH_CERT_NAME
#define M_ADDR CONNECTOR_MATCH_ADDRESS
#define M_DOM CONNECTOR_MATCH_SENDER_DOMAIN

/* ------------------------------------------------------------- selection */

struct select_case {
	struct client c;
	bool with_sender;
	const char *expect;             /* connector name, "" for none */
	enum connector_match why;
};

static const struct select_case select_cases[] = {
	/* addresses: the longest prefix, IPv4 and IPv6 */
	{ { "198.51.100.7", 0, 0, NULL, NULL, 0, NULL }, false, "addr", M_ADDR },
	{ { "198.51.100.127", 0, 0, NULL, NULL, 0, NULL }, false, "addr", M_ADDR },
	{ { "198.51.100.128", 0, 0, NULL, NULL, 0, NULL }, false, "addr-narrow", M_ADDR },
	{ { "198.51.100.255", 0, 0, NULL, NULL, 0, NULL }, false, "addr-narrow", M_ADDR },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, NULL }, false, "", M_NONE },
	{ { "192.0.2.15", 0, 0, NULL, NULL, 0, NULL }, false, "ipr", M_ADDR },
	{ { "192.0.2.16", 0, 0, NULL, NULL, 0, NULL }, false, "", M_NONE },
	{ { "2001:db8:1::5", 0, 0, NULL, NULL, 0, NULL }, false, "v6", M_ADDR },
	{ { "2001:db8:1:ffff::1", 0, 0, NULL, NULL, 0, NULL }, false, "v6", M_ADDR },
	{ { "2001:db8:1::25", 0, 0, NULL, NULL, 0, NULL }, false, "v6-host", M_ADDR },
	{ { "2001:db8:1::24", 0, 0, NULL, NULL, 0, NULL }, false, "v6", M_ADDR },
	{ { "2001:db8:2::25", 0, 0, NULL, NULL, 0, NULL }, false, "", M_NONE },
	{ { "2001:db8:9::7", 0, 0, NULL, NULL, 0, NULL }, false, "ipr", M_ADDR },
	{ { "::ffff:198.51.100.7", 0, 0, NULL, NULL, 0, NULL }, false, "", M_NONE },
	/* certificate names: verified only, exact before wildcard, one label */
	{ { "198.51.100.7", V12, CERT_VERIFIED, "mx.partner.example", NULL, 0, NULL },
	  false, "certname", M_NAME },
	{ { "198.51.100.7", V12, CERT_UNVERIFIED, "mx.partner.example", NULL, 0, NULL },
	  false, "addr", M_ADDR },
	{ { "198.51.101.1", V12, CERT_UNVERIFIED, "mx.partner.example", NULL, 0, NULL },
	  false, "", M_NONE },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "other.partner.example", NULL, 0, NULL },
	  false, "wildcert", M_NAME },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "a.b.partner.example", NULL, 0, NULL },
	  false, "", M_NONE },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "partner.example", NULL, 0, NULL },
	  false, "", M_NONE },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "x.relay.partner.example", NULL, 0, NULL },
	  false, "certname", M_NAME },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "relay.partner.example", NULL, 0, NULL },
	  false, "wildcert", M_NAME },
	{ { "198.51.100.7", V12, CERT_VERIFIED, "y.x.relay.partner.example", NULL, 0, NULL },
	  false, "addr", M_ADDR },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "MX.Partner.Example.", NULL, 0, NULL },
	  false, "certname", M_NAME },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "other.partner.example,mx.partner.example",
	    NULL, 0, NULL }, false, "certname", M_NAME },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "mx.partner.example,other.partner.example",
	    NULL, 0, NULL }, false, "certname", M_NAME },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "a.relay.partner.example,other.partner.example",
	    NULL, 0, NULL }, false, "certname", M_NAME },       /* the longer wildcard */
	{ { "198.51.101.1", V12, CERT_VERIFIED, "nothing.example", "mx.partner.example", 0, NULL },
	  false, "certname", M_NAME },                          /* CN after the SANs */
	{ { "198.51.101.1", V12, CERT_VERIFIED, NULL, "other.partner.example", 0, NULL },
	  false, "wildcert", M_NAME },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "other.partner.example", "mx.partner.example", 0,
	    NULL }, false, "wildcert", M_NAME },                /* a SAN matched: CN not used */
	{ { "198.51.101.1", V12, CERT_VERIFIED, "*.partner.example", NULL, 0, NULL },
	  false, "wildcert", M_NAME },                          /* a wildcard certificate */
	{ { "198.51.101.1", V12, CERT_VERIFIED, "*.relay.partner.example", NULL, 0, NULL },
	  false, "certname", M_NAME },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "*.mx.partner.example", NULL, 0, NULL },
	  false, "", M_NONE },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "both.example", NULL, 0, NULL },
	  false, "both", M_NAME },
	/* pins: before names, verified or not; a certificate is needed */
	{ { "198.51.100.7", V12, CERT_VERIFIED, "mx.partner.example", NULL, PIN_IS_A, NULL },
	  false, "pinned", M_PIN },
	{ { "198.51.101.1", V12, CERT_UNVERIFIED, NULL, NULL, PIN_IS_A, NULL }, false, "pinned",
	  M_PIN },
	{ { "198.51.101.1", V12, CERT_UNVERIFIED, "both.example", NULL, PIN_IS_B, NULL },
	  false, "both", M_PIN },
	{ { "198.51.100.7", V12, CERT_VERIFIED, NULL, NULL, PIN_OTHER, NULL }, false, "addr",
	  M_ADDR },
	/* sender domains, at MAIL only; exact before the closest wildcard */
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "dom.example" }, false, "", M_NONE },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "dom.example" }, true, "dom", M_DOM },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "DOM.Example." }, true, "dom", M_DOM },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "a.dom.example" }, true, "dom", M_DOM },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "sub.dom.example" }, true, "dom", M_DOM },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "x.sub.dom.example" }, true, "subdom", M_DOM },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "y.x.sub.dom.example" }, true, "subdom", M_DOM },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "xdom.example" }, true, "", M_NONE },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "example" }, true, "", M_NONE },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "[192.0.2.1]" }, true, "", M_NONE },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "" }, true, "", M_NONE },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "mx.partner.example" }, true, "", M_NONE },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "partner.example" }, true, "certname", M_DOM },
	/* the precedence: address before sender domain, certificate before both */
	{ { "198.51.100.7", 0, 0, NULL, NULL, 0, "dom.example" }, true, "addr", M_ADDR },
	{ { "198.51.100.7", V12, CERT_VERIFIED, "other.partner.example", NULL, 0, "dom.example" },
	  true, "wildcert", M_NAME },
};

static void
test_select(void **state)
{
	const struct connector_table *t = fixture();
	struct connector_selection sel;
	struct facts_buf b;
	unsigned probes;
	size_t i;

	(void)state;
	for (i = 0; i < N(select_cases); i++) {
		const struct select_case *c = &select_cases[i];

		probes = 0;
		connector_inbound_select_ex(t, facts(&b, &c->c), c->with_sender, &sel, &probes);
		if (sel.id != id_of(t, c->expect) || sel.why != c->why)
			fail_msg("case %zu: got \"%s\" (%s), expected \"%s\" (%s)", i,
				 connector_name(t, sel.id), connector_match_name(sel.why),
				 c->expect, connector_match_name(c->why));
		assert_true(sel.id == CONNECTOR_NONE ? sel.conn == NULL :
			    sel.conn == connector_inbound(t, sel.id));
		assert_true(probes >= 1 && probes < 40);
		connector_inbound_select(t, &b.f, c->with_sender, &sel);
		assert_int_equal(sel.id, id_of(t, c->expect));
	}
	/* No table: the default policy. */
	connector_inbound_select(NULL, facts(&b, &select_cases[0].c), true, &sel);
	assert_int_equal(sel.id, CONNECTOR_NONE);
	assert_null(sel.conn);
}

static void
test_ranges(void **state)
{
	const struct connector_table *t = fixture();
	static const struct {
		const char *conn, *ip;
		bool in;
	} cases[] = {
		{ "ipr", "192.0.2.0", true }, { "ipr", "192.0.2.15", true },
		{ "ipr", "192.0.2.16", false }, { "ipr", "192.0.1.255", false },
		{ "ipr", "2001:db8:9::", true }, { "ipr", "2001:db8:9:0:ffff:ffff:ffff:ffff", true },
		{ "ipr", "2001:db8:9:1::", false }, { "ipr", "2001:db8:8:ffff::", false },
		{ "addr", "198.51.100.200", true },     /* also addr-narrow's: still addr's */
		{ "addr-narrow", "198.51.100.1", false },
		{ "v6", "2001:db8:1::25", true }, { "v6", "198.51.100.1", false },
		{ "dom", "198.51.100.1", false },       /* no ranges */
		{ "o-all", "198.51.100.1", false },     /* outbound */
	};
	struct connector_facts f;
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		memset(&f, 0, sizeof(f));
		facts_ip(&f, cases[i].ip);
		if (connector_in_ranges(t, id_of(t, cases[i].conn), &f) != cases[i].in)
			fail_msg("case %zu: %s in %s", i, cases[i].ip, cases[i].conn);
	}
	assert_false(connector_in_ranges(t, CONNECTOR_NONE, &f));
}

/* ------------------------------------------------------------- inbound decisions */

#define ALLOW CONNECTOR_ALLOW
#define REFUSE CONNECTOR_REFUSE
#define WOULD CONNECTOR_WOULD_REFUSE
#define S_SESSION CONNECTOR_STAGE_SESSION
#define S_MAIL CONNECTOR_STAGE_MAIL
#define STARTTLS "530 5.7.0 Must issue a STARTTLS command first"

struct decide_case {
	struct client c;
	enum connector_stage stage;
	const char *sel;                /* the selected connector, "" none */
	enum connector_verdict verdict;
	enum connector_reason reason;
	const char *by;                 /* who refuses, "" none */
	const char *reply;              /* "" when allowed */
};

static const struct decide_case decide_cases[] = {
	/* require_tls by address: before MAIL */
	{ { "198.51.100.7", 0, 0, NULL, NULL, 0, NULL }, S_SESSION, "addr", REFUSE,
	  CONNECTOR_R_TLS_REQUIRED, "addr", STARTTLS },
	{ { "198.51.100.7", V12, 0, NULL, NULL, 0, NULL }, S_SESSION, "addr", ALLOW, 0, "", "" },
	{ { "198.51.100.7", V13, 0, NULL, NULL, 0, "dom.example" }, S_MAIL, "addr", ALLOW, 0, "",
	  "" },
	{ { "198.51.100.200", 0, 0, NULL, NULL, 0, "x.example" }, S_MAIL, "addr-narrow", ALLOW, 0,
	  "", "" },
	/* min_tls_version (it implies TLS) */
	{ { "2001:db8:1::5", 0, 0, NULL, NULL, 0, NULL }, S_SESSION, "v6", REFUSE,
	  CONNECTOR_R_TLS_REQUIRED, "v6", STARTTLS },
	{ { "2001:db8:1::5", V12, 0, NULL, NULL, 0, NULL }, S_SESSION, "v6", REFUSE,
	  CONNECTOR_R_TLS_VERSION, "v6",
	  "530 5.7.0 Connector \"v6\" requires TLS 1.3 or later (this session uses TLS 1.2)" },
	{ { "2001:db8:1::5", V13, 0, NULL, NULL, 0, NULL }, S_SESSION, "v6", ALLOW, 0, "", "" },
	/* report_only */
	{ { "2001:db8:1::25", 0, 0, NULL, NULL, 0, NULL }, S_SESSION, "v6-host", WOULD,
	  CONNECTOR_R_TLS_REQUIRED, "v6-host", STARTTLS },
	{ { "2001:db8:1::25", V12, 0, NULL, NULL, 0, NULL }, S_SESSION, "v6-host", ALLOW, 0, "",
	  "" },
	/* no connector */
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, NULL }, S_SESSION, "", ALLOW, 0, "", "" },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "x.example" }, S_MAIL, "", ALLOW, 0, "", "" },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, NULL }, S_MAIL, "", ALLOW, 0, "", "" },   /* <> */
	/* require_tls by sender domain: at MAIL only */
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "dom.example" }, S_SESSION, "", ALLOW, 0, "", "" },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "dom.example" }, S_MAIL, "dom", REFUSE,
	  CONNECTOR_R_TLS_REQUIRED, "dom", STARTTLS },
	{ { "198.51.101.1", V12, 0, NULL, NULL, 0, "a.dom.example" }, S_MAIL, "dom", ALLOW, 0, "",
	  "" },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "x.sub.dom.example" }, S_MAIL, "subdom", WOULD,
	  CONNECTOR_R_TLS_REQUIRED, "subdom", STARTTLS },
	{ { "198.51.101.1", V12, 0, NULL, NULL, 0, "v13.example" }, S_MAIL, "v13", REFUSE,
	  CONNECTOR_R_TLS_VERSION, "v13",
	  "530 5.7.0 Connector \"v13\" requires TLS 1.3 or later (this session uses TLS 1.2)" },
	{ { "198.51.101.1", V12, 0, NULL, NULL, 0, "v13.example" }, S_SESSION, "", ALLOW, 0, "",
	  "" },
	/* certificate names: missing, not verified, not matching, plaintext */
	{ { "198.51.101.1", V12, CERT_VERIFIED, "mx.partner.example", NULL, 0, "partner.example" },
	  S_MAIL, "certname", ALLOW, 0, "", "" },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "a.relay.partner.example", NULL, 0,
	    "partner.example" }, S_MAIL, "certname", ALLOW, 0, "", "" },
	{ { "198.51.101.1", V12, 0, NULL, NULL, 0, "partner.example" }, S_MAIL, "certname", REFUSE,
	  CONNECTOR_R_CERT_MISSING, "certname",
	  "550 5.7.1 Connector \"certname\": a client certificate is required" },
	{ { "198.51.101.1", 0, 0, NULL, NULL, 0, "partner.example" }, S_MAIL, "certname", REFUSE,
	  CONNECTOR_R_TLS_REQUIRED, "certname", STARTTLS },
	{ { "198.51.101.1", V12, CERT_UNVERIFIED, "mx.partner.example", NULL, 0,
	    "partner.example" }, S_MAIL, "certname", REFUSE, CONNECTOR_R_CERT_UNVERIFIED,
	  "certname", "550 5.7.1 Connector \"certname\": the client certificate is not verified "
	  "(certificate has expired)" },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "mx.other.example", NULL, 0, "partner.example" },
	  S_MAIL, "certname", REFUSE, CONNECTOR_R_CERT_NAME, "certname",
	  "550 5.7.1 Connector \"certname\": the client certificate does not match the "
	  "connector's certificate name" },
	/* a certificate of another partner: that partner is selected, this domain protected */
	{ { "198.51.101.1", V12, CERT_VERIFIED, "other.partner.example", NULL, 0,
	    "partner.example" }, S_MAIL, "wildcert", REFUSE, CONNECTOR_R_DOMAIN_CERT, "certname",
	  "550 5.7.1 Connector \"certname\": sender domain partner.example is accepted only "
	  "with the partner's certificate" },
	/* restrict_domains_to_certificate from an address connector's client */
	{ { "198.51.100.7", V12, 0, NULL, NULL, 0, "partner.example" }, S_MAIL, "addr", REFUSE,
	  CONNECTOR_R_DOMAIN_CERT, "certname",
	  "550 5.7.1 Connector \"certname\": sender domain partner.example is accepted only "
	  "with the partner's certificate" },
	{ { "198.51.100.7", 0, 0, NULL, NULL, 0, "partner.example" }, S_MAIL, "addr", REFUSE,
	  CONNECTOR_R_TLS_REQUIRED, "addr", STARTTLS },   /* the selected one's first */
	{ { "198.51.100.7", V12, 0, NULL, NULL, 0, "partner.example" }, S_SESSION, "addr", ALLOW,
	  0, "", "" },
	/* pins */
	{ { "203.0.113.5", V12, CERT_UNVERIFIED, NULL, NULL, PIN_IS_A, "pinned.example" }, S_MAIL,
	  "pinned", ALLOW, 0, "", "" },
	{ { "203.0.113.5", V12, 0, NULL, NULL, 0, NULL }, S_SESSION, "pinned", REFUSE,
	  CONNECTOR_R_CERT_MISSING, "pinned",
	  "550 5.7.1 Connector \"pinned\": a client certificate is required" },
	{ { "203.0.113.5", V12, CERT_UNTRUSTED, "both.example", NULL, PIN_IS_B, NULL },
	  S_SESSION, "both", REFUSE, CONNECTOR_R_CERT_UNVERIFIED, "both",
	  "550 5.7.1 Connector \"both\": the client certificate is not verified (untrusted)" },
	{ { "203.0.113.5", V12, CERT_VERIFIED, NULL, NULL, PIN_OTHER, NULL }, S_SESSION, "pinned",
	  REFUSE, CONNECTOR_R_CERT_PIN, "pinned",
	  "550 5.7.1 Connector \"pinned\": the client certificate's key does not match the "
	  "connector's pins" },
	{ { "203.0.113.5", 0, 0, NULL, NULL, 0, NULL }, S_SESSION, "pinned", REFUSE,
	  CONNECTOR_R_TLS_REQUIRED, "pinned", STARTTLS },
	/* the pinned partner's key from outside its addresses, claiming its domain */
	{ { "198.51.101.1", V13, CERT_VERIFIED, NULL, NULL, PIN_IS_A, "pinned.example" }, S_MAIL,
	  "pinned", REFUSE, CONNECTOR_R_DOMAIN_ADDRESS, "pinned",
	  "550 5.7.1 Connector \"pinned\": sender domain pinned.example is not accepted from "
	  "198.51.101.1" },
	{ { "198.51.101.1", V13, CERT_VERIFIED, NULL, NULL, PIN_IS_A, NULL }, S_SESSION, "pinned",
	  ALLOW, 0, "", "" },
	/* its address without its key, claiming its domain */
	{ { "203.0.113.9", V13, CERT_VERIFIED, "x.example", NULL, PIN_OTHER, "pinned.example" },
	  S_MAIL, "pinned", REFUSE, CONNECTOR_R_CERT_PIN, "pinned",
	  "550 5.7.1 Connector \"pinned\": the client certificate's key does not match the "
	  "connector's pins" },
	/* name and pin both required */
	{ { "198.51.101.1", V12, CERT_VERIFIED, "both.example", NULL, PIN_IS_B, NULL }, S_SESSION,
	  "both", ALLOW, 0, "", "" },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "both.example", NULL, 0, NULL }, S_SESSION,
	  "both", REFUSE, CONNECTOR_R_CERT_PIN, "both",
	  "550 5.7.1 Connector \"both\": the client certificate's key does not match the "
	  "connector's pins" },
	{ { "198.51.101.1", V12, CERT_VERIFIED, "www.both.example", NULL, PIN_IS_B, NULL },
	  S_SESSION, "both", REFUSE, CONNECTOR_R_CERT_NAME, "both",
	  "550 5.7.1 Connector \"both\": the client certificate does not match the "
	  "connector's certificate name" },
	/* restrict_domains_to_ip_addresses, IPv4 and IPv6, whoever the client is */
	{ { "192.0.2.5", 0, 0, NULL, NULL, 0, "ipr.example" }, S_MAIL, "ipr", ALLOW, 0, "", "" },
	{ { "2001:db8:9::1", 0, 0, NULL, NULL, 0, "ipr.example" }, S_MAIL, "ipr", ALLOW, 0, "",
	  "" },
	{ { "192.0.2.99", 0, 0, NULL, NULL, 0, "ipr.example" }, S_MAIL, "ipr", REFUSE,
	  CONNECTOR_R_DOMAIN_ADDRESS, "ipr",
	  "550 5.7.1 Connector \"ipr\": sender domain ipr.example is not accepted from "
	  "192.0.2.99" },
	{ { "2001:db8:8::1", 0, 0, NULL, NULL, 0, "IPR.example" }, S_MAIL, "ipr", REFUSE,
	  CONNECTOR_R_DOMAIN_ADDRESS, "ipr",
	  "550 5.7.1 Connector \"ipr\": sender domain IPR.example is not accepted from "
	  "2001:db8:8::1" },
	{ { "198.51.100.7", V12, 0, NULL, NULL, 0, "ipr.example" }, S_MAIL, "addr", REFUSE,
	  CONNECTOR_R_DOMAIN_ADDRESS, "ipr",
	  "550 5.7.1 Connector \"ipr\": sender domain ipr.example is not accepted from "
	  "198.51.100.7" },
	{ { "192.0.2.200", 0, 0, NULL, NULL, 0, "ipr-report.example" }, S_MAIL, "ipr-report",
	  WOULD, CONNECTOR_R_DOMAIN_ADDRESS, "ipr-report",
	  "550 5.7.1 Connector \"ipr-report\": sender domain ipr-report.example is not accepted "
	  "from 192.0.2.200" },
	{ { "192.0.2.70", 0, 0, NULL, NULL, 0, "ipr-report.example" }, S_MAIL, "ipr-report",
	  ALLOW, 0, "", "" },
	/* enforce wins over report_only; then the selected connector */
	{ { "2001:db8:1::25", 0, 0, NULL, NULL, 0, "ipr.example" }, S_MAIL, "v6-host", REFUSE,
	  CONNECTOR_R_DOMAIN_ADDRESS, "ipr",
	  "550 5.7.1 Connector \"ipr\": sender domain ipr.example is not accepted from "
	  "2001:db8:1::25" },
	{ { "198.51.100.7", 0, 0, NULL, NULL, 0, "ipr-report.example" }, S_MAIL, "addr", REFUSE,
	  CONNECTOR_R_TLS_REQUIRED, "addr", STARTTLS },
	{ { "2001:db8:1::25", 0, 0, NULL, NULL, 0, "ipr-report.example" }, S_MAIL, "v6-host",
	  WOULD, CONNECTOR_R_TLS_REQUIRED, "v6-host", STARTTLS },
	{ { "2001:db8:1::25", V12, 0, NULL, NULL, 0, "ipr-report.example" }, S_MAIL, "v6-host",
	  WOULD, CONNECTOR_R_DOMAIN_ADDRESS, "ipr-report",
	  "550 5.7.1 Connector \"ipr-report\": sender domain ipr-report.example is not accepted "
	  "from 2001:db8:1::25" },
};

static void
test_decide(void **state)
{
	const struct connector_table *t = fixture();
	struct connector_decision d;
	struct facts_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < N(decide_cases); i++) {
		const struct decide_case *c = &decide_cases[i];

		connector_inbound_decide(t, facts(&b, &c->c), c->stage, &d);
		if (d.sel.id != id_of(t, c->sel) || d.verdict != c->verdict ||
		    d.reason != c->reason || d.by != id_of(t, c->by) ||
		    strcmp(d.reply, c->reply) != 0)
			fail_msg("case %zu: got \"%s\" verdict %d %s by \"%s\": %s", i,
				 connector_name(t, d.sel.id), d.verdict,
				 connector_reason_name(d.reason), connector_name(t, d.by), d.reply);
		assert_int_equal(d.code, c->reply[0] ? (unsigned)atoi(c->reply) : 0u);
		assert_int_equal(d.domain_owner, c->stage == S_MAIL && c->c.sender ?
				 connector_sender_owner_ex(t, c->c.sender, strlen(c->c.sender),
							   NULL) : CONNECTOR_NONE);
	}
	connector_inbound_decide(NULL, &b.f, S_MAIL, &d);
	assert_int_equal(d.verdict, ALLOW);
	assert_int_equal(d.sel.id, CONNECTOR_NONE);
}

/* Client text in a reply is made printable and bounded. */
static void
test_decide_hostile(void **state)
{
	const struct connector_table *t = fixture();
	char dom[600];
	struct connector_decision d;
	struct facts_buf b;
	struct client c = { "192.0.2.99", 0, 0, NULL, NULL, 0, NULL };

	(void)state;
	facts(&b, &c);
	b.f.sender_domain = "ipr.example";
	b.f.sender_len = 3;             /* not NUL-terminated: "ipr" */
	connector_inbound_decide(t, &b.f, S_MAIL, &d);
	assert_int_equal(d.verdict, ALLOW);
	memset(dom, 'a', sizeof(dom));
	memcpy(dom + 540, ".\r\nipr.example", 14);
	b.f.sender_domain = dom;
	b.f.sender_len = sizeof(dom);
	connector_inbound_decide(t, &b.f, S_MAIL, &d);
	assert_int_equal(d.verdict, ALLOW);     /* longer than any name: no owner */
	assert_int_equal(d.domain_owner, CONNECTOR_NONE);
	b.f.sender_domain = "ipr.example.";    /* as the client wrote it */
	b.f.sender_len = 12;
	connector_inbound_decide(t, &b.f, S_MAIL, &d);
	assert_string_equal(d.reply, "550 5.7.1 Connector \"ipr\": sender domain ipr.example. is "
			    "not accepted from 192.0.2.99");
}

/*
 * The test PKI's hostile certificates (tools/mkcerts), verified, through
 * tls_names_of_x509() and connector_facts_names() as a worker fills its
 * facts: none selects a connector by certificate name, where the printed
 * subject or the joined SAN list once selected "wildcert" (*.partner.example)
 * by mail.partner.example. The partner's own certificate does.
 */
static void
test_hostile_certs(void **state)
{
	static const struct { const char *file, *expect; } cases[] = {
		{ "partner/client.crt", "wildcert" },
		{ "hostile/slash-in-o.crt", "" },
		{ "hostile/long-subject.crt", "" },
		{ "hostile/email-san.crt", "" },
		{ "hostile/space-san.crt", "" },
		{ "hostile/nul-san.crt", "" },
		{ "hostile/long-san.crt", "" },
		{ "hostile/cn-not-san.crt", "" },
		{ "hostile/wildcard.crt", "wildcert" },     /* "*.partner.example" is that name exactly */
	};
	const struct connector_table *t = fixture();
	struct connector_selection sel;
	struct connector_decision d;
	struct facts_buf b;
	struct tls_names names;
	struct client c = { "192.0.2.99", CFG_TLS_V1_2, CERT_VERIFIED, NULL, NULL, 0, "partner.example" };
	char path[128];

	(void)state;
	assert_int_equal(system("tools/mkcerts -q -o build/pki >/dev/null"), 0);
	for (size_t i = 0; i < N(cases); i++) {
		snprintf(path, sizeof(path), "build/pki/%s", cases[i].file);
		WOLFSSL_X509 *x = wolfSSL_X509_load_certificate_file(path, WOLFSSL_FILETYPE_PEM);
		assert_non_null(x);
		tls_names_of_x509(x, &names);
		wolfSSL_X509_free(x);
		facts(&b, &c);
		connector_facts_names(&b.f, &names, b.san, N(b.san));
		connector_inbound_select(t, &b.f, false, &sel);
		if (sel.id != id_of(t, cases[i].expect))
			fail_msg("%s: selected \"%s\" (%s), expected \"%s\"", cases[i].file, connector_name(t, sel.id),
				 connector_match_name(sel.why), cases[i].expect[0] ? cases[i].expect : "none");
		connector_inbound_decide(t, &b.f, S_MAIL, &d);   /* certname owns partner.example: refused */
		assert_int_equal(d.verdict, REFUSE);
		assert_true(d.reason == CONNECTOR_R_CERT_NAME || d.reason == CONNECTOR_R_DOMAIN_CERT);
		assert_memory_equal(d.reply, "550 5.7.1 Connector \"certname\"", 30);
	}
}

/* ------------------------------------------------------------- outbound */

static void
test_outbound_lookup(void **state)
{
	const struct connector_table *t = fixture();
	static const struct {
		const char *domain, *expect;
	} cases[] = {
		{ "partner.example", "o-exact" }, { "PARTNER.Example.", "o-exact" },
		{ "mx.partner.example", "o-wild" }, { "a.b.partner.example", "o-wild" },
		{ "eu.partner.example", "o-wild" }, { "a.eu.partner.example", "o-deeper" },
		{ "x.y.eu.partner.example", "o-deeper" }, { "other.example", "o-all" },
		{ "example", "o-all" }, { "xpartner.example", "o-all" }, { "[192.0.2.1]", "o-all" },
	};
	const struct cfg_connector_out *co;
	char longname[300];
	struct gw_config cfg;
	struct connector_table *t2;
	unsigned probes;
	uint32_t id;
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		probes = 0;
		co = connector_outbound_lookup_ex(t, cases[i].domain, strlen(cases[i].domain), &id,
						  &probes);
		if (co == NULL || strcmp(co->name, cases[i].expect) != 0)
			fail_msg("case %zu: %s -> %s", i, cases[i].domain, co ? co->name : "none");
		assert_int_equal(id, id_of(t, cases[i].expect));
		assert_ptr_equal(co, connector_outbound(t, id));
		assert_true(probes >= 1 && probes <= 8);
	}
	co = connector_outbound_lookup(t, "partner.example", 15, NULL);
	assert_int_equal(co->route.tls_level, CFG_TLS_SECURE);
	assert_int_equal(co->route.n_hops, 1);
	assert_string_equal(co->route.tls_names[0], "mx.partner.example");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_string_equal(connector_outbound_lookup(t, longname, strlen(longname), &id)->name,
			    "o-all");
	assert_null(connector_outbound_lookup(t, "", 0, &id));
	assert_int_equal(id, CONNECTOR_NONE);
	assert_null(connector_outbound_lookup(NULL, "partner.example", 15, &id));
	/* Without a "*" connector, other domains have none: routes apply. */
	test_load("version = 1;\nports = ( { name = \"ext\"; device = \"net_af_packet0\"; address = "
		  "\"192.0.2.1/24\"; } );\nconnectors: { outbound = ( { name = \"o\"; "
		  "recipient_domains = [ \"a.example\" ]; } ); };\n", &cfg);
	t2 = test_build(&cfg);
	assert_null(connector_outbound_lookup(t2, "b.example", 9, &id));
	assert_int_equal(id, CONNECTOR_NONE);
	assert_non_null(connector_outbound_lookup(t2, "a.example", 9, &id));
	assert_int_equal(id, 0);        /* no inbound connectors: outbound ids from 0 */
	connector_table_free(t2);
	config_free(&cfg);
}

#define NOSTARTTLS "451 4.7.4 TLS is required, but was not offered by host 198.51.100.25"

struct out_case {
	const char *conn;
	struct connector_peer p;
	enum connector_verdict verdict;
	enum connector_reason reason;
	const char *reply;
};

static const struct out_case out_cases[] = {
	/* opportunistic never refuses */
	{ "o-all", { "h", false, false, 0, false, false, false, { 0 } }, ALLOW, 0, "" },
	{ "o-all", { "h", true, false, 0, false, false, false, { 0 } }, ALLOW, 0, "" },
	/* domain_validation: offered, handshake, chain, name */
	{ "o-exact", { "198.51.100.25", false, false, 0, false, false, false, { 0 } }, REFUSE,
	  CONNECTOR_R_OUT_NOT_OFFERED, NOSTARTTLS },
	{ "o-exact", { "198.51.100.25", true, false, 0, false, false, false, { 0 } }, REFUSE,
	  CONNECTOR_R_OUT_HANDSHAKE, "451 4.7.5 Connector \"o-exact\": TLS handshake failed "
	  "(host 198.51.100.25)" },
	{ "o-exact", { "198.51.100.25", true, true, V12, false, true, false, { 0 } }, REFUSE,
	  CONNECTOR_R_OUT_CHAIN, "451 4.7.5 Connector \"o-exact\": server certificate not "
	  "verified (host 198.51.100.25)" },
	{ "o-exact", { "198.51.100.25", true, true, V12, true, false, false, { 0 } }, REFUSE,
	  CONNECTOR_R_OUT_NAME, "451 4.7.5 Connector \"o-exact\": server certificate name does "
	  "not match mx.partner.example (host 198.51.100.25)" },
	{ "o-exact", { "198.51.100.25", true, true, V12, true, true, false, { 0 } }, ALLOW, 0, "" },
	/* encryption_only with a pin and TLS 1.3: the chain is not checked */
	{ "o-wild", { "10.9.9.9", true, true, V12, true, true, true, { 0 } }, REFUSE,
	  CONNECTOR_R_OUT_TLS_VERSION, "451 4.7.5 Connector \"o-wild\": TLS 1.3 or later required, "
	  "the next hop uses TLS 1.2 (host 10.9.9.9)" },
	{ "o-wild", { "10.9.9.9", true, true, V13, false, false, true, { 0 } }, ALLOW, 0, "" },
	{ "o-wild", { "10.9.9.9", true, true, V13, true, true, true, { 1 } }, REFUSE,
	  CONNECTOR_R_OUT_PIN, "451 4.7.5 Connector \"o-wild\": server certificate key does not "
	  "match the connector's pins (host 10.9.9.9)" },
	{ "o-wild", { "10.9.9.9", true, true, V13, true, true, false, { 0 } }, REFUSE,
	  CONNECTOR_R_OUT_PIN, "451 4.7.5 Connector \"o-wild\": server certificate key does not "
	  "match the connector's pins (host 10.9.9.9)" },
	{ "o-wild", { NULL, false, false, 0, false, false, false, { 0 } }, REFUSE,
	  CONNECTOR_R_OUT_NOT_OFFERED, "451 4.7.4 TLS is required, but was not offered by host ?" },
	/* certificate_validation, report_only: chain and dates, no name */
	{ "o-deeper", { "h", true, true, V12, true, false, false, { 0 } }, ALLOW, 0, "" },
	{ "o-deeper", { "h", true, true, V12, false, true, false, { 0 } }, WOULD,
	  CONNECTOR_R_OUT_CHAIN, "451 4.7.5 Connector \"o-deeper\": server certificate not "
	  "verified (host h)" },
	{ "o-deeper", { "h", false, false, 0, false, false, false, { 0 } }, WOULD,
	  CONNECTOR_R_OUT_NOT_OFFERED, "451 4.7.4 TLS is required, but was not offered by host h" },
	/* not an outbound connector */
	{ "addr", { "h", false, false, 0, false, false, false, { 0 } }, ALLOW, 0, "" },
};

static void
test_outbound_decide(void **state)
{
	const struct connector_table *t = fixture();
	struct connector_decision d;
	struct connector_peer p;
	size_t i;

	(void)state;
	for (i = 0; i < N(out_cases); i++) {
		const struct out_case *c = &out_cases[i];
		uint32_t id = id_of(t, c->conn);
		bool outbound = connector_outbound(t, id) != NULL;

		p = c->p;
		if (p.have_spki)
			hex_pin(c->p.spki_sha256[0] ? PIN_B : PIN_A, p.spki_sha256);
		connector_outbound_decide(t, id, &p, &d);
		if (d.verdict != c->verdict || d.reason != c->reason || strcmp(d.reply, c->reply) != 0)
			fail_msg("case %zu: verdict %d %s: %s", i, d.verdict,
				 connector_reason_name(d.reason), d.reply);
		assert_int_equal(d.code, c->reply[0] ? 451u : 0u);
		assert_int_equal(d.sel.id, outbound ? id : CONNECTOR_NONE);
		assert_int_equal(d.by, outbound ? id : CONNECTOR_NONE);
		assert_int_equal(d.sel.why, outbound ? CONNECTOR_MATCH_RECIPIENT_DOMAIN :
				 CONNECTOR_MATCH_NONE);
	}
}

/* ------------------------------------------------------------- counters */

static void
test_counters(void **state)
{
	const struct connector_table *t = fixture();
	unsigned n = connector_count(t);
	struct connector_counters *w0 = calloc(n, sizeof(*w0)), *w1 = calloc(n, sizeof(*w1));
	struct connector_counters sum = { 0 };
	struct connector_decision d;
	char buf[1024];
	int len;
	struct facts_buf b;
	uint32_t addr = id_of(t, "addr"), v6h = id_of(t, "v6-host");
	struct client c = { "198.51.100.7", 0, 0, NULL, NULL, 0, NULL };

	(void)state;
	assert_int_equal(n, 17);
	assert_non_null(w0);
	assert_non_null(w1);
	connector_inbound_decide(t, facts(&b, &c), S_SESSION, &d);
	connector_count_decision(w0, &d);
	connector_count_decision(w1, &d);
	c.ip = "2001:db8:1::25";
	connector_inbound_decide(t, facts(&b, &c), S_SESSION, &d);
	connector_count_decision(w0, &d);
	c.tls = V12;                                    /* allowed: nothing counted */
	connector_inbound_decide(t, facts(&b, &c), S_SESSION, &d);
	connector_count_decision(w0, &d);
	connector_count_accepted(w0, d.sel.id);
	connector_count_accepted(w0, CONNECTOR_NONE);
	assert_int_equal(w0[addr].refused[CONNECTOR_R_TLS_REQUIRED], 1);
	assert_int_equal(w0[v6h].would_refuse[CONNECTOR_R_TLS_REQUIRED], 1);
	assert_int_equal(w0[v6h].refused[CONNECTOR_R_TLS_REQUIRED], 0);
	assert_int_equal(w0[v6h].accepted, 1);
	connector_count_tls(w0, addr, V12, "ECDHE-RSA-AES128-GCM-SHA256", 2000000000, 100);
	connector_count_tls(w1, addr, V13, "TLS_AES_256_GCM_SHA384", 1900000000, 50);
	connector_count_tls(w1, addr, 0, NULL, 0, 60);
	connector_count_tls(w1, addr, V13, "TLS13-CHACHA20-POLY1305-SHA256", 0, 70);
	connector_count_tls(w1, addr, V12, "DHE-RSA-AES128-SHA", 0, 80);
	connector_count_tls(w1, CONNECTOR_NONE, V12, "x", 1, 90);
	connector_counters_add(&sum, &w1[addr]);
	connector_counters_add(&sum, &w0[addr]);
	assert_int_equal(sum.refused[CONNECTOR_R_TLS_REQUIRED], 2);
	assert_int_equal(sum.tls[CONNECTOR_TLS_PLAIN], 1);
	assert_int_equal(sum.tls[CONNECTOR_TLS_1_2], 2);
	assert_int_equal(sum.tls[CONNECTOR_TLS_1_3], 2);
	assert_int_equal(sum.cipher[connector_cipher_index("ECDHE-RSA-AES128-GCM-SHA256")], 1);
	assert_int_equal(sum.cipher[connector_cipher_index("TLS13-AES256-GCM-SHA384")], 1);
	assert_int_equal(sum.cipher[2], 1);
	assert_int_equal(sum.cipher[CONNECTOR_CIPHER_COUNT - 1], 1);
	assert_int_equal(sum.cert_not_after, 2000000000);       /* seen last, at 100 */
	assert_int_equal(sum.cert_seen, 100);
	assert_string_equal(connector_cipher_name(1), "TLS13-AES256-GCM-SHA384");
	assert_string_equal(connector_cipher_name(CONNECTOR_CIPHER_COUNT - 1), "other");
	assert_string_equal(connector_cipher_name(99), "?");
	assert_int_equal(connector_cipher_index(NULL), CONNECTOR_CIPHER_COUNT - 1);
	assert_int_equal(connector_tls_version("TLSv1.2"), CFG_TLS_V1_2);
	assert_int_equal(connector_tls_version("TLSv1.3"), CFG_TLS_V1_3);
	assert_int_equal(connector_tls_version("TLSv1.1"), 0);
	assert_int_equal(connector_tls_version(NULL), 0);
	len = connector_counters_text(&sum, buf, sizeof(buf));
	assert_int_equal(len, (int)strlen(buf));
	assert_string_equal(buf,
		"  accepted: 0\n"
		"  refused: tls_required 2\n"
		"  sessions by TLS version: plaintext 1, 1.2 2, 1.3 2\n"
		"  TLS sessions by cipher: TLS13-AES256-GCM-SHA384 1, TLS13-CHACHA20-POLY1305-SHA256 1, "
		"ECDHE-RSA-AES128-GCM-SHA256 1, other 1\n"
		"  partner certificate: expires 2033-05-18 03:33:20 UTC (seen 1970-01-01 00:01:40 UTC)\n");
	connector_counters_text(&w0[v6h], buf, sizeof(buf));
	assert_string_equal(buf, "  accepted: 1\n  would refuse (report_only): tls_required 1\n");
	free(w0);
	free(w1);
}

static void
test_names(void **state)
{
	static const char *const reasons[CONNECTOR_R_COUNT] = {
		"none", "tls_required", "tls_version", "cert_missing", "cert_unverified",
		"cert_name", "cert_pin", "domain_cert", "domain_address", "out_not_offered",
		"out_handshake", "out_tls_version", "out_chain", "out_name", "out_pin",
	};
	const struct connector_table *t = fixture();
	unsigned i;

	(void)state;
	for (i = 0; i < CONNECTOR_R_COUNT; i++)
		assert_string_equal(connector_reason_name(i), reasons[i]);
	assert_string_equal(connector_reason_name(CONNECTOR_R_COUNT), "?");
	assert_string_equal(connector_match_name(CONNECTOR_MATCH_ADDRESS), "client address");
	assert_string_equal(connector_match_name(CONNECTOR_MATCH_RECIPIENT_DOMAIN),
			    "recipient domain");
	assert_string_equal(connector_match_name(CONNECTOR_MATCH_COUNT), "?");
	assert_int_equal(connector_find(t, "addr"), 0);
	assert_int_equal(connector_find(t, "o-exact"), 13);
	assert_int_equal(connector_find(t, "ADDR"), CONNECTOR_NONE);
	assert_int_equal(connector_find(t, NULL), CONNECTOR_NONE);
	assert_string_equal(connector_name(t, 13), "o-exact");
	assert_string_equal(connector_name(t, 17), "");
	assert_string_equal(connector_name(t, CONNECTOR_NONE), "");
	assert_null(connector_inbound(t, 13));
	assert_null(connector_outbound(t, 12));
	assert_null(connector_outbound(t, 17));
	assert_int_equal(connector_count(NULL), 0);
}

/* ------------------------------------------------------------- text */

static void
test_text(void **state)
{
	const struct connector_table *t = fixture();
	struct connector_decision d;
	struct facts_buf b;
	char buf[2048];
	struct client c = { "198.51.100.7", 0, 0, NULL, NULL, 0, NULL };
	int n;

	(void)state;
	connector_inbound_decide(t, facts(&b, &c), S_SESSION, &d);
	n = connector_decision_text(t, &d, buf, sizeof(buf));
	assert_string_equal(buf, "connector \"addr\" (client address): refuse tls_required: "
			    STARTTLS);
	assert_int_equal(n, (int)strlen(buf));
	assert_int_equal(connector_decision_text(t, &d, NULL, 0), n);
	assert_int_equal(connector_decision_text(t, &d, buf, 10), n);
	assert_string_equal(buf, "connector");
	c.tls = V12;
	c.sender = "ipr.example";
	connector_inbound_decide(t, facts(&b, &c), S_MAIL, &d);
	connector_decision_text(t, &d, buf, sizeof(buf));
	assert_string_equal(buf, "connector \"addr\" (client address); sender domain's connector "
			    "\"ipr\": refuse domain_address: 550 5.7.1 Connector \"ipr\": sender "
			    "domain ipr.example is not accepted from 198.51.100.7");
	c.ip = "192.0.2.200";
	c.sender = "ipr-report.example";
	connector_inbound_decide(t, facts(&b, &c), S_MAIL, &d);
	connector_decision_text(t, &d, buf, sizeof(buf));
	assert_string_equal(buf, "connector \"ipr-report\" (sender domain): would refuse "
			    "(report_only, accepted) domain_address: 550 5.7.1 Connector "
			    "\"ipr-report\": sender domain ipr-report.example is not accepted "
			    "from 192.0.2.200");
	c.sender = "x.example";
	connector_inbound_decide(t, facts(&b, &c), S_MAIL, &d);
	connector_decision_text(t, &d, buf, sizeof(buf));
	assert_string_equal(buf, "no connector (default policy): accept");
}

static void
test_describe(void **state)
{
	const struct connector_table *t = fixture();
	char buf[4096];

	(void)state;
	connector_describe(t, id_of(t, "pinned"), buf, sizeof(buf));
	assert_string_equal(buf,
		"connector \"pinned\": inbound, enforce (line 12)\n"
		"  sender_domains: pinned.example\n"
		"  sender_ip_addresses: 203.0.113.0/24\n"
		"  client_cert_spki_pins: " PIN_A "\n"
		"  requires: TLS (implied by the certificate requirement), a client certificate "
		"with a pinned key\n"
		"  sender domains restricted to: its certificate and its addresses\n");
	connector_describe(t, id_of(t, "v6"), buf, sizeof(buf));
	assert_string_equal(buf,
		"connector \"v6\": inbound, enforce (line 8)\n"
		"  sender_ip_addresses: 2001:db8:1::/48\n"
		"  requires: TLS (implied by min_tls_version), TLS 1.3 or later\n"
		"  sender domains restricted to: nothing (no restriction)\n");
	connector_describe(t, id_of(t, "addr-narrow"), buf, sizeof(buf));
	assert_non_null(strstr(buf, "  requires: nothing (opportunistic TLS)\n"));
	connector_describe(t, id_of(t, "both"), buf, sizeof(buf));
	assert_non_null(strstr(buf, "a client certificate with a verified chain and one of its "
			       "names and a pinned key\n"));
	connector_describe(t, id_of(t, "o-exact"), buf, sizeof(buf));
	assert_string_equal(buf,
		"connector \"o-exact\": outbound, enforce (line 21)\n"
		"  recipient_domains: partner.example\n"
		"  next hop: smart hosts 198.51.100.25:25 (priority 10)\n"
		"  TLS: domain_validation: STARTTLS required, chain and dates verified, name "
		"mx.partner.example\n");
	connector_describe(t, id_of(t, "o-wild"), buf, sizeof(buf));
	assert_string_equal(buf,
		"connector \"o-wild\": outbound, enforce (line 22)\n"
		"  recipient_domains: *.partner.example\n"
		"  next hop: the route of the recipient domain (routes)\n"
		"  TLS: encryption_only: STARTTLS required, certificate not checked; key pinned "
		"(1 pin); TLS 1.3 or later\n"
		"  server_spki_pins: " PIN_A "\n");
	connector_describe(t, id_of(t, "o-deeper"), buf, sizeof(buf));
	assert_non_null(strstr(buf, "outbound, report_only (line 23)\n"));
	assert_non_null(strstr(buf, "certificate_validation: STARTTLS required, chain and dates "
			       "verified, name not checked\n"));
	connector_describe(t, CONNECTOR_NONE, buf, sizeof(buf));
	assert_string_equal(buf, "no such connector\n");
}

/* ------------------------------------------------------------- simulator */

static void
test_sim_parse(void **state)
{
	static const struct {
		const char *argv[8];
		const char *err;
	} bad[] = {
		{ { NULL }, "--ip is required" },
		{ { "--ip", NULL }, "--ip: a value is missing" },
		{ { "--ip", "198.51.100" }, "--ip: \"198.51.100\" is not an IPv4 or IPv6 address" },
		{ { "--ip", "192.0.2.1", "--tls", "1.1" }, "--tls: \"1.1\" is not 1.2, 1.3 or none" },
		{ { "--ip", "192.0.2.1", "--helo", "x" }, "unknown option \"--helo\" (expected --ip, "
		  "--sender, --recipient, --cert-name, --cert or --tls)" },
		{ { "--ip", "192.0.2.1", "--cert-name", "a", "--cert", "b" },
		  "--cert-name and --cert exclude each other" },
		{ { "--ip", "192.0.2.1", "--cert-name", "a", "--tls", "none" },
		  "a client certificate needs --tls 1.2 or 1.3" },
	};
	struct connector_sim q;
	char err[256], big[300];
	const char *argv[4];
	size_t i;
	int argc;

	(void)state;
	for (i = 0; i < N(bad); i++) {
		for (argc = 0; bad[i].argv[argc]; argc++)
			;
		assert_int_equal(connector_sim_parse(&q, argc, bad[i].argv, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, bad[i].err);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	argv[0] = "--sender";
	argv[1] = big;
	assert_int_equal(connector_sim_parse(&q, 2, argv, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--sender: the value is too long");
	/* A certificate name: verified, TLS 1.2 unless told; <> has no domain. */
	{
		const char *ok[] = { "--ip", "2001:db8::1", "--cert-name", "mx.a.example",
				     "--sender", "<>", "--recipient", "b@B.example" };

		assert_int_equal(connector_sim_parse(&q, 8, ok, err, sizeof(err)), 0);
	}
	assert_true(q.f.v6);
	assert_int_equal(q.f.tls_version, CFG_TLS_V1_2);
	assert_true(q.f.cert && q.f.cert_verified);
	assert_int_equal(q.f.n_sans, 1);
	assert_string_equal(q.f.sans[0], "mx.a.example");
	assert_true(q.has_sender && q.has_recipient);
	assert_null(q.f.sender_domain);
	{
		const char *ok[] = { "--sender", "a@x.example", "--tls", "1.3", "--ip", "192.0.2.9",
				     "--cert", "/tmp/c.pem" };

		assert_int_equal(connector_sim_parse(&q, 8, ok, err, sizeof(err)), 0);
	}
	assert_false(q.f.v6);
	assert_int_equal(q.f.addr4, 0xc0000209);
	assert_int_equal(q.f.tls_version, CFG_TLS_V1_3);
	assert_string_equal(q.cert_file, "/tmp/c.pem");
	assert_false(q.f.cert);                 /* the caller reads the file */
	assert_int_equal(q.f.sender_len, 9);
	assert_memory_equal(q.f.sender_domain, "x.example", 9);
}

/* Run the simulator on ARGV (NULL-terminated) against the fixture. */
static char *
sim(const char *const *argv)
{
	static char out[8192];
	char err[256];
	struct connector_sim q;
	int argc, n;

	for (argc = 0; argv[argc]; argc++)
		;
	if (connector_sim_parse(&q, argc, argv, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	n = connector_simulate(fixture(), &q, out, sizeof(out));
	assert_int_equal(n, (int)strlen(out));
	return out;
}

static void
test_simulate(void **state)
{
	const char *a1[] = { "--ip", "198.51.100.7", "--sender", "a@partner.example", "--recipient",
			     "b@mx.partner.example", NULL };
	const char *a2[] = { "--ip", "198.51.101.1", "--cert-name", "x.relay.partner.example",
			     "--sender", "a@partner.example", "--recipient", "partner.example",
			     NULL };
	const char *a3[] = { "--ip", "2001:db8:1::25", "--sender", "x@ipr-report.example",
			     "--recipient", "b@else.example", NULL };
	const char *a4[] = { "--ip", "192.0.2.200", "--tls", "1.3", "--sender", "<a@x.dom.example>",
			     "--recipient", "z@a.eu.partner.example", NULL };
	const char *a5[] = { "--ip", "198.51.101.1", NULL };

	(void)state;
	assert_string_equal(sim(a1),
		"query: client 198.51.100.7, plaintext, no certificate, sender a@partner.example, "
		"recipient b@mx.partner.example\n"
		"inbound: connector \"addr\", matched by client address in 198.51.100.0/24\n"
		"  before MAIL: connector \"addr\" (client address): refuse tls_required: " STARTTLS "\n"
		"  MAIL FROM:<a@partner.example>: connector \"addr\" (client address): refuse "
		"tls_required: " STARTTLS "\n"
		"outbound: connector \"o-wild\" (enforce), matched by recipient domain "
		"mx.partner.example (wildcard)\n"
		"  next hop: the route of the recipient domain (routes)\n"
		"  TLS: encryption_only: STARTTLS required, certificate not checked; key pinned "
		"(1 pin); TLS 1.3 or later\n"
		"  no STARTTLS offered: connector \"o-wild\" (recipient domain): refuse "
		"out_not_offered: 451 4.7.4 TLS is required, but was not offered by host NEXT-HOP\n"
		"  handshake failed: connector \"o-wild\" (recipient domain): refuse out_handshake: "
		"451 4.7.5 Connector \"o-wild\": TLS handshake failed (host NEXT-HOP)\n"
		"  TLS 1.2: connector \"o-wild\" (recipient domain): refuse out_tls_version: "
		"451 4.7.5 Connector \"o-wild\": TLS 1.3 or later required, the next hop uses "
		"TLS 1.2 (host NEXT-HOP)\n"
		"  key not pinned: connector \"o-wild\" (recipient domain): refuse out_pin: "
		"451 4.7.5 Connector \"o-wild\": server certificate key does not match the "
		"connector's pins (host NEXT-HOP)\n"
		"  all checks pass: connector \"o-wild\" (recipient domain): accept\n");
	assert_string_equal(sim(a2),
		"query: client 198.51.101.1, TLS 1.2, certificate named x.relay.partner.example "
		"(verified), sender a@partner.example, recipient partner.example\n"
		"inbound: connector \"certname\", matched by certificate name x.relay.partner.example\n"
		"  before MAIL: connector \"certname\" (certificate name): accept\n"
		"  MAIL FROM:<a@partner.example>: connector \"certname\" (certificate name): accept\n"
		"outbound: connector \"o-exact\" (enforce), matched by recipient domain "
		"partner.example (exact)\n"
		"  next hop: smart hosts 198.51.100.25:25 (priority 10)\n"
		"  TLS: domain_validation: STARTTLS required, chain and dates verified, name "
		"mx.partner.example\n"
		"  no STARTTLS offered: connector \"o-exact\" (recipient domain): refuse "
		"out_not_offered: 451 4.7.4 TLS is required, but was not offered by host NEXT-HOP\n"
		"  handshake failed: connector \"o-exact\" (recipient domain): refuse out_handshake: "
		"451 4.7.5 Connector \"o-exact\": TLS handshake failed (host NEXT-HOP)\n"
		"  certificate not verified: connector \"o-exact\" (recipient domain): refuse "
		"out_chain: 451 4.7.5 Connector \"o-exact\": server certificate not verified "
		"(host NEXT-HOP)\n"
		"  certificate of another name: connector \"o-exact\" (recipient domain): refuse "
		"out_name: 451 4.7.5 Connector \"o-exact\": server certificate name does not match "
		"mx.partner.example (host NEXT-HOP)\n"
		"  all checks pass: connector \"o-exact\" (recipient domain): accept\n");
	assert_string_equal(sim(a3),
		"query: client 2001:db8:1::25, plaintext, no certificate, sender x@ipr-report.example, "
		"recipient b@else.example\n"
		"inbound: connector \"v6-host\", matched by client address in 2001:db8:1::25/128\n"
		"  before MAIL: connector \"v6-host\" (client address): would refuse (report_only, "
		"accepted) tls_required: " STARTTLS "\n"
		"  MAIL FROM:<x@ipr-report.example>: connector \"v6-host\" (client address): would "
		"refuse (report_only, accepted) tls_required: " STARTTLS "\n"
		"outbound: connector \"o-all\" (enforce), matched by recipient domain else.example "
		"(\"*\")\n"
		"  next hop: the route of the recipient domain (routes)\n"
		"  TLS: opportunistic: STARTTLS when offered, else plaintext\n"
		"  failures: none refused (opportunistic)\n");
	assert_string_equal(sim(a4),
		"query: client 192.0.2.200, TLS 1.3, no certificate, sender a@x.dom.example, "
		"recipient z@a.eu.partner.example\n"
		"inbound: no connector before MAIL\n"
		"  before MAIL: no connector (default policy): accept\n"
		"  MAIL FROM:<a@x.dom.example>: connector \"dom\" (sender domain): accept\n"
		"  (sender domain x.dom.example (wildcard))\n"
		"outbound: connector \"o-deeper\" (report_only), matched by recipient domain "
		"a.eu.partner.example (wildcard)\n"
		"  next hop: the route of the recipient domain (routes)\n"
		"  TLS: certificate_validation: STARTTLS required, chain and dates verified, name "
		"not checked\n"
		"  no STARTTLS offered: connector \"o-deeper\" (recipient domain): would refuse "
		"(report_only, accepted) out_not_offered: 451 4.7.4 TLS is required, but was not "
		"offered by host NEXT-HOP\n"
		"  handshake failed: connector \"o-deeper\" (recipient domain): would refuse "
		"(report_only, accepted) out_handshake: 451 4.7.5 Connector \"o-deeper\": TLS "
		"handshake failed (host NEXT-HOP)\n"
		"  certificate not verified: connector \"o-deeper\" (recipient domain): would refuse "
		"(report_only, accepted) out_chain: 451 4.7.5 Connector \"o-deeper\": server "
		"certificate not verified (host NEXT-HOP)\n"
		"  all checks pass: connector \"o-deeper\" (recipient domain): accept\n");
	assert_string_equal(sim(a5),
		"query: client 198.51.101.1, plaintext, no certificate, sender (none), recipient "
		"(none)\n"
		"inbound: no connector before MAIL\n"
		"  before MAIL: no connector (default policy): accept\n");
}

/* ------------------------------------------------------------- scale */

static char *
xstrdup(const char *fmt, unsigned i)
{
	char buf[64];
	char *s;

	snprintf(buf, sizeof(buf), fmt, i, i);
	s = strdup(buf);
	assert_non_null(s);
	return s;
}

static char **
xlist(const char *a, const char *b, unsigned i)
{
	char **v = calloc(2, sizeof(*v));

	assert_non_null(v);
	v[0] = xstrdup(a, i);
	v[1] = xstrdup(b, i);
	return v;
}

/*
 * N inbound connectors, by turns: an IPv4 /32 (each in its own /24), an
 * IPv6 /64, sender domains ("s%u.example", "*.w%u.example"), certificate
 * names ("mx%u.example", "*.c%u.example"); and N outbound ones
 * ("r%u.example", "*.q%u.example"). Connector i's names use the number i.
 */
static void
big_cfg(struct gw_config *cfg, unsigned n)
{
	struct cfg_connector_in *ci;
	struct cfg_connector_out *co;
	unsigned i;

	config_defaults(cfg);
	cfg->connectors_in = calloc(n, sizeof(*cfg->connectors_in));
	cfg->connectors_out = calloc(n, sizeof(*cfg->connectors_out));
	assert_non_null(cfg->connectors_in);
	assert_non_null(cfg->connectors_out);
	cfg->n_connectors_in = cfg->n_connectors_out = n;
	for (i = 0; i < n; i++) {
		ci = &cfg->connectors_in[i];
		snprintf(ci->name, sizeof(ci->name), "in%u", i);
		if (i % 4 < 2) {
			ci->ips = calloc(1, sizeof(*ci->ips));
			assert_non_null(ci->ips);
			ci->n_ips = 1;
		}
		if (i % 4 == 0) {
			ci->ips[0] = (struct cfg_ip_net){ .v4 = true, .prefix_len = 32,
				.addr = { [10] = 0xff, [11] = 0xff, [12] = 10, [13] = (uint8_t)(i >> 16),
					  [14] = (uint8_t)(i >> 8), [15] = 1 } };
			ci->ips[0].addr[13] = (uint8_t)(i >> 10);
			ci->ips[0].addr[14] = (uint8_t)(i >> 2);
		} else if (i % 4 == 1) {
			ci->ips[0] = (struct cfg_ip_net){ .prefix_len = 64,
				.addr = { 0x20, 0x01, 0x0d, 0xb8, (uint8_t)(i >> 24), (uint8_t)(i >> 16),
					  (uint8_t)(i >> 8), (uint8_t)i } };
		} else if (i % 4 == 2) {
			ci->sender_domains = xlist("s%u.example", "*.w%u.example", i);
			ci->n_sender_domains = 2;
		} else {
			ci->cert_names = xlist("mx%u.example", "*.c%u.example", i);
			ci->n_cert_names = 2;
		}
		co = &cfg->connectors_out[i];
		snprintf(co->name, sizeof(co->name), "out%u", i);
		co->route.domains = xlist("r%u.example", "*.q%u.example", i);
		co->route.n_domains = 2;
		co->route.tls_level = CFG_TLS_ENCRYPT;
	}
}

struct big_figures {
	double sender, sender_wild, cert, cert_wild, addr4, addr6, out, out_wild;
	unsigned worst;
};

static void
big_probe(const struct connector_table *t, const struct connector_facts *f, bool sender,
	  uint32_t want, double *sum, unsigned *worst)
{
	struct connector_selection sel;
	unsigned p = 0;

	connector_inbound_select_ex(t, f, sender, &sel, &p);
	if (sel.id != want)
		fail_msg("got %s, expected %s", connector_name(t, sel.id), connector_name(t, want));
	*sum += p;
	*worst = p > *worst ? p : *worst;
}

static void
big_out(const struct connector_table *t, const char *d, uint32_t want, double *sum,
	unsigned *worst)
{
	unsigned p = 0;
	uint32_t id;

	connector_outbound_lookup_ex(t, d, strlen(d), &id, &p);
	assert_int_equal(id, want);
	*sum += p;
	*worst = p > *worst ? p : *worst;
}

/* Average probes per lookup of each kind, over LOOKUPS queries spread over the table. */
static void
big_measure(const struct connector_table *t, unsigned n, unsigned lookups,
	    struct big_figures *fg)
{
	struct facts_buf b;
	char name[64], ip[64];
	const char *san[1] = { name };
	unsigned i, j;

	memset(fg, 0, sizeof(*fg));
	for (i = 0; i < lookups; i++) {
		j = (unsigned)(((uint64_t)i * 7919u) % (n / 4)) * 4;
		memset(&b, 0, sizeof(b));
		snprintf(ip, sizeof(ip), "10.%u.%u.1", (j >> 10) & 255, (j >> 2) & 255);
		facts_ip(&b.f, ip);
		big_probe(t, &b.f, false, j, &fg->addr4, &fg->worst);
		memset(&b, 0, sizeof(b));
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x:1::1", (j + 1) >> 16, (j + 1) & 0xffff);
		facts_ip(&b.f, ip);
		big_probe(t, &b.f, false, j + 1, &fg->addr6, &fg->worst);
		memset(&b, 0, sizeof(b));
		facts_ip(&b.f, "192.0.2.1");
		b.f.sender_domain = name;
		b.f.sender_len = (size_t)snprintf(name, sizeof(name), "s%u.example", j + 2);
		big_probe(t, &b.f, true, j + 2, &fg->sender, &fg->worst);
		b.f.sender_len = (size_t)snprintf(name, sizeof(name), "a.w%u.example", j + 2);
		big_probe(t, &b.f, true, j + 2, &fg->sender_wild, &fg->worst);
		b.f.sender_domain = NULL;
		b.f.tls_version = V12;
		b.f.cert = b.f.cert_verified = true;
		b.f.sans = san;
		b.f.n_sans = 1;
		snprintf(name, sizeof(name), "mx%u.example", j + 3);
		big_probe(t, &b.f, false, j + 3, &fg->cert, &fg->worst);
		snprintf(name, sizeof(name), "a.c%u.example", j + 3);
		big_probe(t, &b.f, false, j + 3, &fg->cert_wild, &fg->worst);
		snprintf(name, sizeof(name), "r%u.example", j);
		big_out(t, name, n + j, &fg->out, &fg->worst);
		snprintf(name, sizeof(name), "x.q%u.example", j);
		big_out(t, name, n + j, &fg->out_wild, &fg->worst);
	}
	fg->sender /= lookups;
	fg->sender_wild /= lookups;
	fg->cert /= lookups;
	fg->cert_wild /= lookups;
	fg->addr4 /= lookups;
	fg->addr6 /= lookups;
	fg->out /= lookups;
	fg->out_wild /= lookups;
}

static void
test_100k(void **state)
{
	struct gw_config small, large;
	struct connector_table *ts, *tl;
	struct connector_stats st;
	struct big_figures s, l;

	(void)state;
	big_cfg(&small, 12);
	big_cfg(&large, 100000);
	ts = test_build(&small);
	tl = test_build(&large);
	connector_table_stats(tl, &st);
	assert_int_equal(st.inbound, 100000);
	assert_int_equal(st.outbound, 100000);
	assert_int_equal(st.names, 300000);
	assert_true(st.name_slots >= 600000 && st.name_slots <= 1200000);
	assert_true(st.name_max_probe <= 64);
	assert_int_equal(st.prefixes4, 25000);
	assert_int_equal(st.prefixes6, 25000);
	assert_int_equal(st.tbl8_4, 25000);     /* every /32 in its own /24 */
	big_measure(ts, 12, 20000, &s);
	big_measure(tl, 100000, 20000, &l);
	print_message("probes per lookup    12 connectors   100k connectors\n"
		      "  sender exact       %8.2f        %8.2f\n  sender wildcard    %8.2f        %8.2f\n"
		      "  cert name exact    %8.2f        %8.2f\n  cert wildcard      %8.2f        %8.2f\n"
		      "  IPv4 address       %8.2f        %8.2f\n  IPv6 address       %8.2f        %8.2f\n"
		      "  recipient exact    %8.2f        %8.2f\n  recipient wildcard %8.2f        %8.2f\n"
		      "  worst lookup       %8u        %8u\n",
		      s.sender, l.sender, s.sender_wild, l.sender_wild, s.cert, l.cert, s.cert_wild,
		      l.cert_wild, s.addr4, l.addr4, s.addr6, l.addr6, s.out, l.out, s.out_wild,
		      l.out_wild, s.worst, l.worst);
	/* an address lookup is one trie walk; the rest one probe sequence per suffix */
	assert_true(s.addr4 == 1.0 && l.addr4 == 1.0 && s.addr6 == 1.0 && l.addr6 == 1.0);
	assert_true(l.sender <= s.sender + 0.5 && l.sender <= 3.0);
	assert_true(l.sender_wild <= s.sender_wild + 0.5 && l.sender_wild <= 5.0);
	assert_true(l.cert <= s.cert + 0.5 && l.cert <= 3.0);
	assert_true(l.cert_wild <= s.cert_wild + 0.5 && l.cert_wild <= 5.0);
	assert_true(l.out <= s.out + 0.5 && l.out <= 3.0);
	assert_true(l.out_wild <= s.out_wild + 0.5 && l.out_wild <= 5.0);
	assert_true(l.worst <= 64);
	connector_table_free(ts);
	connector_table_free(tl);
	config_free(&small);
	config_free(&large);
}

/* ------------------------------------------------------------- generations and sizes */

static void
test_generations(void **state)
{
	struct connector_table *a, *b;
	struct connector_selection sel;
	struct facts_buf fb;
	struct client c = { "2001:db8:1::5", 0, 0, NULL, NULL, 0, NULL };
	struct gw_config cfg;
	char err[128];

	(void)state;
	test_load(fx_text, &cfg);
	a = test_build(&cfg);           /* two generations at once: distinct DPDK objects */
	b = test_build(&cfg);
	connector_inbound_select(a, facts(&fb, &c), false, &sel);
	assert_string_equal(connector_name(a, sel.id), "v6");
	connector_table_free(a);
	connector_inbound_select(b, &fb.f, false, &sel);
	assert_string_equal(connector_name(b, sel.id), "v6");
	c.ip = "198.51.100.200";
	connector_inbound_select(b, facts(&fb, &c), false, &sel);
	assert_string_equal(connector_name(b, sel.id), "addr-narrow");
	connector_table_free(b);
	config_free(&cfg);
	connector_table_free(NULL);
	errno = 0;
	assert_null(connector_table_build(NULL, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "connector: no configuration");
}

static void
test_stats(void **state)
{
	const struct connector_table *t = fixture();
	struct connector_stats st;
	struct gw_config cfg;
	struct connector_table *e;

	(void)state;
	connector_table_stats(t, &st);
	assert_int_equal(st.inbound, 13);
	assert_int_equal(st.outbound, 4);
	assert_int_equal(st.prefixes4, 5);
	assert_int_equal(st.prefixes6, 3);
	assert_int_equal(st.tbl8_4, 2);         /* 198.51.100.128/25 and two /28s in 192.0.2 */
	/*
	 * 2001:db8:1::/48, 2001:db8:1::25/128, 2001:db8:9::/64: one group each at
	 * bits 24, 32, 40 (shared by all three); two at 48 and 56 (1:: and 9::);
	 * one at 64..120 (the /128 alone).
	 */
	assert_int_equal(st.tbl8_6, 3 + 2 * 2 + 8);
	assert_int_equal(st.pins, 2);
	assert_int_equal(st.names, 11);       /* partner.example shared by three kinds */
	assert_true(st.bytes > 0 && st.dpdk_bytes > ((size_t)(16 + 64) << 20));   /* 1-byte IPv4 next hops */
	/* No address connector: no DPDK memory at all. */
	big_cfg(&cfg, 0);
	e = test_build(&cfg);
	connector_table_stats(e, &st);
	assert_int_equal(st.prefixes4 + st.prefixes6 + st.dpdk_bytes, 0);
	connector_table_free(e);
	config_free(&cfg);
	connector_table_stats(NULL, &st);
	assert_int_equal(st.inbound, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_decide_hostile),
		cmocka_unit_test(test_hostile_certs),
		cmocka_unit_test(test_outbound_lookup),
		cmocka_unit_test(test_outbound_decide),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_sim_parse),
		cmocka_unit_test(test_simulate),
		cmocka_unit_test(test_100k),
		cmocka_unit_test(test_generations),
		cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
