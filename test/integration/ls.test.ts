// tej ls against a real sshd (issue 15): a job's files over SFTP, name, type, size, mtime, --json;
// confined to the job's directory, judged by what a path resolves to on the host; tasks of arrays.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

interface Listing {
  id: string;
  path: string;
  entries: { name: string; type: string; size: number; mtime: number }[];
}

describe('tej ls', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const json = async (args: string[]) => JSON.parse(ok(await run([...args, '--json']))) as Listing;

  before(async () => {
    const dir = await makeJob(join(sshHost.jobs, 'files'), {
      'start.sh': [
        'printf 12345 > five.txt && mkdir -p res/deep && printf abc > res/deep/c.txt && touch -d @1700000000 five.txt',
        // inside: a link to a file of the job, and one up to the job's own directory; outside: /etc and the home
        'ln -s five.txt in-link && ln -s .. up && ln -s /etc out-abs && ln -s ../../../.. out-rel',
      ].join('\n') + '\n',
    });
    ok(await run(['submit', 'h1', '--id', 'files', dir]));
    await waitFor('files', () => run(['status', 'h1', '--id', 'files']), (s) => s.code === 0, 60_000);
    const arr = await makeJob(join(sshHost.jobs, 'arr'), { 'start.sh': 'echo "task $TEJ_TASK_INDEX" > out-$TEJ_TASK_INDEX.txt\n' });
    ok(await run(['submit', 'h1', '--id', 'arr', '--array', '0-1', arr]));
    await waitFor('arr', () => run(['status', 'h1', '--id', 'arr']), (s) => s.code === 0, 60_000);
  });

  it("lists the job's work/ with type, size and mtime; links are shown as links, not followed", async () => {
    const l = await json(['ls', 'h1', '--id', 'files']);
    const byName = new Map(l.entries.map((e) => [e.name, e]));
    assert.deepEqual(byName.get('five.txt'), { name: 'five.txt', type: 'file', size: 5, mtime: 1700000000 });
    assert.equal(byName.get('res')?.type, 'dir');
    for (const link of ['in-link', 'up', 'out-abs', 'out-rel']) assert.equal(byName.get(link)?.type, 'symlink', link);
    assert.ok(byName.has('start.sh') && byName.has('tej.stdout'));
    // a subdirectory, a file, and the text form
    assert.deepEqual((await json(['ls', 'h1', '--id', 'files', 'res/deep'])).entries.map((e) => [e.name, e.size]), [['c.txt', 3]]);
    assert.deepEqual((await json(['ls', 'h1', '--id', 'files', 'in-link'])).entries.map((e) => [e.name, e.type, e.size]), [['in-link', 'file', 5]]);
    assert.match(ok(await run(['ls', 'h1', '--id', 'files', 'res'])), /^d +\d+ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d deep\/$/m);
    // `up` leads to the job's own directory: inside it, as download allows
    assert.ok((await json(['ls', 'h1', '--id', 'files', 'up'])).entries.some((e) => e.name === 'work'));
  });

  it('refuses a path that leaves the job: .., an absolute path, a link that resolves outside', async () => {
    for (const path of ['..', 'res/../..', '/etc', 'out-abs', 'out-rel', 'out-rel/etc']) {
      const r = await run(['ls', 'h1', '--id', 'files', path]);
      assert.equal(r.code, 65, `${path}: ${r.stderr}`);
      assert.match(r.stderr, /outside the job|leaves the job/, path);
      assert.doesNotMatch(r.stdout, /passwd|alice/, path);
    }
    const missing = await run(['ls', 'h1', '--id', 'files', 'nope']);
    assert.equal(missing.code, 66, missing.stderr);
    assert.match(missing.stderr, /no such file in job files: nope/);
    const noJob = await run(['ls', 'h1', '--id', 'nojob']);
    assert.equal(noJob.code, 66, noJob.stderr);
    assert.match(noJob.stderr, /no such job: nojob/);
  });

  it('lists a task of an array (ID/N); the array itself asks for a task', async () => {
    const task = await json(['ls', 'h1', '--id', 'arr/1']);
    assert.equal(task.entries.find((e) => e.name === 'out-1.txt')?.size, 'task 1\n'.length);
    const whole = await run(['ls', 'h1', '--id', 'arr']);
    assert.equal(whole.code, 65, whole.stderr);
    assert.match(whole.stderr, /arr is an array: name a task/);
  });
});
