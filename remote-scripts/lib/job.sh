#!/bin/sh
# Summary: Job state: the state files, process liveness and the state vocabulary (sourced after common.sh)
# Usage: . "$TEJ_ROOT/lib/job.sh"
# Output (proto 1): emit_job_record prints one status record (id=, state=, plugin=, ...)
# Exit: nothing by itself; job_dir_for exits 65/66
# shellcheck shell=sh

# job_dir_for ID: check ID, set job_dir, exit 66 when the job does not exist
job_dir_for() {
	check_job_id "$1"
	job_dir=$TEJ_ROOT/jobs/$1
	test -d "$job_dir" || die "$EX_NOINPUT" "no such job: $1"
}

# proc_fields PID: set proc_state, proc_ppid, proc_pgrp and proc_start from /proc/PID/stat; fail if
# unreadable. The command name (field 2) may hold spaces and parentheses: the fields after its last
# ') ' are parsed.
proc_fields() {
	_proc_fields_line=
	{ IFS= read -r _proc_fields_line <"/proc/$1/stat"; } 2>/dev/null || return 1
	# shellcheck disable=SC2086 # split on purpose: the fields are numbers and one state letter
	set -- ${_proc_fields_line##*) }
	test $# -ge 20 || return 1
	proc_state=$1
	proc_ppid=$2
	proc_pgrp=$3
	proc_start=${20}
}

has_proc() {
	test -r /proc/self/stat
}

# proc_starttime PID: print the start time of PID (field 22 of /proc/PID/stat); fail without /proc
proc_starttime() {
	has_proc && proc_fields "$1" && printf '%s\n' "$proc_start"
}

# proc_alive PID [STARTTIME]: whether PID runs (a zombie is dead); with STARTTIME, a process that
# started at another time is a reused pid, hence dead too
proc_alive() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	if has_proc; then
		proc_fields "$1" || return 1
		case $proc_state in
		Z | X | x) return 1 ;;
		esac
		test -z "${2:-}" || test "$2" = "$proc_start"
	elif has_cmd ps; then
		_proc_alive_stat=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
		case $_proc_alive_stat in
		'' | *Z*) return 1 ;;
		esac
	else
		kill -0 "$1" 2>/dev/null
	fi
}

# signal_group SIGNAL PGID: send SIGNAL to every process of the group. dash's kill rejects `--`, posh's
# needs it before a negative pid: ask the shell once which form it takes (signal 0 to our own group).
_signal_group_dashdash=
signal_group() {
	if test -z "$_signal_group_dashdash"; then
		if kill -0 -- 0 2>/dev/null; then
			_signal_group_dashdash=yes
		else
			_signal_group_dashdash=no
		fi
	fi
	if test "$_signal_group_dashdash" = yes; then
		kill "-$1" -- "-$2"
	else
		kill "-$1" "-$2"
	fi
}

# children_of PID: print the pids of the processes whose parent is PID; needs /proc
children_of() {
	_children_of_parent=$1
	for _children_of_f in /proc/[0-9]*/stat; do
		_children_of_pid=${_children_of_f#/proc/}
		_children_of_pid=${_children_of_pid%/stat}
		proc_fields "$_children_of_pid" || continue
		test "$proc_ppid" = "$_children_of_parent" && printf '%s\n' "$_children_of_pid"
	done
	return 0
}

# group_alive PGID: whether some live (not zombie) process is left in the group
group_alive() {
	if ! has_proc; then
		signal_group 0 "$1" 2>/dev/null
		return
	fi
	_group_alive_pgid=$1
	for _group_alive_f in /proc/[0-9]*/stat; do
		_group_alive_pid=${_group_alive_f#/proc/}
		proc_fields "${_group_alive_pid%/stat}" || continue
		test "$proc_pgrp" = "$_group_alive_pgid" || continue
		case $proc_state in
		Z | X | x) ;;
		*) return 0 ;;
		esac
	done
	return 1
}

# nap: sleep a tenth of a second where sleep takes fractions (GNU, busybox), else one second
nap() {
	sleep 0.1 2>/dev/null || sleep 1
}

# ended_state DIR: the state of a job whose end is known
ended_state() {
	if test -f "$1/killed"; then
		echo killed
	elif test -f "$1/timed-out"; then
		echo timeout
	else
		echo finished
	fi
}

