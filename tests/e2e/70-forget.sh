#!/bin/sh
# coffer forget (issue 11): a repository of nine snapshots dated with
# faketime over 40 days; an empty policy refused; a --dry-run --json plan
# that the real run then carries out exactly; forgotten snapshots gone for
# snapshots and restore, counted by check; --undo; named snapshots; a move
# cut between its copy and its removal finished by the next run; --job;
# replicate beside it; and the refusal on an append-only copy behind a real
# sshd.  Every kept snapshot restores byte for byte and check --read-data
# is clean at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need faketime sftp
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1 TZ=UTC
# libfaketime is preloaded; an ASan build wants its runtime first.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS

R=$T/repo
K="--password-file $T/key"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
mkdir src want
head -c 300000 /dev/urandom >src/big

# snap NAME DAYS_AGO HH:MM [ARGS]: snapshot src (src/f = NAME) dated that
# many days ago at HH:MM UTC; its id goes to the variable NAME, a copy of
# src to want/NAME.
snap() {
	local name="$1" day when id
	day=$(date -u -d "@$(($(date +%s) - $2 * 86400))" +%Y-%m-%d)
	when="$day $3:00"
	shift 3
	printf '%s\n' "$name" >src/f
	# shellcheck disable=SC2086 # K is words
	faketime "$when" "$COFFER" snapshot -r "$R" $K --cache-dir "$T/cache" \
		--json "$@" "$T/src" >"$T/snap.json" || fail "snapshot $name at $when"
	id=$(sed -n 's/.*"id": *"\([0-9a-f]\{64\}\)".*/\1/p' "$T/snap.json" | head -n 1)
	[ -n "$id" ] || fail "no id for $name"
	eval "$name=$id"
	cp -a src "want/$name"
}
snap d40 40 10:00
snap d30 30 10:00 --tag keep
snap d20 20 10:00
snap d10 10 10:00
snap d9a 9 10:01
snap d9b 9 18:00
snap d5 5 10:00
snap d3 3 10:00
snap d1 1 10:00

# shellcheck disable=SC2086
f() {
	local st="$1"
	shift
	expect_status "$st" "$COFFER" forget -r "$R" $K "$@"
}
# ids FILE MEMBER: the ids of a JSON member holding a list of ids, sorted.
ids() {
	tr -d '\n ' <"$1" | sed -n "s/.*\"$2\":\[\([^]]*\)\].*/\1/p" |
		tr -d '"' | tr ',' '\n' | grep . | LC_ALL=C sort || true
}
sorted() { printf '%s\n' "$@" | LC_ALL=C sort; }
count_snapshots() {
	# shellcheck disable=SC2086
	"$COFFER" snapshots -r "$R" $K -q | awk 'NR > 1' | wc -l
}
short() { echo "$1" | cut -c1-8; }

# ------------------------------------------------ an empty policy
expect_status 2 "$COFFER" forget -r "$R" $K
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep 'no keep rule given' "$T/err"
expect_status 2 "$COFFER" forget -r "$R" $K --keep-daily x
expect_status 2 "$COFFER" forget -r "$R" $K --keep-last 1 "$d1"
expect_grep 'either SNAPSHOT' "$T/err"

# ------------------------------------------------ the plan, then the run
# daily 3: d1 d3 d5; within 8d of d1 (d9a is 8 days less a minute older): d9a
# d9b; the tag: d30.  Gone: d40 d20 d10.
P="--keep-daily 3 --keep-within 8d --keep-tag keep"
# shellcheck disable=SC2086
f 0 $P --dry-run
expect_grep "^group host .* paths $T/src:\$" "$T/out"
expect_grep "^  remove  $(short "$d40")  " "$T/out"
expect_grep "^  keep    $(short "$d30")  .*  tag\$" "$T/out"
expect_grep "^  keep    $(short "$d9a")  .*  within\$" "$T/out"
expect_grep "^  keep    $(short "$d1")  .*  daily within newest-complete\$" "$T/out"
expect_grep '^9 snapshots: keep 6, remove 3$' "$T/out"
expect_grep '^dry run: nothing was changed$' "$T/out"
[ ! -e "$R/forgotten" ] || fail "a dry run made forgotten/"
# shellcheck disable=SC2086
f 0 $P --dry-run --json
cp "$T/out" dry.json
ids dry.json remove >plan
sorted "$d40" "$d20" "$d10" >want-plan
expect_same want-plan plan
expect_grep '"dry_run":true' dry.json
expect_eq "removed by a dry run" "" "$(ids dry.json removed)"
[ "$(count_snapshots)" -eq 9 ] || fail "a dry run changed the listing"

# shellcheck disable=SC2086
f 0 $P --json </dev/null
cp "$T/out" run.json
ids run.json removed >done
expect_same plan done
(cd "$R/forgotten" && ls | LC_ALL=C sort) >moved
expect_same plan moved
[ "$(count_snapshots)" -eq 6 ] || fail "want 6 snapshots after forget"
# Gone for the readers of snapshots.
expect_status 2 "$COFFER" restore -r "$R" $K "$(short "$d20")" --target "$T/x"
expect_grep "no snapshot $(short "$d20")" "$T/err"
expect_status 2 "$COFFER" ls -r "$R" $K "$d40"
expect_status 0 "$COFFER" check -r "$R" $K
expect_grep '^3 snapshots forgotten' "$T/out"
expect_grep '^no problems found$' "$T/out"

