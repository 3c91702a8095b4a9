// exec's client side, pure logic: the argv checks, its quoting round trip through /bin/sh, and the
// stream split at the markers (a fake transport stands for the host: what the helper prints, chunked).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { InvalidInputError, JobNotFoundError, ProtocolError, UsageError } from '../../src/errors.js';
import { execArgs } from '../../src/job/exec.js';
import { quoteArg } from '../../src/protocol/invocation.js';
import { Queue } from '../../src/queue.js';
import { shLine } from '../../src/transport/quote.js';
import type { RunOptions, RunResult, Transport } from '../../src/transport/transport.js';

const STATUS = 'tej-proto=1\nnow=100\nid=job1\nstate=running\nplugin=direct\n';

/** A host whose status calls find job1 running, and whose exec call prints these chunks and exits `code`. */
class FakeHost implements Transport {
  readonly label = 'alice@fake';
  constructor(private readonly out: string[], private readonly err: string[], private readonly code: number) {}
  async run(_script: string, options: RunOptions = {}): Promise<RunResult> {
    if (!options.stdout) return { code: 0, stdout: Buffer.from(STATUS), stderr: '' };
    for (const c of this.out) options.stdout.write(Buffer.from(c));
    for (const c of this.err) options.stderr!.write(Buffer.from(c));
    return { code: this.code, stdout: Buffer.alloc(0), stderr: '' };
  }
  async close(): Promise<void> {}
}

function sink(): { stream: Writable; bytes: () => string } {
  const chunks: Buffer[] = [];
  return { stream: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }), bytes: () => Buffer.concat(chunks).toString() };
}

describe('exec', () => {
  it('passes each argument literally: quoted for /bin/sh, they come back as they were', () => {
    const argv = ['printf', '<%s>\\n', 'a b', '', "it's", '$HOME', '`id`', '*', '!', 'x\ny', '-n', '--', '\\', 'é'];
    const script = `printf '%s\\n' ${execArgs('job1', argv).map(quoteArg).join(' ')}`;
    const r = spawnSync('/bin/sh', ['-c', 'IFS= read -r l && eval "$l"'], { input: `${shLine(script)}\n`, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, ['job1', ...argv].map((a) => `${a}\n`).join(''));
  });

  it('refuses no command, an empty one and a NUL byte, before any connection', () => {
    assert.throws(() => execArgs('job1', []), UsageError);
    assert.throws(() => execArgs('job1', ['']), UsageError);
    assert.throws(() => execArgs('job1', ['echo', 'a\0b']), InvalidInputError);
  });

  it("drops what comes before the markers and passes the command's bytes and status through", async () => {
    const out = sink();
    const err = sink();
    const host = new FakeHost(['Welcome!\ntej-str', 'eam-begins\nfirst ', 'second'], ['motd\ntej-stream-begins', '\n', 'oops\n'], 7);
    const code = await new Queue(host).exec('job1', ['x'], { stdout: out.stream, stderr: err.stream });
    assert.equal(code, 7);
    assert.equal(out.bytes(), 'first second');
    assert.equal(err.bytes(), 'oops\n');
  });

  it("turns a refusal before the markers into the helper's error, and a silent end into a protocol error", async () => {
    const gone = new FakeHost([], ['tej-remote: the directory of job job1 is gone (its work/ is not a directory)\n'], 66);
    await assert.rejects(new Queue(gone).exec('job1', ['true']), (e: Error) => e instanceof JobNotFoundError && /directory of job job1 is gone .*\(on alice@fake\)$/.test(e.message));
    const silent = new FakeHost(['banner only\n'], [], 0);
    await assert.rejects(new Queue(silent).exec('job1', ['true']), (e: Error) => e instanceof ProtocolError && /banner only/.test(e.message));
  });
});
