// Reads ~/.ssh/config with the ssh-config package and turns it into what the SSH transport needs.
import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import SSHConfig from 'ssh-config';
import { parseDestination, type Destination } from '../destination.js';
import { ConfigError } from '../errors.js';
import { FileMemo } from '../file-memo.js';

export interface SshTarget {
  /** What the user typed, for messages. */
  alias: string;
  host: string;
  port: number;
  user: string;
  identityFiles: string[];
  identitiesOnly: boolean;
  proxyJump?: string;
  knownHostsFiles: string[];
  /** Name to look up in known_hosts (HostKeyAlias, else the host). */
  hostKeyName: string;
  /** Whether hostKeyName is a HostKeyAlias: OpenSSH then looks it up as is, without [ ]:port. */
  hostKeyAliased: boolean;
  connectTimeoutMs: number;
  /** ServerAliveInterval and ServerAliveCountMax, when set: how soon a silent link counts as dead. */
  serverAliveIntervalMs?: number;
  serverAliveCountMax?: number;
  identityAgent?: string;
}

/** `{ [key]: value * scale }` when value is a positive number, else nothing. */
function positive<K extends string>(key: K, value: string | undefined, scale: number): { [k in K]?: number } {
  const n = Number(value);
  return value !== undefined && Number.isFinite(n) && n > 0 ? ({ [key]: n * scale } as { [k in K]?: number }) : {};
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

let username: string | undefined;
/** This process's user name, asked once (os.userInfo reads the passwd database each time). */
function localUser(): string {
  username ??= userInfo().username;
  return username;
}

export function sshDir(): string {
  return join(homedir(), '.ssh');
}

const parsedConfigs = new FileMemo<SSHConfig>();

export function loadSshConfig(file = join(sshDir(), 'config')): Promise<SSHConfig> {
  return parsedConfigs.get(file, () => readSshConfig(file));
}

async function readSshConfig(file: string): Promise<SSHConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return SSHConfig.parse('');
    throw e;
  }
  try {
    return SSHConfig.parse(text);
  } catch (e) {
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** Host aliases without wildcards, so that the CLI can tell `myhost` from a local path. */
export function configHostAliases(config: SSHConfig): Set<string> {
  const names = new Set<string>();
  for (const line of config) {
    if (line.type === SSHConfig.DIRECTIVE && line.param.toLowerCase() === 'host') {
      const values = Array.isArray(line.value) ? line.value.map((v) => v.val) : String(line.value).split(/\s+/);
      for (const v of values) if (!/[*?!]/.test(v)) names.add(v);
    }
  }
  return names;
}

function expandTokens(path: string, target: { host: string; user: string; port: number }): string {
  const home = homedir();
  return path
    .replace(/^~(?=\/|$)/, home)
    .replace(/%(.)/g, (whole, c: string) => {
      switch (c) {
        case 'd': return home;
        case 'h': return target.host;
        case 'r': return target.user;
        case 'u': return localUser();
        case 'p': return String(target.port);
        case '%': return '%';
        default: return whole;
      }
    });
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function list(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(/\s+/)).filter(Boolean);
}

export function resolveTarget(dest: Destination, config: SSHConfig, alias: string): SshTarget {
  // ignoreCase gives OpenSSH's case-insensitive keywords; Match exec is not run (tej never runs
  // commands from a config file behind the user's back).
  const c = config.compute(dest.host, { ignoreCase: true, matchExec: false }) as Record<string, string | string[] | undefined>;
  const host = first(c.hostname) ?? dest.host;
  const port = dest.port ?? Number(first(c.port) ?? 22);
  const user = dest.user ?? first(c.user) ?? localUser();
  const t = { host, user, port };
  const explicit = list(c.identityfile).map((f) => expandTokens(f, t));
  const identityFiles = explicit.length > 0 ? explicit : DEFAULT_KEYS.map((k) => join(sshDir(), k));
  const knownHostsFiles = [
    ...(list(c.userknownhostsfile).length > 0
      ? list(c.userknownhostsfile).map((f) => expandTokens(f, t))
      : [join(sshDir(), 'known_hosts'), join(sshDir(), 'known_hosts2')]),
    ...(list(c.globalknownhostsfile).length > 0 ? list(c.globalknownhostsfile) : ['/etc/ssh/ssh_known_hosts']),
  ];
  const proxyJump = first(c.proxyjump);
  const timeout = Number(first(c.connecttimeout) ?? 20);
  const agent = first(c.identityagent);
  return {
    alias,
    host,
    port,
    user,
    identityFiles,
    identitiesOnly: (first(c.identitiesonly) ?? 'no').toLowerCase() === 'yes',
    proxyJump: proxyJump && proxyJump.toLowerCase() !== 'none' ? proxyJump : undefined,
    knownHostsFiles,
    hostKeyName: first(c.hostkeyalias) ?? host,
    hostKeyAliased: first(c.hostkeyalias) !== undefined,
    ...positive('serverAliveIntervalMs', first(c.serveraliveinterval), 1000),
    ...positive('serverAliveCountMax', first(c.serveralivecountmax), 1),
    connectTimeoutMs: (Number.isFinite(timeout) && timeout > 0 ? timeout : 20) * 1000,
    identityAgent: agent && agent.toLowerCase() !== 'none' ? expandTokens(agent, t) : agent,
  };
}

/**
 * The hops of a ProxyJump value, each as a destination parseDestination reads: OpenSSH writes a hop
 * [user@]host[:port] (a bracketed IPv6 address with a port) or ssh://[user@]host[:port].
 */
export function jumpHops(proxyJump: string): string[] {
  return proxyJump
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean)
    .map((hop) => {
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(hop)) return hop;
      const m = /^(.*):(\d+)$/.exec(hop);
      return m && (!m[1]!.includes(':') || m[1]!.endsWith(']')) ? `ssh://${hop}` : hop;
    });
}

/** The target a destination string names: parsed, then resolved through ~/.ssh/config. */
export async function targetFor(destination: string): Promise<SshTarget> {
  const dest = parseDestination(destination);
  return resolveTarget(dest, await loadSshConfig(), dest.host);
}
