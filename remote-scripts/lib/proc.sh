#!/bin/sh
# Summary: Process primitives: liveness and identity of a pid (/proc, else ps), process groups, the process table, nap
#   (sourced after common.sh)
# Usage: . "$TEJ_ROOT/lib/proc.sh"   (function definitions only)
#   proc_alive PID [IDENTITY], proc_identity PID, proc_identity_into, proc_runs_as, ps_form_into, ps_snapshot,
#   ps_line_id_into,
#   self_into, host_name_into, uid_into, signal_group, group_alive, proc_scan, client_watch_init,
#   client_gone, nap
# Output (proto 1): nothing by itself
# Exit: nothing by itself
# Length: over 250 lines: each primitive from /proc and from ps, whose forms (procps, BSD, busybox) differ
# shellcheck shell=sh

# nl: a newline, for building lists of lines
nl='
'

# TEJ_PROC: the process table (/proc). A test points it at a directory that does not exist, to run the
# fallbacks of a host without /proc (ps, kill -0) on this one.
TEJ_PROC=${TEJ_PROC:-/proc}

# proc_fields PID: set proc_state, proc_ppid, proc_pgrp and proc_start from /proc/PID/stat; fail if
# unreadable. The command name (field 2) may hold spaces and parentheses: the fields after its last
# ') ' are parsed.
proc_fields() {
	_proc_fields_line=
	{ IFS= read -r _proc_fields_line <"$TEJ_PROC/$1/stat"; } 2>/dev/null || return 1
	# shellcheck disable=SC2086 # split on purpose: the fields are numbers and one state letter
	set -- ${_proc_fields_line##*) }
	test $# -ge 20 || return 1
	proc_state=$1
	proc_ppid=$2
	proc_pgrp=$3
	proc_start=${20}
}

has_proc() {
	test -r "$TEJ_PROC/self/stat"
}

# proc_starttime PID: print the start time of PID (field 22 of /proc/PID/stat); fail without /proc
proc_starttime() {
	has_proc && proc_fields "$1" && printf '%s\n' "$proc_start"
}

# self_into: set self_pid to the pid of the shell that runs this, a subshell included, and self_id to its
# identity (proc_identity; empty when it cannot be had). $$ is the pid of the shell a script started in:
# a library session runs each call in a subshell of its long-lived shell. With /proc one read of
# /proc/self/stat, which the shell opens itself (a builtin's redirection: no fork, no exec).
# shellcheck disable=SC2034 # self_id is for the caller
self_into() {
	_self_into_line=
	if { IFS= read -r _self_into_line <"$TEJ_PROC/self/stat"; } 2>/dev/null; then
		self_pid=${_self_into_line%% *}
		# shellcheck disable=SC2086 # split on purpose: the fields are numbers and one state letter
		set -- ${_self_into_line##*) }
		if test $# -ge 20; then
			self_id=${20}
			return 0
		fi
	fi
	# shellcheck disable=SC2016 # expanded by the new shell, whose parent is this one
	self_pid=$(exec sh -c 'echo "$PPID"') || self_pid=$$
	proc_identity_into "$self_pid" || proc_id=
	self_id=$proc_id
}

# host_name_into: set host_name to this host's name, as uname -n prints it (on Linux read from /proc:
# no exec)
host_name_into() {
	host_name=
	{ IFS= read -r host_name <"$TEJ_PROC/sys/kernel/hostname"; } 2>/dev/null || host_name=
	test -n "$host_name" || host_name=$(uname -n)
}

# uid_into: set uid_value to the user's (effective) uid, as id -u prints it (from /proc/self/status
# where there is one: no exec)
uid_into() {
	uid_value=
	_uid_into_key=
	if test -r "$TEJ_PROC/self/status"; then
		while read -r _uid_into_key _uid_into_real uid_value _uid_into_rest; do
			test "$_uid_into_key" = Uid: && break
			uid_value=
		done 2>/dev/null <"$TEJ_PROC/self/status" || uid_value=
	fi
	case $uid_value in
	'' | *[!0-9]*) uid_value=$(id -u) ;;
	esac
}

# proc_alive PID [IDENTITY]: whether PID runs (a zombie is dead); with IDENTITY (proc_identity), a
# process that is not the one recorded is a reused pid, hence dead too
proc_alive() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	if has_proc; then
		proc_fields "$1" || return 1
		case $proc_state in
		Z | X | x) return 1 ;;
		esac
		test -z "${2:-}" || test "$2" = "$proc_start"
	else
		# Without /proc: kill -0, then ps for a zombie (which still takes signals), where ps knows -p
		# (busybox's does not: a process it cannot ask about counts as alive); with IDENTITY, ps proves it.
		kill -0 "$1" 2>/dev/null || return 1
		if test -n "${2:-}"; then
			proc_identity_into "$1" && test "$proc_id" = "$2"
			return
		fi
		test "$ps_form" != all || return 0
		_proc_alive_stat=$(ps -o stat= -p "$1" 2>/dev/null) || _proc_alive_stat=
		case $_proc_alive_stat in
		*Z*) return 1 ;;
		esac
	fi
}

