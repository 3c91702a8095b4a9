#!/bin/sh
# Summary: The slurm queue plugin: hands the job to Slurm with sbatch; the batch script runs the job wrapper
# Usage: load_queue slurm   (function definitions only: queue_check queue_submit queue_state queue_states
#   queue_kill queue_find queue_abandon queue_exec queue_shell queue_node)
# Output (proto 1): queue_submit prints the Slurm job id; queue_states one "WORD NATIVE_STATE JOB_DIR" line
#   per "NATIVE_ID JOB_DIR" line it reads
# Exit: queue_check 69 without sbatch, squeue and scancel; queue_submit sbatch's status when it refuses
# Length: over 250 lines: a plugin is one file (load_queue sources queues/NAME.sh), a third of it the batch script's text; arrays: lib/slurm-array.sh
# shellcheck shell=sh

queue_check() {
	for _queue_check_cmd in sbatch squeue scancel; do
		if ! has_cmd "$_queue_check_cmd"; then
			say "the slurm plugin needs '$_queue_check_cmd' on this host (is this a Slurm login node?)"
			return "$EX_UNAVAILABLE"
		fi
	done
}

# slurm_word_into STATE: set slurm_word_value to the tej word for a Slurm job state (squeue %T or sacct State, e.g. "CANCELLED by 42"):
# queued, running, killed, timeout, ended (done by itself or failed: the wrapper's files tell), lost
# (the node or the launch failed), gone (unknown to Slurm)
slurm_word_into() {
	case $1 in
	PENDING* | REQUEUE* | RESV_DEL_HOLD* | CONFIGURING* | POWER_UP_NODE*) slurm_word_value=queued ;;
	RUNNING* | COMPLETING* | SUSPENDED* | STOPPED* | SIGNALING* | STAGE_OUT* | RESIZING* | UPDATE_DB*) slurm_word_value=running ;;
	DEPENDENCY_NEVER_SATISFIED) slurm_word_value=unmet ;;
	CANCELLED*) slurm_word_value=killed ;;
	TIMEOUT* | DEADLINE*) slurm_word_value=timeout ;;
	COMPLETED* | FAILED* | OUT_OF_MEMORY* | SPECIAL_EXIT*) slurm_word_value=ended ;;
	NODE_FAIL* | BOOT_FAIL* | LAUNCH_FAILED* | PREEMPTED* | REVOKED*) slurm_word_value=lost ;;
	'' | -) slurm_word_value=gone ;;
	*) slurm_word_value=ended ;;
	esac
}

# slurm_word STATE: slurm_word_into, printed
slurm_word() {
	slurm_word_into "$1"
	echo "$slurm_word_value"
}

# slurm_minutes SECONDS: Slurm's --time in whole minutes for a tej time limit. The wrapper enforces the
# limit to the second and then gives the job its kill grace; Slurm's limit is one minute later, a backstop.
slurm_minutes() {
	echo $((($1 + 59) / 60 + 1))
}

# slurm_transient FILE: whether sbatch's error output in FILE says that slurmctld did not answer in time,
# in which case the job may have been created all the same
slurm_transient() {
	case $(cat "$1" 2>/dev/null) in
	*[Tt]imed\ out* | *"Unable to contact"* | *[Cc]onnection\ refused* | *"Resource temporarily"* | *"try again"* | *[Tt]imeout*)
		return 0
		;;
	esac
	return 1
}

# slurm_comment JOB_DIR: the comment that ties a Slurm job to its tej job directory and to the submit
# attempt that made it (JOB_DIR/attempt: a retry of a submit may replace the job at the same path)
slurm_comment() {
	_slurm_comment_attempt=$(read_state "$1/attempt") || _slurm_comment_attempt=
	printf 'tej %s %s\n' "$1" "$_slurm_comment_attempt"
}

