#!/bin/sh
# coffer prune (issue 11): forget + prune frees space in two phases a
# margin apart; a --dry-run --json plan equals what the real run then
# does; a snapshot running while a prune marks and deletes its data (its
# lock removed, as in restic #2715) fails cleanly or re-uploads, never
# commits a snapshot naming missing data; kill -9 at every crash point
# leaves a repository that checks clean, restores exactly, and that the
# next prune finishes; an append-only copy behind a real sshd is refused.
# e2e: long
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need jq sftp
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1 TZ=UTC
unset COFFER_PRUNE_MARGIN COFFER_CRASH_AT

K="--password-file $T/key"
"$COFFER" init -r "$T/tmpl" --machine-key "$T/key" >/dev/null ||
	fail "init"
mkdir src want
head -c 3000000 /dev/urandom >src/old
head -c 2000000 /dev/urandom >src/shared
cp src/old "$T/old.copy"

# snap REPO: snapshot src; its id to $id.
snap() {
	# shellcheck disable=SC2086
	"$COFFER" snapshot -r "$1" $K --no-cache --json "$T/src" >"$T/snap.json" ||
		fail "snapshot"
	id=$(jq -r .id "$T/snap.json")
}
snap "$T/tmpl"
old=$id
rm src/old
head -c 1000000 /dev/urandom >src/new
snap "$T/tmpl"
keep=$id
cp -a src want/keep

pr() {
	local st="$1"
	shift
	# shellcheck disable=SC2086
	expect_status "$st" "$COFFER" prune -r "$R" $K --yes "$@"
}
packs() { find "$R/data" -type f -name '[0-9a-f]*' | wc -l; }
records() { find "$R/prune" -type f 2>/dev/null | wc -l; }
whole() {
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" check -r "$R" $K --read-data
	rm -rf "$T/got"
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" restore -r "$R" $K "$keep" --target "$T/got"
	expect_same want/keep/shared "$T/got$T/src/shared"
	expect_same want/keep/new "$T/got$T/src/new"
}
fresh() {
	rm -rf "$T/repo"
	cp -a "$T/tmpl" "$T/repo"
	R=$T/repo
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" forget -r "$R" $K --yes "$old"
}

# ------------------------------------------------ two phases, a margin apart
fresh
before=$(du -sb "$R" | cut -f1)
n0=$(packs)
# The default margin (1 h): the first prune marks, the second waits.
pr 0 --dry-run --json
cp "$T/out" plan.json
[ "$(jq '.plan.repack | length' plan.json)" -eq 1 ] || fail "no repack planned: $(cat plan.json)"
pr 0 --json
cp "$T/out" run.json
for k in .plan.delete .plan.repack .earlier.delete_packs; do
	expect_eq "planned $k" "$(jq -c "$k" plan.json)" "$(jq -c "$k" run.json)"
done
[ "$(jq -r .done.record run.json)" != null ] || fail "no record written"
[ "$(records)" -eq 1 ] || fail "no record in prune/"
[ ! -e "$R/forgotten/$old" ] || fail "forgotten manifest kept"
[ "$(packs)" -gt "$n0" ] || fail "no pack written by the repack"
whole
pr 0 --json
[ "$(jq '.earlier.records_waiting | length' "$T/out")" -eq 1 ] ||
	fail "record not waiting: $(cat "$T/out")"
[ "$(jq '.earlier.delete_packs | length' "$T/out")" -eq 0 ] ||
	fail "deleted within the margin"
[ "$(records)" -eq 1 ] || fail "record gone within the margin"
# Past the margin (COFFER_PRUNE_MARGIN stands in for an hour): deleted.
export COFFER_PRUNE_MARGIN=0s
pr 0 --dry-run --json
cp "$T/out" plan2.json
pr 0 --json
expect_eq "phase 2 deletes the plan" \
	"$(jq -c .earlier.delete_packs plan2.json)" \
	"$(jq -c .earlier.delete_packs "$T/out")"
[ "$(jq '.earlier.delete_packs | length' "$T/out")" -eq 1 ] ||
	fail "nothing deleted past the margin: $(cat "$T/out")"
