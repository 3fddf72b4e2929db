# coffer: a plain GNU Makefile.  `make help` lists the targets.
#
#   make            build ./coffer
#   make demo       install missing build packages, build, run the demo
#   make check      install missing packages, build, run every test
#   make check SANITIZE=1   the same under ASan + UBSan (no recovery)
#   make e2e        the end-to-end tests; E2E_ONLY=GLOB a subset, E2E_JOBS=N at once (CPUs+1)
#   make lint-errors  no decision on an error's message text (run by check)
#   make unit TSAN=1    unit tests under ThreadSanitizer
#   make check-s3   the s3:// tests against a real one-node Ceph RGW
#   make check-long the long suite: more kill -9 rounds (12-crash, 19-kill-loops), valgrind
#   make valgrind   the unit tests (rel build) under valgrind memcheck
#   make coverage   tests with gcov, summary by gcovr, the coverage gate
#   make bench-crypto   MB/s of HMAC, SHA-256, AES-GCM, zstd; scrypt time
#   make bench-tools  build the benchmark's corpus generator (bench/run uses it)
#   make install    PREFIX=/usr/local DESTDIR= : binary, man pages, sample config
#   make deb        build/deb/coffer_VERSION_ARCH.deb, lintian-clean
#   make bench-chunker   chunker speed and chunk sizes on 1 GiB in memory
#   make fuzz       build the libFuzzer targets, run each FUZZ_SECONDS (60)
#   make fuzz-smoke each fuzz target over its seeds and regressions (check)
#   make fuzz-seeds rewrite tests/fuzz/corpus/ from the real encoders

PREFIX    ?= /usr/local
SYSCONFDIR ?= /etc
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
DOCDIR    ?= $(PREFIX)/share/doc/coffer

CC        ?= cc
CFLAGS    ?= -O2 -g
WERROR    ?= -Werror
VERSION   := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(SANITIZE),1)
BUILD     := build/san
MODEFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer
# Leaks inside third-party libraries, each explained in the file.
export LSAN_OPTIONS := suppressions=$(abspath tests/lsan.supp):print_suppressions=0
# ASan and UBSan make the unit tests 2-4x slower than Check's per-test
# timeouts were set for (scrypt vectors, every-byte tamper loops).
UNIT_TIMEOUT_MULTIPLIER ?= 4
else ifeq ($(TSAN),1)
BUILD     := build/tsan
MODEFLAGS := -fsanitize=thread -fno-omit-frame-pointer -O1
else ifeq ($(COVERAGE),1)
BUILD     := build/cov
MODEFLAGS := --coverage -O0 -fprofile-update=atomic
else
BUILD     := build/rel
# As Debian's package build has it (dpkg-buildflags): its checks, and its
# warnings (an unused result of fchmodat...), in every build, not first
# in make deb.
MODEFLAGS := -D_FORTIFY_SOURCE=2
endif

PKGS      := libarchive libzstd libssh2 libcrypto inih jansson sqlite3 libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

WARN      := -Wall -Wextra -Wformat=2 -Wshadow -Wvla -Wmissing-prototypes \
             -Wstrict-prototypes -Wconversion
ALL_CFLAGS := -std=c11 $(WARN) $(WERROR) $(CFLAGS) $(MODEFLAGS) -MMD -MP
ALL_CPPFLAGS := -D_GNU_SOURCE -DCOFFER_VERSION='"$(VERSION)"' -Ilib -I. \
             $(PKG_CFLAGS) $(CPPFLAGS)
ALL_LDFLAGS := $(MODEFLAGS) $(LDFLAGS)
LIBS      := $(PKG_LIBS) -lpthread

# Everything but main() goes into one archive that the binary and the
# unit tests link against.
CORE_SRC  := $(sort $(shell find lib snapshot replicate restore scheduler cli \
               -name '*.c' ! -path cli/main.c 2>/dev/null))
