#!/bin/sh
# make demo: the mission end to end, on throwaway real servers that the
# tests' harness starts on 127.0.0.1 (tests/e2e/lib.sh): a PostgreSQL
# cluster holding a gas utility's meter readings, a config tree, and an
# OpenSSH sftp server as the off-site host, set up with offsite-setup's
# append-only recipe; the scheduler runs the nightly job twice (the second
# night with --now), the metrics file is shown, and a drill from the
# off-site copy into a scratch PostgreSQL ends it with its RTO and RPO.
# Every step prints the command it runs and checks
# its outcome; the demo exits non-zero when one does not behave.  The
# harness stops every server and removes every file on any exit (^C too).
#	sh scripts/demo.sh ./coffer
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 1 ] || { echo "usage: sh scripts/demo.sh PATH-TO-COFFER" >&2; exit 2; }
COFFER=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
: "${TOOLS:=$top/build/rel/tests/tools}"
E2E_LIB=$top/tests/e2e/lib.sh
export COFFER TOOLS E2E_LIB
. "$E2E_LIB"
. "$top/tests/e2e/repl-lib.sh"

step() { printf '\n==> %s\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@" || fail "this step did not behave: $*"
}
# sql DB QUERY: one value from the demo's PostgreSQL.
sql() { psql -X -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
# fingerprint DB: row counts and a checksum of every row, in key order.
fingerprint() {
	sql "$1" "SELECT (SELECT count(*) FROM customers) || ' customers, ' ||
	    (SELECT count(*) FROM meter_readings) || ' readings, md5 ' ||
	    (SELECT md5(string_agg(r::text, ',' ORDER BY r.id))
	     FROM meter_readings r)"
}

step "a throwaway PostgreSQL with a gas utility's customers and meter readings"
start_pg
sql postgres "CREATE DATABASE gas" >/dev/null
sql gas "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
    CREATE TABLE meter_readings (id bigserial PRIMARY KEY,
        customer int NOT NULL REFERENCES customers,
        read_at timestamptz NOT NULL, m3 numeric(12,3) NOT NULL);
    INSERT INTO customers SELECT i, 'customer ' || i
        FROM generate_series(1, 2000) i;
    INSERT INTO meter_readings (customer, read_at, m3)
        SELECT 1 + i % 2000, timestamptz '2026-01-01' + i * interval '7 min',
            (i % 997) * 1.25 FROM generate_series(1, 60000) i" >/dev/null
before=$(fingerprint gas)
echo "PostgreSQL $(sql gas 'SHOW server_version') on port $PGPORT: $before"

if [ -x /usr/sbin/mariadbd ] && command -v mariadb-install-db >/dev/null 2>&1; then
	step "a throwaway MariaDB with the billing system's invoices"
	start_mariadb
	my() { mariadb --defaults-file="$MYSQL_CNF" -N -B "$@"; }
	my -e "CREATE DATABASE billing; USE billing;
	    CREATE TABLE billing.invoices (id INT PRIMARY KEY, customer INT NOT NULL,
	        amount DECIMAL(10,2) NOT NULL, issued DATE NOT NULL) ENGINE=InnoDB;
	    INSERT INTO billing.invoices
	        SELECT seq, 1 + seq % 2000, (seq % 541) * 3.5, '2026-01-01' + INTERVAL seq % 300 DAY
	        FROM seq_1_to_12000;"
	# my_fingerprint DB: the row count and a checksum of the invoices.
	my_fingerprint() {
		my -e "SET SESSION group_concat_max_len = 16777216;
		    SELECT CONCAT(COUNT(*), ' invoices, md5 ',
		    MD5(GROUP_CONCAT(id, ':', customer, ':', amount, ':', issued ORDER BY id)))
		    FROM $1.invoices"
	}
	echo "$(my_fingerprint billing)"
	MY_SOURCE=billing
else
	step "no MariaDB here (/usr/sbin/mariadbd): the demo leaves the MySQL source out"
	MY_SOURCE=
fi

step "a configuration tree, as /etc would be"
S=$T/site
mkdir -p "$S/etc/gas/billing.d" "$S/etc/ssh"
i=0
while [ $i -lt 120 ]; do
	printf 'tariff_%d = %d.%02d\n' "$i" $((i / 7)) $((i % 100)) \
	    >"$S/etc/gas/billing.d/tariff-$i.conf"
	i=$((i + 1))
done
printf 'Port 22\nPermitRootLogin no\n' >"$S/etc/ssh/sshd_config"
chmod 600 "$S/etc/ssh/sshd_config"
ln -s billing.d/tariff-0.conf "$S/etc/gas/current-tariff"
echo "$(find "$S" -type f | wc -l) files under $S"

step "a private sshd on 127.0.0.1 as the off-site host"
start_sshd
if [ "$(id -u)" -eq 0 ]; then
	# The append-only recipe, applied for the existing account 'nobody'
	# (the demo creates no account): its key may add files, never remove
	# or overwrite them.
	U=nobody
	OFF=$T/offsite/gas
	offsite_server "$U" "$OFF"
	echo "applied the recipe of: coffer offsite-setup sftp://$U@127.0.0.1:$SSHD_PORT$OFF"
	sed -n '/^restrict,command=/p' "$T/recipe" | cut -c1-100
else
	U=$(id -un)
	OFF=$T/offsite/gas
	mkdir -p "$OFF"
	echo "not root: the append-only recipe needs root on the off-site host;"
	echo "this demo uses your own account there. The recipe would be:"
	"$COFFER" offsite-setup "sftp://backup@127.0.0.1:$SSHD_PORT$OFF" | head -n 12
fi

step "a configuration with both repositories, the sources and a nightly job"
C=$T/coffer.conf
cat >"$C" <<EOF
[global]
state_dir = $T/state
metrics_file = $T/metrics/coffer.prom

[repository local]
path = $T/repo
password_file = $T/local.key

[repository offsite]
url = sftp://$U@127.0.0.1:$SSHD_PORT$OFF
identity = $SSH_KEY
known_hosts = $SSH_KNOWN_HOSTS
password_file = $T/local.key
# the append-only copy cannot hold lock files
locks = none

[source gasdb]
type = postgres
database = gas
connection = host=$PG_SOCKET_DIR port=$PGPORT user=postgres

[source etc]
type = files
paths = $S/etc
${MY_SOURCE:+
[source billing]
type = mysql
database = billing
defaults_file = $MYSQL_CNF
}
[job nightly]
sources = gasdb etc${MY_SOURCE:+ billing}
repository = local
schedule = daily 02:30
timezone = UTC
replicate = offsite
keep_last = 3
check = 50%

# a restore drill from the off-site copy: a scratch PostgreSQL cluster,
# checked by SQL, within a recovery time and a data age
[drill offsite-db]
repository = offsite
source = gasdb
target = postgres-scratch
sql_checks = SELECT count(*) > 1000 FROM meter_readings; SELECT count(*) = 2000 FROM customers
max_rto = 5m
max_rpo = 26h
EOF
cat "$C"
mkdir -p "$T/metrics"
run "$COFFER" -c "$C" init -r local --machine-key "$T/local.key"
run "$COFFER" -c "$C" config check -q

step "night 1: the scheduler's first tick runs the job: snapshot, forget, replicate over SSH, check"
echo "(cron runs 'coffer scheduler tick' every minute: see 'coffer scheduler install')"
run "$COFFER" -c "$C" scheduler tick
if [ "$U" = nobody ]; then
	echo "the off-site admin runs the recipe's step after the first replicate:"
	sed -n '/^# --- after the first replicate ---$/,/^# --- /p' "$T/recipe" |
		grep -v '^#' | grep . >"$T/harden.sh"
	cat "$T/harden.sh"
	run sh -eu "$T/harden.sh"
fi

step "a day of changes: new readings, a changed tariff"
sql gas "INSERT INTO meter_readings (customer, read_at, m3)
    SELECT 1 + i % 2000, timestamptz '2026-06-01' + i * interval '7 min', 3
    FROM generate_series(1, 1500) i" >/dev/null
printf 'tariff_7 = 9.99\n' >"$S/etc/gas/billing.d/tariff-7.conf"
[ -z "$MY_SOURCE" ] ||
	my -e "INSERT INTO billing.invoices VALUES (12001, 7, 99.50, '2026-12-01')"
before=$(fingerprint gas)
echo "now: $before"

step "night 2: the tick at 02:30 runs it again; only what changed is stored and shipped"
night2=$(date -u -d tomorrow +%Y-%m-%d)
run "$COFFER" -c "$C" scheduler tick --now "${night2}T02:31:00Z"
echo "a second tick in the same night finds nothing due (exactly once):"
run "$COFFER" -c "$C" scheduler tick --now "${night2}T02:45:00Z"
n=$("$COFFER" -c "$C" scheduler history nightly --json | grep -c '"status":"ok"')
[ "$n" -eq 2 ] || fail "expected 2 runs of nightly, found $n"
run "$COFFER" -c "$C" scheduler history nightly
run "$COFFER" -c "$C" scheduler status --now "${night2}T02:45:00Z"
run "$COFFER" -c "$C" snapshots -r local
first=$("$COFFER" -c "$C" snapshots -r local --json |
    sed -n 's/^\[{"id":"\([0-9a-f]\{8\}\).*/\1/p')
run "$COFFER" -c "$C" diff -r local "$first" latest
run "$COFFER" -c "$C" log -r local --last 4

step "what monitoring sees: the metrics file node_exporter collects"
grep -v '^#' "$T/metrics/coffer.prom"
if command -v promtool >/dev/null 2>&1; then
	run sh -c "promtool check metrics <'$T/metrics/coffer.prom'"
fi
grep -q '^coffer_job_last_success_timestamp_seconds{job="nightly"} [1-9]' \
    "$T/metrics/coffer.prom" || fail "no last success for nightly in the metrics"

step "disaster: the primary repository is gone"
rm -rf "$T/repo" "$T/cache"
echo "removed $T/repo; what is left is the off-site copy and the key file"
run "$COFFER" -c "$C" check -r offsite --read-data

step "restore the database from the off-site copy into a new database"
run "$COFFER" -c "$C" restore -r offsite latest --source gasdb \
    --to-postgres "dbname=gas_restored host=$PG_SOCKET_DIR port=$PGPORT user=postgres" \
    --create
after=$(fingerprint gas_restored)
echo "original: $before"
echo "restored: $after"
[ "$before" = "$after" ] || fail "the restored database differs"

if [ -n "$MY_SOURCE" ]; then
	step "restore the billing database from the off-site copy into a new MariaDB database"
	my_before=$(my_fingerprint billing)
	run "$COFFER" -c "$C" restore -r offsite latest --source billing \
	    --to-mysql billing_restored --defaults-file "$MYSQL_CNF" --create
	my_after=$(my_fingerprint billing_restored)
	echo "original: $my_before"
	echo "restored: $my_after"
	[ "$my_before" = "$my_after" ] || fail "the restored billing database differs"
fi

step "restore the configuration tree and compare it byte for byte"
run "$COFFER" -c "$C" restore -r offsite latest --source etc --target "$T/restored"
tree_listing "$S/etc" >"$T/want"
tree_listing "$T/restored$S/etc" >"$T/got"
cmp -s "$T/want" "$T/got" || fail "the restored tree differs: $(diff "$T/want" "$T/got" | head)"
diff -r "$S/etc" "$T/restored$S/etc" >/dev/null || fail "restored contents differ"
echo "identical: $(wc -l <"$T/want") entries, contents, modes, owners, times, links"

step "a restore drill from the off-site copy: scratch PostgreSQL, SQL checks, RTO and RPO"
run "$COFFER" -c "$C" drill run offsite-db
pgrep -f "coffer-drill" >/dev/null && fail "the drill left a process behind"

step "demo finished: all steps behaved as expected"
