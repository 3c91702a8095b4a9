// The limits= line of a show record (job/limits.ts): the job can rewrite it, so only the helper's form counts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeLimits, parseLimits } from '../../src/job/limits.js';

test('parseLimits reads the helper form and describeLimits says what was not enforced', () => {
  const l = parseLimits('memory:50M:yes gpus:1:no partition:gpu,big:no');
  assert.deepEqual(l, { memory: { value: '50M', enforced: true }, gpus: { value: '1', enforced: false }, partition: { value: 'gpu,big', enforced: false } });
  assert.equal(describeLimits(l), 'memory 50M, gpus 1 (not enforced), partition gpu,big (not enforced)');
});

test('parseLimits gives nothing for another form: unknown names, repeats, bad words, empty', () => {
  for (const bad of ['', 'memory:50M:maybe', 'swap:1G:yes', 'memory:50M:yes memory:1G:yes', 'memory:50M:yes ', 'memory:$(x):yes', '__proto__:1:yes']) {
    assert.equal(parseLimits(bad), undefined, JSON.stringify(bad));
  }
});
