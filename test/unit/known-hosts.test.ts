import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { addKnownHost, hostFieldMatches, knownHostsName, loadKnownHosts, parseKnownHosts, verifyHostKey } from '../../src/ssh/known-hosts.js';

const KEY_A = 'AAAAC3NzaC1lZDI1NTE5AAAAIKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
const KEY_B = 'AAAAC3NzaC1lZDI1NTE5AAAAIKeyBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB';

describe('known_hosts', () => {
  it('names non-default ports as [host]:port', () => {
    assert.equal(knownHostsName('h', 22), 'h');
    assert.equal(knownHostsName('h', 2222), '[h]:2222');
  });

  it('matches patterns, wildcards and negations as OpenSSH does', () => {
    assert.ok(hostFieldMatches('a,b,c', 'b'));
    assert.ok(hostFieldMatches('*.lab', 'x.lab'));
    assert.ok(!hostFieldMatches('*.lab,!bad.lab', 'bad.lab'));
    assert.ok(hostFieldMatches('[h]:2222', '[h]:2222'));
    assert.ok(!hostFieldMatches('h', '[h]:2222'));
  });

  it('recognises known, changed, unknown and revoked keys', () => {
    const entries = parseKnownHosts(`# comment\nhpc ssh-ed25519 ${KEY_A}\n@revoked * ssh-ed25519 ${KEY_B}\n`, 'kh');
    assert.equal(verifyHostKey(entries, 'hpc', 'ssh-ed25519', KEY_A).kind, 'known');
    assert.equal(verifyHostKey(entries, 'other', 'ssh-ed25519', KEY_A).kind, 'unknown');
    assert.equal(verifyHostKey(entries, 'hpc', 'ssh-ed25519', KEY_B).kind, 'revoked');
    const changed = verifyHostKey(parseKnownHosts(`hpc ssh-ed25519 ${KEY_A}\n`, 'kh'), 'hpc', 'ssh-ed25519', KEY_B);
    assert.equal(changed.kind, 'changed');
  });

  it('writes hashed entries that it (and OpenSSH) can match', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tej-kh-'));
    try {
      const file = join(dir, 'sub', 'known_hosts');
      await addKnownHost(file, '[10.1.2.3]:2222', 'ssh-ed25519', KEY_A);
      const text = await readFile(file, 'utf8');
      assert.match(text, /^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
      assert.ok(!text.includes('10.1.2.3'));
      const entries = await loadKnownHosts([file, join(dir, 'missing')]);
      assert.equal(verifyHostKey(entries, '[10.1.2.3]:2222', 'ssh-ed25519', KEY_A).kind, 'known');
      assert.equal(verifyHostKey(entries, '10.1.2.3', 'ssh-ed25519', KEY_A).kind, 'unknown');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
