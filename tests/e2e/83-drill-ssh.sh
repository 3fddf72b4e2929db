#!/bin/sh
# Drills to a test host over SSH (issue 13): target = ssh:USER@HOST:PORT:/PATH
# against a real sshd.  A tree of varied files is streamed as a tar into
# tar -x there, every file's SHA-256 compared with sha256sum there, the
# checks command run there with COFFER_DRILL_*, PATH removed there; then
# a failing check, an unknown host key (refused, exit 14, error_class
# hostkey), a remote tar that flips a byte of one file (verify fails
# naming it), a PATH there that is not empty (refused, left alone), a
# drill killed with -9 whose remote PATH the next tick removes, and
# config check refusing odd targets and SSH keys on other targets.  PATH
# is gone after every run.
# e2e: long
. "$(dirname "$0")/lib.sh"

need python3 tar sha256sum find xargs dd
cd "$T"
export COFFER_TEST_WEAK_KDF=1

# The test host's tar: the real one, then, when $T/corrupt names a file
# (relative to the extraction directory), a byte of it flipped.
mkdir -p rbin remote
cat >rbin/tar <<EOF
#!/bin/sh
/bin/tar "\$@" || exit \$?
if [ -s "$T/corrupt" ]; then
	printf X | dd of="\$3/\$(cat "$T/corrupt")" bs=1 count=1 conv=notrunc 2>/dev/null
fi
EOF
chmod 755 rbin/tar
start_sshd "SetEnv PATH=$T/rbin:/usr/local/bin:/usr/bin:/bin"

mkdir -p src/sub/deeper
echo hello >src/a
: >src/empty
head -c 300000 /dev/urandom >src/sub/big
echo 'key = value' >"src/sub/with space.conf"
chmod 0640 "src/sub/with space.conf"
ln -s a src/link
ln src/a src/sub/hard
head -c 5000 /dev/zero | tr '\0' x >src/sub/deeper/text
expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"

P=$T/remote/drill
conf() {
	cat <<EOF
[global]
state_dir = $T/state

[repository local]
path = $T/repo
password_file = $T/key

[source files]
type = files
paths = $T/src

[drill host]
repository = local
source = files
target = ssh:$SSH_USER@127.0.0.1:$SSHD_PORT:$P
identity = $SSH_KEY
known_hosts = ${KH:-$SSH_KNOWN_HOSTS}
checks = sh $T/check.sh
EOF
	# Run there, by the test host's shell.
	cat >check.sh <<EOF
env | grep '^COFFER_DRILL' | sort >"$T/checks.env"
test -f "\$COFFER_DRILL_TARGET$T/src/a"${CHECK:-}
EOF
}
conf >coffer.conf
chmod 600 coffer.conf
expect_status 0 "$COFFER" config check -c coffer.conf
expect_status 0 "$COFFER" snapshot -c coffer.conf -r local --source files

gone() {
	local left
	[ ! -e "$P" ] || fail "$1: $P is still there on the test host"
	left=$(find "$TMPDIR" -mindepth 1 -maxdepth 1 -name 'coffer-*')
	[ -z "$left" ] || fail "$1: left behind: $left"
}

# ------------------------------------------------ a drill that passes
expect_status 0 "$COFFER" drill run -c coffer.conf host --json
python3 - "$T/out" <<'PY' || fail "drill run --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok" and d["target_kind"] == "ssh", d
st = {s["stage"]: s for s in d["stages"]}
assert st["restore"]["status"] == "ok", st
assert st["verify"]["status"] == "ok", st
# a, empty, big, with space.conf, hard, text: six regular files.
assert st["verify"]["message"].startswith("6 files on 127.0.0.1 have"), st
assert st["check"]["status"] == "ok", st
assert d["rto"] is not None and d["rpo"] is not None, d
PY
gone "pass"
expect_grep "^COFFER_DRILL=host$" checks.env
expect_grep "^COFFER_DRILL_TARGET=$P$" checks.env
expect_grep '^COFFER_DRILL_SNAPSHOT=[0-9a-f]{64}$' checks.env
"$COFFER" -c coffer.conf scheduler history host --json >h.json
expect_grep '"status": *"ok"' h.json

