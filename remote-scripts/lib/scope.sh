#!/bin/sh
# Summary: A job's memory limit in a transient systemd user scope (docs/protocol.md, "Limits"), the first
#   choice where a user manager answers: submit probes it (scope_resolve), the runner names the job's unit
#   (scope_load), job_run (lib/run-job.sh) runs the job through systemd-run, and the runner asks systemd
#   after the job whether it was an OOM kill (scope_end)
# Usage: sourced (function definitions only)
# shellcheck shell=sh
# shellcheck disable=SC2154 # state_line is set by read_state_into (lib/common.sh), meta and job_id by the wrapper

# scope_resolve BYTES: whether this host's user manager runs transient scopes that enforce a memory
# limit: the same systemd-run, properties and all, the job will get, running scope_check, which reads
# BYTES back from the cgroup it runs in. A user manager without the memory controller (cgroup v1 or
# hybrid hosts, an old systemd) runs the scope but enforces nothing: refused. Asked here, by submit,
# before the job exists: never taken from a file the job could write. No systemd-run: no exec.
scope_resolve() {
	has_cmd systemd-run || return 1
	systemd-run --user --scope --quiet -p "MemoryMax=$1" -p MemorySwapMax=0 -- /bin/sh -c "$scope_check" sh "$1" </dev/null >/dev/null 2>&1
}

# scope_check (sh -c code, BYTES its $1): exit 0 when a memory cgroup this process is in has the limit
# BYTES: v2 (the 0:: line) memory.max, v1 (the memory line) memory.limit_in_bytes. (A BYTES that is not
# a whole number of pages reads back rounded down: the scope is not chosen then.)
# shellcheck disable=SC2016 # expanded by the sh -c that runs it
scope_check='while IFS=: read -r _n _c _p; do
	case $_c in
	"") _f=/sys/fs/cgroup$_p/memory.max ;;
	memory | memory,* | *,memory | *,memory,*) _f=/sys/fs/cgroup/memory$_p/memory.limit_in_bytes ;;
	*) continue ;;
	esac
	_v=
	{ IFS= read -r _v <"$_f"; } 2>/dev/null || true
	test "$_v" != "$1" || exit 0
done </proc/self/cgroup
exit 1'

# scope_load: in the runner, before the job's subshell: when meta/scope (BYTES, written by submit) is
# there, set scope_bytes and scope_unit, the job's unit: tej-ID-PID (the wrapper's pid: two queues may
# run a job of one id at once; an array task's ID/N as ID-N). Fails (the job must not run without its
# limit) on a value submit would not write, or when systemd-run has gone from the PATH.
scope_load() {
	scope_unit=
	scope_bytes=
	read_state_into "$meta/scope" || return 0
	case $state_line in
	'' | 0* | *[!0-9]*)
		say "bad memory limit in meta/scope: '$state_line'"
		return 1
		;;
	esac
	if ! has_cmd systemd-run; then
		say "cannot run the job in a systemd scope: systemd-run is no longer on the PATH"
		return 1
	fi
	# shellcheck disable=SC2034 # read by job_run (lib/run-job.sh)
	scope_bytes=$state_line
	case $job_id in
	*/*) scope_unit=tej-${job_id%/*}-${job_id#*/}-$$ ;;
	*) scope_unit=tej-$job_id-$$ ;;
	esac
}

# scope_end STATUS: after the job ran in its scope and ended with STATUS: a job that failed gets the
# reason `memory` when systemd says its scope ended by an OOM kill (Result=oom-kill; an exit code of 137
# alone is no proof), and its unit, kept as failed, is let go. A job that ended well costs no exec (its
# scope is gone already).
scope_end() {
	test -n "$scope_unit" && test "$1" -ne 0 || return 0
	_scope_result=$(systemctl --user show "$scope_unit.scope" -p Result --value 2>/dev/null) || _scope_result=
	test "$_scope_result" != oom-kill || write_state "$job_dir/reason" memory || true
	systemctl --user reset-failed "$scope_unit.scope" >/dev/null 2>&1 || true
}
