#!/bin/sh
# Summary: Job state: the state files, process liveness and the state vocabulary (sourced after common.sh)
# Usage: . "$TEJ_ROOT/lib/job.sh"
# Output (proto 1): emit_job_record prints one status record (id=, state=, plugin=, ...)
# Exit: nothing by itself; job_dir_for exits 65/66
# shellcheck shell=sh

# job_dir_for ID: check ID, set job_dir, exit 66 when the job does not exist
job_dir_for() {
	check_job_id "$1"
	job_dir=$TEJ_ROOT/jobs/$1
	test -d "$job_dir" || die "$EX_NOINPUT" "no such job: $1"
}

# TEJ_PROC: the process table (/proc). A test points it at a directory that does not exist, to run the
# fallbacks of a host without /proc (ps, kill -0) on this one.
TEJ_PROC=${TEJ_PROC:-/proc}

# proc_fields PID: set proc_state, proc_ppid, proc_pgrp and proc_start from /proc/PID/stat; fail if
# unreadable. The command name (field 2) may hold spaces and parentheses: the fields after its last
# ') ' are parsed.
proc_fields() {
	_proc_fields_line=
	{ IFS= read -r _proc_fields_line <"$TEJ_PROC/$1/stat"; } 2>/dev/null || return 1
	# shellcheck disable=SC2086 # split on purpose: the fields are numbers and one state letter
	set -- ${_proc_fields_line##*) }
	test $# -ge 20 || return 1
	proc_state=$1
	proc_ppid=$2
	proc_pgrp=$3
	proc_start=${20}
}

has_proc() {
	test -r "$TEJ_PROC/self/stat"
}

# proc_starttime PID: print the start time of PID (field 22 of /proc/PID/stat); fail without /proc
proc_starttime() {
	has_proc && proc_fields "$1" && printf '%s\n' "$proc_start"
}

# proc_alive PID [IDENTITY]: whether PID runs (a zombie is dead); with IDENTITY (proc_identity), a
# process that is not the one recorded is a reused pid, hence dead too
proc_alive() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	if has_proc; then
		proc_fields "$1" || return 1
		case $proc_state in
		Z | X | x) return 1 ;;
		esac
		test -z "${2:-}" || test "$2" = "$proc_start"
	else
		# Without /proc: kill -0, then ps for a zombie (which still takes signals), where ps knows -p
		# (busybox's does not: a process it cannot ask about counts as alive); with IDENTITY, ps proves it.
		kill -0 "$1" 2>/dev/null || return 1
		if test -n "${2:-}"; then
			_proc_alive_id=$(proc_identity "$1") && test "$_proc_alive_id" = "$2"
			return
		fi
		_proc_alive_stat=$(ps -o stat= -p "$1" 2>/dev/null) || _proc_alive_stat=
		case $_proc_alive_stat in
		*Z*) return 1 ;;
		esac
	fi
}

# proc_identity PID: print one word that tells PID from a later process that reuses its number: its start
# time with /proc (proc_starttime); without, "ps_" and its start time as ps shows it (procps, BSD: the
# second; a pid comes back only after the whole pid range), else (busybox) its command line, each
# character but [A-Za-z0-9._/=-] as _. Fails when PID does not run (or is a zombie).
proc_identity() {
	if has_proc; then
		proc_starttime "$1"
		return
	fi
	ps_fields "$1" || return 1
	case $ps_stat in
	*Z*) return 1 ;;
	esac
	_proc_identity_w=$(printf '%s' "${ps_start:-$ps_args}" | tr -c 'A-Za-z0-9._/=-' '_') || return 1
	printf 'ps_%s\n' "$_proc_identity_w"
}

