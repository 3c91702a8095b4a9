#!/bin/sh
# Summary: Constants and helpers shared by every tej remote helper (sourced, never run)
# Usage: . "$TEJ_ROOT/lib/common.sh"   (TEJ_ROOT: physical path of the queue)
# Output (proto 1): nothing by itself; emit prints the key=value protocol lines
# Exit: nothing by itself; die exits with one of the EX_* codes below
# Length: over 250 lines: the base every helper sources first (constants, output, state files, plugins, the wrapper's boot, tar)
# shellcheck shell=sh source-path=SCRIPTDIR
# shellcheck disable=SC2034 # the EX_* constants are for the scripts that source this file

TEJ_PROTO=1
# now_into's boot time and the uptime it was read at (never taken from the environment)
tej_btime=
tej_btime_up=

# Exit codes: the same numbers as the client's error table (sysexits.h). A unit test reads these lines.
EX_OK=0
EX_FAILURE=1
EX_USAGE=64
EX_DATAERR=65
EX_NOINPUT=66
EX_UNAVAILABLE=69
EX_CANTCREAT=73
EX_IOERR=74
EX_TEMPFAIL=75
EX_PROTOCOL=76
EX_NOPERM=77

LC_ALL=C
export LC_ALL
# Everything tej writes is private; run-job.sh gives the job back the login umask (TEJ_UMASK).
umask 077

# say MESSAGE...: one line for humans on stderr
say() {
	printf 'tej-remote: %s\n' "$*" >&2
}

# die STATUS MESSAGE...: say, then exit with STATUS
die() {
	_die_status=$1
	shift
	say "$@"
	exit "$_die_status"
}

# emit KEY VALUE: one protocol line on stdout
emit() {
	printf '%s=%s\n' "$1" "$2"
}

# emit_proto: the header of status and list, whose records of running jobs carry the host's now=
# themselves (emit_job_record): a status of ended jobs then forks no date
emit_proto() {
	emit tej-proto "$TEJ_PROTO"
}

# emit_header: the reply header shared by every other command but download
emit_header() {
	emit tej-proto "$TEJ_PROTO"
	now_into
	emit now "$now_value"
}

# now_into: set now_value to the time in seconds since the epoch, from the kernel's boot time (btime in
# /proc/stat) plus /proc/uptime, with the shell's own read: no exec. A `date` costs a fork and an exec,
# ~8 ms of CPU on a loaded VM, and a submit asked for three. The sum is at most 1 s behind `date` (both
# parts are whole seconds), the same for every process on the host: all of tej's times come from here.
# btime is the wall clock minus the uptime: it moves when the clock is set (NTP, a resumed VM), so it is
# read again when the one a shell holds is over a minute old (a wrapper's end, days after its start).
# Without /proc, date.
now_into() {
	_now_into_up=
	{ IFS=' .' read -r _now_into_up _now_into_rest <"${TEJ_PROC:-/proc}/uptime"; } 2>/dev/null || _now_into_up=
	case $_now_into_up in
	'' | *[!0-9]*)
		now_value=$(date +%s)
		return 0
		;;
	esac
	if test -z "$tej_btime" || test "$((_now_into_up - tej_btime_up))" -gt 60; then
		tej_btime=-
		tej_btime_up=$_now_into_up
		{ while IFS=' ' read -r _now_into_key _now_into_value; do
			case $_now_into_key in
			btime)
				case $_now_into_value in
				'' | *[!0-9]*) ;;
				*) tej_btime=$_now_into_value ;;
				esac
				break
				;;
			esac
		done <"${TEJ_PROC:-/proc}/stat"; } 2>/dev/null || true
	fi
	if test "$tej_btime" = -; then
		now_value=$(date +%s)
	else
		now_value=$((tej_btime + _now_into_up))
	fi
}

# now: print now_into's time
now() {
	now_into
	printf '%s\n' "$now_value"
}

# has_cmd NAME: whether NAME can be run
has_cmd() {
	command -v "$1" >/dev/null 2>&1
}

