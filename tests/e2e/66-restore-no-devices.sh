#!/bin/sh
# restore --no-devices: FIFOs and device nodes are left out, one warning
# line each, exit 0 (as for other skipped entries); everything else is
# restored as without the option (byte-for-byte listing), and without the
# option they are restored.
. "$(dirname "$0")/lib.sh"

need mkfifo setfattr getfattr

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REPO=$T/repo
S=$T/src
root=0
[ "$(id -u)" -ne 0 ] || root=1

expect_status 0 "$COFFER" init -r "$REPO" --machine-key "$COFFER_PASSWORD_FILE"
mkdir -p "$S/d/sub" "$S/e"
printf 'plain\n' >"$S/d/plain"
printf 'attr\n' >"$S/d/attr"
setfattr -n user.k -v v "$S/d/attr"
ln "$S/d/plain" "$S/e/link"
ln -s ../d/plain "$S/e/sym"
mkfifo "$S/d/fifo"
ndev=1
if [ "$root" -eq 1 ]; then
	mknod "$S/d/sub/null" c 1 3
	ndev=2
fi
expect_status 0 "$COFFER" snapshot -r "$REPO" "$S"

expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/all"
tree_listing "$T/all$S" >"$T/want.all"
grep -q '^\./d/fifo|' "$T/want.all" || fail "the FIFO was not restored"

expect_status 0 "$COFFER" restore -r "$REPO" latest -t "$T/nodev" --no-devices
expect_grep "^coffer: warning: $S/d/fifo: not restored: a FIFO is not restored \\(--no-devices\\)$" "$T/err"
if [ "$root" -eq 1 ]; then
	expect_grep "^coffer: warning: $S/d/sub/null: not restored: a device node is not restored \\(--no-devices\\)$" "$T/err"
fi
expect_eq "warning lines" "$ndev" "$(grep -c 'no-devices' "$T/err")"
[ ! -e "$T/nodev$S/d/fifo" ] || fail "the FIFO was restored"
[ ! -e "$T/nodev$S/d/sub/null" ] || fail "the device node was restored"
grep -v -e '^\./d/fifo|' -e '^\./d/sub/null|' "$T/want.all" >"$T/want"
tree_listing "$T/nodev$S" >"$T/got"
expect_same "$T/want" "$T/got"

# Only where entries are written.
expect_status 2 "$COFFER" restore -r "$REPO" latest --stdout "$S/d/plain" \
    --no-devices
