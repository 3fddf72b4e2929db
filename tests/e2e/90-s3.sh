#!/bin/sh
# The disaster-recovery story on s3:// against a real Ceph RGW: snapshot
# locally, replicate to a bucket, lose the primary repository and its
# cache, restore from the bucket with only the key file and the S3 keys:
# every byte and the metadata come back, and check --read-data on the
# bucket is clean.  Then: a wrong secret (one line, exit 7), a connection
# cut mid-upload (finished on a retry, no partial object under a final
# name), a multipart upload cut for good (nothing left half-uploaded), and
# the copy pulled back to a new local disk.
# e2e: long
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"
. "$(dirname "$0")/rgw-lib.sh"

export COFFER_TEST_WEAK_KDF=1
start_rgw
PPORT=$(free_port)
B=coffer-dr
# conf NAME ENDPOINT [SECRET_FILE [EXTRA]]: an s3 [repository NAME].
conf() {
	{
		printf '[repository %s]\nurl = s3://%s/%s/site1\n' "$1" "$2" "$B"
		printf 'access_key_file = %s\n' "$RGW_DIR/access"
		printf 'secret_key_file = %s\n' "${3:-$RGW_DIR/secret}"
		printf 'insecure_http = yes\nconnect_timeout = 3s\n'
		printf 'io_timeout = 5s\n%s\n' "${4:-}"
	} >>"$T/c.conf"
}
: >"$T/c.conf"
conf offsite "$RGW_ENDPOINT"
conf viaproxy "127.0.0.1:$PPORT" "" "retries = 3"
conf once "127.0.0.1:$PPORT" "" "retries = 0"
(umask 077 && printf 'wrong-secret\n' >"$T/bad.secret")
conf wrong "$RGW_ENDPOINT" "$T/bad.secret"
chmod 0600 "$T/c.conf"
expect_status 0 "$COFFER" -c "$T/c.conf" config check
# config check takes exactly the keys that work: sftp's are refused.
{ cat "$T/c.conf"; printf 'keepalive = 10s\n'; } >"$T/c2.conf"
chmod 0600 "$T/c2.conf"
expect_status 2 "$COFFER" -c "$T/c2.conf" config check
expect_grep "key 'keepalive' does not apply to an s3 repository" "$T/err"
{ printf '[repository p]\npath = /x\nregion = eu-west-1\n'; } >"$T/c3.conf"
chmod 0600 "$T/c3.conf"
expect_status 2 "$COFFER" -c "$T/c3.conf" config check
expect_grep "key 'region' does not apply to a local repository" "$T/err"

# s3ls [QUERY]: GET on the bucket with curl's own SigV4 (RGW notes 6).
s3ls() {
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" \
	    --user "$RGW_ACCESS:$RGW_SECRET" \
	    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
	    "http://$RGW_ENDPOINT/$B/?$1"
}

S=$T/src
A=$T/primary
make_tree "$S"
[ "$(id -u)" -ne 0 ] || chown 12345:54321 "$S/etc/motd"
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" \
    --cache-dir "$T/cache" "$S"
# The bucket does not exist yet: replicate makes it.
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_grep "^sent $(repo_files "$A" | wc -l) files" "$T/out"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_grep '^sent 0 files' "$T/out"
# Byte for byte the same files under the prefix, no more.
s3ls "list-type=2&prefix=site1%2F" >"$T/list.xml" || fail "listing the bucket"
grep -o '<Key>[^<]*</Key>' "$T/list.xml" | sed 's|<Key>site1/||; s|</Key>||' |
    grep -v '^locks/' | LC_ALL=C sort >"$T/s3.files"
repo_files "$A" | sed 's|^\./||' >"$T/a.files"
expect_same "$T/a.files" "$T/s3.files"

# The building burns.
rm -rf "$A" "$T/cache"
expect_status 0 "$COFFER" -c "$T/c.conf" snapshots -r offsite --password-file "$T/key"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r offsite --password-file "$T/key" --read-data
expect_grep 'no problems found' "$T/out"
restore_equal offsite "$S" -c "$T/c.conf" --password-file "$T/key"

