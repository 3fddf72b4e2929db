#!/bin/sh
# make install puts the binary, man pages, docs, the sample config and the
# bash completion where a Debian admin looks; the installed binary runs,
# the completion completes commands, options and the config's section
# names; make uninstall removes exactly what install put, and coffer's own
# directories with it.
. "$(dirname "$0")/lib.sh"

need make
need bash
top=$(cd "$(dirname "$0")/../.." && pwd)
D="$T/root"
make -s -C "$top" install-files DESTDIR="$D" PREFIX=/usr \
    INSTALL_BIN="$COFFER" >"$T/out" 2>"$T/err" ||
	fail "make install-files: $(cat "$T/err")"

(cd "$D" && find . -type f | sort) >"$T/got"
{
	echo ./etc/coffer/coffer.conf.sample
	echo ./usr/bin/coffer
	echo ./usr/share/bash-completion/completions/coffer
	for f in README.md FORMAT.md OFFSITE.md coffer.conf.sample; do
		echo "./usr/share/doc/coffer/$f"
	done
	for m in "$top"/man/*.1; do echo "./usr/share/man/man1/${m##*/}"; done
	for m in "$top"/man/*.5; do echo "./usr/share/man/man5/${m##*/}"; done
} | sort >"$T/want"
expect_same "$T/want" "$T/got"
expect_eq "mode of etc/coffer" 700 "$(stat -c %a "$D/etc/coffer")"
expect_eq "mode of the binary" 755 "$(stat -c %a "$D/usr/bin/coffer")"
expect_status 0 "$D/usr/bin/coffer" version

# The completion, as bash loads it, with the installed binary on PATH.
cat >"$T/c.conf" <<EOF2
[repository local]
path = $T/repo
[repository offsite]
url = sftp://backup@dr.example.net/srv/coffer
[source etc]
type = files
paths = /etc
[job nightly]
sources = etc
repository = local
EOF2
complete_words() {
	PATH="$D/usr/bin:$PATH" bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		_coffer
		printf "%s\n" "${COMPREPLY[@]}" | sort' \
	    sh "$D/usr/share/bash-completion/completions/coffer" "$@"
}
expect_eq "complete 'coffer res'" restore "$(complete_words coffer res)"
expect_eq "complete 'coffer snapshot'" "snapshot
snapshots" "$(complete_words coffer snapshot)"
expect_eq "complete 'coffer restore --to-p'" --to-postgres \
    "$(complete_words coffer restore --to-p)"
expect_eq "complete -r NAME" "local
offsite" "$(complete_words coffer -c "$T/c.conf" snapshots -r '')"
expect_eq "complete --job NAME" nightly \
    "$(complete_words coffer -c "$T/c.conf" snapshot --job n)"

make -s -C "$top" uninstall DESTDIR="$D" PREFIX=/usr >"$T/out" 2>&1 ||
	fail "make uninstall: $(cat "$T/out")"
left=$(cd "$D" && find . -type f)
[ -z "$left" ] || fail "uninstall left: $left"
[ ! -e "$D/usr/share/doc/coffer" ] || fail "uninstall left the doc directory"
[ ! -e "$D/etc/coffer" ] || fail "uninstall left etc/coffer"
