# lib.sh cleans up whatever way a test ends: a test that starts sshd and
# postgres and then fails, or stops at a failing command under set -e, or is
# stopped by SIGTERM (as the runner's timeout does), leaves no server process
# and no temp dir; a test that would leave a process of its own fails.
. "$(dirname "$0")/lib.sh"

mkdir "$T/kids"

# A child test that records what it started, then ends as told.
cat >"$T/child.sh" <<'EOF'
. "$E2E_LIB"
for s in $SERVERS; do
	"start_$s"
done
echo "$T" >"$REPORT/t"
echo "${SSHD_PID:-} ${PG_PID:-} $(e2e_pids_under "$T" | tr '\n' ' ')" \
    >"$REPORT/pids"
case $HOW in
fail) fail "on purpose, with sshd and postgres running" ;;
errexit) false ;;
term) touch "$REPORT/ready"; sleep 60 ;;
leak) (cd "$T" && exec sleep 60) & echo "$!" >>"$REPORT/pids" ;;
kill9) kill -KILL "$PG_PID" ;;
esac
EOF

# The child's servers and temp dir must all be gone.
check_gone() { # HOW
	t=$(cat "$T/$1/t")
	pids=$(cat "$T/$1/pids")
	if [ -z "$t" ]; then
		fail "$1: the child reported nothing"
	fi
	for p in $pids; do
		! e2e_alive "$p" || fail "$1: process $p still runs:" \
		    "$(ps -o args= -p "$p")"
	done
	[ -z "$(e2e_pids_under "$t")" ] ||
		fail "$1: processes left in $t: $(e2e_pids_under "$t")"
	[ ! -e "$t" ] || fail "$1: the temp dir $t is still there"
	[ -z "$(ls -A "$T/kids")" ] || fail "$1: left in kids: $(ls -A "$T/kids")"
}

run_child() { # HOW SERVERS
	mkdir "$T/$1"
	env HOW="$1" SERVERS="$2" REPORT="$T/$1" E2E_TMPROOT="$T/kids" \
	    sh "$T/child.sh"
}

# Each server leaves at least its main process in the report.
expect_status 1 run_child fail "sshd pg"
expect_grep '^FAIL: on purpose' "$T/err"
# The servers' logs are shown when a test fails.
expect_grep '^--- sshd .* server.log' "$T/err"
expect_grep '^--- pg .* server.log' "$T/err"
# shellcheck disable=SC2046 # a list of pids
set -- $(cat "$T/fail/pids")
[ $# -ge 3 ] || fail "the child saw fewer than 3 server processes: $*"
check_gone fail

expect_status 1 run_child errexit sshd
expect_grep '^FAIL: exited with status 1' "$T/err"
check_gone errexit

# SIGTERM to the runner's timeout, which passes it on to the child's
# process group, as when a test runs out of time.  (The timeout itself must
# not expire first: it exits 124 then.  Starting and stopping sshd and
# PostgreSQL took over 60 s on a loaded 2-core machine.)
mkdir "$T/term"
env HOW=term SERVERS="sshd pg" REPORT="$T/term" E2E_TMPROOT="$T/kids" \
    timeout 600 sh "$T/child.sh" >"$T/out" 2>"$T/err" &
kid=$!
wait_for 30 "the child started its servers" test -e "$T/term/ready"
kill -TERM "$kid"
rc=0
wait "$kid" || rc=$?
expect_eq "status after SIGTERM" 143 "$rc"
check_gone term

# A test that passes but leaves a process of its own behind fails.
expect_status 1 run_child leak ""
expect_grep '^FAIL: the test left processes running' "$T/err"
expect_grep 'sleep 60$' "$T/err"
check_gone leak

# A server killed on purpose (a fault test) is still cleaned up after: the
# postmaster's children go too.
expect_status 0 run_child kill9 pg
check_gone kill9
