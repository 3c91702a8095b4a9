// tej shell against a real sshd, driven through a real pseudo-terminal on the client side
// (test/helpers/terminal.ts): the shell runs in the job's work/ with its environment, follows the
// window's size, gets Ctrl-C as a byte, and exits with its own status; tcsh and fish accounts too (the
// helper's script reaches /bin/sh through the terminal, never through the login shell's parser).
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';
import { addLoginShellHosts } from '../helpers/login-shell-hosts.js';
import { tejOnTerminal } from '../helpers/terminal.js';

const SHELLS = ['bash', 'tcsh', 'fish'] as const;
/** A variable that only that shell sets: its version. */
const VERSION_OF = { bash: '$BASH_VERSION', tcsh: '$tcsh', fish: '$FISH_VERSION' } as const;

describe('tej shell', { concurrency: true }, () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-shell-' });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const hostOf = (shell: (typeof SHELLS)[number]) => (shell === 'bash' ? 'h1' : `h1-${shell}`);

  before(() => addLoginShellHosts(sshHost, SHELLS.filter((s) => s !== 'bash')));

  /** Submits a job that runs until a file `stop` appears in its directory; resolves once it runs. */
  const submitRunning = async (host: string, id: string) => {
    const dir = await makeJob(join(sshHost.jobs, id), {
      'start.sh': 'while ! test -f stop; do sleep 0.2; done\n',
      'tej.json': JSON.stringify({ env: { GREETING: "it's !x" } }),
    });
    ok(await run(['submit', host, '--id', id, dir]));
    await waitFor(`${id} running`, () => run(['status', host, '--id', id]), (r) => /\brunning\b/.test(r.stdout), 90_000);
  };

  // What a command prints, told from its echo on the terminal: `E''ND` is typed, `END` printed. A
  // command's first line is matched by what follows it, not by a line start: the shell may redraw the
  // line being typed (bash does on a resize), and its output then follows the echo on the same line.
  for (const shell of SHELLS) {
    it(`opens a ${shell} login shell in the job's directory with its environment, and exits with its status`, async () => {
      const host = hostOf(shell);
      const id = `shell-${shell}`;
      await submitRunning(host, id);
      try {
        const t = tejOnTerminal(['shell', host, '--id', id], { home: sshHost.home });
        t.type(`pwd -P; echo "$TEJ_JOB_ID" "$GREETING"; echo "V=${VERSION_OF[shell]}"; echo E''ND\r`);
        const shown = await t.shows(/\nEND\r*\n/);
        assert.match(shown, new RegExp(`/jobs/${id}/work\\r*\\n${id} it's !x\\r*\\n`), shown);
        assert.match(shown, /\nV=\d+\.\d+\S*\r*\n/, `the account's login shell: ${shown}`);
        t.type('exit 3\r');
        const { code, screen } = await t.done;
        assert.equal(code, 3, screen);
        assert.doesNotMatch(screen, /tej-stream-begins/);
      } finally {
        ok(await run(['exec', host, '--id', id, '--', 'touch', 'stop']));
      }
    });
  }

  it('follows the window size, sends Ctrl-C to the remote side, and leaves nothing running', async () => {
    const id = 'shell-tty';
    await submitRunning('h1', id);
    try {
      const t = tejOnTerminal(['shell', 'h1', '--id', id], { home: sshHost.home, rows: 33, cols: 111 });
      t.type(`stty size; echo S''1\r`);
      assert.match(await t.shows(/\nS1\r*\n/), /33 111\r*\nS1\r*\n/);
      // the remote side waits for the new size itself: no timing window between the resize and the typing
      t.resize(40, 120);
      t.type(`sh -c 'while test "$(stty size)" != "40 120"; do sleep 0.1; done'; stty size; echo S''2\r`);
      assert.match(await t.shows(/\nS2\r*\n/), /40 120\r*\nS2\r*\n/);
      t.type(`sh -c 'echo SLE''EPING; exec sleep 1000'\r`);
      await t.shows(/SLEEPING\r*\n/);
      t.type('\x03');
      t.type(`echo "after $?"; echo A''FTER\r`);
      assert.match(await t.shows(/\nAFTER\r*\n/), /after 130\r*\nAFTER\r*\n/);
      t.type('exit\r');
      assert.equal((await t.done).code, 0);
      const left = await sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', 'sleep 1000']);
      assert.equal(left.stdout, '', 'nothing left on the host');
    } finally {
      ok(await run(['exec', 'h1', '--id', id, '--', 'touch', 'stop']));
    }
  });

  it('ends the remote shell and what it runs when the local terminal is closed, and ignores --persist', async () => {
    const id = 'shell-hangup';
    await submitRunning('h1', id);
    const runtime = join(sshHost.home, 'run-shell');
    await mkdir(runtime, { recursive: true, mode: 0o700 });
    try {
      // through --persist: a master relays no terminal, so the shell has its own connection
      const t = tejOnTerminal(['shell', 'h1', '--id', id, '--persist'], { home: sshHost.home, env: { XDG_RUNTIME_DIR: runtime } });
      t.type(`sh -c 'echo SLE''EPING; exec sleep 2000'\r`);
      await t.shows(/[\r\n]SLEEPING\r*\n/);
      t.hangUp();
      await t.done;
      await waitFor('the shell and its sleep gone', () => sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', 'sleep 2000']), (r) => r.stdout === '', 60_000);
      assert.deepEqual(readdirSync(runtime), [], 'no master was started');
    } finally {
      ok(await run(['exec', 'h1', '--id', id, '--', 'touch', 'stop']));
    }
  });

  it('refuses without a terminal (64, pointing to tej exec) and names an unknown job (66)', async () => {
    ok(await run(['setup', 'h1']));
    const piped = await run(['shell', 'h1', '--id', 'no-such-job']);
    assert.equal(piped.code, 64, piped.stderr);
    assert.match(piped.stderr, /needs a terminal[\s\S]*tej exec/);
    const t = tejOnTerminal(['shell', 'h1', '--id', 'no-such-job'], { home: sshHost.home });
    const { code, screen } = await t.done;
    assert.equal(code, 66, screen);
    assert.match(screen, /no such job: no-such-job/);

    // the helper's own refusal, on the terminal before the marker, is tej's message
    const dir = await makeJob(join(sshHost.jobs, 'shell-gone'), { 'start.sh': 'true\n' });
    ok(await run(['submit', 'h1', '--id', 'shell-gone', dir]));
    assert.equal((await run(['wait', 'h1', '--id', 'shell-gone'])).code, 0);
    assert.equal((await sshHost.lab.exec('h1', ['rm', '-rf', '/home/alice/.tej/jobs/shell-gone/work'])).code, 0);
    const gone = await tejOnTerminal(['shell', 'h1', '--id', 'shell-gone'], { home: sshHost.home }).done;
    assert.equal(gone.code, 66, gone.screen);
    assert.match(gone.screen, /tej: .*directory of job shell-gone is gone/);
  });
});
