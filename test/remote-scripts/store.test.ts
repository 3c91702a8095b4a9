// The content store (lib/store.sh, commands/store.sh) under each shell of the matrix and with busybox's
// tools alone: uploads packed by the client's own code (src/job/store.ts), placed whole (long names in
// pax headers, sizes on and off the 512-byte blocks, one content under two names, modes and times);
// a content that does not match its name is refused and never stored, one changed in the store since
// is never placed; gc empties the store.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { packJob, type JobMeta } from '../../src/job/pack.js';
import { planJob, type JobPlan } from '../../src/job/plan.js';
import { hashContents, storeBlobs, storeHeaders, storeUpload, type ContentHashes } from '../../src/job/store.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const LONG = `${'deep/'.repeat(25)}name-longer-than-a-ustar-field.bin`;

function makeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tej-store-job-'));
  const put = (path: string, bytes: number, fill: number) => {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), Buffer.alloc(bytes, fill));
  };
  writeFileSync(join(dir, 'start.sh'), 'true\n');
  put('a.bin', 1024, 1);
  put('b.bin', 1500, 2);
  put('c.bin', 2048, 3);
  put('same.bin', 1500, 2); // b.bin's content
  put(LONG, 3000, 4);
  chmodSync(join(dir, 'c.bin'), 0o755);
  utimesSync(join(dir, 'a.bin'), 1_500_000_000, 1_500_000_000);
  return dir;
}

