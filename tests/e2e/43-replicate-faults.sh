#!/bin/sh
# Network faults between replicate and a real sshd, made by tcpproxy:
# the connection cut after N bytes at several N (replicate finishes on its
# retries, or a re-run does; never a partial file under a final name, and
# the copy checks clean); a stalled connection (an error, not a hang);
# connections refused; sshd killed mid-run (a clear error; a re-run
# against the restarted server completes).
# e2e: long
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

export COFFER_TEST_WEAK_KDF=1
start_sshd
R=$T/off/repo
mkdir -p "$T/off"

PPORT=$(free_port)
PROXY_PID=
# proxy OPTS...: tcpproxy PPORT -> sshd with fault options.
proxy() { start_proxy "$PPORT" "$SSHD_PORT" "$@"; }

# The proxy itself works: sftp through it, and a cut shows as one.
sed "s/^\[127.0.0.1\]:$SSHD_PORT /[127.0.0.1]:$PPORT /" "$SSH_KNOWN_HOSTS" \
    >"$T/kh.proxy"
proxy
printf 'ls\n' >"$T/b"
sftp -b "$T/b" -i "$SSH_KEY" -o UserKnownHostsFile="$T/kh.proxy" \
    -o BatchMode=yes -P "$PPORT" "$SSH_USER@127.0.0.1" >/dev/null 2>&1 ||
	fail "sftp through tcpproxy"
stop_proxy
proxy -c 2000
sftp -b "$T/b" -i "$SSH_KEY" -o UserKnownHostsFile="$T/kh.proxy" \
    -o BatchMode=yes -P "$PPORT" "$SSH_USER@127.0.0.1" >/dev/null 2>&1 &&
	fail "sftp through a cut connection worked"
stop_proxy
expect_grep 'connection 1 cut after 2000 bytes' "$T/proxy.log"

# conf: the section for sshd through the proxy (again after a restart:
# a new sshd has a new host key and client key).
conf() {
	sed "s/^\[127.0.0.1\]:$SSHD_PORT /[127.0.0.1]:$PPORT /" "$SSH_KNOWN_HOSTS" \
	    >"$T/kh.proxy"
	{
		printf '[repository offsite]\nurl = sftp://%s@127.0.0.1:%s%s\n' \
		    "$SSH_USER" "$PPORT" "$R"
		printf 'identity = %s\nknown_hosts = %s\n' "$SSH_KEY" "$T/kh.proxy"
		printf 'io_timeout = 3s\nconnect_timeout = 3s\nretries = 3\n'
		# One session: the proxy's first connection carries all of it.
		printf '[repository single]\nurl = sftp://%s@127.0.0.1:%s%s\n' \
		    "$SSH_USER" "$PPORT" "$R"
		printf 'identity = %s\nknown_hosts = %s\n' "$SSH_KEY" "$T/kh.proxy"
		printf 'io_timeout = 3s\nconnect_timeout = 3s\nretries = 3\n'
		printf 'transfers = 1\n'
		# For the faults that last: fail sooner.
		printf '[repository once]\nurl = sftp://%s@127.0.0.1:%s%s\n' \
		    "$SSH_USER" "$PPORT" "$R"
		printf 'identity = %s\nknown_hosts = %s\n' "$SSH_KEY" "$T/kh.proxy"
		printf 'io_timeout = 2s\nconnect_timeout = 2s\nretries = 1\n'
	} >"$T/c.conf"
}
conf
proxy
need_sftp "$T/c.conf" offsite
stop_proxy

A=$T/primary
mkdir -p "$T/bulk"
i=0
while [ $i -lt 6 ]; do
	head -c 2000000 /dev/urandom >"$T/bulk/f$i"
	i=$((i + 1))
done
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" \
    --cache-dir "$T/cache" "$T/bulk"
repo_files "$A" >"$T/a.files"

# intact: every repository file at R is the source's, byte for byte, and
# the copy checks clean with every byte read.
intact() {
	(cd "$R" && find . -type f ! -name '.*' ! -path './locks/*') |
		while read -r f; do
			cmp -s "$A/$f" "$R/$f" || fail "$f off-site is not the source's"
		done
	expect_status 0 "$COFFER" check -r "$R" --password-file "$T/key" --read-data
}

# replicate_through [NAME]: replicate to NAME (offsite); on a network
# error (5), once more; then everything is there.
replicate_through() {
	"$COFFER" -c "$T/c.conf" replicate --from "$A" --to "${1:-offsite}" \
	    >"$T/out" 2>"$T/err" && return 0
	[ $? -eq 5 ] || fail "replicate: $(cat "$T/err")"
	expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" \
	    --to "${1:-offsite}"
}

# Cuts during authentication (3000: libssh2 1.10 reports the lost
# connection as a refused key; the backend must still see a network error
# and retry) and during the transfers.  Through one session, so that the
# cut connection is the one that carries the data (with two, the other
# once took all 12 MB and the 4 MB cut never came).
cuts=${E2E_CUT_SIZES:-3000 50000 700000 4000000}
for n in $cuts; do
	rm -rf "$R"
	proxy -c "$n" -k 1
	replicate_through single
	stop_proxy
	repo_files "$R" >"$T/r.files"
	expect_same "$T/a.files" "$T/r.files"
	intact
done
for n in $cuts; do
	expect_grep "cut after $n bytes" "$T/proxy.log"
done

# A stall: an error within the io timeout and the retries, never a hang.
rm -rf "$R"
proxy -s 300000
expect_status 5 timeout 300 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to once
# Retry notices are warnings; the failure itself is one line.
[ "$(grep -vc 'warning:' "$T/err")" -eq 1 ] || fail "not one error: $(cat "$T/err")"
expect_grep 'stalled|timed out|no answer' "$T/err"
stop_proxy
intact

# Refused connections: a network error, exit 5.
proxy -r
expect_status 5 timeout 300 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to once
stop_proxy

# sshd killed mid-run: a clear error; the re-run after a restart completes.
rm -rf "$R"
proxy
"$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite -j 1 \
    >"$T/kill.out" 2>"$T/kill.err" &
pid=$!
n=0
while [ "$n" -lt 1 ] && kill -0 $pid 2>/dev/null; do
	n=$(find "$R/data" -type f ! -name '.*' 2>/dev/null | wc -l)
done
# Held still while sshd is killed, so that it cannot send the rest
# meanwhile (under load it did, and the kill came too late).
kill -STOP $pid 2>/dev/null || true
got=$(find "$R/data" -type f ! -name '.*' | wc -l)
for p in $(e2e_pids_under "$SSHD_DIR"); do
	kill -9 "$p" 2>/dev/null || true
done
kill -CONT $pid 2>/dev/null || true
[ "$got" -lt "$(grep -c '^\./data/' "$T/a.files")" ] ||
	fail "sshd was killed after replicate had sent every pack"
st=0
wait $pid || st=$?
stop_proxy
if [ $st -ne 0 ]; then
	[ $st -eq 5 ] || fail "replicate with sshd killed: exit $st: $(cat "$T/kill.err")"
	[ -s "$T/kill.err" ] || fail "no error message when sshd died"
fi
start_sshd
conf
proxy
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
stop_proxy
repo_files "$R" >"$T/r.files"
expect_same "$T/a.files" "$T/r.files"
intact
