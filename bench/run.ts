// `npm run bench`: tej against plain OpenSSH doing the same work, on the same throw-away sshd host, in
// the same run. Each repetition runs both sides back to back, alternating which goes first; medians of
// wall-clock times are compared. Writes bench/results.json, bench/results.md and the README's table.
//   --quick        small sizes, one repetition: proves the bench works (CI), writes nothing in the repo
//   --reps N       repetitions per case (default 5)
//   --out DIR      where results.json and results.md go (default bench/; --quick: a temp dir)
//   --only REGEX   run only the cases whose name matches (for development; writes to a temp dir)
//   --no-binding   every node the bench starts runs without ssh2's native parts (bench/no-binding.cjs)
// --quick, --reps and --only leave the repository alone (results in a temp dir, or --out's).
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { RESUMABLE_MIN } from '../src/download/resume.js';
import { makeClientHome, startLab, type Lab } from '../test/helpers/lab.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TEJ = join(ROOT, 'bin', 'tej.js');

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    out: { type: 'string' },
    only: { type: 'string' },
    'no-binding': { type: 'boolean', default: false },
  },
});
/** A run that is not the full bench: it writes nothing in the repository (bench/README.md). */
const PARTIAL = opts.quick! || opts.only !== undefined || opts.reps !== undefined;
const QUICK = opts.quick!;
const REPS = Number(opts.reps ?? (QUICK ? 1 : 5));
const SMALL_FILES = QUICK ? 200 : 2000;
const BIG_MB = QUICK ? 8 : 200;
const MANY_JOBS = QUICK ? 20 : 200;
const STATUS_JOBS = QUICK ? 10 : 50;
const SESSION_CALLS = QUICK ? 5 : 20;
const WARM_CALLS = QUICK ? 10 : 50;
const MANY_STATUS = QUICK ? 100 : 4000;
/** The incremental case: this many files of 100 KiB (200 MB), one 4 KiB file of them changed each time. */
const INCR_FILES = QUICK ? 100 : 2000;

/** NODE_OPTIONS of every node the bench starts: --no-binding's hook, else none (an inherited one is dropped). */
const NODE_OPTIONS = opts['no-binding'] ? `--require ${join(ROOT, 'bench', 'no-binding.cjs')}` : '';

/**
 * Whether the tej side runs with ssh2's optional native crypto binding (npm may skip its install script,
 * or node-gyp fail, silently; or --no-binding): tej's speed differs with it, so the results say which
 * case they measured. Asked of a node started as the tej side is, loading ssh2 from this checkout.
 */
function ssh2Binding(): boolean {
  const probe = `process.stdout.write(String(require('node:module').createRequire(${JSON.stringify(join(ROOT, 'package.json'))})('ssh2/lib/protocol/crypto.js').bindingAvailable))`;
  const r = spawnSync(process.execPath, ['-e', probe], { env: { PATH: process.env.PATH!, NODE_OPTIONS }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench: cannot load ssh2 to see whether its binding is built\n${r.stderr}`);
  return r.stdout === 'true';
}
const SSH2_BINDING = ssh2Binding();

/** A case's target (issue 13): a largest ratio, or a least rate for the submit case. */
interface Bound {
  max_ratio?: number;
  min_jobs_per_second?: number;
  /** The most of a file a resumed download may send (issue 15: 0.6). */
  max_sent_fraction?: number;
}

interface Case {
  name: string;
  /** What the OpenSSH side runs, shown in the table. */
  openssh: string;
  tej: () => Promise<number>;
  ssh: () => Promise<number>;
  /** Untimed: before the first repetition and after the last. */
  before?: () => Promise<void>;
  after?: () => Promise<void>;
  note?: () => string;
  bound: Bound;
  /** For bounds on a rate: the rate measured. */
  rate?: () => number;
  /** For max_sent_fraction: the share of the file sent (median). */
  sentFraction?: () => number;
}

interface Result {
  name: string;
  tej_median_ms: number;
  openssh_median_ms: number;
  ratio: number;
  bound: Bound;
  /** Whether the row is within its bound. */
  within: boolean;
  jobs_per_second?: number;
  sent_fraction?: number;
  openssh: string;
  note?: string;
  tej_ms: number[];
  openssh_ms: number[];
}

function run(argv: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    // stdin is /dev/null. It was an empty pipe, ended at once: writing that end to a command that had
    // already exited failed with EPIPE, an unhandled error that ended the whole bench (once, in CI).
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH!, LC_ALL: 'C', NODE_OPTIONS, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

/** Runs a command, fails the bench if it fails: a fast wrong answer is not a result. */
async function timed(argv: string[], env: Record<string, string>): Promise<number> {
  const r = await run(argv, env);
  if (r.code !== 0) throw new Error(`bench: ${argv.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r.ms;
}

/** To 0.1 ms; to 0.001 ms under 10 ms (a round trip on a running shell takes well under one). */
const roundMs = (ms: number) => (ms < 10 ? Math.round(ms * 1000) / 1000 : Math.round(ms * 10) / 10);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function makeFiles(dir: string, count: number, size: number): Promise<void> {
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'start.sh'), 'exit 0\n');
  const block = Buffer.alloc(size, 'x');
  for (let i = 0; i < count; i++) {
    const sub = join(dir, 'data', `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${i}.txt`), block);
  }
}

