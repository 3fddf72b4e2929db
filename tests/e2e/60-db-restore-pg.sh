#!/bin/sh
# coffer restore --source/--to-postgres against a real PostgreSQL: a schema
# with many types, indexes, a sequence, a view, a function, large objects
# and a second owner is snapshotted, restored into a new database
# (--create, and --jobs), and pg_dump of both must be equal; --stdout gives
# the dump pg_restore reads; a non-empty target is refused, --clean
# replaces; --globals brings a dropped role back; a byte flipped in the
# dump's data (exit 4) and a pg_restore that fails (exit 1) commit nothing;
# SIGINT kills pg_restore (130); missing and failed sources, wrong
# credentials: one line each; a password in CONNINFO is refused (status 2)
# before any client runs, and ~/.pgpass (PGPASSFILE) works.
# e2e: long
. "$(dirname "$0")/lib.sh"

need od dd

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo

start_pg
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
one() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }
# The number of relations outside the system schemas of database $1.
nrel() {
	one -d "$1" -c "SELECT count(*) FROM pg_class c
	    JOIN pg_namespace n ON n.oid = c.relnamespace
	    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
	    AND n.nspname NOT LIKE 'pg_toast%'"
}
dbexists() {
	[ "$(one -c "SELECT count(*) FROM pg_database
	    WHERE datname = '$1'")" = 1 ]
}
# pg_dump of database $1 (schema, data, large objects) with its name made
# DB, and without the random key of \restrict (pg_dump 15.14 and later).
dumpof() {
	pg_dump --no-sync -d "$1" |
		sed -e "s/$1/DB/g" -e '/^\\\(un\)\{0,1\}restrict /d' >"$2"
}
# expect_line: the command's stderr is one line matching ERE $1.
expect_line() {
	[ "$(wc -l <"$T/err")" -eq 1 ] ||
		fail "expected one line on stderr, got: $(cat "$T/err")"
	expect_grep "$1" "$T/err"
}

q -c "CREATE ROLE app LOGIN; CREATE ROLE reporter"
createdb gas
q -d gas >/dev/null <<'EOF'
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE SEQUENCE invoice_no START 1000;
CREATE TABLE accounts (
	id bigserial PRIMARY KEY,
	owner text NOT NULL,
	balance numeric(14,2) NOT NULL DEFAULT 0,
	photo bytea,
	prefs jsonb,
	opened timestamptz NOT NULL,
	tags text[],
	feeling mood
);
CREATE INDEX accounts_owner ON accounts (owner);
CREATE INDEX accounts_prefs ON accounts USING gin (prefs);
CREATE TABLE invoices (
	no int PRIMARY KEY DEFAULT nextval('invoice_no'),
	account bigint REFERENCES accounts (id),
	amount numeric(14,2),
	doc oid
);
ALTER TABLE invoices OWNER TO app;
GRANT SELECT ON accounts TO reporter;
INSERT INTO accounts (owner, balance, photo, prefs, opened, tags, feeling)
SELECT 'owner ' || g || ' é ✓', g * 1.25, decode(md5(g::text), 'hex'),
    jsonb_build_object('n', g, 'deep', jsonb_build_array(g, md5(g::text))),
    '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 hour',
    ARRAY['a' || g, 'b'], (ARRAY['sad', 'ok', 'happy'])[1 + g % 3]::mood
FROM generate_series(1, 20000) g;
INSERT INTO invoices (account, amount, doc)
SELECT g, g * 2.5, CASE WHEN g <= 3 THEN lo_from_bytea(0,
    convert_to(repeat('large object ' || g, 1000), 'UTF8')) END
FROM generate_series(1, 500) g;
CREATE VIEW rich AS SELECT owner, balance FROM accounts WHERE balance > 100;
CREATE FUNCTION total() RETURNS numeric LANGUAGE sql STABLE
    AS 'SELECT sum(balance) FROM accounts';
SELECT setval('invoice_no', 4242);
EOF
dumpof gas "$T/want.sql"
[ "$(grep -c 'lo_open\|BLOB' "$T/want.sql")" -gt 0 ] ||
	fail "the reference dump holds no large objects"

cat >"$T/coffer.conf" <<EOF
[source gasdb]
type = postgres
database = gas
globals = yes
EOF
expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE" \
    --pack-size 1M --chunk-size 64K
expect_status 0 "$COFFER" snapshot -c "$T/coffer.conf" -r "$REPO" \
    --source gasdb
