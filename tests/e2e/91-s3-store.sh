#!/bin/sh
# The store contract (store/store.h) on s3:// against a real Ceph RGW: the
# unit runner's "s3" suite (tests/unit/store/check_s3.c), which needs the
# endpoint this test starts.  `make check-s3` builds the runner first.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rgw-lib.sh"

runner=$(dirname "$COFFER")/tests/unit-runner
[ -x "$runner" ] || fail "no $runner: run 'make check-s3' (or make unit)"
start_rgw
# A bucket with versioning, where RGW 16 ignores If-None-Match: made here
# with curl's own SigV4, since coffer never turns versioning on.
v='<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>'
for q in "" "?versioning="; do
	body=
	[ -z "$q" ] || body=$v
	curl -sf --aws-sigv4 "aws:amz:us-east-1:s3" --user "$RGW_ACCESS:$RGW_SECRET" \
	    -H "x-amz-content-sha256: $(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" \
	    -X PUT --data-binary "$body" "http://$RGW_ENDPOINT/coffer-ver$q" ||
		fail "making the versioned bucket ($q)"
done
COFFER_TEST_S3_VERSIONED_BUCKET=coffer-ver \
COFFER_TEST_S3_ENDPOINT=$RGW_ENDPOINT \
COFFER_TEST_S3_ACCESS_FILE=$RGW_DIR/access \
COFFER_TEST_S3_SECRET_FILE=$RGW_DIR/secret \
CK_RUN_SUITE=s3 CK_DEFAULT_TIMEOUT=120 "$runner" >"$T/unit.out" 2>&1 ||
	{ cat "$T/unit.out" >&2; fail "the s3 store contract failed"; }
cat "$T/unit.out"
grep -q '^100%: Checks: 11, Failures: 0, Errors: 0' "$T/unit.out" ||
	fail "the s3 suite did not run its 11 cases"
echo "PASS: s3 store contract on RGW"
