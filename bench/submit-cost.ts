// What one submit of a small job costs, measured where the machine's load changes little (issue 13):
//   node --import tsx bench/submit-cost.ts [--jobs 200] [--base 20] [--reps 1] [NAME=DIR...]
// For each built checkout DIR (default: this one) on one lab host: runs bench/many-jobs.mjs with --base
// and with --jobs submits, and prints per job (the difference of the two, divided by the difference of
// their counts, so that login and load are left out): programs exec'd, processes forked and files
// created on the host (strace -f of the host's sshd, which is the parent of everything a session runs),
// the host's CPU ms (all of the host namespace's processes, the reaped ones included, once every job has
// ended) and the client's CPU ms (/usr/bin/time of many-jobs.mjs). Each count is from a run of its own:
// strace slows what it traces. Needs root (the lab) and strace.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeClientHome, startLab, startTime } from '../test/helpers/lab.js';

const { values: opts, positionals } = parseArgs({
  options: { jobs: { type: 'string' }, base: { type: 'string' }, reps: { type: 'string' }, perf: { type: 'string' } },
  allowPositionals: true,
});
const jobs = Number(opts.jobs ?? 200);
const base = Number(opts.base ?? 20);
const reps = Number(opts.reps ?? 1);
const trees = (positionals.length ? positionals : [`this=${join(import.meta.dirname, '..')}`]).map((p) => {
  const [name, dir] = p.split('=');
  return { name: name!, dir: dir! };
});
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** The processes of the pid namespace of PID (pids as the root namespace sees them). */
async function nsPids(init: number): Promise<number[]> {
  const ns = await readlink(`/proc/${init}/ns/pid`);
  const out: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    if ((await readlink(`/proc/${e}/ns/pid`).catch(() => '')) === ns) out.push(Number(e));
  }
  return out;
}

/** CPU ticks of the namespace: each live process's own and its reaped children's. */
async function nsTicks(init: number): Promise<number> {
  let t = 0;
  for (const p of await nsPids(init)) {
    const stat = await readFile(`/proc/${p}/stat`, 'utf8').catch(() => '');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields 14-17 (utime stime cutime cstime) are 11-14 after the comm
    t += [11, 12, 13, 14].reduce((s, i) => s + Number(f[i] ?? 0), 0);
  }
  return t;
}

