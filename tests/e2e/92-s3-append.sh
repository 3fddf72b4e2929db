#!/bin/sh
# An append-only bucket on a real Ceph RGW: the files `coffer
# offsite-setup s3://...` prints (versioning, the bucket policy) applied
# verbatim by the bucket's owner; the writer replicates into it and
# restores from it with its own keys, and cannot delete a file, remove a
# version, replace a file for good, or change the bucket's rules.  Then
# the recipe's Object Lock variant (RGW 16 has it): a bucket made with
# Object Lock and the printed default retention, where not even the owner
# can remove a version coffer wrote before its retention ends.
# e2e: long
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"
. "$(dirname "$0")/rgw-lib.sh"

export COFFER_TEST_WEAK_KDF=1
start_rgw
B=coffer-ao
U=coffer-writer
# shellcheck disable=SC2046 # two words
set -- $(rgw_user "$U")
WA=$1
WS=$2
(umask 077 && printf '%s\n' "$WA" >"$T/w.access" && printf '%s\n' "$WS" >"$T/w.secret")

# s3req ACCESS SECRET METHOD PATH?QUERY [FILE]: a request signed by curl
# (with the body's hash; the query sorted, as curl signs it as written:
# RGW notes 6), with the header lines in $S3REQ_HDR too; the status is
# the last line.
s3req() {
	local f="${5:-/dev/null}" h
	h=$(sha256sum <"$f" | cut -d' ' -f1)
	printf '%s\n' "${S3REQ_HDR:-}" >"$T/s3req.hdr"
	curl -s -w '\n%{http_code}\n' --aws-sigv4 "aws:amz:us-east-1:s3" \
	    --user "$1:$2" -H "x-amz-content-sha256: $h" -X "$3" \
	    -H "@$T/s3req.hdr" --data-binary "@$f" "http://$RGW_ENDPOINT$4" >"$T/s3req.out"
	tail -n 1 "$T/s3req.out"
}
owner() { s3req "$RGW_ACCESS" "$RGW_SECRET" "$@"; }
writer() { s3req "$WA" "$WS" "$@"; }

expect_status 0 "$COFFER" offsite-setup "s3://$RGW_ENDPOINT/$B/site1"
cp "$T/out" "$T/recipe"
mkdir "$T/rec"
sed -n '/^# --- files ---$/,/^# --- /p' "$T/recipe" >"$T/rec/files.sh"
grep -q '^U=coffer-writer$' "$T/rec/files.sh" || fail "no files block in the recipe"
(cd "$T/rec" && sh -eu files.sh) || fail "the recipe's files block failed"
expect_eq "owner makes the bucket" 200 "$(owner PUT "/$B")"
expect_eq "versioning" 200 "$(owner PUT "/$B?versioning=" "$T/rec/versioning.xml")"
expect_eq "policy" 204 "$(owner PUT "/$B?policy=" "$T/rec/policy.json")"
# --key is for SSH keys.
expect_status 2 "$COFFER" offsite-setup --key "$T/w.access" "s3://$RGW_ENDPOINT/$B/x"

{
	printf '[repository offsite]\nurl = s3://%s/%s/site1\n' "$RGW_ENDPOINT" "$B"
	printf 'access_key_file = %s\nsecret_key_file = %s\n' "$T/w.access" "$T/w.secret"
	printf 'insecure_http = yes\nretries = 0\nlocks = none\n'
} >"$T/c.conf"
chmod 0600 "$T/c.conf"
S=$T/src
A=$T/primary
make_tree "$S"
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" \
    --cache-dir "$T/cache" "$S"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_grep '^sent [1-9][0-9]* files' "$T/out"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r offsite --password-file "$T/key" --read-data
expect_grep 'no problems found' "$T/out"
restore_equal offsite "$S" -c "$T/c.conf" --password-file "$T/key"

# What the writer's keys cannot do.
snap=$(cd "$A" && find snapshots -type f | head -n 1)
[ -n "$snap" ] || fail "no snapshot file in $A"
expect_eq "writer deletes a snapshot" 403 "$(writer DELETE "/$B/site1/$snap")"
printf 'planted\n' >"$T/planted"
expect_eq "writer puts over it" 200 "$(writer PUT "/$B/site1/$snap" "$T/planted")"
# ... which only made a new version: the old one is there, and cannot go.
owner GET "/$B?prefix=site1%2F$(echo "$snap" | sed 's|/|%2F|g')&versions=" >/dev/null
[ "$(grep -o '<Version>' "$T/s3req.out" | wc -l)" -eq 2 ] ||
	fail "not two versions of $snap: $(cat "$T/s3req.out")"
old=$(grep -o '<Version><Key>[^<]*</Key><VersionId>[^<]*</VersionId><IsLatest>false' "$T/s3req.out" |
    sed 's|.*<VersionId>\([^<]*\)</VersionId>.*|\1|')
[ -n "$old" ] || fail "no older version id: $(cat "$T/s3req.out")"
expect_eq "writer removes the old version" 403 \
    "$(writer DELETE "/$B/site1/$snap?versionId=$old")"
expect_eq "writer suspends versioning" 403 \
    "$(writer PUT "/$B?versioning=" "$T/rec/versioning.xml")"
