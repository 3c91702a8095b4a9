#!/bin/sh
# Summary: The direct queue plugin: runs the job at once on this host, detached in its own session
# Usage: load_queue direct   (function definitions only: queue_check queue_submit queue_state queue_kill)
# Output (proto 1): queue_submit prints the wrapper's pid, which is also its process group id
# Exit: queue_kill fails (1) when the process group outlives SIGKILL
# shellcheck shell=sh

queue_check() {
	return 0
}

# queue_submit JOB_DIR: start the wrapper (lib/run-job.sh, or its text from the helper program:
# wrapper_code_export in lib/common.sh) in a new session (setsid, else perl's POSIX::setsid, else a
# job-control background), with stdin, stdout and stderr away from the SSH channel so that it can close.
# From a non-interactive shell the background child is never a process group leader, so setsid(1)
# calls setsid(2) without forking: $! is the wrapper itself.
queue_submit() {
	_queue_submit_dir=$1
	if test -n "${tej_in_memory:-}"; then
		# shellcheck disable=SC2016 # expanded by the wrapper's shell
		# its name the file's, so that ps shows the same command line either way (wrapper_runs)
		set -- -c 'eval "$TEJ_CODE_BOOT"' "$TEJ_ROOT/lib/run-job.sh" "$1"
		wrapper_code_export
	else
		set -- "$TEJ_ROOT/lib/run-job.sh" "$1"
	fi
	# A library session asked for the usage tools once (lib/usage.sh usage_session_tools): the wrapper
	# takes them from its environment instead of asking again.
	if test -n "${tej_usage_rss:-}"; then
		# shellcheck disable=SC2154 # set in a session's shell by usage_session_tools (lib/usage.sh)
		TEJ_USAGE_TIME=$tej_usage_time TEJ_USAGE_ENV=$tej_usage_env TEJ_USAGE_RSS=$tej_usage_rss
		export TEJ_USAGE_TIME TEJ_USAGE_ENV TEJ_USAGE_RSS
	fi
	if has_cmd setsid; then
		setsid "$TEJ_SHELL" "$@" </dev/null >/dev/null 2>&1 &
		_queue_submit_pid=$!
	elif has_cmd perl; then
		perl -e 'use POSIX (); POSIX::setsid(); exec @ARGV or die "exec: $!\n"' \
			"$TEJ_SHELL" "$@" </dev/null >/dev/null 2>&1 &
		_queue_submit_pid=$!
	else
		# Some shells (bash) give a background job its own group under `set -m`; posh's subshell dies
		# of it (so ask a throw-away one first); dash, busybox and posh make no group without a
		# terminal: the wrapper then kills the job's process tree instead (tree_kill, lib/kill.sh).
		_queue_submit_pid=$(
			if (set -m) 2>/dev/null; then set -m; fi
			"$TEJ_SHELL" "$@" </dev/null >/dev/null 2>&1 &
			echo "$!"
		)
	fi
	wrapper_code_unexport
	unset TEJ_USAGE_TIME TEJ_USAGE_ENV TEJ_USAGE_RSS
	set -- "$_queue_submit_dir"
	# The start time tells the wrapper from a later process that reuses its pid (proc_fields: no fork).
	# submit.sh may name its staging directory (queue_submit_stage): written there, it moves into the
	# job's with native-id (no rename of its own).
	if has_proc && proc_fields "$_queue_submit_pid"; then
		# shellcheck disable=SC2154 # set by proc_fields (lib/proc.sh)
		if test -n "${queue_submit_stage:-}"; then
			printf '%s\n' "$proc_start" >"$queue_submit_stage/pid-start"
		else
			write_state "$1/pid-start" "$proc_start"
		fi
	fi
	printf '%s\n' "$_queue_submit_pid"
}

# queue_state JOB_DIR PID: running while the wrapper runs, else lost (the state files settle the rest).
# A job with dependencies (meta/after) is queued until its wrapper writes start (job_state_into).
queue_state() {
	direct_state_into "$1" "$2"
	echo "$direct_state"
}

# direct_state_into JOB_DIR PID: set direct_state to queue_state's word, in this shell: submit.sh asks
# it for its reply with no subshell and no file to pass the word through
direct_state_into() {
	if wrapper_runs "$1" "$2"; then
		if test -f "$1/meta/after"; then direct_state=queued; else direct_state=running; fi
	else
		direct_state=lost
	fi
}

