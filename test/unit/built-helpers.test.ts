// The CLI's bundle carries the shipped helpers' hashes, computed when it was built (src/remote/built.ts,
// scripts/bundle.mjs): they must be the ones a command would compute from remote-scripts/, or every
// call's check would fail (and the queue be reinstalled) while the helpers are unchanged.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { helperLines, loadBundle } from '../../src/remote/bundle.js';
import { helperProgram, programSha256 } from '../../src/remote/program.js';

const CLI_BUNDLE = fileURLToPath(new URL('../../dist/bundle/tej.cjs', import.meta.url));

test("the CLI's bundle carries the hashes of the helpers as shipped, and the program's", async () => {
  const bundle = await loadBundle();
  const text = readFileSync(CLI_BUNDLE, 'utf8');
  const m = /\{\s*bundle: "([0-9a-f]{32})",\s*program: "([0-9a-f]{64})",\s*lines: \[/.exec(text);
  assert.ok(m, 'no helper hashes in dist/bundle/tej.cjs');
  assert.equal(m[1], bundle.hash, 'the bundle hash the build saw');
  assert.equal(m[2], helperProgram(bundle).sha256, "the program's sha256");
  for (const line of helperLines(bundle)) assert.ok(text.includes(JSON.stringify(line)), `missing: ${line}`);
  // outside the CLI's bundle nothing is built in: the program is made and hashed
  assert.equal(programSha256(bundle), helperProgram(bundle).sha256);
});
