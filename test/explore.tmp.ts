import { startLab } from '/work/wt/pbs/test/helpers/lab.js';
const lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] } as const);
try {
  const d = await lab.makeTmpDir('torque-');
  console.log('tmp', d);
  const m = await lab.exec('s1', ['sh', '-c', `mkdir -p /run/torque-bin && cp /opt/slurm-torque/bin/* /run/torque-bin/ && mount -t overlay overlay -o lowerdir=/run/torque-bin:/usr/bin /usr/bin && ls -l /usr/bin/qsub`]);
  console.log(m);
  const cmds = `cd; printf '#!/bin/sh\\necho hi; sleep "$1"; exit 3\\n' > j.sh; chmod +x j.sh
J1=$(qsub -N tj1 -l walltime=00:05:00,nodes=1:ppn=2,mem=100mb -q hold j.sh 30); echo "J1=[$J1] rc=$?"
J2=$(qsub -N tj2 j.sh 1); echo "J2=[$J2]"
qsub -N tj3 -l select=1:ncpus=2:mem=100mb j.sh 1; echo rc=$?
qsub -N tj4 -A acc j.sh 1; echo rc=$?
sleep 3
qstat; echo rc=$?
qstat -f $J1 $J2 99999; echo rc=$?
qstat 99999; echo rc=$?
qstat -f 99999; echo rc=$?
qdel $J1; echo qdel=$?
qdel 99999; echo qdel=$?
scontrol show job $J1 | head -20
qstat $J1
`;
  const r = await lab.execAs('s1', 'alice', cmds);
  console.log(r.stdout, '\nERR', r.stderr);
} finally { await lab.stop(); }
