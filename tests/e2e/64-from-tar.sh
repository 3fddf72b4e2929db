#!/bin/sh
# coffer snapshot --from-tar, end to end: a tree with every kind of entry
# (long unicode names, symlinks, hard links, xattrs, ACLs, a FIFO, devices,
# owners, nanosecond times) as a pax stream on stdin and as a GNU tar file
# is stored, restored and compared entry by entry with the original; a tar
# of a tree already snapshotted adds next to no data; a 100 MiB member
# (sparse, and dense) streams from stdin in bounded memory and comes back
# with its holes; a real `pg_basebackup -Ft -D -` goes in and restores as
# GNU tar extracts it; and the usage errors.
# e2e: long
. "$(dirname "$0")/lib.sh"

need tar setfattr getfattr setfacl getfacl truncate mkfifo stat find \
    /usr/bin/time
[ -x "$TOOLS/contenthash" ] || fail "no $TOOLS/contenthash: run 'make tools'"

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo
S=$T/src
root=0
[ "$(id -u)" -ne 0 ] || root=1
json_num() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$T/out"; }

expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE" \
    --pack-size 1M

# ------------------------------------------------------------ usage

expect_status 2 "$COFFER" snapshot -r "$REPO" --from-tar "$T/x.tar" "$T"
expect_grep 'not both' "$T/err"
expect_status 2 "$COFFER" snapshot -r "$REPO" --from-tar - --sqlite "$T/db"
expect_grep 'give --from-tar or --sqlite, not both' "$T/err"
expect_status 2 "$COFFER" snapshot -r "$REPO" --from-tar ''
expect_status 1 "$COFFER" snapshot -r "$REPO" --from-tar "$T/none.tar"
expect_grep "none.tar: No such file" "$T/err"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
head -c 5000 /dev/urandom >"$T/junk"
expect_status 1 "$COFFER" snapshot -r "$REPO" --from-tar - <"$T/junk"
expect_grep '^coffer: tar:-: tar stream: ' "$T/err"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"

# ------------------------------------------------------------ the tree

mkdir "$S"
cd "$S"
printf 'hello\n' >plain
: >empty
head -c 3000000 /dev/urandom >big
printf 'x' >setuid
chmod 4755 setuid
mkdir sticky emptydir 'ünïcødé dïr'
chmod 1777 sticky
printf 'δεδομένα\n' >'ünïcødé dïr/файл 日本語 🙂.txt'
ln -s plain link
ln -s '../nowhere/at all' 'ünïcødé dïr/dangling'
mkdir d2
ln plain d2/plain-again
mkfifo fifo
setfattr -n user.comment -v 'héllo wörld' plain
printf 'acl\n' >acl_file
setfacl -m u:12345:rwx,g:54321:r-x acl_file
long=$(printf 'long-name-%.0s' $(seq 12))
mkdir -p "a/$long/$long"
printf 'deep\n' >"a/$long/$long/$long.txt"
if [ "$root" -eq 1 ]; then
	printf 'owned\n' >owned
	chown 12345:54321 owned
	mknod chr c 1 7
	mknod blk b 7 200
fi
n=0
find . -depth -print | while IFS= read -r p; do
	n=$((n + 1))
	touch -h -d "@$((1612325100 + n)).$(printf '%09d' $((123456789 - n)))" "$p"
done
cd /
tree_listing "$S" >"$T/want"
grep -q 'user.comment=' "$T/want" || fail "no xattr in the listing"
grep -q '^\./plain|.*|2 \./d2/plain-again|' "$T/want" ||
	fail "no hard link in the listing"

# The tree from disk first: the tar of it must add next to no data.
expect_status 0 "$COFFER" snapshot -r "$REPO" --no-cache "$S"

# ------------------------------------------------------------ pax on stdin

tar --format=pax --xattrs --xattrs-include='*' --acls -C "$S" -cf - . |
	"$COFFER" snapshot -r "$REPO" --json --from-tar - >"$T/out" 2>"$T/err" ||
	fail "snapshot --from-tar - failed: $(cat "$T/err")"
[ ! -s "$T/err" ] || fail "snapshot --from-tar said: $(cat "$T/err")"
raw=$(json_num raw_new)
[ -n "$raw" ] && [ "$raw" -lt 65536 ] ||
	fail "a tar of a stored tree added ${raw:-?} bytes (3 MiB of data)"
expect_grep '"paths":\["tar:-"\]' "$T/out"
expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/pax"
tree_listing "$T/pax" >"$T/got"
expect_same "$T/want" "$T/got"

# ------------------------------------------------------------ GNU tar file