# ps_fields PID: set ps_stat, ps_start (its start time, empty where ps cannot show it: busybox) and
# ps_args (the command line) of PID from ps, for a host without /proc; fail when ps shows no such
# process. procps and BSD ps take -p, lstart, and -ww for the whole command line; busybox's takes none
# of them and lists every process (its command lines cut at 2 KB).
ps_fields() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	ps_start=
	# No output at all: ps knows the options and there is no such process.
	_ps_fields_out=$(ps -ww -o pid= -o stat= -o lstart= -o args= -p "$1" 2>&1) || test -n "$_ps_fields_out" || return 1
	# the five words of lstart: "Sat Dec  5 12:52:00 2026"
	if read -r _ps_fields_pid ps_stat _ps_fields_w1 _ps_fields_w2 _ps_fields_w3 _ps_fields_w4 _ps_fields_w5 ps_args <<EOF && test "$_ps_fields_pid" = "$1"; then
$_ps_fields_out
EOF
		ps_start="$_ps_fields_w1 $_ps_fields_w2 $_ps_fields_w3 $_ps_fields_w4 $_ps_fields_w5"
		return 0
	fi
	_ps_fields_out=$(ps -ww -o pid= -o stat= -o args= -p "$1" 2>/dev/null) ||
		_ps_fields_out=$(ps -o pid= -o stat= -o args= 2>/dev/null) || return 1
	while read -r _ps_fields_pid ps_stat ps_args; do
		test "$_ps_fields_pid" = "$1" && return 0
	done <<EOF
$_ps_fields_out
EOF
	return 1
}

# proc_runs_as PID STARTTIME ARGS: whether PID is still the process recorded. With /proc: alive, and
# started at STARTTIME when that is known (proc_alive). Without, kill -0 cannot tell a reused pid:
# alive, not a zombie, and its command line as ps shows it is ARGS or ends with " ARGS".
proc_runs_as() {
	if has_proc; then
		proc_alive "$1" "$2"
		return
	fi
	proc_alive "$1" && ps_fields "$1" || return 1
	case $ps_stat in
	*Z*) return 1 ;;
	esac
	case $ps_args in
	"$3" | *" $3") return 0 ;;
	esac
	return 1
}

# signal_group SIGNAL PGID: send SIGNAL to every process of the group. dash's kill rejects `--`, posh's
# needs it before a negative pid: ask the shell once which form it takes (signal 0 to our own group).
_signal_group_dashdash=
signal_group() {
	if test -z "$_signal_group_dashdash"; then
		if kill -0 -- 0 2>/dev/null; then
			_signal_group_dashdash=yes
		else
			_signal_group_dashdash=no
		fi
	fi
	if test "$_signal_group_dashdash" = yes; then
		kill "-$1" -- "-$2"
	else
		kill "-$1" "-$2"
	fi
}

# proc_scan: set proc_table to one line "PID PPID" per live process of this host (/proc, else ps). No
# subshell on the /proc path: the job wrapper scans while it kills, and a fork of its own would be
# counted in the job's tree.
proc_scan() {
	proc_table=
	if has_proc; then
		for _proc_scan_f in "$TEJ_PROC"/[0-9]*/stat; do
			_proc_scan_pid=${_proc_scan_f#"$TEJ_PROC"/}
			_proc_scan_pid=${_proc_scan_pid%/stat}
			proc_fields "$_proc_scan_pid" || continue
			case $proc_state in
			Z | X | x) continue ;;
			esac
			proc_table="$proc_table$_proc_scan_pid $proc_ppid$nl"
		done
	else
		# POSIX ps takes -A; busybox's lists every process without it (and refuses -A)
		proc_table=$(ps -A -o pid= -o ppid= 2>/dev/null || ps -o pid= -o ppid=) || proc_table=
		proc_table="$proc_table$nl"
	fi
}

# tree_add PID: add PID to tree_pids (" PID:IDENTITY ...": proc_identity), unless it is there; tree_new says one was added
tree_add() {
	case $tree_pids in
	*" $1:"*) return 0 ;;
	esac
	# Without /proc the identity comes from ps; a process whose identity cannot be told is left out.
	if has_proc; then
		proc_fields "$1" || return 0
		_tree_add_start=$proc_start
	else
		_tree_add_start=$(proc_identity "$1") || return 0
	fi
	tree_pids="$tree_pids$1:$_tree_add_start "
	tree_new=yes
}

