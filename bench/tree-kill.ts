// Bench helper: the tree kill of a host without /proc and without setsid (lib/kill.sh's ps fallback), at
// the helper level (no sshd): a job of 20 processes killed with `kill --grace 1`, and a job that hits a
// 2 s time limit, under busybox ps and procps ps. Prints, per case, the wall-clock time and how many
// times ps ran (a PATH shim counting its execs, then a plain link for the timed runs).
//   node --import tsx bench/tree-kill.ts [--scripts DIR] [--reps N] [--shell dash] [--only REGEX]
// --scripts: the remote-scripts/ to measure (another tree's, for an A/B run in the same minute).
// 2026-12-05, dash, interleaved with main's scripts (h/tree-kill-ps, one ps listing per round of the walk):
//   busybox ps, load 27-37: kill 4.2 s and 5.9 s (11 ps) against 112 s (347 ps); time limit to timeout
//   4.0 s and 11.1 s (14-15 ps) against 72 s (357 ps).
//   procps ps, load 31-45: kill 3.4 s (7 ps) against 117 s (120 ps); time limit 7.9 s (9 ps) against 42 s (122 ps).
import { cpSync, existsSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HelperQueue, manifestOf, TEST_HASH, waitFor } from '../test/remote-scripts/_queue.js';
import { NO_PROC, SHELLS } from '../test/remote-scripts/_shells.js';

const { values: opts } = parseArgs({
  options: { scripts: { type: 'string' }, reps: { type: 'string' }, shell: { type: 'string' }, only: { type: 'string' } },
});
const REPS = Number(opts.reps ?? 3);
const shells = SHELLS.filter((s) => !opts.shell || s.name === opts.shell);

// 1 job shell + 6 subshells, each with a subshell of its own and 2 sleeps = 25 processes under the wrapper.
const TREE = [
  'for i in 1 2 3 4 5 6; do',
  '  ( ( sleep "300$i" & wait ) & sleep "301$i" & wait ) &',
  'done',
  'echo ready > ready',
  'wait',
  '',
].join('\n');
const SLEEPS = /^sleep 30[01]\d$/;
const sleeps = (q: HelperQueue) => q.commandLines().filter((c) => SLEEPS.test(c));

/** A bare userland queue (no setsid) without /proc, whose ps is busybox's or procps', counted or not. */
async function queue(shell: (typeof SHELLS)[number], ps: 'busybox' | 'procps', log?: string): Promise<HelperQueue> {
  const q = new HelperQueue(shell, { bare: true, env: NO_PROC });
  if (opts.scripts) {
    cpSync(opts.scripts, q.root, { recursive: true });
    writeFileSync(join(q.root, 'VERSION'), `proto=1\nversion=0.0.0-test\nhash=${TEST_HASH}\n`);
    rmSync(join(q.root, 'MANIFEST'));
    writeFileSync(join(q.root, 'MANIFEST'), manifestOf(q.root));
  }
  const bin = join(q.tmp, 'bin', 'ps');
  const real = ps === 'busybox' ? 'busybox ps' : '/usr/bin/ps';
  unlinkSync(bin);
  if (log) writeFileSync(bin, `#!/bin/sh\necho x >>'${log}'\nexec ${real} "$@"\n`, { mode: 0o755 });
  else if (ps === 'procps') symlinkSync('/usr/bin/ps', bin);
  else symlinkSync(join(q.tmp, 'bin', 'busybox'), bin);
  const r = await q.run(['setup']);
  if (r.code !== 0) throw new Error(`setup: ${r.stderr}`);
  return q;
}

const count = (log: string) => {
  try {
    return readFileSync(log, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
};

async function killCase(shell: (typeof SHELLS)[number], ps: 'busybox' | 'procps', counted: boolean): Promise<[number, number]> {
  const log = counted ? `/tmp/tree-kill-ps-${process.pid}.log` : undefined;
  const q = await queue(shell, ps, log);
  try {
    await q.submit('tree', { script: 'run.sh', files: { 'run.sh': TREE } });
    await waitFor('the tree', () => (sleeps(q).length >= 12 ? true : undefined), undefined, 300_000);
    if (log) rmSync(log, { force: true });
    const t0 = performance.now();
    const k = await q.run(['kill', 'tree', '--grace', '1']);
    const ms = performance.now() - t0;
    if (k.code !== 0) throw new Error(`kill: ${k.stderr}`);
    if (sleeps(q).length) throw new Error('processes left');
    return [ms, log ? count(log) : 0];
  } finally {
    if (log) rmSync(log, { force: true });
    await q.cleanUp();
  }
}

async function limitCase(shell: (typeof SHELLS)[number], ps: 'busybox' | 'procps', counted: boolean): Promise<[number, number]> {
  const log = counted ? `/tmp/tree-kill-ps-${process.pid}.log` : undefined;
  const q = await queue(shell, ps, log);
  try {
    await q.submit('slow', { script: 'run.sh', timeLimit: 2, files: { 'run.sh': TREE } });
    const t0 = performance.now();
    await waitFor('the tree', () => (sleeps(q).length >= 12 ? true : undefined), undefined, 300_000);
    if (log) rmSync(log, { force: true });
    // the exit code is written last (finish): waiting on the file runs no ps, as status would
    await waitFor('the job to end', () => (existsSync(join(q.jobDir('slow'), 'exit-code')) ? true : undefined), undefined, 600_000);
    const ms = performance.now() - t0;
    const n = log ? count(log) : 0;
    if ((await q.status('slow')).state !== 'timeout') throw new Error('not timeout');
    if (sleeps(q).length) throw new Error('processes left');
    return [ms, n];
  } finally {
    if (log) rmSync(log, { force: true });
    await q.cleanUp();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const shell of shells) {
  for (const ps of ['busybox', 'procps'] as const) {
    for (const [name, fn] of [['kill', killCase], ['time-limit', limitCase]] as const) {
      const label = `${name} ${shell.name} ${ps} ps`;
      if (opts.only && !new RegExp(opts.only).test(label)) continue;
      const times: number[] = [];
      const counts: number[] = [];
      for (let i = 0; i < REPS; i++) {
        times.push((await fn(shell, ps, false))[0]);
        counts.push((await fn(shell, ps, true))[1]);
      }
      console.log(`${label}: ${median(times).toFixed(0)} ms (${times.map((t) => t.toFixed(0)).join(' ')}), ps execs ${counts.join(' ')}`);
    }
  }
}
