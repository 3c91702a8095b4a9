// What a submit records beside the job itself: its labels (meta/labels), its notify command
// (meta/notify-command) and the submission record (meta/job.json, shown by `tej show`): what ran, from
// which machine and directory, and the git provenance of that directory.
import { hostname, userInfo } from 'node:os';
import { resolve } from 'node:path';
import { VERSION } from '../version.js';
import { gitInfo } from './git.js';
import type { JobMeta } from './pack.js';
import type { JobSpec } from './spec.js';
import { notifyKey, notifyMac } from './notify.js';

export type SubmissionMeta = Pick<JobMeta, 'labels' | 'notifyCommand' | 'notifyMac' | 'notifyWebhook' | 'record'>;

/** Labels are tej.json's plus the caller's (which win); notify.command comes from tej.json. */
export async function submissionMeta(dir: string, meta: JobMeta): Promise<SubmissionMeta> {
  const spec = (meta.spec ?? {}) as JobSpec;
  const record = {
    ...(meta.command !== undefined ? { command: meta.command } : { script: meta.script ?? 'start.sh' }),
    args: meta.args ?? [],
    env: meta.env ?? {},
    time_limit_s: meta.timeLimit ?? null,
    cpus: meta.nproc ?? null,
    client_host: hostname(),
    client_user: userInfo().username,
    dir: resolve(dir),
    tej_version: VERSION,
    git: (await gitInfo(dir)) ?? null,
  };
  const out: SubmissionMeta = { labels: { ...spec.labels, ...meta.labels }, record };
  if (spec.notify?.command !== undefined) out.notifyCommand = spec.notify.command;
  if (spec.notify?.webhook !== undefined) {
    out.notifyMac = notifyMac((await notifyKey(true))!, spec.notify.webhook);
    out.notifyWebhook = spec.notify.webhook;
  }
  return out;
}
