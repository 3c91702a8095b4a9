// A job's metadata as the client uploads it: the files under meta/ in the submit's tar (docs/protocol.md,
// "Queue layout"), which the helpers read.
import { afterFile } from './after.js';
import { type ArrayPlan, arrayMetaFiles } from './array.js';
import type { JobResources } from './spec.js';

/** meta/ as a whole: the resources (spec.ts JobResources: meta/nproc, time_limit, memory, ...) and the rest. */
export interface JobMeta extends JobResources {
  /** Script path relative to the job directory, or a shell command line. */
  script?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  stdout?: string;
  stderr?: string;
  /** The validated tej.json and CLI overrides, for plugins that want more. */
  spec?: unknown;
  /** tej.json's labels: meta/labels, one line of JSON, reported by status and list. */
  labels?: Record<string, string>;
  /** tej.json's notify.command: meta/notify-command, run by the wrapper when the job ends. */
  notifyCommand?: string;
  /** The client's MAC of notify.webhook (job/notify.ts): meta/notify-mac. */
  notifyMac?: string;
  /** tej.json's notify.webhook: meta/notify-webhook, POSTed by the wrapper when the job ends (lib/webhook.sh). */
  notifyWebhook?: string;
  /** What the client records about the submit (git provenance, client host...): meta/job.json, one line. */
  record?: Record<string, unknown>;
  /** An array's tasks: meta/array/ (job/array.ts). */
  arrayPlan?: ArrayPlan;
}

/** The meta/ files of a job, [name, content], in the order they are packed. */
export function metaFiles(meta: JobMeta): [string, string][] {
  const files: [string, string][] = [];
  if (meta.command !== undefined) files.push(['command', meta.command]);
  else if (meta.script !== undefined) files.push(['script', meta.script]);
  (meta.args ?? []).forEach((a, i) => files.push([`args/${String(i).padStart(4, '0')}`, a]));
  for (const [k, v] of Object.entries(meta.env ?? {})) files.push([`env/${k}`, v]);
  if (meta.stdout) files.push(['stdout', meta.stdout]);
  if (meta.stderr) files.push(['stderr', meta.stderr]);
  if (meta.nproc) files.push(['nproc', String(meta.nproc)]);
  if (meta.timeLimit) files.push(['time_limit', String(meta.timeLimit)]);
  if (meta.memory) files.push(['memory', meta.memory]);
  if (meta.maxProcesses) files.push(['max_processes', String(meta.maxProcesses)]);
  if (meta.cpuTime) files.push(['cpu_time', String(meta.cpuTime)]);
  if (meta.allowUnenforced) files.push(['allow-unenforced', 'yes']);
  if (meta.gpus !== undefined) files.push(['gpus', String(meta.gpus)]);
  if (meta.image) files.push(['image', meta.image]);
  if (meta.containerRuntime) files.push(['container_runtime', meta.containerRuntime]);
  const slurm = meta.slurm ?? {};
  for (const key of ['partition', 'account', 'qos'] as const) if (slurm[key]) files.push([`slurm/${key}`, slurm[key]!]);
  (slurm.args ?? []).forEach((a, i) => files.push([`slurm/args/${String(i).padStart(4, '0')}`, a]));
  if (meta.spec !== undefined) files.push(['spec.json', JSON.stringify(meta.spec, null, 2) + '\n']);
  if (meta.labels && Object.keys(meta.labels).length > 0) files.push(['labels', JSON.stringify(meta.labels) + '\n']);
  if (meta.notifyCommand !== undefined) files.push(['notify-command', meta.notifyCommand]);
  if (meta.notifyMac !== undefined) files.push(['notify-mac', meta.notifyMac]);
  if (meta.notifyWebhook !== undefined) files.push(['notify-webhook', meta.notifyWebhook]);
  if (meta.after?.length) files.push(['after', afterFile(meta.after)]);
  if (meta.record !== undefined) files.push(['job.json', JSON.stringify(meta.record) + '\n']);
  if (meta.arrayPlan) files.push(...arrayMetaFiles(meta.arrayPlan));
  return files;
}
