// The memory cgroup (lib/cgroup.sh) and GPU claims (lib/gpus.sh) in every shell the helpers run under:
// the job's subshell moves itself into its cgroup with a builtin, the kernel's OOM kill gives the reason
// memory and the cgroup goes after the job; claimed devices reach CUDA_VISIBLE_DEVICES and come back when
// the job ends; an upload's own cgroup, taskset and claim files are not submit's word. Run as root here:
// the queue's memory-cgroup file names a cgroup v1 parent the test makes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar } from './_job-tar.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const V1 = '/sys/fs/cgroup/memory';
const hasV1 = existsSync(join(V1, 'memory.limit_in_bytes'));

describe('memory cgroup and gpus under direct', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('a 300 MB job under memory 100M in its cgroup: OOM-killed, reason memory, cgroup removed', { skip: !hasV1 && 'no cgroup v1 memory controller' }, async (t) => {
      const q = await HelperQueue.setUp(shell);
      const parent = join(V1, `tej-rs-${process.pid}-${randomBytes(4).toString('hex')}`);
      mkdirSync(parent);
      t.after(async () => {
        for (const n of readdirSync(parent).filter((x) => x.startsWith('tej-'))) rmdirSync(join(parent, n));
        rmdirSync(parent);
        await q.cleanUp();
      });
      writeFileSync(join(q.root, 'memory-cgroup'), `${parent}\n`);
      await q.submit('oom', { command: 'grep memory /proc/self/cgroup; exec dd if=/dev/zero of=/dev/null bs=300M count=1', meta: { memory: '100M' } });
      const rec = await q.waitState('oom', ['finished', 'failed']);
      assert.equal(rec.exit_code, '137', q.jobFile('oom', 'work/tej.stderr'));
      assert.equal(rec.reason, 'memory');
      assert.match(q.jobFile('oom', 'work/tej.stdout'), /:memory:\/tej-rs-[^/]+\/tej-oom\.\d+$/m);
      assert.deepEqual(readdirSync(parent).filter((x) => x.startsWith('tej-')), []);
      // a job that fails by itself in its cgroup: no reason
      await q.submit('exit3', { command: 'exit 3', meta: { memory: '100M' } });
      const r3 = await q.waitState('exit3', ['finished', 'failed']);
      assert.equal(r3.exit_code, '3');
      assert.equal(r3.reason, undefined);
    });

    test('gpus: the queue gpus file, CUDA_VISIBLE_DEVICES, the devices back after the job; an upload cannot forge the files', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'gpus'), '0 1\n');
      // the lock of a submit that died while it claimed (a pid no process has): taken over, not waited on
      writeFileSync(join(q.root, 'gpu-claims.lock'), '4000000000 1\n');
      await q.submit('g1', { command: 'echo "$CUDA_VISIBLE_DEVICES"', meta: { gpus: '2', cgroup: '1 /', taskset: '0', 'gpus-claimed': '7' } });
      assert.equal((await q.waitState('g1', ['finished', 'failed'])).exit_code, '0', q.jobFile('g1', 'work/tej.stderr'));
      assert.equal(q.jobFile('g1', 'work/tej.stdout'), '0,1\n');
      assert.equal(q.jobFile('g1', 'meta/gpus-claimed'), '0 1\n');
      assert.ok(!existsSync(join(q.jobDir('g1'), 'meta', 'cgroup')));
      assert.ok(!existsSync(join(q.jobDir('g1'), 'meta', 'taskset')));
      assert.deepEqual(readdirSync(join(q.root, 'gpu-claims')), [], "the job's claims are gone with it");
      assert.ok(!existsSync(join(q.root, 'gpu-claims.lock')));
      await q.submit('g2', { command: 'echo "$CUDA_VISIBLE_DEVICES"', meta: { gpus: '1' } });
      assert.equal((await q.waitState('g2', ['finished', 'failed'])).exit_code, '0');
      assert.equal(q.jobFile('g2', 'work/tej.stdout'), '0\n');
      const r = await q.run(['submit', 'g3', 'N0nce'], { input: await jobTar({ command: 'true', meta: { gpus: '3' } }) });
      assert.equal(r.code, 69, r.stderr);
    });
  });
});
