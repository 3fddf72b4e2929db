#!/bin/sh
# coffer snapshots, ls and diff on snapshots that `coffer snapshot` made of
# a known tree: the listing and its filters, JSON that parses, ls of the
# tree (escaped names included), and diff after modifying, adding and
# removing files, compared line for line.
. "$(dirname "$0")/lib.sh"

# json_ok FILE: fail unless FILE holds one JSON document.
json_ok() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import json,sys; json.load(sys.stdin)' <"$1" ||
			fail "$1 is not JSON: $(head -c 300 "$1")"
	elif command -v jq >/dev/null 2>&1; then
		jq empty <"$1" || fail "$1 is not JSON: $(head -c 300 "$1")"
	fi
}

umask 022
cd "$T"
expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"
R="$T/repo"
set -- --password-file "$T/key"
PW="$*"
snap() {
	# shellcheck disable=SC2086 # PW is two words
	"$COFFER" snapshot -r "$R" $PW --cache-dir "$T/cache" "$@"
}
coffer() {
	# shellcheck disable=SC2086
	"$COFFER" "$@" -r "$R" $PW
}

# A known tree, with times and modes fixed so that -l is predictable.
S=$T/src
mkdir -p "$S/etc/ssh" "$S/etc/empty" "$S/app/conf"
printf '127.0.0.1 localhost\n' >"$S/etc/hosts"
printf 'Port 22\n' >"$S/etc/ssh/sshd_config"
printf 'root:x:0:0\n' >"$S/etc/passwd"
printf '[app]\n' >"$S/app/conf/app.ini"
ln -s ../etc/hosts "$S/app/hosts"
nl=$(printf 'we\nird')
ff=$(printf 'bin\377')
printf x >"$S/etc/$nl"
printf y >"$S/etc/$ff"
chmod 0644 "$S/etc/hosts" "$S/etc/passwd" "$S/app/conf/app.ini"
chmod 0600 "$S/etc/ssh/sshd_config"
chmod 4755 "$S/etc/passwd"
touch -h -d '2024-02-03 04:05:06 UTC' "$S/etc/hosts" "$S/etc/passwd" \
    "$S/app/hosts"

expect_status 0 snap --tag nightly --tag base "$S/etc" "$S/app"
expect_status 0 snap --tag nightly "$S/etc"

# ---------------------------------------------------------------- snapshots

expect_status 0 coffer snapshots
head -n 1 "$T/out" >"$T/head"
expect_grep '^ID +TIME +HOST +TAGS +PATHS +FILES +SIZE +ADDED$' "$T/head"
[ "$(wc -l <"$T/out")" -eq 4 ] || fail "snapshots: want header, 2 rows," \
    "count: $(cat "$T/out")"
expect_grep '^2 snapshots$' "$T/out"
sed -n 2p "$T/out" >"$T/row1"
expect_grep "^[0-9a-f]{8}  20[0-9]{2}-[0-9]{2}-[0-9]{2} [0-9:]{8}  [^ ]+ +nightly,base  $S/etc,$S/app +6 +[0-9.]+ (B|KiB)  +[0-9.]+ (B|KiB)$" "$T/row1"
id1=$(cut -c1-8 "$T/row1")
id2=$(sed -n 3p "$T/out" | cut -c1-8)
[ "$id1" != "$id2" ] || fail "two snapshots with one id"

expect_status 0 coffer snapshots --tag base
expect_eq "--tag base rows" 3 "$(wc -l <"$T/out")"
expect_status 0 coffer snapshots --tag nightly,base
expect_eq "--tag nightly,base rows" 3 "$(wc -l <"$T/out")"
expect_status 0 coffer snapshots --tag base --tag nope
expect_eq "--tag base --tag nope rows" 3 "$(wc -l <"$T/out")"
expect_status 0 coffer snapshots --tag nope
expect_eq "--tag nope rows" 2 "$(wc -l <"$T/out")"
expect_status 0 coffer snapshots --path "$S/etc/"
expect_eq "--path etc rows" 4 "$(wc -l <"$T/out")"
expect_status 0 coffer snapshots --path "$S/etc" --path "$S/app"
expect_eq "--path etc --path app rows" 3 "$(wc -l <"$T/out")"
expect_status 0 coffer snapshots --host "$(sed -n 2p "$T/out" |
    awk '{print $4}')"
expect_eq "--host rows" 4 "$(wc -l <"$T/out")"
expect_status 0 coffer snapshots --host no-such-host
expect_grep '^0 snapshots$' "$T/out"
expect_status 2 coffer snapshots --path relative

expect_status 0 coffer snapshots --json
json_ok "$T/out"
expect_grep "\"short_id\":\"$id1\"" "$T/out"
expect_grep "\"id\":\"$id1[0-9a-f]{56}\"" "$T/out"
expect_grep '"tags":\["nightly","base"\]' "$T/out"
expect_grep '"summary":\{"files":6,' "$T/out"
expect_grep '"inconsistent":\[\],"skipped":\[\]' "$T/out"

# ---------------------------------------------------------------- ls

expect_status 0 coffer ls "$id1" "$S"
printf 'app\netc\n' >"$T/want"
expect_same "$T/want" "$T/out"

