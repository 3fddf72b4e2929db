#!/bin/sh
# One set of rules for PostgreSQL connection strings in snapshot and
# restore: a bare database name and a URI work for both commands (and a
# bare name as a config source's connection, with globals: pg_dumpall
# takes no bare name, so the clients get the keyword='value' form); a
# password is refused by both in every form, before any client runs; the
# databases restored from each form dump byte for byte as the original.
. "$(dirname "$0")/lib.sh"

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo

start_pg
one() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }
# pg_dump of database $1 with its name made DB, without \restrict's key.
dumpof() {
	pg_dump --no-sync -d "$1" |
		sed -e "s/$1/DB/g" -e '/^\\\(un\)\{0,1\}restrict /d' >"$2"
}
expect_line() {
	[ "$(wc -l <"$T/err")" -eq 1 ] ||
		fail "expected one line on stderr, got: $(cat "$T/err")"
	expect_grep "$1" "$T/err"
}
R() { "$COFFER" restore -r "$REPO" "$@"; }

createdb gas
psql -X -q -v ON_ERROR_STOP=1 -d gas <<'EOF'
CREATE TABLE t (id int PRIMARY KEY, note text);
INSERT INTO t SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 5000) g;
EOF
dumpof gas "$T/want.sql"
expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE"

# Clients that note their argv, to show none ran for a refused string.
mkdir "$T/shim"
for p in psql pg_dump pg_dumpall pg_restore; do
	cat >"$T/shim/$p" <<EOF
#!/bin/sh
printf '%s\n' "\$@" >>"$T/shim.argv"
exec "$PG_BIN/$p" "\$@"
EOF
	chmod +x "$T/shim/$p"
done

# 1. snapshot --postgres with a bare name (was: "names no database").
expect_status 0 "$COFFER" snapshot -r "$REPO" --postgres gas
expect_grep '^  gas +postgres +ok ' "$T/out"
R latest --stdout /gas/gas.pgdump | pg_restore -l >/dev/null ||
	fail "the bare-name snapshot holds no dump"

# 2. snapshot --postgres with a URI (percent-encoded host and a query).
uri="postgresql://postgres@%31%32%37.0.0.1:$PGPORT/gas?application_name=coffer-e2e"
expect_status 0 env PATH="$T/shim:$PATH" "$COFFER" snapshot -r "$REPO" \
    --postgres "$uri"
expect_grep '^  gas +postgres +ok ' "$T/out"
expect_grep "^user='postgres' host='127.0.0.1' port='$PGPORT' dbname='gas' application_name='coffer-e2e'\$" "$T/shim.argv"
rm "$T/shim.argv"

# 3. A config source whose connection is a bare name, with globals.
cat >"$T/coffer.conf" <<EOF
[source gasdb]
type = postgres
database = gas
connection = gas
globals = yes
EOF
expect_status 0 "$COFFER" snapshot -c "$T/coffer.conf" -r "$REPO" \
    --source gasdb
expect_grep '^  gasdb +postgres +ok ' "$T/out"

# 4. Passwords, in every form and in both commands: one line, status 2,
# no client started, nothing made.
for conn in 'dbname=gas password=Pw-s3cret' \
    "postgresql://postgres:Pw-s3cret@127.0.0.1:$PGPORT/gas" \
    "postgres://127.0.0.1:$PGPORT/gas?password=Pw-s3cret"; do
	expect_status 2 env PATH="$T/shim:$PATH" "$COFFER" snapshot \
	    -r "$REPO" --postgres "$conn"
	expect_line '--postgres: the connection settings hold a password.*~/.pgpass \(or a service file\)'
	! grep -q s3cret "$T/err" || fail "the password was printed"
	expect_status 2 env PATH="$T/shim:$PATH" "$COFFER" restore \
	    -r "$REPO" latest --source gasdb --to-postgres \
	    "$(echo "$conn" | sed 's,/gas,/gas_pw,; s,=gas ,=gas_pw ,')" --create
	expect_line '--to-postgres: the connection settings hold a password.*~/.pgpass \(or a service file\)'
	! grep -q s3cret "$T/err" || fail "the password was printed"
done
[ ! -e "$T/shim.argv" ] || fail "a client ran: $(cat "$T/shim.argv")"
[ "$(one -c "SELECT count(*) FROM pg_database WHERE datname = 'gas_pw'")" = 0 ] ||
	fail "a refused password made a database"
# A connection string libpq would refuse is refused the same way.
expect_status 2 "$COFFER" snapshot -r "$REPO" --postgres "dbname='gas"
expect_line '--postgres: unterminated quoted value of "dbname"'

# 5. restore --to-postgres with a URI and with a bare name.
expect_status 0 R latest --source gasdb --create \
    --to-postgres "postgresql://postgres@127.0.0.1:$PGPORT/gas_uri?connect_timeout=10"
expect_grep 'into PostgreSQL database gas_uri: .* \(created\)' "$T/out"
expect_status 0 R latest --source gasdb --create --to-postgres gas_bare
expect_grep 'into PostgreSQL database gas_bare: .* \(created\)' "$T/out"
dumpof gas_uri "$T/uri.sql"
dumpof gas_bare "$T/bare.sql"
expect_same "$T/want.sql" "$T/uri.sql"
expect_same "$T/want.sql" "$T/bare.sql"