# slurm_jobs JOB_DIR: print the ids of the Slurm jobs of this user named after the job and commented
# with its directory and submit attempt (one, but for a retried sbatch that Slurm took twice); 1 when
# there is none, 2 when squeue does not answer
slurm_jobs() {
	_slurm_jobs_out=$(squeue -h -t all -u "$(id -un)" -n "${1##*/}" -o '%i %k') || return 2
	_slurm_jobs_comment=$(slurm_comment "$1")
	printf '%s\n' "$_slurm_jobs_out" | while IFS= read -r _slurm_jobs_line; do
		if test "${_slurm_jobs_line#* }" = "$_slurm_jobs_comment"; then
			printf '%s\n' "${_slurm_jobs_line%% *}"
		fi
	done | grep . # fails when nothing matched
}

# slurm_find JOB_DIR: the first of slurm_jobs
slurm_find() {
	_slurm_find_ids=$(slurm_jobs "$1") || return
	printf '%s\n' "${_slurm_find_ids%%"$nl"*}"
}

# queue_find JOB_DIR: the Slurm job of a submit that died after sbatch and before it wrote native-id,
# still queued (once it starts, its wrapper records the id in launched): slurm_find (lib/batch.sh)
queue_find() {
	batch_find "$1" sbatch slurm_find
}

# slurm_cancel ID JOB_DIR: scancel one job of an abandoned submit; fails when Slurm still has it
slurm_cancel() {
	if ! scancel "$1" 2>/dev/null; then
		case $(slurm_word "$(squeue -h -j "$1" -o %T 2>/dev/null)") in
		queued | running) return 1 ;;
		esac
	fi
	say "cancelled Slurm job $1 of the abandoned job ${2##*/}"
}

# queue_abandon JOB_DIR: scancel the Slurm jobs of this submit attempt (slurm_jobs, lib/batch.sh)
queue_abandon() {
	batch_abandon "$1" slurm_jobs slurm_cancel
}