# sha256_tool_into: set sha256_tool to the command (with its options) that prints the sha256 of each
# file named, or of stdin, as a line "HEX NAME" (HEX first, then blanks; NAME maybe after a '*');
# return 1, sha256_tool empty, when this host has none. openssl first: it uses the CPU's SHA
# instructions, 3-5x faster than coreutils' sha256sum (200 MB here: 0.21 s against 0.76-0.91 s), which
# the content store's checks pay on every submit; it starts slower (3.5 ms against 0.8), which the
# one-file uses (a plugin's text, fetch --sha256) do not notice.
sha256_tool_into() {
	if has_cmd openssl; then
		sha256_tool='openssl dgst -sha256 -r'
	elif has_cmd sha256sum; then
		sha256_tool=sha256sum
	elif has_cmd shasum; then
		sha256_tool='shasum -a 256'
	elif has_cmd sha256; then
		# the BSDs' own: -r prints "HEX NAME"
		sha256_tool='sha256 -r'
	else
		sha256_tool=
		return 1
	fi
}

# need_cmd NAME: exit 69 unless NAME can be run
need_cmd() {
	has_cmd "$1" || die "$EX_UNAVAILABLE" "this host lacks '$1', which tej needs"
}

# is_job_id ID: whether ID matches [A-Za-z0-9][A-Za-z0-9._-]{0,127} and holds no '..'; or is ID/N, task N
# of the array ID (N a number without leading zeros: lib/array.sh)
is_job_id() {
	case $1 in
	*/*/* | */ | */0?* | */*[!0-9]*) return 1 ;;
	*/*) set -- "${1%/*}" ;;
	esac
	case $1 in
	'' | [!A-Za-z0-9]* | *[!A-Za-z0-9._-]* | *..*) return 1 ;;
	esac
	test "${#1}" -le 128
}

# check_job_id ID: exit 65 unless ID is a valid job id
check_job_id() {
	is_job_id "$1" || die "$EX_DATAERR" "invalid job id: '$1'"
}

# is_plugin_name NAME: whether NAME matches [a-z][a-z0-9_-]{0,31}, the client's rule (PLUGIN_NAME)
is_plugin_name() {
	case $1 in
	'' | [!a-z]* | *[!a-z0-9_-]*) return 1 ;;
	esac
	test "${#1}" -le 32
}

# check_plugin_name NAME: exit 65 unless NAME is a plausible plugin name
check_plugin_name() {
	is_plugin_name "$1" || die "$EX_DATAERR" "invalid plugin name: '$1'"
}

# check_seconds VALUE WHAT: exit 64 unless VALUE is a whole number of seconds
check_seconds() {
	case $1 in
	'' | *[!0-9]*) die "$EX_USAGE" "$2 must be a whole number of seconds, not '$1'" ;;
	esac
}

# clear_planted FILE: remove FILE when it is there as anything but a regular file: a FIFO, a symbolic
# link or a directory a job put at a name of its directory that tej writes (opening a FIFO to write
# blocks until someone reads it: the wrapper would never record the job's end). Two builtin tests;
# rm runs only when there is something to remove.
clear_planted() {
	if test -L "$1" || { test -e "$1" && ! test -f "$1"; }; then
		rm -rf "$1" 2>/dev/null || true
	fi
}

# write_state FILE VALUE: write one line atomically (FILE.tmp.PID, then mv); fail, leaving no temp
# file, when the disk is full
write_state() {
	clear_planted "$1.tmp.$$"
	if { printf '%s\n' "$2" >"$1.tmp.$$"; } 2>/dev/null && mv -f "$1.tmp.$$" "$1"; then
		return 0
	fi
	rm -f "$1.tmp.$$"
	say "cannot write $1"
	return 1
}

# read_state_into FILE: set state_line to the first line of FILE; fail when FILE is not a regular file
# (missing, or a FIFO a job made of its record, which would block every reader). No subshell: a status
# of many jobs reads a dozen files each, and a $(read_state) forks every time. The test rather than a
# `2>/dev/null` around the read: that redirection cost half the syscalls of a status (a file removed
# between the two says so on stderr, and reads as missing).
read_state_into() {
	state_line=
	test -f "$1" || return 1
	IFS= read -r state_line <"$1" || test -n "$state_line"
}

# read_state FILE: print the first line of FILE; fail when FILE does not exist
read_state() {
	read_state_into "$1" || return 1
	printf '%s\n' "$state_line"
}

