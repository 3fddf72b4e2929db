#!/bin/sh
# coffer drill run (issue 13) against a real PostgreSQL and a files source:
# a directory drill, a scratch-cluster drill (sql_checks, amcheck), a
# standing-server drill and an SQLite drill pass with RTO and RPO printed
# and in --json;
# each of these fails the drill (exit 14), fires on_failure with the
# failed stage and its reason, and leaves no cluster, process, database or
# temp dir: a damaged pack in a copy of the repository, a failing SQL
# check, a failing checks command, max_rto = 1s with a slow check,
# max_rpo exceeded, a timeout, SIGTERM (exit 130), and a
# production-looking postgres: target (refused before anything is
# written).
# e2e: long
. "$(dirname "$0")/lib.sh"

need psql python3 od sqlite3
start_pg
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1

psql -X -q -d postgres -c 'CREATE DATABASE gas' >/dev/null
psql -X -q -d gas >/dev/null <<'EOF'
CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric);
CREATE INDEX accounts_owner ON accounts (owner);
INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.5
FROM generate_series(1, 100) g;
EOF
mkdir -p src/etc/app
head -c 300000 /dev/urandom >src/etc/app/big
echo 'key = value' >src/etc/app/app.conf
chmod 0640 src/etc/app/app.conf
ln -s app.conf src/etc/app/current
sqlite3 state.db 'CREATE TABLE t (v); INSERT INTO t VALUES (1), (2), (3)'

expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"

# The hook writes what it saw, one file per drill.
cat >hook <<'EOF'
#!/bin/sh
env | grep '^COFFER_' | sort >"$HOOKDIR/$COFFER_DRILL.env"
EOF
chmod 755 hook
mkdir hooks
export HOOKDIR=$T/hooks

# drill NAME KEY=VALUE...: a [drill NAME] section on the config.
drill() {
	local n=$1
	shift
	printf '\n[drill %s]\non_failure = %s/hook\n' "$n" "$T"
	for kv; do
		printf '%s\n' "$kv"
	done
}
{
	cat <<EOF
[global]
state_dir = $T/state

[repository local]
path = $T/repo
password_file = $T/key

[repository copy]
path = $T/copy
password_file = $T/key

[source files]
type = files
paths = $T/src

[source gasdb]
type = postgres
database = gas
globals = yes

[source state]
type = sqlite
path = $T/state.db
EOF
	drill dir "repository = local" "source = files" "target = $T/tgt" \
	    "max_rpo = 1h" "max_rto = 10m"
	drill scratch "repository = local" "source = gasdb" \
	    "target = postgres-scratch" \
	    "sql_checks = SELECT count(*) = 100 FROM accounts; SELECT sum(balance) > 0 FROM accounts" \
	    "checks = psql -X -At \"\$COFFER_DRILL_TARGET\" -c 'SELECT 1' >$T/scratch.out"
	drill standing "repository = local" "source = gasdb" \
	    "target = postgres:host=127.0.0.1 port=$PGPORT dbname=gas_drill" \
	    "sql_checks = SELECT count(*) = 100 FROM accounts"
	drill lite "repository = local" "source = state" "target = sqlite" \
	    "sql_checks = SELECT count(*) = 3 FROM t;SELECT max(v) = 3 FROM t" \
	    "checks = test -s \"\$COFFER_DRILL_TARGET\""
	drill badlite "repository = local" "source = state" "target = sqlite" \
	    "sql_checks = SELECT v FROM t"
	drill term "repository = local" "source = gasdb" \
	    "target = postgres-scratch" "checks = sleep 61"
	drill damaged "repository = copy" "source = files" "target = $T/tgt"
	drill badsql "repository = local" "source = gasdb" \
	    "target = postgres-scratch" \
	    "sql_checks = SELECT count(*) = 100 FROM accounts; SELECT count(*) = 5 FROM accounts"
	drill badcheck "repository = local" "source = files" \
	    "target = $T/tgt" \
	    "checks = env | grep ^COFFER_DRILL | sort >$T/check.env; test -e \"\$COFFER_DRILL_TARGET/nope\""
	drill slow "repository = local" "source = files" "target = $T/tgt" \
	    "max_rto = 1s" "checks = sleep 2"
	drill old "repository = local" "source = files" "target = $T/tgt" \
	    "max_rpo = 1s"
	drill stuck "repository = local" "source = gasdb" \
	    "target = postgres-scratch" "timeout = 5s" "checks = sleep 60"
	drill prod "repository = local" "source = gasdb" \
	    "target = postgres:host=localhost port=$PGPORT dbname=gas"
} >coffer.conf
chmod 600 coffer.conf

