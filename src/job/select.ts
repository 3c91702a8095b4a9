// Choosing jobs, kong style: several ids, glob patterns over ids (`train_*`), labels (`exp=lr`), states
// and a start time. Globs and labels are resolved here, on the client, from one `list` reply.
import { JobNotFoundError, UsageError } from '../errors.js';
import { parseDuration } from './spec.js';
import { checkJobId } from './id.js';
import { JOB_STATES, type JobState, type JobStatus } from './status.js';

export interface Selector {
  /** Ids and glob patterns (`*`, `?`, `[...]`); a job matches when it matches one of them. */
  ids?: string[];
  /** `key=value` or `key` (the label is set); a job matches when it matches all of them. */
  labels?: string[];
  /** States, plus `failed`: finished with a non-zero exit code, timeout or lost. */
  states?: string[];
  /** Jobs submitted at or after this time. */
  since?: Date;
}

export const STATE_FILTERS = [...JOB_STATES, 'failed'] as const;

export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** A glob over job ids as a RegExp: `*` any run, `?` one character, `[...]`/`[!...]` a class. */
export function globToRegExp(glob: string): RegExp {
  if (!/^[A-Za-z0-9._*?[\]!/-]+$/.test(glob) || glob.length > 256) {
    throw new UsageError(`bad --id pattern '${glob}'`, { hint: 'patterns use job id characters and * ? [...], e.g. train_*' });
  }
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close < 0) throw new UsageError(`bad --id pattern '${glob}': '[' without ']'`);
      let body = glob.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`;
      i = close;
    } else re += c.replace(/[.]/g, '\\.');
  }
  return new RegExp(`^${re}$`);
}

export interface LabelMatch {
  key: string;
  value?: string;
}

export function parseLabelSelector(text: string): LabelMatch {
  const eq = text.indexOf('=');
  const key = eq < 0 ? text : text.slice(0, eq);
  if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new UsageError(`bad --label '${text}'`, { hint: 'write --label key=value, or --label key for any value' });
  return eq < 0 ? { key } : { key, value: text.slice(eq + 1) };
}

export function isFailed(s: JobStatus): boolean {
  return (s.state === 'finished' && s.exitCode !== 0) || s.state === 'timeout' || s.state === 'lost';
}

export function checkStateFilter(state: string): string {
  if (!(STATE_FILTERS as readonly string[]).includes(state)) {
    throw new UsageError(`unknown state '${state}'`, { hint: `states: ${STATE_FILTERS.join(', ')}` });
  }
  return state;
}

/** `--since`: a duration back from `now` (90m, 2d, 1h30m) or a date/time (2026-11-23, 2026-11-23T10:00Z). */
export function parseSince(value: string, now: Date = new Date()): Date {
  if (/^[0-9smhd:-]+$/.test(value) && !/^\d{4}-\d\d-\d\d/.test(value)) {
    try {
      return new Date(now.getTime() - parseDuration(value) * 1000);
    } catch {
      // not a duration: try a date below
    }
  }
  const t = /^\d{4}-\d\d-\d\d/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) {
    throw new UsageError(`bad --since '${value}'`, { hint: 'write a duration back from now (90m, 2d, 1h30m) or a date (2026-11-23, 2026-11-23T10:00:00Z)' });
  }
  return new Date(t);
}

/** Whether the job matches every part of the selector. */
export function matches(s: JobStatus, sel: Selector): boolean {
  // an array's id names its tasks (ID/N): the queue lists the tasks, never the array itself
  if (sel.ids?.length && !sel.ids.some((p) => (isGlob(p) ? globToRegExp(p).test(s.id) : p === s.id || s.id.startsWith(`${p}/`)))) return false;
  for (const l of (sel.labels ?? []).map(parseLabelSelector)) {
    const v = s.labels?.[l.key];
    if (v === undefined || (l.value !== undefined && v !== l.value)) return false;
  }
  if (sel.states?.length && !sel.states.some((st) => (st === 'failed' ? isFailed(s) : s.state === (st as JobState)))) return false;
  if (sel.since) {
    const t = s.submitted ?? s.start;
    if (!t || t.getTime() < sel.since.getTime()) return false;
  }
  return true;
}

/** Whether the selector needs the queue's job list (anything but plain ids). */
export function needsList(sel: Selector): boolean {
  return (sel.ids ?? []).some(isGlob) || (sel.labels?.length ?? 0) > 0 || (sel.states?.length ?? 0) > 0 || sel.since !== undefined;
}

/**
 * The ids a selector names. Plain ids come back as given (the command reports a missing one); anything
 * else is matched against `list()`, and a pattern or a selection that matches nothing is an error.
 */
export async function resolveSelection(sel: Selector, list: () => Promise<JobStatus[]>, host: string): Promise<string[]> {
  for (const p of sel.ids ?? []) if (!isGlob(p)) checkJobId(p);
  (sel.states ?? []).forEach(checkStateFilter);
  if (!needsList(sel)) {
    if (!sel.ids?.length) throw new UsageError('no job selected', { hint: 'name jobs with --id ID (repeatable, globs like train_* too) or --label key=value' });
    return [...new Set(sel.ids)];
  }
  const jobs = (await list()).filter((s) => matches(s, sel));
  for (const p of (sel.ids ?? []).filter(isGlob)) {
    if (!jobs.some((s) => globToRegExp(p).test(s.id))) {
      throw new JobNotFoundError(`no job matches --id '${p}'${describeRest(sel)} (on ${host})`, { hint: `'tej list ${host}' shows the jobs` });
    }
  }
  if (jobs.length === 0) throw new JobNotFoundError(`no job matches the selection${describeRest(sel)} (on ${host})`, { hint: `'tej list ${host}' shows the jobs` });
  return jobs.map((s) => s.id);
}

function describeRest(sel: Selector): string {
  const parts = [...(sel.labels ?? []).map((l) => `--label ${l}`), ...(sel.states ?? []).map((s) => `--state ${s}`)];
  if (sel.since) parts.push(`--since ${sel.since.toISOString()}`);
  return parts.length ? ` with ${parts.join(' ')}` : '';
}
