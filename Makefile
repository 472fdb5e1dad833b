# veclite - top-level Makefile
#
#   make              library (static + shared) and the veclite CLI into $(BUILD)/
#   make test         build and run the Criterion test suite
#   make check        the test suite again under SANITIZE=address,undefined
#   make fuzz         libFuzzer targets (clang);  make fuzz-run FUZZ_SECONDS=N
#   make fuzz-replay  replay every fuzz corpus without libFuzzer (ASan+UBSan)
#   make bench        see bench/README.md (DATASET=..., QUICK=1)
#   make install      PREFIX=/usr/local DESTDIR=
#
# Knobs: CC, CFLAGS_EXTRA, LDFLAGS_EXTRA, SANITIZE=address,undefined|thread,
#        BUILD (output folder), OPT (default -O2), V=1 (echo commands).

CC       ?= cc
OPT      ?= -O2
BUILD    ?= build
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCDIR   ?= $(PREFIX)/include
BINDIR   ?= $(PREFIX)/bin
PKGDIR   ?= $(LIBDIR)/pkgconfig
DESTDIR  ?=
SANITIZE ?=

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wvla -Wformat=2 -Wpointer-arith -Wundef -Wno-unused-parameter
CPPFLAGS := -D_GNU_SOURCE -Iengine -Iformat -I.
CFLAGS   := -std=c11 $(OPT) -g -fPIC -pthread -fno-strict-aliasing $(WARN) $(CFLAGS_EXTRA)
LDLIBS   := -llmdb -lzstd -luring -lm -pthread
LDFLAGS  := $(LDFLAGS_EXTRA)

ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# SIMD kernels: files named *_avx2.c / *_avx512.c get their ISA flags; all
# others stay baseline x86-64 so the binary runs on any CPU (run-time dispatch).
AVX2_FLAGS   := -mavx2 -mfma -mf16c -mpopcnt
AVX512_FLAGS := $(AVX2_FLAGS) -mavx512f -mavx512bw -mavx512vl -mavx512dq
SSE42_FLAGS  := -msse4.2

