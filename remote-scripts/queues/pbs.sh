#!/bin/sh
# Summary: The pbs queue plugin: hands the job to PBS Pro/OpenPBS or Torque with qsub; the batch script
#   runs the job wrapper, whose own record decides how the job ended
# Usage: load_queue pbs   (function definitions only: queue_check queue_config queue_submit queue_state
#   queue_states queue_kill queue_find queue_abandon queue_node)
# Output (proto 1): queue_submit prints the PBS job id; queue_states one "WORD NATIVE_STATE JOB_DIR" line
#   per "NATIVE_ID JOB_DIR" line it reads; queue_config one "pbs_dialect=torque|pbspro" line
# Exit: queue_check 69 without qsub, qstat and qdel; queue_submit 1 when qsub refuses, 75 when the server
#   did not answer three times
# Length: over 250 lines: a plugin is one file (load_queue sources queues/NAME.sh), a fifth of it the
#   batch script's text
# shellcheck shell=sh

queue_check() {
	for _queue_check_cmd in qsub qstat qdel; do
		if ! has_cmd "$_queue_check_cmd"; then
			say "the pbs plugin needs '$_queue_check_cmd' on this host (is this a PBS or Torque login node?)"
			return "$EX_UNAVAILABLE"
		fi
	done
	# setup recorded the dialect it detected (queue_config): no qstat --version on every submit. config is
	# in a job's reach, but this only checks that the plugin the client named fits this host's qstat: a
	# rewritten line skips a check and steers nothing else (pbs_dialect reads it anyway)
	pbs_recorded_dialect >/dev/null && return 0
	pbs_detect >/dev/null || {
		say "qstat here is not PBS's nor Torque's (qstat --version names neither)"
		return "$EX_UNAVAILABLE"
	}
}

# pbs_detect: print the dialect of this host's qstat: pbspro (PBS Pro, OpenPBS: qstat --version prints
# "pbs_version = ..."), else torque (Torque prints "Version: ...", Slurm's Torque-style wrappers nothing);
# fail for Grid Engine's, which prints "SGE 8.1.9" (or "OGS/GE", "UGE", "Grid Engine")
pbs_detect() {
	case $(qstat --version 2>&1 || :) in
	*pbs_version*) echo pbspro ;;
	*SGE* | *GE\ * | *GE/* | *"Grid Engine"*) return 1 ;;
	*) echo torque ;;
	esac
}

# queue_config: the line setup records in the queue's config: the dialect, detected once
queue_config() {
	_queue_config_dialect=$(pbs_detect) || _queue_config_dialect=torque
	printf 'pbs_dialect=%s\n' "$_queue_config_dialect"
}

# pbs_recorded_dialect: print the dialect setup recorded in config (a job can write it: only the two
# known words count); fail when it holds none
pbs_recorded_dialect() {
	_pbs_dialect=
	if test -f "$TEJ_ROOT/config"; then
		while IFS= read -r _pbs_dialect_line || test -n "$_pbs_dialect_line"; do
			case $_pbs_dialect_line in
			pbs_dialect=torque) _pbs_dialect=torque ;;
			pbs_dialect=pbspro) _pbs_dialect=pbspro ;;
			esac
			_pbs_dialect_line=
		done <"$TEJ_ROOT/config"
	fi
	test -n "$_pbs_dialect" && echo "$_pbs_dialect"
}

# pbs_dialect: the dialect setup recorded (pbs_recorded_dialect), else detected again
pbs_dialect() {
	pbs_recorded_dialect || pbs_detect || echo torque
}

# pbs_word LETTER: the tej word for a job_state letter of qstat: queued, running, ended (the wrapper's
# record tells how: PBS's C and F say nothing of it), lost (moved to another server: no longer this
# one's), gone (unknown to the server)
pbs_word() {
	case $1 in
	Q | H | W | T) echo queued ;;     # queued, held, waiting for its start time, in transit
	R | E | B | S | U) echo running ;; # running, exiting, array begun, suspended (by the server, by the user's activity)
	C | F | X) echo ended ;;           # completed (Torque, and Slurm's wrappers for every end), finished, expired subjob
	M) echo lost ;;                    # moved to another server
	'' | -) echo gone ;;
	*) echo ended ;;
	esac
}

# pbs_parse_full: read `qstat -f` output, print "ID LETTER NAME" for each job (Job Id:, Job_Name = and
# job_state = lines, Torque's, PBS Pro's and Slurm's wrappers' alike; NAME - when it has none)
pbs_parse_full() {
	awk '/^Job Id:/ { id = $3; name = "-"; next }
		id != "" && $1 == "Job_Name" && $2 == "=" { name = $3 }
		id != "" && $1 == "job_state" && $2 == "=" { print id, $3, name; id = "" }'
}

# pbs_tag JOB_DIR: the job name that ties a PBS job to its tej job directory and to the submit attempt
# that made it (Torque takes 15 characters, starting with a letter: "tej" and a checksum)
pbs_tag() {
	_pbs_tag_attempt=$(read_state "$1/attempt") || _pbs_tag_attempt=
	_pbs_tag_sum=$(printf 'tej %s %s\n' "$1" "$_pbs_tag_attempt" | cksum) || return
	printf 'tej%s\n' "${_pbs_tag_sum%% *}"
}

# pbs_jobs JOB_DIR: print the ids of this user's PBS jobs named with the job's tag (one, but for a
# retried qsub that the server took twice; an array's subjobs too, which Torque names TAG-N, or TAG[N] as
# its qstat man page shows them); 1 when there is none, 2 when qstat does not answer
pbs_jobs() {
	_pbs_jobs_out=$(qstat -f 2>/dev/null) || test -n "$_pbs_jobs_out" || return 2
	_pbs_jobs_tag=$(pbs_tag "$1") || return 2
	printf '%s\n' "$_pbs_jobs_out" | awk -v tag="$_pbs_jobs_tag" -v user="$(id -un)" '
		/^Job Id:/ { id = $3; name = ""; owner = ""; next }
		$1 == "Job_Name" { name = $3; rest = substr(name, length(tag) + 1)
			if (index(name, tag) == 1 && (rest ~ /^-[0-9]+$/ || rest ~ /^\[[0-9]+\]$/)) name = tag }
		$1 == "Job_Owner" { owner = $3; sub(/@.*/, "", owner) }
		id != "" && name == tag && owner == user { print id; id = "" }' | grep . # fails when nothing matched
}

