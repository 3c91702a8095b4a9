// SshTransport over the persistent-connection client (src/persist/client.ts): the shell session, stdin
// and streamed stdout, against an in-process stand-in for the master that runs each channel's command
// with a local /bin/sh and relays it with the documented framing.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { AuthenticationError, ConnectionError } from '../../src/errors.js';
import { PersistClient, ping } from '../../src/persist/client.js';
import { masterGone } from '../../src/persist/start.js';
import { encodeFrame, FRAME, FrameDecoder, takeLine } from '../../src/persist/frame.js';
import type { SshTarget } from '../../src/ssh/config.js';
import { SshTransport } from '../../src/transport/ssh.js';

const target = { alias: 'fake', user: 'me', host: 'fake', port: 22 } as SshTarget;

/** A master stand-in: `sh -c COMMAND` per connection, with socket/child backpressure both ways. */
function fakeMaster(path: string, opts: { breakAfterBytes?: number } = {}): Promise<Server> {
  const server = createServer((sock) => {
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const req = takeLine(head);
      if (!req) return;
      sock.removeListener('data', onHead);
      const op = JSON.parse(req.line) as { op: string; command?: string };
      if (op.op !== 'exec') return void sock.end(encodeFrame(FRAME.OPENED));
      const child = spawn('/bin/sh', ['-c', op.command!], { stdio: ['pipe', 'pipe', 'pipe'] });
      sock.write(encodeFrame(FRAME.OPENED));
      let sent = 0;
      const out = (type: number) => (d: Buffer) => {
        sent += d.length;
        if (opts.breakAfterBytes !== undefined && sent > opts.breakAfterBytes) return void sock.destroy();
        if (!sock.write(encodeFrame(type, d))) {
          child.stdout.pause();
          child.stderr.pause();
        }
      };
      child.stdout.on('data', out(FRAME.STDOUT));
      child.stderr.on('data', out(FRAME.STDERR));
      sock.on('drain', () => (child.stdout.resume(), child.stderr.resume()));
      child.on('close', (code, signal) => sock.end(encodeFrame(FRAME.EXIT, JSON.stringify({ code, signal: signal ?? undefined }))));
      const decoder = new FrameDecoder();
      const onData = (c: Buffer) => {
        for (const f of decoder.push(c)) {
          if (f.type === FRAME.STDIN && !child.stdin.write(f.payload)) sock.pause();
          if (f.type === FRAME.STDIN_EOF) child.stdin.end();
        }
      };
      child.stdin.on('drain', () => sock.resume());
      child.stdin.on('error', () => undefined);
      sock.on('data', onData);
      sock.on('error', () => child.kill());
      if (req.rest.length) onData(req.rest);
    };
    sock.on('data', onHead);
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

describe('SshTransport over a persistent-connection socket', () => {
  let dir: string;
  let server: Server;
  let transport: SshTransport;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tej-persist-client-'));
    server = await fakeMaster(join(dir, 'm.sock'));
    transport = SshTransport.over(new PersistClient(join(dir, 'm.sock')), target);
  });
  after(async () => {
    await transport?.close();
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers a ping', async () => {
    await ping(join(dir, 'm.sock'));
    await assert.rejects(ping(join(dir, 'none.sock')), { code: 'ENOENT' });
  });

  it('runs requests on the persistent shell: stdout, stderr and exit status', async () => {
    const r = await transport.run('echo out; echo err >&2; exit 3');
    assert.deepEqual([r.code, r.stdout.toString(), r.stderr], [3, 'out\n', 'err\n']);
    const again = await transport.run('printf second');
    assert.deepEqual([again.code, again.stdout.toString()], [0, 'second']);
  });

  it('sends stdin and streams stdout to a slow reader, byte for byte (backpressure both ways)', async () => {
    const data = randomBytes(8 * 1024 * 1024);
    let received = 0;
    const hash = createHash('sha256');
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        hash.update(chunk);
        setImmediate(cb); // a reader slower than the producer
      },
    });
    const r = await transport.run('cat; echo done >&2', { stdin: () => Readable.from([data.subarray(0, 1000), data.subarray(1000)]), stdout: slow });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, 'done\n');
    // run() returns once the channel has closed and all its output was handed to the writer; the writer
    // may still hold some in its buffer (its end and 'finish' say when it has taken all), as every caller
    // of a stdout stream waits (download: sink.end() and the sink's 'finish')
    slow.end();
    await once(slow, 'finish');
    assert.equal(received, data.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
  });

  it('reports the exit status of a command on its own channel', async () => {
    const r = await transport.run('read x; echo "got $x"; exit 7', { stdin: () => Readable.from([Buffer.from('hello\n')]) });
    assert.deepEqual([r.code, r.stdout.toString()], [7, 'got hello\n']);
  });

  // Seen under load: a master dying as it was pinged made the CLI print "internal error: write EPIPE".
  it('counts a master that hangs up as it is asked (EPIPE) or answers garbage as no master, not an error of its own', async () => {
    const hangUp = join(dir, 'hangup.sock');
    const gone = createServer((sock) => sock.destroy());
    await new Promise<void>((resolve) => gone.listen(hangUp, resolve));
    const garbled = join(dir, 'garbled.sock');
    const stranger = createServer((sock) => sock.end(Buffer.alloc(64, 0xff)));
    await new Promise<void>((resolve) => stranger.listen(garbled, resolve));
    try {
      for (const path of [hangUp, garbled, join(dir, 'none.sock')]) {
        const e: unknown = await ping(path).then(() => assert.fail(`${path} answered a ping`), (err: unknown) => err);
        assert.ok(masterGone(e), `${path}: ${String(e)} (${(e as NodeJS.ErrnoException).code})`);
      }
      // the master's own answer (its login failed) is kept, not taken for a missing master
      assert.equal(masterGone(new AuthenticationError('login refused')), false);
    } finally {
      gone.close();
      stranger.close();
    }
  });

  it('fails a channel whose master goes away mid-stream with a ConnectionError', async () => {
    const path = join(dir, 'broken.sock');
    const broken = await fakeMaster(path, { breakAfterBytes: 100_000 });
    const t = SshTransport.over(new PersistClient(path), target);
    try {
      await assert.rejects(t.run('head -c 1000000 /dev/zero', { stdin: () => Readable.from([]) }), ConnectionError);
    } finally {
      await t.close();
      broken.close();
    }
  });
});
