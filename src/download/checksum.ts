// download --checksum: before a pass fetches a file whose local copy has its size but another mtime, the
// two sha256 are compared (the host's from the `fetch --sha256` helper, where it has a tool for it); the
// same content is not sent again, and the copy gets the job's mtime, so that the next pass skips it on
// size and mtime alone.
import { createHash } from 'node:crypto';
import { createReadStream, statSync, utimesSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { QueueCalls } from '../remote/call.js';
import { MarkerSkipper } from '../protocol/stream-marker.js';
import { streamCall } from './listing.js';
import type { Plan, Target } from './sync-plan.js';

async function localSha256(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    await pipeline(createReadStream(path), hash);
  } catch {
    return undefined;
  }
  return hash.digest('hex');
}

/** The host's sha256 of each path, in order (undefined where it has none). */
async function remoteSha256(q: QueueCalls, id: string, paths: string[]): Promise<(string | undefined)[]> {
  let text = '';
  const marker = new MarkerSkipper(q.host);
  await streamCall(q, 'fetch', ['--sha256', id, ...paths], () => {
    text = '';
    return new Writable({
      write(chunk: Buffer, _enc, cb) {
        try {
          text += marker.feed(chunk)?.toString() ?? '';
          cb();
        } catch (e) {
          cb(e as Error);
        }
      },
    });
  });
  const lines = text.split('\n');
  return paths.map((_, i) => (/^[0-9a-f]{64}$/.test(lines[i] ?? '') ? lines[i] : undefined));
}

/** Whether a target's local copy is a regular file of the job's file's size (its mtime then differs). */
function sameSize(t: Target): boolean {
  try {
    const st = statSync(t.local);
    return st.isFile() && st.size === t.file.size;
  } catch {
    return false;
  }
}

/**
 * Drops from `plan` the targets whose local copy has the job's file's content, counting them unchanged;
 * `stamp` gives the mtime such a copy gets (the job's, or one second earlier: see ./sync.ts).
 */
export async function dropSameContent(q: QueueCalls, id: string, plan: Plan, stamp: (mtime: number) => number): Promise<void> {
  const candidates = [...plan.fetch.entries()].filter(([, targets]) => targets.some(sameSize));
  if (candidates.length === 0) return;
  const sums: (string | undefined)[] = [];
  // at most 256 KiB of names a call (they travel in its script), as sync.ts fetches
  for (let i = 0; i < candidates.length; ) {
    const batch: string[] = [];
    for (let size = 0; i < candidates.length && (batch.length === 0 || size < 256 << 10); i++) {
      batch.push(candidates[i]![0]);
      size += Buffer.byteLength(candidates[i]![0]) + 8;
    }
    sums.push(...(await remoteSha256(q, id, batch)));
  }
  for (const [i, [path, targets]] of candidates.entries()) {
    const remote = sums[i];
    if (remote === undefined) continue;
    const left: Target[] = [];
    for (const t of targets) {
      if (sameSize(t) && (await localSha256(t.local)) === remote) {
        utimesSync(t.local, new Date(), stamp(t.file.mtime));
        plan.unchangedFiles += 1;
        plan.unchangedBytes += t.file.size;
      } else left.push(t);
    }
    if (left.length > 0) plan.fetch.set(path, left);
    else plan.fetch.delete(path);
  }
}