# The same policy again removes nothing.
# shellcheck disable=SC2086
f 0 $P --json
expect_eq "removed again" "" "$(ids "$T/out" removed)"

# ------------------------------------------------ undo
f 0 --undo "$(short "$d20")"
expect_grep "^snapshot $(short "$d20") is back" "$T/out"
[ ! -e "$R/forgotten/$d20" ] || fail "undo left forgotten/$d20"
[ "$(count_snapshots)" -eq 7 ] || fail "want 7 snapshots after undo"
f 2 --undo "$(short "$d20")"
expect_grep "no forgotten snapshot $(short "$d20")" "$T/err"

# ------------------------------------------------ named snapshots
f 0 "$(short "$d20")" "$(short "$d3")" --json
ids "$T/out" removed >done
sorted "$d20" "$d3" >want-named
expect_same want-named done
[ "$(count_snapshots)" -eq 5 ] || fail "want 5 snapshots after a named forget"
f 2 "$(short "$d3")"
f 0 --undo "$(short "$d3")"

# ------------------------------------------------ a move cut short
# A forget of d5 cut after its copy: the named forget finishes it.
cp "$R/snapshots/$d5" "$R/forgotten/$d5"
f 0 "$(short "$d5")"
[ ! -e "$R/snapshots/$d5" ] || fail "the cut forget of d5 was not finished"
# An undo of d5 cut after its copy: the policy keeps d5 and tidies.
cp "$R/forgotten/$d5" "$R/snapshots/$d5"
# shellcheck disable=SC2086
f 0 $P
[ ! -e "$R/forgotten/$d5" ] || fail "the stale forgotten/$d5 was kept"
[ -e "$R/snapshots/$d5" ] || fail "d5 lost"
expect_grep "snapshot $(short "$d5") was under snapshots/ and forgotten/" "$T/err"

# ------------------------------------------------ --job
cat >c.conf <<EOF
[repository local]
path = $R
password_file = $T/key

[source s]
type = files
paths = $T/src

[job nightly]
sources = s
repository = local
keep_last = 1
keep_daily = 4

[job bare]
sources = s
repository = local
EOF
chmod 600 c.conf
expect_status 0 "$COFFER" -c c.conf forget --job nightly --dry-run --json
ids "$T/out" remove >plan
# last 1: d1; daily 4: d1 d3 d5 d9b (the newest of day 9)
sorted "$d9a" "$d30" >want-job
expect_same want-job plan
# a --keep-* option over the job's key
expect_status 0 "$COFFER" -c c.conf forget --job nightly --keep-daily 6 --dry-run --json
expect_eq "job + --keep-daily 6" "$d9a" "$(ids "$T/out" remove)"
expect_status 2 "$COFFER" -c c.conf forget --job bare
expect_grep 'bare\] sets no keep_\* key' "$T/err"
expect_status 2 "$COFFER" -c c.conf forget --job nope --keep-last 1
expect_grep 'no \[job nope\]' "$T/err"

# ------------------------------------------------ replicate beside forget
expect_status 0 "$COFFER" replicate --from "$R" --to "$T/copy"
[ ! -e "$T/copy/forgotten" ] || fail "replicate copied forgotten/"
f 0 "$(short "$d9b")"
expect_status 0 "$COFFER" replicate --from "$R" --to "$T/copy"
[ -e "$T/copy/snapshots/$d9b" ] || fail "the copy lost d9b"
f 0 --undo "$(short "$d9b")"

# ------------------------------------------------ an append-only copy
start_sshd
U=nobody
ROFF=$T/off/repo
offsite_server "$U" "$ROFF"
URL="sftp://$U@127.0.0.1:$SSHD_PORT$ROFF"
sftp_conf "$T/o.conf" offsite "$URL"
need_sftp "$T/o.conf" offsite
expect_status 0 "$COFFER" -c "$T/o.conf" replicate --from "$R" --to offsite
(cd "$ROFF/snapshots" && ls) >before
expect_status 1 "$COFFER" -c "$T/o.conf" forget -r offsite $K --keep-last 1 --yes
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep 'refuses to remove files .*doc/OFFSITE.md' "$T/err"
(cd "$ROFF/snapshots" && ls) >after
expect_same before after
[ -z "$(ls -A "$ROFF/forgotten" 2>/dev/null)" ] || fail "a file in forgotten/ on the append-only copy"

# ------------------------------------------------ what is kept is whole
expect_status 0 "$COFFER" check -r "$R" $K --read-data
expect_grep '^no problems found$' "$T/out"
for n in d30 d9a d9b d5 d3 d1; do
	eval "id=\$$n"
	rm -rf "$T/got"
	expect_status 0 "$COFFER" restore -r "$R" $K "$id" --target "$T/got"
	expect_same "want/$n/f" "$T/got$T/src/f"
	expect_same "want/$n/big" "$T/got$T/src/big"
done
