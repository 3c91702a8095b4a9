import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configFor, configPath, hostEntry, loadConfig, validateConfig, type TejConfig } from '../../src/config.js';
import { mergeSpecs } from '../../src/job/spec.js';
import { ConfigError } from '../../src/errors.js';

const config: TejConfig = {
  defaults: { queue: '~/.tej', plugin: 'direct', resources: { cpus: 1, time_limit: '1h', slurm: { partition: 'short' } } },
  hosts: {
    cluster: { queue: '~/scratch/tej', plugin: 'slurm', resources: { cpus: 4, slurm: { account: 'lab' } } },
    'alice@hpc': { queue: '~/alice-q' },
    hpc: { queue: '~/hpc-q', resources: { memory: '4G' } },
    local: { queue: '/tmp/q' },
  },
};

describe('config file', () => {
  it('lives under XDG_CONFIG_HOME, else ~/.config; a relative XDG_CONFIG_HOME is ignored', () => {
    assert.equal(configPath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/a' }), '/x/cfg/tej/config.json');
    assert.equal(configPath({ HOME: '/home/a' }), '/home/a/.config/tej/config.json');
    assert.equal(configPath({ XDG_CONFIG_HOME: 'rel', HOME: '/home/a' }), '/home/a/.config/tej/config.json');
  });

  it('finds a host by the destination as typed, then by host name, and "local" for this machine', () => {
    assert.equal(hostEntry(config, 'cluster')?.queue, '~/scratch/tej');
    assert.equal(hostEntry(config, 'alice@hpc')?.queue, '~/alice-q', 'the exact destination first');
    assert.equal(hostEntry(config, 'bob@hpc')?.queue, '~/hpc-q', 'then the host name');
    assert.equal(hostEntry(config, 'ssh://bob@hpc:2222')?.queue, '~/hpc-q');
    assert.equal(hostEntry(config, undefined)?.queue, '/tmp/q');
    assert.equal(hostEntry(config, 'elsewhere'), undefined);
    assert.equal(hostEntry(config, 'toString'), undefined, 'no inherited keys');
  });

  it('lays the host entry over the defaults, field by field, plugin options too', () => {
    assert.deepEqual(configFor(config, 'cluster'), {
      queue: '~/scratch/tej',
      plugin: 'slurm',
      resources: { cpus: 4, time_limit: '1h', slurm: { partition: 'short', account: 'lab' } },
    });
    assert.deepEqual(configFor(config, 'elsewhere'), config.defaults);
    assert.deepEqual(configFor({}, 'x'), { queue: undefined, plugin: undefined, resources: {} });
  });

  it('puts tej.json above the config resources (the layer order submit uses)', () => {
    const spec = mergeSpecs({ cpus: 4, memory: '2G', slurm: { partition: 'p' } }, { cpus: 8, script: 'run.sh', slurm: { qos: 'hi' } });
    assert.deepEqual(spec, { cpus: 8, memory: '2G', script: 'run.sh', slurm: { partition: 'p', qos: 'hi' } });
  });

  it('rejects unknown fields and bad values with the file and the field path', async () => {
    await assert.rejects(validateConfig({ hosts: { h1: { resources: { cpus: 0, colour: 'x' } } }, extra: 1 }, '/c.json'), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.equal((e as ConfigError).exitCode, 78);
      assert.match(e.message, /^\/c\.json is not a valid tej configuration/);
      assert.match(e.message, /\/hosts\/h1\/resources\/cpus: must be >= 1/);
      assert.match(e.message, /\/hosts\/h1\/resources: unknown field 'colour'/);
      assert.match(e.message, /\(top level\): unknown field 'extra'/);
      return true;
    });
    await assert.rejects(validateConfig({ defaults: { resources: { time_limit: 'soon' } } }, 'c'), /\/defaults\/resources\/time_limit: must match pattern/);
    await assert.rejects(validateConfig({ defaults: { plugin: 'Bad Name' } }, 'c'), /\/defaults\/plugin: must match pattern/);
    assert.deepEqual(await validateConfig(config, 'c'), config);
  });

  it('reads no file as an empty configuration, and names the file when it is not JSON', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tej-config-'));
    try {
      assert.deepEqual(await loadConfig(join(dir, 'none.json')), {});
      await writeFile(join(dir, 'bad.json'), '{ "defaults": ');
      await assert.rejects(loadConfig(join(dir, 'bad.json')), (e: Error) => e instanceof ConfigError && e.message.includes(join(dir, 'bad.json')) && /not valid JSON/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
