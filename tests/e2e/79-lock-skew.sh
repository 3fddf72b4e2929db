#!/bin/sh
# Lock staleness under clock skew (issue 11; borg #9870: a client clock
# ahead broke a live lock): a lock is stale only if it looks stale by both
# the reader's clock and the store's own file times.  A holder runs on
# "another host" (its own UTS namespace, so its lock is judged by time,
# not by its pid) with its clock 2 h ahead or behind (faketime), held up
# in the middle of a snapshot by a command source that reads a FIFO.
# prune, a snapshot and 'unlock --remove-stale' with a right clock do not
# break its lock; nor, with a right holder, do they under a clock 2 h off.
# A dead holder's lock that is old by both clocks is reported stale,
# removed by 'unlock --remove-stale', and prune then runs.  Against a
# local repository and against the same one over sftp:// (a real sshd).
# Ends restoring every snapshot byte for byte.
# e2e: long
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need faketime unshare hostname jq pgrep
unshare -u true 2>/dev/null || skip "no UTS namespaces here (needs root)"
umask 022
cd "$T"
# libfaketime is preloaded; an ASan build wants its runtime first.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS
export COFFER_TEST_WEAK_KDF=1
unset COFFER_PRUNE_MARGIN COFFER_CRASH_AT

R=$T/repo
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
mkdir src want
printf 'base\n' >src/f
expect_status 0 "$COFFER" snapshot -r "$R" --password-file key --json src
cp src/f "want/$(jq -r .id "$T/out").f"

start_sshd
sftp_conf "$T/c.conf" remote "sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$R"
need_sftp "$T/c.conf" remote

# The repository as REPO names it: $R or the config's [repository remote].
C="-c $T/c.conf"

locks() { find "$R/locks" -type f ! -name '.*' | LC_ALL=C sort; }

# hold OFFSET: a snapshot by "otherhost" under a clock OFFSET off, held up
# reading the FIFO $T/fifo; waits until its lock file is there, and sets
# HOLD_JOB (the background job's pid) and HOLD_LOCK (its lock file).
hold() {
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	locks >"$T/locks.before"
	# shellcheck disable=SC2086
	unshare -u sh -c 'hostname otherhost && exec "$@"' sh \
		faketime -f "$1" "$COFFER" $C snapshot -r "$REPO" \
		--password-file "$T/key" --no-cache \
		--command "cat $T/fifo" --name held --json \
		>"$T/hold.json" 2>"$T/hold.err" &
	HOLD_JOB=$!
	wait_for 20 "the holder's lock" sh -c \
		"[ \"\$(find '$R/locks' -type f ! -name '.*' | wc -l)\" -gt \
		  $(wc -l <"$T/locks.before") ]"
	HOLD_LOCK=$(locks | comm -13 "$T/locks.before" -)
	[ -n "$HOLD_LOCK" ] || fail "no lock file of the holder"
	expect_eq "holder's host" otherhost "$(jq -r .hostname "$HOLD_LOCK")"
}

# release: let the holder finish; it must succeed, its lock intact.
release() {
	printf 'held data %s\n' "$REPO" | tee "$T/held" >"$T/fifo"
	wait "$HOLD_JOB" || { cat "$T/hold.err" >&2; fail "the holder failed"; }
	[ ! -e "$HOLD_LOCK" ] || fail "the holder left its lock behind"
	cp "$T/held" "want/$(jq -r .id "$T/hold.json").held"
}

# prune_bg [FAKETIME]: a prune under a clock FAKETIME off (none: right)
# in the background (PRUNE_JOB); returns once it waits for the lock.
prune_bg() {
	set -- ${1:+faketime -f "$1"}
	rm -f "$T/prune.err"
	# shellcheck disable=SC2086
	"$@" "$COFFER" $C prune -r "$REPO" --password-file "$T/key" --yes \
		>"$T/prune.out" 2>"$T/prune.err" &
	PRUNE_JOB=$!
	wait_for 20 "prune waiting for the lock" grep -q 'waiting up to' \
		"$T/prune.err"
}

# prune_done: the background prune ran once the lock was gone.
prune_done() {
	wait "$PRUNE_JOB" || { cat "$T/prune.err" >&2; fail "prune failed"; }
}

