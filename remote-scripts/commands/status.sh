#!/bin/sh
# Summary: Report the state of some jobs
# Usage: tej-remote status <job-id>...
# Output (stdout, proto 1): tej-proto=1, now=, then per job id=, state=, plugin=, native_id=,
#   submitted=, start=, end=, exit_code= (the keys that are known; state=absent for a missing job)
# Exit: 0 ok (absent jobs included); 64 usage; 65 bad id; 69 queue not set up; 74 records of 500 jobs
#   and more that came back cut short (lib/record.sh job_records)
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
	# shellcheck source=../lib/record.sh
	. "$TEJ_ROOT/lib/record.sh"
	# shellcheck source=../lib/array.sh
	. "$TEJ_ROOT/lib/array.sh"
fi

test $# -ge 1 || die "$EX_USAGE" "usage: tej-remote status <job-id>..."
# check_job_id for each, an id without a task number decided inline (a call each was a third of this
# loop's 8-14 ms for 4000 ids); anything else is check_job_id's, which says what is wrong
for id in "$@"; do
	case $id in
	*/* | '' | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]* | *..*) check_job_id "$id" ;;
	*) test "${#id}" -le 128 || check_job_id "$id" ;;
	esac
done
require_setup

# An array's id stands for its tasks (lib/array.sh).
job_records_expanding "$@"