# tree_freeze [ROOT...]: stop (SIGSTOP) ROOT and every process below it, and the processes that carry
# the environment of the job in tree_job_dir (a job's orphans have lost their parent, not their
# environment), adding them to tree_pids; scan again until no new one appears: a stopped process
# cannot fork. This is how a job is killed where it leads no process group of its own (no setsid).
tree_pids=' '
tree_job_dir=
tree_freeze() {
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

# tree_signal SIGNAL: send SIGNAL to each process of tree_pids that is still the one recorded
tree_signal() {
	for _tree_signal_w in $tree_pids; do
		if proc_alive "${_tree_signal_w%%:*}" "${_tree_signal_w#*:}"; then
			kill "-$1" "${_tree_signal_w%%:*}" 2>/dev/null || true
		fi
	done
}

# tree_kill SIGNAL ROOT...: freeze the tree (tree_freeze; what was frozen before stays in it), send
# it SIGNAL, let it run again
tree_kill() {
	_tree_kill_signal=$1
	shift
	tree_freeze ${1+"$@"}
	tree_signal "$_tree_kill_signal"
	tree_signal CONT
}

# tree_alive: whether a process of tree_pids runs on
tree_alive() {
	for _tree_alive_w in $tree_pids; do
		proc_alive "${_tree_alive_w%%:*}" "${_tree_alive_w#*:}" && return 0
	done
	return 1
}

# group_alive PGID: whether some live (not zombie) process is left in the group
group_alive() {
	if ! has_proc; then
		signal_group 0 "$1" 2>/dev/null
		return
	fi
	_group_alive_pgid=$1
	for _group_alive_f in "$TEJ_PROC"/[0-9]*/stat; do
		_group_alive_pid=${_group_alive_f#"$TEJ_PROC"/}
		proc_fields "${_group_alive_pid%/stat}" || continue
		test "$proc_pgrp" = "$_group_alive_pgid" || continue
		case $proc_state in
		Z | X | x) ;;
		*) return 0 ;;
		esac
	done
	return 1
}

# nap: sleep a tenth of a second where sleep takes fractions (GNU, busybox), else one second
nap() {
	sleep 0.1 2>/dev/null || sleep 1
}

# ended_state_into DIR: set job_state_value to the state of a job whose end is known. The *_into forms
# set a variable instead of printing: a status of many jobs would fork for every $(...).
ended_state_into() {
	if test -f "$1/killed"; then
		job_state_value=killed
	elif test -f "$1/timed-out"; then
		job_state_value=timeout
	else
		job_state_value=finished
	fi
}

# ended_state DIR: print the state of a job whose end is known
ended_state() {
	ended_state_into "$1"
	printf '%s\n' "$job_state_value"
}

# submitter_alive "PID [IDENTITY]": whether the submit helper named by a `submitter` line still runs; with
# its identity (proc_identity), a process that reuses the pid does not count (pids come back within
# seconds on a busy host with a small pid_max)
submitter_alive() {
	# shellcheck disable=SC2086 # split on purpose: a pid and a start time
	set -- $1
	proc_alive "${1:-}" "${2:-}"
}

# staging_submitter ID: print the `submitter` line ("PID START") of a live submit of ID that still has
# its staging dir (staging/ID.PID.XXXXXX); a submit has just claimed jobs/ID and not yet moved its
# `submitter` there
staging_submitter() {
	for _staging_submitter_dir in "$TEJ_ROOT/staging/$1".*; do
		_staging_submitter_rest=${_staging_submitter_dir##*/}
		_staging_submitter_rest=${_staging_submitter_rest#"$1".}
		case $_staging_submitter_rest in
		*.*.* | .* | *[!0-9]*.*) continue ;; # another id's, or not PID.XXXXXX
		esac
		# Its pid is in the name, its identity in its record (written before it claims jobs/ID): a
		# submit that has no record yet has not claimed the id, and a pid alone proves nothing.
		_staging_submitter_pid=${_staging_submitter_rest%%.*}
		read_state_into "$_staging_submitter_dir/submitter" || continue
		# shellcheck disable=SC2154 # set by read_state_into (common.sh)
		case $state_line in
		"$_staging_submitter_pid" | "$_staging_submitter_pid "*) _staging_submitter_line=$state_line ;;
		*) continue ;;
		esac
		if submitter_alive "$_staging_submitter_line"; then
			printf '%s\n' "$_staging_submitter_line"
			return 0
		fi
	done
	return 1
}

