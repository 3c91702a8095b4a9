// The user's configuration file: defaults for every host and per host (queue, plugin, resources),
// validated with ajv against schema/config.schema.json. Precedence: CLI flags > tej.json > the host's
// entry > defaults.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { packageJson } from './package-root.js';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parseDestination } from './destination.js';
import { ConfigError } from './errors.js';
import { FileMemo } from './file-memo.js';
import { JOB_SPEC_SCHEMA, type JobSpec } from './job/spec.js';

export type Resources = Pick<JobSpec, 'time_limit' | 'cpus' | 'memory' | 'max_processes' | 'cpu_time' | 'gpus' | 'slurm'>;

export interface HostConfig {
  queue?: string;
  plugin?: string;
  resources?: Resources;
  /** Keep the connection open between commands: a duration of idle time (true: 10m, false: off). */
  persist?: string | boolean;
}

export interface TejConfig {
  defaults?: HostConfig;
  hosts?: Record<string, HostConfig>;
}

export const CONFIG_SCHEMA = packageJson('schema/config.schema.json');

/** $XDG_CONFIG_HOME/tej/config.json; a relative XDG_CONFIG_HOME is ignored, as the XDG spec says. */
export function configPath(env: NodeJS.ProcessEnv = process.env, home: string = env.HOME || homedir()): string {
  const xdg = env.XDG_CONFIG_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.config'), 'tej', 'config.json');
}

type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params: Record<string, unknown> }[] | null };
let validator: Validator | undefined;

async function compile(): Promise<Validator> {
  // required, not imported: the CLI's bundle is CommonJS, run without Node's ES module loader
  const Ajv = (createRequire(import.meta.url)('ajv') as typeof import('ajv')).default;
  const ajv = new Ajv({ allErrors: true, strict: false });
  ajv.addSchema(JOB_SPEC_SCHEMA); // config.schema.json refers to its field definitions
  return ajv.compile(CONFIG_SCHEMA) as Validator;
}

export async function validateConfig(data: unknown, file: string): Promise<TejConfig> {
  validator ??= await compile();
  if (validator(data)) return data as TejConfig;
  const problems = (validator.errors ?? []).map((e) => {
    const path = e.instancePath || '(top level)';
    if (e.params.additionalProperty) return `${path}: unknown field '${String(e.params.additionalProperty)}'`;
    return `${path}: ${e.message ?? 'is invalid'}`;
  });
  throw new ConfigError(`${file} is not a valid tej configuration:\n${[...new Set(problems)].map((p) => `  - ${p}`).join('\n')}`, {
    hint: `fix or remove ${file}; 'tej schema config' prints its schema`,
  });
}

const checkedConfigs = new FileMemo<TejConfig>();

/** Reads the configuration file; none at all is an empty configuration. */
export function loadConfig(file: string = configPath()): Promise<TejConfig> {
  return checkedConfigs.get(file, () => readConfig(file));
}

async function readConfig(file: string): Promise<TejConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file} is not valid JSON: ${(e as Error).message}`, { cause: e, hint: `fix or remove ${file}` });
  }
  return validateConfig(data, file);
}

/** The hosts entry for a destination: as typed first, then its host name alone; 'local' for this machine. */
export function hostEntry(config: TejConfig, destination: string | undefined): HostConfig | undefined {
  const hosts = config.hosts ?? {};
  const key = destination === undefined || destination === '' ? 'local' : destination;
  if (Object.hasOwn(hosts, key)) return hosts[key];
  if (key === 'local') return undefined;
  let host: string;
  try {
    host = parseDestination(key).host;
  } catch {
    return undefined; // a bad destination is reported when it is used
  }
  return Object.hasOwn(hosts, host) ? hosts[host] : undefined;
}

/** The defaults, overridden field by field by the host's entry. */
export function configFor(config: TejConfig, destination: string | undefined): HostConfig {
  const d = config.defaults ?? {};
  const h = hostEntry(config, destination) ?? {};
  const persist = h.persist ?? d.persist;
  return {
    queue: h.queue ?? d.queue,
    plugin: h.plugin ?? d.plugin,
    resources: mergeResources(d.resources, h.resources),
    ...(persist === undefined ? {} : { persist }),
  };
}

/** Later layers win field by field; the plugin's options object is merged the same way. */
export function mergeResources(...layers: (Resources | undefined)[]): Resources {
  const out: Resources = {};
  for (const layer of layers) {
    if (!layer) continue;
    const { slurm, ...fields } = layer;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
    if (slurm) out.slurm = { ...out.slurm, ...slurm };
  }
  return out;
}

