#!/bin/sh
# Summary: Job arrays on the slurm plugin: the tasks of lib/array.sh's layout as real Slurm job arrays
#   (sourced after array.sh; the slurm plugin is loaded by slurm_array_submit)
# Usage: . "$TEJ_ROOT/lib/slurm-array.sh"   (function definitions only)
#   slurm_array_submit DIR, slurm_array_rerun DIR N, slurm_array_kill DIR GRACE
# Output (proto 1): nothing by itself
# Exit: slurm_array_submit fails with sbatch's status (queue_submit)
# Each task's directory is prepared at submit (array_task_prepare) and given its native id JOBID_N (what
# squeue shows); Slurm throttles (%K) and starts the tasks, the batch script picks the task's directory
# from SLURM_ARRAY_TASK_ID. An index list over the cluster's MaxArraySize is split by blocks of
# MaxArraySize: block B gets the indexes I - B*MaxArraySize, and its batch script adds the offset back.
# The arrays' Slurm ids go to DIR/native-ids, one a line: a task can write it, so kill and --after take
# the ids from what Slurm shows tej made for the array (slurm_owned_into, queues/slurm.sh), not from it.
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # sets slurm_array_* for queue_submit (slurm.sh); reads state_line, array_members

# slurm_max_array_size: print the cluster's MaxArraySize (scontrol show config), 1001 when unknown
slurm_max_array_size() {
	_slurm_mas=$(scontrol show config 2>/dev/null | awk '$1 == "MaxArraySize" { print $3; exit }') || _slurm_mas=
	case $_slurm_mas in '' | *[!0-9]* | 0 | 1) _slurm_mas=1001 ;; esac
	printf '%s\n' "$_slurm_mas"
}

# slurm_array_blocks MAX < TASKS: print one "OFFSET LIST" line per block of MAX indexes (LIST: the
# indexes minus OFFSET, comma separated, runs of consecutive ones as A-B)
slurm_array_blocks() {
	sort -n | awk -v max="$1" '
		function flush() { if (run_a != "") { list = list sep (run_a == run_b ? run_a : run_a "-" run_b); sep = "," } run_a = "" }
		function out() { flush(); if (list != "") print off, list; list = ""; sep = "" }
		/^[0-9]+$/ { i = $1 + 0; o = int(i / max) * max
			if (o != off) { out(); off = o }
			if (run_a != "" && i - o == run_b + 1) { run_b = i - o; next }
			flush(); run_a = i - o; run_b = i - o }
		BEGIN { off = 0; run_a = "" }
		END { out() }'
}

# slurm_array_submit DIR: prepare every task of the array in DIR and hand them to Slurm: one sbatch
# --array per block of MaxArraySize indexes, throttled by meta/array/max when the client sent one; each
# block after the first waits for the one before (afterany) so that the throttle holds across blocks.
# Each task gets native-id JOBID_N, and is no longer queued by tej (Slurm queues it).
slurm_array_submit() {
	load_queue slurm
	_sas_dir=$1
	_sas_throttle=
	! read_state_into "$_sas_dir/meta/array/max" || _sas_throttle=%$state_line
	case $_sas_throttle in %[1-9] | %[1-9]*[0-9]) ;; *) _sas_throttle= ;; esac
	: >"$_sas_dir/native-ids"
	now_into
	slurm_array_after=
	slurm_array_blocks "$(slurm_max_array_size)" <"$_sas_dir/meta/array/tasks" >"$_sas_dir/blocks"
	# every task's directory is ready before the first sbatch (array_tasks_prepare, lib/batch.sh)
	array_task_list_into "$_sas_dir"
	array_tasks_prepare "$_sas_dir" slurm "$array_task_list" || return
	while read -r slurm_array_offset _sas_list; do
		slurm_array_spec=$_sas_list$_sas_throttle
		_sas_id=$(queue_submit "$_sas_dir" </dev/null) || return
		printf '%s\n' "$_sas_id" >>"$_sas_dir/native-ids"
		test -z "$_sas_throttle" || slurm_array_after=afterany:$_sas_id
		# the tasks of this block: JOBID_(I - OFFSET)
		printf '%s\n' "$_sas_list" | tr , '\n' | awk -F- '{ b = (NF > 1) ? $2 : $1; for (i = $1; i <= b; i++) print i }' |
			while read -r _sas_i; do
				_sas_t=$_sas_dir/$((_sas_i + slurm_array_offset))
				printf '%s_%s\n' "$_sas_id" "$_sas_i" >"$_sas_t/native-id"
				rm -f "$_sas_t/queued"
			done || return
	done <"$_sas_dir/blocks"
	rm -f "$_sas_dir/blocks"
	slurm_array_spec=
	slurm_array_offset=
	slurm_array_after=
}

# slurm_array_rerun DIR N: run task N again (array_requeue): prepared as at submit, one sbatch --array
# of N alone, without the array's --after (met once)
slurm_array_rerun() {
	load_queue slurm
	self_into
	array_task_prepare "$1" "$2" slurm || return
	cp "$1/attempt" "$1/$2/attempt" 2>/dev/null || :
	printf '%s %s\n' "$self_pid" "$self_id" >"$1/$2/submitter"
	: >"$1/$2/native-open"
	read -r slurm_array_offset slurm_array_spec <<EOF_SAR
$(echo "$2" | slurm_array_blocks "$(slurm_max_array_size)")
EOF_SAR
	# shellcheck disable=SC2317 # in array_requeue's subshell
	after_slurm_into() { after_slurm=; }
	TEJ_ATTEMPT=$(read_state "$1/attempt") || TEJ_ATTEMPT=
	export TEJ_ATTEMPT
	_sar_id=$(queue_submit "$1" </dev/null) || return
	printf '%s\n' "$_sar_id" >>"$1/native-ids"
	write_state "$1/$2/submitted" "$(now)"
	write_state "$1/$2/native-id" "${_sar_id}_$((${2} - slurm_array_offset))"
	rm -f "$1/$2/submitter"
}

# slurm_array_kill DIR GRACE: scancel every Slurm job tej made for DIR (slurm_owned_into, slurm.sh: the
# tasks can write native-ids), then kill_job each task not ended, as slurm whatever its plugin file says
slurm_array_kill() {
	load_queue slurm
	slurm_owned_dir=
	slurm_owned_into "$1" || array_kill_refused "$1" "squeue did not answer: nothing of the array ${1##*/} was killed; try again"
	# shellcheck disable=SC2086 # digits only
	test -z "${slurm_owned_bases# }" || scancel $slurm_owned_bases 2>/dev/null || :
	if array_members_into "${1##*/}"; then
		for _sak_id in $array_members; do
			test -f "$TEJ_ROOT/jobs/$_sak_id/exit-code" || (kill_job "$TEJ_ROOT/jobs/$_sak_id" "$2" slurm) || true
		done
	fi
	slurm_owned_dir=
}
