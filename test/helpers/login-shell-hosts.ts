// Host aliases h1-<shell> in the client's ~/.ssh/config, one per account of h1 whose login shell is
// <shell> (LOGIN_SHELL_USERS), with the client's key and known_hosts.
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LOGIN_SHELL_USERS, type SshHost } from './lab.js';

export async function addLoginShellHosts(sshHost: SshHost, shells: readonly (keyof typeof LOGIN_SHELL_USERS)[]): Promise<void> {
  const key = join(sshHost.home, '.ssh', 'id_ed25519');
  const known = join(sshHost.home, '.ssh', 'known_hosts');
  await appendFile(
    join(sshHost.home, '.ssh', 'config'),
    shells
      .map((shell) =>
        [`Host h1-${shell}`, `  HostName ${sshHost.lab.hosts.h1.ip}`, `  User ${LOGIN_SHELL_USERS[shell]}`, `  IdentityFile ${key}`, '  IdentitiesOnly yes',
          `  UserKnownHostsFile ${known}`, '  StrictHostKeyChecking yes', '  BatchMode yes', ''].join('\n'),
      )
      .join(''),
  );
}
