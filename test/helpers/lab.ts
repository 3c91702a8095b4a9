// Throw-away SSH (+ Slurm) hosts for the integration tests: a thin API over test/lab/lab.sh.
// Each startLab() claims its own lab name, directory and /24, so test files can run labs at once.
import { spawn } from 'node:child_process';
import { accessSync, appendFileSync, constants, existsSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ok, tej } from './cli.js';

export { startDelayProxy, type DelayProxy } from './delay-proxy.js';

/** slurmd: a compute node of the lab's slurm host (its /home, no slurmctld); slurmdb: slurm with accounting
 * (MariaDB and slurmdbd, test/lab/slurmdbd-host.sh: sacct answers). */
export type Role = 'ssh' | 'slurm' | 'slurmdb' | 'slurmd' | 'sge';
export interface HostSpec {
  readonly name: string;
  readonly role?: Role;
  /** sshd_config settings that replace the lab's, e.g. { MaxStartups: '10:30:100' } (sshd's default); { Subsystem: 'none' }: no SFTP. */
  readonly sshd?: Readonly<Record<string, string>>;
}

/** Accounts of every lab host (same key as alice) by their login shell; bash is alice's. */
export const LOGIN_SHELL_USERS = { dash: 'sh_dash', bash: 'alice', zsh: 'sh_zsh', tcsh: 'sh_tcsh', fish: 'sh_fish', ash: 'sh_ash' } as const;
export interface LabHost { readonly ip: string; readonly port: number; readonly role: Role; readonly hostKey: string }
export interface ExecResult { code: number; stdout: string; stderr: string }
export interface ExecOptions { input?: string; timeoutMs?: number }
interface RunOptions extends ExecOptions { env?: NodeJS.ProcessEnv }
export type FaultKind = 'link-down' | 'link-up' | 'blackhole' | 'reject' | 'drop' | 'rate' | 'clear';

export interface Lab<N extends string = string> {
  readonly name: string;
  readonly dir: string;
  readonly hosts: Readonly<Record<N, LabHost>>;
  /** Private key that logs in as alice, bob and carol on every host. */
  readonly keyPath: string;
  readonly knownHostsPath: string;
  /** OpenSSH client config: one `Host <name>` per host, User alice, BatchMode, strict host keys. */
  readonly sshConfigPath: string;
  /** Runs argv as root inside the host; never throws for a non-zero exit. */
  exec(host: N, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Runs a bash command line as `user` in their home directory, without login files. */
  execAs(host: N, user: string, shellCmd: string, opts?: ExecOptions): Promise<ExecResult>;
  fault(host: N, kind: FaultKind, arg?: string | number): Promise<void>;
  restart(host: N): Promise<void>;
  /** A fresh directory that stop() removes. */
  makeTmpDir(prefix: string): Promise<string>;
  stop(): Promise<void>;
}

/** What carol's ~/.bashrc prints on stdout on `host`, for every ssh session (exec included). */
export function carolBanner(host: string): string {
  return `*** Welcome to ${host}, carol. This banner comes from ~/.bashrc. ***\nmotd=noise that looks like key=value\n`;
}

const LAB_SH = join(dirname(fileURLToPath(import.meta.url)), '..', 'lab', 'lab.sh');
export const BASE = join(tmpdir(), 'tej-lab');
/** What lab.sh and the slot code did, one line each, for every lab under BASE (lab.sh: TEJ_LAB_EVENTS). */
const EVENTS = join(BASE, 'events.log');
const SLOTS = 4096; // lab tj<slot> on 10.(208 + slot/256).(slot%256).0/24, i.e. inside 10.208.0.0/12
const HOST_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LC_ALL=C'];

// command → Debian package, checked before anything is started
const NEEDS: Record<Role | 'base', ReadonlyArray<readonly [string, string]>> = {
  base: [['/usr/sbin/sshd', 'openssh-server'], ['ssh', 'openssh-client'], ['ssh-keygen', 'openssh-client'],
    ['ip', 'iproute2'], ['tc', 'iproute2'], ['unshare', 'util-linux'], ['nsenter', 'util-linux'],
    ['setsid', 'util-linux'], ['runuser', 'util-linux'], ['pgrep', 'procps'], ['nft', 'nftables'],
    ['zsh', 'zsh'], ['tcsh', 'tcsh'], ['fish', 'fish'], ['busybox', 'busybox']], // login shells of the lab's sh_* users
  ssh: [],
  slurm: [['/usr/sbin/slurmctld', 'slurmctld'], ['/usr/sbin/slurmd', 'slurmd'], ['sbatch', 'slurm-client'],
    ['sinfo', 'slurm-client'], ['/usr/sbin/munged', 'munge']],
  slurmdb: [['/usr/sbin/slurmctld', 'slurmctld'], ['/usr/sbin/slurmd', 'slurmd'], ['sbatch', 'slurm-client'],
    ['sinfo', 'slurm-client'], ['/usr/sbin/munged', 'munge'], ['/usr/sbin/slurmdbd', 'slurmdbd'],
    ['/usr/sbin/mariadbd', 'mariadb-server'], ['mariadb-install-db', 'mariadb-server']],
  slurmd: [['/usr/sbin/slurmd', 'slurmd'], ['/usr/sbin/munged', 'munge']],
  sge: [['/usr/sbin/sge_qmaster', 'gridengine-master'], ['/usr/sbin/sge_execd', 'gridengine-exec'], ['qsub', 'gridengine-client'],
    ['qhost', 'gridengine-client']],
};

export async function startLab<const H extends readonly HostSpec[]>(opts: { hosts: H }): Promise<Lab<H[number]['name']>> {
  if (opts.hosts.length === 0) throw new Error('startLab: no hosts given');
  checkPrerequisites(opts.hosts);
  await mkdir(BASE, { recursive: true, mode: 0o755 });
  await reapStaleLabs();
  const { name, net, dir } = claimSlot();
  const lab = new NamespaceLab<H[number]['name']>(name, net, dir);
  try {
    const sshd = opts.hosts.flatMap((h) => Object.entries(h.sshd ?? {}).flatMap(([k, v]) => ['-o', `${h.name}:${k}=${v}`]));
    // lab.sh's own waits end on events (sshd's banner, slurmd registered) or fail with a message; this
    // bound only guards against a hung lab.sh. At 60 s it failed a CI run whose host was still booting
    // under three suites (lab.sh itself had started 7 s after the claim).
    await lab.sh([...sshd, 'up', ...opts.hosts.map((h) => `${h.name}:${h.role ?? 'ssh'}`)], 300_000);
    await lab.load();
  } catch (err) {
    await lab.stop();
    throw err;
  }
  return lab;
}

class NamespaceLab<N extends string> implements Lab<N> {
  hosts = {} as Record<N, LabHost>;
  keyPath = '';
  knownHostsPath = '';
  sshConfigPath = '';
  private readonly tmpDirs: string[] = [];
  private stopped = false;

