import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuthenticationError, ConnectionError, JobNotFoundError, JobRunningError, ProtocolError, UsageError } from '../../src/errors.js';
import { gitInfo } from '../../src/job/git.js';
import { JOB_OUTPUT_SCHEMA, jobOutput } from '../../src/job/output.js';
import { globToRegExp, isFailed, matches, parseLabelSelector, parseSince, resolveSelection } from '../../src/job/select.js';
import type { JobStatus } from '../../src/job/status.js';
import { toJobStatus } from '../../src/job/status.js';
import { plainLine, table } from '../../src/cli/commands/list.js';
import { rerunId } from '../../src/cli/commands/resubmit.js';
import { hasEnded, nextDelay } from '../../src/cli/commands/wait.js';
import { forEachId } from '../../src/cli/select.js';

const at = (s: string) => new Date(s);
const JOBS: JobStatus[] = [
  { id: 'train_1', state: 'finished', exitCode: 0, submitted: at('2026-11-20T10:00:00Z'), labels: { exp: 'lr', seed: '1' } },
  { id: 'train_2', state: 'finished', exitCode: 3, submitted: at('2026-11-22T10:00:00Z'), labels: { exp: 'lr', seed: '2' } },
  { id: 'train_10', state: 'running', submitted: at('2026-11-23T10:00:00Z'), labels: { exp: 'wd' } },
  { id: 'eval.a', state: 'timeout', submitted: at('2026-11-23T11:00:00Z') },
  { id: 'eval-b', state: 'killed' },
];
const ids = (sel: Parameters<typeof matches>[1]) => JOBS.filter((j) => matches(j, sel)).map((j) => j.id);

describe('job selectors', () => {
  it('matches ids and glob patterns', () => {
    assert.deepEqual(ids({ ids: ['train_*'] }), ['train_1', 'train_2', 'train_10']);
    assert.deepEqual(ids({ ids: ['train_?'] }), ['train_1', 'train_2']);
    assert.deepEqual(ids({ ids: ['train_[!1]*'] }), ['train_2']);
    assert.deepEqual(ids({ ids: ['eval.?'] }), ['eval.a'], '. is literal');
    assert.deepEqual(ids({ ids: ['eval-b', 'train_1'] }), ['train_1', 'eval-b']);
    assert.ok(globToRegExp('a*').test('abc'));
    assert.throws(() => globToRegExp('a;b'), UsageError);
    assert.throws(() => globToRegExp('a[b'), UsageError);
  });

  it('takes an array\'s id for its tasks, and nothing else that starts alike', () => {
    const tasks = [{ id: 'sw/0', state: 'finished' }, { id: 'sw/1', state: 'running' }, { id: 'swim', state: 'finished' }, { id: 'sw', state: 'finished' }] as JobStatus[];
    assert.deepEqual(tasks.filter((t) => matches(t, { ids: ['sw'] })).map((t) => t.id), ['sw/0', 'sw/1', 'sw']);
    assert.deepEqual(tasks.filter((t) => matches(t, { ids: ['sw/1'] })).map((t) => t.id), ['sw/1']);
  });

  it('matches labels (all of them), states, failed, and a start time', () => {
    assert.deepEqual(ids({ labels: ['exp=lr'] }), ['train_1', 'train_2']);
    assert.deepEqual(ids({ labels: ['exp=lr', 'seed=2'] }), ['train_2']);
    assert.deepEqual(ids({ labels: ['exp'] }), ['train_1', 'train_2', 'train_10']);
    assert.deepEqual(ids({ states: ['running', 'killed'] }), ['train_10', 'eval-b']);
    assert.deepEqual(ids({ states: ['failed'] }), ['train_2', 'eval.a']);
    assert.deepEqual(ids({ since: at('2026-11-22T00:00:00Z') }), ['train_2', 'train_10', 'eval.a']);
    assert.deepEqual(ids({ ids: ['train_*'], labels: ['exp=lr'], states: ['finished'], since: at('2026-11-21T00:00:00Z') }), ['train_2']);
    assert.equal(isFailed(JOBS[0]!), false);
    assert.deepEqual(parseLabelSelector('a=b=c'), { key: 'a', value: 'b=c' });
    assert.throws(() => parseLabelSelector('=x'), UsageError);
  });

  it('parses --since as a duration back from now or a date', () => {
    const now = at('2026-11-23T12:00:00Z');
    assert.equal(parseSince('2h', now).toISOString(), '2026-11-23T10:00:00.000Z');
    assert.equal(parseSince('1d', now).toISOString(), '2026-11-22T12:00:00.000Z');
    assert.equal(parseSince('1h30m', now).toISOString(), '2026-11-23T10:30:00.000Z');
    assert.equal(parseSince('2026-11-20', now).toISOString(), '2026-11-20T00:00:00.000Z');
    assert.equal(parseSince('2026-11-20T08:30:00Z', now).toISOString(), '2026-11-20T08:30:00.000Z');
    for (const bad of ['yesterday', '', '2h bad', '2026-13-45']) assert.throws(() => parseSince(bad, now), UsageError, bad);
  });

  it('resolves plain ids without a list request, globs and labels from one', async () => {
    let lists = 0;
    const list = async () => {
      lists++;
      return JOBS;
    };
    assert.deepEqual(await resolveSelection({ ids: ['a', 'b', 'a'] }, list, 'h'), ['a', 'b']);
    assert.equal(lists, 0);
    assert.deepEqual(await resolveSelection({ ids: ['train_*', 'eval-b'], labels: [] }, list, 'h'), ['train_1', 'train_2', 'train_10', 'eval-b']);
    assert.equal(lists, 1);
    await assert.rejects(resolveSelection({ ids: ['nope_*'] }, list, 'h'), (e: Error) => e instanceof JobNotFoundError && /no job matches --id 'nope_\*'/.test(e.message));
    await assert.rejects(resolveSelection({ labels: ['exp=none'] }, list, 'h'), (e: Error) => e instanceof JobNotFoundError && /--label exp=none/.test(e.message));
    await assert.rejects(resolveSelection({}, list, 'h'), UsageError);
    await assert.rejects(resolveSelection({ ids: ['bad id'] }, list, 'h'), /invalid job id/);
  });
});

