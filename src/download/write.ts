// Writing one downloaded file: a regular file (or a new one) is written beside its target and renamed
// into place, so that a broken download never leaves a half file under the real name; anything else that
// is there already (a FIFO, a character device, /dev/stdout) is written into, never replaced. A symlink
// is judged by what it resolves to. Temporary files never outlive the command: every error path removes
// its own, and the process's exit (the CLI exits on SIGINT and SIGTERM) removes those still open.
import { closeSync, constants, lstatSync, openSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync, writev } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { CantCreateError } from '../errors.js';
import { batches } from '../transport/transport.js';

const writevAsync = promisify(writev);

/** Temporary files being written: removed on exit if still there. */
const liveTemps = new Set<string>();
let exitHook = false;

/** Removes the temporary files of downloads still in progress (synchronous: for 'exit' and signal handlers). */
export function removeTempFiles(): void {
  for (const path of liveTemps) {
    try {
      unlinkSync(path);
    } catch {
      // gone already
    }
  }
  liveTemps.clear();
}

/** Creates a temporary file exclusively and remembers it, in one synchronous step: no signal falls between. */
function createTemp(path: string, mode: number): number {
  const fd = openSync(path, 'wx', mode);
  liveTemps.add(path);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', removeTempFiles);
  }
  return fd;
}

function dropTemp(path: string, remove: boolean): void {
  liveTemps.delete(path);
  if (remove) {
    try {
      unlinkSync(path);
    } catch {
      // never there, or gone
    }
  }
}

/** How a file is written: renamed over `path` (a regular file, or nothing yet), or written into it. */
export type Place = { kind: 'replace'; path: string } | { kind: 'into'; path: string };

const notAFile = (path: string, why: string, hint = 'name a file, or a directory to download into with a trailing /') => new CantCreateError(`cannot write '${path}': ${why}`, { hint });

/**
 * Where the file for `target` goes. A symlink that this download made is replaced (as tar would); any
 * other is followed (inside a downloaded directory the caller checks that it leads inside).
 */
export function placeFor(target: string, madeByUs: (path: string) => boolean): Place {
  let st;
  try {
    st = lstatSync(target);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'replace', path: target };
    throw e;
  }
  if (st.isFile()) return { kind: 'replace', path: target };
  if (st.isDirectory()) throw notAFile(target, 'it is a directory');
  if (st.isSymbolicLink()) {
    if (madeByUs(target)) return { kind: 'replace', path: target };
    let real: string;
    try {
      real = realpathSync(target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notAFile(target, 'it is a symlink to something that does not exist', 'remove the link, or create what it points to');
      throw e;
    }
    const to = statSync(real);
    if (to.isFile()) return { kind: 'replace', path: real };
    if (to.isDirectory()) throw notAFile(target, `it is a symlink to the directory '${real}'`);
    return { kind: 'into', path: real };
  }
  if (st.isSocket()) throw notAFile(target, 'it is a socket');
  return { kind: 'into', path: target }; // a FIFO, a character or block device
}

/** Writes all of `parts` at the file's current position (write(v) may write less than asked). */
async function writeAll(fd: number, parts: Uint8Array[], length: number): Promise<void> {
  let { bytesWritten } = await writevAsync(fd, parts);
  if (bytesWritten >= length) return;
  const rest = Buffer.concat(parts, length);
  while (bytesWritten < length) bytesWritten += writeSync(fd, rest, bytesWritten, length - bytesWritten);
}

/**
 * Writes one file's content: beside its place then renamed there (`replace`), or into it (`into`). The
 * content is a small file already gathered in memory (written in one call, all synchronous: a stream
 * per small file costs more than its write), or a stream written in writes of 1 MiB (the chunks arrive
 * in SSH packets of 32 KiB: a write each cost a third more time than the transfer itself).
 */
export async function writeFileTo(content: Buffer | AsyncIterable<Uint8Array>, place: Place, tmp: string, mode: number, onWrite: (n: number) => void): Promise<void> {
  const write = async (fd: number) => {
    if (Buffer.isBuffer(content)) {
      writeFileSync(fd, content);
      onWrite(content.length);
      return;
    }
    for await (const { parts, length } of batches(content, 1 << 20)) {
      await writeAll(fd, parts, length);
      onWrite(length);
    }
  };
  if (place.kind === 'into') {
    // Write-only, without O_CREAT or O_TRUNC: into what is there. A FIFO waits here for its reader (on
    // the thread pool, so that signals are still handled), as a shell's > does.
    const file = await open(place.path, constants.O_WRONLY | constants.O_NOCTTY);
    try {
      await write(file.fd);
    } finally {
      await file.close();
    }
    return;
  }
  const fd = createTemp(tmp, mode);
  let ok = false;
  try {
    await write(fd);
    closeSync(fd);
    renameSync(tmp, place.path);
    ok = true;
  } finally {
    if (!ok) {
      try {
        closeSync(fd);
      } catch {
        // closed already
      }
    }
    dropTemp(tmp, !ok);
  }
}
