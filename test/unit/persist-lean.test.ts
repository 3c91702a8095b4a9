// Which command lines the lean client (src/persist/lean-client.ts) sends to a master's worker, and
// which it leaves to the full CLI.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, chmodSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { leanAlias } from '../../src/persist/lean-client.js';
import { aliasPath } from '../../src/persist/paths.js';

describe('lean client', () => {
  const runtime = mkdtempSync(join(tmpdir(), 'tej-lean-'));
  const dir = join(runtime, 'tej');
  mkdirSync(dir, { mode: 0o700 });
  const env = { XDG_RUNTIME_DIR: runtime };
  after(() => rmSync(runtime, { recursive: true, force: true }));

  it('takes a host command with --persist (or TEJ_PERSIST) and the destination first', () => {
    const h1 = aliasPath(dir, 'h1');
    assert.equal(leanAlias(['status', 'h1', '--id', 'x', '--persist'], env), h1);
    assert.equal(leanAlias(['status', 'h1', '--persist', '10m', '--id', 'x'], env), h1);
    assert.equal(leanAlias(['logs', 'h1', '--id', 'x', '-f', '--persist=1h'], env), h1);
    assert.equal(leanAlias(['list', 'h1'], { ...env, TEJ_PERSIST: '5m' }), h1);
    assert.equal(leanAlias(['list', 'alice@h1:22', '--persist'], env), aliasPath(dir, 'alice@h1:22'));
  });

  it('leaves the rest to the full CLI', () => {
    for (const args of [
      ['status', 'h1', '--id', 'x'],
      ['status', 'h1', '--persist', 'off'],
      ['status', 'h1', '--persist=no'],
      ['list', 'h1', '--persist', 'false', '--json'],
      ['disconnect', 'h1', '--persist'],
      ['completion', '--persist'],
      ['status', '--id', 'x', 'h1', '--persist'],
      ['status', 'h1', '--persist', '--help'],
      ['list', 'local', '--persist'],
      ['download', 'h1', '--id', 'x', '--', '--persist'],
    ]) {
      assert.equal(leanAlias(args, env), undefined, args.join(' '));
    }
    assert.equal(leanAlias(['list', 'h1'], { ...env, TEJ_PERSIST: '' }), undefined);
    assert.equal(leanAlias(['list', 'h1', '--persist', 'off'], { ...env, TEJ_PERSIST: '5m' }), undefined, 'the flag wins');
  });

  it('leaves a socket directory that is open to others to the full CLI, which refuses it', () => {
    chmodSync(dir, 0o755);
    try {
      assert.equal(leanAlias(['list', 'h1', '--persist'], env), undefined);
    } finally {
      chmodSync(dir, 0o700);
    }
    assert.equal(leanAlias(['list', 'h1', '--persist'], { XDG_RUNTIME_DIR: join(runtime, 'none') }), undefined);
  });
});
