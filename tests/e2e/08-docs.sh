#!/bin/sh
# The docs name only commands that exist, and every command is documented:
# each command of 'coffer help' has its man page (help and version live in
# coffer(1)), a place in coffer(1)'s list and in the README; each
# coffer-NAME.1 page is a command; every .Xr coffer-NAME reference points
# at a page; every 'coffer WORD' the README shows is a command.  (The
# configuration keys are held to coffer.conf(5) by the unit test docs.)
. "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
expect_status 0 "$COFFER" help
sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' "$T/out" >"$T/cmds"
[ "$(wc -l <"$T/cmds")" -ge 10 ] || fail "commands of coffer help: $(cat "$T/out")"

while read -r c; do
	case $c in
	help | version) ;;
	*) [ -f "$top/man/coffer-$c.1" ] || fail "no man page for command $c" ;;
	esac
	grep -q "^\.It Cm $c\( \|$\)" "$top/man/coffer.1" ||
		fail "coffer(1) does not list command $c"
	grep -q "coffer $c\( \|$\)" "$top/README.md" ||
		fail "the README does not show command $c"
done <"$T/cmds"

for p in "$top"/man/coffer-*.1; do
	c=${p##*/coffer-}
	c=${c%.1}
	grep -qx "$c" "$T/cmds" || fail "man page $p names no command"
done

grep -ho '\.Xr coffer-[a-z-]* [0-9]' "$top"/man/*.[15] | sort -u >"$T/xr"
while read -r _ page sec; do
	[ -f "$top/man/$page.$sec" ] || fail "a man page refers to $page($sec), which does not exist"
done <"$T/xr"

# Commands in the README's examples: '    coffer WORD' or '`coffer WORD'.
sed -n 's/^ *\$* *coffer \([a-z][a-z-]*\).*/\1/p; s/.*`coffer \([a-z][a-z-]*\).*/\1/p' \
    "$top/README.md" | sort -u >"$T/readme"
while read -r c; do
	grep -qx "$c" "$T/cmds" || fail "the README shows 'coffer $c', which is no command"
done <"$T/readme"
