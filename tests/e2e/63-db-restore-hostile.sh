#!/bin/sh
# Database restores that meet a hostile snapshot or a kill -9.
# - A globals.sql that carries psql meta-commands (\! touch FILE before and
#   after pg_dumpall's own \restrict pair, one mid-line, \o |cmd) runs none
#   of them: the restore stops with status 1 naming the line, before the
#   database is made.  A psql that predates \restrict is not run at all.
# - A kill -9 while pg_restore --jobs reads its staged dump leaves no dump
#   on disk: it was a 0600 file without a name in a 0700 directory, and
#   that empty directory is all that is left; the next restore removes it
#   (and other dead restores' ones, not a live one's or another user's).
. "$(dirname "$0")/lib.sh"

"$COFFER" help restore 2>/dev/null | grep -q -- --to-postgres ||
	skip "coffer restore has no --to-postgres yet"
need pg_dumpall stat readlink

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo

start_pg
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
one() { psql -X -At -v ON_ERROR_STOP=1 "$@"; }
dbexists() {
	[ "$(one -c "SELECT count(*) FROM pg_database
	    WHERE datname = '$1'")" = 1 ]
}
# pg_dump of database $1, its name made DB, without pg_dump's \restrict.
dumpof() {
	pg_dump --no-sync -d "$1" |
		sed -e "s/$1/DB/g" -e '/^\\\(un\)\{0,1\}restrict /d' >"$2"
}
R() { "$COFFER" restore -r "$REPO" "$snap" "$@"; }

q -c "CREATE ROLE app"
createdb gas
q -d gas -c "CREATE TABLE t (x int PRIMARY KEY, y text);
    INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
    ALTER TABLE t OWNER TO app"
dumpof gas "$T/want.sql"

cat >"$T/coffer.conf" <<EOF
[source gasdb]
type = postgres
database = gas
globals = yes
EOF
expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE"
# A snapshot from the real pg_dumpall, whose globals.sql has its own
# \restrict pair, for the restores that must work.
expect_status 0 "$COFFER" snapshot -c "$T/coffer.conf" -r "$REPO" \
    --source gasdb
good=$(sed -n 's/^snapshot \([0-9a-f]*\) saved.*/\1/p' "$T/out")
[ -n "$good" ] || fail "no snapshot id in: $(cat "$T/out")"

# ------------------------------------------------------------ \! in globals

# The snapshot a key holder could write: pg_dumpall's real output with
# meta-commands around it (a pg_dumpall in front of the real one on PATH).
mkdir "$T/evil"
cat >"$T/evil/pg_dumpall" <<EOF
#!/bin/sh
printf '%s\n' '\\! touch $T/pwned-top'
"$PG_BIN/pg_dumpall" "\$@" || exit
printf '%s\n' '\\! touch $T/pwned-after' 'SELECT 1; \\! touch $T/pwned-mid' \
    '\\o |touch $T/pwned-pipe' 'SELECT 1;'
EOF
chmod +x "$T/evil/pg_dumpall"
expect_status 0 env PATH="$T/evil:$PATH" "$COFFER" snapshot \
    -c "$T/coffer.conf" -r "$REPO" --source gasdb
snap=latest
expect_status 0 R --stdout /gasdb/globals.sql
expect_grep '^\\! touch .*pwned-top' "$T/out"
expect_grep '^\\unrestrict [A-Za-z0-9]+$' "$T/out"

q -d gas -c "ALTER TABLE t OWNER TO postgres" -c "DROP ROLE app"
expect_status 1 R --source gasdb --to-postgres 'dbname=gas_evil' --create \
    --globals
tail -n 1 "$T/err" >"$T/last"
expect_grep '^coffer: restoring the globals of gasdb: globals.sql line 1: psql refused it \(backslash commands are restricted; only \\unrestrict is allowed\); coffer runs no psql meta-commands from a dump$' "$T/last"
for f in top after mid pipe; do
	[ ! -e "$T/pwned-$f" ] || fail "globals.sql ran a shell command ($f)"
done
dbexists gas_evil && fail "a refused globals.sql went on to make the database"

# A psql without \restrict is not trusted with globals.sql at all.
mkdir "$T/old"
cat >"$T/old/psql" <<EOF
#!/bin/sh
if [ "\$1" = --version ]; then
	echo 'psql (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)'
	exit 0
fi
echo "\$*" >>"$T/old.argv"
exec "$PG_BIN/psql" "\$@"
EOF
chmod +x "$T/old/psql"
expect_status 1 env PATH="$T/old:$PATH" "$COFFER" restore -r "$REPO" latest \
    --source gasdb --to-postgres 'dbname=gas_old' --create --globals
expect_grep '^coffer: restoring the globals of gasdb: psql \(PostgreSQL\) 15.13 .* cannot be told to refuse the meta-commands of a dump .* upgrade the PostgreSQL client, or leave out --globals' "$T/err"
[ ! -e "$T/old.argv" ] || fail "an old psql was run: $(cat "$T/old.argv")"
[ ! -e "$T/pwned-top" ] || fail "an old psql ran globals.sql"
dbexists gas_old && fail "a refused psql went on to make the database"

