#!/bin/sh
# One rule for the paths users give into a snapshot: `coffer ls PATH`,
# `restore --include PATH` and `restore --stdout PATH` accept the same
# spellings ("/etc/./hosts", "//etc/ssh/") as the same entry, and refuse
# the same ones (relative, ".."), before anything is written.  What an
# --include restores is what ls lists for that path, byte for byte.
. "$(dirname "$0")/lib.sh"

umask 022
cd "$T"
expect_status 0 "$COFFER" init -r "$T/repo" --machine-key "$T/key"
R="$T/repo"
coffer() {
	"$COFFER" "$@" -r "$R" --password-file "$T/key"
}

S=$T/src
mkdir -p "$S/etc/ssh" "$S/opt"
printf '127.0.0.1 localhost\n' >"$S/etc/hosts"
printf 'Port 22\n' >"$S/etc/ssh/sshd_config"
printf 'moduli\n' >"$S/etc/ssh/moduli"
printf 'other\n' >"$S/opt/other"
expect_status 0 coffer snapshot --cache-dir "$T/cache" "$S"

# ls -R lists what is below a directory, ls alone a file by its path; the
# restore of the same path must make exactly those entries, no others.
n=0
for spec in "$S/etc/./hosts:$S/etc/hosts" "/$S//etc/ssh/:$S/etc/ssh" \
    "$S/./etc/ssh/.:$S/etc/ssh"; do
	p=${spec%%:*}
	want=${spec#*:}
	n=$((n + 1))
	expect_status 0 coffer ls -R latest "$p"
	sort "$T/out" >"$T/ls.$n"
	if [ -d "$want" ]; then
		(cd "$S" && find ".${want#"$S"}" -mindepth 1 | sed "s|^\.|$S|" |
			sort) >"$T/want.$n"
	else
		printf '%s\n' "$want" >"$T/want.$n"
	fi
	expect_same "$T/want.$n" "$T/ls.$n"

	expect_status 0 coffer restore latest -t "$T/r$n" --include "$p"
	# Everything restored below the path, as the snapshot's paths.
	if [ -d "$T/r$n$want" ]; then
		(cd "$T/r$n" && find ".$want" -mindepth 1 | sed 's|^\.||' |
			sort) >"$T/got.$n"
	else
		(cd "$T/r$n" && find . -type f | sed 's|^\.||' | sort) \
			>"$T/got.$n"
	fi
	expect_same "$T/ls.$n" "$T/got.$n"
	# Nothing beside it: only the parents of the path were made.
	(cd "$T/r$n" && find . -type f | sed 's|^\.||' | sort) >"$T/files.$n"
	grep -v "^$want\(/\|\$\)" "$T/files.$n" >"$T/extra.$n" || :
	[ ! -s "$T/extra.$n" ] || fail "--include $p restored more: " \
	    "$(cat "$T/extra.$n")"
	# And byte for byte what was snapshotted.
	while read -r f; do
		[ -d "$f" ] || expect_same "$f" "$T/r$n$f"
	done <"$T/ls.$n"
done

# --stdout takes the same spelling as ls.
expect_status 0 coffer restore latest --stdout "$S/etc/./ssh//sshd_config"
expect_same "$S/etc/ssh/sshd_config" "$T/out"

# Refused alike, with status 2, one line naming the path, nothing written.
for p in "$S/etc/../etc/hosts" "$S/etc/ssh/.." "etc/hosts" "./etc"; do
	case $p in
	/*) why='"\.\." has no meaning' ;;
	*) why='is not an absolute path' ;;
	esac
	expect_status 2 coffer ls latest "$p"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "ls $p: want one line:" \
	    "$(cat "$T/err")"
	expect_grep "'$p'.*$why" "$T/err"
	expect_status 2 coffer restore latest -t "$T/bad" --include "$p"
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "restore $p: want one line:" \
	    "$(cat "$T/err")"
	expect_grep "'$p'.*$why" "$T/err"
	[ ! -e "$T/bad" ] || fail "restore --include $p wrote $T/bad"
	expect_status 2 coffer restore latest --stdout "$p"
	[ ! -s "$T/out" ] || fail "restore --stdout $p wrote output"
	expect_grep "'$p'.*$why" "$T/err"
done
