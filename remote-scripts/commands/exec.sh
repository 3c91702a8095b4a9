#!/bin/sh
# Summary: Run one command (no terminal), or an interactive shell (--shell), in a job's work/ with its environment
# Usage: tej-remote exec <job-id> <command> [args...]
#        tej-remote exec --shell <job-id>
# Output (stdout, stderr): nothing of its own once the job is found: the stream marker on each, then the
#   command's stdout and stderr byte for byte; the command reads this helper's stdin. With --shell the
#   marker is on stdout alone (the terminal's one stream), before the terminal's modes are set for the
#   shell, which runs on the terminal that is this helper's stdin
# Exit: after the markers, the command's own status (128+N when signal N killed it, 127 not found, 126
#   not executable); before them: 64 usage; 65 bad id or metadata; 66 no such job, or its directory is
#   gone; 69 queue not set up, or a running job's scheduler shows no job of tej's for it (queue_own_id);
#   75 the job is still being submitted, or its scheduler did not answer
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
fi

# exec_watch HELPER IDENTITY GRACE: while the helper (its pid and proc_identity) runs its command, look
# twice a second whether the client has gone (Ctrl-C, a dropped link): a command without a terminal gets
# no hang-up, and one that writes nothing would run on for ever. Then end the command's process tree:
# TERM, and KILL to what is left after GRACE seconds. Runs in the background, its stdio /dev/null.
exec_watch() {
	set +e
	self_into
	while proc_alive "$1" "$2"; do
		if client_gone; then
			exec_hang_up "$1" "$self_pid" "$3"
			return 0
		fi
		sleep 0.5 2>/dev/null || sleep 1
	done
}

# exec_hang_up HELPER WATCHER GRACE: TERM the trees of the helper's children but the watcher (the
# command: srun for a Slurm job's step), then KILL what is left of them after GRACE seconds. Not the
# job's own processes: tree_job_dir stays empty.
exec_hang_up() {
	children_into "$1" "$2"
	test -n "$children" || return 0
	# shellcheck disable=SC2086 # split on purpose: pids
	tree_kill TERM $children
	_exec_hang_up_waited=0
	while tree_alive && test "$_exec_hang_up_waited" -lt "$3"; do
		sleep 1
		_exec_hang_up_waited=$((_exec_hang_up_waited + 1))
	done
	! tree_alive || tree_kill KILL
}

