#!/bin/sh
# coffer init and snapshot from the command line: keys and their errors,
# deduplication, the files cache, and what a second run adds.
. "$(dirname "$0")/lib.sh"

export COFFER_TEST_WEAK_KDF=1
umask 077
printf 'correct horse\n' > "$T/pw"
printf 'wrong horse\n' > "$T/bad"
R="$T/repo"
C="--cache-dir $T/cache"

expect_status 0 "$COFFER" init -r "$R" --password-file "$T/pw"
expect_grep '^created repository [0-9a-f]{8} at ' "$T/out"
# init twice is refused and changes nothing
expect_status 2 "$COFFER" init -r "$R" --password-file "$T/pw"
expect_grep 'already exists' "$T/err"

# Wrong passphrase: exit 12, one line, the passphrase never printed.
mkdir -p "$T/src"
echo hello > "$T/src/a"
expect_status 12 "$COFFER" snapshot -r "$R" --password-file "$T/bad" "$T/src"
[ "$(wc -l < "$T/err")" -eq 1 ] || fail "wrong passphrase: not one line"
if grep -q horse "$T/out" "$T/err"; then fail "a passphrase was printed"; fi
# No repository: exit 10.
expect_status 10 "$COFFER" snapshot -r "$T/none" --password-file "$T/pw" "$T/src"
expect_grep 'no repository' "$T/err"
# A password file others can read is refused with the fix.
cp "$T/pw" "$T/pw644"
chmod 644 "$T/pw644"
expect_status 2 "$COFFER" snapshot -r "$R" --password-file "$T/pw644" "$T/src"
expect_grep 'chmod 600' "$T/err"

# Files this test writes beside the data exist from here on, so that the
# directories above the data keep their mtime between snapshots.
touch "$T/out" "$T/err" "$T/stored" "$T/read" "$T/blobs"
mkdir -p "$T/cache"

# 40 MiB of data: 30 MiB random, 10 MiB text.
head -c 31457280 /dev/urandom > "$T/src/random"
seq 1 1300000 > "$T/src/text"
snap() {
	expect_status 0 "$COFFER" snapshot -r "$R" --password-file "$T/pw" \
	    $C --json "$@"
	sed -n 's/.*"stored_new":\([0-9]*\).*/\1/p' "$T/out" > "$T/stored"
	sed -n 's/.*"bytes_read":\([0-9]*\).*/\1/p' "$T/out" > "$T/read"
	sed -n 's/.*"blobs_new":\([0-9]*\).*/\1/p' "$T/out" > "$T/blobs"
}
snap "$T/src"
first=$(cat "$T/stored")
[ "$first" -gt 31000000 ] || fail "first snapshot stored only $first bytes"
[ "$first" -lt 36000000 ] || fail "first snapshot stored $first bytes: text not compressed?"

# No change: nothing read (files cache), no data added.  The trees of the
# directories above the data (/tmp, ...) record their metadata, and others
# may touch /tmp meanwhile: at most those small trees are new.
depth=$(printf '%s' "$T/src" | tr -cd / | wc -c)
snap "$T/src"
expect_eq "bytes read by a no-change snapshot" 0 "$(cat "$T/read")"
[ "$(cat "$T/blobs")" -le "$depth" ] ||
	fail "a no-change snapshot added $(cat "$T/blobs") blobs"
[ "$(cat "$T/stored")" -lt 16384 ] ||
	fail "a no-change snapshot stored $(cat "$T/stored") bytes"
snap "$T/src"
expect_eq "bytes read by a no-change snapshot" 0 "$(cat "$T/read")"

# The same data again under another name, read in full: < 1% added.
cp -p "$T/src/random" "$T/src/random-copy"
snap --no-cache "$T/src"
[ "$(cat "$T/stored")" -lt $((first / 100)) ] ||
	fail "a copy of known data added $(cat "$T/stored") bytes"

# One byte changed in the middle of 30 MiB: about one chunk (avg 1 MiB,
# at most 4 MiB) plus the trees from the file's directory up to the root.
printf 'X' | dd of="$T/src/random" bs=1 seek=15000000 conv=notrunc 2>/dev/null
snap "$T/src"
added=$(cat "$T/stored")
[ "$added" -lt 8388608 ] || fail "a one-byte change added $added bytes"
[ "$added" -gt 1000 ] || fail "a one-byte change added nothing"
blobs=$(cat "$T/blobs")
[ "$blobs" -le $((depth + 3)) ] || fail "a one-byte change added $blobs blobs"

# Paths: overlapping ones are refused, relative ones made absolute.
expect_status 2 "$COFFER" snapshot -r "$R" --password-file "$T/pw" "$T/src" "$T/src/text"
expect_grep 'overlap' "$T/err"
# A compression level out of range or not a number: a usage error.
for lvl in 0 20 3x; do
	expect_status 2 "$COFFER" snapshot -r "$R" --password-file "$T/pw" \
	    --compression "$lvl" "$T/src"
	expect_grep "compression: '$lvl' is not a zstd level \\(1-19\\)" "$T/err"
done
expect_status 2 "$COFFER" snapshot -r "$R" --password-file "$T/pw"
(cd "$T" && "$COFFER" snapshot -r "$R" --password-file "$T/pw" $C --json src > "$T/out")
expect_grep "\"paths\":\\[\"$T/src\"\\]" "$T/out"

# A file that keeps changing while it is read: read twice, then stored as
# read, listed as inconsistent, exit status 3.
mkdir -p "$T/busy"
head -c 67108864 /dev/urandom > "$T/busy/log"
( while :; do echo x >> "$T/busy/log"; done ) &
writer=$!
expect_status 3 "$COFFER" snapshot -r "$R" --password-file "$T/pw" $C \
    --json "$T/busy"
kill "$writer"
wait "$writer" 2>/dev/null || true
expect_grep "\"inconsistent\":\\[\"$T/busy/log\"\\]" "$T/out"
expect_grep "changed while it was read" "$T/err"

# No lock is left behind by any of the above.
[ -z "$(ls "$R/locks")" ] || fail "locks left: $(ls "$R/locks")"
