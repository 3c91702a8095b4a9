import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { checkJobId, defaultJobId } from '../../job/id.js';
import { jobJson } from '../../job/json.js';
import { parseDuration, readSpec } from '../../job/spec.js';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, destinationConfig, splitDestination, withQueue } from '../context.js';
import { withConfigResources } from '../../config.js';
import { printJson } from '../render.js';
import { printPlan } from './submit-dry-run.js';
import { planJob } from '../../job/plan.js';

interface Args extends GlobalArgs {
  args?: string[];
  id?: string;
  script?: string;
  plugin?: string;
  env?: string[];
  'time-limit'?: string;
  cpus?: number;
  label?: string[];
  exclude?: string[];
  'dry-run'?: boolean;
}

/** --script names a file of the job when there is one; otherwise it is a command line for sh -c. */
function scriptOrCommand(dir: string, value: string | undefined): { script?: string; command?: string } {
  if (value === undefined) return {};
  try {
    if (!value.startsWith('/') && statSync(join(dir, value)).isFile()) return { script: value };
  } catch {
    // not a file of the job: a command
  }
  return { command: value };
}

function parseLabels(pairs: string[] | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    const key = eq < 0 ? '' : p.slice(0, eq);
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new UsageError(`tej: bad --label '${p}'`, { hint: 'write --label key=value (key: letters, digits, . _ -)' });
    labels[key] = p.slice(eq + 1);
  }
  return labels;
}

function parseEnv(pairs: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`tej: bad --env '${p}'`, { hint: 'write --env NAME=value' });
    env[name] = eq < 0 ? (process.env[name] ?? '') : p.slice(eq + 1);
  }
  return env;
}

export const submitCommand: CommandModule<GlobalArgs, Args> = {
  command: 'submit <args..>',
  describe: 'Upload a job directory and start it; prints the job id ([destination] DIR)',
  builder: (y) =>
    y
      .positional('args', { type: 'string', array: true, describe: '[destination] DIR' })
      .option('id', { type: 'string', describe: 'Job id (default <dirname>_<user>_<random>)' })
      .option('script', { type: 'string', describe: 'Script in DIR to run, or a command line (default start.sh)' })
      .option('plugin', { type: 'string', describe: 'Queue plugin for this job (default: the queue\'s)' })
      .option('env', { type: 'string', array: true, nargs: 1, describe: 'NAME=value for the job (repeatable)' })
      .option('time-limit', { type: 'string', describe: 'Wall-clock limit: 90s, 45m, 1h30m, hh:mm:ss' })
      .option('cpus', { type: 'number', describe: 'CPUs for the job (TEJ_JOB_NPROC)' })
      .option('label', { type: 'string', array: true, nargs: 1, describe: 'key=value label to select the job by later (repeatable; adds to tej.json labels)' })
      .option('exclude', { type: 'string', array: true, nargs: 1, describe: 'gitignore pattern of files not to upload (repeatable; adds to .tejignore)' })
      .option('dry-run', { type: 'boolean', describe: 'List the files that would be sent and their size; connect to nothing' }) as never,
  handler: async (argv) => {
    const { destination, rest } = await splitDestination(argv.args ?? [], 1);
    const dir = rest[0]!;
    const config = await destinationConfig(destination);
    const spec = withConfigResources((await readSpec(dir).catch((e) => {
      // a missing directory is reported by the scan, with its own message
      if ((e as { code?: string }).code === 'E_CONFIG') throw e;
      return undefined;
    })) ?? {}, config.resources);
    const labels = parseLabels(argv.label);
    const fromFlag = scriptOrCommand(dir, argv.script);
    const env = { ...spec.env, ...parseEnv(argv.env) };
    const timeLimit = argv['time-limit'] ?? spec.time_limit;
    const options = {
      id: argv.id ?? defaultJobId(dir),
      plugin: argv.plugin ?? spec.plugin ?? config.plugin,
      ...(argv.script !== undefined ? fromFlag : { script: spec.script, command: spec.command }),
      args: spec.args,
      env,
      stdout: spec.stdout,
      stderr: spec.stderr,
      nproc: argv.cpus ?? spec.cpus,
      timeLimit: timeLimit !== undefined ? parseDuration(timeLimit) : undefined,
      spec,
      labels,
      exclude: argv.exclude,
    };
    if (argv['dry-run']) {
      checkJobId(options.id);
      return printPlan(await planJob(dir, options), argv.json);
    }
    const r = await withQueue(destination, argv, (q) => q.submit(dir, options));
    if (argv.json) printJson(jobJson(r.id, { id: r.id, state: r.state, plugin: r.plugin, nativeId: r.nativeId, labels: { ...spec.labels, ...labels } }));
    else process.stdout.write(`${r.id}\n`);
  },
};
