#!/bin/sh
# Summary: What the batch-scheduler plugins (slurm, sge, pbs) share: the wrapper part of their batch
#   scripts, the submit retry loop that never makes a duplicate job, find/abandon of a submit attempt,
#   and the tasks of an array made ready before the scheduler has them
# Usage: sourced by queues/slurm.sh, sge.sh and pbs.sh as they are loaded (from the helper program:
#   tej_lib_batch, src/remote/program.ts); function definitions only
# Output (proto 1): nothing by itself
# Not in the libraries embedded in a batch script (LIBS): the batch script never submits.
# shellcheck shell=sh
# shellcheck disable=SC2034 # sets batch_out, batch_found, batch_first, batch_word for the plugins

# batch_script_code: the batch script's lines that set "$@" to the wrapper's command line. From the
# helper program they hold the texts of the libraries and of the wrapper, single-quoted (each ' as
# '\''), as the client's call checked them at submit; from files, the wrapper runs only while the
# helpers still match MANIFEST (a job runs as this user and could have edited them since).
batch_script_code() {
	if test -n "${tej_in_memory:-}"; then
		# shellcheck disable=SC2154 # tej_text_* are the helper program's
		printf "# shellcheck disable=SC2089 # code, for the wrapper's shell\nTEJ_CODE_LIBS='%s'\n" "$(printf '%s\n' "$tej_text_libs" | sed "s/'/'\\\\''/g")"
		# shellcheck disable=SC2154
		printf "# shellcheck disable=SC2089 # code, for the wrapper's shell\nTEJ_CODE_RUN_JOB='%s'\n" "$(printf '%s\n' "$tej_text_run_job" | sed "s/'/'\\\\''/g")"
		# The boot has no single quote (lib/common.sh).
		printf "# shellcheck disable=SC2016,SC2089 # code, for the wrapper's shell\nTEJ_CODE_BOOT='%s'\n" "$TEJ_WRAPPER_BOOT"
		cat <<'EOF'
# The wrapper starts as direct starts it (wrapper_code_export, lib/common.sh).
# shellcheck disable=SC2090 # code, for the wrapper's shell
export TEJ_CODE_BOOT TEJ_CODE_LIBS TEJ_CODE_RUN_JOB
# shellcheck disable=SC2016 # expanded by the wrapper's shell
set -- -c 'eval "$TEJ_CODE_BOOT"' "$TEJ_ROOT/lib/run-job.sh" "$job_dir"
EOF
	else
		cat <<'EOF'
# The helpers must still match MANIFEST (which the client's dispatcher call checked at submit).
if command -v sha256sum >/dev/null 2>&1 && ! (cd "$TEJ_ROOT" && sha256sum -c MANIFEST) >/dev/null 2>&1; then
	echo "tej: the helpers in $TEJ_ROOT were modified after they were installed: not running the job" >&2
	exit 1
fi
set -- "$TEJ_ROOT/lib/run-job.sh" "$job_dir"
EOF
	fi
}

# batch_script_wait [RESERVED]: the batch script's last lines, after the wrapper was started in the
# background: wait until it is gone (wait returns early when a trap runs), exit with the job's exit
# code, or 1 for one of RESERVED (a case pattern: codes the scheduler takes as orders, not as an end)
batch_script_wait() {
	cat <<'EOF'
wrapper=$!
while kill -0 "$wrapper" 2>/dev/null; do
	wait "$wrapper" || :
done
status=1
if test -f "$job_dir/exit-code"; then read -r status <"$job_dir/exit-code" || :; fi
EOF
	# shellcheck disable=SC2016 # the batch script's variable
	test -z "${1:-}" || printf 'case $status in %s) status=1 ;; esac\n' "$1"
	# shellcheck disable=SC2016 # the batch script's variable
	echo 'exit "$status"'
}

# batch_check_attempt: die unless TEJ_ATTEMPT is a staging directory's name ([A-Za-z0-9._-]): it goes
# into the text of the batch script
batch_check_attempt() {
	case ${TEJ_ATTEMPT:-} in
	*[!A-Za-z0-9._-]*) die "$EX_FAILURE" "bad submit attempt: '$TEJ_ATTEMPT'" ;;
	esac
}

