#!/bin/sh
# Hooks: before and after per source and per job.  after always runs,
# with COFFER_STATUS saying how the source went; a failing before fails
# its source with the hook's words; hook_timeout kills a hook that hangs,
# and whatever it started; an interrupt kills the running source and
# still runs its after hook.  Duplicate source names are refused.
. "$(dirname "$0")/lib.sh"

export COFFER_TEST_WEAK_KDF=1
umask 077
printf 'hook pass\n' >"$T/pw"
R="$T/repo"
"$COFFER" init -r "$R" --password-file "$T/pw" >/dev/null
mkdir "$T/marks"
M="$T/marks"
cat >"$T/coffer.conf" <<EOF2
[repository main]
path = $R
password_file = $T/pw

[source good]
type = command
command = echo good data
name = good.txt
before = echo "\$COFFER_HOOK \$COFFER_SOURCE \$COFFER_REPOSITORY" >$M/good
after = echo "\$COFFER_HOOK \$COFFER_SOURCE \$COFFER_STATUS" >>$M/good

[source broken]
type = command
command = echo some; echo oops >&2; exit 2
name = broken.txt
after = echo "\$COFFER_SOURCE \$COFFER_STATUS" >$M/broken

[source frozen]
type = command
command = touch $M/frozen-ran
name = frozen.txt
before = echo cannot freeze the volume >&2; exit 1
after = echo "\$COFFER_SOURCE \$COFFER_STATUS" >$M/frozen

[source hang]
type = command
command = touch $M/hang-ran
name = hang.txt
before = echo waiting for godot; sleep 300 && touch $M/hang-survived
hook_timeout = 1s
after = echo "\$COFFER_SOURCE \$COFFER_STATUS" >$M/hang

[source slow]
type = command
command = touch $M/slow-started; sleep 60; echo never
name = slow.txt
after = echo "\$COFFER_SOURCE \$COFFER_STATUS" >$M/slow

[source conf]
type = files
paths = $T/etc $T/opt/app/conf
exclude = *.swp

[job nightly]
sources = good broken
repository = main
before = echo "job \$COFFER_JOB before" >$M/job
after = echo "job \$COFFER_JOB \$COFFER_STATUS" >>$M/job
EOF2

expect_status 3 "$COFFER" snapshot -c "$T/coffer.conf" --no-cache \
    --source good --source broken --source frozen --source hang
expect_grep "^coffer: source broken failed: 'echo some; echo oops >&2; exit 2' exited with status 2: oops$" "$T/err"
expect_grep '^coffer: source frozen failed: before hook exited with status 1: cannot freeze the volume$' "$T/err"
expect_grep '^coffer: source hang failed: before hook timed out after 1 s \(killed\): waiting for godot$' "$T/err"
expect_grep 'partial: 3 of 4 sources failed' "$T/err"
printf 'before good main\nafter good ok\n' >"$T/want"
expect_same "$T/want" "$M/good"
expect_eq "broken's after hook" "broken failed" "$(cat "$M/broken")"
expect_eq "frozen's after hook" "frozen failed" "$(cat "$M/frozen")"
expect_eq "hang's after hook" "hang failed" "$(cat "$M/hang")"
[ ! -e "$M/frozen-ran" ] || fail "the source ran after its before hook failed"
[ ! -e "$M/hang-ran" ] || fail "the source ran after its before hook hung"
expect_status 0 "$COFFER" ls -c "$T/coffer.conf" -r main latest /
expect_eq "what the snapshot holds" good "$(cat "$T/out")"
"$COFFER" restore -c "$T/coffer.conf" -r main latest --stdout /good/good.txt >"$T/got"
echo good data >"$T/want"
expect_same "$T/want" "$T/got"

# A job: its sources, its repository, its hooks around everything.
expect_status 3 "$COFFER" snapshot -c "$T/coffer.conf" --no-cache --job nightly
printf 'job nightly before\njob nightly failed\n' >"$T/want"
expect_same "$T/want" "$M/job"

# A job whose before hook fails takes no snapshot, and still runs after.
sed -i 's/^before = echo "job.*/before = exit 9/' "$T/coffer.conf"
n0=$(ls "$R/snapshots" | wc -l)
expect_status 1 "$COFFER" snapshot -c "$T/coffer.conf" --no-cache --job nightly
expect_grep '^coffer: job nightly: before hook exited with status 9$' "$T/err"
expect_eq "snapshots after the refused job" "$n0" "$(ls "$R/snapshots" | wc -l)"
expect_eq "job after hook" "job nightly failed" "$(tail -n 1 "$M/job")"

# The hung hook's sleep did not survive it.
[ ! -e "$M/hang-survived" ] || fail "the hung hook's child lived on"
if pgrep -f "sleep 300 && touch $M" >/dev/null; then
	fail "the hung hook still runs"
fi

# Interrupted while a source runs: its program is killed, its after hook
# still runs, nothing is saved, exit 130.
n0=$(ls "$R/snapshots" | wc -l)
"$COFFER" snapshot -c "$T/coffer.conf" --no-cache --source good \
    --source slow >"$T/iout" 2>"$T/ierr" &
S=$!
wait_for 30 "the slow source to start" test -e "$M/slow-started"
kill -TERM "$S"
st=0
wait "$S" || st=$?
expect_eq "exit status when interrupted" 130 "$st"
expect_eq "slow's after hook" "slow failed" "$(cat "$M/slow")"
expect_eq "snapshots after the interrupt" "$n0" "$(ls "$R/snapshots" | wc -l)"
if pgrep -f "sleep 60; echo never" >/dev/null; then
	fail "the interrupted source's program still runs"
fi

# A files source keeps its paths' absolute layout below /NAME.
mkdir -p "$T/etc" "$T/opt/app/conf"
printf 'hosts\n' >"$T/etc/hosts"
printf 'x\n' >"$T/etc/hosts.swp"
head -c 100000 /dev/urandom >"$T/opt/app/conf/app.ini"
expect_status 0 "$COFFER" snapshot -c "$T/coffer.conf" --no-cache --source conf
expect_status 0 "$COFFER" restore -c "$T/coffer.conf" -r main latest \
    --target "$T/back"
expect_same "$T/etc/hosts" "$T/back/conf$T/etc/hosts"
expect_same "$T/opt/app/conf/app.ini" "$T/back/conf$T/opt/app/conf/app.ini"
[ ! -e "$T/back/conf$T/etc/hosts.swp" ] || fail "exclude was not applied"
expect_eq "top of the files snapshot" conf "$(ls "$T/back")"

# Two sources of one name are refused before anything runs.
expect_status 2 "$COFFER" snapshot -c "$T/coffer.conf" --no-cache \
    --command 'echo a' --name good --source good
expect_grep 'two sources are named good' "$T/err"
expect_status 0 "$COFFER" check -c "$T/coffer.conf" -r main --read-data
