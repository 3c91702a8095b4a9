#!/bin/sh
# Summary: Status records: one job (emit_job_record) or many, the ended ones read in one awk (emit_job_records)
#   (sourced after common.sh, proc.sh, state.sh and answers.sh)
# Usage: . "$TEJ_ROOT/lib/record.sh"   (function definitions only)
#   job_records_expanding ID..., job_records ID..., emit_job_records ID..., emit_job_record ID, job_record_into ID, record_file KEY FILE
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# Length: over 250 lines: one concept, the records of one job, of many (one awk) and of very many (two
#   halves side by side), each the way that is fast for its count
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

# emit_job_record ID: print the status record of one job (job_record_into)
emit_job_record() {
	job_record_into "$1"
	printf '%s' "$job_record"
}

# job_record_into ID: set job_record to the status record of one job, its id= line first (state=absent
# when it does not exist)
job_record_into() {
	_emit_job_record_dir=$TEJ_ROOT/jobs/$1
	if ! test -d "$_emit_job_record_dir"; then
		job_record="id=$1${nl}state=absent$nl"
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
		job_record="id=$1${nl}state=$_emit_job_record_state$nl"
		# A running job's duration runs to the host's clock: the first such record reads it, once per call
		# (status prints no now= in its header, so that a status of ended jobs forks nothing for it).
		if test "$_emit_job_record_state" = running; then
			if test -z "$record_now"; then
				now_into
				record_now=$now_value
			fi
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
		record_file usage "$_emit_job_record_dir/usage"
		# why the job failed, when the wrapper knows (lib/cgroup.sh: memory)
		record_file reason "$_emit_job_record_dir/reason"
		# a job ended unrun: the dependency that could not be met (lib/after.sh)
		record_file dependency "$_emit_job_record_dir/dependency"
		# commands/claim.sh
		record_file notify_webhook "$_emit_job_record_dir/meta/notify-webhook"
		record_file notify_host "$_emit_job_record_dir/notify-host"
		record_file notify_claimed "$_emit_job_record_dir/notify-claim/at"
		# a task's: its array's webhook claimed (commands/claim.sh)
		record_file array_notify_claimed "$_emit_job_record_dir/../notify-claim/at"
		test -z "$_emit_job_record_settled" || break
		_emit_job_record_tries=$((_emit_job_record_tries + 1))
		job_state_into "$_emit_job_record_dir"
		if test "$job_state_value" = "$_emit_job_record_state" || test "$_emit_job_record_tries" -ge 5; then
			break
		fi
	done
}

# ended_records: print the status records of the jobs listed in ended_batch ("ID STATE HOW" lines),
# each ended for good (see emit_job_records), with one awk for all: a record's files cost a dozen
# syscalls each through the shell's read (one a byte), and a status of 4000 jobs reads 36000 of them.
# HOW says where the lines after id= and state= come from: F, the record files (record_keys), the
# first line of each that exists, as read_state_into gives it (a last line without its newline too, an
# empty file not at all); E, the job's end-record (end_record_sync, lib/state.sh), the same lines in one
# file, when it is well-formed: its header, then only keys of record_keys, in their order, each at most
# once (a job can write the file: any other line, a key=value of another job, a second state, makes it
# malformed). The awk prints only at its end: when it fails (a malformed end-record, a file that became
# a directory), it prints nothing and the shell reads that batch one job at a time, from the files. A
# batch of a few jobs is read by the shell too: the awk's fork and exec cost more than their reads.
# Each record is one string made of short appends, one element of the awk's o: an element a line took
# gawk twice the time (12.6 ms against 6.7 for 4000 records here).
ended_records() {
	ended_batch=$ended_batch$ended_part
	ended_part=
	test -n "$ended_batch" || return 0
	if test "$_emit_job_records_n" -lt 8 ||
		! printf '%s' "$ended_batch" | TEJ_RECORD_KEYS=$record_keys TEJ_JOBS=$TEJ_ROOT/jobs awk '
		BEGIN {
			n = split(ENVIRON["TEJ_RECORD_KEYS"], kf, " ")
			for (i = 1; i <= n; i++) { split(kf[i], w, ":"); key[i] = w[1]; file[i] = w[2]; at[w[1]] = i }
			jobs = ENVIRON["TEJ_JOBS"]; k = 0; bad = 0
		}
		{
			d = jobs "/" $1 "/"
			rec = "id=" $1 "\nstate=" $2
			if ($3 == "E") {
				f = d "end-record"
				if ((getline line < f) <= 0 || line != "tej-end-record=1") { bad = 1; exit }
				last = 0
				while ((r = (getline line < f)) > 0) {
					eq = index(line, "=")
					kk = substr(line, 1, eq - 1)
					if (eq < 2 || !(kk in at) || at[kk] <= last) { bad = 1; exit }
					last = at[kk]
					rec = rec "\n" line
				}
				close(f)
				if (r < 0) { bad = 1; exit }
				o[++k] = rec
				next
			}
			for (i = 1; i <= n; i++) {
				f = d file[i]
				line = ""
				if ((r = (getline line < f)) > 0) rec = rec "\n" key[i] "=" line
				close(f)
			}
			o[++k] = rec
		}
		END {
			if (bad) exit 3
			for (i = 1; i <= k; i++) print o[i]
		}' 2>/dev/null; then
		# "ID STATE HOW" words: job ids (check_job_id) and words, nothing to glob in them
		# shellcheck disable=SC2086 # split on purpose
		set -- $ended_batch
		while test $# -ge 3; do
			emit_job_record "$1"
			shift 3
		done
	fi
	ended_batch=
}

