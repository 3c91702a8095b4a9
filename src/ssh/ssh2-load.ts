// Loading ssh2 for a login: the one-file build of what tej uses of it (dist/bundle/ssh2.cjs, made by
// scripts/bundle.mjs), run with a V8 code cache (src/code-cache.ts): compiling ssh2 afresh cost each
// login ~15-25 ms of CPU. Without the bundle (tej run from its sources), ssh2 itself is required.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Client, ParsedKey } from 'ssh2';
import { runWithCodeCache } from '../code-cache.js';
import { PACKAGE_ROOT } from '../package-root.js';
import { readRegular } from '../regular-file.js';

/** What tej uses of ssh2 (scripts/ssh2-entry.cjs). */
export interface Ssh2 {
  Client: typeof Client;
  utils: { parseKey(data: Buffer | string, passphrase?: Buffer | string): ParsedKey | ParsedKey[] | Error };
}

export const SSH2_BUNDLE = join(PACKAGE_ROOT, 'dist', 'bundle', 'ssh2.cjs');

/** How the last load went, for tests: whether it used the bundle and whether V8 took the cache. */
export const ssh2LoadInfo: { bundle?: boolean; cacheFile?: string; cacheUsed?: boolean } = {};

function loadBundled(source: Buffer): Ssh2 {
  const run = runWithCodeCache<Ssh2>(SSH2_BUNDLE, source, 'ssh2');
  Object.assign(ssh2LoadInfo, { bundle: true, cacheFile: run.cacheFile, cacheUsed: run.cacheUsed });
  return run.exports;
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
    const source = readRegular(SSH2_BUNDLE);
    // The bundle requires ssh2's native binding from the ssh2 installed: only when that is the version
    // it was built from (its first line, `// ssh2@VERSION`); an ssh2 upgraded without a rebuild is used whole.
    const built = source === undefined ? undefined : /^\/\/ ssh2@(\S+)\n/.exec(source.subarray(0, 200).toString('latin1'))?.[1];
    if (source !== undefined && built !== undefined && built === installedVersion()) {
      loaded = loadBundled(source);
    } else {
      ssh2LoadInfo.bundle = false;
      loaded = createRequire(SSH2_BUNDLE)('ssh2') as Ssh2;
    }
  }
  return loaded;
}
