#!/bin/sh
# coffer config check, end to end: a valid config prints every section with
# its resolved settings; each kind of bad or unsafe config exits 2 with one
# line that names FILE:LINE or the fix; a passphrase in a password file
# never shows in any output.  Ends comparing the text output byte for byte.
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck disable=SC1091 # provided by the e2e harness
. "$here/lib.sh"

: "${COFFER:?COFFER must name the coffer binary}"
sample="$here/../../etc/coffer.conf.sample"
secret='correct horse battery staple 7f3a9e'
umask 022
cd "$T" || fail "cannot cd to $T"

# The passphrase must not appear in what the last command printed.
no_secret() {
	if grep -qF "$secret" "$T/out" "$T/err"; then
		fail "$1: the passphrase appears in the output"
	fi
}

# stderr is exactly one line and contains $1 (a fixed string); no stdout.
one_line_with() {
	n=$(wc -l <"$T/err")
	[ "$n" -eq 1 ] || fail "stderr has $n lines, want 1: $(cat "$T/err")"
	grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"
	[ ! -s "$T/out" ] || fail "stdout not empty on error: $(cat "$T/out")"
}

mkdir keys
(umask 077 && printf '%s\n' "$secret" >keys/local.key)

cat >coffer.conf <<EOF
[repository local]
path = /var/backups/coffer
password_file = $T/keys/local.key   # a machine key

[repository offsite]
url = sftp://backup@dr.example.net:22/srv/coffer/gas
password_file = $T/keys/local.key
transfers = 4

[source gasdb]
type = postgres
database = gas

[job nightly]
schedule = daily 02:30
sources = gasdb
repository = local
replicate = offsite
EOF

# 1. Valid: exit 0, every section shown; nothing on stderr (the
# scheduler acts on the job's schedule).
expect_status 0 "$COFFER" config check -c coffer.conf
for h in '[global]' '[repository local]' '[repository offsite]' \
	'[source gasdb]' '[job nightly]'; do
	grep -qF "$h" "$T/out" || fail "output lacks $h"
done
[ ! -s "$T/err" ] || fail "stderr: $(cat "$T/err")"
no_secret "config check"

# The same with options in any order, as JSON, and quiet.
expect_status 0 "$COFFER" -c coffer.conf config check
expect_status 0 "$COFFER" config -c coffer.conf check
expect_status 0 "$COFFER" config check --json -c coffer.conf
no_secret "config check --json"
grep -q '"valid": true' "$T/out" || fail "--json lacks \"valid\": true"
if command -v python3 >/dev/null 2>&1; then
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = {(x["type"], x["name"]): x for x in d["sections"]}
off = s[("repository", "offsite")]["settings"]
assert off["transfers"] == {"value": 4, "default": False, "line": 8}, off
assert off["io_timeout"] == {"value": 60, "default": True, "line": None}
assert s[("job", "nightly")]["settings"]["sources"]["value"] == ["gasdb"]
assert len(d["warnings"]) == 0, d["warnings"]
' "$T/out" || fail "--json output is not what was expected"
fi
expect_status 0 "$COFFER" -q config check -c coffer.conf
[ ! -s "$T/out" ] || fail "-q printed on success"
[ ! -s "$T/err" ] || fail "-q printed a warning: $(cat "$T/err")"

# A key that nothing acts on would warn; what coffer job run, the
# scheduler and coffer drill run act on (before, hook_timeout, keep_*,
# check, on_failure, timeout, state_dir, lock_wait, schedule and
# prune_schedule of a job, schedule of a drill, the rest of a [drill])
# does not.
cat >later.conf <<EOF
[global]
state_dir = /var/lib/coffer
lock_wait = 15m

[repository local]
path = /var/backups/coffer

[source gasdb]
type = postgres
database = gas

