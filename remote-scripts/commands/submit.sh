#!/bin/sh
# Summary: Receive a job as a tar stream on stdin, claim its id and hand it to the queue plugin
# Usage: tej-remote submit <job-id> <nonce> [--plugin NAME] [--keep-input] [--marker M] [--placed TAR] < job.tar
#   (meta/..., work/..., store/... (files placed from the content store, lib/store.sh), end-<nonce>, or
#   end-<M> with --marker: resubmit's kept upload, claimed under a fresh nonce; --placed: resubmit's
#   kept tar of the files the store placed)
# Output (stdout, proto 1): tej-proto=1, now=, id=, plugin=, native_id=, state= (resumed=1: an earlier
#   attempt with the same nonce had claimed the id; this is its job)
# Exit: 0 ok; 64 usage; 65 bad id, nonce, plugin or job, incomplete upload; 74 no space left on the
#   host for the upload; 69 queue not set up,
#   plugin unavailable, or a limit it cannot enforce (without meta/allow-unenforced); 73 the job exists already; 75 an earlier attempt of this submit is still
#   moving the job into place after 600 naps; else the plugin's status when it fails
# Length: over 250 lines: one crash-consistent sequence, its steps numbered as in docs/protocol.md, read in order
# shellcheck source-path=SCRIPTDIR
set -eu
TEJ_ROOT=${TEJ_ROOT:-$(cd -P "$(dirname "$0")/.." && pwd -P)}
# From the helper program the dispatcher has run the libraries already (docs/protocol.md).
if test -z "${tej_in_memory:-}"; then
	# shellcheck source=../lib/common.sh
	. "$TEJ_ROOT/lib/common.sh"
	# shellcheck source=../lib/proc.sh
	. "$TEJ_ROOT/lib/proc.sh"
	# shellcheck source=../lib/state.sh
	. "$TEJ_ROOT/lib/state.sh"
	# shellcheck source=../lib/answers.sh
	. "$TEJ_ROOT/lib/answers.sh"
	# shellcheck source=../lib/kill.sh
	. "$TEJ_ROOT/lib/kill.sh"
	# shellcheck source=../lib/limits.sh
	. "$TEJ_ROOT/lib/limits.sh"
	# shellcheck source=../lib/cgroup.sh
	. "$TEJ_ROOT/lib/cgroup.sh"
	# shellcheck source=../lib/scope.sh
	. "$TEJ_ROOT/lib/scope.sh"
	# shellcheck source=../lib/gpus.sh
	. "$TEJ_ROOT/lib/gpus.sh"
	# shellcheck source=../lib/container.sh
	. "$TEJ_ROOT/lib/container.sh"
	# shellcheck source=../lib/after.sh
	. "$TEJ_ROOT/lib/after.sh"
	# shellcheck source=../lib/array.sh
	. "$TEJ_ROOT/lib/array.sh"
	# shellcheck source=../lib/slurm-array.sh
	. "$TEJ_ROOT/lib/slurm-array.sh"
fi

usage="usage: tej-remote submit <job-id> <nonce> [--plugin NAME] [--keep-input] [--marker M] [--placed TAR]"
id=
nonce=
marker=
plugin=
keep_input=
placed=
positional=0
while test $# -gt 0; do
	case $1 in
	--plugin)
		test $# -ge 2 || die "$EX_USAGE" "$usage"
		plugin=$2
		shift 2
		;;
	--marker)
		test $# -ge 2 || die "$EX_USAGE" "$usage"
		marker=$2
		shift 2
		;;
	--keep-input)
		keep_input=yes
		shift
		;;
	--placed)
		test $# -ge 2 || die "$EX_USAGE" "$usage"
		placed=$2
		shift 2
		;;
	-*) die "$EX_USAGE" "$usage" ;;
	*)
		positional=$((positional + 1))
		case $positional in
		1) id=$1 ;;
		2) nonce=$1 ;;
		*) die "$EX_USAGE" "$usage" ;;
		esac
		shift
		;;
	esac
