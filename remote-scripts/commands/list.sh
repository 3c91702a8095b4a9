#!/bin/sh
# Summary: Report the state of every job of the queue, sorted by id
# Usage: tej-remote list
# Output (stdout, proto 1): tej-proto=1, now=, then one status record per job (see status.sh)
# Exit: 0 ok; 64 usage; 69 queue not set up; 74 as status
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

test $# -eq 0 || die "$EX_USAGE" "usage: tej-remote list"
require_setup

# Globs expand sorted; LC_ALL=C (common.sh) makes the order bytewise.
# The ids appended in parts of 50: one append to the whole list each copies all of it (twice in dash),
# 78 ms for 4000 ids here, 27 in parts.
ids=
part=
n=0
for dir in "$TEJ_ROOT"/jobs/*/; do
	test -d "$dir" || continue
	dir=${dir%/}
	id=${dir##*/}
	is_job_id "$id" || continue
	part="$part $id"
	n=$((n + 1))
	case $n in
	*50 | *00)
		ids=$ids$part
		part=
		;;
	esac
done
# An array's id stands for its tasks (lib/array.sh).
# shellcheck disable=SC2086 # job ids hold no blanks and no glob characters
job_records_expanding $ids$part
