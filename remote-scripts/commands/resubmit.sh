#!/bin/sh
# Summary: Run a job again under a new id, from the inputs it was submitted with (its input.tar)
# Usage: tej-remote resubmit <job-id> <new-job-id>
# Output (stdout, proto 1): as submit: tej-proto=1, now=, id=, plugin=, native_id=, state=
# Exit: 0 ok; 64 usage; 65 bad id; 66 no such job, or a job without input.tar (submitted by an older
#   tej); 69 queue not set up or plugin unavailable; 73 the new id exists already; else as submit
# shellcheck source-path=SCRIPTDIR
set -eu
TEJ_ROOT=${TEJ_ROOT:-$(cd -P "$(dirname "$0")/.." && pwd -P)}
# shellcheck source=../lib/common.sh
. "$TEJ_ROOT/lib/common.sh"
# shellcheck source=../lib/job.sh
. "$TEJ_ROOT/lib/job.sh"

test $# -eq 2 || die "$EX_USAGE" "usage: tej-remote resubmit <job-id> <new-job-id>"
old=$1
new=$2
check_job_id "$old"
check_job_id "$new"
require_setup
job_dir_for "$old"
if ! test -f "$job_dir/input.tar" || ! nonce=$(read_state "$job_dir/input-nonce"); then
	die "$EX_NOINPUT" "job $old has no saved input (it was submitted without --keep-input, or by an older tej): submit its directory again"
fi
plugin=$(read_state "$job_dir/plugin") || plugin=$(default_plugin)
# The rerun carries the old job's nonce: refuse a taken id here, so that it is never taken for an
# earlier attempt of this very submit.
if test -e "$TEJ_ROOT/jobs/$new" || test -L "$TEJ_ROOT/jobs/$new"; then
	die "$EX_CANTCREAT" "job $new exists already"
fi

# submit.sh checks the stream as it checks any upload, keeps its own copy and starts the job.
"${TEJ_SHELL:-/bin/sh}" "$TEJ_ROOT/commands/submit.sh" "$new" "$nonce" --plugin "$plugin" --keep-input <"$job_dir/input.tar"
write_state "$TEJ_ROOT/jobs/$new/resubmitted-from" "$old"
