// A/B of the one-big-file cases (issue 13) on one lab host, interleaved: each variant a shell command
// run in turn, REPS rounds, the order rotated each round; prints wall time and the client's CPU (user +
// system of the command and its children, /usr/bin/time) per run, the medians, and the load average.
//   node --import tsx bench/ab-big.ts --reps 5 [--mb 200] NAME='CMD' [NAME='CMD'...]
// In CMD: $BIG is a directory holding start.sh and big.bin (MB MiB, incompressible), set up on the host
// as job dl-big; $N a number of its own for each run (job ids, file names); $OUT a fresh local directory;
// $TEJ bin/tej.js of this checkout. `ssh h1` reaches the host as the bench's OpenSSH side does. A CMD of
// the form 'SETUP @@ CMD' runs SETUP first, untimed (another checkout's `tej setup h1`, a changed file).
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeClientHome, startLab } from '../test/helpers/lab.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts, positionals } = parseArgs({ options: { reps: { type: 'string' }, mb: { type: 'string' } }, allowPositionals: true });
const reps = Number(opts.reps ?? 5);
const mb = Number(opts.mb ?? 200);
const variants = positionals.map((p) => ({ name: p.slice(0, p.indexOf('=')), cmd: p.slice(p.indexOf('=') + 1) }));

const lab = await startLab({ hosts: [{ name: 'h1' }] });
try {
  const home = await makeClientHome(lab);
  const bin = join(home, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F "$HOME/.ssh/config" "$@"\n`, { mode: 0o755 });
  const work = await lab.makeTmpDir('tej-ab-big-');
  const big = join(work, 'big');
  await mkdir(big);
  await writeFile(join(big, 'start.sh'), 'exit 0\n');
  spawnSync('sh', ['-c', `head -c ${mb << 20} /dev/urandom > ${big}/big.bin`]);
  const env = { PATH: `${bin}:${process.env.PATH}`, HOME: home, LC_ALL: 'C', NODE_OPTIONS: process.env.NODE_OPTIONS ?? '', BIG: big, TEJ: join(ROOT, 'bin', 'tej.js') };
  const must = (argv: string[]) => {
    const r = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
  };
  must(['node', env.TEJ, 'setup', 'h1']);
  must(['node', env.TEJ, 'submit', 'h1', '--id', 'dl-big', big]);
  must(['ssh', 'h1', 'mkdir -p /tmp/bench']);
  const wall: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  let n = 0;
  for (let r = 0; r < reps; r++) {
    const order = variants.map((_, i) => variants[(i + r) % variants.length]!);
    for (const v of order) {
      const out = join(work, `out${++n}`);
      await mkdir(out);
      const runEnv = { ...env, N: String(n), OUT: out };
      const [setup, cmd] = v.cmd.includes('@@') ? v.cmd.split('@@') : [undefined, v.cmd];
      if (setup && spawnSync('sh', ['-c', setup], { env: runEnv }).status !== 0) throw new Error(`${v.name}: ${setup} failed`);
      const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ')[0];
      const started = performance.now();
      const t = spawnSync('/usr/bin/time', ['-f', process.env.AB_FMT ?? '%U %S', 'sh', '-c', cmd!], { env: runEnv, encoding: 'utf8' });
      const ms = performance.now() - started;
      if (t.status !== 0) throw new Error(`${v.name}: ${t.stderr}`);
      const [u, s] = t.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
      (wall[v.name] ??= []).push(ms);
      (cpu[v.name] ??= []).push((u! + s!) * 1000);
      console.log(`${v.name} round ${r + 1}: ${ms.toFixed(0)} ms, client CPU ${((u! + s!) * 1000).toFixed(0)} ms [${t.stderr.trim().split("\n").at(-1)}] (load ${load})`);
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  for (const v of variants) console.log(`${v.name}: median ${median(wall[v.name]!).toFixed(0)} ms, CPU ${median(cpu[v.name]!).toFixed(0)} ms`);
} finally {
  await lab.stop();
}
