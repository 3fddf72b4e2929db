#!/bin/sh
# Low limits: few file descriptors (ulimit -n 32, 16) and a small address
# space (ulimit -v).  Each command either works or fails cleanly: a
# documented exit status (never a signal), one line saying why, nothing
# half committed; the repository checks clean with every byte read, and
# what a snapshot holds restores byte for byte.
#
# With few descriptors the tree walk holds a bounded number of them (it
# opens shallower directories again by name when it comes back to them),
# so a tree 200 levels deep is read whole under ulimit -n 32; under 16 the
# pack writer may find no descriptor left: the snapshot then fails (exit
# 1) with one line of why, and commits nothing.
# Between 100 and 300 MiB of address space an allocation fails somewhere
# inside (in any thread; glibc reserves 64 MiB arenas per thread), and a
# snapshot into 1 GiB packs cannot hold its pack: exit 1 with one line
# ("out of memory ..."), the lock file removed, nothing committed.
# Under SANITIZE=1 the address-space part is skipped: ASan reserves
# terabytes of shadow memory at start, so no small ulimit -v lets it run.
# e2e: long
. "$(dirname "$0")/lib.sh"

need jq
export COFFER_TEST_WEAK_KDF=1
cd "$T"
umask 077

# A deep and wide tree: a chain 200 directories deep, 50 directories of 8
# files, and a few MB of data.
d=src/deep
i=0
while [ $i -lt 200 ]; do
	d=$d/d$i
	i=$((i + 1))
done
mkdir -p "$d"
echo bottom >"$d/leaf"
i=0
while [ $i -lt 50 ]; do
	mkdir -p "src/wide/w$i"
	for j in 1 2 3 4 5 6 7 8; do echo "$i.$j" >"src/wide/w$i/g$j"; done
	i=$((i + 1))
done
head -c 3000000 /dev/urandom >src/big
seq 1 100000 >src/text

R=$T/repo
K="--password-file $T/key"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key" --pack-size 1M
# One snapshot without a limit, for the restores below to start from.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --no-cache src

# clean: check --read-data without any limit.
clean() {
	# shellcheck disable=SC2086
	"$COFFER" check -r "$1" $K --read-data >check.out 2>&1 || {
		cat check.out
		fail "$what: the check of $1 failed"
	}
}
# limited LIMIT CMD...: CMD under ulimit LIMIT; $rc, $T/out, $T/err.
limited() {
	local lim="$1"
	shift
	rc=0
	# shellcheck disable=SC2086 # the limit is two words
	(ulimit $lim && exec "$@") >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -lt 128 ] || fail "$what: killed by signal $((rc - 128)): $(cat "$T/err")"
}
# one_line: a failure says why in one line.
one_line() {
	[ "$(wc -l <"$T/err")" -eq 1 ] || fail "$what: exit $rc, not one line: $(cat "$T/err")"
}
# same_as_source DIR: every file restored under DIR is its source's.
same_as_source() {
	(cd "$1" && find . -type f) | while read -r f; do
		cmp -s "$1/$f" "/$f" || fail "$what: $f differs from its source"
	done
}
nsnaps() {
	# shellcheck disable=SC2086
	"$COFFER" snapshots -r "$R" $K --json | jq length
}

