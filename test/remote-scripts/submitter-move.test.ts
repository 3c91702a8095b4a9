// A reader (status, list) asks whether the submit of a job without native-id still runs: its `submitter`
// record is in the job's directory, or still in the submit's staging directory, from which submit moves
// it into the job's. Read in the job's (not there yet), then in staging (moved meanwhile), it was found
// nowhere: the live submit counted as dead, the reader gave the job's start up (launch_void), the
// wrapper ran nothing, and once submit wrote native-id the job was lost (seen in CI: "lost" in the
// concurrency test's list while twelve jobs started). The move is made here between the two reads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

// The state of job `moving`, as status reads it, while the submit (this very shell: self_into) moves
// its `submitter` from staging into the job's directory just after the reader looked in the job's.
const READER = `
. "$TEJ_ROOT/lib/common.sh"
. "$TEJ_ROOT/lib/proc.sh"
. "$TEJ_ROOT/lib/state.sh"
. "$TEJ_ROOT/lib/answers.sh"
self_into
staging=$TEJ_ROOT/staging/moving.$self_pid.$self_id
mkdir -p "$staging"
printf '%s %s\\n' "$self_pid" "$self_id" >"$staging/submitter"
# the reader looks in staging only after the move: it finds nothing there
staging_submitter() {
	mv "$staging/submitter" "$TEJ_ROOT/jobs/moving/submitter"
	return 1
}
job_state_into "$TEJ_ROOT/jobs/moving"
echo "$job_state_value"
`;

describe('a submit moving its submitter record', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('is seen by a reader as submitting, and the start of its job is not given up', async (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      assert.equal((await q.run(['setup'])).code, 0);
      const job = join(q.root, 'jobs', 'moving');
      mkdirSync(join(job, 'work'), { recursive: true });
      mkdirSync(join(job, 'meta'));
      writeFileSync(join(job, 'plugin'), 'direct\n');
      const r = spawnSync(shell.argv[0]!, [...shell.argv.slice(1), '-c', READER], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: q.env.PATH, TEJ_ROOT: q.root },
      });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'submitting\n', r.stderr);
      assert.throws(() => lstatSync(join(job, 'launched')), /ENOENT/, 'the start was not given up (no launched -> void)');
    });
  });
});
