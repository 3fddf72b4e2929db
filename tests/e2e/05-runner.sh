# The runner reports what each test did: passes, failures with their output,
# skips with their reason, time-outs, and processes or files a test left
# behind (which it then removes); its last line counts them.
# shellcheck disable=SC2016 # the fake tests expand their own variables
. "$(dirname "$0")/lib.sh"

runner=$(dirname "$E2E_LIB")/run
mkdir "$T/fake"
cd "$T/fake"
echo 'exit 0' >01-pass.sh
printf 'echo "some output"\nexit 1\n' >02-fail.sh
# (Marked alone: with one job the mark changes nothing, the order is the
# files'.)
printf '#!/bin/sh\n# e2e: alone (a mark)\necho "SKIP: no widget here" >&2\nexit 77\n' \
    >03-skip.sh
# Works in its temp root and stays there.
printf 'cd "$E2E_TMPROOT"\nsleep 60 &\n' >04-leak-cwd.sh
# Names its temp root on its command line (and leaves a file there).
printf 'ln -s "$(command -v sleep)" "$E2E_TMPROOT/snooze"\n%s\n' \
    '"$E2E_TMPROOT/snooze" 60 </dev/null >/dev/null 2>&1 &' >05-leak-argv.sh
echo 'sleep 60' >06-hang.sh
cd "$T"

# The runner on the fake tests, with the settings given and no others.
inner() {
	env -u E2E_ONLY -u E2E_NO_SKIP -u E2E_TIMEOUT -u E2E_JOBS \
	    E2E_DIR="${FAKE:-$T/fake}" "$@" sh "$runner"
}

expect_status 1 inner E2E_TIMEOUT=1 E2E_JOBS=1
sed 's/ ([0-9.]* s)//' "$T/out" >"$T/got"
cat >"$T/want" <<'EOF'
PASS 01-pass
FAIL 02-fail: exit status 1
    some output
SKIP 03-skip: no widget here
EOF
head -n 4 "$T/got" >"$T/got4"
expect_same "$T/want" "$T/got4"
expect_grep '^FAIL 04-leak-cwd: left processes behind \(killed now\)$' "$T/got"
expect_grep '^ +[0-9]+ +[a-z]+ +sleep 60$' "$T/got"
expect_grep '^FAIL 05-leak-argv: left processes behind \(killed now\); left files in its temp root$' "$T/got"
expect_grep '^ +[0-9]+ +[a-z]+ +/.*/snooze 60$' "$T/got"
expect_grep '^    snooze$' "$T/got"
expect_grep '^FAIL 06-hang: timed out after 1 s$' "$T/got"
expect_eq "last line" "1 passed, 4 failed, 1 skipped" "$(tail -n 1 "$T/out")"
expect_eq "summary lines" 1 "$(grep -c 'passed, .* failed' "$T/out")"

# The runner killed the leftovers and removed its temp roots.
[ -z "$(e2e_pids_under "$TMPDIR")" ] ||
	fail "processes left: $(e2e_pids_under "$TMPDIR")"
[ -z "$(ls -A "$TMPDIR")" ] || fail "files left in $TMPDIR: $(ls -A "$TMPDIR")"

# Selection, and skips that count as failures.
expect_status 0 inner E2E_ONLY='0[13]-*'
expect_eq "selected" "1 passed, 0 failed, 1 skipped" "$(tail -n 1 "$T/out")"
expect_status 1 inner E2E_ONLY=03-skip.sh E2E_NO_SKIP=1
expect_grep '^FAIL 03-skip .*E2E_NO_SKIP' "$T/out"
expect_status 1 inner E2E_ONLY=nothing
expect_eq "nothing selected" "0 passed, 1 failed, 0 skipped" \
    "$(tail -n 1 "$T/out")"

