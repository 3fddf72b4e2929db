#!/bin/sh
# coffer job run (issue 12): a job of a files and a PostgreSQL source with
# keep_last, replicate and check = 50% runs every step, in order, and
# history shows each; a target that cannot be written fails the replicate
# step only, calls on_failure with the documented variables, and check
# still runs; a job past its timeout is stopped with its child programs
# and recorded failed with "timeout"; two runs of one job at once: one
# runs, the other says who holds it.
. "$(dirname "$0")/lib.sh"

need psql
start_pg
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1

R=$T/repo
O=$T/offsite
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
psql -q -d postgres -c 'CREATE DATABASE gas' >/dev/null
psql -q -d gas -c "CREATE TABLE t (v text); INSERT INTO t VALUES ('one')" \
    >/dev/null
mkdir src
head -c 200000 /dev/urandom >src/big
echo hello >src/small
: >notadir

cat >"$T/coffer.conf" <<CONF
[global]
state_dir = $T/state

[repository local]
path = $R
password_file = $T/key

[repository offsite]
path = $O
password_file = $T/key

[repository cut]
path = $T/notadir/repo
password_file = $T/key

[source etc]
type = files
paths = $T/src

[source gasdb]
type = postgres
database = gas
connection = host=$PG_SOCKET_DIR port=$PGPORT user=postgres

[source slow]
type = command
command = sleep 31
name = slow

[job nightly]
sources = etc, gasdb
repository = local
keep_last = 2
replicate = offsite
check = 50%
on_success = echo "ok \$COFFER_JOB \$COFFER_STATUS" >>$T/hook.log

[job cutoff]
sources = etc
repository = local
replicate = cut
check = 50%
on_failure = printf '%s|%s|%s|%s\n' "\$COFFER_JOB" "\$COFFER_STATUS" "\$COFFER_STEP" "\$COFFER_ERROR" >>$T/fail.log; env >$T/fail.env

[job slow]
sources = slow
repository = local
timeout = 2s
on_failure = echo "\$COFFER_STEP \$COFFER_ERROR" >>$T/slow.log
CONF
chmod 0600 "$T/coffer.conf"
C="-c $T/coffer.conf"

# config check no longer warns for the keys job run acts on.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C config check
if grep -E 'keep_|check|timeout|on_failure|on_success|replicate' "$T/err" |
    grep -q 'not acted on'; then
	fail "config check still warns: $(cat "$T/err")"
fi

# ------------------------------------------------ three good runs
for i in 1 2 3; do
	echo "run $i" >src/small
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" $C job run nightly --json
	cp "$T/out" "$T/run$i.json"
	for s in snapshot forget replicate check; do
		grep -q "\"step\":\"$s\",\"status\":\"ok\"" "$T/run$i.json" ||
			fail "run $i: step $s not ok: $(cat "$T/run$i.json")"
	done
done
# keep_last = 2: two snapshots left; the off-site copy has all three.
# shellcheck disable=SC2086
n=$("$COFFER" snapshots -r "$R" --password-file "$T/key" -q | awk 'NR > 1' |
    wc -l)
expect_eq "snapshots kept" 2 "$n"
[ "$(find "$O/snapshots" -type f | wc -l)" -eq 3 ] ||
	fail "offsite: $(find "$O/snapshots" -type f)"
# Each snapshot names its job, and the listing selects by it.
expect_status 0 "$COFFER" snapshots -r "$R" --password-file "$T/key" \
    --job nightly --json
[ "$(grep -o '"job":"nightly"' "$T/out" | wc -l)" -eq 2 ] ||
	fail "snapshots --job nightly: $(cat "$T/out")"
expect_status 0 "$COFFER" snapshots -r "$R" --password-file "$T/key" \
    --job hourly --json
