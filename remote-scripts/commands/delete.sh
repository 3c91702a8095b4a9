#!/bin/sh
# Summary: Remove a job and everything it holds; with --kill, kill it first when it runs
# Usage: tej-remote delete <job-id> [--kill] [--grace SECONDS]
# Output (stdout, proto 1): tej-proto=1, now=, id=, deleted=1
# Exit: 0 ok; 64 usage; 65 bad id; 66 no such job; 69 queue not set up;
#   75 the job runs (or is being submitted) and --kill was not given
# shellcheck source-path=SCRIPTDIR
set -eu
TEJ_ROOT=${TEJ_ROOT:-$(cd -P "$(dirname "$0")/.." && pwd -P)}
# From the helper program the dispatcher has run both already (docs/protocol.md).
if test -z "${tej_in_memory:-}"; then
	# shellcheck source=../lib/common.sh
	. "$TEJ_ROOT/lib/common.sh"
	# shellcheck source=../lib/job.sh
	. "$TEJ_ROOT/lib/job.sh"
fi

usage="usage: tej-remote delete <job-id> [--kill] [--grace SECONDS]"
id=
have_id=
kill=
grace=10
while test $# -gt 0; do
	case $1 in
	--kill)
		kill=yes
		shift
		;;
	--grace)
		test $# -ge 2 || die "$EX_USAGE" "$usage"
		grace=$2
		shift 2
		;;
	-*) die "$EX_USAGE" "$usage" ;;
	*)
		test -z "$have_id" || die "$EX_USAGE" "$usage"
		id=$1
		have_id=yes
		shift
		;;
	esac
done
test -n "$have_id" || die "$EX_USAGE" "$usage"
check_seconds "$grace" --grace
check_job_id "$id"
require_setup
job_dir_for "$id"

case $(job_state "$job_dir") in
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