[job nightly]
sources = gasdb
repository = local
before = true
hook_timeout = 1m
schedule = daily 02:30
prune_schedule = Sun 04:00
keep_last = 1
keep_hourly = 1
keep_daily = 1
keep_weekly = 1
keep_monthly = 1
keep_yearly = 1
check = 5%
on_failure = true
timeout = 1h
lock_wait = 2m

[drill weekly]
repository = local
target = /srv/drill
schedule = Sun 05:00
EOF
expect_status 0 "$COFFER" config check -c later.conf
if grep -q "\[drill weekly\] schedule" "$T/err"; then
	fail "a drill's schedule warned about: $(cat "$T/err")"
fi
# keep_* are acted on by coffer forget --job.
if grep -q "\] keep_" "$T/err"; then fail "keep_* warned about: $(cat "$T/err")"; fi
n=$(wc -l <"$T/err")
[ "$n" -eq 0 ] || fail "later.conf: $n warnings, want none: $(cat "$T/err")"

# 2. Unknown key: exit 2, one line with FILE:LINE and the key.
sed 's/^transfers = 4$/tranfsers = 4/' coffer.conf >typo.conf
expect_status 2 "$COFFER" config check -c typo.conf
one_line_with "typo.conf:8: unknown key 'tranfsers' in [repository offsite]"

# 3. Missing file: exit 2, one line naming it.
expect_status 2 "$COFFER" config check -c "$T/nope.conf"
one_line_with "$T/nope.conf: No such file or directory"

# 4. A config others can write could make us run anything: refused.
cp coffer.conf gw.conf
chmod 664 gw.conf
expect_status 2 "$COFFER" config check -c gw.conf
one_line_with "run: chmod go-w gw.conf"

# 5. A password file others can read: refused at its key's line, and the
# passphrase is never printed, whatever the output mode.
chmod 644 keys/local.key
expect_status 2 "$COFFER" config check -c coffer.conf
one_line_with "coffer.conf:3: password file $T/keys/local.key is readable"
grep -qF "chmod 600 $T/keys/local.key" "$T/err" || fail "no chmod 600 hint"
no_secret "config check, 0644 key"
expect_status 2 "$COFFER" -v config check --json -c coffer.conf
no_secret "config check --json -v, 0644 key"
chmod 600 keys/local.key

rm keys/local.key
expect_status 2 "$COFFER" config check -c coffer.conf
one_line_with "coffer.conf:3: password file $T/keys/local.key: No such file"

# 6. Usage errors.
expect_status 2 "$COFFER" config
expect_status 2 "$COFFER" config frobnicate -c coffer.conf
expect_status 2 "$COFFER" config check extra -c coffer.conf

# 6b. Schedules and time zones are checked at their line; prune_schedule
# is acted on (the scheduler prunes on it): no warning.
sed 's|^schedule = daily 02:30$|schedule = Mon..Fri 22:00\
timezone = Europe/Berlin\
jitter = 10m\
prune_schedule = Sun 04:00|' coffer.conf | grep -v '^password_file' >sched.conf
expect_status 0 "$COFFER" config check -c sched.conf
n=$(wc -l <"$T/err")
[ "$n" -eq 0 ] || fail "sched.conf: $n warnings, want none: $(cat "$T/err")"
sed 's|^schedule = .*|schedule = Mon..Fry 22:00|' sched.conf >bad.conf
expect_status 2 "$COFFER" config check -c bad.conf
one_line_with "bad.conf:13: schedule: 'Mon..Fry 22:00' is not a schedule: 'Mon..Fry' is not a day"
sed 's|^timezone = .*|timezone = Europe/Berln|' sched.conf >bad.conf
expect_status 2 "$COFFER" config check -c bad.conf
one_line_with "bad.conf:14: timezone: time zone 'Europe/Berln' is unknown"
sed 's|^jitter = .*|jitter = 1d|' sched.conf >bad.conf
expect_status 2 "$COFFER" config check -c bad.conf
one_line_with "bad.conf:15: jitter: 1d is not shorter than the 1d between two runs of schedule"
sed 's|^jitter = .*|lock_wait = soon|' sched.conf >bad.conf
expect_status 2 "$COFFER" config check -c bad.conf
grep -q "^coffer: bad.conf:15: lock_wait: " "$T/err" ||
    fail "a bad lock_wait is not reported at its line: $(cat "$T/err")"

