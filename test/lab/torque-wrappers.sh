#!/bin/bash
# Summary: Unpack Debian's slurm-wlm-torque wrappers (qsub, qstat, qdel: Torque-style commands over
#          Slurm) to /opt/slurm-torque/bin without installing the package, which conflicts with
#          gridengine-client (apt would remove Grid Engine). The pbs tests overlay them on /usr/bin in
#          a slurm lab host. Idempotent; needs root, apt and the wrappers' Perl modules (.ci/run).
# Usage: test/lab/torque-wrappers.sh [DEST]   (default /opt/slurm-torque)
set -euo pipefail
DEST=${1:-/opt/slurm-torque}
[ -x "$DEST/bin/qsub" ] && exit 0
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"   # apt-get download runs as _apt and writes into the current directory
(cd "$W" && apt-get download slurm-wlm-torque >/dev/null)
dpkg-deb -x "$W"/slurm-wlm-torque_*.deb "$W/x"
mkdir -p "$DEST/bin"
for f in qsub qstat qdel qalter qhold qrls qrerun pbsnodes; do
  install -m 755 "$W/x/usr/bin/$f" "$DEST/bin/$f"
done
echo "torque wrappers in $DEST/bin"