# pbs_find JOB_DIR: the first of pbs_jobs
pbs_find() {
	batch_first_into pbs_jobs "$1" || return
	# shellcheck disable=SC2154 # set by batch_first_into (lib/batch.sh)
	printf '%s\n' "$batch_first"
}

# queue_find JOB_DIR: the PBS job of a submit that died after qsub and before it wrote native-id
# (lib/batch.sh)
queue_find() {
	batch_find "$1" qsub pbs_find
}

# pbs_cancel ID JOB_DIR: qdel one job of an abandoned submit
pbs_cancel() {
	qdel "$1" 2>/dev/null || :
	say "deleted PBS job $1 of the abandoned job ${2##*/}"
}

# queue_abandon JOB_DIR: qdel the PBS jobs of this submit attempt; 2 when qstat does not answer
queue_abandon() {
	batch_abandon "$1" pbs_jobs pbs_cancel
}

# pbs_batch_script ATTEMPT: the batch script, the same text for every job but for the submit attempt (a
# staging directory's name: [A-Za-z0-9._-]) and, from the helper program, the texts of the libraries
# and of the wrapper. qsub runs in the job directory, which the job finds again as PBS_O_WORKDIR (PBS,
# Torque) or its working directory (Slurm's wrappers); the server keeps its own copy of the script.
pbs_batch_script() {
	cat <<'EOF'
#!/bin/sh
# tej batch script: runs the tej job wrapper in the PBS job
cd "${PBS_O_WORKDIR:-.}" || exit 1
job_dir=$(pwd -P)
TEJ_ROOT=$(cd -P ../.. && pwd -P)
# The cpus the server allotted: PBS Pro's NCPUS, Torque's PBS_NUM_PPN, Slurm's (its Torque wrappers).
TEJ_ALLOC_NPROC=${NCPUS:-${PBS_NUM_PPN:-${SLURM_CPUS_ON_NODE:-}}}
# The wrapper records the job id as the job's native id, and runs only for the submit attempt that
# made this job (a retry may have replaced the job directory meanwhile).
TEJ_NATIVE_ID=${PBS_JOBID:-${SLURM_JOB_ID:-}}
export TEJ_ALLOC_NPROC TEJ_ROOT TEJ_NATIVE_ID
EOF
	# a task of an array (lib/pbsarray.sh): its directory is the array's
	test -z "${pbs_array_spec:-}" || pbs_array_script
	printf 'TEJ_ATTEMPT=%s\nexport TEJ_ATTEMPT\n' "$1" # checked by queue_submit
	batch_script_code
	cat <<'EOF'
# The wrapper stays in the job's session (no setsid): PBS's mom ends a job by its session, and a wrapper
# outside it would outlive qdel and the walltime. Their TERM reaches this shell too, which waits for the
# wrapper to record the end it saw.
trap : TERM
"${TEJ_SHELL:-/bin/sh}" "$@" &
EOF
	batch_script_wait
}

