// The submit side as a user meets it, through the real sshd test host: ignore rules, dry runs, progress
// bars and colour on a real pseudo-terminal, the config file, shell completion.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, TEJ_BIN, waitFor, type TejRun } from '../helpers/cli.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';
import { shQuote } from '../../src/transport/quote.js';

/** Runs tej with a terminal as stdin, stdout and stderr (util-linux `script`): what a user at a shell sees. */
function tejOnTty(args: string[], o: { home: string; env?: Record<string, string> }): Promise<TejRun> {
  const cmd = [process.execPath, TEJ_BIN, ...args].map(shQuote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: o.home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.home, LC_ALL: 'C', TERM: 'xterm', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr: '' });
    });
  });
}

const ESC = '\x1b[';
/** An ANSI colour or attribute sequence (Select Graphic Rendition). */
const SGR = /\x1b\[[0-9;]*m/;

describe('submit side and terminal UX over real SSH', () => {
  let lab: Lab<'h1'>;
  let home: string;
  let jobs: string;
  const run = (args: string[], extra: { env?: Record<string, string> } = {}) => tej(args, { home, ...extra });
  const ok = (r: TejRun) => {
    assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    return r.stdout;
  };
  const remote = async (cmd: string) => {
    const r = await lab.execAs('h1', 'alice', cmd);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  before(async () => {
    lab = await startLab({ hosts: [{ name: 'h1', role: 'ssh' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-jobs-');
    ok(await run(['setup', 'h1']));
  });
  after(async () => {
    await lab?.stop();
  });

  describe('ignore rules', () => {
    it('never uploads what .tejignore and --exclude name, and uploads the rest', async () => {
      const dir = await makeJob(join(jobs, 'ign'), {
        'start.sh': 'find . ! -name "tej.std*" | sort > ../listing.txt\n',
        '.tejignore': '# build output\nbuild/\n*.log\n!keep.log\n',
        'build/a/b.o': 'x',
        'run.log': 'x',
        'keep.log': 'kept',
        'data/big.dat': 'x',
        'data/small.txt': 'y',
        'src/build/nested.o': 'x',
      });
      const id = ok(await run(['submit', 'h1', '--id', 'ign1', '--exclude', 'data/*.dat', dir])).trim();
      await waitFor('ign1 to finish', () => run(['status', 'h1', '--id', id]), (r) => r.code === 0);
      const listing = await remote(`cat ~/.tej/jobs/${id}/listing.txt`);
      assert.deepEqual(listing.trim().split('\n'), ['.', './.tejignore', './data', './data/small.txt', './keep.log', './src', './start.sh']);
    });

    it('refuses, naming the pattern, a submit whose script is excluded, and creates no job', async () => {
      const dir = await makeJob(join(jobs, 'ignscript'), { 'start.sh': 'echo hi\n', '.tejignore': '*.sh\n' });
      const r = await run(['submit', 'h1', '--id', 'ignscript1', dir]);
      assert.equal(r.code, 65, r.stderr);
      assert.match(r.stderr, /script 'start\.sh' is excluded from the upload by the pattern '\*\.sh' \(from \.tejignore\)/);
      assert.equal(await remote('test -e ~/.tej/jobs/ignscript1 && echo exists || echo absent'), 'absent\n');
      const viaFlag = await run(['submit', 'h1', '--id', 'ignscript2', '--exclude', '!start.sh', dir]);
      assert.equal(ok(viaFlag).trim(), 'ignscript2', '--exclude comes after .tejignore, so it can re-include');
    });
  });

  describe('dry run', () => {
    it('lists what would be sent with sizes and totals, and creates no job', async () => {
      const dir = await makeJob(join(jobs, 'dry'), { 'start.sh': 'echo hi\n', 'in/data.csv': 'a,b\n1,2\n', 'skip.log': 'x', '.tejignore': '*.log\n' });
      const before = await remote('ls ~/.tej/jobs | sort');
      const out = ok(await run(['submit', 'h1', '--id', 'dry1', '--dry-run', dir]));
      assert.equal(out, ' 6  .tejignore\n 8  in/data.csv\n 8  start.sh\n3 files, 22 bytes (22 B)\n');
      const json = JSON.parse(ok(await run(['submit', 'h1', '--dry-run', '--json', '--exclude', 'in/', dir])));
      assert.deepEqual(json.entries.map((e: { path: string; size: number }) => [e.path, e.size]), [['.tejignore', 6], ['start.sh', 8]]);
      assert.equal(json.files, 2);
      assert.equal(json.bytes, 14);
      assert.equal(await remote('ls ~/.tej/jobs | sort'), before, 'no job was created');
    });

    it('needs no connection: a host that does not resolve is not contacted', async () => {
      const dir = await makeJob(join(jobs, 'dry2'), { 'start.sh': 'echo hi\n' });
      const out = ok(await run(['submit', 'nosuchhost.invalid', '--dry-run', dir]));
      assert.match(out, /1 file, 8 bytes/);
    });
  });

  describe('progress and colour on a terminal', () => {
    it('draws an upload bar with bytes, rate and ETA on a terminal, then a one-line summary', async () => {
      const dir = await makeJob(join(jobs, 'bar'), { 'start.sh': 'echo hi\n' });
      await writeFile(join(dir, 'big.bin'), Buffer.alloc(8 * 1024 * 1024, 7));
      const r = await tejOnTty(['submit', 'h1', '--id', 'bar1', dir], { home });
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /\r\x1b\[Kuploading to (alice@)?h1 +\S*[#-]+\S* +\d+% +[\d.]+ \w?i?B\/8\.0 MiB +[\d.]+ \w?i?B\/s/);
      assert.match(r.stdout, /tej: uploaded 2 files, 8\.0 MiB in [\d.]+ s \([\d.]+ \w?i?B\/s\)/);
      assert.match(r.stdout, /^bar1\r?$/m, 'the job id still has a line of its own');
      await waitFor('bar1 to finish', () => run(['status', 'h1', '--id', 'bar1']), (s) => s.code === 0);
      const dl = await tejOnTty(['download', 'h1', '--id', 'bar1', `big.bin:${join(jobs, 'big.copy')}`], { home });
      assert.equal(dl.code, 0, dl.stdout);
      assert.match(dl.stdout, /downloaded big\.bin: 1 file, 8\.0 MiB/);
      assert.deepEqual(await readFile(join(jobs, 'big.copy')), Buffer.alloc(8 * 1024 * 1024, 7));
    });

    it('draws nothing when stderr is not a terminal, or with --quiet', async () => {
      const dir = await makeJob(join(jobs, 'nobar'), { 'start.sh': 'echo hi\n', 'f.bin': 'x'.repeat(100_000) });
      const piped = await run(['submit', 'h1', '--id', 'nobar1', dir]);
      assert.equal(ok(piped), 'nobar1\n');
      assert.equal(piped.stderr, '', 'nothing on a piped stderr');
      const quiet = await tejOnTty(['submit', 'h1', '--id', 'nobar2', '-q', dir], { home });
      assert.equal(quiet.code, 0, quiet.stdout);
      assert.equal(quiet.stdout.replace(/\r/g, ''), 'nobar2\n', 'only the result with --quiet');
    });

    it('colours errors on a terminal, and not with NO_COLOR or when piped', async () => {
      const coloured = await tejOnTty(['status', 'h1', '--id', 'bad/id'], { home });
      assert.equal(coloured.code, 65);
      assert.ok(coloured.stdout.includes(`${ESC}31m`), JSON.stringify(coloured.stdout));
      const plain = await tejOnTty(['status', 'h1', '--id', 'bad/id'], { home, env: { NO_COLOR: '1' } });
      assert.equal(plain.code, 65);
      assert.doesNotMatch(plain.stdout, SGR, 'no colour (the spinner still redraws its line)');
      assert.match(plain.stdout, /(^|\x1b\[K)tej: invalid job id/m);
      const piped = await run(['status', 'h1', '--id', 'bad/id']);
      assert.ok(!piped.stderr.includes('\x1b'));
      const forced = await run(['status', 'h1', '--id', 'bad/id'], { env: { FORCE_COLOR: '1' } });
      assert.ok(forced.stderr.includes(`${ESC}31m`), 'FORCE_COLOR colours a pipe');
    });
  });
});
