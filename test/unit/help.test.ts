// `tej --help` wraps at word boundaries, to the terminal's width (80 when it is not a terminal); yargs reads nothing of the working directory.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { TEJ_BIN } from '../helpers/cli.js';

/** Every word of the command descriptions, as the help prints them when nothing is wrapped. */
function words(text: string): Set<string> {
  return new Set(text.split(/\s+/).filter(Boolean));
}

test('tej --help breaks lines between words, at 80 columns off a terminal and at the terminal\'s width on one', () => {
  const piped = spawnSync(process.execPath, [TEJ_BIN, '--help'], { encoding: 'utf8' });
  assert.equal(piped.status, 0, piped.stderr);
  const lines = piped.stdout.split('\n');
  assert.ok(lines.every((l) => l.length <= 80), lines.find((l) => l.length > 80));
  for (const w of ['helpers', 'stdout),', 'KILL', 'duration']) assert.ok(words(piped.stdout).has(w), `'${w}' is whole in:\n${piped.stdout}`);
  const tty = spawnSync('script', ['-qfec', `stty cols 110; exec ${process.execPath} ${TEJ_BIN} --help`, '/dev/null'], { encoding: 'utf8' });
  assert.equal(tty.status, 0, tty.stderr);
  const ttyLines = tty.stdout.replace(/\r/g, '').split('\n');
  assert.ok(ttyLines.every((l) => l.length <= 110), ttyLines.find((l) => l.length > 110));
  assert.ok(ttyLines.some((l) => l.length > 80), 'uses the terminal\'s width');
  for (const w of ['helpers', 'KILL']) assert.ok(words(tty.stdout).has(w), `'${w}' is whole`);
});

// The CLI gives yargs only the command it runs (src/cli/run.ts commandFilter): a command's help, a
// mistyped command and the top-level help must read as when every command is registered.
test('a command\'s help, a mistyped command and no command at all read the same with one command registered', () => {
  const tej = (...args: string[]) => spawnSync(process.execPath, [TEJ_BIN, ...args], { encoding: 'utf8' });
  const status = tej('status', '--help');
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /^tej status \[destination\.\.\]\n/);
  for (const option of ['--id', '--queue', '--persist', '--json', '--help', '--version']) assert.ok(status.stdout.includes(option), `${option} in:\n${status.stdout}`);
  assert.doesNotMatch(status.stdout, /tej submit/, 'no other command listed');
  const typo = tej('statuz', 'h1');
  assert.equal(typo.status, 64);
  assert.match(typo.stderr, /^tej: Unknown arguments?: statuz/);
  const top = tej('--help');
  for (const name of ['setup', 'submit', 'status', 'download', 'ls', 'kill', 'delete', 'list', 'wait', 'logs', 'exec', 'forward', 'shell', 'show', 'resubmit', 'completion', 'disconnect']) {
    assert.match(top.stdout, new RegExp(`^  tej ${name}\\b`, 'm'), `${name} in the top-level help`);
  }
  const none = tej();
  assert.equal(none.status, 64);
  assert.match(none.stderr, /name a command/);
});

// yargs guesses a version when it is made by listing directories for a package.json and reading the
// first it finds (scripts/bundle.mjs): in a directory anyone can write to, a FIFO of that name hung
// every command there, and SIGTERM could not end it (Node's handler never ran).
test('a FIFO named package.json in the working directory neither hangs a command nor is opened', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tej-cwd-'));
  try {
    assert.equal(spawnSync('mkfifo', [join(dir, 'package.json')]).status, 0);
    const home = join(dir, 'home');
    mkdirSync(home);
    for (const args of [['status', 'local', '--id', 'none'], ['--help']]) {
      const r = spawnSync(process.execPath, [TEJ_BIN, ...args], { cwd: dir, env: { PATH: process.env.PATH, HOME: home }, encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
      assert.equal(r.signal, null, `tej ${args.join(' ')} was still running after 30 s`);
      assert.ok(r.status === 0 || /^tej: /m.test(r.stderr), `tej ${args.join(' ')}: ${r.status} ${r.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
