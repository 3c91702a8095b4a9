#!/bin/sh
# Summary: Job dependencies (submit --after ID[:ok|any]): checked at submit, waited for by the direct wrapper
#   (sourced after common.sh, proc.sh, state.sh and answers.sh)
# Usage: . "$TEJ_ROOT/lib/after.sh"   (function definitions only)
#   after_check META PLUGIN, after_end_into ID, after_wait (in run-job.sh), after_slurm_into META
#   (slurm: Slurm waits; slurm_unmet, queues/slurm.sh, records a dependency it says can never be met)
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # shares variables with state.sh, answers.sh and run-job.sh

# meta/after, written by the client: one "ID MODE" line per dependency, MODE ok (the dependency must
# finish with exit code 0) or any (it must end, however). A job can rewrite its own meta/ only once it
# runs, that is once its dependencies are settled: the file steers nothing after that.

# after_check META PLUGIN: check META/after at submit: well-formed lines, each naming a job that exists
# on this queue with the same plugin (slurm, sge: one with a job id). Fails with after_bad, the message.
after_check() {
	after_bad=
	test -f "$1/after" || return 0
	while read -r _after_check_id _after_check_mode _after_check_rest; do
		test -n "$_after_check_id" || continue
		if ! is_job_id "$_after_check_id" || test -n "$_after_check_rest"; then
			after_bad="bad dependency: '$_after_check_id'"
			return 1
		fi
		case $_after_check_mode in
		ok | any) ;;
		*)
			after_bad="bad dependency mode for $_after_check_id: '$_after_check_mode' (ok or any)"
			return 1
			;;
		esac
		_after_check_dir=$TEJ_ROOT/jobs/$_after_check_id
		if ! test -d "$_after_check_dir"; then
			after_bad="no such job to run after: $_after_check_id"
			return 1
		fi
		read_state_into "$_after_check_dir/plugin" || state_line=
		if test "$state_line" != "$2"; then
			after_bad="job $_after_check_id runs on the ${state_line:-unknown} plugin: a $2 job can only run after $2 jobs"
			return 1
		fi
		# slurm and sge: the scheduler waits, for the dependency's own job id
		case $2 in slurm) _after_check_sched=Slurm ;; sge) _after_check_sched='Grid Engine' ;; *) _after_check_sched= ;; esac
		if test -n "$_after_check_sched" && ! read_state_into "$_after_check_dir/native-id"; then
			after_bad="job $_after_check_id has no $_after_check_sched job id yet: submit this job once its submit has ended"
			return 1
		fi
	done <"$1/after"
}

# after_end_into ID: "the end records of ID", the one place that reads them: set after_state to the
# dependency's state as status decides it (job_state_into: a wrapper killed -9 makes it lost), absent
# when it is gone, and after_code to its exit code (empty when none). A direct dependency's word is its
# wrapper's life (wrapper_runs, lib/state.sh, as the direct plugin's queue_state asks it).
after_end_into() {
	_after_end_dir=$TEJ_ROOT/jobs/$1
	after_code=
	if ! test -d "$_after_end_dir"; then
		after_state=absent
		return 0
	fi
	_after_end_word=lost
	if native_id_into "$_after_end_dir"; then
		if wrapper_runs "$_after_end_dir" "$native_value"; then
			_after_end_word=running
			# a dependency that waits for its own dependencies has not started: queued
			test -f "$_after_end_dir/start" || _after_end_word=queued
		fi
	fi
	prefetched=yes
	plugin_answers=" $1:$_after_end_word:- "
	job_state_into "$_after_end_dir"
	prefetched=
	plugin_answers=
	after_state=$job_state_value
	if read_state_into "$_after_end_dir/exit-code"; then after_code=$state_line; fi
}

# after_blocker_into: set after_blocker to the first dependency of meta/after that can never be met
# ("ID STATE"), after_pending to yes when one has not ended yet. An array (lib/array.sh) is all its
# tasks: each must end as its mode asks.
after_blocker_into() {
	after_blocker=
	after_pending=
	while read -r _after_id _after_mode _after_rest; do
		is_job_id "$_after_id" || continue
		if array_members_into "$_after_id"; then
			for _after_member in $array_members; do
				after_judge "$_after_member" "$_after_mode" || return 0
			done
		else
			after_judge "$_after_id" "$_after_mode" || return 0
		fi
	done <"$meta/after"
}

