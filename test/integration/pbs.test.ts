// The pbs plugin, end to end: the built CLI over real SSH to a namespace host that runs a real
// single-node Slurm with Debian's Torque-style wrappers (slurm-wlm-torque's qsub, qstat, qdel: Perl
// over Slurm) at /usr/bin, as a Torque login node has them. Debian has no PBS server; the parsers of
// PBS Pro's and Torque's own outputs are tested on recorded samples (test/remote-scripts/pbs.test.ts).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, waitFor, ok } from '../helpers/cli.js';
import { countCalls, flakySubmit, overlayTorque } from '../helpers/scheduler-calls.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

interface JsonStatus {
  id: string;
  state: string;
  exit_code: number | null;
  native_id: string | null;
  native_state: string | null;
}

describe('the pbs plugin against Torque-style commands over a real Slurm', { concurrency: true }, () => {
  let lab: Lab<'p1'>;
  let home: string; // alice
  let bobHome: string; // counts his qstat calls
  let carolHome: string; // her qsub times out once after the job was made
  let jobs: string;
  const run = (args: string[], h = home) => tej(args, { home: h, timeoutMs: 120_000 });
  const status = (id: string, h = home) => run(['status', 'p1', '--id', id], h);
  // status exits with the state (4: failed, 5: killed, ...): the JSON is on stdout whatever it is
  const json = async (id: string, h = home): Promise<JsonStatus> => {
    const r = await run(['status', 'p1', '--id', id, '--json'], h);
    return JSON.parse(r.stdout) as JsonStatus;
  };
  const submit = async (name: string, files: Record<string, string>, flags: string[] = [], h = home) => {
    const dir = await makeJob(join(jobs, name), files);
    return ok(await run(['submit', 'p1', '--id', name, ...flags, dir], h)).trim();
  };
  const nativeId = async (id: string, h = home) => {
    const s = await json(id, h);
    assert.match(s.native_id ?? '', /^\d+$/, JSON.stringify(s));
    return s.native_id!;
  };
  // What Slurm (under the wrappers) holds for a job: scontrol's KEY=VALUE words
  const scontrol = async (nid: string) => {
    const r = await lab.exec('p1', ['scontrol', 'show', 'job', nid]);
    assert.equal(r.code, 0, r.stderr);
    return Object.fromEntries(r.stdout.split(/\s+/).filter((w) => w.includes('=')).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  };
  const ended = (id: string, h = home) => waitFor(`${id} to end`, () => status(id, h), (r) => r.code !== 2 && r.code !== 3);

  before(async () => {
    lab = await startLab({ hosts: [{ name: 'p1', role: 'slurm' }] });
    await overlayTorque(lab, 'p1');
    home = await makeClientHome(lab);
    bobHome = await makeClientHome(lab, { user: 'bob' });
    carolHome = await makeClientHome(lab, { user: 'carol' });
    jobs = await lab.makeTmpDir('tej-pbs-jobs-');
    for (const user of ['bob', 'carol']) {
      // every call is counted in ~/calls.log; qsub makes the job, then fails as if the server's answer had timed out (once per flag file)
      await countCalls(lab, 'p1', user, ['qstat', 'qdel']);
      await flakySubmit(lab, 'p1', user, 'qsub', 'qsub: End of File: timed out waiting for the server');
    }
    for (const h of [home, bobHome, carolHome]) ok(await run(['setup', 'p1', '--plugin', 'pbs'], h));
  });
  after(async () => {
    await lab?.stop();
  });

  it('sets up a pbs queue and records the dialect it found in the queue config', async () => {
    assert.match(ok(await run(['setup', 'p1'])), /\/home\/alice\/\.tej \(plugin pbs, tej /);
    const config = await lab.execAs('p1', 'alice', 'cat ~/.tej/config');
    assert.match(config.stdout, /^plugin=pbs$/m);
    assert.match(config.stdout, /^pbs_dialect=torque$/m);
  });

  it('runs a job with its resources as qsub options and records the exit code of a failed job', async () => {
    const files = {
      'start.sh': 'echo "nproc=$TEJ_JOB_NPROC cwd=$PWD" > out.txt\nexit 3\n',
      'tej.json': JSON.stringify({ cpus: 2, memory: '64M', slurm: { partition: 'hold', account: 'proj7' } }),
    };
    const id = await submit('resources', files, ['--time', '10m']);
    // what the server was asked for: -l nodes=1:ppn=2,mem=64mb -l walltime=00:11:00 -q hold -A proj7
    const job = await scontrol(await nativeId(id));
    assert.equal(job.NumCPUs, '2');
    assert.equal(job.MinMemoryNode, '64M');
    assert.equal(job.Partition, 'hold');
    assert.equal(job.TimeLimit, '00:11:00');
    assert.equal(job.Account, 'proj7');
    const done = await ended(id);
    assert.equal(done.code, 4, done.stdout + done.stderr);
    assert.match(done.stdout, /^finished \(exit 3, \d+:\d\d\)\n$/);
    assert.equal(ok(await run(['download', 'p1', '--id', id, 'out.txt:'])), `nproc=2 cwd=/home/alice/.tej/jobs/${id}/work\n`);
    const s = await json(id);
    assert.equal(s.exit_code, 3);
    // the wrappers' qstat shows C for every end: the wrapper's record told the exit code
    assert.equal(s.native_state, 'C');
  });

  it('runs the same job directory unchanged under direct', async () => {
    const files = { 'start.sh': 'echo "nproc=$TEJ_JOB_NPROC" > out.txt\n', 'tej.json': JSON.stringify({ cpus: 3 }) };
    const viaPbs = await submit('same-pbs', files);
    const viaDirect = await submit('same-direct', files, ['--plugin', 'direct']);
    for (const id of [viaPbs, viaDirect]) {
      const done = await ended(id);
      assert.equal(done.code, 0, done.stdout + done.stderr);
      assert.equal(ok(await run(['download', 'p1', '--id', id, 'out.txt:'])), 'nproc=3\n');
    }
  });

  it('shows a job queued behind another as queued, deletes it with kill, and kills the running one', async () => {
    const blocker = await submit('blocker', { 'start.sh': 'sleep 120\n' }, ['--cpus', '10', '--partition', 'hold']);
    await waitFor('the blocker to run', () => status(blocker), (r) => r.code === 2);
    const queued = await submit('waiting', { 'start.sh': 'echo ran > ran.txt\n' }, ['--cpus', '10', '--partition', 'hold']);
    const q = await status(queued);
    assert.equal(q.code, 3, q.stderr);
    assert.equal(q.stdout, 'queued\n');
    assert.equal((await json(queued)).native_state, 'Q');

    ok(await run(['kill', 'p1', '--id', queued]));
    assert.equal((await scontrol(await nativeId(queued))).JobState, 'CANCELLED');
    const s = await status(queued);
    assert.equal(s.code, 5, s.stderr);
    assert.equal(s.stdout, 'killed\n');
    assert.equal((await lab.execAs('p1', 'alice', `test -e ~/.tej/jobs/${queued}/work/ran.txt || test -e ~/.tej/jobs/${queued}/start`)).code, 1);

    ok(await run(['kill', 'p1', '--id', blocker]));
    assert.equal((await json(blocker)).state, 'killed');
    assert.equal((await scontrol(await nativeId(blocker))).JobState, 'CANCELLED');
  });

  it("tells where a running job runs: the first host of qstat -f's exec_host (queue_node)", async () => {
    const id = await submit('whereami', { 'start.sh': 'while [ ! -e ~/where.gate ]; do sleep 0.2; done\n' });
    await waitFor('the job to run', () => status(id), (r) => r.code === 2);
    const where = await lab.execAs('p1', 'alice', `sh ~/.tej/commands/where.sh ${id}`);
    assert.equal(where.code, 0, where.stderr);
    const node = (await scontrol(await nativeId(id))).NodeList;
    assert.ok(node, 'Slurm names the node');
    assert.match(where.stdout, new RegExp(`^node=${node}$`, 'm'));
    ok(await lab.execAs('p1', 'alice', 'touch ~/where.gate'));
    assert.equal((await ended(id)).code, 0);
  });

  it('ends a job at its tej time limit with state timeout', async () => {
    const id = await submit('tejtimeout', { 'start.sh': 'sleep 100\n' }, ['--time', '2s']);
    const s = await ended(id);
    assert.equal(s.code, 6, s.stdout + s.stderr);
    assert.match(s.stdout, /^timeout \(after \d+:\d\d\)\n$/);
  });

  it('asks qstat once per status or list, whatever the number of jobs', async () => {
    const ids: string[] = [];
    // The jobs run until the counts are taken (a gate file), however long a loaded machine takes.
    for (const n of [1, 2, 3]) ids.push(await submit(`count${n}`, { 'start.sh': 'while [ ! -e ~/count.gate ]; do sleep 0.2; done\n' }, [], bobHome));
    const calls = async (args: string[]) => {
      await lab.execAs('p1', 'bob', ': > ~/calls.log');
      const r = await run(args, bobHome);
      assert.ok(r.code === 0 || r.code === 2 || r.code === 3, `exit ${r.code}: ${r.stderr}`);
      return (await lab.execAs('p1', 'bob', 'cat ~/calls.log')).stdout.split('\n').filter(Boolean);
    };
    assert.deepEqual(await calls(['list', 'p1']), ['qstat']);
    assert.deepEqual(await calls(['status', 'p1', ...ids.flatMap((id) => ['--id', id])]), ['qstat']);
    await lab.execAs('p1', 'bob', 'touch ~/count.gate');
    for (const id of ids) await waitFor(`${id} to end`, () => status(id, bobHome), (r) => r.code === 0);
    // Once the server has confirmed the ends, the job directories alone answer: no call at all.
    ok(await run(['list', 'p1'], bobHome));
    assert.deepEqual(await calls(['list', 'p1']), []);
  });

  it('does not submit twice when qsub fails after the server created the job', async () => {
    await lab.execAs('p1', 'carol', 'touch ~/qsub-times-out; : > ~/calls.log');
    const id = await submit('flaky', { 'start.sh': 'echo once >> ~/flaky.log\n' }, [], carolHome);
    const calls = (await lab.exec('p1', ['cat', '/home/carol/calls.log'])).stdout.split('\n').filter(Boolean);
    assert.equal(calls.filter((c) => c === 'qsub').length, 1, calls.join(' '));
    const done = await ended(id, carolHome);
    assert.equal(done.code, 0, done.stdout + done.stderr);
    assert.equal((await lab.exec('p1', ['cat', '/home/carol/flaky.log'])).stdout, 'once\n');
  });
});