# pbs_no_script ATTEMPT: qsub's stdin: nothing (the script is JOB_DIR/batch.sh, an argument)
pbs_no_script() {
	:
}

# pbs_memory SIZE: a tej memory size (Slurm's units: K, M (the default), G, T) in PBS's (kb, mb, gb, tb)
pbs_memory() {
	case $1 in
	*[Kk]) echo "${1%?}kb" ;;
	*[Mm]) echo "${1%?}mb" ;;
	*[Gg]) echo "${1%?}gb" ;;
	*[Tt]) echo "${1%?}tb" ;;
	*) echo "${1}mb" ;;
	esac
}

# pbs_walltime SECONDS: the walltime for a tej time limit, one minute later than it (the wrapper enforces
# the limit to the second and gives the job its kill grace; PBS's is a backstop), as HH:MM:SS
pbs_walltime() {
	_pbs_walltime_s=$(($1 + 60))
	printf '%02d:%02d:%02d\n' $((_pbs_walltime_s / 3600)) $((_pbs_walltime_s / 60 % 60)) $((_pbs_walltime_s % 60))
}

# pbs_resources META DIALECT: print qsub's resource words, one a line: one -l with the cpus, memory and
# gpus as a select (pbspro) or nodes (torque) request and the walltime (one -l: Slurm's wrappers keep
# only the last), then -q, -A
pbs_resources() {
	_pbs_res_l=
	_pbs_res_cpus=$(read_state "$1/nproc") || _pbs_res_cpus=
	_pbs_res_mem=$(read_state "$1/memory") || _pbs_res_mem=
	_pbs_res_gpus=$(read_state "$1/gpus") || _pbs_res_gpus=0
	if test -n "$_pbs_res_cpus$_pbs_res_mem" || test "$_pbs_res_gpus" != 0; then
		if test "$2" = pbspro; then
			_pbs_res_l=select=1:ncpus=${_pbs_res_cpus:-1}
			test -z "$_pbs_res_mem" || _pbs_res_l=$_pbs_res_l:mem=$(pbs_memory "$_pbs_res_mem")
			test "$_pbs_res_gpus" = 0 || _pbs_res_l=$_pbs_res_l:ngpus=$_pbs_res_gpus
		else
			_pbs_res_l=nodes=1:ppn=${_pbs_res_cpus:-1}
			test "$_pbs_res_gpus" = 0 || _pbs_res_l=$_pbs_res_l:gpus=$_pbs_res_gpus
			test -z "$_pbs_res_mem" || _pbs_res_l=$_pbs_res_l,mem=$(pbs_memory "$_pbs_res_mem")
		fi
	fi
	if _pbs_res_v=$(read_state "$1/time_limit"); then
		_pbs_res_l=${_pbs_res_l:+$_pbs_res_l,}walltime=$(pbs_walltime "$_pbs_res_v")
	fi
	if test -n "$_pbs_res_l"; then printf -- '-l\n%s\n' "$_pbs_res_l"; fi
	if _pbs_res_v=$(read_state "$1/slurm/partition"); then printf -- '-q\n%s\n' "$_pbs_res_v"; fi
	if _pbs_res_v=$(read_state "$1/slurm/account"); then printf -- '-A\n%s\n' "$_pbs_res_v"; fi
}

# pbs_transient FILE: whether qsub's error output in FILE says that the server did not answer in time,
# in which case the job may have been created all the same
pbs_transient() {
	case $(cat "$1" 2>/dev/null) in
	*[Tt]imed\ out* | *"End of File"* | *[Cc]onnection\ refused* | *"cannot connect"* | *"Resource temporarily"* | *"try again"* | *[Tt]imeout*)
		return 0
		;;
	esac
	return 1
}

