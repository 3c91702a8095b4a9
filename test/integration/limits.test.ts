// Limits under direct end to end (docs/protocol.md, "Limits"): tej submit's flags over real SSH, as the
// lab's unprivileged user (root ignores RLIMIT_NPROC, so this is where max_processes shows), and the
// refusal of what direct cannot honour.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, ok, tej } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

describe('limits under direct, over real SSH', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-limits-' });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const stdout = async (id: string) => (await sshHost.lab.execAs('h1', 'alice', `cat ~/.tej/jobs/${id}/work/tej.stdout`)).stdout;

  // RLIMIT_NPROC counts all of alice's processes on the host (her sessions, other tests' jobs, other
  // runs on the machine): how many the loop starts depends on them, so here the job shows the limit it
  // runs under, a limit above what alice may have running (below it the job could not even start: GNU
  // time's fork fails, 125); test/remote-scripts/limits.test.ts stops a fork loop as a user of its own.
  it('--max-processes sets the process limit the job runs under, shown as enforced', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'bounded'), { 'start.sh': "grep '^Max processes' /proc/self/limits\n" });
    ok(await run(['submit', 'h1', '--id', 'bounded', '--max-processes', '4000', dir]));
    ok(await run(['wait', 'h1', '--id', 'bounded']));
    assert.match(await stdout('bounded'), /^Max processes +4000 +4000 +processes/m);
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'bounded', '--json']))) as { limits: unknown };
    assert.deepEqual(rec.limits, { max_processes: { value: '4000', enforced: true } });
  });

  // the first N cpus (README, "Limits"); as many as the host has or more need no pinning
  it('--cpus 1 pins the job to the first cpu with taskset, shown as enforced', { skip: availableParallelism() < 2 && 'one cpu: nothing to pin' }, async () => {
    const dir = await makeJob(join(sshHost.jobs, 'pinned'), { 'start.sh': "grep '^Cpus_allowed_list' /proc/self/status\n" });
    ok(await run(['submit', 'h1', '--id', 'pinned', '--cpus', '1', dir]));
    ok(await run(['wait', 'h1', '--id', 'pinned']));
    assert.match(await stdout('pinned'), /^Cpus_allowed_list:\s+0$/m);
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'pinned', '--json']))) as { limits: unknown };
    assert.deepEqual(rec.limits, { cpus: { value: '1', enforced: true } });
  });

  it('--gpus 1 is refused (69) unless --allow-unenforced, and then shown as not enforced', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'gpu'), { 'start.sh': 'echo ran\n' });
    const refused = await run(['submit', 'h1', '--id', 'gpu', '--gpus', '1', dir]);
    assert.equal(refused.code, 69, refused.stderr);
    assert.match(refused.stderr, /cannot enforce gpus 1 on this host.*--allow-unenforced/);
    ok(await run(['submit', 'h1', '--id', 'gpu', '--gpus', '1', '--allow-unenforced', dir]));
    ok(await run(['wait', 'h1', '--id', 'gpu']));
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'gpu', '--json']))) as { limits: unknown; exit_code: number };
    assert.equal(rec.exit_code, 0);
    assert.deepEqual(rec.limits, { gpus: { value: '1', enforced: false } });
    assert.match(ok(await run(['show', 'h1', '--id', 'gpu'])), /^limits: +gpus 1 \(not enforced\)$/m);
  });
});
