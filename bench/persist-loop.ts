// Development aid for issue 13's --persist row: starts one lab host, a --persist master and an OpenSSH
// ControlMaster, then times N commands through each, interleaved, and prints the medians (and, with
// --prof DIR, leaves CPU profiles of the lean clients there). Not part of `npm run bench`.
//   node --import tsx bench/persist-loop.ts [N] [--prof DIR]
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeClientHome, startLab } from '../test/helpers/lab.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TEJ = join(ROOT, 'bin', 'tej.js');
const N = Number(process.argv[2] ?? 15);
const profAt = process.argv.indexOf('--prof');
const PROF = profAt > 0 ? process.argv[profAt + 1] : undefined;

function run(argv: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH!, LC_ALL: 'C', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const lab = await startLab({ hosts: [{ name: 'h1' }] });
try {
  const home = await makeClientHome(lab);
  const bin = join(home, 'bin');
  await mkdir(bin);
  await writeFile(join(bin, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F "$HOME/.ssh/config" "$@"\n`, { mode: 0o755 });
  const runtime = join(home, 'run');
  await mkdir(runtime, { mode: 0o700 });
  const env: Record<string, string> = { HOME: home, PATH: `${bin}:${process.env.PATH}`, XDG_RUNTIME_DIR: runtime };
  const job = await lab.makeTmpDir('tej-loop-');
  await writeFile(join(job, 'start.sh'), 'exit 0\n');
  const must = async (argv: string[]) => {
    const r = await run(argv, env);
    if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.code}\n${r.stderr}`);
    return r;
  };
  await must(['node', TEJ, 'setup', 'h1']);
  await must(['node', TEJ, 'submit', 'h1', '--id', 'st0', job]);
  await must(['node', TEJ, 'wait', 'h1', '--id', 'st0']);
  const ctl = join(home, '.ssh', 'ctl');
  await must(['sh', '-c', `ssh -o ControlMaster=yes -o ControlPath=${ctl} -fN h1`]);
  await must(['node', TEJ, 'list', 'h1', '--persist', '10m']);
  const t: number[] = [];
  const s: number[] = [];
  const n0: number[] = [];
  for (let i = 0; i < N; i++) {
    const prof = PROF ? ['--cpu-prof', '--cpu-prof-dir', PROF] : [];
    const r = await must(['node', ...prof, TEJ, 'status', 'h1', '--id', 'st0', '--persist', '10m']);
    if (i === 0) process.stdout.write(r.stdout);
    t.push(r.ms);
    s.push((await must(['sh', '-c', `ssh -o ControlPath=${ctl} h1 'cat ~/.tej/jobs/st0/exit-code' >/dev/null`])).ms);
    n0.push((await must(['node', '-e', '0'])).ms);
  }
  console.log(`tej --persist ${median(t).toFixed(1)} ms, ssh ControlMaster ${median(s).toFixed(1)} ms, node -e 0 ${median(n0).toFixed(1)} ms, ratio ${(median(t) / median(s)).toFixed(2)}`);
  console.log(`tej: ${t.map((x) => x.toFixed(0)).join(' ')}`);
  await run(['node', TEJ, 'disconnect', 'h1'], env);
  await run(['sh', '-c', `ssh -o ControlPath=${ctl} -O exit h1`], env);
} finally {
  await lab.stop();
}
