#!/bin/sh
# Summary: The job state machine: from the state files (and the plugin, through answers.sh) to one state word
#   (sourced after common.sh, proc.sh and answers.sh)
# Usage: . "$TEJ_ROOT/lib/state.sh"   (function definitions only)
#   job_state_into DIR (job_state_value, job_native), ended_state_into DIR, job_dir_for ID,
#   end_record_sync DIR, wrapper_runs JOB_DIR PID
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# Length: over 250 lines: the state machine and the readers of the records it decides from (native id,
#   launched, the submitter), one concept
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # sets job_state_value and job_native for its callers, reads answers.sh's answer_word

# job_dir_for ID: check ID, set job_dir, exit 66 when the job does not exist
job_dir_for() {
	check_job_id "$1"
	job_dir=$TEJ_ROOT/jobs/$1
	test -d "$job_dir" || die "$EX_NOINPUT" "no such job: $1"
}

# ended_state_into DIR: set job_state_value to the state of a job whose end is known. The *_into forms
# set a variable instead of printing: a status of many jobs would fork for every $(...).
ended_state_into() {
	if test -f "$1/killed"; then
		job_state_value=killed
	elif test -f "$1/timed-out"; then
		job_state_value=timeout
	else
		job_state_value=finished
	fi
}

# submitter_alive "PID [IDENTITY]": whether the submit helper named by a `submitter` line still runs; with
# its identity (proc_identity), a process that reuses the pid does not count (pids come back within
# seconds on a busy host with a small pid_max)
submitter_alive() {
	# shellcheck disable=SC2086 # split on purpose: a pid and a start time
	set -- $1
	proc_alive "${1:-}" "${2:-}"
}

# staging_submitter ID: print the `submitter` line ("PID START") of a live submit of ID that still has
# its staging dir (staging/ID.PID.XXXXXX); a submit has just claimed jobs/ID and not yet moved its
# `submitter` there
staging_submitter() {
	for _staging_submitter_dir in "$TEJ_ROOT/staging/$1".*; do
		_staging_submitter_rest=${_staging_submitter_dir##*/}
		_staging_submitter_rest=${_staging_submitter_rest#"$1".}
		case $_staging_submitter_rest in
		*.*.* | .* | *[!0-9]*.*) continue ;; # another id's, or not PID.XXXXXX
		esac
		# Its pid is in the name, its identity in its record (written before it claims jobs/ID): a
		# submit that has no record yet has not claimed the id, and a pid alone proves nothing.
		_staging_submitter_pid=${_staging_submitter_rest%%.*}
		read_state_into "$_staging_submitter_dir/submitter" || continue
		# shellcheck disable=SC2154 # set by read_state_into (common.sh)
		case $state_line in
		"$_staging_submitter_pid" | "$_staging_submitter_pid "*) _staging_submitter_line=$state_line ;;
		*) continue ;;
		esac
		if submitter_alive "$_staging_submitter_line"; then
			printf '%s\n' "$_staging_submitter_line"
			return 0
		fi
	done
	return 1
}

# launched_into DIR: set launched_native and launched_start (the wrapper's start time, - when unknown)
# from the wrapper's own record `launched` ("NATIVE_ID PID START", linked into place by run-job.sh as it
# starts); fail when there is none, or when the start was given up (launch_void: a symbolic link)
launched_into() {
	test -f "$1/launched" && ! test -L "$1/launched" && read_state_into "$1/launched" || return 1
	# shellcheck disable=SC2086,SC2154 # split on purpose: three words; state_line is set by read_state_into
	set -- $state_line
	test $# -eq 3 || return 1
	launched_native=$1
	# shellcheck disable=SC2034 # read by the direct plugin
	launched_start=$3
}

# launch_void DIR: give up the start of a job whose submit died before it recorded the native id and
# whose wrapper has not recorded itself: `launched` becomes a symbolic link to `void` (one syscall,
# atomic and exclusive, like the wrapper's hard link), and a wrapper that comes later does not run the
# job. Succeeds when the start is given up (now or before); fails when a wrapper recorded itself first.
launch_void() {
	ln -s void "$1/launched" 2>/dev/null || true
	test -L "$1/launched"
}

