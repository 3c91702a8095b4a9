#!/bin/bash
# Summary: Throw-away SSH (+ Slurm) test hosts for tej's integration tests, from Linux namespaces only.
# Usage: lab.sh [-n NAME] [-d DIR] [-s NET] [-o HOST:Keyword=value]... COMMAND [ARG...]
#   up HOST[:ROLE]...      start a lab; ROLE = ssh (default) | slurm (slurmctld + slurmd + munge) |
#                          slurmdb (slurm with accounting: + MariaDB + slurmdbd, slurmdbd-host.sh) |
#                          slurmd (a compute node of the slurm host: slurmd + munge, its /home) |
#                          sge (Grid Engine qmaster + execd, cell and spool of its own: sge-host.sh)
#   down                   kill every host of the lab, delete its namespaces and links (idempotent;
#                          also cleans up after a crashed run with the same NAME)
#   restart HOST           "reboot" one host: every process in it dies, then it boots again
#   exec HOST CMD...       run CMD as root inside HOST
#   fault HOST KIND [ARG]  KIND = link-down | link-up | blackhole | reject | drop PCT | rate RATE | clear
#   status                 one line per host: name ip role running|stopped
# Options (or environment):
#   -n NAME  TEJ_LAB_NAME  prefix of netns and link names, [a-z][a-z0-9]{0,5}   (default tlab)
#   -d DIR   TEJ_LAB_DIR   state directory, wiped by `up`                      (default /tmp/tej-lab/NAME)
#   -s NET   TEJ_LAB_NET   first three octets of the lab's /24                  (default 10.207.0)
#            TEJ_LAB_WHY   why the caller runs this command, for the events log (below)
#            TEJ_LAB_OWNER "PID START" of the caller when it owns the lab (below)
#   -o HOST:Keyword=value  an sshd_config setting of HOST that replaces the lab's (for `up`; repeatable),
#                          e.g. -o h2:MaxStartups=10:30:100 (sshd's default; the lab's is 100:30:200);
#                          -o h2:Subsystem=none removes the SFTP subsystem (a host that only has the shell)
# Several labs may run at once when each has its own NAME, DIR and NET.
# Owner: test/helpers/lab.ts claims a lab by writing "PID START" of its test process to DIR/../NAME.owner.
# While that process runs, up, down and restart are its own: they fail unless TEJ_LAB_OWNER names it
# (lab.ts sets it), so that no other suite, reaper or clean-up takes a running suite's hosts away.
# Layout: the root namespace gets one veth NAME0 = NET.1; host i (1-based) is NET.(10+i):22, with its
# own network, mount, UTS and PID namespaces (own hostname, /etc overlay, /home, /run, /tmp, /var/log).
# Users alice, bob, carol (login shell /bin/bash, key DIR/keys/id_ed25519); carol's ~/.bashrc prints a
# banner on stdout, also for `ssh carol@host cmd`. Users sh_dash, sh_zsh, sh_tcsh, sh_fish, sh_ash have
# those login shells (same key). DIR/lab.json describes the lab for the test suite.
# Needs root and: openssh-server iproute2 util-linux zsh tcsh fish busybox (+ slurmctld slurmd slurm-client munge for the
# slurm role, + slurmdbd mariadb-server for slurmdb, gridengine-master gridengine-exec gridengine-client for the sge role,
# nftables for the faults blackhole/reject/drop).
set -euo pipefail

SSHD_OPTS=()
while getopts n:d:s:o: opt; do
  case $opt in
    o) SSHD_OPTS+=("$OPTARG") ;;
    n) TEJ_LAB_NAME=$OPTARG ;;
    d) TEJ_LAB_DIR=$OPTARG ;;
    s) TEJ_LAB_NET=$OPTARG ;;
    *) sed -n '3,21p' "$0" >&2; exit 64 ;;
  esac
done
shift $((OPTIND - 1))

