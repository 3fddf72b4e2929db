#!/bin/sh
# The operations log (issue 11): init, snapshot, forget, undo, key add,
# rebuild-index and a job run's snapshot and forget steps each leave one
# record with the right operation, outcome, user, host and command; a
# forget of an unknown snapshot and a snapshot whose only source fails
# are recorded as failed; the log is replicated through the append-only
# recipe to a real sshd, and 'coffer log' on the off-site copy shows the
# same records; a corrupted record makes check (and log) report it.
# e2e: long
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need python3 sftp
umask 022
cd "$T"
export COFFER_TEST_WEAK_KDF=1 TZ=UTC

R=$T/repo
K="--password-file $T/key"
HOST=$(hostname)
ME=$(id -un)

# log_json [ARGS]: coffer log --json of $R, flattened by one python3 run
# into $T/log.flat: "N KEY=VALUE" lines, N = 0 for the oldest record and
# -1, -2 ... from the newest; prints the number of records.
log_json() {
	# shellcheck disable=SC2086 # K is words
	expect_status 0 "$COFFER" log -r "$R" $K --json "$@"
	cp "$T/out" "$T/log.json"
	python3 -c '
import json, sys
a = json.load(open(sys.argv[1]))
with open(sys.argv[2], "w") as f:
	for i, r in enumerate(a):
		for n in (i, i - len(a)):
			for k, v in r.items():
				if isinstance(v, dict):
					for k2, v2 in v.items():
						f.write("%d %s.%s=%s\n" % (n, k, k2, v2))
				elif isinstance(v, list):
					f.write("%d %s=%s\n" % (n, k, " ".join(v)))
				else:
					f.write("%d %s=%s\n" % (n, k, v))
print(len(a))' "$T/log.json" "$T/log.flat"
}

# field N KEY: KEY of record N of the last log_json.
field() {
	sed -n "s|^$1 $2=||p" "$T/log.flat"
}

# expect_last OP OUTCOME CMD: the newest record is OP with OUTCOME, by us
# on this host, run as CMD, and there are N+1 records where there were N.
n=0
expect_last() {
	local got
	got=$(log_json)
	expect_eq "records after $1" $((n + 1)) "$got"
	n=$got
	expect_eq "operation" "$1" "$(field -1 operation)"
	expect_eq "outcome of $1" "$2" "$(field -1 outcome)"
	expect_eq "user of $1" "$ME" "$(field -1 user)"
	expect_eq "host of $1" "$HOST" "$(field -1 host)"
	expect_eq "command of $1" "$3" "$(field -1 command)"
}

expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key"
expect_last init ok "coffer init -r $R --machine-key $T/key"
expect_eq "init's key" "$(ls "$R/keys")" "$(field -1 keys)"

mkdir src
head -c 300000 /dev/urandom >src/big
echo one >src/small
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --json "$T/src"
id1=$(sed -n 's/.*"id": *"\([0-9a-f]\{64\}\)".*/\1/p' "$T/out" | head -n 1)
[ -n "$id1" ] || fail "no snapshot id"
expect_last snapshot ok "coffer snapshot -r $R $K --json $T/src"
expect_eq "snapshot id" "$id1" "$(field -1 snapshots)"
expect_eq "files counted" 2 "$(field -1 counts.files)"

# A failed forget (an unknown snapshot) reached the repository: recorded.
# shellcheck disable=SC2086
expect_status 2 "$COFFER" forget -r "$R" $K --yes 0000aaaa
expect_last forget failed "coffer forget -r $R $K --yes 0000aaaa"
expect_eq "class" usage "$(field -1 error.class)"
expect_grep 'no snapshot 0000aaaa' "$T/log.json"

# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --yes "$id1"
expect_last forget ok "coffer forget -r $R $K --yes $id1"
expect_eq "forgotten" "$id1" "$(field -1 snapshots)"
# A dry run changes nothing and records nothing.
echo two >src/small
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --json "$T/src"
id2=$(sed -n 's/.*"id": *"\([0-9a-f]\{64\}\)".*/\1/p' "$T/out" | head -n 1)
expect_last snapshot ok "coffer snapshot -r $R $K --json $T/src"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --keep-last 1 --dry-run
expect_eq "records after a dry run" "$n" "$(log_json)"

# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --undo "$(printf %.8s "$id1")"
expect_last undo ok "coffer forget -r $R $K --undo $(printf %.8s "$id1")"
expect_eq "undone" "$id1" "$(field -1 snapshots)"

