// The resource record of a job (docs/protocol.md, "The usage record"): the usage= line of a record, as
// the wrapper wrote it in the job's directory. The job can write that file too: it is parsed strictly,
// and anything but the wrapper's own form gives every field null, never a guess or a crash.

/** What measured the fields: GNU time, the shell's times, Slurm's accounting. */
export const USAGE_SOURCES = ['time', 'times', 'sacct'] as const;
export type UsageSource = (typeof USAGE_SOURCES)[number];

/** `--json`'s usage object: a field not measured is null. */
export interface Usage {
  max_rss_bytes: number | null;
  cpu_user_s: number | null;
  cpu_sys_s: number | null;
  wall_s: number | null;
  source: UsageSource | null;
}

export const NO_USAGE: Usage = Object.freeze({ max_rss_bytes: null, cpu_user_s: null, cpu_sys_s: null, wall_s: null, source: null });

// Bounds: a petabyte of RSS, a century of seconds; more is a record the wrapper did not write.
const MAX_BYTES = 2 ** 50;
const MAX_SECONDS = 100 * 365 * 86400;
const BYTES = /^(?:\d{1,16}|-)$/;
const SECONDS = /^(?:\d{1,10}(?:\.\d{1,9})?|-)$/;

function field(word: string, form: RegExp, max: number): number | null | undefined {
  if (!form.test(word)) return undefined;
  if (word === '-') return null;
  const n = Number(word);
  return Number.isFinite(n) && n <= max ? n : undefined;
}

/** "SOURCE MAX_RSS_BYTES CPU_USER_S CPU_SYS_S WALL_S" (- for not measured); undefined when there is none. */
export function parseUsage(v: string | undefined): Usage | undefined {
  if (v === undefined) return undefined;
  const words = v.split(' ');
  if (words.length !== 5) return NO_USAGE;
  const [source, rss, user, sys, wall] = words as [string, string, string, string, string];
  if (source !== '-' && !(USAGE_SOURCES as readonly string[]).includes(source)) return NO_USAGE;
  const u = {
    max_rss_bytes: field(rss, BYTES, MAX_BYTES),
    cpu_user_s: field(user, SECONDS, MAX_SECONDS),
    cpu_sys_s: field(sys, SECONDS, MAX_SECONDS),
    wall_s: field(wall, SECONDS, MAX_SECONDS),
  };
  if (Object.values(u).some((x) => x === undefined)) return NO_USAGE;
  // Nothing measured by a source that is not named: only the wrapper's clock (wall) may be there.
  if (source === '-' && (u.max_rss_bytes !== null || u.cpu_user_s !== null || u.cpu_sys_s !== null)) return NO_USAGE;
  return { ...(u as Omit<Usage, 'source'>), source: source === '-' ? null : (source as UsageSource) };
}

const SOURCE_NAMES: Record<UsageSource, string> = { time: 'GNU time', times: "the shell's times", sacct: 'sacct' };

/** The human line: `max RSS 52.1 MiB, CPU 1.02 s user + 0.03 s system, wall 1.10 s (GNU time)`. */
export function describeUsage(u: Usage | undefined): string | undefined {
  if (!u || Object.values(u).every((x) => x === null)) return undefined;
  const parts: string[] = [];
  if (u.max_rss_bytes !== null) parts.push(`max RSS ${(u.max_rss_bytes / 2 ** 20).toFixed(1)} MiB`);
  if (u.cpu_user_s !== null || u.cpu_sys_s !== null) parts.push(`CPU ${u.cpu_user_s ?? '?'} s user + ${u.cpu_sys_s ?? '?'} s system`);
  if (u.wall_s !== null) parts.push(`wall ${u.wall_s} s`);
  return `${parts.join(', ')}${u.source ? ` (${SOURCE_NAMES[u.source]})` : ''}`;
}
