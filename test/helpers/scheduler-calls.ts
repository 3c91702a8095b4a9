// What the scheduler tests share: counting a user's calls of the scheduler's commands (a wrapper on the
// user's PATH logs each call to ~/calls.log, then the real command does the work), and putting Debian's
// Torque-style wrappers (slurm-wlm-torque, unpacked by test/lab/torque-wrappers.sh) in front of a Slurm
// lab host's /usr/bin.
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import type { Lab } from './lab.js';

// Unpacked by test/lab/torque-wrappers.sh (.ci/run): the package itself conflicts with gridengine-client.
export const TORQUE_BIN = '/opt/slurm-torque/bin';

/** Every scheduler command the plugins call, whichever the host has. */
export const SCHEDULER_COMMANDS = ['sbatch', 'squeue', 'scancel', 'sacct', 'scontrol', 'srun', 'qsub', 'qstat', 'qdel', 'qacct'] as const;

/** Wrap USER's COMMANDS on HOST (those the host has) so that each call is logged in ~/calls.log. */
export async function countCalls<N extends string>(lab: Lab<N>, host: N, user: string, commands: readonly string[] = SCHEDULER_COMMANDS): Promise<void> {
  const lines = [
    'mkdir -p ~/testbin',
    ...commands.map((c) => `if test -x /usr/bin/${c}; then printf '#!/bin/sh\\necho ${c} >> "$HOME/calls.log"\\nexec /usr/bin/${c} "$@"\\n' > ~/testbin/${c}; fi`),
    'chmod 755 ~/testbin/* 2>/dev/null || :',
    `grep -q testbin ~/.bashrc || echo 'PATH=$HOME/testbin:$PATH' >> ~/.bashrc`,
  ];
  const r = await lab.execAs(host, user, lines.join('\n'));
  assert.equal(r.code, 0, r.stderr);
}

/** The calls USER made on HOST since the last one, in order (and the log emptied). */
export async function takeCalls<N extends string>(lab: Lab<N>, host: N, user: string): Promise<string[]> {
  const r = await lab.execAs(host, user, 'cat ~/calls.log 2>/dev/null; : > ~/calls.log');
  return r.stdout.split('\n').filter(Boolean);
}

/** The Torque-style wrappers in front of HOST's /usr/bin, inside the host only (an overlay: qsub runs "$(dirname $0)/sbatch"). */
export async function overlayTorque<N extends string>(lab: Lab<N>, host: N): Promise<void> {
  await access(join(TORQUE_BIN, 'qsub')).catch(() => {
    throw new Error(`no Torque-style wrappers in ${TORQUE_BIN}: run test/lab/torque-wrappers.sh as root (needs libslurm-perl libslurmdb-perl libswitch-perl)`);
  });
  const m = await lab.exec(host, ['sh', '-c', `mkdir -p /run/torque-bin && cp ${TORQUE_BIN}/* /run/torque-bin/ && mount -t overlay overlay -o lowerdir=/run/torque-bin:/usr/bin /usr/bin`]);
  assert.equal(m.code, 0, m.stderr);
}

/**
 * USER's SUBMIT command on HOST (sbatch, qsub) counted as countCalls does; while ~/SUBMIT-times-out
 * exists it makes the job, then fails with ERROR as if the scheduler's answer had timed out (once per
 * flag file): the ambiguous submit that must not make a second job.
 */
export async function flakySubmit<N extends string>(lab: Lab<N>, host: N, user: string, submit: string, error: string): Promise<void> {
  const r = await lab.execAs(host, user, `mkdir -p ~/testbin && cat > ~/testbin/${submit} <<'WRAPPER'
#!/bin/sh
echo ${submit} >> "$HOME/calls.log"
if test -f "$HOME/${submit}-times-out"; then
  rm -f "$HOME/${submit}-times-out"
  /usr/bin/${submit} "$@" >/dev/null || exit
  printf '%s\\n' '${error.replace(/'/g, "'\\''")}' >&2
  exit 1
fi
exec /usr/bin/${submit} "$@"
WRAPPER
chmod 755 ~/testbin/${submit} && { grep -q testbin ~/.bashrc || echo 'PATH=$HOME/testbin:$PATH' >> ~/.bashrc; }`);
  assert.equal(r.code, 0, r.stderr);
}
