// The helper bundle: the files of remote-scripts/ as shipped in the package, their content hash, and the
// tar stream that installs them.
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import { Readable } from 'node:stream';
import { tarArchive, type TarEntry } from '../tar.js';
import { builtFor } from './built.js';
import { helperProgram, PROGRAM_FILE, programSha256 } from './program.js';
import { PROTO, VERSION } from '../version.js';

export interface BundleFile {
  path: string;
  mode: number;
  data: Buffer;
}

export interface Bundle {
  files: BundleFile[];
  /** sha256 over every path, mode and content: what VERSION's hash= records. */
  hash: string;
}

export const REMOTE_SCRIPTS_DIR = join(PACKAGE_ROOT, 'remote-scripts');

/**
 * The files under DIR as paths relative to ROOT (with `/`), .md files left out. Built as it goes:
 * path.relative on each (it resolves both paths, asking for the working directory) was 2.5 ms of
 * every command's CPU (a CPU profile of `tej status`).
 */
function walk(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir ? join(root, dir) : root, { withFileTypes: true })) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...walk(root, path));
    else if (entry.isFile() && !entry.name.endsWith('.md')) out.push(path);
  }
  return out;
}

let cached: Promise<Bundle> | undefined;

/**
 * The bundle, read once per process. Synchronous reads of the 45 small files: a readFile and a stat
 * each through the thread pool took 15-17 ms of every command here (90 round trips and their
 * callbacks), these 6-9 ms.
 */
export function loadBundle(): Promise<Bundle> {
  cached ??= (async () => {
    const files: BundleFile[] = walk(REMOTE_SCRIPTS_DIR)
      .sort()
      .filter((path) => path !== 'VERSION')
      .map((path) => {
        const full = join(REMOTE_SCRIPTS_DIR, path);
        const fd = openSync(full, 'r');
        try {
          const mode = fstatSync(fd).mode & 0o111 ? 0o700 : 0o600;
          return { path, mode, data: readFileSync(fd) };
        } finally {
          closeSync(fd);
        }
      });
    const hash = createHash('sha256');
    for (const f of files) hash.update(`${f.path}\0${f.mode.toString(8)}\0${f.data.length}\0`).update(f.data);
    return { files, hash: hash.digest('hex').slice(0, 32) };
  })();
  return cached;
}

const manifests = new WeakMap<Bundle, string>();

/**
 * `sha256sum -c` input for every helper and the helper program, installed as MANIFEST, for the helpers
 * run by hand (tej-remote --hash checks them with it). A client's call trusts no file of the host for
 * this: it checks the program it reads against its own hash (src/protocol/invocation.ts).
 */
export function manifest(bundle: Bundle): string {
  let text = manifests.get(bundle);
  if (text === undefined) {
    text = `${helperLines(bundle).join('\n')}\n${programSha256(bundle)}  ${PROGRAM_FILE}\n`;
    manifests.set(bundle, text);
  }
  return text;
}

const lines = new WeakMap<Bundle, string[]>();

/** One `sha256sum` output line ("HEX  PATH") per helper of the bundle, in the bundle's order. */
export function helperLines(bundle: Bundle): string[] {
  let l = lines.get(bundle);
  if (l === undefined) {
    l = builtFor(bundle)?.lines ?? bundle.files.map((f) => `${createHash('sha256').update(f.data).digest('hex')}  ${f.path}`);
    lines.set(bundle, l);
  }
  return l;
}

/** The files setup installs: the helpers, the helper program, MANIFEST, and VERSION last (moved into place last). */
export function bundleEntries(bundle: Bundle): BundleFile[] {
  return [
    ...bundle.files,
    { path: PROGRAM_FILE, mode: 0o600, data: Buffer.from(helperProgram(bundle).text) },
    { path: 'MANIFEST', mode: 0o600, data: Buffer.from(manifest(bundle)) },
    { path: 'VERSION', mode: 0o600, data: Buffer.from(`proto=${PROTO}\nversion=${VERSION}\nhash=${bundle.hash}\n`) },
  ];
}

/** A tar of bundleEntries, for the installer that reads it on stdin (src/remote/install.ts). */
export function packBundle(bundle: Bundle): Readable {
  const mtime = new Date(0);
  return Readable.from([tarArchive(bundleEntries(bundle).map((f): [TarEntry, Buffer] => [{ name: f.path, type: 'file', mode: f.mode, mtime }, f.data]))]);
}
