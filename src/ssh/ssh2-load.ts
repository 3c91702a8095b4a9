// Loading ssh2 for a login: the one-file build of what tej uses of it (dist/bundle/ssh2.cjs, made by
// scripts/bundle.mjs), compiled with a V8 code cache kept in the user's cache directory. Compiling ssh2
// afresh cost each login ~15-25 ms of CPU; with the cache V8 deserializes the code it compiled the last
// time. The cache is only ever a shortcut: one that is missing, unreadable, not a regular file, corrupt,
// made by another Node or for another build (its name holds the hash of both, and V8 rejects data that
// does not fit) is ignored, and one that cannot be written is not written. Without the bundle (tej run
// from its sources), ssh2 itself is imported.
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import type { Client, ParsedKey } from 'ssh2';
import { PACKAGE_ROOT } from '../package-root.js';

/** What tej uses of ssh2 (scripts/ssh2-entry.cjs). */
export interface Ssh2 {
  Client: typeof Client;
  utils: { parseKey(data: Buffer | string, passphrase?: Buffer | string): ParsedKey | ParsedKey[] | Error };
}

export const SSH2_BUNDLE = join(PACKAGE_ROOT, 'dist', 'bundle', 'ssh2.cjs');

/** How the last load went, for tests: whether it used the bundle and whether V8 took the cache. */
export const ssh2LoadInfo: { bundle?: boolean; cacheFile?: string; cacheUsed?: boolean } = {};

/** The directory of tej's caches: $XDG_CACHE_HOME/tej, else ~/.cache/tej. */
export function cacheDir(): string {
  const base = process.env.XDG_CACHE_HOME?.startsWith('/') ? process.env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'tej');
}

/** A regular file's bytes; undefined for anything else (a FIFO is opened without waiting for a writer). */
function readRegular(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
    return fstatSync(fd).isFile() ? readFileSync(fd) : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
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

function loadBundled(source: string): Ssh2 {
  const key = createHash('sha256').update(`${process.version}\0${process.arch}\0`).update(source).digest('hex').slice(0, 32);
  const cacheFile = join(cacheDir(), `ssh2-${key}.v8`);
  const cachedData = readRegular(cacheFile);
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: SSH2_BUNDLE, cachedData });
  const module = { exports: {} as Ssh2 };
  (script.runInThisContext() as (...a: unknown[]) => void)(module.exports, createRequire(SSH2_BUNDLE), module, SSH2_BUNDLE, dirname(SSH2_BUNDLE));
  const cacheUsed = cachedData !== undefined && !script.cachedDataRejected;
  Object.assign(ssh2LoadInfo, { bundle: true, cacheFile, cacheUsed });
  // Made at exit, when the functions of the handshake and the login have been compiled too.
  if (!cacheUsed) process.once('exit', () => writeQuietly(cacheFile, script.createCachedData()));
  return module.exports;
}

function installedVersion(): string | undefined {
  try {
    return (createRequire(SSH2_BUNDLE)('ssh2/package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}

let loaded: Ssh2 | undefined;

/** ssh2, loaded once. */
export async function loadSsh2Module(): Promise<Ssh2> {
  if (!loaded) {
    const source = readRegular(SSH2_BUNDLE)?.toString();
    // The bundle requires ssh2's native binding from the ssh2 installed: only when that is the version
    // it was built from (its first line, `// ssh2@VERSION`); an ssh2 upgraded without a rebuild is used whole.
    const built = source === undefined ? undefined : /^\/\/ ssh2@(\S+)\n/.exec(source)?.[1];
    if (source !== undefined && built !== undefined && built === installedVersion()) {
      loaded = loadBundled(source);
    } else {
      ssh2LoadInfo.bundle = false;
      loaded = (await import('ssh2')).default as unknown as Ssh2;
    }
  }
  return loaded;
}