# read_raw FILE: set raw_value to FILE's exact content (builtins only:
# run-job.sh reads with the job's PATH in effect)
read_raw() {
	raw_value=
	_read_raw_line=
	while IFS= read -r _read_raw_line; do
		raw_value="$raw_value$_read_raw_line
"
		_read_raw_line=
	done <"$1"
	raw_value=$raw_value$_read_raw_line
}

# key_value FILE KEY: print the value of the first KEY=value line of FILE
key_value() {
	test -f "$1" || return 1
	while IFS= read -r _key_value_line || test -n "$_key_value_line"; do
		case $_key_value_line in
		"$2="*)
			printf '%s\n' "${_key_value_line#*=}"
			return 0
			;;
		esac
	done <"$1"
	return 1
}

# require_setup: exit 69 unless `setup` has run on this queue, saying queue=absent as the dispatcher
# does for a queue with no helpers: a client that may create the queue (submit) runs setup and calls
# again. Helpers without jobs/ are what another client's first use leaves between its install and its setup.
require_setup() {
	if ! test -d "$TEJ_ROOT/jobs" || ! test -d "$TEJ_ROOT/staging"; then
		printf 'queue=absent\n'
		die "$EX_UNAVAILABLE" "the queue $TEJ_ROOT is not set up (run tej setup)"
	fi
}

# The queue plugin interface. A plugin (queues/NAME.sh) overrides these failing defaults.
# shellcheck disable=SC2317 # the defaults are called once a plugin is loaded
queue_defaults() {
	# queue_config: extra config lines that setup records for the plugin (pbs: its dialect). Optional.
	queue_config() { :; }
	queue_check() {
		say "plugin '$TEJ_PLUGIN' defines no queue_check"
		return "$EX_UNAVAILABLE"
	}
	queue_submit() {
		say "plugin '$TEJ_PLUGIN' cannot submit jobs"
		return "$EX_UNAVAILABLE"
	}
	queue_state() {
		say "plugin '$TEJ_PLUGIN' cannot report job states"
		return "$EX_UNAVAILABLE"
	}
	queue_kill() {
		say "plugin '$TEJ_PLUGIN' cannot kill jobs"
		return "$EX_UNAVAILABLE"
	}
	# queue_find JOB_DIR: the native id of a job this plugin accepted whose submit died before it wrote
	# native-id and whose wrapper has not recorded itself (it writes launched as it starts): print it and
	# succeed; 1 when there is no such job; 2 when the plugin cannot tell now. This default knows of no
	# job but through the wrapper (direct starts it at once).
	queue_find() {
		return 1
	}
	# queue_abandon JOB_DIR: cancel whatever job the plugin may hold for this submit attempt of JOB_DIR,
	# which tej has given up (its submit failed, or it is incomplete): no orphan runs in its name. Fails
	# when the plugin cannot tell now. This default holds none but through the wrapper (which refuses to
	# run a job given up).
	queue_abandon() {
		return 0
	}
	# queue_exec JOB_DIR NATIVE_ID STATE COMMAND [ARGS...]: run COMMAND where the job runs (STATE is its
	# state word: queued, running, finished, ...), in the current directory (the job's work/) with the
	# environment exported; its stdin, stdout, stderr and exit status are the command's. Optional: this
	# default runs it here, on the host (direct: where the job runs; else the login node).
	queue_exec() {
		shift 3
		"$@"
	}
	# queue_node JOB_DIR NATIVE_ID: print the address of the machine a running job runs on, as this host
	# reaches it (tej forward connects to the job's ports there through this host's sshd). Optional: this
	# default says this host itself (direct: where the job runs).
	queue_node() {
		echo 127.0.0.1
	}
	# queue_own_id JOB_DIR NATIVE_ID: print the native id of the job the plugin made for JOB_DIR, as its
	# scheduler shows it: NATIVE_ID (read from files the job can write) when the scheduler shows that
	# job as tej's for JOB_DIR, else the one it shows by the job's name; 1 when there is none, 2 when
	# the scheduler does not answer. where, exec and shell ask it before queue_node, queue_exec and
	# queue_shell. Optional: this default vouches for NATIVE_ID (direct: the wrapper's pid, which the
	# job's state proved by its start time).
	queue_own_id() {
		printf '%s\n' "$2"
	}
	# queue_shell JOB_DIR NATIVE_ID STATE SHELL [ARGS...]: as queue_exec, for an interactive shell whose
	# stdin, stdout and stderr are a terminal (exec --shell); a plugin that runs it elsewhere must give it
	# a terminal there (slurm: srun --pty). Optional: this default runs it here.
	queue_shell() {
		shift 3
		"$@"
	}
	# queue_states: the batch form of queue_state, for status and list: reads "NATIVE_ID JOB_DIR" lines,
	# prints "WORD NATIVE_STATE JOB_DIR" lines (NATIVE_STATE - when the plugin has none). This default asks
	# queue_state once per job; a plugin whose every question costs (slurm: squeue) asks once for all.
	queue_states() {
		while read -r _queue_states_native _queue_states_dir; do
			test -n "$_queue_states_dir" || continue
			_queue_states_word=$(queue_state "$_queue_states_dir" "$_queue_states_native") || _queue_states_word=lost
			printf '%s - %s\n' "$_queue_states_word" "$_queue_states_dir"
		done
	}
}

