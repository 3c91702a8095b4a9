#!/bin/sh
# Summary: Status records: one job (emit_job_record) or many, the ended ones read in one awk (emit_job_records)
#   (sourced after common.sh, proc.sh, state.sh and answers.sh)
# Usage: . "$TEJ_ROOT/lib/record.sh"   (function definitions only)
#   emit_job_records ID..., emit_job_record ID, record_file KEY FILE
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# shellcheck shell=sh
# shellcheck disable=SC2154 # reads the variables of state.sh and answers.sh (job_state_value, job_native, answer_native)

# record_now: the host's clock for the records of running jobs, read once per call (emit_job_record)
record_now=

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
		# A job whose end is recorded with no plugin left to ask (job_state_into's first case) moves on no
		# more: its record needs no second reading.
		_emit_job_record_settled=
		if test -f "$_emit_job_record_dir/exit-code" && ! test -f "$_emit_job_record_dir/native-open"; then
			_emit_job_record_settled=yes
		fi
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
		test -z "$_emit_job_record_settled" || break
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
# record file is not a regular file (plain_record_files), every job goes one by one.
emit_job_records() {
	ended_batch=
	ended_ids=
	_emit_job_records_n=0
	_emit_job_records_awk=
	if has_cmd awk; then _emit_job_records_awk=yes; fi
	for _emit_job_records_id in ${1+"$@"}; do
		_emit_job_records_dir=$TEJ_ROOT/jobs/$_emit_job_records_id
		if test -n "$_emit_job_records_awk" && test -f "$_emit_job_records_dir/exit-code" && ! test -f "$_emit_job_records_dir/native-open" && ! plugin_answer_into "$_emit_job_records_dir" && plain_record_files "$_emit_job_records_dir"; then
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

# plain_record_files DIR: whether each record file of the job in DIR (record_files) is a regular file or
# missing: awk stops on a directory, and blocks on a FIFO a hostile job made of one (the shell's
# read_state_into reads neither)
plain_record_files() {
	for _plain_record_f in plugin native-id submitted start end exit-code meta/labels rerun-as native-state; do
		test -f "$1/$_plain_record_f" || ! test -e "$1/$_plain_record_f" || return 1
	done
}
