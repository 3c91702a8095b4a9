#!/bin/sh
# Summary: The job wrapper: runs one job, records its start, end and exit code, enforces its time limit
# Usage: "$TEJ_SHELL" run-job.sh JOB_DIR   (started detached by a queue plugin, never by the client)
# Output (proto 1): none; writes launched, start, scratch, job-status, end, exit-code (and timed-out) and
#   end-record in JOB_DIR
# Exit: the job's exit status; 64 usage; 66 no such job directory; 73 the job was started already, its
#   start was given up, or TEJ_ATTEMPT is not the job's attempt (the job does not run)
# Length: over 250 lines: the detached wrapper is one program, started by its path (which ps shows), with one main block
# shellcheck source-path=SCRIPTDIR
set -eu

# The wrapper outlives a TERM sent to its process group: it waits for the job and records the end.
# Caught (not ignored) signals are reset to their default in the job. Set before anything else; the
# rest of the wrapper's statements are its main block, at the end.
timer_fired=
trap : TERM INT HUP
trap 'timer_fired=yes' USR1

# private_dir DIR: whether DIR is a real directory (not a symlink) owned by us (uid_value), made mode
# 0700 when it has another: one ls, and a chmod only when the mode is not 0700 already
private_dir() {
	test -d "$1" && ! test -L "$1" || return 1
	# shellcheck disable=SC2046 # split on purpose: ls -ldn fields
	set -- "$1" $(ls -ldn "$1")
	test "${4:-}" = "$uid_value" || return 1
	case $2 in
	drwx------*) return 0 ;;
	esac
	chmod 700 "$1"
}

# write_once FILE VALUE: write VALUE and a newline into FILE in place, with no rename (a mv exec costs
# some 7 ms of CPU on a loaded host): for the wrapper's files that no one else writes and that are
# created once, never rewritten. A reader sees no file, an empty one (read_state_into: none), or the
# whole line, which the shell's printf writes with one write(2). A failed write leaves no file.
write_once() {
	clear_planted "$1"
	{ printf '%s\n' "$2" >"$1"; } 2>/dev/null && return 0
	rm -f "$1"
	say "cannot write $1"
	return 1
}

# make_scratch: create TEJ_SCRATCH_DIR, mode 0700, in ${TMPDIR:-/tmp}/tej-<uid>/: <id>.<pid>-<start>,
# the wrapper's pid and start time (unique: two queues of one user may each run a job of the same id at
# once), made with one mkdir; else (no /proc, or the name taken) mktemp's <id>.XXXXXX
make_scratch() {
	uid_into
	_make_scratch_base=${TMPDIR:-/tmp}/tej-$uid_value
	test -d "$_make_scratch_base" || test -L "$_make_scratch_base" || mkdir "$_make_scratch_base" 2>/dev/null || true
	if ! private_dir "$_make_scratch_base"; then
		# Someone else holds the name: use a fresh private directory instead.
		_make_scratch_base=$(mktemp -d "${TMPDIR:-/tmp}/tej-$uid_value.XXXXXX") && chmod 700 "$_make_scratch_base" || return 1
	fi
	scratch=
	case $wrapper_start in
	'' | *[!0-9]*) ;;
	*)
		scratch=$_make_scratch_base/${job_id%/*}.$$-$wrapper_start
		mkdir -m 700 "$scratch" 2>/dev/null || scratch=
		;;
	esac
	if test -z "$scratch"; then
		scratch=$(mktemp -d "$_make_scratch_base/${job_id%/*}.XXXXXX") && chmod 700 "$scratch" || return 1
	fi
	# its one reader (queue_kill, queues/direct.sh) takes only a whole line, newline included
	write_once "$job_dir/scratch" "$scratch"
}

# host_nproc_into: set nproc to the number of online cpus: /sys/devices/system/cpu/online ("0-3,8"),
# which getconf _NPROCESSORS_ONLN reads too, parsed by the shell (no exec); else getconf, nproc, 1
host_nproc_into() {
	nproc=0
	_host_nproc_line=
	{ IFS= read -r _host_nproc_line </sys/devices/system/cpu/online; } 2>/dev/null || _host_nproc_line=
	_host_nproc_rest=$_host_nproc_line,
	while test -n "$_host_nproc_line" && test -n "$_host_nproc_rest"; do
		_host_nproc_range=${_host_nproc_rest%%,*}
		_host_nproc_rest=${_host_nproc_rest#*,}
		case $_host_nproc_range in
		[0-9]*-[0-9]*)
			_host_nproc_from=${_host_nproc_range%-*}
			_host_nproc_to=${_host_nproc_range#*-}
			;;
		[0-9]*) _host_nproc_from=$_host_nproc_range _host_nproc_to=$_host_nproc_range ;;
		*) _host_nproc_from=x ;;
		esac
		case $_host_nproc_from$_host_nproc_to in
		*[!0-9]*)
			nproc=0
			break
			;;
		esac
		nproc=$((nproc + _host_nproc_to - _host_nproc_from + 1))
	done
	test "$nproc" -gt 0 || nproc=$(getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 1)
}

# open_output PATH: make PATH's directory and check that PATH can be written (cwd: work/). PATH stays
# inside work/: no leading /, no .., and no symlink on the way (a job may upload `out -> ~`), made one
# directory at a time so that mkdir never follows a link out.
open_output() {
	case /$1/ in
	// | //* | */../*)
		say "refusing the job's output file '$1': it must be a path inside the job directory" 2>>"$job_dir/work/tej.stderr"
		return 1
		;;
	esac
	_open_output_at=.
	_open_output_rest=$1
	while :; do
		_open_output_at=$_open_output_at/${_open_output_rest%%/*}
		if test -L "$_open_output_at"; then
			say "refusing the job's output file '$1': '${_open_output_at#./}' is a symbolic link" 2>>"$job_dir/work/tej.stderr"
			return 1
		fi
		case $_open_output_rest in
		*/*) _open_output_rest=${_open_output_rest#*/} ;;
		*) break ;;
		esac
		test -d "$_open_output_at" || mkdir "$_open_output_at" 2>/dev/null || true
	done
	{ true >"$1"; } 2>/dev/null && return 0
	say "cannot write the job's output file '$1' (relative to work/)" 2>>"$job_dir/work/tej.stderr"
	return 1
}

