import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { checkNewJobId, defaultJobId } from '../../job/id.js';
import { jobOutput } from '../../job/output.js';
import { type JobSpec, mergeSpecs, readSpec, specResources, validateSpec } from '../../job/spec.js';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, destinationConfig, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';
import { printPlan, storedFiles } from './submit-dry-run.js';
import { planJob } from '../../job/plan.js';
import { checkSubmitOptions } from '../../job/prepare.js';
import { checkJobDir } from '../../job/pack.js';
import { prepareWhileConnecting } from '../prepare.js';
import { onInterrupt } from '../interrupt.js';
import { parseForwardSpec } from '../../job/forward.js';
import { ignoredLimitsWarning } from '../../job/ignored-limits.js';
import type { SubmitResult } from '../../job/submit.js';
import { runForward } from './forward.js';
import { parseParams, planArray } from '../../job/array.js';

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
  'keep-input'?: boolean;
  store?: boolean;
  mem?: string;
  'max-processes'?: number;
  'cpu-time'?: number;
  'allow-unenforced'?: boolean;
  gpus?: number;
  image?: string;
  'container-runtime'?: string;
  partition?: string;
  account?: string;
  qos?: string;
  'sbatch-arg'?: string[];
  forward?: string[];
  after?: string[];
  array?: string;
  'max-running'?: number;
  param?: string[];
}

/** The command line's layer of the job description, checked against the tej.json schema like a file. */
async function flagSpec(argv: Args): Promise<JobSpec> {
  const spec: JobSpec = {};
  if (argv['time-limit'] !== undefined) spec.time_limit = argv['time-limit'];
  if (argv.cpus !== undefined) spec.cpus = argv.cpus;
  if (argv.mem !== undefined) spec.memory = argv.mem;
  if (argv['max-processes'] !== undefined) spec.max_processes = argv['max-processes'];
  if (argv['cpu-time'] !== undefined) spec.cpu_time = argv['cpu-time'];
  if (argv['allow-unenforced'] !== undefined) spec.allow_unenforced = argv['allow-unenforced'];
  if (argv.gpus !== undefined) spec.gpus = argv.gpus;
  if (argv.image !== undefined) spec.image = argv.image;
  if (argv['container-runtime'] !== undefined) spec.container_runtime = argv['container-runtime'] as JobSpec['container_runtime'];
  if (argv.after?.length) spec.after = argv.after.map(String);
  const slurm: NonNullable<JobSpec['slurm']> = {};
  if (argv.partition !== undefined) slurm.partition = argv.partition;
  if (argv.account !== undefined) slurm.account = argv.account;
  if (argv.qos !== undefined) slurm.qos = argv.qos;
  if (argv['sbatch-arg']?.length) slurm.sbatch_args = argv['sbatch-arg'];
  if (Object.keys(slurm).length > 0) spec.slurm = slurm;
  const withPlugin = (s: JobSpec) => (argv.plugin !== undefined ? { ...s, plugin: argv.plugin } : s);
  // No resource flag: nothing to check, and no need to load and compile the schema (~0.1 s).
  if (Object.keys(spec).length === 0) return withPlugin(spec);
  try {
    await validateSpec(spec, 'the command line');
    // (a bad plugin name is refused with the other bad names, 65)
    return withPlugin(spec);
  } catch (e) {
    // The schema speaks of fields; the user wrote flags.
    const message = (e as Error).message
      .split('\n')
      .slice(1)
      .map((line) => line.replace(/\/[a-z_/]+/, (path) => FLAG_OF_FIELD[path] ?? path))
      .join('\n');
    throw new UsageError(`bad resource flags:\n${message}`, { hint: "see 'tej submit --help'" });
  }
}

const FLAG_OF_FIELD: Record<string, string> = {
  '/time_limit': '--time',
  '/cpus': '--cpus',
  '/memory': '--mem',
  '/max_processes': '--max-processes',
  '/cpu_time': '--cpu-time',
  '/gpus': '--gpus',
  '/image': '--image',
  '/container_runtime': '--container-runtime',
  '/slurm/partition': '--partition',
  '/slurm/account': '--account',
  '/slurm/qos': '--qos',
  '/after': '--after',
  '/after/': '--after',
};

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
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new UsageError(`bad --label '${p}'`, { hint: 'write --label key=value (key: letters, digits, . _ -)' });
    labels[key] = p.slice(eq + 1);
  }
  return labels;
}

