#!/bin/sh
# The metrics file and scheduler install (issue 12).  A job run (files
# source, local repository, replicate to a local copy) writes [global]
# metrics_file: promtool accepts it, and its values are the ones just
# measured (history's times and durations, the job's bytes, the
# repositories' snapshots and sizes, the replication lag); it was
# rewritten between steps (the hook sees this run's steps before the run
# is recorded); a failing run leaves last_success where it was and sets
# status 0; a cut target makes the lag the gap between the snapshots.
# `scheduler install --cron` prints a crontab line and --write is
# idempotent and refuses to replace a different file; `--systemd --write`
# units pass systemd-analyze verify.
. "$(dirname "$0")/lib.sh"

need promtool jq systemd-analyze
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1

R=$T/repo
O=$T/offsite
M=$T/textfile/coffer.prom
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
mkdir src textfile
head -c 300000 /dev/urandom >src/big
echo hello >src/small

cat >"$T/coffer.conf" <<CONF
[global]
state_dir = $T/state
metrics_file = $M

[repository local]
path = $R
password_file = $T/key

[repository offsite]
path = $O
password_file = $T/key

[source etc]
type = files
paths = $T/src

[job nightly]
sources = etc
repository = local
replicate = offsite
check = 100%
on_success = cp $M $T/hook.prom
on_failure = cp $M $T/hook.prom
CONF
chmod 0600 "$T/coffer.conf"
C="-c $T/coffer.conf"

# metric NAME LABELS: the value of one series of $M (fails when absent).
metric() {
	local v
	v=$(awk -v k="$1{$2}" '$1 == k { print $2 }' "${3:-$M}")
	[ -n "$v" ] || fail "no $1{$2} in ${3:-$M}: $(cat "${3:-$M}")"
	echo "$v"
}
# The numbers are equal to 1e-6 (durations are printed with 9 digits).
expect_near() {
	awk -v a="$2" -v b="$3" 'BEGIN { d = a - b; exit !(d < 1e-6 && d > -1e-6) }' ||
		fail "$1: want $2, got $3"
}
snapcount() {
	"$COFFER" snapshots -r "$1" --password-file "$T/key" --json | jq length
}
# Bytes of a repository's files but locks/ and temp files.
repo_bytes() {
	find "$1" -type f ! -path "$1/locks/*" ! -name '.*' -printf '%s\n' |
	    awk '{ s += $1 } END { print s + 0 }'
}
# A history field of the newest run of nightly.
hist() {
	# shellcheck disable=SC2086
	"$COFFER" $C scheduler history nightly --json | tail -n 1 | jq -r "$1"
}

# ------------------------------------------------ no key, no file
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C config check

# ------------------------------------------------ a good run
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C job run nightly --json
cp "$T/out" "$T/run1.json"
[ -f "$M" ] || fail "no metrics file after a run"
[ "$(stat -c %a "$M")" = 644 ] || fail "mode $(stat -c %a "$M")"
if ! promtool check metrics <"$M" >"$T/promtool.out" 2>&1; then
	fail "promtool: $(cat "$T/promtool.out")"
fi
started=$(hist .started)
ended=$(hist .ended)
ls1=$(metric coffer_job_last_success_timestamp_seconds 'job="nightly"')
[ "$ls1" -ge "$started" ] && [ "$ls1" -le "$ended" ] ||
	fail "last_success $ls1 not in [$started, $ended]"
expect_eq "last_run" "$started" \
    "$(metric coffer_job_last_run_timestamp_seconds 'job="nightly"')"
for s in snapshot replicate check; do
	expect_eq "status of $s" 1 \
	    "$(metric coffer_job_last_status "job=\"nightly\",step=\"$s\"")"
	expect_near "duration of $s" \
	    "$(hist ".steps[] | select(.step == \"$s\") | .duration")" \
	    "$(metric coffer_job_duration_seconds "job=\"nightly\",step=\"$s\"")"
done
# No forget configured: no series for it.
if grep -q 'step="forget"' "$M"; then
	fail "a series for an unconfigured step: $(cat "$M")"