# direct_leads_group PID: whether the wrapper PID leads a process group of its own (setsid); without
# /proc, whether a group of that number is left
direct_leads_group() {
	if has_proc && proc_fields "$1"; then
		# shellcheck disable=SC2154 # set by proc_fields (lib/proc.sh)
		test "$proc_pgrp" = "$1"
	else
		signal_group 0 "$1" 2>/dev/null
	fi
}

# direct_gone JOB_DIR PGID: whether neither the group nor the wrapper, its leader, is left (a process
# that took the wrapper's pid once the group had ended is neither)
direct_gone() {
	! group_alive "$2" && ! wrapper_runs "$1" "$2"
}

# direct_wait SECONDS CHECK ARG...: wait up to SECONDS for CHECK ARG... to succeed. The clock bounds the
# wait, read once a second of naps: a check may take longer than its nap (without /proc, each process
# is proved with ps), and counting naps alone stretched a 10 s grace to several times that.
direct_wait() {
	_direct_wait_s=$1
	shift
	"$@" && return 0
	test "$_direct_wait_s" -gt 0 || return 1
	_direct_wait_end=$(($(now) + _direct_wait_s))
	_direct_wait_n=0
	while :; do
		nap
		"$@" && return 0
		_direct_wait_n=$((_direct_wait_n + 1))
		if test "$_direct_wait_n" -ge $((_direct_wait_s * 10)) || test $((_direct_wait_n % 10)) -eq 0; then
			test "$(now)" -le "$_direct_wait_end" || return 1
		fi
	done
}

# direct_tree_gone: whether no process of the job's tree (tree_pids) is left
direct_tree_gone() {
	! tree_alive
}

# direct_signal SIGNAL PGID: the whole group. Never the pid alone: the wrapper is in the group, and once
# the group has ended the pid may be a stranger's.
direct_signal() {
	signal_group "$1" "$2" 2>/dev/null || true
}

# direct_kill_tree JOB_DIR PID GRACE: where the wrapper PID leads no group (no setsid: `set -m` in dash
# without a terminal makes none), freeze the tree below it and the processes with the job's
# environment, TERM them, wait up to GRACE seconds, then KILL what is left (tree_kill, lib/kill.sh)
direct_kill_tree() {
	# shellcheck disable=SC2034 # read by tree_freeze (lib/kill.sh)
	tree_job_dir=$1
	tree_kill TERM ${2:+"$2"}
	if ! direct_wait "$3" direct_tree_gone; then
		# Not the wrapper's pid again: it is in the tree while it runs, and once it has ended the pid
		# may be a stranger's.
		tree_kill KILL
		direct_wait 5 direct_tree_gone || {
			say "processes of job ${1##*/} survived SIGKILL"
			return 1
		}
	fi
}

# queue_kill JOB_DIR PID GRACE: TERM the group (or the tree), wait up to GRACE seconds, then KILL it.
# Succeeds only when nothing of the job is left.
queue_kill() {
	if ! wrapper_runs "$1" "$2"; then
		# The wrapper is gone, or its pid names another process by now: neither that pid nor a group of
		# that number is signalled (pid_max may be small); the job's processes carry its environment
		# (with /proc; without, none can be told to be the job's, and none is signalled).
		direct_kill_tree "$1" "" "$3" || return 1
	elif direct_leads_group "$2"; then
		direct_signal TERM "$2"
		if ! direct_wait "$3" direct_gone "$1" "$2"; then
			container_kill "$1" "$2"
			direct_signal KILL "$2"
			direct_wait 5 direct_gone "$1" "$2" || {
				say "process group $2 survived SIGKILL"
				return 1
			}
		fi
	else
		direct_kill_tree "$1" "$2" "$3" || return 1
	fi
	# A wrapper killed before it could clean up leaves its scratch directory behind.
	# scratch is written in place (make_scratch, lib/run-job.sh): a line without its newline is a
	# write cut short, and no path
	if ! test -f "$1/exit-code" && test -f "$1/scratch" && { IFS= read -r _queue_kill_scratch <"$1/scratch"; } 2>/dev/null; then
		case $_queue_kill_scratch in
		*/tej-*/*) remove_tree "$_queue_kill_scratch" || true ;;
		esac
		rm -f "$1/scratch"
	fi
}
