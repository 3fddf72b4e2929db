# start_sshd gives a real sshd that a libssh2 client can use over SFTP,
# trusting only its host key and accepting only its client key; extra config
# lines take effect; a taken port is retried.
. "$(dirname "$0")/lib.sh"

start_sshd

mkdir "$T/files" "$T/files/sub"
for f in alpha 'b c' zeta .hidden; do
	printf '%s\n' "$f" >"$T/files/$f"
done
printf '%s\n' .hidden alpha 'b c' sub zeta >"$T/want"

ls_sftp() { # KNOWN_HOSTS IDENTITY PATH
	"$TOOLS/sftp-ls" -p "$SSHD_PORT" -u "$SSH_USER" -i "$2" -k "$1" \
	    127.0.0.1 "$3"
}

expect_status 0 ls_sftp "$SSH_KNOWN_HOSTS" "$SSH_KEY" "$T/files"
expect_same "$T/want" "$T/out"
expect_status 0 ls_sftp "$SSH_KNOWN_HOSTS" "$SSH_KEY" "$T/files/sub"
expect_eq "empty dir listing" "" "$(cat "$T/out")"

# The same host name with another key: a changed host key is refused.
ssh-keygen -q -t ed25519 -N '' -f "$T/impostor" </dev/null
printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" \
    "$(cut -d' ' -f1,2 "$T/impostor.pub")" >"$T/wrong_known_hosts"
expect_status 6 ls_sftp "$T/wrong_known_hosts" "$SSH_KEY" "$T/files"
expect_grep 'host key .* not trusted' "$T/err"
expect_eq "stdout when refused" "" "$(cat "$T/out")"

# The right key under another port: this host is unknown.
printf '[127.0.0.1]:%s %s\n' "$((SSHD_PORT % 65535 + 1))" \
    "$(cut -d' ' -f1,2 "$SSH_HOST_KEY_PUB")" >"$T/other_port_known_hosts"
expect_status 6 ls_sftp "$T/other_port_known_hosts" "$SSH_KEY" "$T/files"
expect_grep 'host key .* not trusted' "$T/err"

# A key the server does not know: authentication refused.
ssh-keygen -q -t ed25519 -N '' -f "$T/stranger" </dev/null
expect_status 7 ls_sftp "$SSH_KNOWN_HOSTS" "$T/stranger" "$T/files"
expect_grep 'refused' "$T/err"

expect_status 1 ls_sftp "$SSH_KNOWN_HOSTS" "$SSH_KEY" "$T/no-such-dir"
expect_grep 'no such file' "$T/err"

# A second sshd, first offered the port the first one holds, with an extra
# line that starts SFTP sessions in $T/files/sub: "." lists sub.
first_port=$SSHD_PORT
E2E_TRY_PORTS=$first_port
start_sshd "ForceCommand internal-sftp -d $T/files/sub"
[ "$SSHD_PORT" != "$first_port" ] || fail "second sshd got the taken port"
touch "$T/files/sub/only-here"
expect_status 0 ls_sftp "$SSH_KNOWN_HOSTS" "$SSH_KEY" .
expect_eq "listing under ForceCommand -d" only-here "$(cat "$T/out")"

# Under the runner (E2E_PORTS set), a port handed out stays reserved for
# the run: when freeport (here a stand-in) names it again, as it may once
# the port is free again or before the server binds it, the next port is
# taken instead.
mkdir "$T/ports" "$T/fakefp"
cat >"$T/fakefp/freeport" <<FP
#!/bin/sh
n=\$(cat "$T/fakefp/n" 2>/dev/null || echo 0)
echo \$((n + 1)) >"$T/fakefp/n"
case \$n in 0 | 1 | 2) echo 40001 ;; *) echo 40002 ;; esac
FP
chmod +x "$T/fakefp/freeport"
got=$(TOOLS=$T/fakefp E2E_PORTS=$T/ports sh -c '. "$E2E_LIB"
	echo "$(free_port) $(free_port)"' 2>&1) || fail "free_port: $got"
expect_eq "two reserved ports" "40001 40002" "$got"
expect_eq "the reservations" "40001 40002" "$(ls "$T/ports" | tr '\n' ' ' |
    sed 's/ $//')"