# queue_submit JOB_DIR: write JOB_DIR/batch.sh, run qsub in JOB_DIR with the job's resources as separate
# words, print the PBS job id. A qsub that fails on a timeout may have created the job: before trying
# again, qstat is asked for a job with this job's tag (pbs_tag).
queue_submit() {
	_qs_dir=$1
	_qs_meta=$1/meta
	# The attempt goes into the text of the script: a staging directory's name.
	batch_check_attempt
	for _qs_f in "$_qs_meta/slurm/qos" "$_qs_meta"/slurm/args/*; do
		if test -f "$_qs_f"; then
			say "the pbs plugin takes no qos nor sbatch_args (they are Slurm's): drop them from the job"
			return "$EX_DATAERR"
		fi
	done
	# --after (lib/after.sh): nothing here would wait (the direct wrapper's wait is direct's, PBS's
	# -W depend is not mapped yet): refused rather than run at once
	if test -s "$_qs_meta/after"; then
		say "the pbs plugin cannot wait for other jobs yet (--after): submit this job once they have ended"
		return "$EX_UNAVAILABLE"
	fi
	pbs_batch_script "${TEJ_ATTEMPT:-}" >"$_qs_dir/batch.sh" || return "$EX_FAILURE"
	# Each word on a line of its own (values from meta have no newline: read_state reads one line).
	_qs_words=$(pbs_resources "$_qs_meta" "$(pbs_dialect)") || return "$EX_FAILURE"
	set --
	_qs_rest=$_qs_words
	while test -n "$_qs_rest"; do
		_qs_w=${_qs_rest%%"$nl"*}
		if test "$_qs_w" = "$_qs_rest"; then _qs_rest=; else _qs_rest=${_qs_rest#*"$nl"}; fi
		test -z "$_qs_w" || set -- "$@" "$_qs_w"
	done
	# an array (lib/pbsarray.sh): -J on PBS Pro, -t on Torque (and Slurm's wrappers)
	if test -n "${pbs_array_spec:-}"; then
		if test "$(pbs_dialect)" = pbspro; then set -- "$@" -J "$pbs_array_spec"; else set -- "$@" -t "$pbs_array_spec"; fi
	fi
	set -- "$@" -N "$(pbs_tag "$_qs_dir")" -j oe -o "$_qs_dir/pbs.out" "$_qs_dir/batch.sh"
	batch_submit "$_qs_dir" qsub pbs_no_script pbs_transient pbs_find "the server" "$@" || return
	# shellcheck disable=SC2154 # set by batch_submit (lib/batch.sh)
	_qs_out=$batch_out
	_qs_id=${batch_found:-$(printf '%s\n' "$batch_out" | sed -n '/./{p;q;}')}
	if ! pbs_id_ok "$_qs_id"; then
		say "qsub printed no job id: '$_qs_out'"
		return "$EX_FAILURE"
	fi
	printf '%s\n' "$_qs_id"
}

# pbs_id_ok ID: whether ID looks like a PBS job id (123, 123.server, 123[].server, 123[4].server, and a
# task under Slurm's wrappers, 123_4: lib/pbsarray.sh)
pbs_id_ok() {
	case $1 in
	[0-9]*) ;;
	*) return 1 ;;
	esac
	case $1 in
	*[!A-Za-z0-9._[\]-]*) return 1 ;;
	esac
}

# pbs_settle JOB_DIR WORD NATIVE_STATE: once the server says the job is over (or has forgotten it), keep
# its last letter in the job directory and close native-open: the wrapper's record decides the rest
pbs_settle() {
	case $2 in
	queued | running) return 0 ;;
	esac
	write_state "$1/native-state" "$3"
	rm -f "$1/native-open"
	end_record_sync "$1"
}

# pbs_qstat ID...: one `qstat -f` about all the ids (PBS Pro: -x, so that finished jobs are shown too),
# as "ID LETTER NAME" lines; fail when the server did not answer (no job, and an error other than unknown ids)
pbs_qstat() {
	if test "$(pbs_dialect)" = pbspro; then set -- -x -f "$@"; else set -- -f "$@"; fi
	_pbs_qstat_rc=0
	_pbs_qstat_all=$(qstat "$@" 2>&1) || _pbs_qstat_rc=$?
	_pbs_qstat_out=$(printf '%s\n' "$_pbs_qstat_all" | pbs_parse_full)
	if test "$_pbs_qstat_rc" != 0 && test -z "$_pbs_qstat_out"; then
		# Errors about unknown or finished jobs are answers; any other means the server did not answer.
		_pbs_qstat_bad=$(printf '%s\n' "$_pbs_qstat_all" | grep -v -i -e 'unknown job' -e 'has finished' -e '^ *$') || _pbs_qstat_bad=
		if test -n "$_pbs_qstat_bad"; then
			printf '%s\n' "$_pbs_qstat_bad" >&2
			return 1
		fi
	fi
	test -z "$_pbs_qstat_out" || printf '%s\n' "$_pbs_qstat_out"
}

# queue_states: read "NATIVE_ID JOB_DIR" lines, print "WORD NATIVE_STATE JOB_DIR" lines (NATIVE_STATE
# is the job_state letter, - when the server does not know the job). One qstat for all of them, with -t
# when an array's task is among them (its array's id stands for all its tasks: lib/pbsarray.sh).
queue_states() {
	_qss_in=$(cat)
	test -n "$_qss_in" || return 0
	load_lib pbsarray
	# "KEY QUERY NATIVE_ID JOB_DIR" (pbs_array_keys): the record that answers for the job, the id asked
	_qss_keys=$(printf '%s\n' "$_qss_in" | pbs_array_keys)
	# each id once, read (never split: 123[].server is no pattern to glob)
	_qss_ids=$(printf '%s\n' "$_qss_keys" | awk '!seen[$2]++ { print $2 }' | while IFS= read -r _qss_id; do
		if pbs_id_ok "$_qss_id"; then printf '%s\n' "$_qss_id"; fi
	done)
	_qss_t=
	case $_qss_ids in *\[*) _qss_t=-t ;; esac
	_qss_ok=yes
	# shellcheck disable=SC2086 # ids checked by pbs_id_ok: one word each; set -f: no globbing of [ ]
	_qss_states=$(set -f && pbs_qstat $_qss_t $_qss_ids) || _qss_ok=no
	# A task of Slurm's wrappers that has not run (pending:ID) is queued while the array's pending record
	# is there (when that record is the last task itself, the task not yet launched is that one), and
	# ended once the record has ended or is gone: the task never ran. native-id is in the job's reach: a
	# record counts only when it is named with the job's tag (its array's for a task: pbs_tag; Torque
	# names subjobs TAG-N or TAG[N]); a record named otherwise is another job's (?: the job's own files
	# answer).
	{
		printf '%s\n' "$_qss_states" | sed 's/^/S /'
		pbs_tags_of "$_qss_keys" | sed 's/^/T /'
		printf '%s\n' "$_qss_keys" | sed 's/^/K /'
	} | awk -v jobs="$TEJ_ROOT/jobs/" '
		function mine(k, tag,   n, r) { n = nm[k]; if (index(n, tag) != 1) return 0
			r = substr(n, length(tag) + 1); return r == "" || r ~ /^-[0-9]+$/ || r ~ /^\[[0-9]+\]$/ }
		$1 == "S" && NF >= 4 { st[$2] = $3; nm[$2] = $4; next }
		$1 == "T" && NF >= 3 { tag[substr($0, length($2) + 4)] = $2; next }
		$1 == "K" && NF >= 5 { k = $2; line = $0; sub(/^K [^ ]+ [^ ]+ /, "", line)
			dir = substr(line, index(line, " ") + 1); own = dir
			if (index(dir, jobs) == 1 && substr(dir, length(jobs) + 1) ~ /\//) sub(/\/[^\/]*$/, "", own)
			t = (own in tag) ? tag[own] : "-"
			if (k ~ /^pending:/) { k = substr(k, 9); s = (k in st && mine(k, t) && st[k] ~ /^[QHRSE]$/) ? "Q" : "C" }
			else s = (k in st) ? (mine(k, t) ? st[k] : "?") : "-"
			print s, line }' |
		while IFS=' ' read -r _qss_state _qss_id _qss_dir; do
			test -n "$_qss_dir" || continue
			if test "$_qss_ok" != yes; then
				# qstat did not answer: the state files are all there is; settle nothing.
				if test -f "$_qss_dir/start"; then _qss_word=running; else _qss_word=queued; fi
			elif test "$_qss_state" = '?'; then
				# the server shows that id as another job's: the job's own files answer (lib/batch.sh)
				_qss_state=-
				batch_foreign_into "$_qss_dir" pbs_settle
				# shellcheck disable=SC2154 # set by batch_foreign_into (lib/batch.sh)
				_qss_word=$batch_word
			else
				_qss_word=$(pbs_word "$_qss_state")
				pbs_settle "$_qss_dir" "$_qss_word" "$_qss_state"
			fi
			printf '%s %s %s\n' "$_qss_word" "$_qss_state" "$_qss_dir"
		done
}

# pbs_tags_of KEY_LINES: for each job directory of pbs_array_keys' lines (its array's for a task), once,
# "TAG JOB_DIR" (pbs_tag)
pbs_tags_of() {
	printf '%s\n' "$1" | awk -v jobs="$TEJ_ROOT/jobs/" 'NF >= 4 { sub(/^[^ ]+ [^ ]+ [^ ]+ /, ""); own = $0
			if (index(own, jobs) == 1 && substr(own, length(jobs) + 1) ~ /\//) sub(/\/[^\/]*$/, "", own)
			if (!seen[own]++) print own }' | while IFS= read -r _pto_dir; do
		_pto_tag=$(pbs_tag "$_pto_dir") || continue
		printf '%s %s\n' "$_pto_tag" "$_pto_dir"
	done
}

# queue_state JOB_DIR NATIVE_ID: one job through queue_states
queue_state() {
	queue_state_by_states "$@"
}

# pbs_letter NATIVE_ID: the job's job_state letter (empty when the server does not know it); fail when
# qstat does not answer
pbs_letter() {
	_pbs_letter=$(pbs_qstat "$1") || return
	_pbs_letter=${_pbs_letter#* }
	printf '%s\n' "${_pbs_letter%% *}"
}

# pbs_owned_into JOB_DIR NATIVE_ID: set pbs_owned_id to the id that qdel ends the job in JOB_DIR by, when
# qstat shows NATIVE_ID (read from a file the job can write) as a job tej submitted for it: this user's,
# named with the job's tag (pbs_jobs). A task of an array (ID/N) is its array's: the array 123[].server of
# its 123[N].server. 1 when it is not, 2 when qstat does not answer, 3 for a task under Slurm's wrappers
# (123_N), which no qdel ends alone. So `kill` deletes only what tej made for this job. Sets
# pbs_owned_ids too: pbs_jobs' ids for the job (its array's for a task), " ID ID ... ", for a caller that
# judges a wrappers' task itself (queue_own_id).
pbs_owned_into() {
	pbs_owned_id=
	pbs_owned_ids=' '
	_po_dir=$1
	case ${1#"$TEJ_ROOT/jobs/"} in */*) _po_dir=${1%/*} ;; esac
	_po_status=0
	_po_ids=$(pbs_jobs "$_po_dir") || _po_status=$?
	case $_po_status in 0) ;; 1) return 1 ;; *) return 2 ;; esac
	pbs_owned_ids=" $(printf '%s\n' "$_po_ids" | tr '\n' ' ') "
	pbs_id_ok "$2" || return 1
	case $2 in
	*\[[0-9]*\]*) _po_key=${2%%\[*}[]${2#*\]} ;;
	# a task under Slurm's wrappers: their qdel of the task's own Slurm id does nothing (exit 1), of the
	# array's id ends every task
	[0-9]*_[0-9]*) return 3 ;;
	*) _po_key=$2 ;;
	esac
	# the array, or the subjob itself when qstat lists subjobs
	case $pbs_owned_ids in
	*" $_po_key "* | *" $2 "*) pbs_owned_id=$2 ;;
	*) return 1 ;;
	esac
}

# pbs_own_id_into JOB_DIR NATIVE_ID: set pbs_own_id to the PBS job tej made for the job in JOB_DIR: the
# id qdel ends it by when qstat shows NATIVE_ID (read from a file the job can write) as that job
# (pbs_owned_into), else the first that qstat shows with the job's tag (a job that rewrote its native-id;
# pbs_owned_ids, from the same qstat as pbs_owned_into's: pbs_find's answer without asking again; none
# for a task, whose jobs are its array's); 1 none, 2 qstat does not answer, 3 a task under Slurm's
# wrappers (pbs_owned_into), which the caller judges. queue_kill's and queue_own_id's one check.
pbs_own_id_into() {
	pbs_own_id=
	_poi_status=0
	pbs_owned_into "$1" "$2" || _poi_status=$?
	case $_poi_status in
	0) pbs_own_id=$pbs_owned_id ;;
	1)
		case ${1#"$TEJ_ROOT/jobs/"} in */*) return 1 ;; esac
		# " ID ID ... ": the first (no word splitting: a PBS Pro array's id holds brackets)
		pbs_own_id=${pbs_owned_ids# }
		pbs_own_id=${pbs_own_id%% *}
		test -n "$pbs_own_id" || return 1
		;;
	*) return "$_poi_status" ;;
	esac
}