# slurm_batch_script [ATTEMPT]: the batch script. From files it is the same text for every job (the job
# directory, the queue and the submit attempt are its arguments, so no user data is ever part of a
# script); from the helper program it also holds the texts of the libraries and of the wrapper, and the
# attempt (a staging directory's name: [A-Za-z0-9._-]), and reaches sbatch on its stdin (Slurm keeps its
# own copy at submit): no file a job could rewrite is read, before or when the job starts. The job
# directory is then the working directory (--chdir), and the queue the directory above jobs/.
slurm_batch_script() {
	cat <<'EOF'
#!/bin/sh
# tej batch script: runs the tej job wrapper in the Slurm allocation
# Usage: sbatch [options] batch.sh TEJ_ROOT JOB_DIR [ATTEMPT], or sbatch --chdir=JOB_DIR [options] <batch.sh
# TEJ_JOB_NPROC: the cpus Slurm allotted (per task, else on this node).
TEJ_ALLOC_NPROC=${SLURM_CPUS_PER_TASK:-${SLURM_CPUS_ON_NODE:-}}
if test $# -ge 2; then
	TEJ_ROOT=$1
	job_dir=$2
else
	job_dir=$(pwd -P)
	TEJ_ROOT=$(cd -P ../.. && pwd -P)
fi
EOF
	# a task of an array (lib/slurm-array.sh): its directory is the array's N, N the Slurm task id plus
	# the block's offset (digits: checked by queue_submit)
	if test -n "${slurm_array_spec:-}"; then
		printf 'TEJ_ARRAY_OFFSET=%s\n' "${slurm_array_offset:-0}"
	fi
	cat <<'EOF'
# The wrapper records the Slurm job id as the job's native id, and runs only for the submit attempt
# that made this Slurm job (a retry may have replaced the job directory meanwhile).
TEJ_NATIVE_ID=${SLURM_JOB_ID:-}
TEJ_ATTEMPT=${3:-}
if test -n "${TEJ_ARRAY_OFFSET:-}" && test -n "${SLURM_ARRAY_TASK_ID:-}"; then
	job_dir=$job_dir/$((SLURM_ARRAY_TASK_ID + TEJ_ARRAY_OFFSET))
	TEJ_NATIVE_ID=${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID
fi
export TEJ_ALLOC_NPROC TEJ_ROOT TEJ_NATIVE_ID TEJ_ATTEMPT

# Slurm TERMs every process of the job at its time limit as on scancel, and the wrapper cannot tell
# which: Slurm can (reason TimeLimit). A timeout is kept in the job directory, where it outlives Slurm's
# memory of the job.
# shellcheck disable=SC2317 # called by the trap
on_term() {
	if test "$(squeue -h -j "$SLURM_JOB_ID" -o %r 2>/dev/null)" = TimeLimit &&
		! test -f "$job_dir/killed" && ! test -f "$job_dir/timed-out"; then
		date +%s >"$job_dir/timed-out.tmp.$$" && mv -f "$job_dir/timed-out.tmp.$$" "$job_dir/timed-out"
	fi
}
trap on_term TERM
EOF
	if test -n "${tej_in_memory:-}"; then
		printf 'TEJ_ATTEMPT=%s\n' "${1:-}" # checked by queue_submit
	fi
	batch_script_code
	cat <<'EOF'

# The wrapper leads its own process group, as under direct (from this shell, setsid does not fork).
if command -v setsid >/dev/null 2>&1; then
	setsid "${TEJ_SHELL:-/bin/sh}" "$@" &
else
	"${TEJ_SHELL:-/bin/sh}" "$@" &
fi
EOF
	batch_script_wait
}

# queue_submit JOB_DIR: write JOB_DIR/batch.sh, run sbatch --parsable with the job's resources as separate
# words, print the Slurm job id. sbatch that fails on a timeout may have created the job: before trying
# again, squeue is asked for a job with this name and comment.
queue_submit() {
	_qs_dir=$1
	_qs_meta=$1/meta
	# From files the script is batch.sh, its arguments the queue and the job; from the helper program
	# it goes on sbatch's stdin (slurm_batch_script).
	case ${slurm_array_offset:-} in *[!0-9]*) die "$EX_FAILURE" "bad array offset: '$slurm_array_offset'" ;; esac
	if test -z "${tej_in_memory:-}"; then
		slurm_batch_script "" >"$_qs_dir/batch.sh"
	fi
	set -- --ntasks=1
	if _qs_v=$(read_state "$_qs_meta/nproc"); then set -- "$@" --cpus-per-task="$_qs_v"; fi
	if _qs_v=$(read_state "$_qs_meta/time_limit"); then set -- "$@" --time="$(slurm_minutes "$_qs_v")"; fi
	if _qs_v=$(read_state "$_qs_meta/memory"); then set -- "$@" --mem="$_qs_v"; fi
	if _qs_v=$(read_state "$_qs_meta/gpus") && test "$_qs_v" != 0; then set -- "$@" --gres="gpu:$_qs_v"; fi
	if _qs_v=$(read_state "$_qs_meta/slurm/partition"); then set -- "$@" --partition="$_qs_v"; fi
	if _qs_v=$(read_state "$_qs_meta/slurm/account"); then set -- "$@" --account="$_qs_v"; fi
	if _qs_v=$(read_state "$_qs_meta/slurm/qos"); then set -- "$@" --qos="$_qs_v"; fi
	# --after: Slurm waits (lib/after.sh); a dependency that can never be met cancels the job
	# shellcheck disable=SC2154 # after_bad and after_status are set by after_slurm_into
	if ! after_slurm_into "$_qs_meta"; then say "$after_bad" && return "$after_status"; fi
	# an array's block waits for the block before it (slurm_array_after: lib/slurm-array.sh)
	# shellcheck disable=SC2154 # set by after_slurm_into
	test -z "${slurm_array_after:-}" || after_slurm=${after_slurm:+$after_slurm,}$slurm_array_after
	test -z "$after_slurm" || set -- "$@" --dependency="$after_slurm" --kill-on-invalid-dep=yes
	# an array (lib/slurm-array.sh): one output file per task
	test -z "${slurm_array_spec:-}" || set -- "$@" --array="$slurm_array_spec"
	# The user's raw options come after those, so that they win over them.
	for _qs_f in "$_qs_meta"/slurm/args/*; do
		test -f "$_qs_f" || continue
		read_raw "$_qs_f"
		# shellcheck disable=SC2154 # raw_value is set by read_raw (common.sh)
		set -- "$@" "$raw_value"
	done
	# tej's own plumbing comes after them: the name and comment find the job again after a timeout.
	set -- "$@" --parsable --job-name="${_qs_dir##*/}" --comment="$(slurm_comment "$_qs_dir")" \
		--chdir="$_qs_dir" --output="$_qs_dir/slurm${slurm_array_spec:+-%A_%a}.out"
	if test -z "${tej_in_memory:-}"; then
		set -- "$@" "$_qs_dir/batch.sh" "$TEJ_ROOT" "$_qs_dir" "${TEJ_ATTEMPT:-}"
	fi

	batch_check_attempt
	batch_submit "$_qs_dir" sbatch slurm_batch_script slurm_transient slurm_find Slurm "$@" || return
	# shellcheck disable=SC2154 # set by batch_submit (lib/batch.sh)
	_qs_out=$batch_out
	_qs_id=${batch_found:-${batch_out%%;*}}
	case $_qs_id in
	'' | *[!0-9_]*)
		say "sbatch printed no job id: '$_qs_out'"
		return "$EX_FAILURE"
		;;
	esac
	printf '%s\n' "$_qs_id"
}

