#!/bin/sh
# A locked repository queues a job instead of failing it (issue 12): while
# another process holds the repository's lock (tests/tools/holdlock, the
# lock code coffer's commands use), a scheduled job waits lock_wait, then
# its snapshot is recorded "skipped: locked" (not failed), no hook runs, the
# metric says 2, the tick exits 0 and `coffer job run` exits 11; the next
# tick after the lock is released runs the job.  A prune run waits behind
# a shared lock (a running snapshot) the same way.
. "$(dirname "$0")/lib.sh"

need python3
cd "$T"
export COFFER_TEST_WEAK_KDF=1

R=$T/repo
M=$T/metrics.prom
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
mkdir src
head -c 200000 /dev/urandom >src/data

cat >"$T/coffer.conf" <<CONF
[global]
state_dir = $T/state
metrics_file = $M
lock_wait = 1h

[repository local]
path = $R
password_file = $T/key

[source etc]
type = files
paths = $T/src

[job nightly]
sources = etc
repository = local
schedule = daily 02:00
timezone = UTC
keep_last = 3
lock_wait = 2s
on_failure = echo "failed \$COFFER_STEP" >>$T/hook.log
on_success = echo "ok \$COFFER_STEP" >>$T/hook.log

[job weekly]
sources = etc
repository = local
prune_schedule = Sun 04:00
timezone = UTC
lock_wait = 2s
CONF
chmod 0600 "$T/coffer.conf"
C="-c $T/coffer.conf"

# How many runs of job $1 of kind $2 have status $3 (any: "").
runs() {
	"$COFFER" -c "$T/coffer.conf" scheduler history "$1" --json >"$T/h.json"
	python3 - "$T/h.json" "$2" "$3" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(1 for r in runs
          if r["kind"] == sys.argv[2] and sys.argv[3] in ("", r["status"])))
PY
}

# Hold the repository's lock ($1: shared or exclusive) until release.
hold() {
	rm -f "$T/hold.in" "$T/hold.out"
	mkfifo "$T/hold.in"
	"$TOOLS/holdlock" "$R" "$1" <"$T/hold.in" >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	exec 3>"$T/hold.in"
	wait_for 10 "the lock held" grep -q '^locked$' "$T/hold.out"
}
release() {
	exec 3>&-
	wait "$HOLD_PID" || fail "holdlock: $(cat "$T/hold.out")"
}

# ---------------------------------------- a job behind an exclusive lock
hold exclusive
t0=$(date +%s)
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --job nightly \
    --now 2026-01-05T03:00:00Z
t1=$(date +%s)
[ $((t1 - t0)) -ge 2 ] || fail "the job did not wait lock_wait (2s)"
[ $((t1 - t0)) -lt 60 ] || fail "the job waited [global] lock_wait (1h)?"
expect_grep 'job nightly: snapshot skipped: locked: repository .* is locked: exclusive lock .*holdlock.* \(waited 2 s\)' "$T/err"
expect_grep 'job nightly: skipped: locked \(run [0-9]+; the next tick tries again\)' "$T/err"
expect_eq "skipped runs" 1 "$(runs nightly job skipped)"
expect_eq "failed runs" 0 "$(runs nightly job failed)"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler history nightly
expect_grep '^nightly .* skipped .*\(schedule, run' "$T/out"
expect_grep '^  snapshot +skipped .* locked: repository .* is locked' "$T/out"
expect_grep '^  forget +skipped .* locked: the snapshot was skipped: the repository is locked' "$T/out"
[ ! -e "$T/hook.log" ] || fail "a hook ran for a locked run: $(cat "$T/hook.log")"
expect_grep '^coffer_job_last_status\{job="nightly",step="snapshot"\} 2$' "$M"
expect_grep '^coffer_job_last_status\{job="nightly",step="forget"\} 2$' "$M"
# Not a success, and not a run either.
if grep -q '^coffer_job_last_run_timestamp_seconds{job="nightly"}' "$M" &&
    ! grep -q '^coffer_job_last_run_timestamp_seconds{job="nightly"} 0$' "$M"; then
	fail "a locked run moved the last run: $(grep nightly "$M")"
fi
expect_grep '^coffer_job_last_success_timestamp_seconds\{job="nightly"\} 0$' "$M"
# By hand: exit 11, said on one line.
# shellcheck disable=SC2086
expect_status 11 "$COFFER" $C job run nightly
expect_grep '^job nightly: skipped: the repository is locked$' "$T/out"
expect_grep '^  snapshot +skipped .*locked: repository ' "$T/out"
# Still due: the next tick in the same due time tries again.  (Overdue,
# exit 14: it never succeeded.)
# shellcheck disable=SC2086
expect_status 14 "$COFFER" $C scheduler status --now 2026-01-05T03:01:00Z
expect_grep 'due now: the next tick runs it' "$T/out"
expect_eq "snapshots while locked" 0 "$(find "$R" -path '*/snapshots/*' -type f | wc -l)"

# Released: the next tick runs the job, for the same due time.
release
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --job nightly \
    --now 2026-01-05T03:02:00Z
# (A skipped run is no run: the job still has none recorded.)
expect_grep 'job nightly: due: no run of it is recorded \(due time 2026-01-05' "$T/err"
expect_grep 'job nightly: ok' "$T/err"
expect_eq "ok runs" 1 "$(runs nightly job ok)"
expect_eq "on_success after the release" "ok " "$(cat "$T/hook.log")"
expect_grep '^coffer_job_last_status\{job="nightly",step="snapshot"\} 1$' "$M"
# Done for the due time: no more.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --job nightly \
    --now 2026-01-05T03:03:00Z
expect_eq "ok runs after one more tick" 1 "$(runs nightly job ok)"

# ---------------------------------------- a prune behind a shared lock
# A snapshot holds a shared lock: a prune (exclusive) waits, then skips.
hold shared
# shellcheck disable=SC2086
expect_status 11 "$COFFER" $C job run weekly --prune
expect_grep '^prune weekly: skipped: the repository is locked$' "$T/out"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --job weekly \
    --now 2026-01-11T05:00:00Z
expect_grep 'prune weekly: skipped: locked \(run [0-9]+; the next tick tries again\)' "$T/err"
expect_eq "skipped prune runs" 2 "$(runs weekly prune skipped)"
expect_grep '^coffer_job_last_status\{job="weekly",step="prune"\} 2$' "$M"
release
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --job weekly \
    --now 2026-01-11T05:01:00Z
expect_grep 'prune weekly: ok' "$T/err"
expect_eq "ok prune runs" 1 "$(runs weekly prune ok)"
expect_grep '^coffer_job_last_status\{job="weekly",step="prune"\} 1$' "$M"

# The snapshot taken after the wait restores byte for byte.
expect_status 0 "$COFFER" check -r "$R" --password-file "$T/key" --read-data
expect_status 0 "$COFFER" restore -r "$R" --password-file "$T/key" latest \
    --target "$T/got"
expect_same "$T/src/data" "$T/got/etc$T/src/data"
