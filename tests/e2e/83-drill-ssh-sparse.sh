#!/bin/sh
# The ssh drill's verify compares sparse files by content, holes as zeros:
# a sparse file, a hard link to it and an empty file pass; a byte flipped
# in the sparse file's hole on the test host (a remote tar wrapper) fails
# verify, naming both of its names.  The hashes come from the bytes the
# restore hands to the stream (rst_opts.file_data), not from parsing it.
. "$(dirname "$0")/lib.sh"

need python3 tar sha256sum find xargs dd truncate
cd "$T"
export COFFER_TEST_WEAK_KDF=1

# The test host's tar: the real one, then, when $T/corrupt names a file
# (relative to the extraction directory), its first byte flipped.
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

# 4 MiB: a hole, 5000 bytes of data at 1 MiB, a hole to the end.
mkdir -p src
truncate -s 4M src/sparse
head -c 5000 /dev/urandom | dd of=src/sparse bs=1M seek=1 conv=notrunc \
    2>/dev/null
ln src/sparse src/hard
: >src/empty
[ "$(du -k src/sparse | cut -f1)" -lt 1024 ] ||
	skip "this file system does not keep holes"
expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"

P=$T/remote/drill
cat >coffer.conf <<EOF
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
known_hosts = $SSH_KNOWN_HOSTS
checks = true
EOF
chmod 600 coffer.conf
expect_status 0 "$COFFER" snapshot -c coffer.conf -r local --source files
# The stream carries it as a sparse file: its data, not its holes.
"$COFFER" restore -c coffer.conf -r local latest --tar - 2>"$T/err" \
    >stream.tar || fail "restore --tar: $(cat "$T/err")"
[ "$(wc -c <stream.tar)" -lt 100000 ] ||
	fail "the snapshot did not keep src/sparse's holes"

# ------------------------------------------------ a drill that passes
expect_status 0 "$COFFER" drill run -c coffer.conf host --json
python3 - "$T/out" <<'PY' || fail "drill run --json: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["status"] == "ok", d
st = {s["stage"]: s for s in d["stages"]}
assert st["verify"]["status"] == "ok", st
assert st["verify"]["message"].startswith("3 files on 127.0.0.1 have"), st
PY
[ ! -e "$P" ] || fail "$P is still there on the test host"

# ------------------------------------------------ a byte in the hole differs
rel=${T#/}/src/sparse
echo "$rel" >corrupt
expect_status 14 "$COFFER" drill run -c coffer.conf host --json
python3 - "$T/out" "/$rel" <<'PY' || fail "corrupt: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["failed_stage"] == "verify" and d["error_class"] == "corrupt", d
st = {s["stage"]: s for s in d["stages"]}
assert st["verify"]["message"].startswith("2 of 3 files differ"), st
assert ": its content on 127.0.0.1 differs" in d["message"], d
PY
expect_grep "verify: /${T#/}/src/hard: its content on 127.0.0.1 differs" "$T/err"
expect_grep "verify: /$rel: its content on 127.0.0.1 differs" "$T/err"
[ ! -e "$P" ] || fail "$P is still there on the test host"
