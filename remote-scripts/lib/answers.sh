#!/bin/sh
# Summary: The plugins' answers about jobs: asked once per plugin for a command's jobs (prefetch_states), else per job
#   (sourced after common.sh, proc.sh and state.sh)
# Usage: . "$TEJ_ROOT/lib/answers.sh"   (function definitions only)
#   prefetch_states ID..., plugin_word DIR, plugin_find DIR, plugin_abandon DIR, native_settle DIR WORD STATE
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # shares variables with state.sh and proc.sh (native_value, nl, answer_*)

# The plugins' answers for the jobs of one command, asked by prefetch_states once per plugin: words
# "ID:WORD:NATIVE_STATE", each after a blank (ids hold no colon; ids, words and native states no blank).
# Without them, job_state_into asks per job.
prefetched=
plugin_answers=
# The jobs prefetch_states found not ended for good (no exit-code, or a native-open), " ID ID ... " in
# the order asked: emit_job_records, reading the same jobs next, takes the others as ended without
# testing their two files again (8000 stat(2)s of a status of 4000 ended jobs).
prefetch_unsettled=
prefetch_unsettled_for=

# plugin_find DIR: ask the job's plugin (queue_find) for the native id of a job whose submit died before
# it recorded one and whose wrapper has not started (slurm: the job is still queued). Prints it and
# succeeds; 1 when the plugin has no such job (or the job names no plugin it may load); 2 when the
# plugin cannot tell now; any other status when the plugin could not be loaded (load_queue exits).
plugin_find() {
	_plugin_find_p=$(read_state "$1/plugin") || return 1
	plugin_installed "$_plugin_find_p" || return 1
	load_queue "$_plugin_find_p"
	queue_find "$1"
}

# plugin_abandon DIR: have the job's plugin cancel what it holds for the job in DIR, whose start was
# given up (queue_abandon); nothing for a job that names no plugin it may load. In a subshell: load_queue
# exits when the plugin cannot be loaded.
plugin_abandon() {
	_plugin_abandon_p=$(read_state "$1/plugin") || return 0
	plugin_installed "$_plugin_abandon_p" || return 0
	load_queue "$_plugin_abandon_p"
	queue_abandon "$1" >&2
}

# needs_plugin DIR: whether the state of the job in DIR depends on its plugin: it has a native id and no
# recorded end, or its plugin has still to confirm the end (native-open). The end first: for an ended
# job (most of a status of many) two stat(2)s answer.
needs_plugin() {
	! test -f "$1/exit-code" || test -f "$1/native-open" || return 1
	test -f "$1/native-id" || launched_into "$1"
}

# prefetch_states ID...: ask each plugin once (queue_states) about those of the jobs that need it
prefetch_states() {
	prefetched=yes
	plugin_answers=
	_prefetch_plugins=
	prefetch_unsettled=
	_prefetch_part=
	_prefetch_n=0
	for _prefetch_id in ${1+"$@"}; do
		# needs_plugin, inline: a call each was a third of this loop's time for 4000 ended jobs
		_prefetch_dir=$TEJ_ROOT/jobs/$_prefetch_id
		! test -f "$_prefetch_dir/exit-code" || test -f "$_prefetch_dir/native-open" || continue
		# in parts of 50, as emit_job_records appends (4000 running jobs)
		_prefetch_part="$_prefetch_part $_prefetch_id"
		_prefetch_n=$((_prefetch_n + 1))
		case $_prefetch_n in
		*50 | *00)
			prefetch_unsettled=$prefetch_unsettled$_prefetch_part
			_prefetch_part=
			;;
		esac
		test -f "$_prefetch_dir/native-id" || launched_into "$_prefetch_dir" || continue
		read_state_into "$_prefetch_dir/plugin" || continue
		_prefetch_p=$state_line
		case $_prefetch_p in
		'' | [!a-z]* | *[!a-z0-9_-]*) continue ;;
		esac
		case " $_prefetch_plugins " in
		*" $_prefetch_p "*) ;;
		*) _prefetch_plugins="$_prefetch_plugins $_prefetch_p" ;;
		esac
	done
	prefetch_unsettled="$prefetch_unsettled$_prefetch_part "
	# for which jobs (emit_job_records takes the list only for exactly these)
	# (${1+...}: posh takes an empty $* for an unset parameter under set -u)
	prefetch_unsettled_for="${1+$*}"
	for _prefetch_p in $_prefetch_plugins; do
		plugin_installed "$_prefetch_p" || continue
		_prefetch_in=
		for _prefetch_id in ${1+"$@"}; do
			_prefetch_dir=$TEJ_ROOT/jobs/$_prefetch_id
			needs_plugin "$_prefetch_dir" || continue
			read_state_into "$_prefetch_dir/plugin" || continue
			test "$state_line" = "$_prefetch_p" || continue
			native_id_into "$_prefetch_dir" || continue
			_prefetch_in="$_prefetch_in$native_value $_prefetch_dir$nl"
		done
		load_queue "$_prefetch_p"
		_prefetch_out=$(printf '%s' "$_prefetch_in" | queue_states) || _prefetch_out=
		while read -r _prefetch_word _prefetch_native _prefetch_dir; do
			test -n "$_prefetch_dir" || continue
			plugin_answers="$plugin_answers ${_prefetch_dir#"$TEJ_ROOT/jobs/"}:$_prefetch_word:$_prefetch_native"
		done <<EOF
