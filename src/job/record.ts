// A job's full record, as `show` reports it: its status plus where it runs and what it was sent with.
import type { ReplyRecord } from '../protocol/reply.js';
import type { GitInfo } from './git.js';
import type { JobSpec } from './spec.js';
import { toJobStatus, type JobStatus } from './status.js';
import { parseUsage, type Usage } from './usage.js';
import { parseLimits, type Limits } from './limits.js';
import { parseContainer, type Container } from './container.js';

export interface JobRecord extends JobStatus {
  /** The host's own name (uname -n). */
  host: string;
  /** The queue directory on the host. */
  queue: string;
  workDir?: string;
  /** Output files, relative to workDir. */
  stdout?: string;
  stderr?: string;
  resubmittedFrom?: string;
  /** The tej.json the job was submitted with (as the host has it now: the job may have rewritten it). */
  spec?: JobSpec;
  /** The client's MAC of spec.notify.webhook, made at submit (job/notify.ts). */
  notifyMac?: string;
  /** What the client recorded at submit (meta/job.json). */
  submission?: Submission;
  /** What the job used, as the wrapper measured it (job/usage.ts); none before the job ends. */
  usage?: Usage;
  /** The limits submit resolved under direct (job/limits.ts): enforced, or let through unenforced. */
  limits?: Limits;
  /** The image and runtime submit chose on the host (job/container.ts). */
  container?: Container;
}

/** meta/job.json: written by the client at submit, one line of JSON. */
export interface Submission {
  script?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  time_limit_s?: number;
  cpus?: number;
  client_host?: string;
  client_user?: string;
  dir?: string;
  tej_version?: string;
  git?: GitInfo;
  [key: string]: unknown;
}

function json<T>(v: string | undefined): T | undefined {
  if (!v) return undefined;
  try {
    return JSON.parse(v) as T;
  } catch {
    return undefined;
  }
}

export function toJobRecord(r: ReplyRecord, header: ReplyRecord, now: number): JobRecord | undefined {
  const s = toJobStatus(r, now);
  if (!s) return undefined;
  const rec: JobRecord = { ...s, host: header.host ?? '', queue: header.queue ?? '' };
  if (r.work_dir) rec.workDir = r.work_dir;
  if (r.stdout) rec.stdout = r.stdout;
  if (r.stderr) rec.stderr = r.stderr;
  if (r.resubmitted_from) rec.resubmittedFrom = r.resubmitted_from;
  if (r.notify_mac) rec.notifyMac = r.notify_mac;
  const spec = json<JobSpec>(r.spec);
  if (spec) rec.spec = spec;
  const submission = json<Submission>(r.job);
  if (submission) rec.submission = submission;
  const usage = parseUsage(r.usage);
  if (usage) rec.usage = usage;
  const limits = parseLimits(r.limits);
  if (limits) rec.limits = limits;
  const container = parseContainer(r.container);
  if (container) rec.container = container;
  return rec;
}
