#!/bin/sh
# Summary: The job wrapper: runs one job, records its start, end and exit code, enforces its time limit
# Usage: "$TEJ_SHELL" run-job.sh JOB_DIR   (started detached by a queue plugin, never by the client)
# Output (proto 1): none; writes start, scratch, end, exit-code (and timed-out) in JOB_DIR
# Exit: the job's exit status; 64 usage; 66 no such job directory
# shellcheck source-path=SCRIPTDIR
set -eu

# The wrapper outlives a TERM sent to its process group: it waits for the job and records the end.
# Caught (not ignored) signals are reset to their default in the job.
caught=
timer_fired=
trap 'caught=yes' TERM INT HUP
trap 'timer_fired=yes' USR1

TEJ_ROOT=${TEJ_ROOT:-$(cd -P "$(dirname "$0")/.." && pwd -P)}
# shellcheck source=common.sh
. "$TEJ_ROOT/lib/common.sh"
# shellcheck source=job.sh
. "$TEJ_ROOT/lib/job.sh"

test $# -eq 1 || die "$EX_USAGE" "usage: run-job.sh JOB_DIR"
job_dir=$(cd -P "$1" 2>/dev/null && pwd -P) || die "$EX_NOINPUT" "no such job directory: $1"
if ! test -d "$job_dir/work" || ! test -d "$job_dir/meta"; then
	die "$EX_NOINPUT" "not a job directory: $1"
fi
job_id=${job_dir##*/}
meta=$job_dir/meta
job_shell=${TEJ_SHELL:-/bin/sh}
kill_grace=${TEJ_KILL_GRACE:-10}
check_seconds "$kill_grace" TEJ_KILL_GRACE
time_limit=$(read_state "$meta/time_limit") || time_limit=
case $time_limit in
'' | 0 | *[!0-9]*) time_limit= ;;
esac

# owned_dir DIR: whether DIR is a real directory (not a symlink) owned by us
owned_dir() {
	test -d "$1" && ! test -L "$1" || return 1
	# shellcheck disable=SC2046 # split on purpose: ls -ldn fields
	set -- $(ls -ldn "$1")
	test "${3:-}" = "$(id -u)"
}

# make_scratch: create TEJ_SCRATCH_DIR, ${TMPDIR:-/tmp}/tej-<uid>/<id>, mode 0700
make_scratch() {
	_make_scratch_base=${TMPDIR:-/tmp}/tej-$(id -u)
	mkdir "$_make_scratch_base" 2>/dev/null || true
	if ! owned_dir "$_make_scratch_base"; then
		# Someone else holds the name: use a fresh private directory instead.
		_make_scratch_base=$(mktemp -d "${TMPDIR:-/tmp}/tej-$(id -u).XXXXXX") || return 1
	fi
	chmod 700 "$_make_scratch_base"
	scratch=$_make_scratch_base/$job_id
	rm -rf "$scratch"
	mkdir "$scratch" && chmod 700 "$scratch" || return 1
	write_state "$job_dir/scratch" "$scratch"
}

# host_nproc: the number of online cpus
host_nproc() {
	getconf _NPROCESSORS_ONLN 2>/dev/null || nproc 2>/dev/null || echo 1
}

# open_output PATH: make PATH's directory and check that PATH can be written (cwd: work/)
open_output() {
	case $1 in
	*/*) mkdir -p "${1%/*}" 2>/dev/null || true ;;
	esac
	if ! { true >"$1"; } 2>/dev/null; then
		say "cannot write the job's output file '$1' (relative to work/)" 2>>"$job_dir/stderr"
		exit 126
	fi
}

# run_job: the job itself (run in a background subshell)
run_job() {
	cd "$job_dir/work"
	_run_job_out=$(read_state "$meta/stdout") || _run_job_out=../stdout
	_run_job_err=$(read_state "$meta/stderr") || _run_job_err=../stderr
	open_output "$_run_job_out"
	if test "$_run_job_err" = "$_run_job_out"; then
		exec </dev/null >"$_run_job_out" 2>&1
	else
		open_output "$_run_job_err"
		exec </dev/null >"$_run_job_out" 2>"$_run_job_err"
	fi
	test -z "${TEJ_UMASK:-}" || umask "$TEJ_UMASK"

	set --
	for _run_job_f in "$meta"/args/*; do
		test -f "$_run_job_f" || continue
		read_raw "$_run_job_f"
		set -- ${1+"$@"} "$raw_value"
	done
	_run_job_command=
	_run_job_script=
	if test -f "$meta/command"; then
		read_raw "$meta/command"
		_run_job_command=$raw_value
	else
		_run_job_script=$(read_state "$meta/script") || {
			say "the job has neither meta/command nor meta/script" >&2
			exit 126
		}
		case $_run_job_script in
		/*) ;;
		*) _run_job_script=./$_run_job_script ;;
		esac
	fi

	for _run_job_f in "$meta"/env/*; do
		test -f "$_run_job_f" || continue
		_run_job_name=${_run_job_f##*/}
		case $_run_job_name in
		'' | [!A-Za-z_]* | *[!A-Za-z0-9_]*)
			say "ignoring the environment variable with a bad name: '$_run_job_name'" >&2
			continue
			;;
		esac
		read_raw "$_run_job_f"
		command export "$_run_job_name=$raw_value" 2>/dev/null ||
			say "cannot set the environment variable $_run_job_name" >&2
	done
	TEJ_JOB_ID=$job_id
	TEJ_JOB_DIR=$job_dir/work
	TEJ_QUEUE=$TEJ_ROOT
	TEJ_JOB_NPROC=$nproc
	TEJ_SCRATCH_DIR=$scratch
	export TEJ_JOB_ID TEJ_JOB_DIR TEJ_QUEUE TEJ_JOB_NPROC TEJ_SCRATCH_DIR

	if test -n "$_run_job_command"; then
		exec "$job_shell" -c "$_run_job_command" "$job_id" ${1+"$@"}
	elif test -x "$_run_job_script"; then
		exec "$_run_job_script" ${1+"$@"}
	else
		exec "$job_shell" "$_run_job_script" ${1+"$@"}
	fi
}

