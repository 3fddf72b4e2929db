#!/bin/sh
# coffer restore --source for SQLite sources: a database with a rollback
# journal and one in WAL mode are snapshotted (the online backup API), and
# --target gives back, at the top of the target, a .db file whose .dump is
# the original's and that passes integrity_check; --stdout writes the same
# bytes, --tar lists them at the top; --include is taken relative to the
# source; a database restore of a SQLite source is refused.
. "$(dirname "$0")/lib.sh"

need sqlite3 tar

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo
A=$T/app
mkdir "$A"

for db in state wal; do
	sqlite3 "$A/$db.db" <<'EOF'
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
	price NUMERIC, data BLOB, seen REAL);
CREATE INDEX items_name ON items (name);
CREATE TABLE log (item INTEGER, what TEXT);
CREATE TRIGGER items_ai AFTER INSERT ON items
	BEGIN INSERT INTO log VALUES (NEW.id, 'insert'); END;
CREATE VIEW dear AS SELECT name FROM items WHERE price > 10;
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 3000)
INSERT INTO items (name, price, data, seen)
	SELECT 'item ' || n || ' ✓ ö', n * 0.5, randomblob(64), n / 7.0 FROM s;
EOF
done
# One in WAL mode, changed after the switch.
sqlite3 "$A/wal.db" 'PRAGMA journal_mode = WAL' >/dev/null
sqlite3 "$A/wal.db" 'PRAGMA wal_autocheckpoint = 0;
	DELETE FROM items WHERE id % 3 = 0;
	UPDATE items SET name = upper(name) WHERE id < 100'
for db in state wal; do
	sqlite3 "$A/$db.db" .dump >"$T/$db.want"
done

expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE"
expect_status 0 "$COFFER" snapshot -r "$REPO" --sqlite "$A/state.db" \
    --sqlite "$A/wal.db"
R() { "$COFFER" restore -r "$REPO" latest "$@"; }

for db in state wal; do
	expect_status 0 R --source "$db" --target "$T/r-$db"
	[ "$(ls "$T/r-$db")" = "$db.db" ] ||
		fail "--source $db --target holds: $(ls "$T/r-$db")"
	[ "$(sqlite3 "$T/r-$db/$db.db" 'PRAGMA integrity_check')" = ok ] ||
		fail "$db: integrity_check failed"
	sqlite3 "$T/r-$db/$db.db" .dump >"$T/$db.got"
	expect_same "$T/$db.want" "$T/$db.got"
	# The dump file itself, for a pipe.
	expect_status 0 R --source "$db" --stdout
	expect_same "$T/r-$db/$db.db" "$T/out"
done

# A tar stream of the source: its files at the top.
R --source state --tar - | tar -tf - >"$T/list"
expect_eq "tar listing" "state.db" "$(grep -v '^\./$' "$T/list")"
# --include in the snapshot's terms, under the source.
expect_status 0 R --source state --target "$T/inc" --include /state/state.db
expect_same "$T/r-state/state.db" "$T/inc/state.db"
expect_status 2 R --source state --target "$T/inc2" --include /wal/wal.db
expect_grep 'not in source state' "$T/err"
expect_status 2 R --source state --to-postgres 'dbname=x'
expect_grep 'source state is a sqlite source, not postgres' "$T/err"
