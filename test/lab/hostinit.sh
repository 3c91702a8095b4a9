#!/bin/bash
# Summary: PID 1 of one lab host, started by lab.sh inside the host's network namespace and fresh
#          mount, UTS and PID namespaces.
# Environment: LAB (the lab directory as seen from outside), N (host name), ROLE (ssh | slurm | slurmdb |
#          slurmd | sge)
# It mounts the host's private view (/run, /etc overlay, /home, /tmp, /var/log), starts munged,
# slurmctld and slurmd for the slurm role (slurmdb: after slurmdbd-host.sh's accounting, in the
# background), then sshd, and reaps orphans until it is SIGKILLed; other signals are logged in
# log/init.log and ignored.
set -eu
cd /
hostname "$N"
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/sshd /run/munge /run/lock
chmod 755 /run/sshd
# the lab directory at a fixed path, so slurm.conf can name it and a private /tmp can go over /tmp
mount -t tmpfs -o mode=755 tmpfs /srv
mkdir /srv/lab
mount --bind "$LAB" /srv/lab
H=/srv/lab/hosts/$N
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$H/etc-upper,workdir=$H/etc-work" /etc
mount --bind "$H/home" /home
mount --bind "$H/varlog" /var/log   # sshd writes wtmp/lastlog there
mount --bind "$H/tmp" /tmp          # private /tmp, visible from outside as DIR/hosts/N/tmp
if [ "$ROLE" = slurm ] || [ "$ROLE" = slurmdb ]; then
  chown munge:munge /run/munge "$H/munge"
  chmod 700 "$H/munge"
  runuser -u munge -- /usr/sbin/munged --key-file=/srv/lab/keys/munge.key \
    --log-file="$H/munge/munged.log" --seed-file="$H/munge/munged.seed"
  mount --bind /srv/lab/slurm /etc/slurm
  # slurmdb: accounting (MariaDB + slurmdbd) first, so that slurmctld finds its cluster registered; in
  # the background, as sshd starts meanwhile (lab.sh host_wait waits for H/dbd.state)
  ( if [ "$ROLE" = slurmdb ]; then
      /srv/lab/bin/slurmdbd-host.sh "$N" "$(sed -n 's/^ClusterName=//p' /etc/slurm/slurm.conf)" || true
    fi
    setsid /usr/sbin/slurmctld -D >> "$H/log/slurmctld.out" 2>&1 &
    setsid /usr/sbin/slurmd -D -N "$N" >> "$H/log/slurmd.out" 2>&1 & ) &
elif [ "$ROLE" = slurmd ]; then
  # a compute node: the slurm host's /home (the shared file system a cluster's queue lives on)
  ctld=$(sed -n 's/^SlurmctldHost=//p' /srv/lab/slurm/slurm.conf)
  mount --bind "/srv/lab/hosts/$ctld/home" /home
  chown munge:munge /run/munge "$H/munge"
  chmod 700 "$H/munge"
  runuser -u munge -- /usr/sbin/munged --key-file=/srv/lab/keys/munge.key \
    --log-file="$H/munge/munged.log" --seed-file="$H/munge/munged.seed"
  mount --bind /srv/lab/slurm /etc/slurm
  setsid /usr/sbin/slurmd -D -N "$N" >> "$H/log/slurmd.out" 2>&1 &
elif [ "$ROLE" = sge ]; then
  # Grid Engine: qmaster + execd with a cell and spool of this host's own (lab.sh host_wait waits for it)
  setsid /srv/lab/bin/sge-host.sh "$N" >> "$H/log/sge.out" 2>&1 &
fi
# Each daemon in a session of its own: a signal to the process group lab.sh started (setsid nsenter
# unshare) reaches init alone, never sshd.
setsid /usr/sbin/sshd -D -e -f /etc/ssh/sshd_config 2>> "$H/log/sshd.log" &
echo "init: $N up ($ROLE)"
# A lab host ends only by SIGKILL (lab.sh host_stop). Any other signal is a stray one: once, a host's
# init exited on a TERM nobody could name (issue 11, item 25). Such a signal is now written down and
# ignored. Its sender cannot be told from here: one outside this PID namespace shows as pid 0.
# (A trap, not trap '': the processes started below keep the default actions.)
stray() {
  echo "init: $N got a stray SIG$1 at $(date -u +%H:%M:%S.%N); ignored (lab hosts end only by SIGKILL)"
}
# (INT is ignored from the start, as lab.sh runs this in the background: bash cannot trap it.)
trap 'stray TERM' TERM
trap 'stray HUP' HUP
# An end other than SIGKILL (set -e, a bug) is written down too. A SIGKILL is not, but it shows: from
# lab.sh host_stop in DIR/../events.log; from elsewhere, unshare (still alive) writes "unshare:
# sigprocmask unblock failed: Invalid argument" here (it cannot re-raise SIGKILL), and when unshare is
# killed first (its group, or a signal it does not block: HUP, USR1, ...), nothing is written at all.
trap 'echo "init: $N exits with status $? at $(date -u +%H:%M:%S.%N)"' EXIT
# bash as PID 1 also reaps re-parented orphans; a sleep killed from outside must not end the host
while true; do wait || true; sleep 1 || true; done
