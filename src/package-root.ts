// The package's own files (package.json, schema/, remote-scripts/), found from where this code runs: the
// same from dist/'s modules, from the CLI's bundle (dist/bundle/) and from src/ under tsx.
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  const here = fileURLToPath(import.meta.url);
  for (let dir = dirname(here); ; ) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'remote-scripts'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find its package (package.json beside remote-scripts/) above ${here}`);
    dir = up;
  }
}

export const PACKAGE_ROOT = findRoot();

const requireFromRoot = createRequire(join(PACKAGE_ROOT, 'package.json'));

/** A JSON file of the package, by its path from the package root: 'package.json', 'schema/tej.schema.json'. */
export function packageJson<T = Record<string, unknown>>(path: string): T {
  return requireFromRoot(`./${path}`) as T;
}

/**
 * The build of the package as it is now: the entry file of a --persist master's workers (inode, size,
 * mtime). A rebuild or an upgrade in place (the same version at the same root) renames the bundle's
 * chunks, and a process started from the old entry fails to load one: a master compares this with its
 * own start's.
 */
export function buildStamp(): string {
  try {
    const s = statSync(join(PACKAGE_ROOT, 'dist', 'bundle', 'persist-worker.js'), { bigint: true });
    return `${s.ino}:${s.size}:${s.mtimeNs}`;
  } catch {
    return 'none';
  }
}
