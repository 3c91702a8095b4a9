// Running a one-file CommonJS build as require would, compiled with a V8 code cache kept in the user's
// cache directory: the CLI's bundle (bin/tej.js) and ssh2's (src/ssh/ssh2-load.ts). V8 then deserializes
// the code it compiled the last time instead of compiling it again at every command. The cache is only
// ever a shortcut: one that is missing, unreadable, not a regular file, corrupt, made by another Node,
// for another build or for another install (its name holds the hash of all three, and V8 rejects data
// that does not fit) is ignored, and one that cannot be written is not written. Caches of other builds
// are removed once a day old.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { readRegular } from './regular-file.js';

/** The directory of tej's caches: $XDG_CACHE_HOME/tej, else ~/.cache/tej. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'tej');
}

/** Writes FILE whole or not at all (a temporary name, renamed); any failure is ignored. */
function writeQuietly(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, file);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // never written
    }
  }
}

const DAY_MS = 24 * 3600 * 1000;

/**
 * Removes NAME's caches other than KEEP that were written over a day ago: those of earlier builds (each
 * upgrade would leave one), while two installs used by turns keep theirs (each rewrites its own at most
 * once a day). Failures are ignored.
 */
function removeStale(dir: string, name: string, keep: string): void {
  try {
    for (const f of readdirSync(dir)) {
      const path = join(dir, f);
      if (!f.startsWith(`${name}-`) || !f.endsWith('.v8') || path === keep) continue;
      if (Date.now() - lstatSync(path).mtimeMs > DAY_MS) unlinkSync(path);
    }
  } catch {
    // a cache directory that cannot be listed or cleaned costs only space
  }
}

export interface CachedRun<T> {
  exports: T;
  cacheFile: string;
  /** whether V8 took the cache (false: compiled afresh, the cache written at exit) */
  cacheUsed: boolean;
}

/**
 * Runs FILE, a CommonJS file whose content is SOURCE, with the code cache NAME-HASH.v8; returns its
 * exports. SOURCE as read (a Buffer) is hashed as it is: a string would be encoded to UTF-8 again for
 * the hash (2.5 ms of a command for each of the two 650 KB bundles on the bench's machine).
 */
export function runWithCodeCache<T>(file: string, source: Buffer | string, name: string): CachedRun<T> {
  // The file's path too: V8 gives a script made from a cache the name it was compiled under, so an
  // install that took another's cache of the same build would name that install in its stack traces.
  const key = createHash('sha256').update(`${process.version}\0${process.arch}\0${file}\0`).update(source).digest('hex').slice(0, 32);
  const text = typeof source === 'string' ? source : source.toString();
  const dir = cacheDir();
  const cacheFile = join(dir, `${name}-${key}.v8`);
  const cachedData = readRegular(cacheFile);
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${text}\n})`, { filename: file, cachedData });
  const cacheUsed = cachedData !== undefined && !script.cachedDataRejected;
  // Made at exit, when the functions the run needed have been compiled too (V8 compiles lazily).
  if (!cacheUsed) {
    process.once('exit', () => {
      writeQuietly(cacheFile, script.createCachedData());
      removeStale(dir, name, cacheFile);
    });
  }
  const module = { exports: {} as T };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, cacheFile, cacheUsed };
}
