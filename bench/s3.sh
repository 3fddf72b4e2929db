#!/bin/sh
# bench/s3.sh [MIB] [RUNS]: MB/s (10^6 B/s) of coffer and restic 0.14 on
# the same loopback Ceph RGW (tests/e2e/rgw-lib.sh's start_rgw), one run
# after the other, RUNS runs each (default 3), median printed:
#   up:   coffer replicate of a local repository into s3:// (the data is
#         already chunked and encrypted: the transfer alone), and restic
#         backup into an s3: repository (chunking, encryption and upload);
#   down: coffer restore from s3:// to a directory, restic restore.
# The data is MIB MiB (default 256) of random bytes in 16 MiB files, so the
# figures measure the transport, not deduplication or compression.  Both
# tools get 4 connections (transfers = 4; restic -o s3.connections=4).
# restic's key derivation is measured apart by restic and not excluded;
# coffer uses a machine key.  Not part of `make check`.
#
#   make && sh bench/s3.sh 256 3
top=$(cd "$(dirname "$0")/.." && pwd)
E2E_LIB=$top/tests/e2e/lib.sh
export E2E_LIB
. "$E2E_LIB"
. "$top/tests/e2e/rgw-lib.sh"

mib=${1:-256}
runs=${2:-3}
command -v restic >/dev/null || skip "needs restic"
# memstore keeps every run's objects in RAM: room for all of them.
RGW_MEMSTORE_BYTES=$(((2 * mib * runs + 512) * 1048576))
start_rgw
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_PASSWORD_FILE
mkdir "$T/src"
i=0
while [ $((i * 16)) -lt "$mib" ]; do
	head -c 16777216 /dev/urandom >"$T/src/f$i"
	i=$((i + 1))
done
bytes=$((i * 16777216))
"$COFFER" -q init -r "$T/local" --machine-key "$COFFER_PASSWORD_FILE" || exit 1
"$COFFER" -q snapshot -r "$T/local" --cache-dir "$T/cache" "$T/src" || exit 1

now() { date +%s.%N; }
mbs() { echo "$bytes $1 $2" | awk '{ printf "%.0f", $1 / ($3 - $2) / 1e6 }'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

AWS_ACCESS_KEY_ID=$RGW_ACCESS
AWS_SECRET_ACCESS_KEY=$RGW_SECRET
RESTIC_PASSWORD=bench-password
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY RESTIC_PASSWORD
cu= cd= ru= rd=
r=0
while [ "$r" -lt "$runs" ]; do
	r=$((r + 1))
	rm -rf "$T/dst" "$T/rdst"
	cat >"$T/c.conf" <<EOF
[repository b]
url = s3://$RGW_ENDPOINT/coffer-bench/r$r
insecure_http = yes
password_file = $COFFER_PASSWORD_FILE
transfers = 4
EOF
	chmod 600 "$T/c.conf"
	t0=$(now)
	"$COFFER" -q -c "$T/c.conf" replicate --from "$T/local" --to b || exit 1
	t1=$(now)
	"$COFFER" -q -c "$T/c.conf" restore -r b latest -t "$T/dst" || exit 1
	t2=$(now)
	cu="$cu $(mbs "$t0" "$t1")"
	cd="$cd $(mbs "$t1" "$t2")"
	repo=s3:http://$RGW_ENDPOINT/restic-bench/r$r
	restic -q -r "$repo" init >/dev/null || exit 1
	t0=$(now)
	restic -q -r "$repo" -o s3.connections=4 backup "$T/src" >/dev/null ||
		exit 1
	t1=$(now)
	restic -q -r "$repo" -o s3.connections=4 restore latest \
	    --target "$T/rdst" >/dev/null || exit 1
	t2=$(now)
	ru="$ru $(mbs "$t0" "$t1")"
	rd="$rd $(mbs "$t1" "$t2")"
	cmp -s "$T/src/f0" "$T/dst$T/src/f0" || fail "coffer restored other bytes"
	cmp -s "$T/src/f0" "$T/rdst$T/src/f0" || fail "restic restored other bytes"
done
printf '%s MiB, %s runs, MB/s (median; all runs)\n' "$bytes" "$runs" |
    awk '{ $1 = $1 / 1048576; print }'
printf 'coffer up   %4s  (%s)\n' "$(echo "$cu" | median)" "${cu# }"
printf 'restic up   %4s  (%s)\n' "$(echo "$ru" | median)" "${ru# }"
printf 'coffer down %4s  (%s)\n' "$(echo "$cd" | median)" "${cd# }"
printf 'restic down %4s  (%s)\n' "$(echo "$rd" | median)" "${rd# }"