LIB_SRCS  := $(sort $(shell find engine format -name '*.c'))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
CLI_SRCS  := $(sort $(wildcard tools/*.c))
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
TEST_UTIL := $(sort $(wildcard tests/util/*.c))
TEST_UTIL_OBJS := $(TEST_UTIL:%.c=$(BUILD)/obj/%.o)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

STATIC_LIB := $(BUILD)/libveclite.a
SHARED_LIB := $(BUILD)/libveclite.so.$(shell sed -n 's/^\#define VL_VERSION_MAJOR //p' engine/veclite.h)
CLI        := $(BUILD)/veclite
SUITE      := $(BUILD)/tests/veclite-tests

.PHONY: all lib cli test check tests fuzz fuzz-run fuzz-replay bench install uninstall clean data quickstart \
        soak valgrind-quickstart

all: lib cli

lib: $(STATIC_LIB) $(SHARED_LIB)

cli: $(CLI)

$(BUILD)/obj/%_avx2.o: CFLAGS += $(AVX2_FLAGS)
$(BUILD)/obj/%_avx512.o: CFLAGS += $(AVX512_FLAGS)
$(BUILD)/obj/%_sse42.o: CFLAGS += $(SSE42_FLAGS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The shared library exports exactly the functions declared in veclite.h.
$(BUILD)/veclite.map: engine/veclite.h
	@mkdir -p $(dir $@)
	$(Q){ echo 'VECLITE_0 {'; echo '  global:'; \
	  sed -n 's/^[a-z][a-z_ ]*[ *]\(vl_[a-z0-9_]*\)(.*/    \1;/p' $<; \
	  echo '  local: *;'; echo '};'; } > $@

$(SHARED_LIB): $(LIB_OBJS) $(BUILD)/veclite.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(notdir $@) -Wl,--version-script=$(BUILD)/veclite.map $(LDFLAGS) \
	  -o $@ $(LIB_OBJS) $(LDLIBS)
	$(Q)ln -sf $(notdir $@) $(BUILD)/libveclite.so

$(CLI): $(CLI_OBJS) $(STATIC_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(STATIC_LIB) $(LDLIBS)

# --- tests -------------------------------------------------------------
# Each tests/test_X.c builds alone (build/tests/test_X, handy while working on
# one module) and all of them link into one suite so one Criterion summary
# line reports the whole run.
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/test_%.o $(TEST_UTIL_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

$(SUITE): $(TEST_SRCS:%.c=$(BUILD)/obj/%.o) $(TEST_UTIL_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

tests: $(SUITE) $(CLI) data

# Test data: Fashion-MNIST from Debian's dataset-fashion-mnist, unpacked once.
FMNIST_SRC := /usr/share/datasets/fashion-mnist
DATA       := $(BUILD)/data
data: $(DATA)/fmnist-train-images $(DATA)/fmnist-test-images
$(DATA)/fmnist-train-images: $(FMNIST_SRC)/train-images-idx3-ubyte.gz
	@mkdir -p $(dir $@)
	$(Q)gzip -dc $< > $@.tmp && mv $@.tmp $@
$(DATA)/fmnist-test-images: $(FMNIST_SRC)/t10k-images-idx3-ubyte.gz
	@mkdir -p $(dir $@)
	$(Q)gzip -dc $< > $@.tmp && mv $@.tmp $@

# JOBS: parallel test processes (Criterion runs each test in its own process).
JOBS ?= 2
test: tests
	VECLITE_CLI=$(abspath $(CLI)) VECLITE_DATA=$(abspath $(DATA)) VECLITE_LIB=$(abspath $(STATIC_LIB)) VECLITE_LDFLAGS="$(LDFLAGS)" \
	  $(SUITE) --jobs $(JOBS) $(TEST_ARGS)

# make check: ASan+UBSan (build/san); make check SANITIZE=thread: TSan
# (build/san-thread). SANITIZE on the command line picks the sanitizers.
comma := ,
CHECK_SAN   = $(if $(SANITIZE),$(SANITIZE),address$(comma)undefined)
CHECK_BUILD = $(if $(filter address$(comma)undefined,$(CHECK_SAN)),$(BUILD)/san,$(BUILD)/san-$(subst $(comma),-,$(CHECK_SAN)))
# Leaks: Criterion ignores a test process's exit status once its test has
# passed, and its 2.4.1 runner leaks objects of its own under --jobs, so
# LeakSanitizer's exit code is off and tests/leak_scan.sh fails the check on
# any leak report with a frame in veclite's code (log: $(CHECK_BUILD)/check.log).
# ThreadSanitizer cannot run the Criterion suite (Criterion's boxfort arena
# needs a fixed mapping inside TSan's reserved range: Snaipe/Criterion#274),
# so SANITIZE=thread runs the threaded code through programs instead
# (tests/tsan_check.sh: concurrency and crash soaks, threaded CLI jobs).
check:
ifneq ($(findstring thread,$(CHECK_SAN)),)
	$(MAKE) BUILD=$(CHECK_BUILD) SANITIZE=$(CHECK_SAN) OPT=-O1 cli $(CHECK_BUILD)/tests/concsoak $(CHECK_BUILD)/tests/crashsoak
	$(MAKE) SANITIZE= $(BUILD)/bench/gen_synth
	tests/tsan_check.sh $(CHECK_BUILD) $(BUILD)/bench/gen_synth
else
	@mkdir -p $(CHECK_BUILD)
	@{ LSAN_OPTIONS="exitcode=0 $$LSAN_OPTIONS" $(MAKE) BUILD=$(CHECK_BUILD) SANITIZE=$(CHECK_SAN) OPT=-O1 test 2>&1; \
	   echo $$? > $(CHECK_BUILD)/check.status; } | tee $(CHECK_BUILD)/check.log
	@tests/leak_scan.sh $(CHECK_BUILD)/check.log
	@exit $$(cat $(CHECK_BUILD)/check.status)
endif

# --- hardening: soak programs, valgrind -------------------------------
# crashsoak: SIGKILL rounds over a random write/maintenance/import mix;
# concsoak: a writer process against reader threads and processes.
SOAK_BINS    := $(BUILD)/tests/crashsoak $(BUILD)/tests/concsoak
SOAK_ROUNDS  ?= 200
SOAK_SECONDS ?= 120
$(SOAK_BINS): $(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TEST_UTIL_OBJS) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lcriterion $(LDLIBS)

soak: $(SOAK_BINS) $(CLI)
	VECLITE_CLI=$(abspath $(CLI)) $(BUILD)/tests/crashsoak --rounds $(SOAK_ROUNDS) $(SOAK_ARGS)
	$(BUILD)/tests/concsoak --seconds $(SOAK_SECONDS) --kill-readers

# Every CLI command the quickstart runs, under valgrind (errors and leaks
# fail); fewer rows than the quickstart, valgrind being ~50x slower.
VALGRIND ?= valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect -q
# Reports go to one log per process (the quickstart pipes some commands into
# head/cut, which would hide an exit status): any non-empty log fails.
valgrind-quickstart: all $(BUILD)/bench/gen_synth
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind/logs
	@printf '#!/bin/sh\nexec %s --log-file=%s/vg-%%p.log %s "$$@"\n' "$(VALGRIND)" \
	  "$(abspath $(BUILD)/valgrind/logs)" "$(abspath $(CLI))" > $(BUILD)/valgrind/veclite
	@chmod +x $(BUILD)/valgrind/veclite
	QUICKSTART_ROWS=$${QUICKSTART_ROWS:-2000} VECLITE=$(abspath $(BUILD)/valgrind/veclite) \
	  GEN_SYNTH=$(abspath $(BUILD)/bench/gen_synth) tools/quickstart.sh $(BUILD)/valgrind/quickstart
	@n=$$(ls $(BUILD)/valgrind/logs | wc -l); bad=$$(find $(BUILD)/valgrind/logs -type f -size +0 | wc -l); \
	  echo "valgrind: $$n CLI processes, $$bad with errors or leaks"; \
	  if [ $$bad -ne 0 ]; then find $(BUILD)/valgrind/logs -type f -size +0 -exec cat {} +; exit 1; fi

# --- fuzzing -----------------------------------------------------------
# The library and the CLI helpers are compiled once per file with clang
# (-fsanitize=fuzzer-no-link,address,undefined, ISA flags per file as in the
# main build) into two archives; each fuzz/fuzz_<name>.c links against them
# with -fsanitize=fuzzer. Archives pull in only the objects a target uses, so
# a target may call CLI code (tools/*.c except the main in veclite.c).
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_SRCS    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_BUILD)/%)
FUZZ_SAN     := address,undefined
FUZZ_CFLAGS  := -std=c11 -O1 -g -pthread -fno-omit-frame-pointer -fno-strict-aliasing \
                -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -fno-sanitize-recover=all
FUZZ_TOOL_SRCS := $(filter-out tools/veclite.c,$(CLI_SRCS))
FUZZ_LIB_OBJS  := $(LIB_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_TOOL_OBJS := $(FUZZ_TOOL_SRCS:%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_LIB     := $(FUZZ_BUILD)/libveclite-fuzz.a
FUZZ_TOOLLIB := $(FUZZ_BUILD)/libvlcli-fuzz.a

$(FUZZ_BUILD)/obj/%_avx2.o: FUZZ_ISA = $(AVX2_FLAGS)
$(FUZZ_BUILD)/obj/%_avx512.o: FUZZ_ISA = $(AVX512_FLAGS)
$(FUZZ_BUILD)/obj/%_sse42.o: FUZZ_ISA = $(SSE42_FLAGS)
$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -Itools $(FUZZ_CFLAGS) $(FUZZ_ISA) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^
$(FUZZ_TOOLLIB): $(FUZZ_TOOL_OBJS)
	$(Q)rm -f $@ && ar rcs $@ $^

fuzz: $(FUZZ_BINS)
.SECONDARY: $(FUZZ_SRCS:fuzz/%.c=$(FUZZ_BUILD)/obj/fuzz/%.o)
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_TOOLLIB) $(FUZZ_LIB)
	@$(if $(Q),echo "  FUZZLD  $@")
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,$(FUZZ_SAN) -pthread -o $@ $^ $(LDLIBS)

# Each target runs FUZZ_SECONDS on its seed corpus plus a work corpus kept in
# $(FUZZ_BUILD)/corpus-<name>; crashes land in $(FUZZ_BUILD)/artifacts/.
# FUZZ_TARGETS=fuzz_a,fuzz_b limits the run; a failing target stops it.
FUZZ_TARGETS ?=
FUZZ_RUN_BINS := $(if $(FUZZ_TARGETS),$(addprefix $(FUZZ_BUILD)/,$(subst $(comma), ,$(FUZZ_TARGETS))),$(FUZZ_BINS))
fuzz-run: $(FUZZ_RUN_BINS)
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@for f in $(FUZZ_RUN_BINS); do n=$$(basename $$f); mkdir -p $(FUZZ_BUILD)/corpus-$$n; \
	  dict=""; [ -f fuzz/$$n.dict ] && dict="-dict=fuzz/$$n.dict"; \
	  opts=""; [ -f fuzz/$$n.options ] && opts=$$(cat fuzz/$$n.options); \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f $$dict $$opts -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	     -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$n- \
	     $(FUZZ_BUILD)/corpus-$$n fuzz/corpus/$$n || exit 1; done

# Replay: every corpus through its target without libFuzzer, built with $(CC)
# under ASan+UBSan (fuzz/replay.c provides main).
REPLAY_BUILD := $(BUILD)/replay
REPLAY_TOOL_OBJS := $(FUZZ_TOOL_SRCS:%.c=$(REPLAY_BUILD)/obj/%.o)
fuzz-replay:
	$(MAKE) BUILD=$(REPLAY_BUILD) SANITIZE=address,undefined OPT=-O1 lib $(REPLAY_TOOL_OBJS)
	@mkdir -p $(REPLAY_BUILD)/fuzz
	$(Q)rm -f $(REPLAY_BUILD)/libvlcli.a && ar rcs $(REPLAY_BUILD)/libvlcli.a $(REPLAY_TOOL_OBJS)
	@set -e; for src in $(FUZZ_SRCS); do n=$$(basename $$src .c); \
	  $(CC) $(CPPFLAGS) -Itools -std=c11 -O1 -g -pthread -fno-strict-aliasing $(WARN) \
	    -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -o $(REPLAY_BUILD)/fuzz/$$n fuzz/replay.c $$src $(REPLAY_BUILD)/libvlcli.a $(REPLAY_BUILD)/libveclite.a $(LDLIBS); \
	  $(REPLAY_BUILD)/fuzz/$$n fuzz/corpus/$$n >$(REPLAY_BUILD)/fuzz/$$n.log 2>&1 || \
	    { tail -n 60 $(REPLAY_BUILD)/fuzz/$$n.log; echo "fuzz-replay: $$n FAILED"; exit 1; }; \
	  tail -n 1 $(REPLAY_BUILD)/fuzz/$$n.log; done

# --- quickstart: a generated example, end to end ----------------------
$(BUILD)/bench/gen_synth: bench/gen_synth.c bench/bench_util.h
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c11 -O2 -D_GNU_SOURCE -o $@ $< -lm

$(BUILD)/bench/core_cold: bench/core_cold.c bench/bench_util.h $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) -std=c11 -O2 -g -pthread $(WARN) -o $@ $< $(STATIC_LIB) $(LDLIBS)

quickstart: all $(BUILD)/bench/gen_synth
	VECLITE=$(abspath $(CLI)) GEN_SYNTH=$(abspath $(BUILD)/bench/gen_synth) tools/quickstart.sh $(BUILD)/quickstart

# --- benchmarks --------------------------------------------------------
bench: lib
	bench/run $(if $(DATASET),--dataset $(DATASET)) $(if $(QUICK),--quick) $(BENCH_ARGS)

# --- install -----------------------------------------------------------
$(BUILD)/veclite.pc: veclite.pc.in engine/veclite.h
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	  -e 's|@VERSION@|$(shell sed -n 's/^\#define VL_VERSION_STRING "\(.*\)"/\1/p' engine/veclite.h)|' $< > $@

install: all $(BUILD)/veclite.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGDIR)
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHARED_LIB)) $(DESTDIR)$(LIBDIR)/libveclite.so
	install -m 644 engine/veclite.h $(DESTDIR)$(INCDIR)/
	install -m 755 $(CLI) $(DESTDIR)$(BINDIR)/
	install -m 644 $(BUILD)/veclite.pc $(DESTDIR)$(PKGDIR)/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libveclite.a $(DESTDIR)$(LIBDIR)/$(notdir $(SHARED_LIB)) \
	  $(DESTDIR)$(LIBDIR)/libveclite.so $(DESTDIR)$(INCDIR)/veclite.h \
	  $(DESTDIR)$(BINDIR)/veclite $(DESTDIR)$(PKGDIR)/veclite.pc

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(FUZZ_BUILD)/obj -name '*.d' 2>/dev/null)
