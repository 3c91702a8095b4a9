#!/bin/sh
# Summary: Print a job's output file; with --follow, go on printing what the job appends until it ends
# Usage: tej-remote logs <job-id> [--stderr] [--follow]
# Output (stdout): the raw bytes of the job's stdout file (meta/stdout, default work/tej.stdout) or,
#   with --stderr, of its stderr file; no protocol lines
# Exit: 0 ok (a job with no output yet prints nothing); 64 usage; 65 bad id; 66 no such job; 69 queue
#   not set up, or no tail/head on this host
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
fi

usage="usage: tej-remote logs <job-id> [--stderr] [--follow]"
id=
stream=stdout
follow=
while test $# -gt 0; do
	case $1 in
	--stderr) stream=stderr ;;
	--follow) follow=yes ;;
	-*) die "$EX_USAGE" "$usage" ;;
	*)
		test -z "$id" || die "$EX_USAGE" "$usage"
		id=$1
		;;
	esac
	shift
done
test -n "$id" || die "$EX_USAGE" "$usage"
check_job_id "$id"
require_setup
job_dir_for "$id"

file=$(read_state "$job_dir/meta/$stream") || file=tej.$stream
case /$file/ in
//* | */../*) die "$EX_DATAERR" "bad output path in the job's metadata: '$file'" ;;
esac
file=$job_dir/work/$file

if test -z "$follow"; then
	test ! -f "$file" || cat "$file"
	exit 0
fi
need_cmd tail
need_cmd head

# size FILE: its length in bytes (wc pads it with blanks on some systems)
size() {
	_size_n=$(wc -c <"$1")
	printf '%s\n' "$((_size_n + 0))"
}

# inode FILE: its inode number (ls pads it with blanks on some systems); a file replaced by a rename is
# another file
inode() {
	_inode_n=$(ls -iL -- "$1")
	_inode_n=${_inode_n#"${_inode_n%%[! ]*}"}
	printf '%s\n' "${_inode_n%% *}"
}

# The client gone (the SSH session closed): stop instead of polling on. (A write to the closed channel
# would stop us too, but a quiet job writes nothing.)
client_watch_init || exit 0

# Each round reads the state first, then prints up to the size seen after it: once the state says the
# job ended, the last round prints everything it wrote.
offset=0
last_inode=
while :; do
	job_state_into "$job_dir"
	state=$job_state_value
	if test -f "$file"; then
		length=$(size "$file")
		# A file rewritten from the start (truncated) or replaced (another inode, read after the size: a
		# file replaced in between is printed from its start) is printed again from its start.
		this_inode=$(inode "$file") || this_inode=
		test "$length" -ge "$offset" && test "$this_inode" = "$last_inode" || offset=0
		last_inode=$this_inode
		if test "$length" -gt "$offset"; then
			tail -c "+$((offset + 1))" "$file" | head -c "$((length - offset))"
			offset=$length
		fi
	fi
	case $state in
	submitting | queued | running) ;;
	*) exit 0 ;;
	esac
	client_gone && exit 0
	sleep 0.5 2>/dev/null || sleep 1
done
