// Test harness for remote-scripts/: a throw-away queue in a tmp dir, the dispatcher run for real under one
// shell of the matrix (and, through TEJ_SHELL, every helper it starts), replies parsed as the client does.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/wait.js';
import { jobTar, type JobFixture } from './_job-tar.js';
import { groupMembers, processAlive } from './_processes.js';
import type { Shell } from './_shells.js';

export { waitFor };

export const REMOTE_SCRIPTS = fileURLToPath(new URL('../../remote-scripts/', import.meta.url));
export const TEST_HASH = 'testhash';

export interface Result {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

export interface Reply {
  header: Record<string, string>;
  records: Record<string, string>[];
}

/** Parses a proto-1 reply: `tej-proto=1` first, then key=value lines; each record starts with id=. */
export function parseReply(stdout: Buffer | string): Reply {
  const lines = stdout.toString().split('\n');
  if (lines.pop() !== '') throw new Error(`reply does not end with a newline: ${JSON.stringify(stdout.toString())}`);
  if (lines[0] !== 'tej-proto=1') throw new Error(`reply does not start with tej-proto=1: ${JSON.stringify(stdout.toString())}`);
  const header: Record<string, string> = {};
  const records: Record<string, string>[] = [];
  for (const line of lines) {
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`not a key=value line: ${JSON.stringify(line)}`);
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (key === 'id') records.push({});
    const target = records.at(-1) ?? header;
    if (key in target) throw new Error(`key ${key} repeated in one record`);
    target[key] = value;
  }
  return { header, records };
}

/** `sha256sum -c` lines for every file under `root` but VERSION, as the client installs them. */
export function manifestOf(root: string): string {
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((p) => p !== 'VERSION' && statSync(join(root, p)).isFile()).sort();
  return files.map((p) => `${createHash('sha256').update(readFileSync(join(root, p))).digest('hex')}  ${p}\n`).join('');
}

/**
 * A macOS/BSD-like userland in DIR/bin: busybox applet links without setsid, no perl (and busybox tar,
 * ps, grep, ...), plus the shells of the matrix. Returns the directory, to be the whole PATH.
 */
export function bareUserland(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const busybox = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' }).stdout.trim();
  const applets = spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a && a !== 'setsid');
  for (const a of [...applets, 'busybox']) symlinkSync(busybox, join(bin, a));
  symlinkSync(spawnSync('sh', ['-c', 'command -v bash'], { encoding: 'utf8' }).stdout.trim(), join(bin, 'bash'));
  return bin;
}

export interface HelperQueueOptions {
  /** Run under bareUserland(): no setsid, no perl, busybox tools only. */
  bare?: boolean;
  /** The queue directory's name in the tmp dir. @default 'queue' */
  name?: string;
  /** More environment for every helper this queue runs. */
  env?: Record<string, string>;
}

/** A queue installed in a fresh tmp dir, driven through the dispatcher under one shell. */
export class HelperQueue {
  readonly tmp: string;
  readonly root: string;
  readonly wrapper: string;
  readonly env: NodeJS.ProcessEnv;

  constructor(readonly shell: Shell, opts: HelperQueueOptions = {}) {
    const name = opts.name ?? 'queue';
    this.tmp = mkdtempSync(join(tmpdir(), 'tej-remote-test-'));
    this.root = join(this.tmp, name);
    cpSync(REMOTE_SCRIPTS, this.root, { recursive: true });
    writeFileSync(join(this.root, 'VERSION'), `proto=1\nversion=0.0.0-test\nhash=${TEST_HASH}\n`);
    writeFileSync(join(this.root, 'MANIFEST'), manifestOf(this.root));
    // TEJ_SHELL is a script, so that every helper the dispatcher starts runs under the shell under test.
    this.wrapper = join(this.tmp, 'shell');
    writeFileSync(this.wrapper, `#!/bin/sh\nexec ${shell.argv.join(' ')} "$@"\n`);
    chmodSync(this.wrapper, 0o755);
    mkdirSync(join(this.tmp, 'tmp'));
    this.env = { ...process.env, TEJ_SHELL: this.wrapper, TMPDIR: join(this.tmp, 'tmp'), TEJ_KILL_GRACE: '1' };
    if (opts.bare) this.env.PATH = bareUserland(this.tmp);
    Object.assign(this.env, opts.env);
  }

  static async setUp(shell: Shell, opts: HelperQueueOptions = {}): Promise<HelperQueue> {
    const q = new HelperQueue(shell, opts);
    const r = await q.run(['setup']);
    if (r.code !== 0) throw new Error(`setup failed (${r.code}): ${r.stderr}`);
    return q;
  }

  /**
   * Plugins a test writes into queues/ are added to MANIFEST before each run, as if installed (the
   * helpers source only listed plugins); false leaves them out, as a job planting one would.
   */
  listNewPlugins = true;

  private addNewPluginsToManifest(): void {
    const manifest = join(this.root, 'MANIFEST');
    if (!this.listNewPlugins || !existsSync(manifest) || !existsSync(join(this.root, 'queues'))) return;
    const text = readFileSync(manifest, 'utf8');
    const more = readdirSync(join(this.root, 'queues'))
      .filter((name) => name.endsWith('.sh') && !text.includes(`  queues/${name}\n`))
      .map((name) => `${createHash('sha256').update(readFileSync(join(this.root, 'queues', name))).digest('hex')}  queues/${name}\n`);
    if (more.length) writeFileSync(manifest, text + more.join(''));
  }