done
test "$positional" -eq 2 || die "$EX_USAGE" "$usage"
check_job_id "$id"
case $id in */*) die "$EX_DATAERR" "invalid job id: '$id' (a task's id: the array's is one without /N)" ;; esac
test -n "$marker" || marker=$nonce
case $nonce/$marker in
/* | */ | *[!A-Za-z0-9_/-]* | */*/*) die "$EX_DATAERR" "invalid nonce: '$nonce' (marker '$marker')" ;;
esac
require_setup
read_queue_config
test -n "$plugin" || plugin=$queue_plugin
load_queue "$plugin"
queue_check || die "$EX_UNAVAILABLE" "the $plugin plugin cannot work on this host"

job_dir=$TEJ_ROOT/jobs/$id
staging=

# claimed_by_us: whether jobs/ID was claimed by a submit with our nonce, i.e. an earlier attempt of this
# very submit whose connection broke after the claim. The claimer writes `nonce` right after its mkdir:
# give it a moment when the file is not there yet (a job without nonce and with native-id is not ours).
claimed_by_us() {
	_claimed_tries=0
	while :; do
		if _claimed_nonce=$(read_state "$job_dir/nonce"); then
			test "$_claimed_nonce" = "$nonce"
			return
		fi
		test -d "$job_dir" && ! test -f "$job_dir/native-id" || return 1
		_claimed_tries=$((_claimed_tries + 1))
		test "$_claimed_tries" -le 30 || return 1
		nap
	done
}

# resume_own: jobs/ID is ours (claimed_by_us). Wait while the earlier attempt is still moving it into
# place, then report it as this submit's result and exit 0. An earlier attempt that died before the
# plugin started the job (incomplete: its start is given up, see job_state_into) is removed, and this
# submit goes on in its place. One that died after the plugin started the job, before it wrote
# native-id, is finished here (submitted, native-id): its job runs, and is never started twice.
resume_own() {
	_resume_naps=0
	while job_state_into "$job_dir" && test "$job_state_value" = submitting; do
		_resume_naps=$((_resume_naps + 1))
		test "$_resume_naps" -le 600 ||
			die "$EX_TEMPFAIL" "job $id is still being submitted by an earlier attempt; ask for its status later"
		nap
	done
	_resume_state=$job_state_value
	if test "$_resume_state" = incomplete; then
		if test -f "$job_dir/start"; then
			die "$EX_CANTCREAT" "job $id exists already: an earlier submit of it died half way (run tej delete)"
		fi
		trash_job "$job_dir" || die "$EX_FAILURE" "cannot remove the incomplete job $id"
		return 0
	fi
	if test -n "$job_native" && ! test -f "$job_dir/native-id"; then
		write_state "$job_dir/submitted" "$(now)"
		write_state "$job_dir/native-id" "$job_native"
		rm -f "$job_dir/submitter"
		end_record_sync "$job_dir"
	fi
	test -z "$staging" || rm -rf "$staging"
	emit_header
	emit id "$id"
	emit plugin "$(read_state "$job_dir/plugin" || echo "$plugin")"
	emit native_id "$job_native"
	emit state "$_resume_state"
	emit resumed 1
	exit 0
}

# 1. Refuse an existing job before reading anything (unless it is this very submit's, see resume_own).
if test -e "$job_dir" || test -L "$job_dir"; then
	claimed_by_us || die "$EX_CANTCREAT" "job $id exists already"
	resume_own
fi

# 2. Remove what dead submits (and deletes) left in staging/<id>.<pid>.<rand>: their pid is gone.
host_name_into
host=$host_name
for dir in "$TEJ_ROOT"/staging/*; do
	test -d "$dir" || continue
	pid=${dir##*/}
	pid=${pid%.*}
	pid=${pid##*.}
	case $pid in
	'' | *[!0-9]*) continue ;;
	esac
	# A submit from another host sharing this home directory: its pid means nothing here.
	read_state_into "$dir/host" || state_line=$host
	test "$state_line" = "$host" || continue
	# A tree that cannot be removed blocks no submit: the next one tries again.
	proc_alive "$pid" || remove_tree "$dir" || true
done

