#!/bin/bash
# bench/tree-restore.sh DIR [RUNS]: one snapshot of an existing tree DIR
# (a copy of /usr/share, say: many small files), restored by coffer and by
# restic from repositories of the same kind, RUNS alternated runs each
# (default 3); medians and ratios printed, with `tar -x` of the same tree
# from a local tar file for scale.  Not part of `make check`.
#
#   make && bench/tree-restore.sh /var/tmp/share-copy 3
#   WHERE=sftp bench/tree-restore.sh /var/tmp/share-copy 3
#
# Settings (environment):
#   WHERE      local (default): repositories in the work directory;
#              sftp: on a loopback sshd (tests/e2e/lib.sh's start_sshd),
#              restic through OpenSSH's ssh to the same sshd
#   TARGET     where restores go (default: the work directory, under
#              TMPDIR); a tmpfs here takes the disk out of the figures
#   TRANSFERS  coffer's `transfers` for sftp (default: its own)
#   COFFER     the coffer binary (default ./coffer)
# Per run: coffer restore (with --no-sync: restic does not flush a
# restore), restic restore, tar -x, and coffer restore --tar - to
# /dev/null; with WHERE=local also check --read-data of both.  Every
# restore is compared with DIR (sizes and modes of every file, and the
# bytes of every file) once, on the first run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
E2E_LIB=$top/tests/e2e/lib.sh
export E2E_LIB
. "$E2E_LIB"

src=${1:?usage: bench/tree-restore.sh DIR [RUNS]}
runs=${2:-3}
where=${WHERE:-local}
src=$(cd "$src" && pwd)
need restic
case $where in local | sftp) ;; *) fail "WHERE: local or sftp, not $where" ;; esac
target=${TARGET:-$T/dst}
COFFER_PASSWORD_FILE=$T/machine.key
RESTIC_PASSWORD_FILE=$T/restic.pass
export COFFER_PASSWORD_FILE RESTIC_PASSWORD_FILE
echo "restic bench password" >"$RESTIC_PASSWORD_FILE"
chmod 600 "$RESTIC_PASSWORD_FILE"

ropt=()
copt=()
if [ "$where" = sftp ]; then
	start_sshd
	curl_=sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$T/remote
	sshcmd="ssh -i $SSH_KEY -p $SSHD_PORT -o UserKnownHostsFile=$SSH_KNOWN_HOSTS"
	sshcmd="$sshcmd -o StrictHostKeyChecking=yes -o BatchMode=yes"
	sshcmd="$sshcmd $SSH_USER@127.0.0.1 -s sftp"
	rrepo=sftp:$SSH_USER@127.0.0.1:$T/rremote
	ropt=(-o "sftp.command=$sshcmd")
	cat >"$T/c.conf" <<EOF
[repository b]
url = $curl_
identity = $SSH_KEY
known_hosts = $SSH_KNOWN_HOSTS
password_file = $COFFER_PASSWORD_FILE
${TRANSFERS:+transfers = $TRANSFERS}
EOF
	chmod 600 "$T/c.conf"
	copt=(-c "$T/c.conf")
	crepo=b
else
	rrepo=$T/rremote
	copt=()
	crepo=$T/remote
fi
c() { "$COFFER" -q "${copt[@]}" "$@"; }
r() { restic -q -r "$rrepo" "${ropt[@]}" "$@"; }
c init -r "$crepo" --machine-key "$COFFER_PASSWORD_FILE"
c snapshot -r "$crepo" "$src"
r init --repository-version 2 >/dev/null
r backup "$src" >/dev/null
tar -C "$src" -cf "$T/src.tar" .

# meta TREE: type, mode, and size of every file (a directory's size
# depends on the file system).
meta() {
	(cd "$1" && find . \( -type f -printf '%P %y %m %s\n' \) -o \
	    -printf '%P %y %m\n' | sort)
}

# same TREE: DIR's files, modes and bytes (restic and coffer keep the
# absolute path below the target).
same() {
	diff -r -q --no-dereference "$src" "$1" >/dev/null || fail "$2 restored other bytes"
	diff <(meta "$src") <(meta "$1") >/dev/null ||
		fail "$2 restored other metadata"
}

clean() { rm -rf "$target"; sync; }
declare -A all
timed() { # key command...: seconds into all[key]
	local t0 t1
	t0=$EPOCHREALTIME
	"${@:2}"
	t1=$EPOCHREALTIME
	all[$1]+=" $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

keys="coffer restic tar coffer-tar"
[ "$where" = local ] && keys="$keys coffer-check restic-check"
for run in $(seq "$runs"); do
	clean
	timed coffer c restore -r "$crepo" latest -t "$target" --no-sync
	[ "$run" = 1 ] && same "$target$src" coffer
	clean
	timed restic r restore latest --target "$target"
	[ "$run" = 1 ] && same "$target$src" restic
	clean
	mkdir -p "$target"
	timed tar tar -C "$target" -xf "$T/src.tar"
	clean
	timed coffer-tar c restore -r "$crepo" latest --tar - >/dev/null
	if [ "$where" = local ]; then
		sync
		timed coffer-check c check -r "$crepo" --read-data
		timed restic-check r check --read-data
	fi
	line="run $run:"
	for k in $keys; do line="$line $k ${all[$k]##* } s,"; done
	echo "${line%,}"
done
clean
declare -A med
for k in $keys; do med[$k]=$(echo "${all[$k]}" | median); done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "median of $runs, $src ($(find "$src" -type f | wc -l) files," \
    "$(du -sm "$src" | cut -f1) MiB), $where repositories, restores to $target:"
echo "  restore: coffer ${med[coffer]} s, restic ${med[restic]} s," \
    "tar -x ${med[tar]} s; coffer/restic $(ratio "${med[coffer]}" "${med[restic]}")," \
    "coffer/tar-x $(ratio "${med[coffer]}" "${med[tar]}")"
echo "  restore --tar - >/dev/null: coffer ${med[coffer-tar]} s" \
    "($(ratio "${med[coffer-tar]}" "${med[coffer]}") of its directory restore)"
if [ "$where" = local ]; then
	echo "  check --read-data: coffer ${med[coffer-check]} s, restic" \
	    "${med[restic-check]} s; coffer/restic $(ratio "${med[coffer-check]}" "${med[restic-check]}")"
fi