/** INCR_FILES - 1 incompressible files of 100 KiB, and data/changed.bin (4 KiB), rewritten by `change`. */
async function makeIncremental(dir: string): Promise<{ bytes: number; change: () => Promise<void> }> {
  const { randomBytes } = await import('node:crypto');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'start.sh'), 'exit 0\n');
  for (let i = 0; i < INCR_FILES - 1; i++) {
    const sub = join(dir, 'data', `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${i}.bin`), randomBytes(100 * 1024));
  }
  const change = () => writeFile(join(dir, 'data', 'changed.bin'), randomBytes(4096));
  await change();
  return { bytes: (INCR_FILES - 1) * 100 * 1024 + 4096 + 7, change };
}

async function makeBig(dir: string, mb: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'start.sh'), 'exit 0\n');
  const { createWriteStream } = await import('node:fs');
  const { randomBytes } = await import('node:crypto');
  const out = createWriteStream(join(dir, 'big.bin'));
  const chunk = randomBytes(1 << 20); // incompressible, in case compression is ever on
  for (let i = 0; i < mb; i++) if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise((r) => out.end(r));
}

async function main(): Promise<void> {
  const lab: Lab<'h1'> = await startLab({ hosts: [{ name: 'h1' }] });
  const results: Result[] = [];
  try {
    const home = await makeClientHome(lab);
    // OpenSSH reads ~/.ssh/config from the passwd entry, not $HOME: point it at the client home's.
    const bin = join(home, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F "$HOME/.ssh/config" "$@"\n`, { mode: 0o755 });
    // --persist masters put their sockets in XDG_RUNTIME_DIR: the client home's own, private one.
    const runtime = join(home, 'run');
    await mkdir(runtime, { mode: 0o700 });
    const env = { HOME: home, PATH: `${bin}:${process.env.PATH}`, XDG_RUNTIME_DIR: runtime };
    const work = await lab.makeTmpDir('tej-bench-');
    const small = join(work, 'small');
    const big = join(work, 'big');
    const oneJob = join(work, 'one');
    await makeFiles(small, SMALL_FILES, 4096);
    await makeBig(big, BIG_MB);
    await makeFiles(oneJob, 1, 1024);
    const incr = join(work, 'incr');
    const incremental = await makeIncremental(incr);
    const sent: { tej: number[]; rsync: number[] } = { tej: [], rsync: [] };
    const tej = (...args: string[]) => timed(['node', TEJ, ...args], env);
    const sh = (cmd: string) => timed(['sh', '-c', cmd], env);
    /** Runs a command on the host as alice; fails the bench when it fails (execAs never throws). */
    const remote = async (cmd: string, timeoutMs?: number) => {
      const r = await lab.execAs('h1', 'alice', cmd, { timeoutMs });
      if (r.code !== 0) throw new Error(`bench: on the host, ${cmd} exited ${r.code}\n${r.stderr}`);
      return r;
    };
    const ctl = join(home, '.ssh', 'ctl');
    const master = `ssh -o ControlMaster=yes -o ControlPath=${ctl} -fN h1`;
    const viaMaster = `ssh -o ControlPath=${ctl}`;
    const closeMaster = `ssh -o ControlPath=${ctl} -O exit h1 2>/dev/null`;

    // Untimed: install the helpers and warm both sides' caches.
    await tej('setup', 'h1');
    await sh('ssh h1 true');
    await tej('submit', 'h1', '--id', 'dl-small', small);
    await tej('submit', 'h1', '--id', 'dl-big', big);
    for (let i = 0; i < STATUS_JOBS; i++) await tej('submit', 'h1', '--id', `st${i}`, oneJob);
    const statusIds = Array.from({ length: STATUS_JOBS }, (_, i) => ['--id', `st${i}`]).flat();
    const manyStatusIds = Array.from({ length: MANY_STATUS }, (_, i) => ['--id', `many-st${i}`]).flat();
    let rep = 0;
    // Nothing is deleted until the end: on this machine kind's ext4 (mounted with discard), creating
    // files right after deleting others is up to 20x slower (2000 files of 4 KiB: 74-93 ms into a fresh
    // directory, 0.8-2.4 s after an rm -rf), so a clean-up between repetitions made the 2000-file cases
    // measure the last clean-up, and times climbed from repetition to repetition. Every repetition
    // writes to names of its own instead; lab.stop() removes them all.
    const local = await mkdtemp(join(tmpdir(), 'tej-bench-dl-'));
    /** A fresh local directory for one download. */
    const localDir = async () => {
      const dir = join(local, `r${++rep}`);
      await mkdir(dir);
      return dir;
    };
    const jobsPerSecond: number[] = [];
    const sshLoopMs: number[] = [];
    const resumedSent: number[] = [];
    /** Bytes the host has sent on its network interfaces (all but lo). */
    const hostSent = async () =>
      (await lab.exec('h1', ['cat', '/proc/net/dev'])).stdout
        .split('\n')
        .map((l) => /^\s*([^:\s]+):\s*(.*)$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null && m[1] !== 'lo')
        .reduce((sum, m) => sum + Number(m[2]!.trim().split(/\s+/)[8]), 0);

    const cases: Case[] = [
      {
        name: 'CLI start-up: tej --version vs node -e 0',
        openssh: 'node -e 0',
        tej: () => tej('--version'),
        ssh: () => timed(['node', '-e', '0'], env),
        bound: { max_ratio: 1.5 },
      },
      {
        name: 'one command: tej status (new connection)',
        openssh: `ssh h1 'cat ~/.tej/jobs/st0/exit-code'`,
        tej: () => tej('status', 'h1', '--id', 'st0'),
        ssh: () => sh(`ssh h1 'cat ~/.tej/jobs/st0/exit-code' >/dev/null`),
        bound: { max_ratio: 1.2 },
      },
      {
        name: 'warm library call (status of one job) vs a bare round trip on a persistent remote sh',
        openssh: `ssh h1 sh: one 'echo x' answered (median of ${WARM_CALLS})`,
        tej: async () => Number((await run(['node', join(ROOT, 'bench', 'warm.mjs'), 'h1', String(WARM_CALLS)], env)).stdout),
        ssh: async () => Number((await run(['node', join(ROOT, 'bench', 'sh-roundtrip.mjs'), 'h1', String(WARM_CALLS)], env)).stdout),
        bound: { max_ratio: 4 },
      },
      {
        name: 'one command through a persistent connection (--persist)',
        openssh: `ssh -o ControlPath=… h1 'cat …' (ControlMaster running)`,
        before: async () => {
          await tej('list', 'h1', '--persist', '10m'); // starts the master: the login is not timed
          await sh(master);
        },
        tej: () => tej('status', 'h1', '--id', 'st0', '--persist', '10m'),
        ssh: () => sh(`${viaMaster} h1 'cat ~/.tej/jobs/st0/exit-code' >/dev/null`),
        after: async () => {
          await tej('disconnect', 'h1');
          await sh(closeMaster);
        },
        bound: { max_ratio: 4 },
      },
      {
        name: `status of ${STATUS_JOBS} jobs in one command`,
        openssh: `ssh h1 'cat ~/.tej/jobs/st*/exit-code'`,
        tej: () => tej('status', 'h1', ...statusIds),
        ssh: () => sh(`ssh h1 'cat ~/.tej/jobs/st*/exit-code' >/dev/null`),
        bound: { max_ratio: 1.2 },
      },
      {
        name: `status of ${MANY_STATUS} jobs in one command vs status of 1`,
        openssh: 'tej status h1 --id st0 (one job)',
        // one process for the 4000 copies (a cp each took minutes on a loaded machine), without the
        // job's work/ and kept input, which status does not read; minutes allowed on a loaded machine
        before: () =>
          remote(
            `cd ~/.tej/jobs && python3 -c 'import shutil; ign = shutil.ignore_patterns("work", "input.tar"); [shutil.copytree("st0", f"many-st{i}", symlinks=True, dirs_exist_ok=True, ignore=ign) for i in range(${MANY_STATUS})]'`,
            600_000,
          ).then(() => undefined),
        tej: () => tej('status', 'h1', ...manyStatusIds),
        ssh: () => tej('status', 'h1', '--id', 'st0'),
        bound: { max_ratio: 2 },
      },
      {
        name: `${SESSION_CALLS} calls in one library session`,
        openssh: `ssh ControlMaster + ${SESSION_CALLS} × ssh cat`,
        tej: () => timed(['node', join(ROOT, 'bench', 'session.mjs'), 'h1', String(SESSION_CALLS)], env),
        ssh: () => sh(`${master} && for i in $(seq ${SESSION_CALLS}); do ${viaMaster} h1 'cat ~/.tej/jobs/st0/exit-code' >/dev/null || exit 1; done; ${closeMaster}`),
        bound: { max_ratio: 1.2 },
      },
      {
        name: `upload ${SMALL_FILES} files of 4 KiB`,
        openssh: `tar c DIR | ssh h1 'tar x'`,
        tej: () => tej('submit', 'h1', '--id', `up-small-${++rep}`, small),
        ssh: () => sh(`tar cf - -C ${small} . | ssh h1 'mkdir -p /tmp/bench/s${++rep} && tar xf - -C /tmp/bench/s${rep}'`),
        bound: { max_ratio: 1.2 },
      },
      {
        // The same without keeping the upload as input.tar for `tej resubmit` (tee on the host)
        name: `upload ${SMALL_FILES} files of 4 KiB, --no-keep-input`,
        openssh: `tar c DIR | ssh h1 'tar x'`,
        tej: () => tej('submit', 'h1', '--no-keep-input', '--id', `up-small-${++rep}`, small),
        ssh: () => sh(`tar cf - -C ${small} . | ssh h1 'mkdir -p /tmp/bench/s${++rep} && tar xf - -C /tmp/bench/s${rep}'`),
        bound: { max_ratio: 1.2 },
      },
      {
        // The transfer: --no-store, or the file is one the content store holds (the download case's job
        // put it there), and the submit places it from there; the store has its own case, against rsync.
        name: `upload one ${BIG_MB} MB file (--no-store)`,
        openssh: `cat FILE | ssh h1 'cat > F'`,
        tej: () => tej('submit', 'h1', '--no-store', '--id', `up-big-${++rep}`, big),
        ssh: () => sh(`cat ${big}/big.bin | ssh h1 'mkdir -p /tmp/bench && cat > /tmp/bench/big${++rep}'`),
        bound: { max_ratio: 1.2 },
      },
      {
        name: `download ${SMALL_FILES} files of 4 KiB`,
        openssh: `ssh h1 'tar c DIR' | tar x`,
        tej: async () => timed(['sh', '-c', `cd ${await localDir()} && node ${TEJ} download h1 --id dl-small data`], env),
        ssh: async () => sh(`ssh h1 'tar cf - -C ~/.tej/jobs/dl-small/work data' | tar xf - -C ${await localDir()}`),
        bound: { max_ratio: 1.1 },
      },
      {
        name: `download one ${BIG_MB} MB file`,
        openssh: `ssh h1 'cat F' > F`,
        tej: async () => timed(['sh', '-c', `cd ${await localDir()} && node ${TEJ} download h1 --id dl-big big.bin`], env),
        ssh: async () => sh(`ssh h1 'cat ~/.tej/jobs/dl-big/work/big.bin' > ${await localDir()}/big.bin`),
        bound: { max_ratio: 1.1 },
      },
      // (--quick's file is under RESUMABLE_MIN: it would not go the resumable way)
      ...(BIG_MB << 20 < RESUMABLE_MIN ? [] : [{
        // Interrupted at half (untimed: the CLI's own Ctrl-C once the partial holds half, see
        // src/download/resume.ts), then timed: the second run, against ssh cat of the missing half.
        name: `resumed ${BIG_MB} MB download after an interruption at half`,
        openssh: `ssh h1 'tail -c +N F' >> partial`,
        tej: async () => {
          const dir = await localDir();
          const cut = await run(['sh', '-c', `cd ${dir} && node ${TEJ} download h1 --id dl-big big.bin`], { ...env, TEJ_TEST_INTERRUPT_AFTER: String((BIG_MB << 20) / 2) });
          if (cut.code !== 130) throw new Error(`bench: the interrupted download exited ${cut.code}\n${cut.stderr}`);
          const before = await hostSent();
          const ms = await timed(['sh', '-c', `cd ${dir} && node ${TEJ} download h1 --id dl-big big.bin`], env);
          resumedSent.push(((await hostSent()) - before) / (BIG_MB << 20));
          return ms;
        },
        ssh: async () => {
          const half = (BIG_MB << 20) / 2;
          const file = `${await localDir()}/big.bin`;
          await sh(`head -c ${half} ${big}/big.bin > ${file}`); // what the interruption left (the copy is timed, ~0.1 s, against tej)
          return sh(`ssh h1 'tail -c +${half + 1} ~/.tej/jobs/dl-big/work/big.bin' >> ${file}`);
        },
        note: () => `tej sent ${Math.round(median(resumedSent) * 100)}% of the file (${Math.round((median(resumedSent) * BIG_MB * 10)) / 10} MB), sha256 checked on both sides`,
        sentFraction: () => median(resumedSent),
        bound: { max_sent_fraction: 0.6 },
      }]),
      {
        // Issue 15: the content store (src/job/store.ts) against rsync's delta transfer doing the same:
        // a new directory on the host from the files it has (each job has its own copy, which it may
        // change: rsync --copy-dest copies the unchanged files from the first copy on the host, as tej
        // places them from its store). The first submit and the first rsync (untimed) fill the store
        // and that copy; each repetition changes one 4 KiB file first. (rsync updating one copy in
        // place copies nothing: about 3.5x faster than either, and not what a submit does.)
        name: `second submit of ${INCR_FILES} files (${Math.round(incremental.bytes / 1e6)} MB), one 4 KiB file changed, vs rsync -a into a new directory`,
        openssh: `rsync -a --copy-dest=FIRST/ DIR/ h1:NEW/ (over ssh)`,
        before: async () => {
          // --store: the store's path whatever the size (--quick's 10 MB is under the 16 MiB from which
          // a submit uses it by itself, and would measure whole uploads)
          await tej('submit', 'h1', '--store', '--id', 'incr-first', incr);
          await sh(`rsync -a ${incr}/ h1:/tmp/bench/rsync-first/`);
          // The first submit's store copies are made after its job started (store_adopt); a store
          // question waits for them, so that the first repetition does not pay the first submit's tail.
          await tej('submit', 'h1', '--id', 'incr-settled', '--store', '--dry-run', incr);
        },
        tej: async () => {
          await incremental.change();
          const r = await run(['node', TEJ, 'submit', 'h1', '--json', '--store', '--id', `incr-${++rep}`, incr], env);
          if (r.code !== 0) throw new Error(`bench: incremental submit failed\n${r.stderr}`);
          // the wire, about: the content sent, and per file two hashes asked for (2 x 65 bytes) and a
          // line of store/plan (145 bytes); the changed file's header (512 bytes) is left out
          sent.tej.push(Number(JSON.parse(r.stdout).uploaded_bytes) + INCR_FILES * (130 + 145));
          return r.ms;
        },
        ssh: async () => {
          await incremental.change();
          const r = await run(['sh', '-c', `rsync -a --stats --copy-dest=/tmp/bench/rsync-first/ ${incr}/ h1:/tmp/bench/rsync-r${++rep}/`], env);
          if (r.code !== 0) throw new Error(`bench: rsync failed\n${r.stderr}`);
          sent.rsync.push(Number(/Total bytes sent: ([\d,]+)/.exec(r.stdout)?.[1]?.replaceAll(',', '') ?? NaN));
          return r.ms;
        },
        note: () => {
          const pct = (n: number) => `${((100 * n) / incremental.bytes).toFixed(2)}%`;
          return `bytes sent: tej ~${median(sent.tej)} (${pct(median(sent.tej))}), rsync ${median(sent.rsync)} (${pct(median(sent.rsync))})`;
        },
        bound: { max_ratio: 1.1 },
      },
      {
        name: `submit ${MANY_JOBS} jobs in one library session`,
        openssh: `ssh ControlMaster + ${MANY_JOBS} × (tar c | ssh 'mkdir && tar x && start')`,
        tej: async () => {
          const r = await run(['node', join(ROOT, 'bench', 'many-jobs.mjs'), 'h1', String(MANY_JOBS), oneJob, `many${++rep}`], env);
          if (r.code !== 0) throw new Error(`bench: many-jobs failed\n${r.stderr}`);
          jobsPerSecond.push(Number(JSON.parse(r.stdout).jobs_per_second));
          return r.ms;
        },
        ssh: async () => {
          const m = `/tmp/bench/m${++rep}`;
          const ms = await sh(
            `${master} && for i in $(seq ${MANY_JOBS}); do tar cf - -C ${oneJob} . | ${viaMaster} h1 "mkdir -p ${m}/$i && tar xf - -C ${m}/$i && cd ${m}/$i && (setsid sh start.sh </dev/null >/dev/null 2>&1 &)" || exit 1; done; ${closeMaster}`,
          );
          sshLoopMs.push(ms);
          return ms;
        },
        // tej's: the submits alone, from the first to the last answer (start-up and login not counted);
        // the OpenSSH loop's, what this machine allows a job started over SSH (its master's start counted)
        note: () => `tej: ${median(jobsPerSecond).toFixed(0)} jobs/s; the OpenSSH loop: ${(MANY_JOBS / (median(sshLoopMs) / 1000)).toFixed(0)} jobs/s`,
        rate: () => Math.round(median(jobsPerSecond)),
        bound: { min_jobs_per_second: 100 },
      },
    ];

    await remote('mkdir -p /tmp/bench');
    for (const c of cases.filter((x) => !opts.only || new RegExp(opts.only, 'i').test(x.name))) {
      const t: number[] = [];
      const o: number[] = [];
      await c.before?.();
      for (let i = 0; i < REPS; i++) {
        // Alternate which side goes first, so neither always gets the warmer cache.
        const order = i % 2 === 0 ? (['tej', 'ssh'] as const) : (['ssh', 'tej'] as const);
        for (const side of order) {
          const ms = await c[side]();
          (side === 'tej' ? t : o).push(ms);
        }
      }
      await c.after?.();
      await run(['sync'], {}); // untimed: the next case does not pay for this one's write-back
      const ratio = Math.round((median(t) / median(o)) * 100) / 100;
      const rate = c.rate?.();
      const sent = c.sentFraction?.();
      const within =
        (c.bound.max_ratio === undefined || ratio <= c.bound.max_ratio) &&
        (c.bound.min_jobs_per_second === undefined || (rate ?? 0) >= c.bound.min_jobs_per_second) &&
        (c.bound.max_sent_fraction === undefined || (sent ?? 1) <= c.bound.max_sent_fraction);
      const r: Result = {
        name: c.name,
        tej_median_ms: roundMs(median(t)),
        openssh_median_ms: roundMs(median(o)),
        ratio,
        bound: c.bound,
        within,
        ...(rate !== undefined ? { jobs_per_second: rate } : {}),
        ...(sent !== undefined ? { sent_fraction: Math.round(sent * 1000) / 1000 } : {}),
        openssh: c.openssh,
        ...(c.note ? { note: c.note() } : {}),
        tej_ms: t.map((x) => Math.round(x)),
        openssh_ms: o.map((x) => Math.round(x)),
      };
      results.push(r);
      process.stderr.write(`${r.name}: tej ${r.tej_median_ms} ms, openssh ${r.openssh_median_ms} ms, ratio ${r.ratio} (bound: ${boundText(r.bound)}${r.within ? '' : ', MISSED'})${r.note ? ` (${r.note})` : ''}\n`);
    }
    await rm(local, { recursive: true, force: true });
  } finally {
    await lab.stop();
  }

  const out = opts.out ?? (PARTIAL ? await mkdtemp(join(tmpdir(), 'tej-bench-out-')) : join(ROOT, 'bench'));
  await mkdir(out, { recursive: true });
  const meta = { date: new Date().toISOString(), quick: QUICK, reps: REPS, node: process.version, ssh2_binding: SSH2_BINDING };
  // A full run keeps one result file per case of the binding (README too): the targets hold for both.
  const base = opts.out || SSH2_BINDING || out !== join(ROOT, 'bench') ? 'results' : 'results-no-binding';
  await writeFile(join(out, `${base}.json`), JSON.stringify({ ...meta, results }, null, 2) + '\n');
  const table = renderTable(results);
  await writeFile(join(out, `${base}.md`), table);
  process.stdout.write(table);
  if (!PARTIAL && !opts.out) await updateReadme(table, meta);
  process.stderr.write(`bench: wrote ${join(out, `${base}.json`)}\n`);
}

function boundText(b: Bound): string {
  return [
    b.max_ratio !== undefined ? `≤ ${b.max_ratio}` : '',
    b.min_jobs_per_second !== undefined ? `≥ ${b.min_jobs_per_second} jobs/s` : '',
    b.max_sent_fraction !== undefined ? `sends ≤ ${b.max_sent_fraction * 100}% of the file` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

function renderTable(results: Result[]): string {
  const rows = results.map(
    (r) => `| ${r.name} | ${r.tej_median_ms} | ${r.openssh_median_ms} | \`${r.openssh.replaceAll('|', '\\|')}\` | **${r.ratio}** | ${boundText(r.bound)}${r.within ? '' : ' (missed)'} |${r.note ? ` ${r.note}` : ''}`,
  );
  return ['| case | tej ms | OpenSSH ms | OpenSSH command | ratio | bound | |', '|---|---:|---:|---|---:|---|---|', ...rows, ''].join('\n');
}

async function updateReadme(table: string, meta: { date: string; reps: number; node: string; ssh2_binding: boolean }): Promise<void> {
  const path = join(ROOT, 'README.md');
  let readme = await readFile(path, 'utf8');
  const tag = meta.ssh2_binding ? 'bench' : 'bench-no-binding';
  const begin = `<!-- ${tag}:begin -->`;
  const end = `<!-- ${tag}:end -->`;
  let a = readme.indexOf(begin);
  let b = readme.indexOf(end);
  if (a < 0 && !meta.ssh2_binding) {
    // the first run without the binding: its block goes after the other one
    const after = readme.indexOf('<!-- bench:end -->');
    if (after < 0) return;
    const at = after + '<!-- bench:end -->'.length;
    readme = `${readme.slice(0, at)}\n\n${begin}\n${end}${readme.slice(at)}`;
    a = readme.indexOf(begin);
    b = readme.indexOf(end);
  }
  if (a < 0 || b < a) return;
  const block = `${begin}\nMedians of ${meta.reps} alternating repetitions, ${meta.date.slice(0, 10)}, Node ${meta.node}, ${meta.ssh2_binding ? "with ssh2's native crypto binding" : "without ssh2's native crypto binding"}, sshd in a network namespace on the same machine:\n\n${table}${end}`;
  await writeFile(path, readme.slice(0, a) + block + readme.slice(b + end.length));
}

await main();