TL=${TEJ_LAB_NAME:-tlab}
LAB=${TEJ_LAB_DIR:-/tmp/tej-lab/$TL}
NET=${TEJ_LAB_NET:-10.207.0}
BIN=$(cd "$(dirname "$0")" && pwd)
LABNS=$TL-lab
USERS="alice:2001 bob:2002 carol:2003"
# Accounts whose login shell is not bash, NAME:UID:SHELL (test/integration/login-shells.test.ts); the
# busybox ash is DIR/bin/ash (-> /bin/busybox, which acts as the applet it is named after).
SHELL_USERS="sh_dash:2011:/bin/sh sh_zsh:2012:/usr/bin/zsh sh_tcsh:2013:/usr/bin/tcsh sh_fish:2014:/usr/bin/fish sh_ash:2015:/srv/lab/bin/ash"
CAROL_BANNER='*** Welcome to %s, carol. This banner comes from ~/.bashrc. ***\nmotd=noise that looks like key=value\n'

EVENTS=${TEJ_LAB_EVENTS:-$(dirname "$LAB")/events.log}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
log() { echo "[lab $TL] $*" >&2; }
die() { log "error: $*"; exit 1; }
# event MESSAGE: one line in the events log (never fails the command: the log is for diagnosis only)
event() {
  local caller
  caller=$(tr '\0' ' ' < "/proc/$PPID/cmdline" 2>/dev/null | cut -c1-200) || caller=
  { printf '%s %s lab.sh[%s] (caller %s: %s)%s: %s\n' "$(date -u +%H:%M:%S.%N)" "$TL" "$$" "$PPID" "$caller" \
      "${TEJ_LAB_WHY:+ why: $TEJ_LAB_WHY}" "$*" >> "$EVENTS"; } 2>/dev/null || true
}
# describe PID: "PID(comm)" for the events log
describe() { printf '%s(%s)' "$1" "$(cat "/proc/$1/comm" 2>/dev/null || echo gone)"; }

