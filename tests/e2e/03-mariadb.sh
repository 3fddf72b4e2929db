# start_mariadb gives a real MariaDB, as an unprivileged user when root, on
# loopback and its own socket, with a client defaults file; InnoDB tables
# can be created, written and read back; a taken port is retried.
. "$(dirname "$0")/lib.sh"

# Something already listens on the first port start_mariadb will try.
start_sshd
E2E_TRY_PORTS=$SSHD_PORT
start_mariadb
[ "$MYSQL_PORT" != "$SSHD_PORT" ] || fail "mariadbd got the taken port"

sql() {
	mariadb --defaults-file="$MYSQL_CNF" -N -B "$@"
}

expect_status 0 sql -e 'SELECT 1'
expect_eq "SELECT 1" 1 "$(cat "$T/out")"
expect_eq "my.cnf mode" 600 "$(stat -c %a "$MYSQL_CNF")"

sql <<'SQL'
CREATE DATABASE gas;
CREATE TABLE gas.meter (id INT PRIMARY KEY, reading DECIMAL(10,3) NOT NULL,
    note VARCHAR(40)) ENGINE=InnoDB;
INSERT INTO gas.meter VALUES (1, 12.5, 'hall'), (2, 7, NULL),
    (3, 0.001, 'Zähler');
SQL
expect_eq engine InnoDB "$(sql -e "SELECT engine FROM information_schema.tables
    WHERE table_schema = 'gas' AND table_name = 'meter'")"
sql -e 'SELECT id, reading, note FROM gas.meter ORDER BY id' >"$T/got"
printf '1\t12.500\thall\n2\t7.000\tNULL\n3\t0.001\tZähler\n' >"$T/want"
expect_same "$T/want" "$T/got"

# Over TCP by default, over the socket with --host=localhost; never as root.
me="SELECT host FROM information_schema.processlist WHERE id = CONNECTION_ID()"
case $(sql -e "$me") in
127.0.0.1:*) ;;
*) fail "the client defaults do not connect over TCP: $(sql -e "$me")" ;;
esac
expect_status 0 sql --host=localhost -e "$me; SELECT COUNT(*) FROM gas.meter"
printf 'localhost\n3\n' >"$T/want"
expect_same "$T/want" "$T/out"
if [ "$(id -u)" -eq 0 ]; then
	owner=$(ps -o user= -p "$MYSQL_PID")
	[ "$owner" != root ] || fail "mariadbd runs as root"
fi
