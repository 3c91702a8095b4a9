import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import { parseReply } from '../../src/protocol/reply.js';

describe('parseReply', () => {
  it('reads the header and one record per id=', () => {
    const r = parseReply('tej-proto=1\nnow=100\nid=a\nstate=running\nid=b\nstate=finished\nexit_code=3\n');
    assert.equal(r.proto, 1);
    assert.deepEqual(r.header, { now: '100' });
    assert.deepEqual(r.records, [
      { id: 'a', state: 'running' },
      { id: 'b', state: 'finished', exit_code: '3' },
    ]);
  });

  it('skips login-shell banners before the header', () => {
    const r = parseReply('Welcome to hpc!\nquota: 93% used\ntej-proto=1\nid=x\nstate=lost\n');
    assert.deepEqual(r.records, [{ id: 'x', state: 'lost' }]);
  });

  it('keeps = signs inside values', () => {
    assert.equal(parseReply('tej-proto=1\nqueue=/a=b\n').header.queue, '/a=b');
  });

  it('fails on a reply with no header, naming the host and showing what came back', () => {
    assert.throws(() => parseReply('bash: tej-remote: not found\n', 'alice@hpc'), (e: unknown) => {
      assert.ok(e instanceof ProtocolError);
      assert.match(e.message, /alice@hpc/);
      assert.match(e.hint ?? '', /not found/);
      return true;
    });
  });

  it('fails on junk after the header', () => {
    assert.throws(() => parseReply('tej-proto=1\nthis is not key value\n'), ProtocolError);
    // each line whole: an empty one, a key out of the pattern, a value with a CR or a line separator
    for (const junk of ['\n', 'id=a\n\nstate=x\n', 'Id=a\n', '=a\n', 'id=a\rb\n', 'id=a\u2028b\n', 'id=a\n\n']) {
      assert.throws(() => parseReply(`tej-proto=1\n${junk}`), ProtocolError, JSON.stringify(junk));
    }
  });

  it('reads a last line without its newline, and a banner line that holds tej-proto= later on', () => {
    const r = parseReply('motd: tej-proto=9\ntej-proto=1\nid=a\nstate=lost');
    assert.equal(r.proto, 1);
    assert.deepEqual(r.records, [{ id: 'a', state: 'lost' }]);
    assert.deepEqual(parseReply('tej-proto=1').records, []);
  });
});