# wrapper_start_into JOB_DIR: set wrapper_start to the direct wrapper's start time: pid-start, else the
# wrapper's own record (launched: a submit that died before it wrote pid-start); empty when unknown. No
# subshell: a submit's reply asks this for the job it just started.
wrapper_start_into() {
	wrapper_start=
	if read_state_into "$1/pid-start"; then
		wrapper_start=$state_line
	elif launched_into "$1" && test "$launched_start" != -; then
		wrapper_start=$launched_start
	fi
}

# wrapper_runs JOB_DIR PID: whether PID is still the job's direct wrapper. pid_max may be small: a pid
# that runs may be a stranger's by now. With /proc, the wrapper's start time (wrapper_start_into) tells;
# without, the command line ps shows must be the wrapper's, lib/run-job.sh JOB_DIR (queue_submit). Here,
# not in the direct plugin: the wrapper (a dependency's state, lib/after.sh) asks it without the plugin.
wrapper_runs() {
	wrapper_start_into "$1"
	proc_runs_as "$2" "$wrapper_start" "$TEJ_ROOT/lib/run-job.sh $1"
}

# native_id_into DIR: set native_value to the job's native id: native-id (written by submit), else the
# wrapper's record (a submit that died after the plugin started the job); fail when neither is there.
# Both are in the job's directory, which the job can write: an id no plugin makes (native_id_ok) counts
# as none, and never reaches scancel or qdel as an option (--user=NAME: every job of the user).
native_id_into() {
	if read_state_into "$1/native-id" && native_id_ok "$state_line"; then
		native_value=$state_line
		return 0
	fi
	launched_into "$1" && native_id_ok "$launched_native" || return 1
	native_value=$launched_native
}

# native_id_ok ID: one word of letters, digits and . _ - @ : [ ], not starting with -
native_id_ok() {
	case $1 in
	'' | -* | *[!]A-Za-z0-9._@:[-]*) return 1 ;;
	esac
}

# job_state_into DIR: set job_state_value to the state of the job in DIR, and job_native to its native
# id (empty when it has none). The files are read in the order the writers commit
# them (exit-code last in run-job.sh, native-id last in submit), and re-read after the plugin is asked,
# so that a job ending meanwhile is never reported lost. A plugin that confirms ends (native-open) is
# asked about an ended job too: Slurm may know it timed out or was cancelled.
# A submit that died without writing native-id may have had the plugin start the job all the same: the
# wrapper's own record (launched) gives its native id, else the plugin may know it (queue_find: a
# queued Slurm job). Failing both, the start is given up (launch_void) before the job is reported
# incomplete, so that an incomplete job never starts afterwards.
job_state_into() {
	job_native=
	# a task of an array not started yet (lib/array.sh): queued, or killed with its array
	if test -f "$1/queued"; then
		job_state_value=queued
		! test -f "$1/killed" && ! test -f "$1/../killed" || job_state_value=killed
		return 0
	fi
	if test -f "$1/exit-code" && ! test -f "$1/native-open"; then
		! native_id_into "$1" || job_native=$native_value
		ended_state_into "$1"
		return 0
	fi
	if ! test -f "$1/native-id"; then
		# submit moves `submitter` from its staging directory into the job's: absent from the job's, then
		# from staging, it may have moved in between, and is read in the job's once more. Else a live
		# submit counted as dead, and the job's start was given up under it (launch_void): its wrapper
		# ran nothing, and the job, once submit wrote native-id, was lost.
		if read_state_into "$1/submitter"; then
			# shellcheck disable=SC2154 # set by read_state_into (common.sh)
			_job_state_submitter=$state_line
		elif _job_state_submitter=$(staging_submitter "${1##*/}"); then
			:
		elif read_state_into "$1/submitter"; then
			_job_state_submitter=$state_line
		else
			_job_state_submitter=
		fi
		if submitter_alive "$_job_state_submitter"; then
			job_state_value=submitting
			return 0
		fi
		if ! test -f "$1/native-id" && ! launched_into "$1"; then
			if test -L "$1/launched"; then
				job_state_value=incomplete
				return 0
			fi
			_job_state_found=0
			job_native=$(plugin_find "$1") || _job_state_found=$?
			case $_job_state_found in
			0) ;;
			2)
				# the plugin cannot tell now whether it has the job: its submit is not settled yet
				job_native=
				job_state_value=submitting
				return 0
				;;
			*)
				# none (or a plugin that cannot be asked here: giving the start up is always safe); a job
				# the plugin took meanwhile is cancelled (plugin_abandon), else it would wait in its queue
				# only to find its start given up
				if launch_void "$1"; then
					(plugin_abandon "$1") || true
					job_native=
					job_state_value=incomplete
					return 0
				fi
				# a wrapper recorded itself first: the job runs
				;;
			esac
		fi
	fi
	test -n "$job_native" || ! native_id_into "$1" || job_native=$native_value
	if plugin_answer_into "$1"; then
		_job_state_word=$answer_word
	else
		_job_state_word=$(plugin_word "$1" "$job_native")
	fi
	if test -f "$1/exit-code"; then
		ended_state_into "$1"
		return 0
	fi
	case $_job_state_word in
	running) job_state_value=running ;;
	queued)
		if test -f "$1/start"; then job_state_value=running; else job_state_value=queued; fi
		;;
	*)
		if test -f "$1/killed"; then
			job_state_value=killed
		elif test -f "$1/timed-out"; then
			job_state_value=timeout
		else
			case $_job_state_word in
			killed | timeout) job_state_value=$_job_state_word ;;
			*) job_state_value=lost ;;
			esac
		fi
		;;
	esac
}