# slurm_unmet JOB_DIR: record the end of a job whose dependencies Slurm says can never be met, as the
# direct wrapper records one (after_wait, lib/after.sh): `dependency` ("ID STATE": the first dependency
# that must succeed and did not, else the first), end, exit code 125; it never started.
slurm_unmet() {
	_slurm_unmet_line=
	while read -r _slurm_unmet_id _slurm_unmet_mode _slurm_unmet_rest; do
		is_job_id "$_slurm_unmet_id" || continue
		_slurm_unmet_dir=$TEJ_ROOT/jobs/$_slurm_unmet_id
		test -n "$_slurm_unmet_line" || _slurm_unmet_line="$_slurm_unmet_id unmet"
		test "$_slurm_unmet_mode" = ok || continue
		_slurm_unmet_state=
		# shellcheck disable=SC2154 # state_line is set by read_state_into (common.sh)
		if test -f "$_slurm_unmet_dir/killed"; then
			_slurm_unmet_state=killed
		elif test -f "$_slurm_unmet_dir/timed-out"; then
			_slurm_unmet_state=timeout
		elif read_state_into "$_slurm_unmet_dir/exit-code" && test "$state_line" != 0; then
			_slurm_unmet_state=failed
		fi
		if test -n "$_slurm_unmet_state"; then
			_slurm_unmet_line="$_slurm_unmet_id $_slurm_unmet_state"
			break
		fi
	done <"$1/meta/after"
	write_state "$1/dependency" "${_slurm_unmet_line:-- unmet}"
	write_state "$1/end" "$(now)"
	write_state "$1/exit-code" 125
}

# slurm_settle JOB_DIR WORD NATIVE_STATE: native_settle (lib/answers.sh); a job whose dependencies Slurm
# says can never be met (unmet) is cancelled first (a Slurm without --kill-on-invalid-dep keeps it
# pending for ever) and recorded ended unrun, as a direct job whose dependency failed (lib/after.sh)
slurm_settle() {
	if test "$2" = unmet; then
		# only a Slurm job tej made for this job (slurm_owned, as kill): native-id is in a job's reach, and
		# Slurm's word for a job tej did not make says nothing of this one: nothing is cancelled or
		# recorded then (nor when squeue does not answer: the next status settles it)
		# shellcheck disable=SC2154 # native_value is set by native_id_into (lib/state.sh)
		native_id_into "$1" && slurm_owned "$1" "$native_value" || return 0
		scancel "$native_value" 2>/dev/null || true
		test -f "$1/exit-code" || slurm_unmet "$1"
	fi
	native_settle "$@"
}