fi
bytes=$(jq '.steps[] | select(.step == "snapshot") | .bytes' "$T/run1.json")
[ "$bytes" -gt 300000 ] || fail "snapshot bytes $bytes"
expect_eq "added bytes" "$bytes" \
    "$(metric coffer_snapshot_added_bytes 'job="nightly"')"
expect_eq "local snapshots" "$(snapcount "$R")" \
    "$(metric coffer_repository_snapshots 'repository="local"')"
expect_eq "offsite snapshots" "$(snapcount "$O")" \
    "$(metric coffer_repository_snapshots 'repository="offsite"')"
expect_eq "local size" "$(repo_bytes "$R")" \
    "$(metric coffer_repository_size_bytes 'repository="local"')"
expect_eq "offsite size" "$(repo_bytes "$O")" \
    "$(metric coffer_repository_size_bytes 'repository="offsite"')"
expect_eq "lag" 0 "$(metric coffer_replicate_lag_seconds 'job="nightly"')"

# Rewritten after each step: the hook runs after the steps and before the
# run is recorded, and sees this run's steps and start, and no success yet.
H=$T/hook.prom
expect_eq "mid-run last_run" "$started" \
    "$(metric coffer_job_last_run_timestamp_seconds 'job="nightly"' "$H")"
expect_eq "mid-run last_success" 0 \
    "$(metric coffer_job_last_success_timestamp_seconds 'job="nightly"' "$H")"
expect_eq "mid-run check" 1 \
    "$(metric coffer_job_last_status 'job="nightly",step="check"' "$H")"

# ------------------------------------------------ a cut target
# The target is a plain file now.  The second snapshot is stored (in a
# later second than the first), the replicate fails: the lag is the gap
# between the newest snapshot and the one the target holds.
old=$(ls "$R/snapshots")
oldm=$(stat -c %Y "$R/snapshots/$old")
wait_for 3 "the next second" sh -c "[ \$(date +%s) -gt $oldm ]"
mv "$O" "$O.away"
: >"$O"
echo two >src/small
# shellcheck disable=SC2086
expect_status 10 "$COFFER" $C job run nightly --json
promtool check metrics <"$M" >"$T/promtool.out" 2>&1 ||
	fail "promtool: $(cat "$T/promtool.out")"
new=$(ls "$R/snapshots" | grep -v "$old")
want=$(($(stat -c %Y "$R/snapshots/$new") - $(stat -c %Y "$R/snapshots/$old")))
[ "$want" -ge 1 ] || fail "mtimes: $want"
expect_eq "lag after a cut" "$want" \
    "$(metric coffer_replicate_lag_seconds 'job="nightly"')"
expect_eq "replicate status" 0 \
    "$(metric coffer_job_last_status 'job="nightly",step="replicate"')"
expect_eq "snapshot status" 1 \
    "$(metric coffer_job_last_status 'job="nightly",step="snapshot"')"
expect_eq "last_success kept" "$ls1" \
    "$(metric coffer_job_last_success_timestamp_seconds 'job="nightly"')"
expect_eq "local snapshots" 2 \
    "$(metric coffer_repository_snapshots 'repository="local"')"

# ------------------------------------------------ a failing snapshot
rm "$O"
mv "$O.away" "$O"
mv src src.gone
# shellcheck disable=SC2086
expect_status 1 "$COFFER" $C job run nightly --json
started3=$(hist .started)
expect_eq "last_success kept" "$ls1" \
    "$(metric coffer_job_last_success_timestamp_seconds 'job="nightly"')"
expect_eq "last_run" "$started3" \
    "$(metric coffer_job_last_run_timestamp_seconds 'job="nightly"')"
for s in snapshot replicate check; do
	expect_eq "status of $s" 0 \
	    "$(metric coffer_job_last_status "job=\"nightly\",step=\"$s\"")"
done
mv src.gone src
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C job run nightly
ls4=$(metric coffer_job_last_success_timestamp_seconds 'job="nightly"')
[ "$ls4" -ge "$ls1" ] && [ "$ls4" -ge "$(hist .started)" ] ||
	fail "last_success did not move: $ls1 -> $ls4"
expect_eq "lag caught up" 0 \
    "$(metric coffer_replicate_lag_seconds 'job="nightly"')"

# A metrics file that cannot be written is a warning, not a failure.
rm -r "$T/textfile"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C job run nightly
expect_grep 'metrics: .*coffer.prom' "$T/err"

