#!/bin/sh
# Summary: Ending and removing a job: its process tree (tree_kill), kill_job, the <id> [--grace S] arguments of kill and delete, trash_job
#   (sourced after common.sh and proc.sh (kill_job: state.sh and answers.sh))
# Usage: . "$TEJ_ROOT/lib/kill.sh"   (function definitions only)
#   kill_job DIR GRACE, kill_args USAGE FLAGS ARG..., tree_kill SIGNAL ROOT..., children_into PID SKIP, trash_job DIR,
#   remove_tree PATH
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# Length: over 250 lines: the tree walk twice, from /proc and from one ps listing per round (hosts without /proc), one concept
# shellcheck shell=sh
# shellcheck disable=SC2034,SC2154 # shares variables with proc.sh and state.sh (proc_*, job_*), sets kill for its caller

# tree_add PID: add PID to tree_pids (" PID:IDENTITY ...": proc_identity), unless it is there; tree_new says one was added
tree_add() {
	case $tree_pids in
	*" $1:"*) return 0 ;;
	esac
	proc_identity_into "$1" || return 0
	tree_pids="$tree_pids$1:$proc_id "
	tree_new=yes
}

# tree_freeze [ROOT...]: stop (SIGSTOP) ROOT and every process below it, and the processes that carry
# the environment of the job in tree_job_dir (a job's orphans have lost their parent, not their
# environment), adding them to tree_pids; scan again until no new one appears: a stopped process
# cannot fork. This is how a job is killed where it leads no process group of its own (no setsid).
# Without /proc, one ps per round (tree_scan); fails, having stopped nothing, when ps cannot be asked.
tree_pids=' '
tree_job_dir=
tree_freeze() {
	if ! has_proc; then
		tree_scan ${1+"$@"} || return 1
		tree_new=yes
		while test -n "$tree_new"; do
			tree_signal STOP
			# a failed scan leaves the tree as the last one found it, stopped
			tree_scan || return 0
		done
		return 0
	fi
	# Only live members count as parents: a dead member's pid may name a stranger by now.
	_tree_freeze_old=$tree_pids
	tree_pids=' '
	for _tree_freeze_w in $_tree_freeze_old; do
		if proc_alive "${_tree_freeze_w%%:*}" "${_tree_freeze_w#*:}"; then
			tree_pids="$tree_pids$_tree_freeze_w "
		fi
	done
	for _tree_freeze_root in ${1+"$@"}; do
		proc_alive "$_tree_freeze_root" && tree_add "$_tree_freeze_root"
	done
	tree_new=yes
	while test -n "$tree_new"; do
		tree_new=
		tree_signal STOP
		proc_scan
		while read -r _tree_freeze_pid _tree_freeze_ppid; do
			test -n "$_tree_freeze_ppid" || continue
			case $tree_pids in
			*" $_tree_freeze_ppid:"*) tree_add "$_tree_freeze_pid" ;;
			esac
		done <<EOF
$proc_table
EOF
		tree_marked
	done
}

