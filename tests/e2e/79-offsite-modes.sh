#!/bin/sh
# The files the copy's own retention writes, and the recipe's permission
# step (issue 11; doc/OFFSITE.md, "Pruning the off-site copy"): root on
# the off-site host runs forget and prune against the local path, as
# offsite-setup's recipe prints them.  coffer writes every file 0600, so
# what prune wrote (repacked packs, index files, prune/ records, log/
# records) is root's alone until the recipe's last line; after it, every
# file below the repository is readable by the backup account's group,
# writable by no one but its owner, and the directories keep the
# layout's owner and modes.  Then, through the append-only key alone,
# check --read-data is clean, the operations log lists the prune, and
# the kept snapshots restore byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need jq sftp stat
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1
unset COFFER_PRUNE_MARGIN COFFER_CRASH_AT

R=$T/primary
K="--password-file $T/key"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key" --pack-size 1M
mkdir src want
# Snapshots read a directory in name order: "shared" (in every snapshot)
# goes into the pack before each snapshot's "zonly", so when s1 goes
# that pack holds both kept and dropped data, and prune must repack it.
# (With "only" first, chunk boundaries that closed a pack right after
# it left nothing to repack, once in a while.)
head -c 300000 /dev/urandom >src/shared
snap() {
	head -c 1500000 /dev/urandom >src/zonly
	# shellcheck disable=SC2086
	"$COFFER" snapshot -r "$R" $K --no-cache --json "$T/src" >"$T/snap.json" ||
		fail "snapshot $1"
	eval "$1=$(jq -r .id "$T/snap.json")"
	cp -a src "want/$1"
}
snap s1
snap s2
snap s3

start_sshd
U=nobody
G=$(id -gn "$U")
ROFF=$T/off/repo
offsite_server "$U" "$ROFF"
sftp_conf "$T/c.conf" offsite "sftp://$U@127.0.0.1:$SSHD_PORT$ROFF"
need_sftp "$T/c.conf" offsite
C="-c $T/c.conf"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C replicate --from "$R" --to offsite
# The recipe's own step after the first replicate.
sed -n '/^# --- after the first replicate ---$/,/^# --- /p' "$T/recipe" |
	grep -v '^#' | sed "s|/srv/x|$ROFF|" >after.sh
sh -eu after.sh || fail "the recipe's config step failed"

# modes: "TYPE MODE OWNER:GROUP PATH" of everything below the copy.
modes() {
	(cd "$ROFF" && find . -mindepth 1 ! -name '.*' -printf '%y %m %u:%g %P\n') |
		LC_ALL=C sort -k4
}
modes >before.modes

# ------------------------------------------------ the copy's retention, as root
# The lines the recipe prints, with this copy's path and a policy that
# drops s1 (the oldest).
sed -n '/^# - Pruning is privileged/,$p' "$T/recipe" |
	grep -E '^#     (coffer|    |find)' | sed 's/^#     //' >retention.sh
grep -q '^coffer prune ' retention.sh || fail "no prune line in the recipe: $(cat retention.sh)"
grep -q '^find ' retention.sh || fail "no permission step in the recipe"
sed -e "s|/srv/coffer/[a-z]*|$ROFF|g; s|/srv/x|$ROFF|g" \
	-e "s|--password-file KEY|--password-file $T/key|" \
	-e "s|^coffer |\"\$COFFER\" |" \
	-e "s|--keep-daily [0-9]* --keep-monthly [0-9]*|--keep-last 2|" \
	-e "s|\"\$(id -gn backup)\"|$G|" retention.sh >ret.sh
grep -q -e '--keep-last 2' ret.sh || fail "no policy in: $(cat ret.sh)"
expect_grep "^find $ROFF " ret.sh
# Night 1, as the recipe says: forget and prune (which repacks and marks)
# as root.  The margin 0 lets night 2's prune delete what night 1 marked.
grep -v '^find ' ret.sh >ret-coffer.sh
grep '^find ' ret.sh >ret-perm.sh
export COFFER_PRUNE_MARGIN=0s
COFFER=$COFFER sh -eu ret-coffer.sh >ret1.out 2>&1 || fail "retention: $(cat ret1.out)"
[ ! -e "$ROFF/snapshots/$s1" ] || fail "s1 still on the copy"