CORE_OBJ  := $(CORE_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ  := $(BUILD)/cli/main.o

UNIT_SRC  := $(sort $(shell find tests/unit tests/harness -name '*.c' 2>/dev/null))
UNIT_OBJ  := $(UNIT_SRC:%.c=$(BUILD)/%.o)
# libc calls that tests/harness/fault.c can make fail on demand.
WRAP      := $(shell cat tests/harness/wrap.list 2>/dev/null)
WRAP_LDFLAGS := $(foreach f,$(WRAP),-Wl,--wrap=$(f))

# eio.c is an LD_PRELOAD shim, not a program: tests/tools/eio.c says why.
TOOL_SRC  := $(filter-out tests/tools/eio.c,$(wildcard tests/tools/*.c))
TOOLS     := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/tools/%) \
             $(BUILD)/tests/tools/eio.so

MAN_PAGES := $(wildcard man/*.[1-8])

# `make V=1` shows the full compiler command lines.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2)
endif

.PHONY: all help deps deps-build deps-test deps-demo demo check check-s3 check-long unit e2e lint-man \
        lint-errors \
        tools coverage coverage-gate install install-files uninstall deb format format-check clean \
        bench-tools valgrind

all: coffer

help:
	@sed -n 's/^#   //p' Makefile

coffer: $(BUILD)/coffer
	@if [ "$(BUILD)" = build/rel ]; then cp -f $(BUILD)/coffer coffer; fi

$(BUILD)/coffer: $(MAIN_OBJ) $(BUILD)/libcoffer.a
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(MAIN_OBJ) $(BUILD)/libcoffer.a $(LIBS)

$(BUILD)/libcoffer.a: $(CORE_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $(CORE_OBJ)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c $(BUILD)/tests/suites.h
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CPPFLAGS) -I$(BUILD)/tests -Itests/harness $(CHECK_CFLAGS) \
	    $(ALL_CFLAGS) -c -o $@ $<

# The runner calls every Suite *NAME_suite(void) found in tests/unit.
$(BUILD)/tests/suites.h: $(UNIT_SRC)
	@mkdir -p $(@D)
	@grep -ho '^[a-z0-9_]*_suite(void)' $(UNIT_SRC) /dev/null | \
	    sed 's/(void)//' | sort -u | sed 's/.*/SUITE(&)/' > $@.tmp
	@mv $@.tmp $@

$(BUILD)/tests/unit-runner: $(UNIT_OBJ) $(BUILD)/libcoffer.a \
    $(wildcard tests/harness/wrap.list)
	$(call say,LINK,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) $(WRAP_LDFLAGS) -o $@ $(UNIT_OBJ) \
	    $(BUILD)/libcoffer.a $(CHECK_LIBS) $(LIBS)

$(BUILD)/tests/tools/%: tests/tools/%.c $(BUILD)/libcoffer.a
	@mkdir -p $(@D)
	$(call say,TOOL,$@)
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(BUILD)/libcoffer.a $(LIBS)

# Without the sanitizers: it is preloaded into programs built either way.
$(BUILD)/tests/tools/eio.so: tests/tools/eio.c
	@mkdir -p $(@D)
	$(call say,TOOL,$@)
	$(Q)$(CC) -D_GNU_SOURCE $(CPPFLAGS) -std=c11 $(WARN) $(WERROR) $(CFLAGS) \
	    -fPIC -shared $(LDFLAGS) -o $@ $< -ldl

tools: $(TOOLS)

# The benchmark's tools stand alone: they link nothing from libcoffer.
BENCH_TOOLS := $(BUILD)/bench/corpus

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(call say,TOOL,$@)
	$(Q)$(CC) -D_GNU_SOURCE $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

bench-tools: $(BENCH_TOOLS)

deps: deps-test

deps-build:
	@sh scripts/deps.sh build

deps-test:
	@sh scripts/deps.sh test

deps-demo:
	@sh scripts/deps.sh demo

demo: deps-demo
	@$(MAKE) --no-print-directory all tools
	@sh scripts/demo.sh ./coffer

UNIT_TIMEOUT_MULTIPLIER ?= 1
unit: $(BUILD)/tests/unit-runner
	CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-$(UNIT_TIMEOUT_MULTIPLIER)} \
	    $(BUILD)/tests/unit-runner

# The unit runner too: 91-s3-store runs its s3 suite against RGW.
e2e: $(BUILD)/coffer tools $(BUILD)/tests/unit-runner
	@COFFER=$(abspath $(BUILD)/coffer) TOOLS=$(abspath $(BUILD)/tests/tools) \
	    sh tests/e2e/run

lint-man:
	@mandoc -Tlint -Wwarning $(MAN_PAGES) && echo "man pages: mandoc -Tlint clean"

# Decisions are made on struct err's class, sys_errno and flags, never on
# its message (STYLE.md): no string search or comparison may take an
# err's msg.  Tests, which check what users read, are exempt.
LINT_ERR_RE := (strstr|strcasestr|memmem|strn?cmp|strn?casecmp|memcmp|strchr|strrchr|strspn|strcspn|strpbrk|fnmatch|regexec) *\([^;]*(->|\.)msg\b
lint-errors:
	@if grep -rnE --include='*.[ch]' '$(LINT_ERR_RE)' \
	    $(wildcard lib snapshot replicate restore scheduler cli); then \
		echo "lint-errors: decide on the error's class, sys_errno or flags" \
		    "(lib/err.h), not on its message" >&2; exit 1; \
	fi; echo "errors: no decision on message text"

check: deps-test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory lint-man lint-errors unit e2e fuzz-smoke

# The long suite: the same tests with more rounds of fault injection.
# The s3:// tests alone: a one-node Ceph RGW (rgw-lib.sh), the DR story
# (90-s3), the store contract (91-s3-store), the append-only bucket
# (92-s3-append) and virtual-host addressing (93-s3-vhost); about 100 s.
# make check runs them too.
check-s3: deps-test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory E2E_ONLY='9[0-3]-s3*' e2e

check-long: deps-test
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory E2E_CRASH_ROUNDS=30 E2E_KILL_ROUNDS=25 unit e2e
	@$(MAKE) --no-print-directory valgrind

# The unit tests under valgrind memcheck: the rel runner (no sanitizers),
# every Check test in its forked child, which memcheck follows by itself
# (--trace-children=yes would follow exec into sh, tr, sshd, pg_dump:
# not ours, and their own leaks then fail tests that read their stderr).
# A finding in a test (an invalid or uninitialised read, a definite leak)
# makes it exit 1, so Check fails that test and the run fails; a process
# that dies of a signal on purpose can only print its finding.  CK_FORK=no
# is not an option: the tests rely on their own process (chdir, abort() on
# programmer errors).  About 9 minutes on two cores; CK_RUN_SUITE picks a
# suite as usual.
VALGRIND_FLAGS := -q --tool=memcheck --error-exitcode=1 --leak-check=full \
    --errors-for-leak-kinds=definite --show-leak-kinds=definite \
    --track-fds=no --trace-children=no --num-callers=30 \
    --suppressions=$(abspath tests/valgrind.supp)
valgrind:
	@$(MAKE) --no-print-directory SANITIZE= TSAN= COVERAGE= \
	    build/rel/tests/unit-runner
	@command -v valgrind >/dev/null || { echo "make valgrind:" \
	    "valgrind is not installed (run: make deps)" >&2; exit 1; }
	CK_TIMEOUT_MULTIPLIER=$${CK_TIMEOUT_MULTIPLIER:-30} \
	    valgrind $(VALGRIND_FLAGS) build/rel/tests/unit-runner

# The coverage gate: line coverage of the repository format and its crypto
# (lib/repo/*.c, lib/crypto.c) under unit + e2e may not drop below this.
# doc/TESTING.md, "Coverage", says what it holds and how to raise it.
COVERAGE_GATE ?= 93.2

# Counters start at zero, so that a test removed cannot leave its lines
# counted; `make coverage-gate` re-checks the last run without running it.
coverage:
	@find build/cov -name '*.gcda' -delete 2>/dev/null || true
	@$(MAKE) --no-print-directory COVERAGE=1 unit e2e
	gcovr --root . --object-directory build/cov --filter 'lib/' --print-summary \
	    --txt build/cov/coverage.txt
	@echo "per-file report: build/cov/coverage.txt"
	@$(MAKE) --no-print-directory coverage-gate

coverage-gate:
	@echo "coverage gate: lib/repo/*.c and lib/crypto.c, lines >= $(COVERAGE_GATE)%"
	@gcovr --root . --object-directory build/cov --filter 'lib/repo/.*\.c$$' \
	    --filter 'lib/crypto\.c$$' --print-summary --txt build/cov/gate.txt \
	    --fail-under-line $(COVERAGE_GATE) || { \
	    echo "FAIL: line coverage of lib/repo and lib/crypto.c is under" \
	        "$(COVERAGE_GATE)% (per file: build/cov/gate.txt); see" \
	        "doc/TESTING.md, Coverage" >&2; exit 1; }

# What install puts where; uninstall removes exactly these, then the
# directories that are coffer's own (DOCDIR, SYSCONFDIR/coffer) if empty.
# INSTALL_BIN: the binary to install (the tests install the one they test).
INSTALL_BIN ?= coffer
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions
DOCS      := README.md doc/FORMAT.md doc/OFFSITE.md

install: coffer install-files

# A Debian package of this tree, held to lintian: build/deb/coffer_*.deb.
deb:
	@sh scripts/deb.sh

install-files:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR) \
	    $(DESTDIR)$(COMPLETIONDIR)
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/coffer
	for m in man/*.1; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in man/*.5; do install -m 644 $$m $(DESTDIR)$(MANDIR)/man5/; done
	for d in $(DOCS); do install -m 644 $$d $(DESTDIR)$(DOCDIR)/; done
	install -m 644 etc/coffer.conf.sample $(DESTDIR)$(DOCDIR)/coffer.conf.sample
	install -m 644 etc/bash-completion/coffer $(DESTDIR)$(COMPLETIONDIR)/coffer
	install -d -m 700 $(DESTDIR)$(SYSCONFDIR)/coffer
	install -m 600 etc/coffer.conf.sample $(DESTDIR)$(SYSCONFDIR)/coffer/coffer.conf.sample

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/coffer $(DESTDIR)$(DOCDIR)/coffer.conf.sample \
	    $(DESTDIR)$(COMPLETIONDIR)/coffer \
	    $(DESTDIR)$(SYSCONFDIR)/coffer/coffer.conf.sample
	for m in man/*.1; do rm -f $(DESTDIR)$(MANDIR)/man1/$${m#man/}; done
	for m in man/*.5; do rm -f $(DESTDIR)$(MANDIR)/man5/$${m#man/}; done
	for d in $(DOCS); do rm -f $(DESTDIR)$(DOCDIR)/$${d##*/}; done
	-rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/coffer 2>/dev/null

# Micro-benchmark of the per-blob primitives; not part of check.
.PHONY: bench-crypto
bench-crypto: $(BUILD)/bench/crypto-speed
	$(BUILD)/bench/crypto-speed

$(BUILD)/bench/crypto-speed: bench/crypto-speed.c $(BUILD)/libcoffer.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    $(BUILD)/libcoffer.a $(LIBS)

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build coffer

# Chunker throughput: always the optimized build, whatever SANITIZE says.
.PHONY: bench-chunker
bench-chunker:
	@$(MAKE) --no-print-directory SANITIZE= COVERAGE= \
	    build/rel/bench/chunker-speed
	build/rel/bench/chunker-speed $(BENCH_ARGS)

build/rel/bench/chunker-speed: bench/chunker-speed.c build/rel/libcoffer.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< \
	    build/rel/libcoffer.a $(LIBS) -lm

# Fuzzing (doc/TESTING.md, "Fuzzing"): one libFuzzer target per parser of
# untrusted bytes, tests/fuzz/fuzz_NAME.c -> build/fuzz/fuzz_NAME, linked
# with lib/ built by clang under the same sanitizers in build/fuzz/obj
# (the targets reach only lib/).  Seeds: tests/fuzz/corpus/NAME/; inputs
# that once failed: tests/fuzz/regress/NAME/.  What the runs find grows
# build/fuzz/corpus/NAME/; crashes land in build/fuzz/crash-NAME-*.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
                -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 $(WARN) $(WERROR) -O1 -g $(FUZZ_SAN) -MMD -MP
FUZZ_LIB_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(sort $(shell find lib \
                  -name '*.c' 2>/dev/null)))
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard \
                  tests/fuzz/fuzz_*.c)))
