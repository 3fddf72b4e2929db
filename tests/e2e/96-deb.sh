#!/bin/sh
# make deb builds a Debian package that lintian passes (no error, no
# warning); dpkg installs it into a scratch root (dpkg --root), where the
# binary runs and the files sit where an admin looks (sample config as a
# conffile in a 0700 /etc/coffer, a 0700 state directory, man pages,
# completion); dpkg --purge removes it all again.
# e2e: long
. "$(dirname "$0")/lib.sh"

case $COFFER in
*/build/san/*) skip "the package is built once, in the release pass" ;;
esac
need dpkg-buildpackage
need dh
need lintian
need git
top=$(cd "$(dirname "$0")/../.." && pwd)
git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
	skip "not a git checkout: make deb packs the tree git knows"

sh "$top/scripts/deb.sh" "$T/deb" >"$T/deb.out" 2>&1 || {
	tail -n 30 "$T/deb.out" >&2
	fail "make deb failed (lintian's findings, if any, are above)"
}
set -- "$T"/deb/coffer_*.deb
[ -f "$1" ] || fail "no package: $(ls "$T/deb")"
deb=$1
dpkg-deb -f "$deb" Package Architecture >"$T/fields"
expect_grep '^Package: coffer$' "$T/fields"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$T/conffiles"
expect_grep '^/etc/coffer/coffer.conf.sample$' "$T/conffiles"

R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
: >"$R/var/lib/dpkg/status"
: >"$R/var/lib/dpkg/available"
dp() {
	dpkg --root="$R" --force-depends --force-script-chrootless \
	    --force-not-root --log=/dev/null "$@"
}
dp -i "$deb" >"$T/dpkg.out" 2>&1 || fail "dpkg -i: $(cat "$T/dpkg.out")"
expect_status 0 "$R/usr/bin/coffer" version -v
expect_grep '^  libssh2 ' "$T/out"
expect_eq "mode of /etc/coffer" 700 "$(stat -c %a "$R/etc/coffer")"
expect_eq "mode of /var/lib/coffer" 700 "$(stat -c %a "$R/var/lib/coffer")"
for f in usr/share/man/man1/coffer.1.gz usr/share/man/man5/coffer.conf.5.gz \
    usr/share/bash-completion/completions/coffer \
    usr/share/doc/coffer/copyright; do
	[ -f "$R/$f" ] || fail "the package lacks /$f"
done
dp --purge coffer >"$T/dpkg.out" 2>&1 || fail "dpkg --purge: $(cat "$T/dpkg.out")"
[ ! -e "$R/usr/bin/coffer" ] || fail "purge left /usr/bin/coffer"
[ ! -e "$R/etc/coffer" ] || fail "purge left /etc/coffer"
