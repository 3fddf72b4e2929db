#!/bin/sh
# The off-site config, the one repository file not named by its hash: a
# key holder with the append-only key renames it away and uploads
# another, as the recipe's layout allows until its "after the first
# replicate" step.  replicate refuses with exit 4 and the fix, sending
# nothing; check --compare-config says so too.  After the admin puts it
# back and runs that step, the key can neither rename, replace nor
# remove it, and both commands pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/repl-lib.sh"

need sftp
export COFFER_TEST_WEAK_KDF=1

start_sshd
U=nobody
R=$T/off/repo
offsite_server "$U" "$R"
URL="sftp://$U@127.0.0.1:$SSHD_PORT$R"
sftp_conf "$T/c.conf" offsite "$URL"
need_sftp "$T/c.conf" offsite

A=$T/primary
S=$T/src
make_tree "$S"
expect_status 0 "$COFFER" init -r "$A" --machine-key "$T/key" --pack-size 1M
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" "$S"
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
# The first replicate says what to do with the config it just sent.
expect_grep 'got its config now: on an append-only host, make it root' "$T/err"
expect_same "$A/config" "$R/config"

# The attack: another config (here another repository's; a key holder
# can seal any), in place of the real one, through the backup key.
expect_status 0 "$COFFER" init -r "$T/other" --machine-key "$T/key2"
sftp_as "$U" "rename config .config.orig" "put $T/other/config config" ||
	fail "the recipe's layout alone no longer lets the key swap config: $(cat "$T/sftp.out")"
cmp -s "$A/config" "$R/config" && fail "the config was not swapped"

# A new snapshot: replicate refuses, one line with the fix, sends nothing.
head -c 300000 /dev/urandom >"$S/var/new"
expect_status 0 "$COFFER" snapshot -r "$A" --password-file "$T/key" "$S"
repo_files "$R" >"$T/before"
expect_status 4 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep "the config of $URL is not the one of $A, yet they share repository files: it was replaced there; nothing was sent.*chown root:root config" "$T/err"
[ ! -s "$T/out" ] || fail "a summary after a refusal: $(cat "$T/out")"
repo_files "$R" >"$T/after"
expect_same "$T/before" "$T/after"
# Another repository is still told apart from a swapped config (exit 2).
expect_status 2 "$COFFER" replicate --from "$A" --to "$T/other"
expect_grep 'is another repository than' "$T/err"

# check, from the primary, against the local repository: exit 4 first,
# before the swapped config is trusted for anything.
expect_status 4 "$COFFER" -c "$T/c.conf" check -r offsite --no-lock \
    --password-file "$T/key" --compare-config "$A"
[ "$(wc -l <"$T/err")" -eq 1 ] || fail "not one line: $(cat "$T/err")"
expect_grep "the config of $URL differs from the one of $A: .*its config was replaced" "$T/err"

# The admin puts it back as root, then runs the recipe's step.
mv -f "$R/.config.orig" "$R/config"
sed -n '/^# --- after the first replicate ---$/,/^# --- /p' "$T/recipe" |
	grep -v '^#' >"$T/harden.sh"
grep -q "^chown root:root $R/config\$" "$T/harden.sh" ||
	fail "no chown of the config in the recipe: $(cat "$T/recipe")"
sh -eu "$T/harden.sh" || fail "the recipe's step failed"
[ "$(stat -c '%U %a' "$R/config")" = "root 444" ] ||
	fail "config is $(stat -c '%U %a' "$R/config")"

# Now nothing the key can do moves or changes it.
sftp_as "$U" "rename config .config.x" && fail "the key renamed a root-owned config"
sftp_as "$U" "put $T/other/config config" && fail "the key overwrote the config"
sftp_as "$U" "rm config" && fail "the key removed the config"
sftp_as "$U" "rename -l config .config.y" && fail "the key renamed the config (legacy)"
expect_same "$A/config" "$R/config"
[ -z "$(find "$R" -maxdepth 1 -name '.config*')" ] || fail "a copy of config was made"

# And both commands pass again; the copy restores.
expect_status 0 "$COFFER" -c "$T/c.conf" replicate --from "$A" --to offsite
expect_status 0 "$COFFER" -c "$T/c.conf" check -r offsite --no-lock \
    --password-file "$T/key" --compare-config "$A"
expect_grep "^config the same as that of $A\$" "$T/out"
repo_files "$A" >"$T/a.files"
repo_files "$R" >"$T/r.files"
expect_same "$T/a.files" "$T/r.files"
restore_equal offsite "$S" -c "$T/c.conf" --password-file "$T/key" --no-lock