# after_judge ID MODE: look at one dependency (after_end_into); fail, with after_blocker set, when it can
# never be met; set after_pending when it has not ended yet
after_judge() {
	after_end_into "$1"
	case $after_state in
	submitting | queued | running) after_pending=yes ;;
	finished)
		if test "$2" != any && test "$after_code" != 0; then
			after_blocker="$1 failed"
			return 1
		fi
		;;
	*)
		if test "$2" != any; then
			after_blocker="$1 $after_state"
			return 1
		fi
		;;
	esac
}

# after_wait: in the direct wrapper, before the job starts: wait until every dependency of meta/after
# has ended (checked every few seconds: no daemon tells us). A dependency that can never be met ends
# the job unrun: `dependency` ("ID STATE") and exit code 125 (finish). A TERM (tej kill) ends the wait.
# Under another plugin the queue itself has waited (slurm: --dependency) before it started the wrapper;
# Grid Engine (qsub -hold_jid, lib/gridengine.sh) waits for the end however it came: the wrapper judges
# `ok` here as under direct (its dependencies have ended: the loop ends at once).
after_wait() {
	test -f "$meta/after" || return 0
	read_state_into "$job_dir/plugin" || state_line=
	case $state_line in direct | sge) ;; *) return 0 ;; esac
	_after_wait_term=
	trap '_after_wait_term=yes' TERM INT HUP
	while :; do
		after_blocker_into
		if test -n "$after_blocker"; then
			write_once "$job_dir/dependency" "$after_blocker" || true
			trap : TERM INT HUP
			finish 125
		fi
		test -n "$after_pending" || break
		# the sleep in the background: a trapped TERM ends wait at once
		sleep "${TEJ_AFTER_POLL:-2}" >/dev/null 2>&1 &
		_after_wait_sleep=$!
		wait "$_after_wait_sleep" || true
		kill "$_after_wait_sleep" 2>/dev/null || true
		if test -n "$_after_wait_term"; then
			trap : TERM INT HUP
			finish 143
		fi
	done
	trap : TERM INT HUP
}

# after_slurm_into META: set after_slurm to sbatch's --dependency value for META/after (afterok:N,afterany:M),
# empty without dependencies; fail with after_bad (and the status in after_status) when a dependency's
# Slurm ids cannot be had. Those ids never come from a file a job can write alone (native-id, an array's
# native-ids): an array's are the Slurm jobs tej submitted for it (slurm_owned_into, queues/slurm.sh: by
# name and comment, as kill takes them), a job's native id counts only when it is one of those
# (slurm_owned). Called from the slurm plugin's queue_submit.
after_slurm_into() {
	after_slurm=
	test -f "$1/after" || return 0
	while read -r _after_id _after_mode _after_rest; do
		is_job_id "$_after_id" || continue
		test "$_after_mode" = any || _after_mode=ok
		after_slurm_ids_into "$TEJ_ROOT/jobs/$_after_id" || return
		for _after_sid in $after_slurm_ids; do
			after_slurm="${after_slurm:+$after_slurm,}after$_after_mode:$_after_sid"
		done
	done <"$1/after"
}

# after_slurm_ids_into DIR: set after_slurm_ids to the Slurm ids a job --after DIR's job waits for: an
# array's (lib/array.sh) every Slurm job tej made for it that Slurm still knows, else the job's own
# native id once Slurm says tej made it for DIR. Fails (after_bad, after_status) when squeue does not
# answer, or Slurm knows no such job (it ended more than MinJobAge ago, or the id was rewritten).
after_slurm_ids_into() {
	after_slurm_ids=
	after_status=$EX_DATAERR
	if is_array "$1"; then
		if test "${slurm_owned_dir-}" != "$1" && ! slurm_owned_into "$1"; then
			after_status=$EX_TEMPFAIL after_bad="squeue did not answer: cannot tell the Slurm jobs of ${1##*/}; try again"
			return 1
		fi
		after_slurm_ids=$slurm_owned_bases
	elif native_id_into "$1"; then
		_after_owned=0
		slurm_owned "$1" "$native_value" || _after_owned=$?
		case $_after_owned in
		0) after_slurm_ids=$native_value ;;
		2)
			after_status=$EX_TEMPFAIL after_bad="squeue did not answer: cannot tell the Slurm job of ${1##*/}; try again"
			return 1
			;;
		esac
	fi
	test -z "${after_slurm_ids# }" || return 0
	after_bad="Slurm knows no job that tej submitted for ${1#"$TEJ_ROOT/jobs/"} (it ended over MinJobAge ago, or its record was rewritten): submit without --after ${1#"$TEJ_ROOT/jobs/"}"
	return 1
}