expect_eq "snapshots of another job" "[]" "$(cat "$T/out")"
# check = 50%: slices 1/2, 2/2, 1/2 in turn.
grep -q 'slice 1/2' "$T/run1.json" || fail "run 1: $(cat "$T/run1.json")"
grep -q 'slice 2/2' "$T/run2.json" || fail "run 2: $(cat "$T/run2.json")"
grep -q 'slice 1/2' "$T/run3.json" || fail "run 3: $(cat "$T/run3.json")"
expect_eq "on_success" "ok nightly ok
ok nightly ok
ok nightly ok" "$(cat "$T/hook.log")"
# The off-site copy restores the newest snapshot byte for byte.
id=$(sed -n 's/.*"snapshot":"\([0-9a-f]*\)".*/\1/p' "$T/run3.json")
expect_status 0 "$COFFER" restore -r "$O" --password-file "$T/key" "$id" \
    --target "$T/back"
expect_same "$T/src/big" "$T/back/etc$T/src/big"
expect_same "$T/src/small" "$T/back/etc$T/src/small"
[ -n "$(ls "$T/back/gasdb" 2>/dev/null)" ] ||
	fail "no dump: $(ls -R "$T/back")"

# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler history nightly
[ "$(grep -c '^nightly' "$T/out")" -eq 3 ] || fail "history: $(cat "$T/out")"
for s in snapshot forget replicate check; do
	[ "$(grep -c "^  $s  *ok" "$T/out")" -eq 3 ] ||
		fail "history of $s: $(cat "$T/out")"
done

# --since: all three are within the hour; a bad duration is a usage error.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler history --since 1h --json
[ "$(grep -c '"job":"nightly"' "$T/out")" -eq 3 ] || fail "since: $(cat "$T/out")"
# shellcheck disable=SC2086
expect_status 2 "$COFFER" $C scheduler history --since soon
# shellcheck disable=SC2086
expect_status 2 "$COFFER" $C job run nosuchjob

# ------------------------------------------------ a cut target
# shellcheck disable=SC2086
expect_status 1 "$COFFER" $C job run cutoff
expect_grep 'replicate +FAILED' "$T/out"
expect_grep 'check +ok' "$T/out"
expect_grep 'snapshot +ok' "$T/out"
expect_grep '^cutoff\|failed\|replicate\|replicate to cut: .*notadir' \
    "$T/fail.log"
if grep -qi 'passphrase\|COFFER_PASSWORD\|password' "$T/fail.env"; then
	fail "on_failure saw a secret: $(grep -i pass "$T/fail.env")"
fi
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler history cutoff --json
expect_grep '"step":"replicate","status":"failed"' "$T/out"
expect_grep '"step":"check","status":"ok"' "$T/out"

# ------------------------------------------------ timeout
start=$(date +%s)
# shellcheck disable=SC2086
expect_status 1 "$COFFER" $C job run slow
took=$(($(date +%s) - start))
[ "$took" -lt 15 ] || fail "timeout 2s took $took s"
expect_grep 'snapshot +FAILED .*timeout' "$T/out"
# Exactly 'sleep 31': no other test runs it (check_proc leaves a 'sleep
# 30' behind, 54-hooks runs 'sleep 300 && ...').
if pgrep -fx 'sleep 31' >/dev/null; then
	fail "sleep 31 still runs: $(pgrep -afx 'sleep 31')"
fi
expect_grep '^snapshot timeout' "$T/slow.log"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler history slow
expect_grep '^slow .* failed' "$T/out"
expect_grep 'snapshot +failed .*timeout: ' "$T/out"

# ------------------------------------------------ two at once
# shellcheck disable=SC2086
"$COFFER" $C job run slow >"$T/a.out" 2>"$T/a.err" &
a=$!
wait_for 10 "the first run's lock" grep -q "^pid $a " "$T/state/job-slow.lock"
# shellcheck disable=SC2086
expect_status 13 "$COFFER" $C job run slow
expect_grep "job slow is already running \(pid $a since " "$T/err"
# A snapshot of the job started by hand waits for no one either.
# shellcheck disable=SC2086
expect_status 13 "$COFFER" $C snapshot --job slow
expect_grep "job slow is already running \(pid $a since " "$T/err"
wait "$a" || true
# Only the first was recorded.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C scheduler history slow
[ "$(grep -c '^slow' "$T/out")" -eq 2 ] || fail "history: $(cat "$T/out")"
