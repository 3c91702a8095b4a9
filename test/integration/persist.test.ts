// Persistent connections (--persist): a background master keeps the SSH connection between commands.
// Everything here runs the built CLI against the lab's real sshd; each test has its own client HOME and
// XDG_RUNTIME_DIR (so its own masters), and cleanup ends every master a test started.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import { CHANNEL_SHELL, makeJob, ok, startTej, tej, TEJ_BIN, type TejRun, waitFor } from '../helpers/cli.js';
import { makeClientHome, useSshHost } from '../helpers/lab.js';

/** Pids of the masters whose command line names `dir` (their socket is under it). */
function mastersUnder(dir: string): number[] {
  const found = new Map<number, number>(); // pid -> parent pid
  for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      if (cmd.includes('__persist-master') && cmd.includes(dir) && stat[0] !== 'Z') found.set(Number(p), Number(stat[1]));
    } catch {
      // gone meanwhile
    }
  }
  // A worker the master is starting has the master's command line between its fork and its exec: a
  // child of a master is not one (a master is started detached by a CLI, never by a master)
  return [...found].filter(([, ppid]) => !found.has(ppid)).map(([pid]) => pid);
}

function sockets(runtime: string): string[] {
  const dir = join(runtime, 'tej');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.sock')) : [];
}

interface Client {
  home: string;
  runtime: string;
  run(args: string[], env?: Record<string, string>): Promise<TejRun>;
}

