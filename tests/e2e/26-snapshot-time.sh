#!/bin/sh
# Snapshot dates: a snapshot dated in the future (written under a clock set
# 400 days ahead with faketime, as a wrong clock or a key holder planting a
# manifest would) must not stay 'latest': it is ordered by the time its
# file reached the store, or passed over while still after this host's
# clock, with a warning in snapshots, ls and restore.  restore and ls
# --before TIME pick the newest snapshot before TIME.  Ends comparing what
# was restored byte for byte.
. "$(dirname "$0")/lib.sh"

need faketime
umask 022
cd "$T"
# libfaketime is preloaded; an ASan build wants its runtime first.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS

expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"
R=$T/repo
mkdir src
# snap OFFSET CONTENT: snapshot src/f = CONTENT under a clock OFFSET off;
# prints the snapshot's full id.
snap() {
	printf '%s\n' "$2" >src/f
	faketime -f "$1" "$COFFER" snapshot -r "$R" --password-file key \
		--cache-dir "$T/cache" --json src >"$T/snap.json" ||
		fail "snapshot at $1 failed"
	sed -n 's/.*"id": *"\([0-9a-f]\{64\}\)".*/\1/p' "$T/snap.json" |
		head -n 1
}
restored() {
	expect_status 0 "$COFFER" restore -r "$R" --password-file key \
		"$@" --stdout "$T/src/f"
	cat "$T/out"
}

s1=$(snap -2d one)
s2=$(snap -1d two)
s3=$(snap +400d planted)
[ -n "$s1" ] && [ -n "$s2" ] && [ -n "$s3" ] || fail "no snapshot ids"
# The planted file reached the store an hour ago (as on an off-site host,
# where the append-only key cannot change a file's time).
now=$(date +%s)
touch -d "@$((now - 3600))" "$R/snapshots/$s3"
s4=$(snap +0 four)
[ -n "$s4" ] || fail "no id for the fourth snapshot"

# 1. latest is the newest honest snapshot, with a warning naming s3.
[ "$(restored latest)" = four ] ||
	fail "latest restored '$(cat "$T/out")', want 'four'"
expect_grep "warning: snapshot $(echo "$s3" | cut -c1-8) is dated .* after its file reached the store" "$T/err"
expect_status 0 "$COFFER" snapshots -r "$R" --password-file key
expect_grep "dated after it was stored" "$T/out"
expect_grep "warning: snapshot $(echo "$s3" | cut -c1-8)" "$T/err"
expect_status 0 "$COFFER" snapshots -r "$R" --password-file key --json
expect_grep '"dated_after_stored":true' "$T/out"
# Listed where the store puts it: after s2, before s4.
expect_status 0 "$COFFER" snapshots -r "$R" --password-file key -q
ids=$(awk 'NR > 1 { printf "%s ", $1 }' "$T/out")
want="$(echo "$s1" | cut -c1-8) $(echo "$s2" | cut -c1-8) $(echo "$s3" | cut -c1-8) $(echo "$s4" | cut -c1-8) "
expect_eq "order of the listing" "$want" "$ids"

# 2. Its file time in the future too (a local clock gone wrong): passed
# over by latest while this host's clock is behind it.
touch -d "@$((now + 400 * 86400))" "$R/snapshots/$s3"
[ "$(restored latest)" = four ] ||
	fail "latest restored '$(cat "$T/out")', want 'four'"
expect_grep "after this host's clock" "$T/err"
expect_status 0 "$COFFER" snapshots -r "$R" --password-file key
expect_grep "dated in the future" "$T/out"
# By id it is still there.
[ "$(restored "$(echo "$s3" | cut -c1-12)")" = planted ] ||
	fail "s3 by id restored '$(cat "$T/out")'"

# 3. --before: the newest snapshot before TIME, in every documented form.
t=$(date -u -d "@$((now - 36 * 3600))" +%Y-%m-%dT%H:%M:%SZ)
[ "$(restored latest --before "$t")" = one ] ||
	fail "--before $t restored '$(cat "$T/out")', want 'one'"
[ "$(restored latest --before 36h)" = one ] ||
	fail "--before 36h restored '$(cat "$T/out")', want 'one'"
t=$(date -u -d "@$((now - 1800))" '+%Y-%m-%d %H:%M')
[ "$(restored latest --before "$t")" = two ] ||
	fail "--before '$t' restored '$(cat "$T/out")', want 'two'"
t=$(date -d "@$((now - 36 * 3600))" +%Y-%m-%dT%H:%M:%S%:z)
[ "$(restored --before "$t" latest)" = one ] ||
	fail "--before $t restored '$(cat "$T/out")', want 'one'"
# An id must be before TIME too; none before TIME is an error, not a guess.
expect_status 2 "$COFFER" restore -r "$R" --password-file key \
	"$(echo "$s2" | cut -c1-8)" --before 36h --stdout "$T/src/f"
expect_grep "not before" "$T/err"
expect_status 2 "$COFFER" restore -r "$R" --password-file key latest \
	--before 2000-01-01 --stdout "$T/src/f"
expect_grep "no snapshot before 2000-01-01 00:00:00 UTC" "$T/err"
# A malformed TIME: one line saying which forms work.
expect_status 2 "$COFFER" restore -r "$R" --password-file key latest \
	--before yesterday --stdout "$T/src/f"
expect_grep "give YYYY-MM-DD" "$T/err"
expect_eq "lines on stderr" 1 "$(wc -l <"$T/err" | tr -d ' ')"
# ls takes it as well.
expect_status 0 "$COFFER" ls -r "$R" --password-file key latest \
	--before 36h -l "$T/src"
expect_grep " f$" "$T/out"

# 4. A whole tree from before TIME, byte for byte.
printf 'one\n' >src/f
expect_status 0 "$COFFER" restore -r "$R" --password-file key latest \
	--before 36h --target "$T/dst"
expect_same "$T/src/f" "$T/dst$T/src/f"