# queue_kill JOB_DIR NATIVE_ID GRACE: qdel (a queued job too) the job that qstat shows as tej's for
# JOB_DIR (pbs_own_id_into), then wait for the server to end it (it sends TERM, then KILL after its kill
# delay). The wrapper records the end it saw.
queue_kill() {
	_qk_owned=0
	pbs_own_id_into "$1" "$2" || _qk_owned=$?
	case $_qk_owned in
	0) set -- "$1" "$pbs_own_id" "$3" ;;
	1) return 0 ;;
	3)
		# the array's kill (lib/pbsarray.sh) has deleted it with the array
		if test -f "${1%/*}/killed"; then
			wait_end_record "$1"
			return 0
		fi
		# the task runs on (kill_job takes back the killed mark it wrote)
		say "a task of an array cannot be deleted alone through Slurm's Torque wrappers (qdel ends its whole array or nothing): kill the array ${1%/*}"
		return "$EX_UNAVAILABLE"
		;;
	*) return "$EX_TEMPFAIL" ;;
	esac
	# never an option of qdel: pbs_id_ok
	pbs_id_ok "$2" || return "$EX_DATAERR"
	if ! qdel "$2" 2>"$1/qdel.err"; then
		# A job that the server has ended meanwhile cannot be deleted: that is no failure.
		case $(pbs_word "$(pbs_letter "$2" 2>/dev/null)") in
		queued | running)
			cat "$1/qdel.err" >&2
			rm -f "$1/qdel.err"
			return "$EX_FAILURE"
			;;
		esac
	fi
	rm -f "$1/qdel.err"
	_qk_left=$(($3 + 30))
	while test "$_qk_left" -gt 0; do
		_qk_letter=$(pbs_letter "$2" 2>/dev/null) || break
		case $(pbs_word "$_qk_letter") in
		queued | running) ;;
		*) break ;;
		esac
		sleep 1
		_qk_left=$((_qk_left - 1))
	done
	wait_end_record "$1"
}

