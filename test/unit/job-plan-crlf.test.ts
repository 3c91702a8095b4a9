// planJob refuses a start script with CRLF line endings before anything is uploaded (65, with the fix).
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/errors.js';
import { planJob } from '../../src/job/plan.js';

describe('CRLF start scripts', () => {
  it('are refused with 65 and a hint that says how to convert them; LF ones pass', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'tej-crlf-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'start.sh'), '#!/bin/bash\r\necho hi\r\n');
    await assert.rejects(planJob(dir), (e: unknown) => {
      assert.ok(e instanceof InvalidInputError);
      assert.equal(e.exitCode, 65);
      assert.match(e.message, /start\.sh' has Windows \(CRLF\) line endings/);
      assert.match(e.hint ?? '', /dos2unix start\.sh/);
      return true;
    });
    await writeFile(join(dir, 'start.sh'), '#!/bin/bash\necho hi\n');
    assert.equal((await planJob(dir)).script, 'start.sh');
  });
});
