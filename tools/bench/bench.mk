# bench.mk — crypto benchmark binaries (included by the top-level Makefile).
#
# tools/bench/crypto.c is built twice from the same source:
#   build/bench-crypto-ours    our static wolfSSL (build/wolfssl), project flags minus DPDK
#   build/bench-crypto-debian  Debian's prebuilt libwolfssl.so with Debian's
#                              /usr/include/wolfssl/options.h; these flags must
#                              never see build/wolfssl/include.
# tools/bench/crypto runs both and prints the comparison table.

BENCH_CRYPTO_SRCS   := tools/bench/crypto.c crypto/selftest.c
BENCH_CRYPTO_DEPS   := $(BENCH_CRYPTO_SRCS) crypto/selftest.h tools/bench/bench.mk
BENCH_OURS_CFLAGS   := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -I. -I$(WOLFSSL)/include
BENCH_DEBIAN_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -I. -I/usr/include
BENCH_DEBIAN_LIBS   := -lwolfssl -lm -lpthread

bench-crypto: $(BUILD)/bench-crypto-ours $(BUILD)/bench-crypto-debian

$(BUILD)/bench-crypto-ours: $(BENCH_CRYPTO_DEPS) $(WOLF_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_OURS_CFLAGS) -o $@ $(BENCH_CRYPTO_SRCS) $(WOLF_LIB) -lm -lpthread

$(BUILD)/bench-crypto-debian: $(BENCH_CRYPTO_DEPS) /usr/include/wolfssl/options.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_DEBIAN_CFLAGS) -o $@ $(BENCH_CRYPTO_SRCS) $(BENCH_DEBIAN_LIBS)
