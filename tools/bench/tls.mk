# tls.mk — the wolfCrypt per-handshake primitive benchmark (included by the
# top-level Makefile).
#
#   make bench-tls-prim   build/bench-tls-prim, from tools/bench/tls_prim.c
#                         against our static wolfSSL (build/wolfssl), exactly
#                         as bench.mk builds bench-crypto-ours
#   build/bench-tls-prim [--quick | --seconds S] [--rsa-key PEM] [--ecdsa-key PEM] [--json]
#
# tools/bench/tls builds and runs it for the "% of crypto limit" column.

BENCH_TLS_PRIM_SRCS := tools/bench/tls_prim.c crypto/selftest.c
BENCH_TLS_PRIM_DEPS := $(BENCH_TLS_PRIM_SRCS) crypto/selftest.h tools/bench/tls.mk

.PHONY: bench-tls-prim

bench-tls-prim: $(BUILD)/bench-tls-prim

$(BUILD)/bench-tls-prim: $(BENCH_TLS_PRIM_DEPS) $(WOLF_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_OURS_CFLAGS) -o $@ $(BENCH_TLS_PRIM_SRCS) $(WOLF_LIB) -lm -lpthread
