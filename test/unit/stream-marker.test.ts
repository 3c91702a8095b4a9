// A stream call (download, logs) prints a marker before its stream; a reply that ends without it never
// came from the helper (a login shell that could not parse the command once exited 0 with nothing on
// stdout) and is a protocol error, never an empty success.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import { Queue } from '../../src/queue.js';
import type { RunOptions, RunResult, Transport } from '../../src/transport/transport.js';

/** A host whose stream calls print `streamed` and exit 0; plain calls answer that the job is running. */
class MarkerlessHost implements Transport {
  readonly label = 'alice@fake';
  constructor(private readonly streamed: string) {}
  async run(_script: string, options: RunOptions = {}): Promise<RunResult> {
    if (options.stdout) {
      options.stdout.write(this.streamed);
      return { code: 0, stdout: Buffer.alloc(0), stderr: '' };
    }
    return { code: 0, stdout: Buffer.from('tej-proto=1\nnow=100\nid=job1\nstate=running\nplugin=direct\n'), stderr: '' };
  }
  async close(): Promise<void> {}
}

function sink(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return { stream: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }), text: () => Buffer.concat(chunks).toString() };
}

describe('stream calls without their marker', () => {
  let cwd: string;
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'tej-marker-'));
  });
  after(async () => {
    await rm(cwd, { recursive: true, force: true });
  });

  for (const [what, streamed] of [['nothing', ''], ['only a banner', 'Welcome to fake\n']] as const) {
    it(`a download that printed ${what} and exited 0 fails with a protocol error and writes nothing`, async () => {
      const q = new Queue(new MarkerlessHost(streamed), '~/.tej');
      const out = sink();
      await assert.rejects(q.download('job1', ['out.txt', 'log.txt:'], { cwd, stdout: out.stream }), (e: Error) => {
        assert.ok(e instanceof ProtocolError, `${e.name}: ${e.message}`);
        assert.equal(e.exitCode, 76);
        assert.match(e.message, /alice@fake.*ended before its stream began/);
        if (streamed) assert.match(e.message, /Welcome to fake/);
        return true;
      });
      assert.deepEqual(await readdir(cwd), []);
      assert.equal(out.text(), '');
    });

    it(`logs that printed ${what} and exited 0 fail with a protocol error`, async () => {
      const q = new Queue(new MarkerlessHost(streamed), '~/.tej');
      const out = sink();
      await assert.rejects(q.logs('job1', out.stream, { follow: true }), (e: Error) => {
        assert.ok(e instanceof ProtocolError, `${e.name}: ${e.message}`);
        assert.match(e.message, /ended before its stream began/);
        return true;
      });
      assert.equal(out.text(), '');
    });
  }
});
