// Library sessions, end to end: from its second call on, a session runs status, list, show, kill,
// delete and where from the helpers the client loaded into its shell (src/remote/session.ts), never from the
// queue's files. Replies as the dispatcher's; modified helpers never run; an open queue still refused.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { connect, TejError, type TejEvent } from '../../src/index.js';
import { makeJob, waitFor } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

const HELPERS = join(import.meta.dirname, '..', '..', 'remote-scripts');

describe('library session', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-session-' });
  const events: TejEvent[] = [];
  const onEvent = (e: TejEvent) => events.push(e);
  const alice = async (cmd: string) => {
    const r = await sshHost.lab.execAs('h1', 'alice', cmd);
    assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
    return r.stdout;
  };
  /** The dispatcher's own reply on the host (the path every call took before sessions), without now=. */
  const dispatcher = async (args: string) => (await alice(`sh ~/.tej/tej-remote --proto 1 ${args}`)).replace(/^now=.*\n/m, '');

  /** Nothing a job wrote into the helpers ran (its code touches ~/pwned-*), and nothing noticed it or reinstalled. */
  const noneRan = async () => {
    assert.equal(await alice('ls ~ | grep pwned || true'), '');
    assert.deepEqual(events.filter((e) => e.kind === 'warning' || e.kind === 'setup'), []);
  };
  /** The invocation found the helpers modified and put them back. */
  const reinstalled = () => assert.ok(events.some((e) => e.kind === 'warning' && /modified after they were installed; reinstalling/.test(e.message)), JSON.stringify(events));

  before(async () => {
    process.env.HOME = sshHost.home; // connect() reads ~/.ssh/config from here
  });

  it('answers status, list, show, kill, delete and where as the dispatcher does', async () => {
    const q = await connect('h1', { onEvent });
    try {
      const dir = await makeJob(join(sshHost.jobs, 'fmt'), { 'start.sh': 'echo out\n' });
      await q.submit(dir, { id: 'fmt1' });
      await waitFor('fmt1', () => q.status('fmt1'), (s) => s?.state === 'finished');
      for (const args of [['status', 'fmt1'], ['list'], ['show', 'fmt1'], ['show', '--brief', 'fmt1', 'nosuch'], ['status', 'nosuch', 'fmt1'], ['where', 'fmt1']]) {
        const { result } = await q.call(args[0]!, args.slice(1));
        assert.equal(result.stdout.toString().replace(/^now=.*\n/m, ''), await dispatcher(args.join(' ')), args.join(' '));
      }
      await assert.rejects(q.status('bad..id'), (e: TejError) => e.exitCode === 65);
      await assert.rejects(q.kill('nosuch'), (e: TejError) => e.exitCode === 66 && /no such job: nosuch/.test(e.message));

      const gate = await makeJob(join(sshHost.jobs, 'gate'), { 'start.sh': 'while ! test -f gate; do sleep 1; done\n' });
      await q.submit(gate, { id: 'gate1' });
      await waitFor('gate1 running', () => q.status('gate1'), (s) => s?.state === 'running');
      await assert.rejects(q.delete('gate1'), (e: TejError) => e.exitCode === 75 && /is running/.test(e.message));
      assert.equal((await q.call('where', ['gate1'])).result.stdout.toString(), await dispatcher('where gate1'));
      await assert.rejects(q.call('where', ['nosuch']), (e: TejError) => e.exitCode === 66);
      const killed = await q.kill('gate1', { grace: 1 });
      assert.equal(killed.previousState, 'running');
      assert.equal((await q.status('gate1'))?.state, 'killed');
      await q.delete('gate1');
      assert.equal(await q.status('gate1'), undefined);
    } finally {
      await q.close();
    }
  });

  it('never runs a helper a job rewrote between two calls, and the next invocation reinstalls it', async () => {
    const q = await connect('h1', { onEvent });
    try {
      await q.list(); // the first call of the session; the next ones run from its loaded helpers
      await q.list();
      // The job rewrites the two commands the next calls run (its own wrapper sources neither); after it,
      // the libraries every command sources, as the same user could.
      const dir = await makeJob(join(sshHost.jobs, 'rewrite'), {
        'start.sh': 'for c in status show; do printf \'touch "$HOME/pwned-%s"\\n\' "$c" >>"$HOME/.tej/commands/$c.sh"; done\n',
      });
      await q.submit(dir, { id: 'rewrite1' });
      await waitFor('rewrite1', () => q.status('rewrite1'), (s) => s?.state === 'finished');
      await alice('for f in common job; do printf \'touch "$HOME/pwned-%s"\\n\' "$f" >>"$HOME/.tej/lib/$f.sh"; done');
      events.length = 0;

      assert.equal((await q.status('rewrite1'))?.state, 'finished');
      assert.equal((await q.show(['rewrite1'])).get('rewrite1')?.state, 'finished');
      assert.equal((await q.list()).length > 0, true);
      assert.equal(await alice('ls ~ | grep pwned || true'), '');
      // served from memory: nothing noticed the change, nothing reinstalled (the invocation would have)
      assert.match(await alice('tail -n 1 ~/.tej/commands/status.sh ~/.tej/lib/common.sh'), /pwned-status[^]*pwned-common/);
      assert.deepEqual(events.filter((e) => e.kind === 'warning' || e.kind === 'setup'), []);

      // a small job's submit runs from memory too: the modified files neither run nor are noticed
      const again = await makeJob(join(sshHost.jobs, 'again'), { 'start.sh': 'true\n' });
      await q.submit(again, { id: 'again1' });
      await waitFor('again1', () => q.status('again1'), (s) => s?.state === 'finished');
      await noneRan();
    } finally {
      await q.close();
    }
    // the next session's first call takes the invocation, which checks the files and puts them back
    const next = await connect('h1', { onEvent });
    try {
      assert.equal((await next.status('again1'))?.state, 'finished');
      reinstalled();
      for (const f of ['commands/status.sh', 'commands/show.sh', 'lib/common.sh', 'lib/state.sh']) {
        assert.equal(await alice(`cat ~/.tej/${f}`), await readFile(join(HELPERS, f), 'utf8'), f);
      }
      assert.equal(await alice('ls ~ | grep pwned || true'), '');
    } finally {
      await next.close();
    }
  });

  it('never runs a program.sh or run-job.sh rewritten mid-session: not in its calls, its new shells, nor its jobs', async () => {
    const q = await connect('h1', { onEvent });
    try {
      await q.setup();
      await q.list(); // the invocation, which checks program.sh
      await q.list(); // the helpers loaded into the session's shell
      // as a job could: code appended to the program every invocation reads, and to the wrapper's file
      await alice('printf \'touch "$HOME/pwned-program"\\n\' >>~/.tej/program.sh; printf \'touch "$HOME/pwned-run-job"\\n\' >>~/.tej/lib/run-job.sh');
      events.length = 0;
      // submits side by side: the pool's extra shells are opened and loaded after the change
      const dir = await makeJob(join(sshHost.jobs, 'midsession'), { 'start.sh': 'true\n' });
      const ids = Array.from({ length: 6 }, (_, i) => `mid${i}`);
      await Promise.all(ids.map((id) => q.submit(dir, { id })));
      for (const id of ids) await waitFor(id, () => q.status(id), (st) => st?.state === 'finished');
      assert.equal((await q.list()).filter((j) => j.id.startsWith('mid')).length, ids.length);
      await noneRan();
    } finally {
      await q.close();
    }
    // the next session's first call reads program.sh, finds it modified and puts the helpers back
    const next = await connect('h1', { onEvent });
    try {
      await next.list();
      reinstalled();
      assert.doesNotMatch(await alice('cat ~/.tej/program.sh ~/.tej/lib/run-job.sh'), /pwned/);
      assert.equal(await alice('ls ~ | grep pwned || true'), '');
    } finally {
      await next.close();
    }
  });

  it('sends a small job inside the request on its shell: every byte arrives, and a taken id is refused', async () => {
    const q = await connect('h1', { onEvent });
    try {
      const data = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
      const odd = "0 1%'.txt"; // digits after escapes, a quote, a percent sign
      const dir = await makeJob(join(sshHost.jobs, 'inline'), { 'start.sh': `sha256sum data.bin "0 1%'.txt" > sums.txt\n`, [odd]: '00\n\0 7\n' });
      await writeFile(join(dir, 'data.bin'), data);
      let channels = 0;
      const run = q.transport.run.bind(q.transport);
      q.transport.run = (script, options) => {
        if (options?.stdin) channels++;
        return run(script, options);
      };
      await q.submit(dir, { id: 'inline1' });
      assert.equal(channels, 0, 'no channel of its own');
      await waitFor('inline1', () => q.status('inline1'), (s) => s?.state === 'finished');
      const local = await alice(`cd ~/.tej/jobs/inline1/work && cat sums.txt`);
      const expected = [['data.bin', data], [odd, '00\n\0 7\n']].map(([f, c]) => `${createHash('sha256').update(c!).digest('hex')}  ${f}\n`).join('');
      assert.equal(local, expected);
      await assert.rejects(q.submit(dir, { id: 'inline1' }), (e: TejError) => e.exitCode === 73);
    } finally {
      await q.close();
    }
  });

  it('runs the submits of small jobs from memory in shells side by side, and their jobs outlive the session', async () => {
    const q = await connect('h1', { onEvent });
    let channels = 0;
    let extra = 0;
    try {
      await q.setup();
      await q.list(); // the first call of the session takes the invocation; the submits run from memory
      const run = q.transport.run.bind(q.transport);
      q.transport.run = (script, options) => {
        if (options?.stdin) channels++;
        return run(script, options);
      };
      const open = q.transport.extraSession!.bind(q.transport);
      q.transport.extraSession = () => {
        extra++;
        return open();
      };
      const dir = await makeJob(join(sshHost.jobs, 'pool'), { 'start.sh': 'while ! test -f "$HOME/pool-gate"; do sleep 1; done\necho "$TEJ_JOB_ID" > out\n' });
      const ids = Array.from({ length: 8 }, (_, i) => `pool${i}`);
      const results = await Promise.all(ids.map((id) => q.submit(dir, { id })));
      assert.deepEqual(results.map((r) => [r.id, r.state]), ids.map((id) => [id, 'running']));
      assert.equal(channels, 0, 'no channel of its own for any submit');
      assert.ok(extra >= 1, 'more shells were opened for the submits waiting');
      // each job moved in whole, staging left empty
      assert.equal(await alice('ls -A ~/.tej/staging'), '');
    } finally {
      await q.close();
    }
    // the wrappers were started in sessions of their own: the connection and its shells are gone
    await alice('touch ~/pool-gate');
    const again = await connect('h1', { onEvent });
    try {
      for (let i = 0; i < 8; i++) await waitFor(`pool${i}`, () => again.status(`pool${i}`), (st) => st?.state === 'finished');
      assert.equal(await alice('cat ~/.tej/jobs/pool*/work/out | sort | tr "\\n" " "'), 'pool0 pool1 pool2 pool3 pool4 pool5 pool6 pool7 ');
    } finally {
      await again.close();
      await alice('rm -f ~/pool-gate');
    }
  });

  it('refuses a queue opened to other users, from its first call and its later ones', async () => {
    await alice('chmod 755 ~/.tej');
    const q = await connect('h1', { onEvent });
    try {
      for (let i = 0; i < 3; i++) {
        await assert.rejects(q.status('fmt1'), (e: TejError) => e.exitCode === 77 && /open to other users \(mode drwxr-xr-x\)/.test(e.message));
      }
    } finally {
      await q.close();
      await alice('chmod 700 ~/.tej');
    }
  });
});
