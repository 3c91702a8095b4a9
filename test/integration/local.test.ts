// The embedded default: no host, a queue on this machine, the same helpers.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, InvalidInputError, prepareSubmission } from '../../src/index.js';
import { makeJob, tej, waitFor } from '../helpers/cli.js';

describe('the local queue', () => {
  let home: string;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tej-local-'));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it('runs a job with no host given, from submit to download', async () => {
    const dir = await makeJob(join(home, 'hello'), { 'start.sh': 'echo "hello from $TEJ_JOB_ID" > greeting.txt\n' });
    const sub = await tej(['submit', dir], { home });
    assert.equal(sub.code, 0, sub.stderr);
    const id = sub.stdout.trim();
    const done = await waitFor('the local job', () => tej(['status', '--id', id], { home }), (r) => r.code !== 2 && r.code !== 3);
    assert.equal(done.code, 0, done.stdout + done.stderr);
    const dl = await tej(['download', '--id', id, 'greeting.txt'], { home, cwd: home });
    assert.equal(dl.code, 0, dl.stderr);
    assert.equal(await readFile(join(home, 'greeting.txt'), 'utf8'), `hello from ${id}\n`);
    assert.equal(((await stat(join(home, '.tej'))).mode & 0o777).toString(8), '700');
    const list = await tej(['list'], { home });
    assert.match(list.stdout, new RegExp(`^${id}\\tfinished\\(0\\)\\t`, 'm'));
  });

  it('serves the typed library API', async () => {
    const q = await connect(undefined, { queue: join(home, 'libq') });
    try {
      const dir = await makeJob(join(home, 'lib'), { 'start.sh': 'exit 7\n' });
      const sub = await q.submit(dir, { id: 'lib1' });
      assert.equal(sub.id, 'lib1');
      assert.equal(sub.plugin, 'direct');
      const s = await waitFor('lib1', () => q.status('lib1'), (x) => x?.state === 'finished');
      assert.equal(s?.exitCode, 7);
      assert.equal(await q.status('nope'), undefined);
      assert.deepEqual((await q.list()).map((j) => j.id), ['lib1']);
      await q.delete('lib1');
      assert.deepEqual(await q.list(), []);
    } finally {
      await q.close();
    }
  });

  it('prepares a submit while the queue opens, and refuses bad input before any connection', async () => {
    const dir = await makeJob(join(home, 'prep'), { 'start.sh': 'echo prepared > out.txt\n' });
    await assert.rejects(prepareSubmission(join(home, 'no-such-dir'), { id: 'prep0' }), (e: unknown) => e instanceof InvalidInputError || (e as { exitCode?: number }).exitCode === 66);
    await assert.rejects(prepareSubmission(dir, { id: 'bad id' }), /invalid job id/);
    const [prepared, q] = await Promise.all([prepareSubmission(dir, { id: 'prep1', labels: { k: 'v' } }), connect(undefined, { queue: join(home, 'prepq') })]);
    try {
      const sub = await q.submitPrepared(prepared);
      assert.equal(sub.id, 'prep1');
      await waitFor('prep1', () => q.status('prep1'), (x) => x?.state === 'finished');
      const rec = (await q.show(['prep1'])).get('prep1');
      assert.equal(rec?.labels?.k, 'v');
      assert.equal(rec?.submission?.dir, dir);
    } finally {
      await q.close();
    }
  });

  it("sets a queue up beside another client's install in progress, and still refuses a foreign directory", async () => {
    // What a second client sees while a first one installs the helpers: its .install.PID directory and
    // the first helpers moved into place, no tej-remote and no VERSION yet. That is not "not a tej queue".
    const racing = join(home, 'racing');
    await mkdir(join(racing, '.install.4242', 'lib'), { recursive: true });
    await mkdir(join(racing, 'lib'), { recursive: true });
    await writeFile(join(racing, 'lib', 'common.sh'), '# half an install\n');
    const dir = await makeJob(join(home, 'race'), { 'start.sh': 'true\n' });
    const sub = await tej(['submit', '--queue', racing, '--id', 'race1', dir], { home });
    assert.equal(sub.code, 0, sub.stderr);
    assert.equal(sub.stdout.trim(), 'race1');
    // A directory of someone else's files stays refused.
    const foreign = join(home, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.txt'), 'mine\n');
    const refused = await tej(['submit', '--queue', foreign, '--id', 'race2', dir], { home });
    assert.equal(refused.code, 69, refused.stderr);
    assert.match(refused.stderr, /exists and is not a tej queue/);
    assert.deepEqual(await readdir(foreign), ['notes.txt']);
  });
});
