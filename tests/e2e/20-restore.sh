#!/bin/sh
# coffer restore, end to end: a tree with every kind of entry and metadata
# (unicode and ~4 KiB paths, empty and 2 GiB sparse files, hard links,
# xattrs, ACLs, FIFO, devices, owners, nanosecond times) is snapshotted, then
# restored into a directory and through `--tar - | tar -x`, and compared
# entry by entry with the original; --include, --exclude and --stdout; a
# closed pipe; and a byte flipped in a pack, which must cost exactly the
# file that needs it (exit 4, named on stderr) and nothing else.
# e2e: long
. "$(dirname "$0")/lib.sh"

need setfattr getfattr setfacl getfacl tar truncate mkfifo stat find
[ -x "$TOOLS/contenthash" ] || fail "no $TOOLS/contenthash: run 'make tools'"

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo
S=$T/src
root=0
[ "$(id -u)" -ne 0 ] || root=1

# ------------------------------------------------------------ usage

expect_status 0 "$COFFER" help restore
cp "$T/out" "$T/help1"
expect_status 0 "$COFFER" restore --help
expect_same "$T/help1" "$T/out"
for bad in "latest" "latest -t $T/x --tar -" "-t $T/x" \
    "latest --stdout /etc/fstab --include /etc" "latest -t $T/x --include etc" \
    "latest --stdout /" "latest -t $T/x --include /a/../b" "a b -t $T/x"; do
	# shellcheck disable=SC2086 # word splitting wanted
	expect_status 2 "$COFFER" restore -r "$T/none" $bad
	[ "$(wc -l <"$T/err")" -eq 1 ] ||
		fail "restore $bad: expected one line, got: $(cat "$T/err")"
done
[ ! -e "$T/x" ] || fail "a usage error made the target"

# ------------------------------------------------------------ the tree

mkdir "$S"
cd "$S"
printf 'hello\n' >plain
: >empty
head -c 8388608 /dev/urandom >big
printf '#!/bin/sh\n' >setuid
chmod 4755 setuid
printf 'g' >setgid
chmod 2750 setgid
mkdir sticky emptydir
chmod 1777 sticky
mkdir 'ünïcødé dïr'
printf 'δεδομένα\n' >'ünïcødé dïr/файл 日本語 🙂.txt'
printf 'q' >"it's \"quoted\" \$x -dash"
ln -s plain link
ln -s '../nowhere/at all' 'ünïcødé dïr/dangling'
mkdir d2
ln plain d2/plain-again
mkfifo fifo
chmod 0640 fifo
setfattr -n user.comment -v 'héllo wörld' plain
setfattr -n user.bin -v 0x00ff007f empty
setfattr -n user.dir -v yes 'ünïcødé dïr'
printf 'acl\n' >acl_file
setfacl -m u:12345:rwx,g:54321:r-x acl_file
mkdir acl_dir
setfacl -d -m u:12345:rwx,g:54321:r-x acl_dir
printf 'inherits\n' >acl_dir/inside
if [ "$root" -eq 1 ]; then
	printf 'owned\n' >owned
	chown 12345:54321 owned
	mknod chr c 1 7 2>/dev/null || :
	mknod blk b 7 200 2>/dev/null || :
fi
# 2 GiB, three small data regions, the rest holes.
truncate -s 2G sparse
printf 'begin' | dd of=sparse bs=1 seek=1048576 conv=notrunc 2>/dev/null
head -c 100000 /dev/urandom |
	dd of=sparse bs=4096 seek=262144 conv=notrunc 2>/dev/null
printf 'end' | dd of=sparse bs=1 seek=2147483645 conv=notrunc 2>/dev/null
# A file 4000 bytes down (its path as snapshotted, which is its path below
# the restore target): 199-byte unicode components, then one to fit.
bytes() { printf '%s' "$1" | wc -c; }
name=$(printf 'ä%.0s' $(seq 99))
deep=$S
# "/leaf-日本.txt" is 16 bytes.
while [ $((4000 - $(bytes "$deep") - 16)) -gt 250 ]; do
	deep=$deep/L$name