# staging_submitter ID: print the pid of a live submit of ID that still has its staging dir
# (staging/ID.PID.XXXXXX); a submit has just claimed jobs/ID and not yet written `submitter` there
staging_submitter() {
	for _staging_submitter_dir in "$TEJ_ROOT/staging/$1".*; do
		_staging_submitter_rest=${_staging_submitter_dir##*/}
		_staging_submitter_rest=${_staging_submitter_rest#"$1".}
		case $_staging_submitter_rest in
		*.*.* | .* | *[!0-9]*.*) continue ;; # another id's, or not PID.XXXXXX
		esac
		_staging_submitter_pid=${_staging_submitter_rest%%.*}
		if proc_alive "$_staging_submitter_pid"; then
			printf '%s\n' "$_staging_submitter_pid"
			return 0
		fi
	done
	return 1
}

# job_state DIR: print the state of the job in DIR. The files are read in the order the writers commit
# them (exit-code last in run-job.sh, native-id last in submit), and re-read after a liveness check, so
# that a job ending meanwhile is never reported lost.
job_state() {
	if test -f "$1/exit-code"; then
		ended_state "$1"
		return 0
	fi
	if ! test -f "$1/native-id"; then
		_job_state_submitter=$(read_state "$1/submitter") ||
			_job_state_submitter=$(staging_submitter "${1##*/}") || _job_state_submitter=
		if proc_alive "$_job_state_submitter"; then
			echo submitting
			return 0
		fi
		if ! test -f "$1/native-id"; then
			echo incomplete
			return 0
		fi
	fi
	_job_state_native=$(read_state "$1/native-id") || _job_state_native=
	_job_state_plugin=$(read_state "$1/plugin") || _job_state_plugin=
	_job_state_word=lost
	if test -n "$_job_state_plugin" && test -f "$TEJ_ROOT/queues/$_job_state_plugin.sh"; then
		load_queue "$_job_state_plugin"
		_job_state_word=$(queue_state "$1" "$_job_state_native") || _job_state_word=lost
	fi
	case $_job_state_word in
	running) echo running ;;
	queued)
		if test -f "$1/start"; then echo running; else echo queued; fi
		;;
	*)
		if test -f "$1/exit-code"; then
			ended_state "$1"
		elif test -f "$1/killed"; then
			echo killed
		elif test -f "$1/timed-out"; then
			echo timeout
		else
			echo lost
		fi
		;;
	esac
}

# emit_state_file KEY FILE: emit KEY with the first line of FILE, when FILE exists
emit_state_file() {
	if _emit_state_file_value=$(read_state "$2"); then
		emit "$1" "$_emit_state_file_value"
	fi
}

# emit_job_record ID: the status record of one job (state=absent when it does not exist)
emit_job_record() {
	emit id "$1"
	_emit_job_record_dir=$TEJ_ROOT/jobs/$1
	if ! test -d "$_emit_job_record_dir"; then
		emit state absent
		return 0
	fi
	# The state first: the files it depends on are then at least as new as the state.
	_emit_job_record_state=$(job_state "$_emit_job_record_dir")
	emit state "$_emit_job_record_state"
	emit_state_file plugin "$_emit_job_record_dir/plugin"
	emit_state_file native_id "$_emit_job_record_dir/native-id"
	emit_state_file submitted "$_emit_job_record_dir/submitted"
	emit_state_file start "$_emit_job_record_dir/start"
	emit_state_file end "$_emit_job_record_dir/end"
	emit_state_file exit_code "$_emit_job_record_dir/exit-code"
	emit_state_file labels "$_emit_job_record_dir/meta/labels"
}

# kill_job DIR GRACE: kill a running or queued job, sweep what is left of a lost one (its wrapper is
# gone, other processes of its group may not be; it stays lost); set previous_state and state
# shellcheck disable=SC2034 # for the caller
kill_job() {
	previous_state=$(job_state "$1")
	case $previous_state in
	running | queued) write_state "$1/killed" "$(now)" ;;
	lost) ;;
	*)
		state=$previous_state
		return 0
		;;
	esac
	_kill_job_plugin=$(read_state "$1/plugin") || _kill_job_plugin=
	if test -n "$_kill_job_plugin" && test -f "$TEJ_ROOT/queues/$_kill_job_plugin.sh"; then
		load_queue "$_kill_job_plugin"
		queue_kill "$1" "$(read_state "$1/native-id")" "$2" ||
			die "$EX_FAILURE" "could not kill job ${1##*/}"
	fi
	# The wrapper records the end when it survives the kill; when it was killed too, kill records it.
	test "$previous_state" = lost || test -f "$1/end" || write_state "$1/end" "$(now)"
	state=$(job_state "$1")
}
