#!/bin/sh
# Authentication to an sftp:// repository: a refused key is exit 7 with
# one line naming user@host and what was tried, after ONE authentication
# sequence (sshd's log), never retried; an encrypted ed25519 identity with
# identity_passphrase_file; ecdsa; ssh-agent when no identity is set;
# ~/.ssh/id_ed25519; an RSA key gets the libssh2 explanation; an identity
# group or others can read is refused (exit 2) with the chmod that fixes it.
. "$(dirname "$0")/lib.sh"

need ssh-keygen ssh-agent ssh-add

start_sshd

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
URL="sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$T/remote"
# No agent, and a home without keys, unless a case sets them.
unset SSH_AUTH_SOCK
mkdir -m 700 "$T/home"
HOME=$T/home
export HOME
c() {
	"$COFFER" "$@" -r "$URL" --known-hosts "$SSH_KNOWN_HOSTS"
}
conns() { grep -c 'Connection from' "$SSHD_LOG" || :; }

expect_status 0 c init --identity "$SSH_KEY" --machine-key "$COFFER_PASSWORD_FILE"

# A key the server does not know: exit 7, one line, one connection.
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger" </dev/null
before=$(conns)
expect_status 7 c snapshots --identity "$T/stranger"
expect_grep "^coffer: .*$SSH_USER@\\[127.0.0.1\\]:$SSHD_PORT refused authentication \\(tried: key $T/stranger\\)" "$T/err"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
expect_eq "connections for a refused key" $((before + 1)) "$(conns)"

# Nothing to offer at all.
expect_status 7 c snapshots
expect_grep 'no identity configured, no ssh-agent' "$T/err"

# An encrypted ed25519 key, its passphrase in a file named by the config.
ssh-keygen -q -t ed25519 -N 'sesame open' -f "$T/locked" </dev/null
cat "$T/locked.pub" >>"$SSHD_DIR/authorized_keys"
printf 'sesame open\n' >"$T/locked.pass"
chmod 600 "$T/locked.pass"
cat >"$T/coffer.conf" <<EOF
[repository off]
url = $URL
identity = $T/locked
identity_passphrase_file = $T/locked.pass
known_hosts = $SSH_KNOWN_HOSTS
EOF
chmod 600 "$T/coffer.conf"
expect_status 0 "$COFFER" -c "$T/coffer.conf" snapshots -r off
# config check: a passphrase file others can read is refused.
expect_status 0 "$COFFER" config check -c "$T/coffer.conf"
chmod 644 "$T/locked.pass"
expect_status 2 "$COFFER" config check -c "$T/coffer.conf"
expect_grep 'identity passphrase file' "$T/err"
chmod 600 "$T/locked.pass"
# Without the passphrase it cannot be used: said so, exit 7.
expect_status 7 c snapshots --identity "$T/locked"
expect_grep 'identity_passphrase_file' "$T/err"
printf 'wrong\n' >"$T/locked.pass"
expect_status 7 "$COFFER" -c "$T/coffer.conf" snapshots -r off

# ecdsa.
ssh-keygen -q -t ecdsa -N '' -f "$T/ec" </dev/null
cat "$T/ec.pub" >>"$SSHD_DIR/authorized_keys"
# (libssh2 1.10 leaks in its ECDSA signing: under SANITIZE=1 the slow
# unwinder lets tests/lsan.supp see the libssh2 frames through libcrypto.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0 \
    expect_status 0 c snapshots --identity "$T/ec"

# RSA: libssh2 1.10 cannot sign rsa-sha2-*, which OpenSSH 9 requires.
ssh-keygen -q -t rsa -b 2048 -N '' -f "$T/rsa" </dev/null
cat "$T/rsa.pub" >>"$SSHD_DIR/authorized_keys"
if [ "$(pkg-config --modversion libssh2 2>/dev/null || echo 1.10)" \
    = 1.10.0 ]; then
	expect_status 7 c snapshots --identity "$T/rsa"
	expect_grep 'RSA key: libssh2 .* cannot sign with rsa-sha2-256/512.*ed25519' "$T/err"
fi

# An identity that group or others can read is refused as ssh refuses it,
# before connecting, in one line with the fix (exit 2).
cp "$SSH_KEY" "$T/open_key"
for mode in 644 640 604 620; do
	chmod "$mode" "$T/open_key"
	before=$(conns)
	expect_status 2 c snapshots --identity "$T/open_key"
	expect_grep "^coffer: identity $T/open_key is (readable|writable) by group or others \\(mode 0$mode\\); run: chmod 600 $T/open_key\$" "$T/err"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
	expect_eq "connections with an open identity" "$before" "$(conns)"
done
chmod 600 "$T/open_key"
expect_status 0 c snapshots --identity "$T/open_key"

# The default key in ~/.ssh; not used while others can read it.
mkdir -m 700 "$HOME/.ssh"
cp "$SSH_KEY" "$HOME/.ssh/id_ed25519"
expect_status 0 c snapshots
chmod 644 "$HOME/.ssh/id_ed25519"
expect_status 7 c snapshots
expect_grep "tried: key $HOME/.ssh/id_ed25519 \\(not used: .*chmod 600" "$T/err"
rm "$HOME/.ssh/id_ed25519"

# ssh-agent, with no identity configured.
eval "$(ssh-agent -s -a "$T/agent.sock")" >/dev/null
agent_stop() { kill "$SSH_AGENT_PID" 2>/dev/null || :; }
trap 'rc=$?; set +e; agent_stop; (exit "$rc"); _e2e_exit' EXIT
ssh-add -q "$SSH_KEY" 2>/dev/null
expect_status 0 c snapshots
ssh-add -q -D 2>/dev/null
ssh-add -q "$T/stranger" 2>/dev/null
expect_status 7 c snapshots
expect_grep 'tried: ssh-agent \(1 key\)' "$T/err"
agent_stop
