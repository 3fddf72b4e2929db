#!/bin/sh
# Virtual-host addressing (path_style = no) on a real Ceph RGW that serves
# buckets under s3.localhost (rgw_dns_name): requests go to
# http://BUCKET.s3.localhost:PORT/KEY, which libcurl resolves to the
# loopback itself (RFC 6761's .localhost; no DNS, no /etc/hosts).  The DR
# story once that way: snapshot, replicate (the bucket made by a
# virtual-host PUT), lose the primary, restore from the bucket, compare;
# then a check over verified TLS (a certificate for *.s3.localhost).
# Then the wrong addressing: a name the store serves no buckets under (RGW
# would take the whole Host for a bucket's name and make that bucket) and
# an IP address are refused with one line, exit 2, nothing created.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"
. "$(dirname "$0")/rgw-lib.sh"

export COFFER_TEST_WEAK_KDF=1
RGW_DNS_NAME=s3.localhost start_rgw
B=coffer-vh
# conf NAME ENDPOINT [EXTRA]: an s3 [repository NAME] on bucket $B.
conf() {
	{
		printf '[repository %s]\nurl = s3://%s/%s/site1\n' "$1" "$2" "$B"
		printf 'access_key_file = %s\n' "$RGW_DIR/access"
		printf 'secret_key_file = %s\n' "$RGW_DIR/secret"
		printf 'insecure_http = yes\nretries = 0\n%s\n' "${3:-}"
	} >>"$T/c.conf"
}
: >"$T/c.conf"
conf vhost "s3.localhost:$RGW_PORT" "path_style = no"
conf path "s3.localhost:$RGW_PORT"
conf wrongname "other.localhost:$RGW_PORT" "path_style = no"
conf address "$RGW_ENDPOINT" "path_style = no"
chmod 0600 "$T/c.conf"
expect_status 0 "$COFFER" -c "$T/c.conf" config check
# path_style is a boolean, and for s3 repositories only.
printf '[repository p]\nurl = s3://h.example/bkt\npath_style = virtual\n' >"$T/c2.conf"
printf '[repository p]\npath = /x\npath_style = no\n' >"$T/c3.conf"
chmod 0600 "$T/c2.conf" "$T/c3.conf"
expect_status 2 "$COFFER" -c "$T/c2.conf" config check
expect_grep "path_style" "$T/err"
expect_status 2 "$COFFER" -c "$T/c3.conf" config check
expect_grep "key 'path_style' does not apply to a local repository" "$T/err"

# s3get PATH?QUERY: a path-style GET on 127.0.0.1 with curl's own SigV4.
s3get() {
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" \
	    --user "$RGW_ACCESS:$RGW_SECRET" \
	    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
	    "http://$RGW_ENDPOINT$1"
}

S=$T/src
A=$T/primary
make_tree "$S"
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" \
    --cache-dir "$T/cache" "$S"
# The bucket does not exist yet: replicate makes it, virtual-host style.
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to vhost
expect_grep "^sent $(repo_files "$A" | wc -l) files" "$T/out"
# The same files are in bucket $B, seen path style.
s3get "/$B?list-type=2&prefix=site1%2F" >"$T/list.xml" || fail "listing $B"
grep -o '<Key>[^<]*</Key>' "$T/list.xml" | sed 's|<Key>site1/||; s|</Key>||' |
    grep -v '^locks/' | LC_ALL=C sort >"$T/s3.files"
repo_files "$A" | sed 's|^\./||' >"$T/a.files"
expect_same "$T/a.files" "$T/s3.files"
# RGW's access log: coffer's requests named the bucket in Host only.
grep -q '"PUT /site1/' "$RGW_DIR/client.rgw.log" ||
	fail "no virtual-host PUT in the RGW log: $(grep -c beast "$RGW_DIR/client.rgw.log") beast lines"
! grep -q "\"[A-Z]* /$B/site1" "$RGW_DIR/client.rgw.log" ||
	fail "a path-style request: $(grep "\"[A-Z]* /$B/site1" "$RGW_DIR/client.rgw.log" | head -n 3)"

# The building burns; the bucket brings it back, virtual-host style.
rm -rf "$A" "$T/cache"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r vhost --password-file "$T/key" --read-data
expect_grep 'no problems found' "$T/out"
restore_equal vhost "$S" -c "$T/c.conf" --password-file "$T/key"
# Path style on the same endpoint name reads the same copy.
expect_status 0 "$COFFER" -c "$T/c.conf" snapshots -r path --password-file "$T/key"
expect_grep '^1 snapshot' "$T/out"
# And virtual-host over verified TLS: the certificate covers
# *.s3.localhost, so coffer-vh.s3.localhost verifies against ca_file.
{
	printf '[repository tls]\nurl = s3://s3.localhost:%s/%s/site1\n' "$RGW_TLS_PORT" "$B"
	printf 'access_key_file = %s\n' "$RGW_DIR/access"
	printf 'secret_key_file = %s\n' "$RGW_DIR/secret"
	printf 'ca_file = %s\nretries = 0\npath_style = no\n' "$RGW_CA"
} >>"$T/c.conf"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r tls --password-file "$T/key"
expect_grep 'no problems found' "$T/out"

# A name the store serves no buckets under: RGW takes
# "coffer-vh.other.localhost" for the bucket.  One line, exit 2, and no
# such bucket made, even by replicate, which creates missing buckets.
mkdir -p "$T/new/d"
echo x >"$T/new/d/f"
expect_status 0 "$COFFER" init -r "$T/p2" --machine-key "$T/key2"
expect_status 0 "$COFFER" snapshot -r "$T/p2" --password-file "$T/key2" \
    --cache-dir "$T/cache2" "$T/new"
for cmd in "replicate --from $T/p2 --to wrongname" \
    "snapshots -r wrongname --password-file $T/key"; do
	# shellcheck disable=SC2086 # words
	expect_status 2 "$COFFER" -c "$T/c.conf" $cmd
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "$cmd: not one line: $(cat "$T/err")"
	expect_grep "took coffer-vh.other.localhost:$RGW_PORT for bucket 'coffer-vh.other.localhost'" "$T/err"
	expect_grep 'set path_style = yes' "$T/err"
done
s3get "/" >"$T/buckets.xml" || fail "listing the buckets"
! grep -q 'other' "$T/buckets.xml" || fail "a bucket was made: $(cat "$T/buckets.xml")"
# An IP address has no names below it.
expect_status 2 "$COFFER" -c "$T/c.conf" snapshots -r address --password-file "$T/key"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep 'not an IP address' "$T/err"
echo "PASS: s3 virtual-host addressing"