# proc_identity PID: print PID's identity (proc_identity_into)
proc_identity() {
	proc_identity_into "$1" && printf '%s\n' "$proc_id"
}

# proc_identity_into PID: set proc_id to one word that tells PID from a later process that reuses its
# number: its start time with /proc (proc_fields); without, "ps_" and its start time as ps shows it
# (procps, BSD: the second; a pid comes back only after the whole pid range), else (busybox) its command
# line, each character but [A-Za-z0-9._/=-] as _ (ps_id_into). Fails when PID does not run (or is a
# zombie, without /proc). No subshell: the shell learns the form of its ps once (ps_fields).
proc_identity_into() {
	proc_id=
	if has_proc; then
		proc_fields "$1" || return 1
		proc_id=$proc_start
		return 0
	fi
	ps_fields "$1" || return 1
	case $ps_stat in
	*Z*) return 1 ;;
	esac
	ps_id_into "${ps_start:-$ps_args}"
	proc_id=$ps_id
}

# ps_id_into TEXT: set ps_id to "ps_" and TEXT with each character but [A-Za-z0-9._/=-] as _ (what
# tr -c 'A-Za-z0-9._/=-' _ makes of it under common.sh's LC_ALL=C), with no fork: one step per such character
ps_id_into() {
	_ps_id_into_s=$1
	ps_id=ps_
	while :; do
		case $_ps_id_into_s in
		*[!A-Za-z0-9._/=-]*)
			_ps_id_into_head=${_ps_id_into_s%%[!A-Za-z0-9._/=-]*}
			ps_id=${ps_id}${_ps_id_into_head}_
			_ps_id_into_s=${_ps_id_into_s#"$_ps_id_into_head"?}
			;;
		*)
			ps_id=$ps_id$_ps_id_into_s
			return 0
			;;
		esac
	done
}

# ps_form: the options this host's ps takes, learnt once per shell by ps_fields (in the shell itself: a
# $(...) would forget it): lstart (procps, BSD: -p, -ww and lstart), args (-p and -ww, no lstart), all
# (busybox: none of them; it lists every process); empty until known.
ps_form=

# ps_fields PID: set ps_stat, ps_start (its start time, empty where ps cannot show it: busybox) and
# ps_args (the command line) of PID from ps, for a host without /proc; fail when ps shows no such
# process. procps and BSD ps take -p, lstart, and -ww for the whole command line; busybox's takes none
# of them and lists every process (its command lines cut at 2 KB). Until ps_form is known, the forms are
# tried in that order, and the one that answers about PID is kept: then one ps per call.
ps_fields() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	ps_start=
	if test -z "$ps_form" || test "$ps_form" = lstart; then
		# No output at all: ps knows the options and there is no such process.
		_ps_fields_out=$(ps -ww -o pid= -o stat= -o lstart= -o args= -p "$1" 2>&1) || test -n "$_ps_fields_out" || return 1
		# the five words of lstart: "Sat Dec  5 12:52:00 2026"
		if read -r _ps_fields_pid ps_stat _ps_fields_w1 _ps_fields_w2 _ps_fields_w3 _ps_fields_w4 _ps_fields_w5 ps_args <<EOF && test "$_ps_fields_pid" = "$1"; then