# The whole subtree, depth-first, names escaped.
expect_status 0 coffer ls -R latest "$S"
{
	echo "$S/etc"
	printf '%s\n' "$S/etc/bin\\xff"
	echo "$S/etc/empty"
	echo "$S/etc/hosts"
	echo "$S/etc/passwd"
	echo "$S/etc/ssh"
	echo "$S/etc/ssh/sshd_config"
	printf '%s\n' "$S/etc/we\\nird"
} >"$T/want"
expect_same "$T/want" "$T/out"

# Without PATH, -R gives every path, from the top.
expect_status 0 coffer ls -R "$id1"
first=$(echo "$S" | cut -d/ -f2)
expect_eq "first path" "/$first" "$(head -n 1 "$T/out")"
expect_grep "^$S/app/conf/app.ini\$" "$T/out"

u=$(id -un)
g=$(id -gn)
expect_status 0 coffer ls -l "$id1" "$S/etc"
grep -v '^d' "$T/out" >"$T/got"
{
	printf '%s %-8s %-8s %10s %s %s\n' '-rw-r--r--' "$u" "$g" 1 \
	    "$(date -u -r "$S/etc/$ff" '+%Y-%m-%d %H:%M:%S')" 'bin\xff'
	printf '%s %-8s %-8s %10s %s %s\n' '-rw-r--r--' "$u" "$g" 20 \
	    '2024-02-03 04:05:06' hosts
	printf '%s %-8s %-8s %10s %s %s\n' '-rwsr-xr-x' "$u" "$g" 11 \
	    '2024-02-03 04:05:06' passwd
	printf '%s %-8s %-8s %10s %s %s\n' '-rw-r--r--' "$u" "$g" 1 \
	    "$(date -u -r "$S/etc/$nl" '+%Y-%m-%d %H:%M:%S')" 'we\nird'
} >"$T/want"
expect_same "$T/want" "$T/got"
expect_grep "^drwxr-xr-x $u +$g +[0-9]+ [0-9: -]{19} ssh\$" "$T/out"

# A file is listed alone, by its full path; a symlink shows its target.
expect_status 0 coffer ls -l "$id1" "$S/app/hosts"
printf '%s %-8s %-8s %10s %s %s\n' 'lrwxrwxrwx' "$u" "$g" 12 \
    '2024-02-03 04:05:06' "$S/app/hosts -> ../etc/hosts" >"$T/want"
expect_same "$T/want" "$T/out"

expect_status 0 coffer ls --json -R "$id1" "$S/etc"
json_ok "$T/out"
expect_grep "^\\{\"path\":\"$S/etc/hosts\",\"name\":\"hosts\",\"type\":\"file\",\"mode\":420,.*\"size\":20,\"mtime\":\"2024-02-03T04:05:06.000000000Z\"\\},?\$" "$T/out"
expect_grep '"name":"we\\nird"' "$T/out"
# Not UTF-8: base64 of the exact bytes.
expect_grep "\"name_b64\":\"$(printf 'bin\377' | base64)\"" "$T/out"

expect_status 2 coffer ls "$id1" "$S/etc/nope"
expect_eq "missing path message" \
    "coffer: no $S/etc/nope in snapshot $id1" "$(cat "$T/err")"
expect_status 2 coffer ls "$id1" "$S/etc/hosts/x"
expect_status 2 coffer ls ffffffffff
expect_status 2 coffer ls
expect_status 2 coffer ls "$id1" a b

# ---------------------------------------------------------------- diff

expect_status 0 coffer diff "$id1" "$id1"
printf '0 added, 0 removed, 0 modified\n' >"$T/want"
expect_same "$T/want" "$T/out"

printf '127.0.0.2 localhost\n' >"$S/etc/hosts"
rm "$S/etc/ssh/sshd_config"
rmdir "$S/etc/empty"
mkdir "$S/etc/new"
printf 'n\n' >"$S/etc/new/file"
printf 'z\n' >"$S/app/conf/new.ini"
chmod 0600 "$S/app/conf/app.ini"
expect_status 0 snap "$S/etc" "$S/app"

expect_status 0 coffer diff "$id1" latest
{
	echo "+ $S/app/conf/new.ini"
	echo "- $S/etc/empty/"
	echo "M $S/etc/hosts"
	echo "+ $S/etc/new/"
	echo "+ $S/etc/new/file"
	echo "- $S/etc/ssh/sshd_config"
	echo "3 added, 2 removed, 1 modified"
} >"$T/want"
expect_same "$T/want" "$T/out"

expect_status 0 coffer diff --metadata "$id1" latest
expect_grep "^m $S/app/conf/app.ini\$" "$T/out"
expect_grep "^m $S/etc/ssh/\$" "$T/out"
expect_grep '^3 added, 2 removed, 1 modified, [0-9]+ metadata$' "$T/out"

expect_status 0 coffer diff --json "$id1" latest
json_ok "$T/out"
expect_grep "^\\{\"change\":\"M\",\"path\":\"$S/etc/hosts\",\"type\":\"file\",\"what\":\\[\"content\",\"mtime\"\\]\\},\$" "$T/out"
expect_grep '^\],"added":3,"removed":2,"modified":1\}$' "$T/out"

# The other way round, additions and removals swap.
expect_status 0 coffer diff latest "$id1"
expect_grep '^2 added, 3 removed, 1 modified$' "$T/out"
expect_status 2 coffer diff "$id1"
