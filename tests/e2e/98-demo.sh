#!/bin/sh
# make demo's story runs green, under make check, so a broken demo fails
# CI: it starts its own PostgreSQL and sshd, and must leave nothing behind.
# e2e: alone (the demo fails when any process on the machine names
# coffer-drill, as the other tests' drills do)
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
# The demo's servers run as nobody when root: let them reach its dir.
chmod 0711 "$T/tmp"
st=0
sh "$top/scripts/demo.sh" "$COFFER" >"$T/demo.out" 2>&1 || st=$?
if [ "$st" -ne 0 ]; then
	tail -n 30 "$T/demo.out" >&2
	fail "the demo exited with status $st"
fi
expect_grep '^==> demo finished: all steps behaved as expected$' "$T/demo.out"
expect_grep '^restored: .* readings, md5 ' "$T/demo.out"
expect_grep 'job nightly: ok \(run 2\)' "$T/demo.out"
expect_grep '^coffer_job_last_success_timestamp_seconds\{job="nightly"\} ' "$T/demo.out"
expect_grep '^drill offsite-db: ok$' "$T/demo.out"
if [ -x /usr/sbin/mariadbd ]; then
	expect_grep '^restored: 12001 invoices, md5 ' "$T/demo.out"
fi
# Durations of a minute or more read "1m04s" (a slow build, SANITIZE=1).
expect_grep '^  RTO ([0-9.]+ s|[0-9]+m[0-9]{2}s), RPO ([0-9.]+ s|[0-9]+m[0-9]{2}s)$' "$T/demo.out"
[ -z "$(ls -A "$T/tmp")" ] || fail "the demo left files: $(ls -A "$T/tmp")"
