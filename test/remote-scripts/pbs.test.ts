// The parts of the pbs plugin that run without a PBS server: the job-state mapping, the `qstat -f`
// reader on recorded outputs (fixtures/pbs/, see its README), the qsub resource words of both dialects,
// the dialect's detection and its reading from a config a job may have written. (Everything that needs
// a server is in test/integration/pbs.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { HelperQueue, parseReply } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/pbs/', import.meta.url));

/** Runs SCRIPT under the queue's shell with common.sh and queues/pbs.sh loaded; STDIN on its stdin. */
function withPbsLib(q: HelperQueue, script: string, stdin = '', path?: string) {
  const [cmd, ...pre] = q.shell.argv;
  const env = { ...q.env, TEJ_ROOT: q.root, ...(path ? { PATH: `${path}:${q.env.PATH ?? process.env.PATH}` } : {}) };
  const r = spawnSync(cmd!, [...pre, '-c', `. "$TEJ_ROOT/lib/common.sh"; . "$TEJ_ROOT/lib/batch.sh"; . "$TEJ_ROOT/queues/pbs.sh"; ${script}`], {
    env,
    cwd: q.tmp,
    input: stdin,
    encoding: 'utf8',
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A directory with a fake qstat whose --version prints TEXT (detection only: it answers nothing else). */
function fakeQstat(q: HelperQueue, text: string): string {
  const bin = join(q.tmp, `bin-${Math.random().toString(36).slice(2)}`);
  mkdirSync(bin);
  writeFileSync(join(bin, 'qstat'), `#!/bin/sh\nprintf '%s\\n' '${text}'\n`);
  chmodSync(join(bin, 'qstat'), 0o755);
  return bin;
}

describe('the pbs plugin without a PBS server', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('maps every PBS and Torque job state letter onto the shared vocabulary', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const cases: Record<string, string> = {
        Q: 'queued', H: 'queued', W: 'queued', T: 'queued',
        R: 'running', E: 'running', B: 'running', S: 'running', U: 'running',
        C: 'ended', F: 'ended', X: 'ended',
        M: 'lost',
        '-': 'gone',
      };
      const r = withPbsLib(q, `for s in ${Object.keys(cases).join(' ')}; do printf '%s=%s\\n' "$s" "$(pbs_word "$s")"; done; pbs_word ''`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, Object.entries(cases).map(([s, w]) => `${s}=${w}\n`).join('') + 'gone\n');
    });

    test('reads the job ids and states of recorded qstat -f outputs of OpenPBS, Torque and Slurm\'s wrappers', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const expected: Record<string, string> = {
        'openpbs-qstat-f.txt': '1.vbox Q STDIN\n',
        'torque-qstat-f.txt': '4.torque.example C STDIN\n5.torque.example R STDIN\n6[].torque.example Q STDIN\n',
        'slurm-torque-qstat-f.txt': '1 R tj1\n2 C tj2\n',
      };
      for (const [file, out] of Object.entries(expected)) {
        const r = withPbsLib(q, 'pbs_parse_full', readFileSync(join(FIXTURES, file), 'utf8'));
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, out, file);
      }
      // PBS Pro's JSON of the same job names the same state
      const json = JSON.parse(readFileSync(join(FIXTURES, 'openpbs-qstat-x-f-F-json.json'), 'utf8')) as { Jobs: Record<string, { job_state: string }> };
      assert.deepEqual(Object.entries(json.Jobs).map(([id, j]) => `${id} ${j.job_state} STDIN\n`).join(''), expected['openpbs-qstat-f.txt']);
    });

    test('asks for cpus, memory, gpus and time as one -l in each dialect, with -q and -A', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const meta = join(q.tmp, 'meta');
      mkdirSync(join(meta, 'slurm'), { recursive: true });
      for (const [f, v] of Object.entries({ nproc: '4', memory: '2G', gpus: '1', time_limit: '3600', 'slurm/partition': 'short', 'slurm/account': 'proj7' })) {
        writeFileSync(join(meta, f), `${v}\n`);
      }
      const r = withPbsLib(q, `pbs_resources "${meta}" pbspro; echo; pbs_resources "${meta}" torque`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stdout,
        '-l\nselect=1:ncpus=4:mem=2gb:ngpus=1,walltime=01:01:00\n-q\nshort\n-A\nproj7\n\n' +
          '-l\nnodes=1:ppn=4:gpus=1,mem=2gb,walltime=01:01:00\n-q\nshort\n-A\nproj7\n',
      );
      const units = withPbsLib(q, 'for m in 512 512M 64k 3T; do pbs_memory "$m"; done; pbs_walltime 2');
      assert.equal(units.stdout, '512mb\n512mb\n64kb\n3tb\n00:01:02\n');
    });

    test('tells PBS Pro from Torque and from Grid Engine by qstat --version', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const cases: [string, string][] = [
        ['pbs_version = 22.05.11', 'pbspro'],
        ['Version: 6.1.3', 'torque'],
        ['', 'torque'], // Slurm's Torque-style wrappers print nothing
        ['SGE 8.1.9', 'none'],
      ];
      for (const [version, dialect] of cases) {
        const r = withPbsLib(q, 'pbs_detect || echo none', '', fakeQstat(q, version));
        assert.equal(r.stdout, `${dialect}\n`, version);
      }
    });

    test('takes only a known dialect from the queue config, which a job can write', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const torque = fakeQstat(q, 'Version: 6.1.3');
      const config = (text: string) => writeFileSync(join(q.root, 'config'), text);
      config('plugin=pbs\npbs_dialect=pbspro\n');
      assert.equal(withPbsLib(q, 'pbs_dialect', '', torque).stdout, 'pbspro\n');
      // anything else is detected again: no value from the file reaches a command line
      config('plugin=pbs\npbs_dialect=pbspro; touch pwned\npbs_dialect=$(id)\n');
      assert.equal(withPbsLib(q, 'pbs_dialect', '', torque).stdout, 'torque\n');
      assert.equal(withPbsLib(q, 'queue_config', '', torque).stdout, 'pbs_dialect=torque\n');
    });

    test('checks the host with qstat --version only when setup recorded no dialect: not on every submit', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const bin = fakeQstat(q, 'SGE 8.1.9');
      // qstat counts its calls; qsub and qdel only need to exist
      writeFileSync(join(bin, 'qstat'), `#!/bin/sh\necho "qstat $*" >> "${q.tmp}/calls"\necho 'SGE 8.1.9'\n`);
      for (const c of ['qsub', 'qdel']) symlinkSync(join(bin, 'qstat'), join(bin, c));
      const config = (text: string) => writeFileSync(join(q.root, 'config'), text);
      const check = () => {
        writeFileSync(join(q.tmp, 'calls'), '');
        const r = withPbsLib(q, 'st=0; queue_check 2>/dev/null || st=$?; echo $st', '', bin);
        return [r.stdout.trim(), readFileSync(join(q.tmp, 'calls'), 'utf8')];
      };
      config('plugin=pbs\npbs_dialect=torque\n');
      assert.deepEqual(check(), ['0', '']);
      // no dialect recorded (or a word that is neither): detected, here Grid Engine's qstat, refused
      config('plugin=pbs\npbs_dialect=$(id)\n');
      assert.deepEqual(check(), ['69', 'qstat --version\n']);
    });

    test('setup suggests pbs on a Torque login node without sbatch, and records the dialect when it is chosen', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // this machine's commands, but for any scheduler's, plus a Torque-like qsub, qstat and qdel
      const bin = fakeQstat(q, 'Version: 6.1.3');
      for (const c of ['qsub', 'qdel']) symlinkSync(join(bin, 'qstat'), join(bin, c));
      for (const dir of ['/usr/bin', '/bin']) {
        for (const name of readdirSync(dir)) {
          if (['sbatch', 'squeue', 'scancel', 'sacct', 'qsub', 'qstat', 'qdel', 'qalter', 'qrls', 'qhold'].includes(name)) continue;
          try {
            symlinkSync(join(dir, name), join(bin, name));
          } catch {
            // the same name in both directories
          }
        }
      }
      const plain = parseReply((await q.run(['setup'], { env: { PATH: bin } })).stdout);
      assert.equal(plain.header.plugin, 'direct', 'never switched silently');
      assert.equal(plain.header.suggest_plugin, 'pbs');
      const chosen = await q.run(['setup', '--plugin', 'pbs'], { env: { PATH: bin } });
      assert.equal(chosen.code, 0, chosen.stderr);
      assert.equal(parseReply(chosen.stdout).header.suggest_plugin, undefined);
      assert.match(readFileSync(join(q.root, 'config'), 'utf8'), /^plugin=pbs\ngnu_tar=.*\npbs_dialect=torque\n$/);
    });

    test('never hands qdel a native id that is not a PBS job id (the job can write its own): the job is looked for by its tag', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const bin = fakeQstat(q, 'Version: 6.1.3');
      writeFileSync(join(bin, 'qdel'), `#!/bin/sh\necho "qdel $*" >> "${join(q.tmp, 'calls')}"\n`);
      chmodSync(join(bin, 'qdel'), 0o755);
      const dir = join(q.tmp, 'job');
      mkdirSync(dir);
      const r = withPbsLib(q, `for id in -Wforce '1 2' '' x1; do queue_kill "${dir}" "$id" 0; echo "$?"; done`, '', bin);
      // qstat shows no job with this job's tag (pbs_find): nothing to delete
      assert.equal(r.stdout, '0\n0\n0\n0\n', r.stderr);
      assert.throws(() => readFileSync(join(q.tmp, 'calls')), 'qdel never ran');
    });

    test('retries qsub only on errors that say the server did not answer', (t) => {
      const q = new HelperQueue(shell);
      t.after(() => q.cleanUp());
      const err = join(q.tmp, 'qsub.err');
      const cases: [string, boolean][] = [
        ['qsub: End of File', true],
        ['pbs_iff: cannot connect to host', true],
        ['qsub: Unknown queue MSG=requested queue not found', false],
        ['qsub: Job exceeds queue resource limits MSG=cannot satisfy queue max walltime requirement', false],
      ];
      for (const [text, transient] of cases) {
        writeFileSync(err, `${text}\n`);
        assert.equal(withPbsLib(q, `pbs_transient "${err}"`).code === 0, transient, text);
      }
    });
  });
});