# slurm_join SQUEUE_LINES: read "NATIVE_ID JOB_DIR" lines, print "NATIVE_STATE NATIVE_ID JOB_DIR" lines
# from squeue's "ID STATE REASON|NAME|COMMENT" lines. A job that Slurm is ending shows as COMPLETING: its
# reason tells a time limit (TIMEOUT) from the rest. native-id is in the job's reach: a state counts only
# when squeue shows that id as tej's for the job (named after it, its array for a task, and commented
# "tej DIR ...": slurm_comment), as kill asks (slurm_owned). A rewritten id gives the state of the job
# that squeue shows so (found by name and comment; not for a task), with its id; else "? - JOB_DIR" (the
# id is another job's: slurm_foreign).
# NATIVE_STATE - when squeue has no such job (sacct may know it: slurm_sacct_join). The pending tasks of
# an array are one line, JOBID_[1,3-11%3] (lib/slurm-array.sh).
slurm_join() {
	{
		printf '%s\n' "$1" | sed 's/^/S /'
		sed 's/^/J /'
	} | awk -v jobs="$TEJ_ROOT/jobs/" '
		function mine(i, own, name) { return (i in st) && nm[i] == name && (co[i] == "tej " own || index(co[i], "tej " own " ") == 1) }
		$1 == "S" { l = substr($0, 3); p = index(l, "|"); if (!p) next
			r = substr(l, p + 1); q = index(r, "|"); if (!q) next
			name = substr(r, 1, q - 1); cm = substr(r, q + 1)
			if (split(substr(l, 1, p - 1), f, " ") < 2) next
			s = f[2]; if (s == "COMPLETING" && f[3] == "TimeLimit") s = "TIMEOUT"
			if (f[3] == "DependencyNeverSatisfied") s = "DEPENDENCY_NEVER_SATISFIED"
			if (f[1] ~ /^[0-9]+_\[[0-9,-]+(%[0-9]+)?\]$/) {
				j = f[1]; sub(/_.*/, "", j); t = f[1]; sub(/^[0-9]+_\[/, "", t); sub(/(%[0-9]+)?\]$/, "", t)
				n = split(t, rg, ","); for (k = 1; k <= n; k++) { m = split(rg[k], ab, "-"); b = (m > 1) ? ab[2] : ab[1]
					for (i = ab[1] + 0; i <= b + 0; i++) { st[j "_" i] = s; nm[j "_" i] = name; co[j "_" i] = cm } }
				next }
			st[f[1]] = s; nm[f[1]] = name; co[f[1]] = cm
			if (f[1] !~ /_/) byname[name] = byname[name] " " f[1]
			next }
		$1 == "J" && NF >= 3 { id = $2; dir = substr($0, length($1) + length($2) + 3)
			own = dir; rel = (index(dir, jobs) == 1) ? substr(dir, length(jobs) + 1) : ""
			task = (rel ~ /\//); if (task) sub(/\/[^\/]*$/, "", own)
			name = own; sub(/.*\//, "", name)
			if (mine(id, own, name)) { print st[id], id, dir; next }
			found = ""
			if (!task) { n = split(byname[name], c, " "); for (k = 1; k <= n && found == ""; k++) if (mine(c[k], own, name)) found = c[k] }
			if (found != "") print st[found], found, dir
			else if (id in st) print "?", "-", dir
			else print "-", id, dir }'
}

# slurm_sacct_join SACCT_LINES: read slurm_join's lines, print "NATIVE_STATE NATIVE_ID SQUEUE_STATE
# JOB_DIR" lines: a job squeue no longer lists takes the state that sacct's "JOBIDRAW|STATE|JOBNAME"
# line for its id gives (its first word: "CANCELLED by 42"), when the name is the job's (its array's for
# a task); an id that sacct shows under another name is not the job's ("? -").
slurm_sacct_join() {
	{
		printf '%s\n' "$1" | sed 's/^/A|/'
		sed 's/^/J /'
	} | awk -v jobs="$TEJ_ROOT/jobs/" '
		/^A\|/ { n = split($0, f, "|"); if (n >= 4) { split(f[3], w, " "); sst[f[2]] = w[1]; snm[f[2]] = f[4] } next }
		$1 == "J" && NF >= 4 { s = $2; id = $3; dir = substr($0, length($1) + length($2) + length($3) + 4)
			if (s == "-" && id in sst) {
				own = dir; rel = (index(dir, jobs) == 1) ? substr(dir, length(jobs) + 1) : ""
				if (rel ~ /\//) sub(/\/[^\/]*$/, "", own)
				name = own; sub(/.*\//, "", name)
				if (snm[id] == name) print sst[id], id, s, dir; else print "?", "-", s, dir
			} else print s, id, s, dir }'
}

# queue_states: read "NATIVE_ID JOB_DIR" lines, print "WORD NATIVE_STATE JOB_DIR" lines (NATIVE_STATE is
# - when unknown). One squeue call for all of them, and one sacct call (when there is a working sacct) for
# the jobs that squeue no longer knows; a state only from what they show as tej's for the job (slurm_join).
queue_states() {
	_qss_in=$(cat)
	test -n "$_qss_in" || return 0
	_qss_ok=yes
	_qss_squeue=$(squeue -h -t all -u "$(id -un)" -o '%i %T %r|%j|%k' 2>/dev/null) || _qss_ok=no
	_qss_joined=$(printf '%s\n' "$_qss_in" | slurm_join "$_qss_squeue")
	_qss_unknown=
	if test "$_qss_ok" = yes; then
		_qss_unknown=$(printf '%s\n' "$_qss_joined" | awk '$1 == "-" && $2 != "-" { printf "%s%s", sep, $2; sep = "," }')
	fi
	_qss_sacct=
	if test -n "$_qss_unknown" && has_cmd sacct; then
		_qss_sacct=$(sacct -n -P -X -o JobIDRaw,State,JobName -j "$_qss_unknown" 2>/dev/null) || _qss_sacct=
	fi
	# "STATE ID SQUEUE_STATE DIR": sacct's state for the jobs squeue no longer lists
	_qss_joined=$(printf '%s\n' "$_qss_joined" | slurm_sacct_join "$_qss_sacct")
	# the usage of the jobs that may settle now: one more sacct (lib/sacct.sh)
	# (lib/sacct.sh: a library of the commands only, never the wrapper's: load_lib)
	if test "$_qss_ok" = yes; then
		load_lib sacct
		sacct_usage_ask "$(sacct_usage_ids "$_qss_joined")"
	fi
	printf '%s\n' "$_qss_joined" | while IFS=' ' read -r _qss_state _qss_id _qss_squeue_state _qss_dir; do
		test -n "$_qss_dir" || continue
		if test "$_qss_ok" != yes; then
			# squeue did not answer: the state files are all there is; settle nothing.
			if test -f "$_qss_dir/start"; then _qss_word=running; else _qss_word=queued; fi
		elif test "$_qss_state" = '?'; then
			# Slurm shows that id as another job's: the job's own files answer (lib/batch.sh)
			_qss_state=-
			batch_foreign_into "$_qss_dir" slurm_settle
			# shellcheck disable=SC2154 # set by batch_foreign_into (lib/batch.sh)
			_qss_word=$batch_word
		else
			# no fork per job: an array's thousand tasks are a thousand lines
			slurm_word_into "$_qss_state"
			_qss_word=$slurm_word_value
			case $_qss_word in
			queued | running | unmet) slurm_settle "$_qss_dir" "$_qss_word" "$_qss_state" ;;
			*) if sacct_usage_settle "$_qss_dir" "$_qss_id" "$_qss_squeue_state"; then slurm_settle "$_qss_dir" "$_qss_word" "$_qss_state"; fi ;;
			esac
		fi
		printf '%s %s %s\n' "$_qss_word" "$_qss_state" "$_qss_dir"
	done
}

# queue_state JOB_DIR NATIVE_ID: one job through queue_states
queue_state() {
	queue_state_by_states "$@"
}

# queue_exec JOB_DIR NATIVE_ID STATE COMMAND [ARGS...]: a running job's command runs inside its allocation
# (a step on its first node that shares the job's resources: --overlap, Slurm 20.11 and later), in the
# current directory (the job's work/, on the shared file system) with the environment exported here; a
# job that is not running (queued, ended: it has no node) has it run here, on the login node.
queue_exec() {
	slurm_step_or_here "$2" "$3" --quiet "$@"
}

# queue_shell JOB_DIR NATIVE_ID STATE SHELL [ARGS...]: as queue_exec, with a terminal inside the
# allocation (srun --pty: the step's stdin, stdout and stderr are a pseudo-terminal on the node, which
# srun relays to this one, window size changes included).
queue_shell() {
	slurm_step_or_here "$2" "$3" --pty "$@"
}

# slurm_step_or_here NATIVE_ID STATE SRUN_OPTION JOB_DIR NATIVE_ID STATE COMMAND [ARGS...]: COMMAND as a
# step of job NATIVE_ID (with SRUN_OPTION) when it is running and srun is here, else run here.
slurm_step_or_here() {
	_slurm_step_native=$1
	_slurm_step_state=$2
	_slurm_step_option=$3
	shift 6
	case $_slurm_step_native in
	'' | *[!0-9_]*) _slurm_step_state= ;;
	esac
	if test "$_slurm_step_state" = running && has_cmd srun; then
		srun --jobid="$_slurm_step_native" --overlap "$_slurm_step_option" --quiet --nodes=1 --ntasks=1 --chdir="$PWD" --export=ALL -- "$@"
		return
	fi
	"$@"
}

# queue_node JOB_DIR NATIVE_ID: the first node of a running job's allocation (squeue %N is a host list
# such as c[01-04]; scontrol expands it), where the batch script and so the job itself run.
queue_node() {
	case $2 in
	'' | *[!0-9_]*) return "$EX_DATAERR" ;;
	esac
	_queue_node_list=$(squeue -h -j "$2" -o %N 2>/dev/null) || return "$EX_UNAVAILABLE"
	case $_queue_node_list in
	'' | '(null)') return "$EX_UNAVAILABLE" ;;
	*[[,]*) scontrol show hostnames "$_queue_node_list" | head -n 1 ;;
	*) printf '%s\n' "$_queue_node_list" ;;
	esac
}

