// tej.json: read, validated with ajv against schema/tej.schema.json, errors rendered with field paths.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { packageJson } from '../package-root.js';
import { join } from 'node:path';
import { ConfigError, InvalidInputError } from '../errors.js';
import { checkAfter, parseAfter, type AfterDependency } from './after.js';

export interface JobSpec {
  script?: string;
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  time_limit?: string | number;
  cpus?: number;
  memory?: string;
  max_processes?: number;
  cpu_time?: number;
  allow_unenforced?: boolean;
  gpus?: number;
  /** A container image to run the job in (lib/container.sh): a path, or a name of the host's store. */
  image?: string;
  container_runtime?: 'ch-run' | 'apptainer' | 'singularity' | 'podman';
  stdout?: string;
  stderr?: string;
  labels?: Record<string, string>;
  /** A sweep (job/array.ts): the cartesian product of the values, or the tasks one by one. */
  params?: Record<string, (string | number | boolean)[]>;
  tasks?: Record<string, string | number | boolean>[];
  max_running?: number;
  notify?: { webhook?: string; command?: string };
  plugin?: string;
  /** Jobs to run after: ID, ID:ok or ID:any (lib/after.sh). */
  after?: string[];
  slurm?: { partition?: string; account?: string; qos?: string; sbatch_args?: string[] };
}

export const SPEC_FILE = 'tej.json';

export const JOB_SPEC_SCHEMA = packageJson('schema/tej.schema.json');

type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params: Record<string, unknown> }[] | null };
let validator: Validator | undefined;

async function compile(): Promise<Validator> {
  // ajv is loaded on first use: most commands never read a tej.json.
  // required, not imported: the CLI's bundle is CommonJS, run without Node's ES module loader
  const Ajv = (createRequire(import.meta.url)('ajv') as typeof import('ajv')).default;
  const ajv = new Ajv({ allErrors: true, strict: false });
  return ajv.compile(JOB_SPEC_SCHEMA) as Validator;
}

export async function validateSpec(data: unknown, source: string): Promise<JobSpec> {
  validator ??= await compile();
  if (validator(data)) return data as JobSpec;
  const problems = (validator.errors ?? []).map((e) => {
    const path = e.instancePath || '(top level)';
    if (e.params.additionalProperty) return `${path}: unknown field '${String(e.params.additionalProperty)}'`;
    return `${path}: ${e.message ?? 'is invalid'}`;
  });
  throw new ConfigError(`${source} does not match the tej.json schema:\n${[...new Set(problems)].map((p) => `  - ${p}`).join('\n')}`, {
    hint: "'tej schema' prints the schema",
  });
}

/**
 * Refuses an output file (tej.json stdout/stderr) that is not a plain relative path inside the job's
 * directory: absolute, with a `..` component, empty, or with control characters. The host checks again
 * (symlinks included) before it opens the file.
 */
export function checkOutputPath(value: unknown, what: string): void {
  if (typeof value !== 'string') return; // the schema reports a wrong type
  const why =
    value === ''
      ? 'it is empty'
      : value.startsWith('/')
        ? 'absolute paths are outside the job directory'
        : value.split('/').includes('..')
          ? "'..' leaves the job's directory"
          : /[\x00-\x1f\x7f]/.test(value)
            ? 'it holds a control character'
            : undefined;
  if (why) {
    throw new InvalidInputError(`bad ${what} ${JSON.stringify(value)}: ${why}`, {
      hint: 'name a file inside the job directory, relative to it (e.g. logs/train.log)',
    });
  }
}

