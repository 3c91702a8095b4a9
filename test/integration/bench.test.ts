// The benchmark is not a timed test: this only proves that `npm run bench` works end to end (quick mode:
// small sizes, one repetition) and writes well-formed results. Ratios are judged on full runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run bench --quick', () => {
  it('runs every case on both sides and writes results.json and results.md', async (t) => {
    const out = await mkdtemp(join(tmpdir(), 'tej-bench-test-'));
    t.after(() => rm(out, { recursive: true, force: true }));
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick', '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as {
      quick: boolean;
      ssh2_binding: boolean;
      results: {
        name: string;
        tej_median_ms: number;
        openssh_median_ms: number;
        ratio: number;
        bound: { max_ratio?: number; min_jobs_per_second?: number };
        within: boolean;
        jobs_per_second?: number;
        note?: string;
      }[];
    };
    assert.equal(json.quick, true);
    assert.equal(typeof json.ssh2_binding, 'boolean', 'which case was measured: with ssh2\'s native binding or without');
    const names = json.results.map((x) => x.name);
    for (const want of [/start-up/, /one command/, /persistent connection/, /status of \d+ jobs/, /calls in one library session/, /upload \d+ files/, /upload one \d+ MB/, /download \d+ files/, /download one \d+ MB/, /submit \d+ jobs/, /warm library call/, /status of \d+ jobs in one command vs status of 1/]) {
      assert.ok(names.some((n) => want.test(n)), `a case matching ${want} in ${names.join(', ')}`);
    }
    for (const x of json.results) {
      assert.ok(x.tej_median_ms > 0 && x.openssh_median_ms > 0, `${x.name}: both sides timed`);
      // the ratio comes from the unrounded medians: allow for their rounding (to 0.1 ms, 0.001 ms under 10 ms: 1% here)
      const ratio = x.tej_median_ms / x.openssh_median_ms;
      assert.ok(Math.abs(x.ratio - ratio) < 0.006 + 0.01 * ratio, `${x.name}: ratio ${x.ratio}, medians give ${ratio}`);
      // every row carries its target, and whether it met it
      assert.ok(x.bound.max_ratio !== undefined || x.bound.min_jobs_per_second !== undefined, `${x.name}: a bound`);
      const rateOk = x.bound.min_jobs_per_second === undefined || (x.jobs_per_second ?? 0) >= x.bound.min_jobs_per_second;
      assert.equal(x.within, (x.bound.max_ratio === undefined || x.ratio <= x.bound.max_ratio) && rateOk, `${x.name}: within its bound`);
      if (x.bound.min_jobs_per_second !== undefined) assert.equal(typeof x.jobs_per_second, 'number', `${x.name}: the rate its bound is on`);
    }
    // the rate beside what the machine allows a job started over SSH (the OpenSSH loop's own rate)
    assert.match(json.results.find((x) => /submit \d+ jobs/.test(x.name))!.note ?? '', /^tej: \d+ jobs\/s; the OpenSSH loop: \d+ jobs\/s$/);
    const md = await readFile(join(out, 'results.md'), 'utf8');
    assert.equal(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| case')).length, json.results.length);
  });
});
