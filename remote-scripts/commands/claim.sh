#!/bin/sh
# Summary: Claim for the caller the POST of ended jobs' and arrays' webhooks the host cannot post (no curl or wget)
# Usage: tej-remote claim <job-or-array-id>...
# Output (stdout, proto 1): tej-proto=1, claimed= (the job ids claimed by this call, blank separated): each
#   has meta/notify-webhook, has ended (exit-code or end), has no notify-host, and its notify-claim was
#   made now (mkdir: of two clients, one wins); then one record per array claimed by this call: id=,
#   tasks=, finished=, failed=, killed=, timeout= (lib/webhook.sh array_ended_counts_into), host=,
#   notify_webhook=, notify_mac=; an array is claimed once every task has ended and when no task has
#   notify-host (a wrapper there posts it: webhook_array_post). Ids that are neither are passed over.
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
	# shellcheck source=../lib/record.sh
	. "$TEJ_ROOT/lib/record.sh"
	# shellcheck source=../lib/array.sh
	. "$TEJ_ROOT/lib/array.sh"
	# shellcheck source=../lib/webhook.sh
	. "$TEJ_ROOT/lib/webhook.sh"
fi

# claim_array ID: claim the array's webhook (its notify-claim, the one webhook_array_post makes), add its
# record to arrays_claimed, and write every task's end-record again: their status records say
# array_notify_claimed= from now on (lib/state.sh record_keys), so no client asks again
claim_array() {
	_ca_id=$1
	_ca_dir=$TEJ_ROOT/jobs/$1
	test -f "$_ca_dir/meta/notify-webhook" && ! test -e "$_ca_dir/notify-claim" || return 0
	array_ended_counts_into "$1" || return 0
	for _ca_t in $array_members; do
		! test -e "$TEJ_ROOT/jobs/$_ca_t/notify-host" || return 0
	done
	mkdir "$_ca_dir/notify-claim" 2>/dev/null || return 0
	write_state "$_ca_dir/notify-claim/at" "$(now)" || true
	# one rm for all the tasks' temporary names (end_record_sync ... cleared)
	set --
	for _ca_t in $array_members; do
		set -- "$@" "$TEJ_ROOT/jobs/$_ca_t/end-record.tmp.$$"
	done
	rm -f "$@" 2>/dev/null || true
	for _ca_t in $array_members; do
		end_record_sync "$TEJ_ROOT/jobs/$_ca_t" cleared
	done
	webhook_host_into
	arrays_claimed="${arrays_claimed}id=$_ca_id${nl}tasks=$array_tasks${nl}finished=$array_finished${nl}failed=$array_failed${nl}killed=$array_killed${nl}timeout=$array_timeout${nl}host=$host_name$nl"
	job_record=
	record_file notify_webhook "$_ca_dir/meta/notify-webhook"
	record_file notify_mac "$_ca_dir/meta/notify-mac"
	arrays_claimed="$arrays_claimed$job_record"
}

test $# -ge 1 || die "$EX_USAGE" "usage: tej-remote claim <job-or-array-id>..."
require_setup
claimed=
arrays_claimed=
for id in "$@"; do
	is_job_id "$id" || continue
	dir=$TEJ_ROOT/jobs/$id
	if is_array "$dir"; then
		claim_array "$id"
		continue
	fi
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
printf '%s' "$arrays_claimed"
