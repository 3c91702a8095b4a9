#!/bin/sh
# Summary: The sge queue plugin: hands the job to (Son of) Grid Engine with qsub; the batch script runs the
#   job wrapper
# Usage: load_queue sge   (function definitions only: queue_check queue_submit queue_state queue_states
#   queue_kill queue_find queue_abandon queue_node; sge_array_submit sge_array_kill for lib/array.sh;
#   ownership, holds and reruns: lib/gridengine.sh, loaded where used with load_lib)
# Output (proto 1): queue_submit prints the Grid Engine job id; queue_states one "WORD NATIVE_STATE JOB_DIR"
#   line per "NATIVE_ID JOB_DIR" line it reads
# Exit: queue_check 69 without qsub, qstat and qdel; queue_submit qsub's status when it refuses
# Config: TEJ_ROOT/sge.conf, KEY=value lines, is the site's: pe=NAME, the parallel environment that
#   cpus ask for (default smp)
# Length: over 250 lines: a plugin is one file (load_queue sources queues/NAME.sh), a third of it the batch script's text
# shellcheck shell=sh

queue_check() {
	for _queue_check_cmd in qsub qstat qdel; do
		if ! has_cmd "$_queue_check_cmd"; then
			say "the sge plugin needs '$_queue_check_cmd' on this host (is this a Grid Engine submit host?)"
			return "$EX_UNAVAILABLE"
		fi
	done
}

# sge_word STATE: the tej word for a Grid Engine job state as qstat shows it (qw, hqw, Eqw, r, t, Rr, s,
# S, T, dr, ...) or, for a job qstat no longer shows, as sge_acct_state gives it (failed=N):
# queued (waiting, held, in error: a person may clear it), running (also suspended, being deleted),
# timeout (qmaster enforced h_rt), killed (qdel), ended (the wrapper's files tell), lost (the job
# failed before it ran), gone (unknown)
sge_word() {
	case $1 in
	'' | -) echo gone ;;
	failed=0) echo ended ;;
	failed=37) echo timeout ;;
	failed=100) echo killed ;;
	failed=*) echo lost ;;
	*[rtsST]*) echo running ;;
	*) echo queued ;;
	esac
}

# sge_seconds SECONDS: the h_rt backstop for a tej time limit. The wrapper enforces the limit to the
# second and then gives the job its kill grace; Grid Engine's limit (a KILL) comes a minute later.
sge_seconds() {
	echo $((($1 + 59) / 60 * 60 + 60))
}

# sge_memory MEMORY NPROC: h_vmem is per slot: the job's memory (e.g. 4G, 512M, 512) shared by its slots, in
# whole megabytes; MEMORY itself when it has another form
sge_memory() {
	case $1 in
	*[!0-9KMGTkmgt]* | [!0-9]* | '') echo "$1" ;;
	*[Kk]) echo "$(((${1%?} + 1024 * $2 - 1) / (1024 * $2)))M" ;;
	*[Mm]) echo "$(((${1%?} + $2 - 1) / $2))M" ;;
	*[Gg]) echo "$(((${1%?} * 1024 + $2 - 1) / $2))M" ;;
	*[Tt]) echo "$(((${1%?} * 1048576 + $2 - 1) / $2))M" ;;
	*) echo "$((($1 + $2 - 1) / $2))M" ;; # tej's memory without a unit is in megabytes
	esac
}

# sge_transient FILE: whether qsub's error output in FILE says that the qmaster did not answer, in which
# case the job may have been created all the same
sge_transient() {
	case $(cat "$1" 2>/dev/null) in
	*"unable to contact"* | *commlib* | *[Tt]imeout* | *[Tt]imed\ out* | *"receiving gdi"* | *"try again"*) return 0 ;;
	esac
	return 1
}

# sge_context JOB_DIR: the job context (qsub -ac) that ties a Grid Engine job to its tej job directory
# (a checksum of its path: -ac values cannot hold every path) and to the submit attempt that made it
sge_context() {
	_sge_context_attempt=$(read_state "$1/attempt") || _sge_context_attempt=
	printf 'tej_attempt=%s,tej_dir=%s\n' "${_sge_context_attempt:-none}" "$(printf '%s' "$1" | cksum | cut -d ' ' -f 1)"
}