  constructor(readonly name: string, readonly net: string, readonly dir: string) {}

  async load(): Promise<void> {
    const info = JSON.parse(await readFile(join(this.dir, 'lab.json'), 'utf8')) as {
      key: string; knownHosts: string; sshConfig: string; hosts: Record<N, LabHost>;
    };
    Object.assign(this, { hosts: info.hosts, keyPath: info.key, knownHostsPath: info.knownHosts, sshConfigPath: info.sshConfig });
  }

  async sh(args: readonly string[], timeoutMs = 30_000): Promise<ExecResult> {
    const env = { ...process.env, TEJ_LAB_WHY: 'its owner', TEJ_LAB_OWNER: owner() };
    const r = await run('bash', [LAB_SH, '-n', this.name, '-d', this.dir, '-s', this.net, ...args], { timeoutMs, env });
    if (r.code !== 0) throw new Error(`lab.sh ${args.join(' ')} failed (exit ${r.code}) in lab ${this.name}:\n${r.stderr}${r.stdout}`);
    return r;
  }

  async exec(host: N, cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    if (!(host in this.hosts)) throw new Error(`lab ${this.name}: no host '${host}'`);
    // init.pid is "PID START": enter only the process lab.sh started, never one that reuses its pid
    const recorded = await readFile(join(this.dir, 'hosts', host, 'init.pid'), 'utf8').catch((e: NodeJS.ErrnoException) => `(${e.code})`);
    const [pid, start] = recorded.trim().split(' ');
    const now = pid ? startTime(Number(pid)) : '';
    if (!pid || !start || now !== start) {
      // what was compared, for the flake seen twice right after `up done` with the host's processes alive
      const compared = `\n  init.pid held ${JSON.stringify(recorded)}; pid ${pid || '-'} has start time ${JSON.stringify(now)} (${now ? 'another process' : 'gone or a zombie'})`;
      throw new Error(`lab ${this.name}: host '${host}' is not running${compared}${await this.initWords(host)}${this.whatHappened(host)}`);
    }
    return run('nsenter', ['-t', pid, '-m', '-u', '-n', '-p', '-i', '--', 'env', '-i', 'HOME=/root', ...HOST_ENV, ...cmd], opts);
  }