# batch_submit JOB_DIR TOOL SCRIPT TRANSIENT FIND SCHEDULER [ARGS...]: run TOOL ARGS in JOB_DIR with
# the output of SCRIPT ATTEMPT on its stdin, up to three times while its error (JOB_DIR/TOOL.err) is one
# that TRANSIENT FILE says may have created the job all the same; before each retry FIND JOB_DIR looks
# for that job (by name and attempt), so a retry never makes a second one. Sets batch_out to TOOL's
# output, or batch_found to the id FIND gave; 1 (TOOL's error on stderr) when TOOL refused, 75 when the
# scheduler did not answer three times. TOOL runs in a subshell whose pid and identity go to
# JOB_DIR/TOOL-pid: should this helper die, TOOL may live on and make the job after a reader has looked
# for it (batch_find).
batch_submit() {
	_bs_dir=$1
	_bs_tool=$2
	_bs_script=$3
	_bs_transient=$4
	_bs_find=$5
	_bs_sched=$6
	shift 6
	batch_out=
	batch_found=
	# The end of the job is confirmed with the scheduler (a timeout or kill the wrapper cannot see).
	write_state "$_bs_dir/native-open" "$(now)"
	_bs_try=1
	while :; do
		write_state "$_bs_dir/$_bs_tool-attempt" "$_bs_try"
		if batch_out=$(
			cd "$_bs_dir" || exit 1
			{ "$_bs_script" "${TEJ_ATTEMPT:-}" | "$_bs_tool" "$@" 2>"$_bs_dir/$_bs_tool.err"; } &
			_bs_pid=$!
			if _bs_ident=$(proc_identity "$_bs_pid"); then
				write_state "$_bs_dir/$_bs_tool-pid" "$_bs_pid $_bs_ident" || :
			fi
			wait "$_bs_pid"
		); then
			break
		fi
		if ! "$_bs_transient" "$_bs_dir/$_bs_tool.err"; then
			cat "$_bs_dir/$_bs_tool.err" >&2
			return "$EX_FAILURE"
		fi
		if batch_found=$("$_bs_find" "$_bs_dir"); then
			say "$_bs_tool failed ($(head -n 1 "$_bs_dir/$_bs_tool.err")), but $_bs_sched has the job: $batch_found"
			break
		fi
		batch_found=
		if test "$_bs_try" -ge 3; then
			cat "$_bs_dir/$_bs_tool.err" >&2
			return "$EX_TEMPFAIL"
		fi
		sleep "$_bs_try"
		_bs_try=$((_bs_try + 1))
	done
	rm -f "$_bs_dir/$_bs_tool.err" "$_bs_dir/$_bs_tool-pid"
}

# batch_find JOB_DIR TOOL FIND: queue_find of a batch plugin: the job of a submit that died after TOOL
# and before it wrote native-id (FIND JOB_DIR), but 2 while that TOOL still runs (TOOL-pid): the
# scheduler may not have the job yet
batch_find() {
	# shellcheck disable=SC2154 # state_line is set by read_state_into (common.sh)
	if read_state_into "$1/$2-pid" && submitter_alive "$state_line"; then
		return 2
	fi
	"$3" "$1"
}

# batch_first_into JOBS JOB_DIR: set batch_first to the first id JOBS JOB_DIR prints; its status else
batch_first_into() {
	batch_first=$("$1" "$2") || return
	batch_first=${batch_first%%"$nl"*}
}

# batch_abandon JOB_DIR JOBS CANCEL: queue_abandon of a batch plugin: CANCEL ID JOB_DIR each job that
# JOBS JOB_DIR prints (those of this submit attempt); 2 when JOBS cannot tell (the scheduler did not
# answer), 1 when CANCEL fails on a job the scheduler still has
batch_abandon() {
	_ba_status=0
	_ba_ids=$("$2" "$1") || _ba_status=$?
	case $_ba_status in
	0) ;;
	1) return 0 ;;
	*) return "$_ba_status" ;;
	esac
	for _ba_id in $_ba_ids; do
		"$3" "$_ba_id" "$1" || return 1
	done
}

# batch_foreign_into JOB_DIR SETTLE: set batch_word for a job whose native id the scheduler shows as
# another job's (the job rewrote native-id: queue_states takes no state from it): the job's own files
# answer, running once started, else queued, nothing settled (kill then finds its own job by name);
# once it has its exit code, gone, closed by "SETTLE JOB_DIR gone -" on the wrapper's record
batch_foreign_into() {
	if test -f "$1/exit-code"; then
		batch_word=gone
		"$2" "$1" gone -
	elif test -f "$1/start"; then
		batch_word=running
	else
		batch_word=queued
	fi
}

# array_tasks_prepare DIR PLUGIN "I1 I2 ...": prepare those tasks of the array in DIR for a batch
# scheduler, before it is called: it may start a task at once, and a wrapper refuses a directory without
# the work, meta and attempt it runs from (the task was then lost, never started). Each also gets
# native-open and submitted (now_value: now_into first); its native id comes with the scheduler's answer.
array_tasks_prepare() {
	for _array_tp_i in $3; do
		array_task_prepare "$1" "$_array_tp_i" "$2" || return 1
		cp "$1/attempt" "$1/$_array_tp_i/attempt" 2>/dev/null || :
		: >"$1/$_array_tp_i/native-open"
		# shellcheck disable=SC2154 # now_value is set by now_into (common.sh)
		printf '%s\n' "$now_value" >"$1/$_array_tp_i/submitted"
	done
}