[[ $TL =~ ^[a-z][a-z0-9]{0,5}$ ]] || die "bad lab name '$TL' (want [a-z][a-z0-9]{0,5})"
[[ $NET =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "bad net '$NET' (want three octets, e.g. 10.208.0)"
[ "$(id -u)" = 0 ] || die "needs root (network and mount namespaces)"

host_idx()  { grep -n "^$1:" "$LAB/hosts.conf" | cut -d: -f1; }
host_role() { grep "^$1:" "$LAB/hosts.conf" | cut -d: -f2; }
host_ip()   { echo "$NET.$((10 + $(host_idx "$1")))"; }
all_hosts() { cut -d: -f1 "$LAB/hosts.conf"; }
known()     { grep -q "^$1:" "$LAB/hosts.conf" 2>/dev/null || die "no host '$1' in this lab"; }

# ------------------------------------------------------------------ network
net_up() {
  ip netns add "$LABNS"
  ip -n "$LABNS" link set lo up
  ip -n "$LABNS" link add br0 type bridge
  ip -n "$LABNS" link set br0 up
  ip link add "${TL}0" type veth peer name uplink netns "$LABNS"
  ip -n "$LABNS" link set uplink master br0 up
  ip addr add "$NET.1/24" dev "${TL}0"
  ip link set "${TL}0" up
}

# ------------------------------------------------------------------ per-host files
# /etc inside a host is an overlay: lower = the real /etc, upper = passwd group shadow hosts hostname
# ssh/. (Bind-mounting single files breaks silently once the real file is replaced by rename.)
host_etc() {  # NAME
  local n=$1 u=$LAB/hosts/$1/etc-upper user uid shell h
  mkdir -p "$u/ssh" "$LAB/hosts/$n/etc-work"
  cp -p /etc/passwd /etc/group /etc/shadow "$u/"
  for user in $USERS $SHELL_USERS; do
    IFS=: read -r user uid shell <<< "$user"
    sed -i "/^$user:/d" "$u/passwd" "$u/group" "$u/shadow"
    echo "$user:x:$uid:$uid::/home/$user:${shell:-/bin/bash}" >> "$u/passwd"
    echo "$user:x:$uid:" >> "$u/group"
    echo "$user:*:19000:0:99999:7:::" >> "$u/shadow"  # '*' = no password; '!' is "locked" for UsePAM no
  done
  { echo "127.0.0.1 localhost"; for h in $(all_hosts); do echo "$(host_ip "$h") $h"; done; } > "$u/hosts"
  echo "$n" > "$u/hostname"
}

host_files() {  # NAME
  local n=$1 h=$LAB/hosts/$1 user uid home
  mkdir -p "$h/keys" "$h/log" "$h/tmp" "$h/varlog" "$h/munge" "$h/slurm/spool" "$h/slurm/state" "$h/home"
  chmod 1777 "$h/tmp"
  chown munge:munge "$h/munge" 2>/dev/null || true
  for user in $USERS $SHELL_USERS; do
    IFS=: read -r user uid _ <<< "$user"; home=$h/home/$user
    install -d -m 755 -o "$uid" -g "$uid" "$home"
    install -d -m 700 -o "$uid" -g "$uid" "$home/.ssh"
    install -m 600 -o "$uid" -g "$uid" "$LAB/keys/id_ed25519.pub" "$home/.ssh/authorized_keys"
  done
  # Login-shell noise: Debian's bash sources ~/.bashrc for `ssh host cmd` too (SSH_SOURCE_BASHRC).
  # shellcheck disable=SC2016  # $(hostname) and $HOME are for the host's bash to expand
  {
    printf 'printf '\''%s'\'' "$(hostname)"\n' "$CAROL_BANNER" > "$h/home/carol/.bashrc"
    echo '. "$HOME/.bashrc"' > "$h/home/carol/.profile"
  }
  chown 2003:2003 "$h/home/carol/.bashrc" "$h/home/carol/.profile"
  ssh-keygen -q -t ed25519 -N '' -C "$n" -f "$h/keys/ssh_host_ed25519_key"
  cp -p "$h/keys/ssh_host_ed25519_key" "$h/keys/ssh_host_ed25519_key.pub" "$h/etc-upper/ssh/"
  cat > "$h/etc-upper/ssh/sshd_config" <<EOF
Port 22
ListenAddress 0.0.0.0
HostKey /etc/ssh/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
MaxStartups 100:30:200
MaxSessions 50
LogLevel VERBOSE
EOF
  # -o settings replace the lab's line of their keyword, and go first (sshd takes the first value of most
  # keywords, the last of some)
  local o cfg=$h/etc-upper/ssh/sshd_config
  for o in ${SSHD_OPTS[@]+"${SSHD_OPTS[@]}"}; do
    [ "${o%%:*}" = "$n" ] || continue
    o=${o#*:}
    [[ $o =~ ^[A-Za-z]+=[A-Za-z0-9:.,/_-]+$ ]] || die "bad sshd option '$o' for $n (want Keyword=value)"
    if [ "$o" = Subsystem=none ]; then
      { grep -iv '^Subsystem ' "$cfg" || true; } > "$cfg.new"
    else
      { echo "${o%%=*} ${o#*=}"; grep -iv "^${o%%=*} " "$cfg" || true; } > "$cfg.new"
    fi
    mv "$cfg.new" "$cfg"
  done
}

slurm_conf() {
  local ctld="" h hw mem nodes
  for h in $(all_hosts); do
    if [ "$(host_role "$h")" = slurm ] || [ "$(host_role "$h")" = slurmdb ]; then
      [ -z "$ctld" ] || die "only one slurm host per lab ($ctld, $h)"
      ctld=$h
    fi
  done
  [ -n "$ctld" ] || return 0
  nodes=$ctld
  for h in $(all_hosts); do [ "$(host_role "$h")" = slurmd ] && nodes="$nodes,$h"; done
  dd if=/dev/urandom of="$LAB/keys/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$LAB/keys/munge.key"
  chmod 400 "$LAB/keys/munge.key"
  hw=$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]* //')
  mem=$(echo "$hw" | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
  # 16 cpus whatever the machine has (SlurmdParameters=config_overrides): tests fill them on purpose
  # to keep jobs queued, while other tests' jobs still find free cpus.
  hw="CPUs=16 Boards=1 SocketsPerBoard=1 CoresPerSocket=16 ThreadsPerCore=1 RealMemory=$((mem / 2))"
  mkdir -p "$LAB/slurm"
  if [ -d /etc/slurm/plugstack.conf.d ]; then cp -r /etc/slurm/plugstack.conf* "$LAB/slurm/"; fi
  # paths as seen inside the hosts, where DIR is bind-mounted at /srv/lab
  local hd=/srv/lab/hosts/$ctld
  cat > "$LAB/slurm/slurm.conf" <<EOF
ClusterName=$TL
SlurmctldHost=$ctld
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$hd/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
MaxArraySize=${TEJ_LAB_SLURM_MAX_ARRAY_SIZE:-1001}
OverTimeLimit=0
KillWait=2
SlurmdParameters=config_overrides
InactiveLimit=0
SlurmdTimeout=30
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
StateSaveLocation=$hd/slurm/state
SlurmdSpoolDir=/srv/lab/hosts/%n/slurm/spool
SlurmctldLogFile=$hd/log/slurmctld.log
SlurmdLogFile=/srv/lab/hosts/%n/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$nodes $hw State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
# A second partition on the same node: a job pending in it for want of cpus blocks no job of debug.
PartitionName=hold Nodes=ALL MaxTime=INFINITE State=UP
EOF
  if [ "$(host_role "$ctld")" = slurmdb ]; then slurmdb_conf "$ctld"; fi
}

# slurmdb_conf CTLD: accounting for the slurmdb role: slurmdbd on CTLD (slurmdbd-host.sh), the steps'
# usage gathered from /proc every second (MaxRSS, CPU: what sacct reports)
slurmdb_conf() {
  local hd=/srv/lab/hosts/$1
  sed -i -e 's|^AccountingStorageType=.*|AccountingStorageType=accounting_storage/slurmdbd|' \
    -e 's|^JobAcctGatherType=.*|JobAcctGatherType=jobacct_gather/linux|' "$LAB/slurm/slurm.conf"
  printf 'AccountingStorageHost=%s\nJobAcctGatherFrequency=task=1\n' "$1" >> "$LAB/slurm/slurm.conf"
  # slurmdbd wants its file private to SlurmUser (root): it holds the database's credentials
  install -m 600 /dev/null "$LAB/slurm/slurmdbd.conf"
  cat > "$LAB/slurm/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=$1
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slurm_acct_db
LogFile=$hd/log/slurmdbd.log
PidFile=/run/slurmdbd.pid
DebugLevel=info
EOF
}

client_files() {  # ssh_config + known_hosts + lab.json for the test suite
  local h ip first=1
  : > "$LAB/known_hosts"; : > "$LAB/ssh_config"
  for h in $(all_hosts); do
    ip=$(host_ip "$h")
    echo "$h,$ip $(cut -d' ' -f1,2 "$LAB/hosts/$h/keys/ssh_host_ed25519_key.pub")" >> "$LAB/known_hosts"
    cat >> "$LAB/ssh_config" <<EOF
Host $h
  HostName $ip
  User alice
  IdentityFile $LAB/keys/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $LAB/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
EOF
  done
  {
    printf '{\n  "name": "%s", "dir": "%s", "net": "%s",\n' "$TL" "$LAB" "$NET"
    printf '  "key": "%s", "knownHosts": "%s", "sshConfig": "%s",\n' \
      "$LAB/keys/id_ed25519" "$LAB/known_hosts" "$LAB/ssh_config"
    printf '  "users": ["alice", "bob", "carol"],\n  "hosts": {'
    for h in $(all_hosts); do
      [ $first = 1 ] || printf ','
      first=0
      printf '\n    "%s": {"ip": "%s", "port": 22, "role": "%s", "hostKey": "%s"}' "$h" "$(host_ip "$h")" \
        "$(host_role "$h")" "$(cut -d' ' -f1,2 "$LAB/hosts/$h/keys/ssh_host_ed25519_key.pub")"
    done
    printf '\n  }\n}\n'
  } > "$LAB/lab.json"
}

# ------------------------------------------------------------------ host lifecycle
# host_start NAME: start the host; an init that dies as it starts (seen once under three suites, its
# log gone with the failed lab) is written down, with its log, and the host started again, twice at most
host_start() {  # NAME
  local n=$1 attempt
  for attempt in 1 2 3; do
    host_start_once "$n" && return 0
    event "host_start $n: init died as it started (attempt $attempt); its log: $(tail -n 20 "$LAB/hosts/$n/log/init.log" 2>/dev/null | tr '\n' '|')"
    log "$n: init died as it started (attempt $attempt): $(tail -n 5 "$LAB/hosts/$n/log/init.log" 2>/dev/null | tr '\n' '|')"
    host_stop "$n"
  done
  die "$n: init died as it started, 3 times (see $LAB/hosts/$n/log/init.log and $EVENTS)"
}

host_start_once() {  # NAME: fails when init dies before its start time is read
  local n=$1 h=$LAB/hosts/$1 ns=$TL-$1 idx up c=""
  idx=$(host_idx "$n")
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  # a fixed MAC per host: a restarted host keeps it, so no stale ARP entry stalls the first packets
  ip -n "$LABNS" link add "v-$n" type veth peer name eth0 netns "$ns" \
    address "02:7e:57:00:00:$(printf %02x $((10 + idx)))"
  ip -n "$LABNS" link set "v-$n" master br0 up
  ip -n "$ns" addr add "$(host_ip "$n")/24" dev eth0
  ip -n "$ns" link set eth0 up
  # nsenter --net, not `ip netns exec`: that remounts /sys and hides the cgroup mount slurmd needs.
  # unshare --fork ignores SIGTERM, so host_stop SIGKILLs the namespace's PID 1 instead.
  setsid nsenter --net="/run/netns/$ns" \
    unshare --mount --uts --pid --fork --kill-child --mount-proc --propagation private \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LAB="$LAB" N="$n" ROLE="$(host_role "$n")" \
    "$BIN/hostinit.sh" > "$h/log/init.log" 2>&1 < /dev/null &
  up=$!
  echo "$up $(pid_start "$up")" > "$h/unshare.pid"
  # unshare's child: PID 1 of the host's new pid namespace (NSpid ends in 1), one pid, nothing else
  for _ in $(seq 1 300); do
    c=$(pgrep -P "$up" || true)
    [[ $c =~ ^[0-9]+$ ]] && [ "$(awk '$1 == "NSpid:" { print $NF }' "/proc/$c/status" 2>/dev/null)" = 1 ] && break
    c=""
    sleep 0.01
  done
  [ -n "$c" ] || return 1
  # The start time must be read: an init.pid without it names no process (ours, lab.ts's exec), and
  # one CI run had its host declared dead from the start when the read came back empty once. Empty
  # means gone or a zombie: it died.
  local st=""
  for _ in $(seq 1 300); do st=$(pid_start "$c"); [ -n "$st" ] && break; sleep 0.01; done
  [ -n "$st" ] || return 1
  echo "$c $st" > "$h/init.pid"
}

host_wait() {  # NAME SINCE: sshd answers; for the slurm role, a slurmd started after SINCE registered
  local n=$1 since=$2 ip st="" node
  ip=$(host_ip "$n")
  for _ in $(seq 1 500); do
    if timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22 && head -c 4 <&3" 2>/dev/null | grep -q SSH-; then break; fi
    sleep 0.02
  done
  timeout 1 bash -c "exec 3<>/dev/tcp/$ip/22" 2>/dev/null || die "$n: sshd does not answer (see $LAB/hosts/$n/log)"
  case $(host_role "$n") in slurm | slurmd) ;; slurmdb) dbd_wait "$n" ;; sge) sge_wait "$n"; return ;; *) return 0 ;; esac
  # (slurmctld recovers the node's old state from its state files, so look at SlurmdStartTime too)
  for _ in $(seq 1 600); do
    node=$(host_exec "$n" scontrol -o show node "$n" 2>/dev/null || true)
    st=$(echo "$node" | sed -n 's/.* State=\([^ ]*\).*/\1/p')
    if [[ $node =~ SlurmdStartTime=([^ ]+) ]] && ! [[ ${BASH_REMATCH[1]} < $since ]]; then
      case $st in IDLE | MIXED | ALLOCATED | COMPLETING) return 0 ;; esac
    fi
    sleep 0.05
  done
  # The lab directory goes with a failed start: show the daemons' last words now.
  for f in log/slurmctld.log log/slurmctld.out log/slurmd.log log/slurmd.out munge/munged.log log/init.log; do
    [ -s "$LAB/hosts/$n/$f" ] && { log "--- $n: $f"; tail -n 15 "$LAB/hosts/$n/$f" >&2; }
  done
  host_exec "$n" ps -eo pid,args >&2 || true
  die "$n: slurm node state '$st' (see $LAB/hosts/$n/log)"
}

