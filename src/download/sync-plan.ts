// What one pass of `download --update/--watch` (or a download with patterns) fetches: each spec matched
// against the job's listed files, each match given its local path, and the files whose local copy has
// the listed size and mtime left out (with --update). A spec names a path as download does (`out.txt`
// into ./out.txt, `res` into ./res/..., `x:dest`), or is a pattern whose matches keep their path in
// the job below the destination (`'ckpt/*.pt'` into ./ckpt/a.pt, `'**/*.csv:out/'` into out/...).
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidInputError } from '../errors.js';
import { destinationFor } from './extract.js';
import { globRegExp, isLiteral, isPattern, unescapePattern } from './glob.js';
import type { RemoteFile } from './listing.js';
import { parseDownloadRequest } from './request.js';

export interface SyncSpec {
  /** As the user wrote it, for messages. */
  spec: string;
  /** A pattern's matcher, or undefined for a path (a file, or a directory and all below it). */
  pattern?: RegExp;
  /** The path in the job, for a spec that is no pattern ('.' is all of it). */
  path: string;
  /** The local file (a path naming a file) or directory the matches go into. */
  base: string;
}

/** One local copy to make: the job's file `file` to `local`; `inBase` when `local` lies below the spec's base (not the base itself). */
export interface Target {
  file: RemoteFile;
  local: string;
  base: string;
  inBase: boolean;
}

/** Whether any spec is a pattern (with a wildcard not escaped): then all are fetched through the listing, even without --update. */
export function needsListing(specs: string[]): boolean {
  return specs.some((s) => !isLiteral(parseDownloadRequest(s).remote));
}

/** A spec for the plain download: `\*`, `\?`, `\[` and `\]` of its job path are the characters themselves (`a\[1].txt:`). */
export function literalSpec(spec: string): string {
  const colon = /(?<!\\):/.exec(spec)?.index ?? spec.length;
  return spec.slice(0, colon).replace(/\\([*?[\]])/g, '$1') + spec.slice(colon);
}

/** The specs, checked: none writes to stdout (a pass writes files). */
export async function syncSpecs(specs: string[], cwd: string): Promise<SyncSpec[]> {
  const out: SyncSpec[] = [];
  for (const spec of specs) {
    const request = parseDownloadRequest(spec);
    if (request.target.kind === 'stdout') {
      throw new InvalidInputError(`'${spec}' writes to stdout, which --update, --watch and patterns cannot`, { hint: `name a destination instead: ${request.remote}:DIR/` });
    }
    const { remote, target } = request;
    if (isPattern(remote) && !isLiteral(remote)) {
      out.push({ spec, pattern: globRegExp(remote), path: remote, base: target.kind === 'path' ? resolve(cwd, target.path) : cwd });
      continue;
    }
    const path = unescapePattern(remote);
    out.push({ spec, path, base: await destinationFor({ remote: path, target }, cwd, false) });
  }
  return out;
}

/** The local path `spec` gives `file`, or undefined when it does not match. */
function localPath(spec: SyncSpec, file: RemoteFile): { local: string; inBase: boolean } | undefined {
  if (spec.pattern) return spec.pattern.test(file.path) ? { local: join(spec.base, file.path), inBase: true } : undefined;
  if (file.path === spec.path) return { local: spec.base, inBase: false };
  if (spec.path === '.') return { local: join(spec.base, file.path), inBase: true };
  if (file.path.startsWith(`${spec.path}/`)) return { local: join(spec.base, file.path.slice(spec.path.length + 1)), inBase: true };
  return undefined;
}

/** Whether `local` is a regular file with `file`'s size and mtime (whole seconds). */
export function unchanged(local: string, file: RemoteFile): boolean {
  try {
    const st = statSync(local);
    return st.isFile() && st.size === file.size && Math.floor(st.mtimeMs / 1000) === file.mtime;
  } catch {
    return false;
  }
}

export interface Plan {
  /** Local copies to make, by the job's path (a file two specs name goes to both places). */
  fetch: Map<string, Target[]>;
  unchangedFiles: number;
  unchangedBytes: number;
}

/** Matches `files` against `specs`; each spec that matched anything goes into `matched`. */
export function planPass(specs: SyncSpec[], files: RemoteFile[], update: boolean, matched: Set<SyncSpec>): Plan {
  const plan: Plan = { fetch: new Map(), unchangedFiles: 0, unchangedBytes: 0 };
  const seen = new Set<string>(); // local paths: the first spec that names one wins
  for (const file of files) {
    for (const spec of specs) {
      const got = localPath(spec, file);
      if (!got) continue;
      matched.add(spec);
      if (seen.has(got.local)) continue;
      seen.add(got.local);
      if (update && unchanged(got.local, file)) {
        plan.unchangedFiles += 1;
        plan.unchangedBytes += file.size;
        continue;
      }
      const targets = plan.fetch.get(file.path) ?? [];
      targets.push({ file, local: got.local, base: spec.base, inBase: got.inBase });
      plan.fetch.set(file.path, targets);
    }
  }
  return plan;
}
