#!/bin/sh
# Drills on the scheduler (issues 13 + 12), with a files source and a
# directory target: a due drill is run by tick once per due time (--now)
# and recorded with its RTO and RPO (history --json, status --json, drill
# list); a held drill lock makes the tick record "skipped: still running";
# a failing drill makes status exit 14; the metrics file (promtool-checked)
# has the drill families, last_status 0 after the failure and
# last_success unchanged; coffer drill run is recorded the same way.
# e2e: long
. "$(dirname "$0")/lib.sh"

need python3 promtool flock
cd "$T"
export COFFER_TEST_WEAK_KDF=1

expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"
mkdir -p src
echo hello >src/a
head -c 20000 /dev/urandom >src/b
M=$T/textfile/coffer.prom
mkdir -p textfile
cat >coffer.conf <<EOF
[global]
state_dir = $T/state
metrics_file = $M

[repository local]
path = $T/repo
password_file = $T/key

[source files]
type = files
paths = $T/src

[drill weekly]
repository = local
source = files
target = $T/tgt
schedule = Sun 05:00
max_rpo = 3650d

[drill byhand]
repository = local
source = files
target = $T/tgt
checks = test -e "\$COFFER_DRILL_TARGET/nope"
EOF
chmod 600 coffer.conf
C="-c $T/coffer.conf"

# The drill's schedule is acted on now: no warning.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C config check
if grep -q 'not acted on' "$T/err"; then
	fail "config check still warns: $(cat "$T/err")"
fi
expect_status 0 "$COFFER" snapshot -c coffer.conf -r local --source files

# drills NAME STATUS: how many runs of drill NAME with STATUS ("": any).
drills() {
	"$COFFER" -c "$T/coffer.conf" scheduler history "$1" --json >"$T/h.json"
	python3 - "$T/h.json" "$2" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(sum(1 for r in runs if r["kind"] == "drill"
          and sys.argv[2] in ("", r["status"])))
PY
}

# The ticks' --now: days after a Wednesday a week ahead, so that the
# snapshot (taken now) is older than every drill (RPO >= 0).
base=$(date -d 'next wednesday' +%F)
day() { date -d "$base + $(($1 + 7)) days" +%F; }

# ------------------------------------------------ due once, recorded
# Never run: due at the first tick (a Wednesday).
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now "$(day 0)T12:00:00"
expect_grep 'drill weekly: due: no run of it is recorded' "$T/err"
expect_grep 'drill weekly: ok \(run [0-9]+\)' "$T/err"
[ ! -e "$T/tgt" ] || fail "the drill left its target"
# byhand has no schedule: never run by a tick.
if grep -q 'drill byhand' "$T/err"; then fail "byhand ran: $(cat "$T/err")"; fi
expect_eq "drill runs after the first tick" 1 "$(drills weekly ok)"
# The same slot: nothing.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now "$(day 1)T12:00:00"
if grep -q 'drill weekly' "$T/err"; then
	fail "second tick in the slot: $(cat "$T/err")"
fi
expect_eq "drill runs in one slot" 1 "$(drills weekly '')"
# Sunday 05:00 passed: due again, once.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now "$(day 4)T05:01:00"
expect_grep "drill weekly: due at $(day 4) 05:00" "$T/err"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now "$(day 4)T05:02:00"
expect_eq "drill runs after Sunday" 2 "$(drills weekly ok)"
# Recorded as a drill, with its stages, RTO and RPO.
python3 - "$T/h.json" <<'PY' || fail "history --json: $(cat "$T/h.json")"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
r = runs[-1]
assert r["kind"] == "drill" and r["job"] == "weekly", r
assert r["trigger"] == "schedule" and r["slot"], r
assert isinstance(r["rto"], float) and r["rto"] >= 0, r
assert isinstance(r["rpo"], int) and r["rpo"] >= 0, r
assert len(r["snapshot"]) == 64, r
assert [s["step"] for s in r["steps"]] == \
    ["restore", "verify", "sql_check", "check", "rto", "rpo"], r
assert r["steps"][0]["status"] == "ok" and r["steps"][0]["bytes"] > 20000, r
PY
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler history
expect_grep '^drill weekly .* ok .*\(schedule, run [0-9]+, .*\)  RTO [0-9.]+ s, RPO ' \
    "$T/out"

# ------------------------------------------------ still running
# Next Sunday, while another run holds the drill's lock: skipped, once.
flock "$T/state/drill-weekly.lock" sleep 4 &
holder=$!
sleep 0.5
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now "$(day 11)T06:00:00"
expect_grep 'drill weekly: skipped: still running' "$T/err"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now "$(day 11)T06:01:00"
wait "$holder"
expect_eq "skips recorded" 1 "$(drills weekly skipped)"
expect_eq "runs while locked" 2 "$(drills weekly ok)"
# Free again: the slot is run.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now "$(day 11)T06:02:00"
expect_eq "runs after the lock" 3 "$(drills weekly ok)"

# ------------------------------------------------ status, list, metrics
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler status --json --now "$(day 11)T07:00:00"
next=$(date -d "$(day 18) 05:00" +%s)
python3 - "$T/out" "$next" <<'PY' || fail "status --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
w = [x for x in d["drills"] if x["drill"] == "weekly"][0]
assert w["last_run"]["status"] == "ok", w
assert w["last_run"]["rto"] >= 0 and w["last_run"]["rpo"] >= 0, w
assert w["rpo"] is not None and w["rpo"] >= 0, w
assert not w["due"] and not w["overdue"] and not w["failed"], w
assert w["next_due"] == int(sys.argv[2]), w
b = [x for x in d["drills"] if x["drill"] == "byhand"][0]
assert b["last_run"] is None and not b["overdue"], b
PY
promtool check metrics <"$M" >"$T/promtool.out" 2>&1 ||
	fail "promtool: $(cat "$T/promtool.out")"
