#!/bin/sh
# Summary: Run a job again under a new id, from the inputs it was submitted with (its input.tar)
# Usage: tej-remote resubmit <job-id> <new-job-id> [<nonce>]   (nonce: fresh, names this resubmit)
# Output (stdout, proto 1): as submit: tej-proto=1, now=, id=, plugin=, native_id=, state=; the old job's
#   record says rerun_as= from then on
# Exit: 0 ok; 64 usage; 65 bad id; 66 no such job, or a job without input.tar (submitted by an older
#   tej); 69 queue not set up or plugin unavailable; 73 the new id exists already; else as submit
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
	# shellcheck source=../lib/array.sh
	. "$TEJ_ROOT/lib/array.sh"
	# shellcheck source=../lib/array-kill.sh
	. "$TEJ_ROOT/lib/array-kill.sh"
	# shellcheck source=../lib/slurm-array.sh
	. "$TEJ_ROOT/lib/slurm-array.sh"
fi

test $# -eq 2 || test $# -eq 3 || die "$EX_USAGE" "usage: tej-remote resubmit <job-id> <new-job-id> [<nonce>]"
old=$1
new=$2
# A fresh nonce claims the new id: with the old job's, two resubmits to one new id would each take the
# other's job for an earlier attempt of their own.
fresh=${3:-r$$x$(now)}
check_job_id "$old"
check_job_id "$new"
require_setup
job_dir_for "$old"
# A task of an array runs again under its own id, from the array's upload (lib/array.sh).
if test "$new" = "$old" && is_array "${job_dir%/*}"; then
	array_requeue "$job_dir"
	emit_header
	emit id "$old"
	emit plugin "$(read_state "$job_dir/plugin" 2>/dev/null || echo direct)"
	emit native_id "$(read_state "$job_dir/native-id" 2>/dev/null || :)"
	emit state queued
	exit 0
fi
case $new in */*) die "$EX_DATAERR" "invalid job id: '$new' (a task runs again under its own id)" ;; esac
if ! test -f "$job_dir/input.tar" || ! marker=$(read_state "$job_dir/input-nonce"); then
	die "$EX_NOINPUT" "job $old has no saved input (it was submitted without --keep-input, or by an older tej): submit its directory again"
fi
plugin=$(read_state "$job_dir/plugin") || plugin=$(default_plugin)
# A taken id is refused before the upload is read again (submit refuses it too, under its fresh nonce).
if test -e "$TEJ_ROOT/jobs/$new" || test -L "$TEJ_ROOT/jobs/$new"; then
	die "$EX_CANTCREAT" "job $new exists already"
fi

# submit.sh checks the stream as it checks any upload, keeps its own copy and starts the job.
# From the helper program it is the program's own submit, in a subshell as a new shell would be.
# The files the content store placed come from the tar they were placed from (lib/store.sh), never
# from the store again: its contents may be gone.
set -- "$new" "$fresh" --marker "$marker" --plugin "$plugin" --keep-input
test ! -f "$job_dir/input-store.tar" || set -- "$@" --placed "$job_dir/input-store.tar"
if test -n "${tej_in_memory:-}"; then
	(tej_cmd_submit "$@") <"$job_dir/input.tar"
else
	"${TEJ_SHELL:-/bin/sh}" "$TEJ_ROOT/commands/submit.sh" "$@" <"$job_dir/input.tar"
fi
write_state "$TEJ_ROOT/jobs/$new/resubmitted-from" "$old"
# the old job says it was rerun (the last rerun): resubmit --failed skips it from now on
write_state "$job_dir/rerun-as" "$new"
# and its end record says so too (lib/state.sh)
end_record_sync "$job_dir"