# sge_jobs JOB_DIR: print the ids of this user's Grid Engine jobs named after the job and whose context
# names its directory and submit attempt (one, but for a retried qsub that the qmaster took twice); 1
# when there is none, 2 when qstat does not answer
sge_jobs() {
	# -xml: the plain listing cuts names at 10 characters
	_sge_jobs_xml=$(qstat -u "$(id -un)" -xml) || return 2
	_sge_jobs_ids=$(printf '%s\n' "$_sge_jobs_xml" | awk -v name="${1##*/}" '
		/<JB_job_number>/ { gsub(/.*<JB_job_number>|<\/JB_job_number>.*/, ""); id = $0 }
		/<JB_name>/ { gsub(/.*<JB_name>|<\/JB_name>.*/, ""); if ($0 == name) print id }' | sort -u)
	_sge_jobs_context=$(sge_context "$1")
	for _sge_jobs_id in $_sge_jobs_ids; do
		_sge_jobs_line=$(qstat -j "$_sge_jobs_id" 2>/dev/null | sed -n 's/^context: *//p') || continue
		# both variables, wherever qstat puts them among the job's other context
		case ,$_sge_jobs_line, in
		*",${_sge_jobs_context%%,*},"*) ;;
		*) continue ;;
		esac
		case ,$_sge_jobs_line, in
		*",${_sge_jobs_context#*,},"*) printf '%s\n' "$_sge_jobs_id" ;;
		esac
	done | grep . # fails when nothing matched
}

# sge_find JOB_DIR: the first of sge_jobs
sge_find() {
	batch_first_into sge_jobs "$1" || return
	# shellcheck disable=SC2154 # set by batch_first_into (lib/batch.sh)
	printf '%s\n' "$batch_first"
}

# sge_found JOB_DIR: sge_find, else the id the job recorded when it ran (launched): qstat forgets a job
# within seconds of its end (the retry of an unanswered qsub)
sge_found() {
	sge_find "$1" && return
	# shellcheck disable=SC2154 # launched_native is set by launched_into (state.sh)
	launched_into "$1" && printf '%s\n' "$launched_native"
}

# queue_find JOB_DIR: the Grid Engine job of a submit that died after qsub and before it wrote
# native-id, still queued: sge_find (lib/batch.sh)
queue_find() {
	batch_find "$1" qsub sge_find
}

# sge_cancel ID JOB_DIR: qdel one job of an abandoned submit; fails when the qmaster still has it
sge_cancel() {
	if ! qdel "$1" >/dev/null 2>&1 && qstat -j "$1" >/dev/null 2>&1; then
		return 1
	fi
	say "deleted Grid Engine job $1 of the abandoned job ${2##*/}"
}

# queue_abandon JOB_DIR: qdel the Grid Engine jobs of this submit attempt (sge_jobs, lib/batch.sh)
queue_abandon() {
	batch_abandon "$1" sge_jobs sge_cancel
}