# The plugins' answers for the jobs of one command, asked by prefetch_states once per plugin: words
# "ID:WORD:NATIVE_STATE", each after a blank (ids hold no colon; ids, words and native states no blank).
# Without them, job_state asks per job.
prefetched=
plugin_answers=
record_now=
nl='
'

# launched_into DIR: set launched_native and launched_start (the wrapper's start time, - when unknown)
# from the wrapper's own record `launched` ("NATIVE_ID PID START", linked into place by run-job.sh as it
# starts); fail when there is none, or when the start was given up (launch_void: a symbolic link)
launched_into() {
	test -f "$1/launched" && ! test -L "$1/launched" && read_state_into "$1/launched" || return 1
	# shellcheck disable=SC2086,SC2154 # split on purpose: three words; state_line is set by read_state_into
	set -- $state_line
	test $# -eq 3 || return 1
	launched_native=$1
	# shellcheck disable=SC2034 # read by the direct plugin
	launched_start=$3
}

# launch_void DIR: give up the start of a job whose submit died before it recorded the native id and
# whose wrapper has not recorded itself: `launched` becomes a symbolic link to `void` (one syscall,
# atomic and exclusive, like the wrapper's hard link), and a wrapper that comes later does not run the
# job. Succeeds when the start is given up (now or before); fails when a wrapper recorded itself first.
launch_void() {
	ln -s void "$1/launched" 2>/dev/null || true
	test -L "$1/launched"
}

# native_id_into DIR: set native_value to the job's native id: native-id (written by submit), else the
# wrapper's record (a submit that died after the plugin started the job); fail when neither is there
native_id_into() {
	if read_state_into "$1/native-id"; then
		native_value=$state_line
		return 0
	fi
	launched_into "$1" || return 1
	native_value=$launched_native
}

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
# recorded end, or its plugin has still to confirm the end (native-open)
needs_plugin() {
	test -f "$1/native-id" || launched_into "$1" || return 1
	! test -f "$1/exit-code" || test -f "$1/native-open"
}

