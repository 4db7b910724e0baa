/*
 * tls_names.c — a certificate's identities from its structured fields (see
 * tls_names.h). Called by tls.c when a peer's certificate arrives (its facts
 * for the connector table at MAIL, kept with a cached session), for our own
 * certificates (the names SNI chooses by), and by the console's connector
 * simulator for a certificate file.
 */
#include <stdio.h>
#include <string.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/x509v3.h>

#include "crypto/tls_names.h"

#define TLS_LABEL_MAX 63

static bool
tls_name_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool
tls_name_valid(const char *s, size_t len)
{
	size_t label = 0;

	if (s == NULL || len == 0 || len > TLS_NAME_LEN_MAX)
		return false;
	if (s[0] == '*') {                      /* a wildcard: "*" is the whole first label */
		if (len < 3 || s[1] != '.')
			return false;
		s += 2;
		len -= 2;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;   /* empty label, or one ending in a hyphen */
			label = 0;
			continue;
		}
		if (!tls_name_ldh(s[i]) || (label == 0 && s[i] == '-') || ++label > TLS_LABEL_MAX)
			return false;
	}
	return label > 0 && s[len - 1] != '-';  /* no trailing dot or hyphen */
}

/* Add s[0..len) to out if it is a DNS name and fits; count it otherwise. */
static void
tls_names_add(struct tls_names *out, const unsigned char *s, int len)
{
	size_t used = out->n ? out->off[out->n - 1] + strlen(out->buf + out->off[out->n - 1]) + 1 : 0;

	if (s == NULL || len <= 0 || !tls_name_valid((const char *)s, (size_t)len)) {   /* NULs too */
		if (out->invalid < UINT8_MAX)
			out->invalid++;
		return;
	}
	if (out->n >= TLS_NAMES_MAX || used + (size_t)len + 1 > sizeof(out->buf)) {
		if (out->over < UINT8_MAX)
			out->over++;
		return;
	}
	out->off[out->n++] = (uint16_t)used;
	memcpy(out->buf + used, s, (size_t)len);
	out->buf[used + (size_t)len] = '\0';
}

/* The dNSName SANs of x into out, in the certificate's order; how many x has (valid or not). */
static unsigned
tls_names_sans(WOLFSSL_X509 *x, struct tls_names *out)
{
	WOLF_STACK_OF(WOLFSSL_GENERAL_NAME) *sk = wolfSSL_X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int n = sk != NULL ? wolfSSL_sk_GENERAL_NAME_num(sk) : 0;
	unsigned dns = 0;

	for (int i = n; i-- > 0;) {             /* wolfSSL's stack holds them last first */
		WOLFSSL_GENERAL_NAME *g = wolfSSL_sk_GENERAL_NAME_value(sk, i);
		if (g == NULL || g->type != GEN_DNS)
			continue;                       /* email, IP, URI, directory names are no host names */
		dns++;
		tls_names_add(out, wolfSSL_ASN1_STRING_get0_data(g->d.dNSName),
			      wolfSSL_ASN1_STRING_length(g->d.dNSName));
	}
	if (sk != NULL)
		wolfSSL_sk_GENERAL_NAME_pop_free(sk, wolfSSL_GENERAL_NAME_free);
	return dns;
}

/* The subject's CN, when it has exactly one (several: ambiguous, none taken). */
static void
tls_names_cn(WOLFSSL_X509 *x, struct tls_names *out)
{
	WOLFSSL_X509_NAME *nm = wolfSSL_X509_get_subject_name(x);
	int first = nm != NULL ? wolfSSL_X509_NAME_get_index_by_NID(nm, NID_commonName, -1) : -1;

	if (first < 0)
		return;
	if (wolfSSL_X509_NAME_get_index_by_NID(nm, NID_commonName, first) >= 0) {
		out->invalid++;
		return;
	}
	WOLFSSL_ASN1_STRING *s = wolfSSL_X509_NAME_ENTRY_get_data(wolfSSL_X509_NAME_get_entry(nm, first));
	tls_names_add(out, s != NULL ? wolfSSL_ASN1_STRING_get0_data(s) : NULL,
		      s != NULL ? wolfSSL_ASN1_STRING_length(s) : 0);
	out->from_cn = out->n > 0;
}

unsigned
tls_names_of_x509(struct WOLFSSL_X509 *x, struct tls_names *out)
{
	memset(out, 0, offsetof(struct tls_names, buf));
	out->buf[0] = '\0';
	if (x == NULL)
		return 0;
	if (tls_names_sans(x, out) == 0)
		tls_names_cn(x, out);            /* RFC 6125 §6.4.4: the CN only without a DNS-ID */
	return out->n;
}

const char *
tls_names_get(const struct tls_names *n, unsigned k)
{
	return n != NULL && k < n->n && n->off[k] < sizeof(n->buf) ? n->buf + n->off[k] : NULL;
}

int
tls_names_format(const struct tls_names *n, char *buf, size_t len)
{
	size_t l = 0;

	if (len > 0)
		buf[0] = '\0';
	for (unsigned k = 0; k < n->n; k++) {
		int r = snprintf(l < len ? buf + l : NULL, l < len ? len - l : 0, "%s%s", k ? ", " : "",
				 tls_names_get(n, k));
		l += r > 0 ? (size_t)r : 0;
	}
	return (int)l;
}
