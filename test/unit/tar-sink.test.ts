// The download's tar sink frames a tar stream itself (src/download/tar-sink.ts): whatever the chunk
// boundaries, it must give the entries tar-stream's extract gives (pax and GNU long names, links, empty
// files, zero blocks), fail on a stream that ends inside an entry, and drop a banner before the marker.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, it } from 'node:test';
import { TarSink } from '../../src/download/tar-sink.js';
import { MarkerSkipper, STREAM_MARKER } from '../../src/protocol/stream-marker.js';
import { tar } from '../../src/tar.js';

interface Seen {
  name: string;
  type: string | null;
  linkname: string | null;
  size: number;
  content: string;
}

/** The entries tar-stream's extract reads from `archive`. */
async function byTarStream(archive: Buffer): Promise<Seen[]> {
  const seen: Seen[] = [];
  const extract = tar().extract();
  const done = pipeline(Readable.from([archive]), extract);
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const c of entry) parts.push(c as Buffer);
    const h = entry.header;
    seen.push({ name: h.name, type: h.type ?? null, linkname: h.linkname ?? null, size: h.size ?? 0, content: Buffer.concat(parts).toString('hex') });
  }
  await done;
  return seen;
}

/** The entries the sink reads from `archive` written in chunks of `size` bytes (every entry's content kept, from the slices it is handed). */
async function bySink(archive: Buffer, size: number, marker?: MarkerSkipper): Promise<Seen[]> {
  const seen: Seen[] = [];
  const sink = new TarSink((h) => {
    const parts: Buffer[] = [];
    const entry: Seen = { name: h.name, type: h.type, linkname: h.linkname, size: h.size, content: '' };
    seen.push(entry);
    // an async receiver every other entry: the sink must wait for it
    const slow = seen.length % 2 === 0;
    return {
      write: (d) => {
        parts.push(Buffer.from(d));
        return slow ? new Promise<void>((r) => setImmediate(r)) : undefined;
      },
      end: () => {
        entry.content = Buffer.concat(parts).toString('hex');
      },
    };
  }, marker);
  const chunks: Buffer[] = [];
  for (let p = 0; p < archive.length; p += size) chunks.push(archive.subarray(p, p + size));
  await pipeline(Readable.from(chunks), sink);
  return seen;
}

describe('the download tar sink', () => {
  const base = mkdtempSync(join(tmpdir(), 'tej-tar-sink-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  /** An archive of a directory with long and non-ASCII names, links, empty and odd-sized files, by GNU tar in `format`. */
  let dir: string | undefined;
  function gnuTar(format: string): Buffer {
    dir ??= makeDir();
    // ustar cannot hold the long names: the rest of the directory
    const names = format === 'ustar' ? ['top/empty', 'top/odd', 'top/été ✓', 'top/block', 'top/short'] : ['top'];
    return execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', dir, ...names], { maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] });
  }
  function makeDir(): string {
    const dir = join(base, 'src');
    const long = `${'d'.repeat(90)}/${'e'.repeat(120)}`;
    mkdirSync(join(dir, 'top', long), { recursive: true });
    writeFileSync(join(dir, 'top', long, `${'f'.repeat(150)}.txt`), 'deep\n');
    writeFileSync(join(dir, 'top', 'empty'), '');
    writeFileSync(join(dir, 'top', 'odd'), Buffer.alloc(70_001, 7));
    writeFileSync(join(dir, 'top', 'été ✓'), 'accents\n');
    writeFileSync(join(dir, 'top', 'block'), Buffer.alloc(512, 1));
    symlinkSync(`${long}/${'f'.repeat(150)}.txt`, join(dir, 'top', 'longlink'));
    symlinkSync('odd', join(dir, 'top', 'short'));
    return dir;
  }

  for (const format of ['gnu', 'pax', 'ustar']) {
    it(`reads GNU tar's ${format} archives as tar-stream does, whatever the chunk size`, async () => {
      const archive = gnuTar(format);
      const want = await byTarStream(archive);
      assert.ok(want.length >= 5, `${want.length} entries`);
      for (const size of [7, 511, 512, 513, 4096, 32 * 1024, archive.length]) {
        assert.deepEqual(await bySink(archive, size), want, `chunks of ${size}`);
      }
    });
  }

  it('fails on a stream that ends inside an entry or its header', async () => {
    const archive = gnuTar('pax');
    for (const cut of [100, 512 + 3, archive.length - 10240 - 100]) {
      await assert.rejects(bySink(archive.subarray(0, cut), 4096), /Unexpected end of data/, `cut at ${cut}`);
    }
  });

  it('drops a banner before the stream marker, split anywhere, and refuses a stream without one', async () => {
    const archive = gnuTar('gnu');
    const want = await byTarStream(archive);
    const framed = Buffer.concat([Buffer.from('Welcome!\ntej-stream\n'), Buffer.from(STREAM_MARKER), archive]);
    for (const size of [2, 5, 17, 4096]) assert.deepEqual(await bySink(framed, size, new MarkerSkipper('h1')), want, `chunks of ${size}`);
    await assert.rejects(bySink(Buffer.from('just a banner\n'), 3, new MarkerSkipper('h1')), /ended before its stream began \(it printed "just a banner\\n"\)/);
  });
});
