# route.mk — the routing benchmark (included by the top-level Makefile).
#
#   make bench-route      build/bench-route, from tools/bench/route.c and
#                         app/policy/route.c only (no DPDK, no libmailgw.a)
#   build/bench-route [--quick] [--json]
#
# Prints probes and ns per lookup with 10 and with 100,000 domains and the
# ratio 100k/10 (see tools/bench/README.md).

BENCH_ROUTE_SRCS := tools/bench/route.c app/policy/route.c
BENCH_ROUTE_DEPS := $(BENCH_ROUTE_SRCS) app/policy/route.h platform/config.h \
                    app/smtp/smtp_parse.h tools/bench/route.mk

.PHONY: bench-route

bench-route: $(BUILD)/bench-route

$(BUILD)/bench-route: $(BENCH_ROUTE_DEPS)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -I. -o $@ $(BENCH_ROUTE_SRCS)
