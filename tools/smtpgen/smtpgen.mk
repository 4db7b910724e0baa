# smtpgen.mk — tools/smtpgen (issue 7): the SMTP load generator and verifying
# sink, build/smtpgen. A plain Linux program (epoll, no DPDK) linked with our
# static wolfSSL (build/wolfssl), never Debian's libwolfssl.
# Included by the top-level Makefile: `make smtpgen`.

SMTPGEN_SRCS   := $(wildcard tools/smtpgen/*.c)
SMTPGEN_HDRS   := $(wildcard tools/smtpgen/*.h)
SMTPGEN_CFLAGS := -O2 -g $(WARN) -std=gnu11 -D_GNU_SOURCE -I. -I$(WOLFSSL)/include

.PHONY: smtpgen
smtpgen: $(BUILD)/smtpgen

$(BUILD)/smtpgen: $(SMTPGEN_SRCS) $(SMTPGEN_HDRS) tools/smtpgen/smtpgen.mk $(WOLF_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(SMTPGEN_CFLAGS) -o $@ $(SMTPGEN_SRCS) $(WOLF_LIB) -lm -lpthread
