// Job records as the helpers report them, turned into typed values.
import { EXIT, ProtocolError } from '../errors.js';
import { replyNow, type Reply, type ReplyRecord } from '../protocol/reply.js';
import { parseDependencyReason } from './after.js';

/** One vocabulary for every plugin (docs/protocol.md, "States"). */
export const JOB_STATES = ['submitting', 'incomplete', 'queued', 'running', 'finished', 'killed', 'timeout', 'lost'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Why a job failed, when the wrapper knows (docs/protocol.md, "The end record"): memory, its memory
 * cgroup's OOM kill (lib/cgroup.sh). The job can write the file: any other word is no reason. */
export const JOB_REASONS = ['memory'] as const;
export type JobReason = (typeof JOB_REASONS)[number];

export interface JobStatus {
  id: string;
  state: JobState;
  plugin?: string;
  nativeId?: string;
  /** The plugin's own state word (slurm: PENDING, TIMEOUT, OUT_OF_MEMORY, ...), when it has one. */
  nativeState?: string;
  submitted?: Date;
  start?: Date;
  end?: Date;
  exitCode?: number;
  /** Seconds from start to end, or to the remote's now while running; unknown for a job lost without an end. */
  elapsed?: number;
  /** tej.json's labels, as the job was submitted with them. */
  labels?: Record<string, string>;
  /** The id of the job's last rerun (`tej resubmit`), when it was rerun. */
  rerunAs?: string;
  /** Why the job failed, when the wrapper knows. */
  reason?: JobReason;
  /** Why a job ended unrun: a dependency (--after) that can never be met, and how that one ended. */
  dependency?: { id: string; state: string };
  /** tej.json's notify.webhook as the host has it (the job can rewrite it: posted only with the client's MAC, job/notify-post.ts). */
  notifyWebhook?: string;
  /** The job's wrapper POSTs its end to the webhook itself, with this tool (lib/webhook.sh): no client does. */
  notifyHost?: string;
  /** When a client claimed the POST of the webhook (remote `claim`, job/notify-post.ts): no other posts it. */
  notifyClaimed?: string;
  /** A task's: when a client claimed the POST of its whole array's webhook (job/notify-array.ts). */
  arrayNotifyClaimed?: string;
}

/** The labels= value of a record: a JSON object of strings; anything else counts as none. */
function parseLabels(v: string | undefined): Record<string, string> | undefined {
  if (!v) return undefined;
  try {
    const o = JSON.parse(v) as unknown;
    if (o && typeof o === 'object' && !Array.isArray(o) && Object.values(o).every((x) => typeof x === 'string')) return o as Record<string, string>;
  } catch {
    // unreadable: no labels
  }
  return undefined;
}

function time(v: string | undefined): Date | undefined {
  return v && /^\d+$/.test(v) ? new Date(Number(v) * 1000) : undefined;
}

/**
 * `now` is the remote clock, so that durations are right whatever the local clock says: the record's own
 * (status and list give it with a running job's record) else the reply header's, which the caller passes.
 */
export function toJobStatus(r: ReplyRecord, now: number): JobStatus | undefined {
  if (r.state === 'absent' || !r.id) return undefined;
  // A word this client does not know is a helper it does not understand, not a lost job.
  if (!(JOB_STATES as readonly string[]).includes(r.state ?? '')) {
    throw new ProtocolError(`the host reported the unknown state ${JSON.stringify(r.state ?? '')} for job ${r.id}`, {
      hint: 'the helpers on the host do not match this tej: run tej setup on the host',
    });
  }
  const state = r.state as JobState;
  const start = time(r.start);
  const end = time(r.end);
  const s: JobStatus = { id: r.id, state };
  if (r.plugin) s.plugin = r.plugin;
  if (r.native_id) s.nativeId = r.native_id;
  if (r.native_state && r.native_state !== '-') s.nativeState = r.native_state; // '-': the plugin has none
  const submitted = time(r.submitted);
  if (submitted) s.submitted = submitted;
  if (start) s.start = start;
  if (end) s.end = end;
  if (r.exit_code && /^\d+$/.test(r.exit_code)) s.exitCode = Number(r.exit_code);
  // Up to now only while the job runs: a lost job's end is unknown, so is its duration (not a count that grows forever).
  const clock = r.now && /^\d+$/.test(r.now) ? Number(r.now) : now;
  const until = end?.getTime() ?? (state === 'running' ? clock * 1000 : undefined);
  if (start && until !== undefined) s.elapsed = Math.max(0, Math.round((until - start.getTime()) / 1000));
  if (r.rerun_as) s.rerunAs = r.rerun_as;
  if ((JOB_REASONS as readonly string[]).includes(r.reason ?? '')) s.reason = r.reason as JobReason;
  const dependency = parseDependencyReason(r.dependency);
  if (dependency) s.dependency = dependency;
  if (r.notify_webhook) s.notifyWebhook = r.notify_webhook;
  if (r.notify_host) s.notifyHost = r.notify_host;
  if (r.notify_claimed) s.notifyClaimed = r.notify_claimed;
  if (r.array_notify_claimed) s.arrayNotifyClaimed = r.array_notify_claimed;
  const labels = parseLabels(r.labels);
  if (labels) s.labels = labels;
  return s;
}

/** 1:28:57, 3:05, 2d 4:00:00. */
export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  const hms = h > 0 || d > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  return d > 0 ? `${d}d ${hms}` : hms;
}

