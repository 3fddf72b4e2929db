#!/bin/sh
# I/O errors produced for real: tests/tools/eio.c, preloaded, makes the
# Nth write, pwrite, fsync, fdatasync or rename on a path fail with EIO.
# For snapshot, replicate (local target), forget + prune, key passwd and
# restore, every such call in turn (or every few) is made to fail once:
# the command either fails (exit 1; restore: 3, the file named) with one
# line that says "Input/output error", or, when only its record in the
# operations log failed, succeeds with one warning that says so; never a
# silent success.  After each, the repository checks clean with every
# byte read, and the same command without the fault succeeds; restores
# leave no partial file and what they restored is byte for byte the source.
# e2e: long
. "$(dirname "$0")/lib.sh"

SO=$TOOLS/eio.so
[ -f "$SO" ] || fail "no $SO: run 'make tools' (make e2e does)"
need jq
export COFFER_TEST_WEAK_KDF=1 COFFER_PRUNE_MARGIN=0s
unset COFFER_CRASH_AT
# The shim comes before an ASan build's runtime in the link order.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS
cd "$T"
umask 077

mkdir src
head -c 1500000 /dev/urandom >src/big
seq 1 60000 >src/text
for i in 1 2 3 4 5; do head -c $((i * 3000)) /dev/urandom >"src/f$i"; done
R=$T/repo
K="--password-file $T/key"
expect_status 0 "$COFFER" init -r "$R" --machine-key "$T/key" --pack-size 1M
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --no-cache src

# clean REPO [KEYFILE]: check --read-data finds nothing.
clean() {
	"$COFFER" check -r "$1" --password-file "${2:-$T/key}" --read-data \
	    >check.out 2>&1 || {
		cat check.out
		fail "$what: check of $1 failed"
	}
}
# faulty GLOB CMD...: CMD with eio.so failing the Nth call on GLOB; sets
# $rc, $T/err and $made (the fault happened).
faulty() {
	local glob="$1"
	shift
	rm -f eio.log
	rc=0
	LD_PRELOAD=$SO EIO_NTH=$nth EIO_PATH="$glob" EIO_LOG=$T/eio.log \
	    "$@" >"$T/out" 2>"$T/err" || rc=$?
	made=0
	[ ! -s eio.log ] || made=1
}
# judge OKRC: the rules above for a run whose fault happened.
judge() {
	lines=$(wc -l <"$T/err")
	if [ "$rc" -eq 0 ]; then
		grep -Eq "^coffer: warning: the [a-z-]+ was not recorded in the repository's log: .*Input/output error" "$T/err" ||
			fail "$what: success after $(cat eio.log); stderr: $(cat "$T/err")"
	elif [ "$rc" -ne "$1" ]; then
		fail "$what: exit $rc, not $1, after $(cat eio.log): $(cat "$T/err")"
	else
		grep -q 'Input/output error' "$T/err" ||
			fail "$what: the error is not said: $(cat "$T/err")"
	fi
	[ "$lines" -eq 1 ] || fail "$what: $lines lines: $(cat "$T/err")"
	runs=$((runs + 1))
}
# sweep STEP: nth from 1 by STEP until a run made no fault.
sweep_done() {
	[ "$made" -eq 1 ] || return 0
	nth=$((nth + $1))
	return 1
}

# ------------------------------------------------ snapshot
runs=0
nth=1
while :; do
	what="snapshot, call $nth"
	head -c 300000 /dev/urandom >src/new
	# shellcheck disable=SC2086
	faulty "$R/*" "$COFFER" snapshot -r "$R" $K --no-cache src
	[ "$made" -eq 1 ] || break
	judge 1
	clean "$R"
	sweep_done 1 && break
done
echo "snapshot: $runs runs with a fault"
[ "$runs" -ge 15 ] || fail "snapshot: only $runs calls to fail"
# Every pack write fails: no snapshot, one line, valid repository.
what="snapshot, every data write"
# New data, so that there is a pack to write: the sweep's last run (the
# one that made no fault) stored what src held then.
head -c 300000 /dev/urandom >src/new
# shellcheck disable=SC2086
before=$("$COFFER" snapshots -r "$R" $K --json | jq length)
nth=1+
# shellcheck disable=SC2086
faulty "$R/data/*" "$COFFER" snapshot -r "$R" $K --no-cache src
[ "$made" -eq 1 ] || fail "$what: no fault made"
judge 1
# shellcheck disable=SC2086
expect_eq "$what: snapshots" "$before" "$("$COFFER" snapshots -r "$R" $K --json | jq length)"
clean "$R"
# Without the fault: a snapshot that restores byte for byte.
# shellcheck disable=SC2086
expect_status 0 "$COFFER" snapshot -r "$R" $K --no-cache src
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$R" $K latest --target got
diff -r src "got$T/src" || fail "snapshot: the restore differs"
rm -rf got

