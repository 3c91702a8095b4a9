#!/bin/sh
# Summary: The sge queue plugin: hands the job to (Son of) Grid Engine with qsub; the batch script runs the
#   job wrapper
# Usage: load_queue sge   (function definitions only: queue_check queue_submit queue_state queue_states
#   queue_kill queue_find queue_abandon queue_node)
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
	batch_script_wait
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
	# tej's own plumbing: the name and context find the job again after a qsub that got no answer.
	set -- "$@" -terse -N "${_qs_dir##*/}" -ac "$(sge_context "$_qs_dir")" \
		-wd "$_qs_dir" -o "$_qs_dir/sge.out" -j y
	if test -z "${tej_in_memory:-}"; then
		set -- "$@" "$_qs_dir/batch.sh" "$TEJ_ROOT" "$_qs_dir" "${TEJ_ATTEMPT:-}"
	fi
	batch_check_attempt
	# a qsub that got no answer is looked for again (sge_found) before it is retried
	batch_submit "$_qs_dir" qsub sge_batch_script sge_transient sge_found "Grid Engine" "$@" || return
	# shellcheck disable=SC2154 # set by batch_submit (lib/batch.sh)
	_qs_out=$batch_out
	_qs_id=${batch_found:-$batch_out}
	case $_qs_id in
	'' | *[!0-9]*)
		say "qsub printed no job id: '$_qs_out'"
		return "$EX_FAILURE"
		;;
	esac
	printf '%s\n' "$_qs_id"
}

# sge_acct_state NATIVE_ID: failed=N from qacct (0: the job ran and ended, 37: the qmaster enforced h_rt,
# 100: qdel, other: the job failed before it ran), - when qacct has no record (not yet written, or the
# job never ran)
sge_acct_state() {
	_sge_acct=$(qacct -j "$1" 2>/dev/null | awk '$1 == "failed" { print $2; exit }') || _sge_acct=
	case $_sge_acct in
	'' | *[!0-9]*) echo - ;;
	*) echo "failed=$_sge_acct" ;;
	esac
}

# queue_states: read "NATIVE_ID JOB_DIR" lines, print "WORD NATIVE_STATE JOB_DIR" lines (NATIVE_STATE is
# - when unknown). One qstat call for all of them, and one qacct per job that qstat no longer shows (its
# end is then settled: qacct is asked once per job, but for one that ran and that qacct does not know
# yet).
queue_states() {
	_qss_in=$(cat)
	test -n "$_qss_in" || return 0
	_qss_ok=yes
	_qss_qstat=$(qstat -u "$(id -un)" 2>/dev/null) || _qss_ok=no
	# "ID STATE" of the listing's job lines (after two header lines), then the input's "J ID DIR"
	_qss_joined=$(
		{
			printf '%s\n' "$_qss_qstat" | awk 'NR > 2 && NF >= 5 { print "S", $1, $5 }'
			printf '%s\n' "$_qss_in" | sed 's/^/J /'
		} | awk '$1 == "S" { st[$2] = $3; next }
			$1 == "J" && NF >= 3 { s = ($2 in st) ? st[$2] : "-"; sub(/^J /, ""); print s, $0 }'
	)
	printf '%s\n' "$_qss_joined" | while IFS=' ' read -r _qss_state _qss_id _qss_dir; do
		test -n "$_qss_id" || continue
		if test "$_qss_ok" != yes; then
			# qstat did not answer: the state files are all there is; settle nothing.
			if test -f "$_qss_dir/start"; then _qss_word=running; else _qss_word=queued; fi
		else
			if test "$_qss_state" = - && has_cmd qacct; then
				_qss_state=$(sge_acct_state "$_qss_id")
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
	printf '%s\n' "$_sge_listed" | awk -v id="$1" 'NR > 2 && $1 == id { print $5; exit }'
}

# queue_node JOB_DIR NATIVE_ID: the host a running job runs on (qstat's queue column, QUEUE@HOST)
queue_node() {
	case $2 in
	'' | *[!0-9]*) return "$EX_DATAERR" ;;
	esac
	_queue_node_out=$(qstat -u "$(id -un)" 2>/dev/null) || return "$EX_UNAVAILABLE"
	_queue_node_q=$(printf '%s\n' "$_queue_node_out" | awk -v id="$2" 'NR > 2 && $1 == id { print $8; exit }')
	case $_queue_node_q in
	*@?*) printf '%s\n' "${_queue_node_q#*@}" ;;
	*) return "$EX_UNAVAILABLE" ;;
	esac
}

# queue_kill JOB_DIR NATIVE_ID GRACE: qdel (a queued job too), then wait for Grid Engine to end it: a
# KILL to the batch script's group, the wrapper and the job with it (kill records the end; the job gets
# no grace, and has no exit code).
queue_kill() {
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