# ---------------------------------------------------------- several at once
# The same tests three at once: the same reports (in the order they end),
# each test's leftovers its own.
expect_status 1 inner E2E_TIMEOUT=1 E2E_JOBS=3
sed 's/ ([0-9.]* s)//' "$T/out" >"$T/got3"
grep -v '^ ' "$T/got" | sort >"$T/want.sorted"
grep -v '^ ' "$T/got3" | sort >"$T/got3.sorted"
expect_same "$T/want.sorted" "$T/got3.sorted"
expect_eq "last line, 3 jobs" "1 passed, 4 failed, 1 skipped" \
    "$(tail -n 1 "$T/out")"
expect_grep '^FAIL 04-leak-cwd: ' "$T/got3"
# Each FAIL's details follow its own line.
awk '/^FAIL 04/ { f = 1; next } /^[A-Z]/ { f = 0 } f && /sleep 60$/ { ok = 1 }
    END { exit !ok }' "$T/got3" || fail "04's leftover not under its FAIL line"
awk '/^FAIL 05/ { f = 1; next } /^[A-Z]/ { f = 0 } f && /snooze 60$/ { ok = 1 }
    END { exit !ok }' "$T/got3" || fail "05's leftover not under its FAIL line"
[ -z "$(e2e_pids_under "$TMPDIR")" ] ||
	fail "processes left: $(e2e_pids_under "$TMPDIR")"
[ -z "$(ls -A "$TMPDIR")" ] || fail "files left in $TMPDIR: $(ls -A "$TMPDIR")"

# Running at once for real: 01-a and 02-b each wait for the other to have
# started.  Alone tests (03, 05) run first, one at a time with nothing
# else; then the long one (04), then the rest; each logs its start.
M=$T/meet
mkdir "$M" "$T/par"
# fake NAME MARK BODY: a test that logs its start and runs BODY.
fake() {
	{
		printf '#!/bin/sh\n%s\nset -e\nM=%s\n' "$2" "$M"
		printf 'echo %s >>"$M/order"\n' "$1"
		printf '%s\n' "$3"
	} >"$T/par/$1.sh"
}
meet='touch "$M/run.$me"; [ ! -e "$M/alone" ]
i=0; until [ -e "$M/run.$other" ]; do i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.1; done
[ ! -e "$M/alone" ]'
solo='[ -z "$(ls "$M" | grep -v order)" ]; touch "$M/alone"; sleep 1
[ "$(ls "$M" | grep -v order)" = alone ]; rm "$M/alone"'
fake 01-a '# a' "me=a other=b; $meet"
fake 02-b '# b' "me=b other=a; $meet"
fake 03-solo1 '# e2e: alone (a test)' "$solo"
fake 04-slow '# e2e: long' 'sleep 0.5'
fake 05-solo2 '# e2e: alone (another)' "$solo"
FAKE=$T/par
expect_status 0 inner E2E_JOBS=2
expect_eq "last line, 2 jobs" "5 passed, 0 failed, 0 skipped" \
    "$(tail -n 1 "$T/out")"
# 04-slow and 01-a start together (which logs first is the scheduler's
# call); 02-b only once 04-slow is done, 0.5 s later.  File order would
# have started 01-a and 02-b together, 04-slow last.
order=$(tr '\n' ' ' <"$M/order" | sed 's/ $//')
case $order in
"03-solo1 05-solo2 04-slow 01-a 02-b" | "03-solo1 05-solo2 01-a 04-slow 02-b") ;;
*) fail "start order: expected the solo tests, then 04-slow and 01-a, then 02-b; got '$order'" ;;
esac
# One job: file order, and 01-a waits for 02-b in vain.
rm -f "$M"/*
expect_status 1 inner E2E_JOBS=1 E2E_ONLY='0[12]-*' E2E_TIMEOUT=3
expect_grep '^FAIL 01-a ' "$T/out"
expect_eq "start order, 1 job" "01-a 02-b" "$(tr '\n' ' ' <"$M/order" | sed 's/ $//')"

# A bad E2E_JOBS is one line, and counts as a failure.
expect_status 1 inner E2E_JOBS=two
expect_eq "bad E2E_JOBS" "E2E_JOBS must be a whole number of 1 or more, not 'two'
0 passed, 1 failed, 0 skipped" "$(cat "$T/out")"