for n in 32 16; do
	# ---------------------------------------- snapshot
	what="ulimit -n $n: snapshot"
	before=$(nsnaps)
	# shellcheck disable=SC2086
	limited "-n $n" "$COFFER" snapshot -r "$R" $K --no-cache --json src
	case $rc in
	0) [ ! -s "$T/err" ] || fail "$what: $(cat "$T/err")" ;;
	1)
		# Out of descriptors for a pack (not the walk's): one line of
		# why; nothing committed.
		[ "$n" -lt 32 ] || fail "$what: exit 1: $(cat "$T/err")"
		one_line
		expect_grep '^coffer: .*Too many open files$' "$T/err"
		before=$((before - 1))
		;;
	*) fail "$what: exit $rc: $(cat "$T/err")" ;;
	esac
	expect_eq "$what: snapshots" "$((before + 1))" "$(nsnaps)"
	echo "$what: exit $rc"
	clean "$R"

	# ---------------------------------------- restore
	what="ulimit -n $n: restore"
	rm -rf got
	# shellcheck disable=SC2086
	limited "-n $n" "$COFFER" restore -r "$R" $K latest --target got
	[ "$rc" -eq 0 ] || fail "$what: exit $rc: $(cat "$T/err")"
	same_as_source got
	# All of it, the deep chain too.
	diff -r src "got$T/src" || fail "$what: the restore differs"
	[ "$(find "got$T/src/wide" -type f | wc -l)" -eq 400 ] || fail "$what: files missing"

	# ---------------------------------------- check
	what="ulimit -n $n: check"
	# shellcheck disable=SC2086
	limited "-n $n" "$COFFER" check -r "$R" $K --read-data
	[ "$rc" -eq 0 ] || fail "$what: exit $rc: $(cat "$T/err")"
	expect_grep '^no problems found$' "$T/out"

	# ---------------------------------------- replicate
	what="ulimit -n $n: replicate"
	rm -rf dst
	limited "-n $n" "$COFFER" replicate --from "$R" --to "$T/dst"
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -eq 1 ] || fail "$what: exit $rc: $(cat "$T/err")"
		one_line
		expect_grep 'Too many open files' "$T/err"
		expect_status 0 "$COFFER" replicate --from "$R" --to "$T/dst"
	fi
	echo "$what: exit $rc"
	clean "$T/dst"
done
rm -rf got dst

# ------------------------------------------------ address space
if ldd "$COFFER" 2>/dev/null | grep -q 'libasan'; then
	echo "ulimit -v: skipped, an ASan build cannot run under a small one"
	exit 0
fi
# 300 MiB: enough for all of it.
what="ulimit -v 300 MiB"
head -c 2000000 /dev/urandom >src/more
# shellcheck disable=SC2086
limited "-v 307200" "$COFFER" snapshot -r "$R" $K --no-cache src
[ "$rc" -eq 0 ] || fail "$what: snapshot: exit $rc: $(cat "$T/err")"
rm -rf got
# shellcheck disable=SC2086
limited "-v 307200" "$COFFER" restore -r "$R" $K latest --target got
[ "$rc" -eq 0 ] || fail "$what: restore: exit $rc: $(cat "$T/err")"
diff -r src "got$T/src" || fail "$what: the restore differs"
# shellcheck disable=SC2086
limited "-v 307200" "$COFFER" check -r "$R" $K --read-data
[ "$rc" -eq 0 ] || fail "$what: check: exit $rc: $(cat "$T/err")"
rm -rf dst got
limited "-v 307200" "$COFFER" replicate --from "$R" --to "$T/dst"
[ "$rc" -eq 0 ] || fail "$what: replicate: exit $rc: $(cat "$T/err")"
clean "$T/dst"
rm -rf dst

