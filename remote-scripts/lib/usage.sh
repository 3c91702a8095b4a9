#!/bin/sh
# Summary: The programs that measure a job (docs/protocol.md, "The usage record"): GNU time and an env
#   that gives TERM back, found on the PATH and asked once; the wrapper runs the job under them
# Usage: sourced (function definitions only): usage_tools, usage_find NAME, usage_session_tools
# Output: nothing
# shellcheck shell=sh
# shellcheck disable=SC2034 # usage_* are read by the wrapper (lib/run-job.sh) and the direct plugin

# usage_tools: set usage_time to the GNU time on the wrapper's PATH and usage_env to its env (found by
# the shell, then asked in one run: env and time, two programs; busybox's time has no -f, its env no
# --default-signal), both empty when either is missing; usage_rss=no for GNU time 1.7, whose %M is four
# times too large. TEJ_TIME=none: look for none (as TEJ_PROC, for tests).
usage_tools() {
	usage_time=
	usage_env=
	usage_rss=yes
	usage_found=
	_usage_probe_time=
	if test "${TEJ_TIME:-}" != none; then
		usage_find time
		_usage_probe_time=$usage_found
		usage_find env
	fi
	# GNU time and an env that can give TERM back to the job (coreutils 8.31 and later: job_exec), asked
	# in one run: env --default-signal=TERM time --version
	if test -n "$_usage_probe_time" && test -n "$usage_found"; then
		case $("$usage_found" --default-signal=TERM "$_usage_probe_time" --version 2>&1 </dev/null) in
		*"GNU time 1.7"*) usage_time=$_usage_probe_time usage_env=$usage_found usage_rss=no ;;
		*"GNU Time"* | *"GNU time"*) usage_time=$_usage_probe_time usage_env=$usage_found ;;
		esac
	fi
}

# usage_find NAME: set usage_found to the first executable NAME in a directory of the wrapper's PATH
# (the shell's walk: no exec; the job's PATH, in effect by the time it runs, does not choose it), or empty
usage_find() {
	usage_found=
	_usage_find_rest=${PATH:-}:
	while test -n "$_usage_find_rest"; do
		_usage_find_dir=${_usage_find_rest%%:*}
		_usage_find_rest=${_usage_find_rest#*:}
		case $_usage_find_dir in /*) ;; *) continue ;; esac
		if test -f "$_usage_find_dir/$1" && test -x "$_usage_find_dir/$1"; then
			usage_found=$_usage_find_dir/$1
			return 0
		fi
	done
}

# usage_session_tools: in a library session's shell, once at its load (src/remote/session.ts): ask for the
# tools (usage_tools: a fork and two programs) and keep the answer in tej_usage_time, tej_usage_env and
# tej_usage_rss, which the direct plugin hands to each wrapper it starts (TEJ_USAGE_*), so that a job
# costs no probe of its own. Kept in the shell, never in a file: a job can write the queue's files.
usage_session_tools() {
	usage_tools
	tej_usage_time=$usage_time
	tej_usage_env=$usage_env
	tej_usage_rss=$usage_rss
}
