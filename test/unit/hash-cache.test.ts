// The client's hash cache (src/job/hash-cache.ts): a hash is reused only for the file as it was hashed,
// and a file modified just before it was hashed is never cached (git's "racily clean" entries).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HashCache } from '../../src/job/hash-cache.js';
import { planJob } from '../../src/job/plan.js';
import { hashContents } from '../../src/job/store.js';

const root = mkdtempSync(join(tmpdir(), 'tej-hash-cache-'));
process.env.XDG_CACHE_HOME = join(root, 'cache');
after(() => rmSync(root, { recursive: true, force: true }));
const H = 'a'.repeat(64);

describe('HashCache', () => {
  it('reuses a hash across loads while the file is unchanged, and forgets it once the file changes', () => {
    const f = join(root, 'old');
    writeFileSync(f, 'one');
    utimesSync(f, 1_600_000_000, 1_600_000_000);
    const c = HashCache.load(Date.now() + 10_000); // as if hashed 10 s after the last change
    c.set(f, c.lookup(f).stat, H);
    c.save();
    assert.equal(HashCache.load().lookup(f).hash, H);
    writeFileSync(f, 'two'); // same size
    utimesSync(f, 1_600_000_000, 1_600_000_000); // even with the old mtime back: its ctime moved
    assert.equal(HashCache.load().lookup(f).hash, undefined);
    // and a file changed just now (ctime) is not cached, whatever its mtime says
    const d = HashCache.load();
    d.set(f, d.lookup(f).stat, H);
    d.save();
    assert.equal(HashCache.load().lookup(f).hash, undefined);
  });

  it('does not cache a file modified within the last seconds (a second write could keep its stat)', () => {
    const f = join(root, 'fresh');
    writeFileSync(f, 'now');
    const c = HashCache.load();
    c.set(f, c.lookup(f).stat, H);
    c.save();
    assert.equal(HashCache.load().lookup(f).hash, undefined);
  });
});

describe('hashContents', () => {
  it('hashes every file the store may hold, big ones across reads, and skips the small ones', async () => {
    const dir = join(root, 'job');
    mkdirSync(dir);
    writeFileSync(join(dir, 'start.sh'), 'exit 0\n');
    const files = { a: randomBytes(4096), b: randomBytes((3 << 20) + 17), c: Buffer.alloc(0) };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    const hashes = await hashContents(await planJob(dir));
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.deepEqual(Object.fromEntries(hashes), { a: sha(files.a), b: sha(files.b) });
  });

  it('refuses a file that became a FIFO after the scan, at once (opening one waits for a writer)', async () => {
    const dir = join(root, 'fifo-job');
    mkdirSync(dir);
    writeFileSync(join(dir, 'start.sh'), 'exit 0\n');
    writeFileSync(join(dir, 'data'), randomBytes(4096));
    const plan = await planJob(dir);
    rmSync(join(dir, 'data'));
    execFileSync('mkfifo', [join(dir, 'data')]);
    await assert.rejects(hashContents(plan), /data' is no longer a regular file/);
  });
});