# queue_kill JOB_DIR NATIVE_ID GRACE: scancel (a queued job too), then wait for Slurm to end it: Slurm
# sends TERM, then KILL after its KillWait. The wrapper survives the TERM and records the end.
queue_kill() {
	# only a Slurm job tej made for this job (slurm_own_id_into): native-id is in the job's reach (a task
	# is killed with its array: slurm_array_kill)
	_qk_owned=0
	slurm_own_id_into "$1" "$2" || _qk_owned=$?
	case $_qk_owned in
	0) set -- "$1" "$slurm_own_id" "$3" ;;
	1) return 0 ;;
	*) return "$EX_TEMPFAIL" ;;
	esac
	if ! scancel "$2" 2>"$1/scancel.err"; then
		# A job that Slurm has ended meanwhile cannot be cancelled: that is no failure.
		_qk_state=$(squeue -h -j "$2" -o %T 2>/dev/null) || _qk_state=
		case $(slurm_word "$_qk_state") in
		queued | running)
			cat "$1/scancel.err" >&2
			rm -f "$1/scancel.err"
			return "$EX_FAILURE"
			;;
		esac
	fi
	rm -f "$1/scancel.err"
	_qk_left=$(($3 + 30))
	while test "$_qk_left" -gt 0; do
		_qk_state=$(squeue -h -j "$2" -o %T 2>/dev/null) || break
		case $(slurm_word "$_qk_state") in
		queued | running) ;;
		*) break ;;
		esac
		sleep 1
		_qk_left=$((_qk_left - 1))
	done
	wait_end_record "$1"
}