# prefetch_states ID...: ask each plugin once (queue_states) about those of the jobs that need it
prefetch_states() {
	prefetched=yes
	plugin_answers=
	_prefetch_plugins=
	for _prefetch_id in ${1+"$@"}; do
		needs_plugin "$TEJ_ROOT/jobs/$_prefetch_id" || continue
		_prefetch_p=$(read_state "$TEJ_ROOT/jobs/$_prefetch_id/plugin") || continue
		case $_prefetch_p in
		'' | [!a-z]* | *[!a-z0-9_-]*) continue ;;
		esac
		case " $_prefetch_plugins " in
		*" $_prefetch_p "*) ;;
		*) _prefetch_plugins="$_prefetch_plugins $_prefetch_p" ;;
		esac
	done
	for _prefetch_p in $_prefetch_plugins; do
		plugin_installed "$_prefetch_p" || continue
		_prefetch_in=
		for _prefetch_id in ${1+"$@"}; do
			_prefetch_dir=$TEJ_ROOT/jobs/$_prefetch_id
			needs_plugin "$_prefetch_dir" || continue
			test "$(read_state "$_prefetch_dir/plugin")" = "$_prefetch_p" || continue
			native_id_into "$_prefetch_dir" || continue
			_prefetch_in="$_prefetch_in$native_value $_prefetch_dir$nl"
		done
		load_queue "$_prefetch_p"
		_prefetch_out=$(printf '%s' "$_prefetch_in" | queue_states) || _prefetch_out=
		while read -r _prefetch_word _prefetch_native _prefetch_dir; do
			test -n "$_prefetch_dir" || continue
			plugin_answers="$plugin_answers ${_prefetch_dir##*/}:$_prefetch_word:$_prefetch_native"
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
	_plugin_answer_rest=${plugin_answers#* "${1##*/}:"}
	test "$_plugin_answer_rest" != "$plugin_answers" || return 1
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

# job_state_into DIR: set job_state_value to the state of the job in DIR, and job_native to its native
# id (empty when it has none). The files are read in the order the writers commit
# them (exit-code last in run-job.sh, native-id last in submit), and re-read after the plugin is asked,
# so that a job ending meanwhile is never reported lost. A plugin that confirms ends (native-open) is
# asked about an ended job too: Slurm may know it timed out or was cancelled.
# A submit that died without writing native-id may have had the plugin start the job all the same: the
# wrapper's own record (launched) gives its native id, else the plugin may know it (queue_find: a
# queued Slurm job). Failing both, the start is given up (launch_void) before the job is reported
# incomplete, so that an incomplete job never starts afterwards.
job_state_into() {
	job_native=
	if test -f "$1/exit-code" && ! test -f "$1/native-open"; then
		! native_id_into "$1" || job_native=$native_value
		ended_state_into "$1"
		return 0
	fi
	if ! test -f "$1/native-id"; then
		if read_state_into "$1/submitter"; then
			# shellcheck disable=SC2154 # set by read_state_into (common.sh)
			_job_state_submitter=$state_line
		else
			_job_state_submitter=$(staging_submitter "${1##*/}") || _job_state_submitter=
		fi
		if submitter_alive "$_job_state_submitter"; then
			job_state_value=submitting
			return 0
		fi
		if ! test -f "$1/native-id" && ! launched_into "$1"; then
			if test -L "$1/launched"; then
				job_state_value=incomplete
				return 0
			fi
			_job_state_found=0
			job_native=$(plugin_find "$1") || _job_state_found=$?
			case $_job_state_found in
			0) ;;
			2)
				# the plugin cannot tell now whether it has the job: its submit is not settled yet
				job_native=
				job_state_value=submitting
				return 0
				;;
			*)
				# none (or a plugin that cannot be asked here: giving the start up is always safe); a job
				# the plugin took meanwhile is cancelled (plugin_abandon), else it would wait in its queue
				# only to find its start given up
				if launch_void "$1"; then
					(plugin_abandon "$1") || true
					job_native=
					job_state_value=incomplete
					return 0
				fi
				# a wrapper recorded itself first: the job runs
				;;
			esac
		fi
	fi
	test -n "$job_native" || ! native_id_into "$1" || job_native=$native_value
	if plugin_answer_into "$1"; then
		_job_state_word=$answer_word
	else
		_job_state_word=$(plugin_word "$1" "$job_native")
	fi
	if test -f "$1/exit-code"; then
		ended_state_into "$1"
		return 0
	fi
	case $_job_state_word in
	running) job_state_value=running ;;
	queued)
		if test -f "$1/start"; then job_state_value=running; else job_state_value=queued; fi
		;;
	*)
		if test -f "$1/killed"; then
			job_state_value=killed
		elif test -f "$1/timed-out"; then
			job_state_value=timeout
		else
			case $_job_state_word in
			killed | timeout) job_state_value=$_job_state_word ;;
			*) job_state_value=lost ;;
			esac
		fi
		;;
	esac
}

# job_state DIR: print the state of the job in DIR (job_state_into, printed)
job_state() {
	job_state_into "$1"
	printf '%s\n' "$job_state_value"
}