# TLS, verified: against the private CA with ca_file; without it the
# certificate does not verify (exit 6, as an unknown SSH host key).
for n in tls tlsnoca; do
	printf '[repository %s]\nurl = s3://%s/%s/site1\n' "$n" "$RGW_TLS_ENDPOINT" "$B"
	printf 'access_key_file = %s\n' "$RGW_DIR/access"
	printf 'secret_key_file = %s\n' "$RGW_DIR/secret"
	printf 'retries = 0\n'
	[ "$n" = tlsnoca ] || printf 'ca_file = %s\n' "$RGW_CA"
done >>"$T/c.conf"
expect_status 0 "$COFFER" -c "$T/c.conf" config check
expect_status 0 "$COFFER" -c "$T/c.conf" snapshots -r tls --password-file "$T/key"
expect_grep '^1 snapshot' "$T/out"
expect_status 6 "$COFFER" -c "$T/c.conf" snapshots -r tlsnoca --password-file "$T/key"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
expect_grep 'ca_file' "$T/err"

# A wrong secret: one line naming the keys, exit 7 (as a refused SSH key).
expect_status 7 "$COFFER" -c "$T/c.conf" snapshots -r wrong --password-file "$T/key"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
expect_grep 'secret_key_file' "$T/err"

# Connections cut after 1.5 MB each, mid-upload: the retries finish the job.
N=$T/new
mkdir -p "$N"
head -c 3000000 /dev/urandom >"$N/r1"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from offsite --to "$T/newdisk"
expect_status 0 "$COFFER" snapshot -r "$T/newdisk" --password-file "$T/key" \
    --cache-dir "$T/cache" "$N"
start_proxy "$PPORT" "$RGW_PORT" -c 1500000
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$T/newdisk" --to viaproxy
expect_grep 'connection [0-9]* cut after' "$T/proxy.log"
expect_grep 'retry [0-9] of 3' "$T/err"
stop_proxy
expect_status 0 "$COFFER" -c "$T/c.conf" check -r offsite --password-file "$T/key" --read-data
expect_grep 'no problems found' "$T/out"

# A multipart upload (packs of 8 MiB in parts of 5) cut for good: the
# command fails, nothing appears under the pack's name, no upload is left.
head -c 10000000 /dev/urandom >"$N/r2"
expect_status 0 "$COFFER" init -r "$T/big" --machine-key "$T/key2" --pack-size 8M
expect_status 0 "$COFFER" snapshot -r "$T/big" --password-file "$T/key2" \
    --cache-dir "$T/cache2" "$N/r2"
B=coffer-mp
start_proxy "$PPORT" "$RGW_PORT" -c 7000000
: >"$T/c.conf"
conf once "127.0.0.1:$PPORT" "" "retries = 0"
conf direct "$RGW_ENDPOINT" "" "retries = 0"
COFFER_TEST_S3_PART_SIZE=5M expect_status 5 "$COFFER" -c "$T/c.conf" \
    replicate --from "$T/big" --to once
stop_proxy
s3ls "uploads=" >"$T/uploads.xml" || fail "listing the uploads"
if grep -q '<Upload>' "$T/uploads.xml"; then
	cat "$T/uploads.xml" >&2
	fail "an unfinished multipart upload was left"
fi
big=$(cd "$T/big" && find data -type f -size +5M)
[ -n "$big" ] || fail "no pack above the part size in $T/big"
s3ls "list-type=2&prefix=site1%2Fdata%2F" >"$T/list.xml"
! grep -q "<Key>site1/$big</Key>" "$T/list.xml" ||
	fail "the cut pack appeared: $(cat "$T/list.xml")"
# Straight to the store, multipart works and checks clean.
COFFER_TEST_S3_PART_SIZE=5M expect_status 0 "$COFFER" -c "$T/c.conf" \
    replicate --from "$T/big" --to direct
s3ls "list-type=2&prefix=site1%2Fdata%2F" >"$T/list.xml"
grep -q "<Key>site1/$big</Key>" "$T/list.xml" ||
	fail "no $big: $(cat "$T/list.xml")"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r direct --password-file "$T/key2" --read-data
expect_grep 'no problems found' "$T/out"
echo "PASS: s3 DR, auth, cut connection, multipart"
