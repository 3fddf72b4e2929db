#!/bin/sh
# Sources that fail: a dump program killed mid-stream, pg_dump's backend
# terminated while it waits, a database that is missing, a role that does
# not exist.  Each source fails alone, named with the program's stderr;
# its partial bytes are not in the tree; the exit status is 3 (some
# failed) or 1 (all failed, nothing saved); the repository stays valid
# and an earlier snapshot still restores byte for byte.
. "$(dirname "$0")/lib.sh"

export COFFER_TEST_WEAK_KDF=1
umask 077
printf 'fail pass\n' >"$T/pw"
R="$T/repo"
P="--password-file=$T/pw"
"$COFFER" init -r "$R" "$P" >/dev/null
mkdir -p "$T/src/conf"
printf 'setting = 1\n' >"$T/src/conf/app.conf"
head -c 300000 /dev/urandom >"$T/src/conf/blob"

# A good snapshot first.
expect_status 0 "$COFFER" snapshot -r "$R" "$P" --no-cache \
    --command "cat $T/src/conf/blob" --name blob.bin "$T/src"
good=$("$COFFER" snapshots -r "$R" "$P" --json | python3 -c \
    'import json,sys; print(json.load(sys.stdin)[-1]["id"])')

# Killed after writing 2 MB: the source fails, the files source is kept.
expect_status 3 "$COFFER" snapshot -r "$R" "$P" --no-cache \
    --command "head -c 2000000 /dev/urandom; echo dying >&2; kill -9 \$\$" \
    --name big.bin "$T/src"
expect_grep "^coffer: source big.bin failed: '.*' was killed by signal 9: dying$" "$T/err"
expect_grep '  big.bin +command +FAILED ' "$T/out"
expect_status 0 "$COFFER" ls -r "$R" "$P" latest /
expect_eq "top of the partial snapshot" "files" "$(cat "$T/out")"
expect_status 0 "$COFFER" snapshots -r "$R" "$P"
expect_grep 'failed big\.bin$' "$T/out"
expect_status 0 "$COFFER" snapshots -r "$R" "$P" --json
python3 - "$T/out" <<'PY'
import json, sys
snap = json.load(open(sys.argv[1]))[-1]
f, b = sorted(snap["sources"], key=lambda s: s["name"] != "big.bin")
assert f["status"] == "failed" and f["path"] is None and f["dump"] is None, f
assert "killed by signal 9: dying" in f["error"], f
assert b["name"] == "files" and b["status"] == "ok" and b["path"] == "/files", b
assert snap["paths"] == ["/files"], snap
PY

# Non-zero exit after all its output: failed as well, even though every
# byte arrived.
expect_status 1 "$COFFER" snapshot -r "$R" "$P" --no-cache \
    --command "cat $T/src/conf/blob; echo 'disk on fire' >&2; exit 5" --name late.bin
expect_grep "source late.bin failed: '.*' exited with status 5: disk on fire" "$T/err"
expect_grep 'no snapshot saved' "$T/err"

if command -v pg_dump >/dev/null 2>&1 &&
    [ -x "$(_e2e_pg_bin)/initdb" ] 2>/dev/null; then
	start_pg
	createdb gas
	psql -X -q -d gas -c 'CREATE TABLE t AS SELECT g AS x FROM generate_series(1, 1000) g'
	# Missing database and unknown role: all failed, exit 1, nothing saved.
	n0=$(ls "$R/snapshots" | wc -l)
	expect_status 1 "$COFFER" snapshot -r "$R" "$P" --postgres 'dbname=nope'
	expect_grep '^coffer: source nope failed: pg_dump exited with status 1: .*database "nope" does not exist' "$T/err"
	expect_status 3 "$COFFER" snapshot -r "$R" "$P" --no-cache \
	    --postgres 'dbname=gas user=intruder' "$T/src"
	expect_grep '^coffer: source gas failed: pg_dump exited with status 1: .*role "intruder" does not exist' "$T/err"
	n1=$(ls "$R/snapshots" | wc -l)
	expect_eq "snapshots added" 1 "$((n1 - n0))"

	# pg_dump's backend terminated while it waits for a lock.
	psql -X -q -d gas -c 'BEGIN; LOCK TABLE t; SELECT pg_sleep(60)' \
	    >/dev/null 2>&1 &
	L=$!
	"$COFFER" snapshot -r "$R" "$P" --no-cache --postgres 'dbname=gas' \
	    "$T/src" >"$T/kout" 2>"$T/kerr" &
	S=$!
	wait_for 30 "pg_dump waiting for the lock" sh -c \
	    "psql -X -At -c \"SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'\" | grep -qx 1"
	psql -X -q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	    WHERE application_name = 'pg_dump'" >/dev/null
	st=0
	wait "$S" || st=$?
	psql -X -q -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	    WHERE query LIKE 'BEGIN; LOCK TABLE t%'" >/dev/null
	wait "$L" || true
	expect_eq "exit status with pg_dump's backend gone" 3 "$st"
	expect_grep '^coffer: source gas failed: pg_dump exited with status 1: .*terminat' "$T/kerr"
	expect_status 0 "$COFFER" ls -r "$R" "$P" latest /
	expect_eq "top after the terminated dump" "files" "$(cat "$T/out")"
fi

# The repository is intact, and the first snapshot restores exactly.
expect_status 0 "$COFFER" check -r "$R" "$P" --read-data
expect_status 0 "$COFFER" restore -r "$R" "$P" "$good" --target "$T/back"
expect_same "$T/src/conf/blob" "$T/back/files$T/src/conf/blob"
expect_same "$T/src/conf/app.conf" "$T/back/files$T/src/conf/app.conf"
expect_same "$T/src/conf/blob" "$T/back/blob.bin/blob.bin"
