#!/bin/sh
# coffer key: add, list, remove and passwd with passphrases and machine
# keys; the key in use and the last key are never removed; after passwd
# the old passphrase fails with exit 12 and the new one opens; key changes
# take the exclusive lock, waiting while another process holds a lock.
. "$(dirname "$0")/lib.sh"

COFFER_TEST_WEAK_KDF=1
export COFFER_TEST_WEAK_KDF
R=$T/repo

secret() {
	printf '%s\n' "$2" >"$T/$1"
	chmod 600 "$T/$1"
}

# key ARGS...: coffer key on $R.
key() {
	"$COFFER" key -r "$R" "$@"
}

one_line() {
	[ "$(wc -l <"$1")" -eq 1 ] || fail "expected one line in $1, got: $(cat "$1")"
}

# ids FILE: the ids in a key list --json, one a line, sorted.
ids() {
	tr '{' '\n' <"$1" | sed -n 's/^"id":"\([0-9a-f]*\)".*/\1/p' | sort
}

secret p1 'first passphrase'
secret p2 'second passphrase, longer'
secret p3 'third'
secret wrong 'not it'

expect_status 0 "$COFFER" init -r "$R" --password-file "$T/p1"
expect_status 0 key list --password-file "$T/p1"
expect_eq "listed keys" 2 "$(wc -l <"$T/out")"
expect_grep '^\* [0-9a-f]{8}  passphrase  ' "$T/out"
id1=$(awk '/^\*/ { print $2 }' "$T/out")

# A wrong passphrase: exit 12, one line, nothing of it echoed.
expect_status 12 key list --password-file "$T/wrong"
one_line "$T/err"
expect_grep 'wrong passphrase or key' "$T/err"
if grep -q 'not it' "$T/out" "$T/err"; then
	fail "the passphrase was printed"
fi

# Usage errors.
expect_status 2 key
expect_status 2 key frobnicate --password-file "$T/p1"
expect_status 2 key remove --password-file "$T/p1"
expect_status 2 key list extra --password-file "$T/p1"
expect_status 2 key list --machine-key "$T/mk" --password-file "$T/p1"
expect_status 2 key add --machine-key "$T/mk" --new-password-file "$T/p2" \
    --password-file "$T/p1"
# The passphrase in use, again: refused.
expect_status 2 key add --password-file "$T/p1" --new-password-file "$T/p1"
# No terminal and no file for the new passphrase: the options for the new
# one, not those for the passphrase in use.
expect_status 2 setsid -w "$COFFER" key -r "$R" add --password-file "$T/p1" \
    </dev/null
one_line "$T/err"
expect_grep '^coffer: no new passphrase: give --new-password-file FILE \(or --machine-key FILE\), or run on a terminal$' "$T/err"

# add: a passphrase, then a machine key made on the spot.
expect_status 0 key add --password-file "$T/p1" --new-password-file "$T/p2"
expect_grep '^added key [0-9a-f]{8} \(passphrase\)$' "$T/out"
expect_status 0 key add --password-file "$T/p2" --machine-key "$T/mk" --json
expect_grep '"kind":"machine"' "$T/out"
[ "$(stat -c %a "$T/mk")" = 600 ] || fail "machine key file is not 0600"
idm=$(sed 's/.*"added":"\([0-9a-f]*\)".*/\1/' "$T/out")

# list: three keys; the '*' follows the key used to open.
expect_status 0 key list --password-file "$T/mk"
expect_eq "listed keys" 4 "$(wc -l <"$T/out")"
expect_grep "^\* ${idm%"${idm#????????}"}  machine  " "$T/out"
expect_status 0 key list --password-file "$T/p2" --json
expect_grep "\"id\":\"$idm\",\"current\":false,\"kind\":\"machine\"" "$T/out"
ids "$T/out" >"$T/ids.before"
expect_eq "keys in JSON" 3 "$(wc -l <"$T/ids.before")"

# remove: never the key in use.
expect_status 2 key remove "$id1" --password-file "$T/p1"
expect_grep 'open with another key to remove this one' "$T/err"
one_line "$T/err"
expect_status 2 key remove 0 --password-file "$T/p1"
# Nothing changed by the refusals.
expect_status 0 key list --password-file "$T/p2" --json
ids "$T/out" >"$T/ids.after"
expect_same "$T/ids.before" "$T/ids.after"

# Removed through another key, the first passphrase no longer opens.
expect_status 0 key remove "$id1" --password-file "$T/mk"
expect_grep "^removed key $id1\$" "$T/out"
expect_status 12 key list --password-file "$T/p1"
one_line "$T/err"

# passwd: p2 becomes p3; p2 fails, p3 and the machine key open.
expect_status 0 key passwd --password-file "$T/p2" --new-password-file "$T/p3"
expect_grep '^added key [0-9a-f]{8} \(passphrase\) and removed key ' "$T/out"
expect_status 12 key list --password-file "$T/p2"
one_line "$T/err"
expect_grep 'wrong passphrase or key' "$T/err"
expect_status 0 key list --password-file "$T/p3"
expect_eq "listed keys" 3 "$(wc -l <"$T/out")"
expect_status 0 key list --password-file "$T/mk"
expect_status 0 "$COFFER" check -r "$R" --password-file "$T/p3"

# passwd to the same passphrase is refused, and changes nothing.
expect_status 2 key passwd --password-file "$T/p3" --new-password-file "$T/p3"
expect_status 0 key list --password-file "$T/p3"

# The last key: remove the machine key, then the one left is refused.
expect_status 0 key remove "$idm" --password-file "$T/p3"
expect_status 0 key list --password-file "$T/p3"
last=$(awk '/^\*/ { print $2 }' "$T/out")
expect_status 2 key remove "$last" --password-file "$T/p3"
expect_grep 'only key of this repository' "$T/err"
one_line "$T/err"
expect_status 0 key list --password-file "$T/p3"

# Key changes take the exclusive lock: while a live shared lock (a
# snapshot's) is there they wait, and change nothing; once its holder is
# gone they go ahead.  A listing shares.
sleep 60 &
holder=$!
mkdir -p "$R/locks"
printf '{"version":1,"mode":"shared","hostname":"%s","pid":%d,"refreshed":%d,"stale_after":1800,"command":"snapshot"}' \
    "$(uname -n)" "$holder" "$(date +%s)" \
    >"$R/locks/0000000000000000000000000000000000000000000000000000000000000001"
expect_status 0 key list --password-file "$T/p3"
ls "$R/keys" >"$T/keys.before"
key add --password-file "$T/p3" --machine-key "$T/mk2" \
    >"$T/add.out" 2>"$T/add.err" &
adder=$!
wait_for 10 "key add waiting for the lock" grep -q 'locked.*snapshot.*waiting' "$T/add.err"
ls "$R/keys" >"$T/keys.during"
expect_same "$T/keys.before" "$T/keys.during"
[ ! -e "$T/mk2" ] || fail "the machine key was made before the lock was held"
kill "$holder"
wait "$holder" 2>/dev/null || :
st=0
wait "$adder" || st=$?
[ "$st" -eq 0 ] || fail "key add after the lock went: status $st: $(cat "$T/add.err")"
expect_grep '^added key [0-9a-f]{8} \(machine\)$' "$T/add.out"
expect_status 0 key list --password-file "$T/mk2"
expect_eq "listed keys" 3 "$(wc -l <"$T/out")"