/** Reads DIR/tej.json if there is one. */
export async function readSpec(dir: string): Promise<JobSpec | undefined> {
  const file = join(dir, SPEC_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    // no tej.json, or DIR is no directory (the scan of DIR then says so, with its own message)
    if (['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) return undefined;
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (data && typeof data === 'object') {
    // bad input (65), checked before the schema: a path that leaves the job is not a typo in the file
    for (const key of ['stdout', 'stderr'] as const) checkOutputPath((data as JobSpec)[key], `${key} in ${file}`);
  }
  return validateSpec(data, file);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** The longest duration tej takes (a time limit, a wait): a year. Beyond, numbers lose their digits. */
export const MAX_DURATION_S = 366 * 86400;

function bounded(total: number, value: string | number): number {
  if (total > MAX_DURATION_S) {
    throw new InvalidInputError(`duration '${value}' is too long: at most 366 days (${MAX_DURATION_S} s)`, { hint: 'write e.g. 90s, 45m, 1h30m, 2d' });
  }
  return total;
}

/** '90s', '1h30m', '2d', '45' (seconds), '1:30:00', '2-00:00:00' -> seconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value > 0) return bounded(value, value);
    throw new ConfigError(`bad duration ${value}: use a positive whole number of seconds`);
  }
  const v = value.trim();
  let m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(v);
  if (m) {
    const [, d = '0', h = '0', min = '0', s = '0'] = m;
    const total = Number(d) * 86400 + Number(h) * 3600 + Number(min) * 60 + Number(s);
    if (total > 0) return bounded(total, value);
  } else if (/^(\d+[smhd]?)+$/.test(v)) {
    let total = 0;
    for (m of v.matchAll(/(\d+)([smhd]?)/g)) total += Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
    if (total > 0) return bounded(total, value);
  }
  throw new ConfigError(`bad duration '${value}'`, { hint: 'write e.g. 90s, 45m, 1h30m, 2d, or hh:mm:ss' });
}

/**
 * Merges job descriptions, lowest layer first (e.g. a per-host default, then tej.json, then the command
 * line): a later layer's field wins. `env`, `labels` and `slurm` merge key by key; `slurm.sbatch_args`
 * add up in layer order (sbatch takes the last of a repeated option, so a later layer still wins).
 */
export function mergeSpecs(...layers: (JobSpec | undefined)[]): JobSpec {
  const out: JobSpec = {};
  for (const layer of layers) {
    if (!layer) continue;
    for (const [key, value] of Object.entries(layer) as [keyof JobSpec, unknown][]) {
      if (value === undefined) continue;
      if (key === 'env' || key === 'labels') {
        out[key] = { ...out[key], ...(value as Record<string, string>) };
      } else if (key === 'slurm') {
        const slurm = value as NonNullable<JobSpec['slurm']>;
        const args = [...(out.slurm?.sbatch_args ?? []), ...(slurm.sbatch_args ?? [])];
        const merged: NonNullable<JobSpec['slurm']> = { ...out.slurm };
        for (const k of ['partition', 'account', 'qos'] as const) if (slurm[k] !== undefined) merged[k] = slurm[k];
        if (args.length > 0) merged.sbatch_args = args;
        out.slurm = merged;
      } else {
        (out as Record<string, unknown>)[key] = value;
      }
    }
  }
  // script and command exclude each other: the layer that set one of them last decides.
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i];
    if (layer?.script !== undefined && layer.command === undefined) {
      delete out.command;
      break;
    }
    if (layer?.command !== undefined && layer.script === undefined) {
      delete out.script;
      break;
    }
  }
  return out;
}

/** The resources of a job as the queue plugins read them from meta/ (see docs/protocol.md). */
/** The resources a job asks for, as pack.ts writes them into meta/ (meta.ts JobMeta). */
export interface JobResources {
  /** CPUs: meta/nproc (slurm: --cpus-per-task; direct: taskset). */
  nproc?: number;
  /** Seconds: meta/time_limit. */
  timeLimit?: number;
  /** Memory for the job, e.g. 4G (slurm: --mem): meta/memory. */
  memory?: string;
  /** Processes of the job's user at once (direct: ulimit -u/-p): meta/max_processes. */
  maxProcesses?: number;
  /** CPU seconds per process (direct: ulimit -t): meta/cpu_time. */
  cpuTime?: number;
  /** Run a limit the plugin cannot enforce all the same: meta/allow-unenforced (lib/limits.sh). */
  allowUnenforced?: boolean;
  /** GPUs (slurm: --gres=gpu:N): meta/gpus. */
  gpus?: number;
  /** The image to run the job in, and the runtime asked for: meta/image, meta/container_runtime (lib/container.sh). */
  image?: string;
  containerRuntime?: string;
  /** The slurm plugin's options: meta/slurm/{partition,account,qos}, raw sbatch words in meta/slurm/args/. */
  slurm?: { partition?: string; account?: string; qos?: string; args?: string[] };
  /** The jobs this one runs after (--after): meta/after, "ID MODE" lines (lib/after.sh). */
  after?: AfterDependency[];
}

/** Turns a merged spec's resource fields into what pack.ts writes into meta/. */
export function specResources(spec: JobSpec): JobResources {
  const r: JobResources = {};
  if (spec.cpus !== undefined) r.nproc = spec.cpus;
  if (spec.time_limit !== undefined) r.timeLimit = parseDuration(spec.time_limit);
  if (spec.memory !== undefined) r.memory = spec.memory;
  if (spec.max_processes !== undefined) r.maxProcesses = spec.max_processes;
  if (spec.cpu_time !== undefined) r.cpuTime = spec.cpu_time;
  if (spec.allow_unenforced) r.allowUnenforced = true;
  if (spec.gpus !== undefined) r.gpus = spec.gpus;
  if (spec.image !== undefined) r.image = spec.image;
  if (spec.container_runtime !== undefined) r.containerRuntime = spec.container_runtime;
  const s = spec.slurm ?? {};
  const slurm: NonNullable<JobResources['slurm']> = {};
  if (s.partition !== undefined) slurm.partition = s.partition;
  if (s.account !== undefined) slurm.account = s.account;
  if (s.qos !== undefined) slurm.qos = s.qos;
  if (s.sbatch_args?.length) slurm.args = [...s.sbatch_args];
  if (Object.keys(slurm).length > 0) r.slurm = slurm;
  if (spec.after?.length) r.after = checkAfter(spec.after.map(parseAfter));
  return r;
}
