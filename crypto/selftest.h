/*
 * selftest.h — power-on crypto self-test and build report.
 *
 * At start-up the control plane runs crypto_selftest() once, before any TLS
 * context exists, and refuses to start when it fails; crypto_build_features()
 * and crypto_has_aesni_cpu() feed the start-up banner and `mailgwctl show
 * version`, so an operator can see which wolfSSL build the firmware carries.
 */
#ifndef MAILGW_CRYPTO_SELFTEST_H
#define MAILGW_CRYPTO_SELFTEST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Known-answer tests through the linked wolfSSL: AES-128-GCM and AES-256-GCM
 * (McGrew-Viega test cases 3/4 and 15/16: encrypt, decrypt, tampered tag
 * refused), SHA-256 ("abc" and the 448-bit message), and an ECDH P-256
 * agreement between two freshly generated keys. Returns 0, or -EIO with a
 * message naming the failed test in err (err may be NULL when errlen is 0).
 */
int crypto_selftest(char *err, size_t errlen);

/*
 * The wolfSSL version and the features compiled into it, from the macros of
 * the wolfssl/options.h this file was built against, e.g.
 * "wolfSSL 5.5.4 (aesni intelasm sp-asm sp-384 cryptocb tls13 x25519 ...)".
 * Static storage; never NULL.
 */
const char *crypto_build_features(void);

/* Whether this CPU has the AES-NI instructions (cpuid leaf 1, ECX bit 25). */
bool crypto_has_aesni_cpu(void);

#endif