# What prune wrote is root's alone for now: the backup account cannot
# read it (this is why the recipe has its last line).
(cd "$ROFF" && find . -type f -user root ! -perm -g+r ! -name '.*' -printf '%P\n') |
	LC_ALL=C sort >private.list
grep -q '^index/' private.list || fail "prune wrote no index file: $(cat ret1.out)"
grep -q '^data/' private.list || fail "prune repacked nothing: $(cat ret1.out)"
grep -q '^prune/' private.list || fail "prune wrote no record: $(cat ret1.out)"
grep -q '^log/' private.list || fail "no operations log record"
while read -r f; do
	expect_eq "mode of $f before the step" "600 root:root" \
		"$(stat -c '%a %U:%G' "$ROFF/$f")"
done <private.list
sh -eu ret-perm.sh || fail "the recipe's permission step failed"
unreadable() {
	(cd "$ROFF" && find . -type f ! -name '.*' \
		\( \( -user "$U" ! -perm -u+r \) -o \
		\( ! -user "$U" ! -perm -o+r \( ! -group "$G" -o ! -perm -g+r \) \) \) \
		-printf '%m %u:%g %P\n')
}
[ -z "$(unreadable)" ] ||
	fail "night 1: files the backup account cannot read: $(unreadable)"

# Night 2: the prune deletes what night 1 marked; the step again.
COFFER=$COFFER sh -eu ret-coffer.sh >ret2.out 2>&1 || fail "retention: $(cat ret2.out)"
unset COFFER_PRUNE_MARGIN
grep -q 'deleted [1-9][0-9]* pack' ret2.out || fail "night 2 deleted nothing: $(cat ret2.out)"
sh -eu ret-perm.sh || fail "the recipe's permission step failed"
modes >after.modes
# Directories: as the layout made them, none added.
grep '^d ' before.modes >d.before
grep '^d ' after.modes >d.after
expect_same d.before d.after
# Files: root's are 0640 with the backup group; the account's own stay
# read-only as it uploaded them (its umask 0222: 0444 or 0400); config is
# root's 0444 since the first step.
grep '^f ' after.modes | while read -r _ m o f; do
	case "$o $m" in
	"root:$G 640" | "$U:$G 444" | "$U:$G 400" | "root:root 444") ;;
	*) fail "$f is $m $o after the permission step" ;;
	esac
	[ "$f" != config ] || [ "$o $m" = "root:root 444" ] || fail "config is $m $o"
done
[ -z "$(unreadable)" ] || fail "files the backup account cannot read: $(unreadable)"
[ -z "$(cd "$ROFF" && find . -perm /022 -type f)" ] ||
	fail "files writable by group or others"
[ -z "$(ls -A "$ROFF/locks")" ] || fail "a lock stayed behind"

# ------------------------------------------------ all through the backup key
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C check -r offsite $K --no-lock --read-data
expect_grep '^no problems found$' "$T/out"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C log -r offsite $K --no-lock --json
jq -r '.[].operation' "$T/out" >ops
expect_grep '^prune$' ops
expect_grep '^forget$' ops
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C snapshots -r offsite $K --no-lock --json
expect_eq "snapshots on the copy" "$(printf '%s\n' "$s2" "$s3" | LC_ALL=C sort)" \
	"$(jq -r '.[].id' "$T/out" | LC_ALL=C sort)"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" $C replicate --from "$R" --to offsite --json
expect_eq "sent after the copy's retention" 0 "$(jq .files_sent "$T/out")"
for n in s2 s3; do
	eval "id=\$$n"
	rm -rf got
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" $C restore -r offsite $K --no-lock "$id" --target "$T/got"
	expect_same "want/$n/zonly" "got$T/src/zonly"
	expect_same "want/$n/shared" "got$T/src/shared"
done
