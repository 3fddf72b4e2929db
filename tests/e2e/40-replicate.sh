#!/bin/sh
# coffer replicate between two local repositories: a copy that checks with
# every byte read and restores byte for byte; a re-run sends nothing; a
# rotten source pack is reported, never shipped, the rest is (exit 4);
# kill -9 mid-run leaves a valid target and only temp files, and a re-run
# completes; another repository as target is refused; --dry-run sends
# nothing; the copy can be pulled back; NAME from the config.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

export COFFER_TEST_WEAK_KDF=1
S=$T/src
A=$T/primary
B=$T/offsite
co() { "$COFFER" "$@" --password-file "$T/key"; }

# help texts
for c in replicate offsite-setup; do
	expect_status 0 "$COFFER" help "$c"
	cp "$T/out" "$T/help1"
	expect_status 0 "$COFFER" "$c" --help
	expect_same "$T/help1" "$T/out"
done
expect_status 2 "$COFFER" replicate --from "$A"
expect_grep 'no target' "$T/err"

expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
make_tree "$S"
expect_status 0 co snapshot -r "$A" --cache-dir "$T/cache" "$S"
head -c 2000000 /dev/urandom >"$S/var/second"
expect_status 0 co snapshot -r "$A" --cache-dir "$T/cache" "$S"

# --dry-run: lists what it would send, sends nothing, makes nothing.
expect_status 0 "$COFFER" replicate --from "$A" --to "$B" --dry-run
repo_files "$A" | sed 's|^\./||' >"$T/want"
grep -v '^would send' "$T/out" | cut -d' ' -f1 | LC_ALL=C sort >"$T/got"
expect_same "$T/want" "$T/got"
expect_grep "^would send $(wc -l <"$T/want") files" "$T/out"
[ ! -e "$B" ] || fail "--dry-run made $B"

# The copy: every file, a valid repository, the same bytes.
expect_status 0 "$COFFER" replicate --from "$A" --to "$B" --json
expect_grep "\"files_sent\":$(wc -l <"$T/want")," "$T/out"
repo_files "$A" >"$T/a.files"
repo_files "$B" >"$T/b.files"
expect_same "$T/a.files" "$T/b.files"
while read -r f; do
	cmp -s "$A/$f" "$B/$f" || fail "$f differs on the target"
done <"$T/a.files"
[ -z "$(temp_files "$B")" ] || fail "temp files left: $(temp_files "$B")"
expect_status 0 co check -r "$B" --read-data
restore_equal "$B" "$S" --password-file "$T/key"

# A re-run sends nothing, and says so.
expect_status 0 "$COFFER" replicate --from "$A" --to "$B"
expect_grep '^sent 0 files, 0 B in .*; [0-9]+ files .* already there$' "$T/out"
expect_status 0 "$COFFER" replicate --from "$A" --to "$B" --verify --json
expect_grep '"files_sent":0,' "$T/out"
expect_grep "\"files_verified\":$(($(wc -l <"$T/a.files") - 1))," "$T/out"

# A rotten pack in the source: reported, not shipped, the rest is.
head -c 3000000 /dev/urandom >"$S/var/third"
expect_status 0 co snapshot -r "$A" --cache-dir "$T/cache" "$S"
repo_files "$A" >"$T/a2.files"
new=$(comm -13 "$T/a.files" "$T/a2.files")
bad=$(echo "$new" | grep '^\./data/' | head -n 1)
[ -n "$bad" ] || fail "the third snapshot wrote no pack"
cp "$A/$bad" "$T/bad.orig"
flip_byte "$A/$bad" 100
expect_status 4 "$COFFER" replicate --from "$A" --to "$B"
expect_grep "${bad#./}: damaged in the source" "$T/err"
expect_grep '1 damaged file in the source not sent' "$T/err"
[ ! -e "$B/$bad" ] || fail "the rotten pack was shipped"
echo "$new" | grep -v "^$bad\$" | while read -r f; do
	cmp -s "$A/$f" "$B/$f" || fail "$f was not sent with the rotten pack"
