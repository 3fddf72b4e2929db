# start_pg gives a real PostgreSQL, as an unprivileged user when root, on
# loopback and its own socket, where the test can create, write and read
# back; a taken port is retried.
. "$(dirname "$0")/lib.sh"

# Something already listens on the first port start_pg will try.
start_sshd
E2E_TRY_PORTS=$SSHD_PORT
start_pg
[ "$PGPORT" != "$SSHD_PORT" ] || fail "postgres got the taken port"

expect_status 0 psql -X -Atc 'SELECT 1'
expect_eq "SELECT 1" 1 "$(cat "$T/out")"

psql -X -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE meter (id int PRIMARY KEY, reading numeric NOT NULL, note text);
INSERT INTO meter VALUES (1, 12.5, 'hall'), (2, 7, NULL), (3, 0.001, 'Zähler');
SQL
psql -X -At -F '|' -c 'SELECT id, reading, note FROM meter ORDER BY id' \
    >"$T/got"
printf '1|12.5|hall\n2|7|\n3|0.001|Zähler\n' >"$T/want"
expect_same "$T/want" "$T/got"

# Only loopback, the socket in $T too, and never as root.
expect_eq listen_addresses 127.0.0.1 "$(psql -X -Atc 'SHOW listen_addresses')"
expect_status 0 psql -X -h "$PG_SOCKET_DIR" -Atc 'SELECT count(*) FROM meter'
expect_eq "rows over the socket" 3 "$(cat "$T/out")"
if [ "$(id -u)" -eq 0 ]; then
	owner=$(ps -o user= -p "$PG_PID")
	[ "$owner" != root ] || fail "postgres runs as root"
fi
