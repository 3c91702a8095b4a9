#!/bin/sh
# Summary: Remove a job and everything it holds; with --kill, kill it first when it runs
# Usage: tej-remote delete <job-id> [--kill] [--grace SECONDS]
# Output (stdout, proto 1): tej-proto=1, now=, id=, deleted=1
# Exit: 0 ok; 64 usage; 65 bad id; 66 no such job; 69 queue not set up;
#   75 the job runs (or is being submitted) and --kill was not given
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

usage="usage: tej-remote delete <job-id> [--kill] [--grace SECONDS]"
# sets id, grace and kill (lib/kill.sh)
kill_args "$usage" --kill ${1+"$@"}
require_setup
job_dir_for "$id"

# An array goes whole, once none of its tasks runs (or with --kill, which kills them).
if is_array "$job_dir"; then
	if array_going_any "$job_dir"; then
		test -n "$kill" || die "$EX_TEMPFAIL" "array $id has tasks queued or running (delete --kill kills them first)"
	fi
	array_kill "$job_dir" "$grace"
	job_state_value=killed
elif test -n "$kill" && is_array "${job_dir%/*}" && array_kill_queued "$job_dir"; then
	job_state_value=killed
else
	job_state_into "$job_dir"
fi
case $job_state_value in
running | queued)
	test -n "$kill" || die "$EX_TEMPFAIL" "job $id is running (delete --kill kills it first)"
	kill_job "$job_dir" "$grace"
	;;
lost)
	# The wrapper is gone; --kill sweeps what may be left of the job's processes.
	test -z "$kill" || kill_job "$job_dir" "$grace"
	;;
submitting) die "$EX_TEMPFAIL" "job $id is being submitted" ;;
esac

# Move the job out of jobs/ first, so that readers see it whole or not at all. A delete that dies
# half way (or a tree it cannot remove) leaves staging/<id>.<pid>.deleting, which a later submit removes.
trash_job "$job_dir" || die "$EX_FAILURE" "cannot move job $id out of the queue"

emit_header
emit id "$id"
emit deleted 1
