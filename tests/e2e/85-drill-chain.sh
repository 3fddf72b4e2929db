#!/bin/sh
# Drills of steps (issue 13): [drill full] with steps = db, etc runs both
# drills in order as one drill: one run in the history with a row per
# step, one RTO from its start to the last step's validation, the worst
# step's RPO; the first failing step stops it (the rest not run), the
# chain's on_failure hook names it, and nothing is left.  config check
# refuses an unknown step, a drill naming itself, a cycle, a step that is
# a chain, and a target on a drill of steps.
. "$(dirname "$0")/lib.sh"

need python3
cd "$T"
export COFFER_TEST_WEAK_KDF=1

expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"
mkdir -p db etc/app
head -c 50000 /dev/urandom >db/data
echo 'key = value' >etc/app/app.conf
ln -s app.conf etc/app/current
cat >hook <<'EOF2'
#!/bin/sh
env | grep '^COFFER_' | sort >"$T/hook-$COFFER_DRILL.env"
EOF2
chmod 755 hook
export T

base() {
	cat <<EOF2
[global]
state_dir = $T/state

[repository local]
path = $T/repo
password_file = $T/key

[source dbfiles]
type = files
paths = $T/db

[source etcfiles]
type = files
paths = $T/etc

[drill db]
repository = local
source = dbfiles
target = $T/tgt-db
on_failure = $T/hook

[drill etc]
repository = local
source = etcfiles
target = $T/tgt-etc
checks = test -L "\$COFFER_DRILL_TARGET$T/etc/app/current"

[drill broken]
repository = local
source = etcfiles
target = $T/tgt-broken
checks = exit 3
EOF2
}
{
	base
	cat <<EOF2

[drill full]
steps = db, etc
max_rpo = 3650d
on_failure = $T/hook

[drill halfway]
steps = etc, broken, db
on_failure = $T/hook
EOF2
} >coffer.conf
chmod 600 coffer.conf
expect_status 0 "$COFFER" config check -c coffer.conf
expect_status 0 "$COFFER" snapshot -c coffer.conf -r local --source dbfiles
# RPO counts whole seconds from each step's start: the gap must outlast
# the db step itself (1.1 s did not, with other tests running beside it).
sleep 4.1
expect_status 0 "$COFFER" snapshot -c coffer.conf -r local --source etcfiles

nothing_left() {
	local left
	left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'coffer-*')
	[ -z "$left" ] || fail "$1: left behind: $left"
	for d in tgt-db tgt-etc tgt-broken; do
		[ ! -e "$T/$d" ] || fail "$1: $d is still there"
	done
}

# ------------------------------------------------ a chain that passes
expect_status 0 "$COFFER" drill run -c coffer.conf full --json
python3 - "$T/out" <<'PY' || fail "drill run full --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok" and d["target_kind"] == "steps", d
s = d["steps"]
assert [x["drill"] for x in s] == ["db", "etc"], s
assert all(x["status"] == "ok" for x in s), s
assert all(x["target_kind"] == "directory" for x in s), s
# One RTO: from the chain's start to the last step's validation, so at
# least the sum of the steps' own.
assert d["rto"] >= s[0]["rto"] + s[1]["rto"] - 0.01, d
# The worst RPO: the db snapshot is the older one.
assert d["rpo"] == max(x["rpo"] for x in s) == s[0]["rpo"], d
assert s[0]["rpo"] > s[1]["rpo"], s
assert d["snapshot"] == s[0]["snapshot"], d
assert [x["stage"] for x in d["stages"]][4:] == ["rto", "rpo"], d
assert d["stages"][4]["status"] == "ok" and d["stages"][5]["status"] == "ok", d
PY
nothing_left "full"
[ ! -e hook-full.env ] || fail "on_failure ran for a drill that passed"
expect_status 0 "$COFFER" drill run -c coffer.conf full
expect_grep '^drill full: ok$' "$T/out"
expect_grep '^  db +ok .*snapshot [0-9a-f]{8} to directory ' "$T/out"
expect_grep '^  etc +ok ' "$T/out"
expect_grep '^  RTO .*, RPO ' "$T/out"

# One history record per chain run, with a row per step; the steps'
# drills have no run of their own.
"$COFFER" -c coffer.conf scheduler history --json >h.json
python3 - h.json <<'PY' || fail "history: $(cat h.json)"
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
drills = [r for r in runs if r["kind"] == "drill"]
assert [r["job"] for r in drills] == ["full", "full"], drills
r = drills[0]
assert r["status"] == "ok" and r["rto"] is not None and r["rpo"] is not None, r
steps = [(s["step"], s["status"]) for s in r["steps"]]
assert steps == [("db", "ok"), ("etc", "ok"), ("rto", "ok"), ("rpo", "ok")], steps
PY

# ------------------------------------------------ stops at the first failure
expect_status 14 "$COFFER" drill run -c coffer.conf halfway --json
python3 - "$T/out" <<'PY' || fail "drill run halfway --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "failed" and d["failed_stage"] == "check", d
assert d["message"].startswith("step broken: check: "), d
assert d["rto"] is None, d
s = {x["drill"]: x for x in d["steps"]}
assert s["etc"]["status"] == "ok", s
assert s["broken"]["status"] == "failed", s
assert s["broken"]["failed_stage"] == "check", s
assert s["db"]["status"] == "not_run", s
assert s["db"]["message"] == "not run: step broken failed", s
PY
nothing_left "halfway"
expect_grep '^COFFER_DRILL=halfway$' hook-halfway.env
expect_grep '^COFFER_STEP=check$' hook-halfway.env
expect_grep '^COFFER_ERROR=step broken: check: ' hook-halfway.env
[ ! -e hook-db.env ] || fail "step db ran after broken failed"
expect_status 0 "$COFFER" drill list -c coffer.conf
expect_grep '^halfway +FAILED ' "$T/out"
expect_grep '^  broken: check: ' "$T/out"

# ------------------------------------------------ config check refuses
# bad KEYS... ERE: a chain [drill c] with KEYS is refused, one line.
bad() {
	local re=$1
	shift
	{
		base
		printf '\n[drill c]\n'
		printf '%s\n' "$@"
	} >bad.conf
	chmod 600 bad.conf
	expect_status 2 "$COFFER" config check -c bad.conf
	expect_grep "$re" "$T/err"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "more than one line: $(cat "$T/err")"
}
bad 'steps: no section \[drill nope\]' 'steps = db, nope'
bad 'steps: \[drill c\] names itself \(a cycle\)' 'steps = db, c'
bad "key 'target' does not apply to a drill of steps" 'steps = db' \
    "target = $T/x"
bad "key 'source' does not apply to a drill of steps" 'steps = db' \
    'source = dbfiles'
{
	base
	printf '\n[drill c]\nsteps = db, d\n\n[drill d]\nsteps = etc, c\n'
} >bad.conf
chmod 600 bad.conf
expect_status 2 "$COFFER" config check -c bad.conf
expect_grep 'steps: \[drill d\] leads back to \[drill c\] \(a cycle\)' "$T/err"
{
	base
	printf '\n[drill c]\nsteps = db, d\n\n[drill d]\nsteps = etc\n'
} >bad.conf
expect_status 2 "$COFFER" config check -c bad.conf
expect_grep 'steps: \[drill d\] has steps itself' "$T/err"
