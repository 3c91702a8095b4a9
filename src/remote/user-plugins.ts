// A user's own queue plugins (`tej setup --plugin-file`). The client keeps each one's sha256 in its own
// config directory, keyed by host and queue: a job runs as the queue's user and can rewrite anything in
// the queue, MANIFEST included, so the hash to trust is the one this machine installed. Every call sends
// these hashes; the host checks the plugin files against them before any helper runs, and the helpers
// source only the plugins the call names as verified (docs/protocol.md, "The dispatcher").
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { configPath } from '../config.js';
import { ConfigError, EXIT } from '../errors.js';
import { shQuote } from '../transport/quote.js';
import { PROTO } from '../version.js';
import type { Bundle } from './bundle.js';
import { bundlePlugins } from './program.js';

/** Plugin names, on both sides (is_plugin_name in lib/common.sh). */
export const PLUGIN_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** name → sha256 (hex) of the plugin file this client installed. */
export type UserPlugins = Record<string, string>;

/** $XDG_CONFIG_HOME/tej/plugins.json, beside config.json. */
export function userPluginsPath(): string {
  return join(dirname(configPath()), 'plugins.json');
}

function key(host: string, queue: string): string {
  return `${host} ${queue}`;
}

async function readStore(file: string): Promise<Record<string, UserPlugins>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw e;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  const valid =
    typeof data === 'object' &&
    data !== null &&
    Object.values(data).every(
      (plugins) => typeof plugins === 'object' && plugins !== null && Object.entries(plugins).every(([n, h]) => PLUGIN_NAME.test(n) && typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)),
    );
  if (!valid) {
    throw new ConfigError(`${file} is not a valid list of installed plugins`, {
      hint: `remove ${file}, then run 'tej setup HOST --plugin-file FILE' again for each of your own plugins`,
    });
  }
  return data as Record<string, UserPlugins>;
}

/** The plugins this client installed into `queue` on `host` (none: {}). */
export async function loadUserPlugins(host: string, queue: string): Promise<UserPlugins> {
  return (await readStore(userPluginsPath()))[key(host, queue)] ?? {};
}

/** Records (or replaces) one plugin's hash; the file is replaced whole, never left half written. */
export async function saveUserPlugin(host: string, queue: string, name: string, sha256: string): Promise<UserPlugins> {
  const file = userPluginsPath();
  const store = await readStore(file);
  const plugins = { ...store[key(host, queue)], [name]: sha256 };
  store[key(host, queue)] = plugins;
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
  return plugins;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Shell for the invocation, run in the queue directory ("$Q") once the bundle is verified: checks the
 * user's plugins against the hashes sent, then exports TEJ_PLUGINS, the plugins the helpers may
 * source. A plugin that differs (or cannot be checked: no sha256 tool) runs nothing: the reply names
 * it (plugin_modified=NAME) and the call exits 69.
 */
export function pluginCheck(bundle: Bundle, plugins: UserPlugins): string {
  const names = Object.keys(plugins).sort();
  // TEJ_PLUGIN_SUMS: the helper program runs an own plugin only from text it read and found to have
  // this sum (load_own_plugin, lib/common.sh), not from the file it checked here and might read again.
  const allowed =
    `TEJ_PLUGINS=${shQuote([...bundlePlugins(bundle), ...names].join(' '))}; ` +
    `TEJ_PLUGIN_SUMS=${shQuote(names.map((n) => `${n}=${plugins[n]}`).join(' '))}; export TEJ_PLUGINS TEJ_PLUGIN_SUMS; `;
  if (names.length === 0) return allowed;
  // Names and hashes are [a-z0-9_-] and hex: plain words in the script.
  const lines = names.map((n) => `${plugins[n]}  queues/${n}.sh`).join('\\n');
  const sum = `if command -v sha256sum >/dev/null 2>&1; then sha256sum -c -; elif command -v shasum >/dev/null 2>&1; then shasum -a 256 -c -; else false; fi`;
  // Only regular files are read: a job can put a FIFO in a plugin's place, which the tool would wait on.
  const regular = (ns: string[]) => ns.map((n) => `test -f queues/${n}.sh && `).join('');
  const one = (n: string) => `printf '${plugins[n]}  queues/${n}.sh\\n' | (cd "$Q" && ${regular([n])}${sum}) >/dev/null 2>&1 || printf 'plugin_modified=${n}\\n'`;
  return (
    `if ! printf '${lines}\\n' | (cd "$Q" && ${regular(names)}${sum}) >/dev/null 2>&1; then printf 'tej-proto=${PROTO}\\n'; ${names.map(one).join('; ')}; echo "tej-remote: a plugin installed with --plugin-file in $Q was changed since" >&2; exit ${EXIT.UNAVAILABLE}; fi; ` +
    allowed
  );
}
