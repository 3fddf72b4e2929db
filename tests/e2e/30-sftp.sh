#!/bin/sh
# An sftp:// repository through a real sshd: init, snapshot of a tree with
# every kind of entry, snapshots/ls/diff, restore compared entry by entry
# (content, mode, owner, times, xattrs, links), check --read-data, a second
# snapshot that adds nothing; every command by -r NAME of a [repository]
# section and by URL; --no-lock against a server that refuses remove; and
# ^C mid-upload (exit 130, no lock left); session processes killed
# mid-snapshot (retried, completes); a server
# stopped with SIGSTOP mid-snapshot: exit 5 within io_timeout,
# then a re-run completes.
# e2e: long
. "$(dirname "$0")/lib.sh"

need setfattr getfattr tar mkfifo stat find pgrep
[ -x "$TOOLS/contenthash" ] || fail "no $TOOLS/contenthash: run 'make tools'"

start_sshd

COFFER_TEST_WEAK_KDF=1
KEYF=$T/machine.key
export COFFER_TEST_WEAK_KDF
REMOTE=$T/remote
URL="sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$REMOTE/repo"
S=$T/src
CONF=$T/coffer.conf
cat >"$CONF" <<EOF
[repository off]
url = $URL
identity = $SSH_KEY
known_hosts = $SSH_KNOWN_HOSTS
password_file = $KEYF
io_timeout = 3s
connect_timeout = 3s
retries = 0
transfers = 3
EOF
chmod 600 "$CONF"
c() { "$COFFER" -c "$CONF" "$@"; }

# ------------------------------------------------------------ the tree

mkdir "$S"
cd "$S"
printf 'hello\n' >plain
: >empty
head -c 6000000 /dev/urandom >big
printf '#!/bin/sh\n' >exec
chmod 0755 exec
mkdir emptydir 'ünïcødé dïr'
chmod 0750 emptydir
printf 'δεδομένα\n' >'ünïcødé dïr/файл 🙂.txt'
ln -s plain link
ln -s '../nowhere/at all' dangling
mkdir d2
ln plain d2/plain-again
mkfifo fifo
setfattr -n user.comment -v 'héllo' plain
truncate -s 64M sparse
printf 'middle' | dd of=sparse bs=1 seek=33554432 conv=notrunc 2>/dev/null
n=0
find . -depth -print | while IFS= read -r p; do
	n=$((n + 1))
	touch -h -d "@$((1612325100 + n)).$(printf '%09d' $((123456789 - n)))" "$p"
done
cd /

tree_listing "$S" >"$T/want"
grep -q '^\./fifo|11a.|' "$T/want" || fail "no FIFO in the listing"
grep -q 'user.comment=' "$T/want" || fail "no xattr in the listing"

# ------------------------------------------------------------ the story

expect_status 0 c init -r off --machine-key "$KEYF" --pack-size 1M
expect_grep "^created repository [0-9a-f]{8} at $URL" "$T/out"
[ -f "$REMOTE/repo/config" ] || fail "no config on the server"

expect_status 0 c snapshot -r off --cache-dir "$T/cache" "$S"
expect_grep '^snapshot [0-9a-f]{8} saved' "$T/out"
npacks=$(find "$REMOTE/repo/data" -type f | wc -l)
[ "$npacks" -ge 4 ] || fail "expected several packs, got $npacks"

expect_status 0 c snapshots -r off
expect_grep '^1 snapshot' "$T/out"
expect_status 0 c ls -r off -lR latest
expect_grep "$S/big\$" "$T/out"
expect_grep "$S/link -> plain" "$T/out"

expect_status 0 c restore -r off latest -t "$T/dst"
tree_listing "$T/dst$S" >"$T/got"
expect_same "$T/want" "$T/got"

expect_status 0 c check -r off --read-data
expect_grep 'no problems found' "$T/out"

# A second snapshot of the same tree stores no file data again: only the
# trees of the parents of $S (whose times changed) are new.
expect_status 0 c snapshot -r off --cache-dir "$T/cache" "$S"
expect_grep 'added [0-9]+ B ' "$T/out"
[ "$(find "$REMOTE/repo/data" -type f | wc -l)" -le $((npacks + 1)) ] ||
	fail "the second snapshot wrote packs: $(cat "$T/out")"
expect_status 0 c diff -r off "$(ls "$REMOTE/repo/snapshots" | head -n 1)" latest
expect_grep '0 added' "$T/out"

# The other commands, and the URL given directly.
expect_status 0 c key list -r off
expect_status 0 c unlock -r off
expect_grep 'no locks' "$T/out"
expect_status 0 c rebuild-index -r off
expect_status 0 "$COFFER" snapshots -r "$URL" --identity "$SSH_KEY" \
    --known-hosts "$SSH_KNOWN_HOSTS" --password-file "$KEYF"
