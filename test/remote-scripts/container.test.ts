// Container images, the helpers' part (lib/container.sh): what submit accepts and refuses before any
// runtime starts. The runtime itself runs in test/integration/containers.test.ts, as a lab user.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar, type JobFixture } from './_job-tar.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

async function trySubmit(q: HelperQueue, id: string, job: JobFixture) {
  return q.run(['submit', id, 'N0nce'], { input: await jobTar(job) });
}

describe('container images: submit', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test("an upload's own meta/container is not submit's word: the job runs on the host", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('forged', { command: 'echo ran', meta: { container: 'ch-run /tmp/evil' } });
      const rec = await q.waitState('forged', ['finished', 'failed']);
      assert.equal(rec.exit_code, '0', q.jobFile('forged', 'work/tej.stderr'));
      assert.equal(q.jobFile('forged', 'work/tej.stdout'), 'ran\n');
      assert.ok(!existsSync(join(q.jobDir('forged'), 'meta', 'container')));
      assert.equal((await q.ok(['show', 'forged'])).records[0]!.container, undefined);
    });

    test('a runtime tej does not know is bad input (65); one the host lacks is refused (69), named', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const bad = await trySubmit(q, 'bad', { command: 'true', meta: { image: '/img', container_runtime: '/tmp/evil' } });
      assert.equal(bad.code, 65, bad.stderr);
      assert.match(bad.stderr, /bad container runtime: '\/tmp\/evil' \(one of: ch-run apptainer singularity podman\)/);
      const dash = await trySubmit(q, 'bad', { command: 'true', meta: { image: '--privileged' } });
      assert.equal(dash.code, 65, dash.stderr);
      assert.match(dash.stderr, /bad image: '--privileged'/);
      const absent = await trySubmit(q, 'bad', { command: 'true', meta: { image: '/img', container_runtime: 'singularity' } });
      assert.equal(absent.code, 69, absent.stderr);
      assert.match(absent.stderr, /no container runtime to run image '\/img' \(looked for: singularity\)/);
      assert.ok(!existsSync(q.jobDir('bad')), 'nothing was accepted');
    });
  });
});
