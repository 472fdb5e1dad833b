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

.PHONY: all lib cli test check tests fuzz fuzz-run fuzz-replay bench install uninstall clean data quickstart

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

check:
	$(MAKE) BUILD=$(BUILD)/san SANITIZE=address,undefined OPT=-O1 test

# --- fuzzing -----------------------------------------------------------
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SRCS    := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_CFLAGS  := -std=c11 -O1 -g -pthread $(CPPFLAGS) -fsanitize=fuzzer,address,undefined \
                -fno-sanitize-recover=all

fuzz: $(FUZZ_BINS)
$(BUILD)/fuzz/%: fuzz/%.c $(LIB_SRCS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(AVX512_FLAGS) -o $@ $< $(filter-out %_avx2.c %_avx512.c,$(LIB_SRCS)) \
	  $(filter %_avx2.c %_avx512.c,$(LIB_SRCS)) $(LDLIBS)

fuzz-run: fuzz
	@for f in $(FUZZ_BINS); do n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
	  dict=""; [ -f fuzz/$$n.dict ] && dict="-dict=fuzz/$$n.dict"; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f $$dict -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	     $(BUILD)/fuzz/corpus-$$n fuzz/corpus/$$n || exit 1; done

REPLAY_BUILD := $(BUILD)/replay
fuzz-replay:
	$(MAKE) BUILD=$(REPLAY_BUILD) SANITIZE=address,undefined OPT=-O1 lib
	@mkdir -p $(REPLAY_BUILD)/fuzz
	@set -e; for src in $(FUZZ_SRCS); do n=$$(basename $$src .c); \
	  $(CC) $(CPPFLAGS) -std=c11 -O1 -g -pthread -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -o $(REPLAY_BUILD)/fuzz/$$n fuzz/replay.c $$src $(REPLAY_BUILD)/libveclite.a $(LDLIBS); \
	  $(REPLAY_BUILD)/fuzz/$$n fuzz/corpus/$$n; done

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
bench: all
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

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