# run_job: the runner, a background subshell: it runs the job in a subshell of its own (where the job's
# environment is exported), outlives a TERM to the group, and leaves the job's status in job-status,
# which finish turns into exit-code. (The status that wait gives after a trap is not reliable in posh.)
run_job() {
	cd "$job_dir/work"
	_run_job_out=tej.stdout
	! read_state_into "$meta/stdout" || _run_job_out=$state_line
	_run_job_err=tej.stderr
	! read_state_into "$meta/stderr" || _run_job_err=$state_line
	if ! open_output "$_run_job_out" || ! open_output "$_run_job_err"; then
		job_status_write 126 || true
		exit 126
	fi
	if test "$_run_job_err" = "$_run_job_out"; then
		exec </dev/null >"$_run_job_out" 2>&1
	else
		exec </dev/null >"$_run_job_out" 2>"$_run_job_err"
	fi
	trap : TERM INT HUP
	usage_probe
	usage_clock_into
	_run_job_began=$usage_clock
	_run_job_status=0
	# the job's memory cgroup, when submit chose one (lib/cgroup.sh): no job without its limit
	# or its systemd user scope (lib/scope.sh)
	if ! cgroup_make || ! scope_load; then
		job_status_write 126 || true
		exit 126
	fi
	(exec_job) || _run_job_status=$?
	usage_record "$_run_job_began"
	cgroup_end "$_run_job_status"
	scope_end "$_run_job_status"
	# A job that filled the disk: the reserve (see below) makes room for the record.
	if ! job_status_write "$_run_job_status"; then
		rm -f "$job_dir/reserve"
		job_status_write "$_run_job_status" || say "cannot write $job_dir/job-status"
	fi
	exit "$_run_job_status"
}

# job_status_write STATUS: write job-status in place, with no rename (no mv exec): its only reader is
# the wrapper, once the runner that writes it has ended; a write cut short (a full disk) leaves no
# newline, which read_state_into takes for no status (137)
job_status_write() {
	clear_planted "$job_dir/job-status"
	{ printf '%s\n' "$1" >"$job_dir/job-status"; } 2>/dev/null
}

# The resource record (docs/protocol.md, "The usage record"): the runner measures the job it runs and
# writes `usage` ("SOURCE MAX_RSS_BYTES CPU_USER_S CPU_SYS_S WALL_S", - for what was not measured) in
# place, once, before job-status. SOURCE: time (GNU time -f: the largest single process's RSS, the CPU
# of the job and the children it waited for), times (the shell's: the same CPU, no RSS), or - (neither
# answered: a time killed along with the job). /proc has nothing more for a job that has ended (VmHWM
# goes with the process; no children's peak RSS is kept there), and its cutime/cstime are what times
# gives. Time's lines and times' go to usage.tmp through fds opened before the job runs: the job may
# replace that name (with a FIFO, say), but not what the runner's fds point at.

# usage_probe: set usage_time, usage_env and usage_rss (usage_tools, lib/usage.sh) from what the submit
# that started this wrapper passed (a library session probes once: TEJ_USAGE_*), else by asking; then
# open the fds the record is written through.
usage_probe() {
	if test -n "${usage_passed:-}"; then
		usage_time=$usage_passed_time usage_env=$usage_passed_env usage_rss=$usage_passed_rss
	else
		usage_tools
	fi
	# fd 8 writes usage.tmp, fd 9 reads it from its start (usage_record); `command`: a failed open
	# (a full disk) does not end the shell
	# shellcheck disable=SC2094 # one file, two fds on purpose
	if ! { command exec 8<>"$job_dir/usage.tmp" 9<"$job_dir/usage.tmp"; } 2>/dev/null; then
		usage_time=
		exec 8>/dev/null 9</dev/null
	fi
}

