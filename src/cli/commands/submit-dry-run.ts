// `tej submit --dry-run`: what would be sent, file by file, then the totals. Nothing is contacted, but
// with --store: then the host's content store says which files it holds (those would not travel).
import type { JobPlan } from '../../job/plan.js';
import { NoQueueError } from '../../errors.js';
import type { QueueCalls } from '../../remote/call.js';
import { askStore, hashContents, storeBlobs, storeHeaders } from '../../job/store.js';
import { formatBytes } from '../progress.js';
import { printJson } from '../render.js';

/**
 * The files of PLAN the host's content store holds already (by content), or undefined without a store;
 * none where the queue is not set up yet (the submit would set it up, and send everything).
 */
export async function storedFiles(q: Pick<QueueCalls, 'host' | 'call' | 'retrying'>, plan: JobPlan): Promise<Set<string> | undefined> {
  const hashes = await hashContents(plan);
  let answer;
  try {
    answer = await askStore(q, '-', storeBlobs(hashes, storeHeaders(plan, hashes)));
  } catch (e) {
    if (e instanceof NoQueueError) return new Set();
    throw e;
  }
  if (!answer) return undefined;
  return new Set([...hashes].filter(([, h]) => !answer.lacking.has(h)).map(([path]) => path));
}

export function printPlan(plan: JobPlan, json: boolean, stored?: Set<string>): void {
  const sent = plan.entries.filter((e) => e.type !== 'directory');
  const files = sent.filter((e) => e.type === 'file').length;
  const reused = sent.filter((e) => stored?.has(e.path));
  const uploaded = plan.bytes - reused.reduce((n, e) => n + e.size, 0);
  if (json) {
    printJson({
      dir: plan.dir,
      script: plan.script,
      entries: sent.map((e) => ({ path: e.path, type: e.type, size: e.size, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}), ...(stored ? { stored: stored.has(e.path) } : {}) })),
      files,
      bytes: plan.bytes,
      ...(stored ? { uploaded_bytes: uploaded, reused_files: reused.length } : {}),
    });
    return;
  }
  const width = String(plan.bytes).length;
  const lines = sent.map((e) => `${String(e.size).padStart(width)}  ${e.path}${e.type === 'symlink' ? ` -> ${e.linkname}` : ''}${stored?.has(e.path) ? '  (in the store)' : ''}`);
  lines.push(`${files} file${files === 1 ? '' : 's'}${files === sent.length ? '' : ` and ${sent.length - files} symlink(s)`}, ${plan.bytes} bytes (${formatBytes(plan.bytes)})`);
  if (stored) lines.push(`would send ${files - reused.length} of them, ${uploaded} bytes (${formatBytes(uploaded)}); ${reused.length} are in the host's content store`);
  process.stdout.write(lines.join('\n') + '\n');
}
