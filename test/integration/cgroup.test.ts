// The memory limit by a delegated cgroup v1 (lib/cgroup.sh, README "Limits"), over real SSH: the test
// delegates a memory cgroup to the lab's alice as root would (the lab hosts share this machine's cgroup
// mounts), names it in her queue's memory-cgroup file, and a job that allocates 300 MB under --mem 100M is
// killed by the kernel and reported with the reason memory; without the cgroup, ulimit -v applies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';
import { expectMemoryKill } from '../helpers/memory-kill.js';

const V1 = '/sys/fs/cgroup/memory';
const ALICE_UID = 2001; // test/lab/lab.sh's USERS
// dd reads 300 MB from /dev/zero into one buffer: every page of it is touched (coreutils only)
const ALLOC_300M = 'dd if=/dev/zero of=/dev/null bs=300M count=1\n';

describe('the memory limit by a delegated cgroup v1, over real SSH', { skip: !existsSync(`${V1}/memory.limit_in_bytes`) && 'no cgroup v1 memory controller here' }, () => {
  // one parent per run: CI runs three suites at once on this machine's one cgroup tree
  const parent = join(V1, `tej-test-${process.pid}-${randomBytes(4).toString('hex')}`);
  const sshHost = useSshHost({ jobsPrefix: 'tej-cgroup-', setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const stdout = async (id: string) => (await sshHost.lab.execAs('h1', 'alice', `cat ~/.tej/jobs/${id}/work/tej.stdout`)).stdout;
  const useCgroup = async (path: string) => ok(await sshHost.lab.execAs('h1', 'alice', `printf '%s\\n' '${path}' > ~/.tej/memory-cgroup`));
  const children = async () => (await readdir(parent)).filter((n) => n.startsWith('tej-'));

  before(async () => {
    // the recipe's delegation: root makes the parent and its cap, alice gets the directory only
    await mkdir(parent);
    await writeFile(join(parent, 'memory.limit_in_bytes'), '1G\n');
    await chown(parent, ALICE_UID, ALICE_UID);
  });
  after(async () => {
    for (const n of await children().catch(() => [])) await rmdir(join(parent, n)).catch(() => undefined);
    await rmdir(parent);
  });

  it('a 300 MB allocation under --mem 100M is killed by the kernel and reported with the reason memory', async () => {
    await useCgroup(parent);
    const dir = await makeJob(join(sshHost.jobs, 'oom'), { 'start.sh': `grep memory /proc/self/cgroup\n${ALLOC_300M}` });
    await expectMemoryKill(run, 'oom', dir);
    // the job ran in its own cgroup under the delegated parent, and dd never finished its read
    const out = await stdout('oom');
    assert.match(out, new RegExp(`^\\d+:memory:/${parent.slice(V1.length + 1)}/tej-oom\\.\\d+$`, 'm'));
    const status = await run(['status', 'h1', '--id', 'oom', '--json']);
    assert.equal(status.code, 4, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { reason: string | null }).reason, 'memory');
    assert.match((await run(['status', 'h1', '--id', 'oom'])).stdout, /\[memory limit\]/);
    assert.deepEqual(await children(), [], "the job's cgroup is removed after it");
  });

  it('a job within its limit ends well, with no reason, in a cgroup that is removed after it', async () => {
    await useCgroup(parent);
    const dir = await makeJob(join(sshHost.jobs, 'fits'), { 'start.sh': 'dd if=/dev/zero of=/dev/null bs=20M count=1 2>/dev/null\ngrep memory /proc/self/cgroup\n' });
    ok(await run(['submit', 'h1', '--id', 'fits', '--mem', '100M', dir]));
    ok(await run(['wait', 'h1', '--id', 'fits']));
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'fits', '--json']))) as { exit_code: number; reason: string | null };
    assert.equal(rec.exit_code, 0);
    assert.equal(rec.reason, null);
    assert.match(await stdout('fits'), /:memory:\/tej-test-[^/]+\/tej-fits\.\d+$/m);
    assert.deepEqual(await children(), []);
  });

  it('without a cgroup alice may write, the memory limit falls back to ulimit -v', async () => {
    // the root of the hierarchy: there, but not alice's to write
    await useCgroup(V1);
    const dir = await makeJob(join(sshHost.jobs, 'ulimit'), { 'start.sh': "grep '^Max address space' /proc/self/limits\ngrep memory /proc/self/cgroup\n" });
    ok(await run(['submit', 'h1', '--id', 'ulimit', '--mem', '100M', dir]));
    ok(await run(['wait', 'h1', '--id', 'ulimit']));
    const out = await stdout('ulimit');
    assert.match(out, /^Max address space +104857600 +104857600 +bytes/m);
    assert.doesNotMatch(out, /tej-ulimit\./);
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'ulimit', '--json']))) as { limits: unknown };
    const meta = (await sshHost.lab.execAs('h1', 'alice', 'cd ~/.tej/jobs/ulimit && ls meta; cat meta/limits meta/ulimit')).stdout;
    assert.deepEqual(rec.limits, { memory: { value: '100M', enforced: true } }, meta);
  });
});