# unbroken [FAKETIME]: with a clock FAKETIME off (none: right), a prune
# waits for the holder's lock, live, whose reason names a wrong clock; a
# snapshot runs beside it; 'unlock --remove-stale' keeps it.
unbroken() {
	prune_bg "$@"
	expect_grep 'is locked: shared lock of .snapshot. .* on otherhost' \
		"$T/prune.err"
	expect_grep "old by the store's clock: a clock is wrong" "$T/prune.err"
	! grep -q 'stale' "$T/prune.err" ||
		fail "a live lock was called stale: $(cat "$T/prune.err")"
	set -- ${1:+faketime -f "$1"}
	printf 'beside %s %s\n' "$REPO" "$*" >src/f
	# shellcheck disable=SC2086
	expect_status 0 "$@" "$COFFER" $C snapshot -r "$REPO" \
		--password-file "$T/key" --no-cache --json src
	cp src/f "want/$(jq -r .id "$T/out").f"
	# shellcheck disable=SC2086
	expect_status 0 "$@" "$COFFER" $C unlock -r "$REPO" --remove-stale --json
	expect_eq "locks removed" 0 "$(jq .removed "$T/out")"
	expect_eq "holder's state" live \
		"$(jq -r '.locks[] | select(.host == "otherhost") | .state' "$T/out")"
	[ -e "$HOLD_LOCK" ] || fail "the live lock was removed"
}

for REPO in "$R" remote; do
	# The holder's clock is off; ours is right.  Then the other way.
	for off in +2h/ -2h/ +0/+2h +0/-2h; do
		hold "${off%/*}"
		unbroken "${off#*/}"
		release
		prune_done
	done

	# A holder that dies (clock 2 h behind): its lock is late by our
	# clock at once, but the store saw it written just now: live, kept.
	hold -2h
	pid=$(jq -r .pid "$HOLD_LOCK")
	# Its command source must be started before the kill, or nothing
	# ever opens the FIFO to read and the write below blocks for good
	# (the lock is taken before the source starts; seen under ASan).
	wait_for 20 "the holder's command source" pgrep -P "$pid"
	kill -9 "$pid"
	printf 'end\n' >"$T/fifo" # the command source's cat ends
	wait "$HOLD_JOB" && fail "the killed holder succeeded"
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" $C unlock -r "$REPO" --remove-stale --json
	expect_eq "locks removed" 0 "$(jq .removed "$T/out")"
	[ -e "$HOLD_LOCK" ] || fail "a lock fresh by the store's clock was removed"
	# Once its file is old by the store's clock too, it is stale: prune
	# names it and the fix, unlock --remove-stale removes it, and the
	# waiting prune runs.
	touch -d '3 hours ago' "$HOLD_LOCK"
	prune_bg
	expect_grep "stale: not refreshed in time; its file is 3 h 0 min old by the store's clock" "$T/prune.err"
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" $C unlock -r "$REPO" --remove-stale --json
	expect_eq "locks removed" 1 "$(jq .removed "$T/out")"
	[ ! -e "$HOLD_LOCK" ] || fail "the stale lock stayed"
	prune_done
	expect_eq "locks left" "" "$(locks)"
done

# Every snapshot is whole and restores to what it held, byte for byte.
expect_status 0 "$COFFER" check -r "$R" --password-file key --read-data
expect_status 0 "$COFFER" snapshots -r "$R" --password-file key --json
jq -r '.[] | .id' "$T/out" >ids
expect_eq "snapshots" "$(find want -type f | wc -l)" "$(wc -l <ids)"
while read -r id; do
	if [ -e "want/$id.held" ]; then
		expect_status 0 "$COFFER" restore -r "$R" --password-file key \
			"$id" --source held --stdout
		cp "$T/out" got
		expect_same "want/$id.held" got
	else
		expect_status 0 "$COFFER" restore -r "$R" --password-file key \
			"$id" --stdout "$T/src/f"
		cp "$T/out" got
		expect_same "want/$id.f" got
	fi
done <ids
expect_eq "snapshots" 17 "$(wc -l <ids)"
