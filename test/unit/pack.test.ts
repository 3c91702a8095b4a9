// packJob: what a submit sends. Small files are read whole, in one read each; a file that changed size
// since the scan is refused, never sent torn (the tar header promised the scan's size).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packJob, scanJobDir } from '../../src/job/pack.js';
import { tar } from '../../src/tar.js';

const root = mkdtempSync(join(tmpdir(), 'tej-pack-'));
after(() => rmSync(root, { recursive: true, force: true }));

function makeJob(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  return dir;
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** name -> content of every entry of a tar archive. */
async function entries(archive: Buffer): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const extract = tar().extract();
  const reading = (async () => {
    for await (const entry of extract) out.set(entry.header.name, (await drain(entry as AsyncIterable<Uint8Array>)).toString());
  })();
  extract.end(archive);
  await reading;
  return out;
}

describe('packJob', () => {
  it('sends every file whole, empty ones included, and the end marker last', async () => {
    const dir = makeJob('whole', { 'start.sh': 'exit 0\n', 'empty.txt': '', 'data.bin': 'y'.repeat(70_000) });
    const got = await entries(await drain(packJob(await scanJobDir(dir), { script: 'start.sh' }, 'N0nce')));
    assert.equal(got.get('work/start.sh'), 'exit 0\n');
    assert.equal(got.get('work/empty.txt'), '');
    assert.equal(got.get('work/data.bin'), 'y'.repeat(70_000));
    assert.equal([...got.keys()].at(-1), 'end-N0nce');
  });

  it('gives long, deep and non-ASCII names and links their pax or prefixed headers, and extracts with GNU tar', async () => {
    const dir = makeJob('names', { 'start.sh': 'exit 0\n', 'caf\u00e9.txt': 'accent' });
    const deep = join(dir, ...Array.from({ length: 12 }, (_, i) => `level${i}`));
    mkdirSync(deep, { recursive: true });
    writeFileSync(join(deep, 'x'.repeat(90)), 'deep');
    symlinkSync(`../${'t'.repeat(120)}`, join(dir, 'farlink'));
    const archive = await drain(packJob(await scanJobDir(dir), { script: 'start.sh' }, 'N0nce'));
    const got = await entries(archive);
    assert.equal(got.get('work/caf\u00e9.txt'), 'accent');
    assert.equal(got.get(`work/${Array.from({ length: 12 }, (_, i) => `level${i}`).join('/')}/${'x'.repeat(90)}`), 'deep');
    const out = join(root, 'names-out');
    mkdirSync(out);
    writeFileSync(join(root, 'names.tar'), archive);
    execFileSync('tar', ['xf', join(root, 'names.tar'), '-C', out]);
    assert.equal(readFileSync(join(out, 'work', 'caf\u00e9.txt'), 'utf8'), 'accent');
    assert.equal(readFileSync(join(out, 'work', ...Array.from({ length: 12 }, (_, i) => `level${i}`), 'x'.repeat(90)), 'utf8'), 'deep');
    assert.equal(readlinkSync(join(out, 'work', 'farlink')), `../${'t'.repeat(120)}`);
    assert.ok(existsSync(join(out, 'end-N0nce')));
  });

  it("gives each file its mtime's whole seconds, cut down as tar does, also just before a second's end", async () => {
    const dir = makeJob('mtimes', { 'start.sh': 'exit 0\n', 'late.txt': 'x', 'early.txt': 'y' });
    // x.9996 s: Node's Stats.mtime rounds it to the next second's first millisecond
    utimesSync(join(dir, 'late.txt'), 1_600_000_000, 1_600_000_000.9996);
    utimesSync(join(dir, 'early.txt'), 1_600_000_000, 1_600_000_000.0004);
    const archive = await drain(packJob(await scanJobDir(dir), { script: 'start.sh' }, 'N0nce'));
    const out = join(root, 'mtimes-out');
    mkdirSync(out);
    writeFileSync(join(root, 'mtimes.tar'), archive);
    execFileSync('tar', ['xf', join(root, 'mtimes.tar'), '-C', out]);
    for (const f of ['late.txt', 'early.txt']) {
      assert.equal(Math.floor(statSync(join(out, 'work', f)).mtimeMs / 1000), 1_600_000_000, `${f}: ${statSync(join(dir, f)).mtimeMs}`);
    }
  });

  const changes = { grew: (f: string) => appendFileSync(f, 'more'), shrank: (f: string) => truncateSync(f, 3) };
  for (const [what, change] of Object.entries(changes)) {
    it(`refuses a file that ${what} after the scan`, async () => {
      const dir = makeJob(what, { 'start.sh': 'exit 0\n', 'log.txt': 'x'.repeat(1000) });
      const scan = await scanJobDir(dir);
      change(join(dir, 'log.txt'));
      await assert.rejects(drain(packJob(scan, { script: 'start.sh' }, 'N0nce')), /log\.txt' changed size while it was being sent/);
    });
  }

  // Opening a FIFO for reading waits for a writer: on the main thread for ever (Ctrl-C's handler never
  // runs), on the thread pool as long. Small files are read in place, big ones streamed.
  for (const [what, size] of [['small', 1000], ['big', 3 << 20]] as const) {
    it(`refuses a ${what} file that became a FIFO after the scan, at once`, async () => {
      const dir = makeJob(`fifo-${what}`, { 'start.sh': 'exit 0\n', 'log.txt': 'x'.repeat(size) });
      const scan = await scanJobDir(dir);
      rmSync(join(dir, 'log.txt'));
      execFileSync('mkfifo', [join(dir, 'log.txt')]);
      await assert.rejects(drain(packJob(scan, { script: 'start.sh' }, 'N0nce')), /log\.txt' is no longer a regular file/);
    });
  }
});

describe('prepack', () => {
  it('reads the same stream ahead, replays it as often as asked, and reports progress up to the totals', async () => {
    const { prepack, replay } = await import('../../src/job/prepack.js');
    const files: Record<string, string> = { 'start.sh': 'exit 0\n' };
    for (let i = 0; i < 300; i++) files[`f${i}.txt`] = `${i}`.repeat(1000 + i);
    const dir = makeJob('ahead', files);
    const scan = await scanJobDir(dir);
    const streamed = await drain(packJob(scan, { script: 'start.sh' }, 'N0nce'));
    const packed = await prepack(scan, { script: 'start.sh' }, 'N0nce');
    const seen: [number, number][] = [];
    const first = await drain(replay(packed, (bytes, files) => seen.push([bytes, files])));
    const again = await drain(replay(packed));
    // the same entries as the streamed pack (byte for byte but for the meta entries' mtime: now)
    assert.deepEqual(await entries(first), await entries(streamed));
    assert.ok(again.equals(first), 'a retry sends the very same bytes again');
    assert.ok(packed.chunks.length > 1, 'in several chunks');
    assert.deepEqual(seen.at(-1), [scan.bytes, 301]);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]![0] >= seen[i - 1]![0], 'progress only grows');
  });
});
