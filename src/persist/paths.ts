// Where the persistent-connection sockets live: a per-user directory that only its owner can enter
// ($XDG_RUNTIME_DIR/tej, else <tmpdir>/tej-<uid>), one socket per connection, named by a hash.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { AuthenticationError, ConfigError } from '../errors.js';
import type { SshTarget } from '../ssh/config.js';

/** The directory's path, not yet checked. */
export function socketDirPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_RUNTIME_DIR;
  return xdg && isAbsolute(xdg) ? join(xdg, 'tej') : join(tmpdir(), `tej-${process.getuid?.() ?? 'user'}`);
}

/**
 * Creates the directory (0700) or checks the one there: a directory, not a link, owned by this user and
 * closed to group and others. Anything else could let another user talk to the connection.
 */
export function socketDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = socketDirPath(env);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AuthenticationError(`cannot create the directory for persistent connections ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  let problem: string | undefined;
  if (!st.isDirectory()) problem = 'is not a directory';
  else if (uid !== undefined && st.uid !== uid) problem = `belongs to uid ${st.uid}, not to you (uid ${uid})`;
  else if ((st.mode & 0o077) !== 0) problem = `is open to others (mode ${(st.mode & 0o777).toString(8)})`;
  if (problem) {
    throw new AuthenticationError(`refusing to keep persistent connections in ${dir}: it ${problem}`, {
      hint: st.isDirectory() && st.uid === uid ? `chmod 700 '${dir}'` : `remove '${dir}', or set XDG_RUNTIME_DIR to a private directory`,
    });
  }
  return dir;
}

/** What identifies a connection: two destinations with the same of these share one master. */
export function connectionKey(target: SshTarget): string {
  return JSON.stringify([target.user, target.host, target.port, target.proxyJump ?? '', target.identityFiles,
    target.identitiesOnly, target.identityAgent ?? '', target.hostKeyName, target.knownHostsFiles]);
}

/** Longest path a unix socket can have on Linux (sun_path is 108 bytes with its NUL). */
export const MAX_SOCKET_PATH = 107;

/** A short name (unix socket paths are limited to 108 bytes): 20 hex digits of a sha256. */
export function socketPath(dir: string, target: SshTarget): string {
  const path = join(dir, `${createHash('sha256').update(connectionKey(target)).digest('hex').slice(0, 20)}.sock`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new ConfigError(`the socket path for persistent connections is too long for a unix socket (${Buffer.byteLength(path)} bytes): ${path}`, {
      hint: 'set XDG_RUNTIME_DIR (or TMPDIR) to a shorter directory',
    });
  }
  return path;
}

export { aliasPath } from './alias.js';