[ "$(records)" -eq 0 ] || fail "record left after phase 2"
after=$(du -sb "$R" | cut -f1)
[ "$after" -lt $((before - 2000000)) ] || fail "freed too little: $before -> $after"
whole
unset COFFER_PRUNE_MARGIN
# Each prune that ran (not the dry runs) is in the operations log; the
# last one deleted the pack.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" log -r "$R" $K --json
expect_eq "prune records" 3 \
	"$(jq '[.[] | select(.operation == "prune")] | length' "$T/out")"
expect_eq "packs the last prune deleted" 1 \
	"$(jq '[.[] | select(.operation == "prune")][-1].counts.packs_deleted' "$T/out")"

# ------------------------------------------------ --apply: the reviewed plan
listing() { (cd "$1" && find . -type f ! -path './locks/*' | LC_ALL=C sort); }
fresh
cp -a "$R" "$T/twin"
listing "$R" >pre.list
pr 0 --dry-run --json
cp "$T/out" apply.json
[ "$(jq -r .fingerprint apply.json | tr -d '\n' | wc -c)" -eq 64 ] ||
	fail "no fingerprint: $(cat apply.json)"
[ "$(jq '(.plan.delete + .plan.repack) | length' apply.json)" -gt 0 ] ||
	fail "nothing planned: $(cat apply.json)"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" prune -r "$R" $K --apply apply.json --json
cp "$T/out" applied.json
# shellcheck disable=SC2086
expect_status 0 "$COFFER" prune -r "$T/twin" $K --yes --json
cp "$T/out" direct.json
for k in .fingerprint .plan.delete .plan.repack .plan.index_replaced \
	.plan.forgotten .earlier.delete_packs; do
	expect_eq "applied $k" "$(jq -c "$k" apply.json)" "$(jq -c "$k" applied.json)"
	expect_eq "direct $k" "$(jq -c "$k" apply.json)" "$(jq -c "$k" direct.json)"
done
# The same files kept, and as many written, as by the direct run.
listing "$R" >r.list
listing "$T/twin" >twin.list
LC_ALL=C comm -12 pre.list twin.list >kept.direct
LC_ALL=C comm -12 pre.list r.list >kept.applied
expect_same kept.direct kept.applied
expect_eq "files after apply" "$(wc -l <twin.list)" "$(wc -l <r.list)"
whole
# Phase 2 from a plan, past the margin.
export COFFER_PRUNE_MARGIN=0s
pr 0 --dry-run --json
cp "$T/out" apply2.json
[ "$(jq '.earlier.delete_packs | length' apply2.json)" -gt 0 ] ||
	fail "no deletion planned: $(cat apply2.json)"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" prune -r "$R" $K --apply apply2.json --json
expect_eq "applied deletions" "$(jq -c .earlier.delete_packs apply2.json)" \
	"$(jq -c .earlier.delete_packs "$T/out")"
unset COFFER_PRUNE_MARGIN
whole
rm -rf "$T/twin"
# A plan made stale by a snapshot, a forget, a margin: refused, nothing
# changed.
stale() {
	listing "$R" >stale.before
	# shellcheck disable=SC2086
	expect_status 2 "$COFFER" prune -r "$R" $K --apply stale.json
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
	expect_grep "stale.json: the repository changed since this plan was made \\($1" "$T/err"
	listing "$R" >stale.after
	expect_same stale.before stale.after
}
fresh
pr 0 --dry-run --json
cp "$T/out" stale.json
snap "$R"
stale 'its snapshots'
# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --yes "$id"
stale 'its snapshots'
# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --undo "$id"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --yes "$id"
COFFER_PRUNE_MARGIN=5s stale 'margin'
# shellcheck disable=SC2086
expect_status 2 "$COFFER" prune -r "$R" $K --apply stale.json --dry-run
expect_grep 'give --apply or --dry-run, not both' "$T/err"
# shellcheck disable=SC2086
expect_status 2 "$COFFER" prune -r "$R" $K --apply "$T/none.json"
expect_grep 'none.json: .*not a plan' "$T/err"
# shellcheck disable=SC2086
expect_status 2 "$COFFER" prune -r "$R" $K --apply "$T/snap.json"
expect_grep "snap.json: not a plan of 'coffer prune --dry-run --json'" "$T/err"
whole

