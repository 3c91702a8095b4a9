// The CLI's side of `download --update`, `--watch [INTERVAL]` and of specs with patterns
// (src/download/watch.ts): each job's files into the current directory (a glob --id: each task's into
// ./ID/), one JSON line per pass with --json.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isGlob } from '../../job/select.js';
import { parseDuration } from '../../job/spec.js';
import type { Queue } from '../../queue.js';
import type { SyncResult } from '../../download/watch.js';
import { printJson } from '../render.js';
import { selectIds } from '../select.js';

/** --watch's value: '' (a bare --watch) is 10 s; a word that is no duration is a spec after a bare --watch. */
export function watchInterval(value: string | undefined, specs: string[]): number | undefined {
  if (value === undefined) return undefined;
  if (value === '') return 10;
  try {
    return parseDuration(value);
  } catch {
    specs.push(value);
    return 10;
  }
}

export interface SyncArgs {
  id: string;
  update: boolean;
  checksum: boolean;
  watchSeconds?: number;
  json: boolean;
  quiet: boolean;
}

export async function downloadSync(q: Queue, specs: string[], a: SyncArgs): Promise<void> {
  const one = async (id: string, cwd: string) => {
    const r: SyncResult = await q.syncDownload(id, specs, {
      cwd,
      update: a.update,
      checksum: a.checksum,
      watchSeconds: a.watchSeconds,
      onPass: (p) => {
        if (a.json) {
          printJson({
            id,
            pass: p.pass,
            final: p.final,
            state: p.state,
            downloaded_files: p.downloadedFiles,
            downloaded_bytes: p.downloadedBytes,
            unchanged_files: p.unchangedFiles,
            unchanged_bytes: p.unchangedBytes,
            skipped: p.skipped,
          });
        }
      },
    });
    if (r.skipped.length > 0 && !a.quiet) {
      process.stderr.write(`tej: warning: skipped ${r.skipped.length} files that would be written through a symlink or outside their destination: ${r.skipped.slice(0, 5).join(', ')}\n`);
    }
  };
  if (!isGlob(a.id)) return one(a.id, process.cwd());
  // each task's files into ./ID/ (./sweep/3/...), one after another; --watch watches each until it ends
  for (const id of await selectIds(q, { id: [a.id] })) {
    const cwd = join(process.cwd(), id);
    await mkdir(cwd, { recursive: true });
    await one(id, cwd);
  }
}
