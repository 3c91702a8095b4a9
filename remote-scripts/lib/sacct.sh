#!/bin/sh
# Summary: The usage record from Slurm's accounting (docs/protocol.md, "The usage record"): one sacct call
#   for the jobs a command settles, their batch steps' MaxRSS, CPU and elapsed time as a usage line
# Usage: sourced by queues/slurm.sh (function definitions only): sacct_usage_ids LINES, sacct_usage_ask
#   IDS, sacct_usage_for ID, sacct_usage_settle JOB_DIR NATIVE_ID SQUEUE_STATE, sacct_usage_parse [IDS]
# Output: nothing by itself
# shellcheck shell=sh
# shellcheck disable=SC2154 # nl (lib/proc.sh), slurm_word_value (queues/slurm.sh)

# What sacct said for a command's jobs: "ID WORD USAGE" lines (sacct_usage_parse), in the order asked,
# those not yet read by sacct_usage_for; and whether it answered
sacct_usage_lines=
sacct_usage_ok=

# sacct_usage_ask IDS: ask sacct once about the Slurm jobs IDS (comma-separated: 12,13,14_2) and keep its
# answer for sacct_usage_for; sacct_usage_ok=yes when it answered (a Slurm without accounting storage
# fails: "Slurm accounting storage is disabled")
sacct_usage_ask() {
	sacct_usage_lines=
	sacct_usage_ok=
	test -n "$1" && has_cmd sacct || return 0
	if _sacct_usage_out=$(sacct -j "$1" --noheader --parsable2 -o JobID,MaxRSS,TotalCPU,UserCPU,SystemCPU,Elapsed,State,ExitCode 2>/dev/null); then
		sacct_usage_ok=yes
		sacct_usage_lines=$(printf '%s\n' "$_sacct_usage_out" | sacct_usage_parse "$1") || sacct_usage_lines=
	fi
}