# slurm_owned_into DIR: set slurm_owned_bases to the Slurm ids (%F: an array's own id) of this user's
# jobs that tej submitted for the job or array in DIR: named after it and commented "tej DIR ..."
# (slurm_comment). Slurm holds those two as sbatch got them: a job cannot rewrite them in its files.
# 2 when squeue does not answer.
slurm_owned_into() {
	_so_out=$(squeue -h -t all -u "$(id -un)" -n "${1##*/}" -o '%F %k' 2>/dev/null) || return 2
	slurm_owned_bases=
	slurm_owned_dir=$1
	while IFS= read -r _so_line; do
		case ${_so_line%% *} in '' | *[!0-9]*) continue ;; esac
		case ${_so_line#* } in
		"tej $1" | "tej $1 "*) slurm_owned_bases="$slurm_owned_bases ${_so_line%% *}" ;;
		esac
	done <<EOF_SO
$_so_out
EOF_SO
	slurm_owned_bases="$slurm_owned_bases "
}

# slurm_own_id_into DIR NATIVE: set slurm_own_id to the Slurm job tej made for the job in DIR: NATIVE
# (read from files the job can write) when slurm_owned confirms it, else the one squeue shows by the
# job's name and comment (slurm_find: a job that rewrote its native-id). 1 when Slurm has none, 2 when
# squeue does not answer.
slurm_own_id_into() {
	slurm_own_id=
	_soi_status=0
	slurm_owned "$1" "$2" || _soi_status=$?
	case $_soi_status in
	0) slurm_own_id=$2 ;;
	1) slurm_own_id=$(slurm_find "$1") || return ;;
	*) return 2 ;;
	esac
}