done
deep=$deep/$(printf 'x%.0s' $(seq $((4000 - $(bytes "$deep") - 16 - 1))))
mkdir -p "$deep"
printf 'deep\n' >"$deep/leaf-日本.txt"
expect_eq "the deep path's length" 4000 "$(bytes "$deep/leaf-日本.txt")"
# Distinct nanosecond mtimes everywhere, set last.
n=0
find . -depth -print | while IFS= read -r p; do
	n=$((n + 1))
	touch -h -d "@$((1612325100 + n)).$(printf '%09d' $((123456789 - n)))" "$p"
done
cd /

# ------------------------------------------------------------ the listing

tree_listing "$S" >"$T/want"
# The listing sees what it should, or comparing it proves little.
grep -q '^\./big|.*|1|' "$T/want" || fail "no big in the listing"
grep -q 'user.comment=0x68c3a96c6c6f2077c3b6726c64' "$T/want" ||
	fail "no xattr in the listing"
grep -q 'user:12345:rwx' "$T/want" || fail "no ACL in the listing"
grep -q 'default:user:12345:rwx' "$T/want" || fail "no default ACL"
grep -q '^\./sparse|.* holes$' "$T/want" || fail "sparse is not sparse"
grep -q '^\./plain|.*|2 \./d2/plain-again|' "$T/want" ||
	fail "no hard link in the listing"
grep -q '^\./fifo|11a0|' "$T/want" || fail "no FIFO in the listing"
grep -q '\.123456[0-9]*|' "$T/want" || fail "no nanoseconds in the listing"

# ------------------------------------------------------------ snapshot

expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE" \
    --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$REPO" --cache-dir "$T/cache" "$S"

# ------------------------------------------------------------ to a directory

expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/dst"
expect_grep '^restored snapshot [0-9a-f]{8} to .*/dst: [0-9]+ files' "$T/out"
tree_listing "$T/dst$S" >"$T/got"
expect_same "$T/want" "$T/got"
[ -z "$(ls "$REPO/locks")" ] || fail "a lock was left behind"

# Again into it: refused with the fix, then allowed.
expect_status 2 "$COFFER" restore -r "$REPO" latest -t "$T/dst"
expect_grep 'not empty; add --overwrite' "$T/err"
expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/dst" --overwrite
tree_listing "$T/dst$S" >"$T/got"
expect_same "$T/want" "$T/got"

# ------------------------------------------------------------ through tar

mkdir "$T/untar"
rc=0
{
	"$COFFER" restore -r "$REPO" latest --tar - 2>"$T/tar.coffer.err" ||
		echo $? >"$T/tar.rc"
} | (cd "$T/untar" && tar -xpf - --xattrs --xattrs-include='*' --acls) \
    2>"$T/tar.err" || rc=$?
[ ! -e "$T/tar.rc" ] || fail "restore --tar - exited $(cat "$T/tar.rc"):" \
    "$(cat "$T/tar.coffer.err")"
[ "$rc" -eq 0 ] || fail "tar -x exited $rc: $(cat "$T/tar.err")"
# GNU tar knows no pax hdrcharset keyword: that warning and nothing else.
if grep -v "Ignoring unknown extended header keyword" "$T/tar.err" | grep -q .; then
	fail "tar said: $(cat "$T/tar.err")"
fi
expect_grep '^restored snapshot .* to standard output' "$T/tar.coffer.err"
tree_listing "$T/untar$S" >"$T/got"
expect_same "$T/want" "$T/got"

# ------------------------------------------------------------ parts

# --include: one subtree and its parents, nothing else.
expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/inc" \
    --include "$S/ünïcødé dïr/"
grep '^\./ünïcødé dïr' "$T/want" >"$T/want.inc"
tree_listing "$T/inc$S" >"$T/got"
expect_same "$T/want.inc" "$T/got"
expect_status 2 "$COFFER" restore -r "$REPO" latest -t "$T/inc2" \
    --include "$S/not there"
expect_grep 'not in the snapshot' "$T/err"
[ ! -e "$T/inc2" ] || fail "a failed --include made the target"

# --exclude: by name anywhere, and a directory with all in it.  (plain
# loses its second name, d2/plain-again: its content is compared alone.)
expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/exc" \
    --exclude '*.txt' --exclude "$S/d2"
