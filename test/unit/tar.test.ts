// src/tar.ts writes archives with its own ustar blocks for common entries and tar-stream's encoder for
// the rest: both must give exactly the bytes tar-stream's pack gives, and GNU tar must read them back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { specialTarHeader, tar, tarArchive, tarHeader, writeUstarHeader, type TarEntry } from '../../src/tar.js';

/** What tar-stream's own pack writes for these entries. */
async function packedByTarStream(entries: [TarEntry, Buffer?][]): Promise<Buffer> {
  const pack = tar().pack();
  for (const [entry, content] of entries) {
    const header = { name: entry.name, type: entry.type, mode: entry.mode, mtime: entry.mtime, size: entry.size, ...(entry.linkname ? { linkname: entry.linkname } : {}) };
    if (content) pack.entry(header, content);
    else pack.entry(header);
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of pack as AsyncIterable<Buffer>) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

/** tar-stream's header encoder, as src/tar.ts reaches it. */
function encoder(): { encode(h: object): Buffer | null } {
  const require = createRequire(import.meta.url);
  return require(join(dirname(require.resolve('tar-stream')), 'headers.js'));
}

/** A small deterministic generator: the same cases on every run. */
function* cases(): Generator<TarEntry> {
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const segment = () => 'abcdefghij_.-0123456789'.slice(rand(10), 10 + rand(13)) || 'x';
  for (let i = 0; i < 400; i++) {
    const depth = 1 + rand(i % 50 === 0 ? 40 : 6);
    const name = Array.from({ length: depth }, segment).join('/');
    const mtime = new Date([0, 1_700_000_000_123, 2 ** 31 * 1000 - 1, 86_400_000 * rand(30_000) + rand(1000)][i % 4]!);
    // (never 0: tar-stream's pack writes 0 as its default mode, 644)
    const mode = [0o644, 0o755, 0o600, 0o4755, 0o777, 1 + rand(0o7777)][i % 6]!;
    const kind = i % 5;
    if (kind === 0) yield { name: `${name}/`, type: 'directory', mode, mtime };
    else if (kind === 1) yield { name, type: 'symlink', mode: 0o777, mtime, linkname: `../${segment()}/${'t'.repeat(rand(i % 7 === 0 ? 140 : 60))}` };
    else yield { name, type: 'file', mode, mtime, size: [0, 1, 511, 512, 4096, 8 ** 11 - 1, 8 ** 11, 10_000_000_000][rand(8)]! };
  }
  // names that do not fit a plain block: 100 bytes exactly, over 100 (a ustar prefix), over 255 (pax),
  // not ASCII (pax), and times that tar-stream alone encodes
  const now = new Date(1_700_000_000_000);
  yield { name: 'n'.repeat(100), type: 'file', mode: 0o644, mtime: now, size: 5 };
  yield { name: `${'d'.repeat(60)}/${'f'.repeat(60)}`, type: 'file', mode: 0o644, mtime: now, size: 5 };
  yield { name: `${'d'.repeat(200)}/${'f'.repeat(90)}`, type: 'file', mode: 0o644, mtime: now, size: 5 };
  yield { name: 'caf\u00e9/r\u00e9sum\u00e9.txt', type: 'file', mode: 0o644, mtime: now, size: 5 };
  yield { name: 'link', type: 'symlink', mode: 0o777, mtime: now, linkname: '\u00e9t\u00e9' };
  yield { name: 'old', type: 'file', mode: 0o644, mtime: new Date(-86_400_000), size: 1 };
  yield { name: 'late', type: 'file', mode: 0o644, mtime: new Date(2 ** 31 * 1000 + 5000), size: 1 };
}

describe('tar headers', () => {
  it("are byte for byte tar-stream's, for every kind of entry", async () => {
    let compared = 0;
    const kinds = new Set<string>();
    for (const entry of cases()) {
      const ours = tarHeader(entry);
      const size = entry.type === 'file' ? entry.size! : 0;
      if (size <= 100_000) {
        // the whole archive as tar-stream's pack writes it, content and end blocks included
        const content = entry.type === 'file' ? Buffer.alloc(size, 'c') : undefined;
        const theirs = await packedByTarStream([[entry, content]]);
        assert.ok(ours.equals(theirs.subarray(0, ours.length)), `${JSON.stringify(entry)}: header as tar-stream's`);
        assert.ok(tarArchive([[entry, content]]).equals(theirs), `${JSON.stringify(entry)}: archive as tar-stream's`);
        compared++;
      } else {
        // too big to pack here: against the encoder the pack uses, when one plain block holds it
        const plain = encoder().encode({ ...entry, uid: 0, gid: 0 });
        if (plain) assert.ok(ours.equals(plain), `${JSON.stringify(entry)}: as tar-stream's encoder`);
      }
      const special = specialTarHeader(entry);
      if (special) {
        assert.ok(special.equals(ours));
      } else {
        assert.equal(ours.length, 512);
        const placed = Buffer.alloc(512 + 7, 0xff);
        writeUstarHeader(entry, placed, 3);
        assert.ok(placed.subarray(3, 515).equals(ours), 'written in place as returned');
        assert.equal(placed[2], 0xff);
        assert.equal(placed[515], 0xff, 'nothing written past the header');
      }
      kinds.add(special ? (special.length > 512 ? 'pax' : 'ustar prefix') : 'in place');
    }
    assert.ok(compared > 300, `${compared} entries compared with whole archives`);
    assert.deepEqual([...kinds].sort(), ['in place', 'pax', 'ustar prefix'], 'every way of writing a header was compared');
  });

  const root = mkdtempSync(join(tmpdir(), 'tej-tar-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  it('are read back by GNU tar: names, modes, times, links and contents', () => {
    const mtime = new Date(1_650_000_000_000);
    const long = `${'deep/'.repeat(30)}file.txt`;
    const archive = tarArchive([
      [{ name: 'dir/', type: 'directory', mode: 0o750, mtime }],
      [{ name: 'dir/run.sh', type: 'file', mode: 0o755, mtime }, '#!/bin/sh\necho hi\n'],
      [{ name: 'dir/link', type: 'symlink', mode: 0o777, mtime, linkname: 'run.sh' }],
      [{ name: 'caf\u00e9.txt', type: 'file', mode: 0o600, mtime }, 'accent'],
      [{ name: long, type: 'file', mode: 0o644, mtime }, 'x'.repeat(1000)],
    ]);
    writeFileSync(join(root, 'a.tar'), archive);
    execFileSync('tar', ['xf', join(root, 'a.tar'), '-C', root]);
    assert.equal(readFileSync(join(root, 'dir/run.sh'), 'utf8'), '#!/bin/sh\necho hi\n');
    assert.equal(statSync(join(root, 'dir/run.sh')).mode & 0o777, 0o755);
    assert.equal(statSync(join(root, 'dir/run.sh')).mtimeMs, mtime.getTime());
    assert.equal(readlinkSync(join(root, 'dir/link')), 'run.sh');
    assert.equal(readFileSync(join(root, 'caf\u00e9.txt'), 'utf8'), 'accent');
    assert.equal(readFileSync(join(root, long), 'utf8'), 'x'.repeat(1000));
    assert.equal(execFileSync('tar', ['tf', join(root, 'a.tar')], { encoding: 'utf8' }).split('\n').length, 6);
  });
});
