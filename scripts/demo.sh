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

step "a sample site: an /etc-like tree and an application's data"
mkdir -p "$work/site/etc/app" "$work/site/etc/ssh" "$work/site/srv/app"
i=0
while [ $i -lt 200 ]; do
	printf 'setting_%d = %d\n' "$i" "$((i * 37))" > "$work/site/etc/app/conf.$i"
	i=$((i + 1))
done
printf 'Port 22\nPermitRootLogin no\n' > "$work/site/etc/ssh/sshd_config"
ln -s ../app/conf.0 "$work/site/etc/ssh/link"
seq 1 300000 | sed 's/$/,customer,2026-11-27,42.00/' > "$work/site/srv/app/ledger.csv"
head -c 4000000 /dev/urandom > "$work/site/srv/app/attachments.bin"
du -sh "$work/site"

step "create a repository keyed by a machine key (for cron)"
repo="$work/repo"
run "$coffer" init -r "$repo" --machine-key "$work/machine.key"
co() { "$coffer" "$@" -r "$repo" --password-file "$work/machine.key"; }

step "first snapshot: everything is new"
run co snapshot --cache-dir "$work/cache" --tag demo "$work/site/etc" "$work/site/srv"

step "a day of changes, second snapshot: only the changes are stored"
printf 'setting_new = 1\n' >> "$work/site/etc/app/conf.7"
seq 300001 301000 | sed 's/$/,customer,2026-11-28,42.00/' >> "$work/site/srv/app/ledger.csv"
rm "$work/site/etc/app/conf.199"
run co snapshot --cache-dir "$work/cache" --tag demo "$work/site/etc" "$work/site/srv"
run co snapshots
first=$(co snapshots --json | sed -n 's/^\[{"id":"\([0-9a-f]\{8\}\).*/\1/p')
run co diff "$first" latest
run co ls latest "$work/site/etc/ssh" -l

step "restore everything to another directory and compare byte for byte"
run co restore latest --target "$work/restored"
diff -r "$work/site" "$work/restored$work/site" && echo "identical"

step "one file to stdout"
co restore latest --stdout "$work/site/etc/ssh/sshd_config"

step "verify every byte of the repository"
run co check --read-data

step "named sources: files plus a program's output (a database dump works the same way)"
run co snapshot --cache-dir "$work/cache" --tag demo \
    --command "sed -n 1,5000p '$work/site/srv/app/ledger.csv'" --name ledger-export.csv \
    "$work/site/etc"
run co snapshots
run co ls latest /
co restore latest --source ledger-export.csv --stdout > "$work/export.csv"
sed -n 1,5000p "$work/site/srv/app/ledger.csv" | cmp - "$work/export.csv" && echo "export restored identical"

step "off-site copy: replicate what the copy lacks (no passphrase needed)"
offsite="$work/offsite"
run "$coffer" replicate --from "$repo" --to "$offsite"
run "$coffer" replicate --from "$repo" --to "$offsite"

step "the primary is lost: restore from the off-site copy alone"
rm -rf "$repo" "$work/cache"
run "$coffer" check -r "$offsite" --password-file "$work/machine.key" --read-data
run "$coffer" restore -r "$offsite" --password-file "$work/machine.key" latest --target "$work/from-offsite"
diff -r "$work/site/etc" "$work/from-offsite/files$work/site/etc" && echo "identical"

oc() { "$coffer" "$@" -r "$offsite" --password-file "$work/machine.key"; }

step "damage one pack of the off-site copy: check names it, exit 4"
pack=$(find "$offsite/data" -type f | head -n 1)
chmod u+w "$pack"
printf 'X' | dd of="$pack" bs=1 seek=100 conv=notrunc 2>/dev/null
oc check --read-data 2>&1 | tail -n 3 || true
oc check --read-data > /dev/null 2>&1 && { echo "damage went unnoticed"; exit 1; }
echo "check found the damage"

step "what the off-site server's admin applies for an append-only target"
run "$coffer" offsite-setup sftp://backup@dr.example.net/srv/coffer/gas | head -n 20

step "demo finished: all steps behaved as expected"