# tree_scan [ROOT...]: without /proc, settle tree_pids from one ps (ps_snapshot): the members that run
# as recorded (the same identity, not a zombie) stay, the ROOTs that run join, and so does each live
# process whose parent is in the tree, with the identity it has now (one that exec'd since shows
# another command line to busybox's ps: its parent vouches for it). A dead member's pid may name a
# stranger by now: only a live member counts as a parent. tree_new says one joined. Fails, leaving
# tree_pids alone, when ps cannot be asked.
tree_scan() {
	ps_snapshot || return 1
	_tree_scan_roots=' '
	for _tree_scan_w in ${1+"$@"}; do
		_tree_scan_roots="$_tree_scan_roots$_tree_scan_w "
	done
	_tree_scan_old=$tree_pids
	# the pids that make a line worth a look, as its own or its parent's: members, roots, candidates
	_tree_scan_seen=$_tree_scan_roots
	for _tree_scan_w in $_tree_scan_old; do
		_tree_scan_seen="$_tree_scan_seen${_tree_scan_w%%:*} "
	done
	tree_pids=' '
	tree_new=
	# candidates: "PID PPID IDENTITY" lines of the processes that join if their parent is in the tree
	_tree_scan_kids=
	_tree_scan_ifs=$IFS
	_tree_scan_glob=
	case $- in
	*f*) ;;
	*)
		_tree_scan_glob=yes
		set -f
		;;
	esac
	# A for loop over the lines (the shell splits them at once) reads no byte at a time, as read does.
	IFS=$nl
	for _tree_scan_l in $ps_table; do
		IFS=' '
		# shellcheck disable=SC2086 # split on purpose: PID PPID STAT ...
		set -- $_tree_scan_l
		test $# -ge 3 || continue
		case $_tree_scan_seen in
		*" $1 "* | *" $2 "*) ;;
		*) continue ;;
		esac
		case $3 in
		*Z*) continue ;;
		esac
		ps_line_id_into "$_tree_scan_l"
		case $_tree_scan_old in
		*" $1:$ps_id "*)
			tree_pids="$tree_pids$1:$ps_id "
			continue
			;;
		esac
		case $_tree_scan_roots in
		*" $1 "*)
			tree_pids="$tree_pids$1:$ps_id "
			tree_new=yes
			continue
			;;
		esac
		_tree_scan_kids="$_tree_scan_kids$1 $2 $ps_id$nl"
		_tree_scan_seen="$_tree_scan_seen$1 "
	done
	# The candidates whose parent is in the tree join it, until none is left to join.
	_tree_scan_more=yes
	while test -n "$_tree_scan_more" && test -n "$_tree_scan_kids"; do
		_tree_scan_more=
		_tree_scan_left=
		IFS=$nl
		for _tree_scan_l in $_tree_scan_kids; do
			IFS=' '
			# shellcheck disable=SC2086 # split on purpose: PID PPID IDENTITY
			set -- $_tree_scan_l
			case $tree_pids in
			*" $2:"*)
				tree_pids="$tree_pids$1:$3 "
				tree_new=yes
				_tree_scan_more=yes
				;;
			*) _tree_scan_left="$_tree_scan_left$_tree_scan_l$nl" ;;
			esac
		done
		_tree_scan_kids=$_tree_scan_left
	done
	IFS=$_tree_scan_ifs
	test -z "$_tree_scan_glob" || set +f
}

# tree_marked: add the processes whose environment holds TEJ_JOB_DIR=<tree_job_dir>/work (with /proc)
tree_marked() {
	test -n "$tree_job_dir" && has_proc || return 0
	# environ is NUL-separated (-z; busybox grep stops a line at a NUL without it); grep exits 2 for
	# the processes that vanish or are not ours, whatever it found
	_tree_marked_files=$(grep -lzxF "TEJ_JOB_DIR=$tree_job_dir/work" "$TEJ_PROC"/[0-9]*/environ 2>/dev/null) || true
	while read -r _tree_marked_f; do
		_tree_marked_pid=${_tree_marked_f#"$TEJ_PROC"/}
		_tree_marked_pid=${_tree_marked_pid%/environ}
		case $_tree_marked_pid in
		'' | *[!0-9]* | "$$") continue ;;
		esac
		proc_alive "$_tree_marked_pid" && tree_add "$_tree_marked_pid"
	done <<EOF
$_tree_marked_files
EOF
	return 0
}

# tree_signal SIGNAL: send SIGNAL to each process of tree_pids that is still the one recorded (with
# /proc, read again; without, as the last ps showed it: tree_scan)
tree_signal() {
	_tree_signal_check=
	! has_proc || _tree_signal_check=yes
	for _tree_signal_w in $tree_pids; do
		if test -z "$_tree_signal_check" || proc_alive "${_tree_signal_w%%:*}" "${_tree_signal_w#*:}"; then
			kill "-$1" "${_tree_signal_w%%:*}" 2>/dev/null || true
		fi
	done
}