# 7. The shipped sample passes once its password file exists, and the
# commands in its NOTE make that file: a machine key, as its comments say.
sed "s|/etc/coffer/|$T/sample/|g; s|/var/backups/coffer|$T/sample-repo|g" \
    "$sample" >sample.conf
expect_status 2 "$COFFER" config check -c sample.conf
one_line_with "password file $T/sample/local.key: No such file"
sed -n '/^# NOTE/,/^# Keep a copy/s/^#     //p' "$sample" |
    sed "s|/etc/coffer/|$T/sample/|g; s|/etc/coffer\$|$T/sample|;
    s|^coffer |$COFFER -c sample.conf |" >sample-note.sh
[ "$(grep -c "^$COFFER " sample-note.sh)" -eq 2 ] &&
    grep -q -- '--machine-key' sample-note.sh ||
	fail "the sample's NOTE: $(cat sample-note.sh)"
expect_status 0 sh -e sample-note.sh
expect_status 0 "$COFFER" key list -c sample.conf -r local
grep -q ' machine ' "$T/out" ||
	fail "the sample's key is no machine key: $(cat "$T/out")"
expect_status 0 "$COFFER" config check -c sample.conf
for h in '[repository offsite]' '[source ldap]' '[job hourly]' \
	'[drill weekly]'; do
	grep -qF "$h" "$T/out" || fail "sample output lacks $h"
done

# 8. The text output, byte for byte.  Without the password files: their
# paths under $T vary in length, and so would the alignment.
grep -v '^password_file' coffer.conf >plain.conf
expect_status 0 "$COFFER" config check -c plain.conf
cat >text.want <<'END'
# plain.conf: valid, 4 sections

[global]  # not in the file: defaults
log              = stderr             # default
cache_dir        = /var/cache/coffer  # default
state_dir        = /var/lib/coffer    # default
lock_stale_after = 30m                # default

[repository local]  # plain.conf:1
path        = /var/backups/coffer  # line 2
compression = 3                    # default
locks       = shared               # default

[repository offsite]  # plain.conf:4
url             = sftp://backup@dr.example.net:22/srv/coffer/gas  # line 5
connect_timeout = 10s     # default
io_timeout      = 60s     # default
keepalive       = 15s     # default
retries         = 5       # default
transfers       = 4       # line 6
limit_upload    = 0       # default
limit_download  = 0       # default
compression     = 3       # default
locks           = shared  # default

[source gasdb]  # plain.conf:8
type         = postgres  # line 9
database     = gas       # line 10
globals      = no        # default
method       = dump      # default
hook_timeout = 5m        # default

[job nightly]  # plain.conf:12
sources      = gasdb        # line 14
repository   = local        # line 15
schedule     = daily 02:30  # line 13
replicate    = offsite      # line 16
hook_timeout = 5m           # default
END
cmp text.want "$T/out" || {
	diff -u text.want "$T/out" >&2 || :
	fail "config check text output differs"
}

# 9. A file is only as safe as the directories above it: someone who can
# write to one (without the sticky bit), or who owns it, can replace the
# file.  Each is reported at its key's line with the fix.
mkdir -p "$T/d9/keys" "$T/d9/ssh" "$T/d9/hooks"
(umask 077 && printf '%s\n' "$secret" >"$T/d9/keys/k" &&
	printf 'k\n' >"$T/d9/ssh/id")
