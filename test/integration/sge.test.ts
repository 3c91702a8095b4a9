// The sge plugin, end to end: the built CLI over real SSH to a namespace host that runs a real Grid
// Engine 8.1.9 (sge_qmaster + sge_execd, test/lab/sge-host.sh: queue all.q with 4 slots, PE smp, project
// tejproj). The cases run one after the other: the queued-job case fills the host's 4 slots.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, waitFor, ok } from '../helpers/cli.js';
import { countCalls, flakySubmit } from '../helpers/scheduler-calls.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

interface JsonStatus {
  id: string;
  state: string;
  exit_code: number | null;
  native_id: string | null;
  native_state: string | null;
}

describe('the sge plugin against a real Grid Engine', () => {
  let lab: Lab<'g1'>;
  let home: string; // alice
  let bobHome: string; // bob: qstat, qacct and qdel log their calls
  let carolHome: string; // carol: a qsub that makes the job, then fails as if the qmaster had not answered
  let jobs: string;
  const run = (args: string[], h = home) => tej(args, { home: h, timeoutMs: 120_000 });
  const status = (id: string, h = home) => run(['status', 'g1', '--id', id], h);
  const json = async (id: string, h = home): Promise<JsonStatus> => JSON.parse((await run(['status', 'g1', '--id', id, '--json'], h)).stdout) as JsonStatus;
  const submit = async (name: string, files: Record<string, string>, flags: string[] = [], h = home) => {
    const dir = await makeJob(join(jobs, name), files);
    return ok(await run(['submit', 'g1', '--id', name, ...flags, dir], h)).trim();
  };
  const nativeId = async (id: string, h = home) => {
    const s = await json(id, h);
    assert.match(s.native_id ?? '', /^\d+$/, JSON.stringify(s));
    return s.native_id!;
  };
  /** qstat -j NATIVE_ID as the job's owner: the job as the qmaster has it. */
  const qstatJ = async (user: string, nid: string) => (await lab.execAs('g1', user, `qstat -j ${nid}`)).stdout;
  const ended = (r: { code: number | null }) => r.code !== 2 && r.code !== 3;

  before(async () => {
    lab = await startLab({ hosts: [{ name: 'g1', role: 'sge' }] });
    home = await makeClientHome(lab);
    bobHome = await makeClientHome(lab, { user: 'bob' });
    carolHome = await makeClientHome(lab, { user: 'carol' });
    jobs = await lab.makeTmpDir('tej-sge-jobs-');
    // bob's qstat, qacct and qdel calls are counted in ~/calls.log; carol's qsub makes the job, then fails
    // as if the qmaster had not answered (once per flag file)
    await countCalls(lab, 'g1', 'bob', ['qstat', 'qacct', 'qdel']);
    await flakySubmit(lab, 'g1', 'carol', 'qsub', 'error: commlib error: got select error (Connection timed out)');
    for (const h of [home, bobHome, carolHome]) ok(await run(['setup', 'g1', '--plugin', 'sge'], h));
  });
  after(async () => {
    await lab?.stop();
  });

  it('suggests sge on a Grid Engine submit host, and keeps the plugin when setup runs again', async () => {
    assert.match(ok(await run(['setup', 'g1'])), /\(plugin sge, /);
    const plain = await run(['setup', 'g1', '--queue', '~/plainq']);
    assert.match(ok(plain), /\/home\/alice\/plainq \(plugin direct, /);
    assert.match(plain.stderr, /this host has Grid Engine: 'tej setup g1 --plugin sge' hands jobs to it/);
  });

  it('runs a job with its resources as qsub options and records the exit code of a failed job', async () => {
    const files = {
      // it waits for the gate: qstat -j shows a job until it ends
      'start.sh': 'echo "nproc=$TEJ_JOB_NPROC var=$MY_VAR cwd=$PWD" > out.txt\nwhile [ ! -e ~/resources.gate ]; do sleep 0.2; done\nexit 3\n',
      'tej.json': JSON.stringify({ cpus: 2, memory: '64M', env: { MY_VAR: 'a b' }, slurm: { partition: 'all.q', account: 'tejproj' } }),
    };
    const id = await submit('resources', files, ['--time', '10m']);
    let j: string;
    try {
      j = await qstatJ('alice', await nativeId(id));
    } finally {
      await lab.execAs('g1', 'alice', 'touch ~/resources.gate'); // its slots go to the next cases whatever happens
    }
    // 10 minutes + 1 (the backstop), 64M shared by 2 slots, the PE, the queue, the project, the name
    assert.match(j, /^hard resource_list: +h_rt=660,h_vmem=32M$/m, j);
    assert.match(j, /^parallel environment: +smp range: 2$/m, j);
    assert.match(j, /^hard_queue_list: +all\.q$/m, j);
    assert.match(j, /^project: +tejproj$/m, j);
    assert.match(j, new RegExp(`^job_name: +${id}$`, 'm'), j);
    const done = await waitFor('the job to end', () => status(id), ended);
    assert.equal(done.code, 4, done.stdout + done.stderr);
    assert.match(done.stdout, /^finished \(exit 3, \d+:\d\d\)\n$/);
    assert.equal(ok(await run(['download', 'g1', '--id', id, 'out.txt:'])), `nproc=2 var=a b cwd=/home/alice/.tej/jobs/${id}/work\n`);
    assert.equal((await json(id)).exit_code, 3);
  });

  it('runs the same job directory unchanged under direct', async () => {
    const files = { 'start.sh': 'echo "nproc=$TEJ_JOB_NPROC" > out.txt\n', 'tej.json': JSON.stringify({ cpus: 3 }) };
    const viaSge = await submit('same-sge', files);
    const viaDirect = await submit('same-direct', files, ['--plugin', 'direct']);
    for (const id of [viaSge, viaDirect]) {
      const done = await waitFor(`${id} to end`, () => status(id), ended);
      assert.equal(done.code, 0, done.stdout + done.stderr);
      assert.equal(ok(await run(['download', 'g1', '--id', id, 'out.txt:'])), 'nproc=3\n');
    }
    assert.equal((await json(viaDirect)).native_state, null, 'direct has no native state');
  });

  it('shows a job queued behind a full host as queued, deletes it with kill, and kills the running one', async () => {
    const blocker = await submit('blocker', { 'start.sh': 'sleep 300\n' }, ['--cpus', '4']);
    await waitFor('the blocker to run', () => status(blocker), (r) => r.code === 2);
    const queued = await submit('waiting', { 'start.sh': 'echo ran > ran.txt\n' });
    const q = await status(queued);
    assert.equal(q.code, 3, q.stderr);
    assert.equal(q.stdout, 'queued\n');
    assert.equal((await json(queued)).native_state, 'qw');
    assert.match(ok(await run(['list', 'g1'])), new RegExp(`^${queued}\\tqueued\\t`, 'm'));

    ok(await run(['kill', 'g1', '--id', queued]));
    assert.equal(await qstatJ('alice', await nativeId(queued)), '', 'the qmaster has it no more');
    const s = await status(queued);
    assert.equal(s.code, 5, s.stderr);
    assert.equal(s.stdout, 'killed\n');
    assert.equal((await lab.execAs('g1', 'alice', `test -e ~/.tej/jobs/${queued}/start`)).code, 1, 'it never ran');

    ok(await run(['kill', 'g1', '--id', blocker]));
    assert.equal((await json(blocker)).state, 'killed');
    // qdel KILLs the batch script's group, the wrapper with it: qacct's record confirms the end
    const b = await waitFor('qacct to confirm', () => json(blocker), (j) => j.native_state?.startsWith('failed=') ?? false);
    assert.equal(b.state, 'killed');
    assert.equal(b.native_state, 'failed=100');
    assert.equal((await lab.execAs('g1', 'alice', 'ps -eo args')).stdout.includes('sleep 300'), false, 'nothing of the job runs on');
  });

  it('ends a job at its tej time limit with state timeout', async () => {
    const id = await submit('tejtimeout', { 'start.sh': 'sleep 100\n' }, ['--time', '2s']);
    const s = await waitFor('the time limit', () => status(id), ended, 60_000);
    assert.equal(s.code, 6, s.stdout + s.stderr);
    assert.match(s.stdout, /^timeout \(after \d+:\d\d\)\n$/);
  });

  it('records exit codes 99 and 100, which Grid Engine takes as rerun and error orders from a job script, once', async () => {
    for (const code of [99, 100]) {
      const id = await submit(`exit${code}`, { 'start.sh': `echo ran >> ~/exit${code}.log\nexit ${code}\n` });
      const nid = await nativeId(id);
      // Grid Engine's accounting of the run, once it has ended: one run, given exit status 1 (the status
      // of a first tej status may come before it: the wrapper's record is enough for tej, which then asks
      // qacct no more; its native_state is not waited for)
      const acct = await waitFor(`qacct to account for ${id}`, () => lab.execAs('g1', 'alice', `qacct -j ${nid}`), (r) => r.code === 0, 120_000);
      assert.equal(acct.stdout.match(/^jobnumber /gm)?.length, 1, acct.stdout);
      assert.match(acct.stdout, /^exit_status +1 *$/m, acct.stdout);
      // and the job has left the queue: not rescheduled (99), not held in error (100)
      assert.match((await lab.execAs('g1', 'alice', `qstat -j ${nid}`)).stderr, /do not exist/);
      const s = await json(id);
      assert.deepEqual([s.state, s.exit_code], ['finished', code]);
      assert.equal((await lab.execAs('g1', 'alice', `cat ~/exit${code}.log`)).stdout, 'ran\n');
    }
  });

  it('says killed for a running job deleted with qdel outside tej, from qacct', async () => {
    const id = await submit('qdeleted', { 'start.sh': 'sleep 100\n' });
    await waitFor('the job to run', () => status(id), (r) => r.code === 2);
    const d = await lab.execAs('g1', 'alice', `qdel ${await nativeId(id)}`);
    assert.equal(d.code, 0, d.stderr);
    // qacct's record is written a moment after the job leaves qstat: until then the job is lost, unsettled
    const s = await waitFor('qacct to confirm', () => json(id), (j) => j.native_state?.startsWith('failed=') ?? false);
    assert.equal(s.state, 'killed', JSON.stringify(s));
    assert.equal(s.native_state, 'failed=100');
  });

  it('says lost for a queued job that the qmaster forgets (qdel outside tej: it never ran)', async () => {
    const id = await submit('forgotten', { 'start.sh': 'echo ran > ran.txt\n' }, ['--cpus', '5']); // 5 > the 4 slots: it waits
    assert.equal((await json(id)).state, 'queued');
    assert.equal((await lab.execAs('g1', 'alice', `qdel ${await nativeId(id)}`)).code, 0);
    const s = await json(id);
    assert.equal(s.state, 'lost', JSON.stringify(s));
    assert.equal(s.native_state, null, 'qacct has no record of a job that never ran');
    assert.equal((await lab.execAs('g1', 'alice', `cat ~/.tej/jobs/${id}/native-state`)).stdout, '-\n', 'settled');
  });

  it('asks qstat once per status or list, whatever the number of jobs', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push(await submit(`count${n}`, { 'start.sh': 'while [ ! -e ~/count.gate ]; do sleep 0.2; done\n' }, [], bobHome));
    // counted once they run: no job moves from queued to running while a command looks
    for (const id of ids) await waitFor(`${id} to run`, () => status(id, bobHome), (r) => r.code === 2);
    const calls = async (args: string[]) => {
      await lab.execAs('g1', 'bob', ': > ~/calls.log');
      const r = await run(args, bobHome);
      assert.ok([0, 2, 3].includes(r.code ?? -1), `exit ${r.code}: ${r.stderr}`);
      return (await lab.execAs('g1', 'bob', 'cat ~/calls.log')).stdout.split('\n').filter(Boolean);
    };
    for (const args of [['list', 'g1'], ['status', 'g1', ...ids.flatMap((id) => ['--id', id])]]) {
      const c = await calls(args);
      assert.deepEqual(c, ['qstat'], `${args[0]}: ${c.join(' ')}`);
    }
    await lab.execAs('g1', 'bob', 'touch ~/count.gate');
    for (const id of ids) await waitFor(`${id} to end`, () => status(id, bobHome), (r) => r.code === 0);
    // Once Grid Engine has confirmed the ends (qacct has them: the qmaster writes its accounting up to
    // flush_time late, and the jobs are asked about until then), the job directories alone answer: no
    // call at all.
    const unsettled = `ls ${ids.map((id) => `~/.tej/jobs/${id}/native-open`).join(' ')} 2>/dev/null | wc -l`;
    await waitFor('Grid Engine to confirm the ends', async () => (ok(await run(['list', 'g1'], bobHome)), (await lab.execAs('g1', 'bob', unsettled)).stdout.trim()), (n) => n === '0', 120_000);
    assert.deepEqual(await calls(['list', 'g1']), []);
  });

  it("kills a job that rewrote its native-id to another Grid Engine job of the user without deleting that one; status shows its own state", async () => {
    // the victim: a plain Grid Engine job of alice's, not tej's, on user hold (hqw)
    const victim = (await lab.execAs('g1', 'alice', "cd /tmp && echo 'sleep 300' | qsub -h -terse -N victim -S /bin/sh -o /dev/null -j y")).stdout.trim();
    assert.match(victim, /^\d+$/);
    const id = await submit('forger', {
      'start.sh': `while [ ! -e ~/forge.go ]; do sleep 0.2; done\necho ${victim} > "$TEJ_QUEUE/jobs/$TEJ_JOB_ID/native-id"\ntouch ~/forged\nsleep 300\n`,
    });
    const real = await nativeId(id);
    await lab.execAs('g1', 'alice', 'touch ~/forge.go');
    await waitFor('the job to forge its native-id', () => lab.execAs('g1', 'alice', 'test -e ~/forged'), (r) => r.code === 0);
    const s = await json(id);
    assert.equal(s.native_id, victim);
    // the state of the job listed under its name (running: r, or t while the qmaster has not yet
    // heard from the execd that the job runs), not the victim's (hqw)
    assert.equal(s.state, 'running', JSON.stringify(s));
    assert.match(s.native_state ?? '', /^[rt]$/, JSON.stringify(s));
    const k = await run(['kill', 'g1', '--id', id]);
    assert.equal(k.code, 0, k.stderr);
    // the victim is still there; the job's own Grid Engine job (found by its name and context) is not
    assert.equal((await lab.execAs('g1', 'alice', `qstat -j ${victim} >/dev/null`)).code, 0, 'the victim was deleted');
    assert.equal(await qstatJ('alice', real), '', "the job's own Grid Engine job was not deleted");
    assert.equal((await lab.execAs('g1', 'alice', `qdel ${victim}`)).code, 0);
  });

  it('does not submit twice when qsub fails after the qmaster created the job', async () => {
    await lab.execAs('g1', 'carol', 'touch ~/qsub-times-out; : > ~/calls.log');
    const id = await submit('flaky', { 'start.sh': 'echo once >> ~/flaky.log\n' }, [], carolHome);
    const calls = (await lab.execAs('g1', 'carol', 'cat ~/calls.log')).stdout.split('\n').filter((l) => l === 'qsub');
    assert.deepEqual(calls, ['qsub'], 'one qsub: the retry found the job');
    assert.equal((await lab.exec('g1', ['cat', `/home/carol/.tej/jobs/${id}/qsub-attempt`])).stdout, '1\n');
    await waitFor('the job to end', () => status(id, carolHome), (r) => r.code === 0);
    assert.equal((await lab.exec('g1', ['cat', '/home/carol/flaky.log'])).stdout, 'once\n');
    // no second job waits: qstat lists at most the one job tej recorded (for a moment after its end)
    const listed = (await lab.exec('g1', ['runuser', '-u', 'carol', '--', 'qstat', '-u', 'carol'])).stdout
      .split('\n').filter((l) => /\sflaky\s/.test(l)).map((l) => l.trim().split(/\s+/)[0]);
    const nid = await nativeId(id, carolHome);
    assert.ok(listed.every((n) => n === nid), `${listed.join(' ')} (tej's: ${nid})`);
  });
});