dbd_wait() {  # NAME: slurmdbd-host.sh has the database, slurmdbd and the cluster up (or says why not)
  local n=$1 st="" f
  for _ in $(seq 1 1800); do
    st=$(cat "$LAB/hosts/$n/dbd.state" 2>/dev/null) || st=
    [ -z "$st" ] || break
    sleep 0.1
  done
  [ "$st" = ready ] && return 0
  for f in log/mariadb-install.log log/mariadbd.log log/slurmdbd.log log/slurmdbd.out log/init.log; do
    [ -s "$LAB/hosts/$n/$f" ] && { log "--- $n: $f"; tail -n 15 "$LAB/hosts/$n/$f" >&2; }
  done
  host_exec "$n" ps -eo pid,args >&2 || true
  die "$n: Slurm's accounting did not come up: ${st:-no word from slurmdbd-host.sh in 180 s} (see $LAB/hosts/$n/log)"
}

sge_wait() {  # NAME: the execd of host NAME has sent its first load report to the qmaster
  local n=$1 f
  for _ in $(seq 1 1200); do
    if host_exec "$n" qhost -h "$n" 2>/dev/null | awk -v h="$n" '$1 == h && $4 != "-" { f = 1 } END { exit !f }'; then
      return 0
    fi
    sleep 0.05
  done
  for f in log/sge.out sge/spool/qmaster/messages "sge/spool/execd/$n/messages" log/init.log; do
    [ -s "$LAB/hosts/$n/$f" ] && { log "--- $n: $f"; tail -n 15 "$LAB/hosts/$n/$f" >&2; }
  done
  host_exec "$n" ps -eo pid,args >&2 || true
  die "$n: Grid Engine's exec host did not register (see $LAB/hosts/$n/log/sge.out)"
}

