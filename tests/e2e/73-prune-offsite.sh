#!/bin/sh
# The off-site copy's own retention (issue 11): an append-only copy behind
# a real sshd, set up by offsite-setup's recipe, is pruned with a second,
# privileged key; replicate from the primary, which still has everything,
# then does not bring back the snapshot the copy forgot nor the packs and
# index files its prune removed (gone/ tombstones).  A later snapshot of
# the primary that deduplicates against the forgotten snapshot's data
# brings those packs back (replicate cannot tell without the key that it
# needs them), and the copy stays whole.  check --read-data is clean on
# both, and the kept snapshots restore byte for byte from the copy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need jq sftp ssh-keygen
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1
unset COFFER_PRUNE_MARGIN COFFER_CRASH_AT

R=$T/primary
K="--password-file $T/key"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key" --pack-size 1M
mkdir src want
head -c 200000 /dev/urandom >src/shared

# snap NAME: src/zonly = fresh random bytes, then a snapshot of src; its id
# to the variable NAME, a copy of src to want/NAME.  Snapshots read names
# in order: "shared" goes into the pack before "zonly", so a dropped
# snapshot leaves a pack of kept and dropped data that prune repacks
# (with "only" first, chunk boundaries that closed a pack right after it
# once left nothing to repack, and no blob in two packs below).
snap() {
	head -c 1500000 /dev/urandom >src/zonly
	# shellcheck disable=SC2086
	"$COFFER" snapshot -r "$R" $K --no-cache --json "$T/src" >"$T/snap.json" ||
		fail "snapshot $1"
	eval "$1=$(jq -r .id "$T/snap.json")"
	rm -rf "want/$1"
	cp -a src "want/$1"
}
snap s1
snap s2
snap s3

# ------------------------------------------------ the copy, two keys
start_sshd
U=nobody
ROFF=$T/off/repo
offsite_server "$U" "$ROFF"
expect_grep '^# - Pruning is privileged' "$T/recipe"
! grep -q COFFER_PRUNE "$T/recipe" || fail "the recipe names a test variable"
expect_grep '#     coffer forget -r ' "$T/recipe"
expect_grep '#     coffer prune -r ' "$T/recipe"
URL="sftp://$U@127.0.0.1:$SSHD_PORT$ROFF"
sftp_conf "$T/c.conf" offsite "$URL"
need_sftp "$T/c.conf" offsite
# The admin's key: an account that may write the repository (root here),
# unrestricted, beside the backup key's restricted line.
ssh-keygen -q -t ed25519 -N '' -C admin -f "$T/admin" || fail "ssh-keygen"
cat "$T/admin.pub" >>"$SSHD_DIR/authorized_keys"
{
	printf '[repository admin]\nurl = sftp://root@127.0.0.1:%s%s\n' "$SSHD_PORT" "$ROFF"
	printf 'identity = %s\nknown_hosts = %s\n' "$T/admin" "$SSH_KNOWN_HOSTS"
} >>"$T/c.conf"
C="-c $T/c.conf"

# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C replicate --from "$R" --to offsite
# The backup key cannot prune it.
# shellcheck disable=SC2086
expect_status 1 "$COFFER" $C forget -r offsite $K --yes "$s1"
expect_grep 'refuses to remove files .*doc/OFFSITE.md' "$T/err"

# ------------------------------------------------ the copy's own retention
files() { (cd "$1" && find data index snapshots -type f ! -name '.*' | LC_ALL=C sort); }
files "$ROFF" >before.list
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C forget -r admin $K --yes "$s1"
# Forgotten, not yet pruned: replicate does not bring it back either.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C replicate --from "$R" --to offsite --json
[ ! -e "$ROFF/snapshots/$s1" ] || fail "replicate brought back a forgotten snapshot"
expect_eq "sent after forget" 0 "$(jq .files_sent "$T/out")"
export COFFER_PRUNE_MARGIN=0s
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C prune -r admin $K --yes --json
cp "$T/out" prune1.json
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C prune -r admin $K --yes --json
cp "$T/out" prune2.json
unset COFFER_PRUNE_MARGIN
# The recipe's last step, as root on the host: the backup key reads what
# the prune wrote.
grep '^#     find ' "$T/recipe" | sed 's/^#     //' >perm.sh
[ -s perm.sh ] || fail "no permission step in the recipe"
sh -eu perm.sh || fail "the recipe's permission step failed"
jq -r '.earlier.delete_packs[]' prune2.json | LC_ALL=C sort >deleted.packs
[ -s deleted.packs ] || fail "the copy's prune deleted no pack: $(cat prune2.json)"
[ ! -e "$ROFF/forgotten/$s1" ] || fail "forgotten/ kept after prune"
[ -e "$ROFF/gone/$s1" ] || fail "no tombstone for the forgotten snapshot"
while read -r p; do
	[ -e "$ROFF/gone/$p" ] || fail "no tombstone for pack $p"