# tree_kill SIGNAL ROOT...: freeze the tree (tree_freeze; what was frozen before stays in it), send
# it SIGNAL, let it run again
tree_kill() {
	_tree_kill_signal=$1
	shift
	if has_proc; then
		tree_freeze ${1+"$@"}
		tree_signal "$_tree_kill_signal"
		tree_signal CONT
		return 0
	fi
	# Without /proc the tree is the one the last ps showed, stopped since (a stopped process forks
	# not, nor ends but by a signal). A KILLed process needs no CONT (and its pid may be another's by
	# now); after another signal one more ps tells which ones to let run again.
	tree_freeze ${1+"$@"} || return 0
	tree_signal "$_tree_kill_signal"
	test "$_tree_kill_signal" != KILL || return 0
	tree_scan || true
	tree_signal CONT
}

# children_into PID SKIP: set children to the pids (space-separated) of PID's children but SKIP, from one
# /proc scan or one ps listing (none when ps cannot be asked): the roots of the trees tree_kill ends
children_into() {
	if has_proc; then
		proc_scan
		_children_into_table=$proc_table
	else
		ps_snapshot || {
			children=
			return 0
		}
		_children_into_table=$ps_table
	fi
	children=
	while read -r _children_into_pid _children_into_ppid _children_into_rest; do
		if test "$_children_into_ppid" = "$1" && test "$_children_into_pid" != "$2"; then
			children="$children $_children_into_pid"
		fi
	done <<EOF
$_children_into_table
EOF
}

# tree_alive: whether a process of tree_pids runs on (without /proc, after one ps: tree_scan; when ps
# cannot be asked, a tree that had members counts as alive), or, with /proc, one that carries the job's
# environment and is in no round yet (tree_marked): bash blocks TERM while it forks, so a job shell
# stopped there forks once more when let go, and a TERM trap can start a process as the shell dies.
tree_alive() {
	if ! has_proc; then
		case $tree_pids in
		*[0-9]*) ;;
		*) return 1 ;;
		esac
		tree_scan || return 0
		for _tree_alive_w in $tree_pids; do
			kill -0 "${_tree_alive_w%%:*}" 2>/dev/null && return 0
		done
		return 1
	fi
	for _tree_alive_w in $tree_pids; do
		proc_alive "${_tree_alive_w%%:*}" "${_tree_alive_w#*:}" && return 0
	done
	_tree_alive_known=$tree_pids
	tree_marked
	test "$tree_pids" != "$_tree_alive_known"
}