grep -v -e '\.txt|' -e '^\./d2' -e '^\./plain|' "$T/want" >"$T/want.exc"
tree_listing "$T/exc$S" | grep -v '^\./plain|' >"$T/got"
expect_same "$T/want.exc" "$T/got"
expect_same "$S/plain" "$T/exc$S/plain"
[ ! -e "$T/exc$S/d2" ] || fail "an excluded directory was restored"

# --stdout: one file's bytes, unicode names included.
expect_status 0 "$COFFER" restore -r "$REPO" latest --stdout "$S/big"
expect_same "$S/big" "$T/out"
expect_status 0 "$COFFER" restore -r "$REPO" latest \
    --stdout "$S/ünïcødé dïr/файл 日本語 🙂.txt"
expect_same "$S/ünïcødé dïr/файл 日本語 🙂.txt" "$T/out"
expect_status 0 "$COFFER" restore -r "$REPO" latest --stdout "$deep/leaf-日本.txt"
expect_same "$deep/leaf-日本.txt" "$T/out"
expect_status 2 "$COFFER" restore -r "$REPO" latest --stdout "$S/d2"
expect_grep 'not a regular file' "$T/err"

# A reader that goes away early: status 1, no message, no hang, no lock.
echo 0 >"$T/pipe.rc"
{
	"$COFFER" restore -r "$REPO" latest --stdout "$S/sparse" \
	    2>"$T/pipe.err" || echo $? >"$T/pipe.rc"
} | head -c 1048581 | tail -c 5 >"$T/pipe.out"
printf 'begin' >"$T/pipe.want"
expect_same "$T/pipe.want" "$T/pipe.out"
expect_eq "status after a closed pipe" 1 "$(cat "$T/pipe.rc")"
[ ! -s "$T/pipe.err" ] || fail "closed pipe: $(cat "$T/pipe.err")"
[ -z "$(ls "$REPO/locks")" ] || fail "a lock was left after a closed pipe"

# ------------------------------------------------------------ damage

# One byte in the middle of the largest pack: a chunk of big (8 MiB of
# random data in 1 MiB packs) is what fills it.
pack=$(find "$REPO/data" -type f -exec stat -c '%s %n' {} + | sort -n |
	tail -n 1 | cut -d' ' -f2)
off=$(($(stat -c '%s' "$pack") / 2))
b=$(od -An -tu1 -j "$off" -N1 "$pack" | tr -d ' ')
chmod u+w "$pack"
# shellcheck disable=SC2059 # an octal escape made on purpose
printf "\\$(printf '%o' $(((b + 1) % 256)))" |
	dd of="$pack" bs=1 seek="$off" conv=notrunc 2>/dev/null

expect_status 4 "$COFFER" restore -r "$REPO" latest -t "$T/dmg"
grep 'not restored' "$T/err" >"$T/damaged" || :
expect_eq "files reported damaged" 1 "$(wc -l <"$T/damaged")"
expect_grep "^coffer: $S/big: not restored, its data is damaged: blob" \
    "$T/damaged"
expect_grep '1 entries not restored \(1 of them damaged\)' "$T/out"
[ ! -e "$T/dmg$S/big" ] || fail "the damaged file was left in place"
grep -v '^\./big|' "$T/want" >"$T/want.dmg"
tree_listing "$T/dmg$S" >"$T/got"
expect_same "$T/want.dmg" "$T/got"

# The same through a tar file: left out, the rest whole.
expect_status 4 "$COFFER" restore -r "$REPO" latest --tar "$T/dmg.tar"
expect_grep "$S/big: not restored, its data is damaged" "$T/err"
mkdir "$T/dmguntar"
(cd "$T/dmguntar" && tar -xpf "$T/dmg.tar" --xattrs --xattrs-include='*' \
    --acls 2>/dev/null) || fail "tar could not read the tar with damage left out"
tree_listing "$T/dmguntar$S" >"$T/got"
expect_same "$T/want.dmg" "$T/got"

# And --stdout writes nothing of it.
expect_status 4 "$COFFER" restore -r "$REPO" latest --stdout "$S/big"
[ ! -s "$T/out" ] || fail "--stdout wrote $(wc -c <"$T/out") bytes of a damaged file"
expect_grep "$S/big: blob" "$T/err"
[ -z "$(ls "$REPO/locks")" ] || fail "a lock was left behind after damage"
