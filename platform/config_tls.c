/*
 * config_tls.c — the `tls` group of the configuration: our certificates,
 * the inbound protocol and cipher policy, client certificates, and the
 * outbound (STARTTLS client) defaults.
 *
 * config_load() (config.c) calls cfg_load_tls() after the routes, whose
 * tls_level settings (config_smtp.c) decide whether the trust anchors must
 * exist. Files are checked for readability only; crypto/tls.c parses them.
 * Relative paths are resolved against the configuration file's directory and
 * stored absolute. config_format() calls cfg_format_tls().
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/config.h"
#include "platform/config_priv.h"

#define CFG_TLS_CA_DEFAULT   "/etc/ssl/certs/ca-certificates.crt"   /* Debian's ca-certificates */
#define CFG_TLS_CIPHERS_DEFAULT \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CFG_TLS_CURVES_DEFAULT "X25519:P-256:P-384"
#define CFG_TLS_EXPIRY_MAX   365
#define CFG_TLS_SESSION_MIN  1          /* seconds: short values are for tests */
#define CFG_TLS_SESSION_MAX  86400      /* RFC 8446 §4.6.1 allows 7 days; a day is plenty for mail */
#define CFG_TLS_CACHE_MAX    1048576
#define CFG_TLS_POLICY       "inbound suites must be ECDHE with AES-GCM or ChaCha20-Poly1305"

/* Indexed by enum cfg_tls_level. */
const char *const cfg_tls_levels[] = {
	"none", "may", "encrypt", "verify", "secure", NULL
};

const char *
config_tls_level_name(enum cfg_tls_level l)
{
	if (l == CFG_TLS_CHAIN)
		return "chain";
	return (unsigned)l < CFG_TLS_CHAIN ? cfg_tls_levels[l] : "?";
}

static const char *const cfg_tls_names[] = {
	"enabled", "certificates", "min_version", "tls13", "ciphers", "curves",
	"ca_file", "request_client_cert", "expiry_warning_days", "session_timeout",
	"ticket_key_rotation", "session_cache_size", "client", NULL
};
static const char *const cfg_tls_cert_names[] = { "cert", "key", NULL };
static const char *const cfg_tls_client_names[] = {
	"level", "ca_file", "cert", "key", NULL
};

static const struct cfg_int_rule cfg_tls_ints[] = {
	{ "expiry_warning_days", offsetof(struct cfg_tls, expiry_warning_days),
	  0, CFG_TLS_EXPIRY_MAX, false },
	{ "session_timeout", offsetof(struct cfg_tls, session_timeout),
	  CFG_TLS_SESSION_MIN, CFG_TLS_SESSION_MAX, false },
	{ "ticket_key_rotation", offsetof(struct cfg_tls, ticket_key_rotation),
	  CFG_TLS_SESSION_MIN, CFG_TLS_SESSION_MAX, false },
	{ "session_cache_size", offsetof(struct cfg_tls, session_cache_size),
	  0, CFG_TLS_CACHE_MAX, false },
};

/* ---- cipher suites -------------------------------------------------------------- */

/* Key exchange (and authentication) of a TLS 1.2 suite. */
enum cfg_tls_kx {
	CFG_KX_ECDHE,                   /* ephemeral ECDH, certificate-authenticated: wanted */
	CFG_KX_RSA,                     /* RSA key transport: no forward secrecy */
	CFG_KX_ECDH,                    /* static ECDH: no forward secrecy */
	CFG_KX_DHE,                     /* finite-field DHE: we configure no DH parameters */
	CFG_KX_ANON,                    /* no authentication at all */
	CFG_KX_PSK,
	CFG_KX_SRP,
	CFG_KX_TLS13,                   /* a TLS 1.3 suite, not for this list */
};

/* Bulk cipher of a TLS 1.2 suite. */
enum cfg_tls_enc {
	CFG_ENC_AEAD,                   /* AES-GCM or ChaCha20-Poly1305: wanted */
	CFG_ENC_CBC,
	CFG_ENC_3DES,
	CFG_ENC_DES,
	CFG_ENC_RC4,
	CFG_ENC_NULL,
	CFG_ENC_CCM,                    /* AEAD, but not in our policy */
	CFG_ENC_ARIA,
	CFG_ENC_EXPORT,
};

struct cfg_tls_suite {
	const char *name;               /* OpenSSL's name (wolfSSL uses the same) */
	unsigned char kx;               /* enum cfg_tls_kx */
	unsigned char enc;              /* enum cfg_tls_enc */
};

/* What tls.ciphers accepts, and the IANA names people copy from RFCs. */
static const char *const cfg_tls_good_suites[] = {
	"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", NULL
};
static const char *const cfg_tls_iana_suites[] = {
	"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", NULL
};

/* OpenSSL cipher-string keywords: not suite names. */
static const char *const cfg_tls_keywords[] = {
	"ALL", "DEFAULT", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "HIGH", "MEDIUM",
	"LOW", "EXPORT", "NULL", "eNULL", "aNULL", "SECURE", "FIPS", "SUITEB128",
	"SUITEB192", "kRSA", "kECDHE", "kEECDH", "ECDHE", "EECDH", "EDH", "DHE",
	"RSA", "ECDSA", "AES", "AESGCM", "AES128", "AES256", "CHACHA20", "SHA256",
	"SHA384", "TLSv1.2", "TLSv1", "SSLv3", NULL
};

