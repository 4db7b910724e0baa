# mailgw — build, install dependencies, test, and run the demo.
# `make deps` installs everything (idempotent); `make` builds build/mailgw and
# build/mailgwctl; `make test` runs unit + integration tests; `make run` starts
# the gateway on the demo topology.

BUILD    := build
WOLFSSL  := $(BUILD)/wolfssl
CC       ?= cc

DPDK_CFLAGS := $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   := $(shell pkg-config --libs libdpdk 2>/dev/null)

WARN     := -Wall -Wextra -Werror -Wno-address-of-packed-member
CFLAGS   := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -I. -I$(WOLFSSL)/include $(DPDK_CFLAGS)
# Our own static wolfSSL; Debian's libwolfssl.so must never be linked.
WOLF_LIB := $(WOLFSSL)/lib/libwolfssl.a
LDLIBS   := $(WOLF_LIB) $(DPDK_LIBS) -lconfig -lm -lpthread

# Everything of the gateway except main(): linked into mailgw and every unit test.
CORE_SRCS := $(wildcard app/*.c app/net/*.c app/smtp/*.c app/policy/*.c \
                        drivers/*.c platform/*.c crypto/*.c)
CORE_SRCS := $(filter-out app/main.c,$(CORE_SRCS))
CORE_OBJS := $(CORE_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps test unit unit-asan integration run clean bench-crypto fuzz

all: $(BUILD)/mailgw $(BUILD)/mailgwctl

deps:
	@bash tools/deps.sh

$(WOLF_LIB):
	@bash tools/deps.sh wolfssl

$(BUILD)/obj/%.o: %.c $(WOLF_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libmailgw.a: $(CORE_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/mailgw: $(BUILD)/obj/app/main.o $(BUILD)/libmailgw.a
	$(CC) -o $@ $^ $(LDLIBS)

# mailgwctl is a plain Linux program: no DPDK, no wolfSSL.
$(BUILD)/mailgwctl: tools/mailgwctl.c platform/console_table.c platform/console_table.h
	@mkdir -p $(BUILD)
	$(CC) -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -I. -o $@ tools/mailgwctl.c platform/console_table.c

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libmailgw.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(BUILD)/libmailgw.a $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)

test: deps
	@$(MAKE) --no-print-directory all unit unit-asan bench-crypto bench-route fuzz smtpgen
	@bash tests/run

run: deps
	@$(MAKE) --no-print-directory all
	@bash tools/demo.sh

include tools/bench/bench.mk
include tools/bench/route.mk
include tools/bench/connectors.mk
include tools/bench/tls.mk
include tools/bench/suite.mk
include tests/fuzz/fuzz.mk
include tests/unit/asan.mk
include tools/smtpgen/smtpgen.mk

clean:
	rm -rf $(BUILD)/obj $(BUILD)/tests $(BUILD)/fuzz $(BUILD)/mailgw $(BUILD)/mailgwctl $(BUILD)/libmailgw.a $(BUILD)/smtpgen

-include $(CORE_OBJS:.o=.d) $(BUILD)/obj/app/main.d
