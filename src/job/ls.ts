// `tej ls`: a job's files (name, type, size, mtime) read over SFTP, without a shell on the host. PATH is
// relative to the job's work/, as download's; it is judged by what it resolves to on the host (SFTP
// realpath, symlinks followed): the job's directory (jobs/ID) or below, never outside, as download's rule.
// Symlinks inside a listed directory are shown as links, never followed.
import { posix } from 'node:path';
import type { FileEntry } from 'ssh2';
import { InvalidInputError, JobFileNotFoundError, JobNotFoundError, RemoteUnavailableError } from '../errors.js';
import { noQueueError } from '../remote/install.js';
import { resolveRemotePath } from '../remote/install-sftp.js';
import { SFTP_STATUS, sftpCode, type Sftp } from '../transport/sftp.js';
import type { Transport } from '../transport/transport.js';
import { checkJobId } from './id.js';

export type FileType = 'file' | 'dir' | 'symlink' | 'other';

export interface JobFileEntry {
  /** The entry's name (a listed file: the name it was asked by). */
  name: string;
  type: FileType;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
}

/** The type in a mode's S_IFMT bits. */
export function fileType(mode: number): FileType {
  switch (mode & 0o170000) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

/** PATH relative to work/, checked as download's helper checks it: not absolute, no `..`. */
export function checkJobPath(path: string): string {
  if (path.startsWith('/')) throw new InvalidInputError(`bad path '${path}': absolute paths are outside the job`, { hint: "name it relative to the job's work/" });
  if (path.split('/').includes('..')) throw new InvalidInputError(`bad path '${path}': '..' leaves the job's directory`, { hint: "name it relative to the job's work/" });
  return path === '' ? '.' : path;
}

/** realpath, or undefined when the path (or a link on its way) leads nowhere. */
async function realpathOrMissing(sftp: Sftp, path: string): Promise<string | undefined> {
  try {
    const real = await sftp.realpath(path);
    return (await sftp.stat(real)) ? real : undefined;
  } catch (e) {
    if (sftpCode(e) === SFTP_STATUS.NO_SUCH_FILE) return undefined;
    throw e;
  }
}

/**
 * The physical path of a job's PATH (relative to its work/) and the job's own directory, or the
 * errors download gives: no queue, no job, an array (name a task), no such file, outside the job.
 */
export async function resolveJobPath(sftp: Sftp, queue: string, host: string, id: string, path: string): Promise<{ root: string; real: string }> {
  checkJobId(id);
  const rel = checkJobPath(path);
  const queueDir = await realpathOrMissing(sftp, await resolveRemotePath(sftp, queue));
  if (!queueDir || !(await sftp.stat(`${queueDir}/jobs`))?.isDirectory()) throw noQueueError(queue, host);
  const root = await realpathOrMissing(sftp, `${queueDir}/jobs/${id}`);
  if (!root) throw new JobNotFoundError(`no such job: ${id} (on ${host})`, { hint: `'tej list ${host}' shows the jobs` });
  if (!id.includes('/') && (await sftp.stat(`${root}/meta/array/tasks`))) {
    throw new InvalidInputError(`${id} is an array: name a task (--id ${id}/N)`, { hint: `'tej list ${host} --id ${id}' shows its tasks` });
  }
  const inside = (p: string) => p === root || p.startsWith(`${root}/`);
  const outside = () => new InvalidInputError(`bad path '${path}': it resolves outside the job's directory`, { hint: 'a symlink of the job points out of it' });
  const wanted = posix.join(root, 'work', rel);
  const real = await realpathOrMissing(sftp, wanted);
  if (!real) {
    // Judged by the deepest part that exists: a missing file behind a link out of the job is refused as
    // outside, so that no answer tells what exists there.
    for (let up = posix.dirname(wanted); up.length > root.length; up = posix.dirname(up)) {
      const there = await realpathOrMissing(sftp, up);
      if (there !== undefined && !inside(there)) throw outside();
      if (there !== undefined) break;
    }
    throw new JobFileNotFoundError(`no such file in job ${id}: ${path} (on ${host})`, { hint: `'tej ls ${host} --id ${id}' lists its files` });
  }
  if (!inside(real)) throw outside();
  return { root, real };
}

function entry(name: string, attrs: FileEntry['attrs']): JobFileEntry {
  return { name, type: fileType(attrs.mode), size: attrs.size, mtime: attrs.mtime };
}

/** The SFTP session of a transport, or an error that says ls needs one. */
export async function sftpOf(transport: Transport, what: string): Promise<Sftp> {
  if (!transport.sftp) throw new RemoteUnavailableError(`${what} needs SFTP, which the local queue has not`, { hint: 'use ls on the queue directory itself' });
  return transport.sftp();
}

/** The entries of the job's PATH (a directory: its entries sorted by name; a file: itself). */
export async function listJobFiles(transport: Transport, queue: string, host: string, id: string, path = '.'): Promise<JobFileEntry[]> {
  const sftp = await sftpOf(transport, 'tej ls');
  const { real } = await resolveJobPath(sftp, queue, host, id, path);
  const st = (await sftp.stat(real))!;
  if (!st.isDirectory()) return [entry(posix.basename(checkJobPath(path)), st)];
  const entries = (await sftp.readdir(real)).filter((e) => e.filename !== '.' && e.filename !== '..');
  return entries.map((e) => entry(e.filename, e.attrs)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