# usage_clock_into: set usage_clock to the host's clock in hundredths of a second: /proc/uptime, read
# by the shell, else now_into's whole seconds
usage_clock_into() {
	_usage_clock_up=
	{ IFS=' ' read -r _usage_clock_up _usage_clock_rest <"${TEJ_PROC:-/proc}/uptime"; } 2>/dev/null || _usage_clock_up=
	case $_usage_clock_up in
	[0-9]*.[0-9][0-9])
		case ${_usage_clock_up%.*}${_usage_clock_up#*.} in
		*[!0-9]*) ;;
		*)
			usage_int_into "${_usage_clock_up%.*}"
			usage_clock=$((usage_int * 100))
			usage_int_into "${_usage_clock_up#*.}"
			usage_clock=$((usage_clock + usage_int))
			return 0
			;;
		esac
		;;
	esac
	now_into
	usage_clock=$((now_value * 100))
}

# usage_int_into DIGITS: set usage_int to DIGITS as the shell's arithmetic takes them (no leading 0:
# octal). The *_into forms set a variable: a $(...) would fork.
usage_int_into() {
	usage_int=${1#"${1%%[!0]*}"}
	usage_int=${usage_int:-0}
}

# usage_seconds_ok VALUE: whether VALUE is seconds as GNU time prints them (1.02)
usage_seconds_ok() {
	case $1 in
	'' | *[!0-9.]* | .* | *. | *.*.*) return 1 ;;
	esac
}

# job_exec COMMAND...: exec COMMAND (the job) without the runner's fds, under GNU time when usage_probe
# found it: its lines go to usage.tmp (opened by time before the job runs), not to the job's stderr.
# time gets TERM ignored (a disposition exec keeps), so that a TERM to the job's group (kill, a time
# limit, scancel) leaves it waiting for the job and reporting the job's own end: a job that handles TERM
# (saves a checkpoint, exits 0) is recorded when it has ended, with its status. env gives the job TERM
# back at its default; INT and QUIT stay as a job of the wrapper has them.
job_exec() {
	exec 8>&- 9<&-
	# in an image: through its runtime (lib/container.sh)
	test -z "${container_runtime:-}" || container_exec "$@"
	job_run "$@"
}

# job_run COMMAND...: exec COMMAND, under GNU time when usage_probe found it (job_exec); in its systemd
# user scope when scope_load named one (systemd-run --scope execs COMMAND in place: its pid and signals)
job_run() {
	test -z "${scope_unit:-}" || set -- systemd-run --user --scope --quiet "--unit=$scope_unit" -p "MemoryMax=$scope_bytes" -p MemorySwapMax=0 -- "$@"
	if test -n "$usage_time"; then
		trap '' TERM
		exec "$usage_time" -o "$job_dir/usage.tmp" -f 'tej-usage %M %U %S %e' -- "$usage_env" --default-signal=TERM "$@"
	fi
	exec "$@"
}

# usage_record BEGAN: write usage for the job the runner waited for, begun at usage_clock BEGAN
usage_record() {
	usage_clock_into
	_usage_record_cs=$((usage_clock - $1))
	test "$_usage_record_cs" -ge 0 || _usage_record_cs=0
	_usage_record_wall=$((_usage_record_cs / 100)).$((_usage_record_cs / 10 % 10))$((_usage_record_cs % 10))
	_usage_record_line="- - - -"
	if test -n "$usage_time"; then
		# its last tej-usage line (GNU time writes "Command exited with non-zero status N" first)
		_usage_record_time=
		while IFS= read -r _usage_record_l; do
			case $_usage_record_l in
			"tej-usage "*) _usage_record_time=$_usage_record_l ;;
			esac
		done <&9
		# shellcheck disable=SC2086 # split on purpose: tej-usage KB USER SYS ELAPSED
		set -- $_usage_record_time
		if test $# -eq 5 && usage_seconds_ok "$3" && usage_seconds_ok "$4"; then
			case $2 in
			'' | *[!0-9]*) _usage_record_rss=- ;;
			*)
				usage_int_into "$2"
				_usage_record_rss=$((usage_int * 1024))
				;;
			esac
			test "$usage_rss" = yes || _usage_record_rss=-
			_usage_record_line="time $_usage_record_rss $3 $4"
		fi
	else
		# the second line: the CPU of the children we waited for (the job), "1m2.030000s 0m0.010000s"
		# `command`: an error of a special builtin (a full disk) must not end the shell
		{ command times >&8; } 2>/dev/null || true
		_usage_record_l=
		{ IFS= read -r _usage_record_l && IFS= read -r _usage_record_l; } <&9 || _usage_record_l=
		# shellcheck disable=SC2086 # split on purpose: two words
		set -- $_usage_record_l
		if test $# -eq 2 && usage_times_into "$1"; then
			_usage_record_user=$usage_seconds
			if usage_times_into "$2"; then
				_usage_record_line="times - $_usage_record_user $usage_seconds"
			fi
		fi
	fi
	exec 8>&- 9<&-
	# Opened read-write (<>), as end_record_sync does: a FIFO the job put at this name takes the line
	# instead of holding the runner up (readers take regular files only); over a file the job wrote,
	# our line is the first (readers take only that). A full disk: no record, and no say either (its
	# stderr is on that disk: a failed say would end the runner under set -e, before job-status).
	{ printf '%s\n' "$_usage_record_line $_usage_record_wall" 1<>"$job_dir/usage"; } 2>/dev/null || true
}

