#!/bin/sh
# Summary: Job arrays on the pbs plugin: the tasks of lib/array.sh's layout as one PBS Pro/OpenPBS array
#   (qsub -J) or Torque array (qsub -t), also under Slurm's Torque-style wrappers (which hand -t to
#   sbatch --array); the job's own record decides how each task ended
# Usage: load_lib pbsarray (queues/pbs.sh loads it; function definitions only)
#   pbs_array_submit DIR, pbs_array_script, pbs_array_keys, pbs_array_kill DIR GRACE
# Output (proto 1): nothing by itself
# Exit: pbs_array_submit fails with qsub's status (queue_submit)
# The server numbers the tasks 0..M-1 (-J 0-M-1 on PBS Pro, -t 0-M-1 on Torque, %K for at most K at
# once); task T runs tej's index number T+1 of the list, which the batch script's own text holds (no file
# a task could rewrite). Task ids: PBS Pro and Torque print the array as 123[].server and show task T as
# 123[T].server (qstat -t); Slurm's wrappers print the Slurm id 123 and show each task under a Slurm id of
# its own, known once the task runs (its wrapper's launched record): such tasks get Slurm's 123_T.
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # sets pbs_array_* for queue_submit (pbs.sh); reads state_line, now_value, array_members, array_task_*

# pbs_array_submit DIR: prepare every task of the array in DIR and hand them to the server: one qsub
# (-J or -t 0-M-1, %K when the client sent a max). Each task gets its native id and native-open, and is no
# longer queued by tej (the server queues it).
pbs_array_submit() {
	_pas_dir=$1
	array_task_list_into "$_pas_dir"
	pbs_array_tasks=$array_task_list
	pbs_array_spec=0-$((array_task_count - 1))
	_pas_max=
	! read_state_into "$_pas_dir/meta/array/max" || _pas_max=$state_line
	case $_pas_max in [1-9] | [1-9]*[0-9]) pbs_array_spec=$pbs_array_spec%$_pas_max ;; esac
	now_into
	# every task's directory is ready before qsub (array_tasks_prepare, lib/batch.sh)
	array_tasks_prepare "$_pas_dir" pbs "$pbs_array_tasks" || return
	_pas_id=$(queue_submit "$_pas_dir" </dev/null) || return
	printf '%s\n' "$_pas_id" >"$_pas_dir/native-ids"
	_pas_t=0
	for _pas_i in $pbs_array_tasks; do
		pbs_task_id "$_pas_id" "$_pas_t" >"$_pas_dir/$_pas_i/native-id"
		rm -f "$_pas_dir/$_pas_i/queued"
		_pas_t=$((_pas_t + 1))
	done
	pbs_array_spec=
	pbs_array_tasks=
}

# pbs_task_id ARRAY_ID T: the id of task T: 123[T].server of 123[].server, Slurm's 123_T of a bare 123
pbs_task_id() {
	case $1 in
	*\[\]*) printf '%s[%s]%s\n' "${1%%\[*}" "$2" "${1#*\]}" ;;
	*) printf '%s_%s\n' "$1" "$2" ;;
	esac
}

# pbs_array_script: the batch script's lines that pick a task's directory: the server's task number
# (PBS_ARRAY_INDEX, Torque's PBS_ARRAYID, Slurm's SLURM_ARRAY_TASK_ID) is the place in the list, which
# is the script's own text (digits and blanks: pbs_array_submit read them with is_task_index)
pbs_array_script() {
	printf "TEJ_ARRAY_TASKS='%s'\n" "$pbs_array_tasks"
	cat <<'EOF'
tej_task_no=${PBS_ARRAY_INDEX:-${PBS_ARRAYID:-${SLURM_ARRAY_TASK_ID:-}}}
case $tej_task_no in '' | *[!0-9]*) exit 1 ;; esac
task=$(printf '%s\n' "$TEJ_ARRAY_TASKS" | awk -v t="$tej_task_no" '{ print $(t + 1) }')
# a task number beyond the list (qalter) runs nothing: never the array's own directory
test -n "$task" || exit 1
job_dir=$job_dir/$task
# the task's output goes to its own directory (PBS Pro and Torque give an array's tasks one -o path)
exec >>"$job_dir/pbs.out" 2>&1
EOF
}

# pbs_array_keys: read "NATIVE_ID JOB_DIR" lines, print "KEY QUERY NATIVE_ID JOB_DIR" lines for
# queue_states: the id whose qstat record answers for the job (KEY, or "pending:ID": the pending record of
# a Slurm array whose task has not run, which queue_states reads) and the id to give qstat (QUERY: the array 123[].server for a
# task 123[T].server, asked with -t). A task of Slurm's wrappers is its own Slurm id once it runs.
pbs_array_keys() {
	while IFS=' ' read -r _pak_id _pak_dir; do
		test -n "$_pak_dir" || continue
		case $_pak_id in
		*\[[0-9]*\]*) printf '%s %s[]%s %s %s\n' "$_pak_id" "${_pak_id%%\[*}" "${_pak_id#*\]}" "$_pak_id" "$_pak_dir" ;;
		[0-9]*_[0-9]*)
			# launched is the task's (a task can lie about itself only): digits, else not run
			if launched_into "$_pak_dir" && case $launched_native in '' | *[!0-9]*) false ;; esac; then
				printf '%s %s %s %s\n' "$launched_native" "$launched_native" "$_pak_id" "$_pak_dir"
			else
				printf 'pending:%s %s %s %s\n' "${_pak_id%%_*}" "${_pak_id%%_*}" "$_pak_id" "$_pak_dir"
			fi
			;;
		*) printf '%s %s %s %s\n' "$_pak_id" "$_pak_id" "$_pak_id" "$_pak_dir" ;;
		esac
	done
}

# pbs_array_kill DIR GRACE: qdel every job that qstat shows as tej's for the array in DIR (this user's,
# named with its tag: pbs_jobs; never an id read from native-ids, which a task can write), then kill_job
# each task that has not ended. Each such task is marked killed first: the server's TERM may end a task,
# and its wrapper record that end, before kill_job reaches it.
pbs_array_kill() {
	# asked before any task is marked: a qstat that does not answer leaves the tasks running as they were
	_pk_status=0
	_pk_mine=$(pbs_jobs "$1" 2>/dev/null) || _pk_status=$?
	test "$_pk_status" != 2 || array_kill_refused "$1" "qstat did not answer: nothing of the array ${1##*/} was killed; try again"
	array_members_into "${1##*/}" || array_members=
	for _pk_id in $array_members; do
		test -f "$TEJ_ROOT/jobs/$_pk_id/exit-code" || write_state "$TEJ_ROOT/jobs/$_pk_id/killed" "$(now)"
	done
	# ids that qstat printed (123[].server: read, never split, so never globbed)
	printf '%s\n' "$_pk_mine" | while IFS= read -r _pk_id; do
		if pbs_id_ok "$_pk_id"; then qdel "$_pk_id" >/dev/null 2>&1 || :; fi
	done
	for _pk_id in $array_members; do
		test -f "$TEJ_ROOT/jobs/$_pk_id/exit-code" || (kill_job "$TEJ_ROOT/jobs/$_pk_id" "$2" pbs) || true
	done
}