# queue_own_id JOB_DIR NATIVE_ID: the id qstat shows as the PBS job tej made for the job
# (pbs_own_id_into); a task under Slurm's wrappers (its own Slurm id) when qstat shows that id with its
# array's tag; 1 none, 2 no answer
queue_own_id() {
	_qoi_status=0
	pbs_own_id_into "$1" "$2" || _qoi_status=$?
	case $_qoi_status in
	0) printf '%s\n' "$pbs_own_id" ;;
	1) return 1 ;;
	3)
		# the ids pbs_owned_into found with the array's tag
		case $pbs_owned_ids in
		*" $2 "*) printf '%s\n' "$2" ;;
		*) return 1 ;;
		esac
		;;
	*) return 2 ;;
	esac
}

# queue_node JOB_DIR NATIVE_ID: the first host of a running job's exec_host (qstat -f: Torque's
# node/0+node/1, PBS Pro's node/0*2+other/0, Slurm's wrappers' node/2), where the batch script and so
# the job itself run. No queue_exec: neither dialect runs a command inside a running job from outside
# (pbsdsh and pbs_attach work from within it): exec and shell run on the login node.
queue_node() {
	# the id comes from the job's directory, which the job can write: never an option of qstat
	pbs_id_ok "$2" || return "$EX_DATAERR"
	_queue_node_out=$(qstat -f "$2" 2>/dev/null) || return "$EX_UNAVAILABLE"
	_queue_node_h=$(printf '%s\n' "$_queue_node_out" | awk '$1 == "exec_host" && $2 == "=" { h = $3; sub(/[\/+*:].*/, "", h); print h; exit }')
	test -n "$_queue_node_h" || return "$EX_UNAVAILABLE"
	printf '%s\n' "$_queue_node_h"
}
