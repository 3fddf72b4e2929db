#!/bin/sh
# kill -9 at random moments, round after round, of snapshot, replicate (to
# a local target), key passwd, and forget --prune (with
# COFFER_PRUNE_MARGIN=0s, so that the prunes delete).  After every kill:
# check --read-data of the repository (and of the copy) is clean, every
# snapshot in the repository restores byte for byte as its source was, one
# of the two keys opens it, and the same command run again succeeds.
#
#   E2E_KILL_ROUNDS=N  rounds of the four kills (default 1; make check-long
#                      runs 25)
#   E2E_KILL_SEED=S    the seed of the delays (printed; default: the time),
#                      to replay a failure's delays
# e2e: alone (its kills land at delays scaled by runs timed first: other
# tests starting or ending in between make them miss)
. "$(dirname "$0")/lib.sh"

need jq
export COFFER_TEST_WEAK_KDF=1 COFFER_PRUNE_MARGIN=0s
unset COFFER_CRASH_AT
cd "$T"
umask 077
rounds=${E2E_KILL_ROUNDS:-1}
seed=${E2E_KILL_SEED:-$(date +%s)}
echo "seed $seed (E2E_KILL_SEED=$seed replays these delays), $rounds rounds"

R=$T/repo
D=$T/copy
mkdir src states
head -c 3000000 /dev/urandom >src/base
seq 1 300000 >src/text
i=0
while [ $i -lt 100 ]; do
	head -c $((i * 97 + 1)) /dev/urandom >"src/s$i"
	i=$((i + 1))
done
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key0" --pack-size 1M
# The key that opens the repository: key0 (the machine key), then pw1,
# pw2... as key passwd replaces it.
cur=$T/key0
keyn=0
nsnap=0

