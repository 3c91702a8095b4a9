// Incremental uploads through the queue's content store (src/job/store.ts, remote-scripts/lib/store.sh),
// end to end over the sshd lab: a second submit sends only what changed, jobs own copies of their files
// (appending to an input changes nothing else), concurrent submits sharing contents, eviction and
// `tej gc` while jobs run, resubmit after the store was emptied.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ok, tej } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

const FILE_BYTES = 64 * 1024;

describe('the content store over real SSH', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-store-', setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const sh = async (script: string) => {
    const r = await sshHost.lab.execAs('h1', 'alice', script);
    assert.equal(r.code, 0, `${script}\n${r.stderr}`);
    return r.stdout;
  };

  /** A job directory of `count` random files of FILE_BYTES under data/, and a start.sh running SCRIPT. */
  const makeData = (name: string, count: number, script: string) => {
    const dir = join(sshHost.jobs, name);
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(join(dir, 'start.sh'), script);
    for (let i = 0; i < count; i++) writeFileSync(join(dir, 'data', `f${i}`), randomBytes(FILE_BYTES));
    return dir;
  };
  /** sha256 of every file under DIR/data, by name: the local side. */
  const localSums = (dir: string) =>
    Object.fromEntries(readdirSync(join(dir, 'data')).map((f) => [f, createHash('sha256').update(readFileSync(join(dir, 'data', f))).digest('hex')]));
  /** The same for job ID's work directory on h1. */
  const remoteSums = async (id: string) => {
    const out = await sh(`cd ~/.tej/jobs/${id}/work/data && sha256sum *`);
    return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(66), l.slice(0, 64)]));
  };
  const submit = async (dir: string, id: string, extra: string[] = []) => {
    const out = ok(await run(['submit', 'h1', '--id', id, '--store', '--json', ...extra, dir]));
    return JSON.parse(out) as { state: string; uploaded_bytes: number; reused_files: number };
  };
  /** Returns once the store's copies of what the last submit sent are made (a store question waits for them). */
  const settled = async (dir: string) => {
    ok(await run(['submit', 'h1', '--id', 'settled', '--store', '--dry-run', dir]));
  };
  /** Every store object's content hashes to its name. */
  const storeIntact = async () => {
    const out = await sh('cd ~/.tej/store/objects && for f in *; do test -f "$f" || continue; set -- $(sha256sum "$f"); test "$1" = "$f" || echo "BAD $f"; done; echo ok');
    assert.equal(out.trim(), 'ok');
  };

  it('a first submit that uses the store sets up a queue that is not there yet, as every submit does', async () => {
    // The store's question went first, as a call that never sets up: "no tej queue", exit 69; and a
    // dry run with --store said the same.
    const dir = makeData('fresh', 2, 'true\n');
    // a dry run first: everything would travel, and it sets up nothing
    const dry = await run(['submit', 'h1', '--queue', '~/fresh-queue', '--id', 'fr-1', '--store', '--dry-run', '--json', dir]);
    const would = JSON.parse(ok(dry)) as { uploaded_bytes: number; reused_files: number };
    assert.deepEqual([would.uploaded_bytes, would.reused_files], [2 * FILE_BYTES + 5, 0]);
    assert.equal(await sh('test -e ~/fresh-queue || echo none'), 'none\n');
    const r = await run(['submit', 'h1', '--queue', '~/fresh-queue', '--id', 'fr-1', '--store', '--json', dir]);
    const out = JSON.parse(ok(r)) as { uploaded_bytes: number; reused_files: number };
    assert.deepEqual([out.uploaded_bytes, out.reused_files], [2 * FILE_BYTES + 5, 0]);
    assert.equal(await sh('cd ~/fresh-queue/jobs/fr-1/work/data && sha256sum f0 f1 | cut -c1-64 | tr "\\n" " "'), `${Object.values(localSums(dir)).join(' ')} `);
    await sh('rm -rf ~/fresh-queue');
  });

  it('a submit that uses the store puts back modified helpers once, then lands its job', async () => {
    // The store's question and the submit's channel go out together: the question reinstalls, the
    // submit (which never installs beside it) follows it.
    const dir = makeData('modified', 2, 'true\n');
    await sh(`printf '\\n# changed\\n' >> ~/.tej/commands/submit.sh`);
    const r = await run(['submit', 'h1', '--id', 'md-1', '--store', '--json', dir]);
    const out = JSON.parse(ok(r)) as { id: string; uploaded_bytes: number };
    assert.equal(out.id, 'md-1');
    assert.equal(r.stderr.match(/modified after they were installed; reinstalling them/g)?.length, 1, r.stderr);
    assert.equal(await sh('cd ~/.tej && sha256sum -c MANIFEST >/dev/null && grep -c "# changed" commands/submit.sh || true'), '0\n');
    assert.deepEqual(await remoteSums('md-1'), localSums(dir));
  });

  it('a second submit sends only the changed file; the job gets every file whole, with its mode and mtime', async () => {
    const dir = makeData('second', 20, 'true\n');
    chmodSync(join(dir, 'data', 'f3'), 0o755);
    utimesSync(join(dir, 'data', 'f4'), 1_600_000_000, 1_600_000_000);
    const first = await submit(dir, 'st-1');
    assert.equal(first.uploaded_bytes, 20 * FILE_BYTES + 5, 'an empty store: everything travels (start.sh is 5 bytes)');
    assert.equal(first.reused_files, 0);
    writeFileSync(join(dir, 'data', 'f7'), randomBytes(4096));
    const second = await submit(dir, 'st-2');
    assert.equal(second.uploaded_bytes, 4096 + 5, 'only the changed file and the small start.sh');
    assert.equal(second.reused_files, 19);
    assert.deepEqual(await remoteSums('st-2'), localSums(dir));
    assert.deepEqual(await remoteSums('st-1'), { ...localSums(dir), f7: (await remoteSums('st-1')).f7 });
    await storeIntact();
    // --dry-run --store asks the store, claims nothing: only start.sh would travel
    const dry = JSON.parse(ok(await run(['submit', 'h1', '--id', 'st-dry', '--store', '--dry-run', '--json', dir]))) as { uploaded_bytes: number; reused_files: number };
    assert.deepEqual([dry.uploaded_bytes, dry.reused_files], [5, 20]);
    assert.equal((await sh('ls ~/.tej/store/claims | wc -l; test ! -e ~/.tej/jobs/st-dry && echo none')).trim(), '0\nnone');
    // --no-store: the whole directory again
    const full = await submit(dir, 'st-3', ['--no-store']);
    assert.equal(full.uploaded_bytes, 19 * FILE_BYTES + 4096 + 5);
    assert.equal(full.reused_files, 0);
    // the files placed from the store have the modes and times of those sent whole
    const attrs = (id: string) => sh(`cd ~/.tej/jobs/${id}/work/data && stat -c '%n %a %Y' f3 f4`);
    assert.equal(await attrs('st-2'), await attrs('st-3'));
    assert.match(await attrs('st-2'), /^f4 \d+ 1600000000$/m);
    assert.notEqual((await attrs('st-2')).match(/^f3 (\d+)/m)![1], (await sh('stat -c %a ~/.tej/jobs/st-2/work/data/f5')).trim(), 'f3 is executable');
  });

  it('a job that appends to an input changes neither the store nor the next job copy', async () => {
    // the job appends once the store has its copies (made after the job started: store_adopt)
    const dir = makeData('append', 4, 'while ! test -e "$HOME/append.gate"; do sleep 0.1; done; echo more >> data/f0; echo more >> data/f1\n');
    await submit(dir, 'ap-1');
    await settled(dir);
    await sh('touch ~/append.gate');
    ok(await run(['wait', 'h1', '--id', 'ap-1']));
    assert.notEqual((await remoteSums('ap-1')).f0, localSums(dir).f0, 'the job did append');
    const next = await submit(dir, 'ap-2', ['--script', 'true']);
    assert.equal(next.reused_files, 4);
    assert.deepEqual(await remoteSums('ap-2'), localSums(dir));
    await storeIntact();
  });

  it('two concurrent submits sharing new contents both land whole', async () => {
    const dir = makeData('shared', 30, 'true\n');
    const [a, b] = await Promise.all([submit(dir, 'cc-1'), submit(dir, 'cc-2')]);
    assert.ok(a.uploaded_bytes > 0 && b.uploaded_bytes > 0);
    assert.deepEqual(await remoteSums('cc-1'), localSums(dir));
    assert.deepEqual(await remoteSums('cc-2'), localSums(dir));
    await storeIntact();
  });

  it('eviction under the cap and tej gc leave running jobs whole; resubmit works after the store is emptied', async () => {
    const dir = makeData('evict', 8, 'while ! test -e "$HOME/evict.gate"; do sleep 0.1; done; cat data/* | sha256sum > sum.txt\n');
    const expected = createHash('sha256')
      .update(Buffer.concat(Object.keys(localSums(dir)).sort().map((f) => readFileSync(join(dir, 'data', f)))))
      .digest('hex');
    await submit(dir, 'ev-1');
    // a cap below one job's contents: the next submit's new contents push the old ones out
    await sh(`printf 'store_max_bytes=${4 * FILE_BYTES}\\n' >> ~/.tej/config`);
    const other = makeData('evict-other', 6, 'true\n');
    await submit(other, 'ev-2');
    await settled(other); // ev-2's contents are stored, and the store trimmed, after its job started
    const held = Number((await sh('cat ~/.tej/store/objects/* | wc -c')).trim());
    assert.ok(held <= 4 * FILE_BYTES, `the store holds ${held} bytes, over its cap`);
    assert.deepEqual(await remoteSums('ev-1'), localSums(dir), 'the running job keeps its files');
    const gc = JSON.parse(ok(await run(['gc', 'h1', '--max-bytes', '0', '--json']))) as { store_bytes: number; removed_files: number };
    assert.equal(gc.store_bytes, 0);
    assert.equal((await sh('ls ~/.tej/store/objects | wc -l')).trim(), '0');
    // the next submit sends everything again, and lands whole
    const again = await submit(dir, 'ev-3', ['--script', 'true']);
    assert.equal(again.reused_files, 0);
    assert.deepEqual(await remoteSums('ev-3'), localSums(dir));
    await sh('touch ~/evict.gate');
    ok(await run(['wait', 'h1', '--id', 'ev-1']));
    assert.equal((await sh('cat ~/.tej/jobs/ev-1/work/sum.txt')).split(' ')[0], expected);
    // ev-1 was kept for resubmit (under 64 MiB): run again from its kept inputs, the store now empty
    await run(['gc', 'h1', '--max-bytes', '0']);
    ok(await run(['resubmit', 'h1', '--id', 'ev-1', '--new-id', 'ev-4']));
    ok(await run(['wait', 'h1', '--id', 'ev-4']));
    assert.equal((await sh('cat ~/.tej/jobs/ev-4/work/sum.txt')).split(' ')[0], expected);
    await sh('sed -i /^store_max_bytes=/d ~/.tej/config');
  });
});
