// The setup operation's parts: its options and result, and a plugin file of the user's own read here and
// installed into the queue (its hash is then kept on this machine: src/remote/user-plugins.ts).
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidInputError } from '../errors.js';
import { fromFsError } from '../fs-errors.js';
import { remoteError } from '../protocol/exit-codes.js';
import type { Reply } from '../protocol/reply.js';
import { shQuotePath } from '../transport/quote.js';
import type { RunOptions, RunResult } from '../transport/transport.js';
import { VERSION } from '../version.js';
import { loadBundle } from './bundle.js';
import { bundlePlugins } from './program.js';
import { PLUGIN_NAME, saveUserPlugin, sha256, type UserPlugins } from './user-plugins.js';

export interface SetupOptions {
  /** Default plugin for jobs of this queue. @default 'direct' */
  plugin?: string;
  /** Make this path a symlink to the queue, so later commands find it by default. */
  link?: string;
  /**
   * A plugin of the user's own to install into the queue, as `plugin` when that is given (it becomes the
   * default then), else under the file's name without `.sh`. Its hash is kept on this machine.
   */
  pluginFile?: string;
  /** Install even into a non-empty directory that is not a tej queue. */
  force?: boolean;
}

export interface SetupResult {
  queue: string;
  plugin: string;
  version: string;
  /** A plugin the host looks made for (slurm when it has sbatch), when it is not the one set up. */
  suggestedPlugin?: string;
}

/** The reply of the setup helper → what setup returns. */
export function setupResult(reply: Reply, queue: string, options: SetupOptions): SetupResult {
  const h = reply.header;
  const r: SetupResult = { queue: h.queue ?? queue, plugin: h.plugin ?? options.plugin ?? 'direct', version: h.version ?? VERSION };
  if (h.suggest_plugin) r.suggestedPlugin = h.suggest_plugin;
  return r;
}

/** The name (--plugin, else the file's) and the content of a plugin file of the user's own. */
export async function readPluginFile(file: string, plugin?: string): Promise<{ name: string; data: Buffer }> {
  const name = plugin ?? basename(file).replace(/\.sh$/, '');
  if (!PLUGIN_NAME.test(name)) {
    throw new InvalidInputError(`'${name}' is not a plugin name (from ${plugin === undefined ? `the file name ${file}` : '--plugin'})`, {
      hint: 'plugin names are a lower-case letter, then up to 31 of a-z, 0-9, _ and -: name it with --plugin NAME',
    });
  }
  if (bundlePlugins(await loadBundle()).includes(name)) {
    throw new InvalidInputError(`'${name}' is one of tej's own plugins; yours needs another name`, { hint: 'name it with --plugin NAME' });
  }
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (e) {
    throw fromFsError(e, { doing: 'read the plugin file' });
  }
  return { name, data };
}

/** Copies the user's plugin into queues/NAME.sh of the queue at `queue`, then records its hash on this machine. */
export async function installPlugin(
  run: (script: string, options: RunOptions, what: string) => Promise<RunResult>,
  queue: string,
  host: string,
  name: string,
  data: Buffer,
): Promise<UserPlugins> {
  const q = shQuotePath(queue);
  // Into place by rename, so that a call never sources half a file.
  const script = `umask 077; Q=${q}; cd "$Q" && mkdir -p queues && cat > queues/.${name}.sh.$$ && mv -f queues/.${name}.sh.$$ queues/${name}.sh`;
  const r = await run(script, { stdin: () => Readable.from([data]) }, `install the plugin ${name} into ${queue}`);
  if (r.code !== 0) throw remoteError(host, { command: 'install plugin', code: r.code ?? 1, stderr: r.stderr }, `cannot install the plugin ${name} into ${queue}`);
  return saveUserPlugin(host, queue, name, sha256(data));
}