# usage_times_into WORD: set usage_seconds to times' "1m2.030000s" as seconds (62.030000); fail on
# another form
usage_times_into() {
	case $1 in
	*[!0-9.ms]* | *m*m* | *s*s*) return 1 ;;
	[0-9]*m[0-9]*.[0-9]*s) ;;
	*) return 1 ;;
	esac
	_usage_times_s=${1#*m}
	_usage_times_s=${_usage_times_s%s}
	usage_seconds_ok "$_usage_times_s" || return 1
	usage_int_into "${1%%m*}"
	usage_seconds=$((usage_int * 60))
	usage_int_into "${_usage_times_s%.*}"
	usage_seconds=$((usage_seconds + usage_int)).${_usage_times_s#*.}
}

# export_job_env: export the variables of meta/env/, then the TEJ_ ones (which win). The helpers' own
# TEJ_ variables (the queue's path, the shell, the caller's umask and pid, the plugins vouched for, the
# harness's kill grace and TEJ_TIME) are not the job's: it gets the documented ones only (README, Job
# environment).
# Called in the subshell that becomes the job (or its notify command), not in the wrapper itself.
export_job_env() {
	_export_job_env_queue=$TEJ_ROOT
	unset TEJ_ROOT TEJ_SHELL TEJ_UMASK TEJ_CALLER_PID TEJ_PLUGINS TEJ_PLUGIN_SUMS TEJ_KILL_GRACE TEJ_TIME
	for _export_job_env_f in "$meta"/env/*; do
		test -f "$_export_job_env_f" || continue
		_export_job_env_name=${_export_job_env_f##*/}
		case $_export_job_env_name in
		'' | [!A-Za-z_]* | *[!A-Za-z0-9_]*)
			say "ignoring the environment variable with a bad name: '$_export_job_env_name'"
			continue
			;;
		esac
		read_raw "$_export_job_env_f"
		command export "$_export_job_env_name=$raw_value" 2>/dev/null ||
			say "cannot set the environment variable $_export_job_env_name"
	done
	TEJ_JOB_ID=$job_id
	TEJ_JOB_DIR=$job_dir/work
	TEJ_QUEUE=$_export_job_env_queue
	TEJ_JOB_NPROC=$nproc
	TEJ_SCRATCH_DIR=$scratch
	export TEJ_JOB_ID TEJ_JOB_DIR TEJ_QUEUE TEJ_JOB_NPROC TEJ_SCRATCH_DIR
}

