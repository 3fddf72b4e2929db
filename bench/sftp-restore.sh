#!/bin/sh
# bench/sftp-restore.sh DIR [RUNS]: restore of one snapshot of DIR from an
# sftp:// repository on a loopback sshd (tests/e2e/lib.sh's start_sshd),
# coffer against restic (its sftp backend, through OpenSSH's ssh to the
# same sshd), RUNS alternated runs each (default 3), medians and the
# ratio printed; `tar -x` of the same tree from a local tar file gives the
# scale.  Both tools restore to the same disk; coffer with --no-sync, since
# restic does not flush a restore.  Not part of `make check`.
#
#   make && sh bench/sftp-restore.sh /usr/share/doc 3
#
# Settings (environment): TRANSFERS, coffer's `transfers` (default: its
# own default); COFFER, the binary (default ./coffer).
top=$(cd "$(dirname "$0")/.." && pwd)
E2E_LIB=$top/tests/e2e/lib.sh
export E2E_LIB
. "$E2E_LIB"

src=${1:?usage: bench/sftp-restore.sh DIR [RUNS]}
runs=${2:-3}
src=$(cd "$src" && pwd) || exit 1
need restic
start_sshd
COFFER_PASSWORD_FILE=$T/machine.key
RESTIC_PASSWORD_FILE=$T/restic.pass
export COFFER_PASSWORD_FILE RESTIC_PASSWORD_FILE
echo "restic bench password" >"$RESTIC_PASSWORD_FILE"
chmod 600 "$RESTIC_PASSWORD_FILE"

cat >"$T/c.conf" <<EOF
[repository b]
url = sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$T/remote
identity = $SSH_KEY
known_hosts = $SSH_KNOWN_HOSTS
password_file = $COFFER_PASSWORD_FILE
${TRANSFERS:+transfers = $TRANSFERS}
EOF
chmod 600 "$T/c.conf"
"$COFFER" -q -c "$T/c.conf" init -r b --machine-key "$COFFER_PASSWORD_FILE" ||
	exit 1
"$COFFER" -q -c "$T/c.conf" snapshot -r b "$src" || exit 1

sshcmd="ssh -i $SSH_KEY -p $SSHD_PORT -o UserKnownHostsFile=$SSH_KNOWN_HOSTS"
sshcmd="$sshcmd -o StrictHostKeyChecking=yes -o BatchMode=yes"
sshcmd="$sshcmd $SSH_USER@127.0.0.1 -s sftp"
rrepo=sftp:$SSH_USER@127.0.0.1:$T/rremote
restic -q -r "$rrepo" -o sftp.command="$sshcmd" init \
    --repository-version 2 >/dev/null || exit 1
restic -q -r "$rrepo" -o sftp.command="$sshcmd" backup "$src" || exit 1
tar -C "$src" -cf "$T/src.tar" . || exit 1

now() { date +%s.%N; }
secs() { echo "$1 $2" | awk '{ printf "%.2f", $2 - $1 }'; }
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

c_all= r_all= t_all=
r=0
while [ "$r" -lt "$runs" ]; do
	r=$((r + 1))
	rm -rf "$T/dst"
	sync
	t0=$(now)
	"$COFFER" -q -c "$T/c.conf" restore -r b latest -t "$T/dst" \
	    --no-sync || exit 1
	t1=$(now)
	c=$(secs "$t0" "$t1")
	rm -rf "$T/dst"
	sync
	t0=$(now)
	restic -q -r "$rrepo" -o sftp.command="$sshcmd" restore latest \
	    --target "$T/dst" || exit 1
	t1=$(now)
	rs=$(secs "$t0" "$t1")
	rm -rf "$T/dst"
	mkdir "$T/dst"
	sync
	t0=$(now)
	tar -C "$T/dst" -xf "$T/src.tar" || exit 1
	t1=$(now)
	tx=$(secs "$t0" "$t1")
	echo "run $r: coffer $c s, restic $rs s, tar -x $tx s"
	c_all="$c_all $c" r_all="$r_all $rs" t_all="$t_all $tx"
done
rm -rf "$T/dst"
cm=$(echo "$c_all" | median)
rm_=$(echo "$r_all" | median)
tm=$(echo "$t_all" | median)
files=$(find "$src" -type f | wc -l)
mib=$(du -sm "$src" | cut -f1)
echo "median of $runs, $src ($files files, $mib MiB):" \
    "coffer $cm s, restic $rm_ s, tar -x $tm s;" \
    "coffer/restic $(echo "$cm $rm_" | awk '{ printf "%.2f", $1 / $2 }')," \
    "coffer/tar $(echo "$cm $tm" | awk '{ printf "%.2f", $1 / $2 }')"