expect_grep '^2 snapshots' "$T/out"
expect_status 0 c restore -r off latest -t "$T/dst2" \
    --limit-download 100000
tree_listing "$T/dst2$S" >"$T/got"
expect_same "$T/want" "$T/got"

# Nothing half-written is left, nothing is a temp file.
[ -z "$(find "$REMOTE" -name '.tmp-*')" ] || fail "temp files left behind"
[ -z "$(ls "$REMOTE/repo/locks")" ] || fail "a lock was left behind"

# ------------------------------------------------------------ --no-lock

# A server that refuses remove (as an append-only off-site one does):
# lock files could be written but never removed, so readers skip them.
first_dir=$SSHD_DIR
sshd1=$SSHD_PID
mkdir "$T/home"
start_sshd "ForceCommand internal-sftp -P remove -d $T/home"
cp "$first_dir/authorized_keys" "$SSHD_DIR/authorized_keys"
sed "s|127.0.0.1:[0-9]*/|127.0.0.1:$SSHD_PORT/|" "$CONF" >"$T/ro.conf"
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
    "$(cut -d' ' -f1,2 "$SSH_HOST_KEY_PUB")" >>"$first_dir/known_hosts"
chmod 600 "$T/ro.conf"
for cmd in "snapshots" "ls latest" "check --read-data" "diff latest latest"; do
	# shellcheck disable=SC2086 # word splitting wanted
	expect_status 0 "$COFFER" -c "$T/ro.conf" $cmd -r off --no-lock
done
expect_status 0 "$COFFER" -c "$T/ro.conf" restore -r off --no-lock latest \
    -t "$T/dst3"
tree_listing "$T/dst3$S" >"$T/got"
expect_same "$T/want" "$T/got"
[ -z "$(ls "$REMOTE/repo/locks")" ] || fail "--no-lock wrote a lock"
# Without --no-lock the lock file cannot be removed: say so, and how.
expect_status 0 "$COFFER" -c "$T/ro.conf" snapshots -r off
expect_grep 'lock file stays behind.*--no-lock' "$T/err"
[ -n "$(ls "$REMOTE/repo/locks")" ] || fail "the refused remove left no lock?"
expect_status 0 "$COFFER" -c "$T/ro.conf" unlock -r off
expect_grep 'dead +shared .*\(snapshots\).*its process is gone' "$T/out"
# A path under the login (here: start) directory: sftp://host/~/path.
expect_status 0 "$COFFER" init -r "sftp://127.0.0.1:$SSHD_PORT/~/rel/repo" \
    --identity "$first_dir/id_ed25519" --known-hosts "$first_dir/known_hosts" \
    --password-file "$KEYF"
[ -f "$T/home/rel/repo/config" ] || fail "no repository under the login dir"
expect_status 0 "$COFFER" snapshots --no-lock --password-file "$KEYF" \
    -r "sftp://127.0.0.1:$SSHD_PORT/~/rel/repo" \
    --identity "$first_dir/id_ed25519" --known-hosts "$first_dir/known_hosts"
expect_grep '^0 snapshots' "$T/out"
# Without --no-lock the lock file stays behind: why --no-lock exists.
expect_status 0 "$COFFER" -c "$T/ro.conf" snapshots -r off
[ -n "$(ls "$REMOTE/repo/locks")" ] || fail "the server did remove a lock"
rm -f "$REMOTE/repo/locks/"*

# ------------------------------------------------------------ ^C

# SIGINT in the middle of an upload: exit 130 at once, and the lock file
# is still removed (the transfer stops, the short cleanup goes on).
head -c 4000000 /dev/urandom >"$S/int"
ndata=$(find "$REMOTE/repo/data" -type f | wc -l)
# (not through c: $! must be coffer's pid)
"$COFFER" -c "$CONF" snapshot -r off --cache-dir "$T/cache" \
    --limit-upload 1024 "$S" >"$T/int.out" 2>"$T/int.err" &
snap=$!
more_packs() {
	[ "$(find "$REMOTE/repo/data" -type f | wc -l)" -gt "$((ndata + 1))" ]
}
wait_for 60 "packs from the slow snapshot" more_packs
kill -INT "$snap"
rc=0
wait "$snap" || rc=$?
[ "$rc" -eq 130 ] || fail "interrupted snapshot: exit $rc: $(cat "$T/int.err")"
[ -z "$(ls "$REMOTE/repo/locks")" ] || fail "^C left a lock behind"
rm "$S/int"
find "$REMOTE" -name '.tmp-*' -exec rm {} +

# ------------------------------------------------------------ a cut

