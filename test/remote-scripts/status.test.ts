// status and list: the records, absent jobs, bad ids, and the state vocabulary as the state files and
// the plugin's queue_state settle it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { HelperQueue, parseReply } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

/** A job dir as a plugin left it: native-id, plugin and the given state files. */
function fakeJob(q: HelperQueue, id: string, files: Record<string, string>): void {
  mkdirSync(join(q.jobDir(id), 'work'), { recursive: true });
  mkdirSync(join(q.jobDir(id), 'meta'), { recursive: true });
  for (const [name, value] of Object.entries({ plugin: 'fake', 'native-id': '42', submitted: '100', ...files })) {
    writeFileSync(join(q.jobDir(id), name), `${value}\n`);
  }
}

/** A directory of links to every command of PATH but awk: the helpers' way without awk. */
function pathWithoutAwk(q: HelperQueue): string {
  const bin = join(q.tmp, 'no-awk');
  mkdirSync(bin);
  for (const dir of (q.env.PATH ?? '').split(delimiter)) {
    if (!dir || !existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (!/awk$/.test(name) && !existsSync(join(bin, name))) symlinkSync(join(dir, name), join(bin, name));
    }
  }
  return bin;
}

/** A directory that runs `date` and `awk` through shims writing their names to LOG, first on PATH. */
function pathCounting(q: HelperQueue, log: string): string {
  const bin = join(q.tmp, 'counting');
  mkdirSync(bin);
  for (const name of ['date', 'awk']) {
    const real = (q.env.PATH ?? '').split(delimiter).map((d) => join(d, name)).find((f) => existsSync(f));
    writeFileSync(join(bin, name), `#!/bin/sh\necho ${name} >>'${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  }
  return `${bin}${delimiter}${q.env.PATH}`;
}

/** Ended jobs whose records test every way a first line is read, a running one between them. */
function endedJobs(q: HelperQueue): string[] {
  const write = (id: string, name: string, content: string) => writeFileSync(join(q.jobDir(id), name), content);
  fakeJob(q, 'e1', { start: '101', end: '102', 'exit-code': '0' });
  fakeJob(q, 'e2', { start: '101', end: '103', 'exit-code': '137', killed: '103', 'rerun-as': 'e2-again' });
  fakeJob(q, 'e3', { start: '101', 'exit-code': '124', 'timed-out': '104', 'native-state': 'TIMEOUT' });
  write('e3', 'end', '105'); // no newline at its end
  write('e3', 'submitted', ''); // empty: no key
  write('e3', 'meta/labels', 'a=1,b=x y\\z\nsecond line\n'); // only the first line
  write('e3', 'start', '\nsecond\n'); // an empty first line: start=
  fakeJob(q, 'running', { start: '101' }); // not ended: asked about one by one
  fakeJob(q, 'e4', { start: '101', 'exit-code': '3' });
  mkdirSync(join(q.jobDir('e4'), 'end')); // a directory where a file should be (a hostile job)
  return ['e1', 'e2', 'running', 'e3', 'nosuch', 'e4'];
}

describe('status and list', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('status reports each job asked for, in order, and state=absent for a missing one', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('b', { command: 'exit 2' });
      await q.waitState('b', ['finished']);
      const reply = await q.ok(['status', 'nosuch', 'b']);
      assert.equal(Object.keys(reply.header).join(' '), 'tej-proto');
      assert.deepEqual(reply.records[0], { id: 'nosuch', state: 'absent' });
      const b = reply.records[1]!;
      assert.deepEqual(Object.keys(b), ['id', 'state', 'plugin', 'native_id', 'submitted', 'start', 'end', 'exit_code', 'usage']);
      assert.equal(b.state, 'finished');
      assert.equal(b.exit_code, '2');
    });

    test('status with a bad id exits 65 and prints no reply, without ids 64', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const r = await q.run(['status', 'ok', 'bad/id']);
      assert.equal(r.code, 65);
      assert.equal(r.stdout.length, 0);
      assert.match(r.stderr, /^tej-remote: invalid job id: 'bad\/id'$/m);
      assert.equal((await q.run(['status'])).code, 64);
    });

    test('list reports every job sorted by id and skips what is not a job', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const empty = await q.ok(['list']);
      assert.deepEqual(empty.records, []);
      for (const id of ['zeta', 'Alpha', 'beta', '0x']) await q.submit(id, { command: 'exit 0' });
      mkdirSync(join(q.root, 'jobs', '.hidden'));
      writeFileSync(join(q.root, 'jobs', 'stray-file'), '');
      const reply = await q.ok(['list']);
      assert.deepEqual(reply.records.map((r) => r.id), ['0x', 'Alpha', 'beta', 'zeta']);
      for (const r of reply.records) assert.ok(['running', 'finished'].includes(r.state!), `${r.id}: ${r.state}`);
      assert.equal((await q.run(['list', 'extra'])).code, 64);
    });

    test('the state files and queue_state give every state of the vocabulary', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // A plugin whose queue_state says what the file `plugin-says` in the job says.
      writeFileSync(
        join(q.root, 'queues', 'fake.sh'),
        'queue_check() { return 0; }\nqueue_state() { cat "$1/plugin-says"; }\n',
      );
      fakeJob(q, 'queued', { 'plugin-says': 'queued' });
      fakeJob(q, 'started', { 'plugin-says': 'queued', start: '101' });
      fakeJob(q, 'running', { 'plugin-says': 'running', start: '101' });
      fakeJob(q, 'finished', { 'plugin-says': 'running', start: '101', end: '102', 'exit-code': '0' });
      fakeJob(q, 'failed', { 'plugin-says': 'lost', start: '101', end: '102', 'exit-code': '3' });
      fakeJob(q, 'killed', { 'plugin-says': 'lost', start: '101', killed: '102', end: '102', 'exit-code': '143' });
      fakeJob(q, 'killhard', { 'plugin-says': 'lost', start: '101', killed: '102', end: '104' });
      fakeJob(q, 'timeout', { 'plugin-says': 'lost', start: '101', 'timed-out': '102', end: '103', 'exit-code': '143' });
      fakeJob(q, 'lost', { 'plugin-says': 'lost', start: '101' });
      fakeJob(q, 'unknown', { 'plugin-says': 'confused', start: '101' });
      fakeJob(q, 'noplugin', { plugin: 'removed', start: '101' });
      const reply = await q.ok(['list']);
      const states = Object.fromEntries(reply.records.map((r) => [r.id, r.state]));
      assert.deepEqual(states, {
        failed: 'finished',
        finished: 'finished',
        killed: 'killed',
        killhard: 'killed',
        lost: 'lost',
        noplugin: 'lost',
        queued: 'queued',
        running: 'running',
        started: 'running',
        timeout: 'timeout',
        unknown: 'lost',
      });
      const killhard = reply.records.find((r) => r.id === 'killhard')!;
      assert.equal(killhard.exit_code, undefined);
      assert.equal(killhard.end, '104');
    });

    test('a status of a few jobs runs neither date nor awk; a running record carries the host\'s now', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'queues', 'fake.sh'), 'queue_check() { return 0; }\nqueue_state() { echo running; }\n');
      const ids = ['e1', 'e2', 'e3'];
      for (const id of ids) fakeJob(q, id, { start: '101', end: '102', 'exit-code': '0' });
      fakeJob(q, 'r1', { start: '101' });
      fakeJob(q, 'r2', { start: '101' });
      const log = join(q.tmp, 'ran');
      const env = { PATH: pathCounting(q, log) };
      const ended = await q.run(['status', ...ids], { env });
      assert.equal(ended.code, 0, ended.stderr);
      assert.equal(existsSync(log) ? readFileSync(log, 'utf8') : '', '', 'commands run for a status of ended jobs');
      assert.deepEqual(parseReply(ended.stdout.toString()).records.map((r) => `${r.id} ${r.state} ${r.now}`), ['e1 finished undefined', 'e2 finished undefined', 'e3 finished undefined']);
      const running = parseReply((await q.run(['status', 'r1', 'e1', 'r2'], { env })).stdout.toString());
      // the clock is read by the shell itself (now_into, lib/common.sh), once for the running jobs of a call
      assert.equal(existsSync(log) ? readFileSync(log, 'utf8') : '', '', 'commands run for a status of running jobs');
      const [r1, e1, r2] = running.records;
      assert.match(r1!.now!, /^\d+$/);
      assert.equal(r2!.now, r1!.now);
      assert.ok(Math.abs(Number(r1!.now) - Date.now() / 1000) < 600, `now=${r1!.now}`);
      assert.equal(e1!.now, undefined);
      // eight and more are read by one awk
      for (let i = 4; i <= 8; i++) fakeJob(q, `e${i}`, { start: '101', end: '102', 'exit-code': '0' });
      const eight = await q.run(['status', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8'], { env });
      assert.equal(parseReply(eight.stdout.toString()).records.length, 8);
      assert.equal(readFileSync(log, 'utf8'), 'awk\n');
    });

    test('status and list of ended jobs give the same bytes with awk and without it', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // more ended jobs than the shell reads itself (8), so that the awk reads them
      for (let i = 0; i < 8; i++) fakeJob(q, `more${i}`, { start: '101', end: '102', 'exit-code': String(i) });
      const ids = [...endedJobs(q), ...Array.from({ length: 8 }, (_, i) => `more${i}`)];
      const noAwk = { PATH: pathWithoutAwk(q) };
      for (const args of [['status', ...ids], ['list']]) {
        const [withAwk, without] = [await q.run(args), await q.run(args, { env: noAwk })];
        assert.equal(withAwk.code, 0, withAwk.stderr);
        assert.equal(without.code, 0, without.stderr);
        const body = (r: { stdout: Buffer }) => r.stdout.toString().replace(/^now=.*\n/m, '');
        assert.equal(body(withAwk), body(without));
      }
      const records = (await q.ok(['status', ...ids])).records;
      assert.deepEqual(records.slice(0, 6).map((r) => `${r.id} ${r.state}`), ['e1 finished', 'e2 killed', 'running lost', 'e3 timeout', 'nosuch absent', 'e4 finished']);
      assert.deepEqual(records[3], { id: 'e3', state: 'timeout', plugin: 'fake', native_id: '42', start: '', end: '105', exit_code: '124', labels: 'a=1,b=x y\\z', native_state: 'TIMEOUT' });
      assert.equal(records[1]!.rerun_as, 'e2-again');
      assert.equal(records[5]!.end, undefined);
    });

    test('a status of 500 jobs and more reads its second half beside the first: the same records, in order', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'queues', 'fake.sh'), 'queue_check() { return 0; }\nqueue_state() { echo running; }\n');
      // In each twenty: a running job (its plugin asked), an absent one, a killed one, then ended ones, every
      // other one with an end-record (read by the awk: eight and more ended jobs in a row).
      const ids = Array.from({ length: 600 }, (_, i) => `j${i}`);
      for (const [i, id] of ids.entries()) {
        if (i % 20 === 0) fakeJob(q, id, { start: '101' });
        else if (i % 20 === 1) continue;
        else if (i % 20 === 2) fakeJob(q, id, { start: '101', end: '103', 'exit-code': '137', killed: '103' });
        else fakeJob(q, id, { start: '101', end: String(1000 + i), 'exit-code': String(i % 256) });
        if (i % 20 > 2 && i % 2 === 1) writeFileSync(join(q.jobDir(id), 'end-record'), `tej-end-record=1\nplugin=fake\nend=${1000 + i}\nexit_code=${i % 256}\n`);
      }
      const records = async (part: string[]) => (await q.ok(['status', ...part])).records.map(({ now: _now, ...r }) => r);
      const whole = await records(ids);
      assert.deepEqual(whole.map((r) => r.id), ids);
      // each half alone is under 500: read as before, in one shell
      assert.deepEqual(whole, [...(await records(ids.slice(0, 300))), ...(await records(ids.slice(300)))]);
      assert.deepEqual(whole.slice(0, 4).map((r) => r.state), ['running', 'absent', 'killed', 'finished']);
      assert.deepEqual(whole[598], { id: 'j598', state: 'finished', plugin: 'fake', native_id: '42', submitted: '100', start: '101', end: '1598', exit_code: String(598 % 256) });
      assert.deepEqual(whole[599], { id: 'j599', state: 'finished', plugin: 'fake', end: '1599', exit_code: String(599 % 256) });
      // list, of the 570 jobs there, in halves too: the same records, sorted by id
      const listed = (await q.ok(['list'])).records.map(({ now: _now, ...r }) => r);
      const byId = (a: { id?: string }, b: { id?: string }) => (a.id! < b.id! ? -1 : 1);
      assert.deepEqual(listed, whole.filter((r) => r.state !== 'absent').sort(byId));

      // Records of the second half that stop short of its last line (the half died): exit 74, not a reply
      // that leaves jobs out. (A cat that drops the last line of what it reads from stdin.)
      const bin = join(q.tmp, 'short-cat');
      mkdirSync(bin);
      writeFileSync(join(bin, 'cat'), `#!/bin/sh\ntest $# -eq 0 || exec /bin/cat "$@"\nexec sed '$d'\n`, { mode: 0o755 });
      const short = await q.run(['status', ...ids], { env: { PATH: `${bin}${delimiter}${q.env.PATH}` } });
      assert.equal(short.code, 74, short.stderr);
      assert.match(short.stderr, /the status of the jobs after j299 could not be read/);
    });

    test('a status of 500 ids and more expands the arrays among them in its halves: every record, tasks in place', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'queues', 'fake.sh'), 'queue_check() { return 0; }\nqueue_state() { echo running; }\n');
      // an array in each half (250 ids each)
      const ids = Array.from({ length: 500 }, (_, i) => (i === 100 ? 'arrA' : i === 400 ? 'arrB' : `j${i}`));
      const ended = (id: string, end: number, code: number) => ({ id, state: 'finished', plugin: 'fake', native_id: '42', submitted: '100', start: '101', end: String(end), exit_code: String(code) });
      const expected = [];
      for (const [i, id] of ids.entries()) {
        if (!id.startsWith('arr')) {
          fakeJob(q, id, { start: '101', end: String(1000 + i), 'exit-code': String(i % 256) });
          expected.push(ended(id, 1000 + i, i % 256));
          continue;
        }
        // an array of three ended tasks, handed to a scheduler (native-ids: no task for status to start)
        mkdirSync(join(q.jobDir(id), 'meta', 'array'), { recursive: true });
        writeFileSync(join(q.jobDir(id), 'meta', 'array', 'tasks'), '0\n1\n2\n');
        writeFileSync(join(q.jobDir(id), 'native-ids'), '7\n');
        for (const n of [0, 1, 2]) {
          fakeJob(q, `${id}/${n}`, { start: '101', end: String(2000 + n), 'exit-code': String(n) });
          expected.push(ended(`${id}/${n}`, 2000 + n, n));
        }
      }
      const whole = (await q.ok(['status', ...ids])).records.map(({ now: _now, ...r }) => r);
      assert.deepEqual(whole, expected);
      // list too: the arrays' tasks, not the arrays
      const listed = (await q.ok(['list'])).records.map((r) => r.id);
      assert.deepEqual([...listed].sort(), expected.map((r) => r.id).sort());
    });

    test('a job still moving in is submitting while its submitter runs, else incomplete', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      mkdirSync(q.jobDir('moving'));
      writeFileSync(join(q.jobDir('moving'), 'submitter'), `${process.pid}\n`);
      mkdirSync(q.jobDir('dead'));
      writeFileSync(join(q.jobDir('dead'), 'submitter'), '999999999\n');
      mkdirSync(q.jobDir('bare'));
      const reply = await q.ok(['status', 'moving', 'dead', 'bare']);
      assert.deepEqual(reply.records, [
        { id: 'moving', state: 'submitting' },
        { id: 'dead', state: 'incomplete' },
        { id: 'bare', state: 'incomplete' },
      ]);
    });
  });
});

