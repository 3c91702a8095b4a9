// The lean client's output (src/persist/lean-client.ts): it writes what its master's worker printed to
// fd 1 and 2 itself, without making process.stdout and stderr, and falls back to them when a descriptor
// is non-blocking. A fake master on the alias socket plays the frames; the client is the real bin/tej.js.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeFrame, FRAME } from '../../src/persist/frame.js';
import { aliasPath } from '../../src/persist/paths.js';

const TEJ = join(import.meta.dirname, '..', '..', 'bin', 'tej.js');
/** What the fake worker prints: 2 MiB in frames of 60 KiB, some stderr between, then exit 3. */
const OUT = randomBytes(2 * 1024 * 1024);
const ERR = 'a warning\n';

function fakeMaster(socket: string): Server {
  return createServer((sock) => {
    let line = '';
    sock.on('data', (c) => {
      if (line.includes('\n')) return;
      line += c.toString();
      if (!line.includes('\n')) return;
      sock.write(encodeFrame(FRAME.OPENED));
      for (let at = 0; at < OUT.length; at += 60 * 1024) {
        sock.write(encodeFrame(FRAME.STDOUT, OUT.subarray(at, at + 60 * 1024)));
        if (at === 120 * 1024) sock.write(encodeFrame(FRAME.STDERR, ERR));
      }
      sock.end(encodeFrame(FRAME.EXIT, JSON.stringify({ code: 3 })));
    });
    sock.on('error', () => undefined);
  }).listen(socket);
}

/** Runs `sh -c SCRIPT` with $TEJ the lean client's command line; its stdout's sha256 and length, stderr, code. */
function run(env: NodeJS.ProcessEnv, script: string): Promise<{ code: number | null; sha: string; length: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env: { ...env, TEJ: `node ${TEJ} status h1 --id x --persist` }, stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let length = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (hash.update(d), (length += d.length)));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, sha: hash.digest('hex'), length, stderr }));
  });
}

describe('lean client output', () => {
  const runtime = mkdtempSync(join(tmpdir(), 'tej-lean-out-'));
  const dir = join(runtime, 'tej');
  let server: Server;
  const env = { PATH: process.env.PATH, HOME: runtime, XDG_RUNTIME_DIR: runtime };
  before(() => {
    mkdirSync(dir, { mode: 0o700 });
    server = fakeMaster(join(dir, 'fake.sock'));
    symlinkSync('fake.sock', aliasPath(dir, 'h1'));
  });
  after(() => {
    server.close();
    rmSync(runtime, { recursive: true, force: true });
  });

  it('writes the output whole and in order, and exits with the command\'s code', async () => {
    const r = await run(env, '$TEJ');
    assert.deepEqual([r.code, r.length, r.sha, r.stderr], [3, OUT.length, createHash('sha256').update(OUT).digest('hex'), ERR]);
  });

  it('falls back to the stream on a non-blocking stdout (EAGAIN), still whole and in order', async () => {
    // stdout made non-blocking before node starts, and read slowly: the pipe fills and a write says EAGAIN
    const r = await run(
      env,
      `python3 -c 'import fcntl, os, sys; fcntl.fcntl(1, fcntl.F_SETFL, fcntl.fcntl(1, fcntl.F_GETFL) | os.O_NONBLOCK); os.execvp("sh", ["sh", "-c", sys.argv[1]])' '$TEJ' | (sleep 0.3; cat)`,
    );
    assert.deepEqual([r.length, r.sha, r.stderr], [OUT.length, createHash('sha256').update(OUT).digest('hex'), ERR]);
  });

  it('ends quietly with 0 when its reader stops early', async () => {
    const r = await run(env, '{ $TEJ; echo "tej=$?" >&2; } | head -c 10');
    assert.equal(r.length, 10);
    assert.match(r.stderr, /^(a warning\n)?tej=0\n$/); // no error, no stack
  });
});