expect_status 0 "$COFFER" snapshot -c coffer.conf -r local --source files \
    --source gasdb --source state
cp -a repo copy
# Snapshot time, for the RPO: it is older than this.
t_snap=$(date +%s)

# nothing_left: no drill work dir, no scratch server, target removed.
nothing_left() {
	local left
	left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'coffer-*')
	[ -z "$left" ] || fail "$1: left behind: $left"
	[ ! -e "$T/tgt" ] || fail "$1: the target directory is still there"
	# Only this test's: other tests' servers may run beside it.
	if pgrep -u postgres -f -- "postgres.*$TMPDIR/" >/dev/null; then
		fail "$1: a scratch postgres still runs: $(pgrep -a -u postgres -f -- "postgres.*$TMPDIR/")"
	fi
	[ -z "$(e2e_pids_under "$TMPDIR")" ] ||
		fail "$1: processes still work in $TMPDIR"
	[ "$(psql -X -At -d postgres -c "SELECT count(*) FROM pg_database
	    WHERE datname LIKE 'gas%'")" = 1 ] ||
		fail "$1: a database was left on the server"
}
# failed NAME STEP ERE: the drill failed (exit 14) at STEP (an ERE), the hook saw
# it, and the message matches ERE.
failed() {
	expect_status 14 "$COFFER" drill run -c coffer.conf "$1"
	[ -f "hooks/$1.env" ] || fail "$1: on_failure did not run"
	expect_grep "^COFFER_DRILL=$1\$" "hooks/$1.env"
	expect_grep '^COFFER_STATUS=failed$' "hooks/$1.env"
	expect_grep "^COFFER_STEP=($2)\$" "hooks/$1.env"
	expect_grep "^COFFER_ERROR=.*$3" "hooks/$1.env"
	expect_grep "^drill $1: FAILED" "$T/out"
	nothing_left "$1"
}

# ------------------------------------------------------------ passing

expect_status 0 "$COFFER" drill run -c coffer.conf dir
expect_grep '^drill dir: ok$' "$T/out"
expect_grep '^  verify +ok .* [0-9]+ entries and 300012 bytes as in the snapshot' \
    "$T/out"
expect_grep '^  RTO [0-9.]+ s, RPO [0-9.]+ s$' "$T/out"
[ ! -e hooks/dir.env ] || fail "on_failure ran for a drill that passed"
nothing_left dir
expect_status 0 "$COFFER" drill run --json -c coffer.conf dir
python3 - "$T/out" "$t_snap" <<'EOF'
import json, sys, time
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok", d
assert d["target_kind"] == "directory", d
assert d["rto"] is not None and 0 < d["rto"] < 60, d
assert 0 <= d["rpo"] <= time.time() - d["consistent"] + 1, d
assert d["consistent"] <= int(sys.argv[2]), d
assert d["max_rpo"] == 3600 and d["max_rto"] == 600, d
assert [s["stage"] for s in d["stages"]] == \
    ["restore", "verify", "sql_check", "check", "rto", "rpo"], d
assert all(s["status"] in ("ok", "skipped") for s in d["stages"]), d
assert d["bytes"] == 300012 and d["entries"] >= 5, d
EOF
nothing_left "dir --json"