  /**
   * For a host found dead: whether its network namespace is still there (gone: a lab.sh down or up of
   * this lab's name ran; there: its init was killed alone), and the events log's lines of this lab.
   */
  private whatHappened(host: N): string {
    const netns = existsSync(`/run/netns/${this.name}-${host}`) ? 'still exists' : 'is gone';
    // unshare, init's parent, writes 'sigprocmask unblock failed' in init.log when init died of SIGKILL
    // before it (it cannot re-raise SIGKILL): init was killed by its pid (lab.sh host_stop does that too).
    // No word from it: it died first or with init (a signal to their group, or one that unshare does not
    // block; its --kill-child then SIGKILLs init).
    let initLog = '';
    try {
      initLog = readFileSync(join(this.dir, 'hosts', host, 'log', 'init.log'), 'utf8');
    } catch {
      // none
    }
    const unshare = initLog.includes('sigprocmask unblock failed') ? 'init died of SIGKILL before its unshare (a kill of its pid)'
      : 'no word from its unshare (it died first or with init: a signal to their group, or to unshare)';
    let lines: string[] = [];
    try {
      lines = readFileSync(EVENTS, 'utf8').split('\n').filter((l) => l.split(' ')[1] === this.name);
    } catch {
      // no events log
    }
    return `\n  its network namespace ${this.name}-${host} ${netns}; ${unshare}; ${EVENTS} says of ${this.name}:\n${lines.slice(-12).map((l) => `    ${l}`).join('\n')}`;
  }

  /** The end of a host's init log (hostinit.sh writes down stray signals there), for a message. */
  private async initWords(host: N): Promise<string> {
    const log = join(this.dir, 'hosts', host, 'log', 'init.log');
    const text = (await readFile(log, 'utf8').catch(() => '')).trim();
    return text ? ` (its ${log} ends:\n${text.split('\n').slice(-5).join('\n')})` : ` (no ${log})`;
  }

  execAs(host: N, user: string, shellCmd: string, opts?: ExecOptions): Promise<ExecResult> {
    const env = [`HOME=/home/${user}`, `USER=${user}`, `LOGNAME=${user}`, 'SHELL=/bin/bash', ...HOST_ENV];
    return this.exec(host, ['runuser', '-u', user, '--', 'env', '-i', ...env, '/bin/bash', '-c', `cd || exit\n${shellCmd}`], opts);
  }

  async fault(host: N, kind: FaultKind, arg?: string | number): Promise<void> {
    await this.sh(['fault', host, kind, ...(arg === undefined ? [] : [String(arg)])]);
  }

  async restart(host: N): Promise<void> {
    await this.sh(['restart', host], 60_000);
  }