test("an array's members are listed in time linear in its tasks, under dash", async (t) => {
  // array_members_into appended each task's id to the whole list (a copy of it, each time): for 20000
  // tasks 3.1 s in dash (13.8 s in bash) of every status, list and wait poll of the array; in parts it
  // takes 0.2 s here. The bound leaves a loaded machine a margin of seven times.
  const q = await HelperQueue.setUp(SHELLS[0]!);
  t.after(() => q.cleanUp());
  const n = 20_000;
  mkdirSync(join(q.jobDir('big'), 'meta', 'array'), { recursive: true });
  writeFileSync(join(q.jobDir('big'), 'meta', 'array', 'tasks'), Array.from({ length: n }, (_, i) => `${i}\n`).join(''));
  for (let i = 0; i < n; i++) if (i !== 7) mkdirSync(join(q.jobDir('big'), String(i)));
  const [cmd, ...pre] = q.shell.argv;
  const libs = ['common', 'proc', 'state', 'array'].map((l) => `. "$TEJ_ROOT/lib/${l}.sh"`).join('; ');
  const started = performance.now();
  const r = spawnSync(cmd!, [...pre, '-c', `${libs}; array_members_into big; printf '%s' "$array_members"`], { env: { ...q.env, TEJ_ROOT: q.root }, encoding: 'utf8', maxBuffer: 1 << 24 });
  const ms = performance.now() - started;
  assert.equal(r.status, 0, r.stderr);
  const expected = Array.from({ length: n }, (_, i) => i).filter((i) => i !== 7).map((i) => ` big/${i}`).join('');
  assert.ok(r.stdout === expected, 'every task but the deleted one, in order');
  assert.ok(ms < 1500, `array_members_into took ${Math.round(ms)} ms for ${n} tasks`);
});

test('status of 1200 ended jobs gives every record, in order, under dash', async (t) => {
  const q = await HelperQueue.setUp(SHELLS[0]!);
  t.after(() => q.cleanUp());
  const ids = Array.from({ length: 1200 }, (_, i) => `j${i}`);
  for (const [i, id] of ids.entries()) fakeJob(q, id, { 'exit-code': String(i % 256), end: String(1000 + i) });
  const records = (await q.ok(['status', ...ids])).records;
  assert.equal(records.length, ids.length);
  for (const [i, r] of records.entries()) assert.deepEqual(r, { id: `j${i}`, state: 'finished', plugin: 'fake', native_id: '42', submitted: '100', end: String(1000 + i), exit_code: String(i % 256) });
});