done <deleted.packs
files "$ROFF" >pruned.list
grep -q "^snapshots/$s1\$" pruned.list && fail "s1 still on the copy"
# Something was removed that the primary still has.
[ "$(LC_ALL=C comm -23 before.list pruned.list | grep -c '^data/')" -gt 0 ] ||
	fail "no pack removed from the copy"
[ "$(LC_ALL=C comm -23 before.list pruned.list | grep -c '^index/')" -gt 0 ] ||
	fail "no index file removed from the copy"

# ------------------------------------------------ replicate again
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C replicate --from "$R" --to offsite --json
expect_eq "sent after prune" 0 "$(jq .files_sent "$T/out")"
# Every file the copy pruned is counted as kept away, and said so.
n_gone=$(LC_ALL=C comm -23 before.list pruned.list | wc -l)
expect_eq "kept away after prune" "$n_gone" "$(jq .files_gone "$T/out")"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C replicate --from "$R" --to offsite
expect_grep "; $n_gone the target pruned stay away\$" "$T/out"
files "$ROFF" >again.list
expect_same pruned.list again.list
[ -z "$(temp_files "$ROFF")" ] || fail "temp files left: $(temp_files "$ROFF")"

# ------------------------------------------------ both whole
# shellcheck disable=SC2086
expect_status 0 "$COFFER" check -r "$R" $K --read-data
expect_grep '^no problems found$' "$T/out"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C check -r admin $K --read-data
expect_grep '^no problems found$' "$T/out"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C snapshots -r offsite $K --no-lock --json
expect_eq "snapshots on the copy" "$(printf '%s\n' "$s2" "$s3" | LC_ALL=C sort)" \
	"$(jq -r '.[].id' "$T/out" | LC_ALL=C sort)"
for n in s2 s3; do
	eval "id=\$$n"
	rm -rf got
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" $C restore -r offsite $K --no-lock "$id" --target "$T/got"
	expect_same "want/$n/zonly" "got$T/src/zonly"
	expect_same "want/$n/shared" "got$T/src/shared"
done

# ------------------------------------------------ a snapshot that needs them
# s4 holds s1's file again: the primary deduplicates it against s1's pack,
# which the copy pruned.  replicate cannot see that without the key, so a
# run that sends a snapshot sends every pack the copy pruned that the
# primary still has; the copy stays whole (its next prune drops again what
# no snapshot of its own needs).
cp want/s1/zonly src/zonly
# shellcheck disable=SC2086
"$COFFER" snapshot -r "$R" $K --no-cache --json "$T/src" >"$T/snap.json" ||
	fail "snapshot s4"
s4=$(jq -r .id "$T/snap.json")
cp -a src want/s4
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C replicate --from "$R" --to offsite --json
[ "$(jq .files_sent "$T/out")" -gt 1 ] || fail "only s4's files were sent: $(cat "$T/out")"
[ ! -e "$ROFF/snapshots/$s1" ] || fail "s1 came back"
while read -r p; do
	[ -e "$ROFF/data/$(echo "$p" | cut -c1-2)/$p" ] || fail "pack $p not sent back"
done <deleted.packs
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C check -r admin $K --read-data
# The blobs the copy's prune had repacked are now in two packs: a warning,
# and the copy's next prune tidies it.
expect_grep '^no errors, ' "$T/out"
export COFFER_PRUNE_MARGIN=0s
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C prune -r admin $K --yes -q
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C prune -r admin $K --yes -q
unset COFFER_PRUNE_MARGIN
sh -eu perm.sh || fail "the recipe's permission step failed"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C check -r admin $K --read-data
expect_grep '^no problems found$' "$T/out"
[ ! -e "$ROFF/snapshots/$s1" ] || fail "s1 came back"
rm -rf got
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C restore -r offsite $K --no-lock "$s4" --target "$T/got"
expect_same want/s4/zonly "got$T/src/zonly"
expect_same want/s1/zonly "got$T/src/zonly"
expect_same want/s4/shared "got$T/src/shared"
