// Every login shell, end to end: accounts of one real sshd host whose login shells are dash, bash, zsh,
// tcsh, fish and busybox ash run the core flow, and hostile names and queue paths, with and without a
// persistent connection. tcsh expands `!` inside single quotes and fish reads `\'` in them: tej gives
// the login shell constant commands only (src/transport/remote-command.ts).
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { FRAME, FrameDecoder } from '../../src/persist/frame.js';
import { shQuote } from '../../src/transport/quote.js';
import { makeJob, ok, tej, type TejRun } from '../helpers/cli.js';
import { LOGIN_SHELL_USERS, useSshHost } from '../helpers/lab.js';
import { addLoginShellHosts } from '../helpers/login-shell-hosts.js';

/** Sends one request line to a persistent-connection master and returns its first frame. */
function askMaster(path: string, request: object): Promise<{ type: number; payload: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const decoder = new FrameDecoder();
    sock.on('connect', () => sock.write(`${JSON.stringify(request)}\n`));
    sock.on('data', (chunk: Buffer) => {
      const [frame] = decoder.push(chunk);
      if (frame) {
        sock.destroy();
        resolve(frame);
      }
    });
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('the master closed the socket without an answer')));
  });
}

const SHELLS = Object.entries(LOGIN_SHELL_USERS) as [keyof typeof LOGIN_SHELL_USERS, string][];

/** Names a job writes and a user asks for: every one of them means something to some shell. */
const NAMES = ["it's.txt", "we!rd 'q' $x y.txt", '!!', '`id` ~ #'];

