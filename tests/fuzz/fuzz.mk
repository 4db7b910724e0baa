# fuzz.mk — libFuzzer targets (included by the top-level Makefile, after
# CORE_SRCS, DPDK_CFLAGS/LIBS and WOLF_LIB are defined).
#
# Every source of build/libmailgw.a is recompiled with clang, libFuzzer's
# coverage instrumentation, ASan and UBSan into build/fuzz/obj/; each harness
# links those objects with -fsanitize=fuzzer (libFuzzer's main). The normal
# build (gcc, -O2, build/obj) is untouched.
#
#   make fuzz                    build/fuzz/fuzz_net, fuzz_smtp_parse, fuzz_relay
#   tests/fuzz/smoke_net.sh      a bounded run over tests/fuzz/corpus/net (and the others' smokes)
#   make fuzz-long               every target FUZZ_SECONDS (3600) with FUZZ_JOBS (1) jobs, new
#                                corpus entries merged minimised into tests/fuzz/corpus/<target>

FUZZ_CC     := clang
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Werror \
               -Wno-address-of-packed-member -std=gnu11 -D_GNU_SOURCE \
               -I. -I$(WOLFSSL)/include $(DPDK_CFLAGS)
FUZZ_LDLIBS := $(WOLF_LIB) $(DPDK_LIBS) -lconfig -lm -lpthread
FUZZ_OBJS   := $(CORE_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)
# The harnesses themselves: edge coverage, but no comparison tracing. Their
# compares are loop bounds and invariant checks that guide nothing, and
# tracing them cost fuzz_net a sixth of its time.
FUZZ_HARNESS := -fsanitize=fuzzer -fno-sanitize-coverage=trace-cmp

.PHONY: fuzz fuzz-long

fuzz: $(BUILD)/fuzz/fuzz_net

$(BUILD)/fuzz/obj/%.o: %.c $(WOLF_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/fuzz_net: tests/fuzz/fuzz_net.c $(FUZZ_OBJS) $(WOLF_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_HARNESS) $(FUZZ_SAN) -MMD -MP -MF $@.d \
		-o $@ tests/fuzz/fuzz_net.c $(FUZZ_OBJS) $(FUZZ_LDLIBS)

-include $(FUZZ_OBJS:.o=.d) $(BUILD)/fuzz/fuzz_net.d

# fuzz_smtp_parse: the pure SMTP parser alone (no DPDK, no EAL), so it links
# only its own object. tests/fuzz/smoke_smtp_parse.sh runs it over
# tests/fuzz/corpus/smtp_parse.
fuzz: $(BUILD)/fuzz/fuzz_smtp_parse

$(BUILD)/fuzz/fuzz_smtp_parse: tests/fuzz/fuzz_smtp_parse.c $(BUILD)/fuzz/obj/app/smtp/smtp_parse.o
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) -MMD -MP -MF $@.d \
		-o $@ tests/fuzz/fuzz_smtp_parse.c $(BUILD)/fuzz/obj/app/smtp/smtp_parse.o

-include $(BUILD)/fuzz/fuzz_smtp_parse.d

# fuzz_relay: a whole relayed SMTP session on a real worker (server, relay,
# client, TCP), the harness playing the clients and the next hops.
# tests/fuzz/smoke_relay.sh runs it over tests/fuzz/corpus/relay.
fuzz: $(BUILD)/fuzz/fuzz_relay

$(BUILD)/fuzz/fuzz_relay: tests/fuzz/fuzz_relay.c $(FUZZ_OBJS) $(WOLF_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_HARNESS) $(FUZZ_SAN) -MMD -MP -MF $@.d \
		-o $@ tests/fuzz/fuzz_relay.c $(FUZZ_OBJS) $(FUZZ_LDLIBS)

-include $(BUILD)/fuzz/fuzz_relay.d

# Long campaigns: tests/fuzz/fuzz_long.sh (FUZZ_SECONDS, FUZZ_JOBS, FUZZ_TARGETS).
fuzz-long: fuzz
	@bash tests/fuzz/fuzz_long.sh