# ------------------------------------------------ replicate (local target)
runs=0
nth=1
while :; do
	what="replicate, call $nth"
	rm -rf dst
	faulty "$T/dst/*" "$COFFER" replicate --from "$R" --to "$T/dst"
	[ "$made" -eq 1 ] || break
	judge 1
	# A target that got as far as its config is a valid repository.
	[ ! -f dst/config ] || clean "$T/dst"
	# The next run finishes the copy.
	expect_status 0 "$COFFER" replicate --from "$R" --to "$T/dst"
	clean "$T/dst"
	sweep_done 15 && break
done
echo "replicate: $runs runs with a fault"
[ "$runs" -ge 10 ] || fail "replicate: only $runs calls to fail"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$T/dst" $K latest --target got
diff -r src "got$T/src" || fail "replicate: the restore differs"
rm -rf got dst

# ------------------------------------------------ forget + prune
# shellcheck disable=SC2086
expect_status 0 "$COFFER" forget -r "$R" $K --yes --keep-last 2
runs=0
nth=1
while :; do
	what="prune, call $nth"
	rm -rf p
	cp -a "$R" p
	# shellcheck disable=SC2086
	faulty "$T/p/*" "$COFFER" prune -r "$T/p" $K --yes
	[ "$made" -eq 1 ] || break
	judge 1
	clean "$T/p"
	sweep_done 2 && break
done
echo "prune: $runs runs with a fault"
[ "$runs" -ge 10 ] || fail "prune: only $runs calls to fail"
# The second prune deletes what the first marked: fail that one too.
rm -rf p
cp -a "$R" p
# shellcheck disable=SC2086
expect_status 0 "$COFFER" prune -r "$T/p" $K --yes
runs=0
nth=1
while :; do
	what="second prune, call $nth"
	rm -rf p2
	cp -a p p2
	# shellcheck disable=SC2086
	faulty "$T/p2/*" "$COFFER" prune -r "$T/p2" $K --yes
	[ "$made" -eq 1 ] || break
	judge 1
	clean "$T/p2"
	# shellcheck disable=SC2086
	expect_status 0 "$COFFER" prune -r "$T/p2" $K --yes
	clean "$T/p2"
	sweep_done 7 && break
done
echo "second prune: $runs runs with a fault"
[ "$runs" -ge 5 ] || fail "second prune: only $runs calls to fail"
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$T/p2" $K latest --target got
diff -r src "got$T/src" || fail "prune: the restore differs"
rm -rf got p p2

# ------------------------------------------------ key passwd
echo 'a new passphrase' >newpw
runs=0
nth=1
while :; do
	what="key passwd, call $nth"
	rm -rf k
	cp -a "$R" k
	# shellcheck disable=SC2086
	faulty "$T/k/*" "$COFFER" key passwd -r "$T/k" $K --new-password-file newpw
	[ "$made" -eq 1 ] || break
	judge 1
	# One of the two opens it, and it is whole.
	# shellcheck disable=SC2086
	if "$COFFER" key list -r k $K >/dev/null 2>&1; then
		[ "$rc" -ne 0 ] || fail "$what: reported done, the old key still opens"
		clean "$T/k"
	else
		[ "$rc" -eq 0 ] || fail "$what: failed, and the old key no longer opens"
		clean "$T/k" newpw
	fi
	sweep_done 1 && break
done
echo "key passwd: $runs runs with a fault"
[ "$runs" -ge 8 ] || fail "key passwd: only $runs calls to fail"
rm -rf k

# ------------------------------------------------ restore target
# A file whose write fails is named, removed, and the rest restored.
runs=0
nth=1
while :; do
	what="restore, call $nth"
	rm -rf tgt
	# shellcheck disable=SC2086
	faulty "$T/tgt/*" "$COFFER" restore -r "$R" $K latest --target "$T/tgt"
	[ "$made" -eq 1 ] || break
	judge 3
	bad=$(sed -n 's/^eio: [a-z0-9]* //p' eio.log)
	expect_grep "^coffer: $T/src/[^:]*: not restored: .*Input/output error" "$T/err"
	[ ! -e "$bad" ] || fail "$what: $bad was left, incomplete"
	(cd tgt && find . -type f) | while read -r f; do
		cmp -s "tgt/$f" "/$f" || fail "$what: $f differs from the source"
	done
	sweep_done 1 && break
done
echo "restore: $runs runs with a fault"
[ "$runs" -ge 5 ] || fail "restore: only $runs calls to fail"
rm -rf tgt
# shellcheck disable=SC2086
expect_status 0 "$COFFER" restore -r "$R" $K latest --target tgt
diff -r src "tgt$T/src" || fail "restore: the clean restore differs"
clean "$R"