# login_shell: prints the account's login shell from its passwd entry (getent, else /etc/passwd) when
# it is usable: an absolute path to an executable file, listed in /etc/shells when there is one (which
# leaves out nologin and false); else /bin/sh. tcsh and fish are as good as any: the shell gets nothing
# to parse from tej, only the terminal.
login_shell() {
	_login_shell_uid=$(id -u)
	_login_shell_entry=$(getent passwd "$_login_shell_uid" 2>/dev/null) || _login_shell_entry=
	if test -z "$_login_shell_entry" && test -r /etc/passwd; then
		while IFS= read -r _login_shell_line; do
			case $_login_shell_line in
			*:*:"$_login_shell_uid":*) _login_shell_entry=$_login_shell_line && break ;;
			esac
		done </etc/passwd
	fi
	_login_shell_path=${_login_shell_entry##*:}
	case $_login_shell_path in
	/*) ;;
	*) _login_shell_path= ;;
	esac
	if test -n "$_login_shell_path" && test -f "$_login_shell_path" && test -x "$_login_shell_path" &&
		{ ! test -f /etc/shells || grep -qxF -- "$_login_shell_path" /etc/shells; }; then
		printf '%s\n' "$_login_shell_path"
	else
		printf '/bin/sh\n'
	fi
}

usage="usage: tej-remote exec <job-id> <command> [args...] | exec --shell <job-id>"
shell=
if test "${1:-}" = --shell; then
	test $# -eq 2 || die "$EX_USAGE" "$usage"
	shell=$(login_shell)
	shift
	set -- "$1" "$shell" -i
fi
test $# -ge 2 || die "$EX_USAGE" "$usage"
id=$1
shift
test -n "$1" || die "$EX_USAGE" "$usage"
check_job_id "$id"
require_setup
job_dir_for "$id"

job_state_into "$job_dir"
state=$job_state_value
test "$state" != submitting || die "$EX_TEMPFAIL" "job $id is still being submitted: try again once it is queued"

# The job can write everything below its directory: work/ and the files read here count only as what
# they claim to be. A symbolic link or anything but a directory as work/ does not choose the command's
# directory, and only regular files are read (a FIFO would hold the read up for ever).
work=$job_dir/work
if test -L "$work" || ! test -d "$work"; then
	die "$EX_NOINPUT" "the directory of job $id is gone (its work/ is not a directory)"
fi
meta=$job_dir/meta
if test -L "$meta" || ! test -d "$meta"; then meta=; fi

nproc=
if test -n "$meta" && ! test -L "$meta/nproc" && read_state_into "$meta/nproc"; then
	case $state_line in
	'' | *[!0-9]*) ;;
	*) nproc=$state_line ;;
	esac
fi
test -n "$nproc" || nproc=$(getconf _NPROCESSORS_ONLN 2>/dev/null) || nproc=1
TEJ_JOB_ID=$id
TEJ_JOB_DIR=$work
TEJ_QUEUE=$TEJ_ROOT
TEJ_JOB_NPROC=$nproc
export TEJ_JOB_ID TEJ_JOB_DIR TEJ_QUEUE TEJ_JOB_NPROC
unset TEJ_SCRATCH_DIR
if test "$state" = running && ! test -L "$job_dir/scratch" && read_state_into "$job_dir/scratch" && test -n "$state_line"; then
	TEJ_SCRATCH_DIR=$state_line
	export TEJ_SCRATCH_DIR
fi

# Where: the plugin of the job says (queue_exec: inside a Slurm allocation); a plugin that cannot be
# loaded any more, or without queue_exec (the default), runs the command here.
load_job_queue "$job_dir"
# a running job's command runs in the allocation of the job tej made for it, never in another job's
# whose id this one wrote into its native-id
if test "$state" = running && test -n "$job_native"; then
	job_own_native "$job_dir" "$id"
fi

cd -P "$work" || die "$EX_NOINPUT" "cannot enter the directory of job $id"
test -z "${TEJ_UMASK:-}" || umask "$TEJ_UMASK"
kill_grace=${TEJ_KILL_GRACE:-10}
check_seconds "$kill_grace" TEJ_KILL_GRACE
# The client gone already: nothing to run. Else the watcher starts now, before the job's environment
# (its PATH is the command's, not the watcher's), and the command runs in the foreground (it keeps
# SIGINT and SIGQUIT as we got them: an asynchronous command of a shell without job control has them
# ignored) with our stdin.
client_watch_init || exit 0
self_into
exec_watch "$self_pid" "$self_id" "$kill_grace" </dev/null >/dev/null 2>&1 &
watcher=$!
# What the helper's caller set for it alone is not the job's (the job's wrapper leaves the same out:
# export_job_env, lib/run-job.sh).
unset TEJ_ROOT TEJ_SHELL TEJ_CALLER_PID TEJ_UMASK TEJ_PLUGINS TEJ_PLUGIN_SUMS TEJ_KILL_GRACE
# The job's environment as the wrapper gives it (export_job_env, lib/run-job.sh): meta/env/, then the
# TEJ_ variables set above, which win. Names are checked as submit checks them; one a job wrote since is
# left out, as the wrapper leaves it out. Exported after the markers, with builtins only: a PATH or an
# IFS of the job's is the command's, not this helper's (posh's printf is not a builtin).
env_names=
if test -n "$meta" && test -d "$meta/env" && ! test -L "$meta/env"; then
	for file in "$meta"/env/*; do
		if test -L "$file" || ! test -f "$file"; then continue; fi
		name=${file##*/}
		case $name in
		'' | [!A-Za-z_]* | *[!A-Za-z0-9_]*)
			say "ignoring the environment variable with a bad name: '$name'"
			continue
			;;
		TEJ_JOB_ID | TEJ_JOB_DIR | TEJ_QUEUE | TEJ_JOB_NPROC | TEJ_SCRATCH_DIR) continue ;;
		esac
		env_names="$env_names $name"
	done
fi
# From here on every byte on stdout and stderr is the command's.
printf 'tej-stream-begins\n'
if test -n "$shell"; then
	# The client asked for the terminal raw, without echo, so that this script's line reached /bin/sh
	# as sent (docs/protocol.md): the shell gets the usual modes back (POSIX stty has no `sane`).
	stty sane 2>/dev/null || stty icanon isig iexten echo echoe echok icrnl ixon opost onlcr 2>/dev/null || :
else
	printf 'tej-stream-begins\n' >&2
fi
for name in $env_names; do
	read_raw "$meta/env/$name"
	command export "$name=$raw_value" 2>/dev/null || :
done
set +e
if test -n "$shell"; then
	queue_shell "$job_dir" "$job_native" "$state" "$@"
else
	queue_exec "$job_dir" "$job_native" "$state" "$@"
fi
status=$?
# Our own child, not waited for yet: its pid cannot be another process's.
kill "$watcher" 2>/dev/null
exit "$status"