printf '[127.0.0.1]:22 ssh-ed25519 AAAA\n' >"$T/d9/ssh/known_hosts"
printf '#!/bin/sh\n' >"$T/d9/hooks/freeze"
chmod 755 "$T/d9/hooks/freeze"
cat >d9.conf <<END
[repository offsite]
url = sftp://backup@dr.example.net/srv/coffer
password_file = $T/d9/keys/k
identity = $T/d9/ssh/id
known_hosts = $T/d9/ssh/known_hosts

[source etc]
type = files
paths = /etc
before = $T/d9/hooks/freeze create --size 1G
END
expect_status 0 "$COFFER" config check -c d9.conf

chmod 777 "$T/d9/keys"
expect_status 2 "$COFFER" config check -c d9.conf
one_line_with "d9.conf:3: password file $T/d9/keys/k is unsafe: directory $T/d9/keys is writable by group or others (mode 0777)"
grep -qF "run: chmod go-w $T/d9/keys" "$T/err" || fail "no chmod hint"
no_secret "config check, writable key directory"
# The sticky bit keeps others to their own names, as in /tmp.
chmod 1777 "$T/d9/keys"
expect_status 0 "$COFFER" config check -c d9.conf
# Any ancestor counts, not just the parent.
chmod 755 "$T/d9/keys"
chmod 775 "$T/d9"
expect_status 2 "$COFFER" config check -c d9.conf
one_line_with "d9.conf:3: password file $T/d9/keys/k is unsafe: directory $T/d9 is writable"
chmod 755 "$T/d9"

chmod 770 "$T/d9/ssh"
expect_status 2 "$COFFER" config check -c d9.conf
one_line_with "d9.conf:4: identity $T/d9/ssh/id is unsafe: directory $T/d9/ssh is writable"
chmod 700 "$T/d9/ssh"
# known_hosts is no secret, but whoever can change it can pick the host.
chmod 666 "$T/d9/ssh/known_hosts"
expect_status 2 "$COFFER" config check -c d9.conf
one_line_with "d9.conf:5: known_hosts file $T/d9/ssh/known_hosts is writable by group or others"
chmod 644 "$T/d9/ssh/known_hosts"

chmod 757 "$T/d9/hooks"
expect_status 2 "$COFFER" config check -c d9.conf
one_line_with "d9.conf:10: program $T/d9/hooks/freeze is unsafe: directory $T/d9/hooks is writable"
chmod 755 "$T/d9/hooks"
chmod 775 "$T/d9/hooks/freeze"
expect_status 2 "$COFFER" config check -c d9.conf
one_line_with "d9.conf:10: program $T/d9/hooks/freeze is writable by group or others"
chmod 755 "$T/d9/hooks/freeze"

# Through a symlink: the directories of the link and of its target count.
mkdir -m 777 "$T/d9/open"
ln -s "$T/d9/keys" "$T/d9/open/keys"
sed "s|$T/d9/keys/k|$T/d9/open/keys/k|" d9.conf >d9l.conf
expect_status 2 "$COFFER" config check -c d9l.conf
one_line_with "directory $T/d9/open is writable"
rm "$T/d9/open/keys"
chmod 755 "$T/d9/open"
ln -s "$T/d9/open" "$T/d9/link"
chmod 777 "$T/d9/open"
mv "$T/d9/keys/k" "$T/d9/open/k"
sed "s|$T/d9/keys/k|$T/d9/link/k|" d9.conf >d9l.conf
expect_status 2 "$COFFER" config check -c d9l.conf
one_line_with "password file $T/d9/link/k is unsafe: directory $T/d9/open is writable"
mv "$T/d9/open/k" "$T/d9/keys/k"
chmod 755 "$T/d9/open"

# A directory another (non-root) user owns: they can swap the file.
if [ "$(id -u)" -eq 0 ]; then
	chown nobody "$T/d9/hooks"
	expect_status 2 "$COFFER" config check -c d9.conf
	one_line_with "directory $T/d9/hooks is owned by uid $(id -u nobody), not by you (uid 0) or root"
	chown 0 "$T/d9/hooks"
fi
expect_status 0 "$COFFER" config check -c d9.conf
