// --persist / TEJ_PERSIST / config `persist`, and where the sockets live.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { normalizePersistArgs, persistSeconds } from '../../src/cli/persist.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { socketDir, socketDirPath, socketPath } from '../../src/persist/paths.js';
import type { SshTarget } from '../../src/ssh/config.js';

const target: SshTarget = {
  alias: 'hpc', host: 'hpc.example.org', port: 22, user: 'alice', identityFiles: ['/home/alice/.ssh/id_ed25519'],
  identitiesOnly: false, knownHostsFiles: ['/home/alice/.ssh/known_hosts'], hostKeyName: 'hpc.example.org',
  hostKeyAliased: false, connectTimeoutMs: 20_000,
};

describe('persist options', () => {
  it('reads the flag first, then TEJ_PERSIST, then the config file; off by default', () => {
    assert.equal(persistSeconds(undefined, undefined, undefined), undefined);
    assert.equal(persistSeconds('10m', '1h', '2h'), 600);
    assert.equal(persistSeconds(undefined, '1h', '2h'), 3600);
    assert.equal(persistSeconds(undefined, '', '2h'), 7200);
    assert.equal(persistSeconds(undefined, undefined, true), 600);
    assert.equal(persistSeconds(undefined, undefined, false), undefined);
    assert.equal(persistSeconds('off', '1h', '2h'), undefined, 'the flag can turn it off');
    assert.equal(persistSeconds('on', undefined, undefined), 600);
    assert.equal(persistSeconds('90', undefined, undefined), 90);
  });

  it('names the source of a bad value: usage for the flag and env, config for the file', () => {
    assert.throws(() => persistSeconds('soon', undefined, undefined), (e) => e instanceof UsageError && /--persist 'soon'/.test(e.message));
    assert.throws(() => persistSeconds(undefined, 'x', undefined), (e) => e instanceof UsageError && /TEJ_PERSIST/.test(e.message));
    assert.throws(() => persistSeconds(undefined, undefined, 'x'), (e) => e instanceof ConfigError);
  });

  it('never lets a bare --persist swallow a destination', () => {
    assert.deepEqual(normalizePersistArgs(['list', '--persist', 'h1']), ['list', '--persist=on', 'h1']);
    assert.deepEqual(normalizePersistArgs(['list', 'h1', '--persist', '10m']), ['list', 'h1', '--persist=10m']);
    assert.deepEqual(normalizePersistArgs(['list', 'h1', '--persist']), ['list', 'h1', '--persist=on']);
    assert.deepEqual(normalizePersistArgs(['list', '--persist', 'off', 'h1']), ['list', '--persist=off', 'h1']);
    assert.deepEqual(normalizePersistArgs(['list', '--persist=2s']), ['list', '--persist=2s']);
    assert.deepEqual(normalizePersistArgs(['submit', '--', '--persist']), ['submit', '--', '--persist']);
  });
});

describe('persist socket directory', () => {
  it('is $XDG_RUNTIME_DIR/tej, else tej-<uid> in the temporary directory', () => {
    assert.equal(socketDirPath({ XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/tej');
    assert.equal(socketDirPath({ XDG_RUNTIME_DIR: 'relative' }), join(tmpdir(), `tej-${process.getuid!()}`));
  });

  it('is created 0700, and refused when open to others', async (t) => {
    const base = await mkdtemp(join(tmpdir(), 'tej-persist-unit-'));
    t.after(() => rm(base, { recursive: true, force: true }));
    const env = { XDG_RUNTIME_DIR: base };
    const dir = socketDir(env);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    assert.equal(socketDir(env), dir, 'an existing private directory is fine');
    await chmod(dir, 0o710);
    assert.throws(() => socketDir(env), (e: Error & { exitCode?: number; hint?: string }) => e.exitCode === 77 && /open to others \(mode 710\)/.test(e.message) && /chmod 700/.test(e.hint ?? ''));
  });

  it('names each connection by a short hash of what identifies it', () => {
    const a = socketPath('/run/user/1000/tej', target);
    assert.match(a, /^\/run\/user\/1000\/tej\/[0-9a-f]{20}\.sock$/);
    assert.equal(socketPath('/run/user/1000/tej', { ...target, alias: 'other-alias' }), a, 'the alias typed does not matter');
    for (const change of [{ user: 'bob' }, { port: 2222 }, { proxyJump: 'gw' }, { identityFiles: ['/k'] }, { host: 'x' }]) {
      assert.notEqual(socketPath('/run/user/1000/tej', { ...target, ...change }), a, JSON.stringify(change));
    }
    assert.throws(() => socketPath(`/${'d'.repeat(80)}/tej`, target), (e) => e instanceof ConfigError && e.exitCode === 78 && /too long/.test(e.message));
  });
});
