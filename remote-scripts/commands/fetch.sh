#!/bin/sh
# Summary: Send named regular files of a job as one tar stream (or their sha256): the fetching half of download --update/--watch
# Usage: tej-remote fetch [--sha256] [--] <job-id> <path>...
#   Each PATH is relative to work/ and must be a regular file reached through no symlink at all (the
#   client names files from a listing, src/download/listing.ts); a path that is not (any more) is left
#   out, and the client sees it missing from the stream.
# Output (stdout, no protocol lines): a tar stream, entries named work/PATH; with --sha256 one line per
#   PATH, in order: its sha256 in hex, or - (left out, or no sha256 tool: sha256_tool_into)
# Exit: 0 ok; 64 usage; 65 bad id, an array; 66 no such job; 69 queue not set up or no tar; 1 tar failed
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

# sha256 FILE: print its sha256 in hex, or - without a tool for it
sha256_tool_into || true
sha256() {
	_sha256=-
	# shellcheck disable=SC2086 # a command and its options
	test -z "$sha256_tool" || _sha256=$($sha256_tool <"$1") || _sha256=-
	printf '%s\n' "${_sha256%% *}"
}

# Keep in "$@" only the paths that are regular files whose every directory is a real one: the physical
# path of the directory is the one named (no component a symlink). With --sha256, print as it goes.
count=$#
while test "$count" -gt 0; do
	p=$1
	shift
	count=$((count - 1))
	dir=
	case /$p/ in
	*/../* | */./* | *//*) ;;
	/*/*/) dir=work/${p%/*} ;;
	*) dir=work ;;
	esac
	if test -z "$dir" || test "$(cd -P "$dir" 2>/dev/null && pwd -P)" != "$root/$dir" || test -L "work/$p" || ! test -f "work/$p"; then
		test -z "$sums" || echo -
		continue
	fi
	if test -n "$sums"; then
		sha256 "work/$p"
		continue
	fi
	set -- "$@" "work/$p"
done
test $# -gt 0 || exit 0
case $(tar --version 2>/dev/null || :) in
*"GNU tar"*)
	# names taken literally (no escapes decoded); a file still being written, or removed since it was
	# checked, is a warning: it is sent as far as it was read, or left out
	status=0
	tar --no-unquote --warning=no-file-changed --ignore-failed-read -cf - -- "$@" || status=$?
	test "$status" -le 1 || die "$EX_FAILURE" "tar failed while sending the files of job $id"
	;;
*)
	tar -cf - "$@" || die "$EX_FAILURE" "tar failed while sending the files of job $id"
	;;
esac
