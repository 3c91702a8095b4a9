import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { looksLikeDestination, parseDestination } from '../../src/destination.js';
import { InvalidInputError } from '../../src/errors.js';

describe('destinations', () => {
  it('parses user@host, host, ssh:// URLs with ports and IPv6', () => {
    assert.deepEqual(parseDestination('alice@hpc'), { user: 'alice', host: 'hpc', port: undefined });
    assert.deepEqual(parseDestination('hpc.example.org'), { user: undefined, host: 'hpc.example.org', port: undefined });
    assert.deepEqual(parseDestination('ssh://bob@10.0.0.1:2222'), { user: 'bob', host: '10.0.0.1', port: 2222 });
    assert.deepEqual(parseDestination('ssh://[::1]:22'), { user: undefined, host: '::1', port: 22 });
  });

  it('refuses destinations that could be read as options or shell', () => {
    for (const d of ['-oProxyCommand=x', 'a;b@host', 'host;id', 'ssh://h:99999', 'http://h', '', 'us er@h']) {
      assert.throws(() => parseDestination(d), InvalidInputError, d);
    }
  });

  it('tells destinations from paths', () => {
    const hosts = new Set(['hpc']);
    assert.ok(looksLikeDestination('alice@hpc', hosts));
    assert.ok(looksLikeDestination('ssh://x', hosts));
    assert.ok(looksLikeDestination('hpc', hosts));
    assert.ok(!looksLikeDestination('out.txt', hosts));
    assert.ok(!looksLikeDestination('dir/a@b', hosts));
  });
});