expect_eq "writer replaces the policy" 403 \
    "$(writer PUT "/$B?policy=" "$T/rec/policy.json")"
expect_eq "writer deletes the bucket" 403 "$(writer DELETE "/$B")"
# The planted version is seen for what it is; the owner brings back the old.
expect_status 4 "$COFFER" -c "$T/c.conf" check -r offsite --password-file "$T/key"
owner GET "/$B?prefix=site1%2F$(echo "$snap" | sed 's|/|%2F|g')&versions=" >/dev/null
new=$(grep -o '<Version><Key>[^<]*</Key><VersionId>[^<]*</VersionId><IsLatest>true' "$T/s3req.out" |
    sed 's|.*<VersionId>\([^<]*\)</VersionId>.*|\1|')
expect_eq "owner removes the planted version" 204 \
    "$(owner DELETE "/$B/site1/$snap?versionId=$new")"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r offsite --password-file "$T/key" --read-data
restore_equal offsite "$S" -c "$T/c.conf" --password-file "$T/key"

# The stronger recipe: a bucket made with Object Lock (which turns on
# versioning) and the recipe's default retention, COMPLIANCE mode.
B=coffer-lock
expect_status 0 "$COFFER" offsite-setup "s3://$RGW_ENDPOINT/$B/site1"
mkdir "$T/lrec"
sed -n '/^# --- files ---$/,/^# --- /p' "$T/out" >"$T/lrec/files.sh"
(cd "$T/lrec" && sh -eu files.sh) || fail "the lock recipe's files block failed"
grep -q '<Mode>COMPLIANCE</Mode>' "$T/lrec/object-lock.xml" ||
	fail "no COMPLIANCE retention in the recipe: $(cat "$T/lrec/object-lock.xml")"
S3REQ_HDR="x-amz-bucket-object-lock-enabled: true"
expect_eq "owner makes the locked bucket" 200 "$(owner PUT "/$B")"
S3REQ_HDR="Content-MD5: $(openssl dgst -md5 -binary "$T/lrec/object-lock.xml" | base64)"
expect_eq "default retention" 200 "$(owner PUT "/$B?object-lock=" "$T/lrec/object-lock.xml")"
S3REQ_HDR=
expect_eq "policy" 204 "$(owner PUT "/$B?policy=" "$T/lrec/policy.json")"
owner GET "/$B?versioning=" >/dev/null
grep -q '<Status>Enabled</Status>' "$T/s3req.out" ||
	fail "Object Lock did not turn versioning on: $(cat "$T/s3req.out")"
sed -i "s|/coffer-ao/|/$B/|" "$T/c.conf"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_grep '^sent [1-9][0-9]* files' "$T/out"
expect_status 0 "$COFFER" -c "$T/c.conf" check -r offsite --password-file "$T/key" --read-data
expect_grep 'no problems found' "$T/out"
# What the writer put is locked by the default: the owner cannot remove it.
pack=$(cd "$A" && find data -type f | head -n 1)
writer GET "/$B/site1/$pack?retention=" >/dev/null
grep -q '<Mode>COMPLIANCE</Mode>' "$T/s3req.out" ||
	fail "$pack has no retention: $(cat "$T/s3req.out")"
owner GET "/$B?prefix=site1%2F$(echo "$pack" | sed 's|/|%2F|g')&versions=" >/dev/null
ver=$(grep -o '<VersionId>[^<]*</VersionId>' "$T/s3req.out" | sed 's|<[^>]*>||g')
[ -n "$ver" ] || fail "no version id: $(cat "$T/s3req.out")"
expect_eq "owner removes a locked version" 403 \
    "$(owner DELETE "/$B/site1/$pack?versionId=$ver")"
grep -q '<Code>AccessDenied</Code>' "$T/s3req.out" ||
	fail "not AccessDenied: $(cat "$T/s3req.out")"
# A plain DELETE only hides it behind a delete marker (prune with the
# owner's keys does that); the locked version still restores.
expect_eq "owner deletes the name" 204 "$(owner DELETE "/$B/site1/$pack")"
expect_eq "the version is there" 200 "$(writer GET "/$B/site1/$pack?versionId=$ver")"
head -c "$(wc -c <"$A/$pack")" "$T/s3req.out" | cmp -s - "$A/$pack" ||
	fail "the locked version of $pack differs"
# ... until the retention ends: one object locked for 3 s, as the
# default locks for days.
printf 'short\n' >"$T/short"
until=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
S3REQ_HDR="x-amz-object-lock-mode: COMPLIANCE
x-amz-object-lock-retain-until-date: $until"
expect_eq "owner puts a short-locked object" 200 "$(owner PUT "/$B/short" "$T/short")"
S3REQ_HDR=
owner GET "/$B?prefix=short&versions=" >/dev/null
sver=$(grep -o '<VersionId>[^<]*</VersionId>' "$T/s3req.out" | sed 's|<[^>]*>||g')
expect_eq "removed before its date" 403 "$(owner DELETE "/$B/short?versionId=$sver")"
sleep 4
expect_eq "removed after its date" 204 "$(owner DELETE "/$B/short?versionId=$sver")"
echo "PASS: append-only bucket, and with Object Lock"
