// Pure logic of job dependencies (--after: parsing, meta/after, the dependency reason) and of the shared
// wait loop (Queue.wait, tej wait), the latter against a scripted poll: no host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterFile, checkAfter, parseAfter } from '../../src/job/after.js';
import { jobOutput } from '../../src/job/output.js';
import { describeStatus, statusExit, toJobStatus, type JobStatus } from '../../src/job/status.js';
import { specResources, validateSpec } from '../../src/job/spec.js';
import { waitForJobs, type WaitUpdate } from '../../src/job/wait.js';

describe('--after', () => {
  it('parses ID, ID:ok and ID:any, and refuses a bad mode or id with 65', () => {
    assert.deepEqual(parseAfter('a.1'), { id: 'a.1', mode: 'ok' });
    assert.deepEqual(parseAfter('a:ok'), { id: 'a', mode: 'ok' });
    assert.deepEqual(parseAfter('a:any'), { id: 'a', mode: 'any' });
    assert.throws(() => parseAfter('a:maybe'), (e: Error & { exitCode?: number }) => e.exitCode === 65 && /ok or any/.test(e.message));
    assert.throws(() => parseAfter('../x'), (e: Error & { exitCode?: number }) => e.exitCode === 65);
  });

  it('writes meta/after as ID MODE lines, one per job, the strictest mode kept', () => {
    const deps = checkAfter([{ id: 'a', mode: 'any' }, { id: 'b', mode: 'ok' }, { id: 'a', mode: 'ok' }]);
    assert.equal(afterFile(deps), 'a ok\nb ok\n');
    assert.deepEqual(specResources({ after: ['x', 'y:any'] }).after, [{ id: 'x', mode: 'ok' }, { id: 'y', mode: 'any' }]);
  });

  it('is in the tej.json schema', async () => {
    await validateSpec({ after: ['prep', 'train:any'] }, 'tej.json');
    await assert.rejects(validateSpec({ after: ['prep:never'] }, 'tej.json'), /after\/0/);
  });

  it('a job ended unrun by its dependency says so in status and --json, and counts as failed', () => {
    const s = toJobStatus({ id: 'b', state: 'finished', exit_code: '125', end: '100', dependency: 'a killed' }, 100)!;
    assert.deepEqual(s.dependency, { id: 'a', state: 'killed' });
    assert.equal(describeStatus(s), 'finished (exit 125, not run: dependency a killed)');
    assert.equal(statusExit(s), 4);
    const o = jobOutput('b', s);
    assert.equal(o.reason, 'dependency');
    assert.equal(o.dependency, 'a');
    assert.equal(jobOutput('c', undefined).reason, null);
  });
});

describe('waitForJobs (Queue.wait)', () => {
  const st = (id: string, state: JobStatus['state'], exitCode?: number): JobStatus => ({ id, state, ...(exitCode !== undefined ? { exitCode } : {}) });

  it('polls only the pending jobs, tells each state change once, and ends when all have ended', async () => {
    const rounds: Record<string, JobStatus | undefined>[] = [
      { a: st('a', 'queued'), b: st('b', 'running') },
      { a: st('a', 'running'), b: st('b', 'finished', 0) },
      { a: st('a', 'running') },
      { a: st('a', 'killed') },
    ];
    const asked: string[][] = [];
    const updates: string[] = [];
    const r = await waitForJobs(
      async (ids) => {
        asked.push(ids);
        const round = rounds.shift()!;
        return new Map(ids.map((id) => [id, round[id]]));
      },
      ['a', 'b', 'a'],
      { onUpdate: (u: WaitUpdate) => void updates.push(`${u.id}:${u.status?.state}:${u.ended}`) },
    );
    assert.deepEqual(asked, [['a', 'b'], ['a', 'b'], ['a'], ['a']]);
    assert.deepEqual(updates, ['a:queued:false', 'b:running:false', 'a:running:false', 'b:finished:true', 'a:killed:true']);
    assert.deepEqual(r.timedOut, []);
    assert.equal(r.statuses.get('a')?.state, 'killed');
  });

  it('gives up at the timeout with the pending jobs, and takes the first poll from the caller', async () => {
    let polls = 0;
    const r = await waitForJobs(
      async () => {
        polls++;
        return new Map();
      },
      ['a', 'gone'],
      { timeout: 0, initial: new Map<string, JobStatus | undefined>([['a', st('a', 'running')], ['gone', undefined]]) },
    );
    assert.equal(polls, 0);
    assert.deepEqual(r.timedOut, ['a']);
    assert.equal(r.statuses.has('gone'), true);
  });
});