$_ps_fields_out
EOF
			ps_start="$_ps_fields_w1 $_ps_fields_w2 $_ps_fields_w3 $_ps_fields_w4 $_ps_fields_w5"
			ps_form=lstart
			return 0
		fi
		test -z "$ps_form" || return 1
	fi
	if test -z "$ps_form" || test "$ps_form" = args; then
		if _ps_fields_out=$(ps -ww -o pid= -o stat= -o args= -p "$1" 2>/dev/null); then
			if read -r _ps_fields_pid ps_stat ps_args <<EOF && test "$_ps_fields_pid" = "$1"; then
$_ps_fields_out
EOF
				ps_form=args
				return 0
			fi
		fi
		test -z "$ps_form" || return 1
	fi
	_ps_fields_out=$(ps -o pid= -o stat= -o args= 2>/dev/null) || return 1
	while read -r _ps_fields_pid ps_stat ps_args; do
		if test "$_ps_fields_pid" = "$1"; then
			ps_form=all
			return 0
		fi
	done <<EOF
$_ps_fields_out
EOF
	return 1
}

# ps_form_into: learn ps_form (ps_fields, about this shell) unless it is known; fail when ps cannot tell
ps_form_into() {
	test -n "$ps_form" || ps_fields $$
}

# ps_snapshot: set ps_table to one line "PID PPID STAT WHAT" per process of this host as ps shows it,
# WHAT being its start time (lstart's five words) where ps_form is lstart, else its command line: one
# ps. Fails when ps cannot be asked (its form unknown, and ps_fields cannot learn it from this shell).
ps_snapshot() {
	ps_table=
	ps_form_into || return 1
	case $ps_form in
	lstart) ps_table=$(ps -A -ww -o pid= -o ppid= -o stat= -o lstart= 2>/dev/null) || return 1 ;;
	args) ps_table=$(ps -A -ww -o pid= -o ppid= -o stat= -o args= 2>/dev/null) || return 1 ;;
	*) ps_table=$(ps -o pid= -o ppid= -o stat= -o args= 2>/dev/null) || return 1 ;;
	esac
	test -n "$ps_table"
}

