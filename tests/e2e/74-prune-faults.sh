#!/bin/sh
# Prune against a wrong clock and a full disk (issue 11).  Clock skew,
# with faketime on the client only (the store's file times stay real): a
# record is deleted only when it is older than the margin by both clocks,
# so a client 2 h ahead or 2 h behind deletes nothing the store's clock
# marked 5 minutes ago, nor a client 2 h behind what the store thinks
# old.  Full disk, in a private mount namespace with a small tmpfs: with
# no byte free, forget and prune say in one line what they need and change
# nothing; with a few KiB free, forget + prune frees the space (deletions
# first); a prune that must write more than there is says how much.
# check --read-data is clean after each, and the kept snapshot restores.
if [ -z "${COFFER_E2E_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	unshare -m true 2>/dev/null; then
	COFFER_E2E_NS=1 exec unshare -m sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

need faketime jq
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1 TZ=UTC
unset COFFER_PRUNE_MARGIN COFFER_CRASH_AT
# libfaketime is preloaded; an ASan build wants its runtime first.  The
# store's times are the files' real ones: stat() is not faked.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS NO_FAKE_STAT=1

K="--password-file $T/key"
mkdir src want

# repo R: a repository of two snapshots, s1 (src/a) and s2 (src/b), each
# 3 MB of its own; s1 forgotten.  Ids in $s1 $s2; s2's files in want/.
repo() {
	R=$1
	expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key" --pack-size 1M
	rm -f src/*
	head -c 3000000 /dev/urandom >src/a
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" snapshot -r "$R" $K --no-cache --json "$T/src"
	s1=$(jq -r .id "$T/out")
	rm src/a
	head -c 3000000 /dev/urandom >src/b
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" snapshot -r "$R" $K --no-cache --json "$T/src"
	s2=$(jq -r .id "$T/out")
	rm -rf want/s2
	cp -a src want/s2
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" forget -r "$R" $K --yes "$s1"
}
packs() { find "$R/data" -type f -name '[0-9a-f]*' | wc -l; }
whole() {
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" check -r "$R" $K --read-data "$@"
	expect_grep '^no problems found$' "$T/out"
	rm -rf "$T/got"
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" restore -r "$R" $K "$@" "$s2" --target "$T/got"
	expect_same want/s2/b "$T/got$T/src/b"
}
pr() {
	local st="$1"
	shift
	# shellcheck disable=SC2086
	expect_status "$st" "$COFFER" prune -r "$R" $K --yes "$@"
}

# ------------------------------------------------ clock skew
repo "$T/skew"
# Marked 5 minutes ago by both clocks (the default margin is 1 h).
# shellcheck disable=SC2086
expect_status 0 faketime -f '-5m' "$COFFER" prune -r "$R" $K --yes --json
[ "$(find "$R/prune" -type f | wc -l)" -eq 1 ] || fail "no record written"
rec=$(find "$R/prune" -type f)
touch -d '5 minutes ago' "$rec"
n=$(packs)
# skewed WHEN: a prune with the client's clock at WHEN deletes nothing.
skewed() {
	# shellcheck disable=SC2086
	expect_status 0 faketime -f "$1" "$COFFER" prune -r "$R" $K --yes --json
	expect_eq "records waiting, client $1" 1 "$(jq '.earlier.records_waiting | length' "$T/out")"
	expect_eq "deleted, client $1" 0 "$(jq '.earlier.delete_packs | length' "$T/out")"
	[ -e "$rec" ] || fail "client $1: the record went"
	expect_eq "packs, client $1" "$n" "$(packs)"
	whole
}
# Ahead: the client says old, the store (5 min) does not.
skewed '+2h'
# Behind: neither says old.
skewed '-2h'
# Behind, while the store says old: the client does not.
touch -d '3 hours ago' "$rec"
skewed '-2h'
# Both say old: deleted (so the checks above can see a deletion).
# shellcheck disable=SC2086
expect_status 0 faketime -f '+2h' "$COFFER" prune -r "$R" $K --yes --json
[ "$(jq '.earlier.delete_packs | length' "$T/out")" -gt 0 ] ||
	fail "not deleted when both clocks say old: $(cat "$T/out")"
[ ! -e "$rec" ] || fail "the record stayed"
[ "$(packs)" -lt "$n" ] || fail "no pack deleted"
whole

# ------------------------------------------------ full disk
[ -n "${COFFER_E2E_NS:-}" ] || skip "the full-disk half needs root and a private mount namespace"
need unshare
M=$T/full
mkdir "$M"
mount -t tmpfs -o size=16m tmpfs "$M" || skip "cannot mount a tmpfs here"
# Unmount before lib.sh's exit trap removes $T.
trap '_rc=$?; set +e; umount -l "$M" 2>/dev/null; (exit $_rc); _e2e_exit' EXIT
export COFFER_PRUNE_MARGIN=0s
repo "$M/repo"
# undo: forget brought back, for the next step.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --undo "$s1"
free_kib() { df -k --output=avail "$M" | tail -n 1 | tr -d ' '; }
# fill KIB: leave KIB KiB free.
fill() {
	rm -f "$M/filler"
	head -c 100000000 /dev/zero >"$M/filler" 2>/dev/null || true
	[ "$(free_kib)" -eq 0 ] || fail "the tmpfs is not full: $(free_kib) KiB free"
	[ "$1" -eq 0 ] || truncate -s "-$1K" "$M/filler"
}
listing() { (cd "$R" && find . -type f ! -path './locks/*' | LC_ALL=C sort); }

# Not a byte free: each says what it needs, in one line; nothing changes.
fill 0
listing >full.before
# shellcheck disable=SC2086
expect_status 1 "$COFFER" forget -r "$R" $K --yes "$s1"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep 'forget needs about 8 KiB free.*No space left on device' "$T/err"
pr 1
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep 'prune needs about 4 KiB free for its lock file.*No space left on device' "$T/err"
listing >full.after
expect_same full.before full.after
whole --no-lock

# A few KiB free: forget, then prune frees the space (the forgotten
# manifest goes first, then the marks; the next prune deletes).  12 KiB:
# forget's record in the operations log takes a 4 KiB block of them.
fill 12
# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --yes "$s1"
before=$(free_kib)
pr 0 -q
pr 0 --json
[ "$(jq '.earlier.delete_packs | length' "$T/out")" -gt 0 ] ||
	fail "nothing deleted on a full disk: $(cat "$T/out")"
[ "$(free_kib)" -gt $((before + 2500)) ] ||
	fail "freed too little: $before -> $(free_kib) KiB"
rm -f "$M/filler"
whole

# Room for the lock only, and a prune with packs to mark: one line that
# says how much it needs; nothing marked, the repository valid.
head -c 1500000 /dev/urandom >src/c
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --no-cache --json "$T/src"
s3=$(jq -r .id "$T/out")
rm src/c
# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --yes "$s3"
fill 4
pr 1
# One line, besides the warning that the prune's record in the operations
# log did not fit either.
grep -v "^coffer: warning: the prune was not recorded in the repository's log: .*No space left on device$" \
    "$T/err" >err.rest || true
[ "$(wc -l <err.rest)" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep "no space left on $M/repo to mark what this prune frees: it needs about [0-9.]+ [KM]iB free \\(.*\\); nothing was marked; free that much$" "$T/err"
[ -z "$(find "$R/prune" -type f)" ] || fail "a record was written"
rm -f "$M/filler"
whole
pr 0 -q
pr 0 -q
whole
