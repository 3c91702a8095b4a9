// One check of the memory-limit suites (cgroup.test.ts, scope.test.ts): a job submitted under --mem 100M
// that the kernel stops fails, and show --json gives the reason memory and the limit as enforced.
import assert from 'node:assert/strict';
import { ok, type TejRun } from './cli.js';

/** Submits DIR as job ID on h1 under --mem 100M, waits for it, and asserts that it was stopped for memory. */
export async function expectMemoryKill(run: (args: string[]) => Promise<TejRun>, id: string, dir: string): Promise<void> {
  ok(await run(['submit', 'h1', '--id', id, '--mem', '100M', dir]));
  assert.equal((await run(['wait', 'h1', '--id', id])).code, 4, 'wait: the job failed');
  const rec = JSON.parse(ok(await run(['show', 'h1', '--id', id, '--json']))) as { exit_code: number; reason: string | null; limits: unknown };
  assert.notEqual(rec.exit_code, 0);
  assert.equal(rec.reason, 'memory');
  assert.deepEqual(rec.limits, { memory: { value: '100M', enforced: true } });
}