# plugin_installed NAME: whether NAME is a plugin name, queues/NAME.sh exists, and the plugin is one
# the client vouches for. A client's call names them in TEJ_PLUGINS: the bundle's plugins (the call
# checked them against the client's MANIFEST) and the user's own, which it checked against the hashes
# the client keeps (a job can write queues/ and MANIFEST, so neither is trusted for this). Without
# TEJ_PLUGINS (a person at the shell, a test harness): the plugins MANIFEST lists.
# From the helper program a plugin of the bundle is installed whatever a job made of its file.
plugin_installed() {
	if test -n "${tej_in_memory:-}" && tej_plugin_known "$1"; then
		return 0
	fi
	is_plugin_name "$1" && test -f "$TEJ_ROOT/queues/$1.sh" || return 1
	if test -n "${TEJ_PLUGINS+set}"; then
		case " $TEJ_PLUGINS " in
		*" $1 "*) return 0 ;;
		esac
		return 1
	fi
	_plugin_installed_line=
	while IFS= read -r _plugin_installed_line || test -n "$_plugin_installed_line"; do
		case $_plugin_installed_line in
		*"  queues/$1.sh") return 0 ;;
		esac
		_plugin_installed_line=
	done <"$TEJ_ROOT/MANIFEST"
	return 1
} 2>/dev/null

# load_lib NAME: a library only the commands use, never a job's wrapper (COMMAND_LIBS in
# src/remote/program.ts: the wrapper gets the others in one environment string, which Linux caps at
# 128 KiB): the helper program's function tej_lib_NAME, else lib/NAME.sh
load_lib() {
	if test -n "${tej_in_memory:-}"; then
		"tej_lib_$1"
		return
	fi
	case $1 in
	batch)
		# shellcheck source=../lib/batch.sh
		. "$TEJ_ROOT/lib/batch.sh"
		;;
	gridengine)
		# shellcheck source=../lib/gridengine.sh
		. "$TEJ_ROOT/lib/gridengine.sh"
		;;
	pbsarray)
		# shellcheck source=../lib/pbsarray.sh
		. "$TEJ_ROOT/lib/pbsarray.sh"
		;;
	sacct)
		# shellcheck source=../lib/sacct.sh
		. "$TEJ_ROOT/lib/sacct.sh"
		;;
	store)
		# shellcheck source=../lib/store.sh
		. "$TEJ_ROOT/lib/store.sh"
		;;
	esac
}

# load_queue NAME: source queues/NAME.sh over the defaults; exit 65 when there is no such plugin
TEJ_PLUGIN=
load_queue() {
	check_plugin_name "$1"
	test "$1" = "$TEJ_PLUGIN" && return 0
	# what the batch plugins share (lib/batch.sh; a wrapper loads only direct, and has no tej_lib_batch)
	test "$1" = direct || load_lib batch
	# From the helper program a plugin of the bundle is the program's own function: the file on disk is
	# never read, whatever a job wrote into it.
	if test -n "${tej_in_memory:-}" && tej_plugin_known "$1"; then
		TEJ_PLUGIN=$1
		queue_defaults
		tej_plugin "$1"
		return 0
	fi
	test -f "$TEJ_ROOT/queues/$1.sh" || die "$EX_DATAERR" "unknown plugin: '$1'"
	# Only a plugin the client vouches for is ever sourced: a job can write queues/x.sh and name it in
	# config or in its plugin file.
	plugin_installed "$1" || die "$EX_DATAERR" "plugin '$1' is not one the client installed (install your own with tej setup --plugin-file)"
	TEJ_PLUGIN=$1
	queue_defaults
	if test -n "${tej_in_memory:-}"; then
		load_own_plugin "$1"
		return 0
	fi
	# shellcheck source=../queues/direct.sh
	. "$TEJ_ROOT/queues/$1.sh"
}

