#!/bin/sh
# replicate streams: packs much larger than its buffer (4 packs of about
# 64 MiB, 4 transfers) reach an append-only sshd byte for byte while its
# peak RSS stays far below what holding them would take (a loose bound:
# 200 MiB; whole files in memory took about 300).  Files larger than
# their kind can be (a key file over 64 KiB, a pack of 4 GiB) are
# refused, unread, with one clear line each, and the rest is sent.
# e2e: long
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need sftp /usr/bin/time
export COFFER_TEST_WEAK_KDF=1

start_sshd
U=nobody
R=$T/off/repo
offsite_server "$U" "$R"
URL="sftp://$U@127.0.0.1:$SSHD_PORT$R"
sftp_conf "$T/c.conf" offsite "$URL" "transfers = 4"
need_sftp "$T/c.conf" offsite

A=$T/primary
mkdir -p "$T/bulk"
for i in 0 1 2 3; do
	head -c 69206016 /dev/urandom >"$T/bulk/f$i" # 66 MiB
done
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 64M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" \
    --cache-dir "$T/cache" "$T/bulk"
rm -rf "$T/bulk"
big=$(find "$A/data" -type f -size +60M | wc -l)
[ "$big" -ge 4 ] || fail "only $big packs over 60 MiB: $(find "$A/data" -type f -size +1M -exec ls -l {} +)"

# Under ASan (make e2e SANITIZE=1) freed buffers wait in a quarantine of
# 256 MiB by default: keep it small so the bound still means something.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16 \
    /usr/bin/time -f '%M' -o "$T/rss" \
    "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite -j 4 \
    >"$T/out" 2>"$T/err" || fail "replicate: $(cat "$T/err")"
rss=$(tail -n 1 "$T/rss")
echo "peak RSS $rss KiB" >&2
[ "$rss" -lt 204800 ] || fail "replicate's peak RSS was $rss KiB, over 200 MiB"
repo_files "$A" >"$T/a.files"
repo_files "$R" >"$T/r.files"
expect_same "$T/a.files" "$T/r.files"
while read -r f; do
	cmp -s "$A/$f" "$R/$f" || fail "$f differs off-site"
done <"$T/a.files"
[ -z "$(temp_files "$R")" ] || fail "temp files left: $(temp_files "$R")"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite --verify --json
expect_grep '"files_sent":0,' "$T/out"

# Larger than the format allows: a key file of 64 KiB + 1 named by its
# hash (main sent it), a 4 GiB pack (sparse: refused by size, unread).
head -c 65537 /dev/urandom >"$T/k"
h=$(sha256sum "$T/k" | cut -c1-64)
cp "$T/k" "$A/keys/$h"
p=00$(printf '%062d' 0)
mkdir -p "$A/data/00"
truncate -s 2753777604 "$A/data/00/$p"
: >"$T/s"
h2=$(sha256sum "$T/s" | cut -c1-64)
cp "$T/s" "$A/snapshots/$h2" # small and well named: still sent
expect_status 4 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_grep "^coffer: warning: keys/$h: 65537 bytes, more than a key file can have \\(65536\\): damaged or not coffer's; not sent\$" "$T/err"
expect_grep "^coffer: warning: data/00/$p: 2753777604 bytes, more than a pack can have \\(2753777603\\)" "$T/err"
expect_grep '2 damaged files in the source not sent' "$T/err"
[ ! -e "$R/keys/$h" ] || fail "the oversized key file was sent"
[ ! -e "$R/data/00/$p" ] || fail "the oversized pack was sent"
[ -e "$R/snapshots/$h2" ] || fail "the rest was not sent"
[ -z "$(temp_files "$R")" ] || fail "temp files left: $(temp_files "$R")"
