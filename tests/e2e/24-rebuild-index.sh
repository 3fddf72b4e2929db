#!/bin/sh
# rebuild-index: a repository whose index files are lost or damaged gets
# them back from the packs' own headers, and restores byte for byte; a
# damaged pack is left out and reported (exit 4).
. "$(dirname "$0")/lib.sh"

R="$T/repo"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key" --pack-size 1M
co() { "$COFFER" "$@" -r "$R" --password-file "$T/key"; }
mkdir -p "$T/src"
head -c 12000000 /dev/urandom > "$T/src/random"
seq 1 400000 > "$T/src/text"
expect_status 0 co snapshot "$T/src"
expect_status 0 co snapshot "$T/src"

# Every index file gone: check says so; rebuild-index brings them back.
rm "$R"/index/*
expect_status 4 co check
expect_status 0 co rebuild-index
expect_grep '^indexed [0-9]+ blobs in [0-9]+ packs: 1 index file written, 0 old ones removed$' "$T/out"
expect_status 0 co check --read-data
expect_status 0 co restore latest --target "$T/r1"
diff -r "$T/src" "$T/r1$T/src" || fail "restore after rebuild differs"

# A damaged index file is replaced.
idx=$(ls "$R"/index/* | head -n 1)
chmod u+w "$idx"
printf 'XX' | dd of="$idx" bs=1 seek=40 conv=notrunc 2>/dev/null
expect_status 4 co check
expect_status 0 co rebuild-index
expect_grep ' 1 old one removed$' "$T/out"
expect_status 0 co check --read-data

# A pack cut short is left out and reported; the rest stays indexed.
pack=$(ls "$R"/data/*/* | head -n 1)
chmod u+w "$pack"
truncate -s 100 "$pack"
expect_status 4 co rebuild-index
expect_grep 'damaged pack left out' "$T/err"
[ -z "$(ls "$R/locks")" ] || fail "lock left behind"