  /** Runs `tej-remote --proto 1 --hash testhash ARGS` (or the given leading args) under the shell. */
  run(args: string[], options: { input?: Buffer; raw?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
    this.addNewPluginsToManifest();
    const argv = options.raw ? args : ['--proto', '1', '--hash', TEST_HASH, ...args];
    return new Promise((resolve, reject) => {
      const [cmd, ...pre] = this.shell.argv;
      const child = spawn(cmd!, [...pre, join(this.root, 'tej-remote'), ...argv], {
        env: { ...this.env, ...options.env },
        cwd: this.tmp,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.stdin.on('error', () => {}); // a helper that refuses early does not read its stdin
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
      child.stdin.end(options.input ?? Buffer.alloc(0));
    });
  }

  /** Runs a command that must succeed and returns its parsed reply. */
  async ok(args: string[], input?: Buffer): Promise<Reply> {
    const r = await this.run(args, { input });
    if (r.code !== 0) throw new Error(`${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return parseReply(r.stdout);
  }

  async submit(id: string, spec: JobFixture): Promise<Record<string, string>> {
    const reply = await this.ok(['submit', id, spec.nonce ?? 'N0nce', ...(spec.keepInput ? ['--keep-input'] : [])], await jobTar(spec));
    return reply.records[0]!;
  }

  async status(id: string): Promise<Record<string, string>> {
    return (await this.ok(['status', id])).records[0]!;
  }

  /** Waits until the job's state is one of `states`, and returns its record. */
  waitState(id: string, states: string[], ms = 60_000): Promise<Record<string, string>> {
    return waitFor(`job ${id} to be ${states.join(' or ')}`, async () => {
      const r = await this.status(id);
      return states.includes(r.state!) ? r : undefined;
    }, undefined, ms);
  }

  jobDir(id: string): string {
    return join(this.root, 'jobs', id);
  }

  /** A job dir as a plugin left it: plugin batchy, native-id n-ID, submitted, and FILES (a line each). */
  fakeJob(id: string, files: Record<string, string>): void {
    mkdirSync(join(this.jobDir(id), 'work'), { recursive: true });
    mkdirSync(join(this.jobDir(id), 'meta'), { recursive: true });
    for (const [name, value] of Object.entries({ plugin: 'batchy', 'native-id': `n-${id}`, submitted: '100', ...files })) {
      writeFileSync(join(this.jobDir(id), name), `${value}\n`);
    }
  }

  /** Installs queues/NAME.sh made of LINES (listed in MANIFEST before the next run: listNewPlugins). */
  writePlugin(name: string, lines: string[]): void {
    writeFileSync(join(this.root, 'queues', `${name}.sh`), lines.join('\n') + '\n');
  }

  jobFile(id: string, name: string): string {
    return readFileSync(join(this.jobDir(id), name), 'utf8');
  }

  /**
   * The live processes of group `pgid` that this queue started. pid_max may be small (32768 here): a pid
   * seen by a test may by now lead another test's group, so each process must carry this queue's TMPDIR.
   */
  members(pgid: number): number[] {
    const mark = `\0TMPDIR=${this.env.TMPDIR}\0`;
    return groupMembers(pgid).filter((pid) => {
      try {
        return `\0${readFileSync(`/proc/${pid}/environ`, 'utf8')}`.includes(mark);
      } catch {
        return false;
      }
    });
  }

  /**
   * Waits until a member of the group runs COMMAND (its argv joined by spaces): counting members would
   * also count the wrapper's own short-lived subshells, which come before the job's first process.
   */
  async waitForCommand(pgid: number, command: string): Promise<number> {
    return waitFor(`'${command}' to run in group ${pgid}`, () => this.members(pgid).find((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() === command;
      } catch {
        return false;
      }
    }));
  }

  /** The live processes this queue started (they carry its TMPDIR), whatever their group or parent. */
  processes(): number[] {
    const mark = `\0TMPDIR=${this.env.TMPDIR}\0`;
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => {
      try {
        return processAlive(pid) && `\0${readFileSync(`/proc/${pid}/environ`, 'utf8')}`.includes(mark);
      } catch {
        return false;
      }
    });
  }

  /** The command lines of processes(), for assertions. */
  commandLines(): string[] {
    return this.processes().flatMap((pid) => {
      try {
        return [readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()];
      } catch {
        return [];
      }
    });
  }

  /**
   * SIGKILLs every process of this queue's jobs, again and again until none is left: a wrapper may
   * fork between one listing and the signals, and a listed process may have exited (ESRCH).
   */
  async killAll(groups: number[] = []): Promise<void> {
    await waitFor('the jobs\' processes to be gone', async () => {
      const alive = [...new Set([...groups.flatMap((pgid) => this.members(pgid)), ...this.processes()])];
      if (alive.length === 0) return true;
      for (const pid of alive) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      return undefined;
    });
  }

  /**
   * Kills what the tests' jobs left running, waits for them to be gone (a wrapper still writing its end
   * files would race the removal), then removes the tmp dir.
   */
  async cleanUp(): Promise<void> {
    const jobs = join(this.root, 'jobs');
    const groups: number[] = [];
    if (existsSync(jobs)) {
      for (const id of readdirSync(jobs)) {
        const nid = join(jobs, id, 'native-id');
        if (existsSync(nid)) groups.push(Number(readFileSync(nid, 'utf8')));
      }
    }
    await this.killAll(groups);
    rmSync(this.tmp, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
}

export function shellcheck(files: string[]): { code: number | null; output: string } {
  const r = spawnSync('shellcheck', ['-s', 'sh', '-x', ...files], { cwd: REMOTE_SCRIPTS, encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}
