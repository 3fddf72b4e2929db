#!/bin/sh
# Issue 9, findings 1 and 2, as an attacker does it, through the
# append-only recipe on a real sshd.
#
# 2: a garbage file in index/, named by its SHA-256 (as replicate would
# ship it), must not stop snapshots, ls, diff or restore: they say so and
# restore everything; check names it.
#
# 1: a key holder (the master key and the append-only SSH key) uploads a
# pack holding the id of "GOOD CONTENT" with "EVIL CONTENT" sealed under
# it, plus an index naming it; then also hides the original index file
# under a dot-name.  Restore (directory, --tar, --stdout) must write GOOD
# CONTENT or fail on that file with exit 4, never write the evil bytes;
# check (without --read-data) must warn.
# e2e: long
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need sftp sha256sum tar
export COFFER_TEST_WEAK_KDF=1

start_sshd
U=nobody
R=$T/off/repo
offsite_server "$U" "$R"
URL="sftp://$U@127.0.0.1:$SSHD_PORT$R"
sftp_conf "$T/c.conf" offsite "$URL"
need_sftp "$T/c.conf" offsite

A=$T/primary
S=$T/src
mkdir -p "$S/d"
printf 'GOOD CONTENT\n' >"$S/d/f"
printf 'EVIL CONTENT\n' >"$T/evil"
seq 1 50000 >"$S/d/g"
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key"
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" "$S"
printf 'more\n' >"$S/d/h"
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" "$S"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
K="-c $T/c.conf --password-file $T/key --no-lock"
# shellcheck disable=SC2086 # K is words
off() { expect_status "$1" "$COFFER" "$2" -r offsite $K "$@"; }

# ------------------------------------------------ a garbage index file
head -c 300 /dev/urandom >"$T/garbage"
G=$(sha256sum "$T/garbage" | cut -c1-64)
sftp_as "$U" "put $T/garbage index/$G" || fail "upload: $(cat "$T/sftp.out")"
# shellcheck disable=SC2086
{
	expect_status 0 "$COFFER" snapshots -r offsite $K
	expect_grep "^coffer: warning: index/$G left out: " "$T/err"
	expect_grep ' 2 snapshots$|^2 snapshots$' "$T/out"
	expect_status 0 "$COFFER" ls -r offsite $K -R latest
	expect_grep "index/$G left out" "$T/err"
	expect_grep 'f$' "$T/out"
	first=$("$COFFER" snapshots -r offsite $K --json 2>/dev/null |
		sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -n 1)
	expect_status 0 "$COFFER" diff -r offsite $K "$first" latest
	expect_grep "index/$G left out" "$T/err"
	expect_status 0 "$COFFER" restore -r offsite $K latest --target "$T/r0"
	expect_grep "index/$G left out" "$T/err"
	expect_status 4 "$COFFER" check -r offsite $K
	expect_grep "^coffer: index/$G: " "$T/err"
}
expect_same "$S/d/f" "$T/r0$S/d/f"
expect_same "$S/d/g" "$T/r0$S/d/g"
rm -f "$R/index/$G" # the host's admin tidies up

# ------------------------------------------------ the key holder
ORIG=$(cd "$R/index" && ls)
[ "$(echo "$ORIG" | wc -l)" -eq 2 ] || fail "expected 2 index files: $ORIG"

# plant MODE: build the files in a copy of the primary, upload them
# through the append-only key; their names in $T/planted.
plant() {
	rm -rf "$T/work"
	cp -a "$A" "$T/work"
	"$TOOLS/plant" "$T/work" "$T/key" "$S/d/f" "$T/evil" "$1" \
	    >"$T/planted" || fail "plant $1"
	while read -r f; do
		sftp_as "$U" "put $T/work/$f $f" ||
			fail "upload $f: $(cat "$T/sftp.out")"
	done <"$T/planted"
}

# no_evil FILE: the evil bytes are not in FILE.
no_evil() {
	! grep -q 'EVIL CONTENT' "$1" || fail "restored the planted bytes: $1"
}

# 1a: the id indexed twice (the original index stays).
plant alone
# shellcheck disable=SC2086
{
	expect_status 0 "$COFFER" restore -r offsite $K latest --target "$T/r1"
	expect_same "$S/d/f" "$T/r1$S/d/f"
	expect_status 0 "$COFFER" restore -r offsite $K latest --stdout "$S/d/f"
	expect_same "$S/d/f" "$T/out"
	expect_status 0 "$COFFER" restore -r offsite $K latest --tar "$T/r1.tar"
	no_evil "$T/r1.tar"
	expect_status 0 "$COFFER" check -r offsite $K
	expect_grep "^coffer: warning: data/[0-9a-f]{2}/[0-9a-f]{64}: 1 blob indexed in it is indexed in other packs too" "$T/err"
}

# 1b: and the original index hidden under a dot-name (a plain rename:
# the recipe allows it), with an index that names every other blob.
plant replace
for i in $ORIG; do
	sftp_as "$U" "rename index/$i index/.$i" ||
		fail "rename: $(cat "$T/sftp.out")"
done
# shellcheck disable=SC2086
{
	expect_status 4 "$COFFER" restore -r offsite $K latest --target "$T/r2"
	expect_grep "$S/d/f: .*does not match its id" "$T/err"
	[ ! -e "$T/r2$S/d/f" ] || no_evil "$T/r2$S/d/f"
	expect_same "$S/d/g" "$T/r2$S/d/g"
	expect_status 4 "$COFFER" restore -r offsite $K latest --stdout "$S/d/f"
	no_evil "$T/out"
	expect_status 4 "$COFFER" restore -r offsite $K latest --tar "$T/r2.tar"
	no_evil "$T/r2.tar"
	expect_status 0 "$COFFER" check -r offsite $K
	expect_grep "^coffer: warning: data/[0-9a-f]{2}/[0-9a-f]{64}: no index entry names its bytes" "$T/err"
	expect_grep "rebuild-index" "$T/err"
	# check names each hidden original, with the fix.
	for i in $ORIG; do
		expect_grep "^coffer: warning: index/\\.$i: a hidden file" "$T/err"
	done
	expect_grep "rename it back to the SHA-256 of its bytes" "$T/err"
	# --read-data names the planted copies.
	expect_status 4 "$COFFER" check -r offsite $K --read-data
	expect_grep "does not match its id" "$T/err"
}

# The fix check names: rebuild-index, by whoever may rewrite the index
# (here the host's admin, on the repository itself): every copy indexed
# again, restore picks the intact one.
expect_status 0 "$COFFER" rebuild-index -r "$R" --password-file "$T/key"
expect_status 0 "$COFFER" restore -r "$R" --password-file "$T/key" latest --target "$T/r3"
tree_listing "$S" >"$T/want"
tree_listing "$T/r3$S" >"$T/got"
expect_same "$T/want" "$T/got"