# exec_job: replace this subshell with the job, within its limits (limits_apply: builtins only, no exec);
# caught signals are reset to their default by exec
exec_job() {
	test -z "${TEJ_UMASK:-}" || umask "$TEJ_UMASK"
	limits_apply
	cgroup_enter
	container_load
	# in an image, the job's shell is the image's
	test -z "$container_runtime" || job_shell=/bin/sh
	set --
	for _exec_job_f in "$meta"/args/*; do
		test -f "$_exec_job_f" || continue
		read_raw "$_exec_job_f"
		set -- ${1+"$@"} "$raw_value"
	done
	_exec_job_command=
	_exec_job_script=
	if test -f "$meta/command"; then
		read_raw "$meta/command"
		_exec_job_command=$raw_value
	else
		read_state_into "$meta/script" || {
			say "the job has neither meta/command nor meta/script"
			exit 126
		}
		_exec_job_script=$state_line
		case $_exec_job_script in
		/*) ;;
		*) _exec_job_script=./$_exec_job_script ;;
		esac
	fi

	export_job_env

	# ${1+"$@"}: posh takes an empty "$@" for an unset parameter under set -u.
	if test -n "$_exec_job_command"; then
		job_exec "$job_shell" -c "$_exec_job_command" "$job_id" ${1+"$@"}
	fi
	# The script's first line, with builtins only (the job's PATH is in effect): a CRLF script would
	# end in "bad interpreter" or "not found" (127); its #! line is honoured without the exec bit too.
	_exec_job_line=
	{ IFS= read -r _exec_job_line <"$_exec_job_script"; } 2>/dev/null || true
	# A line that ends in a printable character (or none) has no CR at its end: no fork for $(printf
	# '\r') then. A shell without character classes matches no such pattern, and forks as before.
	case $_exec_job_line in
	'' | *[[:print:]]) ;;
	*)
		case $_exec_job_line in
		*"$(printf '\r')")
			say "the job's script ${_exec_job_script#./} has Windows (CRLF) line endings; convert it (dos2unix ${_exec_job_script#./}, or sed 's/\r\$//') and submit again"
			exit 126
			;;
		esac
		;;
	esac
	if test -x "$_exec_job_script"; then
		job_exec "$_exec_job_script" ${1+"$@"}
	fi
	case $_exec_job_line in
	'#!'*)
		# As the kernel reads it: the interpreter, then at most one argument (the rest of the line).
		_exec_job_rest=${_exec_job_line#??}
		_exec_job_rest=${_exec_job_rest#"${_exec_job_rest%%[! 	]*}"}
		_exec_job_interp=${_exec_job_rest%%[ 	]*}
		_exec_job_arg=${_exec_job_rest#"$_exec_job_interp"}
		_exec_job_arg=${_exec_job_arg#"${_exec_job_arg%%[! 	]*}"}
		_exec_job_arg=${_exec_job_arg%"${_exec_job_arg##*[! 	]}"}
		if test -n "$_exec_job_interp"; then
			if test -n "$_exec_job_arg"; then
				job_exec "$_exec_job_interp" "$_exec_job_arg" "$_exec_job_script" ${1+"$@"}
			fi
			job_exec "$_exec_job_interp" "$_exec_job_script" ${1+"$@"}
		fi
		;;
	esac
	job_exec "$job_shell" "$_exec_job_script" ${1+"$@"}
}

# start_timer SECONDS: after SECONDS, send USR1 to the wrapper. The timer sleeps at most a minute at a
# time and ends when the wrapper is gone, should stop_timer's TERM come before its trap is set (timer:
# the timer's pid, set in the main block).
start_timer() {
	_start_timer_wrapper=$$
	(
		_timer_sleep=
		# The trap takes the sleep along, for stop_timer and for a TERM to the whole group (kill).
		trap 'test -z "$_timer_sleep" || kill "$_timer_sleep" 2>/dev/null; exit 0' TERM
		_timer_left=$1
		while test "$_timer_left" -gt 0; do
			_timer_step=$_timer_left
			test "$_timer_step" -le 60 || _timer_step=60
			sleep "$_timer_step" &
			_timer_sleep=$!
			wait "$_timer_sleep" || exit 0
			_timer_sleep=
			_timer_left=$((_timer_left - _timer_step))
			proc_runs_as "$_start_timer_wrapper" "$wrapper_start" "$wrapper_args" || exit 0
		done
		# USR1 ends a process that does not catch it: only the wrapper, never a process that reuses its pid.
		proc_runs_as "$_start_timer_wrapper" "$wrapper_start" "$wrapper_args" || exit 0
		kill -USR1 "$_start_timer_wrapper" 2>/dev/null || true
	) </dev/null >/dev/null 2>&1 &
	timer=$!
}

# stop_timer: end a timer that has not fired. A timer killed by a TERM to the group may have been
# reaped already, and pid_max may be small: only a process that is still our child is signalled.
stop_timer() {
	if test -n "$timer" && our_child "$timer"; then
		kill "$timer" 2>/dev/null || true
	fi
	timer=
}

# our_child PID: whether PID is a live child of the wrapper (without /proc, a live process with the
# wrapper's command line: a subshell of the wrapper, not a process that took a reaped child's pid)
our_child() {
	if has_proc; then
		proc_fields "$1" && test "$proc_ppid" = $$ && proc_alive "$1"
	else
		proc_runs_as "$1" "" "$wrapper_args"
	fi
}

# own_pgid: our process group when we lead it (direct: setsid), else nothing
own_pgid() {
	if has_proc; then
		proc_fields $$ && test "$proc_pgrp" = $$ && echo $$
	elif has_cmd ps; then
		test "$(ps -o pgid= -p $$ | tr -d ' ')" = $$ && echo $$
	fi
}

# tree_shell CODE ARG...: run CODE with lib/proc.sh and lib/kill.sh loaded, tree_job_dir and tree_pids set, in a new
# shell (exec'd, not a subshell of the wrapper), with ARG... as its "$@". posh crashes (SIGSEGV) in a
# forked subshell of the wrapper that scans /proc and signals the job's tree: one that stopped the
# runner and died before the SIGCONT left the runner stopped and the wrapper waiting for it forever,
# and an empty tree_pids. A new shell has no child and no job table but its own, like kill's. It gets
# the form of ps the wrapper learnt (ps_form_into, before the $(...) a tree_shell runs in), so as not to
# ask ps again.
tree_shell() {
	_tree_shell_code=$1
	shift
	# From the helper program the libraries' text goes in the environment, out of it before the code runs.
	if test -n "${tej_in_memory:-}"; then
		# shellcheck disable=SC2016,SC2154 # expanded by the new shell; tej_text_libs is the helper program's
		TEJ_CODE_LIBS=$tej_text_libs "$job_shell" -c 'tej_l=$TEJ_CODE_LIBS
unset TEJ_CODE_LIBS
eval "$tej_l" || exit 70
tree_job_dir=$2
tree_pids=$3
ps_form=$4
shift 4
'"$_tree_shell_code" tree-shell "$TEJ_ROOT" "$job_dir" "$tree_pids" "$ps_form" ${1+"$@"}
		return
	fi
	# shellcheck disable=SC2016 # expanded by the new shell
	"$job_shell" -c '. "$1/lib/common.sh" && . "$1/lib/proc.sh" && . "$1/lib/kill.sh" || exit 70
tree_job_dir=$2
tree_pids=$3
ps_form=$4
shift 4
'"$_tree_shell_code" tree-shell "$TEJ_ROOT" "$job_dir" "$tree_pids" "$ps_form" ${1+"$@"}
}

# signal_job SIGNAL: the whole process group when we lead it, else the tree below the runner and the
# processes with the job's environment (tree_kill, lib/kill.sh: frozen first, so that none escapes).
# The tree is kept (tree_pids) from one signal to the next: the job's orphans stay in it.
signal_job() {
	test "$1" != KILL || container_kill "$job_dir" $$
	if test -n "$pgid"; then
		signal_group "$1" "$pgid" 2>/dev/null || true
	else
		signal_job_tree "$1"
	fi
}

# signal_job_tree SIGNAL: the tree below the runner and the processes with the job's environment
# (tree_kill), whether or not we lead a group
signal_job_tree() {
	has_proc || ps_form_into || true
	# The runner is a root while it is our child (once reaped, its pid may be a stranger's).
	_signal_job_root=
	if our_child "$child"; then _signal_job_root=$child; fi
	# shellcheck disable=SC2016 # expanded by the new shell
	_signal_job_pids=$(tree_shell 'tree_kill "$@" >/dev/null 2>&1
printf "%s\n" "$tree_pids"' "$1" ${_signal_job_root:+"$_signal_job_root"}) && tree_pids=$_signal_job_pids
}

# job_left: whether a process of the job is left besides the wrapper and its children: in the
# group (pgid) or in the tree (tree_pids). In a subshell: posh may die when it reads /proc while its
# own children change state.
job_left() {
	test -n "$pgid" || has_proc || ps_form_into || true
	test "$(job_left_print)" = yes
}

# job_left_print: print yes when job_left holds (a function: posh cannot parse a case inside $(...))
job_left_print() {
	if test -n "$pgid"; then
		for _job_left_f in "$TEJ_PROC"/[0-9]*/stat; do
			_job_left_pid=${_job_left_f#"$TEJ_PROC"/}
			_job_left_pid=${_job_left_pid%/stat}
			case $_job_left_pid in
			"$pgid" | "$child" | "$timer") continue ;;
			esac
			proc_fields "$_job_left_pid" || continue
			# the wrapper's own children (the runner, the timer, this subshell) and the timer's sleep
			if test "$proc_pgrp" != "$pgid" || test "$proc_ppid" = "$pgid" || test "$proc_ppid" = "$timer"; then
				continue
			fi
			case $proc_state in
			Z | X | x) continue ;;
			esac
			echo yes
			return 0
		done
	elif tree_shell 'tree_alive'; then
		echo yes
	fi
}

