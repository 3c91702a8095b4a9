// --accept-new-host-key records the key in known_hosts and says so; when it cannot be recorded, it says
// that and why instead (the connection still goes on, as OpenSSH's accept-new does). Against an
// in-process ssh2 server.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { ed25519KeyPair } from '../helpers/ssh-keys.js';
import type { TejEvent } from '../../src/events.js';
import { SshTransport } from '../../src/transport/ssh.js';

describe('accepting a new host key', () => {
  let home: string;
  let server: InstanceType<typeof ssh2.Server>;
  let port: number;
  const savedHome = process.env.HOME;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'tej-accept-new-'));
    const hostKey = ed25519KeyPair();
    const clientKey = ed25519KeyPair();
    server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
      client.on('authentication', (ctx) => ctx.accept());
      client.on('ready', () => undefined);
      client.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    await writeFile(join(home, '.ssh', 'id_ed25519'), clientKey.private, { mode: 0o600 });
    process.env.HOME = home;
  });
  after(async () => {
    process.env.HOME = savedHome;
    server?.close();
    await rm(home, { recursive: true, force: true });
  });

  const connect = async (knownHosts: string) => {
    await writeFile(join(home, '.ssh', 'config'), `Host *\n  UserKnownHostsFile ${knownHosts}\n  GlobalKnownHostsFile /dev/null\n`);
    const events: TejEvent[] = [];
    const t = await SshTransport.connect(`ssh://me@127.0.0.1:${port}`, { acceptNewHostKey: true, onEvent: (e) => events.push(e) });
    await t.close();
    return events.filter((e) => e.kind === 'warning').map((e) => (e as { message: string }).message);
  };

  it('records the key and says so', async () => {
    const file = join(home, 'known_hosts_ok');
    const warnings = await connect(file);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, new RegExp(`^added ssh-ed25519 key SHA256:\\S+ for \\[127\\.0\\.0\\.1\\]:${port} to ${file}$`));
    assert.match(await readFile(file, 'utf8'), /^\|1\|\S+ ssh-ed25519 \S+\n$/);
  });

  it('says that it could not record the key, and why, when known_hosts cannot be written', async () => {
    // a known_hosts that reads as absent and cannot be created, whoever runs the test (root too)
    const file = join(home, 'known_hosts_unwritable');
    await symlink('/proc/tej-no-such-dir/known_hosts', file);
    const warnings = await connect(file);
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.doesNotMatch(warnings[0]!, /^added/);
    assert.match(warnings[0]!, new RegExp(`could not record it in ${file} \\(ENOENT: no such file or directory.*\\)`));
  });
});
