// Where a downloaded file goes: a regular file (or nothing) is replaced by rename; a FIFO, a character
// device or a symlink to one is written into and stays what it was; temporary files never stay behind.
// And the stream before the download: skipToMarker's banner limit and backpressure.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import tar from 'tar-stream';
import { extractDownload } from '../../src/download/extract.js';
import { InvalidInputError, JobFileNotFoundError, JobNotFoundError, ProtocolError } from '../../src/errors.js';
import { Queue } from '../../src/queue.js';
import { BANNER_MAX_BYTES, skipToMarker, STREAM_MARKER } from '../../src/protocol/stream-marker.js';
import type { RunOptions, RunResult, Transport } from '../../src/transport/transport.js';

/** A download's tar stream: one top-level file. */
function fileTar(name: string, content: Buffer | string): Readable {
  const pack = tar.pack();
  pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  return pack as unknown as Readable;
}

function collect(stream: Readable): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c)).on('end', () => resolve(Buffer.concat(parts).toString())).on('error', reject);
  });
}

describe('download destinations', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tej-dest-'));
  const readers: ChildProcess[] = [];
  after(() => {
    for (const r of readers) r.kill('SIGKILL'); // a FIFO that was replaced leaves its reader waiting
    rmSync(tmp, { recursive: true, force: true });
  });
  /** A reader of a FIFO in another process (cat): what it read once the writer closes. */
  const reader = (fifo: string) => {
    const child = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    readers.push(child);
    return collect(child.stdout);
  };
  let n = 0;
  const dir = () => {
    const d = join(tmp, `case${n++}`);
    mkdirSync(d);
    return d;
  };
  const mkfifo = (path: string) => assert.equal(spawnSync('mkfifo', [path]).status, 0, 'mkfifo');

  it('writes into a FIFO, whose reader gets the bytes, and leaves it a FIFO', { timeout: 30_000 }, async () => {
    const d = dir();
    const fifo = join(d, 'pipe');
    mkfifo(fifo);
    for (const content of ['small\n', 'x'.repeat(3 << 20)]) {
      const reading = reader(fifo);
      const r = await extractDownload(fileTar('tej.stdout', content), fifo, new PassThrough());
      assert.equal(r.files, 1);
      assert.equal(await reading, content);
      assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
      assert.deepEqual(readdirSync(d), ['pipe'], 'no temporary file beside it');
    }
  });

  it('writes into a character device (a node like /dev/null) and leaves it a device', { timeout: 30_000 }, async () => {
    const d = dir();
    const dev = join(d, 'null');
    assert.equal(spawnSync('mknod', ['-m', '666', dev, 'c', '1', '3']).status, 0, 'mknod (needs root)');
    await extractDownload(fileTar('tej.stdout', 'gone\n'), dev, new PassThrough());
    await extractDownload(fileTar('big', Buffer.alloc(2 << 20)), dev, new PassThrough());
    assert.ok(lstatSync(dev).isCharacterDevice(), 'still a character device');
    assert.equal(statSync(dev).rdev, statSync('/dev/null').rdev);
    assert.deepEqual(readdirSync(d), ['null']);
  });

  it('judges a symlink by what it resolves to: into a FIFO, or renamed over the regular file it names', { timeout: 30_000 }, async () => {
    const d = dir();
    mkfifo(join(d, 'pipe'));
    symlinkSync('pipe', join(d, 'to-pipe'));
    const reading = reader(join(d, 'pipe'));
    await extractDownload(fileTar('a', 'through the link\n'), join(d, 'to-pipe'), new PassThrough());
    assert.equal(await reading, 'through the link\n');
    assert.ok(lstatSync(join(d, 'to-pipe')).isSymbolicLink() && lstatSync(join(d, 'pipe')).isFIFO());
    writeFileSync(join(d, 'file'), 'old');
    symlinkSync('file', join(d, 'to-file'));
    await extractDownload(fileTar('b', 'new\n'), join(d, 'to-file'), new PassThrough());
    assert.ok(lstatSync(join(d, 'to-file')).isSymbolicLink(), 'the link stays a link');
    assert.equal(readFileSync(join(d, 'file'), 'utf8'), 'new\n');
    assert.deepEqual(readdirSync(d).sort(), ['file', 'pipe', 'to-file', 'to-pipe']);
  });

  it('leaves no temporary file when the stream breaks in the middle of a big file', { timeout: 30_000 }, async () => {
    const d = dir();
    const whole: Buffer[] = [];
    const pack = tar.pack();
    pack.entry({ name: 'big', mode: 0o644 }, Buffer.alloc(4 << 20, 1));
    pack.finalize();
    for await (const c of pack as unknown as Readable) whole.push(c as Buffer);
    const cut = Buffer.concat(whole).subarray(0, 3 << 20);
    const source = new PassThrough();
    const extracting = extractDownload(source, join(d, 'big'), new PassThrough());
    source.write(cut);
    source.destroy(new Error('link broke'));
    await assert.rejects(extracting);
    assert.deepEqual(readdirSync(d), []);
  });
});

