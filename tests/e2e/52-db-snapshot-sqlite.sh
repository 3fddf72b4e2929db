#!/bin/sh
# SQLite sources, in WAL and in rollback-journal mode, while a writer
# commits transfers between accounts: `coffer snapshot --sqlite` copies
# the database with the online backup API; the copy restored from the
# repository passes integrity_check and has the exact sum.  No temp file
# is left behind.
. "$(dirname "$0")/lib.sh"
need sqlite3

export COFFER_TEST_WEAK_KDF=1
umask 077
printf 'sqlite pass\n' >"$T/pw"
R="$T/repo"
P="--password-file=$T/pw"
"$COFFER" init -r "$R" "$P" >/dev/null
mkdir -p "$T/cache"

for mode in wal delete; do
	db="$T/$mode/state.db"
	mkdir -p "$T/$mode"
	sqlite3 "$db" >/dev/null <<SQL
PRAGMA journal_mode=$mode;
CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
CREATE TABLE moves (n INTEGER PRIMARY KEY, amount INTEGER NOT NULL,
    pad TEXT);
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g
    WHERE i < 50000) INSERT INTO accounts SELECT i, 1000 FROM g;
SQL
	awk 'BEGIN {
		srand(7); print ".timeout 20000"; print "PRAGMA synchronous=OFF;"
		# No checkpoints: in WAL mode the moves live in the WAL only,
		# which a copy of the database file would miss.
		print "PRAGMA wal_autocheckpoint=0;"
		for (i = 0; i < 400000; i++) {
			a = int(rand() * 50000) + 1; b = int(rand() * 50000) + 1
			x = int(rand() * 100)
			printf "BEGIN IMMEDIATE; UPDATE accounts SET balance = balance - %d - 1 WHERE id = %d; UPDATE accounts SET balance = balance + %d WHERE id = %d; INSERT INTO moves (amount, pad) VALUES (%d, hex(randomblob(64))); COMMIT;\n", x, a, x, b, x
		}
	}' >"$T/$mode/writes.sql"
	sqlite3 -bail "$db" <"$T/$mode/writes.sql" >/dev/null 2>"$T/$mode/writer.err" &
	W=$!
	count="sqlite3 $db '.timeout 20000' 'SELECT count(*) FROM moves'"
	wait_for 30 "the $mode writer's first moves" sh -c "[ \$($count) -gt 200 ]"
	before=$(sh -c "$count")
	expect_status 0 "$COFFER" snapshot -r "$R" "$P" --cache-dir "$T/cache" \
	    --sqlite "$db"
	expect_grep '^  state +sqlite +ok ' "$T/out"
	after=$(sh -c "$count")
	e2e_alive "$W" || fail "the $mode writer stopped: $(cat "$T/$mode/writer.err")"
	kill "$W"
	wait "$W" || true
	[ "$after" -gt "$before" ] || fail "$mode writer stood still"

	"$COFFER" restore -r "$R" "$P" latest --stdout /state/state.db \
	    >"$T/$mode/restored.db"
	expect_eq "$mode integrity" ok \
	    "$(sqlite3 "$T/$mode/restored.db" 'PRAGMA integrity_check')"
	# A fee of 1 per move: balances + moves is the invariant.
	expect_eq "$mode balances + fees, and rows" "50000000|50000" \
	    "$(sqlite3 "$T/$mode/restored.db" 'SELECT sum(balance) +
	        (SELECT count(*) FROM moves), count(*) FROM accounts')"
	n=$(sqlite3 "$T/$mode/restored.db" 'SELECT count(*) FROM moves')
	[ "$n" -ge "$before" ] && [ "$n" -le "$after" ] ||
	    fail "$mode: restored moves $n not between $before and $after"
	expect_status 0 "$COFFER" ls -r "$R" "$P" latest /state
	expect_eq "$mode tree" state.db "$(cat "$T/out")"
done

# Once the writer is gone, a snapshot is byte for byte what SQLite's own
# backup gives (compared by their .dump).
sqlite3 "$T/wal/state.db" ".backup $T/want.db"
expect_status 0 "$COFFER" snapshot -r "$R" "$P" --cache-dir "$T/cache" \
    --sqlite "$T/wal/state.db"
"$COFFER" restore -r "$R" "$P" latest --stdout /state/state.db >"$T/got.db"
expect_eq "dump of the copy" "$(sqlite3 "$T/want.db" .dump | cksum)" \
    "$(sqlite3 "$T/got.db" .dump | cksum)"

# A missing database fails the source, naming it.
expect_status 1 "$COFFER" snapshot -r "$R" "$P" --cache-dir "$T/cache" \
    --sqlite "$T/none.db"
expect_grep "^coffer: source none failed: .*none.db: No such file" "$T/err"

# No backup copy is left in the cache or TMPDIR.
left=$(find "$T/cache" "$TMPDIR" -name 'coffer-sqlite-*' | wc -l)
expect_eq "temp copies left" 0 "$left"