# kill_job DIR GRACE [PLUGIN]: kill a running or queued job, sweep what is left of a lost one (its wrapper is
# gone, other processes of its group may not be; it stays lost); set previous_state and state
# shellcheck disable=SC2034 # for the caller
kill_job() {
	job_state_into "$1"
	previous_state=$job_state_value
	# the job as its owner names it: a task is ARRAY/N
	_kill_job_name=${1#"$TEJ_ROOT/jobs/"}
	_kill_job_native=$job_native
	# killed is written before the job is signalled (its end then reads killed, never an exit of 143)
	_kill_job_marked=
	case $previous_state in
	running | queued)
		test -f "$1/killed" || _kill_job_marked=yes
		write_state "$1/killed" "$(now)"
		;;
	lost) ;;
	submitting) die "$EX_TEMPFAIL" "job $_kill_job_name is being submitted: nothing was killed (kill it once its submit ends)" ;;
	*)
		state=$previous_state
		return 0
		;;
	esac
	# PLUGIN: the array's, not the task's file
	_kill_job_plugin=${3:-}
	test -n "$_kill_job_plugin" || _kill_job_plugin=$(read_state "$1/plugin") || _kill_job_plugin=
	if test -n "$_kill_job_plugin" && plugin_installed "$_kill_job_plugin"; then
		load_queue "$_kill_job_plugin"
		_kill_job_status=0
		queue_kill "$1" "$_kill_job_native" "$2" || _kill_job_status=$?
		case $_kill_job_status in
		0) ;;
		"$EX_TEMPFAIL" | "$EX_UNAVAILABLE")
			# queue_kill did nothing (its scheduler did not answer, or cannot end this job alone): the job
			# runs on, and a killed mark this kill wrote would make its end read killed; not so for a task
			# of an array being killed, whose scheduler job the array's kill has ended
			case $_kill_job_name in */*) test ! -f "${1%/*}/killed" || _kill_job_marked= ;; esac
			test -z "$_kill_job_marked" || rm -f "$1/killed"
			if test "$_kill_job_status" = "$EX_TEMPFAIL"; then
				die "$EX_TEMPFAIL" "the scheduler did not answer: job $_kill_job_name was not killed; try again"
			fi
			die "$EX_UNAVAILABLE" "job $_kill_job_name was not killed"
			;;
		*) die "$EX_FAILURE" "could not kill job $_kill_job_name" ;;
		esac
		# a concurrent kill that did nothing may have taken the mark away meanwhile
		test "$previous_state" = lost || test -f "$1/killed" || write_state "$1/killed" "$(now)"
	fi
	# The wrapper records the end when it survives the kill; when it was killed too, kill records it.
	test "$previous_state" = lost || test -f "$1/end" || write_state "$1/end" "$(now)"
	job_state_into "$1"
	state=$job_state_value
}

# remove_tree PATH: remove PATH and everything below it, also what the job made read-only (Go's module
# cache: chmod -R a-w); fail (after a message) when something is left
remove_tree() {
	test -e "$1" || test -L "$1" || return 0
	rm -rf "$1" 2>/dev/null && return 0
	# Only real directories get their write bit back (chmod -R does not follow symlinks below PATH).
	test -L "$1" || chmod -R u+w "$1" 2>/dev/null || true
	rm -rf "$1" && return 0
	say "could not remove $1"
	return 1
}

# trash_job DIR: move a job out of jobs/ (readers see it whole or not at all), then remove it. What a
# removal leaves (staging/ID.PID.deleting) is removed by a later submit. Fails when the move fails.
trash_job() {
	_trash_job_to=$TEJ_ROOT/staging/${1##*/}.$$.deleting
	mv "$1" "$_trash_job_to" || return 1
	remove_tree "$_trash_job_to" || true
}

# kill_args USAGE FLAGS ARG...: parse the arguments of kill and delete, "<job-id> [--grace SECONDS]" and
# the flags in FLAGS (delete: --kill): set id, grace (default 10) and kill (yes with --kill); exit 64
# on anything else, 65 on a bad id or grace
kill_args() {
	_kill_args_usage=$1
	_kill_args_flags=" $2 "
	shift 2
	id=
	kill=
	grace=10
	_kill_args_id=
	while test $# -gt 0; do
		case $1 in
		--grace)
			test $# -ge 2 || die "$EX_USAGE" "$_kill_args_usage"
			grace=$2
			shift 2
			;;
		--kill)
			case $_kill_args_flags in
			*" --kill "*) kill=yes ;;
			*) die "$EX_USAGE" "$_kill_args_usage" ;;
			esac
			shift
			;;
		-*) die "$EX_USAGE" "$_kill_args_usage" ;;
		*)
			test -z "$_kill_args_id" || die "$EX_USAGE" "$_kill_args_usage"
			id=$1
			_kill_args_id=yes
			shift
			;;
		esac
	done
	test -n "$_kill_args_id" || die "$EX_USAGE" "$_kill_args_usage"
	check_seconds "$grace" --grace
	check_job_id "$id"
}
