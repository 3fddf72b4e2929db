# tests/e2e/lib.sh: sourced first by every end-to-end test,
#	. "$(dirname "$0")/lib.sh"
# It gives the test a fresh temp dir $T, real servers on 127.0.0.1 and free
# ports (start_sshd, start_pg, start_mariadb), assertions, and a trap that
# stops every server and removes $T however the test ends.  The API is in
# doc/TESTING.md.  POSIX sh (dash) plus `local`.
# shellcheck disable=SC3043 # local: dash, bash, busybox sh all have it

set -eu

if [ -z "${E2E_LIB:-}" ]; then
	E2E_LIB=$(cd "$(dirname "$0")" && pwd)/lib.sh
	if [ ! -f "$E2E_LIB" ]; then
		echo "FAIL: cannot find lib.sh beside $0; set E2E_LIB" >&2
		exit 1
	fi
fi
export E2E_LIB
. "$(dirname "$E2E_LIB")/proc.sh"

# `make e2e` sets both; these defaults let a test run by hand:
#	sh tests/e2e/01-sshd.sh
_e2e_top=$(cd "$(dirname "$E2E_LIB")/../.." && pwd)
: "${TOOLS:=$_e2e_top/build/rel/tests/tools}"
: "${COFFER:=$_e2e_top/build/rel/coffer}"
export TOOLS COFFER

_e2e_parent=${E2E_TMPROOT:-${TMPDIR:-/tmp}}
T=$(mktemp -d "$_e2e_parent/e2e.XXXXXX")
# Physical path: it is what /proc/PID/cwd shows when looking for leftovers.
T=$(cd "$T" && pwd -P)
_e2e_reg=$T/.e2e/servers
_e2e_failed=

# Runs on every exit: normal end, fail, set -e, exit 77, INT, TERM, HUP.
_e2e_exit() {
	local rc=$? try left
	set +e
	trap '' INT TERM HUP
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		[ -n "$_e2e_failed" ] ||
			echo "FAIL: exited with status $rc" \
			    "(a command failed under set -e, or a signal)" >&2
		_e2e_show_server_logs >&2
	fi
	cd /
	_e2e_stop_all
	# Anything else of the test's still running is a bug in the test (it
	# did not wait for it), and must not outlive it either way.
	left=$(e2e_pids_under "$T")
	if [ -n "$left" ]; then
		if [ "$rc" -eq 0 ]; then
			echo "FAIL: the test left processes running:" >&2
			# shellcheck disable=SC2086 # a list of pids
			ps -o pid=,args= -p "$(echo $left | tr ' ' ,)" >&2
			rc=1
		fi
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		# shellcheck disable=SC2086
		e2e_wait_gone 5 $left
	fi
	# A dying server may still be writing: retry briefly.
	for try in 1 2 3 4 5 6 7 8 9 10; do
		rm -rf "$T" 2>/dev/null && break
		sleep 0.2
	done
	if [ -e "$T" ]; then
		echo "FAIL: cannot remove $T" >&2
		[ "$rc" -ne 0 ] || rc=1
	fi
	exit "$rc"
}
trap _e2e_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

case $T in
*[!A-Za-z0-9/._-]*)
	echo "FAIL: temp dir $T has characters the server configs cannot" \
	    "carry; use a plain TMPDIR" >&2
	exit 1
	;;
esac
mkdir "$T/.e2e" "$T/tmp"
: >"$_e2e_reg"
# Whatever the test runs keeps its temp files in $T too.
TMPDIR=$T/tmp
export TMPDIR
# And its caches (coffer's key hints), not the user's.
XDG_CACHE_HOME=$T/cache
export XDG_CACHE_HOME
# Servers run as an unprivileged user when we are root: let it reach its
# own dirs in $T (search only, no listing).
[ "$(id -u)" -ne 0 ] || chmod 0711 "$T"

# ---------------------------------------------------------------- assertions

