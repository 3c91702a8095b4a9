#!/bin/sh
# Summary: Tell where a job runs: the host to reach its ports from this one (tej forward)
# Usage: tej-remote where <job-id>
# Output (stdout, proto 1): tej-proto=1, state= (the job's state word), and node= when it runs: the
#   address of the machine it runs on as this host reaches it (127.0.0.1 for direct, the first node of
#   a Slurm allocation), from the plugin's queue_node
# Exit: 0 ok (any state); 64 usage; 65 bad id; 66 no such job; 69 queue not set up, or the plugin cannot
#   tell the node of a running job (its scheduler shows no job of tej's for it: queue_own_id); 75 the
#   scheduler did not answer
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

test $# -eq 1 || die "$EX_USAGE" "usage: tej-remote where <job-id>"
id=$1
check_job_id "$id"
require_setup
job_dir_for "$id"

job_state_into "$job_dir"
state=$job_state_value
node=
if test "$state" = running; then
	# The plugin of the job says (queue_node); one that cannot be loaded any more, or without
	# queue_node (the default), runs jobs on this host.
	load_job_queue "$job_dir"
	# never the node of another job whose id this one wrote into its native-id
	job_own_native "$job_dir" "$id"
	node=$(queue_node "$job_dir" "$job_native") || die "$EX_UNAVAILABLE" "cannot tell which node job $id runs on"
	# The client checks the name too: one word, nothing a job could smuggle a second line into.
	case $node in
	'' | -* | *[!A-Za-z0-9._:-]*) die "$EX_UNAVAILABLE" "cannot tell which node job $id runs on (the plugin said '$node')" ;;
	esac
fi
emit_proto
emit state "$state"
test -z "$node" || emit node "$node"
