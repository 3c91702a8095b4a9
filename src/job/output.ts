// The one JSON shape every command prints for a job (`--json`), described by schema/job-output.schema.json.
// Keys are always present (null when unknown), so that scripts need no guards; new keys may be added.
import { packageJson } from '../package-root.js';
import type { JobReason, JobState, JobStatus } from './status.js';

export interface JobOutput {
  id: string;
  state: JobState | 'absent';
  exit_code: number | null;
  submitted: string | null;
  started: string | null;
  ended: string | null;
  duration_s: number | null;
  plugin: string | null;
  native_id: string | null;
  native_state: string | null;
  /** memory: killed for its memory limit; dependency: ended unrun, a job it runs --after failed (named in dependency). */
  reason: JobReason | 'dependency' | null;
  labels: Record<string, string>;
  /** Only for a job that ended unrun because of a dependency (--after): its id. */
  dependency?: string;
  [extra: string]: unknown;
}

export const JOB_OUTPUT_SCHEMA = packageJson('schema/job-output.schema.json');

/** The job object of `id`; a job that does not exist is `{ id, state: 'absent', ... nulls }`. */
export function jobOutput(id: string, s: JobStatus | undefined, extra: Record<string, unknown> = {}): JobOutput {
  return {
    id: s?.id ?? id,
    state: s?.state ?? 'absent',
    exit_code: s?.exitCode ?? null,
    submitted: s?.submitted?.toISOString() ?? null,
    started: s?.start?.toISOString() ?? null,
    ended: s?.end?.toISOString() ?? null,
    duration_s: s?.elapsed ?? null,
    plugin: s?.plugin ?? null,
    native_id: s?.nativeId ?? null,
    native_state: s?.nativeState ?? null,
    reason: s?.dependency ? 'dependency' : (s?.reason ?? null),
    labels: s?.labels ?? {},
    ...(s?.dependency ? { dependency: s.dependency.id } : {}),
    ...extra,
  };
}
