// The job's start script: its #! line is honoured without the exec bit, and CRLF line endings are
// refused with a message that says what is wrong and how to fix it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

describe('start scripts', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('a script without the exec bit runs under its #! interpreter, with its one argument', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('bashy', { script: 'start.sh', files: { 'start.sh': { mode: 0o644, content: '#!/bin/bash\nshopt -s nullglob\necho "bash ${BASH_VERSINFO[0]}"\n' } } });
      await q.submit('strict', { script: 'start.sh', files: { 'start.sh': { mode: 0o644, content: '#! /bin/sh -e \nfalse\necho not reached\n' } } });
      await q.submit('plain', { script: 'start.sh', files: { 'start.sh': { mode: 0o644, content: 'echo plain\n' } } });
      const bashy = await q.waitState('bashy', ['finished']);
      assert.equal(bashy.exit_code, '0', q.jobFile('bashy', 'work/tej.stderr'));
      assert.match(q.jobFile('bashy', 'work/tej.stdout'), /^bash \d+\n$/);
      assert.equal(q.jobFile('bashy', 'work/tej.stderr'), '');
      assert.equal((await q.waitState('strict', ['finished'])).exit_code, '1');
      assert.equal(q.jobFile('strict', 'work/tej.stdout'), '');
      assert.equal((await q.waitState('plain', ['finished'])).exit_code, '0');
      assert.equal(q.jobFile('plain', 'work/tej.stdout'), 'plain\n');
    });

    test('a CRLF script is refused with 126 and a message that says how to fix it', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('dos', { script: 'start.sh', files: { 'start.sh': { mode: 0o755, content: '#!/bin/sh\r\necho hi\r\n' } } });
      await q.submit('dos2', { script: 'start.sh', files: { 'start.sh': { mode: 0o644, content: 'echo hi\r\n' } } });
      for (const id of ['dos', 'dos2']) {
        const rec = await q.waitState(id, ['finished']);
        assert.equal(rec.exit_code, '126');
        assert.match(q.jobFile(id, 'work/tej.stderr'), /start\.sh has Windows \(CRLF\) line endings; convert it \(dos2unix start\.sh/);
      }
    });
  });
});
