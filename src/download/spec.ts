// Download specs, tej's three forms: `path` -> ./basename, `path:` -> stdout, `path:dest` -> dest.
import { InvalidInputError } from '../errors.js';

export type DownloadTarget = { kind: 'cwd' } | { kind: 'stdout' } | { kind: 'path'; path: string };

export interface DownloadSpec {
  /** Relative to the job's directory on the remote. */
  remote: string;
  target: DownloadTarget;
}

/** Checks a path inside the job: relative, no `..`, nothing a shell or tar would misread. */
export function checkJobPath(path: string, spec = path): string {
  const bad = (why: string) =>
    new InvalidInputError(`tej: bad download path '${spec}': ${why}`, { hint: 'name a file or directory inside the job, e.g. results/out.csv' });
  if (path === '') throw bad('it is empty');
  if (/[\0\n\r]/.test(path)) throw bad('it contains a NUL or newline');
  if (path.startsWith('/')) throw bad('absolute paths are outside the job');
  if (path.split('/').includes('..')) throw bad("'..' leaves the job's directory");
  return path.replace(/\/+$/, '') || '.';
}

export function parseDownloadSpec(spec: string): DownloadSpec {
  const colon = spec.indexOf(':');
  if (colon < 0) return { remote: checkJobPath(spec), target: { kind: 'cwd' } };
  const remote = checkJobPath(spec.slice(0, colon), spec);
  const dest = spec.slice(colon + 1);
  return { remote, target: dest === '' ? { kind: 'stdout' } : { kind: 'path', path: dest } };
}
