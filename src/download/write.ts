// Writing one downloaded file: a regular file (or a new one) is written beside its target and renamed
// into place, so that a broken download never leaves a half file under the real name; anything else that
// is there already (a FIFO, a character device, /dev/stdout) is written into, never replaced. A symlink
// is judged by what it resolves to. Temporary files never outlive the command: every error path removes
// its own, and the process's exit (the CLI exits on SIGINT and SIGTERM) removes those still open.
import { closeSync, constants, lstatSync, open, openSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, writev, writevSync } from 'node:fs';
import { CantCreateError } from '../errors.js';

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

// Content is written in batches of at least 1 MiB: the chunks arrive in SSH packets of 32 KiB, and a
// write each cost a third more time than the transfer itself.
const BATCH = 1 << 20;

/** Writes all of `parts` at the file's current position (write(v) may write less than asked). */
function writeAllSync(fd: number, parts: Buffer[], length: number): void {
  let done = parts.length === 1 ? writeSync(fd, parts[0]!) : writevSync(fd, parts);
  if (done >= length) return;
  const rest = Buffer.concat(parts, length);
  while (done < length) done += writeSync(fd, rest, done, length - done);
}

function writeAll(fd: number, parts: Buffer[], length: number): Promise<void> {
  return new Promise((resolve, reject) => {
    writev(fd, parts, (err, written) => {
      if (err) return reject(err);
      if (written >= length) return resolve();
      try {
        const rest = Buffer.concat(parts, length).subarray(written);
        writeAllSync(fd, [rest], rest.length);
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

/**
 * One file's content as it arrives: written beside its place and renamed there at the end (`replace`),
 * or into it (`into`). A file that fits in one batch is written when it ends, synchronously (a regular
 * file: the page cache takes it at once); bigger content goes in batches of 1 MiB, on the thread pool.
 * What goes into a FIFO or a device is always written on the thread pool, which may wait for a reader
 * while signals are still handled. Errors go through `fail`; abort() removes the temporary file.
 */
export class FileWriter {
  private parts: Buffer[] = [];
  private length = 0;
  private closed = false;
  private writing: Promise<void> | undefined; // a write on the thread pool: the fd is closed only after it

  private constructor(
    private readonly fd: number,
    private readonly place: Place,
    private readonly tmp: string | undefined,
    private readonly onWrite: (n: number) => void,
    private readonly fail: (e: unknown) => unknown,
  ) {}

  static async open(place: Place, tmp: string, mode: number, onWrite: (n: number) => void, fail: (e: unknown) => unknown): Promise<FileWriter> {
    if (place.kind === 'into') {
      // Write-only, without O_CREAT or O_TRUNC: into what is there. A FIFO waits here for its reader (on
      // the thread pool, so that signals are still handled), as a shell's > does.
      let fd: number;
      try {
        fd = await new Promise<number>((resolve, reject) => open(place.path, constants.O_WRONLY | constants.O_NOCTTY, (err, got) => (err ? reject(err) : resolve(got))));
      } catch (e) {
        throw fail(e);
      }
      return new FileWriter(fd, place, undefined, onWrite, fail);
    }
    try {
      return new FileWriter(createTemp(tmp, mode), place, tmp, onWrite, fail);
    } catch (e) {
      throw fail(e);
    }
  }

  write(data: Buffer): void | Promise<void> {
    if (this.closed) return; // aborted: the download is failing, nothing more goes to disk
    this.parts.push(data);
    this.length += data.length;
    if (this.length >= BATCH) return this.flush();
  }

  private async flush(): Promise<void> {
    const { parts, length } = this;
    this.parts = [];
    this.length = 0;
    if (this.closed) return;
    this.writing = writeAll(this.fd, parts, length);
    try {
      await this.writing;
    } catch (e) {
      this.abort();
      throw this.fail(e);
    } finally {
      this.writing = undefined;
    }
    this.onWrite(length);
  }

  end(): void | Promise<void> {
    if (this.closed) throw this.fail(new Error('the download was stopped'));
    if (this.place.kind === 'into' || this.length >= BATCH) return this.flush().then(() => this.finish());
    try {
      if (this.length > 0) writeAllSync(this.fd, this.parts, this.length);
    } catch (e) {
      this.abort();
      throw this.fail(e);
    }
    if (this.length > 0) this.onWrite(this.length);
    this.parts = [];
    this.finish();
  }

  private finish(): void {
    if (this.closed) throw this.fail(new Error('the download was stopped'));
    try {
      this.closed = true;
      closeSync(this.fd);
      if (this.tmp !== undefined) renameSync(this.tmp, this.place.path);
    } catch (e) {
      this.abort();
      throw this.fail(e);
    }
    if (this.tmp !== undefined) dropTemp(this.tmp, false);
  }

  /** Closes the file and removes the temporary file (a download that broke, or failed here). */
  abort(): void {
    if (!this.closed) {
      this.closed = true;
      const close = () => {
        try {
          closeSync(this.fd);
        } catch {
          // closed already
        }
      };
      // Never under a write in flight: its fd number could be another file's by the time it runs.
      if (this.writing) this.writing.then(close, close);
      else close();
    }
    if (this.tmp !== undefined) dropTemp(this.tmp, true);
  }
}