# sge_batch_script [ATTEMPT]: the batch script; as slurm's (queues/slurm.sh slurm_batch_script): from
# files the same text for every job, its arguments the queue, the job and the attempt; from the helper
# program it holds the libraries and the wrapper and reaches qsub on its stdin (the qmaster keeps its own
# copy), and the job directory is the working directory (-wd).
sge_batch_script() {
	cat <<'EOF2'
#!/bin/sh
# tej batch script: runs the tej job wrapper in the Grid Engine job
# Usage: qsub [options] batch.sh TEJ_ROOT JOB_DIR [ATTEMPT], or qsub -wd JOB_DIR [options] <batch.sh
# TEJ_JOB_NPROC: the slots Grid Engine granted.
TEJ_ALLOC_NPROC=${NSLOTS:-}
if test $# -ge 2; then
	TEJ_ROOT=$1
	job_dir=$2
else
	job_dir=$(pwd -P)
	TEJ_ROOT=$(cd -P ../.. && pwd -P)
fi
TEJ_NATIVE_ID=${JOB_ID:-}
TEJ_ATTEMPT=${3:-}
EOF2
	# a task of an array (sge_array_submit, below): Grid Engine's task T runs tej's index number T of this list
	# (digits: checked by sge_array_submit)
	if test -n "${sge_array_spec:-}"; then
		# shellcheck disable=SC2154 # digits and blanks, set by sge_array_submit
		printf 'TEJ_ARRAY_TASKS=%s\n' "'$sge_array_tasks'"
		cat <<'EOF2'
if test -n "${SGE_TASK_ID:-}" && test "$SGE_TASK_ID" != undefined; then
	task=$(printf '%s\n' "$TEJ_ARRAY_TASKS" | awk -v t="$SGE_TASK_ID" 't ~ /^[1-9][0-9]*$/ { print $t }')
	# a task id beyond the list (qalter) runs nothing: never the array's own directory
	test -n "$task" || exit 1
	job_dir=$job_dir/$task
	TEJ_NATIVE_ID=$JOB_ID.$SGE_TASK_ID
fi
EOF2
	fi
	cat <<'EOF2'
export TEJ_ALLOC_NPROC TEJ_ROOT TEJ_NATIVE_ID TEJ_ATTEMPT
# The wrapper stays in this script's process group (no setsid): Grid Engine ends a job by a KILL to
# its group (qdel, h_rt), and a wrapper that left it would run on, outside the scheduler. No qsub
# -notify either: its USR1 (suspend) and USR2 (qdel) would reach the wrapper and the job, and the
# wrapper's own time-limit timer speaks USR1.
EOF2
	if test -n "${tej_in_memory:-}"; then
		printf 'TEJ_ATTEMPT=%s\n' "${1:-}" # checked by queue_submit
	fi
	batch_script_code
	cat <<'EOF2'
# the wrapper's TERM to the job may reach this script too: it waits on
trap : TERM
"${TEJ_SHELL:-/bin/sh}" "$@" &
EOF2
	# Grid Engine runs a job whose script exits 99 again, and holds one that exits 100 in error for
	# ever: the job's own code is in its directory (exit-code), the script's goes to Grid Engine only
	batch_script_wait '99 | 100'
}