describe('every login shell', { concurrency: true }, () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-shells-' });

  before(() => addLoginShellHosts(sshHost, SHELLS.map(([shell]) => shell)));

  // as bob: alice's queue is the bash shell's, set up by its test at the same time
  it('answers status and wait for 4000 ids (a 180 KB command) in one request', async () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `no-such-job-${String(i).padStart(4, '0')}-${'x'.repeat(24)}`);
    const dir = await makeJob(join(sshHost.jobs, 'many'), { 'start.sh': 'true\n' });
    ids[1234] = ok(await tej(['submit', 'bob@h1', '--id', 'many-real', dir], { home: sshHost.home })).trim();
    assert.equal((await tej(['wait', 'bob@h1', '--id', 'many-real'], { home: sshHost.home })).code, 0);
    const args = ids.flatMap((id) => ['--id', id]);
    const r = await tej(['status', 'bob@h1', ...args, '-v'], { home: sshHost.home, timeoutMs: 120_000 });
    assert.equal(r.code, 66, r.stderr.slice(0, 2000));
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 4000);
    assert.equal(lines.filter((l) => /\tno such job$/.test(l)).length, 3999, lines.slice(0, 3).join('\n'));
    assert.match(lines[1234]!, /^many-real\tfinished/);
    assert.equal(r.stderr.match(/tej-remote status/g)?.length, 1, 'one request');
    const w = await tej(['wait', 'bob@h1', ...args], { home: sshHost.home, timeoutMs: 120_000 });
    assert.equal(w.code, 66, w.stderr.slice(0, 2000));
    assert.doesNotMatch(w.stderr, /Argument list too long/);
  });

  for (const [shell, user] of SHELLS) {
    const host = `h1-${shell}`;
    const run = (args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) => tej(args, { home: sshHost.home, timeoutMs: 90_000, ...opts });
    const pwned = async (tag: string) => (await sshHost.lab.exec('h1', ['sh', '-c', `ls -a /tmp /home/${user}`])).stdout.includes(`pwn-${tag}`) || existsSync(`/tmp/pwn-${tag}`);

    // one after the other: the persistent connection reads the core flow's job
    describe(`a ${shell} login shell (${user})`, { concurrency: false }, () => {
      it('runs the core flow: setup, submit, status, logs -f, wait, download, kill, list, resubmit, delete', async () => {
        const login = await sshHost.lab.exec('h1', ['getent', 'passwd', user]);
        assert.match(login.stdout, shell === 'bash' ? /:\/bin\/bash\n$/ : new RegExp(`${shell === 'dash' ? '/bin/sh' : shell}\\n$`));
        assert.match(ok(await run(['setup', host])), new RegExp(`/home/${user}/\\.tej \\(plugin direct`));
        const dir = await makeJob(join(sshHost.jobs, `core-${shell}`), { 'start.sh': 'echo one\nsleep 1\necho two\necho result > out.txt\n' });
        const id = ok(await run(['submit', host, '--id', `core-${shell}`, dir])).trim();
        assert.equal(id, `core-${shell}`);
        const st = await run(['status', host, '--id', id]);
        assert.ok(st.code === 2 || st.code === 0, `running or finished: ${st.code} ${st.stdout}${st.stderr}`);
        assert.equal(ok(await run(['logs', host, '--id', id, '-f'])), 'one\ntwo\n');
        assert.equal((await run(['wait', host, '--id', id])).code, 0);
        assert.equal(ok(await run(['download', host, '--id', id, 'out.txt:'])), 'result\n');

        const long = await makeJob(join(sshHost.jobs, `long-${shell}`), { 'start.sh': 'sleep 1000\n' });
        const kid = ok(await run(['submit', host, '--id', `long-${shell}`, long])).trim();
        assert.equal(ok(await run(['kill', host, '--id', kid, '--grace', '1'])), `${kid}: killed\n`);
        assert.equal((await run(['status', host, '--id', kid])).code, 5);
        assert.equal((await sshHost.lab.exec('h1', ['pgrep', '-u', user, '-f', 'sleep 1000'])).stdout, '', 'nothing of the job is left');

        const again = ok(await run(['resubmit', host, '--id', id, '--new-id', `${id}.r`])).trim();
        assert.equal(again, `${id}.r`);
        assert.equal((await run(['wait', host, '--id', again])).code, 0);
        assert.equal(ok(await run(['download', host, '--id', again, 'out.txt:'])), 'result\n');
        const listed = ok(await run(['list', host]));
        for (const j of [id, kid, again]) assert.match(listed, new RegExp(`^${j.replace('.', '\\.')}\\s`, 'm'));
        ok(await run(['delete', host, '--id', kid]));
        assert.doesNotMatch(ok(await run(['list', host])), new RegExp(`^${kid}\\s`, 'm'));
      });

      it('a second submit through the content store sends only the changed file, and the job gets every file whole', async () => {
        // The store's question (a hash per file) and the upload's plan are what a --store submit adds
        // to a plain one: the same constant commands, whatever the login shell.
        const files = Object.fromEntries(['a', 'b', 'c'].map((n) => [`data/${n}.bin`, `${n}\n`.repeat(2048)]));
        const dir = await makeJob(join(sshHost.jobs, `store-${shell}`), { 'start.sh': 'cat data/*.bin | wc -c > out.txt\n', ...files });
        const submit = async (id: string) =>
          JSON.parse(ok(await run(['submit', host, '--id', id, '--store', '--json', dir]))) as { uploaded_bytes: number; reused_files: number };
        const first = await submit(`store1-${shell}`);
        assert.equal(first.reused_files, 0);
        await makeJob(dir, { 'data/b.bin': 'changed\n'.repeat(1024) });
        // a dry run waits for the store's copies of what the first submit sent, then says what would travel
        const dry = JSON.parse(ok(await run(['submit', host, '--id', `store2-${shell}`, '--store', '--dry-run', '--json', dir]))) as typeof first;
        assert.equal(dry.reused_files, 2, 'a.bin and c.bin are in the store');
        const second = await submit(`store2-${shell}`);
        assert.deepEqual([second.reused_files, second.uploaded_bytes], [dry.reused_files, dry.uploaded_bytes]);
        // b.bin's new 8 KiB and the tar's framing travel; neither 4 KiB of a.bin nor of c.bin does
        const sizes = `${JSON.stringify({ first, second })}`;
        assert.ok(second.uploaded_bytes >= 8192 && second.uploaded_bytes < 8192 + 4096, sizes);
        assert.equal((await run(['wait', host, '--id', `store2-${shell}`])).code, 0);
        assert.equal(ok(await run(['download', host, '--id', `store2-${shell}`, 'out.txt:'])).trim(), String(2 * 4096 + 8192));
        for (const n of ['a', 'b', 'c']) {
          const got = ok(await run(['download', host, '--id', `store2-${shell}`, `data/${n}.bin:`]));
          assert.equal(got, n === 'b' ? 'changed\n'.repeat(1024) : files[`data/${n}.bin`], `${n}.bin`);
        }
      });

      const downloadsNames = (names: string[], tag: string) => async () => {
        // printf, not echo: dash's echo reads backslashes as escapes.
        const start = names.map((n) => `printf '%s\\n' ${shQuote(`content of ${n}`)} > ${shQuote(n)}\n`).join('');
        const dir = await makeJob(join(sshHost.jobs, `${tag}-${shell}`), { 'start.sh': start });
        const id = ok(await run(['submit', host, '--id', `${tag}-${shell}`, dir])).trim();
        assert.equal((await run(['wait', host, '--id', id])).code, 0);
        for (const n of names) {
          const r = await run(['download', host, '--id', id, `${n}:`]);
          assert.equal(r.code, 0, `${n}: ${r.stderr}`);
          assert.equal(r.stdout, `content of ${n}\n`, n);
        }
        const cwd = await sshHost.lab.makeTmpDir('tej-shells-dl-');
        ok(await run(['download', host, '--id', id, ...names], { cwd }));
        for (const n of names) assert.equal(await readFile(join(cwd, n), 'utf8'), `content of ${n}\n`, n);

        const inject = `a'; touch /tmp/pwn-${shell} #`;
        const r = await run(['download', host, '--id', id, inject], { cwd });
        assert.equal(r.code, 66, `${r.stdout}${r.stderr}`);
        assert.match(r.stderr, /not found|no such/i);
        assert.ok(r.stderr.includes(inject), `the message names the path: ${r.stderr}`);
        assert.equal(await pwned(shell), false, 'the payload ran nowhere');
      };
      it('downloads files whose names are quotes, bangs, dollars and spaces, and runs nothing', downloadsNames(NAMES, 'names'));
      it('downloads a file whose name has a backslash (GNU tar: --no-unquote)', downloadsNames(['a\\b c.txt'], 'bslash'));

      const queueAt = (queue: string) => async () => {
        const q = ['--queue', queue];
        assert.match(ok(await run(['setup', host, ...q])), /plugin direct/);
        const dir = await makeJob(join(sshHost.jobs, `inq-${shell}`), { 'start.sh': 'echo in queue > out.txt\n' });
        const id = ok(await run(['submit', host, ...q, '--id', `inq-${shell}`, dir])).trim();
        assert.equal((await run(['wait', host, ...q, '--id', id])).code, 0);
        assert.equal(ok(await run(['download', host, ...q, '--id', id, 'out.txt:'])), 'in queue\n');
        const there = await sshHost.lab.exec('h1', ['test', '-f', `${queue}/jobs/${id}/work/out.txt`]);
        assert.equal(there.code, 0, `the job is under ${JSON.stringify(queue)}`);
        const made = readdirSync(join(sshHost.lab.dir, 'hosts', 'h1', 'tmp')).filter((f) => f.startsWith(queue.slice('/tmp/'.length, queue.indexOf("'"))));
        assert.deepEqual(made, [queue.slice('/tmp/'.length)], 'and nowhere else');
      };
      it('puts a queue at exactly a path with quotes, a bang, a dollar and spaces', queueAt(`/tmp/q ${shell} it's !x $HOME`));
      it('puts a queue at exactly a path with a backslash (GNU tar: --no-unquote)', queueAt(`/tmp/q\\ ${shell} it's \\n`));

      it('works through a persistent connection: the master relays the same constant commands', async () => {
        const runtime = join(sshHost.home, `run-${shell}`);
        await mkdir(runtime, { recursive: true, mode: 0o700 });
        const env = { XDG_RUNTIME_DIR: runtime };
        try {
          const first: TejRun = await run(['download', host, '--id', `core-${shell}`, 'out.txt:', '--persist', '-v'], { env });
          assert.equal(first.code, 0, first.stderr);
          assert.equal(first.stdout, 'result\n');
          const second = await run(['status', host, '--id', `core-${shell}`, '--persist', '-v'], { env });
          assert.equal(second.code, 0, second.stderr);
          assert.match(second.stderr, /persistent connection \(reused/);
          // anything but tej's constant commands is refused by the master, never relayed to the host
          const [sock] = readdirSync(join(runtime, 'tej')).filter((f) => f.endsWith('.sock'));
          const reply = await askMaster(join(runtime, 'tej', sock!), { op: 'exec', command: `touch /tmp/pwn-${shell}-master` });
          assert.equal(reply.type, FRAME.ERROR);
          assert.match(reply.payload.toString(), /bad request/);
          assert.equal(await pwned(`${shell}-master`), false);
        } finally {
          await run(['disconnect', host], { env });
        }
      });
    });
  }
});
