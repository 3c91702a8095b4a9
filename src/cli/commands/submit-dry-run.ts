// `tej submit --dry-run`: what would be sent, file by file, then the totals. Nothing is contacted.
import type { JobPlan } from '../../job/plan.js';
import { formatBytes } from '../progress.js';
import { printJson } from '../render.js';

export function printPlan(plan: JobPlan, json: boolean): void {
  const sent = plan.entries.filter((e) => e.type !== 'directory');
  const files = sent.filter((e) => e.type === 'file').length;
  if (json) {
    printJson({
      dir: plan.dir,
      script: plan.script,
      entries: sent.map((e) => ({ path: e.path, type: e.type, size: e.size, ...(e.linkname !== undefined ? { linkname: e.linkname } : {}) })),
      files,
      bytes: plan.bytes,
    });
    return;
  }
  const width = String(plan.bytes).length;
  const lines = sent.map((e) => `${String(e.size).padStart(width)}  ${e.path}${e.type === 'symlink' ? ` -> ${e.linkname}` : ''}`);
  lines.push(`${files} file${files === 1 ? '' : 's'}${files === sent.length ? '' : ` and ${sent.length - files} symlink(s)`}, ${plan.bytes} bytes (${formatBytes(plan.bytes)})`);
  process.stdout.write(lines.join('\n') + '\n');
}
