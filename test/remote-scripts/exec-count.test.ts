// What a submit and its job's wrapper exec (issue 13): on a loaded host each fork+exec costs some 7 ms
// of CPU, and 200 submits of a small job were bound by them. The helpers read the clock themselves
// (no date), the wrapper writes the files only it writes in place (no mv for scratch, start,
// job-status, end) and removes what it leaves in one rm. Counted through shims on PATH. GNU time, where
// the host has it, costs four programs a job: env and time to probe them, env and time in the run they
// measure (env gives the job TERM back, which time ignores: run-job.sh job_exec).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { jobTar } from './_job-tar.js';
import { HelperQueue, parseReply, waitFor } from './_queue.js';
import { eachShell } from './_shells.js';

const COUNTED = ['date', 'mv', 'rm', 'mkdir', 'ln', 'time', 'env'];

/**
 * A PATH whose COUNTED commands log `NAME ARGS...` to LOG, then run the real one. With `before`, the
 * shim of mv first runs that shell code when its arguments name native-id (the submit's last move).
 */
function pathCounting(q: HelperQueue, log: string, before?: string): string {
  const bin = join(q.tmp, 'counting');
  mkdirSync(bin);
  for (const name of COUNTED) {
    const real = (q.env.PATH ?? '').split(delimiter).map((d) => join(d, name)).find((f) => existsSync(f));
    const gate = name === 'mv' && before ? `case "$*" in *native-id*) ${before} ;; esac\n` : '';
    writeFileSync(join(bin, name), `#!/bin/sh\n${gate}echo "${name} $*" >>'${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  }
  return `${bin}${delimiter}${q.env.PATH}`;
}

eachShell({ where: (s) => s.name === 'dash' || s.name === 'busybox sh' }, (shell) => {
  test('a submit and the wrapper of its job run no date, and mv and rm only where a rename or removal is needed', async (t) => {
    const q = await HelperQueue.setUp(shell);
    t.after(() => q.cleanUp());
    const log = join(q.tmp, 'ran');
    // The job ends once the submit has: a job that ended first would have its end record written by the
    // submit too (end_record_sync), one mv and rm more (seen in CI under load). sleep is not counted.
    const job = { command: 'while ! test -f gate; do sleep 0.1; done' };
    const r = await q.run(['submit', 'counted', 'N0nce'], { input: await jobTar(job), env: { PATH: pathCounting(q, log) } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseReply(r.stdout).records[0]?.id, 'counted');
    writeFileSync(join(q.jobDir('counted'), 'work', 'gate'), '');
    await q.waitState('counted', ['finished']);
    // the wrapper's last file: its end record
    const dir = q.jobDir('counted');
    await waitFor('the end record', async () => existsSync(join(dir, 'end-record')) || undefined);
    const ran = readFileSync(log, 'utf8').trimEnd().split('\n');
    const count = (name: string) => ran.filter((l) => l.startsWith(`${name} `)).length;
    assert.equal(count('date'), 0, ran.join('\n'));
    // submit: staging in, then submitted/pid-start/native-id; the wrapper: exit-code, end-record
    assert.equal(count('mv'), 4, ran.join('\n'));
    // submit: submitter and staging; the wrapper: scratch, its files, the reserve, in one
    assert.equal(count('rm'), 2, ran.join('\n'));
    // staging, jobs/ID, the scratch directory (and its base, made once)
    assert.ok(count('mkdir') <= 4, ran.join('\n'));
    assert.equal(count('ln'), 1, ran.join('\n'));
    // the usage record (docs/protocol.md, "The usage record"): one probe, one measured run
    // one probe (env --default-signal=TERM time --version), one measured run (time -o ... env ... JOB)
    assert.deepEqual(ran.filter((l) => l.startsWith('time ')).map((l) => l.split(' ')[1]), ['--version', '-o'], ran.join('\n'));
    assert.deepEqual(ran.filter((l) => l.startsWith('env ')).map((l) => l.split(' ')[1]), ['--default-signal=TERM', '--default-signal=TERM'], ran.join('\n'));
    for (const name of ['scratch', 'job-status', 'reserve']) assert.ok(!existsSync(join(dir, name)), `${name} is left`);
    const record = readFileSync(join(dir, 'end-record'), 'utf8');
    assert.match(record, /^start=\d+$/m);
    assert.match(record, /^end=\d+$/m);
    assert.match(record, /^exit_code=0$/m);
  });

  test('a job that ends before its submit does: the submit writes its end record with one mv, its temporary name cleared by its one rm', async (t) => {
    const q = await HelperQueue.setUp(shell);
    t.after(() => q.cleanUp());
    const log = join(q.tmp, 'ran');
    // The submit's last move waits for the job's exit-code, then for its wrapper to be gone (its pid and
    // start time, in the staging directory beside native-id): the job has ended, and its wrapper found
    // no native-id to write the end record with, before the submit writes native-id. (Waiting for
    // exit-code alone, the move could come between the wrapper's exit-code and its look for native-id:
    // both wrote the end record, one mv more, seen in CI under busybox sh.)
    const exitCode = join(q.jobDir('quick'), 'exit-code');
    const gone =
      `for a in "$@"; do case $a in */native-id) s=\${a%/native-id} ;; esac; done; read -r pid < "$s/native-id"; read -r start < "$s/pid-start"; ` +
      `while test "$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | cut -d' ' -f20)" = "$start"; do sleep 0.05; done`;
    const path = pathCounting(q, log, `while ! test -f '${exitCode}'; do sleep 0.05; done; ${gone}`);
    const r = await q.run(['submit', 'quick', 'N0nce'], { input: await jobTar({ command: 'true' }), env: { PATH: path } });
    assert.equal(r.code, 0, r.stderr);
    const dir = q.jobDir('quick');
    assert.match(readFileSync(join(dir, 'end-record'), 'utf8'), /^exit_code=0$/m);
    const ran = readFileSync(log, 'utf8').trimEnd().split('\n');
    const count = (name: string) => ran.filter((l) => l.startsWith(`${name} `)).length;
    // submit: staging in, submitted/pid-start/native-id, the end record; the wrapper: exit-code
    assert.equal(count('mv'), 4, ran.join('\n'));
    // submit: submitter, staging and the end record's temporary name; the wrapper: its files
    assert.equal(count('rm'), 2, ran.join('\n'));
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
  });
});
