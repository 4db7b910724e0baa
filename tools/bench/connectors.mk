# connectors.mk — the connector-table benchmark (included by the top-level Makefile).
#
#   make bench-connectors   build/bench-connectors, from tools/bench/connectors.c,
#                           app/policy/connector.c and the configuration loader
#                           (platform/config*.c) with DPDK (rte_fib, rte_lpm6),
#                           not libmailgw.a
#   build/bench-connectors [--quick | --load-only] [--json] [--keep FILE]
#
# Writes a 100,000-connector configuration, prints the time to load and
# validate it and to build the table (limit 2 s; exit status 1 above it), a
# reload with the old generation alive, and probes and ns per lookup with 10
# and with 100,000 connectors and the ratio 100k/10 (see the comment at the
# top of tools/bench/connectors.c).

BENCH_CONN_SRCS := tools/bench/connectors.c app/policy/connector.c platform/config.c \
                   platform/config_smtp.c platform/config_tls.c platform/config_connectors.c
BENCH_CONN_DEPS := $(BENCH_CONN_SRCS) app/policy/connector.h platform/config.h \
                   platform/config_priv.h tools/bench/connectors.mk

.PHONY: bench-connectors

bench-connectors: $(BUILD)/bench-connectors

$(BUILD)/bench-connectors: $(BENCH_CONN_DEPS)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -I. $(DPDK_CFLAGS) -o $@ $(BENCH_CONN_SRCS) \
		$(DPDK_LIBS) -lconfig -lm -lpthread
