#!/bin/sh
# Summary: What a library session's shell answers in itself, with no fork: the status of jobs whose state is settled
#   (loaded into the session's long-lived shell after the libraries, src/remote/session.ts; no helper sources it)
# Usage: session_status ROOT ID...
# Output (proto 1): status's reply (commands/status.sh), only when it returns 0
# Exit: 0 answered; 3 not answered here, nothing printed (the client runs status in a subshell instead)
# shellcheck shell=sh
# shellcheck disable=SC2034 # resets the variables of answers.sh and record.sh that a later call inherits

# A call in the session's shell itself costs no fork: the subshell's fork was most of a warm call (on
# this machine kind a `( : )` costs more than a round trip on the shell). But whatever it does stays in
# that shell: it must not exit, stop under `set -e` (off in the session's shell), read stdin (the
# requests), cd, or change what later calls inherit. So it takes only what it can answer from the record
# files with builtins: jobs that do not exist, and jobs whose end is recorded with no plugin left to ask
# (no native-open: state.sh job_state_into reads nothing else for them). Anything else, and a queue not
# set up, is a miss; the subshell path then answers as the helper would, with its errors.
session_status() {
	TEJ_ROOT=$1
	shift
	if ! test -d "$TEJ_ROOT/jobs" || ! test -d "$TEJ_ROOT/staging" || test $# -eq 0; then
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
	emit_proto
	for _session_id in "$@"; do
		emit_job_record "$_session_id"
	done
	# what a later call inherits from the shell: as the libraries left it
	prefetched=
	record_now=
	unset TEJ_ROOT
	return 0
}