function parseEnv(pairs: string[] | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const p of pairs ?? []) {
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`bad --env '${p}'`, { hint: 'write --env NAME=value' });
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
      .option('time-limit', { alias: 'time', type: 'string', describe: 'Wall-clock limit: 90s, 45m, 1h30m, hh:mm:ss (slurm: --time)' })
      .option('cpus', { type: 'number', describe: 'CPUs for the job, TEJ_JOB_NPROC (slurm: --cpus-per-task; direct: taskset to the first N)' })
      .option('mem', { type: 'string', describe: 'Memory, e.g. 4G, 512M (slurm: --mem; direct: a systemd user scope, else a delegated memory cgroup, else ulimit -v)' })
      .option('max-processes', { type: 'number', describe: "Processes of the job's user at once (direct: ulimit -u)" })
      .option('cpu-time', { type: 'number', describe: 'CPU seconds per process (direct: ulimit -t)' })
      .option('allow-unenforced', { type: 'boolean', describe: 'Run the job even when the plugin cannot enforce a limit it asks for (direct: more --gpus than are free, --partition, or a limit the host cannot set)' })
      .option('gpus', { type: 'number', describe: 'GPUs (slurm: --gres=gpu:N; direct: N free devices in CUDA_VISIBLE_DEVICES)' })
      .option('image', { type: 'string', describe: "Container image to run the job in: an image directory or .sif path on the host, or a name of the host's podman store" })
      .option('container-runtime', { type: 'string', describe: 'Runtime for --image: ch-run, apptainer, singularity or podman (default: the first the host has)' })
      .option('partition', { type: 'string', describe: 'Slurm partition (--partition)' })
      .option('account', { type: 'string', describe: 'Slurm account (--account)' })
      .option('qos', { type: 'string', describe: 'Slurm QOS (--qos)' })
      .option('sbatch-arg', { type: 'string', array: true, nargs: 1, describe: 'Extra raw sbatch option, one word (repeatable): --sbatch-arg=--constraint=ib' })
      .option('after', { type: 'string', array: true, nargs: 1, describe: 'Run once job ID has finished with exit 0 (ID or ID:ok), or has ended however (ID:any); repeatable; replaces tej.json after' })
      .option('label', { type: 'string', array: true, nargs: 1, describe: 'key=value label to select the job by later (repeatable; adds to tej.json labels)' })
      .option('exclude', { type: 'string', array: true, nargs: 1, describe: 'gitignore pattern of files not to upload (repeatable; adds to .tejignore)' })
      .option('keep-input', { type: 'boolean', describe: 'Keep the upload on the host for tej resubmit (default: when it is 64 MiB or less); --no-keep-input never' })
      .option('store', { type: 'boolean', describe: "Send only what the queue's content store lacks (default: jobs over 16 MiB); --no-store sends everything" })
      .option('forward', { type: 'string', array: true, nargs: 1, describe: 'Then wait for the job to start and forward [LOCAL:]PORT to it, as tej forward (repeatable)' })
      .option('array', { type: 'string', describe: 'Run the directory as an array of tasks: 0-99, 1,3,5-7, 0-99%K (at most K at once); each gets TEJ_TASK_INDEX' })
      .option('max-running', { type: 'number', describe: "At most this many tasks of the array at once (direct: default the host's CPU count)" })
      .option('param', { type: 'string', array: true, nargs: 1, describe: 'NAME=V1,V2: a sweep, one task per combination (repeatable); each task gets NAME in its environment' })
      .option('dry-run', { type: 'boolean', describe: "List the files that would be sent and their size; connect to nothing (with --store: ask the host's content store which it holds)" }),
  handler: async (argv) => {
    const { destination, rest } = await splitDestination(argv.args ?? [], 1);
    const dir = rest[0]!;
    const config = await destinationConfig(destination);
    const spec: JobSpec = (await readSpec(dir).catch((e) => {
      // a missing directory is reported by the scan, with its own message
      if (['E_CONFIG', 'E_INVALID_INPUT'].includes((e as { code?: string }).code ?? '')) throw e;
      return undefined;
    })) ?? {};
    const labels = parseLabels(argv.label);
    const fromFlag = scriptOrCommand(dir, argv.script);
    // Layers, lowest first: the config file's resources (host entry over defaults), tej.json, the flags.
    const merged = mergeSpecs(config.resources as JobSpec | undefined, spec, await flagSpec(argv), { env: parseEnv(argv.env) });
    const flagParams = parseParams((argv.param ?? []).map(String));
    const arrayPlan = planArray({
      array: argv.array,
      maxRunning: argv['max-running'] ?? spec.max_running,
      params: spec.params || argv.param?.length ? { ...spec.params, ...flagParams } : undefined,
      tasks: spec.tasks,
    });
    const options = {
      id: argv.id ?? defaultJobId(dir),
      ...(arrayPlan ? { arrayPlan } : {}),
      plugin: merged.plugin ?? config.plugin,
      ...(argv.script !== undefined ? fromFlag : { script: spec.script, command: spec.command }),
      args: merged.args,
      env: merged.env ?? {},
      stdout: merged.stdout,
      stderr: merged.stderr,
      ...specResources(merged),
      spec: merged,
      labels,
      exclude: argv.exclude,
      keepInput: argv['keep-input'],
      store: argv.store,
    };
    if (argv['dry-run']) {
      checkNewJobId(options.id);
      const plan = await planJob(dir, options);
      // --store: the host's content store says what it holds (the one dry run that connects)
      if (argv.store) {
        return withQueue(destination, argv, async (q) => {
          const calls = { host: destination ?? 'local', call: q.call.bind(q), retrying: <T>(_what: string, fn: () => Promise<T>) => fn() };
          printPlan(plan, argv.json, await storedFiles(calls, plan));
        });
      }
      return printPlan(plan, argv.json);
    }
    // A bad id, plugin or directory fails here, before any connection. The rest of the job (its files,
    // the git provenance) is read and packed once the SSH handshake has begun, while it waits on the host.
    checkSubmitOptions(options);
    checkJobDir(dir);
    const forwards = (argv.forward ?? []).map(String).map(parseForwardSpec);
    const print = (r: SubmitResult) => {
      // limits the job's plugin takes but does not enforce (Slurm: max_processes, cpu_time)
      const ignored = ignoredLimitsWarning(r.plugin, merged);
      if (ignored) process.stderr.write(ignored);
      if (argv.json && arrayPlan) printJson({ id: r.id, plugin: r.plugin, tasks: arrayPlan.indexes.map((i) => `${r.id}/${i}`) });
      else if (argv.json) {
        const sent = { uploaded_bytes: r.uploadedBytes ?? null, reused_files: r.reusedFiles ?? null };
        printJson(jobOutput(r.id, { id: r.id, state: r.state, plugin: r.plugin, nativeId: r.nativeId, labels: { ...spec.labels, ...labels } }, sent));
      }
      else process.stdout.write(`${r.id}\n`);
    };
    const preparing = await prepareWhileConnecting(dir, options);
    const connectOptions = preparing.connectOptions;
    const onEvent = connectOptions.onEvent;
    // Interrupted before the upload's end marker is sent, the host starts nothing (a torn stream); after
    // it, the job may start: then say its id, on stdout as a finished submit would.
    // With --forward: the id first, then the forward's URLs, on a connection of its own (no --persist).
    const r = await withQueue(destination, forwards.length ? { ...argv, persist: 'off' } : argv, async (q) => {
      const submitted = await q.submitPrepared(preparing.start());
      if (!forwards.length) return submitted;
      onInterrupt(undefined);
      print(submitted);
      await runForward(q, submitted.id, forwards, argv);
      return undefined;
    }, {
      ...connectOptions,
      onEvent: (e) => {
        onEvent?.(e);
        if (e.kind === 'upload-committed') {
          onInterrupt(() => {
            process.stdout.write(`${e.id}\n`);
            process.stderr.write(`tej: the upload of job ${e.id} was complete: the job may have started ('tej status${destination ? ` ${destination}` : ''} --id ${e.id}' tells; 'tej kill' stops it)\n`);
          });
        }
      },
    }).finally(() => onInterrupt(undefined));
    if (r) print(r);
  },
};