# emit_job_records ID...: the status records of the jobs, in order (emit_job_record for each). Those
# whose end is recorded and whose plugin has nothing more to say (exit-code, no native-open, no answer
# from the prefetch) keep their state and files for good: they go to ended_records in batches, with
# their end-record when it is a regular file, else when each record file is a regular file or missing
# (plain_record_files), and the others one by one. Without awk, every job goes one by one. For a job
# with an end-record this loop costs five stat(2)s (exit-code, native-open, end-record, killed,
# timed-out) and the awk one open, against some 50 system calls through the files. (The end-record
# alone does not say the job ended: a job can write one, and its record must say no more than its files.)
emit_job_records() {
	ended_batch=
	ended_part=
	_emit_job_records_n=0
	_emit_job_records_awk=
	if has_cmd awk; then _emit_job_records_awk=yes; fi
	# The jobs prefetch_states just found not ended for good, when it read these very jobs: a cursor
	# through them (in the same order), the others ended for good without two more stat(2)s each
	_emit_job_records_rest=
	if test -n "$prefetch_unsettled"; then
		test "${1+$*}" != "$prefetch_unsettled_for" || _emit_job_records_rest=$prefetch_unsettled
		prefetch_unsettled=
	fi
	for _emit_job_records_id in ${1+"$@"}; do
		_emit_job_records_dir=$TEJ_ROOT/jobs/$_emit_job_records_id
		_emit_job_records_how=
		if test -n "$_emit_job_records_rest"; then
			case $_emit_job_records_rest in
			" $_emit_job_records_id "*)
				# not ended for good when asked (the plugin may have an answer about it): one by one
				_emit_job_records_rest=${_emit_job_records_rest#" $_emit_job_records_id"}
				;;
			*)
				# its end-record, else its files, which the awk reads (a job deleted meanwhile has
				# neither exit-code nor end-record: one by one, absent); without awk, one by one
				if test -z "$_emit_job_records_awk"; then
					:
				elif test -f "$_emit_job_records_dir/end-record"; then
					_emit_job_records_how=E
				elif test -f "$_emit_job_records_dir/exit-code" && plain_record_files "$_emit_job_records_dir"; then
					_emit_job_records_how=F
				fi
				;;
			esac
		elif test -n "$_emit_job_records_awk" && test -f "$_emit_job_records_dir/exit-code" && ! test -f "$_emit_job_records_dir/native-open"; then
			# plugin_answer_into, inline: the prefetch asked the plugin about the job before it ended
			case $plugin_answers in
			*" $_emit_job_records_id:"*) ;;
			*)
				if test -f "$_emit_job_records_dir/end-record"; then
					_emit_job_records_how=E
				elif plain_record_files "$_emit_job_records_dir"; then
					_emit_job_records_how=F
				fi
				;;
			esac
		fi
		if test -z "$_emit_job_records_how"; then
			ended_records
			_emit_job_records_n=0
			emit_job_record "$_emit_job_records_id"
			continue
		fi
		ended_state_into "$_emit_job_records_dir"
		# Each append copies the whole string (twice, in dash): lines go to a part of 50, parts to the
		# batch (whole appends to a batch of 1000 were 0.1-0.2 s of a status of 4000 jobs).
		ended_part="$ended_part$_emit_job_records_id $job_state_value $_emit_job_records_how$nl"
		_emit_job_records_n=$((_emit_job_records_n + 1))
		case $_emit_job_records_n in
		*50 | *00)
			ended_batch=$ended_batch$ended_part
			ended_part=
			;;
		esac
		# batches of 4000, for the awk (a gawk starts in ~2 ms here)
		test "$_emit_job_records_n" -lt 4000 || {
			ended_records
			_emit_job_records_n=0
		}
	done
	ended_records
}

