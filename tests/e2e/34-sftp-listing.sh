#!/bin/sh
# A hostile or broken sftp server cannot drive a listing into unbounded
# recursion (issue 9, finding 10): directories deeper than the repository
# layout has (data/<2 hex>/<id>) are skipped with one warning, never
# entered; symlinks the server reports are not followed.  Here data/ holds
# a directory chain 3000 levels deep (past the server's PATH_MAX), a
# symlink loop and a symlink out of the repository: check, replicate from
# the sftp copy and a restore of the replica still work, and the replica
# holds only the repository's own files.
. "$(dirname "$0")/lib.sh"

start_sshd

COFFER_TEST_WEAK_KDF=1
COFFER_PASSWORD_FILE=$T/machine.key
export COFFER_TEST_WEAK_KDF COFFER_PASSWORD_FILE
REMOTE=$T/remote
URL="sftp://$SSH_USER@127.0.0.1:$SSHD_PORT$REMOTE"
c() {
	"$COFFER" "$@" --identity "$SSH_KEY" --known-hosts "$SSH_KNOWN_HOSTS"
}

mkdir "$T/src"
printf 'hello\n' >"$T/src/a"
head -c 300000 /dev/urandom >"$T/src/b"
tree_listing "$T/src" >"$T/want"
expect_status 0 c init -r "$URL" --machine-key "$COFFER_PASSWORD_FILE"
expect_status 0 c snapshot -r "$URL" "$T/src"
expect_status 0 c check -r "$URL"
expect_grep 'no problems found' "$T/out"

# What the server's admin (or a key holder writing through SFTP) plants.
pack=$(find "$REMOTE/data" -type f | head -n 1)
sub=$(basename "$(dirname "$pack")")
# Three chains of 1000 levels, nested by mv: no path we name is too long.
chain=$(printf 'd/%.0s' $(seq 1000))
(
	cd "$REMOTE/data/$sub" || exit 1
	mkdir -p "c1/$chain" "c2/$chain" "d/$chain"
	cp "$pack" "c1/$chain"
	mv c1 "c2/$chain"
	mv c2 "d/$chain"
)
ln -s .. "$REMOTE/data/$sub/loop"
ln -s "$T/src" "$REMOTE/data/ff"
mkdir "$REMOTE/data/ee"
ln -s "$pack" "$REMOTE/data/ee/$(basename "$pack" | tr 0-9a-f a-f0-9)"

expect_status 0 c check -r "$URL"
expect_grep 'no problems found' "$T/out"
expect_grep "^coffer: warning: .*skipped directory data/$sub/d on the server \\(and any like it\\)" "$T/err"
[ "$(grep -c 'skipped directory' "$T/err")" -eq 1 ] ||
	fail "more than one warning: $(cat "$T/err")"

# The replica gets the repository's files and nothing the server planted.
expect_status 0 c replicate --from "$URL" --to "$T/copy"
(cd "$REMOTE" && find . -path ./data/"$sub"/d -prune -o -type f -print |
	grep -v '^\./locks/' | sort) >"$T/files.want"
(cd "$T/copy" && find . -type f -print | grep -v '^\./locks/' | sort) \
    >"$T/files.got"
expect_same "$T/files.want" "$T/files.got"
[ ! -e "$T/copy/data/ff" ] || fail "followed a symlink out of the repository"
[ ! -e "$T/copy/data/ee" ] || fail "copied a symlinked pack"
expect_status 0 "$COFFER" restore -r "$T/copy" latest -t "$T/dst"
tree_listing "$T/dst$T/src" >"$T/got"
expect_same "$T/want" "$T/got"
