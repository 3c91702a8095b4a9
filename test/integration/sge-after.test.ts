// Job dependencies on the sge plugin (submit --after), end to end against a real Grid Engine 8.1.9
// (test/lab/sge-host.sh): qsub -hold_jid holds the dependant until its dependencies have ended, however
// they ended; `ok` is the dependant's wrapper's to judge, which ends the job unrun (exit 125) when a
// dependency failed. An array as a dependency is all its tasks (the reduce step). Jobs that must not end
// yet wait on a gate file: nothing depends on timing. The cases run one after the other (4 slots).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, ok } from '../helpers/cli.js';
import { arrayTasks } from '../helpers/array-tasks.js';
import { countCalls, takeCalls } from '../helpers/scheduler-calls.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

interface JsonStatus {
  state: string;
  exit_code: number | null;
  native_id: string | null;
  native_state: string | null;
  started: string | null;
  reason?: string;
  dependency?: string;
}

describe('submit --after on the sge plugin against a real Grid Engine', () => {
  let lab: Lab<'g1'>;
  let home: string;
  let jobs: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 180_000 });
  const sh = async (script: string) => {
    const r = await lab.execAs('g1', 'alice', script);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  /** A job that waits for ~/GATE (when given), appends its id (and task index) to ~/LOG, exits CODE. */
  const submit = async (id: string, opts: { log: string; gate?: string; code?: number; after?: string[]; array?: string }) => {
    const gate = opts.gate ? `while [ ! -e "$HOME/${opts.gate}" ]; do sleep 0.2; done\n` : '';
    const dir = await makeJob(join(jobs, id), { 'start.sh': `${gate}echo ${id}\${TEJ_TASK_INDEX:+/$TEJ_TASK_INDEX} >> "$HOME/${opts.log}"\nexit ${opts.code ?? 0}\n` });
    const array = opts.array ? ['--array', opts.array] : [];
    return ok(await run(['submit', 'g1', '--id', id, ...array, ...(opts.after ?? []).flatMap((a) => ['--after', a]), dir]));
  };
  const json = async (id: string) => JSON.parse((await run(['status', 'g1', '--id', id, '--json'])).stdout) as JsonStatus;
  const wait = (id: string) => run(['wait', 'g1', '--id', id]);
  /** The Grid Engine jobs NATIVE_ID is held for (qstat -j: jid_predecessor_list (req)). */
  const holds = async (nativeId: string) => /^jid_predecessor_list \(req\): +(\S+)$/m.exec(await sh(`qstat -j ${nativeId}`))?.[1];

  before(async () => {
    lab = await startLab({ hosts: [{ name: 'g1', role: 'sge' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-sge-after-');
    ok(await run(['setup', 'g1', '--plugin', 'sge']));
    await countCalls(lab, 'g1', 'alice', ['qsub', 'qstat', 'qdel', 'qacct']);
  });
  after(async () => {
    await lab?.stop();
  });

  it('runs an afterok chain A -> B -> C in order, B and C held by Grid Engine', async () => {
    await submit('chain-a', { log: 'chain.log', gate: 'chain.gate' });
    await takeCalls(lab, 'g1', 'alice');
    await submit('chain-b', { log: 'chain.log', after: ['chain-a'] });
    // one qsub, and one qstat for the state submit replies with
    assert.deepEqual(await takeCalls(lab, 'g1', 'alice'), ['qsub', 'qstat'], 'a submit --after is one qsub');
    await submit('chain-c', { log: 'chain.log', after: ['chain-b'] });
    const b = await json('chain-b');
    assert.equal(b.state, 'queued');
    assert.equal(b.native_state, 'hqw');
    assert.equal(await holds(b.native_id!), (await json('chain-a')).native_id);
    assert.equal(await holds((await json('chain-c')).native_id!), b.native_id);
    await sh('touch ~/chain.gate');
    const w = await wait('chain-c');
    assert.equal(w.code, 0, w.stdout + w.stderr);
    assert.equal(await sh('cat ~/chain.log'), 'chain-a\nchain-b\nchain-c\n');
  });

  it('runs an afterany dependant after a dependency that failed', async () => {
    await submit('any-a', { log: 'any.log', gate: 'any.gate', code: 3 });
    await submit('any-b', { log: 'any.log', after: ['any-a:any'] });
    assert.equal(await holds((await json('any-b')).native_id!), (await json('any-a')).native_id);
    await sh('touch ~/any.gate');
    const w = await wait('any-b');
    assert.equal(w.code, 0, w.stdout + w.stderr);
    assert.equal(await sh('cat ~/any.log'), 'any-a\nany-b\n');
  });

  it('ends unrun a job whose afterok dependency failed, and one submitted after it had failed, and says why', async () => {
    await submit('never-a', { log: 'never.log', gate: 'never.gate', code: 3 });
    await submit('never-b', { log: 'never.log', after: ['never-a'] });
    await sh('touch ~/never.gate');
    for (const id of ['never-b', 'never-c']) {
      // never-c: submitted once never-a has failed (nothing to hold for: its wrapper ends it at once)
      if (id === 'never-c') await submit('never-c', { log: 'never.log', after: ['never-a'] });
      const w = await wait(id);
      assert.equal(w.code, 4, w.stdout + w.stderr);
      assert.match(w.stdout, new RegExp(`^${id}\\tfinished \\(exit 125, not run: dependency never-a failed\\)`));
      const s = await json(id);
      assert.equal(s.reason, 'dependency');
      assert.equal(s.dependency, 'never-a');
      assert.equal(s.started, null);
    }
    assert.equal(await sh('cat ~/never.log'), 'never-a\n');
  });

  it('runs a reduce job after every task of an array, and ends one unrun after an array with a failed task', async () => {
    await submit('map', { log: 'map.log', gate: 'map.gate', array: '0-2' });
    await submit('reduce', { log: 'map.log', after: ['map'] });
    const mapId = (await arrayTasks(run, 'g1', 'map'))[0]!.native_id!.split('.')[0];
    assert.equal(await holds((await json('reduce')).native_id!), mapId);
    await sh('touch ~/map.gate');
    const w = await wait('reduce');
    assert.equal(w.code, 0, w.stdout + w.stderr);
    const log = (await sh('cat ~/map.log')).trim().split('\n');
    assert.equal(log.at(-1), 'reduce', log.join('\n'));
    assert.deepEqual(log.slice(0, 3).sort(), ['map/0', 'map/1', 'map/2']);
    // an array with a failed task: its afterok dependant never runs
    const bad = await makeJob(join(jobs, 'fmap2'), { 'start.sh': 'while [ ! -e "$HOME/fmap2.gate" ]; do sleep 0.2; done\ntest "$TEJ_TASK_INDEX" != 1 || exit 2\n' });
    ok(await run(['submit', 'g1', '--id', 'fmap2', '--array', '0-1', bad]));
    await submit('freduce', { log: 'fmap.log', after: ['fmap2'] });
    await sh('touch ~/fmap2.gate');
    const f = await wait('freduce');
    assert.equal(f.code, 4, f.stdout + f.stderr);
    assert.match(f.stdout, /^freduce\tfinished \(exit 125, not run: dependency fmap2\/1 failed\)/);
  });
});