/** Native states that say why a job ended the way it did, shown after the tej state. */
const TELLING_NATIVE_STATES = new Set(['OUT_OF_MEMORY', 'NODE_FAIL', 'BOOT_FAIL', 'PREEMPTED', 'DEADLINE']);

/** The human line: `running (1:28:57)`, `finished (exit 0, 2:03)`, `lost (NODE_FAIL)`, `no such job`. */
export function describeStatus(s: JobStatus | undefined): string {
  if (!s) return 'no such job';
  const line = s.reason === 'memory' ? `${describeState(s)} [memory limit]` : describeState(s);
  return s.nativeState && TELLING_NATIVE_STATES.has(s.nativeState) ? `${line} [${s.nativeState}]` : line;
}

function describeState(s: JobStatus): string {
  const dur = s.elapsed !== undefined ? formatDuration(s.elapsed) : undefined;
  switch (s.state) {
    case 'running':
      return dur ? `running (${dur})` : 'running';
    case 'finished':
      if (s.dependency) return `finished (exit ${s.exitCode ?? '?'}, not run: dependency ${s.dependency.id} ${s.dependency.state})`;
      return `finished (exit ${s.exitCode ?? '?'}${dur ? `, ${dur}` : ''})`;
    case 'killed':
    case 'timeout':
      return dur ? `${s.state} (after ${dur})` : s.state;
    default:
      return s.state;
  }
}

/** The reply of kill → what it returns. */
export interface KillResult {
  id: string;
  previousState: JobState;
  state: JobState;
}

export function killResult(reply: Reply, id: string): KillResult {
  const r = reply.records[0] ?? {};
  return { id, previousState: r.previous_state as JobState, state: r.state as JobState };
}

/** The reply of list → the statuses of the jobs it names. */
export function listedStatuses(reply: Reply): JobStatus[] {
  const now = replyNow(reply);
  return reply.records.map((r) => toJobStatus(r, now)).filter((s): s is JobStatus => s !== undefined);
}

/** `tej status` exit codes, one per state (README, "Errors & exit codes"). */
export const STATUS_EXIT = {
  finished: 0, // and exit code 0
  failed: 4, // finished with a non-zero exit code
  running: 2,
  queued: 3,
  submitting: 3,
  killed: 5,
  timeout: 6,
  lost: 7,
  incomplete: 7,
  absent: EXIT.NOINPUT, // no such job, as the helpers say it
} as const;

export function statusExit(s: JobStatus | undefined): number {
  if (!s) return STATUS_EXIT.absent;
  if (s.state === 'finished') return s.exitCode === 0 ? STATUS_EXIT.finished : STATUS_EXIT.failed;
  return STATUS_EXIT[s.state];
}
