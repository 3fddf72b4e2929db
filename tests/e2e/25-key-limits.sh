#!/bin/sh
# Key files planted in keys/ (by a key holder through the append-only
# recipe, or anyone who can write there) cost a bounded KDF time: a file
# asking for more than 8x the default scrypt work is refused before any
# KDF runs; one open spends at most the KDF budget and names the files it
# left out; the key file that opened the repository last time (the local
# hint, never secret) is tried first; machine keys cost no KDF; writing
# the hint never fails an open; coffer check names the planted files.
. "$(dirname "$0")/lib.sh"

need sha256sum base64
R=$T/repo
unset COFFER_TEST_WEAK_KDF COFFER_KDF_BUDGET

secret() {
	printf '%s\n' "$2" >"$T/$1"
	chmod 600 "$T/$1"
}

# plant N R P: a passphrase key file as an attacker writes one (random
# salt and box), named by its SHA-256 as the format says; prints its id.
plant() {
	local salt box id
	salt=$(head -c 32 /dev/urandom | base64 | tr -d '\n')
	box=$(head -c 60 /dev/urandom | base64 | tr -d '\n')
	cat >"$T/k.json" <<EOF
{
  "type": "coffer-key",
  "version": 1,
  "kind": "passphrase",
  "kdf": {
    "name": "scrypt",
    "n": $1,
    "r": $2,
    "p": $3,
    "salt": "$salt"
  },
  "created": 1795776180,
  "host": "x",
  "user": "y",
  "sealed": "$box"
}
EOF
	id=$(sha256sum "$T/k.json" | cut -c1-64)
	mv "$T/k.json" "$R/keys/$id"
	echo "$id"
}

co() {
	"$COFFER" "$@" -r "$R"
}

secret pw 'the real passphrase'
secret wrong 'not it'
mkdir -p "$T/data/etc"
printf 'GOOD CONTENT\n' >"$T/data/etc/app.conf"
head -c 100000 /dev/urandom >"$T/data/blob"

# A repository with a machine key (cron's, no KDF) and a passphrase at
# the real (default) cost: about half a second per try, so few of those.
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/mk"
expect_status 0 co key add --password-file "$T/mk" --new-password-file "$T/pw"
own=$(sed -n 's/^added key \([0-9a-f]*\) (passphrase)$/\1/p' "$T/out")
own=$(ls "$R/keys" | grep "^$own")
expect_status 0 co snapshot --password-file "$T/mk" --no-cache "$T/data"
# A machine key that opened is not recorded: it costs nothing to find.
tag=$(sha256sum "$R/config" | cut -c1-64)
hint=$XDG_CACHE_HOME/coffer/key-hints/$tag
[ ! -e "$hint" ] || fail "a machine key was recorded in the key hint"

# A passphrase open records which key file opened, by the config's hash.
expect_status 0 co snapshots --password-file "$T/pw"
[ -f "$hint" ] || fail "no key hint at $hint"
expect_eq "key hint" "$own" "$(cat "$hint")"
[ "$(stat -c %a "$hint")" = 600 ] || fail "the key hint is not 0600"

# The attacker plants eight cheap passphrase files (the test parameters,
# let through by COFFER_TEST_WEAK_KDF), one asking for 16 times the
# default work (p = 16), and a file that is no key file at all.
COFFER_TEST_WEAK_KDF=1
export COFFER_TEST_WEAK_KDF
for i in 1 2 3 4 5 6 7 8; do
	plant 1024 8 1 >/dev/null
done
dear=$(plant 131072 8 16)
echo 'not a key' >"$R/keys/notes.txt"

# A wrong passphrase tries the cheap files and the real one, never the
# dear one: it is refused as damaged before any KDF runs.
expect_status 12 co snapshots --password-file "$T/wrong"
expect_eq "error lines" 1 "$(wc -l <"$T/err")"
expect_grep '\(9 key files tried, 2 more damaged: run coffer check\)' "$T/err"

# One open may spend what one default-cost file needs: with the hint,
# the right key is tried first and opens.
COFFER_KDF_BUDGET=1048576
export COFFER_KDF_BUDGET
expect_status 0 co snapshots --password-file "$T/pw"
# On another host (no hint) the cheap planted files come first, and the
# real one no longer fits: it is named, with the way out.
XDG_CACHE_HOME=$T/cache2 expect_status 12 co snapshots --password-file "$T/pw"
expect_eq "error lines" 1 "$(wc -l <"$T/err")"
expect_grep "1 more not tried, beyond the KDF budget of one open: keys/$(echo "$own" | cut -c1-8); raise COFFER_KDF_BUDGET" "$T/err"
[ ! -e "$T/cache2/coffer/key-hints/$tag" ] || fail "a failed open wrote a hint"
unset COFFER_KDF_BUDGET
# With the default budget (16 default-cost files) it opens there too; and
# a hint that cannot be written there (the cache is a file) costs nothing.
XDG_CACHE_HOME=$T/pw expect_status 0 co snapshots --password-file "$T/pw"
[ ! -s "$T/err" ] || fail "an unwritable cache was reported: $(cat "$T/err")"
# A malformed budget is one clear line.
COFFER_KDF_BUDGET=lots expect_status 2 co snapshots --password-file "$T/pw"
expect_grep 'COFFER_KDF_BUDGET must be a positive integer' "$T/err"

# A hint naming a planted file costs one try, then the others open.
echo "$dear" >"$hint"
expect_status 0 co snapshots --password-file "$T/pw"
expect_eq "key hint after a bad one" "$own" "$(cat "$hint")"

# Machine keys cost no KDF: they open whatever the budget, hint or not.
COFFER_KDF_BUDGET=1 expect_status 0 co snapshots --password-file "$T/mk"
COFFER_KDF_BUDGET=1 XDG_CACHE_HOME=$T/cache3 expect_status 0 \
    co snapshots --password-file "$T/mk"
expect_eq "key hint after machine opens" "$own" "$(cat "$hint")"

# check: the dear file and the stray one are errors; with a budget that
# stops before the real passphrase's file, that file is named as out of
# reach for an open without the hint.
COFFER_KDF_BUDGET=1048576 expect_status 4 co check --password-file "$T/mk"
expect_grep "^coffer: keys/$dear: key file: scrypt N=131072 r=8 p=16 exceeds the maximum" "$T/err"
expect_grep '^coffer: keys/notes.txt: not a key file name' "$T/err"
expect_grep "^coffer: warning: keys/$own: beyond the KDF budget of one open" "$T/err"
expect_grep '^2 errors, 1 warning:' "$T/out"
rm "$R/keys/$dear" "$R/keys/notes.txt"
expect_status 0 co check --password-file "$T/mk"

# What was snapshotted before the planting restores byte for byte.
expect_status 0 co restore latest --target "$T/r" --password-file "$T/mk"
tree_listing "$T/data" >"$T/want"
tree_listing "$T/r$T/data" >"$T/got"
expect_same "$T/want" "$T/got"