# load_job_queue JOB_DIR: load the plugin a job was submitted with (its plugin file) when it is one the
# client vouches for; else the defaults (a plugin removed since, or a name the job wrote there)
load_job_queue() {
	_load_job_queue_p=
	! read_state_into "$1/plugin" || _load_job_queue_p=$state_line
	if test -n "$_load_job_queue_p" && is_plugin_name "$_load_job_queue_p" && plugin_installed "$_load_job_queue_p"; then
		load_queue "$_load_job_queue_p"
	else
		queue_defaults
	fi
}

# job_own_native JOB_DIR ID: set job_native (the job's native id, from job_state_into) to the one its
# plugin's scheduler shows as tej's for the job (queue_own_id), or die: 69 when it shows none, 75 when
# it does not answer. The plugin is loaded (load_job_queue).
job_own_native() {
	_job_own_status=0
	job_native=$(queue_own_id "$1" "$job_native") || _job_own_status=$?
	case $_job_own_status in
	0) ;;
	1) die "$EX_UNAVAILABLE" "the scheduler shows no job of tej's for job $2: it may have ended just now ('tej status --id $2' tells)" ;;
	*) die "$EX_TEMPFAIL" "the scheduler did not answer about job $2: try again" ;;
	esac
}

# load_own_plugin NAME: run the user's own plugin from the text read once and checked against the sha256
# the client sent for it (TEJ_PLUGIN_SUMS, "NAME=HEX ..."), so that a job rewriting the file while the
# call runs cannot get its code run. Without a sum (a library session's call) it fails with 69, and the
# client sends the call again through the invocation, which sends the sums.
load_own_plugin() {
	_own_sum=
	for _own_pair in ${TEJ_PLUGIN_SUMS:-}; do
		case $_own_pair in "$1="*) _own_sum=${_own_pair#*=} ;; esac
	done
	test -n "$_own_sum" || die "$EX_UNAVAILABLE" "plugin '$1' is not in the helper program, and this call has no sum of it"
	# a regular file only: a job can put a FIFO there, which cat would wait on
	test -f "$TEJ_ROOT/queues/$1.sh" || die "$EX_UNAVAILABLE" "cannot read the plugin '$1': not a file"
	_own_text=$(cat "$TEJ_ROOT/queues/$1.sh" && echo x) || die "$EX_UNAVAILABLE" "cannot read the plugin '$1'"
	_own_text=${_own_text%x}
	sha256_tool_into || die "$EX_UNAVAILABLE" "cannot check the plugin '$1': no sha256 tool on this host (openssl, sha256sum, shasum or sha256)"
	# shellcheck disable=SC2086 # a command and its options
	_own_got=$(printf '%s' "$_own_text" | $sha256_tool)
	test "${_own_got%% *}" = "$_own_sum" ||
		die "$EX_UNAVAILABLE" "the plugin '$1' was changed since it was installed: run tej setup --plugin-file again"
	eval "$_own_text"
}