done
# The target lacks one pack, like the source lacks a good one.
expect_status 4 co check -r "$B"
expect_grep "${bad#./}" "$T/err"
cp "$T/bad.orig" "$A/$bad"
expect_status 0 "$COFFER" replicate --from "$A" --to "$B"
expect_grep '^sent 1 files,' "$T/out"
expect_status 0 co check -r "$B" --read-data

# A target file that differs from the source is reported, never replaced.
victim=$(grep '^\./index/' "$T/a2.files" | head -n 1)
cp "$B/$victim" "$T/victim.orig"
chmod u+w "$B/$victim"
printf 'x' >>"$B/$victim"
expect_status 4 "$COFFER" replicate --from "$A" --to "$B"
expect_grep "${victim#./}: the target's copy has" "$T/err"
cmp -s "$B/$victim" "$T/victim.orig" && fail "the damaged target file was replaced"
cp "$T/victim.orig" "$B/$victim"
flip_byte "$B/$victim" 10
expect_status 0 "$COFFER" replicate --from "$A" --to "$B"
expect_status 4 "$COFFER" replicate --from "$A" --to "$B" --verify
expect_grep "${victim#./}: damaged on the target" "$T/err"
cp "$T/victim.orig" "$B/$victim"

# Another repository as target: refused, nothing sent.
expect_status 0 "$COFFER" init -r "$T/other" --machine-key "$T/key2"
repo_files "$T/other" >"$T/other.before"
expect_status 2 "$COFFER" replicate --from "$A" --to "$T/other"
expect_grep 'another repository' "$T/err"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
repo_files "$T/other" >"$T/other.after"
expect_same "$T/other.before" "$T/other.after"
# No repository at the source: exit 10.
expect_status 10 "$COFFER" replicate --from "$T/nothing" --to "$T/x"

# Pull the copy back to a new disk, without locking it (as from an
# append-only host), and restore from that.
chmod -R a-w "$B"
expect_status 0 "$COFFER" replicate --from "$B" --to "$T/pulled" --no-lock -j 2
chmod -R u+w "$B"
expect_status 0 co check -r "$T/pulled" --read-data
restore_equal "$T/pulled" "$S" --password-file "$T/key"

# NAME: the target section, the source from the job that replicates to it.
cat >"$T/coffer.conf" <<EOF
[repository local]
path = $A
password_file = $T/key

[repository offsite]
path = $T/named

[source etc]
type = files
paths = $S

[job nightly]
sources = etc
repository = local
replicate = offsite
EOF
expect_status 0 "$COFFER" -c "$T/coffer.conf" replicate offsite
expect_status 0 co check -r "$T/named"
expect_status 2 "$COFFER" -c "$T/coffer.conf" replicate local
expect_grep 'no \[job\] .* has replicate = local' "$T/err"
# The NAME of the job does the same.
head -c 100000 /dev/urandom >"$S/var/fourth"
expect_status 0 co snapshot -r "$A" --cache-dir "$T/cache" "$S"
expect_status 0 "$COFFER" -c "$T/coffer.conf" replicate nightly --json
expect_grep '"files_sent":[1-9]' "$T/out"
expect_status 0 "$COFFER" -c "$T/coffer.conf" replicate nightly
expect_grep '^sent 0 files' "$T/out"

# kill -9 mid-run: the target is valid at that moment, holds no partial
# file under a final name, and a re-run completes it.  Many small packs
# and one transfer at a time, so that the kill lands between files.
mkdir "$T/bulk"
i=0
while [ $i -lt 12 ]; do
	head -c 4000000 /dev/urandom >"$T/bulk/f$i"
	i=$((i + 1))
done
expect_status 0 "$COFFER" init -r "$T/big" --machine-key "$T/key3" \
    --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$T/big" --password-file "$T/key3" \
    --cache-dir "$T/cache" "$T/bulk"
