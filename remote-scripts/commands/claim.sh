#!/bin/sh
# Summary: Claim for the caller the POST of ended jobs' webhooks the host cannot post (no curl or wget)
# Usage: tej-remote claim <job-id>...
# Output (stdout, proto 1): tej-proto=1, claimed= (the ids claimed by this call, blank separated): each
#   has meta/notify-webhook, has ended (exit-code or end), has no notify-host, and its notify-claim was
#   made now (mkdir: of two clients, one wins); ids that are not jobs are passed over
# Exit: 0 ok; 64 usage; 69 queue not set up
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
fi

test $# -ge 1 || die "$EX_USAGE" "usage: tej-remote claim <job-id>..."
require_setup
claimed=
for id in "$@"; do
	is_job_id "$id" || continue
	dir=$TEJ_ROOT/jobs/$id
	if ! test -f "$dir/meta/notify-webhook" || test -e "$dir/notify-host"; then continue; fi
	if ! test -f "$dir/exit-code" && ! test -f "$dir/end"; then continue; fi
	# The job can make notify-claim itself: it then loses only its own notification.
	mkdir "$dir/notify-claim" 2>/dev/null || continue
	write_state "$dir/notify-claim/at" "$(now)" || true
	# status records say notify_claimed= from now on (lib/state.sh record_keys)
	end_record_sync "$dir"
	claimed="$claimed $id"
done
emit_header
emit claimed "${claimed# }"
