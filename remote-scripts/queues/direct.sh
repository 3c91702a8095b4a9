#!/bin/sh
# Summary: The direct queue plugin: runs the job at once on this host, detached in its own session
# Usage: load_queue direct   (function definitions only: queue_check queue_submit queue_state queue_kill)
# Output (proto 1): queue_submit prints the wrapper's pid, which is also its process group id
# Exit: queue_kill fails (1) when the process group outlives SIGKILL
# shellcheck shell=sh

queue_check() {
	return 0
}

# queue_submit JOB_DIR: start lib/run-job.sh in a new session (setsid, else perl's POSIX::setsid, else a
# job-control background), with stdin, stdout and stderr away from the SSH channel so that it can close.
# From a non-interactive shell the background child is never a process group leader, so setsid(1)
# calls setsid(2) without forking: $! is the wrapper itself.
queue_submit() {
	if has_cmd setsid; then
		setsid "$TEJ_SHELL" "$TEJ_ROOT/lib/run-job.sh" "$1" </dev/null >/dev/null 2>&1 &
		_queue_submit_pid=$!
	elif has_cmd perl; then
		perl -e 'use POSIX (); POSIX::setsid(); exec @ARGV or die "exec: $!\n"' \
			"$TEJ_SHELL" "$TEJ_ROOT/lib/run-job.sh" "$1" </dev/null >/dev/null 2>&1 &
		_queue_submit_pid=$!
	else
		# Some shells give a background job its own group only under `set -m`; posh aborts on it.
		_queue_submit_pid=$(
			set -m 2>/dev/null || true
			"$TEJ_SHELL" "$TEJ_ROOT/lib/run-job.sh" "$1" </dev/null >/dev/null 2>&1 &
			echo "$!"
		)
	fi
	# The start time tells the wrapper from a later process that reuses its pid.
	if _queue_submit_start=$(proc_starttime "$_queue_submit_pid"); then
		write_state "$1/pid-start" "$_queue_submit_start"
	fi
	printf '%s\n' "$_queue_submit_pid"
}

# queue_state JOB_DIR PID: running while the wrapper runs, else lost (the state files settle the rest)
queue_state() {
	_queue_state_start=$(read_state "$1/pid-start") || _queue_state_start=
	if proc_alive "$2" "$_queue_state_start"; then
		echo running
	else
		echo lost
	fi
}

# direct_gone PGID: whether neither the group nor its leader is left
direct_gone() {
	! group_alive "$1" && ! proc_alive "$1"
}

# direct_wait_gone PGID SECONDS
direct_wait_gone() {
	_direct_wait_gone_left=$(($2 * 10))
	until direct_gone "$1"; do
		test "$_direct_wait_gone_left" -gt 0 || return 1
		_direct_wait_gone_left=$((_direct_wait_gone_left - 1))
		nap
	done
}

# direct_signal SIGNAL PID: the whole group; the pid alone when it leads no group (set -m fallback)
direct_signal() {
	signal_group "$1" "$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null || true
}

# queue_kill JOB_DIR PID GRACE: TERM the group, wait up to GRACE seconds, then KILL it
queue_kill() {
	_queue_kill_start=$(read_state "$1/pid-start") || _queue_kill_start=
	# A live process that started at another time reuses the pid: the job's group is long gone.
	if proc_alive "$2" && ! proc_alive "$2" "$_queue_kill_start"; then
		return 0
	fi
	direct_signal TERM "$2"
	if ! direct_wait_gone "$2" "$3"; then
		direct_signal KILL "$2"
		direct_wait_gone "$2" 5 || {
			say "process group $2 survived SIGKILL"
			return 1
		}
	fi
	# A wrapper killed before it could clean up leaves its scratch directory behind.
	if ! test -f "$1/exit-code" && _queue_kill_scratch=$(read_state "$1/scratch"); then
		case $_queue_kill_scratch in
		*/tej-*/*) rm -rf "$_queue_kill_scratch" ;;
		esac
		rm -f "$1/scratch"
	fi
}