# pid_start PID: its start time (field 22 of /proc/PID/stat); empty when it is gone or a zombie.
# A pid file holds "PID START": pid_max is 32768 here, and a pid comes back within minutes.
pid_start() {
  local s f
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  read -r -a f <<< "${s##*) }"
  [ "${f[0]}" = Z ] || echo "${f[19]}"
}

# ours PIDFILE: print the pid of PIDFILE when that process still runs with the recorded start time;
# fail otherwise (gone, or its pid reused by a process this lab never started)
ours() {
  local p s
  { read -r p s < "$1"; } 2>/dev/null || return 1
  [ -n "$p" ] && [ -n "$s" ] && [ "$(pid_start "$p")" = "$s" ] || return 1
  echo "$p"
}

kill_netns() {  # NETNS: SIGKILL everything in it, then delete it
  local pids p ns killed=
  pids=$(ip netns pids "$1" 2>/dev/null || true)
  ns=$(stat -L -c %i "/run/netns/$1" 2>/dev/null) || ns=
  # A listed process may exit and its pid go to another lab's process before the kill (pid_max is
  # 32768 here): only a pid still in this network namespace is signalled.
  for p in $pids; do
    if [ -n "$ns" ] && [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "net:[$ns]" ]; then
      killed="$killed $(describe "$p")"
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  [ -z "$killed" ] || event "kill_netns $1: SIGKILL$killed"
  ip netns del "$1" 2>/dev/null || true
}

