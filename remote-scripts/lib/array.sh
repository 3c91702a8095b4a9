#!/bin/sh
# Summary: Job arrays on the direct plugin: one upload, many tasks, at most K of them running at once
#   (sourced after common.sh, proc.sh and state.sh)
# Usage: . "$TEJ_ROOT/lib/array.sh"   (function definitions only)
#   is_array DIR, array_task_list_into DIR, array_create DIR, array_members_into ID, array_expand_into ID..., array_launch DIR,
#   array_task_end JOB_DIR (killing and rerunning tasks: lib/array-kill.sh)
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# Length: over 250 lines: one concept, an array's tasks on the direct plugin, from their creation to
#   their listing (in parts: an array may have tens of thousands) and their start, under one lock
# Layout of an array jobs/ID (docs/protocol.md, "Arrays"): work/ and meta/ as uploaded once, meta/array/
#   tasks (the task indexes, one a line, in the order they start), max (K), env/N/NAME (a task's own
#   environment: sweeps); count (of tasks), next (how many tasks were started), running/N (the tasks
#   started and not yet seen ended), requeued/N (tasks to run again), attempts/ (their earlier runs),
#   lock/ (held while tasks are started), killed (no task starts any more); and one job directory per
#   task, jobs/ID/N, which holds `queued` until its task is started.
# No daemon: the submit starts the first K tasks, each task's wrapper starts the next as it ends
#   (array_task_end), and status and list start what a wrapper killed with -9 could not (array_expand_into).
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # sets array_members/array_ids for its callers; reads state_line, self_*

# is_array DIR: whether the job directory DIR is an array's
is_array() {
	test -f "$1/meta/array/tasks"
}

# is_task_index WORD: whether WORD is a task's number (digits, no leading zero). Every line of
# meta/array/tasks is checked where it is read: a task can rewrite that file.
is_task_index() {
	case $1 in
	0 | [1-9] | [1-9]*[0-9]) ;;
	*) return 1 ;;
	esac
	case $1 in *[!0-9]*) return 1 ;; esac
	test "${#1}" -le 9
}

# array_task_list_into DIR: set array_task_list to the array's task indexes in order (" I1 I2 ...", only
# the lines is_task_index takes: a task can rewrite meta/array/tasks) and array_task_count to their number
array_task_list_into() {
	array_task_list=
	array_task_count=0
	while IFS= read -r _array_tl_i || test -n "$_array_tl_i"; do
		is_task_index "$_array_tl_i" || continue
		array_task_list="$array_task_list $_array_tl_i"
		array_task_count=$((array_task_count + 1))
	done <"$1/meta/array/tasks"
}

# array_create DIR: make the task directories of the array in DIR (its upload moved in), each queued.
# The indexes were written by the client: each is checked again here. Fails (65) on a bad one.
array_create() {
	_array_create_n=0
	set -- "$1"
	while IFS= read -r _array_create_i || test -n "$_array_create_i"; do
		is_task_index "$_array_create_i" || return 65
		set -- "$@" "$1/$_array_create_i"
		_array_create_n=$((_array_create_n + 1))
	done <"$1/meta/array/tasks"
	test "$_array_create_n" -ge 1 || return 65
	_array_create_dir=$1
	shift
	# one exec for every directory; a repeated index is refused by mkdir
	mkdir "$@" "$_array_create_dir/running" || return 65
	# one file per task (its plugin is written as it starts): 1,000 tasks cost a second on a loaded host
	for _array_create_t in "$@"; do
		: >"$_array_create_t/queued"
	done
	printf '0\n' >"$_array_create_dir/next"
	printf '%s\n' "$_array_create_n" >"$_array_create_dir/count"
	# no max from the client: the host's CPU count
	if ! test -f "$_array_create_dir/meta/array/max"; then
		_array_create_max=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || _array_create_max=1
		case $_array_create_max in '' | *[!0-9]* | 0) _array_create_max=1 ;; esac
		printf '%s\n' "$_array_create_max" >"$_array_create_dir/meta/array/max"
	fi
}

