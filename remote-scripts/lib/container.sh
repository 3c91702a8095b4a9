#!/bin/sh
# Summary: A job run inside a container image (docs/protocol.md, "Container images"): submit picks the
#   runtime the host has and checks the image (container_resolve); the wrapper runs the job's command
#   through that runtime, the job's work directory mounted at /work as its cwd (container_exec)
# Usage: sourced (function definitions only)
# shellcheck shell=sh
# shellcheck disable=SC2154 # state_line is set by read_state_into (lib/common.sh); meta, job_dir, scratch by the wrapper

# The runtimes tej knows, in the order submit tries them when the job names none: the ones that exec
# the job in place (no daemon, signals reach the job as they reach any job) first.
container_known="ch-run apptainer singularity podman"

# container_resolve META: when META/image is there, pick the runtime (META/container_runtime, or the
# first of container_known this host has on its PATH), check that the image exists for it and write
# META/container: "RUNTIME IMAGE", one line, the only word the wrapper takes (removed first: an
# upload's own is not submit's word). Fails with container_error set and container_status 65 (a bad
# value), 69 (no runtime) or 66 (no such image).
container_resolve() {
	container_error=
	if test -e "$1/container" || test -L "$1/container"; then
		rm -rf "$1/container"
	fi
	read_state_into "$1/image" || return 0
	_container_image=$state_line
	case $_container_image in
	'' | -*)
		container_fail 65 "bad image: '$_container_image' (a directory or file path, or an image name of the host's store)"
		return 1
		;;
	esac
	_container_want=$container_known
	if read_state_into "$1/container_runtime"; then
		case " $container_known " in
		*" $state_line "*) _container_want=$state_line ;;
		*)
			container_fail 65 "bad container runtime: '$state_line' (one of: $container_known)"
			return 1
			;;
		esac
	fi
	_container_runtime=
	for _container_r in $_container_want; do
		if command -v "$_container_r" >/dev/null 2>&1; then
			_container_runtime=$_container_r
			break
		fi
	done
	if test -z "$_container_runtime"; then
		container_fail 69 "this host has no container runtime to run image '$_container_image' (looked for: $_container_want); install one there, or submit without --image"
		return 1
	fi
	if ! container_image_exists "$_container_runtime" "$_container_image"; then
		container_fail 66 "image '$_container_image' not found for $_container_runtime on this host ($container_hint)"
		return 1
	fi
	printf '%s %s\n' "$_container_runtime" "$_container_image" >"$1/container"
}

# (read by submit.sh)
# shellcheck disable=SC2034
container_fail() {
	container_status=$1
	container_error=$2
}

# container_image_exists RUNTIME IMAGE: whether RUNTIME can find IMAGE here, without a registry;
# container_hint says what it looked for
container_image_exists() {
	case $1 in
	ch-run)
		container_hint="ch-run takes an image directory by its absolute path"
		case $2 in /*) test -d "$2" ;; *) return 1 ;; esac
		;;
	apptainer | singularity)
		container_hint="$1 takes a .sif file or a sandbox directory by its absolute path"
		case $2 in /*) test -e "$2" ;; *) return 1 ;; esac
		;;
	podman)
		container_hint="podman takes an image of the user's store, e.g. localhost/NAME from podman import"
		podman image exists -- "$2" >/dev/null 2>&1
		;;
	*) return 1 ;;
	esac
}

# container_load: in the job's subshell, read META/container once (the job may rewrite its meta/
# later); sets container_runtime (empty: no image), container_bin and container_image. The runtime is
# a name of container_known looked up on this PATH, never a path from the file. A job with an image
# but no runtime submit chose does not run on the host instead (126).
container_load() {
	container_runtime=
	if ! read_state_into "$meta/container"; then
		if test -e "$meta/image"; then
			say "the job asks for an image but submit chose no container runtime for it"
			exit 126
		fi
		return 0
	fi
	_container_name=${state_line%% *}
	container_image=${state_line#* }
	case " $container_known " in
	*" $_container_name "*) ;;
	*)
		say "bad meta/container: '$state_line'"
		exit 126
		;;
	esac
	container_bin=$(command -v "$_container_name") || {
		say "the container runtime $_container_name is gone from this host's PATH"
		exit 126
	}
	# ch-run's own errors give 1, like a job's: an image gone since submit is told here
	if ! container_image_exists "$_container_name" "$container_image"; then
		say "image '$container_image' not found for $_container_name on this host ($container_hint)"
		exit 126
	fi
	container_runtime=$_container_name
}

# container_exec COMMAND...: run COMMAND (the job, its shell or interpreter a path inside the image) in
# the image through job_run (lib/run-job.sh: under GNU time when there). The work directory is bound at
# /work, the cwd, and TEJ_SCRATCH_DIR at its own path (ch-run shares the host's /tmp); the environment
# export_job_env made is passed in (ch-run and apptainer inherit it, podman takes it with --env-host),
# TEJ_JOB_DIR as the job sees it. Never returns.
container_exec() {
	TEJ_JOB_DIR=/work
	export TEJ_JOB_DIR
	case $container_runtime in
	ch-run)
		# ch-run execs the job in place: its pid, exit status and signals are the job's. The image
		# is read-only: it needs a /work directory to mount on.
		job_run "$container_bin" -b "$job_dir/work:/work" -c /work "$container_image" -- "$@"
		;;
	apptainer | singularity)
		job_run "$container_bin" exec --bind "$job_dir/work:/work" --bind "$scratch" --pwd /work "$container_image" "$@"
		;;
	podman)
		# never a pull; the job's status comes back through podman run (125-127: podman's own). The
		# job would be PID 1 of the container, which ignores TERM: --init puts catatonit there, which
		# passes on the TERM podman relays from kill or a time limit; the container ends with the job.
		# Named after the job and its wrapper ($$ in its subshell), so that a kill finds it (container_kill).
		podman_log_driver_into
		job_run "$container_bin" --log-level=error run --rm --init --pull=never --env-host --userns=keep-id \
			${podman_log_driver:+"$podman_log_driver"} --name "tej-$job_id-$$" \
			-v "$job_dir/work:/work" -v "$scratch:$scratch" -w /work "$container_image" "$@"
		;;
	esac
	say "unknown container runtime '$container_runtime'"
	exit 126
}

# podman_log_driver_into: set podman_log_driver to --log-driver=passthrough where podman has it (4.0 and
# later), else empty. With it the container's stdin, stdout and stderr are the wrapper's own (the job's
# files), as for any job; without it conmon relays them to podman run's attach, and a run under load
# lost all of a short-lived container's output (tej.stdout empty, exit code and files there), and
# conmon kept a copy of everything the job printed in its own log.
podman_log_driver_into() {
	podman_log_driver=
	case $("$container_bin" --version 2>/dev/null) in
	*" version "[4-9].* | *" version "[1-9][0-9]*.*) podman_log_driver=--log-driver=passthrough ;;
	esac
}

# container_kill JOB_DIR WRAPPER_PID: KILL the job's podman container (named tej-ID-PID by container_exec).
# podman's conmon and the container's processes are in no process group or tree of the job: the KILL
# that ends the group reaches the podman client only, and a job that ignores TERM would run on in the
# container. meta/container only says whether to ask (a job can write it): the name is the kill's own.
# Nothing for the other runtimes, which exec the job in place.
container_kill() {
	read_state_into "$1/meta/container" || return 0
	case $state_line in
	"podman "*) ;;
	*) return 0 ;;
	esac
	has_cmd podman || return 0
	podman --log-level=error kill --signal KILL "tej-${1##*/}-$2" >/dev/null 2>&1 || true
}
