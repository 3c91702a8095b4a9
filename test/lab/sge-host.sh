#!/bin/bash
# Summary: Grid Engine (SGE 8.1.9) of one lab host of role sge: a fresh cell and spool private to the host,
#          qmaster and execd on it, a queue all.q (4 slots), a PE smp and a project tejproj.
# Usage: sge-host.sh HOST   (run by hostinit.sh inside the host, as root, in the background; lab.sh
#        host_wait waits until qhost shows HOST's load, and shows log/sge.out on failure)
# Recipe: ../shared/reference/schedulers (preseeded gridengine-* packages; the host's /etc/hosts makes
# HOST the canonical name of its address, as SGE insists).
set -eu
H=$1
D=/srv/lab/hosts/$H/sge
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
C=$SGE_ROOT/$SGE_CELL/common
# The host's own cell and spool: tmpfs-free bind mounts under the lab directory, so their logs outlive
# a failed start (qmaster: sge/spool/qmaster/messages, execd: sge/spool/execd/HOST/messages).
install -d -o sgeadmin -g sgeadmin -m 755 "$D/spool" "$D/cell"
mount --bind "$D/spool" /var/spool/gridengine
mount --bind "$D/cell" "$SGE_ROOT/$SGE_CELL"
install -d -o sgeadmin -g sgeadmin -m 755 /var/spool/gridengine/qmaster /var/spool/gridengine/qmaster/job_scripts \
  /var/spool/gridengine/spooldb /var/spool/gridengine/execd "$C"
install -m 0644 -o sgeadmin -g sgeadmin /usr/share/gridengine/default-bootstrap "$C/bootstrap"
su -s /bin/sh -c "/usr/share/gridengine/scripts/init_cluster $SGE_ROOT $SGE_CELL /var/spool/gridengine/spooldb sgeadmin" sgeadmin
echo "$H" > "$C/act_qmaster"
chown sgeadmin:sgeadmin "$C/act_qmaster"

/usr/sbin/sge_qmaster # daemonizes
for _ in $(seq 1 600); do qconf -sss > /dev/null 2>&1 && break; sleep 0.1; done
qconf -sss

W=$(mktemp -d)
qconf -as "$H"
printf 'hostname %s\nload_scaling NONE\ncomplex_values NONE\nuser_lists NONE\nxuser_lists NONE\nprojects NONE\nxprojects NONE\nusage_scaling NONE\nreport_variables NONE\n' "$H" > "$W/eh"
qconf -Ae "$W/eh"
printf 'group_name @allhosts\nhostlist %s\n' "$H" > "$W/hg"
qconf -Ahgrp "$W/hg"
printf 'pe_name smp\nslots 999\nuser_lists NONE\nxuser_lists NONE\nstart_proc_args NONE\nstop_proc_args NONE\nallocation_rule $pe_slots\ncontrol_slaves FALSE\njob_is_first_task TRUE\nurgency_slots min\naccounting_summary FALSE\nqsort_args NONE\n' > "$W/pe"
qconf -Ap "$W/pe"
printf 'name tejproj\noticket 0\nfshare 0\nacl NONE\nxacl NONE\n' > "$W/prj"
qconf -Aprj "$W/prj"
# all.q: 4 slots (a test fills them to keep a job queued); notify 10 s: qdel's USR2 (qsub -notify) reaches
# the batch script, which TERMs the wrapper's group, 10 s before the KILL
EDITOR=cat qconf -aq 2> /dev/null | grep -v 'is not valid' | sed \
  -e 's/^qname .*/qname all.q/' -e 's/^hostlist .*/hostlist @allhosts/' \
  -e 's/^load_thresholds .*/load_thresholds NONE/' -e 's/^pe_list .*/pe_list smp/' \
  -e 's/^slots .*/slots 4/' -e 's#^shell .*#shell /bin/sh#' -e 's/^notify .*/notify 00:00:10/' > "$W/q"
qconf -Aq "$W/q"
# the scheduler every second, accounting flushed every second (defaults: 15 s)
qconf -ssconf | sed -e 's/^schedule_interval .*/schedule_interval 0:0:1/' \
  -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/' > "$W/sched"
qconf -Msconf "$W/sched"
# (the file must be named global) a job's processes are found by their added group id, also those that
# left its process group (the wrapper leads its own: setsid)
qconf -sconf global | sed -e '1d' -e 's/flush_time=00:00:15/flush_time=00:00:01/' \
  -e 's/^load_report_time .*/load_report_time 00:00:05/' \
  -e 's/^execd_params .*/execd_params ENABLE_ADDGRP_KILL=TRUE/' > "$W/global"
qconf -Mconf "$W/global"
rm -rf "$W"

/usr/sbin/sge_execd # daemonizes; lab.sh host_wait waits for its first load report
echo "sge: qmaster and execd started on $H"
