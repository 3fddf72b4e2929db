#!/bin/sh
# coffer keeps the master key out of core files and away from other
# processes of its own user: from the start it is not dumpable (so its
# /proc/PID/mem and environ become root's, and ptrace is refused) and its
# core file size limit is 0.  The programs it starts are dumpable again
# after their exec and inherit the core limit of 0.  Observed on a coffer
# that waits for its password command, run as an unprivileged user.
. "$(dirname "$0")/lib.sh"

need pgrep setpriv
# AS: the prefix that runs a program as the unprivileged user (a plain
# command, so that a job started with it has the program's pid).
if [ "$(id -u)" -eq 0 ]; then
	u=nobody
	id -u "$u" >/dev/null 2>&1 || skip "no user nobody to run as"
	AS="setpriv --reuid=$u --regid=$(id -g "$u") --clear-groups --"
else
	u=$(id -un)
	AS=
fi

# A fifo the unprivileged user reads the passphrase from (through $T,
# which it may search but not list).
chmod 711 "$T"
mkdir "$T/nb"
chmod 777 "$T/nb"
mkfifo "$T/nb/fifo"
chmod 666 "$T/nb/fifo"
$AS test -r "$T/nb/fifo" || skip "$u cannot reach $T"
$AS test -x "$COFFER" || skip "$u cannot run $COFFER"

# Core dumps allowed as far as the hard limit lets us, so that the limit
# coffer sets shows.
ulimit -c "$(ulimit -H -c)" 2>/dev/null || :

$AS "$COFFER" snapshots -r "$T/nb/repo" --password-command "cat $T/nb/fifo" \
    >"$T/out" 2>"$T/err" &
pid=$!
wait_for 10 "coffer runs its password command" pgrep -P "$pid"
child=$(pgrep -P "$pid" | head -n 1)

# Not dumpable: its /proc files are root's, and its own user cannot read
# its memory's neighbours (environ) any more.
expect_eq "owner of /proc/PID/mem" root "$(stat -c %U "/proc/$pid/mem")"
expect_eq "owner of /proc/PID/environ" root \
    "$(stat -c %U "/proc/$pid/environ")"
if $AS cat "/proc/$pid/environ" >/dev/null 2>&1; then
	fail "$u can read coffer's /proc/$pid/environ"
fi
# No core file, whatever it was started with.
expect_eq "core limit" "0 0" \
    "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$pid/limits")"
# Its password command is dumpable again (its own user's), and inherits
# the core limit.
expect_eq "owner of the child's /proc/PID/mem" "$u" \
    "$(stat -c %U "/proc/$child/mem")"
expect_eq "child's core limit" "0 0" \
    "$(awk '/^Max core file size/ { print $5, $6 }' "/proc/$child/limits")"

# Let it go: the passphrase arrives, and there is no repository there.
printf 'x\n' >"$T/nb/fifo"
rc=0
wait "$pid" || rc=$?
expect_eq "exit status" 10 "$rc"
expect_grep 'no repository at' "$T/err"