describe('skipToMarker', () => {
  it('fails with a protocol error past BANNER_MAX_BYTES of banner without the marker', { timeout: 30_000 }, async () => {
    const input = new PassThrough();
    const out = skipToMarker(input, 'alice@hpc');
    const failed = new Promise<Error>((resolve) => out.on('error', resolve));
    const line = Buffer.from('motd '.repeat(200) + '\n');
    for (let sent = 0; sent <= BANNER_MAX_BYTES + line.length && !input.destroyed; sent += line.length) input.write(line);
    const e = await failed;
    assert.ok(e instanceof ProtocolError, String(e));
    assert.match(e.message, /alice@hpc printed more than 1 MiB before the stream began/);
    assert.ok(input.destroyed, 'the source is closed');
  });

  it('passes what follows the marker through, and pauses its source from the first write on when nobody reads', { timeout: 30_000 }, async () => {
    const input = new PassThrough();
    const out = skipToMarker(input);
    const payload = Buffer.alloc(1 << 20, 7);
    input.write(Buffer.concat([Buffer.from('banner\nmore'), Buffer.from(STREAM_MARKER.slice(0, 5))]));
    input.write(Buffer.concat([Buffer.from(STREAM_MARKER.slice(5)), payload]));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(input.isPaused(), 'the source waits for the reader');
    input.end();
    const got: Buffer[] = [];
    for await (const c of out) got.push(c as Buffer);
    assert.ok(Buffer.concat(got).equals(payload));
  });
});

describe('download errors from the host', () => {
  /** A transport whose every command exits `code` with the helper's `stderr`. */
  const failing = (code: number, stderr: string): Transport => ({
    label: 'alice@hpc',
    run: async (_script: string, options: RunOptions = {}): Promise<RunResult> => {
      options.stdout?.write(STREAM_MARKER);
      return { code, stdout: Buffer.alloc(0), stderr };
    },
    close: async () => undefined,
  });

  it('a file missing from a job is E_JOB_FILE_NOT_FOUND (66), a missing job E_JOB_NOT_FOUND', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'tej-nofile-'));
    try {
      const file = new Queue(failing(66, 'tej-remote: no such file in job j1: nope.txt\n'));
      await assert.rejects(file.download('j1', ['nope.txt'], { cwd }), (e: Error) => {
        assert.ok(e instanceof JobFileNotFoundError && !(e instanceof JobNotFoundError), String(e));
        assert.equal(e.code, 'E_JOB_FILE_NOT_FOUND');
        assert.equal(e.exitCode, 66);
        assert.match(e.message, /no such file in job j1: nope\.txt/);
        return true;
      });
      const job = new Queue(failing(66, 'tej-remote: no such job: j2\n'));
      await assert.rejects(job.download('j2', ['x'], { cwd }), (e: Error) => e instanceof JobNotFoundError && (e as JobNotFoundError).code === 'E_JOB_NOT_FOUND');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('a `path:` request without a stdout stream is refused (65) before the host is asked: the library has no process.stdout default', async () => {
    let asked = 0;
    const q = new Queue({ ...failing(0, ''), run: async () => ((asked += 1), { code: 0, stdout: Buffer.alloc(0), stderr: '' }) });
    await assert.rejects(q.download('j1', ['out.txt', 'log.txt:'], { cwd: tmpdir() }), (e: Error) => {
      assert.ok(e instanceof InvalidInputError, String(e));
      assert.match(e.message, /^'log\.txt:' writes to stdout, and no stdout stream was given$/);
      return true;
    });
    assert.equal(asked, 0);
  });
});