# ------------------------------------------------ a snapshot during prune
# The snapshot deduplicates "old" (a command's output equal to the file)
# against the forgotten snapshot's pack, then waits; its lock is removed,
# two prunes (margin 0) mark and delete that pack, then it goes on: it must
# fail cleanly (exit 11, one line) and leave the repository whole.
export COFFER_PRUNE_MARGIN=0s
concurrent() {
	fresh
	rm -f "$T/started" "$T/go"
	# shellcheck disable=SC2086
	"$COFFER" snapshot -r "$R" $K --no-cache \
		--command "cat $T/old.copy; touch $T/started; while [ ! -e $T/go ]; do sleep 0.1; done" \
		--name oldcopy >"$T/conc.out" 2>"$T/conc.err" &
	spid=$!
	wait_for 30 "the snapshot to start" test -e "$T/started"
	kill -STOP "$spid"
	rm -f "$R"/locks/*
	for i in $(seq "$1"); do
		pr 0 -q
	done
	kill -CONT "$spid"
	touch "$T/go"
	st=0
	wait "$spid" || st=$?
}
concurrent 2
expect_eq "snapshot after its data was deleted" 11 "$st"
[ "$(wc -l <"$T/conc.err")" -eq 1 ] || fail "not one line: $(cat "$T/conc.err")"
grep -q 'nothing was committed' "$T/conc.err" || fail "$(cat "$T/conc.err")"
whole
pr 0
whole
concurrent 1
expect_eq "snapshot after its data was marked" 11 "$st"
grep -q 'marked .* for deletion' "$T/conc.err" || fail "$(cat "$T/conc.err")"
whole
# Started after the mark: the marked copy counts as absent, the blobs are
# stored again, and the snapshot survives the deletion.
fresh
pr 0 -q
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --no-cache --json \
	--command "cat $T/old.copy" --name oldcopy
sid=$(jq -r .id "$T/out")
pr 0 --json
[ "$(jq '.earlier.delete_packs | length' "$T/out")" -eq 1 ] || fail "nothing deleted"
whole
rm -rf "$T/got2"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$R" $K "$sid" --target "$T/got2"
expect_same "$T/old.copy" "$T/got2/oldcopy/oldcopy"

# ------------------------------------------------ kill -9 at each step
for cp in after-repack-packs after-new-index after-record mid-delete after-delete; do
	fresh
	if [ "$cp" = mid-delete ] || [ "$cp" = after-delete ]; then
		pr 0 -q
	fi
	COFFER_CRASH_AT=prune:$cp
	export COFFER_CRASH_AT
	pr 137 -q
	unset COFFER_CRASH_AT
	whole
	pr 0 -q
	pr 0 -q
	pr 0 --dry-run --json
	[ "$(jq '(.plan.delete + .plan.repack + .earlier.delete_packs) | length' "$T/out")" -eq 0 ] ||
		fail "$cp: the next prunes did not finish: $(cat "$T/out")"
	[ "$(records)" -eq 0 ] || fail "$cp: records left"
	whole
done
unset COFFER_PRUNE_MARGIN

# ------------------------------------------------ an append-only copy
start_sshd
U=nobody
ROFF=$T/off/repo
offsite_server "$U" "$ROFF"
URL="sftp://$U@127.0.0.1:$SSHD_PORT$ROFF"
sftp_conf "$T/o.conf" offsite "$URL"
need_sftp "$T/o.conf" offsite
expect_status 0 "$COFFER" -c "$T/o.conf" replicate --from "$T/tmpl" --to offsite
(cd "$ROFF" && find . -type f | sort) >before.list
# shellcheck disable=SC2086
expect_status 1 "$COFFER" -c "$T/o.conf" prune -r offsite $K --yes
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep 'refuses to remove files .*doc/OFFSITE.md' "$T/err"
(cd "$ROFF" && find . -type f | sort) >after.list
expect_same before.list after.list
