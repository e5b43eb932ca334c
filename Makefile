# mvc — version control for model weights.
#
#   make            build libmvc (static and shared) and the mvc binary
#   make check      install missing Debian packages, build, run every test
#   make demo       install, build, run the built-in retraining story
#   make check-asan the tests under AddressSanitizer + UBSan
#   make check-valgrind  the tests with every mvc process under valgrind memcheck
#   make fuzz       libFuzzer targets (clang); make fuzz-run FUZZ_TIME=120 runs them
#   make bench      benchmarks against git and git-lfs (never part of check)
#   make bench-score  mvc score's retrieval users/s beside OpenBLAS sgemm (never part of check)
#   make install    PREFIX=/usr/local DESTDIR=

VERSION   := 0.1.0
SOVERSION := 0
PREFIX    ?= /usr/local
BUILD     ?= build

PKGS      := libgit2 libsodium libzstd jansson libcrypto zlib
CC        ?= cc
OPT       ?= -O2 -g
WARN      := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
DEPCFLAGS  = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
DEPLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
CFLAGS    += -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Iinclude -Ilib $(DEPCFLAGS) \
             -DMVC_VERSION='"$(VERSION)"' -fPIC -MMD -MP
LDFLAGS   +=

LIB_SRC   := $(wildcard lib/*.c)
CMD_SRC   := $(wildcard cmd/*.c)
UNIT_SRC  := $(wildcard test/unit/test_*.c)
TOOL_SRC  := $(filter-out test/tools/fault.c,$(wildcard test/tools/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ   := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN  := $(UNIT_SRC:test/unit/%.c=$(BUILD)/test/%)
TOOL_BIN  := $(TOOL_SRC:test/tools/%.c=$(BUILD)/tools/%)
# the trainer of the federated example (examples/federated/round.sh)
EXAMPLE_BIN := $(BUILD)/examples/trainer
# a full disk on demand (LD_PRELOAD), for test/cli/test_faults.sh
FAULT_LIB := $(BUILD)/tools/fault.so
# fuzz targets: with test/fuzz/standalone.c for make check (seeds and saved
# crashes, once each), with libFuzzer for make fuzz
FUZZ_SRC  := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BIN   = $(FUZZ_SRC:test/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_MAIN ?= $(BUILD)/test/fuzz/standalone.o
FUZZ_LINK ?=
FUZZ_TIME ?= 120

all: $(BUILD)/mvc $(BUILD)/libmvc.so $(BUILD)/libmvc.a

deps:
	@sh .ci/deps

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libmvc.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/libmvc.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libmvc.so.$(SOVERSION) -o $@ $^ $(LDFLAGS) $(DEPLIBS)

$(BUILD)/mvc: $(CMD_OBJ) $(BUILD)/libmvc.a
	$(CC) -o $@ $(CMD_OBJ) $(BUILD)/libmvc.a $(LDFLAGS) $(DEPLIBS)

$(BUILD)/test/%: $(BUILD)/test/unit/%.o $(BUILD)/libmvc.a
	$(CC) -o $@ $< $(BUILD)/libmvc.a $(LDFLAGS) $(DEPLIBS) -lcmocka

$(BUILD)/tools/%: $(BUILD)/test/tools/%.o
	@mkdir -p $(dir $@)
	$(CC) -o $@ $< $(LDFLAGS) -ljansson -lm

$(FAULT_LIB): test/tools/fault.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $< -ldl

$(BUILD)/fuzz/%: $(BUILD)/test/fuzz/%.o $(FUZZ_MAIN) $(BUILD)/libmvc.a
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_LINK) -o $@ $< $(FUZZ_MAIN) $(BUILD)/libmvc.a $(LDFLAGS) $(DEPLIBS)

# Example programs: plain C, no library but libm.
$(BUILD)/examples/%: examples/federated/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -o $@ $< $(LDFLAGS) -lm

# Tests: cmocka unit tests, then CLI tests running the real binary and git.
check: deps
	@$(MAKE) --no-print-directory test-build
	@$(MAKE) --no-print-directory test-run

test-build: all $(UNIT_BIN) $(TOOL_BIN) $(EXAMPLE_BIN) $(FAULT_LIB) $(FUZZ_BIN)

test-run:
	@MVC_BUILD=$(abspath $(BUILD)) sh test/run.sh

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build-asan \
	    OPT="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" test-build
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	    MVC_TEST_CFLAGS="-fsanitize=address,undefined" \
	    MVC_BUILD=$(abspath build-asan) sh test/run.sh

# Every unit test and every mvc the CLI tests run, under memcheck: an error
# or a leak (definite, indirect or possible) in any process fails the run.
# Slow (an hour or more on two cores): outside `make check` and CI.
check-valgrind: deps
	@sh .ci/deps valgrind
	@$(MAKE) --no-print-directory test-build
	@MVC_VALGRIND=1 MVC_BUILD=$(abspath $(BUILD)) sh test/run.sh

# libFuzzer targets for every parser of untrusted bytes, with ASan and
# UBSan, in build-fuzz/fuzz/; fuzz-run runs each for FUZZ_TIME seconds in
# turn on its seeds (test/fuzz/<name>/), growing build-fuzz/corpus/.
fuzz:
	@sh .ci/deps fuzz
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang FUZZ_MAIN= \
	    FUZZ_LINK=-fsanitize=fuzzer,address,undefined \
	    OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    build-fuzz/libmvc.a $(FUZZ_SRC:test/fuzz/%.c=build-fuzz/fuzz/%)

fuzz-run: fuzz
	@for f in $(FUZZ_SRC:test/fuzz/%.c=build-fuzz/fuzz/%); do \
	    n=$$(basename $$f .c); s=$${n#fuzz_}; mkdir -p build-fuzz/corpus/$$s; \
	    echo "== $$n ($(FUZZ_TIME) s)"; \
	    $$f -max_total_time=$(FUZZ_TIME) -rss_limit_mb=1024 -timeout=20 -print_final_stats=1 \
	        -artifact_prefix=build-fuzz/$$s- build-fuzz/corpus/$$s test/fuzz/$$s || exit 1; \
	done

demo: deps
	@$(MAKE) --no-print-directory all $(BUILD)/tools/jget $(EXAMPLE_BIN)
	@MVC_BUILD=$(abspath $(BUILD)) sh examples/demo.sh

bench:
	@sh .ci/deps bench
	@$(MAKE) --no-print-directory all $(BUILD)/tools/mkmodel
	@MVC_BUILD=$(abspath $(BUILD)) sh bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/include/mvc $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(BUILD)/mvc $(DESTDIR)$(PREFIX)/bin/mvc
	install -m 644 $(BUILD)/libmvc.a $(DESTDIR)$(PREFIX)/lib/libmvc.a
	install -m 755 $(BUILD)/libmvc.so $(DESTDIR)$(PREFIX)/lib/libmvc.so.$(VERSION)
	ln -sf libmvc.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libmvc.so.$(SOVERSION)
	ln -sf libmvc.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libmvc.so
	install -m 644 include/mvc.h $(DESTDIR)$(PREFIX)/include/mvc.h
	install -m 644 include/mvc/*.h $(DESTDIR)$(PREFIX)/include/mvc/
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 completions/mvc.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mvc
	install -m 644 completions/_mvc $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_mvc
	install -m 644 completions/mvc.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/mvc.fish
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@PKGS@|$(PKGS)|' lib/mvc.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/mvc.pc

clean:
	rm -rf build build-asan build-fuzz

# Needs libopenblas-dev (installed by the script when missing): a yardstick, not a dependency.
bench-score: all $(BUILD)/tools/mkmodel
	@MVC_BUILD=$(abspath $(BUILD)) sh bench/score.sh

.PHONY: all deps check test-build test-run check-asan check-valgrind fuzz fuzz-run demo bench bench-score install clean
.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