host_stop() {  # NAME
  local n=$1 h=$LAB/hosts/$1 p
  if p=$(ours "$h/init.pid"); then event "host_stop $n: SIGKILL init $(describe "$p")"; kill -KILL "$p" 2>/dev/null || true; fi
  kill_netns "$TL-$n"
  for _ in $(seq 1 300); do ours "$h/unshare.pid" > /dev/null || break; sleep 0.01; done
  ip -n "$LABNS" link del "v-$n" 2>/dev/null || true   # synchronous; the netns teardown is async
  rm -f "$h/init.pid" "$h/unshare.pid"
}

init_words() {  # NAME: the last lines of the host's init log, for a message about a host that is gone
  local log_file=$LAB/hosts/$1/log/init.log
  [ -s "$log_file" ] || return 0
  printf ' (its %s ends:\n%s)' "$log_file" "$(tail -n 5 "$log_file")"
}

host_exec() {  # NAME CMD...
  local n=$1 p; shift
  p=$(ours "$LAB/hosts/$n/init.pid") || die "host '$n' is not running$(init_words "$n")"
  nsenter -t "$p" -m -u -n -p -i -- "$@"
}

in_net() { local n=$1; shift; nsenter --net="/run/netns/$TL-$n" -- "$@"; }
in_labnet() { nsenter --net="/run/netns/$LABNS" -- "$@"; }

