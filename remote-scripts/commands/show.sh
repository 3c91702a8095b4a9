#!/bin/sh
# Summary: Report the full record of some jobs: the status record plus where it runs and what was sent
# Usage: tej-remote show [--brief] <job-id>...
# Output (stdout, proto 1): tej-proto=1, now=, host=, queue=, then per job the status record (see
#   status.sh) and, when known, work_dir=, stdout=, stderr=, resubmitted_from=, notify_mac=, spec= (meta/spec.json)
#   and job= (meta/job.json, left out with --brief: it may hold a large git diff), JSON on one line
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

brief=
if test "${1:-}" = --brief; then
	brief=yes
	shift
fi
test $# -ge 1 || die "$EX_USAGE" "usage: tej-remote show [--brief] <job-id>..."
for id in "$@"; do
	check_job_id "$id"
done
require_setup

# emit_json KEY FILE: a JSON file as one value; newlines between JSON tokens are insignificant, and
# a JSON string holds none. The client writes one line: one without a CR is read by the shell (a show
# of an array of 20000 tasks ran a tr for each); any other file goes through tr, which drops every
# newline and CR.
show_cr=$(printf '\r')
emit_json() {
	test -f "$2" || return 0
	_emit_json_line=
	_emit_json_more=
	if { IFS= read -r _emit_json_line && ! IFS= read -r _emit_json_more; } <"$2" 2>/dev/null && test -z "$_emit_json_more"; then
		case $_emit_json_line in
		*"$show_cr"*) ;;
		*)
			printf '%s=%s\n' "$1" "$_emit_json_line"
			return 0
			;;
		esac
	fi
	printf '%s=' "$1"
	tr -d '\n\r' <"$2"
	printf '\n'
}

# One question per plugin for all the jobs (slurm: one squeue), before any record is printed.
# An array's id stands for its tasks (lib/array.sh).
array_expand_into "$@"
# shellcheck disable=SC2086 # job ids hold no blanks and no glob characters
set -- $array_ids
prefetch_states "$@"
emit_header
emit host "$(uname -n)"
emit queue "$TEJ_ROOT"
for id in "$@"; do
	emit_job_record "$id"
	dir=$TEJ_ROOT/jobs/$id
	test -d "$dir" || continue
	emit work_dir "$dir/work"
	# read_state_into, not $(read_state): no subshell for each job
	out=tej.stdout
	! read_state_into "$dir/meta/stdout" || out=$state_line
	err=tej.stderr
	! read_state_into "$dir/meta/stderr" || err=$state_line
	emit stdout "$out"
	emit stderr "$err"
	job_record=
	record_file resubmitted_from "$dir/resubmitted-from"
	record_file notify_mac "$dir/meta/notify-mac"
	# the limits submit resolved (lib/limits.sh): NAME:VALUE:yes|no words
	record_file limits "$dir/meta/limits"
	# the runtime and image submit chose (lib/container.sh): RUNTIME IMAGE
	record_file container "$dir/meta/container"
	printf '%s' "$job_record"
	emit_json spec "$dir/meta/spec.json"
	test -n "$brief" || emit_json job "$dir/meta/job.json"
done
