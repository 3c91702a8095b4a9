// A lab of two ssh hosts, `jump` and `inner`, and a client home whose ~/.ssh/config reaches the inner
// host as `viajump`, through the jump host (ProxyJump), for the suites that go through a jump.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeClientHome, startLab, type Lab } from './lab.js';

export interface JumpLab {
  lab: Lab<'jump' | 'inner'>;
  home: string;
}

export async function startJumpLab(): Promise<JumpLab> {
  const lab = await startLab({ hosts: [{ name: 'jump', role: 'ssh' }, { name: 'inner', role: 'ssh' }] });
  const home = await makeClientHome(lab);
  const key = join(home, '.ssh', 'id_ed25519');
  await appendFile(join(home, '.ssh', 'config'), `Host viajump\n  HostName ${lab.hosts.inner.ip}\n  User alice\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  ProxyJump jump\n`);
  return { lab, home };
}
