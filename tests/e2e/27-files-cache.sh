#!/bin/sh
# The files cache from the test environment: it lives under
# $XDG_CACHE_HOME/coffer (set by lib.sh), never in /var/cache/coffer even
# as root; a second snapshot reads nothing; a damaged cache file is moved
# aside with one warning and the run after reads nothing and warns of
# nothing.
. "$(dirname "$0")/lib.sh"

umask 022
cd "$T"
R=$T/repo
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
mkdir src
printf 'one\n' >src/a
printf 'two two\n' >src/b
# snap: snapshot src (the default cache place) into $T/snap.json.
snap() {
	expect_status 0 "$COFFER" snapshot -r "$R" --password-file key \
		--json src
	cp "$T/out" "$T/snap.json"
}
# bytes_read of the last snapshot.
bytes_read() {
	sed -n 's/.*"bytes_read": *\([0-9]*\).*/\1/p' "$T/snap.json"
}

snap
ids=$(find "$XDG_CACHE_HOME/coffer" -name files.db | wc -l)
[ "$ids" -eq 1 ] ||
	fail "expected one files cache under $XDG_CACHE_HOME/coffer, found $ids"
db=$(find "$XDG_CACHE_HOME/coffer" -name files.db)
id=$(basename "$(dirname "$db")")
[ ! -e "/var/cache/coffer/$id" ] ||
	fail "the test's files cache was written to /var/cache/coffer/$id"
[ "$(bytes_read)" = 12 ] || fail "first snapshot read $(bytes_read) bytes"
snap
[ "$(bytes_read)" = 0 ] || fail "second snapshot read $(bytes_read) bytes"

# Damaged: moved aside, one warning, every file read.
printf 'junk, no database at all' >"$db"
snap
expect_grep 'files cache was damaged: moved aside' "$T/err"
[ "$(bytes_read)" = 12 ] || fail "snapshot after damage read $(bytes_read)"
[ -f "$db.corrupt" ] || fail "no $db.corrupt"
snap
[ ! -s "$T/err" ] || fail "warned again: $(cat "$T/err")"
[ "$(bytes_read)" = 0 ] || fail "snapshot after the fresh start read $(bytes_read)"
