#!/bin/sh
# A MariaDB (InnoDB) source under load: a stored procedure keeps moving
# money between accounts and a fee into a second table, one transaction
# per move, while `coffer snapshot
# --mysql` streams mariadb-dump --single-transaction into the repository;
# the dump loaded into a database of another name has the exact sum.
# Wrong credentials fail the source, naming it and the client's error.
. "$(dirname "$0")/lib.sh"

export COFFER_TEST_WEAK_KDF=1
umask 077
printf 'mysql pass\n' >"$T/pw"
R="$T/repo"
P="--password-file=$T/pw"
start_mariadb
"$COFFER" init -r "$R" "$P" >/dev/null

sql() {
	mariadb --defaults-file="$MYSQL_CNF" -N -B "$@"
}
sql <<'SQL'
CREATE DATABASE bank;
USE bank;
CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL)
    ENGINE=InnoDB;
INSERT INTO accounts SELECT seq, 1000 FROM seq_1_to_100000;
CREATE TABLE moves (n BIGINT AUTO_INCREMENT PRIMARY KEY, amount INT NOT NULL)
    ENGINE=InnoDB;
DELIMITER //
CREATE PROCEDURE mover()
BEGIN
	DECLARE a, b, x INT;
	LOOP
		SET a = 1 + FLOOR(RAND() * 100000), b = 1 + FLOOR(RAND() * 100000),
		    x = FLOOR(RAND() * 100);
		START TRANSACTION;
		UPDATE accounts SET balance = balance - x - 1 WHERE id = a;
		UPDATE accounts SET balance = balance + x WHERE id = b;
		INSERT INTO moves (amount) VALUES (x);
		COMMIT;
	END LOOP;
END //
DELIMITER ;
SQL

moves() { sql -e 'SELECT count(*) FROM bank.moves'; }
sql bank -e 'CALL mover()' >/dev/null 2>&1 &
W=$!
wait_for 30 "the writer's first moves" sh -c "[ \$(mariadb --defaults-file=$MYSQL_CNF -NBe 'SELECT count(*) FROM bank.moves') -gt 100 ]"
before=$(moves)
expect_status 0 "$COFFER" snapshot -r "$R" "$P" --no-cache \
    --mysql bank --defaults-file "$MYSQL_CNF"
expect_grep '^  bank +mysql +ok ' "$T/out"
after=$(moves)
[ "$after" -gt "$before" ] || fail "the writer stood still ($before, $after)"
# The writer is the only other session using bank.
sql -e "SELECT id FROM information_schema.processlist
    WHERE db = 'bank' AND id <> CONNECTION_ID()" |
    while read -r id; do sql -e "KILL $id"; done
wait "$W" || true

expect_status 0 "$COFFER" ls -r "$R" "$P" latest /bank
expect_eq "entries of /bank" bank.sql "$(cat "$T/out")"
expect_status 0 "$COFFER" snapshots -r "$R" "$P" --json
python3 - "$T/out" "$(sql -e 'SELECT VERSION()')" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))[-1]["sources"][0]
assert (s["name"], s["type"], s["status"]) == ("bank", "mysql", "ok"), s
assert s["dump"] == "/bank/bank.sql" and s["database"] == "bank", s
assert s["server_version"] == sys.argv[2], s
PY

# Into another database: the dump names none of its own.
sql -e 'CREATE DATABASE bank_restored'
"$COFFER" restore -r "$R" "$P" latest --stdout /bank/bank.sql |
    mariadb --defaults-file="$MYSQL_CNF" bank_restored ||
    fail "loading the dump failed"
# Each move pays a fee of 1 into the other table: the sum holds across
# both only if they were dumped in one transaction.
expect_eq "balances + fees, and rows" "100000000	100000" \
    "$(sql -e 'SELECT sum(balance) + (SELECT count(*) FROM bank_restored.moves),
        count(*) FROM bank_restored.accounts')"
n=$(sql -e 'SELECT count(*) FROM bank_restored.moves')
[ "$n" -ge "$before" ] && [ "$n" -le "$after" ] ||
    fail "restored moves $n not between $before and $after"
expect_eq "the procedure came along" mover \
    "$(sql -e "SELECT routine_name FROM information_schema.routines
        WHERE routine_schema = 'bank_restored'")"
expect_eq "the original is untouched" 100000 \
    "$(sql -e 'SELECT count(*) FROM bank.accounts')"

# Wrong credentials: the source fails with the client's words.
sed 's/^user.*/user = intruder/' "$MYSQL_CNF" >"$T/bad.cnf"
grep -q '^user = intruder' "$T/bad.cnf" || fail "no user line in $MYSQL_CNF"
expect_status 1 "$COFFER" snapshot -r "$R" "$P" --no-cache \
    --mysql bank --defaults-file "$T/bad.cnf"
expect_grep "^coffer: source bank failed: mariadb-dump exited with status 2: .*Access denied for user 'intruder'" "$T/err"
expect_status 0 "$COFFER" check -r "$R" "$P" --read-data
