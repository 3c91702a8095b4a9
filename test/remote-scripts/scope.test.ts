// The memory limit by a systemd user scope (lib/scope.sh) in every shell the helpers run under, against
// test/fixtures/systemd-shim: a test-only systemd-run/systemctl that enforces MemoryMax with a real cgroup
// v1 child (this machine has no systemd; nothing here runs real systemd). Proven: the scope is chosen
// before a delegated cgroup, with the words systemd-run needs; the kernel's OOM kill, as the shim's
// systemctl reports it (Result=oom-kill), gives the reason memory; no user manager, or one whose scope
// sets no memory limit, falls back to the cgroup; an upload's own meta/scope is not submit's word. Run as root here.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const V1 = '/sys/fs/cgroup/memory';
const hasV1 = existsSync(join(V1, 'memory.limit_in_bytes'));
const SHIM = join(import.meta.dirname, '..', 'fixtures', 'systemd-shim');
const BYTES = String(100 * 1024 * 1024);
// the probe: the job's own systemd-run words, running a check that reads BYTES back from its cgroup
const PROBE = new RegExp(`^--user --scope --quiet -p MemoryMax=${BYTES} -p MemorySwapMax=0 -- /bin/sh -c while .*/proc/self/cgroup~exit 1 sh ${BYTES}$`);

/** A queue whose helpers find the shim first on their PATH, its scopes under a fresh v1 parent. */
async function shimQueue(shell: Parameters<typeof HelperQueue.setUp>[0]) {
  const bin = mkdtempSync(join(tmpdir(), 'tej-sdshim-'));
  cpSync(SHIM, bin, { recursive: true });
  const parent = join(V1, `tej-sd-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(parent);
  writeFileSync(join(bin, 'parent'), `${parent}\n`);
  const q = await HelperQueue.setUp(shell, { env: { PATH: `${bin}:${process.env.PATH}` } });
  // a delegated cgroup too: the scope must come first
  writeFileSync(join(q.root, 'memory-cgroup'), `${parent}\n`);
  const calls = () => (existsSync(join(bin, 'calls')) ? readFileSync(join(bin, 'calls'), 'utf8') : '');
  const cleanUp = async () => {
    for (const n of readdirSync(parent).filter((x) => x.startsWith('tej-'))) rmdirSync(join(parent, n));
    rmdirSync(parent);
    rmSync(bin, { recursive: true });
    await q.cleanUp();
  };
  return { q, bin, parent, calls, cleanUp };
}

describe('memory by a systemd user scope under direct (the test shim)', { concurrency: SHELLS.length, skip: !hasV1 && 'no cgroup v1 memory controller' }, () => {
  eachShell((shell) => {
    test('chosen before the cgroup; a 300 MB job under 100M: OOM-killed, reason memory from Result=oom-kill', async (t) => {
      const s = await shimQueue(shell);
      t.after(s.cleanUp);
      const { q } = s;
      await q.submit('oom', { command: 'grep memory /proc/self/cgroup; exec dd if=/dev/zero of=/dev/null bs=300M count=1', meta: { memory: '100M' } });
      const rec = await q.waitState('oom', ['finished', 'failed']);
      assert.equal(rec.exit_code, '137', q.jobFile('oom', 'work/tej.stderr'));
      assert.equal(rec.reason, 'memory');
      assert.equal(q.jobFile('oom', 'meta/scope'), `${BYTES}\n`);
      assert.ok(!existsSync(join(q.jobDir('oom'), 'meta', 'cgroup')), 'the scope, not the cgroup');
      assert.equal(q.jobFile('oom', 'meta/limits'), 'memory:100M:yes\n');
      const unit = /^\d+:memory:\/tej-sd-[^/]+\/(tej-oom-\d+)\.scope$/m.exec(q.jobFile('oom', 'work/tej.stdout'))?.[1];
      assert.ok(unit, q.jobFile('oom', 'work/tej.stdout'));
      const lines = s.calls().split('\n');
      assert.match(lines[0]!, PROBE);
      assert.ok(lines[1]!.startsWith(`--user --scope --quiet --unit=${unit} -p MemoryMax=${BYTES} -p MemorySwapMax=0 -- `), lines[1]);
      assert.equal(lines[2], `--user show ${unit}.scope -p Result --value`);
      assert.equal(lines[3], `--user reset-failed ${unit}.scope`);
      assert.deepEqual(readdirSync(s.parent).filter((x) => x.startsWith('tej-')), [], 'reset-failed let the unit go');
      // a job that fails by itself in its scope: systemd says success, no reason
      await q.submit('exit3', { command: 'exit 3', meta: { memory: '100M' } });
      const r3 = await q.waitState('exit3', ['finished', 'failed']);
      assert.equal(r3.exit_code, '3');
      assert.equal(r3.reason, undefined);
      assert.match(s.calls(), /^--user show tej-exit3-\d+\.scope -p Result --value$/m);
      // one that ends well asks systemd nothing after it
      await q.submit('fits', { command: 'dd if=/dev/zero of=/dev/null bs=20M count=1 2>/dev/null', meta: { memory: '100M' } });
      assert.equal((await q.waitState('fits', ['finished', 'failed'])).exit_code, '0');
      assert.doesNotMatch(s.calls(), /show tej-fits-/);
    });

    test('no user manager: the delegated cgroup; an upload cannot forge meta/scope', async (t) => {
      const s = await shimQueue(shell);
      t.after(s.cleanUp);
      const { q } = s;
      writeFileSync(join(s.bin, 'down'), '');
      await q.submit('cg', { command: 'grep memory /proc/self/cgroup', meta: { memory: '100M' } });
      assert.equal((await q.waitState('cg', ['finished', 'failed'])).exit_code, '0', q.jobFile('cg', 'work/tej.stderr'));
      assert.ok(!existsSync(join(q.jobDir('cg'), 'meta', 'scope')));
      assert.equal(q.jobFile('cg', 'meta/cgroup'), `${BYTES} ${s.parent}\n`);
      assert.match(q.jobFile('cg', 'work/tej.stdout'), /:memory:\/tej-sd-[^/]+\/tej-cg\.\d+$/m);
      // the probe was asked, and nothing more of the shim
      assert.equal(s.calls().split('\n').length, 2);
      assert.match(s.calls().split('\n')[0]!, PROBE);
      rmSync(join(s.bin, 'down'));
      // a user manager whose scope sets no memory limit (cgroup v1, hybrid): the cgroup too
      writeFileSync(join(s.bin, 'lax'), '');
      await q.submit('lax', { command: 'true', meta: { memory: '100M' } });
      assert.equal((await q.waitState('lax', ['finished', 'failed'])).exit_code, '0');
      assert.ok(!existsSync(join(q.jobDir('lax'), 'meta', 'scope')));
      assert.equal(q.jobFile('lax', 'meta/cgroup'), `${BYTES} ${s.parent}\n`);
      assert.equal(s.calls().split('\n').length, 3, 'the probe only');
      rmSync(join(s.bin, 'lax'));
      await q.submit('forged', { command: 'grep memory /proc/self/cgroup || true', meta: { scope: '1' } });
      assert.equal((await q.waitState('forged', ['finished', 'failed'])).exit_code, '0');
      assert.ok(!existsSync(join(q.jobDir('forged'), 'meta', 'scope')));
      assert.doesNotMatch(q.jobFile('forged', 'work/tej.stdout'), /tej-forged/);
      assert.equal(s.calls().split('\n').length, 3, 'no memory asked: the shim was not run');
    });
  });
});
