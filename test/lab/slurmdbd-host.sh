#!/bin/bash
# Summary: Slurm's accounting on a lab host of role slurmdb (lab.sh): MariaDB with a private datadir on
#          tmpfs, slurmdbd, and the lab's cluster, accounts and users registered in it. Run by hostinit.sh
#          inside the host before slurmctld starts; both daemons die with the host (its PID namespace).
# Usage: slurmdbd-host.sh NAME CLUSTER   (NAME: this host, CLUSTER: slurm.conf's ClusterName)
# Output: H/dbd.state: "ready", or "failed: WHY" (lab.sh host_wait waits for it and shows the logs);
#         logs in H/log/mariadbd.log, H/log/mariadb-install.log, H/log/slurmdbd.log and .out
set -eu
n=$1 cluster=$2
H=/srv/lab/hosts/$n
state=$H/dbd.state
fail() { echo "failed: $*" > "$state"; exit 1; }
trap 'test -s "$state" || fail "slurmdbd-host.sh exited early (line $LINENO)"' EXIT

# tries CMD...: run CMD until it succeeds, 600 times at most, 0.1 s apart (each try waits for an answer)
tries() {
  for _ in $(seq 1 600); do "$@" > /dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# MariaDB: a datadir of this host's own, in memory; no TCP (socket only); root logs in by socket auth,
# which is who slurmdbd runs as (SlurmUser=root)
mount -t tmpfs -o mode=755 tmpfs /var/lib/mysql
mkdir -p /run/mysqld
chown mysql:mysql /var/lib/mysql /run/mysqld
sock=/run/mysqld/mysqld.sock
mariadb-install-db --no-defaults --user=mysql --datadir=/var/lib/mysql --auth-root-authentication-method=socket \
  --skip-test-db > "$H/log/mariadb-install.log" 2>&1 || fail "mariadb-install-db (see $H/log/mariadb-install.log)"
# small buffers: a few jobs' rows; no O_DIRECT or native AIO on tmpfs
setsid /usr/sbin/mariadbd --no-defaults --user=mysql --datadir=/var/lib/mysql --socket="$sock" --skip-networking \
  --pid-file=/run/mysqld/mysqld.pid --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
  --innodb-flush-method=fsync --innodb-use-native-aio=0 --innodb-lock-wait-timeout=900 \
  --log-error="$H/log/mariadbd.log" < /dev/null > /dev/null 2>&1 &
tries mariadb-admin --no-defaults --socket="$sock" ping || fail "mariadbd does not answer (see $H/log/mariadbd.log)"

setsid /usr/sbin/slurmdbd -D >> "$H/log/slurmdbd.out" 2>&1 < /dev/null &
tries sacctmgr -n list cluster || fail "slurmdbd does not answer sacctmgr (see $H/log/slurmdbd.log)"
# The cluster first (slurmctld registers with it when it starts), then an account for the lab's users:
# a job's row carries its user's association.
sacctmgr -i add cluster "$cluster" > /dev/null || fail "sacctmgr add cluster $cluster"
sacctmgr -i add account lab cluster="$cluster" > /dev/null || fail "sacctmgr add account lab"
users=$(awk -F: '$3 >= 2000 && $3 < 3000 { printf "%s%s", s, $1; s = "," }' /etc/passwd)
sacctmgr -i add user "$users" account=lab cluster="$cluster" > /dev/null || fail "sacctmgr add user $users"
echo ready > "$state"
