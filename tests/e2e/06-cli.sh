#!/bin/sh
# The command line contract: usage errors exit 2 with one line on stderr,
# passphrases are refused on argv, help texts agree, --version works.
. "$(dirname "$0")/lib.sh"

expect_status 0 "$COFFER" --version
grep -Eq '^coffer [0-9]+\.[0-9]+\.[0-9]+' "$T/out" || fail "--version printed: $(cat "$T/out")"

# version -v names each library with a version number, as loaded.
expect_status 0 "$COFFER" version -v
for lib in openssl libssh2 libarchive zstd sqlite jansson; do
	grep -Eq "^  $lib +.*[0-9]+\.[0-9]+" "$T/out" ||
		fail "version -v: no $lib version in: $(cat "$T/out")"
done
expect_status 0 "$COFFER" version --json
grep -q '"libraries":{"openssl":"OpenSSL ' "$T/out" ||
	fail "version --json: $(cat "$T/out")"

expect_status 0 "$COFFER" help
for c in config help version; do
	grep -Eq "^  $c " "$T/out" || fail "coffer help does not list $c"
done

# coffer help CMD and coffer CMD --help print the same text.
for c in config version help; do
	expect_status 0 "$COFFER" help "$c"
	cp "$T/out" "$T/help1"
	expect_status 0 "$COFFER" "$c" --help
	cmp -s "$T/help1" "$T/out" || fail "help $c differs from $c --help"
done

expect_status 2 "$COFFER"
expect_status 2 "$COFFER" frobnicate
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "unknown command: expected one line, got: $(cat "$T/err")"
grep -q "frobnicate" "$T/err" || fail "unknown command not named"

expect_status 2 "$COFFER" --no-such-option
expect_status 2 "$COFFER" config check --no-such-option
grep -q -- "--no-such-option" "$T/err" || fail "unknown option not named"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "unknown option: expected one line"

# A passphrase on argv is refused, and never echoed back.
for form in "--password=hunter2secret" "--password"; do
	expect_status 2 "$COFFER" "$form" version
	grep -q "password-file" "$T/err" || fail "$form: no pointer to --password-file"
	expect_status 2 "$COFFER" config check "$form"
done
if grep -rq hunter2secret "$T/out" "$T/err"; then
	fail "the passphrase was printed"
fi

expect_status 2 "$COFFER" --log nowhere version
grep -q "stderr" "$T/err" || fail "--log error does not say what is allowed"

# Writing to a closed pipe is an error, not a silent success.
set +e
"$COFFER" help > /dev/full 2>"$T/err"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "help > /dev/full exited $rc, want 1"

# The passphrase prompt names the repository it opens (on a terminal:
# script(1) gives coffer one).
if command -v script >/dev/null 2>&1; then
	export COFFER_TEST_WEAK_KDF=1
	(umask 077; printf 'right one\n' >"$T/pw")
	expect_status 0 "$COFFER" init -r "$T/r" --password-file "$T/pw"
	st=0
	(sleep 1; printf 'wrong one\n') | timeout 60 script -qec \
	    "'$COFFER' snapshots -r '$T/r'" /dev/null >"$T/tty" 2>&1 || st=$?
	expect_eq "exit status, wrong passphrase on a terminal" 12 "$st"
	expect_grep "Passphrase for repository $T/r: " "$T/tty"
fi

# Without a config file, a name that is no directory here says so, before
# any passphrase; a job names the missing config too.  (Only where the
# default config does not exist: -c FILE that is missing is an error.)
if [ ! -e /etc/coffer/coffer.conf ]; then
	mkdir "$T/nocfg"
	st=0
	(cd "$T/nocfg" && "$COFFER" snapshots -r local >"$T/out" 2>"$T/err") ||
		st=$?
	expect_eq "exit status, no config and no ./local" 2 "$st"
	expect_grep "no repository named local: no configuration file was read" \
	    "$T/err"
	expect_status 2 "$COFFER" snapshot --job nightly
	expect_grep "no \[job nightly\]: no configuration file was read" "$T/err"
fi