$_prefetch_out
EOF
	done
	plugin_answers="$plugin_answers "
}

# plugin_answer_into DIR: set answer_word and answer_native (- for none) for the job in DIR from the
# prefetched answers; fail if there is none
plugin_answer_into() {
	test -n "$prefetched" || return 1
	_plugin_answer_key=" ${1#"$TEJ_ROOT/jobs/"}:"
	# The answers come in the order the jobs are then read: a cursor (plugin_answers_next) finds each
	# at once. A search of the whole list (${x#*KEY}) costs dash time quadratic in its length: minutes
	# for the thousand tasks of an array. The cursor belongs to one list (others set plugin_answers too).
	if test "${plugin_answers_for-}" != "$plugin_answers"; then
		plugin_answers_for=$plugin_answers
		plugin_answers_next=$plugin_answers
	fi
	case $plugin_answers_next in
	"$_plugin_answer_key"*) ;;
	*)
		_plugin_answer_rest=${plugin_answers_next#" "}
		_plugin_answer_rest=" ${_plugin_answer_rest#* }"
		case $_plugin_answer_rest in
		"$_plugin_answer_key"*) plugin_answers_next=$_plugin_answer_rest ;;
		*)
			_plugin_answer_rest=${plugin_answers#*"$_plugin_answer_key"}
			test "$_plugin_answer_rest" != "$plugin_answers" || return 1
			plugin_answers_next=$_plugin_answer_key$_plugin_answer_rest
			;;
		esac
		;;
	esac
	_plugin_answer_rest=${plugin_answers_next#"$_plugin_answer_key"}
	_plugin_answer_rest=${_plugin_answer_rest%% *}
	answer_word=${_plugin_answer_rest%%:*}
	answer_native=${_plugin_answer_rest#*:}
}

# plugin_word DIR [NATIVE_ID]: the plugin's word for the job in DIR (prefetched, else one queue_state
# call about NATIVE_ID, by default the job's own: native_id_into)
plugin_word() {
	if plugin_answer_into "$1"; then
		printf '%s\n' "$answer_word"
		return 0
	fi
	_plugin_word_native=${2:-}
	if test -z "$_plugin_word_native" && native_id_into "$1"; then
		_plugin_word_native=$native_value
	fi
	_plugin_word_plugin=$(read_state "$1/plugin") || _plugin_word_plugin=
	if test -n "$_plugin_word_plugin" && plugin_installed "$_plugin_word_plugin"; then
		load_queue "$_plugin_word_plugin"
		queue_state "$1" "$_plugin_word_native" || echo lost
	else
		echo lost
	fi
}

# native_settle JOB_DIR WORD NATIVE_STATE: once a batch scheduler (slurm, sge) says the job is over, keep
# what it said in the job directory (killed, timed-out, native-state), so that the state survives the
# scheduler forgetting the job
native_settle() {
	case $2 in
	queued | running) return 0 ;;
	killed) test -f "$1/killed" || test -f "$1/timed-out" || write_state "$1/killed" "$(now)" ;;
	timeout) test -f "$1/timed-out" || test -f "$1/killed" || write_state "$1/timed-out" "$(now)" ;;
	esac
	write_state "$1/native-state" "$3"
	rm -f "$1/native-open"
	# the job has ended for good once it has its exit-code: its end record (lib/state.sh)
	end_record_sync "$1"
}
