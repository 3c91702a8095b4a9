// tej exec against a real sshd: one command where a job runs, in its work/ with its environment; its
// stdout, stderr (byte for byte, binary included), stdin and exit status pass through, and its arguments
// arrive literally whatever the account's login shell (tcsh expands `!` in single quotes, fish reads
// `\'` in them: the arguments travel on stdin inside the script, never on sshd's command line).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeJob, ok, startTej, TEJ_BIN, tej, waitFor } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';
import { addLoginShellHosts } from '../helpers/login-shell-hosts.js';

interface RawRun {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** The CLI with raw bytes in and out (tej() of helpers/cli.ts decodes them as text). */
function tejRaw(args: string[], o: { home: string; input?: Buffer | string; env?: Record<string, string> }): Promise<RawRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TEJ_BIN, ...args], {
      cwd: o.home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: o.home, LC_ALL: 'C', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined); // a command that does not read its stdin
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

/** Every byte value, many times over: binary data larger than one SSH packet. */
const BINARY = Buffer.from(Array.from({ length: 256 * 1024 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));

/** Arguments that mean something to some shell: each must arrive as itself. */
const LITERAL = ['a b', '', "it's", '"dq"', '$HOME', '`id`', '$(id)', '*', '!', '!!', 'x\ny', '-n', '--', '\\', '~', '#c', '010', '1e3', '0x1', '1.50', '-1', 'é'];

// bash is alice's (h1), the others accounts of the same host with that login shell
const SHELLS = ['bash', 'dash', 'tcsh', 'fish'] as const;

describe('tej exec', { concurrency: true }, () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-exec-' });
  const run = (args: string[], env?: Record<string, string>) => tej(args, { home: sshHost.home, timeoutMs: 120_000, env });
  const hostOf = (shell: (typeof SHELLS)[number]) => (shell === 'bash' ? 'h1' : `h1-${shell}`);

  before(() => addLoginShellHosts(sshHost, SHELLS.filter((s) => s !== 'bash')));

  /** Submits a job that runs until a file `stop` appears in its directory; resolves once it runs. */
  const submitRunning = async (host: string, id: string, env: Record<string, string> = {}) => {
    const dir = await makeJob(join(sshHost.jobs, id), {
      'start.sh': 'echo started\nwhile ! test -f stop; do sleep 0.2; done\n',
      'tej.json': JSON.stringify({ env }),
    });
    ok(await run(['submit', host, '--id', id, dir]));
    await waitFor(`${id} running`, () => run(['status', host, '--id', id]), (r) => /\brunning\b/.test(r.stdout), 90_000);
  };

  for (const shell of SHELLS) {
    it(`passes arguments, stdout, stderr, stdin and the exit status through under a ${shell} login shell`, async () => {
      const host = hostOf(shell);
      const id = `exec-${shell}`;
      const greeting = `it's $HOME !x \`id\``;
      await submitRunning(host, id, { GREETING: greeting });
      try {
        // literal arguments
        const lit = await tejRaw(['exec', host, '--id', id, '--', 'printf', '<%s>\\n', ...LITERAL], { home: sshHost.home });
        assert.equal(lit.code, 0, lit.stderr.toString());
        assert.equal(lit.stdout.toString(), LITERAL.map((a) => `<${a}>\n`).join(''));
        assert.equal(lit.stderr.length, 0, lit.stderr.toString());

        // the job's directory and environment
        const where = await tejRaw(['exec', host, '--id', id, '--', 'sh', '-c', 'pwd -P; printf "%s|%s|%s\\n" "$TEJ_JOB_ID" "$GREETING" "$TEJ_JOB_DIR"; cat tej.stdout'], { home: sshHost.home });
        assert.equal(where.code, 0, where.stderr.toString());
        const [cwd, vars, started] = where.stdout.toString().split('\n');
        assert.match(cwd!, new RegExp(`/jobs/${id}/work$`));
        assert.equal(vars, `${id}|${greeting}|${cwd}`);
        assert.equal(started, 'started');

        // exit statuses: its own, and a shell's 128+N for a signal
        for (const [script, code] of [['exit 0', 0], ['exit 3', 3], ['kill -TERM $$', 143]] as const) {
          const r = await tejRaw(['exec', host, '--id', id, '--', 'sh', '-c', script], { home: sshHost.home });
          assert.equal(r.code, code, `${script}: ${r.stderr.toString()}`);
        }

        // binary stdin to stdout, and to stderr alone: byte for byte, each on its own stream
        const cat = await tejRaw(['exec', host, '--id', id, '--', 'cat'], { home: sshHost.home, input: BINARY });
        assert.equal(cat.code, 0, cat.stderr.toString());
        assert.ok(cat.stdout.equals(BINARY), `stdout: ${cat.stdout.length} bytes, not the ${BINARY.length} sent`);
        assert.equal(cat.stderr.length, 0);
        const toErr = await tejRaw(['exec', host, '--id', id, '--', 'sh', '-c', 'printf out; cat >&2; exit 5'], { home: sshHost.home, input: BINARY });
        assert.equal(toErr.code, 5);
        assert.equal(toErr.stdout.toString(), 'out');
        assert.ok(toErr.stderr.equals(BINARY), `stderr: ${toErr.stderr.length} bytes, not the ${BINARY.length} sent`);
      } finally {
        ok(await run(['exec', host, '--id', id, '--', 'touch', 'stop']));
      }
      // an ended job: its directory is still there
      await waitFor(`${id} finished`, () => run(['status', host, '--id', id]), (r) => r.code === 0, 90_000);
      const after = await run(['exec', host, '--id', id, '--', 'sh', '-c', 'ls stop; echo "$TEJ_JOB_ID"']);
      assert.equal(after.code, 0, after.stderr);
      assert.equal(after.stdout, `stop\n${id}\n`);
    });
  }

  it('says what is wrong: an unknown job (66), no command (64), a directory deleted (66)', async () => {
    ok(await run(['setup', 'h1']));
    const unknown = await run(['exec', 'h1', '--id', 'no-such-job', '--', 'true']);
    assert.equal(unknown.code, 66, unknown.stderr);
    assert.match(unknown.stderr, /no such job: no-such-job/);
    const none = await run(['exec', 'h1', '--id', 'no-such-job']);
    assert.equal(none.code, 64, none.stderr);
    assert.match(none.stderr, /needs a command/);
    assert.doesNotMatch(unknown.stderr + none.stderr, /\n\s+at /, 'no stack trace');

    await submitRunning('h1', 'exec-gone');
    ok(await run(['exec', 'h1', '--id', 'exec-gone', '--', 'touch', 'stop']));
    await waitFor('exec-gone finished', () => run(['status', 'h1', '--id', 'exec-gone']), (r) => r.code === 0, 90_000);
    const q = (await sshHost.lab.exec('h1', ['sh', '-c', 'cd ~alice/.tej/jobs/exec-gone && rm -rf work && echo ok'])).stdout;
    assert.equal(q.trim(), 'ok');
    const gone = await run(['exec', 'h1', '--id', 'exec-gone', '--', 'true']);
    assert.equal(gone.code, 66, gone.stderr);
    assert.match(gone.stderr, /directory of job exec-gone is gone/);
  });

  it('is not held up or steered by what the job planted: a FIFO and a symbolic link in meta/env, a bad name', async () => {
    const id = 'exec-hostile';
    await submitRunning('h1', id, { KEPT: 'kept' });
    try {
      const plant = await run(['exec', 'h1', '--id', id, '--', 'sh', '-c',
        'mkfifo ../meta/env/FIFO && echo secret >../secret && ln -s ../../secret ../meta/env/LINKED && echo x >../meta/env/bad-name && echo planted']);
      assert.equal(plant.stdout, 'planted\n', plant.stderr);
      const r = await run(['exec', 'h1', '--id', id, '--', 'sh', '-c', 'echo "${KEPT-unset}|${FIFO-unset}|${LINKED-unset}"']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'kept|unset|unset\n');
    } finally {
      ok(await run(['exec', 'h1', '--id', id, '--', 'touch', 'stop']));
    }
  });

  // A command without a terminal gets no hang-up: the helper's watcher ends it once the client has gone,
  // whether the client ended itself (Ctrl-C) or died (SIGKILL: its connection just drops).
  for (const signal of ['SIGINT', 'SIGKILL'] as const) {
    it(`ends a quiet command and its children when the client goes (${signal})`, async () => {
      const id = `exec-hangup-${signal.toLowerCase()}`;
      const tag = `quiet-${signal.toLowerCase()}`; // not in the job id: the wrapper's command line holds that
      await submitRunning('h1', id);
      const alive = async () => (await sshHost.lab.exec('h1', ['sh', '-c', `pgrep -a -u alice -f '[${tag[0]}]${tag.slice(1)}' || true`])).stdout.trim();
      try {
        // sh (named by the tag) waits on a child sh (tagged too) that waits on a sleep: all must end
        const script = 'echo up >&2; sh -c "sleep 1000; :" "$0-child"';
        const cli = startTej(['exec', 'h1', '--id', id, '--', 'sh', '-c', script, tag], { home: sshHost.home });
        await cli.stderrMatches(/^up$/m);
        await waitFor(`${tag} and its child running`, alive, (pids) => pids.split('\n').length === 2, 90_000);
        cli.child.kill(signal);
        await cli.done;
        await waitFor(`${tag} ended on the host`, alive, (pids) => pids === '', 90_000);
        // the job itself runs on
        const st = await run(['status', 'h1', '--id', id]);
        assert.match(st.stdout, /\brunning\b/, st.stderr);
      } finally {
        ok(await run(['exec', 'h1', '--id', id, '--', 'touch', 'stop']));
      }
    });
  }

  it('runs through a persistent connection, stdin included', async () => {
    const runtime = join(sshHost.home, 'run-exec');
    await mkdir(runtime, { recursive: true, mode: 0o700 });
    const env = { XDG_RUNTIME_DIR: runtime };
    const id = 'exec-persist';
    await submitRunning('h1', id);
    try {
      const first = await tejRaw(['exec', 'h1', '--id', id, '--persist', '--', 'sh', '-c', 'cat; exit 4'], { home: sshHost.home, env, input: 'through the master\n' });
      assert.equal(first.code, 4, first.stderr.toString());
      assert.equal(first.stdout.toString(), 'through the master\n');
      const second = await tejRaw(['exec', 'h1', '--id', id, '--persist', '-v', '--', 'printf', '%s', "it's !"], { home: sshHost.home, env });
      assert.equal(second.code, 0, second.stderr.toString());
      assert.equal(second.stdout.toString(), "it's !");
      assert.match(second.stderr.toString(), /persistent connection \(reused/);
    } finally {
      await run(['exec', 'h1', '--id', id, '--', 'touch', 'stop']);
      await run(['disconnect', 'h1'], env);
    }
  });
});