# kill_job_processes: the end of the grace period after the time limit: SIGKILL the job. As the
# group's leader, the wrapper KILLs the job's processes it can name without itself first (the tree
# below the runner and what carries the job's environment, frozen first: signal_job_tree, from a new
# shell, as a /proc scan from a subshell of the wrapper crashes posh), records the end, then kills the
# group and itself with it. Recorded before that first KILL, the end (a slow notify-command, a webhook)
# showed the state timeout while a process that ignored the TERM ran on. Without a group, the wrapper
# kills the tree and waits until it is gone: the end is recorded once nothing of the job runs.
kill_job_processes() {
	if test -n "$pgid"; then
		container_kill "$job_dir" $$
		signal_job_tree KILL
		finish 137 no-exit
		signal_group KILL "$pgid"
	else
		signal_job KILL
		_kill_job_processes_naps=0
		while job_left && test "$_kill_job_processes_naps" -lt 100; do
			_kill_job_processes_naps=$((_kill_job_processes_naps + 1))
			nap
		done
	fi
}

# notify STATUS: run meta/notify-command (tej.json notify.command) once the result is recorded, in work/
# with the job's environment (its scratch directory is gone) plus TEJ_JOB_STATE and TEJ_JOB_EXIT_CODE.
# Its output goes to work/tej.notify.log; its failure changes nothing.
notify() {
	test -f "$meta/notify-command" || return 0
	(
		cd "$job_dir/work" || exit 1
		test -z "${TEJ_UMASK:-}" || umask "$TEJ_UMASK"
		read_raw "$meta/notify-command"
		_notify_command=$raw_value
		export_job_env
		unset TEJ_SCRATCH_DIR
		ended_state_into "$job_dir"
		TEJ_JOB_STATE=$job_state_value
		TEJ_JOB_EXIT_CODE=$1
		export TEJ_JOB_STATE TEJ_JOB_EXIT_CODE
		exec "$job_shell" -c "$_notify_command" "$job_id"
	) </dev/null >>"$job_dir/work/tej.notify.log" 2>&1 || true
}

# record_end STATUS: write end, then exit-code (last, renamed into place: it says the job ended; end is
# written in place, as it is complete before exit-code is there). The caller has given the reserve up
# (a few blocks, written at the start), so that a full disk has room for them.
record_end() {
	now_into
	_record_end_at=$now_value
	write_once "$job_dir/end" "$_record_end_at" || true
	write_state "$job_dir/exit-code" "$1" || true
}

