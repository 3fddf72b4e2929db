#!/bin/sh
# coffer restore --source/--to-mysql against a real MariaDB: a database
# with utf8mb4 text, blobs, decimals, JSON, an index, a foreign key, a
# view, a procedure, a trigger and an event is snapshotted and restored
# into a new database (--create) through a defaults file holding a
# password; mariadb-dump of both must be equal.  A non-empty or missing
# target, a client that fails half way (exit 1 with its error), wrong
# credentials (exit 1), and a flipped byte in the dump (exit 4, nothing
# sent, the database made for it dropped again).
. "$(dirname "$0")/lib.sh"

need od dd mariadb-dump

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo

start_mariadb
M() { mariadb --defaults-file="$MYSQL_CNF" "$@"; }
dumpof() {
	mariadb-dump --defaults-file="$MYSQL_CNF" --skip-dump-date --routines \
	    --events --triggers --hex-blob "$1" | sed "s/$1/DB/g" >"$2"
}
ntables() {
	M -N -e "SELECT COUNT(*) FROM information_schema.tables
	    WHERE table_schema = '$1'"
}
dbexists() {
	[ "$(M -N -e "SELECT COUNT(*) FROM information_schema.schemata
	    WHERE schema_name = '$1'")" = 1 ]
}
expect_line() {
	[ "$(wc -l <"$T/err")" -eq 1 ] ||
		fail "expected one line on stderr, got: $(cat "$T/err")"
	expect_grep "$1" "$T/err"
}

M <<'EOF'
CREATE DATABASE billing;
USE billing;
CREATE TABLE customers (
	id INT AUTO_INCREMENT PRIMARY KEY,
	name VARCHAR(100) NOT NULL,
	note TEXT,
	photo BLOB,
	balance DECIMAL(12,2),
	created DATETIME(6),
	meta JSON,
	KEY idx_name (name)
) ENGINE=InnoDB;
CREATE TABLE audit (
	id INT AUTO_INCREMENT PRIMARY KEY,
	customer INT,
	what VARCHAR(20),
	FOREIGN KEY (customer) REFERENCES customers (id)
) ENGINE=InnoDB;
CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW
	INSERT INTO audit (customer, what) VALUES (NEW.id, 'insert');
INSERT INTO customers (name, note, photo, balance, created, meta)
SELECT CONCAT('Zoë 😀 ', seq), REPEAT('ä€', seq % 50),
    UNHEX(CONCAT(MD5(seq), '00ff', MD5(seq + 1))), seq * 1.25,
    '2026-01-01 00:00:00.123456' + INTERVAL seq MINUTE,
    JSON_OBJECT('n', seq, 'tags', JSON_ARRAY('a', seq))
FROM seq_1_to_5000;
CREATE VIEW rich AS SELECT name, balance FROM customers WHERE balance > 100;
DELIMITER ;;
CREATE PROCEDURE add_customer(IN n VARCHAR(100))
BEGIN
	INSERT INTO customers (name, balance, created) VALUES (n, 0, NOW(6));
END ;;
DELIMITER ;
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00'
	DO DELETE FROM audit WHERE id < 0;
CREATE USER 'restorer'@'127.0.0.1' IDENTIFIED BY 'hunter2-not-on-argv';
GRANT ALL ON *.* TO 'restorer'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER 'limited'@'127.0.0.1' IDENTIFIED BY 'lim';
GRANT SELECT, INSERT, CREATE, DROP, ALTER, LOCK TABLES, CREATE VIEW,
	REFERENCES, INDEX ON billing_lim.* TO 'limited'@'127.0.0.1';
EOF
[ "$(M -N -e 'SELECT COUNT(*) FROM billing.audit')" = 5000 ] ||
	fail "the trigger did not run"
dumpof billing "$T/want.sql"
expect_grep 'CREATE.*TRIGGER' "$T/want.sql"
expect_grep 'CREATE.*EVENT' "$T/want.sql"
expect_grep 'CREATE.*PROCEDURE' "$T/want.sql"

