#!/bin/sh
# Host keys of an sftp:// repository: an unknown key is refused (exit 6)
# with its type and the SHA256 fingerprint ssh-keygen -lf shows;
# --accept-new-host-key records it (known_hosts made 0600) and later runs
# trust it; a changed key is refused even with --accept-new-host-key and
# known_hosts is left alone; hashed entries work; a server that also has
# an ecdsa key is asked for the type known_hosts holds.
. "$(dirname "$0")/lib.sh"

need ssh-keygen

# The server also holds an ecdsa key, which libssh2 1.10 would prefer.
mkdir "$T/hk"
ssh-keygen -q -t ecdsa -N '' -f "$T/hk/host_ecdsa" </dev/null
start_sshd "HostKey $T/hk/host_ecdsa"

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
URL="sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$T/remote"
c() { # KNOWN_HOSTS ARGS...
	local kh="$1"
	shift
	"$COFFER" "$@" -r "$URL" --identity "$SSH_KEY" --known-hosts "$kh"
}
fp=$(ssh-keygen -lf "$SSH_HOST_KEY_PUB" | cut -d' ' -f2)
case $fp in SHA256:*) ;; *) fail "ssh-keygen -lf gave '$fp'" ;; esac
fp_re=$(printf '%s' "$fp" | sed 's/[+]/\\+/g') # base64 has '+'

# Unknown: no file at all, then a file without this host.
expect_status 6 c "$T/none/known_hosts" init --machine-key "$COFFER_PASSWORD_FILE"
expect_grep "ED25519 key $fp_re is not in $T/none/known_hosts" "$T/err"
expect_grep 'accept-new-host-key' "$T/err"
expect_grep "ssh-keyscan -p $SSHD_PORT -t ssh-ed25519 127.0.0.1" "$T/err"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
[ ! -e "$T/none" ] || fail "known_hosts was written without being asked"
[ ! -e "$T/remote" ] || fail "init went on with an unknown host key"
printf 'otherhost %s\n' "$(cut -d' ' -f1,2 "$SSH_HOST_KEY_PUB")" >"$T/kh"
cp "$T/kh" "$T/kh.before"
expect_status 6 c "$T/kh" init --machine-key "$COFFER_PASSWORD_FILE"
expect_grep "$fp_re" "$T/err"
expect_same "$T/kh.before" "$T/kh"

# Accepted: recorded (the file and its directory made), then trusted.
expect_status 0 c "$T/new/known_hosts" init --machine-key \
    "$COFFER_PASSWORD_FILE" --accept-new-host-key
expect_grep "recorded the ED25519 host key $fp_re" "$T/err"
expect_eq "known_hosts mode" 600 "$(stat -c %a "$T/new/known_hosts")"
expect_grep "^\\[127.0.0.1\\]:$SSHD_PORT ssh-ed25519 " "$T/new/known_hosts"
ssh-keygen -lf "$T/new/known_hosts" >"$T/kh.fp"
expect_grep "$fp_re" "$T/kh.fp"
expect_status 0 c "$T/new/known_hosts" snapshots
expect_status 0 c "$T/kh" snapshots --accept-new-host-key
[ "$(wc -l <"$T/kh")" -eq 2 ] || fail "not appended: $(cat "$T/kh")"

# Hashed names work.
cp "$T/new/known_hosts" "$T/hashed"
ssh-keygen -q -H -f "$T/hashed" >/dev/null 2>&1
grep -q '^|1|' "$T/hashed" || fail "ssh-keygen -H did not hash"
expect_status 0 c "$T/hashed" snapshots

# Only the ecdsa key known: that is what is asked for, and it matches.
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
    "$(cut -d' ' -f1,2 "$T/hk/host_ecdsa.pub")" >"$T/ecdsa_kh"
expect_status 0 c "$T/ecdsa_kh" snapshots

# A key marked @revoked is refused, even beside a line that trusts it; and
# lines libssh2 cannot read (@cert-authority) do not stop the rest.
{
	printf '@cert-authority *.example.org %s\n' \
	    "$(cut -d' ' -f1,2 "$SSH_HOST_KEY_PUB")"
	cat "$T/new/known_hosts"
	printf '@revoked [127.0.0.1]:%s %s\n' "$SSHD_PORT" \
	    "$(cut -d' ' -f1,2 "$SSH_HOST_KEY_PUB")"
} >"$T/revoked"
expect_status 6 c "$T/revoked" snapshots
expect_grep "REVOKED: its ED25519 key $fp_re" "$T/err"
grep -v '^@revoked' "$T/revoked" >"$T/ca"
expect_status 0 c "$T/ca" snapshots

# Changed: refused, even when asked to accept new keys; file untouched.
ssh-keygen -q -t ed25519 -N '' -f "$T/impostor" </dev/null
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
    "$(cut -d' ' -f1,2 "$T/impostor.pub")" >"$T/changed"
cp "$T/changed" "$T/changed.before"
expect_status 6 c "$T/changed" snapshots
expect_grep "HOST KEY CHANGED for \\[127.0.0.1\\]:$SSHD_PORT: its ED25519 key $fp_re" "$T/err"
expect_status 6 c "$T/changed" snapshots --accept-new-host-key
expect_grep 'HOST KEY CHANGED' "$T/err"
expect_same "$T/changed.before" "$T/changed"
# Not retried: one connection for the refused run.
before=$(grep -c 'Connection from' "$SSHD_LOG")
expect_status 6 c "$T/changed" snapshots
expect_eq "connections for a refused host key" $((before + 1)) \
    "$(grep -c 'Connection from' "$SSHD_LOG")"