# finish STATUS [no-exit]: remove the scratch directory, record end and exit-code (last), notify, exit STATUS
finish() {
	stop_timer
	# The scratch directory, the wrapper's own files, the reserve (its room is for end and exit-code,
	# written next) and the end record's temporary name (a file or FIFO there would take its text:
	# end_record_sync) go in one rm: one exec, not three (each costs some 7 ms of CPU on a loaded
	# host). Neither a tree the job made read-only nor a full disk may keep the end from being
	# recorded: remove_tree, when the plain rm fails.
	set -- "$1" "${2:-}" "$job_dir/scratch" "$job_dir/job-status" "$job_dir/launched.tmp.$$" "$job_dir/reserve" "$job_dir/end-record.tmp.$$" "$job_dir/usage.tmp"
	if ! rm -rf ${scratch:+"$scratch"} "$3" "$4" "$5" "$6" "$7" "$8" 2>/dev/null; then
		test -z "$scratch" || remove_tree "$scratch" 2>>"$job_dir/work/tej.stderr" || true
		rm -f "$3" "$4" "$5" "$6" "$7" "$8"
	fi
	set -- "$1" "$2"
	# the job's GPUs go back before its end is seen (lib/gpus.sh)
	gpus_release
	record_end "$1"
	# the record of the job's end in one file, for a status of many jobs (lib/state.sh)
	end_record_sync "$job_dir" cleared
	notify "$1"
	webhook_post "$1"
	# an array's task: the next one takes its slot (lib/array.sh); the last one's end is the array's
	array_task_end "$job_dir"
	webhook_array_post
	test "$2" = no-exit || exit "$1"
}

# Main: the statements of the wrapper, after its functions (the traps above come first, so that a signal
# that comes while the shell reads the rest finds them set).
TEJ_ROOT=${TEJ_ROOT:-$(cd -P "$(dirname "$0")/.." && pwd -P)}
# From the helper program (wrapper_code_export, lib/common.sh) the libraries are a function.
if test -n "${tej_in_memory:-}"; then
	tej_libs
else
	# shellcheck source=common.sh
	. "$TEJ_ROOT/lib/common.sh"
	# shellcheck source=proc.sh
	. "$TEJ_ROOT/lib/proc.sh"
	# shellcheck source=state.sh
	. "$TEJ_ROOT/lib/state.sh"
	# shellcheck source=kill.sh
	. "$TEJ_ROOT/lib/kill.sh"
	# shellcheck source=limits.sh
	. "$TEJ_ROOT/lib/limits.sh"
	# shellcheck source=answers.sh
	. "$TEJ_ROOT/lib/answers.sh"
	# shellcheck source=after.sh
	. "$TEJ_ROOT/lib/after.sh"
	# shellcheck source=webhook.sh
	. "$TEJ_ROOT/lib/webhook.sh"
	# shellcheck source=usage.sh
	. "$TEJ_ROOT/lib/usage.sh"
	# shellcheck source=container.sh
	. "$TEJ_ROOT/lib/container.sh"
	# shellcheck source=cgroup.sh
	. "$TEJ_ROOT/lib/cgroup.sh"
	# shellcheck source=scope.sh
	. "$TEJ_ROOT/lib/scope.sh"
	# shellcheck source=gpus.sh
	. "$TEJ_ROOT/lib/gpus.sh"
	# shellcheck source=array.sh
	. "$TEJ_ROOT/lib/array.sh"
fi

test $# -eq 1 || die "$EX_USAGE" "usage: run-job.sh JOB_DIR"
# The end of our command line, as ps shows it (queue_submit runs "$TEJ_SHELL" lib/run-job.sh JOB_DIR, or
# from the helper program "$TEJ_SHELL" -c CODE "$TEJ_ROOT/lib/run-job.sh" JOB_DIR): without /proc, it
# tells the wrapper and its subshells from a process that took one of their pids.
wrapper_args="$0 $1"
# The checks below are made inside the directory itself (our cwd), not through its path: a submit's
# retry may replace the job at that path meanwhile.
cd -P "$1" 2>/dev/null || die "$EX_NOINPUT" "no such job directory: $1"
# after cd -P, PWD is the physical path (no fork for pwd -P)
job_dir=$PWD
if ! test -d "$job_dir/work" || ! test -d "$job_dir/meta"; then
	die "$EX_NOINPUT" "not a job directory: $1"