async function upload(q: HelperQueue, plan: JobPlan, hashes: ContentHashes, nonce: string): Promise<Buffer> {
  const headers = storeHeaders(plan, hashes);
  const distinct = [...new Set(storeBlobs(hashes, headers))];
  const reply = await q.ok(['store', 'lacks', nonce, ...distinct]);
  assert.equal(reply.header.store, 'on');
  const lacking = new Set((reply.header.lacks ?? '').split(',').filter(Boolean).map((n) => distinct[Number(n)]!));
  const store = storeUpload(plan, hashes, headers, { lacking });
  const chunks: Buffer[] = [];
  for await (const c of packJob(plan, { script: 'start.sh' } as JobMeta, nonce, undefined, store)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function sameTree(dir: string, work: string): void {
  for (const rel of readdirSync(dir, { recursive: true }) as string[]) {
    const st = statSync(join(dir, rel));
    if (!st.isFile()) continue;
    assert.deepEqual(readFileSync(join(work, rel)), readFileSync(join(dir, rel)), rel);
    const placed = statSync(join(work, rel));
    assert.equal(placed.mode & 0o100, st.mode & 0o100, `${rel}: its executable bit`);
    assert.equal(Math.floor(placed.mtimeMs / 1000), Math.floor(st.mtimeMs / 1000), `${rel}: its mtime`);
  }
}

describe('the content store', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('store_max_bytes=0 turns the store off: lacks and gc answer store=off', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'config'), `${readFileSync(join(q.root, 'config'), 'utf8')}store_max_bytes=0\n`);
      assert.equal((await q.ok(['store', 'lacks', 'n1', 'a'.repeat(64)])).header.store, 'off');
      assert.equal((await q.ok(['store', 'gc'])).header.store, 'off');
    });

    for (const bare of [false, true]) {
      test(`places files whole, sends each content once, refuses a wrong one${bare ? ' (busybox tools)' : ''}`, async (t) => {
        const q = await HelperQueue.setUp(shell, { bare });
        const dir = makeDir();
        t.after(() => {
          q.cleanUp();
          rmSync(dir, { recursive: true, force: true });
        });
        let plan = await planJob(dir);
        let hashes = await hashContents(plan);
        assert.equal(hashes.size, 5, 'start.sh is under 1 KiB: it travels');
        await q.ok(['submit', 'one', 'n1'], await upload(q, plan, hashes, 'n1'));
        sameTree(dir, join(q.jobDir('one'), 'work'));
        await q.ok(['store', 'lacks', '-', 'a'.repeat(64)]); // waits for the store's copies (store_adopt)
        assert.equal(readdirSync(join(q.root, 'store', 'objects')).length, 4 + 5, 'b.bin and same.bin: one content; a header each');
        assert.deepEqual(readdirSync(join(q.root, 'store', 'claims')), [], 'the claim is dropped');

        writeFileSync(join(dir, 'b.bin'), Buffer.alloc(1500, 9));
        utimesSync(join(dir, 'b.bin'), 1_600_000_000, 1_600_000_000); // a header of its own, surely
        plan = await planJob(dir);
        hashes = await hashContents(plan);
        const tarTwo = await upload(q, plan, hashes, 'n2');
        assert.equal(tarTwo.toString('latin1').match(/store\/new\/[0-9a-f]{64}/g)?.length, 2, "only b.bin's new content and header travel");
        await q.ok(['submit', 'two', 'n2'], tarTwo);
        sameTree(dir, join(q.jobDir('two'), 'work'));
        assert.deepEqual(readFileSync(join(q.jobDir('one'), 'work', 'b.bin')), Buffer.alloc(1500, 2), 'the first job keeps its own');

        // a content changed after it was hashed (same size): the job gets it as it was sent (as without
        // the store); the store's copy does not match the name the client gave it, and is not kept
        writeFileSync(join(dir, 'c.bin'), Buffer.alloc(2048, 7));
        plan = await planJob(dir);
        hashes = await hashContents(plan);
        writeFileSync(join(dir, 'c.bin'), Buffer.alloc(2048, 8));
        await q.ok(['submit', 'three', 'n3'], await upload(q, plan, hashes, 'n3'));
        assert.deepEqual(readFileSync(join(q.jobDir('three'), 'work', 'c.bin')), Buffer.alloc(2048, 8));
        await q.ok(['store', 'lacks', '-', hashes.get('c.bin')!]); // waits for the adoption to end
        assert.ok(!readdirSync(join(q.root, 'store', 'objects')).includes(hashes.get('c.bin')!), 'the wrong content is not stored');
        assert.deepEqual(readdirSync(join(q.root, 'store', 'adopting')), [], 'the adoption is over');

        // a content of the store rewritten since (a job runs as the queue's user and can): never placed;
        // removed, the submit refused, and the next submit sends it again
        const aBin = createHash('sha256').update(Buffer.alloc(1024, 1)).digest('hex');
        const stored = join(q.root, 'store', 'objects', aBin);
        chmodSync(stored, 0o600);
        writeFileSync(stored, Buffer.alloc(1024, 6));
        plan = await planJob(dir);
        hashes = await hashContents(plan);
        const poisoned = await q.run(['submit', 'four', 'n4'], { input: await upload(q, plan, hashes, 'n4') });
        assert.equal(poisoned.code, 65, poisoned.stderr);
        assert.match(poisoned.stderr, /1 contents of the store .* were changed or removed since they were stored/);
        assert.ok(!readdirSync(join(q.root, 'store', 'objects')).includes(aBin), 'the changed content is removed');
        assert.deepEqual(readdirSync(join(q.root, 'jobs')).sort(), ['one', 'three', 'two']);
        await q.ok(['submit', 'five', 'n5'], await upload(q, plan, hashes, 'n5'));
        assert.deepEqual(readFileSync(join(q.jobDir('five'), 'work', 'a.bin')), Buffer.alloc(1024, 1), "the job gets the client's content");
        await q.ok(['store', 'lacks', '-', 'a'.repeat(64)]); // five sent a.bin again: its copy is stored now
        // the same with --keep-input (the placed tar is written to a file first, while the check runs)
        chmodSync(stored, 0o600);
        writeFileSync(stored, Buffer.alloc(1024, 6));
        const kept = await q.run(['submit', 'six', 'n6', '--keep-input'], { input: await upload(q, plan, hashes, 'n6') });
        assert.equal(kept.code, 65, kept.stderr);
        assert.match(kept.stderr, /1 contents of the store .* were changed or removed since they were stored/);
        assert.ok(!readdirSync(join(q.root, 'store', 'objects')).includes(aBin), 'the changed content is removed');
        assert.deepEqual(readdirSync(join(q.root, 'jobs')).sort(), ['five', 'one', 'three', 'two']);
        assert.deepEqual(readdirSync(join(q.root, 'staging')), [], 'nothing of the refused submit is left');

        const gc = await q.ok(['store', 'gc', '0']);
        assert.equal(gc.header.store_bytes, '0');
        assert.deepEqual(readdirSync(join(q.root, 'store', 'objects')), []);
        assert.deepEqual(readFileSync(join(q.jobDir('two'), 'work', 'b.bin')), Buffer.alloc(1500, 9), 'gc leaves the jobs alone');
      });
    }
  });
});