# start_timer SECONDS: after SECONDS, send USR1 to the wrapper. The timer's sleep dies with it.
timer=
start_timer() {
	_start_timer_wrapper=$$
	(
		_timer_sleep=
		trap 'test -z "$_timer_sleep" || kill "$_timer_sleep" 2>/dev/null; exit 0' TERM
		sleep "$1" &
		_timer_sleep=$!
		if wait "$_timer_sleep"; then
			kill -USR1 "$_start_timer_wrapper" 2>/dev/null || true
		fi
	) </dev/null >/dev/null 2>&1 &
	timer=$!
}

stop_timer() {
	test -z "$timer" || kill "$timer" 2>/dev/null || true
	timer=
}

# own_pgid: our process group when we lead it (direct: setsid), else nothing
own_pgid() {
	if has_proc; then
		proc_fields $$ && test "$proc_pgrp" = $$ && echo $$
	elif has_cmd ps; then
		test "$(ps -o pgid= -p $$ | tr -d ' ')" = $$ && echo $$
	fi
}

# signal_job SIGNAL: the whole process group when we lead it, else the job's main process
signal_job() {
	if test -n "$pgid"; then
		signal_group "$1" "$pgid" 2>/dev/null || true
	else
		kill "-$1" "$child" 2>/dev/null || true
	fi
}

# kill_job_processes: SIGKILL every process of the job but the wrapper, which then records the end
kill_job_processes() {
	if test -n "$pgid" && has_proc; then
		_kill_job_processes_round=0
		while test "$_kill_job_processes_round" -lt 50; do
			_kill_job_processes_left=
			for _kill_job_processes_pid in $(group_members "$pgid"); do
				test "$_kill_job_processes_pid" = $$ && continue
				_kill_job_processes_left=yes
				kill -KILL "$_kill_job_processes_pid" 2>/dev/null || true
			done
			test -n "$_kill_job_processes_left" || return 0
			_kill_job_processes_round=$((_kill_job_processes_round + 1))
			nap
		done
	elif test -n "$pgid"; then
		# Without /proc the group cannot be told apart from the wrapper: record, then kill all.
		finish 137 no-exit
		signal_group KILL "$pgid"
	else
		kill -KILL "$child" 2>/dev/null || true
	fi
}

# finish STATUS [no-exit]: remove the scratch directory, record end and exit-code (last), exit STATUS
finish() {
	stop_timer
	rm -rf "$scratch"
	rm -f "$job_dir/scratch"
	write_state "$job_dir/end" "$(now)"
	write_state "$job_dir/exit-code" "$1"
	test "${2:-}" = no-exit || exit "$1"
}

nproc=$(read_state "$meta/nproc") || nproc=${TEJ_JOB_NPROC:-$(host_nproc)}
pgid=$(own_pgid) || pgid=
scratch=
if ! make_scratch; then
	say "cannot create the scratch directory ${scratch:-under ${TMPDIR:-/tmp}}" 2>>"$job_dir/stderr"
	write_state "$job_dir/start" "$(now)"
	finish "$EX_FAILURE"
fi
write_state "$job_dir/start" "$(now)"

run_job &
child=$!
test -z "$time_limit" || start_timer "$time_limit"

# wait returns early when a trapped signal arrives; the job's status is then asked for again.
phase=run
while :; do
	status=0
	wait "$child" || status=$?
	if test -n "$timer_fired"; then
		timer_fired=
		if test "$phase" = run && proc_alive "$child"; then
			phase=term
			write_state "$job_dir/timed-out" "$(now)"
			signal_job TERM
			start_timer "$kill_grace"
		elif test "$phase" = term; then
			phase='kill'
			kill_job_processes
		fi
		continue
	fi
	if test -n "$caught"; then
		caught=
		continue
	fi
	break
done
finish "$status"
