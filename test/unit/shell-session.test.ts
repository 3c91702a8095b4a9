// The persistent shell's framing, driven against a real local dash (the framing is pure logic; the shell
// on the other end is real).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { PIPELINE_DEPTH, ShellSession } from '../../src/transport/shell-session.js';
import { ConnectionError } from '../../src/errors.js';

/** A local shell whose "login files" print banners on both streams before it starts reading requests. */
function startShell(banner = 'Welcome!\nkey=value noise\n') {
  const child = spawn('/usr/bin/dash', ['-c', `printf '%s' "$1"; printf 'stderr banner\\n' >&2; exec /usr/bin/dash`, 'sh', banner], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own process group, so a test can kill the shell and what it runs at once
  });
  const session = new ShellSession(child.stdin, child.stdout, child.stderr, 'test');
  return { child, session };
}

describe('ShellSession', () => {
  test('skips banners and returns stdout, stderr and the exit status of each request', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    const r = await session.run("echo out; echo err >&2; exit 3");
    assert.deepEqual([r.code, r.stdout.toString(), r.stderr], [3, 'out\n', 'err\n']);
    const ok = await session.run('printf "no newline"');
    assert.deepEqual([ok.code, ok.stdout.toString(), ok.stderr], [0, 'no newline', '']);
  });

  test('passes binary output through unchanged, whatever its size', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    // every byte value, then 3 MB: the mark search must work across chunk boundaries
    const r = await session.run(`i=0; while [ $i -lt 256 ]; do printf "\\\\$(printf %o $i)"; i=$((i+1)); done; head -c 3000000 /dev/zero`);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.length, 256 + 3_000_000);
    for (let i = 0; i < 256; i++) assert.equal(r.stdout[i], i);
  });

  test("keeps each reply whole while the next ones arrive into the same buffer (pipelined, many chunks each)", async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    // 600 KB each, of one byte value per request: a reply taken as a view of the inbox's buffer must
    // not be written over by the replies read after it
    const fills = [0x41, 0x42, 0x43, 0x44];
    const results = await Promise.all(fills.map((f) => session.run(`head -c 600000 /dev/zero | tr '\\0' '\\${f.toString(8)}'; printf 'e%s' ${f} >&2`, undefined, { pipelined: true })));
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, 600_000);
      assert.ok(r.stdout.every((b) => b === fills[i]), `reply ${i} holds only ${String.fromCharCode(fills[i]!)}`);
      assert.equal(r.stderr, `e${fills[i]}`);
    }
  });

  test('runs queued requests in order, each in a fresh shell that cannot read the next request', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    const results = await Promise.all([
      session.run('X=1; cd /; cat; echo "$X $(pwd)"'),
      session.run('echo "${X:-unset} $(pwd)"'),
      session.run("printf '%s' \"it's \\$HOME; \\`x\\`\""),
    ]);
    assert.deepEqual(
      results.map((r) => r.stdout.toString()),
      ['1 /\n', `unset ${process.cwd()}\n`, "it's $HOME; `x`"],
    );
  });

  test('tells a request it was written only once it leaves: not before the shell is ready, not while another runs', async () => {
    // A shell that has not printed its ready marks yet: nothing may be written to it.
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const written: string[] = [];
    const session = new ShellSession(stdin, stdout, stderr, 'test');
    const ready = /' ready (\w+)/.exec(String(stdin.read()))![1]; // the ready request, and its token
    const first = session.run('echo one', () => written.push('one'));
    const second = session.run('echo two', () => written.push('two'));
    assert.deepEqual(written, [], 'nothing written before the shell is ready');
    assert.equal(stdin.read(), null);
    stdout.write(`\x1etej-ready-${ready}\n`);
    stderr.write(`\x1etej-ready-${ready}\n`);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(written, ['one'], 'the first request is written once the shell is ready, the second waits');
    assert.match(String(stdin.read()), /echo one/);
    session.fail(new ConnectionError('test over'));
    await assert.rejects(first);
    await assert.rejects(second);
    assert.deepEqual(written, ['one']);
  });

  test('a load defines functions for the later requests, without leaking set -eu or its umask', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    const before = (await session.run('umask')).stdout.toString();
    const loaded = await session.load("greet() {\n\tprintf 'hi %s\\n' \"$1\"\n}\nset -eu\numask 077\ngreeting=yes");
    assert.equal(loaded.code, 0, loaded.stderr);
    const r = await session.run('greet "$greeting"; echo "$-"; umask; echo "${unset_var:-u}"');
    assert.equal(r.stdout.toString(), `hi yes\n${(await session.run('echo "$-"')).stdout}${before}u\n`);
    assert.doesNotMatch(r.stdout.toString().split('\n')[1]!, /[eu]/);
  });

  test('a load that does not parse, or that exits, fails alone and defines nothing; the session goes on', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    for (const script of ['f() { echo f; }\nif then fi (', 'f() { echo f; }\nexit 0', 'f() { echo f; }\nexec true']) {
      const r = await session.load(script);
      assert.notEqual(r.code, 0, script);
      assert.equal((await session.run('command -v f || echo none')).stdout.toString(), 'none\n', script);
    }
    assert.equal((await session.run('echo still here')).stdout.toString(), 'still here\n');
  });

  test('runHere runs in the shell itself, with stdin from /dev/null, its output then $tej_here and its status framed as run, its stderr dropped', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    const r = await session.runHere("kept=\"it's\"; echo \"out $$\"; echo err >&2; read -r line; echo \"read:$line\"; tej_here=here; false");
    const pid = (await session.run('echo "$$"')).stdout.toString().trim();
    assert.deepEqual([r.code, r.stdout.toString(), r.stderr], [1, `out ${pid}\nread:\nhere`, '']);
    // $tej_here is the request's own; what the shell said on stderr reaches no later request
    assert.deepEqual([(await session.runHere('echo "[$tej_here]"')).stdout.toString(), (await session.run('echo ok')).stderr], ['[]\n', '']);
    assert.equal((await session.run('echo "$kept"')).stdout.toString(), "it's\n"); // a subshell would have lost it
    assert.equal((await session.runHere('echo next')).stdout.toString(), 'next\n');
    await assert.rejects(session.runHere('echo a\necho b'), /one-line/);
  });

  test('a request that cannot be parsed fails alone; the session goes on', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    const bad = await session.run('if then fi (');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /syntax|unexpected/i);
    assert.equal((await session.run('echo still here')).stdout.toString(), 'still here\n');
  });

  test('fails waiting requests with a ConnectionError when the shell dies', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    await session.run('true');
    const pending = session.run('sleep 5');
    const queued = session.run('echo never');
    setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 100);
    await assert.rejects(pending, ConnectionError);
    await assert.rejects(queued, ConnectionError);
    await assert.rejects(session.run('true'), ConnectionError);
  });

  test('does not answer before the ready marks, even when a banner imitates a reply', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const session = new ShellSession(stdin, stdout, stderr, 'fake');
    let answered = false;
    const r = session.run('true').then((x) => ((answered = true), x));
    // Let the stream deliver the chunk and every reaction to it run: an event, not a wait of some ms.
    const delivered = new Promise((res) => stdout.once('data', () => setImmediate(res)));
    stdout.write('\x1etej-end-0123:0\n');
    await delivered;
    await new Promise((res) => setImmediate(res));
    assert.equal(answered, false);
    session.fail(new ConnectionError('done'));
    await assert.rejects(r, ConnectionError);
  });

  test('writes pipelined requests while the one before runs, up to PIPELINE_DEPTH; any other request waits for them', async () => {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const written: string[] = [];
    const session = new ShellSession(stdin, stdout, stderr, 'test');
    const token = /' ready (\w+)/.exec(String(stdin.read()))![1];
    stdout.write(`\x1etej-ready-${token}\n`);
    stderr.write(`\x1etej-ready-${token}\n`);
    await new Promise((r) => setImmediate(r));
    const names = Array.from({ length: PIPELINE_DEPTH + 1 }, (_, i) => `p${i}`);
    const piped = names.map((n) => session.run(`echo ${n}`, () => written.push(n), { pipelined: true }));
    const plain = session.run('echo plain', () => written.push('plain'));
    assert.deepEqual(written, names.slice(0, PIPELINE_DEPTH), 'PIPELINE_DEPTH pipelined requests leave at once');
    /** The shell's reply to one request: its stdout, its status, its stderr mark. */
    const reply = async (out: string) => {
      stdout.write(`${out}\x1etej-end-${token}:0\n`);
      stderr.write(`\x1etej-end-${token}:\n`);
      await new Promise((r) => setImmediate(r));
    };
    await reply('p0\n');
    assert.deepEqual(written, names, 'one more leaves as the first ends');
    for (const n of names.slice(1)) await reply(`${n}\n`);
    assert.deepEqual(written, [...names, 'plain'], 'the plain request left only once the shell was idle');
    await reply('plain\n');
    assert.deepEqual((await Promise.all([...piped, plain])).map((r) => r.stdout.toString()), [...names, 'plain'].map((n) => `${n}\n`));
  });

  test('pipelined requests run in order on a real shell, each with its own reply; one that fails fails alone', async (t) => {
    const { child, session } = startShell();
    t.after(() => child.kill());
    const scripts = ['echo a; echo A >&2', 'cat; exit 7', 'printf "%s" "$((1 +))"', 'echo d; exit 2', 'cat; echo e'];
    // the second's cat finds the later requests waiting on the shell's stdin: it must not read them
    const results = await Promise.all(scripts.map((s) => session.run(s, undefined, { pipelined: true })));
    assert.deepEqual(
      results.map((r) => [r.code, r.stdout.toString()]),
      [[0, 'a\n'], [7, ''], [2, ''], [2, 'd\n'], [0, 'e\n']],
    );
    assert.equal(results[0]!.stderr, 'A\n');
    assert.match(results[2]!.stderr, /arithmetic|syntax/i);
  });
  test("gives a master's preloaded shell back when it is as it came, and ends any other", async () => {
    // stdin as a --persist client's channel: release() gives the shell back (src/persist/client.ts)
    const shell = (preloaded?: { loaded: string }) => {
      const stdin = Object.assign(new PassThrough(), { released: 0, release: () => void stdin.released++ });
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const session = new ShellSession(stdin, stdout, stderr, 'test', preloaded);
      const lines: string[] = [];
      stdin.on('data', (c: Buffer) => lines.push(c.toString()));
      /** Answers the request written last, as the shell would, with exit status 0. */
      const answer = () => {
        const token = /tej-%s-%s:%s\\n' end ([0-9a-f]+)/.exec(lines.at(-1)!)![1];
        stdout.write(`\x1etej-end-${token}:0\n`);
        stderr.write(`\x1etej-end-${token}:\n`);
      };
      return { stdin, session, answer };
    };
    // idle, having run requests of its own: given back, its stdin not ended
    const idle = shell({ loaded: 'abc' });
    const r = idle.session.run('true');
    idle.answer();
    assert.equal((await r).code, 0);
    idle.session.close();
    assert.deepEqual([idle.stdin.released, idle.stdin.writableEnded], [1, false]);
    // a request still running (an interrupted command): its reply would reach the next client
    const busy = shell({ loaded: 'abc' });
    const pending = busy.session.run('sleep 9').catch(() => undefined);
    busy.session.close();
    await pending;
    assert.deepEqual([busy.stdin.released, busy.stdin.writableEnded], [0, true]);
    // a load of its own (the master's was another build's): it holds more than the master's load
    const loaded = shell({ loaded: 'abc' });
    const l = loaded.session.load('f() { :; }');
    loaded.answer();
    await l;
    loaded.session.close();
    assert.deepEqual([loaded.stdin.released, loaded.stdin.writableEnded], [0, true]);
    // a shell of its own (not a master's)
    const own = shell();
    own.session.close();
    assert.deepEqual([own.stdin.released, own.stdin.writableEnded], [0, true]);
  });
});
