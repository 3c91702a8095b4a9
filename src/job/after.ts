// Job dependencies (`submit --after ID[:ok|any]`, tej.json "after"): parsed and checked here, written to
// meta/after ("ID MODE" lines) for the host, which checks that each job exists (lib/after.sh).
import { InvalidInputError } from '../errors.js';
import { checkJobId } from './id.js';

/** ok: the dependency must finish with exit code 0; any: it must end, however it ends. */
export type AfterMode = 'ok' | 'any';

export interface AfterDependency {
  id: string;
  mode: AfterMode;
}

/** `ID`, `ID:ok` or `ID:any` → a dependency; a bad id or mode is refused (65). */
export function parseAfter(value: string): AfterDependency {
  const colon = value.lastIndexOf(':');
  const id = colon < 0 ? value : value.slice(0, colon);
  const mode = colon < 0 ? 'ok' : value.slice(colon + 1);
  if (mode !== 'ok' && mode !== 'any') {
    throw new InvalidInputError(`bad dependency ${JSON.stringify(value)}: the mode is ok or any`, { hint: 'write --after ID, --after ID:ok or --after ID:any' });
  }
  return { id: checkJobId(id), mode };
}

/** Checks dependencies given to the library; a job listed twice keeps its strictest mode (ok). */
export function checkAfter(deps: readonly AfterDependency[] | undefined): AfterDependency[] {
  const byId = new Map<string, AfterMode>();
  for (const d of deps ?? []) {
    checkJobId(d.id);
    if (d.mode !== 'ok' && d.mode !== 'any') throw new InvalidInputError(`bad dependency mode ${JSON.stringify(d.mode)} for ${d.id}`, { hint: 'the mode is ok or any' });
    byId.set(d.id, byId.get(d.id) === 'ok' ? 'ok' : d.mode);
  }
  return [...byId].map(([id, mode]) => ({ id, mode }));
}

/** The text of meta/after: one "ID MODE" line per dependency. */
export function afterFile(deps: readonly AfterDependency[]): string {
  return deps.map((d) => `${d.id} ${d.mode}\n`).join('');
}

/** A status record's dependency= value ("ID STATE", written on the host) → why the job did not run. */
export function parseDependencyReason(v: string | undefined): { id: string; state: string } | undefined {
  const m = v ? /^(\S+) (\S+)$/.exec(v) : null;
  return m ? { id: m[1]!, state: m[2]! } : undefined;
}
