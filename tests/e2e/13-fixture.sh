#!/bin/sh
# The committed format-1 repository (tests/fixtures/repo-v1) opens with
# both of its keys, checks clean with every byte read, and both of its
# snapshots restore exactly: content, modes, owners, nanosecond mtimes.
. "$(dirname "$0")/lib.sh"

F=$(cd "$(dirname "$0")/../fixtures/repo-v1" && pwd)
. "$F/listing.sh"

cp -R "$F/repo" "$T/repo"
install -m 600 "$F/machine.key" "$T/machine.key"
install -m 600 "$F/passphrase" "$T/passphrase"
co() { "$COFFER" "$@" -r "$T/repo" --password-file "$T/machine.key"; }

expect_status 0 co check --read-data
expect_status 0 co snapshots
expect_grep '^c5ec8d81 ' "$T/out"
expect_grep '^d6a77769 ' "$T/out"
# The passphrase key file (real scrypt parameters) opens it too.
expect_status 0 "$COFFER" key list -r "$T/repo" --password-file "$T/passphrase"
expect_grep '^\* 2c2eccc6 +passphrase' "$T/out"

for s in 1 2; do
	id=$(sed -n "${s}p" <<IDS
c5ec8d81
d6a77769
IDS
)
	expect_status 0 co restore "$id" --target "$T/r$s"
	listing "$T/r$s/tmp/coffer-fixture-v1/data" > "$T/got$s.list"
	expect_same "$F/snap$s.list" "$T/got$s.list"
done
# One file to stdout, byte for byte.
expect_status 0 co restore latest --stdout /tmp/coffer-fixture-v1/data/var/blob.bin
[ "$(sha256sum < "$T/out" | cut -c1-64)" = \
  "$(sed -n 's|^f .* ./var/blob.bin \([0-9a-f]*\)$|\1|p' "$F/snap2.list")" ] ||
	fail "restore --stdout gave other bytes"