# sacct_usage_for ID: set sacct_usage_word and sacct_usage_value from the answer about job ID. Word
# "final" when Slurm's accounting has its end (the allocation's State is no longer PENDING, RUNNING,
# ...; the batch step's record goes to slurmdbd before the job's), "open" when it does not yet, "none"
# when sacct did not answer or has no such job; the value is the usage line of its batch step ("sacct
# MAX_RSS_BYTES CPU_USER_S CPU_SYS_S WALL_S"), or - when it has none or no MaxRSS (a job cancelled before
# it started, one too short for the gatherer's poll, an accounting that gathers nothing). The jobs are
# looked up in the order asked, some passed over: a cursor through the lines, read once (a search of
# the whole answer per job is quadratic in dash: minutes for an array's thousand tasks).
sacct_usage_for() {
	sacct_usage_word=none
	sacct_usage_value=-
	test -n "$sacct_usage_ok" || return 0
	while test -n "$sacct_usage_lines"; do
		_sacct_usage_line=${sacct_usage_lines%%"$nl"*}
		case $sacct_usage_lines in
		*"$nl"*) sacct_usage_lines=${sacct_usage_lines#*"$nl"} ;;
		*) sacct_usage_lines= ;;
		esac
		test "${_sacct_usage_line%% *}" = "$1" || continue
		_sacct_usage_line=${_sacct_usage_line#* }
		sacct_usage_word=${_sacct_usage_line%% *}
		sacct_usage_value=${_sacct_usage_line#* }
		return 0
	done
}

# sacct_usage_parse [IDS]: sacct's --parsable2 lines (JobID|MaxRSS|TotalCPU|UserCPU|SystemCPU|Elapsed|
# State|ExitCode) on stdin, one "ID WORD USAGE" line out per job (see sacct_usage_for): in sacct's order,
# or with IDS (comma-separated) one per id of IDS, in that order ("ID none -" for one sacct did not
# list). MaxRSS is bytes with a unit of 1024s (99412K; bare: bytes, as --noconvert prints it), times are
# [D-][HH:]MM:SS[.mmm]; a field that is empty or not in that form is - (fixtures/slurm/: what Slurm 22.05
# prints). A job J's line is J (an array task: A_T; a pending array: A_[1-3]), its batch step's J.batch;
# a step without MaxRSS (no poll of the gatherer saw it: a job of a moment) has usage -: the wrapper
# measured it. (No comment inside the awk text: the helper program drops comment lines, test/unit/program-comments.test.ts.)
sacct_usage_parse() {
	awk -F'|' -v ids="${1:-}" '
	function bytes(v,   u, n) {
		if (v !~ /^[0-9]+(\.[0-9]+)?[KMGTP]?$/) return "-"
		u = substr(v, length(v)); n = v + 0
		if (u == "K") n *= 1024; else if (u == "M") n *= 1048576; else if (u == "G") n *= 1073741824
		else if (u == "T") n *= 1099511627776; else if (u == "P") n *= 1125899906842624
		return sprintf("%.0f", n)
	}
	function seconds(v,   d, p, n, s) {
		if (v !~ /^([0-9]+-)?([0-9]+:)?[0-9]+:[0-9]+(\.[0-9]+)?$/) return "-"
		d = 0
		if (v ~ /-/) { d = substr(v, 1, index(v, "-") - 1) + 0; v = substr(v, index(v, "-") + 1) }
		n = split(v, p, ":")
		s = (n == 3) ? p[1] * 3600 + p[2] * 60 + p[3] : p[1] * 60 + p[2]
		return sprintf("%.3f", d * 86400 + s)
	}
	NF >= 7 && $1 ~ /^[0-9]+(_[0-9]+)?$/ {
		split($7, w, " ")
		state[$1] = (w[1] ~ /^(PENDING|RUNNING|REQUEUED|RESIZING|SUSPENDED|COMPLETING|CONFIGURING|SIGNALING|STAGE_OUT)$/) ? "open" : "final"
		order[++n] = $1
		next
	}
	NF >= 7 && $1 ~ /^[0-9]+(_[0-9]+)?\.batch$/ {
		j = substr($1, 1, length($1) - 6)
		r = bytes($2); u = seconds($4); s = seconds($5); e = seconds($6)
		usage[j] = (r == "-") ? "-" : "sacct " r " " u " " s " " e
	}
	END {
		if (ids != "") n = split(ids, order, ",")
		for (i = 1; i <= n; i++) print order[i], (order[i] in state) ? state[order[i]] : "none", (order[i] in usage) ? usage[order[i]] : "-"
	}'
}

# sacct_usage_ids "NATIVE_STATE NATIVE_ID JOB_DIR" lines: the ids, comma-separated, of the jobs that
# Slurm says are over or no longer knows (slurm_word_into, queues/slurm.sh): those a command may settle
sacct_usage_ids() {
	_sacct_usage_ids=
	while IFS=' ' read -r _sacct_usage_state _sacct_usage_id _sacct_usage_rest; do
		case $_sacct_usage_id in '' | *[!0-9_]*) continue ;; esac
		slurm_word_into "$_sacct_usage_state"
		case $slurm_word_value in queued | running | unmet) continue ;; esac
		_sacct_usage_ids=$_sacct_usage_ids${_sacct_usage_ids:+,}$_sacct_usage_id
	done <<SACCT_IDS
$1
SACCT_IDS
	printf '%s\n' "$_sacct_usage_ids"
}

# sacct_usage_settle JOB_DIR NATIVE_ID SQUEUE_STATE: before the plugin settles an ended job, write its
# usage from sacct (sacct_usage_ask has asked), over the wrapper's: once, as the job settles once. Fails
# when the job should not settle yet: sacct answers but has not the end of a job that squeue still
# lists (slurmctld sends it to slurmdbd a moment after the end); once squeue forgets it, it settles
# with the wrapper's record.
sacct_usage_settle() {
	sacct_usage_for "$2"
	case $sacct_usage_word in
	final) test "$sacct_usage_value" = - || write_state "$1/usage" "$sacct_usage_value" ;;
	open) test "$3" = - ;;
	*) test -z "$sacct_usage_ok" || test "$3" = - ;;
	esac
}
