# suite.mk — `make bench` (issue 7): the benchmark suite, included by the
# top-level Makefile.
#
#   make bench [BENCH_ARGS=--quick]
#
# Runs tools/bench/mail (mailgw vs Postfix relaying the same smtpgen
# workloads) and then tools/bench/tls (STARTTLS handshakes per core, with
# the wolfCrypt limit), each printing its table, and writes build/bench/:
#   mail.json, tls.json   every figure of each bench
#   mail.txt, tls.txt     their tables as printed
#   results.md            both tables in Markdown, with the machine's CPU
# About 6 minutes on the 2-CPU development VM (BENCH_ARGS=--quick: about
# 4); needs root (network namespaces, cgroups) and Postfix.

BENCH_OUT := $(BUILD)/bench

.PHONY: bench

bench: all smtpgen bench-tls-prim
	@mkdir -p $(BENCH_OUT)
	@rm -f $(BENCH_OUT)/mail.json $(BENCH_OUT)/tls.json $(BENCH_OUT)/mail.txt $(BENCH_OUT)/tls.txt \
		$(BENCH_OUT)/results.md
	@start=$$(date +%s); \
	tools/bench/mail $(BENCH_ARGS) --json-out $(BENCH_OUT)/mail.json >$(BENCH_OUT)/mail.txt; mrc=$$?; \
	cat $(BENCH_OUT)/mail.txt; echo; \
	tools/bench/tls $(BENCH_ARGS) --json-out $(BENCH_OUT)/tls.json >$(BENCH_OUT)/tls.txt; trc=$$?; \
	cat $(BENCH_OUT)/tls.txt; echo; \
	tools/bench/mail markdown $(BENCH_OUT)/mail.json $(BENCH_OUT)/tls.json >$(BENCH_OUT)/results.md; \
	echo "bench: $$(($$(date +%s) - start)) s in all; results in $(BENCH_OUT)/ (results.md, mail.json, tls.json)"; \
	test $$mrc -eq 0 && test $$trc -eq 0
