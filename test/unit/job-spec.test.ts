// Merging job descriptions in layers (tej.json, then the command line) and turning them into resources.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { mergeSpecs, specResources } from '../../src/job/spec.js';
import { describeStatus } from '../../src/job/status.js';

describe('mergeSpecs', () => {
  it('lets a later layer win field by field, and skips undefined values and missing layers', () => {
    const merged = mergeSpecs(
      { cpus: 2, memory: '1G', time_limit: '1h', plugin: 'direct' },
      undefined,
      { cpus: 8, time_limit: undefined, plugin: 'slurm' },
    );
    assert.deepEqual(merged, { cpus: 8, memory: '1G', time_limit: '1h', plugin: 'slurm' });
  });

  it('merges env, labels and slurm key by key, and adds up sbatch_args in layer order', () => {
    const merged = mergeSpecs(
      { env: { A: '1', B: '2' }, labels: { x: 'a' }, slurm: { partition: 'p1', account: 'acc', sbatch_args: ['--nice=1'] } },
      { env: { B: '3' }, labels: { y: 'b' }, slurm: { partition: 'p2', sbatch_args: ['--nice=2', '--exclusive'] } },
    );
    assert.deepEqual(merged, {
      env: { A: '1', B: '3' },
      labels: { x: 'a', y: 'b' },
      slurm: { partition: 'p2', account: 'acc', sbatch_args: ['--nice=1', '--nice=2', '--exclusive'] },
    });
  });

  it('keeps only the script or the command of the layer that named one last', () => {
    assert.deepEqual(mergeSpecs({ script: 'a.sh' }, { command: 'echo hi' }), { command: 'echo hi' });
    assert.deepEqual(mergeSpecs({ command: 'echo hi' }, { script: 'b.sh' }), { script: 'b.sh' });
    assert.deepEqual(mergeSpecs({ script: 'a.sh' }, { cpus: 1 }), { script: 'a.sh', cpus: 1 });
  });

  it('does not change its layers', () => {
    const low = { env: { A: '1' }, slurm: { sbatch_args: ['x'] } };
    mergeSpecs(low, { env: { A: '2' }, slurm: { sbatch_args: ['y'] } });
    assert.deepEqual(low, { env: { A: '1' }, slurm: { sbatch_args: ['x'] } });
  });
});

describe('specResources', () => {
  it('turns the resource fields into what meta/ holds', () => {
    assert.deepEqual(
      specResources({ cpus: 4, time_limit: '1h30m', memory: '4G', gpus: 2, slurm: { partition: 'gpu', qos: 'high', account: 'p', sbatch_args: ['--exclusive'] } }),
      { nproc: 4, timeLimit: 5400, memory: '4G', gpus: 2, slurm: { partition: 'gpu', account: 'p', qos: 'high', args: ['--exclusive'] } },
    );
  });

  it('leaves out what is not set, and an empty slurm section', () => {
    assert.deepEqual(specResources({ script: 'a.sh', env: { A: '1' } }), {});
    assert.deepEqual(specResources({ slurm: { sbatch_args: [] } }), {});
    assert.deepEqual(specResources({ gpus: 0 }), { gpus: 0 });
  });

  it('rejects a bad time limit with a ConfigError', () => {
    assert.throws(() => specResources({ time_limit: 'soon' }), ConfigError);
  });
});

describe('describeStatus with a native state', () => {
  it('adds the native state when it tells why the job ended, and only then', () => {
    const ended = { id: 'a', state: 'finished', exitCode: 137, elapsed: 5 } as const;
    assert.equal(describeStatus({ ...ended, nativeState: 'OUT_OF_MEMORY' }), 'finished (exit 137, 0:05) [OUT_OF_MEMORY]');
    assert.equal(describeStatus({ id: 'a', state: 'lost', nativeState: 'NODE_FAIL' }), 'lost [NODE_FAIL]');
    assert.equal(describeStatus({ ...ended, exitCode: 3, nativeState: 'FAILED' }), 'finished (exit 3, 0:05)');
    assert.equal(describeStatus({ id: 'a', state: 'queued', nativeState: 'PENDING' }), 'queued');
  });
});