describe('persistent connections', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-persist-jobs-' });
  const clients: Client[] = [];
  const sshdLog = () => readFile(join(sshHost.lab.dir, 'hosts', 'h1', 'log', 'sshd.log'), 'utf8');
  const accepted = async () => (await sshdLog()).split('\n').filter((l) => /Accepted publickey for alice/.test(l)).length;

  async function client(): Promise<Client> {
    const home = await makeClientHome(sshHost.lab);
    const runtime = join(home, 'run');
    await mkdir(runtime, { mode: 0o700 });
    const c: Client = { home, runtime, run: (args, env = {}) => tej(args, { home, env: { XDG_RUNTIME_DIR: runtime, ...env } }) };
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    // Masters must not outlive their test: disconnect, then make sure by pid.
    for (const c of clients.splice(0)) {
      await c.run(['disconnect', 'h1']);
      for (const pid of mastersUnder(c.runtime)) process.kill(pid, 'SIGKILL');
    }
  });

  it('runs a second command over the first one\'s connection, without logging in again', async () => {
    const c = await client();
    const before = await accepted();
    ok(await c.run(['setup', 'h1', '--persist', '1m']));
    assert.equal(await accepted(), before + 1, 'the first command logs in');
    assert.equal(mastersUnder(c.runtime).length, 1, 'a master runs after the command has exited');
    // Without its key the client could not log in again: the second command must reuse the master.
    await rm(join(c.home, '.ssh', 'id_ed25519'));
    const listed = await c.run(['list', 'h1', '--persist=1m']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(await accepted(), before + 1, 'no new login for the second command');
    // The proof holds: without a master the same command cannot log in.
    ok(await c.run(['disconnect', 'h1']));
    const direct = await c.run(['list', 'h1']);
    assert.equal(direct.code, 77, direct.stderr);
  });

  it('takes TEJ_PERSIST and the config file, and is off by default', async () => {
    const c = await client();
    ok(await c.run(['list', 'h1']));
    assert.equal(mastersUnder(c.runtime).length, 0, 'no master without --persist');
    ok(await c.run(['list', 'h1'], { TEJ_PERSIST: '1m' }));
    assert.equal(mastersUnder(c.runtime).length, 1, 'TEJ_PERSIST starts one');
    ok(await c.run(['disconnect', 'h1']));
    await mkdir(join(c.home, '.config', 'tej'), { recursive: true });
    await writeFile(join(c.home, '.config', 'tej', 'config.json'), JSON.stringify({ hosts: { h1: { persist: '1m' } } }));
    ok(await c.run(['list', 'h1']));
    assert.equal(mastersUnder(c.runtime).length, 1, 'the config file starts one');
    ok(await c.run(['disconnect', 'h1']));
    ok(await c.run(['list', 'h1', '--persist', 'off']));
    assert.equal(mastersUnder(c.runtime).length, 0, '--persist off wins over the config file');
    const bad = await c.run(['list', 'h1'], { TEJ_PERSIST: 'soon' });
    assert.equal(bad.code, 64, bad.stderr);
    assert.match(bad.stderr, /bad TEJ_PERSIST 'soon'/);
  });

  it('keeps its socket in a 0700 directory and refuses a directory open to others (77)', async () => {
    const c = await client();
    ok(await c.run(['list', 'h1', '--persist']));
    const dir = join(c.runtime, 'tej');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    const [sock] = sockets(c.runtime);
    assert.ok(sock && (await stat(join(dir, sock))).isSocket(), `a socket in ${dir}`);
    assert.ok(join(dir, sock).length < 108);
    ok(await c.run(['disconnect', 'h1']));
    await chmod(dir, 0o755);
    const r = await c.run(['list', 'h1', '--persist']);
    assert.equal(r.code, 77, r.stderr);
    assert.match(r.stderr, /refusing to keep persistent connections in .* open to others \(mode 755\)/);
    assert.match(r.stderr, /chmod 700/);
    assert.equal(mastersUnder(c.runtime).length, 0);
    // without XDG_RUNTIME_DIR: a directory of its own under the temporary directory, 0700 too
    const tmp = join(c.home, 'tmp');
    await mkdir(tmp);
    ok(await c.run(['list', 'h1', '--persist'], { XDG_RUNTIME_DIR: '', TMPDIR: tmp }));
    assert.equal((await stat(join(tmp, `tej-${process.getuid!()}`))).mode & 0o777, 0o700);
    ok(await c.run(['disconnect', 'h1'], { XDG_RUNTIME_DIR: '', TMPDIR: tmp }));
  });

  it('ends the master with tej disconnect, which removes the socket', async () => {
    const c = await client();
    ok(await c.run(['list', 'h1', '--persist']));
    const [pid] = mastersUnder(c.runtime);
    assert.ok(pid);
    assert.equal(sockets(c.runtime).length, 1);
    const r = await c.run(['disconnect', 'h1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /closed the persistent connection to h1/);
    assert.deepEqual(sockets(c.runtime), []);
    await waitFor('the master to exit', async () => mastersUnder(c.runtime), (p) => p.length === 0, 60_000);
    const again = await c.run(['disconnect', 'h1']);
    assert.equal(again.code, 0);
    assert.match(again.stderr, /no persistent connection to h1 was open/);
  });

  it('expires after its idle time and not while a command uses it', async () => {
    const c = await client();
    ok(await c.run(['list', 'h1', '--persist=2s']));
    assert.equal(mastersUnder(c.runtime).length, 1);
    // a command that takes longer than the idle time keeps the master
    const dir = await makeJob(join(sshHost.jobs, 'idle'), { 'start.sh': 'sleep 6; echo slept > out.txt\n' });
    ok(await c.run(['submit', 'h1', '--id', 'idle1', dir, '--persist=5s']));
    const waited = await c.run(['wait', 'h1', '--id', 'idle1', '--persist=5s']);
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(mastersUnder(c.runtime).length, 1, 'still there right after a 6 s command');
    await waitFor('the idle master to exit', async () => [mastersUnder(c.runtime), sockets(c.runtime)], ([p, s]) => p!.length === 0 && s!.length === 0, 60_000);
  });

  it('starts a new master when the old one was killed with kill -9 (stale socket)', async () => {
    const c = await client();
    ok(await c.run(['list', 'h1', '--persist']));
    const [old] = mastersUnder(c.runtime);
    assert.ok(old);
    process.kill(old, 'SIGKILL');
    await waitFor('the master to die', async () => mastersUnder(c.runtime), (p) => p.length === 0, 60_000);
    assert.equal(sockets(c.runtime).length, 1, 'the socket stays behind');
    const r = await c.run(['list', 'h1', '--persist']);
    assert.equal(r.code, 0, r.stderr);
    const now = mastersUnder(c.runtime);
    assert.equal(now.length, 1);
    assert.notEqual(now[0], old);
  });

  it('ends the master when its SSH connection drops, and the next command starts a new one', async () => {
    const c = await client();
    const first = await c.run(['list', 'h1', '--persist', '-v']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /auth: persistent connection \(started: /);
    const [old] = mastersUnder(c.runtime);
    assert.ok(old);
    // kill alice's sshd session processes on the host (by pid): the master's connection ends
    const k = await sshHost.lab.exec('h1', ['sh', '-c', 'for p in $(pgrep -u alice -x sshd); do kill -KILL "$p"; done']);
    assert.equal(k.code, 0, k.stderr);
    await waitFor('the master to exit', async () => [mastersUnder(c.runtime), sockets(c.runtime)], ([p, s]) => p!.length === 0 && s!.length === 0, 60_000);
    const r = await c.run(['list', 'h1', '--persist', '-v']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /auth: persistent connection \(started: /);
    const again = await c.run(['list', 'h1', '--persist', '-v']);
    assert.match(again.stderr, /auth: persistent connection \(reused: /);
    assert.doesNotMatch(again.stderr, /auth: publickey/);
  });

  it('starts one master when two commands start at the same moment', async () => {
    const c = await client();
    const rs = await Promise.all([1, 2, 3].map(() => c.run(['list', 'h1', '--persist'])));
    for (const r of rs) assert.equal(r.code, 0, r.stderr);
    await waitFor('the losers to leave', async () => mastersUnder(c.runtime), (p) => p.length === 1, 60_000);
    assert.equal(sockets(c.runtime).length, 1);
    ok(await c.run(['list', 'h1', '--persist']));
  });

  it('refuses an unknown host key through a master as without one (77), and leaves no master', async () => {
    const c = await client();
    await writeFile(join(c.home, '.ssh', 'known_hosts'), '');
    const direct = await c.run(['list', 'h1']);
    const persisted = await c.run(['list', 'h1', '--persist']);
    assert.equal(direct.code, 77, direct.stderr);
    assert.equal(persisted.code, 77, persisted.stderr);
    assert.match(persisted.stderr, /host key of 10\.[0-9.]+ is unknown/);
    assert.equal(persisted.stderr, direct.stderr, 'the same message and hint');
    // commands that start at once share the first master's refusal, whichever started it
    const together = await Promise.all([1, 2, 3].map(() => c.run(['list', 'h1', '--persist'])));
    assert.deepEqual(together.map((r) => r.code), [77, 77, 77], together.map((r) => r.stderr).join('\n'));
    await waitFor('the masters to exit', async () => mastersUnder(c.runtime), (p) => p.length === 0, 60_000);
    assert.deepEqual(sockets(c.runtime), []);
    // --accept-new-host-key reaches the master
    ok(await c.run(['list', 'h1', '--persist', '--accept-new-host-key']));
    assert.match(await readFile(join(c.home, '.ssh', 'known_hosts'), 'utf8'), /ssh-ed25519/);
  });

  it('fails a refused login and a refused connection through a master as without one (77, 75)', async () => {
    const c = await client();
    const key = join(c.home, '.ssh', 'id_ed25519');
    await rm(key);
    for (const expected of [/no way to authenticate to alice@h1/, /authentication to alice@h1 failed/]) {
      const direct = await c.run(['list', 'h1']);
      const persisted = await c.run(['list', 'h1', '--persist']);
      assert.equal(direct.code, 77, direct.stderr);
      assert.equal(persisted.code, 77, persisted.stderr);
      assert.equal(persisted.stderr, direct.stderr);
      assert.match(persisted.stderr, expected);
      // then a key the host does not know
      await rm(key, { force: true });
      const gen = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
      assert.equal(gen.status, 0, gen.stderr?.toString());
    }
    await sshHost.lab.fault('h1', 'reject');
    try {
      const refusedDirect = await c.run(['list', 'h1']);
      const refused = await c.run(['list', 'h1', '--persist']);
      assert.equal(refusedDirect.code, 75, refusedDirect.stderr);
      assert.equal(refused.code, 75, refused.stderr);
      assert.match(refused.stderr, /cannot connect to alice@h1 .*ECONNREFUSED/);
      assert.equal(refused.stderr, refusedDirect.stderr, 'the same message, retries included');
    } finally {
      await sshHost.lab.fault('h1', 'clear');
    }
    assert.equal(mastersUnder(c.runtime).length, 0);
    assert.deepEqual(sockets(c.runtime), []);
  });

  it('submits, follows and downloads through a master with the same results as without', async () => {
    const c = await client();
    const big = randomBytes(3 * 1024 * 1024);
    const dir = await makeJob(join(sshHost.jobs, 'same'), {
      'start.sh': 'cat big.bin big.bin > out.bin; echo to-stderr >&2; echo "$TEJ_JOB_ID"\n',
    });
    await writeFile(join(dir, 'big.bin'), big);
    const results: string[] = [];
    for (const [id, flags] of [['same_direct', []], ['same_persist', ['--persist']]] as const) {
      ok(await c.run(['submit', 'h1', '--id', id, dir, ...flags]));
      const w = await c.run(['wait', 'h1', '--id', id, ...flags]);
      assert.equal(w.code, 0, w.stderr);
      const logs = ok(await c.run(['logs', 'h1', '--id', id, ...flags]));
      const out = join(c.home, id);
      await mkdir(out);
      ok(await c.run(['download', 'h1', '--id', id, `out.bin:${out}/out.bin`, ...flags]));
      const got = await readFile(join(out, 'out.bin'));
      assert.equal(got.length, big.length * 2);
      results.push(`${logs.replace(id, 'ID')} ${createHash('sha256').update(got).digest('hex')}`);
    }
    assert.equal(results[0], results[1]);
    assert.equal(createHash('sha256').update(Buffer.concat([big, big])).digest('hex'), results[1]!.split(' ').pop());
    assert.equal(mastersUnder(c.runtime).length, 1);
  });

  it('stops the host\'s follow loop when the client of a logs -f through a master goes away, and serves on', async () => {
    const c = await client();
    const dir = await makeJob(join(sshHost.jobs, 'quiet'), { 'start.sh': 'while :; do sleep 1; done\n' });
    ok(await c.run(['submit', 'h1', '--id', 'quiet', dir, '--persist']));
    // The follow loop runs in the channel's shell (the helper program): alice's only channel then.
    const followLoop = () => sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', CHANNEL_SHELL]);
    // --persist: the command runs in the master's worker (a lean client); persist in the config file:
    // the CLI runs it and the master relays its channels.
    await mkdir(join(c.home, '.config', 'tej'), { recursive: true });
    await writeFile(join(c.home, '.config', 'tej', 'config.json'), JSON.stringify({ hosts: { h1: { persist: '10m' } } }));
    for (const how of [['--persist'], []]) {
      // A quiet job: the loop writes nothing, so only the master can tell it to stop.
      for (const signal of ['SIGINT', 'SIGKILL'] as const) {
        const follower = startTej(['logs', 'h1', '--id', 'quiet', '-f', ...how], { home: c.home, env: { XDG_RUNTIME_DIR: c.runtime } });
        await waitFor('the remote follow loop', followLoop, (r) => r.stdout.trim() !== '');
        follower.child.kill(signal);
        const r = await follower.done;
        if (signal === 'SIGINT') {
          assert.equal(r.code, 130, r.stderr);
          assert.match(r.stderr, /tej: interrupted/);
        }
        await waitFor(`the follow loop to stop after ${signal} ${how.join(' ')}`, followLoop, (r) => r.stdout.trim() === '', 60_000);
      }
    }
    const status = await c.run(['status', 'h1', '--id', 'quiet', '--persist']);
    assert.equal(status.code, 2, status.stderr); // running
    assert.match(status.stdout, /running/);
    ok(await c.run(['kill', 'h1', '--id', 'quiet', '--grace', '1', '--persist']));
    assert.equal(mastersUnder(c.runtime).length, 1);
  });

  it('runs a command in the master\'s worker when one is running, with the output and exit code of the CLI', async () => {
    const c = await client();
    const dir = await makeJob(join(sshHost.jobs, 'lean'), { 'start.sh': 'echo out; echo err >&2; exit 3\n' });
    ok(await c.run(['submit', 'h1', '--id', 'lean', dir]));
    ok(await c.run(['wait', 'h1', '--id', 'lean']).then((r) => ({ ...r, code: r.code === 4 ? 0 : r.code })));
    const cases = [
      ['status', 'h1', '--id', 'lean'],
      ['status', 'h1', '--id', 'lean', '--json'],
      ['logs', 'h1', '--id', 'lean', '--stderr'],
      ['status', 'h1', '--id', 'nosuch'],
      ['list', 'h1', '--state', 'sleeping'],
      ['show', 'h1', '--id', 'lean', '--json'],
    ];
    const direct = [];
    for (const args of cases) direct.push(await c.run(args));
    ok(await c.run(['list', 'h1', '--persist'])); // starts the master
    const log = () => readFile(join(c.runtime, 'tej', readdirSync(join(c.runtime, 'tej')).find((f) => f.endsWith('.log'))!), 'utf8');
    const ranBefore = (await log()).split('running ').length;
    for (const [i, args] of cases.entries()) {
      const through = await c.run([...args, '--persist']);
      assert.deepEqual([through.code, through.stdout, through.stderr], [direct[i]!.code, direct[i]!.stdout, direct[i]!.stderr], args.join(' '));
    }
    assert.equal((await log()).split('running ').length - ranBefore, cases.length, 'each command ran in a worker of the master');
    // The working directory and the environment are the client's.
    const here = join(c.home, 'here');
    await mkdir(here);
    const got = await tej(['download', 'h1', '--id', 'lean', 'tej.stdout:got.txt', '--persist'], { home: c.home, cwd: here, env: { XDG_RUNTIME_DIR: c.runtime } });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(await readFile(join(here, 'got.txt'), 'utf8'), 'out\n');
    assert.equal(mastersUnder(c.runtime).length, 1);
  });

  it('runs command after command in one worker, each with its own environment, working directory, config file and exit code', async () => {
    const c = await client();
    const dir = await makeJob(join(sshHost.jobs, 'again'), { 'start.sh': 'echo again\n' });
    ok(await c.run(['submit', 'h1', '--id', 'again', dir]));
    ok(await c.run(['wait', 'h1', '--id', 'again']));
    ok(await c.run(['list', 'h1', '--persist'])); // starts the master
    const log = () => readFile(join(c.runtime, 'tej', readdirSync(join(c.runtime, 'tej')).find((f) => f.endsWith('.log'))!), 'utf8');
    const through = (args: string[], env: Record<string, string> = {}, cwd?: string) =>
      tej([...args, '--persist'], { home: c.home, cwd, env: { XDG_RUNTIME_DIR: c.runtime, ...env } });
    const first = await through(['status', 'h1', '--id', 'again']);
    assert.deepEqual([first.code, first.stderr], [0, '']);
    assert.match(first.stdout, /^finished/);
    // a config file the next command's environment names (XDG_CONFIG_HOME), read afresh: its queue has no helpers
    const xdg = join(c.home, 'xdg');
    await mkdir(join(xdg, 'tej'), { recursive: true });
    await writeFile(join(xdg, 'tej', 'config.json'), JSON.stringify({ hosts: { h1: { queue: '~/elsewhere' } } }));
    const other = await through(['status', 'h1', '--id', 'again'], { XDG_CONFIG_HOME: xdg });
    assert.equal(other.code, 69, other.stderr);
    // a missing job: that command's own exit code and message, none of the last one's
    const missing = await through(['show', 'h1', '--id', 'nosuch']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nosuch/);
    assert.doesNotMatch(missing.stderr, /elsewhere/);
    // the working directory: a download's relative destination
    const here = join(c.home, 'here-again');
    await mkdir(here);
    const got = await through(['download', 'h1', '--id', 'again', 'tej.stdout:got.txt'], {}, here);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(await readFile(join(here, 'got.txt'), 'utf8'), 'again\n');
    const last = await through(['status', 'h1', '--id', 'again', '--json']);
    assert.equal(last.code, 0, last.stderr);
    assert.match(last.stdout, /"state":\s*"finished"/);
    // The status, show and status commands ran in the one worker the master started first; the
    // download (which may leave more behind) in it too, after which it was replaced.
    const workers = [...(await log()).matchAll(/worker (\d+) running '(\w+)'/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(
      workers.map(([, command]) => command),
      ['status', 'status', 'show', 'download', 'status'],
    );
    const pids = workers.map(([pid]) => pid);
    assert.equal(new Set(pids.slice(0, 4)).size, 1, `one worker for the first four: ${pids.join(' ')}`);
    assert.notEqual(pids[4], pids[3], 'a new worker after the download');
  });

  it('serves command after command from the one warm shell its clients give back, probed again for each', async () => {
    const c = await client();
    const dir = await makeJob(join(sshHost.jobs, 'reuse'), { 'start.sh': 'echo reuse\n' });
    ok(await c.run(['submit', 'h1', '--id', 'reuse', dir]));
    ok(await c.run(['wait', 'h1', '--id', 'reuse']));
    ok(await c.run(['list', 'h1', '--persist'])); // starts the master
    // alice's channel processes (children of her sshd): between commands, the master's warm shell alone
    const shells = async () =>
      (await sshHost.lab.exec('h1', ['sh', '-c', 'for p in $(pgrep -u alice -x sshd); do pgrep -P "$p"; done'])).stdout.split('\n').filter(Boolean);
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await c.run(['status', 'h1', '--id', 'reuse', '--persist']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^finished/);
      for (const pid of await waitFor('the master to hold one shell', shells, (s) => s.length === 1)) seen.add(pid);
    }
    assert.equal(seen.size, 1, `one shell served every command: ${[...seen].join(' ')}`);
    // The queue moved away after the given-back shell was probed: the command says so (69) as one without
    // a master does, and the one after finds it back.
    ok(await sshHost.lab.execAs('h1', 'alice', 'mv .tej .tej-away'));
    try {
      const gone = await c.run(['status', 'h1', '--id', 'reuse', '--persist']);
      assert.equal(gone.code, 69, gone.stderr);
    } finally {
      await sshHost.lab.execAs('h1', 'alice', 'rm -rf .tej; mv .tej-away .tej');
    }
    const back = await c.run(['status', 'h1', '--id', 'reuse', '--persist']);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /^finished/);
  });

  it("runs a command through a master in a shell the master loaded with its own helpers: the queue's copy is not read", async () => {
    const c = await client();
    const dir = await makeJob(join(sshHost.jobs, 'warm'), { 'start.sh': 'echo warm\n' });
    ok(await c.run(['submit', 'h1', '--id', 'warm', dir]));
    ok(await c.run(['wait', 'h1', '--id', 'warm']));
    ok(await c.run(['list', 'h1', '--persist'])); // starts the master, which loads a shell for the next command
    const size = async () => Number((await sshHost.lab.execAs('h1', 'alice', 'wc -c < .tej/program.sh')).stdout.trim());
    // What a job can do: rewrite the installed program. A call that read it would find the edit and
    // reinstall the helpers (with a warning); the command through the master runs from memory.
    await sshHost.lab.execAs('h1', 'alice', 'printf "\\n# edited\\n" >> .tej/program.sh');
    const edited = await size();
    const through = await c.run(['status', 'h1', '--id', 'warm', '--persist']);
    assert.equal(through.code, 0, through.stderr);
    assert.match(through.stdout, /finished/);
    assert.doesNotMatch(through.stderr, /modified/);
    assert.equal(await size(), edited, 'the installed helpers were left as they are');
    // Without the master the same command takes the invocation, which checks and reinstalls them.
    const direct = await c.run(['status', 'h1', '--id', 'warm']);
    assert.equal(direct.code, 0, direct.stderr);
    assert.match(direct.stderr, /modified after they were installed/);
    assert.notEqual(await size(), edited);
  });

  it('runs a command in the client when the tej its master runs from was rebuilt since (new chunk names), not into an internal error', async () => {
    const c = await client();
    // A copy of this tej, so that the test can rebuild it under its master.
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const copy = join(c.home, 'tej-copy');
    await mkdir(copy);
    // what the package ships (package.json "files"), as an install has it
    const files = [...(JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { files: string[] }).files, 'package.json'];
    const cp = spawnSync('cp', ['-a', ...files.map((f) => join(root, f)), copy]);
    assert.equal(cp.status, 0, String(cp.stderr));
    await symlink(join(root, 'node_modules'), join(copy, 'node_modules'));
    const run = (args: string[]) => tej(args, { home: c.home, bin: join(copy, 'bin', 'tej.js'), env: { XDG_RUNTIME_DIR: c.runtime } });
    ok(await run(['list', 'h1', '--persist'])); // the master, and the worker it keeps started for the next command
    // What a rebuild (or an upgrade to a build of the same version) does: the bundle's chunks get new
    // names, and the old ones are gone; the master's started worker still holds the old entry points.
    const bundle = join(copy, 'dist', 'bundle');
    const chunks = readdirSync(bundle).filter((f) => /-[A-Z0-9]{8}\.js$/.test(f));
    assert.ok(chunks.length > 0, 'the bundle has chunks');
    for (const f of readdirSync(bundle).filter((x) => x.endsWith('.js'))) {
      let text = await readFile(join(bundle, f), 'utf8');
      for (const chunk of chunks) text = text.replaceAll(chunk, chunk.replace(/\.js$/, 'R.js'));
      await writeFile(join(bundle, chunks.includes(f) ? f.replace(/\.js$/, 'R.js') : f), text);
    }
    for (const chunk of chunks) await rm(join(bundle, chunk));
    const r = await run(['list', 'h1', '--persist']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /internal error/);
  });
});

describe('keyboard-interactive logins (a key and a password, as two-factor hosts ask)', () => {
  // registered before useSshHost() registers the lab's stop: hooks run in order, and this needs the host
  after(async () => {
    if (sshHost.home) {
      await run(['disconnect', 'h1']);
      for (const pid of mastersUnder(runtime)) process.kill(pid, 'SIGKILL');
    }
  });
  const sshHost = useSshHost();
  let runtime: string;
  let askLog: string;
  const run = (args: string[], env: Record<string, string> = {}) =>
    tej(args, { home: sshHost.home, env: { XDG_RUNTIME_DIR: runtime, TEJ_ASKPASS: join(sshHost.home, 'askpass'), ...env } });
  const asked = async () => (existsSync(askLog) ? (await readFile(askLog, 'utf8')).split('\n').filter(Boolean) : []);

  before(async () => {
    // sshd asks for the key, then for the password through PAM
    const conf = await sshHost.lab.exec('h1', ['sh', '-c', [
      "sed -i -e 's/^UsePAM no/UsePAM yes/' -e 's/^KbdInteractiveAuthentication no/KbdInteractiveAuthentication yes/' /etc/ssh/sshd_config",
      // first, not appended: sshd_config ends with Match blocks (lab.sh), which would capture it
      "sed -i '1i AuthenticationMethods publickey,keyboard-interactive' /etc/ssh/sshd_config",
      'echo alice:sesame | chpasswd',
      '/usr/sbin/sshd -t -f /etc/ssh/sshd_config',
      'kill -HUP "$(cat /run/sshd.pid)"',
    ].join(' && ')]);
    assert.equal(conf.code, 0, conf.stderr);
    runtime = join(sshHost.home, 'run');
    await mkdir(runtime, { mode: 0o700 });
    askLog = join(sshHost.home, 'askpass.log');
    await writeFile(join(sshHost.home, 'askpass'), `#!/bin/sh\nprintf '%s\\n' "$1" >> '${askLog}'\necho sesame\n`, { mode: 0o755 });
    // sshd re-executes itself on SIGHUP: wait until it answers again
    await waitFor('sshd to take the new configuration', () => run(['setup', 'h1']), (r) => r.code === 0, 60_000);
    await rm(askLog, { force: true });
  });

  it('asks TEJ_ASKPASS on every command without --persist', async () => {
    ok(await run(['list', 'h1']));
    ok(await run(['list', 'h1']));
    const prompts = await asked();
    assert.equal(prompts.length, 2, prompts.join('\n'));
    assert.match(prompts[0]!, /password/i);
  });

  it('asks once for the master, and not at all for the commands that reuse it', async () => {
    await rm(askLog, { force: true });
    ok(await run(['list', 'h1', '--persist']));
    assert.equal((await asked()).length, 1, 'the first command answers the master\'s prompt');
    ok(await run(['list', 'h1', '--persist']));
    ok(await run(['status', 'h1', '--id', 'nothing', '--persist']).then((r) => ({ ...r, code: r.code === 66 ? 0 : r.code })));
    assert.equal((await asked()).length, 1, 'later commands go through the master without a prompt');
    ok(await run(['disconnect', 'h1']));
    await waitFor('the master to exit', async () => mastersUnder(runtime), (p) => p.length === 0, 60_000);
  });

  it('fails with 77 and names TEJ_ASKPASS when nothing can answer the prompt, with or without a master', async () => {
    for (const flags of [[], ['--persist']]) {
      const r = await run(['list', 'h1', ...flags], { TEJ_ASKPASS: '' });
      assert.equal(r.code, 77, r.stderr);
      assert.match(r.stderr, /keyboard-interactive/);
      assert.match(r.stderr, /TEJ_ASKPASS/);
    }
    // the master that failed its login exits on its own, maybe after the CLI that it answered
    await waitFor('the master to exit', async () => mastersUnder(runtime), (p) => p.length === 0, 60_000);
  });

  it('reads a submitted job before anyone is asked: a bad job fails without a prompt, a good one asks once', async () => {
    await rm(askLog, { force: true });
    const bad = await makeJob(join(sshHost.home, 'kbd-bad'), { 'start.sh': 'true\n' });
    assert.equal(spawnSync('mkfifo', [join(bad, 'pipe')]).status, 0);
    for (const flags of [[], ['--persist']]) {
      const r = await run(['submit', 'h1', '--id', 'kbdbad', ...flags, bad]);
      assert.equal(r.code, 65, `${flags}: ${r.stderr}`);
      assert.match(r.stderr, /pipe' is a special file/);
    }
    assert.deepEqual(await asked(), [], 'nobody is asked for a password for a job that cannot be sent');
    // the master ends by itself once its CLI has given the login up: waited for, not assumed at once
    await waitFor('the master whose login was abandoned to be gone', async () => mastersUnder(runtime), (p) => p.length === 0, 60_000);
    const good = await makeJob(join(sshHost.home, 'kbd-good'), { 'start.sh': 'echo fine > out.txt\n' });
    assert.equal(ok(await run(['submit', 'h1', '--id', 'kbdgood', good])), 'kbdgood\n');
    assert.equal((await asked()).length, 1);
    await waitFor('kbdgood to finish', () => run(['download', 'h1', '--id', 'kbdgood', 'out.txt:']), (r) => r.code === 0 && r.stdout === 'fine\n');
  });

  it('ends a master whose CLI is killed while it waits for an answer', async () => {
    // The prompt is asked and never answered (a gate the test opens once it is over): only the CLI's
    // death can end the login, and the master's log says that it did.
    const gate = join(sshHost.home, 'gate');
    const prompted = join(sshHost.home, 'prompted');
    spawnSync('mkfifo', [gate]);
    await writeFile(join(sshHost.home, 'gatedpass'), `#!/bin/sh\n: >'${prompted}'\nread -r x <'${gate}'\n`, { mode: 0o755 });
    const cli = startTej(['list', 'h1', '--persist'], { home: sshHost.home, env: { XDG_RUNTIME_DIR: runtime, TEJ_ASKPASS: join(sshHost.home, 'gatedpass') } });
    try {
      await waitFor('the prompt', async () => existsSync(prompted), (x) => x, 60_000);
      const [master] = mastersUnder(runtime);
      assert.ok(master, 'a master logs in');
      cli.child.kill('SIGKILL');
      await waitFor('the master to exit', async () => [mastersUnder(runtime), readdirSync(join(runtime, 'tej')).filter((f) => f.endsWith('.sock'))],
        ([p, s]) => p!.length === 0 && s!.length === 0, 60_000);
      const logs = readdirSync(join(runtime, 'tej')).filter((f) => f.endsWith('.log'));
      const text = logs.map((f) => readFileSync(join(runtime, 'tej', f), 'utf8')).join('');
      assert.match(text, new RegExp(`\\[${master}\\] exiting: the CLI that started it went away during the login`));
    } finally {
      cli.child.kill('SIGKILL');
      if (existsSync(prompted)) await writeFile(gate, ''); // lets the prompt go (a FIFO: only with a reader)
      await cli.done;
    }
  });

  it('asks on the terminal without echoing the answer when there is no TEJ_ASKPASS, and once with a master', async () => {
    // script(1) gives tej a pseudo-terminal; the answer is typed once the prompt has appeared
    const onTerminal = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const cmd = [process.execPath, TEJ_BIN, ...args].map((w) => `'${w}'`).join(' ');
        const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: sshHost.home, LC_ALL: 'C', XDG_RUNTIME_DIR: runtime, TERM: 'dumb' },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        let typed = false;
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (!typed && /Password: ?$/.test(out)) {
            typed = true;
            setTimeout(() => child.stdin.write('sesame\r'), 200);
          }
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          child.stdin.destroy();
          resolve({ code, out });
        });
      });
    const direct = await onTerminal(['list', 'h1']);
    assert.equal(direct.code, 0, direct.out);
    assert.match(direct.out, /\(alice@h1\) Password:/);
    assert.doesNotMatch(direct.out, /sesame/, 'the answer is not echoed');
    const first = await onTerminal(['list', 'h1', '--persist']);
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /Password:/, 'the master\'s prompt is asked on the terminal of the command that started it');
    assert.doesNotMatch(first.out, /sesame/);
    const second = await onTerminal(['list', 'h1', '--persist']);
    assert.equal(second.code, 0, second.out);
    assert.doesNotMatch(second.out, /Password:/);
    ok(await run(['disconnect', 'h1']));
    await waitFor('the master to exit', async () => mastersUnder(runtime), (p) => p.length === 0, 60_000);
  });

  it('lets tej disconnect end a master that is waiting for an answer, and the CLI end its askpass', async () => {
    // The askpass says it was asked, then holds its (empty) answer until the test opens its gate (at most
    // 10 minutes, if the test is gone), and says when it is ended. The CLI that started the master runs
    // it: once the master is gone nobody wants its answer, and the CLI ends it rather than wait for it
    // (it waited, and its exit with it, until the askpass gave up: 60 s in this test before).
    const wasAsked = join(sshHost.home, 'slowpass.asked');
    const wasEnded = join(sshHost.home, 'slowpass.ended');
    const gate = join(sshHost.home, 'slowpass.gate');
    await writeFile(
      join(sshHost.home, 'slowpass'),
      `#!/bin/sh\ntrap ": > '${wasEnded}'; exit 143" TERM\n: > '${wasAsked}'\ni=0\nwhile [ ! -e '${gate}' ] && [ $i -lt 6000 ]; do sleep 0.1; i=$((i + 1)); done\n`,
      { mode: 0o755 },
    );
    try {
      // killed after 2 minutes (then no 75): only an askpass that is ended lets it exit before
      const pending = tej(['list', 'h1', '--persist'], { home: sshHost.home, env: { XDG_RUNTIME_DIR: runtime, TEJ_ASKPASS: join(sshHost.home, 'slowpass') }, timeoutMs: 120_000 });
      await waitFor('the master to ask', async () => (existsSync(wasAsked) && existsSync(join(runtime, 'tej')) ? readdirSync(join(runtime, 'tej')).filter((f) => f.endsWith('.sock')) : []),
        (s) => s.length === 1, 60_000);
      const d = await run(['disconnect', 'h1']);
      assert.equal(d.code, 0, d.stderr);
      assert.match(d.stderr, /closed the persistent connection/);
      const r = await pending;
      assert.equal(r.code, 75, r.stderr);
      assert.match(r.stderr, /ended before it was ready/);
      assert.ok(existsSync(wasEnded), 'the CLI ended its askpass');
      await waitFor('the master to exit', async () => mastersUnder(runtime), (p) => p.length === 0, 60_000);
    } finally {
      await writeFile(gate, '');
    }
  });

  it('fails with 77 when the answer is wrong, through a master too', async () => {
    await writeFile(join(sshHost.home, 'wrongpass'), '#!/bin/sh\necho wrong\n', { mode: 0o755 });
    for (const flags of [[], ['--persist']]) {
      const r = await run(['list', 'h1', ...flags], { TEJ_ASKPASS: join(sshHost.home, 'wrongpass') });
      assert.equal(r.code, 77, r.stderr);
      assert.match(r.stderr, /authentication to alice@h1 failed/);
    }
  });
});