# The real pg_dumpall's globals.sql, with its own \restrict pair, still
# brings the role back.
snap=$good
expect_status 0 R --stdout /gasdb/globals.sql
expect_grep '^\\restrict [A-Za-z0-9]+$' "$T/out"
q -d gas -c "ALTER TABLE t OWNER TO postgres" -c "DROP ROLE IF EXISTS app"
expect_status 0 R --source gasdb --to-postgres 'dbname=gas_glob' --create \
    --globals
[ "$(one -c "SELECT count(*) FROM pg_roles WHERE rolname = 'app'")" = 1 ] ||
	fail "--globals did not bring role app back"
dumpof gas_glob "$T/got.sql"
expect_same "$T/want.sql" "$T/got.sql"

# ------------------------------------------------------------ kill -9

# pg_restore --jobs waits for a lock on the table it must drop, reading the
# dump coffer staged; coffer is killed there.
createdb gas_kill
q -d gas_kill -c "CREATE TABLE t (x int)"
psql -X -q -d gas_kill -c "BEGIN; LOCK TABLE t; SELECT pg_sleep(300)" \
    >/dev/null 2>&1 &
holder=$!
wait_for 30 "the lock holder" sh -c "[ \"\$(psql -X -At -d gas_kill -c \"
    SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
    WHERE c.relname = 't' AND l.mode = 'AccessExclusiveLock'
    AND l.granted\")\" -ge 1 ]"
"$COFFER" restore -r "$REPO" "$snap" --source gasdb \
    --to-postgres 'dbname=gas_kill' --clean --jobs 2 \
    >"$T/kill.out" 2>"$T/kill.err" &
cpid=$!
wait_for 30 "pg_restore waiting for the lock" sh -c "[ \"\$(psql -X -At -c \"
    SELECT count(*) FROM pg_stat_activity WHERE datname = 'gas_kill'
    AND application_name = 'pg_restore' AND wait_event_type = 'Lock'\")\" \
    -ge 1 ]"
set -- "$T"/tmp/coffer-restore."$cpid".*
[ $# -eq 1 ] && [ -d "$1" ] ||
	fail "no private directory for the staged dump: $(ls -la "$T/tmp")"
dir=$1
expect_eq "mode of the private directory" 700 "$(stat -c %a "$dir")"
[ -z "$(ls -A "$dir")" ] || fail "the staged dump has a name: $(ls -A "$dir")"
staged=
for fd in /proc/"$cpid"/fd/*; do
	case $(readlink "$fd") in
	"$dir"/*) staged=$fd ;;
	esac
done
[ -n "$staged" ] || fail "coffer holds no staged file in $dir"
expect_eq "mode of the staged dump" 600 "$(stat -L -c %a "$staged")"
readlink "$staged" | grep -q ' (deleted)$' ||
	fail "the staged dump has a name: $(readlink "$staged")"
[ "$(stat -L -c %s "$staged")" -gt 0 ] || fail "the staged dump is empty"
prpid=$(ps -o pid= --ppid "$cpid" | tr -d ' ')
[ -n "$prpid" ] || fail "no pg_restore under coffer"
kill -KILL "$cpid"
wait "$cpid" || :
# pg_restore, left behind, fails once its connection is cut.
one -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
    WHERE datname = 'gas_kill' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" || :
e2e_wait_gone 30 "$prpid" || fail "pg_restore still runs"

# What the kill left: the empty 0700 directory, and no file anywhere.
[ -d "$dir" ] || fail "the private directory is gone already"
expect_eq "mode of the leftover" 700 "$(stat -c %a "$dir")"
[ -z "$(find "$T/tmp" -type f)" ] ||
	fail "a kill -9 left dump bytes on disk: $(find "$T/tmp" -type f)"

# Beside it: a dead restore's directory that kept its file (a kill between
# open and unlink), a live one's, and another user's.
sh -c 'exit 0' &
dead=$!
wait "$dead"
mkdir -m 700 "$T/tmp/coffer-restore.$dead.abcdef" \
    "$T/tmp/coffer-restore.$$.abcdef"
: >"$T/tmp/coffer-restore.$dead.abcdef/dump"
if [ "$(id -u)" -eq 0 ]; then
	mkdir -m 700 "$T/tmp/coffer-restore.$dead.nobody"
	chown nobody "$T/tmp/coffer-restore.$dead.nobody"
fi
expect_status 0 R --source gasdb --to-postgres 'dbname=gas_next' --create
expect_grep "removed $dir, left by a restore \(process $cpid\) that did not finish" "$T/err"
[ ! -e "$dir" ] || fail "the next restore left $dir"
[ ! -e "$T/tmp/coffer-restore.$dead.abcdef" ] ||
	fail "the next restore left a dead restore's directory"
[ -d "$T/tmp/coffer-restore.$$.abcdef" ] ||
	fail "the next restore removed a live restore's directory"
if [ "$(id -u)" -eq 0 ]; then
	[ -d "$T/tmp/coffer-restore.$dead.nobody" ] ||
		fail "the next restore removed another user's directory"
fi
dumpof gas_next "$T/got.sql"
expect_same "$T/want.sql" "$T/got.sql"