lab_down() {
  local h ns
  if [ -f "$LAB/hosts.conf" ]; then for h in $(all_hosts); do host_stop "$h"; done; fi
  # independent of state files (a crashed run may have left none): every netns "$TL-*"
  for ns in $(ip netns list | awk '{print $1}' | grep "^$TL-" || true); do kill_netns "$ns"; done
  ip link del "${TL}0" 2>/dev/null || true
}

# ------------------------------------------------------------------ userland accounts (issue 11: h/userland)
# dave: a macOS/BSD-like userland. sshd gives his sessions a PATH that is one directory of busybox
# applet links without setsid (and no perl): tar, ps, grep, sleep... are busybox's. /bin/sh is dash.
BARE_USER=dave:2005
host_userland() {  # NAME: dave's account, home, key and PATH on host NAME
  local n=$1 h=$LAB/hosts/$1 u=$LAB/hosts/$1/etc-upper uid=${BARE_USER#*:} user=${BARE_USER%:*} bb
  sed -i "/^$user:/d" "$u/passwd" "$u/group" "$u/shadow"
  echo "$user:x:$uid:$uid::/home/$user:/bin/sh" >> "$u/passwd"
  echo "$user:x:$uid:" >> "$u/group"
  echo "$user:*:19000:0:99999:7:::" >> "$u/shadow"
  install -d -m 755 -o "$uid" -g "$uid" "$h/home/$user"
  install -d -m 700 -o "$uid" -g "$uid" "$h/home/$user/.ssh"
  install -m 600 -o "$uid" -g "$uid" "$LAB/keys/id_ed25519.pub" "$h/home/$user/.ssh/authorized_keys"
  bb=$(command -v busybox) || die "busybox is needed for the bare userland account (apt-get install busybox)"
  mkdir -p "$h/bare-bin"
  "$bb" --install -s "$h/bare-bin"   # one link per applet, in one process
  rm -f "$h/bare-bin/setsid" "$h/bare-bin/perl"
  chmod 755 "$h/bare-bin"
  # Match applies to the end of the file: this block comes after every global line.
  printf 'Match User %s\n  SetEnv PATH=/srv/lab/hosts/%s/bare-bin\n' "$user" "$n" >> "$u/ssh/sshd_config"
}

# ------------------------------------------------------------------ commands
# owned_elsewhere: fail (and say who owns the lab) when DIR/../NAME.owner names a running process that
# is not the caller (TEJ_LAB_OWNER); a lab without an owner file, or whose owner is gone, is anyone's
OWNER_FILE=$(dirname "$LAB")/$TL.owner
owned_elsewhere() {
  local p
  p=$(ours "$OWNER_FILE") || return 0
  [ "${TEJ_LAB_OWNER:-}" != "$(cat "$OWNER_FILE" 2>/dev/null)" ] || return 0
  event "refused $cmd: the lab is test process $(describe "$p")'s, which still runs"
  die "lab $TL belongs to test process $p, which still runs ($(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | cut -c1-160)): only it may $cmd it (it takes its lab down when it ends; a lab whose owner is gone is anyone's)"
}

cmd=${1:-}; shift || true
case $cmd in up | down | restart) owned_elsewhere ;; esac
case $cmd in
up)
  [ $# -gt 0 ] || die "usage: lab.sh up HOST[:ROLE]..."
  T0=$(now)
  event "up $*"
  lab_down
  if [ -e "$LAB" ]; then
    [ -f "$LAB/.tej-lab" ] || [ -z "$(ls -A "$LAB")" ] || die "refusing to wipe $LAB: not a lab directory"
    rm -rf "$LAB"
  fi
  mkdir -p "$LAB/keys" "$LAB/hosts" "$LAB/bin"
  ln -s /bin/busybox "$LAB/bin/ash"
  cp "$BIN/sge-host.sh" "$BIN/slurmdbd-host.sh" "$LAB/bin/"
  touch "$LAB/.tej-lab"
  : > "$LAB/hosts.conf"
  for spec in "$@"; do
    n=${spec%%:*}; r=${spec#*:}; [ "$r" = "$spec" ] && r=ssh
    [[ $n =~ ^[a-z][a-z0-9]{0,9}$ ]] || die "bad host name '$n' (want [a-z][a-z0-9]{0,9})"
    case $r in ssh | slurm | slurmdb | slurmd | sge) ;; *) die "unknown role '$r' for $n (ssh | slurm | slurmdb | slurmd | sge)" ;; esac
    grep -q "^$n:" "$LAB/hosts.conf" && die "host '$n' given twice"
    echo "$n:$r" >> "$LAB/hosts.conf"
  done
  [ "$(wc -l < "$LAB/hosts.conf")" -le 200 ] || die "at most 200 hosts"
  ssh-keygen -q -t ed25519 -N '' -C "tej-lab-$TL" -f "$LAB/keys/id_ed25519"
  net_up
  for h in $(all_hosts); do host_etc "$h"; host_files "$h"; host_userland "$h"; done
  slurm_conf
  client_files
  T1=$(date +%Y-%m-%dT%H:%M:%S)
  for h in $(all_hosts); do host_start "$h"; done
  for h in $(all_hosts); do host_wait "$h" "$T1"; done
  event "up done: $(for h in $(all_hosts); do printf '%s=init %s ' "$h" "$(cat "$LAB/hosts/$h/init.pid")"; done)"
  log "up in $(since "$T0")s: $(for h in $(all_hosts); do printf '%s=%s(%s) ' "$h" "$(host_ip "$h")" "$(host_role "$h")"; done)"
  ;;
