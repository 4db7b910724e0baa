# asan.mk — unit tests under ASan and UBSan (included by the top-level
# Makefile after tests/fuzz/fuzz.mk, whose sanitized objects they link).
#
# A test listed in ASAN_UNITS is compiled with clang and FUZZ_SAN and linked
# with build/fuzz/libmailgw-asan.a (the objects of build/fuzz/obj: the same
# sources as build/libmailgw.a, with ASan, UBSan and libFuzzer's coverage
# instrumentation) into build/tests/asan/; tests/run runs each one as
# unit-asan/NAME. Tests whose inputs are exact-size heap copies (an over-read
# is a heap overflow) belong here.
#
#   make unit-asan               build/tests/asan/test_*

ASAN_UNITS := test_tls_hello test_tls_names test_tls_resume
ASAN_BINS  := $(ASAN_UNITS:%=$(BUILD)/tests/asan/%)
ASAN_LIB   := $(BUILD)/fuzz/libmailgw-asan.a

.PHONY: unit-asan

unit-asan: $(ASAN_BINS)

$(ASAN_LIB): $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/asan/%: tests/unit/%.c $(ASAN_LIB) $(WOLF_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -MMD -MP -MF $@.d -o $@ $< $(ASAN_LIB) $(FUZZ_LDLIBS) -lcmocka

-include $(ASAN_BINS:%=%.d)
