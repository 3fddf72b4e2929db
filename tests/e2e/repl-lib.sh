# Helpers shared by the replicate tests (40-49); sourced after lib.sh.

# make_tree DIR: files, a symlink, odd modes and times, a 3 MiB file.
make_tree() {
	mkdir -p "$1/etc/sub" "$1/var"
	printf 'hello\n' >"$1/etc/motd"
	head -c 3145728 /dev/urandom >"$1/var/big"
	seq 1 200000 >"$1/etc/sub/numbers"
	ln -s ../etc/motd "$1/var/link"
	chmod 0640 "$1/etc/motd"
	chmod 0711 "$1/etc/sub"
	touch -d '2020-02-29 12:34:56.123456789' "$1/etc/sub/numbers"
}

# repo_files DIR: the repository files (no temp files, no locks), sorted.
repo_files() {
	(cd "$1" && find . -type f ! -name '.*' ! -path './locks/*' | LC_ALL=C sort)
}

# temp_files DIR: names of temp files anywhere below DIR.
temp_files() {
	(cd "$1" && find . -type f -name '.*' | LC_ALL=C sort)
}

# flip_byte FILE OFFSET: invert the lowest bit of one byte, in place.
flip_byte() {
	local b
	chmod u+w "$1"
	b=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	# shellcheck disable=SC2059 # the format is the octal escape
	printf "$(printf '\\%03o' $((b ^ 1)))" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
}

# restore_equal REPO DIR [OPTS...]: restore latest of REPO and compare
# DIR (snapshotted by absolute path) with what came back.
restore_equal() {
	local repo="$1" dir="$2" out
	shift 2
	out=$(mktemp -d "$T/restore.XXXXXX")
	expect_status 0 "$COFFER" restore -r "$repo" "$@" latest --target "$out"
	tree_listing "$dir" >"$out.want"
	tree_listing "$out$dir" >"$out.got"
	grep -q 'numbers|' "$out.want" || fail "listing of $dir is empty"
	expect_same "$out.want" "$out.got"
	rm -rf "$out" "$out.want" "$out.got"
}

# offsite_server USER R: apply what `coffer offsite-setup` prints for
# sftp://USER@127.0.0.1:$SSHD_PORT$R to the running start_sshd: the layout
# block run as is (with U=USER) and the authorized_keys line, for
# $SSH_KEY, as the only line sshd accepts.  The recipe is in $T/recipe.
offsite_server() {
	local u="$1" r="$2"
	expect_status 0 "$COFFER" offsite-setup --key "$SSH_KEY.pub" \
	    "sftp://$u@127.0.0.1:$SSHD_PORT$r"
	cp "$T/out" "$T/recipe"
	sed -n '/^# --- layout ---$/,/^# --- /p' "$T/recipe" |
		sed "s/^U=.*/U=$u/" >"$T/layout.sh"
	grep -q '^install -d' "$T/layout.sh" || fail "no layout in the recipe"
	# The account must reach R: $T is root's 0700.
	chmod 0711 "$T"
	sh -eu "$T/layout.sh" || fail "the recipe's layout failed"
	grep '^restrict,command="internal-sftp ' "$T/recipe" >"$SSHD_DIR/authorized_keys" ||
		fail "no authorized_keys line in the recipe"
	chmod 0755 "$SSHD_DIR"
	chmod 0644 "$SSHD_DIR/authorized_keys"
}

# sftp_as USER CMD...: run the sftp(1) batch CMD lines with $SSH_KEY;
# output in $T/sftp.out; returns sftp's status.
sftp_as() {
	local u="$1"
	shift
	printf '%s\n' "$@" >"$T/sftp.batch"
	sftp -b "$T/sftp.batch" -i "$SSH_KEY" -o BatchMode=yes \
	    -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" -o IdentitiesOnly=yes \
	    -P "$SSHD_PORT" "$u@127.0.0.1" >"$T/sftp.out" 2>&1
}

# sftp_conf FILE NAME URL [EXTRA...]: a config with [repository NAME] for
# URL reached with the test's key and known_hosts; EXTRA lines are added
# to that section.
sftp_conf() {
	local f="$1" n="$2" url="$3"
	shift 3
	{
		printf '[repository %s]\nurl = %s\nidentity = %s\n' "$n" "$url" "$SSH_KEY"
		printf 'known_hosts = %s\n' "$SSH_KNOWN_HOSTS"
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >>"$f"
}

# need_sftp CONF NAME: fail unless this coffer has the sftp:// backend
# (every build has it: one without is broken, not a reason to skip); NAME
# is a section of CONF that reaches the running sshd.
need_sftp() {
	"$COFFER" -c "$1" replicate --from "$2" --to "$T/probe" --dry-run \
	    >/dev/null 2>"$T/probe.err" || true
	if grep -q 'not supported by this build' "$T/probe.err"; then
		fail "sftp:// is not supported by this build of $COFFER"
	fi
	rm -rf "$T/probe.err" "$T/probe"
}