# ------------------------------------------------ scheduler install
exe=$(readlink -f "$COFFER")
expect_status 0 "$COFFER" $C scheduler install --cron
grep -v -e '^#' -e '^[A-Z]*=' "$T/out" >"$T/lines"
[ "$(wc -l <"$T/lines")" -eq 1 ] || fail "cron lines: $(cat "$T/out")"
f='[0-9*][0-9*/,-]*'
expect_grep "^$f $f $f $f $f root $exe -c $T/coffer.conf scheduler tick\$" \
    "$T/lines"
expect_grep '^PATH=/' "$T/out"
expect_status 0 "$COFFER" $C scheduler install --cron --user
expect_grep "^$f $f $f $f $f $exe -c $T/coffer.conf scheduler tick\$" \
    "$T/out"
expect_status 2 "$COFFER" $C scheduler install --cron --user --write
expect_grep 'crontab -e' "$T/err"
expect_status 2 "$COFFER" $C scheduler install
expect_status 2 "$COFFER" $C scheduler install --cron --systemd
expect_status 2 "$COFFER" $C scheduler install --cron --root "$T/root"

# --write: into DIR/etc/cron.d, 0644, the printed text; twice is the same.
expect_status 0 "$COFFER" $C scheduler install --cron
cp "$T/out" "$T/cron.want"
expect_status 0 "$COFFER" $C scheduler install --cron --write --root "$T/root"
expect_grep "^wrote $T/root/etc/cron.d/coffer" "$T/out"
expect_same "$T/cron.want" "$T/root/etc/cron.d/coffer"
[ "$(stat -c %a "$T/root/etc/cron.d/coffer")" = 644 ] || fail "cron mode"
ino=$(stat -c %i "$T/root/etc/cron.d/coffer")
expect_status 0 "$COFFER" $C scheduler install --cron --write --root "$T/root"
expect_grep "^unchanged $T/root/etc/cron.d/coffer" "$T/out"
expect_eq "untouched" "$ino" "$(stat -c %i "$T/root/etc/cron.d/coffer")"
# A different file there is refused, and replaced only with --force.
echo '# mine' >>"$T/root/etc/cron.d/coffer"
expect_status 1 "$COFFER" $C scheduler install --cron --write --root "$T/root"
expect_grep 'exists and differs.*--force' "$T/err"
expect_grep '^# mine' "$T/root/etc/cron.d/coffer"
expect_status 0 "$COFFER" $C scheduler install --cron --write --force \
    --root "$T/root"
expect_same "$T/cron.want" "$T/root/etc/cron.d/coffer"

# systemd: the units pass systemd-analyze verify, with the man page the
# units name found in the source tree.
expect_status 0 "$COFFER" $C scheduler install --systemd --write --root "$T/root"
expect_grep 'systemctl daemon-reload && systemctl enable --now coffer-scheduler.timer' \
    "$T/out"
U=$T/root/etc/systemd/system
for u in service timer; do
	[ "$(stat -c %a "$U/coffer-scheduler.$u")" = 644 ] || fail "$u mode"
done
expect_grep "^ExecStart=$exe -c $T/coffer.conf scheduler tick\$" \
    "$U/coffer-scheduler.service"
expect_grep '^OnCalendar=minutely$' "$U/coffer-scheduler.timer"
expect_grep '^Persistent=true$' "$U/coffer-scheduler.timer"
expect_grep '^Nice=10$' "$U/coffer-scheduler.service"
expect_grep '^IOSchedulingClass=idle$' "$U/coffer-scheduler.service"
mkdir -p "$T/man/man1"
cp "$(dirname "$E2E_LIB")/../../man/coffer-scheduler.1" "$T/man/man1/"
MANPATH=$T/man expect_status 0 systemd-analyze verify \
    "$U/coffer-scheduler.timer" "$U/coffer-scheduler.service"
[ ! -s "$T/err" ] || fail "systemd-analyze verify: $(cat "$T/err")"
expect_status 0 "$COFFER" $C scheduler install --systemd --write --root "$T/root"
[ "$(grep -c '^unchanged' "$T/out")" -eq 2 ] || fail "$(cat "$T/out")"