# queue_submit JOB_DIR: run qsub -terse with the job's resources as separate words, print the Grid
# Engine job id. A qsub that fails for want of an answer may have created the job: before trying again,
# qstat is asked for a job with this name and context.
queue_submit() {
	_qs_dir=$1
	_qs_meta=$1/meta
	if test -z "${tej_in_memory:-}"; then
		sge_batch_script "" >"$_qs_dir/batch.sh"
	fi
	set -- -S /bin/sh
	_qs_nproc=1
	if _qs_v=$(read_state "$_qs_meta/nproc") && test "$_qs_v" -gt 1 2>/dev/null; then
		_qs_nproc=$_qs_v
		_qs_pe=$(key_value "$TEJ_ROOT/sge.conf" pe) || _qs_pe=smp
		set -- "$@" -pe "$_qs_pe" "$_qs_v"
	fi
	if _qs_v=$(read_state "$_qs_meta/time_limit"); then set -- "$@" -l "h_rt=$(sge_seconds "$_qs_v")"; fi
	if _qs_v=$(read_state "$_qs_meta/memory"); then set -- "$@" -l "h_vmem=$(sge_memory "$_qs_v" "$_qs_nproc")"; fi
	if _qs_v=$(read_state "$_qs_meta/gpus") && test "$_qs_v" != 0; then
		say "the sge plugin cannot ask for GPUs (each site names its own complex for them)"
		return "$EX_UNAVAILABLE"
	fi
	if _qs_v=$(read_state "$_qs_meta/slurm/partition"); then set -- "$@" -q "$_qs_v"; fi
	if _qs_v=$(read_state "$_qs_meta/slurm/account"); then set -- "$@" -P "$_qs_v"; fi
	# --after: Grid Engine holds the job until its dependencies have ended (lib/gridengine.sh)
	load_lib gridengine
	# shellcheck disable=SC2154 # sge_hold_bad is set by sge_hold_into
	sge_hold_into "$_qs_meta" || { say "$sge_hold_bad" && return "$EX_TEMPFAIL"; }
	# shellcheck disable=SC2154 # set by sge_hold_into
	test -z "$sge_hold" || set -- "$@" -hold_jid "$sge_hold"
	# tej's own plumbing: the name and context find the job again after a qsub that got no answer.
	# an array (sge_array_submit, below): tasks 1-M, at most K at once; one output file per task ($TASK_ID is
	# Grid Engine's pseudo variable of -o, not the shell's; a rerun task's: sge_array_output)
	if test -n "${sge_array_spec:-}"; then
		set -- "$@" -t "$sge_array_spec"
		test -z "${sge_array_throttle:-}" || set -- "$@" -tc "$sge_array_throttle"
	fi
	# shellcheck disable=SC2016 # expanded by Grid Engine
	set -- "$@" -terse -N "${_qs_dir##*/}" -ac "$(sge_context "$_qs_dir")" \
		-wd "$_qs_dir" -o "${sge_array_output:-$_qs_dir/sge${sge_array_spec:+-\$TASK_ID}.out}" -j y
	if test -z "${tej_in_memory:-}"; then
		set -- "$@" "$_qs_dir/batch.sh" "$TEJ_ROOT" "$_qs_dir" "${TEJ_ATTEMPT:-}"
	fi
	batch_check_attempt
	# a qsub that got no answer is looked for again (sge_found) before it is retried
	batch_submit "$_qs_dir" qsub sge_batch_script sge_transient sge_found "Grid Engine" "$@" || return
	# shellcheck disable=SC2154 # set by batch_submit (lib/batch.sh)
	_qs_out=$batch_out
	# an array's qsub -terse prints JOBID.1-M:1
	_qs_id=${batch_found:-${batch_out%%.*}}
	case $_qs_id in
	'' | *[!0-9]*)
		say "qsub printed no job id: '$_qs_out'"
		return "$EX_FAILURE"
		;;
	esac
	printf '%s\n' "$_qs_id"
}

# sge_lines: read `qstat -u USER`'s listing, print "ID STATE QUEUE" for each job (QUEUE - while it has
# none), "JOBID.T STATE QUEUE" for each task T of an array: a running task has a line of its own, the
# pending ones share one whose ja-task-ID is a list of ranges (1-10:1, 3,5-9:2)
sge_lines() {
	awk 'NR > 2 && NF >= 5 { q = "-"; t = ""
			if ($8 ~ /@/) { q = $8; if (NF >= 10) t = $10 } else if (NF >= 9) t = $9
			if (t == "") { print $1, $5, q; next }
			n = split(t, parts, ","); for (k = 1; k <= n; k++) { r = parts[k]; step = 1
				if (split(r, rs, ":") > 1) { r = rs[1]; step = rs[2] + 0 } if (step < 1) step = 1
				m = split(r, ab, "-"); b = (m > 1) ? ab[2] : ab[1]
				for (i = ab[1] + 0; i <= b + 0; i += step) print $1 "." i, $5, q } }'
}

# sge_acct_state NATIVE_ID NAME: failed=N from qacct's record of that id named NAME (0: the job ran and
# ended, 37: the qmaster enforced h_rt, 100: qdel, other: the job failed before it ran), - when qacct
# has no such record (not yet written, the job never ran, or the id is another job's)
sge_acct_state() {
	_sge_acct_name=$2
	case $1 in
	*.*) set -- "${1%%.*}" -t "${1#*.}" ;; # an array's task (sge_array_submit, below)
	*) set -- "$1" ;;
	esac
	_sge_acct=$(qacct -j "$@" 2>/dev/null | awk -v name="$_sge_acct_name" '$1 == "jobname" { n = $2 }
		$1 == "failed" && n == name { print $2; exit }') || _sge_acct=
	case $_sge_acct in
	'' | *[!0-9]*) echo - ;;
	*) echo "failed=$_sge_acct" ;;
	esac
}