# array_members_into ID: set array_members to the ids of the tasks of the array ID ("ID/N ..."), in
# order; fail when ID is no array. The one list of an array's members (dependencies use it too). The
# ids go to a part of 50, parts to the list: one append per task copied the whole list each time (an
# array of 20000 tasks: 1.8 s of every status of it, in dash).
array_members_into() {
	array_members=
	is_array "$TEJ_ROOT/jobs/$1" || return 1
	_array_members_part=
	_array_members_n=0
	while IFS= read -r _array_members_i || test -n "$_array_members_i"; do
		is_task_index "$_array_members_i" || continue
		test -d "$TEJ_ROOT/jobs/$1/$_array_members_i" || continue # a deleted task
		_array_members_part="$_array_members_part $1/$_array_members_i"
		_array_members_n=$((_array_members_n + 1))
		case $_array_members_n in
		*50 | *00)
			array_members=$array_members$_array_members_part
			_array_members_part=
			;;
		esac
	done <"$TEJ_ROOT/jobs/$1/meta/array/tasks"
	array_members=$array_members$_array_members_part
}

# array_expand_into ID...: set array_ids to the ids with each array's replaced by its tasks; an array
# looked at gets its free slots filled first (a wrapper killed with -9 started no successor). With no
# array among them, the ids as they are: appending 4000 ids one by one copied the growing list each
# time (dash: 0.2-0.3 s of a status of 4000 jobs).
array_expand_into() {
	array_ids=
	# is_array, inline: a call each was a third of this loop's time for the 4000 ids of a status
	for _array_expand_id in ${1+"$@"}; do
		test -f "$TEJ_ROOT/jobs/$_array_expand_id/meta/array/tasks" && break
		_array_expand_id=
	done
	if test -z "${_array_expand_id:-}"; then
		# job ids hold no blanks (check_job_id): " $*" joined with blanks, as the loop below joins them
		_array_expand_ifs=$IFS
		IFS=' '
		test $# -eq 0 || array_ids=" $*"
		IFS=$_array_expand_ifs
		return 0
	fi
	# the ids that are no array in parts of 50 too (array_members_into)
	_array_expand_part=
	_array_expand_n=0
	for _array_expand_id in ${1+"$@"}; do
		if array_members_into "$_array_expand_id"; then
			array_launch "$TEJ_ROOT/jobs/$_array_expand_id"
			array_ids=$array_ids$_array_expand_part$array_members
			_array_expand_part=
		else
			_array_expand_part="$_array_expand_part $_array_expand_id"
			_array_expand_n=$((_array_expand_n + 1))
			case $_array_expand_n in
			*50 | *00)
				array_ids=$array_ids$_array_expand_part
				_array_expand_part=
				;;
			esac
		fi
	done
	array_ids=$array_ids$_array_expand_part
}

# array_lock DIR: take the array's lock (mkdir); its holder's "PID START" in lock/owner. A lock whose
# holder is gone (a wrapper killed with -9 while it held it), or that has had no owner for 100 naps (its
# holder died between its mkdir and its write), is broken. Fails after 3000 naps.
array_lock() {
	_array_lock_naps=0
	_array_lock_ownerless=0
	self_into
	until mkdir "$1/lock" 2>/dev/null; do
		if read_state_into "$1/lock/owner"; then
			_array_lock_ownerless=0
		else
			_array_lock_ownerless=$((_array_lock_ownerless + 1))
		fi
		if test "$_array_lock_ownerless" -gt 100 || { test "$_array_lock_ownerless" -eq 0 && ! submitter_alive "$state_line"; }; then
			_array_lock_ownerless=0
			# moved aside before removal: of two that break it, one moves it, the other's mv fails
			rm -rf "$1/lock.$self_pid"
			mv "$1/lock" "$1/lock.$self_pid" 2>/dev/null && rm -rf "$1/lock.$self_pid"
			continue
		fi
		_array_lock_naps=$((_array_lock_naps + 1))
		test "$_array_lock_naps" -le 3000 || return 1
		nap
	done
	printf '%s %s\n' "$self_pid" "$self_id" >"$1/lock/owner"
}

array_unlock() {
	rm -rf "$1/lock"
}

# array_going TASK_DIR: whether a started task has not ended: no exit-code, and its wrapper runs
array_going() {
	! test -f "$1/exit-code" || return 1
	# no native-id: a start cut short (its launcher died), which frees the slot
	read_state_into "$1/native-id" || return 1
	wrapper_runs "$1" "$state_line"
}