# The server's session processes die (kill -9) in the middle of a
# snapshot: with retries, coffer reconnects, sends the pack again under a
# fresh temp name, and finishes; the data is whole.
tree_signal() { # SIG PID: the process and its descendants
	local k
	kill "-$1" "$2" 2>/dev/null || :
	for k in $(pgrep -P "$2" 2>/dev/null || :); do
		tree_signal "$1" "$k"
	done
}
sed 's/retries = 0/retries = 5/' "$CONF" >"$T/retry.conf"
chmod 600 "$T/retry.conf"
head -c 4000000 /dev/urandom >"$S/cut"
ndata=$(find "$REMOTE/repo/data" -type f | wc -l)
"$COFFER" -c "$T/retry.conf" snapshot -r off --cache-dir "$T/cache" \
    --limit-upload 1024 "$S" >"$T/cut.out" 2>"$T/cut.err" &
snap=$!
wait_for 60 "packs from the slow snapshot" more_packs
for k in $(pgrep -P "$sshd1"); do
	tree_signal KILL "$k"
done
rc=0
wait "$snap" || rc=$?
[ "$rc" -eq 0 ] || fail "cut snapshot: exit $rc: $(cat "$T/cut.err")"
expect_grep 'retry 1 of 5' "$T/cut.err"
expect_status 0 c check -r off --read-data
expect_status 0 c restore -r off latest -t "$T/dstcut" --include "$S/cut"
expect_same "$S/cut" "$T/dstcut$S/cut"
[ -z "$(find "$REMOTE" -name '.tmp-*' -newer "$S/cut")" ] ||
	echo "note: the cut left a temp file (expected now and then)" >&2

# ------------------------------------------------------------ a stall

# The first server stops answering in the middle of a snapshot: coffer
# gives up within io_timeout (3 s; retries = 0) with exit 5, and once the
# server is back a re-run completes.
head -c 6000000 /dev/urandom >"$S/more"
ndata=$(find "$REMOTE/repo/data" -type f | wc -l)
c snapshot -r off --cache-dir "$T/cache" --limit-upload 1024 "$S" \
    >"$T/stall.out" 2>"$T/stall.err" &
snap=$!
more_packs() {
	[ "$(find "$REMOTE/repo/data" -type f | wc -l)" -gt "$((ndata + 1))" ]
}
wait_for 60 "packs from the slow snapshot" more_packs
tree_signal STOP "$sshd1"
rc=0
wait "$snap" || rc=$?
tree_signal CONT "$sshd1"
[ "$rc" -eq 5 ] || fail "stalled snapshot: exit $rc, want 5: $(cat "$T/stall.err")"
expect_grep 'no answer for 3 s' "$T/stall.err"
expect_status 0 c snapshot -r off --cache-dir "$T/cache" "$S"
expect_status 0 c check -r off --read-data
expect_status 0 c restore -r off latest -t "$T/dst4" --include "$S/more"
expect_same "$S/more" "$T/dst4$S/more"

# ------------------------------------------------------------ a full disk

# A repository on a 3 MiB tmpfs (where we may mount one): a snapshot of
# more than that fails once with "no space left on the target", exit 1,
# without retrying, and the repository stays valid.
mkdir "$T/small"
if mount -t tmpfs -o size=3m tmpfs "$T/small" 2>/dev/null; then
	trap 'rc=$?; set +e; umount -l "$T/small" 2>/dev/null || :; (exit "$rc"); _e2e_exit' EXIT
	sed "s|$REMOTE/repo|$T/small/repo|; s|retries = 0|retries = 3|" \
	    "$CONF" >"$T/small.conf"
	chmod 600 "$T/small.conf"
	expect_status 0 "$COFFER" -c "$T/small.conf" init -r off \
	    --machine-key "$KEYF" --pack-size 1M
	mkdir "$T/fill"
	head -c 8000000 /dev/urandom >"$T/fill/f"
	before=$(grep -c 'Connection from' "$first_dir/server.log")
	expect_status 1 "$COFFER" -c "$T/small.conf" snapshot -r off \
	    --cache-dir "$T/cache2" "$T/fill"
	expect_grep 'no space left on the target' "$T/err"
	if grep -q 'retry' "$T/err"; then
		fail "a full disk was retried: $(cat "$T/err")"
	fi
	[ "$(grep -c 'Connection from' "$first_dir/server.log")" -le \
	    $((before + 3)) ] || fail "too many connections for a full disk"
	[ -z "$(find "$T/small" -name '.tmp-*')" ] ||
		fail "a temp file was left on the full disk"
	rm -rf "$T/fill"
	mkdir "$T/fill"
	printf 'small\n' >"$T/fill/f"
	expect_status 0 "$COFFER" -c "$T/small.conf" snapshot -r off \
	    --cache-dir "$T/cache2" "$T/fill"
	expect_status 0 "$COFFER" -c "$T/small.conf" check -r off --read-data
	# sshd's session processes may still be closing their files.
	wait_for 10 "unmounting the tmpfs" umount "$T/small"
else
	echo "note: cannot mount a tmpfs here; the full-disk case is left out" >&2
fi
