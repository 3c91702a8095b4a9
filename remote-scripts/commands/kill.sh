#!/bin/sh
# Summary: Kill a running or queued job and every process it started
# Usage: tej-remote kill <job-id> [--grace SECONDS]
# Output (stdout, proto 1): tej-proto=1, now=, id=, previous_state=, state=
# Exit: 0 ok (also for a job that had ended already); 64 usage; 65 bad id; 66 no such job;
#   69 queue not set up; 1 the job survived SIGKILL
# shellcheck source-path=SCRIPTDIR
set -eu
TEJ_ROOT=${TEJ_ROOT:-$(cd -P "$(dirname "$0")/.." && pwd -P)}
# From the helper program the dispatcher has run the libraries already (docs/protocol.md).
if test -z "${tej_in_memory:-}"; then
	# shellcheck source=../lib/common.sh
	. "$TEJ_ROOT/lib/common.sh"
	# shellcheck source=../lib/proc.sh
	. "$TEJ_ROOT/lib/proc.sh"
	# shellcheck source=../lib/state.sh
	. "$TEJ_ROOT/lib/state.sh"
	# shellcheck source=../lib/answers.sh
	. "$TEJ_ROOT/lib/answers.sh"
	# shellcheck source=../lib/kill.sh
	. "$TEJ_ROOT/lib/kill.sh"
	# shellcheck source=../lib/array.sh
	. "$TEJ_ROOT/lib/array.sh"
	# shellcheck source=../lib/array-kill.sh
	. "$TEJ_ROOT/lib/array-kill.sh"
	# shellcheck source=../lib/slurm-array.sh
	. "$TEJ_ROOT/lib/slurm-array.sh"
fi

usage="usage: tej-remote kill <job-id> [--grace SECONDS]"
# sets id, grace and kill (lib/kill.sh)
kill_args "$usage" "" ${1+"$@"}
require_setup
job_dir_for "$id"

# An array: no task starts any more, and every one is killed; a task not started: it never starts.
if is_array "$job_dir"; then
	previous_state=running
	array_going_any "$job_dir" || previous_state=finished
	array_kill "$job_dir" "$grace"
	state=killed
elif is_array "${job_dir%/*}" && array_kill_queued "$job_dir"; then
	previous_state=queued
	state=killed
else
	kill_job "$job_dir" "$grace"
fi
emit_header
emit id "$id"
emit previous_state "$previous_state"
emit state "$state"