down)
  event "down"
  T0=$(now); lab_down; log "down in $(since "$T0")s"
  ;;
restart)
  [ $# -eq 1 ] || die "usage: lab.sh restart HOST"
  known "$1"; T0=$(now); T1=$(date +%Y-%m-%dT%H:%M:%S)
  event "restart $1"
  host_stop "$1"; host_start "$1"; host_wait "$1" "$T1"; log "$1 restarted in $(since "$T0")s"
  event "restart done: $1=init $(cat "$LAB/hosts/$1/init.pid")"
  ;;
exec)
  [ $# -ge 2 ] || die "usage: lab.sh exec HOST CMD..."
  known "$1"; host_exec "$@"
  ;;
fault)
  [ $# -ge 2 ] || die "usage: lab.sh fault HOST KIND [ARG]"
  n=$1; what=$2; arg=${3:-}; known "$n"
  case $what in
    link-down) ip -n "$LABNS" link set "v-$n" down ;;
    link-up) ip -n "$LABNS" link set "v-$n" up ;;
    blackhole | reject | drop)
      in_net "$n" nft delete table inet tejlab 2>/dev/null || true
      in_net "$n" nft add table inet tejlab
      in_net "$n" nft add chain inet tejlab input '{ type filter hook input priority 0; policy accept; }'
      case $what in
        blackhole) in_net "$n" nft add rule inet tejlab input iifname eth0 drop ;;
        reject) in_net "$n" nft add rule inet tejlab input iifname eth0 tcp dport 22 reject with tcp reset ;;
        drop)
          if ! [[ $arg =~ ^[0-9]+$ ]] || [ "$arg" -gt 100 ]; then die "usage: fault HOST drop PCT (0..100)"; fi
          in_net "$n" nft add rule inet tejlab input iifname eth0 numgen random mod 100 '<' "$arg" drop ;;
      esac ;;
    rate)  # both directions: host egress on eth0, host ingress as the bridge port's egress
      [ -n "$arg" ] || die "usage: fault HOST rate RATE (tc units, e.g. 200kbit)"
      in_net "$n" tc qdisc replace dev eth0 root tbf rate "$arg" burst 32kbit latency 400ms
      in_labnet tc qdisc replace dev "v-$n" root tbf rate "$arg" burst 32kbit latency 400ms ;;
    clear)
      in_net "$n" nft delete table inet tejlab 2>/dev/null || true
      in_net "$n" tc qdisc del dev eth0 root 2>/dev/null || true
      in_labnet tc qdisc del dev "v-$n" root 2>/dev/null || true
      ip -n "$LABNS" link set "v-$n" up ;;
    *) die "unknown fault '$what' (link-down link-up blackhole reject drop rate clear)" ;;
  esac
  ;;
status)
  [ -f "$LAB/hosts.conf" ] || die "no lab in $LAB"
  for h in $(all_hosts); do
    if ours "$LAB/hosts/$h/init.pid" > /dev/null; then s=running; else s=stopped; fi
    echo "$h $(host_ip "$h") $(host_role "$h") $s"
  done
  ;;
*) sed -n '3,21p' "$0" >&2; exit 64 ;;
esac
