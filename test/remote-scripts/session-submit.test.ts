// A library session's submit (src/remote/session.ts sessionSubmitScript) under each shell of the matrix,
// traced by strace: the direct plugin starts the job and answers for the reply's state with no subshell.
// Each subshell of a session's call is a fork of the shell that holds the whole helper program; on a
// loaded host the nested ones job_state_into made for the state of the job just started were a quarter
// of a submit's time, and a fork costs as much as running a program.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadBundle } from '../../src/remote/bundle.js';
import { sessionLoadScript, sessionSubmitScript } from '../../src/remote/session.js';
import { ShellSession } from '../../src/transport/shell-session.js';
import { jobTar } from './_job-tar.js';
import { HelperQueue, parseReply, waitFor } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

interface Proc {
  parent?: number;
  execs: number;
}

/** The processes of an `strace -f` trace: who forked whom, and how many programs each ran. */
function processTree(trace: string): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  const get = (pid: number) => {
    let p = procs.get(pid);
    if (!p) procs.set(pid, (p = { execs: 0 }));
    return p;
  };
  for (const line of trace.split('\n')) {
    const pid = Number(/^(\d+)\s/.exec(line)?.[1]);
    if (!pid) continue;
    const forked = /\b(?:clone3?|v?fork)\(.*\)\s+=\s+(\d+)$/.exec(line) ?? /<\.\.\. (?:clone3?|v?fork) resumed>.*\)\s+=\s+(\d+)$/.exec(line);
    if (forked) get(Number(forked[1])).parent = pid;
    if (/\bexecve\(/.test(line) && !/= -1 /.test(line)) get(pid).execs++;
  }
  return procs;
}

describe('a session submit', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('starts the job and takes its reply state with no subshell: every process it forks runs a program', async (t) => {
      const q = await HelperQueue.setUp(shell);
      const trace = join(q.tmp, 'trace');
      const child = spawn('strace', ['-f', '-qq', '-e', 'trace=clone,clone3,fork,vfork,execve,write', '-s', '64', '-o', trace, ...shell.argv], { env: q.env, stdio: ['pipe', 'pipe', 'pipe'] });
      const exited = new Promise((resolve) => child.on('close', resolve));
      const session = new ShellSession(child.stdin, child.stdout, child.stderr, 'test');
      t.after(() => (session.close(), exited));
      assert.equal((await session.load(sessionLoadScript(await loadBundle()))).code, 0);

      await session.runHere('echo submit-begin');
      const upload = await jobTar({ script: 'start.sh', files: { 'start.sh': 'exit 0\n' }, nonce: 'n1' });
      const r = await session.run(sessionSubmitScript(q.root, ['j1', 'n1'], upload));
      assert.equal(r.code, 0, r.stderr);
      const reply = parseReply(r.stdout).records[0] ?? {};
      assert.equal(reply.id, 'j1');
      assert.match(reply.state ?? '', /^(running|finished)$/);
      // the wrapper's start time, which tells it from a process that reuses its pid, is recorded
      assert.match(q.jobFile('j1', 'pid-start'), /^\d+\n$/);
      assert.equal(q.jobFile('j1', 'native-id'), `${reply.native_id}\n`);
      // the job ran, and its wrapper is done with the queue before the trace is read
      await waitFor('the job to end', () => (existsSync(join(q.jobDir('j1'), 'exit-code')) ? true : undefined));
      session.close();
      await exited;

      const lines = readFileSync(trace, 'utf8').split('\n');
      const begin = lines.findIndex((l) => l.includes('submit-begin'));
      assert.ok(begin >= 0, 'the mark is in the trace');
      const procs = processTree(lines.join('\n'));
      const shellPid = Number(/^(\d+)/.exec(lines[begin]!)?.[1]);
      // the call's subshell (the shell's first fork after the mark), then every process below it but the
      // wrapper (setsid) and what it starts
      const forked = processTree(lines.slice(begin).join('\n'));
      // (posh has no printf builtin: the framing's printf are children too, each running printf)
      const call = [...forked.keys()].filter((pid) => forked.get(pid)!.parent === shellPid && forked.get(pid)!.execs === 0);
      assert.equal(call.length, 1, 'one subshell for the call');
      const below = (root: number): number[] => [...procs.keys()].filter((pid) => procs.get(pid)!.parent === root).flatMap((pid) => [pid, ...below(pid)]);
      const submits = below(call[0]!);
      const wrapper = submits.filter((pid) => procs.get(pid)!.execs > 0 && below(pid).length > 0);
      const wrapperTree = new Set(wrapper.flatMap((pid) => [pid, ...below(pid)]));
      const subshells = submits.filter((pid) => !wrapperTree.has(pid) && procs.get(pid)!.execs === 0);
      assert.deepEqual(subshells, [], 'no subshell without a program');
    });
  });
});

// GNU time and env are asked for once per session (lib/usage.sh usage_session_tools), not by each job's
// wrapper: on a loaded host each program a job runs costs some 7 ms of CPU (exec-count.test.ts).
eachShell({ where: (s) => s.name === 'dash' }, (shell) => {
  test('a session asks for the usage tools once, and its jobs are measured with them without asking again', async (t) => {
    const q = await HelperQueue.setUp(shell);
    const trace = join(q.tmp, 'trace');
    const child = spawn('strace', ['-f', '-qq', '-e', 'trace=execve,write', '-s', '64', '-o', trace, ...shell.argv], { env: q.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise((resolve) => child.on('close', resolve));
    const session = new ShellSession(child.stdin, child.stdout, child.stderr, 'test');
    t.after(() => (session.close(), exited));
    assert.equal((await session.load(sessionLoadScript(await loadBundle()))).code, 0);
    await session.runHere('echo submits-begin');
    for (const id of ['u1', 'u2']) {
      const upload = await jobTar({ script: 'start.sh', files: { 'start.sh': 'exit 0\n' }, nonce: 'n1' });
      const r = await session.run(sessionSubmitScript(q.root, [id, 'n1'], upload));
      assert.equal(r.code, 0, r.stderr);
    }
    for (const id of ['u1', 'u2']) await waitFor(`${id} to end`, () => (existsSync(join(q.jobDir(id), 'exit-code')) ? true : undefined));
    session.close();
    await exited;
    const lines = readFileSync(trace, 'utf8').split('\n');
    const begin = lines.findIndex((l) => l.includes('submits-begin'));
    assert.ok(begin >= 0, 'the mark is in the trace');
    const probes = (from: string[]) => from.filter((l) => /execve\("[^"]*\/time", \[[^\]]*"--version"/.test(l)).length;
    assert.ok(probes(lines.slice(0, begin)) >= 1, 'the load asked');
    assert.equal(probes(lines.slice(begin)), 0, 'no job asked');
    // and each job was measured by GNU time all the same
    for (const id of ['u1', 'u2']) assert.match(q.jobFile(id, 'usage'), /^time \d+ /);
  });
});