# fail MSG...: print "FAIL: MSG" on stderr and end the test with status 1.
fail() {
	_e2e_failed=1
	echo "FAIL: $*" >&2
	exit 1
}

# skip MSG...: end the test as skipped (status 77).  Rare and visible: the
# runner prints the reason, and E2E_NO_SKIP=1 counts skips as failures.
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# need CMD...: skip unless every CMD is installed (a name on PATH or a path).
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 ||
			skip "needs $c, which is not installed" \
			    "(sh scripts/deps.sh test installs it)"
	done
}

# Print FILE under a header, at most 60 lines.
_e2e_show() {
	local n
	n=$(wc -l <"$2")
	echo "--- $1 ---"
	head -n 60 "$2"
	[ "$n" -le 60 ] || echo "... ($((n - 60)) more lines)"
}

# expect_status N CMD [ARG...]: run CMD with stdout to $T/out and stderr to
# $T/err; fail, showing both, unless it exits with N.  (A shell function as
# CMD runs without set -e.)
expect_status() {
	local want got=0
	[ $# -ge 2 ] || fail "usage: expect_status N CMD [ARG...]"
	want=$1
	shift
	"$@" >"$T/out" 2>"$T/err" || got=$?
	[ "$got" -ne "$want" ] || return 0
	_e2e_failed=1
	{
		echo "FAIL: expected status $want, got $got: $*"
		_e2e_show stdout "$T/out"
		_e2e_show stderr "$T/err"
	} >&2
	exit 1
}

# expect_eq WHAT WANT GOT: fail unless the two strings are equal.
expect_eq() {
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

# expect_same WANT_FILE GOT_FILE: fail unless the files are byte for byte
# equal; shows the first difference and a text diff.
expect_same() {
	local how
	[ -f "$1" ] || fail "expect_same: no file $1"
	[ -f "$2" ] || fail "expect_same: no file $2"
	how=$(cmp -- "$1" "$2" 2>&1) && return 0
	_e2e_failed=1
	{
		echo "FAIL: $2 differs from $1: $how"
		diff -u -- "$1" "$2" | head -n 40
	} >&2
	exit 1
}

# expect_grep ERE FILE: fail unless a line of FILE matches ERE.
expect_grep() {
	grep -E -q -e "$1" -- "$2" && return 0
	_e2e_failed=1
	{
		echo "FAIL: no line of $2 matches /$1/"
		_e2e_show "$2" "$2"
	} >&2
	exit 1
}

# wait_for SECONDS WHAT CMD [ARG...]: poll CMD every 0.1 s until it
# succeeds; fail after SECONDS.  Use it instead of a bare sleep.
wait_for() {
	local secs="$1" what="$2" ticks=$(($1 * 10))
	shift 2
	while [ "$ticks" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
		ticks=$((ticks - 1))
	done
	fail "$what: still not after $secs s"
}

# ---------------------------------------------------------------- servers
#
# Each server gets $T/KIND (then KIND2, KIND3...), holding its config, data,
# sockets and server.log, and is listed in $_e2e_reg as "KIND PID USER DIR"
# for the exit trap, which stops them in reverse order.

_e2e_newdir() {
	local n=1 d="$T/$1"
	while [ -e "$d" ]; do
		n=$((n + 1))
		d=$T/$1$n
	done
	mkdir "$d"
	echo "$d"
}

_e2e_register() {
	echo "$1 $2 $3 $4" >>"$_e2e_reg"
}

_e2e_unregister() { # PID DIR
	awk -v p="$1" -v d="$2" '!($2 == p && $4 == d)' "$_e2e_reg" \
	    >"$_e2e_reg.new"
	mv "$_e2e_reg.new" "$_e2e_reg"
}

# The user servers run as: ourselves, or when root an unprivileged one.
_e2e_server_user() {
	if [ "$(id -u)" -ne 0 ]; then
		id -un
	elif [ -n "${1:-}" ] && id -u "$1" >/dev/null 2>&1; then
		echo "$1"
	else
		echo nobody
	fi
}

# _e2e_as USER CMD...: run CMD as USER (no PAM, no shell, no groups).
_e2e_as() {
	local u="$1"
	shift
	if [ "$u" = "$(id -un)" ]; then
		"$@"
	else
		setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups -- "$@"
	fi
}

# Hand DIR to USER, and make sure USER can reach it through every parent.
_e2e_give() { # USER DIR
	[ "$1" = "$(id -un)" ] && return 0
	chown "$1:$(id -g "$1")" "$2"
	_e2e_as "$1" test -x "$2" ||
		fail "user $1 cannot reach $2: make its parent directories" \
		    "searchable (chmod o+x), or set TMPDIR elsewhere"
}

# Unix sockets have a 107-byte path limit.
_e2e_socket_fits() {
	[ "${#1}" -le 100 ] ||
		fail "socket path $1 is too long for a unix socket; use a" \
		    "shorter TMPDIR"
}

# Sets _e2e_port: the next of E2E_TRY_PORTS (a test hook to provoke a
# collision), else a port freeport says is free.  Under the runner, the
# port is also reserved for the rest of the run (mkdir E2E_PORTS/PORT, which
# only one test can do): freeport's port is free only until the server binds
# it, and a test running beside this one could be handed the same port in
# between, or this one's again after its server stopped.  A port taken by
# a program that is not a test is still possible: the start_ functions
# retry on another.
_e2e_pick_port() {
	local try=0
	if [ -n "${E2E_TRY_PORTS:-}" ]; then
		# shellcheck disable=SC2086 # split the list
		set -- $E2E_TRY_PORTS
		_e2e_port=$1
		shift
		E2E_TRY_PORTS=$*
		return 0
	fi
	[ -x "$TOOLS/freeport" ] ||
		fail "no $TOOLS/freeport: run 'make tools' (make e2e does)"
	while :; do
		_e2e_port=$("$TOOLS/freeport") || fail "freeport failed"
		[ -n "${E2E_PORTS:-}" ] || return 0
		mkdir "$E2E_PORTS/$_e2e_port" 2>/dev/null && return 0
		[ -d "$E2E_PORTS" ] ||
			fail "E2E_PORTS=$E2E_PORTS is not a directory"
		try=$((try + 1))
		[ "$try" -lt 100 ] ||
			fail "freeport gave 100 ports other tests hold"
	done
}

# free_port: print a free loopback port, reserved like the servers' (for a
# listener of the test's own, such as tcpproxy).  Use it, not freeport.
free_port() {
	_e2e_pick_port
	echo "$_e2e_port"
}

# start_proxy PORT TARGET_PORT [OPTS...]: tcpproxy (tests/tools) from
# loopback PORT to TARGET_PORT with fault OPTS (-c N, -s N, -r, -f N,
# -k K); its log goes to $T/proxy.log, its pid to PROXY_PID; returns once
# it listens.  stop_proxy ends it.
start_proxy() {
	local port=$1 target=$2
	shift 2
	rm -f "$T/proxy.ready"
	"$TOOLS/tcpproxy" -R "$T/proxy.ready" "$@" "$port" "$target" \
	    2>>"$T/proxy.log" &
	PROXY_PID=$!
	wait_for 10 "tcpproxy to listen" test -s "$T/proxy.ready"
}
stop_proxy() {
	kill "$PROXY_PID"
	wait "$PROXY_PID" || :
	PROXY_PID=
}

# _e2e_await WHAT PID LOG SECONDS CMD...: wait until CMD succeeds.  Returns
# 1 when the server died because its port was taken (the caller retries on
# another), fails the test when it died otherwise or took too long.
_e2e_await() {
	local what="$1" pid="$2" log="$3" ticks=$(($4 * 10))
	shift 4
	while [ "$ticks" -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		if ! e2e_alive "$pid"; then
			wait "$pid" 2>/dev/null || :
			grep -q 'Address already in use' "$log" 2>/dev/null &&
				return 1
			_e2e_failed=1
			{
				echo "FAIL: $what exited while starting"
				_e2e_show "$log" "$log"
			} >&2
			exit 1
		fi
		sleep 0.1
		ticks=$((ticks - 1))
	done
	_e2e_failed=1
	{
		echo "FAIL: $what not ready after $(($4)) s"
		_e2e_show "$log" "$log"
	} >&2
	exit 1
}

_e2e_port_taken() { # WHAT PORT TRY
	echo "note: $1: port $2 was taken, trying another" >&2
	[ "$3" -lt 5 ] || fail "$1: no free port after 5 tries"
}

# start_sshd [EXTRA_CONFIG]: a private OpenSSH sshd on 127.0.0.1, logging in
# the current user with a fresh ed25519 key; sftp is internal-sftp.
# EXTRA_CONFIG (lines, e.g. ForceCommand or a Match block) is appended to
# sshd_config.  Exports SSHD_PORT SSHD_PID SSHD_DIR SSHD_LOG SSH_USER
# SSH_KEY SSH_KNOWN_HOSTS SSH_HOST_KEY_PUB.
start_sshd() {
	local extra="${1:-}" d pid try=0
	need ssh-keygen
	[ -x /usr/sbin/sshd ] || skip "needs /usr/sbin/sshd (openssh-server)"
	if [ "$(id -u)" -eq 0 ] && [ ! -d /run/sshd ]; then
		mkdir -m 0755 /run/sshd
	fi
	d=$(_e2e_newdir sshd)
	ssh-keygen -q -t ed25519 -N '' -C coffer-e2e-host \
	    -f "$d/host_ed25519" </dev/null
	ssh-keygen -q -t ed25519 -N '' -C coffer-e2e-client \
	    -f "$d/id_ed25519" </dev/null
	cp "$d/id_ed25519.pub" "$d/authorized_keys"
	while :; do
		try=$((try + 1))
		_e2e_pick_port
		cat >"$d/sshd_config" <<EOF
ListenAddress 127.0.0.1:$_e2e_port
HostKey $d/host_ed25519
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
UsePAM no
StrictModes no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
LogLevel VERBOSE
# Parallel transfers must not hit the unauthenticated-connection limit.
MaxStartups 100
MaxSessions 100
Subsystem sftp internal-sftp
$extra
EOF
		# The absolute path lets sshd re-execute itself per connection.
		(cd "$d" && exec /usr/sbin/sshd -D -e -f "$d/sshd_config") \
		    >"$d/server.log" 2>&1 </dev/null &
		pid=$!
		_e2e_register sshd "$pid" "$(id -un)" "$d"
		_e2e_await sshd "$pid" "$d/server.log" 10 grep -q \
		    "Server listening on 127.0.0.1 port $_e2e_port\\." \
		    "$d/server.log" && break
		_e2e_unregister "$pid" "$d"
		_e2e_port_taken sshd "$_e2e_port" "$try"
	done
	printf '[127.0.0.1]:%s %s\n' "$_e2e_port" \
	    "$(cut -d' ' -f1,2 "$d/host_ed25519.pub")" >"$d/known_hosts"
	SSHD_PORT=$_e2e_port
	SSHD_PID=$pid
	SSHD_DIR=$d
	SSHD_LOG=$d/server.log
	SSH_USER=$(id -un)
	SSH_KEY=$d/id_ed25519
	SSH_KNOWN_HOSTS=$d/known_hosts
	SSH_HOST_KEY_PUB=$d/host_ed25519.pub
	export SSHD_PORT SSHD_PID SSHD_DIR SSHD_LOG SSH_USER SSH_KEY \
	    SSH_KNOWN_HOSTS SSH_HOST_KEY_PUB
}

# The newest installed PostgreSQL, unless PG_BIN says otherwise.
_e2e_pg_bin() {
	local b
	if [ -n "${PG_BIN:-}" ]; then
		echo "$PG_BIN"
		return 0
	fi
	# shellcheck disable=SC2012 # version dirs are plain numbers
	b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n |
	    tail -n 1)
	[ -n "$b" ] || b=$(dirname "$(command -v initdb 2>/dev/null || echo .)")
	echo "$b"
}

# start_pg: a private PostgreSQL cluster (initdb + pg_ctl) in $T, as nobody
# when root, on 127.0.0.1 and a free port plus a unix socket in $T; trust
# authentication; superuser "postgres".  Exports PGHOST PGPORT PGUSER
# PGDATA_DIR PG_BIN PG_PID PG_SOCKET_DIR PG_LOG, and puts PG_BIN first on
# PATH so that psql, pg_dump... are that version's.
start_pg() {
	local d u pid try=0
	PG_BIN=$(_e2e_pg_bin)
	[ -x "$PG_BIN/initdb" ] || skip "needs PostgreSQL's initdb (postgresql)"
	u=$(_e2e_server_user nobody)
	d=$(_e2e_newdir pg)
	mkdir "$d/sock"
	_e2e_socket_fits "$d/sock/.s.PGSQL.65535"
	_e2e_give "$u" "$d"
	_e2e_give "$u" "$d/sock"
	(cd "$d" && _e2e_as "$u" "$PG_BIN/initdb" -D "$d/data" -U postgres \
	    --auth=trust -E UTF8 --locale=C --no-sync --no-instructions) \
	    >"$d/initdb.log" 2>&1 || {
		_e2e_failed=1
		{
			echo "FAIL: initdb failed"
			_e2e_show initdb.log "$d/initdb.log"
		} >&2
		exit 1
	}
	# fsync off: only an OS crash could lose data, and tests need speed.
	cat >>"$d/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$d/sock'
fsync = off
EOF
	_e2e_register pg - "$u" "$d"
	while :; do
		try=$((try + 1))
		_e2e_pick_port
		: >"$d/server.log"
		chown "$u" "$d/server.log"
		if (cd "$d" && _e2e_as "$u" "$PG_BIN/pg_ctl" -D "$d/data" \
		    -l "$d/server.log" -o "-p $_e2e_port" -w -t 30 start) \
		    >"$d/pg_ctl.log" 2>&1; then
			break
		fi
		if ! grep -q 'Address already in use' "$d/server.log"; then
			_e2e_failed=1
			{
				echo "FAIL: pg_ctl start failed"
				_e2e_show pg_ctl.log "$d/pg_ctl.log"
				_e2e_show server.log "$d/server.log"
			} >&2
			exit 1
		fi
		_e2e_port_taken postgres "$_e2e_port" "$try"
	done
	pid=$(head -n 1 "$d/data/postmaster.pid")
	_e2e_await postgres "$pid" "$d/server.log" 30 \
	    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$_e2e_port" ||
		fail "postgres died after start"
	PGHOST=127.0.0.1
	PGPORT=$_e2e_port
	PGUSER=postgres
	PGDATA_DIR=$d/data
	PG_PID=$pid
	PG_SOCKET_DIR=$d/sock
	PG_LOG=$d/server.log
	PATH=$PG_BIN:$PATH
	export PGHOST PGPORT PGUSER PGDATA_DIR PG_BIN PG_PID PG_SOCKET_DIR \
	    PG_LOG PATH
}

# start_mariadb: a private MariaDB (mariadb-install-db + mariadbd
# --no-defaults) in $T, as mysql when root, on 127.0.0.1 and a free port plus
# a socket in $T; root@localhost and root@127.0.0.1 with no password.
# Writes the client defaults $T/my.cnf (mode 0600) for `mariadb
# --defaults-file=$MYSQL_CNF` (or --defaults-extra-file).  Exports
# MYSQL_HOST MYSQL_PORT MYSQL_SOCKET MYSQL_CNF MYSQL_PID MYSQL_DATADIR
# MYSQL_LOG.
start_mariadb() {
	local d u pid try=0
	[ -x /usr/sbin/mariadbd ] || skip "needs /usr/sbin/mariadbd"
	need mariadb-install-db mariadb
	u=$(_e2e_server_user mysql)
	d=$(_e2e_newdir mariadb)
	mkdir "$d/tmp"
	_e2e_socket_fits "$d/sock"
	_e2e_give "$u" "$d"
	_e2e_give "$u" "$d/tmp"
	set -- --no-defaults --datadir="$d/data" --tmpdir="$d/tmp" \
	    --skip-name-resolve \
	    --innodb-buffer-pool-size=32M --innodb-log-file-size=8M
	[ "$u" = "$(id -un)" ] || set -- "$@" --user="$u"
	(cd "$d" && mariadb-install-db "$@" --skip-test-db \
	    --auth-root-authentication-method=normal) >"$d/install.log" 2>&1 ||
	{
		_e2e_failed=1
		{
			echo "FAIL: mariadb-install-db failed"
			_e2e_show install.log "$d/install.log"
		} >&2
		exit 1
	}
	while :; do
		try=$((try + 1))
		_e2e_pick_port
		rm -f "$d/server.log"
		(cd "$d" && exec /usr/sbin/mariadbd "$@" \
		    --bind-address=127.0.0.1 --port="$_e2e_port" \
		    --socket="$d/sock" --pid-file="$d/mariadbd.pid" \
		    --log-error="$d/server.log" \
		    --character-set-server=utf8mb4 \
		    --collation-server=utf8mb4_general_ci \
		    --innodb-buffer-pool-load-at-startup=0 \
		    --innodb-buffer-pool-dump-at-shutdown=0) \
		    >"$d/stdout.log" 2>&1 </dev/null &
		pid=$!
		_e2e_register mariadb "$pid" "$u" "$d"
		cat >"$d/my.cnf" <<EOF
[client]
user = root
host = 127.0.0.1
port = $_e2e_port
socket = $d/sock
default-character-set = utf8mb4
EOF
		chmod 0600 "$d/my.cnf"
		_e2e_await mariadbd "$pid" "$d/server.log" 30 \
		    mariadb --defaults-file="$d/my.cnf" -e 'SELECT 1' && break
		_e2e_unregister "$pid" "$d"
		_e2e_port_taken mariadbd "$_e2e_port" "$try"
	done
	cp -p "$d/my.cnf" "$T/my.cnf"
	MYSQL_HOST=127.0.0.1
	MYSQL_PORT=$_e2e_port
	MYSQL_SOCKET=$d/sock
	MYSQL_CNF=$T/my.cnf
	MYSQL_PID=$pid
	MYSQL_DATADIR=$d/data
	MYSQL_LOG=$d/server.log
	export MYSQL_HOST MYSQL_PORT MYSQL_SOCKET MYSQL_CNF MYSQL_PID \
	    MYSQL_DATADIR MYSQL_LOG
}

# ---------------------------------------------------------------- stopping

# The pids of PID's descendants.
_e2e_descendants() {
	local c
	for c in $(pgrep -P "$1" 2>/dev/null || :); do
		echo "$c"
		_e2e_descendants "$c"
	done
}

_e2e_stop() { # KIND PID USER DIR
	local kind="$1" pid="$2" u="$3" d="$4" kids='' left
	if [ "$kind" = pg ]; then
		pid=$(head -n 1 "$d/data/postmaster.pid" 2>/dev/null || :)
		[ -n "$pid" ] || pid=-
	fi
	if [ "$pid" != - ] && e2e_alive "$pid"; then
		# sshd's per-connection children outlive its listener.
		[ "$kind" != sshd ] || kids=$(_e2e_descendants "$pid")
		case $kind in
		pg)
			_e2e_as "$u" "$PG_BIN/pg_ctl" -D "$d/data" -m fast -w \
			    -t 20 stop >>"$d/pg_ctl.log" 2>&1 || :
			;;
		*)
			kill -TERM "$pid" 2>/dev/null || :
			;;
		esac
		if ! e2e_wait_gone 20 "$pid"; then
			echo "note: $kind $pid ignored SIGTERM; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || :
			e2e_wait_gone 5 "$pid" || :
		fi
		wait "$pid" 2>/dev/null || :
	fi
	if [ -n "$kids" ]; then
		# shellcheck disable=SC2086 # lists of pids
		kill -TERM $kids 2>/dev/null || :
		# shellcheck disable=SC2086
		e2e_wait_gone 5 $kids || kill -KILL $kids 2>/dev/null || :
	fi
	# Whatever still works in or names the server's dir (the children of a
	# postmaster killed with -9, say) goes too.
	left=$(e2e_pids_under "$d")
	# shellcheck disable=SC2086
	[ -z "$left" ] || kill -KILL $left 2>/dev/null || :
	# shellcheck disable=SC2086
	[ -z "$left" ] || e2e_wait_gone 5 $left || :
}

_e2e_stop_all() {
	[ -s "$_e2e_reg" ] || return 0
	# Newest first; no pipeline, so that `wait` can reap our children.
	# shellcheck disable=SC2046
	set -- $(tac "$_e2e_reg")
	while [ $# -ge 4 ]; do
		_e2e_stop "$1" "$2" "$3" "$4"
		shift 4
	done
	: >"$_e2e_reg"
}

_e2e_show_server_logs() {
	local kind pid u d
	[ -s "$_e2e_reg" ] || return 0
	while read -r kind pid u d; do
		[ -f "$d/server.log" ] || continue
		echo "--- $kind ($d) server.log, last 25 lines ---"
		tail -n 25 "$d/server.log"
	done <"$_e2e_reg"
}

# tree_listing ROOT: one line per entry below ROOT, in byte order of path:
# path|raw mode|uid:gid|size|mtime ns|target|links|xattrs|acl|content
# (size for files and symlinks; links: the count and the first path with
# the same inode; content: contenthash, plus "holes" for large sparse files).
tree_listing() {
	(
		cd "$1" || exit 1
		find . -mindepth 1 -print | LC_ALL=C sort | while IFS= read -r p; do
			tl_entry "$p"
		done
	)
}

tl_entry() {
	local p="$1" mode ids size mtime target="-" links="-" xa acl content="-"
	mode=$(stat -c '%f' -- "$p")
	ids=$(stat -c '%u:%g' -- "$p")
	mtime=$(stat -c '%.9Y' -- "$p")
	size=-
	if [ -L "$p" ]; then
		target=$(readlink -- "$p")
		size=$(stat -c '%s' -- "$p")
	elif [ -c "$p" ] || [ -b "$p" ]; then
		size="dev $(stat -c '%t:%T' -- "$p")"
	elif [ -f "$p" ]; then
		size=$(stat -c '%s' -- "$p")
		content=$("$TOOLS/contenthash" "$p" | cut -d' ' -f1)
		if [ "$size" -ge 1048576 ] &&
		    [ $(($(stat -c '%b*%B' -- "$p"))) -lt $((size / 2)) ]; then
			content="$content holes"
		fi
		links=$(stat -c '%h' -- "$p")
		[ "$links" -eq 1 ] ||
			links="$links $(find . -samefile "$p" | LC_ALL=C sort |
			    head -n 1)"
	fi
	xa=$(getfattr -h -d -m - -e hex --absolute-names -- "$p" 2>/dev/null |
		grep -v '^# file:' | grep -v '^$' | tr '\n' ';')
	acl=-
	[ -L "$p" ] ||
		acl=$(getfacl -P -n -c -p -- "$p" 2>/dev/null | grep -v '^$' |
			tr '\n' ',')
	printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$p" "$mode" "$ids" "$size" \
	    "$mtime" "$target" "$links" "$xa" "$acl" "$content"
}