# Client settings with a password: only a file names it.
cnf() {
	cat >"$T/$1.cnf" <<EOF
[client]
user = $1
password = $2
host = 127.0.0.1
port = $MYSQL_PORT
default-character-set = utf8mb4
EOF
	chmod 0600 "$T/$1.cnf"
}
cnf restorer hunter2-not-on-argv
cnf limited lim
cnf wrong nope

expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE" \
    --pack-size 1M --chunk-size 64K
expect_status 0 "$COFFER" snapshot -r "$REPO" --mysql billing \
    --defaults-file "$MYSQL_CNF"
R() { "$COFFER" restore -r "$REPO" latest --source billing "$@"; }

# ------------------------------------------------------------ round trip

expect_status 0 R --to-mysql billing_restored --defaults-file "$T/restorer.cnf" \
    --create
expect_grep 'into MySQL database billing_restored: .* \(created\)' "$T/out"
dumpof billing_restored "$T/got.sql"
expect_same "$T/want.sql" "$T/got.sql"
# The raw dump, for the mariadb client by hand.
expect_status 0 R --stdout
expect_grep 'CREATE TABLE `customers`' "$T/out"

# ------------------------------------------------------------ refusals

expect_status 2 R --to-mysql billing_restored --defaults-file "$T/restorer.cnf"
expect_line 'database billing_restored is not empty .*--clean'
expect_status 2 R --to-mysql billing_restored --defaults-file "$T/restorer.cnf" \
    --create
expect_line 'database billing_restored exists; leave out --create'
expect_status 2 R --to-mysql absent --defaults-file "$T/restorer.cnf"
expect_line 'database absent does not exist; add --create'
expect_status 2 R --to-postgres 'dbname=x'
expect_line 'source billing is a mysql source, not postgres'
expect_status 1 R --to-mysql x --defaults-file "$T/wrong.cnf" --create
expect_line 'exited with status 1: ERROR 1045 .*Access denied'
dbexists x && fail "wrong credentials made a database"

# --clean: the dump's DROP TABLE IF EXISTS replaces what is there.
M -e "DELETE FROM billing_restored.audit WHERE id > 10"
expect_status 0 R --to-mysql billing_restored --defaults-file "$T/restorer.cnf" \
    --clean
dumpof billing_restored "$T/got.sql"
expect_same "$T/want.sql" "$T/got.sql"

# The client fails half way (no TRIGGER privilege): its error, exit 1.
M -e "CREATE DATABASE billing_lim"
expect_status 1 R --to-mysql billing_lim --defaults-file "$T/limited.cnf"
expect_line 'exited with status 1: ERROR 1142 .*TRIGGER command denied'

# ------------------------------------------------------------ damage

# A flipped byte in the dump: exit 4, and nothing reached the server (the
# dump is checked whole before the client gets a byte).
for pack in "$REPO"/data/*/*; do
	off=$(($(stat -c '%s' "$pack") / 3))
	b=$(od -An -tu1 -j "$off" -N1 "$pack" | tr -d ' ')
	chmod u+w "$pack"
	printf "$(printf '\\%03o' $(((b + 1) % 256)))" |
		dd of="$pack" bs=1 seek="$off" conv=notrunc 2>/dev/null
done
M -e "CREATE DATABASE billing_dmg"
expect_status 4 R --to-mysql billing_dmg --defaults-file "$T/restorer.cnf"
expect_grep 'stopped before anything was sent' "$T/err"
[ "$(ntables billing_dmg)" = 0 ] || fail "a damaged dump reached the server"
expect_status 4 R --to-mysql billing_dmg2 --defaults-file "$T/restorer.cnf" \
    --create
dbexists billing_dmg2 && fail "a damaged restore kept the database it made"

# The original is untouched.
dumpof billing "$T/now.sql"
expect_same "$T/want.sql" "$T/now.sql"