# queue_states: read "NATIVE_ID JOB_DIR" lines, print "WORD NATIVE_STATE JOB_DIR" lines (NATIVE_STATE is
# - when unknown). One qstat call for all of them, and one qacct per job that qstat no longer shows (its
# end is then settled: qacct is asked once per job, but for one that ran and that qacct does not know
# yet). A state only from a job listed, or recorded, under the job's name (sge_join, lib/gridengine.sh).
queue_states() {
	_qss_in=$(cat)
	test -n "$_qss_in" || return 0
	load_lib gridengine
	_qss_ok=yes
	# -xml: the plain listing cuts names at 10 characters
	_qss_qstat=$(qstat -u "$(id -un)" -xml 2>/dev/null) || _qss_ok=no
	_qss_joined=$(printf '%s\n' "$_qss_in" | sge_join "$(printf '%s\n' "$_qss_qstat" | sge_xml_lines)")
	printf '%s\n' "$_qss_joined" | while IFS=' ' read -r _qss_state _qss_id _qss_dir; do
		test -n "$_qss_dir" || continue
		if test "$_qss_ok" != yes; then
			# qstat did not answer: the state files are all there is; settle nothing.
			if test -f "$_qss_dir/start"; then _qss_word=running; else _qss_word=queued; fi
		elif test "$_qss_state" = '?'; then
			# qstat lists that id as another job's: the job's own files answer (lib/batch.sh)
			_qss_state=-
			batch_foreign_into "$_qss_dir" native_settle
			# shellcheck disable=SC2154 # set by batch_foreign_into (lib/batch.sh)
			_qss_word=$batch_word
		else
			if test "$_qss_state" = - && has_cmd qacct; then
				# named after the job, or its array for a task (as sge_join)
				_qss_name=${_qss_dir#"$TEJ_ROOT/jobs/"}
				test "$_qss_name" != "$_qss_dir" || _qss_name=${_qss_dir##*/}
				_qss_state=$(sge_acct_state "$_qss_id" "${_qss_name%%/*}")
			fi
			_qss_word=$(sge_word "$_qss_state")
			if test "$_qss_state" = - && test -f "$_qss_dir/start" && ! test -f "$_qss_dir/exit-code"; then
				# A job that ran and recorded no end, and that qacct does not know yet (the qmaster
				# writes its record up to flush_time later): lost for now, asked again next time.
				_qss_word=lost
			else
				native_settle "$_qss_dir" "$_qss_word" "$_qss_state"
			fi
		fi
		printf '%s %s %s\n' "$_qss_word" "$_qss_state" "$_qss_dir"
	done
}

# queue_state JOB_DIR NATIVE_ID: one job through queue_states
queue_state() {
	printf '%s %s\n' "$2" "$1" | queue_states | {
		read -r _qst_word _qst_rest || _qst_word=lost
		echo "$_qst_word"
	}
}

# sge_listed NATIVE_ID: the job's state in qstat's listing (nothing when it has none); fails when qstat
# does not answer
sge_listed() {
	_sge_listed=$(qstat -u "$(id -un)" 2>/dev/null) || return
	printf '%s\n' "$_sge_listed" | sge_lines | awk -v id="$1" '$1 == id { print $2; exit }'
}

# sge_own_id_into JOB_DIR NATIVE_ID: set sge_own_id to the Grid Engine job tej made for the job in
# JOB_DIR: NATIVE_ID when qstat shows it as that job (sge_owned, lib/gridengine.sh: native-id is in the
# job's reach; a task's, its array's), else the one qstat shows by the job's name and context (a job
# that rewrote its native-id: sge_find; none for a task, whose jobs are its array's); 1 none, 2 qstat
# does not answer. queue_kill's and queue_own_id's one check.
sge_own_id_into() {
	load_lib gridengine
	sge_own_id=
	_soi_status=0
	sge_owned "$1" "$2" || _soi_status=$?
	case $_soi_status in
	0) sge_own_id=$2 ;;
	1)
		case ${1#"$TEJ_ROOT/jobs/"} in */*) return 1 ;; esac
		_soi_status=0
		sge_own_id=$(sge_find "$1") || _soi_status=$?
		case $_soi_status in 0) ;; 1) return 1 ;; *) return 2 ;; esac
		;;
	*) return 2 ;;
	esac
}

