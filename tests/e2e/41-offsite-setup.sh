#!/bin/sh
# coffer offsite-setup, applied to a real sshd exactly as printed: the
# backup key can publish (upload a temp file, rename it to a new name) but
# deleting, overwriting, renaming over, chmod, rmdir, renaming a
# directory and symlinks all fail through it, and the data stays intact.
# Then, with the sftp:// backend: replicate into it, a second replicate
# adds only the new files, the copy checks and restores byte for byte.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need sftp
export COFFER_TEST_WEAK_KDF=1

# Usage errors: one line, exit 2.
expect_status 2 "$COFFER" offsite-setup
expect_status 2 "$COFFER" offsite-setup /srv/coffer
expect_grep 'not an sftp URL' "$T/err"
# The URL parser the config uses: an IPv6 host with a port works here too.
expect_status 0 "$COFFER" offsite-setup 'sftp://backup@[::1]:2222/srv/coffer/gas'
expect_grep '^# URL: sftp://backup@\[::1\]:2222/srv/coffer/gas$' "$T/out"
expect_status 2 "$COFFER" offsite-setup sftp://dr.example.net/srv/x
expect_grep 'names no user' "$T/err"
expect_status 2 "$COFFER" offsite-setup 'sftp://u@h/srv/a;rm'
expect_status 2 "$COFFER" offsite-setup --key /etc/hostname sftp://u@h/srv/x
expect_grep 'not an OpenSSH public key' "$T/err"
# The placeholder recipe names every denied request, and only valid ones.
expect_status 0 "$COFFER" offsite-setup sftp://backup@dr.example.net:2222/srv/coffer/gas
expect_grep '^restrict,command="internal-sftp -d /srv/coffer/gas -u 0222 -P remove,rmdir,posix-rename,setstat,fsetstat,lsetstat,symlink,hardlink,copy-data" ssh-ed25519 ' "$T/out"
expect_grep '^#       ChrootDirectory /srv/coffer$' "$T/out"
expect_grep 'sftp://backup@dr.example.net:2222/gas' "$T/out"
valid=" $(/usr/lib/openssh/sftp-server -Q requests | tr '\n' ' ') "
for r in $(sed -n 's/.* -P \([a-z,-]*\)".*/\1/p' "$T/out" | tr ',' ' '); do
	case $valid in *" $r "*) ;; *) fail "sftp-server knows no request '$r'" ;; esac
done

start_sshd
U=nobody
R=$T/off/repo
offsite_server "$U" "$R"

# Publishing as coffer does it works: a temp name, then a plain rename.
printf 'first\n' >"$T/f1"
printf 'second\n' >"$T/f2"
sftp_as "$U" "put $T/f1 keys/.k.tmp.1" "rename keys/.k.tmp.1 keys/k" ||
	fail "publish through the backup key: $(cat "$T/sftp.out")"
expect_same "$T/f1" "$R/keys/k"
[ "$(stat -c %a "$R/keys/k")" = 444 ] || fail "an upload is not read-only"

# Everything that would destroy or replace data fails.
sftp_as "$U" "rm keys/k" && fail "delete through the backup key worked"
sftp_as "$U" "put $T/f2 keys/k" && fail "overwrite through the backup key worked"
sftp_as "$U" "put $T/f2 keys/.k.tmp.2" || fail "upload: $(cat "$T/sftp.out")"
sftp_as "$U" "rename keys/.k.tmp.2 keys/k" && fail "rename over a file worked"
sftp_as "$U" "rename -l keys/.k.tmp.2 keys/k" && fail "legacy rename over a file worked"
sftp_as "$U" "chmod 644 keys/k" && fail "chmod through the backup key worked"
sftp_as "$U" "rmdir index" && fail "rmdir through the backup key worked"
sftp_as "$U" "rename keys keys2" && fail "renaming a directory worked"
sftp_as "$U" "rename data/00 data/zz" && fail "renaming a pack directory worked"
sftp_as "$U" "ln -s keys/k keys/l" && fail "symlink through the backup key worked"
sftp_as "$U" "ln keys/k keys/h" && fail "hard link through the backup key worked"
sftp_as "$U" "put $T/f2 locks/x" && fail "a lock file could be written"
expect_same "$T/f1" "$R/keys/k"
[ -d "$R/index" ] && [ -d "$R/keys" ] && [ -d "$R/data/00" ] ||
	fail "a directory is gone"
# Tidy up as root, as the host's admin would (find ... -delete).
rm -f "$R/keys/k" "$R/keys/.k.tmp.2"

# ---------------------------------------------------- coffer through it
URL="sftp://$U@127.0.0.1:$SSHD_PORT$R"
sftp_conf "$T/c.conf" offsite "$URL"
need_sftp "$T/c.conf" offsite
A=$T/primary
S=$T/src
make_tree "$S"
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" "$S"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
repo_files "$A" >"$T/a.files"
repo_files "$R" >"$T/r.files"
expect_same "$T/a.files" "$T/r.files"
# A second snapshot: the second replicate sends only the new files.
head -c 2000000 /dev/urandom >"$S/var/more"
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" "$S"
repo_files "$A" >"$T/a2.files"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite --json
expect_grep "\"files_sent\":$(comm -13 "$T/a.files" "$T/a2.files" | wc -l)," "$T/out"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite --verify --json
expect_grep '"files_sent":0,' "$T/out"
while read -r f; do
	cmp -s "$A/$f" "$R/$f" || fail "$f differs off-site"
done <"$T/a2.files"
[ -z "$(temp_files "$R")" ] || fail "temp files left: $(temp_files "$R")"
expect_status 0 "$COFFER" check -r "$R" --password-file "$T/key" --read-data
# Restore through the backup key itself: reading needs no lock.
restore_equal offsite "$S" -c "$T/c.conf" --password-file "$T/key" --no-lock
# Pulling from it: the key cannot write a lock there, and says what to do.
st=0
"$COFFER" -c "$T/c.conf" replicate --from offsite --to "$T/pulled" \
    >"$T/out" 2>"$T/err" || st=$?
[ $st -ne 0 ] || fail "a lock was written through the append-only key"
expect_grep 'needs --no-lock' "$T/err"
[ -z "$(ls -A "$R/locks")" ] || fail "lock files left off-site: $(ls "$R/locks")"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from offsite --to "$T/pulled" --no-lock
expect_status 0 "$COFFER" check -r "$T/pulled" --password-file "$T/key" --read-data
