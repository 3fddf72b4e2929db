#!/bin/sh
# A byte changed between coffer and the store: tcpproxy -f inverts one byte
# of what coffer sends, at an offset well inside a 24 MB pack's body
# (plain HTTP, so nothing else would notice).  Streamed puts are signed
# chunk by chunk (aws-chunked), so RGW refuses the changed body: replicate
# sends the pack again and the copy checks clean, byte for byte; with the
# change on every connection and no retries, replicate fails with one
# line and exit 5 and nothing is stored under the pack's name.  The same
# for a multipart upload, the byte in its second part.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rgw-lib.sh"

export COFFER_TEST_WEAK_KDF=1
start_rgw
PPORT=$(free_port)
B=coffer-flip
# conf NAME ENDPOINT PREFIX EXTRA: an s3 [repository NAME], one connection.
conf() {
	{
		printf '[repository %s]\nurl = s3://%s/%s/%s\n' "$1" "$2" "$B" "$3"
		printf 'access_key_file = %s\n' "$RGW_DIR/access"
		printf 'secret_key_file = %s\n' "$RGW_DIR/secret"
		printf 'insecure_http = yes\nconnect_timeout = 3s\n'
		printf 'io_timeout = 10s\ntransfers = 1\n%s\n' "$4"
	} >>"$T/c.conf"
}
: >"$T/c.conf"
conf retried "127.0.0.1:$PPORT" site1 "retries = 2"
conf once "127.0.0.1:$PPORT" site2 "retries = 0"
conf mp "127.0.0.1:$PPORT" site3 "retries = 2"
conf direct1 "$RGW_ENDPOINT" site1 ""
conf direct2 "$RGW_ENDPOINT" site2 ""
conf direct3 "$RGW_ENDPOINT" site3 ""
chmod 0600 "$T/c.conf"

# s3ls QUERY: GET on the bucket with curl's own SigV4.
s3ls() {
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" \
	    --user "$RGW_ACCESS:$RGW_SECRET" \
	    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
	    "http://$RGW_ENDPOINT/$B/?$1"
}

# proxy OPTS...: tcpproxy PPORT -> RGW with fault options.
proxy() { start_proxy "$PPORT" "$RGW_PORT" "$@"; }

# One pack of 24 MB of random bytes, the rest of the repository small:
# byte 12,000,000 of the one connection is inside the pack's body.
S=$T/src
mkdir -p "$S"
head -c 24000000 /dev/urandom >"$S/big"
A=$T/primary
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 32M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" \
    --cache-dir "$T/cache" "$S"
pack=$(cd "$A" && find data -type f -size +20M)
[ "$(echo "$pack" | grep -c .)" -eq 1 ] ||
	fail "not one pack above 20 MB in $A: $pack"
OFF=12000000

# Once, on the first connection: refused by the store, sent again.
proxy -f "$OFF" -k 1
expect_status 0 "$COFFER" -c "$T/c.conf" replicate -j 1 --from "$A" --to retried
stop_proxy
cp "$T/err" "$T/replicate.err"
expect_grep "connection 1 byte $OFF flipped" "$T/proxy.log"
# (Before streamed puts were signed, the changed pack was stored: this
# check failed, and replicate had said nothing.)
expect_status 0 "$COFFER" -c "$T/c.conf" check -r direct1 \
    --password-file "$T/key" --read-data
expect_grep 'no problems found' "$T/out"
expect_grep 'bytes changed on their way.*retry 1 of 2' "$T/replicate.err"
expect_status 0 "$COFFER" -c "$T/c.conf" restore -r direct1 \
    --password-file "$T/key" latest --target "$T/back"
cmp "$S/big" "$T/back$S/big" || fail "the restored file differs"

# On every connection, no retries: one line, exit 5, no pack stored.
: >"$T/proxy.log"
proxy -f "$OFF"
expect_status 5 "$COFFER" -c "$T/c.conf" replicate -j 1 --from "$A" --to once
stop_proxy
expect_grep "byte $OFF flipped" "$T/proxy.log"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
expect_grep "$pack" "$T/err"
s3ls "list-type=2&prefix=site2%2Fdata%2F" >"$T/list.xml" ||
	fail "listing the bucket"
! grep -q "<Key>site2/$pack</Key>" "$T/list.xml" ||
	fail "the changed pack was stored: $(cat "$T/list.xml")"

# Multipart (parts of 5 MiB), the byte in the second part: the part is
# refused, the upload starts over and completes, the copy checks clean.
: >"$T/proxy.log"
OFF=7000000
proxy -f "$OFF" -k 1
COFFER_TEST_S3_PART_SIZE=5M expect_status 0 "$COFFER" -c "$T/c.conf" \
    replicate -j 1 --from "$A" --to mp
stop_proxy
expect_grep "connection 1 byte $OFF flipped" "$T/proxy.log"
expect_grep 'retry 1 of 2' "$T/err"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r direct3 \
    --password-file "$T/key" --read-data
expect_grep 'no problems found' "$T/out"
s3ls "uploads=" >"$T/uploads.xml" || fail "listing the uploads"
! grep -q '<Upload>' "$T/uploads.xml" ||
	fail "an unfinished multipart upload was left: $(cat "$T/uploads.xml")"
echo "PASS: a changed streamed put is refused by the store"