/* Every other TLS 1.2 suite OpenSSL knows or knew, and why it is refused. */
static const struct cfg_tls_suite cfg_tls_bad_suites[] = {
	{ "ECDHE-ECDSA-AES256-CCM8", CFG_KX_ECDHE, CFG_ENC_CCM },
	{ "ECDHE-ECDSA-AES256-CCM", CFG_KX_ECDHE, CFG_ENC_CCM },
	{ "ECDHE-ECDSA-ARIA256-GCM-SHA384", CFG_KX_ECDHE, CFG_ENC_ARIA },
	{ "ECDHE-ARIA256-GCM-SHA384", CFG_KX_ECDHE, CFG_ENC_ARIA },
	{ "ECDHE-ECDSA-AES128-CCM8", CFG_KX_ECDHE, CFG_ENC_CCM },
	{ "ECDHE-ECDSA-AES128-CCM", CFG_KX_ECDHE, CFG_ENC_CCM },
	{ "ECDHE-ECDSA-ARIA128-GCM-SHA256", CFG_KX_ECDHE, CFG_ENC_ARIA },
	{ "ECDHE-ARIA128-GCM-SHA256", CFG_KX_ECDHE, CFG_ENC_ARIA },
	{ "ECDHE-ECDSA-AES256-SHA384", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-RSA-AES256-SHA384", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-ECDSA-CAMELLIA256-SHA384", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-RSA-CAMELLIA256-SHA384", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-ECDSA-AES128-SHA256", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-RSA-AES128-SHA256", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-ECDSA-CAMELLIA128-SHA256", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-RSA-CAMELLIA128-SHA256", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-ECDSA-AES256-SHA", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-RSA-AES256-SHA", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-ECDSA-AES128-SHA", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-RSA-AES128-SHA", CFG_KX_ECDHE, CFG_ENC_CBC },
	{ "ECDHE-ECDSA-NULL-SHA", CFG_KX_ECDHE, CFG_ENC_NULL },
	{ "ECDHE-RSA-NULL-SHA", CFG_KX_ECDHE, CFG_ENC_NULL },
	{ "ECDHE-RSA-RC4-SHA", CFG_KX_ECDHE, CFG_ENC_RC4 },
	{ "ECDHE-ECDSA-RC4-SHA", CFG_KX_ECDHE, CFG_ENC_RC4 },
	{ "ECDHE-RSA-DES-CBC3-SHA", CFG_KX_ECDHE, CFG_ENC_3DES },
	{ "ECDHE-ECDSA-DES-CBC3-SHA", CFG_KX_ECDHE, CFG_ENC_3DES },
	{ "AES256-GCM-SHA384", CFG_KX_RSA, CFG_ENC_AEAD },
	{ "AES256-CCM8", CFG_KX_RSA, CFG_ENC_CCM },
	{ "AES256-CCM", CFG_KX_RSA, CFG_ENC_CCM },
	{ "ARIA256-GCM-SHA384", CFG_KX_RSA, CFG_ENC_ARIA },
	{ "AES128-GCM-SHA256", CFG_KX_RSA, CFG_ENC_AEAD },
	{ "AES128-CCM8", CFG_KX_RSA, CFG_ENC_CCM },
	{ "AES128-CCM", CFG_KX_RSA, CFG_ENC_CCM },
	{ "ARIA128-GCM-SHA256", CFG_KX_RSA, CFG_ENC_ARIA },
	{ "AES256-SHA256", CFG_KX_RSA, CFG_ENC_CBC },
	{ "CAMELLIA256-SHA256", CFG_KX_RSA, CFG_ENC_CBC },
	{ "AES128-SHA256", CFG_KX_RSA, CFG_ENC_CBC },
	{ "CAMELLIA128-SHA256", CFG_KX_RSA, CFG_ENC_CBC },
	{ "AES256-SHA", CFG_KX_RSA, CFG_ENC_CBC },
	{ "CAMELLIA256-SHA", CFG_KX_RSA, CFG_ENC_CBC },
	{ "AES128-SHA", CFG_KX_RSA, CFG_ENC_CBC },
	{ "CAMELLIA128-SHA", CFG_KX_RSA, CFG_ENC_CBC },
	{ "NULL-SHA256", CFG_KX_RSA, CFG_ENC_NULL },
	{ "NULL-SHA", CFG_KX_RSA, CFG_ENC_NULL },
	{ "NULL-MD5", CFG_KX_RSA, CFG_ENC_NULL },
	{ "RC4-SHA", CFG_KX_RSA, CFG_ENC_RC4 },
	{ "RC4-MD5", CFG_KX_RSA, CFG_ENC_RC4 },
	{ "DES-CBC3-SHA", CFG_KX_RSA, CFG_ENC_3DES },
	{ "DES-CBC-SHA", CFG_KX_RSA, CFG_ENC_DES },
	{ "SEED-SHA", CFG_KX_RSA, CFG_ENC_CBC },
	{ "IDEA-CBC-SHA", CFG_KX_RSA, CFG_ENC_CBC },
	{ "EXP-RC4-MD5", CFG_KX_RSA, CFG_ENC_EXPORT },
	{ "EXP-RC2-CBC-MD5", CFG_KX_RSA, CFG_ENC_EXPORT },
	{ "EXP-DES-CBC-SHA", CFG_KX_RSA, CFG_ENC_EXPORT },
	{ "ECDH-ECDSA-AES128-GCM-SHA256", CFG_KX_ECDH, CFG_ENC_AEAD },
	{ "ECDH-ECDSA-AES256-GCM-SHA384", CFG_KX_ECDH, CFG_ENC_AEAD },
	{ "ECDH-RSA-AES128-GCM-SHA256", CFG_KX_ECDH, CFG_ENC_AEAD },
	{ "ECDH-RSA-AES256-GCM-SHA384", CFG_KX_ECDH, CFG_ENC_AEAD },
	{ "ECDH-ECDSA-AES128-SHA256", CFG_KX_ECDH, CFG_ENC_CBC },
	{ "ECDH-ECDSA-AES256-SHA384", CFG_KX_ECDH, CFG_ENC_CBC },
	{ "ECDH-RSA-AES128-SHA256", CFG_KX_ECDH, CFG_ENC_CBC },
	{ "ECDH-RSA-AES256-SHA384", CFG_KX_ECDH, CFG_ENC_CBC },
	{ "ECDH-ECDSA-AES128-SHA", CFG_KX_ECDH, CFG_ENC_CBC },
	{ "ECDH-ECDSA-AES256-SHA", CFG_KX_ECDH, CFG_ENC_CBC },
	{ "ECDH-RSA-AES128-SHA", CFG_KX_ECDH, CFG_ENC_CBC },
	{ "ECDH-RSA-AES256-SHA", CFG_KX_ECDH, CFG_ENC_CBC },
	{ "ECDH-ECDSA-NULL-SHA", CFG_KX_ECDH, CFG_ENC_NULL },
	{ "ECDH-RSA-NULL-SHA", CFG_KX_ECDH, CFG_ENC_NULL },
	{ "ECDH-RSA-RC4-SHA", CFG_KX_ECDH, CFG_ENC_RC4 },
	{ "ECDH-ECDSA-RC4-SHA", CFG_KX_ECDH, CFG_ENC_RC4 },
	{ "ECDH-RSA-DES-CBC3-SHA", CFG_KX_ECDH, CFG_ENC_3DES },
	{ "ECDH-ECDSA-DES-CBC3-SHA", CFG_KX_ECDH, CFG_ENC_3DES },
	{ "DHE-DSS-AES256-GCM-SHA384", CFG_KX_DHE, CFG_ENC_AEAD },
	{ "DHE-RSA-AES256-GCM-SHA384", CFG_KX_DHE, CFG_ENC_AEAD },
	{ "DHE-RSA-CHACHA20-POLY1305", CFG_KX_DHE, CFG_ENC_AEAD },
	{ "DHE-RSA-AES256-CCM8", CFG_KX_DHE, CFG_ENC_CCM },
	{ "DHE-RSA-AES256-CCM", CFG_KX_DHE, CFG_ENC_CCM },
	{ "DHE-DSS-ARIA256-GCM-SHA384", CFG_KX_DHE, CFG_ENC_ARIA },
	{ "DHE-RSA-ARIA256-GCM-SHA384", CFG_KX_DHE, CFG_ENC_ARIA },
	{ "DHE-DSS-AES128-GCM-SHA256", CFG_KX_DHE, CFG_ENC_AEAD },
	{ "DHE-RSA-AES128-GCM-SHA256", CFG_KX_DHE, CFG_ENC_AEAD },
	{ "DHE-RSA-AES128-CCM8", CFG_KX_DHE, CFG_ENC_CCM },
	{ "DHE-RSA-AES128-CCM", CFG_KX_DHE, CFG_ENC_CCM },
	{ "DHE-DSS-ARIA128-GCM-SHA256", CFG_KX_DHE, CFG_ENC_ARIA },
	{ "DHE-RSA-ARIA128-GCM-SHA256", CFG_KX_DHE, CFG_ENC_ARIA },
	{ "DHE-RSA-AES256-SHA256", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-AES256-SHA256", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-RSA-CAMELLIA256-SHA256", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-CAMELLIA256-SHA256", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-RSA-AES128-SHA256", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-AES128-SHA256", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-RSA-CAMELLIA128-SHA256", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-CAMELLIA128-SHA256", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-RSA-AES256-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-AES256-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-RSA-CAMELLIA256-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-CAMELLIA256-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-RSA-AES128-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-AES128-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-RSA-CAMELLIA128-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-CAMELLIA128-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "EDH-RSA-DES-CBC3-SHA", CFG_KX_DHE, CFG_ENC_3DES },
	{ "EDH-DSS-DES-CBC3-SHA", CFG_KX_DHE, CFG_ENC_3DES },
	{ "DHE-RSA-DES-CBC3-SHA", CFG_KX_DHE, CFG_ENC_3DES },
	{ "DHE-DSS-DES-CBC3-SHA", CFG_KX_DHE, CFG_ENC_3DES },
	{ "EDH-RSA-DES-CBC-SHA", CFG_KX_DHE, CFG_ENC_DES },
	{ "EDH-DSS-DES-CBC-SHA", CFG_KX_DHE, CFG_ENC_DES },
	{ "DHE-RSA-SEED-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "DHE-DSS-SEED-SHA", CFG_KX_DHE, CFG_ENC_CBC },
	{ "EXP-EDH-RSA-DES-CBC-SHA", CFG_KX_DHE, CFG_ENC_EXPORT },
	{ "EXP-EDH-DSS-DES-CBC-SHA", CFG_KX_DHE, CFG_ENC_EXPORT },
	{ "ADH-AES256-GCM-SHA384", CFG_KX_ANON, CFG_ENC_AEAD },
	{ "ADH-AES128-GCM-SHA256", CFG_KX_ANON, CFG_ENC_AEAD },
	{ "ADH-AES256-SHA256", CFG_KX_ANON, CFG_ENC_CBC },
	{ "ADH-CAMELLIA256-SHA256", CFG_KX_ANON, CFG_ENC_CBC },
	{ "ADH-AES128-SHA256", CFG_KX_ANON, CFG_ENC_CBC },
	{ "ADH-CAMELLIA128-SHA256", CFG_KX_ANON, CFG_ENC_CBC },
	{ "AECDH-AES256-SHA", CFG_KX_ANON, CFG_ENC_CBC },
	{ "ADH-AES256-SHA", CFG_KX_ANON, CFG_ENC_CBC },
	{ "ADH-CAMELLIA256-SHA", CFG_KX_ANON, CFG_ENC_CBC },
	{ "AECDH-AES128-SHA", CFG_KX_ANON, CFG_ENC_CBC },
	{ "ADH-AES128-SHA", CFG_KX_ANON, CFG_ENC_CBC },
	{ "ADH-CAMELLIA128-SHA", CFG_KX_ANON, CFG_ENC_CBC },
	{ "AECDH-NULL-SHA", CFG_KX_ANON, CFG_ENC_NULL },
	{ "ADH-RC4-MD5", CFG_KX_ANON, CFG_ENC_RC4 },
	{ "AECDH-RC4-SHA", CFG_KX_ANON, CFG_ENC_RC4 },
	{ "ADH-DES-CBC3-SHA", CFG_KX_ANON, CFG_ENC_3DES },
	{ "AECDH-DES-CBC3-SHA", CFG_KX_ANON, CFG_ENC_3DES },
	{ "ADH-DES-CBC-SHA", CFG_KX_ANON, CFG_ENC_DES },
	{ "EXP-ADH-DES-CBC-SHA", CFG_KX_ANON, CFG_ENC_EXPORT },
	{ "EXP-ADH-RC4-MD5", CFG_KX_ANON, CFG_ENC_EXPORT },
	{ "RSA-PSK-AES256-GCM-SHA384", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "DHE-PSK-AES256-GCM-SHA384", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "RSA-PSK-CHACHA20-POLY1305", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "DHE-PSK-CHACHA20-POLY1305", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "ECDHE-PSK-CHACHA20-POLY1305", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "DHE-PSK-AES256-CCM8", CFG_KX_PSK, CFG_ENC_CCM },
	{ "DHE-PSK-AES256-CCM", CFG_KX_PSK, CFG_ENC_CCM },
	{ "RSA-PSK-ARIA256-GCM-SHA384", CFG_KX_PSK, CFG_ENC_ARIA },
	{ "DHE-PSK-ARIA256-GCM-SHA384", CFG_KX_PSK, CFG_ENC_ARIA },
	{ "PSK-AES256-GCM-SHA384", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "PSK-CHACHA20-POLY1305", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "PSK-AES256-CCM8", CFG_KX_PSK, CFG_ENC_CCM },
	{ "PSK-AES256-CCM", CFG_KX_PSK, CFG_ENC_CCM },
	{ "PSK-ARIA256-GCM-SHA384", CFG_KX_PSK, CFG_ENC_ARIA },
	{ "RSA-PSK-AES128-GCM-SHA256", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "DHE-PSK-AES128-GCM-SHA256", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "DHE-PSK-AES128-CCM8", CFG_KX_PSK, CFG_ENC_CCM },
	{ "DHE-PSK-AES128-CCM", CFG_KX_PSK, CFG_ENC_CCM },
	{ "RSA-PSK-ARIA128-GCM-SHA256", CFG_KX_PSK, CFG_ENC_ARIA },
	{ "DHE-PSK-ARIA128-GCM-SHA256", CFG_KX_PSK, CFG_ENC_ARIA },
	{ "PSK-AES128-GCM-SHA256", CFG_KX_PSK, CFG_ENC_AEAD },
	{ "PSK-AES128-CCM8", CFG_KX_PSK, CFG_ENC_CCM },
	{ "PSK-AES128-CCM", CFG_KX_PSK, CFG_ENC_CCM },
	{ "PSK-ARIA128-GCM-SHA256", CFG_KX_PSK, CFG_ENC_ARIA },
	{ "ECDHE-PSK-AES256-CBC-SHA384", CFG_KX_PSK, CFG_ENC_CBC },
	{ "ECDHE-PSK-AES256-CBC-SHA", CFG_KX_PSK, CFG_ENC_CBC },
	{ "RSA-PSK-AES256-CBC-SHA384", CFG_KX_PSK, CFG_ENC_CBC },
	{ "DHE-PSK-AES256-CBC-SHA384", CFG_KX_PSK, CFG_ENC_CBC },
	{ "RSA-PSK-AES256-CBC-SHA", CFG_KX_PSK, CFG_ENC_CBC },
	{ "DHE-PSK-AES256-CBC-SHA", CFG_KX_PSK, CFG_ENC_CBC },
	{ "ECDHE-PSK-CAMELLIA256-SHA384", CFG_KX_PSK, CFG_ENC_CBC },
	{ "RSA-PSK-CAMELLIA256-SHA384", CFG_KX_PSK, CFG_ENC_CBC },
	{ "DHE-PSK-CAMELLIA256-SHA384", CFG_KX_PSK, CFG_ENC_CBC },
	{ "PSK-AES256-CBC-SHA384", CFG_KX_PSK, CFG_ENC_CBC },
	{ "PSK-AES256-CBC-SHA", CFG_KX_PSK, CFG_ENC_CBC },
	{ "PSK-CAMELLIA256-SHA384", CFG_KX_PSK, CFG_ENC_CBC },
	{ "ECDHE-PSK-AES128-CBC-SHA256", CFG_KX_PSK, CFG_ENC_CBC },
	{ "ECDHE-PSK-AES128-CBC-SHA", CFG_KX_PSK, CFG_ENC_CBC },
	{ "RSA-PSK-AES128-CBC-SHA256", CFG_KX_PSK, CFG_ENC_CBC },
	{ "DHE-PSK-AES128-CBC-SHA256", CFG_KX_PSK, CFG_ENC_CBC },
	{ "RSA-PSK-AES128-CBC-SHA", CFG_KX_PSK, CFG_ENC_CBC },
	{ "DHE-PSK-AES128-CBC-SHA", CFG_KX_PSK, CFG_ENC_CBC },
	{ "ECDHE-PSK-CAMELLIA128-SHA256", CFG_KX_PSK, CFG_ENC_CBC },
	{ "RSA-PSK-CAMELLIA128-SHA256", CFG_KX_PSK, CFG_ENC_CBC },
	{ "DHE-PSK-CAMELLIA128-SHA256", CFG_KX_PSK, CFG_ENC_CBC },
	{ "PSK-AES128-CBC-SHA256", CFG_KX_PSK, CFG_ENC_CBC },
	{ "PSK-AES128-CBC-SHA", CFG_KX_PSK, CFG_ENC_CBC },
	{ "PSK-CAMELLIA128-SHA256", CFG_KX_PSK, CFG_ENC_CBC },
	{ "ECDHE-PSK-NULL-SHA384", CFG_KX_PSK, CFG_ENC_NULL },
	{ "ECDHE-PSK-NULL-SHA256", CFG_KX_PSK, CFG_ENC_NULL },
	{ "ECDHE-PSK-NULL-SHA", CFG_KX_PSK, CFG_ENC_NULL },
	{ "RSA-PSK-NULL-SHA384", CFG_KX_PSK, CFG_ENC_NULL },
	{ "RSA-PSK-NULL-SHA256", CFG_KX_PSK, CFG_ENC_NULL },
	{ "DHE-PSK-NULL-SHA384", CFG_KX_PSK, CFG_ENC_NULL },
	{ "DHE-PSK-NULL-SHA256", CFG_KX_PSK, CFG_ENC_NULL },
	{ "RSA-PSK-NULL-SHA", CFG_KX_PSK, CFG_ENC_NULL },
	{ "DHE-PSK-NULL-SHA", CFG_KX_PSK, CFG_ENC_NULL },
	{ "PSK-NULL-SHA384", CFG_KX_PSK, CFG_ENC_NULL },
	{ "PSK-NULL-SHA256", CFG_KX_PSK, CFG_ENC_NULL },
	{ "PSK-NULL-SHA", CFG_KX_PSK, CFG_ENC_NULL },
	{ "PSK-RC4-SHA", CFG_KX_PSK, CFG_ENC_RC4 },
	{ "PSK-3DES-EDE-CBC-SHA", CFG_KX_PSK, CFG_ENC_3DES },
	{ "SRP-DSS-AES-256-CBC-SHA", CFG_KX_SRP, CFG_ENC_CBC },
	{ "SRP-RSA-AES-256-CBC-SHA", CFG_KX_SRP, CFG_ENC_CBC },
	{ "SRP-AES-256-CBC-SHA", CFG_KX_SRP, CFG_ENC_CBC },
	{ "SRP-DSS-AES-128-CBC-SHA", CFG_KX_SRP, CFG_ENC_CBC },
	{ "SRP-RSA-AES-128-CBC-SHA", CFG_KX_SRP, CFG_ENC_CBC },
	{ "SRP-AES-128-CBC-SHA", CFG_KX_SRP, CFG_ENC_CBC },
	{ "TLS_AES_128_GCM_SHA256", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS_AES_256_GCM_SHA384", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS_CHACHA20_POLY1305_SHA256", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS_AES_128_CCM_SHA256", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS_AES_128_CCM_8_SHA256", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS13-AES128-GCM-SHA256", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS13-AES256-GCM-SHA384", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS13-CHACHA20-POLY1305-SHA256", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS13-AES128-CCM-SHA256", CFG_KX_TLS13, CFG_ENC_AEAD },
	{ "TLS13-AES128-CCM-8-SHA256", CFG_KX_TLS13, CFG_ENC_AEAD },
};

/* Phrases of a refusal, by enum cfg_tls_kx and enum cfg_tls_enc. */
static const char *const cfg_tls_kx_why[] = {
	[CFG_KX_ECDHE] = NULL,
	[CFG_KX_RSA] = "is not forward-secret (RSA key exchange)",
	[CFG_KX_ECDH] = "is not forward-secret (static ECDH key exchange)",
	[CFG_KX_DHE] = "uses DHE key exchange (DHE is not supported, use ECDHE)",
	[CFG_KX_ANON] = "is anonymous (no certificate authenticates the server)",
	[CFG_KX_PSK] = "uses pre-shared keys, not certificates",
	[CFG_KX_SRP] = "uses SRP, not certificates",
	[CFG_KX_TLS13] = NULL,
};
static const char *const cfg_tls_enc_why[] = {
	[CFG_ENC_AEAD] = NULL,
	[CFG_ENC_CBC] = "is not an AEAD suite (CBC)",
	[CFG_ENC_3DES] = "is not an AEAD suite (3DES-CBC, 64-bit blocks)",
	[CFG_ENC_DES] = "is not an AEAD suite (DES-CBC, 56-bit keys)",
	[CFG_ENC_RC4] = "uses RC4 (prohibited by RFC 7465)",
	[CFG_ENC_NULL] = "does not encrypt (NULL cipher)",
	[CFG_ENC_CCM] = "uses AES-CCM (not supported)",
	[CFG_ENC_ARIA] = "uses ARIA-GCM (not supported)",
	[CFG_ENC_EXPORT] = "is an export suite (40- or 56-bit keys)",
};

static bool cfg_tls_in(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

static const struct cfg_tls_suite *cfg_tls_bad_suite(const char *name)
{
	size_t i;

	for (i = 0; i < CFG_NELEM(cfg_tls_bad_suites); i++)
		if (strcmp(cfg_tls_bad_suites[i].name, name) == 0)
			return &cfg_tls_bad_suites[i];
	return NULL;
}

/* Refuse suite NAME, which is not in cfg_tls_good_suites. */
static int cfg_tls_refuse_suite(struct cfg_ctx *c, int line, const char *name)
{
	const char *path = "tls.ciphers", *kx, *enc, *hint;
	const struct cfg_tls_suite *s = cfg_tls_bad_suite(name);
	char upper[CFG_TLS_LIST_LEN];
	size_t i;

	if (s && s->kx == CFG_KX_TLS13)
		return cfg_fail(c, line, path, "\"%s\" is a TLS 1.3 suite: tls.ciphers "
				"lists TLS 1.2 suites (TLS 1.3's are all forward-secret "
				"AEAD suites and need no setting)", name);
	if (s) {
		kx = s->enc == CFG_ENC_EXPORT ? NULL : cfg_tls_kx_why[s->kx];
		enc = cfg_tls_enc_why[s->enc];
		return cfg_fail(c, line, path, "\"%s\" %s%s%s; " CFG_TLS_POLICY, name,
				kx ? kx : "", kx && enc ? " and " : "", enc ? enc : "");
	}
	for (i = 0; cfg_tls_iana_suites[i]; i++)
		if (strcmp(cfg_tls_iana_suites[i], name) == 0)
			return cfg_fail(c, line, path, "\"%s\" is an IANA name: write "
					"OpenSSL's, \"%s\"", name, cfg_tls_good_suites[i]);
	if (strchr("!+-@", name[0]) || cfg_tls_in(cfg_tls_keywords, name))
		return cfg_fail(c, line, path, "\"%s\" is not a cipher suite name "
				"(OpenSSL's keywords and operators are not supported: "
				"list suite names)", name);
	for (i = 0; name[i] && i + 1 < sizeof(upper); i++)
		upper[i] = (name[i] >= 'a' && name[i] <= 'z') ? (char)(name[i] - 32) : name[i];
	upper[i] = '\0';
	hint = cfg_closest(cfg_tls_good_suites, upper);
	if (hint)
		return cfg_fail(c, line, path, "unknown cipher suite \"%s\" (did you "
				"mean \"%s\"?)", name, hint);
	return cfg_fail(c, line, path, "unknown cipher suite \"%s\"", name);
}

/*
 * The next ':'-separated entry of *P into BUF (at most N-1 characters; the
 * lists are shorter than BUF). Returns false at the end of the list.
 */
static bool cfg_tls_next(const char **p, char *buf, size_t n)
{
	const char *end;
	size_t len;

	if (!*p)
		return false;
	end = strchr(*p, ':');
	len = end ? (size_t)(end - *p) : strlen(*p);
	if (len >= n)
		len = n - 1;
	memcpy(buf, *p, len);
	buf[len] = '\0';
	*p = end ? end + 1 : NULL;
	return true;
}

/* Is entry NAME of LIST (':'-separated) already in the first K entries? */
static bool cfg_tls_listed(const char *list, unsigned k, const char *name)
{
	char e[CFG_TLS_LIST_LEN];
	const char *p = list;
	unsigned i;

	for (i = 0; i < k && cfg_tls_next(&p, e, sizeof(e)); i++)
		if (strcmp(e, name) == 0)
			return true;
	return false;
}

/* A ':'-separated list setting, not empty, no empty entry, into DST. */
static int cfg_tls_get_list(struct cfg_ctx *c, const config_setting_t *s,
			    const char *path, const char *what, char *dst)
{
	const char *v;
	size_t len;
	int rc = cfg_get_string(c, s, path, &v);

	if (rc < 0)
		return rc;
	len = strlen(v);
	if (len == 0)
		return cfg_fail(c, cfg_line(s), path, "must not be empty");
	if (len >= CFG_TLS_LIST_LEN)
		return cfg_fail(c, cfg_line(s), path, "is too long (%zu characters, "
				"at most %d)", len, CFG_TLS_LIST_LEN - 1);
	if (v[0] == ':' || v[len - 1] == ':' || strstr(v, "::"))
		return cfg_fail(c, cfg_line(s), path, "has an empty entry (\"%s\": "
				"%s are separated by single ':')", v, what);
	memset(dst, 0, CFG_TLS_LIST_LEN);
	memcpy(dst, v, len);
	return 0;
}

static int cfg_load_tls_ciphers(struct cfg_ctx *c, const config_setting_t *s,
				struct cfg_tls *t)
{
	char e[CFG_TLS_LIST_LEN];
	const char *p = t->ciphers;
	int line = cfg_line(s), rc = cfg_tls_get_list(c, s, "tls.ciphers",
						      "suites", t->ciphers);
	unsigned i;

	for (i = 0; rc == 0 && cfg_tls_next(&p, e, sizeof(e)); i++) {
		if (!cfg_tls_in(cfg_tls_good_suites, e))
			rc = cfg_tls_refuse_suite(c, line, e);
		else if (cfg_tls_listed(t->ciphers, i, e))
			rc = cfg_fail(c, line, "tls.ciphers", "\"%s\" is listed twice", e);
	}
	return rc;
}

/* ---- curves --------------------------------------------------------------------- */

static const char *const cfg_tls_curve_names[] = {
	"X25519", "P-256", "P-384", "P-521", NULL
};

/* Other names of the curves (OpenSSL's and SECG's), by canonical name. */
static const struct {
	const char *alias, *name;
} cfg_tls_curve_aliases[] = {
	{ "prime256v1", "P-256" }, { "secp256r1", "P-256" },
	{ "secp384r1", "P-384" }, { "secp521r1", "P-521" },
};

/* The canonical name of curve V (any case, or an alias), or NULL. */
static const char *cfg_tls_curve(const char *v)
{
	size_t i;

	for (i = 0; cfg_tls_curve_names[i]; i++)
		if (strcasecmp(v, cfg_tls_curve_names[i]) == 0)
			return cfg_tls_curve_names[i];
	for (i = 0; i < CFG_NELEM(cfg_tls_curve_aliases); i++)
		if (strcasecmp(v, cfg_tls_curve_aliases[i].alias) == 0)
			return cfg_tls_curve_aliases[i].name;
	return NULL;
}

/* tls.curves, stored with canonical names. */
static int cfg_load_tls_curves(struct cfg_ctx *c, const config_setting_t *s,
			       struct cfg_tls *t)
{
	char in[CFG_TLS_LIST_LEN], e[CFG_TLS_LIST_LEN], out[CFG_TLS_LIST_LEN] = "";
	const char *path = "tls.curves", *p = in, *name, *hint;
	int line = cfg_line(s), rc = cfg_tls_get_list(c, s, path, "curves", in);
	unsigned i;

	for (i = 0; rc == 0 && cfg_tls_next(&p, e, sizeof(e)); i++) {
		name = cfg_tls_curve(e);
		hint = name ? NULL : cfg_closest(cfg_tls_curve_names, e);
		if (hint)
			return cfg_fail(c, line, path, "unknown curve \"%s\" (did you "
					"mean \"%s\"?)", e, hint);
		if (!name)
			return cfg_fail(c, line, path, "unknown curve \"%s\" (expected "
					"\"X25519\", \"P-256\", \"P-384\" or \"P-521\")", e);
		if (cfg_tls_listed(out, i, name) && strcmp(e, name) != 0)
			return cfg_fail(c, line, path, "\"%s\" (%s) is listed twice",
					e, name);
		if (cfg_tls_listed(out, i, name))
			return cfg_fail(c, line, path, "\"%s\" is listed twice", e);
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
			 i ? ":" : "", name);
	}
	if (rc == 0) {
		memset(t->curves, 0, sizeof(t->curves));
		memcpy(t->curves, out, strlen(out));
	}
	return rc;
}

/* ---- files ---------------------------------------------------------------------- */

/*
 * V as an absolute path into OUT (CFG_PATH_LEN bytes): a relative one is
 * taken from the directory of the configuration file FILE (itself taken from
 * the working directory when relative). Symbolic links are kept as they are
 * (rotation replaces their targets). Returns the length it needs.
 */
static size_t cfg_tls_resolve(const char *file, const char *v, char *out)
{
	const char *slash = strrchr(file, '/');
	int dir = slash ? (int)(slash - file) : 0;
	char cwd[PATH_MAX];
	int n;

	if (v[0] == '/')
		n = snprintf(out, CFG_PATH_LEN, "%s", v);
	else if (file[0] == '/')
		n = snprintf(out, CFG_PATH_LEN, "%.*s/%s", dir, file, v);
	else if (!getcwd(cwd, sizeof(cwd)))
		n = snprintf(out, CFG_PATH_LEN, "%.*s%s%s", dir, file, slash ? "/" : "", v);
	else if (!slash || (dir == 1 && file[0] == '.'))
		n = snprintf(out, CFG_PATH_LEN, "%s/%s", cwd, v);
	else
		n = snprintf(out, CFG_PATH_LEN, "%s/%.*s/%s", cwd, dir, file, v);
	return n < 0 ? CFG_PATH_LEN : (size_t)n;
}

/* FILE exists, is not a directory, and we may read it. */
static int cfg_tls_readable(struct cfg_ctx *c, int line, const char *path,
			    const char *file)
{
	struct stat st;
	int e = 0;

	if (access(file, R_OK) != 0 || stat(file, &st) != 0)
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	return e ? cfg_fail(c, line, path, "%s: %s", file, strerror(e)) : 0;
}

/*
 * A file setting: a string, resolved (cfg_tls_resolve()) into DST
 * (CFG_PATH_LEN bytes); checked with CHECK. "" is refused unless
 * ALLOW_EMPTY, and then stored as "".
 */
static int cfg_tls_get_file(struct cfg_ctx *c, const config_setting_t *s,
			    const char *path, bool allow_empty, bool check,
			    char *dst)
{
	char buf[CFG_PATH_LEN];
	const char *v;
	size_t need;
	int rc = cfg_get_string(c, s, path, &v);

	if (rc < 0)
		return rc;
	memset(dst, 0, CFG_PATH_LEN);
	if (v[0] == '\0')
		return allow_empty ? 0 : cfg_fail(c, cfg_line(s), path, "must not be empty");
	need = cfg_tls_resolve(c->file, v, buf);
	if (need >= CFG_PATH_LEN && v[0] == '/')
		return cfg_fail(c, cfg_line(s), path, "is too long (%zu characters, "
				"at most %d)", need, CFG_PATH_LEN - 1);
	if (need >= CFG_PATH_LEN)
		return cfg_fail(c, cfg_line(s), path, "\"%s\" is too long once taken "
				"from the configuration file's directory (%zu "
				"characters, at most %d)", v, need, CFG_PATH_LEN - 1);
	memcpy(dst, buf, need);
	return check ? cfg_tls_readable(c, cfg_line(s), path, dst) : 0;
}

/* ---- certificates --------------------------------------------------------------- */

/* Member NAME ("cert" or "key") of certificate entry LABEL: required. */
static int cfg_load_tls_cert_file(struct cfg_ctx *c, const config_setting_t *g,
				  const char *label, const char *name, char *dst)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	char path[CFG_PATH_BUF];

	cfg_path(path, sizeof(path), label, name);
	if (!s)
		return cfg_fail(c, cfg_line(g), path, "missing (required)");
	return cfg_tls_get_file(c, s, path, false, true, dst);
}

static int cfg_load_tls_cert(struct cfg_ctx *c, const config_setting_t *g,
			     unsigned idx, struct cfg_tls *t)
{
	struct cfg_tls_cert *cert = &t->certs[idx];
	char label[40], path[CFG_PATH_BUF];
	unsigned j;
	int rc;

	snprintf(label, sizeof(label), "tls.certificates.[%u]", idx);
	cfg_path(path, sizeof(path), label, "cert");
	if (config_setting_type(g) != CONFIG_TYPE_GROUP)
		return cfg_type_error(c, g, label, "a group");
	cert->line = cfg_line(g);
	rc = cfg_check_names(c, g, label, cfg_tls_cert_names);
	if (rc == 0)
		rc = cfg_load_tls_cert_file(c, g, label, "cert", cert->cert);
	if (rc == 0)
		rc = cfg_load_tls_cert_file(c, g, label, "key", cert->key);
	for (j = 0; rc == 0 && j < idx; j++)
		if (strcmp(t->certs[j].cert, cert->cert) == 0)
			rc = cfg_fail(c, cfg_member_line(g, "cert"), path, "%s is "
				      "already used by tls.certificates.[%u] (line %d)",
				      cert->cert, j, t->certs[j].line);
	return rc;
}

static int cfg_load_tls_certs(struct cfg_ctx *c, const config_setting_t *s,
			      struct cfg_tls *t)
{
	const char *path = "tls.certificates";
	unsigned i;
	int n, rc = 0;

	if (config_setting_type(s) != CONFIG_TYPE_LIST)
		return cfg_type_error(c, s, path, "a list of groups");
	n = config_setting_length(s);
	if (n > CFG_MAX_CERTS)
		return cfg_fail(c, cfg_line(s), path, "has %d entries, at most %d",
				n, CFG_MAX_CERTS);
	for (i = 0; rc == 0 && i < (unsigned)n; i++)
		rc = cfg_load_tls_cert(c, config_setting_get_elem(s, i), i, t);
	if (rc == 0)
		t->n_certs = (unsigned)n;
	return rc;
}

/* ---- protocol versions ------------------------------------------------------------ */

static int cfg_load_tls_min_version(struct cfg_ctx *c, const config_setting_t *s,
				    struct cfg_tls *t)
{
	const char *path = "tls.min_version", *v;

	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_type_error(c, s, path, "a string (\"1.2\" or \"1.3\")");
	v = config_setting_get_string(s);
	if (strcmp(v, "1.2") == 0)
		t->min_version = CFG_TLS_V1_2;
	else if (strcmp(v, "1.3") == 0)
		t->min_version = CFG_TLS_V1_3;
	else if (strcmp(v, "1") == 0 || strcmp(v, "1.0") == 0 || strcmp(v, "1.1") == 0)
		return cfg_fail(c, cfg_line(s), path, "\"%s\" is below the TLS 1.2 "
				"floor (inbound TLS 1.0/1.1 is never accepted)", v);
	else
		return cfg_fail(c, cfg_line(s), path, "\"%s\" is unknown (expected "
				"\"1.2\" or \"1.3\")", v);
	return 0;
}

/* tls.min_version and tls.tls13: some version must be left. */
static int cfg_load_tls_versions(struct cfg_ctx *c, const config_setting_t *tls,
				 struct cfg_tls *t)
{
	const config_setting_t *mv = config_setting_get_member(tls, "min_version");
	const config_setting_t *v13 = config_setting_get_member(tls, "tls13");
	int rc = 0;

	if (mv)
		rc = cfg_load_tls_min_version(c, mv, t);
	if (rc == 0 && v13)
		rc = cfg_get_bool(c, v13, "tls.tls13", &t->tls13);
	if (rc == 0 && t->min_version == CFG_TLS_V1_3 && !t->tls13)
		rc = cfg_fail(c, cfg_line(v13), "tls.tls13", "is false, but "
			      "tls.min_version \"1.3\" leaves only TLS 1.3");
	return rc;
}

/* ---- tls.client ------------------------------------------------------------------- */

/* tls.client.cert and .key: both or neither. */
static int cfg_check_tls_client_pair(struct cfg_ctx *c, const config_setting_t *g,
				     const struct cfg_tls *t)
{
	if (t->client_cert[0] && !t->client_key[0])
		return cfg_fail(c, cfg_member_line(g, "cert"), "tls.client.cert",
				"set without tls.client.key (both or neither)");
	if (t->client_key[0] && !t->client_cert[0])
		return cfg_fail(c, cfg_member_line(g, "key"), "tls.client.key",
				"set without tls.client.cert (both or neither)");
	return 0;
}

/*
 * tls.client. The default ca_file (also when written) is checked only when
 * some level verifies (cfg_check_tls_trust()); another one always.
 */
static int cfg_load_tls_client(struct cfg_ctx *c, const config_setting_t *tls,
			       struct cfg_tls *t)
{
	const config_setting_t *s;
	config_setting_t *g;
	int level, rc = cfg_get_group(c, tls, "client", "tls.client", &g);

	if (rc < 0 || !g)
		return rc;
	rc = cfg_check_names(c, g, "tls.client", cfg_tls_client_names);
	if (rc == 0 && (s = config_setting_get_member(g, "level"))) {
		rc = cfg_get_enum(c, s, "tls.client.level", cfg_tls_levels, &level);
		if (rc == 0 && level == CFG_TLS_SECURE)
			rc = cfg_fail(c, cfg_line(s), "tls.client.level", "\"secure\" "
				      "cannot be the default: it needs each next hop's "
				      "certificate names (set tls_level = \"secure\" and "
				      "tls_names in the route)");
		if (rc == 0)
			t->client_level = (enum cfg_tls_level)level;
	}
	if (rc == 0 && (s = config_setting_get_member(g, "ca_file"))) {
		rc = cfg_tls_get_file(c, s, "tls.client.ca_file", false, false,
				      t->client_ca_file);
		if (rc == 0 && strcmp(t->client_ca_file, CFG_TLS_CA_DEFAULT) != 0)
			rc = cfg_tls_readable(c, cfg_line(s), "tls.client.ca_file",
					      t->client_ca_file);
	}
	if (rc == 0 && (s = config_setting_get_member(g, "cert")))
		rc = cfg_tls_get_file(c, s, "tls.client.cert", true, true, t->client_cert);
	if (rc == 0 && (s = config_setting_get_member(g, "key")))
		rc = cfg_tls_get_file(c, s, "tls.client.key", true, true, t->client_key);
	if (rc == 0)
		rc = cfg_check_tls_client_pair(c, g, t);
	return rc;
}

/*
 * A level that verifies certificates (tls.client.level, then the routes'
 * tls_level) needs the trust anchors: the default bundle must then be there.
 */
static int cfg_check_tls_trust(struct cfg_ctx *c, const config_setting_t *root,
			       const struct gw_config *cfg)
{
	const config_setting_t *tls = config_setting_get_member(root, "tls");
	const config_setting_t *g = tls ? config_setting_get_member(tls, "client") : NULL;
	const config_setting_t *routes = config_setting_get_member(root, "routes");
	const struct cfg_tls *t = &cfg->tls;
	char path[CFG_PATH_BUF];
	int level = -1, line = 0, e;
	unsigned i;

	if (t->client_level >= CFG_TLS_VERIFY) {
		level = t->client_level;
		line = cfg_member_line(g, "level");
		snprintf(path, sizeof(path), "tls.client.level");
	}
	for (i = 0; level < 0 && i < cfg->n_routes; i++) {
		if (cfg->routes[i].tls_level < CFG_TLS_VERIFY)
			continue;
		level = cfg->routes[i].tls_level;
		line = cfg_member_line(config_setting_get_elem(routes, i), "tls_level");
		snprintf(path, sizeof(path), "routes.[%u].tls_level", i);
	}
	if (level < 0 || strcmp(t->client_ca_file, CFG_TLS_CA_DEFAULT) != 0 ||
	    access(t->client_ca_file, R_OK) == 0)
		return 0;
	e = errno;
	return cfg_fail(c, line, path, "\"%s\" verifies certificates against "
			"tls.client.ca_file, but %s (the default) cannot be read: %s "
			"(install ca-certificates or set tls.client.ca_file)",
			cfg_tls_levels[level], t->client_ca_file, strerror(e));
}

/* ---- the group -------------------------------------------------------------------- */

void cfg_tls_defaults(struct gw_config *cfg)
{
	struct cfg_tls *t = &cfg->tls;

	/* Strings into the zeroed struct: the bytes after them stay 0. */
	t->enabled = false;
	t->n_certs = 0;
	t->min_version = CFG_TLS_V1_2;
	t->tls13 = true;
	strcpy(t->ciphers, CFG_TLS_CIPHERS_DEFAULT);
	strcpy(t->curves, CFG_TLS_CURVES_DEFAULT);
	t->request_client_cert = true;
	t->expiry_warning_days = 30;
	t->session_timeout = 3600;
	t->ticket_key_rotation = 3600;
	t->session_cache_size = 4096;
	t->client_level = CFG_TLS_MAY;
	strcpy(t->client_ca_file, CFG_TLS_CA_DEFAULT);
}

/* Everything of the group but the trust check; ENABLED tells whether the
 * file sets tls.enabled. */
static int cfg_load_tls_group(struct cfg_ctx *c, const config_setting_t *tls,
			      struct cfg_tls *t, const config_setting_t **enabled)
{
	const config_setting_t *s;
	int rc = cfg_check_names(c, tls, "tls", cfg_tls_names);

	*enabled = config_setting_get_member(tls, "enabled");
	if (rc == 0 && *enabled)
		rc = cfg_get_bool(c, *enabled, "tls.enabled", &t->enabled);
	if (rc == 0 && (s = config_setting_get_member(tls, "certificates")))
		rc = cfg_load_tls_certs(c, s, t);
	if (rc == 0)
		rc = cfg_load_tls_versions(c, tls, t);
	if (rc == 0 && (s = config_setting_get_member(tls, "ciphers")))
		rc = cfg_load_tls_ciphers(c, s, t);
	if (rc == 0 && (s = config_setting_get_member(tls, "curves")))
		rc = cfg_load_tls_curves(c, s, t);
	if (rc == 0 && (s = config_setting_get_member(tls, "ca_file")))
		rc = cfg_tls_get_file(c, s, "tls.ca_file", true, true, t->ca_file);
	if (rc == 0 && (s = config_setting_get_member(tls, "request_client_cert")))
		rc = cfg_get_bool(c, s, "tls.request_client_cert",
				  &t->request_client_cert);
	if (rc == 0)
		rc = cfg_load_ints(c, tls, "tls", cfg_tls_ints,
				   CFG_NELEM(cfg_tls_ints), t);
	if (rc == 0)
		rc = cfg_load_tls_client(c, tls, t);
	return rc;
}

int cfg_load_tls(struct cfg_ctx *c, const config_setting_t *root,
		 struct gw_config *cfg)
{
	const config_setting_t *enabled = NULL;
	struct cfg_tls *t = &cfg->tls;
	config_setting_t *tls;
	int rc = cfg_get_group(c, root, "tls", "tls", &tls);

	if (rc == 0 && tls)
		rc = cfg_load_tls_group(c, tls, t, &enabled);
	if (rc == 0 && !enabled)
		t->enabled = t->n_certs > 0;
	if (rc == 0 && t->enabled && t->n_certs == 0)
		rc = cfg_fail(c, cfg_line(enabled), "tls.enabled", "STARTTLS needs "
			      "at least one entry in tls.certificates");
	if (rc == 0)
		rc = cfg_check_tls_trust(c, root, cfg);
	return rc;
}

/* ---- format ----------------------------------------------------------------------- */

void cfg_format_tls(struct cfg_out *o, const struct gw_config *cfg)
{
	const struct cfg_tls *t = &cfg->tls;
	unsigned i;

	cfg_put(o, "tls: {\n  enabled = %s;\n  certificates = (%s",
		t->enabled ? "true" : "false", t->n_certs ? "\n" : " ");
	for (i = 0; i < t->n_certs; i++) {
		cfg_put(o, "    { cert = ");
		cfg_put_string(o, t->certs[i].cert);
		cfg_put(o, "; key = ");
		cfg_put_string(o, t->certs[i].key);
		cfg_put(o, "; }%s\n", i + 1 == t->n_certs ? "" : ",");
	}
	cfg_put(o, "%s);\n", t->n_certs ? "  " : "");
	cfg_put_str_setting(o, "  ", "min_version",
			    t->min_version == CFG_TLS_V1_3 ? "1.3" : "1.2");
	cfg_put(o, "  tls13 = %s;\n", t->tls13 ? "true" : "false");
	cfg_put_str_setting(o, "  ", "ciphers", t->ciphers);
	cfg_put_str_setting(o, "  ", "curves", t->curves);
	cfg_put_str_setting(o, "  ", "ca_file", t->ca_file);
	cfg_put(o, "  request_client_cert = %s;\n  expiry_warning_days = %u;\n"
		"  session_timeout = %u;\n  ticket_key_rotation = %u;\n  session_cache_size = %u;\n"
		"  client: {\n", t->request_client_cert ? "true" : "false",
		t->expiry_warning_days, t->session_timeout, t->ticket_key_rotation,
		t->session_cache_size);
	cfg_put_str_setting(o, "    ", "level",
			    (unsigned)t->client_level <= CFG_TLS_SECURE ?
			    cfg_tls_levels[t->client_level] : "unknown");
	cfg_put_str_setting(o, "    ", "ca_file", t->client_ca_file);
	cfg_put_str_setting(o, "    ", "cert", t->client_cert);
	cfg_put_str_setting(o, "    ", "key", t->client_key);
	cfg_put(o, "  };\n};\n");
}
