#!/bin/sh
# known_hosts read as OpenSSH reads it (issue 9, finding 5), against a real
# sshd: wildcard lines name the hosts they match, so a host known only
# through one is not "new" and --accept-new-host-key pins nothing for it;
# a key marked @revoked is refused whatever host its line names ("*"
# included); a plain "host" line is port 22 only; a host with only a
# @cert-authority line, or only keys of other types, is refused with the
# reason, even with --accept-new-host-key.  Each refusal leaves
# known_hosts as it was.
. "$(dirname "$0")/lib.sh"

need ssh-keygen

start_sshd

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
URL="sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$T/remote"
c() { # KNOWN_HOSTS ARGS...
	local kh="$1"
	shift
	"$COFFER" "$@" -r "$URL" --identity "$SSH_KEY" --known-hosts "$kh"
}
key=$(cut -d' ' -f1,2 "$SSH_HOST_KEY_PUB") # the server's: "ssh-ed25519 AAAA..."
ssh-keygen -q -t ed25519 -N '' -f "$T/impostor" </dev/null
other=$(cut -d' ' -f1,2 "$T/impostor.pub")
fp=$(ssh-keygen -lf "$SSH_HOST_KEY_PUB" | cut -d' ' -f2)
fp_re=$(printf '%s' "$fp" | sed 's/[+]/\\+/g')

expect_status 0 c "$SSH_KNOWN_HOSTS" init --machine-key "$COFFER_PASSWORD_FILE"

# refused KNOWN_HOSTS ERE: exit 6 even with --accept-new-host-key, one
# line matching ERE, and known_hosts untouched.
refused() {
	cp "$1" "$T/before"
	expect_status 6 c "$1" snapshots --accept-new-host-key
	expect_grep "$2" "$T/err"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
	expect_same "$T/before" "$1"
}

# Wildcards: the right key through a pattern is trusted ...
printf '[127.0.0.?]:* %s\n' "$key" >"$T/wild"
expect_status 0 c "$T/wild" snapshots
printf 'nothing.test,*,!nothing.test %s\n' "$key" >"$T/star"
expect_status 0 c "$T/star" snapshots
# ... and another key through one is a changed key, not a new host.
printf '[127.0.0.?]:* %s\n' "$other" >"$T/wild-other"
refused "$T/wild-other" "HOST KEY CHANGED for \\[127.0.0.1\\]:$SSHD_PORT: its ED25519 key $fp_re differs from the one in $T/wild-other \\(line 1;"
printf '* %s\n' "$other" >"$T/star-other"
refused "$T/star-other" 'HOST KEY CHANGED'
# A negated pattern takes the line away: then the host is new.
printf '![127.0.0.1]:*,[127.0.0.?]:* %s\n' "$other" >"$T/negated"
expect_status 0 c "$T/negated" snapshots --accept-new-host-key
expect_grep "recorded the ED25519 host key $fp_re" "$T/err"
[ "$(wc -l <"$T/negated")" -eq 2 ] || fail "not recorded: $(cat "$T/negated")"

# @revoked with a wildcard, or another host's name: refused all the same.
{
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$key"
	printf '@revoked * %s\n' "$key"
} >"$T/revoked-star"
refused "$T/revoked-star" "REVOKED: its ED25519 key $fp_re is marked @revoked in $T/revoked-star \\(line 2\\)"
{
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$key"
	printf '@revoked elsewhere.example %s\n' "$key"
} >"$T/revoked-other"
refused "$T/revoked-other" 'REVOKED'

# A plain "127.0.0.1" line is for port 22: on another port it vouches for
# nothing (OpenSSH writes [127.0.0.1]:PORT), and another key there is no
# change.
printf '127.0.0.1 %s\n' "$key" >"$T/noport"
cp "$T/noport" "$T/noport.before"
expect_status 6 c "$T/noport" snapshots
expect_grep "host key for \\[127.0.0.1\\]:$SSHD_PORT is not known" "$T/err"
expect_same "$T/noport.before" "$T/noport"
printf '127.0.0.1 %s\n' "$other" >"$T/noport-other"
expect_status 6 c "$T/noport-other" snapshots
expect_grep 'is not known' "$T/err"

# Only a @cert-authority line for the host: coffer cannot check host
# certificates, so it refuses rather than taking the host for new.
printf '@cert-authority [127.0.0.1]:* %s\n' "$other" >"$T/ca"
refused "$T/ca" "only by a @cert-authority line \\(line 1\\), and coffer cannot check host certificates"
# Only keys of a type coffer cannot use (a security-key ed25519).
printf '[127.0.0.1]:%s sk-ssh-ed25519@openssh.com %s\n' "$SSHD_PORT" \
    AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIIOjTc2gkghfQ9xJJbiCa7h9wbFG6AsC1CfrrSTE53eHAAAABHNzaDo= \
    >"$T/sk"
refused "$T/sk" 'holds other keys for it \(line 1: sk-ssh-ed25519@openssh.com\)'

# A CA line beside the host's own key does not stand in the way.
cat "$T/ca" "$SSH_KNOWN_HOSTS" >"$T/ca-and-key"
expect_status 0 c "$T/ca-and-key" snapshots
