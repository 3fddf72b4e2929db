# tests/e2e/proc.sh: finding processes, shared by lib.sh and run.
# A process belongs to a test when its command line names the test's temp
# dir or it works (cwd) inside it: servers are started with their config,
# data dir and cwd there, and postgres children, which rewrite their
# command line, keep the data dir as cwd.

# e2e_pids_under DIR: the pids of the processes that belong to DIR, one a
# line.  Zombies have neither command line nor cwd, so they never count.
e2e_pids_under() {
	# pgrep takes a regular expression; the dir is matched literally.
	_e2e_re=$(printf '%s\n' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g')
	{
		pgrep -f -- "$_e2e_re" || :
		# shellcheck disable=SC2012 # the link targets are what we want
		ls -l /proc/[0-9]*/cwd 2>/dev/null | awk -v d="$1" '
		{
			i = index($0, " -> ")
			if (i == 0)
				next
			t = substr($0, i + 4)
			sub(/ \(deleted\)$/, "", t)
			if (t != d && substr(t, 1, length(d) + 1) != d "/")
				next
			p = substr($0, 1, i - 1)
			sub(/\/cwd$/, "", p)
			sub(/.*\/proc\//, "", p)
			print p
		}'
	} | sort -un | grep -v -x -e "$$" || :
}

# e2e_alive PID: true while PID runs; a zombie counts as gone.
e2e_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	_e2e_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$_e2e_state" ] && [ "$_e2e_state" != Z ] && [ "$_e2e_state" != X ]
}

# e2e_wait_gone SECONDS PID...: wait until none of the PIDs is alive; false
# when some still are after SECONDS.
e2e_wait_gone() {
	_e2e_ticks=$(($1 * 10))
	shift
	while [ "$_e2e_ticks" -gt 0 ]; do
		_e2e_any=
		for _e2e_p in "$@"; do
			e2e_alive "$_e2e_p" && _e2e_any=1 && break
		done
		[ -z "$_e2e_any" ] && return 0
		sleep 0.1
		_e2e_ticks=$((_e2e_ticks - 1))
	done
	return 1
}