# job_records ID...: the reply of status and list for the jobs: one question per plugin for all of them
# (prefetch_states; slurm: one squeue) before any record is printed, the header, the records. From
# job_records_split jobs on, the second half of them is read by a subshell while this shell reads the
# first: the host's other core (a status of 4000 ended jobs is some ten stat(2)s and one open a job,
# 0.3 s on one core here), each half asking its plugins about its own jobs. The second half's records
# follow the first's through a pipe, then a line that says they are whole: without it (that half
# failed, and said why on stderr) the command fails rather than leave jobs out of its reply.
job_records_split=500
job_records() {
	if test $# -lt "$job_records_split"; then
		prefetch_states ${1+"$@"}
		emit_proto
		emit_job_records ${1+"$@"}
		return 0
	fi
	emit_proto
	_job_records_half=$(($# / 2))
	{
		shift "$_job_records_half"
		if test -n "$job_records_expand"; then
			array_expand_into "$@"
			# shellcheck disable=SC2086 # job ids hold no blanks and no glob characters
			set -- $array_ids
		fi
		prefetch_states ${1+"$@"}
		emit_job_records ${1+"$@"}
		echo tej-half=whole
	} | {
		# the first half's ids: appended in parts, as emit_job_records appends its lines (one whole
		# append each copies the whole string, twice in dash)
		_job_records_ids=
		_job_records_part=
		_job_records_n=0
		for _job_records_id in "$@"; do
			_job_records_part="$_job_records_part $_job_records_id"
			_job_records_n=$((_job_records_n + 1))
			case $_job_records_n in
			*50 | *00)
				_job_records_ids=$_job_records_ids$_job_records_part
				_job_records_part=
				;;
			esac
			test "$_job_records_n" -lt "$_job_records_half" || break
		done
		# shellcheck disable=SC2086 # job ids hold no blanks and no glob characters
		set -- $_job_records_ids$_job_records_part
		if test -n "$job_records_expand"; then
			array_expand_into "$@"
			# shellcheck disable=SC2086 # job ids hold no blanks and no glob characters
			set -- $array_ids
		fi
		# (stdin is the second half's records)
		prefetch_states ${1+"$@"} </dev/null
		emit_job_records ${1+"$@"} </dev/null
		_job_records_rest=$(cat)
		_job_records_records=${_job_records_rest%"${nl}tej-half=whole"}
		test "$_job_records_records" != "$_job_records_rest" || die "$EX_IOERR" "the status of the jobs after $_job_records_id could not be read"
		printf '%s\n' "$_job_records_records"
	}
}

# job_records_expanding ID...: job_records of the ids with each array's id replaced by its tasks
# (array_expand_into, lib/array.sh): status and list. From job_records_split ids on, each half expands
# its own ids, so that the stat(2) that tells whether a job is an array runs on both cores (4000 ids: 13
# ms on one here); fewer are expanded first, and job_records halves what that gives when it is
# job_records_split jobs or more.
job_records_expand=
job_records_expanding() {
	if test $# -lt "$job_records_split"; then
		array_expand_into ${1+"$@"}
		# shellcheck disable=SC2086 # job ids hold no blanks and no glob characters
		job_records $array_ids
		return 0
	fi
	job_records_expand=yes
	job_records "$@"
	job_records_expand=
}

# plain_record_files DIR: whether each record file of the job in DIR (record_keys) is a regular file or
# missing: awk stops on a directory, and blocks on a FIFO a hostile job made of one (the shell's
# read_state_into reads neither)
plain_record_files() {
	for _plain_record_kf in $record_keys; do
		test -f "$1/${_plain_record_kf#*:}" || ! test -e "$1/${_plain_record_kf#*:}" || return 1
	done
}
