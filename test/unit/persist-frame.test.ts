// The persistent-connection socket's framing (src/persist/frame.ts) and the errors that cross it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { AuthenticationError, ConnectionError, HostKeyError, TejError } from '../../src/errors.js';
import { encodeFrame, FRAME, FrameDecoder, MAX_FRAME, takeLine } from '../../src/persist/frame.js';
import { fromWire, toWire } from '../../src/persist/wire-error.js';

describe('persist frame codec', () => {
  it('encodes type, big-endian length and payload', () => {
    assert.deepEqual([...encodeFrame(FRAME.STDOUT, Buffer.from('hi'))], [0x11, 0, 0, 0, 2, 0x68, 0x69]);
    assert.deepEqual([...encodeFrame(FRAME.STDIN_EOF)], [0x02, 0, 0, 0, 0]);
  });

  it('decodes a stream of frames split at every possible byte', () => {
    const frames = [
      { type: FRAME.STDIN, payload: randomBytes(300) },
      { type: FRAME.STDIN_EOF, payload: Buffer.alloc(0) },
      { type: FRAME.EXIT, payload: Buffer.from('{"code":3}') },
    ];
    const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
    for (let cut = 0; cut <= wire.length; cut++) {
      const d = new FrameDecoder();
      const got = [...d.push(wire.subarray(0, cut)), ...d.push(wire.subarray(cut))];
      assert.deepEqual(got, frames, `cut at ${cut}`);
      assert.equal(d.pending, 0);
    }
  });

  it('decodes byte by byte and keeps an incomplete frame for later', () => {
    const wire = encodeFrame(FRAME.STDOUT, Buffer.from('abcdef'));
    const d = new FrameDecoder();
    for (const b of wire.subarray(0, -1)) assert.deepEqual(d.push(Buffer.from([b])), []);
    assert.equal(d.pending, wire.length - 1);
    assert.deepEqual(d.push(wire.subarray(-1)), [{ type: FRAME.STDOUT, payload: Buffer.from('abcdef') }]);
  });

  it('refuses a length over the limit instead of waiting for gigabytes', () => {
    const head = Buffer.from([FRAME.STDOUT, 0, 0, 0, 0]);
    head.writeUInt32BE(MAX_FRAME + 1, 1);
    assert.throws(() => new FrameDecoder().push(head), /bad frame: length/);
  });

  it('splits the JSON request line from the frames after it', () => {
    const wire = Buffer.concat([Buffer.from('{"op":"exec","command":"true"}\n'), encodeFrame(FRAME.STDIN_EOF)]);
    assert.equal(takeLine(wire.subarray(0, 10)), undefined);
    const r = takeLine(wire)!;
    assert.deepEqual(JSON.parse(r.line), { op: 'exec', command: 'true' });
    assert.deepEqual(r.rest, encodeFrame(FRAME.STDIN_EOF));
    assert.throws(() => takeLine(Buffer.alloc(70_000, 0x61)), /no newline/);
  });
});

describe('errors across the socket', () => {
  it('come back as the same class, exit code, message, hint and retryability', () => {
    const cases: TejError[] = [
      new HostKeyError('host key of h is unknown', { hint: 'check it' }),
      new AuthenticationError('authentication to a@h failed'),
      Object.assign(new ConnectionError('cannot connect'), { retryable: false }),
      new ConnectionError('cannot connect, retry'),
    ];
    for (const e of cases) {
      const back = fromWire(JSON.parse(JSON.stringify(toWire(e))));
      assert.equal(back.constructor, e.constructor);
      assert.ok(back instanceof TejError);
      assert.deepEqual([back.message, back.hint, back.exitCode, back.retryable], [e.message, e.hint, e.exitCode, e.retryable]);
    }
  });

  it('keep the exit code of an unknown class, and are plain errors otherwise', () => {
    const back = fromWire({ name: 'NoSuchError', message: 'm', exitCode: 69 });
    assert.ok(back instanceof TejError);
    assert.equal((back as TejError).exitCode, 69);
    assert.equal(fromWire(toWire(new Error('boom'))).message, 'boom');
    assert.ok(!(fromWire(toWire(new Error('boom'))) instanceof TejError));
  });
});