# queue_own_id JOB_DIR NATIVE_ID: the Grid Engine job tej made for the job (sge_own_id_into); 1 none, 2
# no answer
queue_own_id() {
	sge_own_id_into "$1" "$2" || return
	printf '%s\n' "$sge_own_id"
}

# queue_node JOB_DIR NATIVE_ID: the host a running job runs on (qstat's queue column, QUEUE@HOST)
queue_node() {
	case $2 in
	'' | *[!0-9.]*) return "$EX_DATAERR" ;;
	esac
	_queue_node_out=$(qstat -u "$(id -un)" 2>/dev/null) || return "$EX_UNAVAILABLE"
	_queue_node_q=$(printf '%s\n' "$_queue_node_out" | sge_lines | awk -v id="$2" '$1 == id { print $3; exit }')
	case $_queue_node_q in
	*@?*) printf '%s\n' "${_queue_node_q#*@}" ;;
	*) return "$EX_UNAVAILABLE" ;;
	esac
}

# queue_kill JOB_DIR NATIVE_ID GRACE: qdel (a queued job too), then wait for Grid Engine to end it: a
# KILL to the batch script's group, the wrapper and the job with it (kill records the end; the job gets
# no grace, and has no exit code).
queue_kill() {
	# only a Grid Engine job tej made for this job (sge_own_id_into; a task's by its array's kill)
	_qk_owned=0
	sge_own_id_into "$1" "$2" || _qk_owned=$?
	case $_qk_owned in
	0) set -- "$1" "$sge_own_id" "$3" ;;
	1)
		# shellcheck disable=SC2154 # set by sge_owned_into (lib/gridengine.sh): the job exists, not as tej's
		test -z "${sge_owned_seen:-}" || say "not deleting Grid Engine job $2: qstat does not show it as tej's job ${1#"$TEJ_ROOT/jobs/"}"
		return 0
		;;
	*) return "$EX_TEMPFAIL" ;;
	esac
	if ! qdel "$2" >/dev/null 2>"$1/qdel.err"; then
		# A job that Grid Engine has ended meanwhile cannot be deleted: that is no failure.
		case $(sge_word "$(sge_listed "$2")") in
		queued | running)
			cat "$1/qdel.err" >&2
			rm -f "$1/qdel.err"
			return "$EX_FAILURE"
			;;
		esac
	fi
	rm -f "$1/qdel.err"
	_qk_left=$(($3 + 90))
	while test "$_qk_left" -gt 0; do
		_qk_state=$(sge_listed "$2") || break
		test -n "$_qk_state" || break
		sleep 1
		_qk_left=$((_qk_left - 1))
	done
	_qk_left=20
	while test "$_qk_left" -gt 0 && test -f "$1/start" && ! test -f "$1/exit-code"; do
		nap
		_qk_left=$((_qk_left - 1))
	done
	return 0
}

# Arrays (lib/array.sh's layout) as one Grid Engine array job: Grid Engine numbers the tasks 1..M
# (qsub -t 1-M, throttled by -tc K); task T runs tej's index number T of the list, which the batch
# script's own text holds (no file a task could rewrite). Each task's directory is prepared at submit
# and given its native id JOBID.T (qstat's job-ID and ja-task-ID); the array's id goes to
# DIR/native-ids, read back as digits, and kill deletes only an id that qstat says is the array's
# (name and context: sge_jobs).

