#!/bin/sh
# --log syslog: messages reach the syslog socket, not stderr; when nothing
# listens on /dev/log, one warning on stderr and every message after it
# there too (syslog(3) alone drops them without a word). Each case runs in
# a private mount namespace whose /dev is made by the test: the host's
# /dev/log, if any, is never used.
. "$(dirname "$0")/lib.sh"

need unshare
need socat
[ "$(id -u)" -eq 0 ] || skip "needs root for a private mount namespace"
unshare -m true 2>/dev/null || skip "no mount namespaces here"

R="$T/repo"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
(umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/wrong")

# in_dev SCRIPT: run SCRIPT in a mount namespace whose /dev holds null,
# zero, urandom and whatever is in $T/dev already.
mkdir "$T/dev"
in_dev() {
	unshare -m sh -c '
		set -e
		for n in null zero urandom random; do
			: > "$1/dev/$n"
			mount --bind "/dev/$n" "$1/dev/$n"
		done
		mount --bind "$1/dev" /dev
		shift
		exec "$@"' sh "$T" "$@"
}

# Nothing listens: the warning, then the error itself, on stderr.
st=0
in_dev "$COFFER" snapshots -r "$R" --password-file "$T/wrong" --log syslog \
    >"$T/out" 2>"$T/err" || st=$?
expect_eq "exit status, wrong key, no syslog" 12 "$st"
expect_grep "syslog is not reachable .\/dev\/log" "$T/err"
expect_grep "wrong passphrase or key" "$T/err"
[ "$(wc -l <"$T/err")" -eq 2 ] || fail "expected two lines: $(cat "$T/err")"

# A listener on /dev/log: the error goes there, stderr stays empty.
socat -u UNIX-RECV:"$T/dev/log" OPEN:"$T/syslog.out",creat,append &
listener=$!
wait_for 10 "the syslog listener" test -S "$T/dev/log"
st=0
in_dev "$COFFER" snapshots -r "$R" --password-file "$T/wrong" --log syslog \
    >"$T/out" 2>"$T/err" || st=$?
expect_eq "exit status, wrong key, syslog" 12 "$st"
[ ! -s "$T/err" ] || fail "stderr not empty with syslog: $(cat "$T/err")"
wait_for 10 "the message in syslog" grep -q "wrong passphrase or key" \
    "$T/syslog.out"
grep -q "coffer\[[0-9]*\]: " "$T/syslog.out" ||
	fail "no 'coffer[PID]:' tag in: $(cat "$T/syslog.out")"
kill "$listener" 2>/dev/null || :
wait "$listener" 2>/dev/null || :
