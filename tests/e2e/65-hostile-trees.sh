#!/bin/sh
# Hostile archives and hostile snapshot trees meet the restore.
# - A tar stream through snapshot --from-tar with '..' components, absolute
#   paths, a symlink and then a file through it, duplicate paths, a
#   directory then a symlink of its name then a file below, hard links to
#   '../../etc/passwd', to an absolute path, to a symlink, a device node, a
#   NUL and a newline in names: each refused member is one line, exit 3.
# - Trees a key holder wrote (tests/tools/plant-tree) with names the format
#   refuses ('..', '.', 'a/b', '/abs', a NUL), a directory and a symlink
#   of one name, symlinks out of the target (with mode, owner, time and an
#   xattr), '..' as a symlink, hard links and a device node: each listing
#   that cannot be trusted is one line, exit 4.
# - Planted symlinks (and a FIFO) in a non-empty target, restored over
#   with --overwrite: replaced, never followed.
# Every time: nothing outside the target changes (a canary directory with
# its full listing before and after, and no new names around the target),
# no metadata lands through a link, and check still passes where the
# repository holds nothing planted.
. "$(dirname "$0")/lib.sh"

need python3 tar stat find getfattr setfattr mkfifo timeout
[ -x "$TOOLS/plant-tree" ] || fail "no $TOOLS/plant-tree: run 'make tools'"

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo
W=$T/w
C=$W/canary
root=0
[ "$(id -u)" -ne 0 ] || root=1

expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE"

mkdir "$W" "$C" "$C/sub"
printf 'secret\n' >"$C/file"
chmod 600 "$C/file"
setfattr -n user.keep -v yes "$C/file"
printf 'x\n' >"$C/sub/x"
find "$C" -exec touch -h -d @1000000000 {} +
# What must not change: the canary (listing, and its own stat); and no
# name beside the targets but theirs (expect_targets).
outside() {
	tree_listing "$C"
	stat -c '%n|%f|%u:%g|%.9Y' "$C"
	find "$T" -name 'escape*' ! -path "$W/tgt*/*"
}
outside >"$T/outside.want"
expect_unchanged() {
	outside >"$T/outside.got"
	expect_same "$T/outside.want" "$T/outside.got"
}
# tgt* directories are the targets: they are expected in the listing.
expect_targets() {
	(cd "$W" && ls -A) >"$T/names"
	printf '%s\n' canary "$@" >"$T/names.want"
	expect_same "$T/names.want" "$T/names"
}

# ------------------------------------------------------------ tar ingest

cat >"$T/mk.py" <<'EOF'
import io, sys, tarfile
C = sys.argv[2]
t = tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT)
def add(name, type=tarfile.REGTYPE, data=b"", link="", mode=0o644, **kw):
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode, ti.mtime = type, link, mode, 1600000000
    ti.size = len(data) if type == tarfile.REGTYPE else 0
    for k, v in kw.items():
        setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data) if type == tarfile.REGTYPE else None)
add("./", tarfile.DIRTYPE, mode=0o755)
add("ok.txt", data=b"fine\n")
add("../escape.txt", data=b"evil\n")
add("a/../../escape2.txt", data=b"evil\n")
add("/abs/x.txt", data=b"abs\n")
add("lnk", tarfile.SYMTYPE, link=C)
add("lnk/through.txt", data=b"evil\n")
add("ok.txt", data=b"dup\n")
add("hl", tarfile.LNKTYPE, link="../../etc/passwd")
add("hl2", tarfile.LNKTYPE, link="/etc/passwd")
add("hl3", tarfile.LNKTYPE, link="ok.txt")
add("hl4", tarfile.LNKTYPE, link="lnk")
add("dev", tarfile.CHRTYPE, devmajor=1, devminor=3)
add("d", tarfile.DIRTYPE, mode=0o755)
add("d", tarfile.SYMTYPE, link=C)
add("d/after.txt", data=b"in d\n")
add("nul\x00name.txt", data=b"nul\n")
add("nl\nname", data=b"nl\n")
add("canary-link", tarfile.SYMTYPE, link=C + "/file", mode=0o777, mtime=0)
t.close()
EOF
python3 "$T/mk.py" "$T/hostile.tar" "$C"

expect_status 3 "$COFFER" snapshot -r "$REPO" --from-tar "$T/hostile.tar"
grep -c ': refused' "$T/err" >"$T/n" || :
expect_eq "refused members" 8 "$(cat "$T/n")"
for want in \
    'tar member "\.\./escape\.txt": .\.\.. in a member.s path: refused' \
    'tar member "a/\.\./\.\./escape2\.txt": .\.\.. in a member.s path' \
    'tar member "/abs/x\.txt": leading ./. removed' \
    'tar member "lnk/through\.txt": "lnk" on its path is a symlink in the archive, not a directory: refused' \
    'tar member "ok\.txt": an earlier member has this path: refused' \
    'tar member "hl": hard link to "\.\./\.\./etc/passwd": .\.\.. in' \
    'tar member "hl2": a hard link to "etc/passwd", which is no earlier member: refused' \
    'tar member "hl4": a hard link to "lnk", which is not a regular file: refused' \
    'tar member "d": an earlier member has this path: refused' \
    'is partial: 8 entries skipped'; do
	expect_grep "$want" "$T/err"
done
# One line each: the eight, the '/' removed, the summary.
expect_eq "lines" 10 "$(wc -l <"$T/err")"
expect_status 0 "$COFFER" ls -r "$REPO" latest
expect_grep '^nl\\nname$' "$T/out"
expect_grep '^nul$' "$T/out"
expect_status 0 "$COFFER" check -r "$REPO" --read-data

expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$W/tgt"
expect_unchanged
expect_targets tgt
[ "$(cat "$W/tgt/ok.txt")" = fine ] || fail "the first ok.txt was not kept"
[ "$(stat -c %i "$W/tgt/ok.txt")" = "$(stat -c %i "$W/tgt/hl3")" ] ||
	fail "hl3 is not a hard link of ok.txt"
[ -d "$W/tgt/d" ] && [ ! -L "$W/tgt/d" ] && [ -f "$W/tgt/d/after.txt" ] ||
	fail "d is not the directory holding after.txt"
[ -L "$W/tgt/lnk" ] && [ -f "$W/tgt/abs/x.txt" ] ||
	fail "lnk or abs/x.txt missing"
for p in escape.txt lnk/through.txt hl hl2 hl4 name.txt; do
	[ ! -e "$W/tgt/$p" ] || fail "$p was restored"
done
[ "$root" -eq 0 ] || [ -c "$W/tgt/dev" ] || fail "no device node"

# ------------------------------------------------------------ planted trees

cat >"$T/spec" <<EOF
file ok.txt hello
dir names1
file \\x2e\\x2e evil
end
dir names2
file a\\x2fb evil
end
dir names3
file nul\\x00x evil
end
dir names4
file \\x2fabs evil
end
dir names5
file \\x2e evil
end
dir dup
dir d
end
symlink =d $C
end
symlink out $C/file mode=0777 uid=12345 mtime=0 xattr=user.x=y
symlink outdir $C
symlink up ..
file hl hard nlink=2 dev=1 ino=7
file hl2 hard nlink=2 dev=1 ino=7 mode=0777
dir real
file inside ok
end
EOF
[ "$root" -eq 0 ] || echo 'chr disk 8 0 mode=0600' >>"$T/spec"
"$TOOLS/plant-tree" "$REPO" "$COFFER_PASSWORD_FILE" "$T/spec" >"$T/planted" ||
	fail "plant-tree failed"
snap=$(cat "$T/planted")

expect_status 4 "$COFFER" restore -r "$REPO" "$snap" -t "$W/tgt2"
for d in names1 names2 names3 names4 names5 dup; do
	expect_grep "^coffer: /$d: not restored, its data is damaged: its listing: tree [0-9a-f]+: tree: node [01]: (invalid name|names out of order or repeated)" "$T/err"
done
expect_grep '6 entries not restored \(6 of them damaged\)' "$T/out"
expect_unchanged
expect_targets tgt tgt2
[ -L "$W/tgt2/out" ] && [ -L "$W/tgt2/outdir" ] && [ -L "$W/tgt2/up" ] ||
	fail "the symlinks are not symlinks"
[ "$(stat -c %i "$W/tgt2/hl")" = "$(stat -c %i "$W/tgt2/hl2")" ] ||
	fail "hl2 is not a hard link of hl"
[ "$(cat "$W/tgt2/real/inside")" = ok ] || fail "real/inside"
[ "$root" -eq 0 ] || [ -c "$W/tgt2/disk" ] || fail "no device node"

# The key holder's trees are damage to check, named as such.
expect_status 4 "$COFFER" check -r "$REPO"

# ------------------------------------------------------------ planted target

# A target that holds symlinks (to the canary) and a FIFO where the
# snapshot has files and directories: --overwrite replaces them, and no
# write follows one.  (A FIFO opened for writing would hang: timeout.)
mkdir "$W/tgt3"
ln -s "$C" "$W/tgt3/d"
ln -s "$C" "$W/tgt3/abs"
ln -s "$C/file" "$W/tgt3/ok.txt"
ln -s "$C/file" "$W/tgt3/hl3"
ln -s "$C/file" "$W/tgt3/dev"
mkfifo "$W/tgt3/canary-link"
tarsnap=$("$COFFER" snapshots -r "$REPO" --json | tr '{' '\n' |
	sed -n 's/.*"id":"\([0-9a-f]*\)".*"paths":\["tar:.*/\1/p' | head -n 1)
[ -n "$tarsnap" ] || tarsnap=$("$COFFER" snapshots -r "$REPO" | awk 'NR == 2 { print $1 }')
expect_status 0 timeout 60 "$COFFER" restore -r "$REPO" "$tarsnap" \
    -t "$W/tgt3" --overwrite
expect_unchanged
expect_targets tgt tgt2 tgt3
[ -d "$W/tgt3/d" ] && [ ! -L "$W/tgt3/d" ] && [ -f "$W/tgt3/d/after.txt" ] ||
	fail "the planted symlink d was not replaced by the directory"
[ ! -L "$W/tgt3/ok.txt" ] && [ "$(cat "$W/tgt3/ok.txt")" = fine ] ||
	fail "the planted symlink ok.txt was not replaced"
[ -L "$W/tgt3/canary-link" ] || fail "the planted FIFO was not replaced"

# A planted symlink below a directory of the snapshot, with --include.
rm -rf "$W/tgt4"
mkdir -p "$W/tgt4/d"
ln -s "$C/file" "$W/tgt4/d/after.txt"
expect_status 0 "$COFFER" restore -r "$REPO" "$tarsnap" -t "$W/tgt4" \
    --overwrite --include /d
expect_unchanged
[ ! -L "$W/tgt4/d/after.txt" ] && [ "$(cat "$W/tgt4/d/after.txt")" = 'in d' ] ||
	fail "the planted symlink d/after.txt was followed or kept"
