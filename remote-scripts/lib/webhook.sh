#!/bin/sh
# Summary: The tej.json notify.webhook, POSTed by the job's wrapper when the job ends (curl or wget)
#   (sourced after common.sh and proc.sh)
# Usage: . "$TEJ_ROOT/lib/webhook.sh"   (function definitions only)
#   webhook_load (before the job runs), webhook_post STATUS (once its end is recorded),
#   webhook_array_post (a task's wrapper, after webhook_post), array_ended_counts_into ID (the array's
#   counts, for claim.sh too); without curl and wget the POST is left to the next tej command that sees
#   the end (commands/claim.sh)
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# shellcheck shell=sh
# shellcheck disable=SC2154 # reads run-job.sh's variables (meta, job_dir, job_id)
# shellcheck disable=SC2034 # sets array_tasks and the counts for claim.sh

# webhook_load: set webhook_url to meta/notify-webhook, the URL the client submitted, read before the
# job runs: the job can rewrite meta/ once it runs, but not the wrapper's memory. A URL with a byte
# outside those of a plain http(s) URL (no blank, quote or control character) is none. When the host
# has curl or wget (webhook_tool), notify-host says so before the job runs: `tej wait` then leaves the
# POST to the wrapper. (A job that removes it gets a second POST from tej wait; one that writes it
# without a URL here only loses its own notification.)
webhook_load() {
	webhook_url=
	webhook_tool=
	read_state_into "$meta/notify-webhook" || return 0
	case $state_line in
	http://?* | https://?*) ;;
	*) return 0 ;;
	esac
	case $state_line in
	*[!A-Za-z0-9._~:/?#@!\$\&\(\)*+,\;=%-]*) return 0 ;;
	esac
	webhook_url=$state_line
	if has_cmd curl; then
		webhook_tool=curl
	elif has_cmd wget; then
		webhook_tool=wget
	else
		return 0
	fi
	write_state "$job_dir/notify-host" "$webhook_tool" || webhook_tool=
}

# webhook_post STATUS: POST {"id", "state", "exit_code", "host"} to webhook_url, as `tej wait` does, with
# webhook_tool (curl, or wget: busybox's too), 15 s at most; notify-posted records when it was taken
# (2xx), else notify-error the tool's first line of complaint. A failure is not retried, and changes
# nothing else. (Not into a file of work/: the job may have put a FIFO there, which would hold us.)
webhook_post() {
	test -n "${webhook_url:-}" && test -n "${webhook_tool:-}" || return 0
	ended_state_into "$job_dir"
	webhook_host_into
	webhook_send "$job_dir" "{\"id\":\"$job_id\",\"state\":\"$job_state_value\",\"exit_code\":$1,\"host\":\"$host_name\"}"
}

# webhook_host_into: host_name_into, as JSON may carry it: the bytes of a host name only, else unknown
webhook_host_into() {
	host_name_into
	case $host_name in
	'' | *[!A-Za-z0-9._-]*) host_name=unknown ;;
	esac
}

# webhook_send DIR BODY: POST BODY to webhook_url; DIR/notify-posted, else DIR/notify-error, says how it went
webhook_send() {
	_webhook_body=$2
	if test "$webhook_tool" = curl; then
		_webhook_err=$(curl -fsS -m 15 -o /dev/null -A tej -H 'content-type: application/json' --data-binary "$_webhook_body" --url "$webhook_url" 2>&1 </dev/null) && _webhook_err=
	else
		_webhook_err=$(wget -q -T 15 -O /dev/null -U tej --header='content-type: application/json' --post-data="$_webhook_body" "$webhook_url" 2>&1 </dev/null) && _webhook_err=
	fi || _webhook_err=${_webhook_err:-"$webhook_tool failed"}
	if test -z "$_webhook_err"; then
		write_state "$1/notify-posted" "$(now)" || true
	else
		write_state "$1/notify-error" "${_webhook_err%%"$nl"*}" || true
	fi
}

# webhook_array_post: from the wrapper of an array's task, after its own POST: once every task of the
# array has ended, POST the array's end to the same URL, once (the array's notify-claim: of two tasks
# that end together, mkdir gives it to one; a client that claims it first posts it instead:
# commands/claim.sh). A task not ended leaves it to its own end.
webhook_array_post() {
	test -n "${webhook_url:-}" && test -n "${webhook_tool:-}" || return 0
	is_array "$job_dir/.." || return 0
	_wa_dir=${job_dir%/*}
	array_ended_counts_into "${_wa_dir##*/}" || return 0
	mkdir "$_wa_dir/notify-claim" 2>/dev/null || return 0
	webhook_host_into
	webhook_send "$_wa_dir" "{\"id\":\"${_wa_dir##*/}\",\"tasks\":$array_tasks,\"finished\":$array_finished,\"failed\":$array_failed,\"killed\":$array_killed,\"timeout\":$array_timeout,\"host\":\"$host_name\"}"
}

# array_ended_counts_into ID: once every task of the array ID has ended (exit-code, or killed before
# it started), set array_tasks and, of them, array_finished (exit code 0), array_failed (finished with
# another), array_killed and array_timeout: the counts of the array's webhook, the wrapper's and the
# client's (commands/claim.sh) alike. Fails while a task has not ended, or when ID is no array. The
# tasks are looked at last first: the ones still going are most likely there.
array_ended_counts_into() {
	array_members_into "$1" || return 1
	# shellcheck disable=SC2086 # the task ids: ID/N words
	set -- $array_members
	_ae_i=$#
	while test "$_ae_i" -gt 0; do
		eval "_ae_t=\${$_ae_i}"
		test -f "$TEJ_ROOT/jobs/$_ae_t/exit-code" || test -f "$TEJ_ROOT/jobs/$_ae_t/killed" || return 1
		_ae_i=$((_ae_i - 1))
	done
	array_tasks=$# array_finished=0 array_failed=0 array_killed=0 array_timeout=0
	for _ae_t in "$@"; do
		ended_state_into "$TEJ_ROOT/jobs/$_ae_t"
		case $job_state_value in
		killed) array_killed=$((array_killed + 1)) ;;
		timeout) array_timeout=$((array_timeout + 1)) ;;
		*)
			if read_state_into "$TEJ_ROOT/jobs/$_ae_t/exit-code" && test "$state_line" = 0; then
				array_finished=$((array_finished + 1))
			else
				array_failed=$((array_failed + 1))
			fi
			;;
		esac
	done
}