describe('JSON output', () => {
  it('every job object matches schema/job-output.schema.json, absent jobs too', async () => {
    const { default: Ajv } = await import('ajv');
    const ajv = new (Ajv as unknown as typeof import('ajv').default)({ strict: false, allErrors: true });
    const validate = ajv.compile(JOB_OUTPUT_SCHEMA);
    const full = toJobStatus({ id: 'x', state: 'finished', plugin: 'direct', native_id: '12', submitted: '100', start: '101', end: '161', exit_code: '0', labels: '{"a":"b"}' }, 200)!;
    const objs = [jobOutput('x', full), jobOutput('gone', undefined), jobOutput('x', full, { previous_state: 'running' }), ...JOBS.map((j) => jobOutput(j.id, j))];
    for (const o of objs) assert.ok(validate(o), `${JSON.stringify(o)}: ${ajv.errorsText(validate.errors)}`);
    assert.deepEqual(jobOutput('x', full), {
      id: 'x', state: 'finished', exit_code: 0, submitted: '1970-01-01T00:01:40.000Z', started: '1970-01-01T00:01:41.000Z',
      ended: '1970-01-01T00:02:41.000Z', duration_s: 60, plugin: 'direct', native_id: '12', native_state: null, reason: null, labels: { a: 'b' },
    });
    assert.equal(validate({ ...jobOutput('x', full), state: 'bogus' }), false, 'the schema can fail');
  });

  it('unreadable labels in a record count as none', () => {
    assert.equal(toJobStatus({ id: 'x', state: 'running', labels: '{bad' }, 0)!.labels, undefined);
    assert.equal(toJobStatus({ id: 'x', state: 'running', labels: '{"a":1}' }, 0)!.labels, undefined);
  });
});

describe('list, wait and resubmit helpers', () => {
  it('list: the plain line for scripts and an aligned table for terminals', () => {
    assert.equal(plainLine({ id: 'a', state: 'finished', exitCode: 2, start: at('2026-11-23T10:00:00Z'), elapsed: 65 }), 'a\tfinished(2)\t2026-11-23 10:00:00\t1:05');
    const t = table([JOBS[0]!, { ...JOBS[2]!, id: 'a-much-longer-id', start: at('2026-11-23T10:00:00Z'), elapsed: 3 }]).split('\n');
    assert.match(t[0]!, /^ID {16}STATE {5}EXIT {2}STARTED \(UTC\) {8}DURATION {2}LABELS$/);
    assert.equal(t[1]!.indexOf('finished'), t[0]!.indexOf('STATE'));
    assert.equal(t[2]!.indexOf('running'), t[0]!.indexOf('STATE'));
    assert.equal(t[2]!.indexOf('0:03'), t[0]!.indexOf('DURATION'));
    assert.match(t[1]!, /exp=lr,seed=1$/);
  });

  it('wait: backoff from 0.5 s doubling to 10 s; ended means not submitting, queued or running', () => {
    const delays: number[] = [];
    let d: number | undefined;
    for (let i = 0; i < 8; i++) delays.push((d = nextDelay(d)));
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000]);
    assert.equal(hasEnded(undefined), true);
    assert.equal(hasEnded({ id: 'a', state: 'queued' }), false);
    assert.equal(hasEnded({ id: 'a', state: 'lost' }), true);
  });

  it('resubmit: new ids are valid and replace an earlier rerun suffix', () => {
    const a = rerunId('train_1');
    assert.match(a, /^train_1\.r[A-Za-z0-9]{6}$/);
    assert.match(rerunId(a), /^train_1\.r[A-Za-z0-9]{6}$/);
    assert.ok(rerunId('x'.repeat(128)).length <= 128);
  });
});

