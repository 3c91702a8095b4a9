// What a library session's shell answers in itself (remote-scripts/lib/session.sh): the same status
// records as the subshell path, a miss for anything it cannot settle with builtins, the shell left as it
// was, and no fork (strace), under each shell of the matrix, through the session's real framing.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadBundle } from '../../src/remote/bundle.js';
import { SESSION_MISS, sessionCallScript, sessionLoadScript, sessionStatusScript } from '../../src/remote/session.js';
import { ShellSession } from '../../src/transport/shell-session.js';
import { HelperQueue, parseReply } from './_queue.js';
import { eachShell, SHELLS, type Shell } from './_shells.js';

/** A job dir as its plugin and wrapper left it. */
function fakeJob(q: HelperQueue, id: string, files: Record<string, string>): void {
  mkdirSync(join(q.jobDir(id), 'meta'), { recursive: true });
  for (const [name, value] of Object.entries({ plugin: 'direct', 'native-id': '42', submitted: '100', ...files })) {
    writeFileSync(join(q.jobDir(id), name), value);
  }
}

/** The session's shell under SHELL, traced by strace (forks and writes) into TRACE; its load done. */
async function loadedShell(q: HelperQueue, shell: Shell, trace: string) {
  const child = spawn('strace', ['-f', '-qq', '-e', 'trace=clone,clone3,fork,vfork,execve,write', '-s', '64', '-o', trace, ...shell.argv], {
    env: q.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.on('close', resolve));
  const session = new ShellSession(child.stdin, child.stdout, child.stderr, 'test');
  const load = await session.load(sessionLoadScript(await loadBundle()));
  assert.equal(load.code, 0, load.stderr);
  return { session, close: () => (session.close(), exited) };
}

describe('the session shell', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('answers settled statuses itself, as the subshell path does, with no fork', async (t) => {
      const q = await HelperQueue.setUp(shell);
      fakeJob(q, 'e1', { start: '101\n', end: '102\n', 'exit-code': '0\n' });
      fakeJob(q, 'e2', { start: '101\n', end: '103\n', 'exit-code': '137\n', killed: '103\n', 'rerun-as': 'e2-again\n' });
      fakeJob(q, 'e3', { start: '\nsecond\n', end: '105', 'exit-code': '124\n', 'timed-out': '104\n', 'native-state': 'TIMEOUT\n' });
      writeFileSync(join(q.jobDir('e3'), 'meta', 'labels'), 'a=1,b=x y\\z\nsecond line\n');
      fakeJob(q, 'running', { start: '101\n' });
      fakeJob(q, 'open', { start: '101\n', end: '102\n', 'exit-code': '0\n', 'native-open': '' }); // Slurm may say more
      const trace = join(q.tmp, 'trace');
      const { session, close } = await loadedShell(q, shell, trace);
      t.after(close);
      const flags = (await session.runHere('echo "$-"')).stdout.toString();

      const settled = ['e1', 'e2', 'nosuch', 'e3'];
      await session.runHere('echo fast-begin');
      const here = await session.runHere(sessionStatusScript(q.root, settled));
      // up to 64 jobs; more are the subshell's, whose one awk reads them all (this shell's read takes a
      // byte at a time, and its appends copy the reply so far: 4000 jobs took 3 s)
      const most = await session.runHere(sessionStatusScript(q.root, Array<string>(64).fill('e1')));
      const misses = await Promise.all([['e1', 'running'], ['open'], ['e1', '../x'], [], Array<string>(65).fill('e1')].map((ids) => session.runHere(sessionStatusScript(q.root, ids))));
      await session.runHere('echo fast-end');

      // the same records as the subshell path and the helper
      assert.equal(here.code, 0, here.stderr);
      const sub = await session.run(sessionCallScript(q.root, 'status', settled));
      assert.equal(sub.code, 0, sub.stderr);
      assert.equal(here.stdout.toString(), sub.stdout.toString());
      assert.equal(here.stdout.toString(), (await q.run(['status', ...settled])).stdout.toString());
      assert.match(here.stdout.toString(), /^id=e2\nstate=killed\n/m);
      assert.match(here.stdout.toString(), /^id=nosuch\nstate=absent\n/m);

      assert.equal(most.code, 0, most.stderr);
      assert.equal(parseReply(most.stdout.toString()).records.length, 64);
      // a job not settled, an id that is not one, no id, 65 jobs: a miss that printed nothing
      for (const m of misses) assert.deepEqual([m.code, m.stdout.toString()], [SESSION_MISS, '']);

      // the shell as the libraries left it: what later calls inherit
      const after = await session.runHere('echo "${TEJ_ROOT-unset}:$prefetched:$record_now:$plugin_answers:$-"');
      assert.equal(after.stdout.toString(), `unset::::${flags}`);
      assert.equal((await session.run(sessionCallScript(q.root, 'status', ['running']))).code, 0);

      // Not one fork between the marks, where a subshell call forks at least once. posh has no printf
      // builtin: there, the only processes are printf's.
      const printfBuiltin = !(await session.run('command -v printf')).stdout.toString().includes('/');
      await close();
      const lines = readFileSync(trace, 'utf8').split('\n');
      const begin = lines.findIndex((l) => l.includes('fast-begin'));
      const end = lines.findIndex((l) => l.includes('fast-end'));
      assert.ok(begin >= 0 && end > begin, 'the marks are in the trace');
      const between = lines.slice(begin, end);
      const forks = between.filter((l) => /\b(clone3?|v?fork)\(/.test(l));
      if (printfBuiltin) assert.deepEqual(forks, []);
      else assert.deepEqual(between.filter((l) => /\bexecve\(/.test(l)).map((l) => /execve\("[^"]*\/([^/"]+)"/.exec(l)?.[1]), forks.map(() => 'printf'));
      assert.ok(lines.slice(end).some((l) => /\b(clone3?|v?fork)\(/.test(l)), 'the subshell calls after the marks fork');
    });

    test("takes an ended job's record from its end-record when it is well-formed, else from the files", async (t) => {
      const q = await HelperQueue.setUp(shell);
      const files = { start: '101\n', end: '102\n', 'exit-code': '0\n' };
      // an end-record that says other than the files: which of the two the record shows tells which was read
      const record = (lines: string[]) => `tej-end-record=1\n${lines.join('\n')}`;
      const cases: [string, string | undefined][] = [
        ['good', record(['plugin=direct', 'native_id=42', 'exit_code=7', 'labels=a=b', 'usage=x y', ''])],
        ['lastline', record(['plugin=direct', 'exit_code=7'])], // no newline after its last line: taken, as awk's getline takes it
        ['header', 'tej-end-record=2\nexit_code=7\n'],
        ['order', record(['exit_code=7', 'plugin=direct', ''])],
        ['twice', record(['exit_code=7', 'exit_code=8', ''])],
        ['unknown', record(['exit_code=7', 'state=running', ''])],
        ['noeq', record(['exit_code=7', 'plugin', ''])],
        ['emptykey', record(['=7', ''])],
        ['dir', undefined],
      ];
      for (const [id, text] of cases) {
        fakeJob(q, id, files);
        if (text === undefined) mkdirSync(join(q.jobDir(id), 'end-record'));
        else writeFileSync(join(q.jobDir(id), 'end-record'), text);
      }
      fakeJob(q, 'task', { ...files, queued: '' });
      writeFileSync(join(q.jobDir('task'), 'end-record'), record(['exit_code=7', '']));
      const { session, close } = await loadedShell(q, shell, join(q.tmp, 'trace'));
      t.after(close);
      const ids = [...cases.map(([id]) => id), 'task'];
      const here = await session.runHere(sessionStatusScript(q.root, ids));
      assert.equal(here.code, 0, here.stderr);
      const records = here.stdout.toString().split(/\n(?=id=)/);
      const exitCodes = Object.fromEntries(records.slice(1).map((r) => [/^id=(.*)$/m.exec(r)?.[1], /^exit_code=(.*)$/m.exec(r)?.[1]]));
      assert.deepEqual(exitCodes, { good: '7', lastline: '7', header: '0', order: '0', twice: '0', unknown: '0', noeq: '0', emptykey: '0', dir: '0', task: '0' });
      assert.match(here.stdout.toString(), /^id=good\nstate=finished\nplugin=direct\nnative_id=42\nexit_code=7\nlabels=a=b\nusage=x y\nid=lastline\n/m);
      // a record from the files is the one the subshell path reads from them (one job a call: no awk)
      for (const r of records.slice(1).filter((x) => /^exit_code=0$/m.test(x))) {
        const id = /^id=(.*)$/m.exec(r)![1]!;
        const sub = await session.run(sessionCallScript(q.root, 'status', [id]));
        assert.equal(sub.code, 0, sub.stderr);
        assert.equal(`${r.replace(/\n?$/, '\n')}`, sub.stdout.toString().replace(/^tej-proto=1\n/, ''), id);
      }
    });
  });
});
