// The end record (docs/protocol.md, "The end record"): a job's status record in one file, written when
// it ends for good, read by a status of many jobs instead of nine files. It must never say what the
// files would not: the same bytes with it and without it, whoever wrote last.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { HelperQueue, parseReply } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

/** An ended job as the direct plugin leaves it (no end-record: an older tej's). */
function endedJob(q: HelperQueue, id: string, files: Record<string, string> = {}): void {
  mkdirSync(join(q.jobDir(id), 'meta'), { recursive: true });
  const all = { plugin: 'direct', 'native-id': '42', submitted: '100', start: '101', end: '102', 'exit-code': '0', ...files };
  for (const [name, value] of Object.entries(all)) writeFileSync(join(q.jobDir(id), name), `${value}\n`);
}

/** Runs SCRIPT with the libraries a wrapper has (common, proc, state) sourced, under the queue's shell. */
function withLibs(q: HelperQueue, script: string, ...args: string[]): string {
  const [cmd, ...pre] = q.shell.argv;
  const libs = '. "$TEJ_ROOT/lib/common.sh"; . "$TEJ_ROOT/lib/proc.sh"; . "$TEJ_ROOT/lib/state.sh"; ';
  const r = spawnSync(cmd!, [...pre, '-c', libs + script, 'sh', ...args], { env: { ...q.env, TEJ_ROOT: q.root }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

const sync = (q: HelperQueue, id: string) => withLibs(q, 'end_record_sync "$1"', q.jobDir(id));
const endRecord = (q: HelperQueue, id: string) => join(q.jobDir(id), 'end-record');

/** The status reply of IDS (nine and more: read by the awk), with and without the end records. */
async function bothWays(q: HelperQueue, ids: string[]): Promise<[string, string]> {
  const withRecords = await q.run(['status', ...ids]);
  assert.equal(withRecords.code, 0, withRecords.stderr);
  for (const id of ids) rmSync(endRecord(q, id), { force: true, recursive: true });
  const without = await q.run(['status', ...ids]);
  assert.equal(without.code, 0, without.stderr);
  return [withRecords.stdout.toString(), without.stdout.toString()];
}

describe('the end record', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('a job writes its end record as it ends; a status of many gives the same bytes with it and without it', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const ids = Array.from({ length: 9 }, (_, i) => `j${i}`);
      for (const [i, id] of ids.entries()) {
        await q.submit(id, { command: `exit ${i}`, meta: { labels: `{"n":"${i}"}` } });
      }
      for (const id of ids) await q.waitState(id, ['finished']);
      // the wrapper's, or submit's when the job ended before its native-id was written
      const j3 = readFileSync(endRecord(q, 'j3'), 'utf8');
      const file = (name: string) => q.jobFile('j3', name).split('\n')[0];
      assert.equal(j3, `tej-end-record=1\nplugin=direct\nnative_id=${file('native-id')}\nsubmitted=${file('submitted')}\nstart=${file('start')}\nend=${file('end')}\nexit_code=3\nlabels={"n":"3"}\nusage=${file('usage')}\n`);
      assert.match(file('usage')!, /^time - |^time \d+ /);
      // an older tej's job (no end record) between them, and one that does not exist
      endedJob(q, 'old', { 'exit-code': '7' });
      const asked = [...ids.slice(0, 4), 'old', 'nosuch', ...ids.slice(4)];
      const [withRecords, without] = await bothWays(q, asked);
      assert.equal(withRecords, without);
      assert.deepEqual(parseReply(withRecords).records.map((r) => `${r.id} ${r.state} ${r.exit_code}`), [
        'j0 finished 0', 'j1 finished 1', 'j2 finished 2', 'j3 finished 3', 'old finished 7', 'nosuch absent undefined',
        'j4 finished 4', 'j5 finished 5', 'j6 finished 6', 'j7 finished 7', 'j8 finished 8',
      ]);
    });

    test('what is written after the end reaches the record: a late native-id, a rerun, a kill that raced the end', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const ids = Array.from({ length: 9 }, (_, i) => `e${i}`);
      for (const id of ids) endedJob(q, id);
      // the wrapper ended before submit wrote native-id: no record yet, then submit's
      rmSync(join(q.jobDir('e0'), 'native-id'));
      sync(q, 'e0');
      assert.equal(existsSync(endRecord(q, 'e0')), false, 'an end record without native-id');
      writeFileSync(join(q.jobDir('e0'), 'native-id'), '4242\n');
      for (const id of ids) sync(q, id);
      assert.match(readFileSync(endRecord(q, 'e0'), 'utf8'), /^native_id=4242$/m);
      // a plugin that still has to confirm the end: no record
      writeFileSync(join(q.jobDir('e1'), 'native-open'), '100\n');
      rmSync(endRecord(q, 'e1'));
      sync(q, 'e1');
      assert.equal(existsSync(endRecord(q, 'e1')), false, 'an end record while native-open is there');
      rmSync(join(q.jobDir('e1'), 'native-open'));
      // resubmit writes rerun-as, then the record again
      writeFileSync(join(q.jobDir('e2'), 'rerun-as'), 'e2-again\n');
      sync(q, 'e2');
      assert.match(readFileSync(endRecord(q, 'e2'), 'utf8'), /^rerun_as=e2-again$/m);
      // kill found the job running, the wrapper recorded the end (and its record), then kill wrote killed
      writeFileSync(join(q.jobDir('e3'), 'killed'), '103\n');
      // and a time limit's
      writeFileSync(join(q.jobDir('e4'), 'timed-out'), '103\n');
      const [withRecords, without] = await bothWays(q, ids);
      assert.equal(withRecords, without);
      const records = parseReply(withRecords).records;
      assert.deepEqual(records.slice(0, 5).map((r) => `${r.id} ${r.state} ${r.native_id} ${r.rerun_as}`), [
        'e0 finished 4242 undefined', 'e1 finished 42 undefined', 'e2 finished 42 e2-again', 'e3 killed 42 undefined', 'e4 timeout 42 undefined',
      ]);
    });

    test('the slurm plugin writes the end record once it has settled the job, native state included', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      endedJob(q, 's', { plugin: 'slurm', 'native-open': '100' });
      withLibs(q, '. "$TEJ_ROOT/lib/answers.sh"; native_settle "$1" timeout TIMEOUT', q.jobDir('s'));
      assert.equal(existsSync(join(q.jobDir('s'), 'native-open')), false);
      assert.match(readFileSync(endRecord(q, 's'), 'utf8'), /^native_state=TIMEOUT$/m);
      assert.equal(existsSync(join(q.jobDir('s'), 'timed-out')), true);
    });

    test('a forged end record changes nothing the files would not say: a malformed one is not read', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const forged = [
        'plugin=direct\nexit_code=9\n', // no header
        'tej-end-record=1\nexit_code=9\nid=e0\nstate=running\n', // another record
        'tej-end-record=1\nstate=running\n', // a second state
        'tej-end-record=1\nexit_code=9\nexit_code=8\n', // a key twice
        'tej-end-record=1\nexit_code=9\nplugin=direct\n', // out of order
        'tej-end-record=1\nnow=1\n', // not a record key
        'tej-end-record=1\nexit_code=9\n\n', // an empty line
        'tej-end-record=2\nexit_code=9\n', // another version
      ];
      const ids = forged.map((_, i) => `f${i}`);
      for (const id of ids) endedJob(q, id);
      // a record in a job that has not ended (no exit-code; lost: its plugin is gone)
      endedJob(q, 'running', { plugin: 'removed' });
      rmSync(join(q.jobDir('running'), 'exit-code'));
      writeFileSync(endRecord(q, 'running'), 'tej-end-record=1\nexit_code=0\n');
      const all = [...ids, 'running'];
      const expected = (await q.run(['status', ...all])).stdout.toString();
      for (const [i, text] of forged.entries()) {
        // one forged record among well-formed ones: the files are read, the same bytes
        for (const id of ids) sync(q, id);
        writeFileSync(endRecord(q, `f${i}`), text);
        const r = await q.run(['status', ...all]);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.toString(), expected, JSON.stringify(text));
      }
      assert.equal(parseReply(expected).records.at(-1)!.exit_code, undefined);
    });

    test('the jobs the prefetch found ended are read without their files tested again, and only for the jobs it read', async (t) => {
      // emit_job_records takes prefetch_states' word that a job ended for good (lib/answers.sh,
      // prefetch_unsettled): a job deleted between the two is absent, not a record of nothing; after
      // a prefetch of other jobs, a running job's forged end record is not read.
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const ids = Array.from({ length: 10 }, (_, i) => `e${i}`);
      for (const id of ids) endedJob(q, id, { 'exit-code': id.slice(1) });
      for (const id of ids) sync(q, id);
      rmSync(endRecord(q, 'e7')); // read from its files (F)
      endedJob(q, 'running', { plugin: 'removed' });
      rmSync(join(q.jobDir('running'), 'exit-code'));
      writeFileSync(endRecord(q, 'running'), 'tej-end-record=1\nexit_code=0\n');
      const libs = '. "$TEJ_ROOT/lib/answers.sh"; . "$TEJ_ROOT/lib/record.sh"; ';
      const records = (out: string) => new Map(parseReply(`tej-proto=1\n${out}`).records.map((r) => [r.id!, r]));
      // e3 (its end record) and e7 (its files) deleted after the prefetch
      const gone = records(withLibs(q, `${libs}prefetch_states "$@"; rm -rf "$TEJ_ROOT/jobs/e3" "$TEJ_ROOT/jobs/e7"; emit_job_records "$@"`, ...ids, 'running'));
      assert.deepEqual([...gone.keys()], [...ids, 'running']);
      assert.equal(gone.get('e3')!.state, 'absent');
      assert.equal(gone.get('e7')!.state, 'absent');
      assert.equal(gone.get('e5')!.exit_code, '5');
      assert.notEqual(gone.get('running')!.state, 'finished');
      assert.equal(gone.get('running')!.exit_code, undefined);
      // a prefetch of other jobs (the running one not among them; as many, the same first and last)
      // says nothing of these (eight ended ones and the running one: enough for the awk, were it
      // taken for ended)
      const rest = ['e0', 'e1', 'e2', 'e4', 'running', 'e5', 'e6', 'e8', 'e9'];
      const other = records(withLibs(q, `${libs}prefetch_states e0 e1 e2 e4 e1 e5 e6 e8 e9; emit_job_records "$@"`, ...rest));
      assert.deepEqual([...other.keys()], rest);
      assert.equal(other.get('running')!.exit_code, undefined);
      assert.notEqual(other.get('running')!.state, 'finished');
      assert.equal(other.get('e9')!.exit_code, '9');
    });

    test('a FIFO or a directory in the end record\'s place neither blocks a status nor changes it', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const ids = Array.from({ length: 9 }, (_, i) => `e${i}`);
      for (const id of ids) endedJob(q, id, { 'exit-code': id.slice(1) });
      const expected = (await q.run(['status', ...ids])).stdout.toString();
      for (const id of ids) sync(q, id);
      rmSync(endRecord(q, 'e4'));
      assert.equal(spawnSync('mkfifo', [endRecord(q, 'e4')]).status, 0);
      rmSync(endRecord(q, 'e6'));
      mkdirSync(endRecord(q, 'e6'));
      // the record writer leaves them be (the files are read for those jobs)
      sync(q, 'e6');
      // A reader blocked on the FIFO waits for a writer: after two minutes (a status took over one on a
      // machine loaded 45 on 2 cores) the test writes into it until the reader is done, so that a
      // failure ends instead of hanging.
      let writer: ChildProcess | undefined;
      const unblock = setTimeout(() => {
        writer = spawn('sh', ['-c', 'while :; do printf "tej-end-record=1\\nexit_code=99\\n" >"$1"; done', 'sh', endRecord(q, 'e4')], { stdio: 'ignore' });
      }, 120_000);
      const r = await q.run(['status', ...ids]).finally(() => (clearTimeout(unblock), writer?.kill()));
      assert.equal(writer, undefined, 'status blocked on the FIFO');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), expected);
    });

    test("a FIFO a job put at the writer's temporary name holds no writer up", async (t) => {
      // A writer may be a command the client waits on (resubmit, a Slurm status's settle), and a job
      // can make a FIFO at every name end-record.tmp.PID may have, which a plain > would wait on.
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      endedJob(q, 'f1', { 'exit-code': '3' });
      const [cmd, ...pre] = q.shell.argv;
      const libs = '. "$TEJ_ROOT/lib/common.sh"; . "$TEJ_ROOT/lib/proc.sh"; . "$TEJ_ROOT/lib/state.sh"; ';
      const script = `${libs}mkfifo "$1/end-record.tmp.$$" && end_record_sync "$1" && echo synced`;
      const r = spawnSync(cmd!, [...pre, '-c', script, 'sh', q.jobDir('f1')], { env: { ...q.env, TEJ_ROOT: q.root }, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.signal, null, 'the writer waited on the FIFO');
      assert.equal(r.stdout, 'synced\n', r.stderr);
      const status = await q.run(['status', 'f1']);
      assert.equal(parseReply(status.stdout.toString()).records[0]?.exit_code, '3');
    });
  });
});
