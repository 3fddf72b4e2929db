#!/bin/sh
# The target's disk fills up (a 20 MiB tmpfs): replicate stops with one
# clear "no space left" error that names where, once (exit 1), without
# retrying for ever; what was published is whole and the target still
# checks clean.  Local first, then through sshd.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

[ "$(id -u)" -eq 0 ] || skip "mounting a tmpfs needs root"
export COFFER_TEST_WEAK_KDF=1
M=$T/full
mkdir "$M"
mount -t tmpfs -o size=20m tmpfs "$M" || skip "cannot mount a tmpfs here"
# Unmount before lib.sh's exit trap removes $T.
trap '_rc=$?; set +e; umount -l "$M" 2>/dev/null; (exit $_rc); _e2e_exit' EXIT

A=$T/primary
mkdir -p "$T/bulk"
i=0
while [ $i -lt 16 ]; do
	head -c 2000000 /dev/urandom >"$T/bulk/f$i"
	i=$((i + 1))
done
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" \
    --cache-dir "$T/cache" "$T/bulk"

# checks_clean REPO: check exits 0.  Where the failed transfer left less
# than a block free, check cannot write its lock file: then it says so in
# one line naming the way out, and check --no-lock passes.
checks_clean() {
	rc=0
	"$COFFER" check -r "$1" --password-file "$T/key" >"$T/out" 2>"$T/err" ||
		rc=$?
	if [ "$rc" -ne 0 ]; then
		expect_eq "check's status" 1 "$rc"
		expect_grep '^coffer: no room for a lock file: .*--no-lock.*No space left on device$' "$T/err"
		expect_status 0 "$COFFER" check -r "$1" --password-file "$T/key" \
		    --no-lock
	fi
}

# whole DIR: every repository file in DIR is the source's.
whole() {
	(cd "$1" && find . -type f ! -name '.*' ! -path './locks/*') |
		while read -r f; do
			cmp -s "$A/$f" "$1/$f" || fail "$f in $1 is not the source's"
		done
}

expect_status 1 "$COFFER" replicate --from "$A" --to "$M/local"
expect_grep '^coffer: send [^ ]*: write '"$M"'/local/[^ ]*: No space left on device$' "$T/err"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
# The store names where, once; replicate adds no second copy of it.
[ "$(grep -o "$M/local" "$T/err" | wc -l)" -eq 1 ] ||
	fail "the target named twice: $(cat "$T/err")"
whole "$M/local"
[ -z "$(ls "$M/local/snapshots" 2>/dev/null)" ] || fail "a snapshot was sent"
checks_clean "$M/local"
# No block left at all: check says how to go on, and can.
dd if=/dev/zero of="$M/fill" bs=4096 2>/dev/null || :
expect_status 1 "$COFFER" check -r "$M/local" --password-file "$T/key"
expect_grep '^coffer: no room for a lock file: free some space there, or give --no-lock if nothing writes to the repository meanwhile: .*No space left on device$' "$T/err"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_status 0 "$COFFER" check -r "$M/local" --password-file "$T/key" \
    --no-lock
rm -f "$M/fill"
rm -rf "$M/local"

start_sshd
R=$M/repo
sftp_conf "$T/c.conf" offsite "sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$R" \
    'retries = 3' 'io_timeout = 5s'
need_sftp "$T/c.conf" offsite
expect_status 1 timeout 300 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_grep '(no space left on the target).*127\.0\.0\.1\]?:'"$SSHD_PORT"'|127\.0\.0\.1\]?:'"$SSHD_PORT"'.*no space left on the target' "$T/err"
[ "$(grep -o 'no space left on the target' "$T/err" | wc -l)" -eq 1 ] ||
	fail "said twice: $(cat "$T/err")"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
grep -qi 'retry' "$T/err" && fail "retried a full disk: $(cat "$T/err")"
whole "$R"
checks_clean "$R"
