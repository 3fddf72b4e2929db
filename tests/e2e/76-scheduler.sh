#!/bin/sh
# coffer scheduler tick | status | run (issue 12), against file and
# command sources: a tick runs a job that never ran, then only when a due
# time has passed and is not run (a second tick in the same slot does
# nothing); after several missed due times it runs once and says how many
# it missed; two ticks at once run the job once and the other records
# "skipped: still running"; a job run killed with -9 is marked crashed by
# the next tick; status gives the next due time exactly, flags an overdue
# job and exits 14; the daemon runs a due job, reloads on SIGHUP and on
# SIGTERM stops the running step, records it and exits 0.
. "$(dirname "$0")/lib.sh"

need python3
cd "$T"
export COFFER_TEST_WEAK_KDF=1

R=$T/repo
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
mkdir src
echo hello >src/small

cat >"$T/coffer.conf" <<CONF
[global]
state_dir = $T/state

[repository local]
path = $R
password_file = $T/key

[source etc]
type = files
paths = $T/src

[job nightly]
sources = etc
repository = local
schedule = daily 02:30
timezone = Europe/Berlin

[job byhand]
sources = etc
repository = local
CONF
# The slow job in a file of its own, sharing the state: status of
# coffer.conf is about nightly and byhand alone.
cat >"$T/slow.conf" <<CONF
[global]
state_dir = $T/state

[repository local]
path = $R
password_file = $T/key

[source slow]
type = command
command = sleep 3.3
name = slow

[job slow]
sources = slow
repository = local
schedule = hourly

[source hang]
type = command
command = sleep 33.3
name = hang

[job hang]
sources = hang
repository = local
CONF
chmod 0600 "$T/coffer.conf" "$T/slow.conf"
C="-c $T/coffer.conf"
S="-c $T/slow.conf"

# Unix seconds of a UTC time.
at() { date -u -d "$1" +%s; }

# How many runs of job $1 have status $2 (any status: "").
runs() {
	# shellcheck disable=SC2086
	"$COFFER" -c "$T/${3:-coffer}.conf" scheduler history "$1" --json \
	    >"$T/h.json"
	python3 - "$T/h.json" "$2" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(1 for r in runs if sys.argv[2] in ("", r["status"])))
PY
}

# schedule, timezone and jitter are acted on now: no warning.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C config check
if grep -q 'not acted on' "$T/err"; then
	fail "config check still warns: $(cat "$T/err")"
fi

# ------------------------------------------------ due, once per slot
# Never run: due at once, whatever the time (02:29 CEST, before 02:30).
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --job nightly \
    --now 2026-05-04T00:29:00Z
expect_grep 'job nightly: due: no run of it is recorded' "$T/err"
expect_eq "runs after the first tick" 1 "$(runs nightly ok)"
# Before 02:30: the run at 02:29 covers the slot of 3 May.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-05-04T00:29:30Z
expect_eq "runs before the due time" 1 "$(runs nightly '')"
if grep -q 'job nightly' "$T/err"; then
	fail "tick before the due time: $(cat "$T/err")"
fi
# 02:30 CEST = 00:30Z: due; a second tick in the same slot does nothing.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-05-04T00:30:00Z
expect_grep 'job nightly: due at 2026-05-04' "$T/err"
expect_grep 'job nightly: ok' "$T/err"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-05-04T00:31:00Z
if grep -q 'job nightly' "$T/err"; then
	fail "second tick in the slot: $(cat "$T/err")"
fi
expect_eq "runs in one slot" 2 "$(runs nightly '')"
# The schedule and trigger are recorded.
expect_grep '"trigger":"schedule"' "$T/h.json"

# ------------------------------------------------ catch-up, once
# Off from 4 May to 9 May noon: 5 due times (5..9 May), one run.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-05-09T12:00:00Z
expect_grep 'job nightly: due: 5 due times passed since its last run' \
    "$T/err"
expect_eq "runs after catch-up" 3 "$(runs nightly ok)"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-05-09T12:00:30Z
expect_eq "runs after a second catch-up tick" 3 "$(runs nightly '')"