# No nanoseconds, xattrs or ACLs in this format: compare the rest.
short() {
	awk -F'|' 'BEGIN { OFS = "|" } { sub(/\..*/, "", $5); $8 = $9 = "";
	    print }' "$1"
}
tar --format=gnu -C "$S" -cf "$T/gnu.tar" .
expect_status 0 "$COFFER" snapshot -r "$REPO" --from-tar "$T/gnu.tar" \
    --tag gnu
expect_status 0 "$COFFER" snapshots -r "$REPO" --json
expect_grep "\"paths\":\\[\"tar:$T/gnu.tar\"\\]" "$T/out"
expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/gnu"
short "$T/want" >"$T/want.gnu"
tree_listing "$T/gnu" >"$T/got"
short "$T/got" >"$T/got.gnu"
expect_same "$T/want.gnu" "$T/got.gnu"

# gzip on the way in: the same snapshot content.
gzip -c "$T/gnu.tar" >"$T/gnu.tar.gz"
expect_status 0 "$COFFER" snapshot -r "$REPO" --from-tar "$T/gnu.tar.gz"
expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/gz"
tree_listing "$T/gz" >"$T/got"
short "$T/got" >"$T/got.gz"
expect_same "$T/want.gnu" "$T/got.gz"

# ------------------------------------------------------------ 100 MiB

mkdir "$T/m"
truncate -s 100M "$T/m/sparse"
printf 'begin' | dd of="$T/m/sparse" bs=1 seek=1048576 conv=notrunc 2>/dev/null
head -c 100000 /dev/urandom |
	dd of="$T/m/sparse" bs=4096 seek=12800 conv=notrunc 2>/dev/null
printf 'end' | dd of="$T/m/sparse" bs=1 seek=104857597 conv=notrunc 2>/dev/null
head -c 104857600 /dev/urandom >"$T/m/dense"
tar --format=pax --sparse -C "$T/m" -cf - . |
	/usr/bin/time -f '%M' -o "$T/rss" \
	    "$COFFER" snapshot -r "$REPO" --from-tar - >"$T/out" 2>"$T/err" ||
	fail "100 MiB from stdin: $(cat "$T/err")"
# 200 MiB went through: far less is held at once.
[ "$(tail -n 1 "$T/rss")" -lt 150000 ] ||
	fail "snapshot --from-tar used $(tail -n 1 "$T/rss") KiB for 200 MiB"
expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/mo"
tree_listing "$T/m" >"$T/want.m"
grep -q '^\./sparse|.* holes$' "$T/want.m" || fail "sparse is not sparse"
tree_listing "$T/mo" >"$T/got"
expect_same "$T/want.m" "$T/got"
rm -rf "$T/m" "$T/mo"

# ------------------------------------------------------------ pg_basebackup

if command -v pg_basebackup >/dev/null 2>&1 || [ -n "${PG_BIN:-}" ]; then
	start_pg
	psql -X -q -c "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g"
	pg_basebackup -Ft -D - -X fetch -c fast 2>"$T/pgb.err" |
		tee "$T/base.tar" |
		"$COFFER" snapshot -r "$REPO" --from-tar - >"$T/out" \
		    2>"$T/err" || fail "pg_basebackup | snapshot: $(cat "$T/err")"
	[ -s "$T/base.tar" ] || fail "pg_basebackup wrote nothing: $(cat "$T/pgb.err")"
	mkdir "$T/pgtar"
	tar -xpf "$T/base.tar" -C "$T/pgtar"
	expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/pgrst"
	# A thousand entries: tree_listing's processes per entry would take
	# minutes here.  Metadata from find, bytes from diff -r.  Not the
	# directories' mtimes: pg_basebackup adds files to global/ and pg_wal/
	# at the end, after GNU tar has set those (coffer keeps the recorded).
	fast_listing() {
		(cd "$1" && find . -mindepth 1 \( -type d -printf '%p|%M|%U:%G\n' \) \
			-o -printf '%p|%M|%U:%G|%T@|%l\n' | LC_ALL=C sort)
	}
	fast_listing "$T/pgtar" >"$T/want.pg"
	grep -q '^\./PG_VERSION|' "$T/want.pg" || fail "no PG_VERSION in base.tar"
	fast_listing "$T/pgrst" >"$T/got"
	expect_same "$T/want.pg" "$T/got"
	diff -r "$T/pgtar" "$T/pgrst" >"$T/diff" ||
		fail "pg_basebackup restored other bytes: $(head "$T/diff")"
fi

expect_status 0 "$COFFER" check -r "$REPO" --read-data
