#!/bin/sh
# coffer drill run with the MariaDB targets (issue 13) against a real
# MariaDB: a mysql-scratch drill (a throwaway mariadbd on a socket, the
# dump restored, mariadb-check, sql_checks, a checks command that reaches
# the restored database through COFFER_DRILL_DEFAULTS_FILE) passes; a
# failing SQL check fails it (exit 14) and fires on_failure; a mysql:DB
# drill on a standing test server passes and drops its database; a
# mysql:DB target that is the source's database, by the same option file
# or by the server's socket only, is refused before anything is written.
# A drill killed with -9 in the middle of its restore leaves a "running"
# record, a scratch mariadbd and its work directory: the next run marks
# the record failed (interrupted), stops the server and removes the
# directory.  After each: no server, process, database or temp dir left.
# e2e: long
. "$(dirname "$0")/lib.sh"

need python3 mariadb my_print_defaults
start_mariadb
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1

M() { mariadb --defaults-file="$MYSQL_CNF" -N -B "$@"; }
M <<'EOF'
CREATE DATABASE billing;
USE billing;
CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(100),
    balance DECIMAL(12,2), KEY idx_name (name)) ENGINE=InnoDB;
INSERT INTO customers SELECT seq, CONCAT('Zoë ', seq), seq * 1.5
FROM seq_1_to_1000;
CREATE VIEW rich AS SELECT name FROM customers WHERE balance > 1000;
EOF

expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"

cat >hook <<'EOF'
#!/bin/sh
env | grep '^COFFER_' | sort >"$HOOKDIR/$COFFER_DRILL.env"
EOF
chmod 755 hook
mkdir hooks
export HOOKDIR=$T/hooks

# The test server reached by its socket alone: the same server as the
# source's, which the option files cannot tell.
printf '[client]\nuser = root\nhost = localhost\nsocket = %s\n' "$MYSQL_SOCKET" >sock.cnf
chmod 600 sock.cnf

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

[source billing]
type = mysql
database = billing
defaults_file = $MYSQL_CNF
EOF
	drill scratch "repository = local" "source = billing" \
	    "target = mysql-scratch" "max_rto = 10m" "max_rpo = 1h" \
	    "sql_checks = SELECT count(*) = 1000 FROM customers; SELECT sum(balance) > 0 FROM customers;SELECT count(*) > 0 FROM rich" \
	    "checks = mariadb --defaults-file=\"\$COFFER_DRILL_DEFAULTS_FILE\" -NB -e 'SELECT count(*) FROM customers' \"\$COFFER_DRILL_TARGET\" >$T/scratch.out"
	drill badsql "repository = local" "source = billing" \
	    "target = mysql-scratch" \
	    "sql_checks = SELECT count(*) = 1000 FROM customers; SELECT count(*) = 5 FROM customers"
	drill standing "repository = local" "source = billing" \
	    "target = mysql:billing_drill" "defaults_file = $MYSQL_CNF" \
	    "sql_checks = SELECT count(*) = 1000 FROM customers"
	drill prod "repository = local" "source = billing" \
	    "target = mysql:billing" "defaults_file = $MYSQL_CNF"
	drill prodsock "repository = local" "source = billing" \
	    "target = mysql:billing" "defaults_file = $T/sock.cnf"
	drill killed "repository = local" "source = billing" \
	    "target = mysql-scratch"
} >coffer.conf
chmod 600 coffer.conf

expect_status 0 "$COFFER" snapshot -c coffer.conf -r local --source billing

# The databases on the test server, by name.
dbs() {
	M -e 'SELECT schema_name FROM information_schema.schemata
	    ORDER BY schema_name' | tr '\n' ' '
}
dbs_before=$(dbs)

# nothing_left WHAT: no work dir, no scratch server, no process in TMPDIR,
# no database made on the test server.
nothing_left() {
	local left
	left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'coffer-*')
	[ -z "$left" ] || fail "$1: left behind: $left"
	left=$(pgrep -f "mariadbd.*$TMPDIR" || :)
	[ -z "$left" ] || fail "$1: a scratch mariadbd still runs: $left"
	[ -z "$(e2e_pids_under "$TMPDIR")" ] ||
		fail "$1: processes still work in $TMPDIR"
	[ ! -e "$T/state/drill-$2.work" ] ||
		fail "$1: the drill's work note is still there"
	expect_eq "$1: databases on the test server" "$dbs_before" "$(dbs)"
}