# 3. Extract into staging; a torn stream (tar fails, or the end marker is missing) leaves nothing.
need_cmd tar
# staging/<id>.<pid>.<start>: the pid and start time of this submit (self_into: in a library session the
# call's subshell, not the session's shell) name one process, so mkdir makes it and upload/ in one exec;
# without /proc, mktemp's random name.
self_into
staging=$TEJ_ROOT/staging/$id.$self_pid.$self_id
case $self_id in
'' | *[!0-9]*) staging= ;;
esac
if test -z "$staging" || ! mkdir "$staging" "$staging/upload" 2>/dev/null; then
	test -z "$staging" || rmdir "$staging" 2>/dev/null || true
	staging=$(mktemp -d "$TEJ_ROOT/staging/$id.$self_pid.XXXXXX") || die "$EX_FAILURE" "cannot create a staging directory"
	mkdir "$staging/upload" || {
		rm -rf "$staging"
		die "$EX_FAILURE" "cannot create a staging directory"
	}
fi
# staging/ is this submit's own: the files made here need no rename to appear whole. Those that go
# into jobs/ID get there by mv, which renames each one (a reader sees all of a file or nothing), and
# moves several in one call, in order: one exec, not one per file.
printf '%s\n' "$host" >"$staging/host"
# submitter: this helper's pid and identity (proc_identity: readers tell a pid reused since from it)
printf '%s\n' "$self_pid${self_id:+ $self_id}" >"$staging/submitter"
printf '%s\n' "$nonce" >"$staging/nonce"
# attempt: this submit attempt, among retries of the same submit (nonce); the wrapper runs only for it
printf '%s\n' "${staging##*/}" >"$staging/attempt"
printf '%s\n' "$plugin" >"$staging/plugin"
upload=$staging/upload

# reject STATUS MESSAGE: remove the staging directory and die
reject() {
	rm -rf "$staging"
	die "$@"
}

# reject_torn WHAT: the upload could not be kept or extracted: a full disk (exit 74, said so, checked
# before staging is removed, which frees the space again), else a torn stream (65)
reject_torn() {
	_reject_torn_free=$(df -P "$staging" 2>/dev/null | awk 'NR == 2 { print $4 }') || _reject_torn_free=
	case $_reject_torn_free in
	'' | *[!0-9]*) ;;
	*)
		test "$_reject_torn_free" -ge 64 ||
			reject "$EX_IOERR" "no space left on the host: the upload did not fit in $TEJ_ROOT (${_reject_torn_free} KiB free)"
		;;
	esac
	reject "$EX_DATAERR" "incomplete upload: $1"
}

# With --keep-input the stream is kept as input.tar (`resubmit` runs the job again from exactly these
# inputs): saved whole first, then extracted from the file. On a busy host that beats tee feeding tar
# through a pipe, and even tar reading the connection itself: 2000 files of 4 KiB over ssh took
# 0.48-0.58 s this way, 0.59-0.70 s with tee, 0.54-0.72 s with plain tar x. A torn stream leaves a
# torn input.tar, which tar refuses (or the end marker is missing) as before.
# A library session's submit of a small job has the upload inside its request (tej_upload: a printf
# format, src/protocol/invocation.ts printfFormat), written here by the shell itself: no cat, no pipe.
if test -n "${tej_upload+set}"; then
	# shellcheck disable=SC2059 # the format is the upload: every byte an escape or itself, no % directive
	{ printf "$tej_upload" >"$staging/input.tar"; } 2>/dev/null || reject_torn "keeping it as input.tar failed"
	untar "$upload" <"$staging/input.tar" || reject_torn "tar failed"
elif test -n "$keep_input"; then
	cat >"$staging/input.tar" || reject_torn "keeping it as input.tar failed"
	untar "$upload" <"$staging/input.tar" || reject_torn "tar failed"
else
	untar "$upload" || reject_torn "tar failed"
fi
test -f "$upload/end-$marker" || reject "$EX_DATAERR" "incomplete upload: the end marker is missing"

