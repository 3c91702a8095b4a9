#!/bin/sh
# Summary: What a library session's shell answers in itself, with no fork: the status of jobs whose state is settled
#   (loaded into the session's long-lived shell after the libraries, src/remote/session.ts; no helper sources it)
# Usage: session_status ROOT ID...
# Output (proto 1): status's reply (commands/status.sh) in tej_here, which the session prints with the
#   request's end mark (src/transport/shell-session.ts runHere), only when it returns 0
# Exit: 0 answered; 3 not answered here, nothing printed (the client runs status in a subshell instead)
# shellcheck shell=sh
# shellcheck disable=SC2034 # resets the variables of answers.sh and record.sh that a later call inherits
# shellcheck disable=SC2154 # reads the variables of state.sh (record_keys, job_state_value)

# A call in the session's shell itself costs no fork: the subshell's fork was most of a warm call (on
# this machine kind a `( : )` costs more than a round trip on the shell). But whatever it does stays in
# that shell: it must not exit, stop under `set -e` (off in the session's shell), read stdin (the
# requests), cd, or change what later calls inherit. So it takes only what it can answer from the record
# files with builtins: jobs that do not exist, and jobs whose end is recorded with no plugin left to ask
# (no native-open: state.sh job_state_into reads nothing else for them). Anything else, and a queue not
# set up, is a miss; the subshell path then answers as the helper would, with its errors. So are more
# than session_status_max jobs: this shell's read takes a file a byte at a time (0.3 ms a job here), the
# subshell's one awk reads them all, on two cores from 500 (lib/record.sh job_records); 4000 took 3 s.
session_status_max=64
session_status() {
	TEJ_ROOT=$1
	shift
	if ! test -d "$TEJ_ROOT/jobs" || ! test -d "$TEJ_ROOT/staging" || test $# -eq 0 || test $# -gt "$session_status_max"; then
		unset TEJ_ROOT
		return 3
	fi
	for _session_id in "$@"; do
		_session_dir=$TEJ_ROOT/jobs/$_session_id
		if ! is_job_id "$_session_id" || { test -d "$_session_dir" && { ! test -f "$_session_dir/exit-code" || test -f "$_session_dir/native-open"; }; }; then
			unset TEJ_ROOT
			return 3
		fi
	done
	# as status.sh after its prefetch: no plugin answers (none is needed), the clock not read yet
	prefetched=yes
	plugin_answers=
	record_now=
	# The reply goes out with the request's end mark, in one write (src/transport/shell-session.ts):
	# a packet of the session's channel, not one per job and one per mark.
	tej_here="tej-proto=$TEJ_PROTO$nl"
	for _session_id in "$@"; do
		session_end_record_into "$TEJ_ROOT/jobs/$_session_id" "$_session_id" || job_record_into "$_session_id"
		tej_here=$tej_here$job_record
	done
	# what a later call inherits from the shell: as the libraries left it
	prefetched=
	record_now=
	unset TEJ_ROOT
	return 0
}

# session_end_record_into DIR ID: set job_record to the record of the ended job in DIR from its
# end-record (lib/state.sh end_record_sync), as ended_records (lib/record.sh) takes it: one file instead
# of sixteen, which the shell's read takes a byte at a time either way (a warm call's 105 us of the host's
# CPU were 80 with it here). Fails, setting nothing it keeps, when the file is not a regular file or not
# well-formed (its header, then keys of record_keys in their order, each at most once: a job can write
# it), or the job is a queued task: job_record_into then reads the files.
session_end_record_into() {
	test -f "$1/end-record" && ! test -f "$1/queued" || return 1
	ended_state_into "$1"
	job_record="id=$2${nl}state=$job_state_value$nl"
	_session_keys=" $record_keys"
	_session_line=
	{
		IFS= read -r _session_line && test "$_session_line" = tej-end-record=1 || return 1
		_session_line=
		while IFS= read -r _session_line || test -n "$_session_line"; do
			_session_key=${_session_line%%=*}
			case $_session_key in
			"$_session_line" | '' | *[!a-z_]*) return 1 ;;
			esac
			case $_session_keys in
			*" $_session_key:"*) _session_keys=${_session_keys#*" $_session_key:"} ;;
			*) return 1 ;;
			esac
			job_record="$job_record$_session_line$nl"
			_session_line=
		done
	} <"$1/end-record" 2>/dev/null
}
