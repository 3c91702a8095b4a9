#!/bin/sh
# Summary: List a job's regular files with size and mtime, and its state: one pass of download --update/--watch
# Usage: tej-remote files [--] <job-id>
#   Every regular file below the job's work/, symlinks neither followed nor listed (a job's link cannot
#   lead the listing out of its directory). The client matches the download specs against the names.
# Output (stdout, no protocol lines): `state WORD` (read before the listing: a state that says the job
#   ended covers everything it wrote), then batches: `batch N`, N lines `SIZE MTIME` (bytes, epoch
#   seconds; `- -` for a file gone before stat read it), N names relative to work/, each ended by a NUL;
#   then `now EPOCH` (read after the listing) and `end`
# Exit: 0 ok; 64 usage; 65 bad id, an array; 66 no such job; 69 queue not set up, no find, or no stat
#   that prints size and mtime (stat -c or stat -f)
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
fi

usage="usage: tej-remote files [--] <job-id>"
test "${1:-}" != -- || shift
test $# -eq 1 || die "$EX_USAGE" "$usage"
id=$1
check_job_id "$id"
require_setup
job_dir_for "$id"
test ! -f "$job_dir/meta/array/tasks" || die "$EX_DATAERR" "$id is an array: download from a task (--id $id/N) or from each of them (--id '$id/*')"
need_cmd find
# GNU coreutils and busybox: stat -c; the BSDs: stat -f
if stat -c '%s %Y' / >/dev/null 2>&1; then
	stat_format=-c
	stat_fields='%s %Y'
elif stat -f '%z %m' / >/dev/null 2>&1; then
	stat_format=-f
	stat_fields='%z %m'
else
	die "$EX_UNAVAILABLE" "this host has no stat that prints a file's size and mtime (stat -c or stat -f), which download --update needs"
fi

job_state_into "$job_dir"
printf 'state %s\n' "$job_state_value"
root=$(cd -P "$job_dir" && pwd -P)
# work/ itself a symlink (the job replaced it): nothing of it is listed
if test -d "$root/work" && ! test -L "$root/work"; then
	cd "$root/work" || die "$EX_NOPERM" "cannot enter the work directory of job $id"
	# One stat per batch of names: its lines carry no name (a name may hold a newline); the names follow,
	# NUL-ended. A file removed between find and stat makes stat fail: then one stat per file.
	# shellcheck disable=SC2016 # the script find runs, in single quotes on purpose
	find . -type f -exec sh -c '
		f=$1 fields=$2
		shift 2
		printf "batch %s\n" "$#"
		if ! stats=$(stat "$f" "$fields" -- "$@" 2>/dev/null) || test "$(($(printf "%s\n" "$stats" | wc -l)))" -ne "$#"; then
			stats=
			for n do
				s=$(stat "$f" "$fields" -- "$n" 2>/dev/null) || s="- -"
				stats="$stats$s
"
			done
			stats=${stats%?}
		fi
		printf "%s\n" "$stats"
		printf "%s\0" "$@"
	' sh "$stat_format" "$stat_fields" {} + 2>/dev/null || :
fi
now_into
printf 'now %s\nend\n' "$now_value"