FUZZ_BINS    := $(FUZZ_NAMES:%=build/fuzz/fuzz_%)
FUZZ_RUN     := FUZZ_NAMES='$(FUZZ_NAMES)' FUZZ_CC='$(FUZZ_CC)' \
                LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp):print_suppressions=0 \
                sh tests/fuzz/run

.PHONY: fuzz fuzz-build fuzz-smoke fuzz-seeds
# Keep the targets' objects: make would delete them as intermediates.
.SECONDARY: $(FUZZ_NAMES:%=build/fuzz/obj/tests/fuzz/fuzz_%.o) \
    build/fuzz/obj/tests/fuzz/fuzz.o build/fuzz/obj/tests/fuzz/gen_seeds.o

build/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)
	$(Q)$(FUZZ_CC) $(ALL_CPPFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libcoffer.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(call say,AR,$@)
	$(Q)$(AR) rcs $@ $(FUZZ_LIB_OBJ)

build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o \
    build/fuzz/obj/tests/fuzz/fuzz.o build/fuzz/libcoffer.a
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) $(LDFLAGS) -o $@ $< \
	    build/fuzz/obj/tests/fuzz/fuzz.o build/fuzz/libcoffer.a $(LIBS)

build/fuzz/gen_seeds: build/fuzz/obj/tests/fuzz/gen_seeds.o \
    build/fuzz/libcoffer.a
	$(call say,LINK,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) $(LDFLAGS) -o $@ $< build/fuzz/libcoffer.a \
	    $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz:
	@$(FUZZ_RUN) probe
	@$(MAKE) --no-print-directory fuzz-build
	@$(FUZZ_RUN) long $(FUZZ_SECONDS)

# Part of check: skipped, saying why, only where clang cannot link a
# fuzzer (deps.sh installs clang and libclang-rt-14-dev).
fuzz-smoke:
	@if $(FUZZ_RUN) probe; then \
		$(MAKE) --no-print-directory fuzz-build && $(FUZZ_RUN) smoke; \
	else echo "SKIP fuzz-smoke: $(FUZZ_CC) cannot link a libFuzzer" \
	    "target (install clang and libclang-rt-14-dev: make deps)"; fi

fuzz-seeds: build/fuzz/gen_seeds
	rm -rf tests/fuzz/corpus
	build/fuzz/gen_seeds tests/fuzz/corpus

-include $(shell find build -name '*.d' 2>/dev/null)
