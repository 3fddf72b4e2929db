#!/bin/sh
# store.h promises that a put is durable; an SFTP server without
# fsync@openssh.com cannot keep that (issue 10, "Promises kept or said out
# loud").  The store asks the server once at open and says so in one
# warning per command, check prints a 'store lacks' line (and --json a
# store_lacks list), and everything still works.  The server is OpenSSH's
# real sftp-server behind tests/e2e/sftp-nofsync.py, which takes the
# extension out of its version packet and answers its requests
# "operation unsupported", as a server that never had it does.  The same
# sshd without the wrapper lacks nothing.
. "$(dirname "$0")/lib.sh"

need python3
SERVER=/usr/lib/openssh/sftp-server
[ -x "$SERVER" ] || skip "needs $SERVER (openssh-sftp-server)"

# Only keys with this option get the wrapper; the other key, plain SFTP.
start_sshd
ssh-keygen -q -t ed25519 -N '' -f "$T/nofsync_key" </dev/null
printf 'command="python3 %s %s" %s\n' "$(cd "$(dirname "$0")" && pwd)/sftp-nofsync.py" \
    "$SERVER" "$(cat "$T/nofsync_key.pub")" >>"$SSHD_DIR/authorized_keys"

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REMOTE=$T/remote
URL="sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$REMOTE"
plain() {
	"$COFFER" "$@" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS"
}
nofsync() {
	"$COFFER" "$@" --identity "$T/nofsync_key" \
	    --known-hosts "$SSH_KNOWN_HOSTS"
}
LACK='the server has no fsync@openssh.com: files are published without being flushed'

mkdir "$T/src"
printf 'hello\n' >"$T/src/a"
head -c 300000 /dev/urandom >"$T/src/b"
tree_listing "$T/src" >"$T/want"

expect_status 0 nofsync init -r "$URL" --machine-key "$COFFER_PASSWORD_FILE"
expect_grep "^coffer: warning: .*$LACK" "$T/err"
expect_status 0 nofsync snapshot -r "$URL" "$T/src"
[ "$(grep -c 'no fsync@openssh.com' "$T/err")" -eq 1 ] ||
	fail "expected one warning: $(cat "$T/err")"

expect_status 0 nofsync check -r "$URL"
expect_grep "^store lacks fsync: $LACK" "$T/out"
expect_grep 'no problems found' "$T/out"
expect_status 0 nofsync check -r "$URL" --json
expect_grep '"store_lacks": ?\["fsync"\]' "$T/out"

# The same server, without the wrapper: nothing lacking, nothing said.
expect_status 0 plain check -r "$URL"
! grep -q 'store lacks' "$T/out" || fail "plain sftp lacks: $(cat "$T/out")"
! grep -q 'fsync@openssh.com' "$T/err" || fail "warned: $(cat "$T/err")"
expect_status 0 plain check -r "$URL" --json
expect_grep '"store_lacks": ?\[\]' "$T/out"

expect_status 0 nofsync restore -r "$URL" latest -t "$T/dst"
tree_listing "$T/dst$T/src" >"$T/got"
expect_same "$T/want" "$T/got"