# ------------------------------------------------------------ passing

expect_status 0 "$COFFER" drill run -c coffer.conf scratch
expect_grep '^drill scratch: ok$' "$T/out"
expect_grep '^  snapshot [0-9a-f]{8}, source billing to mysql-scratch billing$' "$T/out"
expect_grep '^  verify +ok .*mariadb-check: [0-9]+ tables OK' "$T/out"
expect_grep '^  sql_check +ok .*3 SQL checks passed' "$T/out"
expect_grep '^  check +ok' "$T/out"
expect_grep '^  RTO [0-9.]+ s, RPO [0-9.]+ s$' "$T/out"
expect_eq "the checks command's query" 1000 "$(cat scratch.out)"
[ ! -e hooks/scratch.env ] || fail "on_failure ran for a drill that passed"
nothing_left scratch scratch

expect_status 0 "$COFFER" drill run --json -c coffer.conf standing
python3 - "$T/out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok", d
assert d["target_kind"] == "mysql" and d["target"] == "billing_drill", d
assert [s["status"] for s in d["stages"]] == \
    ["ok", "ok", "ok", "skipped", "ok", "ok"], d
assert d["bytes"] > 10000, d
EOF
nothing_left standing standing

# ------------------------------------------------------------ failing

expect_status 14 "$COFFER" drill run -c coffer.conf badsql
expect_grep '^drill badsql: FAILED' "$T/out"
expect_grep '^COFFER_STEP=sql_check$' hooks/badsql.env
expect_grep "^COFFER_ERROR=1 of 2 SQL checks failed; the first: SQL check 'SELECT count\(\*\) = 5 FROM customers' failed: its value is '0', not true" \
    hooks/badsql.env
nothing_left badsql badsql

# Refused before anything is written, however the server is reached.
for d in prod prodsock; do
	expect_status 14 "$COFFER" drill run -c coffer.conf "$d"
	expect_grep '^COFFER_STEP=restore$' "hooks/$d.env"
	expect_grep "^COFFER_ERROR=refused: target mysql:billing looks like production: it is the database billing on .*, as \[source billing\] is" \
	    "hooks/$d.env"
	nothing_left "$d" "$d"
done

# ------------------------------------------------------------ killed

# kill -9 while the restore stage runs (the scratch server is up): the
# worker stops, but nobody cleans up.
"$COFFER" drill run -c coffer.conf killed >"$T/killed.out" 2>&1 &
pid=$!
# shellcheck disable=SC2016 # expanded by sh -c
wait_for 60 "the killed drill's scratch server" sh -c \
    'ls "$1"/coffer-drill-killed.*/my/sock' - "$TMPDIR"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || :
# The worker goes (it is told when its parent dies); the server stays.
wait_for 30 "the killed drill's worker" sh -c \
    "! pgrep -f 'drill run -c coffer.conf kille[d]'"
[ -n "$(pgrep -f "mariadbd.*$TMPDIR/coffer-drill-killed" || :)" ] ||
	fail "no scratch mariadbd after the kill: nothing to test"
"$COFFER" -c coffer.conf scheduler history killed --json >h.json
python3 - h.json running <<'EOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [r["status"] for r in runs] == [sys.argv[2]], runs
EOF

# The next run: the record failed (interrupted), the leftovers gone.
expect_status 0 "$COFFER" drill run -c coffer.conf killed
expect_grep "drill killed: removed the work directory .*/coffer-drill-killed\.[A-Za-z0-9]+ an interrupted run left \([1-9][0-9]* processes in it stopped\)" \
    "$T/err"
expect_grep '^drill killed: ok$' "$T/out"
"$COFFER" -c coffer.conf scheduler history killed --json >h.json
python3 - h.json <<'EOF'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert [r["status"] for r in runs] == ["failed", "ok"], runs
assert runs[0]["message"].startswith("interrupted: process "), runs[0]
EOF
nothing_left killed killed

# What the drill restored is what the source held.
M -e 'CREATE DATABASE again'
expect_status 0 "$COFFER" restore -c coffer.conf -r local latest \
    --source billing --to-mysql again --defaults-file "$MYSQL_CNF"
M billing -e 'SELECT * FROM customers ORDER BY id' >want.txt
M again -e 'SELECT * FROM customers ORDER BY id' >got.txt
expect_same want.txt got.txt