# array_launch DIR: under the lock, start queued tasks while fewer than max run (none once killed); an
# array of another plugin (lib/slurm-array.sh) is started by its scheduler
array_launch() {
	! test -f "$1/native-ids" || return 0
	array_lock "$1" || return 0
	if ! test -f "$1/killed"; then
		load_queue direct
		read_state_into "$1/meta/array/max" || state_line=1
		_array_launch_max=$state_line
		read_state_into "$1/next" || state_line=0
		_array_launch_next=$state_line
		_array_launch_count=0
		for _array_launch_r in "$1"/running/*; do
			test -e "$_array_launch_r" || continue
			if array_going "$1/${_array_launch_r##*/}"; then
				_array_launch_count=$((_array_launch_count + 1))
			else
				rm -f "$_array_launch_r"
			fi
		done
		# tasks run again (array_requeue) first, then those not started yet, in order
		for _array_launch_r in "$1"/requeued/*; do
			test -e "$_array_launch_r" || continue
			test "$_array_launch_count" -lt "$_array_launch_max" || break
			_array_launch_i=${_array_launch_r##*/}
			rm -f "$_array_launch_r"
			is_task_index "$_array_launch_i" || continue
			test -f "$1/$_array_launch_i/queued" || continue
			: >"$1/running/$_array_launch_i"
			array_start "$1" "$_array_launch_i" || say "could not start task $_array_launch_i of ${1##*/}"
			_array_launch_count=$((_array_launch_count + 1))
		done
		_array_launch_pos=0
		while test "$_array_launch_count" -lt "$_array_launch_max" && IFS= read -r _array_launch_i; do
			_array_launch_pos=$((_array_launch_pos + 1))
			test "$_array_launch_pos" -gt "$_array_launch_next" || continue
			write_state "$1/next" "$_array_launch_pos"
			is_task_index "$_array_launch_i" || continue
			test -f "$1/$_array_launch_i/queued" || continue
			! test -f "$1/$_array_launch_i/killed" || continue
			: >"$1/running/$_array_launch_i"
			array_start "$1" "$_array_launch_i" || say "could not start task $_array_launch_i of ${1##*/}"
			_array_launch_count=$((_array_launch_count + 1))
		done <"$1/meta/array/tasks"
	fi
	array_unlock "$1"
}

# array_start DIR N: start task N: its own copy of work/ and meta/, the array's and its own environment
array_start() {
	array_task_prepare "$1" "$2" direct || return 1
	(
		unset TEJ_ATTEMPT
		queue_submit_stage=
		queue_submit "$1/$2" >"$1/$2/native-id.tmp"
	) || return 1
	write_state "$1/$2/submitted" "$(now)"
	mv -f "$1/$2/native-id.tmp" "$1/$2/native-id"
	rm -f "$1/$2/queued"
	end_record_sync "$1/$2"
}

# array_task_prepare DIR N PLUGIN: task N's own copy of work/ and meta/, the array's and its own
# environment (TEJ_TASK_INDEX, TEJ_TASK_COUNT, TEJ_ARRAY_ID, its sweep values), its plugin
array_task_prepare() {
	_array_start_t=$1/$2
	cp -RP "$1/work" "$_array_start_t/work" && cp -RP "$1/meta" "$_array_start_t/meta" || return 1
	rm -rf "$_array_start_t/meta/array"
	test -d "$_array_start_t/meta/env" || mkdir "$_array_start_t/meta/env"
	if test -d "$1/meta/array/env/$2"; then
		for _array_start_e in "$1/meta/array/env/$2"/*; do
			case ${_array_start_e##*/} in
			[A-Za-z_]*) case ${_array_start_e##*/} in *[!A-Za-z0-9_]*) continue ;; esac ;;
			*) continue ;;
			esac
			test -f "$_array_start_e" && cp "$_array_start_e" "$_array_start_t/meta/env/"
		done
	fi
	printf '%s' "$2" >"$_array_start_t/meta/env/TEJ_TASK_INDEX"
	read_state_into "$1/count" && printf '%s' "$state_line" >"$_array_start_t/meta/env/TEJ_TASK_COUNT"
	printf '%s\n' "$3" >"$_array_start_t/plugin"
	printf '%s' "${1##*/}" >"$_array_start_t/meta/env/TEJ_ARRAY_ID"
}

# array_task_end JOB_DIR: from a task's wrapper as it ends: start the array's next task
array_task_end() {
	is_array "$1/.." || return 0
	(array_launch "${1%/*}") </dev/null >/dev/null 2>&1 || true
}