# queue_own_id JOB_DIR NATIVE_ID: slurm_own_id_into, printed (where, exec and shell run only in or
# about the allocation of a job tej made for this one)
queue_own_id() {
	slurm_own_id_into "$1" "$2" || return
	printf '%s\n' "$slurm_own_id"
}

# slurm_owned DIR NATIVE: whether NATIVE (JOBID or JOBID_N, read from files the job can write) is a
# Slurm job tej submitted for the job in DIR, or for its array when DIR is a task's (ID/N: by the id
# the caller named, not by a file). Asks squeue unless slurm_owned_into was run for that directory
# (slurm_array_kill, lib/slurm-array.sh: one squeue for an array's tasks). 1 when it is not, 2 when squeue does not
# answer. So `kill` cancels only what tej made for this job (docs/protocol.md, "Arrays").
slurm_owned() {
	_so_dir=$1
	case ${1#"$TEJ_ROOT/jobs/"} in */*) _so_dir=${1%/*} ;; esac
	_so_base=${2%%_*}
	case $_so_base in '' | *[!0-9]*) return 1 ;; esac
	case ${2#"$_so_base"} in '' | _[0-9]*) ;; *) return 1 ;; esac
	case ${2#"$_so_base"_} in *[!0-9]*) return 1 ;; esac
	if test "${slurm_owned_dir-}" != "$_so_dir"; then
		slurm_owned_into "$_so_dir" || return 2
	fi
	case $slurm_owned_bases in *" $_so_base "*) return 0 ;; esac
	return 1
}