# 100 to 300 MiB in steps of 25: where glibc's per-thread arenas (64 MiB
# of address space each) meet the limit, an allocation fails somewhere
# inside, in any thread.  Each command runs or ends with exit 1 and the
# one line "out of memory ...: raise the address-space limit (ulimit -v)
# ..." (or "cannot start ... thread"): never a signal, no lock file left
# behind (the process removes its own as it ends), nothing half committed.
# sweep_one REPO: $rc and $T/err are a clean outcome; no lock left in REPO.
sweep_one() {
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -eq 1 ] || fail "$what: exit $rc: $(cat "$T/err")"
		one_line
		grep -q -E '^coffer: (out of memory|.*cannot start)' "$T/err" ||
			fail "$what: exit 1: $(cat "$T/err")"
		noms=$((noms + 1))
		echo "$what: exit 1 $(cat "$T/err")"
	fi
	[ -z "$(ls "$1/locks")" ] || fail "$what: a lock was left: $(ls "$1/locks")"
}
noms=0
# And one allocation that cannot fit, whatever the threads: a repository
# with 1 GiB packs, where a snapshot of 120 MB holds its whole pack in
# memory (and a copy of it as it is finished).
R2=$T/repo-bigpack
expect_status 0 "$COFFER" init -r "$R2" --machine-key "$T/key2" --pack-size 1G
mkdir src2
head -c 120000000 /dev/urandom >src2/big
v=100
while [ $v -le 300 ]; do
	lim="-v $((v * 1024))"
	what="ulimit -v $v MiB: snapshot"
	before=$(nsnaps)
	echo "$v" >>src/text
	# shellcheck disable=SC2086
	limited "$lim" "$COFFER" snapshot -r "$R" $K --no-cache src
	sweep_one "$R"
	if [ "$rc" -ne 0 ]; then
		expect_eq "$what: snapshots" "$before" "$(nsnaps)"
		sed -i '$d' src/text # as the latest snapshot has it
	fi
	clean "$R"
	what="ulimit -v $v MiB: snapshot with 1 GiB packs"
	limited "$lim" "$COFFER" snapshot -r "$R2" --password-file "$T/key2" \
		--no-cache src2
	[ "$rc" -ne 0 ] || fail "$what: 120 MB of pack fit in $v MiB"
	sweep_one "$R2"
	expect_grep '^coffer: (out of memory allocating [0-9]+ bytes: raise the address-space limit \(ulimit -v\) or free memory, then run again|.*cannot start .*)$' "$T/err"
	what="ulimit -v $v MiB: restore"
	rm -rf got
	# shellcheck disable=SC2086
	limited "$lim" "$COFFER" restore -r "$R" $K latest --target got
	sweep_one "$R"
	[ "$rc" -ne 0 ] || diff -r src "got$T/src" || fail "$what: the restore differs"
	what="ulimit -v $v MiB: check"
	# shellcheck disable=SC2086
	limited "$lim" "$COFFER" check -r "$R" $K --read-data
	sweep_one "$R"
	[ "$rc" -ne 0 ] || expect_grep '^no problems found$' "$T/out"
	v=$((v + 25))
done
echo "ulimit -v 100..300 MiB: $noms clean failures of 36 runs"
clean "$R"
K2="--password-file $T/key2"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" check -r "$R2" $K2 --read-data
# shellcheck disable=SC2086
expect_eq "snapshots with 1 GiB packs" 0 "$("$COFFER" snapshots -r "$R2" $K2 --json | jq length)"
rm -rf got src2 "$R2"

# 64 MiB: too little for the worker threads.  A clean failure (or a run).
for cmd in snapshot restore check replicate; do
	what="ulimit -v 64 MiB: $cmd"
	before=$(nsnaps)
	rm -rf got dst
	case $cmd in
	snapshot)
		# shellcheck disable=SC2086
		limited "-v 65536" "$COFFER" snapshot -r "$R" $K --no-cache src ;;
	restore)
		# shellcheck disable=SC2086
		limited "-v 65536" "$COFFER" restore -r "$R" $K latest --target got ;;
	check)
		# shellcheck disable=SC2086
		limited "-v 65536" "$COFFER" check -r "$R" $K --read-data ;;
	replicate)
		limited "-v 65536" "$COFFER" replicate --from "$R" --to "$T/dst" ;;
	esac
	echo "$what: exit $rc $(head -n 1 "$T/err")"
	if [ "$rc" -ne 0 ]; then
		[ "$rc" -eq 1 ] || fail "$what: exit $rc: $(cat "$T/err")"
		one_line
		[ "$cmd" != snapshot ] || expect_eq "$what: snapshots" "$before" "$(nsnaps)"
	fi
	[ "$cmd" != restore ] || [ ! -d got ] || same_as_source got
	clean "$R"
	[ ! -f dst/config ] || clean "$T/dst"
done
