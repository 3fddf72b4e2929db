#!/bin/sh
# A PostgreSQL source under load: while a writer keeps moving money
# between accounts in committed transactions, `coffer snapshot --postgres`
# streams pg_dump into the repository; the dump restored into a new
# database has the exact sum and a plausible row count.  Then a config
# source with globals and hooks, and the layout of the tree and manifest.
. "$(dirname "$0")/lib.sh"
need pg_restore

export COFFER_TEST_WEAK_KDF=1
umask 077
printf 'pg pass\n' >"$T/pw"
R="$T/repo"
P="--password-file=$T/pw"
start_pg
"$COFFER" init -r "$R" "$P" >/dev/null

createdb gas
psql -X -q -v ON_ERROR_STOP=1 -d gas <<'SQL'
CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO accounts SELECT g, 1000 FROM generate_series(1, 200000) g;
CREATE TABLE moves (n bigserial PRIMARY KEY, amount int NOT NULL);
CREATE PROCEDURE mover() LANGUAGE plpgsql AS $$
DECLARE a int; b int; x int;
BEGIN
	LOOP
		a := 1 + floor(random() * 200000);
		b := 1 + floor(random() * 200000);
		x := floor(random() * 100);
		UPDATE accounts SET balance = balance - x - 1 WHERE id = a;
		UPDATE accounts SET balance = balance + x WHERE id = b;
		INSERT INTO moves (amount) VALUES (x);
		COMMIT;
	END LOOP;
END $$;
SQL

moves() { psql -X -At -d gas -c 'SELECT count(*) FROM moves'; }
psql -X -q -d gas -c 'CALL mover()' >/dev/null 2>&1 &
W=$!
wait_for 30 "the writer's first moves" sh -c "[ \$(psql -X -At -d gas -c 'SELECT count(*) FROM moves') -gt 100 ]"
before=$(moves)
expect_status 0 "$COFFER" snapshot -r "$R" "$P" --no-cache \
    --postgres "dbname=gas"
expect_grep '^  gas +postgres +ok ' "$T/out"
after=$(moves)
[ "$after" -gt "$before" ] || fail "the writer stood still ($before, $after)"
psql -X -q -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
    WHERE query = 'CALL mover()'" >/dev/null
wait "$W" || true

# The tree: /gas/gas.pgdump, 0600, and nothing else.
expect_status 0 "$COFFER" ls -r "$R" "$P" latest /gas
expect_eq "entries of /gas" "gas.pgdump" "$(cat "$T/out")"
expect_status 0 "$COFFER" snapshots -r "$R" "$P" --json
python3 - "$T/out" "$(psql -X -At -c 'SHOW server_version')" <<'PY'
import json, sys
snap = json.load(open(sys.argv[1]))[-1]
(s,) = snap["sources"]
assert s["name"] == "gas" and s["type"] == "postgres", s
assert s["status"] == "ok" and s["error"] is None, s
assert s["database"] == "gas" and s["path"] == "/gas", s
assert s["dump"] == "/gas/gas.pgdump", s
assert s["server_version"] == sys.argv[2], s
assert s["bytes"] > 1000000 and s["start"] <= s["end"], s
assert snap["paths"] == ["/gas"], snap["paths"]
PY

# Restore the dump into a new database: the sum is exact.
createdb gas_restored
"$COFFER" restore -r "$R" "$P" latest --stdout /gas/gas.pgdump >"$T/gas.pgdump"
pg_restore -l "$T/gas.pgdump" >/dev/null || fail "not a custom-format dump"
"$COFFER" restore -r "$R" "$P" latest --stdout /gas/gas.pgdump |
    pg_restore -d gas_restored --exit-on-error ||
    fail "pg_restore of the dump failed"
# Each move also pays a fee of 1 into moves: exact only if both tables
# come from one snapshot of the database.
got=$(psql -X -At -d gas_restored -c 'SELECT sum(balance) +
    (SELECT count(*) FROM moves), count(*) FROM accounts')
expect_eq "balances + fees, and rows" "200000000|200000" "$got"
n=$(psql -X -At -d gas_restored -c 'SELECT count(*) FROM moves')
[ "$n" -ge "$before" ] && [ "$n" -le "$after" ] ||
    fail "restored moves $n not between $before and $after"
# The dump is uncompressed custom format (-Z0): what pg_dump -Z0 gives
# of the restored database lists the same objects.
pg_restore -l "$T/gas.pgdump" | grep -E 'TABLE DATA|PROCEDURE' |
    sed 's/^[0-9; ]*//' | sort >"$T/want"
pg_dump -Fc -Z0 -d gas_restored | pg_restore -l | grep -E 'TABLE DATA|PROCEDURE' |
    sed 's/^[0-9; ]*//' | sort >"$T/got"
expect_same "$T/want" "$T/got"

# A config source with globals and hooks; the repository from the
# config's only [repository].
cat >"$T/coffer.conf" <<EOF2
[repository main]
path = $R
password_file = $T/pw

[source gasdb]
type = postgres
database = gas
connection = host=$PG_SOCKET_DIR port=$PGPORT user=postgres
globals = yes
before = echo "\$COFFER_HOOK \$COFFER_SOURCE \$COFFER_REPOSITORY" >$T/hooks
after = echo "\$COFFER_HOOK \$COFFER_SOURCE \$COFFER_STATUS" >>$T/hooks
EOF2
expect_status 0 "$COFFER" snapshot -c "$T/coffer.conf" --no-cache --source gasdb
printf 'before gasdb main\nafter gasdb ok\n' >"$T/want"
expect_same "$T/want" "$T/hooks"
expect_status 0 "$COFFER" ls -c "$T/coffer.conf" -r main latest /gasdb
printf 'gas.pgdump\nglobals.sql\n' >"$T/want"
expect_same "$T/want" "$T/out"
"$COFFER" restore -c "$T/coffer.conf" -r main latest --stdout /gasdb/globals.sql >"$T/globals.sql"
# (less the random \restrict key of each dump)
pg_dumpall --globals-only | grep -v '^\\\(un\)*restrict ' >"$T/globals.want"
grep -v '^\\\(un\)*restrict ' "$T/globals.sql" >"$T/globals.got"
expect_grep 'CREATE ROLE postgres' "$T/globals.got"
expect_same "$T/globals.want" "$T/globals.got"
# pg_dumpall's random key is replaced by one stable per repository and
# source, so an unchanged cluster's globals.sql is unchanged too.
key=$(sed -n 's/^\\restrict \([0-9a-f]\{64\}\)$/\1/p' "$T/globals.sql")
[ -n "$key" ] || fail "globals.sql has no stable restrict key: $(head "$T/globals.sql")"
expect_grep "^\\\\unrestrict $key\$" "$T/globals.sql"
expect_status 0 "$COFFER" snapshots -c "$T/coffer.conf" -r main
prev=$(awk 'NR > 1 && /^[0-9a-f]{8} / { id = $1 } END { print id }' "$T/out")
expect_status 0 "$COFFER" snapshot -c "$T/coffer.conf" --no-cache --source gasdb
expect_status 0 "$COFFER" diff -c "$T/coffer.conf" -r main "$prev" latest
if grep -q 'globals.sql' "$T/out"; then
	fail "globals.sql changed between two snapshots: $(cat "$T/out")"
fi

# A password in the conninfo is refused before anything runs.
expect_status 2 "$COFFER" snapshot -r "$R" "$P" --postgres "dbname=gas password=x"
expect_grep 'password.*pgpass' "$T/err"
