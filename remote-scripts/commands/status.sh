#!/bin/sh
# Summary: Report the state of some jobs
# Usage: tej-remote status <job-id>...
# Output (stdout, proto 1): tej-proto=1, now=, then per job id=, state=, plugin=, native_id=,
#   submitted=, start=, end=, exit_code= (the keys that are known; state=absent for a missing job)
# Exit: 0 ok (absent jobs included); 64 usage; 65 bad id; 69 queue not set up
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

# status_in_halves ID...: the records of many jobs, the second half of them read by a subshell while
# this shell reads the first: the host's other core (a status of 4000 ended jobs is some ten stat(2)s
# and one open a job, 0.3 s on one core here). Each half asks its plugins about its own jobs (one
# question per plugin and half). The second half's records follow the first's through a pipe, then a
# line that says they are whole: without it (that half failed, and said why on stderr) the status
# fails rather than leave jobs out of its reply.
status_split_min=500
status_in_halves() {
	_status_half=$(($# / 2))
	{
		shift "$_status_half"
		prefetch_states "$@"
		emit_job_records "$@"
		echo tej-half=whole
	} | {
		# the first half's ids: appended in parts, as emit_job_records appends its lines (one whole
		# append each copies the whole string, twice in dash)
		_status_ids=
		_status_part=
		_status_n=0
		for _status_id in "$@"; do
			_status_part="$_status_part $_status_id"
			_status_n=$((_status_n + 1))
			case $_status_n in
			*50 | *00)
				_status_ids=$_status_ids$_status_part
				_status_part=
				;;
			esac
			test "$_status_n" -lt "$_status_half" || break
		done
		# shellcheck disable=SC2086 # job ids hold no blanks and no glob characters
		set -- $_status_ids$_status_part
		# (stdin is the second half's records)
		prefetch_states "$@" </dev/null
		emit_job_records "$@" </dev/null
		_status_rest=$(cat)
		_status_records=${_status_rest%"${nl}tej-half=whole"}
		test "$_status_records" != "$_status_rest" || die "$EX_IOERR" "the status of the jobs after $_status_id could not be read"
		printf '%s\n' "$_status_records"
	}
}

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
array_expand_into "$@"
# shellcheck disable=SC2086 # job ids hold no blanks and no glob characters
set -- $array_ids
if test $# -lt "$status_split_min"; then
	# One question per plugin for all the jobs (slurm: one squeue), before any record is printed.
	prefetch_states "$@"
	emit_proto
	emit_job_records "$@"
else
	emit_proto
	status_in_halves "$@"
fi