# emit_state_file KEY FILE: emit KEY with the first line of FILE, when FILE exists
emit_state_file() {
	if read_state_into "$2"; then
		# shellcheck disable=SC2154 # set by read_state_into (common.sh)
		emit "$1" "$state_line"
	fi
}

# record_file KEY FILE: add the line KEY=<first line of FILE> to $job_record, when FILE exists
record_file() {
	if read_state_into "$2"; then
		# shellcheck disable=SC2154 # set by read_state_into (common.sh)
		job_record="$job_record$1=$state_line$nl"
	fi
}

# emit_job_record ID: the status record of one job (state=absent when it does not exist)
emit_job_record() {
	emit id "$1"
	_emit_job_record_dir=$TEJ_ROOT/jobs/$1
	if ! test -d "$_emit_job_record_dir"; then
		emit state absent
		return 0
	fi
	# One moment of the job: the state, its files, then the state again. A job that moved on in between
	# (its submit finished, it ended) is read again, so that no record mixes two moments (a submitting
	# job with a native id, a running one with an exit code).
	_emit_job_record_tries=0
	while :; do
		job_state_into "$_emit_job_record_dir"
		_emit_job_record_state=$job_state_value
		job_record="state=$_emit_job_record_state$nl"
		# A running job's duration runs to the host's clock: the first such record reads it, once per call
		# (status prints no now= in its header, so that a status of ended jobs forks nothing for it).
		if test "$_emit_job_record_state" = running; then
			test -n "$record_now" || record_now=$(date +%s)
			job_record="${job_record}now=$record_now$nl"
		fi
		record_file plugin "$_emit_job_record_dir/plugin"
		test -z "$job_native" || job_record="${job_record}native_id=$job_native$nl"
		record_file submitted "$_emit_job_record_dir/submitted"
		record_file start "$_emit_job_record_dir/start"
		record_file end "$_emit_job_record_dir/end"
		record_file exit_code "$_emit_job_record_dir/exit-code"
		record_file labels "$_emit_job_record_dir/meta/labels"
		record_file rerun_as "$_emit_job_record_dir/rerun-as"
		# The plugin's own word for the job (slurm: PENDING, TIMEOUT, OUT_OF_MEMORY, ...), when it has one.
		if plugin_answer_into "$_emit_job_record_dir" && test "$answer_native" != -; then
			job_record="${job_record}native_state=$answer_native$nl"
		else
			record_file native_state "$_emit_job_record_dir/native-state"
		fi
		_emit_job_record_tries=$((_emit_job_record_tries + 1))
		job_state_into "$_emit_job_record_dir"
		if test "$job_state_value" = "$_emit_job_record_state" || test "$_emit_job_record_tries" -ge 5; then
			break
		fi
	done
	printf '%s' "$job_record"
}

# The files of a status record after id= and state=, in order: "KEY FILE" (FILE below the job's dir).
# emit_job_record reads them one by one; ended_records reads them in one awk for many jobs.
record_files='plugin plugin
native_id native-id
submitted submitted
start start
end end
exit_code exit-code
labels meta/labels
rerun_as rerun-as
native_state native-state'

# ended_records: print the status records of the jobs listed in ended_batch ("ID STATE" lines), each
# ended for good (see emit_job_records), with one awk for all: a record's files cost a dozen syscalls
# each through the shell's read (one a byte), and a status of 4000 jobs reads 36000 of them. The first
# line of each file that exists, as read_state_into gives it (a last line without its newline too, an
# empty file not at all). A batch of a few jobs is read by the shell instead (emit_job_record, the same
# record): the awk's fork and exec cost more than their reads.
ended_records() {
	test -n "$ended_batch" || return 0
	if test "$_emit_job_records_n" -lt 8; then
		# ids are job ids (check_job_id): nothing to split or glob in them
		for _ended_records_id in $ended_ids; do
			emit_job_record "$_ended_records_id"
		done
		ended_batch=
		ended_ids=
		return 0
	fi
	printf '%s' "$ended_batch" | TEJ_RECORD_FILES=$record_files TEJ_JOBS=$TEJ_ROOT/jobs awk '
		BEGIN { n = split(ENVIRON["TEJ_RECORD_FILES"], kf, "\n"); jobs = ENVIRON["TEJ_JOBS"] }
		{
			printf "id=%s\nstate=%s\n", $1, $2
			for (i = 1; i <= n; i++) {
				split(kf[i], w, " ")
				f = jobs "/" $1 "/" w[2]
				line = ""
				if ((getline line < f) > 0) printf "%s=%s\n", w[1], line
				close(f)
			}
		}' || die "$EX_FAILURE" "could not read the records of the jobs"
	ended_batch=
	ended_ids=
}

