// Concurrency, end to end: racing submits of one id, many parallel clients on one queue, and readers
// (status, list) running while jobs start and end. Separate CLI processes against the sshd test host.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, tej, ok } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';
import { JOB_STATES } from '../../src/job/status.js';

interface JsonStatus {
  id: string;
  state: string;
  exit_code: number | null;
  plugin: string | null;
  native_id: string | null;
  started: string | null;
  ended: string | null;
}

/** Every record must be a state some single moment of the job had: no half-written job shows. */
function assertWhole(j: JsonStatus, where: string): void {
  const what = `${where}: ${JSON.stringify(j)}`;
  assert.ok((JOB_STATES as readonly string[]).includes(j.state), what);
  assert.ok(!['lost', 'incomplete'].includes(j.state), `nothing died here: ${what}`);
  if (j.state === 'finished') {
    assert.notEqual(j.exit_code, null, what);
    assert.notEqual(j.ended, null, what);
    assert.notEqual(j.started, null, what);
  }
  if (j.state === 'running' || j.state === 'finished') {
    assert.equal(j.plugin, 'direct', what);
    assert.match(j.native_id ?? '', /^\d+$/, what);
  }
  if (j.state === 'submitting') assert.equal(j.native_id, null, what);
  if (j.ended !== null) assert.notEqual(j.started, null, what);
  if (j.state === 'running') assert.equal(j.exit_code, null, what);
}

describe('concurrency', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 180_000 });
  const listJson = async () =>
    ok(await run(['list', 'h1', '--json'])).split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonStatus);

  it('clients submitting at once to a queue not set up yet: each one sets it up or waits for it, all jobs run', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'first'), { 'start.sh': 'echo first\n' });
    const queue = '.tej-first';
    const runs = await Promise.all([0, 1, 2, 3].map((n) => run(['submit', 'h1', '--queue', queue, '--id', `first${n}`, dir])));
    runs.forEach((r, n) => assert.equal(r.code, 0, `submit ${n}: ${r.stderr}`));
    for (let n = 0; n < 4; n++) ok(await run(['wait', 'h1', '--queue', queue, '--id', `first${n}`]));
    // What a client sees while another one is between its install and its setup: the helpers are in
    // place, jobs/ and staging/ not yet. A submit then sets the queue up itself, as on first use.
    const midway = '.tej-midway';
    ok(await run(['setup', 'h1', '--queue', midway]));
    await sshHost.lab.execAs('h1', 'alice', `rm -r ~/${midway}/jobs ~/${midway}/staging`);
    const r = await run(['submit', 'h1', '--queue', midway, '--id', 'midway', dir]);
    assert.equal(r.code, 0, r.stderr);
    ok(await run(['wait', 'h1', '--queue', midway, '--id', 'midway']));
  });

  it('two clients submitting the same id at once: exactly one wins, the other gets 73', async () => {
    const a = await makeJob(join(sshHost.jobs, 'a'), { 'start.sh': 'echo A > who\n', 'pad.bin': 'a'.repeat(300_000) });
    const b = await makeJob(join(sshHost.jobs, 'b'), { 'start.sh': 'echo B > who\n', 'pad.bin': 'b'.repeat(300_000) });
    for (let round = 0; round < 3; round++) {
      const id = `same${round}`;
      const [ra, rb] = await Promise.all([run(['submit', 'h1', '--id', id, a]), run(['submit', 'h1', '--id', id, b])]);
      assert.deepEqual([ra.code, rb.code].sort(), [0, 73], `A: ${ra.stderr}\nB: ${rb.stderr}`);
      const loser = ra.code === 73 ? ra : rb;
      assert.match(loser.stderr, new RegExp(`job ${id} exists already`));
      assert.equal(loser.stdout, '');
      const winner = ra.code === 0 ? 'A' : 'B';
      const meta = await sshHost.lab.execAs('h1', 'alice', `ls ~/.tej/jobs | grep -c '^${id}$'; head -c1 ~/.tej/jobs/${id}/work/pad.bin; ls -A ~/.tej/staging`);
      assert.equal(meta.stdout, `1\n${winner.toLowerCase()}`, 'one job, all of it from the winner, nothing in staging');
    }
  });

  it('50 parallel submits from separate processes give 50 distinct jobs, all listed', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'many'), { 'start.sh': 'echo "$TEJ_JOB_ID" > me\n' });
    const started = Date.now();
    const runs = await Promise.all(Array.from({ length: 50 }, () => run(['submit', 'h1', dir])));
    const failed = runs.filter((r) => r.code !== 0);
    assert.deepEqual(failed, [], 'every submit succeeds');
    const ids = runs.map((r) => r.stdout.trim());
    assert.equal(new Set(ids).size, 50, 'distinct ids');
    for (const id of ids) assert.match(id, /^many_root_[A-Za-z0-9]{8}$/);
    const listed = new Set((await listJson()).map((j) => j.id));
    for (const id of ids) assert.ok(listed.has(id), `${id} is listed`);
    const files = await sshHost.lab.execAs('h1', 'alice', `cd ~/.tej/jobs && for d in many_root_*; do test -f $d/native-id && echo $d; done | wc -l; ls -A ~/.tej/staging | wc -l`);
    assert.equal(files.stdout, '50\n0\n', 'each one a whole job, nothing left in staging');
    console.log(`# 50 parallel submits in ${Date.now() - started} ms`);
  });

  it('status and list never print a torn state while jobs start and end', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'churn'), { 'start.sh': 'sleep "$(( $$ % 3 + 1 )).$(( $$ % 9 ))"\nexit $(( $$ % 3 ))\n' });
    const submits = Promise.all(Array.from({ length: 12 }, (_, i) => run(['submit', 'h1', '--id', `churn${i}`, dir])));
    let done = false;
    let seen = 0;
    const states = new Set<string>();
    const reader = (async () => {
      while (!done) {
        const [list, text, status] = await Promise.all([
          listJson(),
          run(['list', 'h1']),
          run(['status', 'h1', '--json', ...Array.from({ length: 12 }, (_, i) => ['--id', `churn${i}`]).flat()]),
        ]);
        for (const j of list.filter((x) => x.id.startsWith('churn'))) {
          assertWhole(j, 'list --json');
          states.add(j.state);
          seen++;
        }
        assert.ok([0, 2, 3, 4].includes(text.code ?? -1), text.stderr);
        for (const line of text.stdout.split('\n').filter((l) => l.startsWith('churn'))) {
          assert.match(line, /^churn\d+\t(submitting|running|finished\(\d+\))\t(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d|-)\t(\d+:\d\d|-)$/, line);
        }
        for (const l of status.stdout.split('\n').filter(Boolean)) {
          const j = JSON.parse(l) as JsonStatus;
          if (j.state !== 'absent') assertWhole(j, 'status --json');
        }
      }
    })();
    const results = await submits;
    for (const r of results) ok(r);
    // keep reading until every job has ended
    for (let i = 0; i < 100; i++) {
      const all = (await listJson()).filter((j) => j.id.startsWith('churn'));
      if (all.length === 12 && all.every((j) => j.state === 'finished')) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    done = true;
    await reader;
    const final = (await listJson()).filter((j) => j.id.startsWith('churn'));
    assert.equal(final.length, 12);
    for (const j of final) {
      assertWhole(j, 'final');
      assert.equal(j.state, 'finished');
    }
    assert.ok(seen > 12, `the readers saw the jobs while they changed (${seen} records)`);
    assert.ok(states.has('finished'), [...states].join(','));
  });
});
