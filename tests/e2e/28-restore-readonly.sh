#!/bin/sh
# Restoring from a repository the user may read but not write (after a
# disaster, often the only kind there is): the lock cannot be taken, so
# restore says so in one line with the way out (--no-lock), exit 1, and
# --no-lock then restores.  The hint follows from where the failure was
# (the lock), not from the words of the message: a repository file that
# cannot be read, under a path that happens to say "lock", gets no hint.
. "$(dirname "$0")/lib.sh"

need setpriv
[ "$(id -u)" -eq 0 ] || skip "needs root to run as another user"
u=nobody
id -u "$u" >/dev/null 2>&1 || skip "no user $u to run as"
# GCOV_PREFIX: a coverage build (make coverage) writes the counts of
# these runs under $T/home, $u's own, as build/ is root's; other builds
# ignore it.
AS="setpriv --reuid=$u --regid=$(id -g "$u") --clear-groups -- env GCOV_PREFIX=$T/home/gcov"
$AS test -x "$COFFER" || skip "$u cannot run $COFFER"
export COFFER_TEST_WEAK_KDF=1

# one_line_with TEXT: stderr is exactly one line, and it holds TEXT.
one_line_with() {
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
	grep -qF -- "$1" "$T/err" || fail "no '$1' in: $(cat "$T/err")"
}

# The repository is root's (mode 755): its reader is $u.  Its path says
# "locked", as a disaster-recovery mount might.
chmod 711 "$T"
R=$T/locked/repo
H=$T/home
mkdir -p "$T/src" "$T/locked" "$H"
printf 'kept\n' >"$T/src/f"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
expect_status 0 "$COFFER" snapshot -r "$R" --password-file "$T/key" \
    --cache-dir "$T/cache" "$T/src"
chmod -R a+rX "$T/locked"
cp "$T/key" "$H/key"
chown -R "$u" "$H"
chmod 700 "$H"
K="--password-file $H/key"

# ---------------------------------------------- the lock cannot be taken
# shellcheck disable=SC2086 # AS and K are words
expect_status 1 env HOME="$H" $AS "$COFFER" restore -r "$R" $K latest \
    --target "$H/r1"
one_line_with "the repository cannot be written, so it cannot be locked: give --no-lock, or set locks = none"
grep -q 'Permission denied' "$T/err" || fail "no cause in: $(cat "$T/err")"
[ ! -e "$H/r1" ] || fail "restore made its target without a lock"

# shellcheck disable=SC2086
expect_status 0 env HOME="$H" $AS "$COFFER" restore -r "$R" $K --no-lock \
    latest --target "$H/r2"
expect_same "$T/src/f" "$H/r2$T/src/f"
[ -z "$(ls "$R/locks")" ] || fail "--no-lock wrote a lock"

# ------------- every reading command says so, and locks = none reads it
for c in snapshots "ls latest" check "diff latest latest"; do
	# shellcheck disable=SC2086
	expect_status 1 env HOME="$H" $AS "$COFFER" $c -r "$R" $K
	one_line_with "cannot be locked: give --no-lock, or set locks = none"
done
cat >"$H/c.conf" <<EOF
[repository dr]
path = $R
password_file = $H/key
locks = none
EOF
chown "$u" "$H/c.conf"
for c in snapshots "ls latest" check "diff latest latest"; do
	# shellcheck disable=SC2086
	expect_status 0 env HOME="$H" $AS "$COFFER" -c "$H/c.conf" $c -r dr
done
# shellcheck disable=SC2086
expect_status 0 env HOME="$H" $AS "$COFFER" -c "$H/c.conf" restore -r dr \
    latest --target "$H/r5"
expect_same "$T/src/f" "$H/r5$T/src/f"
[ -z "$(ls "$R/locks")" ] || fail "locks = none wrote a lock"

# ------------------- a file that cannot be read: not the lock, no hint
chmod 600 "$R/config"
# shellcheck disable=SC2086
expect_status 1 env HOME="$H" $AS "$COFFER" restore -r "$R" $K latest \
    --target "$H/r3"
one_line_with "$R/config: Permission denied"
grep -q -e '--no-lock' "$T/err" && fail "a hint about the lock for an" \
    "unreadable config: $(cat "$T/err")"
chmod 644 "$R/config"
# shellcheck disable=SC2086
expect_status 0 env HOME="$H" $AS "$COFFER" restore -r "$R" $K --no-lock \
    latest --target "$H/r4"
expect_same "$T/src/f" "$H/r4$T/src/f"
