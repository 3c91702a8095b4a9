#!/bin/sh
# Summary: Prepare the queue once the client has installed the helpers: jobs/, staging/, config, link
# Usage: tej-remote setup [--plugin NAME] [--link PATH]
# Output (stdout, proto 1): tej-proto=1, now=, queue=<physical path>, plugin=<name>, version=<release>,
#   suggest_plugin=slurm|sge|pbs when the plugin is another one and the host submits to that (host_scheduler)
# Exit: 0 ok; 64 usage; 65 unknown plugin; 69 plugin unavailable here; 73 PATH exists and is no link
# shellcheck source-path=SCRIPTDIR
set -eu
TEJ_ROOT=${TEJ_ROOT:-$(cd -P "$(dirname "$0")/.." && pwd -P)}
# From the helper program the dispatcher has run it already (docs/protocol.md).
if test -z "${tej_in_memory:-}"; then
	# shellcheck source=../lib/common.sh
	. "$TEJ_ROOT/lib/common.sh"
fi

usage="usage: tej-remote setup [--plugin NAME] [--link PATH]"
plugin=
link=
while test $# -gt 0; do
	case $1 in
	--plugin | --link)
		test $# -ge 2 || die "$EX_USAGE" "$usage"
		if test "$1" = --plugin; then plugin=$2; else link=$2; fi
		shift 2
		;;
	*) die "$EX_USAGE" "$usage" ;;
	esac
done
# A new setup keeps the plugin chosen before (the client reruns setup after every upgrade).
test -n "$plugin" || plugin=$(default_plugin)
load_queue "$plugin"
queue_check || die "$EX_UNAVAILABLE" "the $plugin plugin cannot work on this host"

chmod 700 "$TEJ_ROOT"
mkdir -p "$TEJ_ROOT/jobs" "$TEJ_ROOT/staging"
chmod 700 "$TEJ_ROOT/jobs" "$TEJ_ROOT/staging"
# submit extracts uploads with bigger records when tar is GNU tar (untar in common.sh)
gnu_tar=
case $(tar --version 2>/dev/null || :) in
*"GNU tar"*) gnu_tar=$(command -v tar) ;;
esac
# The plugin's own lines (pbs: the dialect, detected once here) go last; a job can write config, so
# the plugin reads them as untrusted input.
config_text="plugin=$plugin
gnu_tar=$gnu_tar"
plugin_config=$(queue_config) || plugin_config=
# The cap of the content store (lib/store.sh) is the user's own line: kept across setups.
store_line=$(grep '^store_max_bytes=[0-9]*$' "$TEJ_ROOT/config" 2>/dev/null) || store_line=
test -z "$store_line" || config_text="$config_text
$store_line"
test -z "$plugin_config" || config_text="$config_text
$plugin_config"
write_state "$TEJ_ROOT/config" "$config_text"

if test -n "$link"; then
	if test -L "$link"; then
		rm -f "$link"
	elif test -e "$link"; then
		die "$EX_CANTCREAT" "cannot link $link to the queue: it exists and is not a symlink"
	fi
	ln -s "$TEJ_ROOT" "$link" || die "$EX_CANTCREAT" "cannot link $link to the queue"
fi

emit_header
emit queue "$TEJ_ROOT"
emit plugin "$plugin"
emit version "$(key_value "$TEJ_ROOT/VERSION" version || echo unknown)"
# host_scheduler: the plugin for the batch system this host submits to, fails when there is none. A
# host may have the commands of both (Debian ships them apart from the daemons): a Slurm with its
# slurm.conf first, then a qsub whose qstat -help names Grid Engine, then PBS's or Torque's, then any
# sbatch (a configless Slurm).
host_scheduler() {
	if has_cmd sbatch && { test -n "${SLURM_CONF:-}" || test -f /etc/slurm/slurm.conf || test -f /etc/slurm-llnl/slurm.conf; }; then
		echo slurm
		return 0
	fi
	if has_cmd qsub && has_cmd qstat; then
		case $(qstat -help 2>&1 | head -n 1) in
		SGE* | UGE* | AGE* | OGS* | *"Grid Engine"*)
			echo sge
			return 0
			;;
		esac
	fi
	# a PBS or Torque login node (the pbs plugin's own test, in a subshell: the plugin loaded stays there)
	if has_cmd qsub && (load_queue pbs && pbs_detect) >/dev/null 2>&1; then
		echo pbs
		return 0
	fi
	if has_cmd sbatch; then
		echo slurm
		return 0
	fi
	return 1
}
# A Slurm login node, a Grid Engine submit host: say so, but never switch plugins by ourselves.
if suggested=$(host_scheduler) && test "$plugin" != "$suggested"; then
	emit suggest_plugin "$suggested"
fi
