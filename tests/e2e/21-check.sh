#!/bin/sh
# coffer check: a clean repository passes; each kind of damage (a flipped
# byte in a pack, a truncated or deleted pack, a damaged index, snapshot,
# key or config file) is found, named, and exits 4; putting the file back
# makes the repository pass again, byte for byte what it was.
. "$(dirname "$0")/lib.sh"

R=$T/repo

# flip_byte FILE OFFSET: invert the lowest bit of one byte, in place.
flip_byte() {
	local b
	chmod u+w "$1"
	b=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	# shellcheck disable=SC2059 # the format is the octal escape
	printf "$(printf '\\%03o' $((b ^ 1)))" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
}

# one_line FILE: fail unless FILE has exactly one line.
one_line() {
	[ "$(wc -l <"$1")" -eq 1 ] || fail "expected one line in $1, got: $(cat "$1")"
}

check() {
	"$COFFER" check -r "$R" --password-file "$T/mk" "$@"
}

# coffer help NAME and NAME --help print the same text.
for c in check key; do
	expect_status 0 "$COFFER" help "$c"
	cp "$T/out" "$T/help1"
	expect_status 0 "$COFFER" "$c" --help
	expect_same "$T/help1" "$T/out"
done

expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/mk"
expect_status 0 check
expect_grep '^no problems found$' "$T/out"
[ ! -s "$T/err" ] || fail "a clean check wrote to stderr: $(cat "$T/err")"
expect_status 0 check --read-data --json
expect_grep '"ok":true' "$T/out"

# Refusals: a wrong key (12, one line), no repository (10), bad options (2).
printf 'not the key\n' >"$T/wrong"
chmod 600 "$T/wrong"
expect_status 12 "$COFFER" check -r "$R" --password-file "$T/wrong"
one_line "$T/err"
expect_grep 'wrong passphrase or key' "$T/err"
expect_status 10 "$COFFER" check -r "$T/nothing" --password-file "$T/mk"
expect_status 2 check --read-data --read-data-subset 5%
expect_status 2 check --read-data-subset 0%
one_line "$T/err"
expect_status 2 check --read-data-subset 3/2
expect_status 2 check extra

# A damaged key file (a second key, so the first still opens).
expect_status 0 "$COFFER" key add -r "$R" --password-file "$T/mk" \
    --machine-key "$T/mk2" --json
kid=$(sed 's/.*"added":"\([0-9a-f]*\)".*/\1/' "$T/out")
cp "$R/keys/$kid" "$T/key.orig"
flip_byte "$R/keys/$kid" 40
expect_status 4 check
expect_grep "^coffer: keys/$kid: .*coffer key remove" "$T/err"
one_line "$T/err"
cp "$T/key.orig" "$R/keys/$kid"
expect_status 0 check

# A damaged config: the repository cannot be opened; one line, exit 4.
cp "$R/config" "$T/config.orig"
flip_byte "$R/config" 20
expect_status 4 check
one_line "$T/err"
expect_grep 'config' "$T/err"
cp "$T/config.orig" "$R/config"

mkdir -p "$T/src/sub"
head -c 3000000 /dev/urandom >"$T/src/big"
echo hello >"$T/src/sub/small"
expect_status 0 "$COFFER" snapshot -r "$R" --password-file "$T/mk" "$T/src"
expect_status 0 check --read-data
expect_grep '^read 1 of 1 pack ' "$T/out"
expect_grep '^no problems found$' "$T/out"
expect_status 0 check --read-data-subset 1/1
expect_grep '^read 1 of 1 pack ' "$T/out"
# The two halves of the pack ids hold the one pack between them.
expect_status 0 check --read-data-subset 1/2
sed -n 's/^read \([0-9]*\) of .*/\1/p' "$T/out" >"$T/halves"
expect_status 0 check --read-data-subset 2/2
sed -n 's/^read \([0-9]*\) of .*/\1/p' "$T/out" >>"$T/halves"
expect_eq "packs read by 1/2 and 2/2" 1 "$(($(head -1 "$T/halves") + $(tail -1 "$T/halves")))"

pack=$(find "$R/data" -type f)
rel=${pack#"$R"/}
cp "$pack" "$T/pack.orig"

# A flipped byte in file data: the structure holds, reading finds it.
flip_byte "$pack" $(($(stat -c %s "$pack") / 3))
expect_status 0 check
expect_status 4 check --read-data
expect_grep "^coffer: $rel: damaged: its bytes do not match its name" "$T/err"
expect_grep "^coffer: $rel: blob [0-9a-f]+ \(data, " "$T/err"
expect_grep 'the repository is damaged' "$T/out"
expect_status 4 check --read-data --json
expect_grep '"ok":false' "$T/out"
expect_grep "\"file\":\"$rel\"" "$T/out"
[ ! -s "$T/err" ] || fail "--json also wrote to stderr: $(cat "$T/err")"
cp "$T/pack.orig" "$pack"

# Truncated, then missing.
truncate -s $(($(stat -c %s "$pack") / 2)) "$pack"
expect_status 4 check
expect_grep "^coffer: $rel: truncated" "$T/err"
rm -f "$pack"
expect_status 4 check
expect_grep "^coffer: $rel: missing" "$T/err"
expect_grep "^coffer: snapshots/[0-9a-f]{64}: .*incomplete" "$T/err"
cp "$T/pack.orig" "$pack"

# A damaged index file is named (and its pack then unindexed).
idx=$(find "$R/index" -type f)
cp "$idx" "$T/index.orig"
flip_byte "$idx" 30
expect_status 4 check
expect_grep "^coffer: index/[0-9a-f]{64}: .*rebuild-index" "$T/err"
expect_grep "^coffer: warning: $rel: not in any index file" "$T/err"
cp "$T/index.orig" "$idx"

# A damaged snapshot file.
snap=$(find "$R/snapshots" -type f)
cp "$snap" "$T/snap.orig"
flip_byte "$snap" 30
expect_status 4 check
expect_grep "^coffer: snapshots/[0-9a-f]{64}: " "$T/err"
one_line "$T/err"
cp "$T/snap.orig" "$snap"

# Everything put back: clean again, and the pack is what it was.
expect_status 0 check --read-data
expect_grep '^no problems found$' "$T/out"
expect_same "$T/pack.orig" "$pack"
