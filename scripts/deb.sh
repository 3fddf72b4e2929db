#!/bin/sh
# make deb: build coffer_VERSION_ARCH.deb from this tree (its tracked and
# new files, as they are now) in build/deb, then hold it to lintian.
#	sh scripts/deb.sh [OUTDIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/build/deb}
cd "$top"
rm -rf "$out"
mkdir -p "$out/src"
# (The project's file names hold no newlines.)
git ls-files --cached --others --exclude-standard |
	while IFS= read -r f; do
		[ ! -e "$f" ] || printf '%s\n' "$f"
	done | tar -T - -cf - | tar -x -C "$out/src"
(cd "$out/src" && dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1) || {
	tail -n 40 "$out/build.log" >&2
	echo "coffer: the package build failed; the log is $out/build.log" >&2
	exit 1
}
set -- "$out"/coffer_*.deb
[ -f "$1" ] || { echo "coffer: no .deb in $out" >&2; exit 1; }
lintian --fail-on error,warning --suppress-tags initial-upload-closes-no-bugs "$1"
echo "$1"
