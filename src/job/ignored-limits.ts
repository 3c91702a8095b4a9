// Limits a plugin accepts but does not enforce (README, "Limits"): Slurm has no per-job process count or
// CPU-seconds limit that tej could hand to sbatch, so a Slurm job runs without them; the user is told on
// stderr (a warning, not an error: the job was submitted, as it is under Slurm without tej).
import type { JobSpec } from './spec.js';

/** The plugins' limits that their jobs run without, by plugin. */
const IGNORED: Record<string, readonly ('max_processes' | 'cpu_time')[]> = { slurm: ['max_processes', 'cpu_time'] };

/** `max_processes 20, cpu_time 60`: what the job asked for that `plugin` ignores; empty when nothing. */
export function ignoredLimits(plugin: string | undefined, spec: Pick<JobSpec, 'max_processes' | 'cpu_time'>): string[] {
  return (IGNORED[plugin ?? ''] ?? []).filter((k) => spec[k] !== undefined).map((k) => `${k} ${spec[k]}`);
}

/** The stderr line for them, or undefined. */
export function ignoredLimitsWarning(plugin: string | undefined, spec: Pick<JobSpec, 'max_processes' | 'cpu_time'>): string | undefined {
  const ignored = ignoredLimits(plugin, spec);
  if (!ignored.length) return undefined;
  return `tej: warning: the ${plugin} plugin does not enforce ${ignored.join(', ')}: the job runs without ${ignored.length > 1 ? 'them' : 'it'} (Slurm limits a job's memory and time, not its processes or CPU seconds)\n`;
}
