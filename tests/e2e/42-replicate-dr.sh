#!/bin/sh
# The whole disaster-recovery story over SFTP: snapshot locally, replicate
# to a real sshd, lose the primary repository and its cache, restore from
# the sftp:// copy with nothing but the key file and the SSH key: every
# byte and the metadata (modes, owners, times, symlinks) come back.  Then
# pull the off-site copy back to a new local disk, which checks clean.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

export COFFER_TEST_WEAK_KDF=1
start_sshd
R=$T/dr/repo
mkdir -p "$T/dr"
sftp_conf "$T/c.conf" offsite "sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$R"
need_sftp "$T/c.conf" offsite

S=$T/src
A=$T/primary
make_tree "$S"
[ "$(id -u)" -ne 0 ] || chown 12345:54321 "$S/etc/motd"
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" \
    --cache-dir "$T/cache" "$S"
# A dry run to a location not there yet lists everything, makes nothing.
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite --dry-run
expect_grep "^would send $(repo_files "$A" | wc -l) files" "$T/out"
[ ! -e "$R" ] || fail "--dry-run made $R"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_grep '^sent [0-9]+ files' "$T/out"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_grep '^sent 0 files' "$T/out"

# The building burns.
rm -rf "$A" "$T/cache"
expect_status 0 "$COFFER" -c "$T/c.conf" snapshots -r offsite --password-file "$T/key"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r offsite --password-file "$T/key" --read-data
restore_equal offsite "$S" -c "$T/c.conf" --password-file "$T/key"

# A new local disk: pull the off-site copy back and use it.
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from offsite --to "$T/newdisk"
expect_status 0 "$COFFER" check -r "$T/newdisk" --password-file "$T/key" --read-data
restore_equal "$T/newdisk" "$S" --password-file "$T/key"
