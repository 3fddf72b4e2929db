#!/bin/sh
# bench/sftp-transfers.sh [MIB] [RUNS]: MB/s (10^6 B/s) of `coffer snapshot`
# into and `coffer restore` out of an sftp:// repository on a loopback
# sshd (tests/e2e/lib.sh's start_sshd), with transfers = 1, 2 and 4
# sessions, RUNS runs each interleaved (default 3), median printed.  The
# data is MIB MiB (default 512) of random bytes in 16 MiB files, so the
# figures measure the transport, not deduplication or compression.  A
# fresh repository and files cache every run.  For scale:
# - link: what OpenSSH itself carries from the same sshd in one session,
#   `ssh cat` of the repository's packs to /dev/null, less the time of
#   `ssh true` (the handshake and the remote shell's start, which a
#   login's shell start-up files can make take most of a second);
# - sftp get: OpenSSH's own sftp client fetching the packs (`get -r`, to
#   TARGET's file system);
# - restore --tar: the restore with no disk in the way (`restore --tar -
#   >/dev/null`);
# - replicate --from: coffer's own transport alone, the packs copied to
#   TARGET's file system (fetched, their SHA-256 checked, written; nothing
#   decrypted).
# These count the bytes of the packs, as MB/s.  coffer's figures hold its
# own start (the key, the index).  TARGET: where restores go (default
# under TMPDIR; a tmpfs takes the disk out), RESTORE_OPTS: more options
# for the restore (--no-sync, say).  Not part of `make check`.
#
#   make && sh bench/sftp-transfers.sh 512 3
top=$(cd "$(dirname "$0")/.." && pwd)
E2E_LIB=$top/tests/e2e/lib.sh
export E2E_LIB
. "$E2E_LIB"

mib=${1:-512}
runs=${2:-3}
start_sshd
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_PASSWORD_FILE
mkdir "$T/src"
i=0
while [ $((i * 16)) -lt "$mib" ]; do
	head -c 16777216 /dev/urandom >"$T/src/f$i"
	i=$((i + 1))
done
bytes=$((i * 16777216))

now() { date +%s.%N; }
mbs() { echo "$bytes $1 $2" | awk '{ printf "%.0f", $1 / ($3 - $2) / 1e6 }'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for n in 1 2 4; do
	eval "up_$n=''; down_$n=''; tar_$n=''; rep_$n=''"
done
link=''
sget=''
sshc() {
	ssh -i "$SSH_KEY" -p "$SSHD_PORT" -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" \
	    -o StrictHostKeyChecking=yes -o BatchMode=yes "$SSH_USER@127.0.0.1" "$@"
}
# packmbs T0 T1: MB/s of the repository's pack bytes.
packmbs() {
	echo "$(du -sb --apparent-size "$T/remote/data" | cut -f1) $1 $2" |
		awk '{ printf "%.0f", $1 / ($3 - $2) / 1e6 }'
}
r=0
while [ "$r" -lt "$runs" ]; do
	r=$((r + 1))
	for n in 1 2 4; do
		rm -rf "$T/remote" "$T/cache" "${TARGET:-$T/dst}"
		cat >"$T/c.conf" <<EOF
[repository b]
url = sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$T/remote
identity = $SSH_KEY
known_hosts = $SSH_KNOWN_HOSTS
password_file = $COFFER_PASSWORD_FILE
transfers = $n
EOF
		chmod 600 "$T/c.conf"
		rm -f "$COFFER_PASSWORD_FILE"
		"$COFFER" -q -c "$T/c.conf" init -r b \
		    --machine-key "$COFFER_PASSWORD_FILE" || exit 1
		t0=$(now)
		"$COFFER" -q -c "$T/c.conf" snapshot -r b --cache-dir "$T/cache" \
		    "$T/src" || exit 1
		t1=$(now)
		# shellcheck disable=SC2086
		"$COFFER" -q -c "$T/c.conf" restore -r b latest \
		    -t "${TARGET:-$T/dst}" ${RESTORE_OPTS:-} || exit 1
		t2=$(now)
		"$COFFER" -q -c "$T/c.conf" restore -r b latest --tar - \
		    >/dev/null || exit 1
		t3=$(now)
		rm -rf "${TARGET:-$T/dst}" "${TARGET:-$T/dst}.rep"
		"$COFFER" -q -c "$T/c.conf" replicate --from b \
		    --to "${TARGET:-$T/dst}.rep" >/dev/null || exit 1
		t4=$(now)
		rm -rf "${TARGET:-$T/dst}.rep"
		u=$(mbs "$t0" "$t1")
		d=$(mbs "$t1" "$t2")
		x=$(packmbs "$t2" "$t3")
		c=$(packmbs "$t3" "$t4")
		echo "run $r transfers=$n: snapshot $u MB/s, restore $d MB/s," \
		    "restore --tar $x MB/s (packs), replicate --from $c MB/s" \
		    "(packs)"
		eval "up_$n=\"\$up_$n $u\"; down_$n=\"\$down_$n $d\"; tar_$n=\"\$tar_$n $x\"; rep_$n=\"\$rep_$n $c\""
	done
	t0=$(now)
	sshc true || exit 1
	t1=$(now)
	sshc "find '$T/remote/data' -type f -exec cat {} +" >/dev/null || exit 1
	t2=$(now)
	# The stream alone: the second command's time less the first's.
	l=$(packmbs "$t0" "$(echo "$t2 $t1 $t0" | awk '{ printf "%.9f", $3 + ($1 - $2) - ($2 - $3) }')")
	g=${TARGET:-$T/dst}.get
	rm -rf "$g"
	t3=$(now)
	echo "get -r $T/remote/data $g" |
		sftp -q -b - -i "$SSH_KEY" -P "$SSHD_PORT" \
		    -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" \
		    -o StrictHostKeyChecking=yes "$SSH_USER@127.0.0.1" \
		    >/dev/null || exit 1
	t4=$(now)
	rm -rf "$g"
	sg=$(packmbs "$t3" "$t4")
	echo "run $r link (ssh cat of the packs less ssh true): $l MB/s," \
	    "sftp get -r: $sg MB/s"
	link="$link $l"
	sget="$sget $sg"
done
echo "median of $runs, $((bytes / 1048576)) MiB random data:"
for n in 1 2 4; do
	eval "u=\$up_$n; d=\$down_$n"
	eval "x=\$tar_$n; c=\$rep_$n"
	echo "transfers=$n: snapshot $(echo "$u" | median) MB/s," \
	    "restore $(echo "$d" | median) MB/s," \
	    "restore --tar $(echo "$x" | median) MB/s of packs," \
	    "replicate --from $(echo "$c" | median) MB/s of packs"
done
echo "link: ssh cat of the packs, less ssh true, $(echo "$link" | median) MB/s"
echo "OpenSSH sftp get -r of the packs: $(echo "$sget" | median) MB/s"
rm -rf "${TARGET:-$T/dst}"