# ------------------------------------------------ status
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler status --json \
    --now 2026-05-09T12:05:00Z
python3 - "$T/out" "$(at 2026-05-10T00:30:00Z)" "$(at 2026-05-09T12:00:00Z)" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
j = {x["job"]: x for x in d["jobs"]}
n = j["nightly"]
assert n["next_due"] == int(sys.argv[2]), n
assert n["last_success"] == int(sys.argv[3]), n
assert n["rpo"] == 300, n
assert n["overdue"] is False and n["failed"] is False and n["due"] is False, n
assert n["last_run"]["status"] == "ok", n
assert n["interval"] == 86400 and n["timezone"] == "Europe/Berlin", n
assert j["byhand"]["schedule"] is None and j["byhand"]["overdue"] is False, j
PY
	fail "status --json: $(cat "$T/out")"
# 36 h (1.5 x a day) after the last success: not yet; one second more:
# overdue, exit 14.  The due time of 10 May is not run: due now.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler status --now 2026-05-11T00:00:00Z
# shellcheck disable=SC2086
expect_status 14 "$COFFER" $C scheduler status --now 2026-05-11T00:00:01Z
expect_grep '^nightly  OVERDUE' "$T/out"
expect_grep 'OVERDUE: no successful run for 1d 12h' "$T/out"
# shellcheck disable=SC2086
expect_status 14 "$COFFER" $C scheduler status --json \
    --now 2026-05-11T00:00:01Z
python3 - "$T/out" "$(at 2026-05-10T00:30:00Z)" <<'PY' ||
import json, sys
j = {x["job"]: x for x in json.load(open(sys.argv[1]))["jobs"]}
n = j["nightly"]
assert n["overdue"] is True and n["due"] is True, n
assert n["next_due"] == int(sys.argv[2]), n
assert n["rpo"] == 36 * 3600 + 1, n
PY
	fail "status --json, overdue: $(cat "$T/out")"

# ------------------------------------------------ two ticks at once
# shellcheck disable=SC2086
"$COFFER" $S scheduler tick --job slow --now 2026-05-04T10:00:00Z \
    >"$T/a.out" 2>"$T/a.err" &
a=$!
# shellcheck disable=SC2086
"$COFFER" $S scheduler tick --job slow --now 2026-05-04T10:00:00Z \
    >"$T/b.out" 2>"$T/b.err" &
b=$!
wait "$a" || fail "tick a: $? $(cat "$T/a.err")"
wait "$b" || fail "tick b: $? $(cat "$T/b.err")"
expect_eq "runs of two ticks" 1 "$(runs slow ok slow)"
expect_eq "skips of two ticks" 1 "$(runs slow skipped slow)"
cat "$T/a.err" "$T/b.err" >"$T/ab.err"
expect_grep 'job slow: skipped: still running \(pid [0-9]+ since ' "$T/ab.err"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $S scheduler history slow
expect_grep '^slow .* skipped: still running \(pid ' "$T/out"

# ------------------------------------------------ kill -9 -> crashed
# shellcheck disable=SC2086
"$COFFER" $S job run hang >"$T/k.out" 2>"$T/k.err" &
k=$!
recorded() {
	# shellcheck disable=SC2086
	"$COFFER" $S scheduler history hang | grep -Eq ' running +\(manual'
}
i=0
until recorded; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || {
		# shellcheck disable=SC2086
		"$COFFER" $S scheduler history hang >"$T/h.out" 2>&1
		fail "job run hang not recorded: $(cat "$T/k.err") / history: $(cat "$T/h.out")"
	}
	sleep 0.1