# The job wrapper started from the helper program: a new shell gets the texts of the libraries and of
# lib/run-job.sh in its environment, with the few lines that run them (TEJ_CODE_BOOT), takes them out of
# it before anything else runs (the job must not inherit them), and runs them: no file of the queue is
# read, so what a job wrote there cannot run as a later job's wrapper. A plugin starts it with
#   wrapper_code_export; "$TEJ_SHELL" -c 'eval "$TEJ_CODE_BOOT"' "$TEJ_ROOT/lib/run-job.sh" JOB_DIR
#   wrapper_code_unexport
# (its command line ends as the file's does: ps shows it, direct.sh tells the wrapper by it), and from
# files with
#   "$TEJ_SHELL" "$TEJ_ROOT/lib/run-job.sh" JOB_DIR
# An environment string is at most 128 KiB on Linux (test/unit/wrapper-env-size.test.ts): the program
# gives the libraries' text without its comment lines, and a library only the commands use stays out
# of it (COMMAND_LIBS, src/remote/program.ts).
# shellcheck disable=SC2016,SC2089 # code for the wrapper's shell, which expands it
TEJ_WRAPPER_BOOT='tej_text_libs=$TEJ_CODE_LIBS tej_text_run_job=$TEJ_CODE_RUN_JOB tej_text_direct=${TEJ_CODE_DIRECT:-}
unset TEJ_CODE_BOOT TEJ_CODE_LIBS TEJ_CODE_RUN_JOB TEJ_CODE_DIRECT
tej_in_memory=1
eval "tej_libs() {
$tej_text_libs
}"
tej_plugin_known() { test -n "$tej_text_direct" && test "$1" = direct; }
tej_plugin() { eval "$tej_text_direct"; }
eval "$tej_text_run_job"'
# shellcheck disable=SC2090,SC2154 # tej_text_* are set by the helper program (src/remote/program.ts)
wrapper_code_export() {
	TEJ_CODE_BOOT=$TEJ_WRAPPER_BOOT
	TEJ_CODE_LIBS=$tej_text_libs
	TEJ_CODE_RUN_JOB=$tej_text_run_job
	# the direct plugin, with which a task's wrapper starts the array's next task (lib/array.sh)
	TEJ_CODE_DIRECT=${tej_text_direct:-}
	export TEJ_CODE_BOOT TEJ_CODE_LIBS TEJ_CODE_RUN_JOB TEJ_CODE_DIRECT
}
wrapper_code_unexport() {
	unset TEJ_CODE_BOOT TEJ_CODE_LIBS TEJ_CODE_RUN_JOB TEJ_CODE_DIRECT
}

# queue_state_by_states JOB_DIR NATIVE_ID: queue_state for a plugin that has queue_states: one job
# through it (lost when it says nothing)
queue_state_by_states() {
	printf '%s %s\n' "$2" "$1" | queue_states | {
		read -r _qsbs_word _qsbs_rest || _qsbs_word=lost
		echo "$_qsbs_word"
	}
}

# wait_end_record JOB_DIR: after a scheduler ended a started job, give its wrapper a moment (20 naps) to
# record the end it saw
wait_end_record() {
	_wait_end_left=20
	while test "$_wait_end_left" -gt 0 && test -f "$1/start" && ! test -f "$1/exit-code"; do
		nap
		_wait_end_left=$((_wait_end_left - 1))
	done
}

# read_queue_config: set queue_plugin (the plugin named in config, else direct) and gnu_tar (the path of
# the GNU tar setup found, else empty). No subshell: submit runs this on its critical path.
read_queue_config() {
	queue_plugin=direct
	gnu_tar=
	test -f "$TEJ_ROOT/config" || return 0
	_queue_config_line=
	while IFS= read -r _queue_config_line || test -n "$_queue_config_line"; do
		case $_queue_config_line in
		plugin=?*) queue_plugin=${_queue_config_line#plugin=} ;;
		gnu_tar=*) gnu_tar=${_queue_config_line#gnu_tar=} ;;
		esac
		_queue_config_line=
	done <"$TEJ_ROOT/config"
	# Only a tar in the system's own directories: a job can write this file (same user), and a path it
	# names here would run on every later submit. Anything else is ignored, never run.
	case $gnu_tar in
	/bin/tar | /usr/bin/tar | /usr/local/bin/tar | /bin/gtar | /usr/bin/gtar | /usr/local/bin/gtar | /opt/homebrew/bin/gtar | /opt/local/bin/gtar) ;;
	*) gnu_tar= ;;
	esac
}

# untar DIR: extract the tar stream on stdin into DIR. GNU tar reads and writes 10 KiB at a time unless
# told otherwise: with the one setup found (and still there), 128 KiB records; busybox tar knows no -b.
# GNU tar decodes escapes in -C's directory (a queue path with a backslash) unless --no-unquote comes
# first; busybox tar takes it literally and knows no such option.
untar() {
	if test -n "${gnu_tar:-}" && test -x "$gnu_tar"; then
		"$gnu_tar" --no-unquote -xf - -b 256 -C "$1"
	else
		tar -xf - -C "$1"
	fi
}

# default_plugin: the plugin named in config, else direct
default_plugin() {
	read_queue_config
	printf '%s\n' "$queue_plugin"
}
