#!/bin/sh
# kill -9 of a snapshot at random moments: every time, the repository
# checks clean (with every byte read), the next command is not blocked by
# the dead process's lock, and the next snapshot restores byte for byte.
# E2E_CRASH_ROUNDS sets the number of kills (default 8; the long suite,
# make check-long, uses 30).
# e2e: alone (its kills land at delays scaled by a snapshot timed first:
# other tests starting or ending in between make too many of them miss)
. "$(dirname "$0")/lib.sh"

R="$T/repo"
rounds=${E2E_CRASH_ROUNDS:-8}
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key" --pack-size 1M
co() { "$COFFER" "$@" -r "$R" --password-file "$T/key"; }

# 48 MiB over ~300 files, so kills land in reading, sealing and publishing.
mkdir -p "$T/src/d1" "$T/src/d2"
head -c 33554432 /dev/urandom > "$T/src/big"
i=0
while [ $i -lt 300 ]; do
	head -c $((i * 167 + 1)) /dev/urandom > "$T/src/d$((i % 2 + 1))/f$i"
	i=$((i + 1))
done
seq 1 1500000 > "$T/src/d1/text"

# How long a snapshot that stores 16 MiB of new data takes here, next to
# reading the rest, so that kills land inside one.
head -c 16777216 /dev/urandom > "$T/src/new0"
co snapshot --no-cache "$T/src" > /dev/null
head -c 16777216 /dev/urandom > "$T/src/new0"
t0=$(date +%s%N)
co snapshot --no-cache "$T/src" > /dev/null
full_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$full_ms" -gt 0 ] || full_ms=1

i=1
hits=0
while [ $i -le "$rounds" ]; do
	# A delay from 2% to 80% of such a snapshot, different each round.
	delay=$(awk -v s="$i" -v ms="$full_ms" \
	    'BEGIN { srand(s * 7919); printf "%.3f", ms * (0.02 + rand() * 0.78) / 1000 }')
	# New data every round: each killed run was writing packs.
	head -c 16777216 /dev/urandom > "$T/src/new$i"
	# Not through co(): $! would be the subshell that runs the function,
	# and kill -9 of it leaves coffer running.
	"$COFFER" snapshot --no-cache "$T/src" -r "$R" --password-file "$T/key" \
	    > /dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	# Count the kills that hit a snapshot still running.
	if kill -9 "$pid" 2>/dev/null; then
		hits=$((hits + 1))
	fi
	wait "$pid" 2>/dev/null || true
	pgrep -x coffer >/dev/null && pgrep -a -x coffer | grep -q -- "$T/src" &&
		fail "round $i: the killed snapshot still runs"
	if ! co check --read-data > "$T/check.out" 2>&1; then
		cat "$T/check.out"
		fail "round $i (kill after ${delay}s): check failed"
	fi
	i=$((i + 1))
done
echo "kills that hit a running snapshot: $hits of $rounds"
# A test whose kills all come too late tests nothing.
[ $((hits * 2)) -ge "$rounds" ] ||
	fail "only $hits of $rounds kills hit a running snapshot (one takes ${full_ms} ms)"

# The dead snapshots' locks did not block anyone, and are gone now.
expect_status 0 co snapshot "$T/src"
[ -z "$(ls "$R/locks")" ] || fail "locks left: $(ls "$R/locks")"
expect_status 0 co restore latest --target "$T/restored"
diff -r "$T/src" "$T/restored$T/src" > "$T/diff" || {
	head -20 "$T/diff"
	fail "restored tree differs"
}
