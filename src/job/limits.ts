// The limits a job ran with (docs/protocol.md, "Limits"): the limits= line of a show record, as submit
// resolved them (lib/limits.sh): NAME:VALUE:yes|no words, no for a limit the plugin could not enforce
// that the job was let through with (--allow-unenforced). The job can rewrite the file: it is parsed
// strictly, and any other form gives no limits, never a guess.

/** The limits the direct plugin resolves, in the order it writes them. */
export const LIMIT_NAMES = ['memory', 'max_processes', 'cpu_time', 'cpus', 'gpus', 'partition', 'account', 'qos', 'sbatch_args'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** `--json`'s limits object: each limit asked for, its value as given and whether it was enforced. */
export type Limits = Partial<Record<LimitName, { value: string; enforced: boolean }>>;

const WORD = /^([a-z_]+):([A-Za-z0-9_.,-]{1,64}):(yes|no)$/;

/** The limits= line; undefined when there is none, or when it is not of the helper's form. */
export function parseLimits(v: string | undefined): Limits | undefined {
  if (!v) return undefined;
  const out: Limits = {};
  for (const word of v.split(' ')) {
    const m = WORD.exec(word);
    const name = m?.[1] as LimitName | undefined;
    if (!m || !name || !(LIMIT_NAMES as readonly string[]).includes(name) || out[name]) return undefined;
    out[name] = { value: m[2]!, enforced: m[3] === 'yes' };
  }
  return out;
}

/** The human line: `memory 50M, gpus 1 (not enforced)`. */
export function describeLimits(l: Limits | undefined): string | undefined {
  if (!l) return undefined;
  const parts = Object.entries(l).map(([name, { value, enforced }]) => `${name} ${value}${enforced ? '' : ' (not enforced)'}`);
  return parts.length ? parts.join(', ') : undefined;
}
