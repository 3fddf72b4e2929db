#!/bin/sh
# A full disk under the restore target and under the files cache (the
# repository's disk full is 44-replicate-nospace and 74-prune-faults), in
# a private mount namespace with a small tmpfs.  Restore to a directory or
# a tar file that does not fit: exit 1, one line that names the target and
# how much more the snapshot needs, no partial file left (what is there is
# whole), no tar file left; after space is freed the same restore works.
# Cache on a full disk: the cache is an optimisation, so the snapshot
# still succeeds, with one warning that gives SQLite's reason, and
# restores byte for byte.
if [ -z "${COFFER_E2E_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
	unshare -m true 2>/dev/null; then
	COFFER_E2E_NS=1 exec unshare -m sh "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

[ -n "${COFFER_E2E_NS:-}" ] || skip "needs root and a private mount namespace"
export COFFER_TEST_WEAK_KDF=1
cd "$T"
umask 077
M=$T/full
mkdir "$M"
mount -t tmpfs -o size=8m tmpfs "$M" || skip "cannot mount a tmpfs here"
# Unmount before lib.sh's exit trap removes $T.
trap '_rc=$?; set +e; umount -l "$M" 2>/dev/null; (exit $_rc); _e2e_exit' EXIT
free_kib() { df -k --output=avail "$M" | tail -n 1 | tr -d ' '; }
# fill KIB: leave KIB KiB free on $M.
fill() {
	rm -f "$M/filler"
	head -c 100000000 /dev/zero >"$M/filler" 2>/dev/null || true
	[ "$(free_kib)" -eq 0 ] || fail "the tmpfs is not full: $(free_kib) KiB free"
	[ "$1" -eq 0 ] || truncate -s "-$1K" "$M/filler"
}

mkdir src
for i in 1 2 3 4; do head -c 900000 /dev/urandom >"src/f$i"; done
seq 1 20000 >src/text
R=$T/repo
K="--password-file $T/key"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key" --pack-size 1M
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --no-cache src

# whole DIR: every file under DIR is its source's, byte for byte.
whole() {
	(cd "$1" && find . -type f) | while read -r f; do
		cmp -s "$1/$f" "/$f" || fail "$1/$f is not its source's"
	done
}

# ------------------------------------------------ restore to a directory
fill 2048
# shellcheck disable=SC2086
expect_status 1 "$COFFER" restore -r "$R" $K latest --target "$M/t"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep "^coffer: no space left on $M/t: restoring snapshot [0-9a-f]{8} needs about [0-9.]+ [KM]iB more \\([0-9.]+ [KM]?i?B of its 3\\.[0-9] MiB of file data restored\\); free that much there or restore elsewhere: .*No space left on device$" "$T/err"
expect_grep '^stopped restoring snapshot' "$T/out"
whole "$M/t"
n=$(find "$M/t" -type f | wc -l)
if [ "$n" -lt 1 ] || [ "$n" -ge 5 ]; then
	fail "$n files restored: expected some, not all"
fi
# Space freed: the same restore, over what is there, finishes.
rm -f "$M/filler"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$R" $K latest --target "$M/t" --overwrite
diff -r src "$M/t$T/src" || fail "the restore after freeing space differs"
rm -rf "$M/t"

# ------------------------------------------------ restore to a tar file
fill 2048
# shellcheck disable=SC2086
expect_status 1 "$COFFER" restore -r "$R" $K latest --tar "$M/t.tar"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep "^coffer: no space left on $M/t\\.tar: restoring snapshot [0-9a-f]{8} needs about .*No space left on device$" "$T/err"
[ ! -e "$M/t.tar" ] || fail "the cut tar file was left"
rm -f "$M/filler"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$R" $K latest --tar "$M/t.tar"
mkdir untar
tar -xf "$M/t.tar" -C untar
diff -r src "untar$T/src" || fail "the tar after freeing space differs"
rm -rf untar "$M/t.tar"

# ------------------------------------------------ the files cache
# Not a byte free for the cache: the snapshot goes on without it.
fill 0
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --cache-dir "$M/cache" src
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep '^coffer: warning: files cache: .*reading every file$' "$T/err"
# A cache that fills up while the snapshot writes it (many files).
mkdir src/many
i=0
while [ $i -lt 3000 ]; do
	echo "$i" >"src/many/f$i"
	i=$((i + 1))
done
rm -rf "$M/cache"
fill 80
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --cache-dir "$M/cache" src
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep '^coffer: warning: files cache: .*the next run reads every file' "$T/err"
# SQLite's own reason, read before the statement that failed was reset
# (read after, it said "not an error").
expect_grep '^coffer: warning: files cache: [a-z]+: database or disk is full \(' "$T/err"
echo changed >>src/text
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --cache-dir "$M/cache" src
rm -f "$M/filler"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" check -r "$R" $K --read-data
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$R" $K latest --target got
diff -r src "got$T/src" || fail "the snapshot taken beside a full cache differs"
