// What tej takes from ~/.ssh/config, read as OpenSSH reads it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import SSHConfig from 'ssh-config';
import { parseDestination } from '../../src/destination.js';
import { jumpHops, resolveTarget } from '../../src/ssh/config.js';

const config = SSHConfig.parse(`
Host aliased
  HostName 10.0.0.5
  Port 2222
  HostKeyAlias cluster-login
  ServerAliveInterval 5
  ServerAliveCountMax 2

Host plain
  HostName 10.0.0.6
  Port 2222
`);

const target = (name: string) => resolveTarget(parseDestination(name), config, name);

describe('ssh config', () => {
  it('looks a HostKeyAlias up as is, and a host by name (the port is added later)', () => {
    assert.deepEqual([target('aliased').hostKeyName, target('aliased').hostKeyAliased], ['cluster-login', true]);
    assert.deepEqual([target('plain').hostKeyName, target('plain').hostKeyAliased, target('plain').port], ['10.0.0.6', false, 2222]);
  });

  it('takes ServerAliveInterval and ServerAliveCountMax when set, and leaves them to tej otherwise', () => {
    assert.deepEqual([target('aliased').serverAliveIntervalMs, target('aliased').serverAliveCountMax], [5000, 2]);
    assert.deepEqual([target('plain').serverAliveIntervalMs, target('plain').serverAliveCountMax], [undefined, undefined]);
  });

  it('reads ProxyJump hops as OpenSSH does: [user@]host[:port], [v6]:port and ssh:// URLs', () => {
    const cfg = SSHConfig.parse('Host viaport\n  HostName 10.0.0.7\n  ProxyJump alice@jump.example:2222, ssh://bob@j2:22,j3,[fe80::1]:2200,carol@[::1]\n');
    const hops = jumpHops(resolveTarget(parseDestination('viaport'), cfg, 'viaport').proxyJump!);
    assert.deepEqual(hops.map(parseDestination), [
      { user: 'alice', host: 'jump.example', port: 2222 },
      { user: 'bob', host: 'j2', port: 22 },
      { user: undefined, host: 'j3', port: undefined },
      { user: undefined, host: 'fe80::1', port: 2200 },
      { user: 'carol', host: '::1', port: undefined },
    ]);
    assert.throws(() => jumpHops('alice@j:99999').map(parseDestination), /port 99999 is out of range/);
  });
});
