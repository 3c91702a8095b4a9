#!/bin/sh
# Summary: Send named regular files of a job as one tar stream (or their sha256): the fetching half of download --update/--watch
# Usage: tej-remote fetch [--sha256] [--] <job-id> <path>...
#   Each PATH is relative to work/ and must be a regular file reached through no symlink at all (the
#   client names files from a listing, src/download/listing.ts); a path that is not (any more) is left
#   out, and the client sees it missing from the stream.
# Output (stdout, no protocol lines): a tar stream, entries named work/PATH; with --sha256 one line per
#   PATH, in order: its sha256 in hex, or - (left out, or no sha256 tool: sha256_tool_into)
# Exit: 0 ok; 64 usage; 65 bad id, an array; 66 no such job; 69 queue not set up or no tar; 1 tar failed,
#   or the job's directory cannot hold the stage
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

usage="usage: tej-remote fetch [--sha256] [--] <job-id> <path>..."
sums=
test "${1:-}" != --sha256 || {
	sums=yes
	shift
}
test "${1:-}" != -- || shift
test $# -ge 2 || die "$EX_USAGE" "$usage"
id=$1
shift
check_job_id "$id"
require_setup
job_dir_for "$id"
test ! -f "$job_dir/meta/array/tasks" || die "$EX_DATAERR" "$id is an array: download from a task (--id $id/N) or from each of them (--id '$id/*')"
test -n "$sums" || need_cmd tar
root=$(cd -P "$job_dir" && pwd -P)
if ! test -d "$root/work" || test -L "$root/work"; then
	die "$EX_NOINPUT" "job $id has no work directory"
fi
cd "$root"

sha256_tool_into || true

# path_dir PATH: set path_dir to the directory of PATH inside work/ ("work" or "work/D"); return 1 for a
# path that names no file below work/ (.., ., //, absolute, a trailing /)
path_dir() {
	case /$1/ in
	*/../* | */./* | *//*) return 1 ;;
	/*/*/) path_dir=work/${1%/*} ;;
	*) path_dir=work ;;
	esac
}

# send_run DIR N PATH...: the first N PATHs, all in DIR. The directory is entered by its physical path
# and checked to be the one named (no component a symlink); from then on each file is named by its
# last component alone, relative to the directory entered: a directory the job swaps for a symlink
# after the check changes nothing (tar, given work/D/F, would follow it). Each regular file (no
# symlink) is hard-linked into the stage, or with --sha256 its sum printed (- for any other).
send_run() {
	_run_dir=$1
	_run_n=$2
	shift 2
	_run_in=
	if cd -P "$_run_dir" 2>/dev/null && test "$(pwd -P)" = "$root/$_run_dir"; then _run_in=yes; fi
	_run_i=0
	for _run_p do
		test "$_run_i" -lt "$_run_n" || break
		test "$_run_i" -ne 0 || set --
		_run_i=$((_run_i + 1))
		_run_b=${_run_p##*/}
		if test -z "$_run_in" || test -L "$_run_b" || ! test -f "$_run_b"; then
			test -z "$sums" || echo -
			continue
		fi
		if test -n "$sums"; then
			_run_sum=-
			# shellcheck disable=SC2086 # a command and its options
			test -z "$sha256_tool" || _run_sum=$($sha256_tool <"$_run_b") || _run_sum=-
			printf '%s\n' "${_run_sum%% *}"
			continue
		fi
		set -- ${1+"$@"} "$_run_b"
	done
	test -z "$sums" && test $# -gt 0 || return 0
	mkdir -p "$stage/$_run_dir" || return 0
	# ln makes a hard link to a symlink itself (never to its target); one it cannot make (a file of
	# another owner under fs.protected_hardlinks) is copied by tar, which follows no symlink either
	ln -- "$@" "$stage/$_run_dir/" 2>/dev/null && return 0
	for _run_b do
		test -e "$stage/$_run_dir/$_run_b" || tar -cf - -- "$_run_b" 2>/dev/null | (cd "$stage/$_run_dir" && tar -xf - 2>/dev/null) || :
	done
}

# The stage: a directory of this call's own, outside work/, where the files to send are hard links
# (or copies) made from inside their checked directories; tar reads them there, by paths no job can
# change. TEJ_TEST_FETCH_PAUSE=DIR (tests): once the files are checked, write DIR/checked and wait for
# a line on DIR/go (FIFOs), for a test to change the job's files at that point.
# It is named fetch.PID.START (this call's process, proc_identity), or fetch.PID.rXXXXXX without one; a
# stage whose fetch is gone (a download stopped mid-way) is removed here: its links would keep files
# the job has replaced since (an old checkpoint) on the disk.
stage=
if test -z "$sums"; then
	for old in "$root"/fetch.*.*; do
		test -d "$old" || continue
		old_pid=${old##*/fetch.}
		old_id=${old_pid#*.}
		old_pid=${old_pid%%.*}
		case $old_pid in '' | *[!0-9]*) continue ;; esac
		case $old_id in '' | *[!0-9]*) old_id= ;; esac
		proc_alive "$old_pid" "$old_id" || rm -rf "$old"
	done
	self_into
	case $self_id in
	'' | *[!0-9]*) stage=$(mktemp -d "$root/fetch.$self_pid.rXXXXXX") || stage= ;;
	*) mkdir "$root/fetch.$self_pid.$self_id" && stage=$root/fetch.$self_pid.$self_id ;;
	esac
	test -n "$stage" || die "$EX_FAILURE" "cannot make a directory in the directory of job $id (fetch stages its files there): is it writable?"
fi
# Keep in "$@" the paths of the files linked into the stage, in order (runs of paths in one directory:
# one subshell and one ln each); with --sha256, print each path's sum as it goes.
count=$#
while test "$count" -gt 0; do
	if ! path_dir "$1"; then
		test -z "$sums" || echo -
		shift
		count=$((count - 1))
		continue
	fi
	dir=$path_dir
	n=0
	for p do
		if test "$n" -ge "$count" || test "$n" -ge 500 || ! path_dir "$p" || test "$path_dir" != "$dir"; then break; fi
		n=$((n + 1))
	done
	(send_run "$dir" "$n" "$@")
	count=$((count - n))
	while test "$n" -gt 0; do
		p=$1
		shift
		n=$((n - 1))
		# a symlink made in the stage (the job swapped the file for one as it was linked) is not sent
		if test -n "$stage" && test -f "$stage/work/$p" && ! test -L "$stage/work/$p"; then set -- ${1+"$@"} "work/$p"; fi
	done
done
if test -n "${TEJ_TEST_FETCH_PAUSE:-}"; then
	echo checked >"$TEJ_TEST_FETCH_PAUSE/checked"
	read -r _ <"$TEJ_TEST_FETCH_PAUSE/go" || :
fi
test -n "$stage" || exit 0
cd "$stage"
status=0
if test $# -gt 0; then
	case $(tar --version 2>/dev/null || :) in
	*"GNU tar"*)
		# names taken literally (no escapes decoded); a file still being written is a warning: it is sent
		# as far as it was read
		tar --no-unquote --warning=no-file-changed -cf - -- "$@" || status=$?
		test "$status" -le 1 || status=2
		;;
	*)
		tar -cf - "$@" || status=2
		;;
	esac
fi
cd "$root"
rm -rf "$stage"
test "$status" -le 1 || die "$EX_FAILURE" "tar failed while sending the files of job $id"