# ------------------------------------------------ a failing check
CHECK=' && exit 7' conf >coffer.conf
expect_status 14 "$COFFER" drill run -c coffer.conf host --json
python3 - "$T/out" <<'PY' || fail "failing check: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failed_stage"] == "check", d
assert "checks command on 127.0.0.1 exited with status 7" in d["message"], d
PY
gone "failing check"

# ------------------------------------------------ an unknown host key
: >empty_known_hosts
KH=$T/empty_known_hosts conf >coffer.conf
expect_status 14 "$COFFER" drill run -c coffer.conf host
expect_grep '^  restore +FAILED .*host key' "$T/out"
expect_status 14 "$COFFER" drill run -c coffer.conf host --json
python3 - "$T/out" <<'PY' || fail "unknown host key: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failed_stage"] == "restore" and d["error_class"] == "hostkey", d
assert "\n" not in d["message"], d
PY
gone "unknown host key"
conf >coffer.conf

# ------------------------------------------------ the content differs there
rel=${T#/}/src/sub/deeper/text
echo "$rel" >corrupt
expect_status 14 "$COFFER" drill run -c coffer.conf host --json
python3 - "$T/out" "/$rel" <<'PY' || fail "corrupt: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failed_stage"] == "verify" and d["error_class"] == "corrupt", d
assert sys.argv[2] + ": its content on 127.0.0.1 differs" in d["message"], d
PY
gone "corrupt"
rm corrupt

# ------------------------------------------------ PATH there is not empty
mkdir -p "$P"
echo mine >"$P/keep"
expect_status 14 "$COFFER" drill run -c coffer.conf host --json
expect_grep '"message": *"refused: [^"]* is not an empty directory' "$T/out"
[ "$(cat "$P/keep")" = mine ] || fail "the drill touched what was there"
rm -r "$P"

# ------------------------------------------------ killed: the tick removes PATH
CHECK=" && touch '$T/checking' && while [ -e '$T/checking' ]; do sleep 0.1; done" \
    conf >coffer.conf
"$COFFER" drill run -c coffer.conf host >"$T/slow.out" 2>&1 &
slow=$!
i=0
while [ ! -e "$T/checking" ]; do
	i=$((i + 1))
	[ "$i" -lt 300 ] || fail "the slow drill's checks did not start: $(cat "$T/slow.out")"
	sleep 0.1
done
kill -9 "$slow"
wait "$slow" 2>/dev/null || true
rm "$T/checking" # the check there ends
# Its worker stops on its own (it saw its parent die), and lets go of
# the drill's lock; until then a tick leaves the drill alone.
need flock
wait_for 30 "the killed drill's worker to end" \
    flock -n "$T/state/drill-host.lock" true
[ -e "$P" ] || fail "the killed drill left nothing there to remove"
expect_status 0 "$COFFER" -c coffer.conf scheduler tick
expect_grep "drill host: removed what an interrupted run restored to ssh:" "$T/err"
gone "killed"
conf >coffer.conf

# ------------------------------------------------ config check
bad() {
	local re=$1 s
	shift
	conf >bad.conf
	for s; do
		sed -i "$s" bad.conf
	done
	chmod 600 bad.conf
	expect_status 2 "$COFFER" config check -c bad.conf
	expect_grep "$re" "$T/err"
}
bad "PATH must be absolute, and not /" "s|^target = .*|target = ssh:u@h:/|"
bad "PATH may not have an empty, '.' or '..' component" \
    "s|^target = .*|target = ssh:u@h:22:/srv/../etc|"
bad "PATH may hold only letters, digits" \
    "s|^target = .*|target = ssh:u@h:/srv/a;b|"
bad "no USER@" "s|^target = .*|target = ssh:h:/srv/x|"
bad "identity: only target = ssh:... connects over SSH" \
    "s|^target = .*|target = $T/tgt|" '/^checks/d'