# ps_line_id_into LINE: set ps_id to the identity of the process of a ps_table line, as
# proc_identity_into makes it ("ps_" and its start time, else its command line). Busybox cuts the
# command line at what its other columns leave of 2 KB: the table's identities are compared with the
# table's only.
ps_line_id_into() {
	if test "$ps_form" = lstart; then
		# shellcheck disable=SC2086 # split on purpose: PID PPID STAT and lstart's five words
		set -- $1
		ps_id_into "$4 $5 $6 $7 $8"
		return 0
	fi
	# the command line: what follows the third field, without the blanks around it (as read -r splits)
	_ps_line_id_into_l=$1
	for _ps_line_id_into_f in pid ppid stat; do
		_ps_line_id_into_l=${_ps_line_id_into_l#"${_ps_line_id_into_l%%[! 	]*}"}
		_ps_line_id_into_l=${_ps_line_id_into_l#"${_ps_line_id_into_l%%[ 	]*}"}
	done
	_ps_line_id_into_l=${_ps_line_id_into_l#"${_ps_line_id_into_l%%[! 	]*}"}
	ps_id_into "${_ps_line_id_into_l%"${_ps_line_id_into_l##*[! 	]}"}"
}

# proc_runs_as PID STARTTIME ARGS: whether PID is still the process recorded. With /proc: alive, and
# started at STARTTIME when that is known (proc_alive). Without, kill -0 cannot tell a reused pid:
# alive, not a zombie (ps_fields), and its command line as ps shows it is ARGS or ends with " ARGS".
proc_runs_as() {
	if has_proc; then
		proc_alive "$1" "$2"
		return
	fi
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	kill -0 "$1" 2>/dev/null && ps_fields "$1" || return 1
	case $ps_stat in
	*Z*) return 1 ;;
	esac
	case $ps_args in
	"$3" | *" $3") return 0 ;;
	esac
	return 1
}

# signal_group SIGNAL PGID: send SIGNAL to every process of the group. dash's kill rejects `--`, posh's
# needs it before a negative pid: ask the shell once which form it takes (signal 0 to our own group).
_signal_group_dashdash=
signal_group() {
	if test -z "$_signal_group_dashdash"; then
		if kill -0 -- 0 2>/dev/null; then
			_signal_group_dashdash=yes
		else
			_signal_group_dashdash=no
		fi
	fi
	if test "$_signal_group_dashdash" = yes; then
		kill "-$1" -- "-$2"
	else
		kill "-$1" "-$2"
	fi
}

# proc_scan: set proc_table to one line "PID PPID" per live process of this host, from /proc (without,
# the tree walk lists them with ps: ps_snapshot). No subshell: the job wrapper scans while it kills, and
# a fork of its own would be counted in the job's tree.
proc_scan() {
	proc_table=
	for _proc_scan_f in "$TEJ_PROC"/[0-9]*/stat; do
		_proc_scan_pid=${_proc_scan_f#"$TEJ_PROC"/}
		_proc_scan_pid=${_proc_scan_pid%/stat}
		proc_fields "$_proc_scan_pid" || continue
		case $proc_state in
		Z | X | x) continue ;;
		esac
		proc_table="$proc_table$_proc_scan_pid $proc_ppid$nl"
	done
}

# group_alive PGID: whether some live (not zombie) process is left in the group
group_alive() {
	if ! has_proc; then
		signal_group 0 "$1" 2>/dev/null
		return
	fi
	_group_alive_pgid=$1
	for _group_alive_f in "$TEJ_PROC"/[0-9]*/stat; do
		_group_alive_pid=${_group_alive_f#"$TEJ_PROC"/}
		proc_fields "${_group_alive_pid%/stat}" || continue
		test "$proc_pgrp" = "$_group_alive_pgid" || continue
		case $proc_state in
		Z | X | x) ;;
		*) return 0 ;;
		esac
	done
	return 1
}

# client_watch_init: note whom client_gone watches, for a helper that runs on while its client may
# leave (logs --follow, exec); fails when the client has gone already. Our parent may be a login shell
# that waits for us (dash does not exec the last command), so the parent alone may never change: the
# nearest sshd above it (the session's process, "sshd: user@notty") ends with the connection, and is
# watched too. The parent is the one the client's shell saw when it started (TEJ_CALLER_PID), not ours
# now: a client that left before we looked has made us an orphan already, and $PPID would be init.
client_watch_init() {
	client_parent=$PPID
	case ${TEJ_CALLER_PID:-} in
	'' | *[!0-9]*) ;;
	*) client_parent=$TEJ_CALLER_PID ;;
	esac
	client_session=
	client_session_start=
	has_proc || return 0
	# gone before we looked: no parent any more, or we are no longer its child
	proc_fields $$ && test "$proc_ppid" = "$client_parent" || return 1
	_client_watch_init_up=$client_parent
	while test -n "$_client_watch_init_up" && test "$_client_watch_init_up" -gt 1; do
		_client_watch_init_comm=
		{ IFS= read -r _client_watch_init_comm <"$TEJ_PROC/$_client_watch_init_up/comm"; } 2>/dev/null || break
		case $_client_watch_init_comm in
		sshd*)
			client_session_start=$(proc_starttime "$_client_watch_init_up") && client_session=$_client_watch_init_up
			break
			;;
		esac
		proc_fields "$_client_watch_init_up" || break
		_client_watch_init_up=$proc_ppid
	done
	# In an SSH session (sshd set SSH_CONNECTION) with no sshd above the caller: the session ended before
	# we looked, and the caller, a login shell that waits for us (dash, fish, tcsh), was made an orphan.
	if test -z "$client_session" && test -n "${SSH_CONNECTION:-}" && proc_fields "$client_parent" && test "$proc_ppid" = 1; then
		return 1
	fi
}

# client_gone: whether the client of client_watch_init has left: its session's sshd ended, or we are
# no longer the child of the parent it saw (without /proc: that parent is gone)
client_gone() {
	if test -n "$client_session" && ! proc_alive "$client_session" "$client_session_start"; then
		return 0
	fi
	if has_proc; then
		proc_fields $$ && test "$proc_ppid" != "$client_parent"
	elif kill -0 "$client_parent" 2>/dev/null; then
		return 1
	fi
}

# nap: sleep a tenth of a second where sleep takes fractions (GNU, busybox), else one second
nap() {
	sleep 0.1 2>/dev/null || sleep 1
}