meta=$upload/meta
test -d "$meta" || reject "$EX_DATAERR" "the upload holds no meta/"
test -d "$upload/work" || mkdir "$upload/work"
# The files the client left to the content store (lib/store.sh) join those it sent; with --keep-input
# the tar they were placed from is kept as input-store.tar (resubmit hands it back as --placed).
if test -d "$upload/store"; then
	load_lib store
	store_kept=
	test -z "$keep_input" || store_kept=$staging/input-store.tar
	if test -n "$placed"; then
		untar "$upload/work" <"$placed" || reject "$EX_DATAERR" "the kept files of the content store cannot be read"
		test -z "$store_kept" || cp "$placed" "$store_kept" || reject_torn "keeping input-store.tar failed"
	else
		store_place "$upload" "$store_kept" || {
			rm -f "$store_dir/claims/$nonce"
			reject "$EX_DATAERR" "$store_error"
		}
		store_settle "$upload" "$nonce"
	fi
fi
if ! test -f "$meta/command"; then
	read_state_into "$meta/script" || reject "$EX_DATAERR" "the job has neither a script nor a command"
	script=$state_line
	case /$script/ in
	//* | */../*) reject "$EX_DATAERR" "bad script path: '$script'" ;;
	esac
	test -f "$upload/work/$script" || reject "$EX_DATAERR" "the job's script '$script' is not in its directory"
fi
# The output files: relative paths inside work/ (run-job.sh checks again, through symlinks, when it
# opens them: this is the clear early refusal).
for name in stdout stderr; do
	if read_state_into "$meta/$name"; then
		value=$state_line
		case /$value/ in
		// | //* | */../*) reject "$EX_DATAERR" "bad $name path: '$value' (a file inside the job directory, relative to it)" ;;
		esac
	fi
done
for name in nproc time_limit; do
	if read_state_into "$meta/$name"; then
		value=$state_line
		case $value in
		'' | *[!0-9]*) reject "$EX_DATAERR" "bad $name: '$value'" ;;
		esac
	fi
done
for file in "$meta"/env/*; do
	test -f "$file" || continue
	case ${file##*/} in
	[!A-Za-z_]* | *[!A-Za-z0-9_]*) reject "$EX_DATAERR" "bad environment variable name: '${file##*/}'" ;;
	esac
done
# The limits the plugin cannot enforce are refused here, before the job is accepted (lib/limits.sh).
if ! limits_resolve "$meta" "$plugin" "$id"; then
	test -z "$limits_bad" || reject "$EX_DATAERR" "bad limit $limits_bad"
	reject "$EX_UNAVAILABLE" "the $plugin plugin cannot enforce $limits_refused on this host (submit with --allow-unenforced to run the job without it)"
fi
# The image's runtime is chosen here, on this host, never by a file of the upload (lib/container.sh).
container_resolve "$meta" || reject "$container_status" "$container_error"
# The jobs it runs after (--after) exist, on this plugin (lib/after.sh).
after_check "$meta" "$plugin" || reject "$EX_DATAERR" "$after_bad"

# An array (lib/array.sh) runs on the direct, slurm (lib/slurm-array.sh), sge (queues/sge.sh) and pbs
# (lib/pbsarray.sh) plugins.
case $plugin in direct | slurm | sge | pbs) ;; *)
	test ! -d "$meta/array" || reject "$EX_UNAVAILABLE" "the $plugin plugin cannot run arrays yet (submit with --plugin direct, slurm, sge or pbs)"
	;;
esac

# 4. Claim the id (mkdir is atomic: of two submits of one id, one wins), then move the job in.
until mkdir "$job_dir" 2>/dev/null; do
	claimed_by_us || reject "$EX_CANTCREAT" "job $id exists already"
	resume_own
done
# One mv, in this order: submitter, nonce, attempt, plugin, then work, meta (and input.tar, then
# input-nonce, which says input.tar is whole: resubmit).
set -- "$staging/submitter" "$staging/nonce" "$staging/attempt" "$staging/plugin" "$upload/work" "$meta"
if test -n "$keep_input"; then
	printf '%s\n' "$marker" >"$staging/input-nonce"
	set -- "$@" "$staging/input.tar"
	test ! -f "$staging/input-store.tar" || set -- "$@" "$staging/input-store.tar"
	set -- "$@" "$staging/input-nonce"
fi
mv -f "$@" "$job_dir/"

