// Faults, end to end: links that drop mid-upload and mid-job, a client SIGKILLed mid-submit, a host
// that reboots, a wrapper killed -9, latency and packet loss. The built CLI against the sshd test host.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, ok, startTej, tej, waitFor, type TejRun } from '../helpers/cli.js';
import { makeClientHome, startDelayProxy, useSshHost } from '../helpers/lab.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP proxy that holds back what the host sends (`holdMs`) on a connection once the client has sent
 * more than `holdAfter` bytes on it (an upload, not the handshake), and whose connections can be cut
 * while it keeps listening: the host finishes a request whose answer the client never gets.
 */
async function startCuttableProxy(host: string, port: number): Promise<{ port: number; holdMs: number; holdAfter: number; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const proxy = {
    port: 0,
    holdMs: 0,
    holdAfter: Infinity,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => new Promise<void>((resolve) => {
      proxy.cut();
      server.close(() => resolve());
    }),
  };
  const server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    let sent = 0;
    client.on('data', (d) => {
      sent += d.length;
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      const hold = sent > proxy.holdAfter ? proxy.holdMs : 0;
      if (hold === 0) client.write(d);
      else setTimeout(() => client.destroyed || client.write(d), hold);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as AddressInfo).port;
  return proxy;
}

describe('faults', () => {
  const sshHost = useSshHost({ extraConfig: '  ConnectTimeout 4', setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const remote = async (cmd: string) => {
    const r = await sshHost.lab.execAs('h1', 'alice', cmd);
    assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
    return r.stdout;
  };
  /** Names in ~/.tej/staging (uploads in flight and what dead ones left). */
  const staging = async () => (await remote('ls -A ~/.tej/staging')).split('\n').filter(Boolean);
  const jobIds = async () => (await remote('ls -A ~/.tej/jobs')).split('\n').filter(Boolean);
  /** Waits until an upload of `id` has written `bytes` into its staging dir (input.tar or upload/). */
  const uploadInFlight = (id: string, bytes: number) =>
    waitFor(`the upload of ${id} to be in flight`, () => sshHost.lab.execAs('h1', 'alice', `du -sb ~/.tej/staging/${id}.* 2>/dev/null | cut -f1`),
      (r) => Number(r.stdout.trim().split('\n')[0] || 0) >= bytes, 30_000);
  /** A job directory with `size` random (incompressible) bytes. */
  const bigJob = async (name: string, size: number, start = 'echo done > done.txt\n') => {
    const dir = await makeJob(join(sshHost.jobs, name), { 'start.sh': start });
    await writeFile(join(dir, 'big.bin'), randomBytes(size));
    return dir;
  };

  it('a link that drops mid-upload: the retry resends under the same id, one job, no leftovers', async () => {
    const dir = await bigJob('drop', 1_500_000);
    await sshHost.lab.fault('h1', 'rate', '2mbit');
    const submit = startTej(['submit', 'h1', '--id', 'drop1', dir], { home: sshHost.home });
    try {
      await uploadInFlight('drop1', 100_000);
      // every packet from the client now gets a TCP reset: the connection dies in the middle of the tar;
      // the link stays down until the client has seen it break (its retry line), not for a set time
      await sshHost.lab.fault('h1', 'reject');
      await submit.stderrMatches(/broke during .*; retrying/);
    } finally {
      await sshHost.lab.fault('h1', 'clear');
    }
    const r = await submit.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'drop1\n');
    assert.match(r.stderr, /submit: connection to alice@h1 broke during 'tej-remote submit drop1 [0-9a-f]+ --keep-input'; retrying/);
    assert.deepEqual(await jobIds(), ['drop1'], 'one job, not two');
    assert.equal((await remote('stat -c %s ~/.tej/jobs/drop1/work/big.bin')).trim(), '1500000', 'the whole upload');
    await waitFor('drop1 to finish', () => run(['status', 'h1', '--id', 'drop1']), (s) => s.code === 0);
    // The first attempt's helper still waits for the rest of its tar on a connection that sshd
    // has not noticed is dead: an upload in flight, never a job. When its session ends, it goes.
    for (const name of await staging()) assert.match(name, /^drop1\.\d+\.\w+$/);
    await sshHost.lab.exec('h1', ['pkill', '-f', '^sshd: alice']);
    await waitFor('staging to be empty', staging, (s) => s.length === 0);
    assert.deepEqual(await jobIds(), ['drop1']);
    const list = ok(await run(['list', 'h1']));
    assert.equal(list.split('\n').filter((l) => l.startsWith('drop1\t')).length, 1);
  });

  it('a connection lost after the host accepted the job: the retry gets that job back, it runs once', async () => {
    const proxy = await startCuttableProxy(sshHost.lab.hosts.h1.ip, sshHost.lab.hosts.h1.port);
    try {
      const via = await makeClientHome(sshHost.lab);
      await appendFile(join(via, '.ssh', 'config'), ['Host via', '  HostName 127.0.0.1', `  Port ${proxy.port}`, '  User alice',
        `  IdentityFile ${join(via, '.ssh', 'id_ed25519')}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${join(via, '.ssh', 'known_hosts')}`, '  BatchMode yes', ''].join('\n'));
      await appendFile(join(via, '.ssh', 'known_hosts'), `[127.0.0.1]:${proxy.port} ${sshHost.lab.hosts.h1.hostKey}\n`);
      const dir = await bigJob('resume', 400_000, 'echo ran >> ~/runs-resume1\nsleep 2\n');
      // hold the host's answers once the upload is under way, so that the job is in place before the
      // client hears of it; then cut the connection: the client never gets the reply
      proxy.holdMs = 5000;
      proxy.holdAfter = 200_000;
      const submit = startTej(['submit', 'via', '--id', 'resume1', dir], { home: via });
      await waitFor('the job to be in place', () => sshHost.lab.execAs('h1', 'alice', 'cat ~/.tej/jobs/resume1/native-id'), (r) => r.code === 0, 30_000);
      proxy.holdAfter = Infinity;
      proxy.cut();
      const r = await submit.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'resume1\n');
      assert.match(r.stderr, /submit: connection to alice@via broke during 'tej-remote submit resume1 [0-9a-f]+ --keep-input'; retrying/);
      assert.doesNotMatch(r.stderr, /exists/);
      await waitFor('resume1 to finish', () => run(['status', 'h1', '--id', 'resume1']), (s) => s.code === 0);
      assert.equal(await remote('cat ~/runs-resume1'), 'ran\n', 'the job ran once');
      assert.deepEqual((await jobIds()).filter((id) => id.startsWith('resume')), ['resume1']);
      await waitFor('staging to be empty', staging, (s) => s.length === 0);
    } finally {
      await proxy.close();
    }
  });

  it('a link that stays down fails the submit with 75, and the torn upload never becomes a job', async () => {
    const dir = await bigJob('down', 1_500_000);
    await sshHost.lab.fault('h1', 'rate', '2mbit');
    const submit = startTej(['submit', 'h1', '--id', 'down1', dir], { home: sshHost.home });
    let r: TejRun;
    try {
      await uploadInFlight('down1', 100_000);
      await sshHost.lab.fault('h1', 'reject');
      r = await submit.done;
    } finally {
      await sshHost.lab.fault('h1', 'clear');
    }
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /connection to alice@h1 broke|cannot connect to alice@h1/);
    assert.equal(r.stdout, '');
    assert.ok(!(await jobIds()).includes('down1'), 'no job appears');
    const status = await run(['status', 'h1', '--id', 'down1']);
    assert.equal(status.code, 66, status.stderr);
    await sshHost.lab.exec('h1', ['pkill', '-f', '^sshd: alice']);
    await waitFor('staging to be empty', staging, (s) => s.length === 0);
    assert.ok(!(await jobIds()).includes('down1'));
  });

  it('a client SIGKILLed mid-upload leaves no job and no staging', async () => {
    const dir = await bigJob('killed', 1_500_000);
    await sshHost.lab.fault('h1', 'rate', '4mbit');
    try {
      const submit = startTej(['submit', 'h1', '--id', 'kill1', dir], { home: sshHost.home });
      await uploadInFlight('kill1', 100_000);
      submit.child.kill('SIGKILL');
      await submit.done;
    } finally {
      await sshHost.lab.fault('h1', 'clear');
    }
    await waitFor('staging to be empty', staging, (s) => s.length === 0);
    assert.ok(!(await jobIds()).includes('kill1'));
    const list = ok(await run(['list', 'h1']));
    assert.doesNotMatch(list, /^kill1\t/m);
    assert.equal((await run(['status', 'h1', '--id', 'kill1'])).code, 66);
  });

  it('a client SIGKILLed at any point of a submit never leaves a ghost running job', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'ghost'), { 'start.sh': 'sleep 3\n' });
    for (const [i, delay] of [150, 300, 450, 600, 750, 900, 1200].entries()) {
      const id = `ghost${i}`;
      const submit = startTej(['submit', 'h1', '--id', id, dir], { home: sshHost.home });
      await sleep(delay);
      submit.child.kill('SIGKILL');
      await submit.done;
      const s = await waitFor(`${id} to settle`, () => run(['status', 'h1', '--id', id, '--json']), (r) => !/"submitting"/.test(r.stdout));
      const state = s.code === 66 ? 'absent' : (JSON.parse(s.stdout) as { state: string }).state;
      assert.ok(['absent', 'incomplete', 'running', 'finished'].includes(state), `${id}: ${state}`);
      if (state === 'running') {
        // a running job is real: its wrapper process exists
        const pid = (await remote(`cat ~/.tej/jobs/${id}/native-id`)).trim();
        assert.equal((await sshHost.lab.exec('h1', ['kill', '-0', pid])).code, 0, `${id}: running, but pid ${pid} is gone`);
      }
    }
    await waitFor('staging to be empty', staging, (s) => s.length === 0);
  });

  it('a submit that died after claiming its id shows incomplete, never running, and delete removes it', async () => {
    // What a submit SIGKILLed between its mkdir and the plugin leaves (too short a window to hit reliably).
    await remote('d=~/.tej/jobs/half1; mkdir -p $d/work $d/meta && echo true > $d/meta/command && echo abc > $d/nonce && ' +
      '(sh -c "echo \\$\\$ > $d/submitter") && chmod 700 $d');
    const s = await run(['status', 'h1', '--id', 'half1']);
    assert.equal(s.code, 7, s.stderr);
    assert.match(s.stdout, /^incomplete/);
    assert.match(ok(await run(['list', 'h1'])), /^half1\tincomplete/m);
    ok(await run(['delete', 'h1', '--id', 'half1']));
    assert.ok(!(await jobIds()).includes('half1'));
  });

  it('retries only transient network errors: a refused connection is retried; host-key, auth and unknown-name failures never', async () => {
    await sshHost.lab.fault('h1', 'reject');
    let refused: TejRun;
    try {
      refused = await run(['list', 'h1']);
    } finally {
      await sshHost.lab.fault('h1', 'clear');
    }
    assert.equal(refused.code, 75, refused.stderr);
    assert.equal(refused.stderr.match(/retrying \(attempt \d\)/g)?.length, 2, refused.stderr);
    assert.match(refused.stderr, /cannot connect to alice@h1/);
    assert.doesNotMatch(refused.stderr, /tej: tej:/);
    const unresolved = await run(['list', 'nosuchhost.invalid']);
    assert.equal(unresolved.code, 75, unresolved.stderr);
    assert.match(unresolved.stderr, /ENOTFOUND nosuchhost\.invalid\n  check the host name/);
    assert.doesNotMatch(unresolved.stderr, /retrying/);
    const strangers = await makeClientHome(sshHost.lab);
    await writeFile(join(strangers, '.ssh', 'known_hosts'), '');
    const hostKey = await tej(['list', 'h1'], { home: strangers });
    assert.equal(hostKey.code, 77, hostKey.stderr);
    assert.doesNotMatch(hostKey.stderr, /retrying/);
    const wrongUser = await tej(['list', 'nosuchuser@h1'], { home: sshHost.home });
    assert.equal(wrongUser.code, 77, wrongUser.stderr);
    assert.match(wrongUser.stderr, /authentication to nosuchuser@h1 failed/);
    assert.doesNotMatch(wrongUser.stderr, /retrying/);
  });

  it('a bad job does not wait for a host that never answers: the connection attempt is dropped at once', async () => {
    // A host that accepts the TCP connection and says nothing: without the abort, the login would
    // wait out ConnectTimeout (60 s here), three times; with it the bad job fails in well under that,
    // however loaded the machine.
    const accepted: Socket[] = [];
    const closed = new Set<Socket>();
    const silent = createServer((s) => {
      accepted.push(s.on('error', () => undefined).on('close', () => closed.add(s)));
      s.resume(); // read (nothing, then the end): a paused socket would not see the client hang up
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      await appendFile(join(sshHost.home, '.ssh', 'config'), ['Host silent', '  HostName 127.0.0.1', `  Port ${port}`, '  User alice', '  ConnectTimeout 60', ''].join('\n'));
      const bad = await makeJob(join(sshHost.jobs, 'bad-silent'), { 'start.sh': 'true\n' });
      await new Promise<void>((resolve, reject) => spawn('mkfifo', [join(bad, 'pipe')]).on('close', (c) => (c === 0 ? resolve() : reject(new Error('mkfifo')))));
      const started = Date.now();
      const r = await tej(['submit', 'silent', '--id', 'silent1', bad], { home: sshHost.home, timeoutMs: 30_000 });
      assert.equal(r.code, 65, r.stderr);
      assert.match(r.stderr, /pipe' is a special file/);
      assert.ok(Date.now() - started < 20_000, `failed after ${Date.now() - started} ms`);
      assert.equal(accepted.length, 1, 'it had started to connect, once');
      await waitFor('the client to hang up', async () => closed.has(accepted[0]!), (yes) => yes, 20_000);

      // The library: connect() with a signal gives up as soon as it is aborted, with the signal's reason.
      const { connect: connectQueue } = await import('../../src/connect.js');
      const before = accepted.length;
      // Aborted once the host has accepted the connection (the attempt is under way), not after a fixed
      // time, which a loaded machine may spend before even dialing.
      const abort = new AbortController();
      let abortedAt = 0;
      silent.once('connection', () => {
        abortedAt = Date.now();
        abort.abort(new DOMException('gave up', 'TimeoutError'));
      });
      await assert.rejects(
        connectQueue(`ssh://alice@127.0.0.1:${port}`, { signal: abort.signal, prompt: async () => [] }),
        (e: Error) => e.name === 'TimeoutError',
      );
      assert.ok(abortedAt > 0 && Date.now() - abortedAt < 20_000, `connect() gave up ${Date.now() - abortedAt} ms after the abort`);
      assert.equal(accepted.length, before + 1);
      await waitFor('the library to hang up', async () => closed.has(accepted.at(-1)!), (yes) => yes, 20_000);
    } finally {
      for (const s of accepted) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('a job outlives a dropped link, and status works again once the link is back', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'outage'), { 'start.sh': 'sleep 4\necho survived > out.txt\n' });
    ok(await run(['submit', 'h1', '--id', 'outage1', dir]));
    await sshHost.lab.fault('h1', 'link-down');
    let during: TejRun;
    try {
      during = await run(['status', 'h1', '--id', 'outage1']);
    } finally {
      await sshHost.lab.fault('h1', 'link-up');
    }
    assert.equal(during.code, 75, during.stderr);
    assert.match(during.stderr, /cannot connect to alice@h1/);
    const after = await waitFor('outage1 to finish', () => run(['status', 'h1', '--id', 'outage1']), (r) => r.code !== 2);
    assert.equal(after.code, 0, after.stdout + after.stderr);
    assert.match(after.stdout, /^finished \(exit 0/);
    assert.equal(ok(await run(['download', 'h1', '--id', 'outage1', 'out.txt:'])), 'survived\n');
  });

  it('after sshd restarts (jobs untouched) the next command works and the job is still running', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'sshd'), { 'start.sh': 'sleep 1000\n' });
    ok(await run(['submit', 'h1', '--id', 'sshd1', dir]));
    // stop the listening daemon (sessions and jobs live on), then start a new one
    const restart = await sshHost.lab.exec('h1', ['sh', '-c', 'kill "$(cat /run/sshd.pid)"; for i in 1 2 3 4 5 6 7 8 9 10; do test -e /run/sshd.pid || break; sleep 0.2; done; ' +
      '/usr/sbin/sshd -f /etc/ssh/sshd_config']);
    assert.equal(restart.code, 0, restart.stderr);
    const s = await waitFor('sshd to answer', () => run(['status', 'h1', '--id', 'sshd1']), (r) => r.code !== 75);
    assert.equal(s.code, 2, s.stderr);
    assert.match(s.stdout, /^running/);
    assert.match(ok(await run(['list', 'h1'])), /^sshd1\trunning/m);
    assert.equal(ok(await run(['kill', 'h1', '--id', 'sshd1', '--grace', '1'])), 'sshd1: killed\n');
  });

  it('after the host reboots (sshd restarted, every process gone) the next commands work; its jobs are lost', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'reboot'), { 'start.sh': 'sleep 1000\n' });
    ok(await run(['submit', 'h1', '--id', 'reboot1', dir]));
    await sshHost.lab.restart('h1');
    const s = await run(['status', 'h1', '--id', 'reboot1']);
    assert.equal(s.code, 7, s.stderr);
    assert.equal(s.stdout, 'lost\n');
    assert.match(ok(await run(['list', 'h1'])), /^reboot1\tlost/m);
    const after = await makeJob(join(sshHost.jobs, 'afterboot'), { 'start.sh': 'echo up > up.txt\n' });
    ok(await run(['submit', 'h1', '--id', 'afterboot1', after]));
    await waitFor('afterboot1', () => run(['status', 'h1', '--id', 'afterboot1']), (r) => r.code === 0);
  });

  it('with 200 ms of round-trip latency and 5% packet loss every command is still correct', async () => {
    const proxy = await startDelayProxy(sshHost.lab.hosts.h1.ip, sshHost.lab.hosts.h1.port, 100);
    const slow = await makeClientHome(sshHost.lab, { extraConfig: '  ConnectTimeout 30' });
    await appendFile(join(slow, '.ssh', 'config'), ['Host slow', '  HostName 127.0.0.1', `  Port ${proxy.port}`,
      '  User alice', `  IdentityFile ${join(slow, '.ssh', 'id_ed25519')}`, '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(slow, '.ssh', 'known_hosts')}`, '  BatchMode yes', ''].join('\n'));
    await appendFile(join(slow, '.ssh', 'known_hosts'), `[127.0.0.1]:${proxy.port} ${sshHost.lab.hosts.h1.hostKey}\n`);
    await sshHost.lab.fault('h1', 'drop', 5);
    try {
      const t = (args: string[]) => tej(args, { home: slow, timeoutMs: 120_000 });
      const dir = await makeJob(join(sshHost.jobs, 'lossy'), { 'start.sh': 'echo "$TEJ_JOB_ID" > id.txt; sleep 1000\n', 'data.bin': randomBytes(200_000).toString('hex') });
      const started = Date.now();
      assert.equal(ok(await t(['submit', 'slow', '--id', 'lossy1', dir])), 'lossy1\n');
      const s = await waitFor('lossy1 to run', () => t(['status', 'slow', '--id', 'lossy1']), (r) => r.code === 2);
      assert.match(s.stdout, /^running/);
      assert.match(ok(await t(['list', 'slow'])), /^lossy1\trunning/m);
      await waitFor('id.txt', () => t(['download', 'slow', '--id', 'lossy1', 'id.txt:']), (r) => r.code === 0 && r.stdout === 'lossy1\n');
      const back = await sshHost.lab.makeTmpDir('tej-lossy-');
      ok(await tej(['download', 'slow', '--id', 'lossy1', `data.bin:${join(back, 'data.bin')}`], { home: slow, timeoutMs: 120_000 }));
      assert.ok((await readFile(join(back, 'data.bin'))).equals(await readFile(join(dir, 'data.bin'))), 'the download is whole');
      assert.equal(ok(await t(['kill', 'slow', '--id', 'lossy1', '--grace', '2'])), 'lossy1: killed\n');
      ok(await t(['delete', 'slow', '--id', 'lossy1']));
      assert.equal((await t(['status', 'slow', '--id', 'lossy1'])).code, 66);
      assert.ok(Date.now() - started > 2000, 'the delay was in effect');
    } finally {
      await sshHost.lab.fault('h1', 'clear');
      await proxy.close();
    }
  });
});
