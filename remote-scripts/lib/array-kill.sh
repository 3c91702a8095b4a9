#!/bin/sh
# Summary: Killing and rerunning the tasks of an array (lib/array.sh): no task starts once the array is
#   killed; a task ended runs again in its place (sourced after array.sh and kill.sh)
# Usage: . "$TEJ_ROOT/lib/array-kill.sh"   (function definitions only)
#   array_kill DIR GRACE, array_kill_queued TASK_DIR, array_going_any DIR, array_requeue TASK_DIR
# Output (proto 1): nothing by itself
# Exit: array_kill and array_requeue exit (die) when the array's lock cannot be had, or the task runs
# shellcheck shell=sh
# shellcheck disable=SC2154 # reads state.sh's job_state_value and array.sh's array_members

# array_kill DIR GRACE: no task starts any more (killed, under the lock), queued tasks are killed,
# running ones get kill_job (lib/kill.sh)
array_kill() {
	array_lock "$1" || die "$EX_TEMPFAIL" "the array ${1##*/} is locked: try again"
	array_kill_marked=
	if ! test -f "$1/killed"; then
		write_state "$1/killed" "$(now)"
		array_kill_marked=yes
	fi
	array_unlock "$1"
	# a Slurm array (lib/slurm-array.sh), a Grid Engine one (queues/sge.sh), a PBS one (lib/pbsarray.sh)
	if test -f "$1/native-ids"; then
		read_state_into "$1/plugin" || state_line=
		if test "$state_line" = sge; then
			load_queue sge
			sge_array_kill "$1" "$2"
		elif test "$state_line" = pbs; then
			load_queue pbs
			load_lib pbsarray
			pbs_array_kill "$1" "$2"
		else
			slurm_array_kill "$1" "$2"
		fi
		return
	fi
	for _array_kill_r in "$1"/running/*; do
		test -e "$_array_kill_r" || continue
		# the array's plugin, not the task's file
		(kill_job "$1/${_array_kill_r##*/}" "$2" direct) || true
	done
}

# array_kill_refused DIR MESSAGE: for a scheduler's array kill that asked which jobs are the array's and
# got no answer, before it marked or deleted anything: take back the array's killed mark if array_kill
# wrote it (its tasks start as before: a launch that saw the mark meanwhile only waits for the next
# status), and exit 75 with MESSAGE
array_kill_refused() {
	test -z "${array_kill_marked:-}" || rm -f "$1/killed"
	die "$EX_TEMPFAIL" "$2"
}

# array_kill_queued TASK_DIR: kill a task not started yet: it never starts (killed, under the lock)
array_kill_queued() {
	array_lock "${1%/*}" || die "$EX_TEMPFAIL" "the array of ${1##*/} is locked: try again"
	_array_kill_queued=1
	if test -f "$1/queued"; then
		_array_kill_queued=0
		test -f "$1/killed" || write_state "$1/killed" "$(now)"
	fi
	array_unlock "${1%/*}"
	return "$_array_kill_queued"
}

# array_going_any DIR: whether a task of the array in DIR is queued or running
array_going_any() {
	array_members_into "${1##*/}" || return 1
	for _array_going_any_id in $array_members; do
		job_state_into "$TEJ_ROOT/jobs/$_array_going_any_id"
		case $job_state_value in queued | running | submitting) return 0 ;; esac
	done
	return 1
}

# array_requeue TASK_DIR: run an ended task again, under its own id (resubmit): its old directory goes
# to attempts/N.TIME.PID, a fresh one is queued, and requeued/N has it start before the tasks not started
# yet (under slurm, its own sbatch; under sge, its own qsub). Fails (75) while the task runs or is
# queued, (69) once the array was killed.
array_requeue() {
	_array_requeue_a=${1%/*}
	_array_requeue_n=${1##*/}
	# a PBS array's task (lib/pbsarray.sh): not yet (Slurm's and Grid Engine's: below)
	if test -f "$_array_requeue_a/native-ids" && read_state_into "$_array_requeue_a/plugin" && test "$state_line" = pbs; then
		die "$EX_UNAVAILABLE" "task $_array_requeue_n of the PBS array ${_array_requeue_a##*/} cannot be rerun yet: submit it again"
	fi
	test ! -f "$_array_requeue_a/killed" || die "$EX_UNAVAILABLE" "the array ${_array_requeue_a##*/} was killed: submit it again"
	array_lock "$_array_requeue_a" || die "$EX_TEMPFAIL" "the array ${_array_requeue_a##*/} is locked: try again"
	job_state_into "$1"
	case $job_state_value in
	finished | killed | timeout | lost) ;;
	*)
		array_unlock "$_array_requeue_a"
		die "$EX_TEMPFAIL" "task $_array_requeue_n of ${_array_requeue_a##*/} is $job_state_value: it can be rerun once it has ended"
		;;
	esac
	test -d "$_array_requeue_a/attempts" || mkdir "$_array_requeue_a/attempts"
	test -d "$_array_requeue_a/requeued" || mkdir "$_array_requeue_a/requeued"
	mv "$1" "$_array_requeue_a/attempts/$_array_requeue_n.$(now).$$"
	mkdir "$1"
	# a Slurm array's task: a one-task Slurm array of its own (lib/slurm-array.sh); a Grid Engine one's:
	# a one-task Grid Engine array (lib/gridengine.sh)
	if test -f "$_array_requeue_a/native-ids"; then
		_array_requeue_tool='sbatch'
		if read_state_into "$_array_requeue_a/plugin" && test "$state_line" = sge; then
			_array_requeue_tool='qsub'
			(load_queue sge && load_lib gridengine && sge_array_rerun "$_array_requeue_a" "$_array_requeue_n") || _array_requeue_n=
		else
			(slurm_array_rerun "$_array_requeue_a" "$_array_requeue_n") || _array_requeue_n=
		fi
		array_unlock "$_array_requeue_a"
		test -n "$_array_requeue_n" || die "$EX_FAILURE" "$_array_requeue_tool refused the rerun of ${1#"$TEJ_ROOT/jobs/"}"
		return 0
	fi
	: >"$1/queued"
	: >"$_array_requeue_a/requeued/$_array_requeue_n"
	array_unlock "$_array_requeue_a"
	array_launch "$_array_requeue_a"
}