# shellcheck disable=SC2086
expect_status 0 "$COFFER" key add -r "$R" $K --machine-key "$T/key2" --json
newkey=$(sed -n 's/.*"added":"\([0-9a-f]*\)".*/\1/p' "$T/out")
expect_last key-add ok "coffer key add -r $R $K --machine-key $T/key2 --json"
expect_eq "key added" "$newkey" "$(field -1 keys)"

# shellcheck disable=SC2086
expect_status 0 "$COFFER" rebuild-index -r "$R" $K
expect_last rebuild-index ok "coffer rebuild-index -r $R $K"

# A snapshot whose only source fails: nothing saved, the failure recorded.
# shellcheck disable=SC2086
expect_status 1 "$COFFER" snapshot -r "$R" $K --command 'exit 3' --name bad
expect_last snapshot failed "coffer snapshot -r $R $K --command 'exit 3' --name bad"
expect_eq "class" io "$(field -1 error.class)"
expect_eq "no snapshot id" "" "$(field -1 snapshots)"

# A job run goes through the same engines: its snapshot and forget steps.
cat >"$T/coffer.conf" <<CONF
[global]
state_dir = $T/state

[repository local]
path = $R
password_file = $T/key

[source etc]
type = files
paths = $T/src

[job nightly]
sources = etc
repository = local
keep_last = 1
CONF
expect_status 0 "$COFFER" -c "$T/coffer.conf" job run nightly
got=$(log_json)
expect_eq "records after a job run" $((n + 2)) "$got"
n=$got
expect_eq "job's first record" snapshot "$(field -2 operation)"
expect_eq "job's second record" forget "$(field -1 operation)"
expect_eq "job's forget outcome" ok "$(field -1 outcome)"
expect_eq "job's command" "coffer -c $T/coffer.conf job run nightly" \
    "$(field -1 command)"
# The job's snapshot (of source etc: /etc) is a group of its own; of the
# two plain ones keep_last = 1 keeps the newer.
expect_eq "job's forget count" 1 "$(field -1 counts.snapshots)"
expect_eq "job's forget" "$id1" "$(field -1 snapshots)"

# The text listing: one line per record, oldest first.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" log -r "$R" $K
expect_eq "lines" "$n" "$(wc -l <"$T/out")"
head -n 1 "$T/out" | grep -q "  $ME@$HOST  init  " ||
	fail "first line: $(head -n 1 "$T/out")"
expect_grep "  forget  *failed \(usage: no snapshot 0000aaaa\)  .*coffer forget -r $R" "$T/out"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" log -r "$R" $K --last 2
expect_eq "--last 2" 2 "$(wc -l <"$T/out")"
expect_grep '  forget  *ok' "$T/out"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" log -r "$R" $K --since 1h
expect_eq "--since 1h" "$n" "$(wc -l <"$T/out")"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" log -r "$R" $K --json >/dev/null
cp "$T/out" "$T/primary.json"

# Off-site through the append-only recipe, on a real sshd.
start_sshd
U=nobody
O=$T/off/repo
offsite_server "$U" "$O"
URL="sftp://$U@127.0.0.1:$SSHD_PORT$O"
sftp_conf "$T/c.conf" offsite "$URL"
need_sftp "$T/c.conf" offsite
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$R" --to offsite
# (forgotten/ is not replicated: the job forgot a snapshot.)
repo_files "$R" | grep -v '^\./forgotten/' >"$T/a.files"
repo_files "$O" >"$T/o.files"
grep -q '^\./log/' "$T/o.files" || fail "no log/ off-site"
expect_same "$T/a.files" "$T/o.files"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" -c "$T/c.conf" log -r offsite $K --no-lock --json
expect_same "$T/primary.json" "$T/out"

# A corrupted record: check names it (exit 4), log leaves it out (exit 4).
victim=$(ls "$R/log" | head -n 1)
flip_byte "$R/log/$victim" 30
# shellcheck disable=SC2086
expect_status 4 "$COFFER" check -r "$R" $K --json
expect_grep "\"file\":\"log/$victim\"" "$T/out"
# shellcheck disable=SC2086
expect_status 4 "$COFFER" log -r "$R" $K
expect_eq "lines with one damaged" $((n - 1)) "$(wc -l <"$T/out")"
expect_grep "log/$victim cannot be read" "$T/err"
# The off-site copy is intact and checks clean, log/ included.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" -c "$T/c.conf" check -r offsite $K --no-lock --json
expect_grep "\"log_records\":$n," "$T/out"
expect_grep '"log_records_damaged":0' "$T/out"
# And the data the log speaks of is there, byte for byte.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$R" $K "$id2" --target "$T/got"
tree_listing "$T/src" >"$T/want.list"
tree_listing "$T/got$T/src" >"$T/got.list"
expect_same "$T/want.list" "$T/got.list"
