#!/bin/sh
# Summary: Send one file or directory of a job as a tar stream
# Usage: tej-remote download [--] <job-id> <path>
#   PATH is relative to the job's work/; it must resolve, symlinks followed, inside the job's directory.
# Output (stdout): a tar stream holding one top-level entry, named by the physical basename (no protocol
#   lines); symlinks inside a directory are archived as symlinks
# Exit: 0 ok; 64 usage; 65 bad id or bad path (empty, absolute, '..', outside the job); 66 no such job
#   or path; 69 queue not set up or no tar; 1 tar failed (not GNU tar's 1 for a file that changed
#   while it was read: that is 0, the file sent as far as it was read)
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

usage="usage: tej-remote download [--] <job-id> <path>"
positional=0
id=
path=
# A path may start with '-': -- before the id ends the options (there are none).
options=yes
while test $# -gt 0; do
	case $options$1 in
	yes--) options= ;;
	*)
		positional=$((positional + 1))
		case $positional in
		1) id=$1 ;;
		2) path=$1 ;;
		*) die "$EX_USAGE" "$usage" ;;
		esac
		;;
	esac
	shift
done
test "$positional" -eq 2 || die "$EX_USAGE" "$usage"
check_job_id "$id"
case $path in
'') die "$EX_DATAERR" "bad path: it is empty" ;;
/*) die "$EX_DATAERR" "bad path '$path': absolute paths are outside the job" ;;
esac
case /$path/ in
*/../*) die "$EX_DATAERR" "bad path '$path': '..' leaves the job's directory" ;;
esac
require_setup
job_dir_for "$id"
# an array's directory holds its upload, not a task's results (lib/array.sh)
test ! -f "$job_dir/meta/array/tasks" || die "$EX_DATAERR" "$id is an array: download from a task (--id $id/N) or from each of them (--id '$id/*')"
need_cmd tar

root=$(cd -P "$job_dir" && pwd -P)
base=$root/work

# check_inside PHYSICAL_PATH: exit 65 unless it is the job's directory or lies below it
check_inside() {
	case $1 in
	"$root" | "$root"/*) ;;
	*) die "$EX_DATAERR" "bad path '$path': it resolves outside the job's directory" ;;
	esac
}

# physical_dir DIR: print DIR with every symlink resolved
physical_dir() {
	(cd -P "$1" 2>/dev/null && pwd -P) || die "$EX_NOPERM" "cannot enter '$path'"
}

while :; do
	case $path in
	*?/) path=${path%/} ;;
	*) break ;;
	esac
done

# Resolve the path: a directory with cd -P; else its parent with cd -P, then the last component through
# at most 40 symlinks with readlink, every step checked against the job's directory.
real=
if test -d "$base/$path"; then
	real=$(physical_dir "$base/$path")
else
	case $path in
	*/*) parent=$base/${path%/*} ;;
	*) parent=$base ;;
	esac
	name=${path##*/}
	test -d "$parent" || die "$EX_NOINPUT" "no such file in job $id: $path"
	parent=$(physical_dir "$parent")
	check_inside "$parent"
	hops=0
	while test -L "$parent/$name"; do
		hops=$((hops + 1))
		test "$hops" -le 40 || die "$EX_DATAERR" "bad path '$path': too many symlinks"
		need_cmd readlink
		link=$(readlink "$parent/$name") || die "$EX_FAILURE" "cannot read the symlink $parent/$name"
		case $link in
		/*) ;;
		*) link=$parent/$link ;;
		esac
		if test -d "$link"; then
			real=$(physical_dir "$link")
			break
		fi
		case $link in
		*/*) parent=${link%/*} ;;
		esac
		name=${link##*/}
		test -d "${parent:-/}" || die "$EX_NOINPUT" "no such file in job $id: $path (a dangling symlink)"
		parent=$(physical_dir "${parent:-/}")
		check_inside "$parent"
	done
	if test -z "$real"; then
		test -e "$parent/$name" || die "$EX_NOINPUT" "no such file in job $id: $path"
		real=$parent/$name
	fi
fi
check_inside "$real"

parent=${real%/*}
name=${real##*/}
case $name in
-*) name=./$name ;;
esac
# From the parent directory: then no path but the name goes to tar.
cd "${parent:-/}" || die "$EX_NOPERM" "cannot enter the directory of '$path'"
case $(tar --version 2>/dev/null || :) in
*"GNU tar"*)
	# GNU tar decodes escapes in names (\t, \056) unless told not to: a job's directory named
	# '\056\056\057x' would send ../x. It exits 1 when a file changed while it read it (a job still
	# writing): a warning, the archive whole with what was read, so that is success.
	# A regular file over 8 MiB goes in records of 128 KiB (-b 256), as cat writes: tar's default 10 KiB
	# records cost the host three times cat's CPU (200 MB through a pipe: 0.37-0.56 s against 0.15-0.19
	# s). The last record is padded to its size, so smaller files keep the default. find reads the size
	# without opening the file (a FIFO put in its place would block a reader); ./ keeps a name like '('
	# from being taken for an expression.
	blocking=20
	big=
	if test -f "$name"; then
		big=$(find "./$name" -prune -type f -size +16384 2>/dev/null) || big=
	fi
	test -z "$big" || blocking=256
	status=0
	tar --no-unquote --warning=no-file-changed -b "$blocking" -cf - "$name" || status=$?
	test "$status" -le 1 || die "$EX_FAILURE" "tar failed while sending '$path'"
	;;
*)
	# busybox tar takes names literally and has no --no-unquote
	tar -cf - "$name" || die "$EX_FAILURE" "tar failed while sending '$path'"
	;;
esac
