// A/B of the 200-submit case (bench/many-jobs.mjs) between checkouts, on one lab host, interleaved:
//   node --import tsx bench/ab-submit.ts --reps 3 --jobs 200 NAME=DIR [NAME=DIR...]
// Each DIR is a built checkout (dist/, bin/). Before each of its runs, that checkout sets the host up
// (untimed), so that its helpers are installed; prints jobs/s per run and the medians, with uptime.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeClientHome, startLab } from '../test/helpers/lab.js';

const { values: opts, positionals } = parseArgs({ options: { reps: { type: 'string' }, jobs: { type: 'string' } }, allowPositionals: true });
const reps = Number(opts.reps ?? 3);
const jobs = Number(opts.jobs ?? 200);
const trees = positionals.map((p) => {
  const [name, dir] = p.split('=');
  return { name: name!, dir: dir! };
});
const lab = await startLab({ hosts: [{ name: 'h1' }] });
try {
  const home = await makeClientHome(lab);
  const env = { ...process.env, HOME: home, LC_ALL: 'C' };
  const one = join(await lab.makeTmpDir('tej-ab-'), 'one');
  await mkdir(one);
  await writeFile(join(one, 'start.sh'), 'exit 0\n');
  const rates: Record<string, number[]> = {};
  let k = 0;
  for (let r = 0; r < reps; r++) {
    for (const t of r % 2 === 0 ? trees : [...trees].reverse()) {
      const s = spawnSync('node', [join(t.dir, 'bin', 'tej.js'), 'setup', 'h1'], { env, encoding: 'utf8' });
      if (s.status !== 0) throw new Error(s.stderr);
      const load = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.split(' ')[0];
      const m = spawnSync('node', [join(t.dir, 'bench', 'many-jobs.mjs'), 'h1', String(jobs), one, `ab${++k}`], { env, encoding: 'utf8' });
      if (m.status !== 0) throw new Error(m.stderr);
      const rate = Number(JSON.parse(m.stdout).jobs_per_second);
      (rates[t.name] ??= []).push(rate);
      console.log(`${t.name} rep ${r + 1}: ${rate.toFixed(1)} jobs/s (load ${load})`);
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  for (const t of trees) console.log(`${t.name}: median ${median(rates[t.name]!).toFixed(1)} jobs/s of ${rates[t.name]!.map((x) => x.toFixed(1)).join(', ')}`);
} finally {
  await lab.stop();
}