# The files of a status record after id= and state=, in order: "KEY:FILE" words (FILE below the job's
# dir; ../: the array's, for a task). emit_job_record (lib/record.sh) reads them one by one, ended_records in one awk for many jobs,
# and end_record_sync copies them into one file.
record_keys='plugin:plugin native_id:native-id submitted:submitted start:start end:end exit_code:exit-code labels:meta/labels rerun_as:rerun-as native_state:native-state usage:usage reason:reason dependency:dependency notify_webhook:meta/notify-webhook notify_host:notify-host notify_claimed:notify-claim/at array_notify_claimed:../notify-claim/at'

# end_record_sync DIR [cleared]: write DIR/end-record, the lines of a status record after id= and state= in one
# file (docs/protocol.md, "The end record"), when the job in DIR has ended for good: exit-code and
# native-id are there, native-open is not. Each writer that may write one of those files after the
# job's end calls it once it has written its own: the wrapper after exit-code, submit after native-id,
# resubmit after rerun-as, a batch plugin after native-state and native-open's removal (answers.sh native_settle). The text is
# read again after the rename: a writer that raced ours may have renamed its text before we did ours
# with older values, so a text that no longer matches the files is written again (three times at
# most, then removed: the files are read then). A status of many jobs opens this one file instead of
# nine (ended_records, lib/record.sh); the state stays the files' (killed, timed-out).
end_record_sync() {
	_end_record_sync_tries=0
	while test -f "$1/exit-code" && test -f "$1/native-id" && ! test -f "$1/native-open"; do
		end_record_into "$1"
		_end_record_sync_text=$end_record
		# Opened read-write (<>): a FIFO a job put at this name takes the text without a reader instead
		# of holding the writer up (a plain > would wait for one), and the rename puts the FIFO in the
		# record's place, where readers take regular files only. rm first: <> does not truncate.
		# A caller that removed it just before says so (cleared): one rm exec less.
		if test "${2:-}" = cleared; then
			set -- "$1"
		else
			rm -f "$1/end-record.tmp.$$" 2>/dev/null || true
		fi
		if ! { printf '%s' "$end_record" 1<>"$1/end-record.tmp.$$"; } 2>/dev/null ||
			! mv -f "$1/end-record.tmp.$$" "$1/end-record" 2>/dev/null; then
			# a full disk: no end record, and none that is out of date
			rm -f "$1/end-record.tmp.$$" "$1/end-record" 2>/dev/null
			return 0
		fi
		end_record_into "$1"
		test "$end_record" != "$_end_record_sync_text" || return 0
		_end_record_sync_tries=$((_end_record_sync_tries + 1))
		if test "$_end_record_sync_tries" -ge 3; then
			rm -f "$1/end-record" 2>/dev/null
			return 0
		fi
	done
}

# end_record_into DIR: set end_record to the text of DIR/end-record: tej-end-record=1, then KEY=<first
# line of FILE> for each record file (record_keys) that is a regular file, as read_state_into reads it
end_record_into() {
	end_record="tej-end-record=1$nl"
	for _end_record_into_kf in $record_keys; do
		read_state_into "$1/${_end_record_into_kf#*:}" || continue
		# shellcheck disable=SC2154 # set by read_state_into (common.sh)
		end_record="$end_record${_end_record_into_kf%%:*}=$state_line$nl"
	done
}
