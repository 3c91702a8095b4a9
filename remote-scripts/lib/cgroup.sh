#!/bin/sh
# Summary: A job's memory limit in a cgroup the user may write (docs/protocol.md, "Limits"): submit finds
#   the delegated parent (cgroup_resolve), the wrapper makes a child per job, moves the job into it,
#   tells an OOM kill by the kernel's counter, and removes the child after (cgroup_make, cgroup_enter,
#   cgroup_end)
# Usage: sourced (function definitions only)
# shellcheck shell=sh
# shellcheck disable=SC2154 # state_line is set by read_state_into (lib/common.sh), meta and job_dir by the wrapper

# cgroup_resolve: set cgroup_parent to the cgroup the queue's jobs get their memory cgroups under; fail
# when there is none. The parent is the first line of the queue's
# memory-cgroup file (what the admin delegated, when it is not the default place), else
# /sys/fs/cgroup/memory/tej/$USER (a delegated cgroup v1, README "Limits"). It must be a
# directory the user may write, of the v1 memory controller (memory.limit_in_bytes) or of v2 with the
# memory controller given to its children (cgroup.subtree_control names memory).
cgroup_resolve() {
	cgroup_parent=
	if read_state_into "$TEJ_ROOT/memory-cgroup"; then
		cgroup_parent=$state_line
	elif test -n "${USER:-}"; then
		cgroup_parent=/sys/fs/cgroup/memory/tej/$USER
	fi
	# its path goes into meta/cgroup as one word: plain characters only
	case $cgroup_parent in
	/*) ;;
	*) return 1 ;;
	esac
	case $cgroup_parent in
	*[!A-Za-z0-9/._-]* | */../* | */..) return 1 ;;
	esac
	test -d "$cgroup_parent" && test -w "$cgroup_parent" || return 1
	test ! -f "$cgroup_parent/memory.limit_in_bytes" || return 0
	if test -f "$cgroup_parent/cgroup.subtree_control"; then
		{ IFS= read -r _cgroup_controllers <"$cgroup_parent/cgroup.subtree_control"; } 2>/dev/null || return 1
		case " $_cgroup_controllers " in
		*" memory "*) return 0 ;;
		esac
	fi
	return 1
}

# cgroup_make: in the runner, before the job's subshell: when meta/cgroup ("BYTES PARENT", written by
# submit) is there, make the job's cgroup (cgroup_dir) under PARENT and set its memory limit, swap
# included where the host counts it. Fails (the job must not run without its limit) when it cannot.
cgroup_make() {
	cgroup_dir=
	read_state_into "$meta/cgroup" || return 0
	_cgroup_bytes=${state_line%% *}
	_cgroup_parent=${state_line#* }
	case $_cgroup_bytes:$_cgroup_parent in
	[1-9]*:/*) ;;
	*)
		say "bad cgroup in meta/cgroup: '$state_line'"
		return 1
		;;
	esac
	case $_cgroup_bytes$_cgroup_parent in
	*[!A-Za-z0-9/._-]* | */../* | */..)
		say "bad cgroup in meta/cgroup: '$state_line'"
		return 1
		;;
	esac
	# the wrapper's pid too: two queues may share one delegated parent
	cgroup_dir=$_cgroup_parent/tej-$job_id.$$
	if ! mkdir "$cgroup_dir" 2>/dev/null; then
		say "cannot make the job's memory cgroup $cgroup_dir (is $_cgroup_parent still delegated to you?)"
		cgroup_dir=
		return 1
	fi
	if test -f "$cgroup_dir/memory.limit_in_bytes"; then
		# v1: memory, then memory+swap (which may not be below memory)
		if ! { echo "$_cgroup_bytes" >"$cgroup_dir/memory.limit_in_bytes"; } 2>/dev/null; then
			say "cannot set the job's memory limit in $cgroup_dir"
			return 1
		fi
		if test -f "$cgroup_dir/memory.memsw.limit_in_bytes"; then
			{ echo "$_cgroup_bytes" >"$cgroup_dir/memory.memsw.limit_in_bytes"; } 2>/dev/null || true
		fi
	else
		if ! { echo "$_cgroup_bytes" >"$cgroup_dir/memory.max"; } 2>/dev/null; then
			say "cannot set the job's memory limit in $cgroup_dir"
			return 1
		fi
		if test -f "$cgroup_dir/memory.swap.max"; then
			{ echo 0 >"$cgroup_dir/memory.swap.max"; } 2>/dev/null || true
		fi
	fi
}

# cgroup_enter: in the job's subshell, move it into the job's cgroup before it execs the job. "0" is the
# writer itself, and echo is a builtin in every shell: the subshell moves, not a child of it.
cgroup_enter() {
	test -n "$cgroup_dir" || return 0
	{ echo 0 >"$cgroup_dir/cgroup.procs"; } 2>/dev/null || {
		say "cannot move the job into its memory cgroup $cgroup_dir"
		exit 126
	}
}

# cgroup_end STATUS: after the job's subshell ended with STATUS: a job that failed after the kernel
# killed one of its processes for the cgroup's limit (its oom_kill counter, not a guess from 137)
# gets the reason `memory` (docs/protocol.md, "The end record"); then the cgroup is removed. A job that
# left processes running keeps its cgroup until they end (rmdir fails while it has any).
cgroup_end() {
	test -n "$cgroup_dir" || return 0
	_cgroup_kills=0
	for _cgroup_events in "$cgroup_dir/memory.oom_control" "$cgroup_dir/memory.events"; do
		test -f "$_cgroup_events" || continue
		while IFS=' ' read -r _cgroup_key _cgroup_value; do
			test "$_cgroup_key" = oom_kill || continue
			case $_cgroup_value in
			'' | *[!0-9]*) ;;
			*) _cgroup_kills=$_cgroup_value ;;
			esac
		done <"$_cgroup_events" 2>/dev/null || true
	done
	if test "$1" -ne 0 && test "$_cgroup_kills" != 0; then
		write_state "$job_dir/reason" memory || true
	fi
	rmdir "$cgroup_dir" 2>/dev/null || say "the job's memory cgroup $cgroup_dir stays: processes of the job still run in it"
}