total=$(repo_files "$T/big" | grep -c '^\./data/')
[ "$total" -ge 30 ] || fail "only $total packs"
landed=0
round=0
while [ $round -lt 5 ] && [ $landed -eq 0 ]; do
	round=$((round + 1))
	rm -rf "$T/kt"
	"$COFFER" replicate --from "$T/big" --to "$T/kt" -j 1 -q \
	    >"$T/kill.out" 2>&1 &
	pid=$!
	# Kill as soon as a few packs are there (a tight poll: no sleep).
	n=0
	while [ "$n" -lt $((round * 3)) ] && kill -0 $pid 2>/dev/null; do
		n=$(find "$T/kt/data" -type f ! -name '.*' 2>/dev/null | wc -l)
	done
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	got=$(find "$T/kt/data" -type f ! -name '.*' 2>/dev/null | wc -l)
	[ "$got" -lt "$total" ] && [ "$got" -gt 0 ] && landed=1
done
[ $landed -eq 1 ] || fail "the kill never landed mid-run"
# Valid now: config and keys first, then packs; no snapshot yet.
expect_status 0 "$COFFER" check -r "$T/kt" --password-file "$T/key3" \
    --read-data
[ -z "$(ls "$T/kt/snapshots" 2>/dev/null)" ] || fail "a snapshot before its packs"
# Whatever is not a repository file of the source is a temp file.
repo_files "$T/big" >"$T/big.files"
(cd "$T/kt" && find . -type f ! -path './locks/*' | LC_ALL=C sort) >"$T/kt.files"
comm -13 "$T/big.files" "$T/kt.files" | grep -v '/\.[^/]*$' \
    >"$T/extra" || true
[ ! -s "$T/extra" ] || fail "not temp files: $(cat "$T/extra")"
expect_status 0 "$COFFER" replicate --from "$T/big" --to "$T/kt" --json
expect_grep "\"files_sent\":$(($(wc -l <"$T/big.files") - got - 2))," "$T/out"
expect_status 0 "$COFFER" check -r "$T/kt" --password-file "$T/key3" \
    --read-data
expect_status 0 "$COFFER" restore -r "$T/kt" --password-file "$T/key3" \
    latest --target "$T/kt.restore"
tree_listing "$T/bulk" >"$T/bulk.want"
tree_listing "$T/kt.restore$T/bulk" >"$T/bulk.got"
expect_same "$T/bulk.want" "$T/bulk.got"

# Ctrl-C (SIGINT) mid-run: exit 130 after the file in hand, a valid target.
landed=0
round=0
while [ $round -lt 5 ] && [ $landed -eq 0 ]; do
	round=$((round + 1))
	rm -rf "$T/it"
	"$COFFER" replicate --from "$T/big" --to "$T/it" -j 1 -q \
	    >"$T/int.out" 2>"$T/int.err" &
	pid=$!
	n=0
	while [ "$n" -lt $((round * 3)) ] && kill -0 $pid 2>/dev/null; do
		n=$(find "$T/it/data" -type f ! -name '.*' 2>/dev/null | wc -l)
	done
	kill -INT $pid 2>/dev/null || true
	st=0
	wait $pid || st=$?
	got=$(find "$T/it/data" -type f ! -name '.*' 2>/dev/null | wc -l)
	if [ "$got" -lt "$total" ]; then
		landed=1
		[ $st -eq 130 ] || fail "SIGINT: exit $st, not 130: $(cat "$T/int.err")"
	fi
done
[ $landed -eq 1 ] || fail "SIGINT never landed mid-run"
[ -z "$(temp_files "$T/it")" ] || fail "temp files after SIGINT: $(temp_files "$T/it")"
expect_status 0 "$COFFER" check -r "$T/it" --password-file "$T/key3"
expect_status 0 "$COFFER" replicate --from "$T/big" --to "$T/it"
expect_status 0 "$COFFER" check -r "$T/it" --password-file "$T/key3" --read-data
