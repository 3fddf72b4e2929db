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
printf 'echo "SKIP: no widget here" >&2\nexit 77\n' >03-skip.sh
# Works in its temp root and stays there.
printf 'cd "$E2E_TMPROOT"\nsleep 60 &\n' >04-leak-cwd.sh
# Names its temp root on its command line (and leaves a file there).
printf 'ln -s "$(command -v sleep)" "$E2E_TMPROOT/snooze"\n%s\n' \
    '"$E2E_TMPROOT/snooze" 60 </dev/null >/dev/null 2>&1 &' >05-leak-argv.sh
echo 'sleep 60' >06-hang.sh
cd "$T"

# The runner on the fake tests, with the settings given and no others.
inner() {
	env -u E2E_ONLY -u E2E_NO_SKIP -u E2E_TIMEOUT E2E_DIR="$T/fake" "$@" \
	    sh "$runner"
}

expect_status 1 inner E2E_TIMEOUT=1
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