# emit_job_records ID...: the status records of the jobs, in order (emit_job_record for each). Those
# whose end is recorded and whose plugin has nothing more to say (no native-open) keep their state and
# files for good: they go to ended_records in batches, the others one by one. Without awk, or where a
# record file is a directory (awk stops on those), every job goes one by one.
emit_job_records() {
	ended_batch=
	ended_ids=
	_emit_job_records_n=0
	_emit_job_records_awk=
	if has_cmd awk; then _emit_job_records_awk=yes; fi
	for _emit_job_records_id in ${1+"$@"}; do
		_emit_job_records_dir=$TEJ_ROOT/jobs/$_emit_job_records_id
		if test -n "$_emit_job_records_awk" && test -f "$_emit_job_records_dir/exit-code" && ! test -f "$_emit_job_records_dir/native-open" && ! plugin_answer_into "$_emit_job_records_dir" && no_record_dir "$_emit_job_records_dir"; then
			ended_state_into "$_emit_job_records_dir"
			ended_batch="$ended_batch$_emit_job_records_id $job_state_value$nl"
			# the few the shell reads itself (ended_records); a long list would only be copied on each append
			test "$_emit_job_records_n" -ge 8 || ended_ids="$ended_ids $_emit_job_records_id"
			_emit_job_records_n=$((_emit_job_records_n + 1))
			# batches of 1000: each append copies the whole list
			test "$_emit_job_records_n" -lt 1000 || {
				ended_records
				_emit_job_records_n=0
			}
			continue
		fi
		ended_records
		_emit_job_records_n=0
		emit_job_record "$_emit_job_records_id"
	done
	ended_records
}

# no_record_dir DIR: whether none of the record files of the job in DIR (record_files) is a directory
no_record_dir() {
	! test -d "$1/plugin" && ! test -d "$1/native-id" && ! test -d "$1/submitted" && ! test -d "$1/start" &&
		! test -d "$1/end" && ! test -d "$1/exit-code" && ! test -d "$1/meta/labels" && ! test -d "$1/rerun-as" &&
		! test -d "$1/native-state"
}

# kill_job DIR GRACE: kill a running or queued job, sweep what is left of a lost one (its wrapper is
# gone, other processes of its group may not be; it stays lost); set previous_state and state
# shellcheck disable=SC2034 # for the caller
kill_job() {
	job_state_into "$1"
	previous_state=$job_state_value
	_kill_job_native=$job_native
	case $previous_state in
	running | queued) write_state "$1/killed" "$(now)" ;;
	lost) ;;
	submitting) die "$EX_TEMPFAIL" "job ${1##*/} is being submitted: nothing was killed (kill it once its submit ends)" ;;
	*)
		state=$previous_state
		return 0
		;;
	esac
	_kill_job_plugin=$(read_state "$1/plugin") || _kill_job_plugin=
	if test -n "$_kill_job_plugin" && plugin_installed "$_kill_job_plugin"; then
		load_queue "$_kill_job_plugin"
		queue_kill "$1" "$_kill_job_native" "$2" ||
			die "$EX_FAILURE" "could not kill job ${1##*/}"
	fi
	# The wrapper records the end when it survives the kill; when it was killed too, kill records it.
	test "$previous_state" = lost || test -f "$1/end" || write_state "$1/end" "$(now)"
	state=$(job_state "$1")
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
