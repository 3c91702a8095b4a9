// What every command shares: global options, telling a destination from a path, opening the queue.
import type { Argv } from 'yargs';
import { configFor, loadConfig, type HostConfig, type TejConfig } from '../config.js';
import { connect, isLocal, type ConnectOptions } from '../connect.js';
import { looksLikeDestination } from '../destination.js';
import { InvalidInputError, UsageError } from '../errors.js';
import type { EventHandler } from '../events.js';
import type { Queue } from '../queue.js';
import { configHostAliases, loadSshConfig } from '../ssh/config.js';
import { persistSeconds } from './persist.js';
import { eventRenderer } from './render.js';

export interface GlobalArgs {
  queue?: string;
  verbose: boolean;
  quiet: boolean;
  json: boolean;
  'accept-new-host-key': boolean;
  persist?: string;
}

export function globalOptions<T>(y: Argv<T>) {
  return y
    .option('queue', { type: 'string', describe: 'Queue directory on the host (default ~/.tej)', global: true })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'Print diagnostics on stderr', global: true })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'Print nothing but results and errors', global: true })
    .option('json', { type: 'boolean', default: false, describe: 'Print results as JSON', global: true })
    .option('accept-new-host-key', { type: 'boolean', default: false, describe: 'Record an unknown host key instead of refusing', global: true })
    .option('persist', {
      type: 'string',
      describe: 'Keep the SSH connection open for later commands until unused for DURATION (--persist[=DURATION], default 10m; off: no)',
      global: true,
    });
}

/**
 * Splits positionals into an optional destination and the rest. With a fixed count the destination is
 * there when there is one positional more; with 'some' (download's specs) the first positional is a
 * destination only when it looks like one: user@host, ssh://..., `local`, or a Host alias of ~/.ssh/config.
 */
export async function splitDestination(positionals: string[], rest: number | 'some'): Promise<{ destination?: string; rest: string[] }> {
  const [first, ...others] = positionals;
  if (rest === 'some') {
    if (first !== undefined && others.length > 0 && looksLikeDestination(first, configHostAliases(await loadSshConfig()))) {
      return { destination: first, rest: others };
    }
    return { rest: positionals };
  }
  if (positionals.length === rest + 1) return { destination: first, rest: others };
  if (positionals.length === rest) return { rest: positionals };
  throw new UsageError(`expected ${rest === 0 ? 'at most a destination' : `[destination] and ${rest} argument(s)`}, got ${positionals.length} arguments`);
}

let userConfig: Promise<TejConfig> | undefined;

/** Forgets the config file read: a --persist worker runs the next command with the file as it is then. */
export function forgetUserConfig(): void {
  userConfig = undefined;
}

/** The config file's settings for a destination (read once per run). */
export async function destinationConfig(destination: string | undefined): Promise<HostConfig> {
  userConfig ??= loadConfig();
  return configFor(await userConfig, isLocal(destination) ? undefined : destination);
}

/** What a command adds to the connection's options: see submit, which reads the job while it connects. */
export type OpenOptions = Pick<ConnectOptions, 'signal' | 'prompt'> & { onEvent?: EventHandler };

export async function openQueue(
  destination: string | undefined,
  argv: GlobalArgs,
  onEvent: EventHandler = eventRenderer(argv),
  more: OpenOptions = {},
): Promise<Queue> {
  const config = await destinationConfig(destination);
  const queue = argv.queue ?? config.queue;
  if (queue !== undefined && /[\0\n\r]/.test(queue)) {
    throw new InvalidInputError(`bad queue path ${JSON.stringify(queue)}: it contains a newline or NUL`, { hint: 'name the queue directory with --queue DIR, without line breaks' });
  }
  // Only a host has a connection to keep; the local queue ignores --persist.
  const persist = isLocal(destination) ? undefined : persistSeconds(argv.persist, process.env.TEJ_PERSIST, config.persist);
  return connect(isLocal(destination) ? undefined : destination, {
    queue,
    acceptNewHostKey: argv['accept-new-host-key'],
    persist,
    onEvent: more.onEvent
      ? (e) => {
          onEvent(e);
          more.onEvent!(e);
        }
      : onEvent,
    ...(more.signal ? { signal: more.signal } : {}),
    ...(more.prompt ? { prompt: more.prompt } : {}),
  });
}

export async function withQueue<R>(destination: string | undefined, argv: GlobalArgs, fn: (q: Queue) => Promise<R>, more: OpenOptions = {}): Promise<R> {
  const events = eventRenderer(argv);
  try {
    const q = await openQueue(destination, argv, events, more);
    try {
      return await fn(q);
    } finally {
      await q.close();
    }
  } finally {
    events.finish(); // no spinner or bar left on screen, whatever happened
  }
}

export function requireIds(ids: unknown): string[] {
  const list = (Array.isArray(ids) ? ids : ids === undefined ? [] : [ids]).map(String);
  if (list.length === 0) throw new UsageError('--id is required', { hint: 'name the job with --id ID' });
  return list;
}
