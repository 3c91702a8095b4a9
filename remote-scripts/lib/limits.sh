#!/bin/sh
# Summary: A job's resource limits under the direct plugin (docs/protocol.md, "Limits"): submit decides
#   each one is enforced with the shell's ulimit or refused (limits_resolve); the wrapper sets them in the
#   job's subshell just before the exec (limits_apply)
# Usage: sourced (function definitions only)
# shellcheck shell=sh
# shellcheck disable=SC2154 # state_line is set by read_state_into (lib/common.sh), meta by the wrapper

# limits_resolve META PLUGIN ID: for the direct plugin (job ID), read the limits asked for in META (memory,
# max_processes, cpu_time, nproc (cpus), gpus, slurm/partition, slurm/account, slurm/qos, slurm/args), try each enforceable one
# with ulimit in a subshell of this shell (the wrapper's: commands run under TEJ_SHELL), and write
#   META/ulimit: the ulimit options the wrapper sets ("-v 51200 -t 1"), one line;
#   META/taskset: the cpu list the wrapper pins the job to ("0-1"; limits_pin);
#   META/gpus-claimed and META/env/CUDA_VISIBLE_DEVICES: the devices claimed (gpus_claim);
#   META/scope: BYTES, memory enforced by a systemd user scope instead (lib/scope.sh: the first choice);
#   META/cgroup: "BYTES PARENT", memory enforced by a cgroup under PARENT instead (lib/cgroup.sh);
#   META/limits: the record, one line of NAME:VALUE:yes|no words (no: not enforced), for show.
# Both are removed first: an upload's own are not submit's word. Fails (limits_refused: "NAME VALUE,
# ...") when a limit cannot be enforced and META/allow-unenforced is not there; limits_bad is set
# instead for a value of the wrong form. Other plugins: nothing (Slurm hands them to sbatch).
limits_resolve() {
	limits_meta=$1
	# (rm only when there is one: no exec on a plain submit)
	if test -e "$limits_meta/ulimit" || test -L "$limits_meta/ulimit" || test -e "$limits_meta/limits" || test -L "$limits_meta/limits" || test -e "$limits_meta/cgroup" || test -L "$limits_meta/cgroup" || test -e "$limits_meta/scope" || test -L "$limits_meta/scope" || test -e "$limits_meta/taskset" || test -L "$limits_meta/taskset" || test -e "$limits_meta/gpus-claimed" || test -L "$limits_meta/gpus-claimed"; then
		rm -rf "$limits_meta/ulimit" "$limits_meta/limits" "$limits_meta/cgroup" "$limits_meta/scope" "$limits_meta/taskset" "$limits_meta/gpus-claimed"
	fi
	test "$2" = direct || return 0
	limits_cgroup=
	limits_scope=
	limits_taskset=
	limits_ulimit=
	limits_record=
	limits_refused=
	limits_bad=
	if read_state_into "$limits_meta/memory"; then
		case $state_line in
		'' | *[!0-9KMGT]* | [!0-9]* | *[KMGT]?*) limits_bad="memory: '$state_line'" ;;
		*)
			# slurm's units: K, M (the default), G, T; ulimit -v takes KiB
			_limits_n=${state_line%[KMGT]}
			_limits_unit=${state_line#"$_limits_n"}
			# no leading 0: the shell's arithmetic would read octal
			_limits_n=${_limits_n#"${_limits_n%%[!0]*}"}
			case ${_limits_n:-0}$_limits_unit in
			0*) _limits_kib= ;;
			*K) _limits_kib=$_limits_n ;;
			*G) _limits_kib=$((_limits_n * 1048576)) ;;
			*T) _limits_kib=$((_limits_n * 1073741824)) ;;
			*) _limits_kib=$((_limits_n * 1024)) ;;
			esac
			# (cgroup_resolve reads a file into state_line)
			_limits_value=$state_line
			if test -n "$_limits_kib" && scope_resolve "$((_limits_kib * 1024))"; then
				# a user manager's scope: systemd sets the cgroup up (lib/scope.sh)
				limits_scope=$((_limits_kib * 1024))
				limits_record="$limits_record memory:$_limits_value:yes"
			elif test -n "$_limits_kib" && cgroup_resolve; then
				# a cgroup the user may write: the kernel's limit on the job's memory, not ulimit's
				# on each process's address space (lib/cgroup.sh)
				limits_cgroup="$((_limits_kib * 1024)) $cgroup_parent"
				limits_record="$limits_record memory:$_limits_value:yes"
			elif test -n "$_limits_kib"; then
				limits_try memory "$_limits_value" -v "$_limits_kib"
			else
				limits_bad="memory: '$_limits_value'"
			fi
			;;
		esac
	fi
	if read_state_into "$limits_meta/max_processes"; then
		limits_digits max_processes || return 1
		limits_proc_option_into
		limits_try max_processes "$state_line" "$limits_proc_option" "$state_line"
	fi
	if read_state_into "$limits_meta/cpu_time"; then
		limits_digits cpu_time || return 1
		limits_try cpu_time "$state_line" -t "$state_line"
	fi
	# cpus: the job pinned to the host's first N cpus with taskset (limits_pin); as many as the host has
	# or more need no pinning
	if read_state_into "$limits_meta/nproc"; then
		limits_digits cpus || return 1
		_limits_online=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || _limits_online=
		case $_limits_online in
		'' | *[!0-9]*) _limits_online=0 ;;
		esac
		if test "$_limits_online" -gt 0 && test "$state_line" -ge "$_limits_online"; then
			limits_record="$limits_record cpus:$state_line:yes"
		elif test "$_limits_online" -gt 0 && has_cmd taskset; then
			limits_taskset=0
			test "$state_line" -eq 1 || limits_taskset=0-$((state_line - 1))
			limits_record="$limits_record cpus:$state_line:yes"
		else
			limits_try cpus "$state_line" '' ''
		fi
	fi
	# gpus: N devices no running job of the queue holds (lib/gpus.sh); gpus 0 asks for nothing
	if read_state_into "$limits_meta/gpus" && test "$state_line" != 0; then
		limits_digits gpus || return 1
		_limits_value=$state_line
		if gpus_claim "$3" "$_limits_value" "$limits_meta"; then
			limits_record="$limits_record gpus:$_limits_value:yes"
		else
			limits_try gpus "$_limits_value" '' ''
		fi
	fi
	# What direct cannot honour at all:
	for _limits_name in partition account qos; do
		if read_state_into "$limits_meta/slurm/$_limits_name"; then
			case $state_line in
			'' | *[!A-Za-z0-9_.,-]*) limits_bad="$_limits_name: '$state_line'" ;;
			*) limits_try "$_limits_name" "$state_line" '' '' ;;
			esac
		fi
	done
	# raw sbatch words: their count is the value
	_limits_n=0
	for _limits_f in "$limits_meta"/slurm/args/*; do
		test -f "$_limits_f" && _limits_n=$((_limits_n + 1))
	done
	test "$_limits_n" -eq 0 || limits_try sbatch_args "$_limits_n" '' ''
	test -z "$limits_bad" || return 1
	if test -n "$limits_refused" && ! test -f "$limits_meta/allow-unenforced"; then
		return 1
	fi
	test -z "$limits_ulimit" || printf '%s\n' "${limits_ulimit# }" >"$limits_meta/ulimit"
	test -z "$limits_cgroup" || printf '%s\n' "$limits_cgroup" >"$limits_meta/cgroup"
	test -z "$limits_scope" || printf '%s\n' "$limits_scope" >"$limits_meta/scope"
	test -z "$limits_taskset" || printf '%s\n' "$limits_taskset" >"$limits_meta/taskset"
	test -z "$limits_record" || printf '%s\n' "${limits_record# }" >"$limits_meta/limits"
}

# limits_digits NAME: whether state_line is a whole number > 0, else limits_bad names it
limits_digits() {
	case $state_line in
	'' | *[!0-9]* | 0) limits_bad="$1: '$state_line'" ;;
	*) return 0 ;;
	esac
	return 1
}

# limits_try NAME VALUE OPTION N: whether `ulimit OPTION N` works in a subshell of this shell (posh has
# no ulimit; a hard limit below N refuses); adds it to limits_ulimit and the record, or to
# limits_refused. No OPTION: nothing enforces it.
limits_try() {
	# shellcheck disable=SC3045 # ulimit's options are the shell's: the subshell asks it
	if test -n "$3" && (ulimit "$3" "$4") >/dev/null 2>&1; then
		limits_ulimit="$limits_ulimit $3 $4"
		limits_record="$limits_record $1:$2:yes"
	else
		limits_refused="$limits_refused${limits_refused:+, }$1 $2"
		limits_record="$limits_record $1:$2:no"
	fi
}

# limits_proc_option_into: set limits_proc_option to this shell's option for the process limit
# (RLIMIT_NPROC), asked of the shell: -u (bash, busybox, zsh, ksh), or -p where the shell knows no -u
# and its ulimit -a calls -p's line "process" (dash; -p is the pipe size in bash); else empty
limits_proc_option_into() {
	limits_proc_option=
	# shellcheck disable=SC3045
	if (ulimit -u) >/dev/null 2>&1; then
		limits_proc_option=-u
		return 0
	fi
	# shellcheck disable=SC3045
	_limits_all=$(ulimit -a 2>/dev/null) && _limits_p=$(ulimit -p 2>/dev/null) || return 0
	case $_limits_all in
	process* | *"
process"*) test -z "$_limits_p" || limits_proc_option=-p ;;
	esac
}

# limits_apply: in the job's subshell (exec_job, lib/run-job.sh), set the limits of meta/ulimit, read
# once, before the job runs (it may rewrite its meta/ later). A word submit would not write, or a
# limit the shell refuses now: the job does not run (126), never runs without its limit.
limits_apply() {
	read_state_into "$meta/ulimit" || return 0
	# shellcheck disable=SC2086 # split on purpose: OPTION N pairs
	set -- $state_line
	while test $# -gt 0; do
		case $1:${2:-} in
		-[vtup]:[1-9] | -[vtup]:[1-9]*[0-9]) ;;
		*)
			say "bad limit in meta/ulimit: '$state_line'"
			exit 126
			;;
		esac
		case $2 in
		*[!0-9]*)
			say "bad limit in meta/ulimit: '$state_line'"
			exit 126
			;;
		esac
		# shellcheck disable=SC3045
		ulimit "$1" "$2" || {
			say "cannot set the job's limit: ulimit $1 $2"
			exit 126
		}
		shift 2
	done
}

# limits_pin: in the wrapper, before it starts the runner: pin itself to meta/taskset's cpus (the first N,
# limits_resolve), which the runner and the job inherit. A list submit would not write, or a taskset
# that fails: the job does not run.
limits_pin() {
	read_state_into "$meta/taskset" || return 0
	case $state_line in
	0 | 0-[1-9] | 0-[1-9]*[0-9]) ;;
	*) state_line=x ;;
	esac
	case ${state_line#0-} in
	*[!0-9]*)
		say "bad cpu list in meta/taskset"
		return 1
		;;
	esac
	taskset -p -c "$state_line" $$ >/dev/null 2>&1 || {
		say "cannot pin the job to cpus $state_line (taskset)"
		return 1
	}
}
