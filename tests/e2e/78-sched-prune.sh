#!/bin/sh
# A job's prune_schedule (issue 12): the tick prunes the job's repository
# once per due time, as a run of its own (kind "prune", step "prune") with
# the job's hooks and metrics; a snapshot forgotten by the job's keep_last
# has its packs marked by the first prune after, and deleted by the next
# (COFFER_PRUNE_MARGIN=0s stands in for the margin); a second job on the
# same repository does not prune it again for the same due time;
# `coffer job run NAME --prune` prunes now; check --read-data stays clean
# and the kept snapshot restores byte for byte.
. "$(dirname "$0")/lib.sh"

need python3
cd "$T"
export COFFER_TEST_WEAK_KDF=1
export COFFER_PRUNE_MARGIN=0s

R=$T/repo
M=$T/metrics.prom
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
mkdir src
head -c 300000 /dev/urandom >src/data

cat >"$T/coffer.conf" <<CONF
[global]
state_dir = $T/state
metrics_file = $M

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
prune_schedule = Sun 04:00
timezone = UTC
keep_last = 1
on_success = echo "\$COFFER_JOB \$COFFER_STATUS \$COFFER_STEP" >>$T/hook.log

[job other]
sources = etc
repository = local
prune_schedule = Sun 04:00
timezone = UTC
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

packs() { find "$R/data" -type f | sort; }

# prune_schedule is acted on now: no warning.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C config check
if grep -q 'not acted on' "$T/err"; then
	fail "config check still warns: $(cat "$T/err")"
fi

# Sunday 4 January 2026, 05:00 UTC: nothing ran yet, so the job and its
# prune are both due (the first tick after they were added).
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-01-04T05:00:00Z
expect_grep 'job nightly: ok' "$T/err"
expect_grep 'prune nightly: due: no run of it is recorded' "$T/err"
expect_grep 'prune nightly: ok' "$T/err"
# other has no schedule but a prune_schedule: nightly just pruned its
# repository for this due time, so other does not.
if grep -q 'prune other: ok' "$T/err"; then
	fail "the repository was pruned twice for one due time: $(cat "$T/err")"
fi
expect_eq "prune runs of nightly" 1 "$(runs nightly prune ok)"
expect_eq "prune runs of other" 0 "$(runs other prune '')"
expect_eq "job runs of nightly" 1 "$(runs nightly job ok)"
packs >"$T/packs1"

# Monday 03:00: the job is due (daily 02:00), the prune is not.  keep_last
# = 1 forgets the first snapshot, whose data no longer is in the source.
head -c 300000 /dev/urandom >src/data
cp src/data "$T/want"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-01-05T03:00:00Z
expect_grep 'job nightly: ok' "$T/err"
if grep -q 'prune nightly: \(due\|ok\)' "$T/err"; then
	fail "prune ran before its due time: $(cat "$T/err")"
fi
expect_eq "prune runs on Monday" 1 "$(runs nightly prune '')"
expect_eq "job runs on Monday" 2 "$(runs nightly job ok)"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C snapshots -r local --json
n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/out")
expect_eq "snapshots kept" 1 "$n"
# The forgotten snapshot's own packs (the first snapshot's) are still
# there: only prune collects.
comm -23 "$T/packs1" "$(packs >"$T/packs2"; echo "$T/packs2")" >"$T/gone"
[ ! -s "$T/gone" ] || fail "packs went before any prune: $(cat "$T/gone")"

# Sunday 11 January 05:00: the job and the prune are due.  The prune
# marks the forgotten snapshot's packs (phase 1); they stay for now.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-01-11T05:00:00Z
expect_grep 'prune nightly: due at 2026-01-11' "$T/err"
expect_grep 'prune nightly: ok' "$T/err"
expect_eq "prune runs after the 2nd due time" 2 "$(runs nightly prune ok)"
for p in $(cat "$T/packs1"); do
	[ -f "$p" ] || fail "pack $p deleted by the prune that marked it"
done
# Again in the same due time: nothing runs (once per due time).
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-01-11T06:00:00Z
if grep -q 'prune \(nightly\|other\): ok' "$T/err"; then
	fail "a second prune in one due time: $(cat "$T/err")"
fi
expect_eq "prune runs after a 2nd tick" 2 "$(runs nightly prune '')"

# Sunday 18 January: the next prune is past the margin: the first
# snapshot's packs are gone.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler tick --now 2026-01-18T05:00:00Z
expect_grep 'prune nightly: ok' "$T/err"
expect_eq "prune runs after the 3rd due time" 3 "$(runs nightly prune ok)"
gone=0
for p in $(cat "$T/packs1"); do
	[ -f "$p" ] || gone=$((gone + 1))
done
[ "$gone" -ge 1 ] || fail "no pack of the forgotten snapshot was deleted"
# The history says what the prune step did; the hook knew it was a prune.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler history nightly
expect_grep '^prune nightly .* ok .*\(schedule, run' "$T/out"
expect_grep '^  prune +ok .*pruned: [1-9][0-9]* packs? deleted' "$T/out"
expect_grep '^nightly ok prune$' "$T/hook.log"
expect_grep '^nightly ok $' "$T/hook.log"
# Metrics: the prune step has its series; the job's last success is the
# job's own run's (a prune run does not move it).
expect_grep '^coffer_job_last_status\{job="nightly",step="prune"\} 1$' "$M"
expect_grep '^coffer_job_duration_seconds\{job="nightly",step="prune"\} ' "$M"
expect_grep '^coffer_job_last_status\{job="nightly",step="snapshot"\} 1$' "$M"

# By hand: coffer job run other --prune prunes now, recorded as other's.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C job run other --prune
expect_grep '^prune other: ok' "$T/out"
expect_grep '^  prune +ok ' "$T/out"
expect_eq "manual prune runs of other" 1 "$(runs other prune ok)"
# A prune does not stand for the job's run: no job run of other.
expect_eq "job runs of other" 0 "$(runs other job '')"

# The repository is whole, and the kept snapshot restores exactly.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C check -r local --read-data
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C restore -r local latest --target "$T/got"
expect_same "$T/want" "$T/got/etc$T/src/data"