done
t0=$(date +%s)
kill -9 "$k"
wait "$k" 2>/dev/null || true
# Its worker stops with it (SIGTERM on its parent's death), long before
# its sleep 33.3 would end.
wait_for 60 "the worker's end" sh -c '! pgrep -fx "sleep 33.3" >/dev/null'
took=$(($(date +%s) - t0))
[ "$took" -lt 20 ] || fail "the worker outlived its recorder by $took s"
expect_eq "running after kill -9" 1 "$(runs hang running slow)"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $S scheduler tick --now 2026-05-04T10:30:00Z
expect_grep "job hang: run [0-9]+ started .* crashed: .*process $k running it is gone" \
    "$T/err"
expect_eq "running after the tick" 0 "$(runs hang running slow)"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $S scheduler history hang
expect_grep '^hang .* failed: crashed: ended without recording its result' \
    "$T/out"
# A crashed last run makes status say so.
# shellcheck disable=SC2086
expect_status 14 "$COFFER" $S scheduler status --json \
    --now 2026-05-04T10:31:00Z
python3 - "$T/out" <<'PY' || fail "status after crash: $(cat "$T/out")"
import json, sys
j = {x["job"]: x for x in json.load(open(sys.argv[1]))["jobs"]}
s = j["hang"]
assert s["failed"] is True and s["last_run"]["error_class"] == "crashed", s
PY

# ------------------------------------------------ usage
# shellcheck disable=SC2086
expect_status 2 "$COFFER" $C scheduler tick --job byhand
expect_grep 'job byhand has no schedule' "$T/err"
# shellcheck disable=SC2086
expect_status 2 "$COFFER" $C scheduler tick --job nosuch
# shellcheck disable=SC2086
expect_status 2 "$COFFER" $C scheduler tick --now yesterday
# shellcheck disable=SC2086
expect_status 2 "$COFFER" $C scheduler history --now 2026-05-04T00:00:00Z
expect_grep 'does not go with' "$T/err"
# shellcheck disable=SC2086
expect_status 2 "$COFFER" $C scheduler frobnicate

# ------------------------------------------------ the daemon
cat >"$T/d.conf" <<CONF
[global]
state_dir = $T/dstate

[repository local]
path = $R
password_file = $T/key

[source etc]
type = files
paths = $T/src

[source long]
type = command
command = sleep 37
name = long

[job often]
sources = etc
repository = local
schedule = * * * * *

[job long]
sources = long
repository = local
schedule = hourly
CONF
chmod 0600 "$T/d.conf"
"$COFFER" -c "$T/d.conf" scheduler run >"$T/d.out" 2>"$T/d.err" &
d=$!
# Both never ran: due at once, one after the other; long blocks in sleep.
wait_for 20 "often's first run" grep -q 'job often: ok' "$T/d.err"
wait_for 20 "long's step" grep -q 'job long: snapshot' "$T/d.err"
kill -HUP "$d"
sleep 0.5
e2e_alive "$d" || fail "SIGHUP ended the daemon: $(cat "$T/d.err")"
kill -TERM "$d"
st=0
wait "$d" || st=$?
expect_eq "daemon exit status on SIGTERM" 0 "$st"
expect_grep 'scheduler: stopped by a signal' "$T/d.err"
if pgrep -fx 'sleep 37' >/dev/null; then
	fail "the step's sleep 37 still runs"
fi
# The interrupted run is recorded, nothing is left "running".
"$COFFER" -c "$T/d.conf" scheduler history --json >"$T/dh.json"
python3 - "$T/dh.json" <<'PY' || fail "daemon history: $(cat "$T/dh.json")"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
st = {(r["job"], r["status"]) for r in runs}
assert ("often", "ok") in st, runs
assert ("long", "failed") in st, runs
assert not any(r["status"] == "running" for r in runs), runs
PY
# SIGHUP while sleeping reloads the config.
"$COFFER" -c "$T/d.conf" scheduler run >"$T/d2.out" 2>"$T/d2.err" &
d=$!
wait_for 20 "the daemon's start" grep -q 'scheduler: started' "$T/d2.err"
kill -HUP "$d"
wait_for 20 "the reload" grep -q 'scheduler: configuration reloaded' "$T/d2.err"
kill -TERM "$d"
st=0
wait "$d" || st=$?
expect_eq "daemon exit status" 0 "$st"
