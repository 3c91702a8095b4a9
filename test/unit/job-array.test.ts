// The task list of an array or a sweep (pure logic: src/job/array.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { arrayMetaFiles, parseArraySpec, parseParams, planArray, summarizeTasks, sweep } from '../../src/job/array.js';
import { checkJobId, checkNewJobId } from '../../src/job/id.js';

describe('arrays and sweeps', () => {
  it('reads --array specs: ranges, lists, %K', () => {
    assert.deepEqual(parseArraySpec('0-3'), { indexes: [0, 1, 2, 3] });
    assert.deepEqual(parseArraySpec('1,3,5-7%2'), { indexes: [1, 3, 5, 6, 7], max: 2 });
    assert.deepEqual(parseArraySpec('5,1,1'), { indexes: [1, 5] });
    for (const bad of ['', '3-1', 'a', '1-', '1%0', '1%2%3', '-1', '0-100000']) assert.throws(() => parseArraySpec(bad), /bad --array/, bad);
  });

  it('makes the cartesian product of params, first name slowest, values as strings', () => {
    assert.deepEqual(sweep({ lr: [0.1, 0.01], seed: [1, 2] }), [
      { lr: '0.1', seed: '1' },
      { lr: '0.1', seed: '2' },
      { lr: '0.01', seed: '1' },
      { lr: '0.01', seed: '2' },
    ]);
    assert.deepEqual(parseParams(['a=x,y', 'b=$(id)']), { a: ['x', 'y'], b: ['$(id)'] });
    assert.throws(() => parseParams(['1a=x']), /bad --param/);
    assert.throws(() => parseParams(['PATH x=1']), /bad --param/);
  });

  it('plans an array: indexes, K, each task its environment, as meta/array files', () => {
    assert.equal(planArray({}), undefined);
    assert.throws(() => planArray({ maxRunning: 2 }), /--max-running without/);
    const p = planArray({ params: { lr: ['a', 'b'] }, maxRunning: 1 })!;
    assert.deepEqual(p.indexes, [0, 1]);
    assert.deepEqual(arrayMetaFiles(p), [
      ['array/tasks', '0\n1\n'],
      ['array/max', '1\n'],
      ['array/env/0/lr', 'a'],
      ['array/env/1/lr', 'b'],
    ]);
    assert.deepEqual(planArray({ array: '10-11', tasks: [{ n: 1 }, { n: 'two' }] })!.env, new Map([[10, { n: '1' }], [11, { n: 'two' }]]));
    assert.throws(() => planArray({ array: '0-2', params: { a: [1, 2] } }), /names 3 tasks, the sweep makes 2/);
    assert.throws(() => planArray({ params: { a: [1] }, tasks: [{ a: 1 }] }), /one or the other/);
    assert.equal(planArray({ array: '0-1' })!.maxRunning, 0, 'the host decides');
  });

  it('summarizes the tasks of an array', () => {
    const s = (state: string, exitCode?: number) => ({ state, exitCode });
    assert.equal(summarizeTasks([s('running'), s('queued'), s('queued'), s('finished', 0), s('finished', 1)]), '5 tasks: 1 running, 2 queued, 1 finished, 1 failed');
  });

  it('takes task ids ID/N where jobs are named, never as the id of a new job', () => {
    assert.equal(checkJobId('sweep/12'), 'sweep/12');
    for (const bad of ['sweep/', 'sweep/01', 'sweep/x', 'a/1/2', '/1', '../1']) assert.throws(() => checkJobId(bad), /invalid job id/, bad);
    assert.throws(() => checkNewJobId('sweep/1'), /invalid job id/);
  });
});