expect_status 0 "$COFFER" drill run -c coffer.conf scratch
expect_grep '^drill scratch: ok$' "$T/out"
expect_grep '^  verify +ok .*amcheck: [0-9]+ btree indexes checked' "$T/out"
expect_grep '^  sql_check +ok .*2 SQL checks passed' "$T/out"
expect_grep '^  check +ok' "$T/out"
expect_eq "the checks command's query" 1 "$(cat scratch.out)"
nothing_left scratch

expect_status 0 "$COFFER" drill run -c coffer.conf standing
expect_grep '^drill standing: ok$' "$T/out"
nothing_left standing

expect_status 0 "$COFFER" drill run -c coffer.conf lite
expect_grep '^  verify +ok .*PRAGMA integrity_check: ok' "$T/out"
expect_grep '^  sql_check +ok .*2 SQL checks passed' "$T/out"
expect_grep '^  check +ok' "$T/out"
nothing_left lite

# ------------------------------------------------------------ failing

failed badlite sql_check "its value is '1', not true|returned more than one row"

# A damaged pack in the copy: the restore fails, exit 14, reason given.
big=$(ls -S copy/data/*/* | head -n 1)
size=$(wc -c <"$big")
printf 'XXXXXXXXXXXXXXXX' |
	dd of="$big" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
failed damaged restore 'damaged'

failed badsql sql_check "SQL check 'SELECT count\(\*\) = 5 FROM accounts' failed: its value is 'f'"

failed badcheck check 'checks command exited with status 1'
expect_grep "^COFFER_DRILL=badcheck$" check.env
expect_grep "^COFFER_DRILL_TARGET=$T/tgt$" check.env
expect_grep '^COFFER_DRILL_SNAPSHOT=[0-9a-f]{64}$' check.env

failed slow rto 'RTO [0-9.]+ s \(2s\) exceeds max_rto 1s'

# The snapshot is older than 1 s by now.
failed old rpo 'RPO [0-9]+ s \([0-9]+s\) exceeds max_rpo 1s'

# Stopped wherever it is after 5 s (initdb, the restore or the check):
# the cluster and the check's sleep go with it.
failed stuck 'restore|verify|sql_check|check' \
    'timeout: drill stuck ran past its timeout of 5 s; [a-z_]+ was stopped'

# SIGTERM while the check runs: the drill stops, cleans up, exits 130.
"$COFFER" drill run -c coffer.conf term >"$T/out" 2>"$T/err" &
pid=$!
wait_for 60 "the term drill's check" pgrep -f 'sleep 61'
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
expect_eq "exit status after SIGTERM" 130 "$rc"
expect_grep '^COFFER_STEP=check$' hooks/term.env
expect_grep '^COFFER_ERROR=.*interrupted' hooks/term.env
nothing_left term

# Refused before anything is written: no database made, no restore.
ndb=$(psql -X -At -d postgres -c 'SELECT count(*) FROM pg_database')
failed prod restore 'looks like production: it is the database gas on 127.0.0.1 port [0-9]+, as \[source gasdb\] is'
expect_eq "databases after the refused drill" "$ndb" \
    "$(psql -X -At -d postgres -c 'SELECT count(*) FROM pg_database')"

# Usage: no such drill, and a target that is no target (config error).
expect_status 2 "$COFFER" drill run -c coffer.conf nosuch
expect_grep 'no \[drill nosuch\]' "$T/err"
cp coffer.conf my.conf
printf '\n[drill my]\nrepository = local\ntarget = ftp:u@h:/d\n' >>my.conf
expect_status 2 "$COFFER" config check -c my.conf
expect_grep "my.conf:[0-9]+: target: 'ftp:u@h:/d' is not a drill target" \
    "$T/err"

# What was restored and verified is the snapshot, byte for byte.
expect_status 0 "$COFFER" restore -c coffer.conf -r local latest \
    --source files --target "$T/again"
expect_same src/etc/app/big "again$T/src/etc/app/big"