fi
job_id=${job_dir##*/}
# a task of an array: ID/N (lib/array.sh)
if is_array "$job_dir/.."; then
	job_id=${job_dir%/*}
	job_id=${job_id##*/}/${job_dir##*/}
fi

# Record ourselves first, as `launched` ("NATIVE_ID PID START"): a submit that dies before it writes
# native-id leaves the job known by this record. The record is linked into place (link(2) is atomic and
# fails when the name exists): only one wrapper ever runs a job, and none once a reader gave its start up
# (launch_void, lib/state.sh). TEJ_ATTEMPT names the submit attempt that started us: a retry that took
# over the job after its first attempt died has replaced the directory, and ours is gone.
if test -n "${TEJ_ATTEMPT:-}"; then
	read_state_into ./attempt || state_line=
	# shellcheck disable=SC2154 # set by read_state_into (common.sh)
	test "$state_line" = "$TEJ_ATTEMPT" ||
		die "$EX_CANTCREAT" "job $job_id: the submit that started this wrapper has been replaced"
fi
# Our start time and, when we lead one (direct: setsid), our process group: one read of /proc, no fork.
wrapper_start=
pgid=
if has_proc && proc_fields $$; then
	wrapper_start=$proc_start
	# shellcheck disable=SC2154 # set by proc_fields (lib/proc.sh)
	test "$proc_pgrp" != $$ || pgid=$$
else
	pgid=$(own_pgid) || pgid=
fi
if ! printf '%s %s %s\n' "${TEJ_NATIVE_ID:-$$}" "$$" "${wrapper_start:--}" >"./launched.tmp.$$"; then
	rm -f "./launched.tmp.$$"
	die "$EX_IOERR" "job $job_id: cannot record the wrapper in its directory"
fi
if ! ln "./launched.tmp.$$" ./launched 2>/dev/null; then
	rm -f "./launched.tmp.$$"
	die "$EX_CANTCREAT" "job $job_id was started already, or its start was given up"
fi
# ./launched.tmp.PID stays until finish removes it with the wrapper's other files: one rm less here
unset TEJ_ATTEMPT TEJ_NATIVE_ID
# The usage tools a library session found once for its submits (direct.sh queue_submit), not the job's.
usage_passed=${TEJ_USAGE_RSS:+yes}
usage_passed_time=${TEJ_USAGE_TIME:-}
usage_passed_env=${TEJ_USAGE_ENV:-}
usage_passed_rss=${TEJ_USAGE_RSS:-}
unset TEJ_USAGE_TIME TEJ_USAGE_ENV TEJ_USAGE_RSS
meta=$job_dir/meta
job_shell=${TEJ_SHELL:-/bin/sh}
kill_grace=${TEJ_KILL_GRACE:-10}
check_seconds "$kill_grace" TEJ_KILL_GRACE
time_limit=
! read_state_into "$meta/time_limit" || time_limit=$state_line
case $time_limit in
'' | 0 | *[!0-9]*) time_limit= ;;
esac
timer=

# A plugin's allocation (slurm: SLURM_CPUS_*) is what the job got: it wins over the cpus asked for.
nproc=${TEJ_ALLOC_NPROC:-}
unset TEJ_ALLOC_NPROC
if test -z "$nproc"; then
	if read_state_into "$meta/nproc"; then
		nproc=$state_line
	elif test -n "${TEJ_JOB_NPROC:-}"; then
		nproc=$TEJ_JOB_NPROC
	else
		host_nproc_into
	fi
fi
scratch=
# The webhook the client submitted, read before the job can rewrite meta/ (lib/webhook.sh); a job
# submitted --after others waits for them here, queued, and ends unrun when they cannot be met.
webhook_url=
webhook_load
after_wait
if ! make_scratch; then
	say "cannot create the scratch directory ${scratch:-under ${TMPDIR:-/tmp}}" 2>>"$job_dir/work/tej.stderr"
	now_into
	write_once "$job_dir/start" "$now_value"
	finish "$EX_FAILURE"
fi
now_into
write_once "$job_dir/start" "$now_value"
# A reserve of disk space for the end record, should the job fill the disk (record_end): 16 KiB written
# by the shell's printf (no exec where printf is a builtin)
{ printf '%16384s' '' >"$job_dir/reserve"; } 2>/dev/null || true

# cpus: pinned with taskset (lib/limits.sh), inherited by the runner and the job
if ! limits_pin 2>>"$job_dir/work/tej.stderr"; then
	finish 126
fi
run_job &
child=$!
test -z "$time_limit" || start_timer "$time_limit"

# wait returns early when a trapped signal arrives, and in posh also when another child (the timer)
# ends: the runner is waited for until it is gone. wait says 127 once the runner is no child of ours
# (an earlier wait reaped it); kill -0 is not asked then, as the pid may name another process by now.
phase=run
while :; do
	wait_status=0
	wait "$child" || wait_status=$?
	if test -n "$timer_fired"; then
		timer_fired=
		timer=
		if test "$phase" = run && kill -0 "$child" 2>/dev/null; then
			phase=term
			now_into
			write_state "$job_dir/timed-out" "$now_value"
			signal_job TERM
			start_timer "$kill_grace"
		elif test "$phase" = term; then
			phase='kill'
			kill_job_processes
		fi
	fi
	test "$wait_status" -ne 127 || break
	kill -0 "$child" 2>/dev/null || break
done
# The job's other processes may outlive the runner after the time limit's TERM (a subshell that ignores
# TERM): they are waited for, and killed when the grace period ends, before the end is recorded. The
# tree (no group) is watched with or without /proc (ps); a group only through /proc.
if test "$phase" = term && { has_proc || test -z "$pgid"; }; then
	while job_left; do
		if test -n "$timer_fired"; then
			timer_fired=
			timer=
			kill_job_processes
			break
		fi
		nap
	done
fi
# No job-status: the runner was killed along with the job (SIGKILL at the end of the grace period).
# A line without its newline is a write cut short: no status either.
status=137
if test -f "$job_dir/job-status" && { IFS= read -r job_status <"$job_dir/job-status"; } 2>/dev/null; then
	case $job_status in
	'' | *[!0-9]*) ;;
	*) status=$job_status ;;
	esac
fi
finish "$status"
