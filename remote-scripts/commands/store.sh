#!/bin/sh
# Summary: The queue's content store (lib/store.sh): which contents a submit must send; trim it by hand
# Usage: tej-remote store lacks <nonce> [<sha256>...]   (the contents of the job's files)
#        tej-remote store gc [<max-bytes>]          (default: the config's store_max_bytes, 2 GiB)
# Output (stdout, proto 1): lacks: tej-proto=1, store=on|off, lacks= (the 0-based
#   positions of the hashes whose content the store lacks, comma separated; the others are claimed for
#   the submit of <nonce>; <nonce> -: claimed for nothing, a question of submit --dry-run);
#   gc: tej-proto=1, store=on|off, store_bytes=, removed=, removed_bytes=
# Exit: 0 ok (store=off: this host keeps no store: no sha256 tool, or store_max_bytes=0); 64 usage;
#   65 bad hash or nonce; 69 queue not set up; 75 the store stayed locked
# shellcheck source-path=SCRIPTDIR
set -eu
TEJ_ROOT=${TEJ_ROOT:-$(cd -P "$(dirname "$0")/.." && pwd -P)}
# From the helper program the dispatcher has run the libraries already (docs/protocol.md).
if test -z "${tej_in_memory:-}"; then
	# shellcheck source=../lib/common.sh
	. "$TEJ_ROOT/lib/common.sh"
	# shellcheck source=../lib/proc.sh
	. "$TEJ_ROOT/lib/proc.sh"
fi
# not among the libraries every helper loads (COMMAND_LIBS, src/remote/program.ts)
load_lib store

usage="usage: tej-remote store lacks <nonce> [<sha256>...] | store gc [<max-bytes>]"
test $# -ge 1 || die "$EX_USAGE" "$usage"
require_setup
case $1 in
lacks)
	test $# -ge 2 || die "$EX_USAGE" "$usage"
	case $2 in
	'' | *[!A-Za-z0-9_-]*) die "$EX_DATAERR" "invalid nonce: '$2'" ;;
	esac
	emit_header
	if ! store_on; then
		emit store off
		exit 0
	fi
	shift
	store_lacks "$@"
	emit store on
	emit lacks "$store_lacking"
	;;
gc)
	test $# -le 2 || die "$EX_USAGE" "$usage"
	emit_header
	if ! store_on; then
		emit store off
		exit 0
	fi
	max=${2:-$store_max}
	case $max in
	'' | *[!0-9]*) die "$EX_USAGE" "bad size: '$max' (bytes)" ;;
	esac
	# what a submit sent just before is being copied into the store (store_adopt): trimmed too
	test ! -d "$store_dir/adopting" || store_adopted
	store_evict "$max"
	emit store on
	emit store_bytes "$store_bytes"
	emit removed "$store_removed"
	emit removed_bytes "$store_removed_bytes"
	;;
*) die "$EX_USAGE" "$usage" ;;
esac