expect_grep '^coffer_drill_last_status\{drill="weekly"\} 1$' "$M"
expect_grep '^coffer_drill_rto_seconds\{drill="weekly"\} [0-9.e-]+$' "$M"
expect_grep '^coffer_drill_rpo_seconds\{drill="weekly"\} [0-9]+$' "$M"
ok_ts=$(sed -n 's/^coffer_drill_last_success_timestamp_seconds{drill="weekly"} //p' "$M")
[ "${ok_ts:-0}" -gt 0 ] || fail "no last success: $(cat "$M")"

# ------------------------------------------------ a failing drill
# coffer drill run records it the same way; status exits 14.
expect_status 14 "$COFFER" drill run -c coffer.conf byhand
expect_eq "byhand runs" 1 "$(drills byhand failed)"
# shellcheck disable=SC2086
expect_status 14 "$COFFER" $C scheduler status --now "$(day 11)T07:00:00"
expect_grep '^drill byhand +FAILED' "$T/out"
expect_grep '^  last run .* failed at check' "$T/out"
promtool check metrics <"$M" >"$T/promtool.out" 2>&1 ||
	fail "promtool: $(cat "$T/promtool.out")"
expect_grep '^coffer_drill_last_status\{drill="byhand"\} 0$' "$M"
expect_grep '^coffer_drill_last_success_timestamp_seconds\{drill="byhand"\} 0$' "$M"
expect_grep '^coffer_drill_last_status\{drill="weekly"\} 1$' "$M"
expect_grep "^coffer_drill_last_success_timestamp_seconds\{drill=\"weekly\"\} $ok_ts\$" "$M"

# A failing scheduled drill: the tick exits 14, last_success stays.
sed -i 's|^max_rpo = 3650d$|max_rpo = 1s|' coffer.conf
sleep 1.1
# shellcheck disable=SC2086
expect_status 14 "$COFFER" $C scheduler tick --now "$(day 18)T06:00:00"
expect_grep 'drill weekly: failed \(run [0-9]+\): rpo: ' "$T/err"
expect_grep '^coffer_drill_last_status\{drill="weekly"\} 0$' "$M"
expect_grep "^coffer_drill_last_success_timestamp_seconds\{drill=\"weekly\"\} $ok_ts\$" "$M"
# shellcheck disable=SC2086
expect_status 14 "$COFFER" $C scheduler status --json --now "$(day 18)T07:00:00"
python3 - "$T/out" <<'PY' || fail "status --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
w = [x for x in d["drills"] if x["drill"] == "weekly"][0]
assert w["failed"] and w["last_run"]["failed_stage"] == "rpo", w
PY

# ------------------------------------------------ drill list
expect_status 0 "$COFFER" drill list -c coffer.conf
expect_grep '^weekly +FAILED ' "$T/out"
expect_grep '^byhand +FAILED .* by hand$' "$T/out"
expect_status 0 "$COFFER" drill list --json -c coffer.conf
python3 - "$T/out" <<'PY' || fail "drill list --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
names = [x["drill"] for x in d["drills"]]
assert names == ["weekly", "byhand"], names
w = d["drills"][0]
assert w["last_status"] == "failed" and w["rto"] >= 0, w
assert w["rpo"] >= 0 and w["last_success"], w
PY

# ------------------------------------------------ a killed drill, reaped by any tick
# kill -9 of a drill run that has restored (its checks are running): the
# next tick, with no drill due, marks the run interrupted and removes its
# work directory and what it restored.
cat >>coffer.conf <<EOF2

[drill slow]
repository = local
source = files
target = $T/slowtgt
checks = touch "$T/checking"; exec sleep 30
EOF2
"$COFFER" drill run -c coffer.conf slow >"$T/slow.out" 2>&1 &
slow=$!
wait_for 30 "the slow drill's checks" test -e "$T/checking"
kill -9 "$slow"
wait "$slow" 2>/dev/null || true
[ -e "$T/slowtgt/$T/src/a" ] || [ -n "$(ls -A "$T/slowtgt")" ] ||
	fail "the slow drill restored nothing: $(cat "$T/slow.out")"
expect_eq "slow runs running" 1 "$(drills slow running)"
[ -n "$(find "$TMPDIR" -maxdepth 1 -name 'coffer-drill-slow.*')" ] ||
	fail "the killed drill left no work directory to reap"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now "$(day 19)T06:00:00"
expect_grep 'drill slow: removed the work directory' "$T/err"
expect_eq "slow runs running" 0 "$(drills slow running)"
expect_eq "slow runs failed" 1 "$(drills slow failed)"
"$COFFER" -c "$T/coffer.conf" scheduler history slow --json >"$T/h.json"
expect_grep '"interrupted' "$T/h.json"
left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'coffer-*')
[ -z "$left" ] || fail "the tick left the killed drill's $left"
[ ! -e "$T/slowtgt" ] || fail "the tick left what the killed drill restored"
[ -z "$(e2e_pids_under "$TMPDIR")" ] ||
	fail "processes still work in $TMPDIR"
