// Symlinks from a downloaded directory must lead inside its destination. Checking a link's target
// lexically is not enough: through links written before it, `l1 -> l0/..` climbs where `l0` points, and a
// chain of them reaches any directory. So each link is judged by where it physically leads once the
// download is whole, through every link on disk, and removed when that is outside (or cannot be told).
import { lstatSync, readlinkSync, realpathSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, relative, sep } from 'node:path';

const MAX_HOPS = 40;

export function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Where `path` (absolute, not normalized: `a/l0/..` is the parent of what `l0` points to, not `a`)
 * physically leads, following symlinks. A missing tail is joined as it is; undefined when a `..` comes
 * after a missing component (a link made there later would decide) or the links loop.
 */
export function physicalPath(path: string, hops = { n: 0 }): string | undefined {
  const parts = path.split(sep).filter(Boolean);
  let cur: string = sep;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '.') continue;
    if (part === '..') {
      cur = dirname(cur);
      continue;
    }
    const next = cur === sep ? `${sep}${part}` : `${cur}${sep}${part}`;
    let isLink: boolean;
    try {
      isLink = lstatSync(next).isSymbolicLink();
    } catch {
      const rest = parts.slice(i + 1);
      return rest.includes('..') ? undefined : [next, ...rest.filter((p) => p !== '.')].join(sep);
    }
    if (!isLink) {
      cur = next;
      continue;
    }
    if (++hops.n > MAX_HOPS) return undefined;
    const link = readlinkSync(next);
    const to = physicalPath(isAbsolute(link) ? link : `${cur}${sep}${link}`, hops);
    if (to === undefined) return undefined;
    cur = to;
  }
  return cur;
}

/**
 * Removes the links among `links` that lead outside `root`; returns them. Removing one can change where
 * others lead, so it checks again until none is removed.
 */
export function removeEscapingLinks(root: string, links: Iterable<string>): string[] {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    return [];
  }
  const left = new Set(links);
  const removed: string[] = [];
  for (;;) {
    // Judged all at once, before any is removed: a link that led out through another one goes with it.
    const out = [...left].filter((link) => {
      const to = physicalPath(link);
      return to === undefined || !inside(realRoot, to);
    });
    if (out.length === 0) break;
    for (const link of out) {
      try {
        if (lstatSync(link).isSymbolicLink()) unlinkSync(link);
      } catch {
        // gone
      }
      left.delete(link);
      removed.push(link);
    }
  }
  return removed;
}
