// Setup over SFTP: the helpers written to a temporary directory inside the queue, then renamed into place
// one by one, VERSION last, as the shell installer does (src/remote/install.ts): a running job never reads
// a half-written helper, and a torn install reads as "absent" and is redone. The shell's checks hold here
// too: a non-empty directory that is not a queue is refused unless forced, the queue must be ours and
// ends up 0700, and nothing inside the queue is written through a symlink. Requests are pipelined (every
// file at once), so an install costs a few round trips, not a few per file.
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { EXIT, TejError } from '../errors.js';
import type { EventHandler } from '../events.js';
import { remoteError } from '../protocol/exit-codes.js';
import { SftpUnavailableError, type Sftp } from '../transport/sftp.js';
import type { RunOptions, RunResult, Transport } from '../transport/transport.js';
import { bundleEntries, loadBundle } from './bundle.js';
import { installHelpers, notAQueueError } from './install.js';

/** The queue path as the login shell would read it (shQuotePath): `~` and `~/x` from the home, a relative one too. */
export async function resolveRemotePath(sftp: Sftp, path: string): Promise<string> {
  if (path.startsWith('/')) return posix.normalize(path);
  const home = await sftp.realpath('.');
  return posix.join(home, path === '~' ? '.' : path.startsWith('~/') ? path.slice(2) : path);
}

function installError(host: string, queue: string, message: string): TejError {
  return remoteError(host, { command: 'install', code: EXIT.NOPERM, stderr: `tej-remote: ${message}` }, `cannot install the tej helpers into ${queue}`);
}

/** `mkdir -p` with mode 0700 for what it creates, following symlinks as mkdir -p does. */
async function mkdirs(sftp: Sftp, dir: string, fail: (m: string) => TejError): Promise<void> {
  const st = await sftp.stat(dir);
  if (st?.isDirectory()) return;
  if (st) throw fail(`${dir} exists and is not a directory`);
  await mkdirs(sftp, posix.dirname(dir), fail);
  await sftp.mkdir(dir, 0o700).catch(async (e: Error) => {
    if (!(await sftp.stat(dir))?.isDirectory()) throw fail(`cannot create ${dir}: ${e.message}`);
  });
}

/** Installs the bundle into the queue at `queue` over SFTP. SftpUnavailableError: use the shell. */
export async function installOverSftp(sftp: Sftp, queue: string, host: string, force: boolean): Promise<void> {
  const fail = (m: string) => installError(host, queue, m);
  const wanted = await resolveRemotePath(sftp, queue);
  await mkdirs(sftp, wanted, fail);
  const root = await sftp.realpath(wanted); // the physical queue, as the shell's `cd` reaches it
  const names = (await sftp.readdir(root)).map((e) => e.filename).filter((n) => n !== '.' && n !== '..');
  if (!force && names.length > 0 && !names.includes('VERSION') && !names.includes('tej-remote') && !names.some((n) => n.startsWith('.install.'))) {
    throw notAQueueError(queue, host, 'choose another directory with --queue, or pass --force to install into it');
  }
  const tmp = `${root}/.install.sftp-${randomBytes(6).toString('hex')}`;
  await sftp.mkdir(tmp, 0o700).catch((e: Error) => {
    throw fail(`cannot write into ${root}: ${e.message}`);
  });
  try {
    // Who we are, as the host sees it: the owner of what we just made.
    const [mine, queueStat] = await Promise.all([sftp.lstat(tmp), sftp.stat(root)]);
    if (!mine || !queueStat || mine.uid !== queueStat.uid) throw fail(`the queue ${root} belongs to uid ${queueStat?.uid}, not to you`);
    await sftp.chmod(root, 0o700);
    const entries = bundleEntries(await loadBundle());
    const dirs = [...new Set(entries.map((f) => posix.dirname(f.path)).filter((d) => d !== '.'))].sort();
    // Directories of the queue must be real ones of ours: a symlink (lib -> elsewhere) would be written through.
    for (const d of dirs) {
      const path = `${root}/${d}`;
      let st = await sftp.lstat(path);
      if (!st) {
        // Another setup (clients submitting at once to a new queue) may make it between lstat and mkdir:
        // then this mkdir fails, and what is there is judged as any existing directory is.
        const made = await sftp.mkdir(path, 0o700).then(() => undefined, (e: Error) => e);
        st = await sftp.lstat(path);
        if (!st) throw fail(`cannot create ${path}: ${made?.message ?? 'it is gone'}`);
      }
      if (!st.isDirectory() || st.uid !== mine.uid) throw fail(`${path} is not a directory of yours (a symlink?): remove it, then run setup again`);
      await sftp.mkdir(`${tmp}/${d}`, 0o700);
    }
    await Promise.all(entries.map((f) => sftp.writeNew(`${tmp}/${f.path}`, f.data, f.mode)));
    const last = entries.filter((f) => f.path === 'VERSION');
    await Promise.all(entries.filter((f) => f.path !== 'VERSION').map((f) => sftp.rename(`${tmp}/${f.path}`, `${root}/${f.path}`)));
    for (const f of last) await sftp.rename(`${tmp}/${f.path}`, `${root}/${f.path}`);
  } finally {
    await removeTree(sftp, tmp).catch(() => undefined);
  }
}

/** rm -rf of a directory tree of our own making (never follows a symlink: lstat). */
async function removeTree(sftp: Sftp, dir: string): Promise<void> {
  for (const e of await sftp.readdir(dir)) {
    if (e.filename === '.' || e.filename === '..') continue;
    const p = `${dir}/${e.filename}`;
    if ((await sftp.lstat(p))?.isDirectory()) await removeTree(sftp, p);
    else await sftp.unlink(p);
  }
  await sftp.rmdir(dir);
}

/**
 * Installs the helpers over SFTP where the connection has it, else with the shell installer (a host
 * without the SFTP subsystem, a --persist master, the local queue).
 */
export async function installHelpersVia(
  transport: Transport,
  run: (script: string, options: RunOptions, what: string) => Promise<RunResult>,
  queue: string,
  host: string,
  force: boolean,
  onEvent?: EventHandler,
): Promise<void> {
  if (transport.sftp) {
    try {
      const sftp = await transport.sftp();
      onEvent?.({ kind: 'exec', host, command: `sftp: install tej helpers into ${queue}` });
      return await installOverSftp(sftp, queue, host, force);
    } catch (e) {
      if (e instanceof TejError && !(e instanceof SftpUnavailableError)) throw e;
      if (!(e instanceof SftpUnavailableError)) throw installError(host, queue, `SFTP: ${(e as Error).message}`);
      onEvent?.({ kind: 'exec', host, command: `no SFTP (${e.message}): installing with the shell` });
    }
  }
  return installHelpers(run, queue, host, force);
}
