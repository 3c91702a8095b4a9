// One job directory, unchanged, under direct, slurm, pbs and sge (issue 18 "Done when"): a Slurm lab
// host (s1) with a queue per plugin for direct, slurm and pbs (Debian's Torque-style wrappers over its
// Slurm), and a Grid Engine lab host (g1) for sge. Each run finishes with the same output. The calls of
// the scheduler's commands per tej command (submit, status, kill) are counted and printed for each
// plugin, and status is asserted to be one call.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';
import { countCalls, overlayTorque, takeCalls } from '../helpers/scheduler-calls.js';

type Host = 's1' | 'g1';
const TARGETS: { plugin: string; host: Host; queue: string }[] = [
  { plugin: 'direct', host: 's1', queue: '~/directq' },
  { plugin: 'slurm', host: 's1', queue: '~/slurmq' },
  { plugin: 'pbs', host: 's1', queue: '~/pbsq' },
  { plugin: 'sge', host: 'g1', queue: '~/sgeq' },
];

describe('one job directory under direct, slurm, pbs and sge', () => {
  let lab: Lab<Host>;
  let home: string; // bob, whose scheduler calls are counted
  let jobs: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 180_000 });
  const state = async (t: (typeof TARGETS)[number], id: string) =>
    (JSON.parse((await run(['status', t.host, '--queue', t.queue, '--id', id, '--json'])).stdout) as { state: string; exit_code: number | null });

  before(async () => {
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }, { name: 'g1', role: 'sge' }] });
    await overlayTorque(lab, 's1');
    home = await makeClientHome(lab, { user: 'bob' });
    jobs = await lab.makeTmpDir('tej-four-');
    for (const h of ['s1', 'g1'] as const) await countCalls(lab, h, 'bob');
    for (const t of TARGETS) ok(await run(['setup', t.host, '--queue', t.queue, '--plugin', t.plugin]));
  });
  after(async () => {
    await lab?.stop();
  });

  it('runs the same directory to the same output under each plugin, and counts the scheduler calls per command', async () => {
    const dir = await makeJob(join(jobs, 'same'), {
      'start.sh': 'printf "%s in %s\\n" "$(cat input.txt)" "$(basename "$PWD")" > out.txt\n',
      'input.txt': 'hello from one directory\n',
      'tej.json': JSON.stringify({ cpus: 1, time_limit: '5m' }),
    });
    const gate = await makeJob(join(jobs, 'gate'), { 'start.sh': 'while [ ! -e ~/gate.go ]; do sleep 0.2; done\n' });
    const counts: Record<string, Record<string, string[]>> = {};
    for (const t of TARGETS) {
      await takeCalls(lab, t.host, 'bob');
      const id = ok(await run(['submit', t.host, '--queue', t.queue, '--id', `same-${t.plugin}`, dir])).trim();
      const submitCalls = await takeCalls(lab, t.host, 'bob');
      const done = await waitFor(`${id} finished`, () => state(t, id), (s) => s.state === 'finished' || s.state === 'failed' || s.state === 'lost', 180_000);
      assert.deepEqual([done.state, done.exit_code], ['finished', 0], `${t.plugin}: ${JSON.stringify(done)}`);
      assert.equal(ok(await run(['download', t.host, '--queue', t.queue, '--id', id, 'out.txt:'])), 'hello from one directory in work\n', t.plugin);

      // status of a running job, then its kill
      const g = ok(await run(['submit', t.host, '--queue', t.queue, '--id', `gate-${t.plugin}`, gate])).trim();
      await waitFor(`${g} running`, () => state(t, g), (s) => s.state === 'running', 180_000);
      await takeCalls(lab, t.host, 'bob');
      await run(['status', t.host, '--queue', t.queue, '--id', g]);
      const statusCalls = await takeCalls(lab, t.host, 'bob');
      ok(await run(['kill', t.host, '--queue', t.queue, '--id', g]));
      const killCalls = await takeCalls(lab, t.host, 'bob');
      assert.equal((await state(t, g)).state, 'killed', t.plugin);
      counts[t.plugin] = { submit: submitCalls, status: statusCalls, kill: killCalls };
      if (t.plugin !== 'direct') assert.equal(statusCalls.length, 1, `${t.plugin} status: ${statusCalls.join(' ')}`);
      // pbs: setup recorded the dialect, so no qstat --version per submit: qsub, and qstat for the reply's state
      if (t.plugin === 'pbs') assert.deepEqual(submitCalls, ['qsub', 'qstat'], `pbs submit: ${submitCalls.join(' ')}`);
    }
    // for the closing note of issue 18
    for (const [plugin, c] of Object.entries(counts)) {
      console.log(`scheduler calls, ${plugin}: ${Object.entries(c).map(([cmd, calls]) => `${cmd} ${calls.length} (${calls.join(' ') || '-'})`).join('; ')}`);
    }
  });
});