  async makeTmpDir(prefix: string): Promise<string> {
    const path = await mkdtemp(join(tmpdir(), prefix));
    this.tmpDirs.push(path);
    return path;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // A stray signal that a host's init survived (hostinit.sh): say so, so that its source can be found.
    for (const host of Object.keys(this.hosts)) {
      const text = await readFile(join(this.dir, 'hosts', host, 'log', 'init.log'), 'utf8').catch(() => '');
      for (const line of text.split('\n').filter((l) => l.includes('stray SIG'))) process.stderr.write(`lab ${this.name}: ${line}\n`);
    }
    try {
      await this.sh(['down']);
    } finally {
      for (const d of this.tmpDirs) await rm(d, { recursive: true, force: true });
      if (!process.env.TEJ_LAB_KEEP) await rm(this.dir, { recursive: true, force: true });
      releaseSlot(this.name);
    }
  }
}

/** A fresh HOME for the client under test: .ssh/{config,known_hosts,id_ed25519} for every lab host. */
export async function makeClientHome(lab: Lab, opts: { user?: string; extraConfig?: string } = {}): Promise<string> {
  const home = await lab.makeTmpDir('tej-home-');
  const ssh = join(home, '.ssh');
  await mkdir(ssh, { mode: 0o700 });
  const key = join(ssh, 'id_ed25519');
  await copyFile(lab.keyPath, key);
  await chmod(key, 0o600);
  await copyFile(`${lab.keyPath}.pub`, `${key}.pub`);
  const known = join(ssh, 'known_hosts');
  const hosts = Object.entries(lab.hosts) as [string, LabHost][];
  const config = hosts.map(([name, h]) => [`Host ${name}`, `  HostName ${h.ip}`, `  Port ${h.port}`,
    `  User ${opts.user ?? 'alice'}`, `  IdentityFile ${key}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${known}`,
    '  StrictHostKeyChecking yes', '  BatchMode yes', ...(opts.extraConfig ? [opts.extraConfig] : []), ''].join('\n'));
  await writeFile(join(ssh, 'config'), config.join(''), { mode: 0o600 });
  await writeFile(known, hosts.map(([name, h]) => `${name},${h.ip} ${h.hostKey}\n`).join(''), { mode: 0o644 });
  return home;
}

function checkPrerequisites(hosts: readonly HostSpec[]): void {
  if (process.getuid?.() !== 0) {
    throw new Error('startLab: the integration tests need root (network and mount namespaces); run them as root');
  }
  const roles = new Set<Role>(hosts.map((h) => h.role ?? 'ssh'));
  const missing = [...NEEDS.base, ...[...roles].flatMap((r) => NEEDS[r])].filter(([cmd]) => !findCommand(cmd));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
  throw new Error(`startLab: missing ${missing.map(([cmd]) => cmd).join(', ')}; install them as root with:\n` +
    `  apt-get install -y --no-install-recommends ${pkgs}`);
}

function findCommand(cmd: string): boolean {
  const dirs = cmd.includes('/') ? [''] : [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.some((d) => {
    try {
      accessSync(d ? join(d, cmd) : cmd, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

// ------------------------------------------------------------------ slots: name, /24, directory
// A slot is owned through BASE/tj<slot>.owner ("pid starttime", created with O_EXCL). A slot whose
// owner is dead (a crashed run) is torn down under BASE/tj<slot>.reap before its owner file goes.

let nextOffset = 0;

function slotOf(slot: number): { name: string; net: string; dir: string } {
  const name = `tj${slot}`;
  return { name, net: `10.${208 + (slot >> 8)}.${slot & 255}`, dir: join(BASE, name) };
}

function claimSlot(): { name: string; net: string; dir: string } {
  const used = usedAddresses();
  const start = process.pid + nextOffset++;
  for (let i = 0; i < SLOTS; i++) {
    const s = slotOf((start + i) % SLOTS);
    if (used.some((a) => a.startsWith(`${s.net}.`))) continue;
    try {
      writeFileSync(join(BASE, `${s.name}.owner`), `${owner()}\n`, { flag: 'wx' });
      event(s.name, `claimed by test process ${owner()} (${process.argv.slice(1).join(' ')})`);
      return s;
    } catch {
      // taken: by a live lab, or a stale one that reapStaleLabs() leaves to the next run
    }
  }
  throw new Error(`startLab: no free lab slot in ${BASE}`);
}

/** "PID START" of this process: what its owner files hold, and lab.sh's TEJ_LAB_OWNER for its own labs. */
function owner(): string {
  return `${process.pid} ${startTime(process.pid)}`;
}

function releaseSlot(name: string): void {
  event(name, `released by test process ${process.pid}`);
  try {
    unlinkSync(join(BASE, `${name}.owner`));
  } catch {
    // already gone
  }
}

/** Takes down the labs whose owner is gone (a crashed run). Exported for its own test (lab-slots.test.ts). */
export async function reapStaleLabs(): Promise<void> {
  for (const file of readdirSync(BASE).filter((f) => /^tj\d+\.owner$/.test(f))) {
    const slot = Number(file.slice(2, -'.owner'.length));
    const ownerFile = join(BASE, file);
    const reap = join(BASE, `tj${slot}.reap`);
    if (!isStale(ownerFile)) continue;
    // A reap lock holds "PID START" of its reaper, and is broken only once that reaper is gone: two
    // reapers at once could take down a lab claimed after the first one's end.
    if (isStale(reap)) {
      try {
        unlinkSync(reap);
      } catch {
        // gone meanwhile
      }
    }
    try {
      writeFileSync(reap, `${owner()}\n`, { flag: 'wx' });
    } catch {
      continue; // someone else is reaping it
    }
    try {
      const stale = isStale(ownerFile);
      if (!stale) continue;
      const s = slotOf(slot);
      event(s.name, `reaped by test process ${process.pid} (${process.argv.slice(1).join(' ')}): ${stale}`);
      const env = { ...process.env, TEJ_LAB_WHY: `reap: ${stale}` };
      const down = await run('bash', [LAB_SH, '-n', s.name, '-d', s.dir, '-s', s.net, 'down'], { timeoutMs: 30_000, env });
      // lab.sh refuses a lab whose owner runs: one that claimed the slot since, and its directory stays
      if (down.code !== 0) {
        event(s.name, `not reaped: lab.sh down exited ${down.code}: ${down.stderr.trim()}`);
        continue;
      }
      await rm(s.dir, { recursive: true, force: true });
      unlinkSync(ownerFile);
    } finally {
      unlinkSync(reap);
    }
  }
}

/** Why the lab of ownerFile is stale (its owner is gone), or false while its owner runs. */
function isStale(ownerFile: string): string | false {
  let text: string;
  try {
    text = readFileSync(ownerFile, 'utf8');
  } catch {
    return false; // gone: nothing to reap
  }
  const [pid, start] = text.trim().split(' ');
  if (!pid) return Date.now() - statSync(ownerFile).mtimeMs > 10_000 && `owner file '${text}' empty for 10 s`; // being written, or crashed while writing
  const now = startTime(Number(pid));
  return now !== start && `owner '${pid} ${start}' is gone (pid ${pid} ${now ? `now started at ${now}` : 'not running'})`;
}

/** One line in the events log that lab.sh writes too (diagnosis only: never fails). */
function event(name: string, message: string): void {
  try {
    appendFileSync(EVENTS, `${new Date().toISOString().slice(11, 23)} ${name} lab.ts[${process.pid}]: ${message}\n`);
  } catch {
    // no log
  }
}

// The process's start time in clock ticks since boot ("" if it is gone or a zombie): a pid plus its
// start time names one process, even after the pid is reused.
export function startTime(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? '' : (fields[19] ?? '');
  } catch {
    return '';
  }
}

function usedAddresses(): string[] {
  const out: string[] = [];
  try {
    // /proc/net/fib_trie lists every local address of the root network namespace
    for (const m of readFileSync('/proc/net/fib_trie', 'utf8').matchAll(/\|-- (\d+\.\d+\.\d+\.\d+)\n\s+\/32 host LOCAL/g)) {
      if (m[1]) out.push(m[1]);
    }
  } catch {
    // no procfs view: rely on the owner files alone
  }
  return out;
}

// ------------------------------------------------------------------ processes
function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit after ${opts.timeoutMs ?? 30_000} ms\n${Buffer.concat(err).toString()}`));
    }, opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (signal ? osConstants.signals[signal] : 0), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input ?? '');
  });
}

export interface SshHost {
  lab: Lab<'h1'>;
  /** A client HOME that reaches h1 as alice, or the user asked for (makeClientHome). */
  home: string;
  /** A fresh directory for job directories. */
  jobs: string;
}

export interface SshHostOptions {
  /** Who the client home logs in as. @default 'alice' */
  user?: string;
  /** Lines added to every Host block of the client's ~/.ssh/config, e.g. '  ConnectTimeout 4'. */
  extraConfig?: string;
  /** The prefix of the jobs directory's name. @default 'tej-jobs-' */
  jobsPrefix?: string;
}

/** The common start of an integration suite: a lab with one ssh host h1, a client home, a jobs directory. */
export async function startSshHost(opts: SshHostOptions = {}): Promise<SshHost> {
  const lab = await startLab({ hosts: [{ name: 'h1', role: 'ssh' }] });
  const home = await makeClientHome(lab, opts);
  const jobs = await lab.makeTmpDir(opts.jobsPrefix ?? 'tej-jobs-');
  return { lab, home, jobs };
}

/**
 * The fixture of a suite on one ssh host: registers the current describe's `before` (startSshHost, then
 * with `setup` a `tej setup h1`) and `after` (the lab's stop), and returns the handle that
 * `before` fills in. node:test runs hooks in the order they were registered: a `before` registered after
 * this call finds the host up, and an `after` that still needs the host must be registered before it.
 */
export function useSshHost(opts: SshHostOptions & { setup?: boolean } = {}): SshHost {
  const host = {} as SshHost; // filled in before(); a test never runs without it
  before(async () => {
    Object.assign(host, await startSshHost(opts));
    if (opts.setup) ok(await tej(['setup', 'h1'], { home: host.home, timeoutMs: 120_000 }));
  });
  after(async () => {
    await host.lab?.stop();
  });
  return host;
}