describe('git provenance', () => {
  it('records commit, branch, dirty flag, path and a capped diff; nothing outside a work tree', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tej-git-'));
    try {
      assert.equal(await gitInfo(dir), undefined);
      const g = (...a: string[]) => execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@e', ...a], { encoding: 'utf8' });
      g('init', '-q', '-b', 'main');
      execFileSync('mkdir', [join(dir, 'job')]);
      await writeFile(join(dir, 'job', 'a.txt'), 'one\n');
      const empty = await gitInfo(join(dir, 'job'));
      assert.deepEqual({ ...empty, diff: undefined }, { commit: null, branch: 'main', dirty: true, path: 'job', diff: undefined, diff_truncated: false });
      g('add', '.');
      g('commit', '-q', '-m', 'x');
      const clean = (await gitInfo(join(dir, 'job')))!;
      assert.equal(clean.commit, g('rev-parse', 'HEAD').trim());
      assert.equal(clean.dirty, false);
      assert.equal(clean.diff, '');
      await writeFile(join(dir, 'job', 'a.txt'), 'two\n'.repeat(100));
      const dirty = (await gitInfo(join(dir, 'job')))!;
      assert.equal(dirty.dirty, true);
      assert.match(dirty.diff, /^\+two$/m);
      const capped = (await gitInfo(join(dir, 'job'), 100))!;
      assert.equal(capped.diff_truncated, true);
      assert.ok(capped.diff.length <= 100);
      g('checkout', '-q', '--detach');
      assert.equal((await gitInfo(dir))!.branch, null);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('forEachId: kill and delete over several jobs', () => {
  /** Runs forEachId over IDS with EACH, capturing stderr and the exit code it sets. */
  async function over(ids: string[], each: (id: string) => Promise<void>): Promise<{ done: string[]; stderr: string; exitCode: number | undefined; thrown?: unknown }> {
    const done: string[] = [];
    let stderr = '';
    const write = process.stderr.write.bind(process.stderr);
    const saved = process.exitCode;
    process.exitCode = undefined;
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
    let thrown: unknown;
    try {
      await forEachId(ids, false, async (id) => {
        await each(id);
        done.push(id);
      });
    } catch (err) {
      thrown = err;
    } finally {
      process.stderr.write = write;
    }
    const exitCode = process.exitCode as number | undefined;
    process.exitCode = saved;
    return { done, stderr, exitCode, thrown };
  }

  it("goes on past a job's refusal, prints it, and exits with the first refusal's code", async () => {
    const r = await over(['a', 'b', 'c', 'd'], async (id) => {
      if (id === 'b') throw new JobRunningError('the scheduler did not answer: job b was not killed; try again (on h1)');
      if (id === 'c') throw new JobNotFoundError('no such job: c (on h1)');
    });
    assert.deepEqual(r.done, ['a', 'd']);
    assert.equal(r.thrown, undefined);
    assert.equal(r.exitCode, 75);
    assert.match(r.stderr, /tej: the scheduler did not answer: job b was not killed; try again \(on h1\)/);
    assert.match(r.stderr, /tej: no such job: c \(on h1\)/);
  });

  it('stops at a lost connection, a failed login or a protocol mismatch, and at a bug', async () => {
    for (const err of [new ConnectionError('connection lost'), new AuthenticationError('host key changed'), new ProtocolError('protocol mismatch'), new TypeError('bug')]) {
      const r = await over(['a', 'b', 'c'], async (id) => {
        if (id === 'b') throw err;
      });
      assert.deepEqual(r.done, ['a'], String(err));
      assert.equal(r.thrown, err);
      assert.equal(r.stderr, '');
    }
  });

  it('one id: its error as it is, printed by the command line as any error', async () => {
    const err = new JobRunningError('job x is running');
    const r = await over(['x'], async () => {
      throw err;
    });
    assert.equal(r.thrown, err);
    assert.equal(r.stderr, '');
    assert.equal(r.exitCode, undefined);
  });
});
