// The client's hash cache (src/job/hash-cache.ts): a hash is reused only for the file as it was hashed,
// and a file modified just before it was hashed is never cached (git's "racily clean" entries).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HashCache } from '../../src/job/hash-cache.js';

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
    c.set(f, c.stat(f), H);
    c.save();
    assert.equal(HashCache.load().get(f), H);
    writeFileSync(f, 'two'); // same size
    utimesSync(f, 1_600_000_000, 1_600_000_000); // even with the old mtime back: its ctime moved
    assert.equal(HashCache.load().get(f), undefined);
    // and a file changed just now (ctime) is not cached, whatever its mtime says
    const d = HashCache.load();
    d.set(f, d.stat(f), H);
    d.save();
    assert.equal(HashCache.load().get(f), undefined);
  });

  it('does not cache a file modified within the last seconds (a second write could keep its stat)', () => {
    const f = join(root, 'fresh');
    writeFileSync(f, 'now');
    const c = HashCache.load();
    c.set(f, c.stat(f), H);
    c.save();
    assert.equal(HashCache.load().get(f), undefined);
  });
});
