// The lean client's SHA-256 (src/persist/sha256-lite.ts) names the same aliases as node:crypto's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { sha256Hex } from '../../src/persist/sha256-lite.js';

test('sha256Hex is node:crypto sha256 digest, at every padding boundary and for UTF-8', () => {
  const inputs = ['', 'abc', 'alias\0alice@hpc', 'ssh://bob@héllo.example:2222', '日本語のホスト', 'x'.repeat(1000)];
  // lengths around the block (64) and the padding's room for the length (55/56)
  for (let n = 50; n <= 130; n++) inputs.push('a'.repeat(n));
  for (const text of inputs) assert.equal(sha256Hex(text), createHash('sha256').update(text).digest('hex'), JSON.stringify(text.slice(0, 40)));
});