# sge_array_submit DIR: prepare every task of the array in DIR and hand them to Grid Engine: one qsub
# -t 1-M (-tc meta/array/max when the client sent one). Each task gets native-id JOBID.T, and is no
# longer queued by tej (Grid Engine queues it).
sge_array_submit() {
	_gas_dir=$1
	# (array_task_list_into: lib/array.sh, which calls this)
	array_task_list_into "$_gas_dir"
	# shellcheck disable=SC2154 # both set by array_task_list_into
	sge_array_tasks=$array_task_list
	# shellcheck disable=SC2154
	sge_array_spec=1-$array_task_count
	sge_array_throttle=
	# shellcheck disable=SC2154 # state_line is set by read_state_into (common.sh)
	! read_state_into "$_gas_dir/meta/array/max" || sge_array_throttle=$state_line
	case $sge_array_throttle in [1-9] | [1-9]*[0-9]) ;; *) sge_array_throttle= ;; esac
	now_into
	# every task's directory is ready before qsub (array_tasks_prepare, lib/batch.sh)
	array_tasks_prepare "$_gas_dir" sge "$sge_array_tasks" || return
	_gas_id=$(queue_submit "$_gas_dir" </dev/null) || return
	printf '%s\n' "$_gas_id" >"$_gas_dir/native-ids"
	_gas_t=0
	for _gas_i in $sge_array_tasks; do
		_gas_t=$((_gas_t + 1))
		printf '%s.%s\n' "$_gas_id" "$_gas_t" >"$_gas_dir/$_gas_i/native-id"
		rm -f "$_gas_dir/$_gas_i/queued"
	done
	sge_array_spec=
	sge_array_tasks=
	sge_array_throttle=
}

# sge_array_kill DIR GRACE: end the Grid Engine array of DIR with one ownership listing and one qdel,
# not a kill per task: each task not ended is marked killed first (Grid Engine's KILL ends its wrapper
# with it, which then records nothing), then one qdel of every job sge_jobs shows as the array's (its
# own and its reruns; never an id read from native-ids, which a task can write), then one qstat a
# second until none is listed, then each such task's end
sge_array_kill() {
	# asked before any task is marked: a qstat that does not answer leaves the tasks running as they were
	_gak_status=0
	_gak_mine=$(sge_jobs "$1" 2>/dev/null) || _gak_status=$?
	test "$_gak_status" != 2 || array_kill_refused "$1" "qstat did not answer: nothing of the array ${1##*/} was killed; try again"
	array_members_into "${1##*/}" || array_members=
	for _gak_id in $array_members; do
		test -f "$TEJ_ROOT/jobs/$_gak_id/exit-code" || test -f "$TEJ_ROOT/jobs/$_gak_id/killed" ||
			write_state "$TEJ_ROOT/jobs/$_gak_id/killed" "$(now)"
	done
	while IFS= read -r _gak_id || test -n "$_gak_id"; do
		case $_gak_id in '' | *[!0-9]*) continue ;; esac
		case " $(printf '%s' "$_gak_mine" | tr '\n' ' ') " in
		*" $_gak_id "*) ;;
		*) say "not deleting Grid Engine job $_gak_id: qstat does not show it as the array ${1##*/}" ;;
		esac
	done <"$1/native-ids"
	if test -n "$_gak_mine"; then
		# shellcheck disable=SC2086 # digits from qstat's listing, one word each
		qdel $_gak_mine >/dev/null 2>&1 || :
		_gak_left=$(($2 + 90))
		while test "$_gak_left" -gt 0; do
			_gak_listed=$(qstat -u "$(id -un)" 2>/dev/null) || break
			printf '%s\n' "$_gak_listed" | sge_lines | awk -v ids=" $(printf '%s' "$_gak_mine" | tr '\n' ' ') " '
				{ b = $1; sub(/\..*/, "", b); if (index(ids, " " b " ")) found = 1 } END { exit !found }' || break
			sleep 1
			_gak_left=$((_gak_left - 1))
		done
	fi
	for _gak_id in $array_members; do
		_gak_dir=$TEJ_ROOT/jobs/$_gak_id
		test -f "$_gak_dir/exit-code" || test -f "$_gak_dir/end" || write_state "$_gak_dir/end" "$(now)"
	done
}
