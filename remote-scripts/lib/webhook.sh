#!/bin/sh
# Summary: The tej.json notify.webhook, POSTed by the job's wrapper when the job ends (curl or wget)
#   (sourced after common.sh and proc.sh)
# Usage: . "$TEJ_ROOT/lib/webhook.sh"   (function definitions only)
#   webhook_load (before the job runs), webhook_post STATUS (once its end is recorded),
#   webhook_array_post (a task's wrapper, after webhook_post); without curl and wget the POST is left to
#   the next tej command that sees the end (commands/claim.sh)
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# shellcheck shell=sh
# shellcheck disable=SC2154 # reads run-job.sh's variables (meta, job_dir, job_id)

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
# that end together, mkdir gives it to one): {"id": ARRAY, "tasks": N, "finished": F, "failed": X,
# "killed": K, "timeout": T, "host": H} (failed: finished with an exit code other than 0; finished
# counts those with 0). A task not ended (no exit-code, not killed before it started) leaves it to its
# own end. The tasks are looked at last first: the ones still going are most likely there.
webhook_array_post() {
	test -n "${webhook_url:-}" && test -n "${webhook_tool:-}" || return 0
	is_array "$job_dir/.." || return 0
	_wa_dir=${job_dir%/*}
	array_members_into "${_wa_dir##*/}" || return 0
	# shellcheck disable=SC2086 # the task ids: ID/N words
	set -- $array_members
	_wa_i=$#
	while test "$_wa_i" -gt 0; do
		eval "_wa_t=\${$_wa_i}"
		test -f "$TEJ_ROOT/jobs/$_wa_t/exit-code" || test -f "$TEJ_ROOT/jobs/$_wa_t/killed" || return 0
		_wa_i=$((_wa_i - 1))
	done
	mkdir "$_wa_dir/notify-claim" 2>/dev/null || return 0
	_wa_ok=0 _wa_failed=0 _wa_killed=0 _wa_timeout=0
	for _wa_t in "$@"; do
		ended_state_into "$TEJ_ROOT/jobs/$_wa_t"
		case $job_state_value in
		killed) _wa_killed=$((_wa_killed + 1)) ;;
		timeout) _wa_timeout=$((_wa_timeout + 1)) ;;
		*)
			if read_state_into "$TEJ_ROOT/jobs/$_wa_t/exit-code" && test "$state_line" = 0; then
				_wa_ok=$((_wa_ok + 1))
			else
				_wa_failed=$((_wa_failed + 1))
			fi
			;;
		esac
	done
	webhook_host_into
	webhook_send "$_wa_dir" "{\"id\":\"${_wa_dir##*/}\",\"tasks\":$#,\"finished\":$_wa_ok,\"failed\":$_wa_failed,\"killed\":$_wa_killed,\"timeout\":$_wa_timeout,\"host\":\"$host_name\"}"
}
