// The warning for limits Slurm ignores (src/job/ignored-limits.ts): pure logic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ignoredLimits, ignoredLimitsWarning } from '../../src/job/ignored-limits.js';

test('slurm ignores max_processes and cpu_time; direct and the rest ignore nothing', () => {
  assert.deepEqual(ignoredLimits('slurm', { max_processes: 20, cpu_time: 60 }), ['max_processes 20', 'cpu_time 60']);
  assert.deepEqual(ignoredLimits('slurm', { cpu_time: 5 }), ['cpu_time 5']);
  assert.deepEqual(ignoredLimits('slurm', {}), []);
  assert.deepEqual(ignoredLimits('direct', { max_processes: 20, cpu_time: 60 }), []);
  assert.deepEqual(ignoredLimits(undefined, { max_processes: 20 }), []);
});

test('the warning is one stderr line naming what runs unenforced, none when nothing is', () => {
  assert.equal(ignoredLimitsWarning('slurm', { max_processes: 20 }), "tej: warning: the slurm plugin does not enforce max_processes 20: the job runs without it (Slurm limits a job's memory and time, not its processes or CPU seconds)\n");
  assert.match(ignoredLimitsWarning('slurm', { max_processes: 2, cpu_time: 3 }) ?? '', /max_processes 2, cpu_time 3: the job runs without them/);
  assert.equal(ignoredLimitsWarning('slurm', {}), undefined);
  assert.equal(ignoredLimitsWarning('direct', { cpu_time: 3 }), undefined);
});