# state FILE: the source's files and their SHA-256, as a snapshot holds it.
state() {
	(cd src && find . -type f -exec sha256sum {} + | LC_ALL=C sort -k 2) >"$1"
}
snap_ids() {
	"$COFFER" snapshots -r "$R" --password-file "$cur" --json | jq -r '.[].id'
}
# delay N MS: the Nth delay, 2% to 90% of MS ms, in seconds, from the seed.
delay() {
	awk -v s="$seed" -v n="$1" -v ms="$2" \
	    'BEGIN { srand(s * 1000 + n); printf "%.3f", (0.02 + rand() * 0.88) * ms / 1000 }'
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
draws=0
# killed MS CMD...: CMD in the background, in a process group of its own,
# and kill -9 of that group after a random delay up to MS ms.  Sets $hit
# when it was still running.
killed() {
	local ms="$1" d pid
	shift
	draws=$((draws + 1))
	d=$(delay "$draws" "$ms")
	setsid "$@" >/dev/null 2>&1 &
	pid=$!
	sleep "$d"
	hit=0
	! kill -9 "-$pid" 2>/dev/null || hit=1
	wait "$pid" 2>/dev/null || true
	echo "  $what: kill after ${d}s$([ "$hit" -eq 1 ] || echo ', too late')"
}
# Which key opens the repository now: the last one, or the one before if
# a key passwd was killed before it finished.
which_key() {
	local k
	for k in "$cur" "$T/pw$keyn"; do
		if [ -f "$k" ] &&
		    "$COFFER" key list -r "$R" --password-file "$k" >/dev/null 2>&1; then
			cur=$k
			return 0
		fi
	done
	fail "$what: no key opens the repository"
}
# verify: the repository checks clean and every snapshot restores as its
# source was.
verify() {
	local id
	which_key
	"$COFFER" check -r "$R" --password-file "$cur" --read-data >check.out 2>&1 || {
		cat check.out
		fail "$what: check failed (seed $seed)"
	}
	for id in $(snap_ids); do
		[ -f "states/$id" ] || fail "$what: snapshot $id was never taken"
		rm -rf got
		"$COFFER" restore -r "$R" --password-file "$cur" "$id" \
		    --target got >/dev/null 2>"$T/err" || {
			cat "$T/err"
			fail "$what: snapshot $id does not restore (seed $seed)"
		}
		(cd "got$T/src" && find . -type f -exec sha256sum {} + |
			LC_ALL=C sort -k 2) >got.state
		cmp -s "states/$id" got.state ||
			fail "$what: snapshot $id restores other bytes (seed $seed)"
	done
	rm -rf got
}
# check_copy: the copy checks clean, opened by any key it holds (a
# replicate adds keys, it does not remove them).
check_copy() {
	local k
	for k in "$cur" "$T"/pw* "$T/key0"; do
		[ -f "$k" ] || continue
		"$COFFER" key list -r "$D" --password-file "$k" >/dev/null 2>&1 ||
			continue
		"$COFFER" check -r "$D" --password-file "$k" --read-data \
		    >check.out 2>&1 && return 0
		cat check.out
		fail "$what: the copy does not check (seed $seed)"
	done
	fail "$what: no key opens the copy"
}
# snapshot [KILL_MS]: a new snapshot of new data; its state recorded
# under its id when it was committed.
snapshot() {
	local before after id
	nsnap=$((nsnap + 1))
	head -c 1500000 /dev/urandom >"src/new$nsnap"
	rm -f "src/new$((nsnap - 3))"
	seq "$nsnap" 200000 >src/text
	state state.now
	before=$(snap_ids)
	if [ $# -eq 0 ]; then
		run0 "$COFFER" snapshot -r "$R" --password-file "$cur" --no-cache src
	else
		killed "$1" "$COFFER" snapshot -r "$R" --password-file "$cur" --no-cache src
	fi
	after=$(snap_ids)
	for id in $after; do
		echo "$before" | grep -qx "$id" || cp state.now "states/$id"
	done
}
# forget_prune [KILL_MS]: keep the last 3, then prune at once.
forget_prune() {
	# shellcheck disable=SC2016 # expanded by that sh
	set -- "${1:-}" sh -c '"$0" forget -r "$1" --password-file "$2" \
	    --keep-last 3 --yes && "$0" prune -r "$1" --password-file "$2" --yes' \
	    "$COFFER" "$R" "$cur"
	if [ -z "$1" ]; then
		shift
		run0 "$@"
	else
		killed "$@"
	fi
}
replicate() {
	if [ $# -eq 0 ]; then
		run0 "$COFFER" replicate --from "$R" --to "$D"
	else
		killed "$1" "$COFFER" replicate --from "$R" --to "$D"
	fi
}
passwd() {
	local next="$T/pw$((keyn + 1))"
	[ -f "$next" ] || echo "passphrase $((keyn + 1)) $seed" >"$next"
	if [ $# -eq 0 ]; then
		run0 "$COFFER" key passwd -r "$R" --password-file "$cur" \
		    --new-password-file "$next"
	else
		killed "$1" "$COFFER" key passwd -r "$R" --password-file "$cur" \
		    --new-password-file "$next"
	fi
	keyn=$((keyn + 1))
}
# run0 CMD...: CMD, unkilled, must succeed; $ms is how long it took.
run0() {
	local t0
	t0=$(now_ms)
	expect_status 0 "$@"
	ms=$(($(now_ms) - t0))
}

# How long each takes here, unkilled, so that the kills land inside.
what=setup
snapshot
snapshot
snapshot
ms_snapshot=$ms
replicate
ms_replicate=$ms
passwd
ms_passwd=$ms
which_key
forget_prune
ms_prune=$ms
verify
echo "unkilled: snapshot $ms_snapshot ms, replicate $ms_replicate ms," \
    "key passwd $ms_passwd ms, forget --prune $ms_prune ms"

hits=0
kills=0
r=1
while [ $r -le "$rounds" ]; do
	# A replicate has new packs to copy, a prune snapshots to drop.
	what="round $r snapshot"
	snapshot "$ms_snapshot"
	kills=$((kills + 1)); hits=$((hits + hit))
	verify
	snapshot
	verify

	what="round $r replicate"
	snapshot
	replicate "$ms_replicate"
	kills=$((kills + 1)); hits=$((hits + hit))
	verify
	[ ! -f "$D/config" ] || check_copy
	replicate
	check_copy

	what="round $r key passwd"
	passwd "$ms_passwd"
	kills=$((kills + 1)); hits=$((hits + hit))
	verify
	passwd
	verify

	what="round $r forget --prune"
	forget_prune "$ms_prune"
	kills=$((kills + 1)); hits=$((hits + hit))
	verify
	forget_prune
	verify
	r=$((r + 1))
done
echo "$kills kills, $hits of them hit a running command; nothing lost"
[ $((hits * 2)) -ge "$kills" ] ||
	fail "only $hits of $kills kills hit a running command"
