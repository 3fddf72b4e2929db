#!/bin/sh
# The README's demo: what coffer can do today, end to end, on a built-in
# sample.  Runs in a temp dir it removes; touches nothing else.
set -eu
coffer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d "${TMPDIR:-/tmp}/coffer-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
umask 077

step() { printf '\n==> %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "version and commands"
run "$coffer" --version
run "$coffer" help

step "a configuration for the sample site"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/local.key"
echo >> "$work/local.key"
cat > "$work/coffer.conf" <<CONF
# Sample site: a database server with PostgreSQL and its /etc.
[repository local]
path = $work/repo
password_file = $work/local.key

[repository offsite]
url = sftp://backup@dr.example.net:22/srv/coffer/gas
password_file = $work/local.key

[source gasdb]
type = postgres
database = gas

[source etc]
type = files
paths = /etc
exclude = *.swp

[job nightly]
schedule = daily 02:30
sources = gasdb etc
repository = local
replicate = offsite
keep_daily = 7
keep_weekly = 4
CONF
run "$coffer" config check -c "$work/coffer.conf"

step "mistakes are caught with FILE:LINE and exit 2"
sed 's/^keep_weekly = 4/keep_weakly = 4/' "$work/coffer.conf" > "$work/bad.conf"
set +e
"$coffer" config check -c "$work/bad.conf"
rc=$?
set -e
echo "exit status $rc"
[ "$rc" -eq 2 ]

step "a passphrase file others can read is refused"
chmod 644 "$work/local.key"
set +e
"$coffer" config check -c "$work/coffer.conf" >/dev/null
rc=$?
set -e
echo "exit status $rc"
[ "$rc" -eq 2 ]
chmod 600 "$work/local.key"

step "demo finished: all steps behaved as expected"