# The packs of the first snapshot, newest first: the dump's tail is in the
# first of them.
packs1=$(ls -t "$REPO"/data/*/*)
# One source fails: exit 3, and it is recorded as failed.
expect_status 3 "$COFFER" snapshot -c "$T/coffer.conf" -r "$REPO" \
    --source gasdb --postgres 'dbname=nosuch'

# ------------------------------------------------------------ errors

R() { "$COFFER" restore -r "$REPO" latest "$@"; }
expect_status 2 R --source nope --to-postgres 'dbname=x'
expect_line 'has no source nope; it has: gasdb, nosuch'
expect_status 1 R --source nosuch --to-postgres 'dbname=x' --create
expect_line 'source nosuch failed in snapshot .*nosuch.*earlier snapshot'
dbexists x && fail "a failed source made a database"
expect_status 2 R --to-postgres 'dbname=x'
expect_line "goes with --source NAME"
expect_status 2 R --source gasdb --stdout /gasdb/gas.pgdump
expect_line 'takes no PATH'
expect_status 2 R --source gasdb --to-postgres "dbname='x"
expect_line '--to-postgres: unterminated quoted value of "dbname"'
expect_status 2 R --source gasdb --to-postgres 'dbname=x' --defaults-file /f
expect_line 'goes with --to-mysql'
expect_status 2 R --source gasdb --to-postgres 'dbname=absent'
expect_line 'database absent does not exist; add --create'
# The server truncates names to 63 bytes in its own message; the catalog
# still answers for the name given.
long=absent_$(printf '%070d' 0)
expect_status 2 R --source gasdb --to-postgres "dbname=$long"
expect_line "database $long does not exist; add --create"
expect_status 1 R --source gasdb --to-postgres 'dbname=x user=nosuchrole' \
    --create
expect_line 'psql exited with status 2: .*role "nosuchrole" does not exist'
dbexists x && fail "wrong credentials made a database"

# ------------------------------------------------------------ raw dump

expect_status 0 R --source gasdb --stdout
cp "$T/out" "$T/raw.pgdump"
R --source gasdb --stdout | pg_restore -l >"$T/toc"
expect_grep 'TABLE public accounts' "$T/toc"
expect_grep 'BLOBS|LARGE OBJECT' "$T/toc"
# --target: the source's subtree, its top made the target.
expect_status 0 R --source gasdb --target "$T/tree"
expect_same "$T/raw.pgdump" "$T/tree/gas.pgdump"
[ -s "$T/tree/globals.sql" ] || fail "no globals.sql in the source's tree"
[ ! -e "$T/tree/gasdb" ] || fail "the source's top directory was restored"

# ------------------------------------------------------------ round trip

expect_status 0 R --source gasdb --to-postgres 'dbname=gas_restored' --create
expect_grep 'restored source gasdb of snapshot .* into PostgreSQL database gas_restored: .* \(created\)' "$T/out"
dumpof gas_restored "$T/got.sql"
expect_same "$T/want.sql" "$T/got.sql"
[ "$(one -d gas_restored -c 'SELECT total()')" = \
    "$(one -d gas -c 'SELECT total()')" ] || fail "total() differs"

# Not empty: refused, and --create on an existing one leaves it alone.
expect_status 2 R --source gasdb --to-postgres 'dbname=gas_restored'
expect_line 'database gas_restored is not empty .*--clean'
expect_status 1 R --source gasdb --to-postgres 'dbname=gas_restored' --create
expect_line 'creating database gas_restored: .*already exists'
[ "$(one -d gas_restored -c 'SELECT count(*) FROM accounts')" = 20000 ] ||
	fail "a refused --create touched the existing database"
# --clean replaces what the dump holds, in one transaction.
q -d gas_restored -c "DELETE FROM invoices WHERE no > 100"
expect_status 0 R --source gasdb --to-postgres 'dbname=gas_restored' --clean
dumpof gas_restored "$T/got.sql"
expect_same "$T/want.sql" "$T/got.sql"

# --json: one object on stdout.
expect_status 0 R --source gasdb --to-postgres 'dbname=gas_json' --create --json
expect_grep '^\{.*"mode":"postgres".*"database":"gas_json".*"created":true.*"status":0' "$T/out"
expect_status 2 R --source gasdb --to-postgres 'dbname=gas_json' --json
expect_grep '"status":2.*"error":"database gas_json is not empty' "$T/out"

# --jobs: staged in a file without a name, pg_restore -j.
expect_status 0 R --source gasdb --to-postgres 'dbname=gas_jobs' --create \
    --jobs 2
dumpof gas_jobs "$T/got.sql"
expect_same "$T/want.sql" "$T/got.sql"
[ -z "$(ls "$T/tmp")" ] || fail "--jobs left its temp file: $(ls "$T/tmp")"

# --globals: a dropped role comes back; roles that exist are kept.
q -d gas_restored -c "DROP OWNED BY reporter"
q -d gas_jobs -c "DROP OWNED BY reporter"
q -d gas_json -c "DROP OWNED BY reporter"
q -d gas -c "DROP OWNED BY reporter"
q -c "DROP ROLE reporter"
expect_status 0 R --source gasdb --to-postgres 'dbname=gas_glob' --create \
    --globals --no-owner
expect_grep 'globals: role "app" already exists \(kept\)' "$T/err"
[ "$(one -c "SELECT count(*) FROM pg_roles WHERE rolname = 'reporter'")" = 1 ] ||
	fail "--globals did not bring role reporter back"
[ "$(one -d gas_glob -c 'SELECT count(*) FROM accounts')" = 20000 ] ||
	fail "gas_glob was not restored"

# A password in CONNINFO would sit on coffer's own command line, readable
# by every user: refused (status 2) before any client runs, pointing at
# ~/.pgpass; a shim in front of the real pg_restore and psql records runs.
# The password file works.
q -c "CREATE ROLE pwuser LOGIN CREATEDB PASSWORD 'Pw-s3cret-42'"
hba=$PGDATA_DIR/pg_hba.conf
{ echo "host all pwuser 127.0.0.1/32 scram-sha-256"; cat "$hba"; } >"$T/hba"
cat "$T/hba" >"$hba"
one -c 'SELECT pg_reload_conf()' >/dev/null
mkdir "$T/shim"
for p in pg_restore psql; do
	cat >"$T/shim/$p" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >>"$T/shim.argv"
exec "$PG_BIN/$p" "\$@"
EOF
	chmod +x "$T/shim/$p"
done
for conn in 'dbname=gas_pw user=pwuser password=Pw-s3cret-42' \
    "dbname=gas_pw password = 'Pw s3cret' user=pwuser"; do
	expect_status 2 env PATH="$T/shim:$PATH" "$COFFER" restore -r "$REPO" \
	    latest --source gasdb --to-postgres "$conn" --create --no-owner
	expect_line 'connection settings hold a password, which every user could read in the process list; put it in ~/.pgpass \(or a service file\) instead'
done
[ ! -e "$T/shim.argv" ] || fail "a client ran: $(cat "$T/shim.argv")"
dbexists gas_pw && fail "a refused password made a database"
echo "127.0.0.1:$PGPORT:*:pwuser:Pw-s3cret-42" >"$T/pgpass"
chmod 600 "$T/pgpass"
expect_status 0 env PATH="$T/shim:$PATH" PGPASSFILE="$T/pgpass" \
    "$COFFER" restore -r "$REPO" latest --source gasdb \
    --to-postgres 'dbname=gas_pw user=pwuser' --create --no-owner
[ "$(one -d gas_pw -c 'SELECT count(*) FROM accounts')" = 20000 ] ||
	fail "gas_pw was not restored"
expect_grep "user='pwuser' dbname='gas_pw'" "$T/shim.argv"
! grep -q 's3cret' "$T/shim.argv" || fail "a password reached a command line"

# ------------------------------------------------------------ failures

# pg_restore fails half way (--clean meets a table of another shape):
# exit 1 with its error, and its transaction leaves the database as it was.
createdb gas_dep
q -d gas_dep -c "CREATE TABLE accounts (x int); CREATE VIEW dep AS
    SELECT x FROM accounts; INSERT INTO accounts VALUES (7)"
expect_status 1 R --source gasdb --to-postgres 'dbname=gas_dep' --clean
expect_line 'pg_restore exited with status 1: pg_restore: error: could not execute query: ERROR: '
[ "$(nrel gas_dep)" = 2 ] || fail "a failed pg_restore committed objects"
[ "$(one -d gas_dep -c 'SELECT x FROM accounts')" = 7 ] ||
	fail "a failed pg_restore changed data"

# SIGINT while pg_restore waits for a lock: it is killed, exit 130, and
# nothing is committed.
createdb gas_int
q -d gas_int -c "CREATE TABLE accounts (x int)"
psql -X -q -d gas_int -c "BEGIN; LOCK TABLE accounts; SELECT pg_sleep(300)" \
    >/dev/null 2>&1 &
holder=$!
wait_for 30 "the lock holder" sh -c "[ \"\$(psql -X -At -d gas_int -c \"SELECT count(*)
    FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 'accounts' AND l.mode = 'AccessExclusiveLock'
    AND l.granted\")\" -ge 1 ]"
"$COFFER" restore -r "$REPO" latest --source gasdb \
    --to-postgres 'dbname=gas_int' --clean >"$T/int.out" 2>"$T/int.err" &
cpid=$!
wait_for 30 "pg_restore waiting for the lock" sh -c "[ \"\$(psql -X -At -c \"
    SELECT count(*) FROM pg_stat_activity WHERE datname = 'gas_int'
    AND application_name = 'pg_restore' AND wait_event_type = 'Lock'\")\" \
    -ge 1 ]"
kill -INT "$cpid"
rc=0
wait "$cpid" || rc=$?
expect_eq "exit status after SIGINT" 130 "$rc"
expect_grep 'interrupted' "$T/int.err"
ps -eo args | grep -q '^pg_restore .*gas_int' && fail "pg_restore still runs"
one -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE datname = 'gas_int' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" || :
# Its backend, blocked on the lock, ends once it sees its client gone.
wait_for 30 "pg_restore's backend gone" sh -c "[ \"\$(psql -X -At -c \"
    SELECT count(*) FROM pg_stat_activity
    WHERE application_name = 'pg_restore'\")\" = 0 ]"
[ "$(nrel gas_int)" = 1 ] || fail "an interrupted restore committed objects"

# A byte flipped in the dump's data, late in the stream: exit 4, pg_restore
# killed before it could commit the tables it had already created.
pack=$(echo "$packs1" | head -n 1)
off=$(($(stat -c '%s' "$pack") / 3))
b=$(od -An -tu1 -j "$off" -N1 "$pack" | tr -d ' ')
chmod u+w "$pack"
printf "$(printf '\\%03o' $(((b + 1) % 256)))" |
	dd of="$pack" bs=1 seek="$off" conv=notrunc 2>/dev/null
createdb gas_dmg
expect_status 4 R --source gasdb --to-postgres 'dbname=gas_dmg'
expect_grep 'killed before it committed anything' "$T/err"
[ "$(nrel gas_dmg)" = 0 ] || fail "a damaged dump committed objects"
expect_status 4 R --source gasdb --to-postgres 'dbname=gas_dmg2' --create
dbexists gas_dmg2 && fail "a damaged restore kept the database it made"
expect_grep 'dropped database gas_dmg2' "$T/err"
# --jobs finds the damage while staging, before pg_restore runs.
expect_status 4 R --source gasdb --to-postgres 'dbname=gas_dmg' --jobs 2
[ "$(nrel gas_dmg)" = 0 ] || fail "a damaged staged dump committed objects"
[ -z "$(ls "$T/tmp")" ] || fail "--jobs left its temp file: $(ls "$T/tmp")"
# ... and so does --stdout, before writing anything.
expect_status 4 R --source gasdb --stdout
[ ! -s "$T/out" ] || fail "--stdout wrote a damaged dump"

# The original is untouched by all this (but for the role dropped above).
dumpof gas "$T/now.sql"
dumpof gas_restored "$T/got.sql"
expect_same "$T/got.sql" "$T/now.sql"

# --create makes the database with the encoding and locale the dumped one
# had (recorded by the snapshot), not the server's defaults.
dbinfo() {
	one -c "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate ||
	    ' ' || datctype FROM pg_database WHERE datname = '$1'"
}
createdb -T template0 -E LATIN1 --locale=C latin
q -d latin -c "CREATE TABLE t (x text); INSERT INTO t VALUES ('caf\351')"
createdb plain
[ "$(dbinfo plain)" != "$(dbinfo latin)" ] ||
	fail "the server's default is LATIN1/C already: the test proves nothing"
expect_status 0 "$COFFER" snapshot -r "$REPO" --postgres 'dbname=latin'
expect_status 0 "$COFFER" snapshots -r "$REPO" --json
expect_grep '"encoding":"LATIN1","lc_collate":"C","lc_ctype":"C"' "$T/out"
expect_status 0 R --source latin --to-postgres 'dbname=latin_restored' --create
expect_eq "encoding and locale" "$(dbinfo latin)" "$(dbinfo latin_restored)"
expect_eq "LATIN1 text" "$(one -d latin -c 'SELECT x FROM t')" \
    "$(one -d latin_restored -c 'SELECT x FROM t')"