# 5. Hand the job to the plugin. native-id is written last: it marks the submit as done. Should this
# helper die before that, the wrapper's own record (launched) or the plugin (queue_find) tells the job's
# native id; a job that neither knows is given up by the next reader before it is called incomplete.
TEJ_ATTEMPT=${staging##*/}
export TEJ_ATTEMPT
status=0
native_id=
if test -d "$job_dir/meta/array"; then
	# an array: its tasks' directories, queued; the first max start now (lib/array.sh)
	array_create "$job_dir" || status=$EX_DATAERR
	# under slurm, Slurm job arrays hold the tasks (lib/slurm-array.sh)
	if test "$status" -eq 0 && test "$plugin" = slurm; then slurm_array_submit "$job_dir" || status=$?; fi
	# under sge, one Grid Engine array job (sge_array_submit, queues/sge.sh)
	if test "$status" -eq 0 && test "$plugin" = sge; then sge_array_submit "$job_dir" || status=$?; fi
	# under pbs, one PBS Pro or Torque array job (lib/pbsarray.sh)
	if test "$status" -eq 0 && test "$plugin" = pbs; then load_lib pbsarray && pbs_array_submit "$job_dir" || status=$?; fi
	test "$status" -ne 0 || native_id=array
elif test "$plugin" = direct; then
	# The bundle's direct plugin starts the wrapper from this shell, not a subshell (a fork of a
	# session's shell, which holds the whole helper program): its answer and its pid-start go into
	# staging, and into jobs/ID with native-id below (until then the wrapper's launched tells both).
	queue_submit_stage=$staging
	queue_submit "$job_dir" >"$staging/native-id" || status=$?
	queue_submit_stage=
	! read_state_into "$staging/native-id" || native_id=$state_line
else
	native_id=$(queue_submit "$job_dir") || status=$?
fi
if test "$status" -ne 0 || test -z "$native_id"; then
	# The plugin may have made a job all the same (sbatch that failed after Slurm took it): cancelled.
	queue_abandon "$job_dir" || say "could not tell whether the $plugin plugin holds a job for $id"
	trash_job "$job_dir" || true
	remove_tree "$staging" || true
	test "$status" -ne 0 || status=$EX_FAILURE
	die "$status" "the $plugin plugin could not start job $id"
fi
# one reading of the clock for submitted and the reply's now=: the same moment
now_into
submit_now=$now_value
printf '%s\n' "$submit_now" >"$staging/submitted"
printf '%s\n' "$native_id" >"$staging/native-id"
# in order: native-id last
set -- "$staging/submitted"
test ! -f "$staging/pid-start" || set -- "$@" "$staging/pid-start"
mv -f "$@" "$staging/native-id" "$job_dir/"
# The reply's state. The direct plugin (the bundle's, loaded above) is asked here, its word handed to
# job_state_into as status's prefetch hands words over (lib/answers.sh): job_state_into would ask it in
# nested subshells, a quarter of a library session's submit on a loaded host (0.16 of 0.62 s).
if test "$plugin" = direct; then
	direct_state_into "$job_dir" "$native_id"
	prefetched=yes
	plugin_answers=" $id:$direct_state:$native_id "
fi
# A quick job may have ended before native-id was there: its end record is written now (lib/state.sh),
# its temporary name cleared by this rm (one exec for both).
rm -rf "$job_dir/submitter" "$staging" "$job_dir/end-record.tmp.$$"
end_record_sync "$job_dir" cleared
if test "$native_id" = array; then
	array_launch "$job_dir"
	array_members_into "$id"
	emit tej-proto "$TEJ_PROTO"
	emit now "$submit_now"
	emit id "$id"
	emit plugin "$plugin"
	emit native_id array
	emit state queued
	# shellcheck disable=SC2086 # task ids hold no blanks and no glob characters
	set -- $array_members
	emit tasks "$#"
	exit 0
fi

emit tej-proto "$TEJ_PROTO"
emit now "$submit_now"
emit id "$id"
emit plugin "$plugin"
emit native_id "$native_id"
job_state_into "$job_dir"
emit state "$job_state_value"