const lab = await startLab({ hosts: [{ name: 'h1' }] });
try {
  const home = await makeClientHome(lab);
  const env = { ...process.env, HOME: home, LC_ALL: 'C' };
  const one = join(await lab.makeTmpDir('tej-cost-'), 'one');
  await mkdir(one);
  await writeFile(join(one, 'start.sh'), 'exit 0\n');
  const [initPid, initStart] = (await readFile(join(lab.dir, 'hosts', 'h1', 'init.pid'), 'utf8')).trim().split(' ').map(Number);
  if (startTime(initPid!) !== String(initStart)) throw new Error('the host is not running');
  // the listener: init's child named sshd (its command line is rewritten: "sshd: /usr/sbin/sshd -D ...")
  const sshd = (await nsPids(initPid!)).find((p) => {
    const stat = spawnSync('cat', [`/proc/${p}/stat`], { encoding: 'utf8' }).stdout;
    return stat.includes('(sshd)') && stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(initPid);
  });
  if (!sshd) throw new Error('no sshd in the host');
  const idle = (await nsPids(initPid!)).length;
  let k = 0;

  /** Runs N submits of TREE; with TRACE, under strace of the host's sshd. */
  async function once(dir: string, n: number, trace?: string, perf?: string) {
    const before = await nsTicks(initPid!);
    let tracer: ReturnType<typeof spawn> | undefined;
    if (perf) {
      // --perf FILE: a profile of everything the host's sshd starts meanwhile (perf report -i FILE)
      tracer = spawn('perf', ['record', '-q', '-F', '4000', '-g', '-o', perf, '-p', String(sshd)], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 1000)); // a profile only: its start is not waited on
    }
    if (trace) {
      tracer = spawn('strace', ['-f', '-qq', '-o', trace, '-e', 'trace=execve,clone,clone3,fork,vfork,openat,open,creat,mkdir,mkdirat', '-p', String(sshd)], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      tracer.stderr!.on('data', (d) => (err += d));
      // strace says nothing on -qq; it is attached once /proc/SSHD/status names a tracer
      for (;;) {
        const st = await readFile(`/proc/${sshd}/status`, 'utf8');
        if (!/TracerPid:\s+0\n/.test(st)) break;
        if (tracer.exitCode !== null) throw new Error(`strace: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    const m = spawnSync('/usr/bin/time', ['-f', '%U %S', 'node', join(dir, 'bench', 'many-jobs.mjs'), 'h1', String(n), one, `cost${++k}`], { env, encoding: 'utf8' });
    if (m.status !== 0) throw new Error(m.stderr);
    const [u, s] = m.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    // every job and the connection's processes have ended (the jobs run `exit 0`)
    while ((await nsPids(initPid!)).length > idle) await new Promise((r) => setTimeout(r, 50));
    const after = await nsTicks(initPid!);
    if (tracer) {
      tracer.kill('SIGINT');
      await new Promise((r) => tracer!.once('exit', r));
    }
    return { hostMs: (after - before) * TICK_MS, clientMs: (u! + s!) * 1000, rate: JSON.parse(m.stdout).jobs_per_second as number };
  }

  async function counts(dir: string, n: number) {
    const file = join(process.env.TEJ_COST_TRACE_DIR ?? lab.dir, `strace-${++k}.log`);
    await once(dir, n, file);
    const log = await readFile(file, 'utf8');
    const count = (re: RegExp) => log.split('\n').filter((l) => re.test(l) && !/= -1 /.test(l)).length;
    const progs = log.split('\n').filter((l) => / execve\(/.test(l) && !/= -1 /.test(l)).map((l) => /execve\("([^"]*)"/.exec(l)?.[1] ?? '?');
    return {
      execs: progs.length,
      progs,
      forks: count(/ (clone|clone3|fork|vfork)\(/),
      // files opened to be created, each path once (a file opened again with O_CREAT is not a new one)
      creates: new Set(log.split('\n').filter((l) => / (openat|open)\(.*O_CREAT| creat\(/.test(l) && !/"\/dev\//.test(l) && !/= -1 /.test(l)).map((l) => /"([^"]*)"/.exec(l)?.[1])).size,
      mkdirs: count(/ mkdir(at)?\(/),
    };
  }

  for (const t of trees) {
    spawnSync('node', [join(t.dir, 'bin', 'tej.js'), 'setup', 'h1'], { env });
    await once(t.dir, base); // warm: the helpers installed, the first call taken
    if (opts.perf) await once(t.dir, jobs, undefined, `${opts.perf}.${t.name}`);
    for (let r = 0; r < reps; r++) {
      const load = (await readFile('/proc/loadavg', 'utf8')).split(' ')[0];
      const [a, b] = [await once(t.dir, base), await once(t.dir, jobs)];
      const [ca, cb] = [await counts(t.dir, base), await counts(t.dir, jobs)];
      const per = (x: number, y: number) => ((y - x) / (jobs - base)).toFixed(2);
      const progs = new Map<string, number>();
      for (const p of cb.progs) progs.set(p, (progs.get(p) ?? 0) + 1);
      for (const p of ca.progs) progs.set(p, (progs.get(p) ?? 0) - 1);
      console.log(
        `${t.name}: per submit: host CPU ${per(a.hostMs, b.hostMs)} ms, client CPU ${per(a.clientMs, b.clientMs)} ms, execs ${per(ca.execs, cb.execs)}, ` +
          `forks ${per(ca.forks, cb.forks)}, files created ${per(ca.creates, cb.creates)}, mkdirs ${per(ca.mkdirs, cb.mkdirs)}; ` +
          `${b.rate.toFixed(0)} jobs/s untraced (load ${load})`,
      );
      console.log(`  programs per submit: ${[...progs].filter(([, c]) => c).map(([p, c]) => `${p} ${(c / (jobs - base)).toFixed(2)}`).join(', ')}`);
    }
  }
} finally {
  await lab.stop();
}
