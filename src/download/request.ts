// Download requests (the CLI's SPEC arguments), tej's three forms: `path` -> ./basename, `path:` -> stdout, `path:dest` -> dest.
import { homedir } from 'node:os';
import { InvalidInputError } from '../errors.js';

export type DownloadTarget = { kind: 'cwd' } | { kind: 'stdout' } | { kind: 'path'; path: string };

export interface DownloadRequest {
  /** Relative to the job's directory on the remote. */
  remote: string;
  target: DownloadTarget;
}

/** Checks a path inside the job: relative, no `..`, nothing a shell or tar would misread. */
export function checkJobPath(path: string, spec = path): string {
  const bad = (why: string) =>
    new InvalidInputError(`bad download path '${spec}': ${why}`, { hint: 'name a file or directory inside the job, e.g. results/out.csv' });
  if (path === '') throw bad('it is empty');
  if (/[\0\n\r]/.test(path)) throw bad('it contains a NUL or newline');
  if (path.startsWith('/')) throw bad('absolute paths are outside the job');
  if (path.split('/').includes('..')) throw bad("'..' leaves the job's directory");
  return path.replace(/\/+$/, '') || '.';
}

/**
 * The first `:` not written `\:` splits the job's path from the destination; `\:` is a colon of the
 * name (`run-10\:00.csv`, `a\:b:out.csv`). A destination `~` or `~/...` is the local home, as a shell
 * would expand it; `~user` is refused (the shell did not expand it, and tej does not guess).
 */
export function parseDownloadRequest(spec: string, home = homedir()): DownloadRequest {
  const colon = /(?<!\\):/.exec(spec)?.index ?? -1;
  const unescape = (p: string) => p.replace(/\\:/g, ':');
  if (colon < 0) return { remote: checkJobPath(unescape(spec), spec), target: { kind: 'cwd' } };
  const remote = checkJobPath(unescape(spec.slice(0, colon)), spec);
  let dest = spec.slice(colon + 1);
  if (dest === '~' || dest.startsWith('~/')) dest = home + dest.slice(1);
  else if (dest.startsWith('~')) {
    throw new InvalidInputError(`bad download destination '${dest}' in '${spec}': tej expands only ~ and ~/, not ~user`, { hint: 'write the full path, e.g. /home/user/out.csv' });
  }
  return { remote, target: dest === '' ? { kind: 'stdout' } : { kind: 'path', path: dest } };
}
