// Proves the test harness itself: real OpenSSH and Slurm in namespace hosts, faults, restart, the
// delay proxy, and a clean teardown.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { createServer, connect, type AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { carolBanner, makeClientHome, startDelayProxy, startLab, type Lab } from '../helpers/lab.js';

const LAB_SH = join(dirname(fileURLToPath(import.meta.url)), '..', 'lab', 'lab.sh');

interface SshResult { code: number; stdout: string; stderr: string; ms: number }

// `ssh -F <home>/.ssh/config [options] host command`, stdin closed
function ssh(home: string, args: readonly string[]): Promise<SshResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', ['-F', join(home, '.ssh', 'config'), '-o', 'ConnectTimeout=2', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: performance.now() - t0 }));
  });
}

function labNamespaces(name: string): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  return out.split('\n').map((l) => l.split(' ')[0] ?? '').filter((ns) => ns.startsWith(`${name}-`));
}

describe('the namespace test lab', () => {
  let lab: Lab<'h1' | 's1'>;
  let home: string;

  // its own startLab, not useSshHost(): it tests the lab itself, on an ssh and a slurm host
  before(async () => {
    const t0 = performance.now();
    lab = await startLab({ hosts: [{ name: 'h1', role: 'ssh' }, { name: 's1', role: 'slurm' }] });
    home = await makeClientHome(lab);
    console.log(`# lab ${lab.name} up in ${Math.round(performance.now() - t0)} ms`);
  });

  after(() => lab?.stop());

  it('makes a client home whose .ssh holds a private config, key and known_hosts', async () => {
    assert.equal((await stat(join(home, '.ssh'))).mode & 0o777, 0o700);
    assert.equal((await stat(join(home, '.ssh', 'id_ed25519'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(home, '.ssh', 'known_hosts'))).isFile(), true);
  });

  it('lets OpenSSH log in as alice on the ssh host and on the slurm host', async () => {
    for (const host of ['h1', 's1'] as const) {
      const r = await ssh(home, [host, 'id -un; hostname; echo $SHELL']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `alice\n${host}\n/bin/bash\n`);
    }
  });

  it("prints carol's login banner on stdout before an ssh exec command's output", async () => {
    const r = await ssh(home, ['-l', 'carol', 'h1', 'echo ok']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${carolBanner('h1')}ok\n`);
  });

  it('runs exec as root inside the host and execAs as the user in their home', async () => {
    assert.deepEqual(await lab.exec('h1', ['sh', '-c', 'id -un; hostname']), { code: 0, stdout: 'root\nh1\n', stderr: '' });
    assert.deepEqual(await lab.execAs('s1', 'bob', 'id -un; pwd; exit 3'), { code: 3, stdout: 'bob\n/home/bob\n', stderr: '' });
    const r = await lab.exec('h1', ['cat'], { input: 'piped\n' });
    assert.equal(r.stdout, 'piped\n');
  });

  it('makes ssh time out under link-down and connect again after link-up', async () => {
    await lab.fault('h1', 'link-down');
    const down = await ssh(home, ['-o', 'ConnectTimeout=1', 'h1', 'true']);
    assert.equal(down.code, 255);
    assert.match(down.stderr, /timed out/);
    assert.ok(down.ms < 5000, `ssh took ${down.ms} ms`);
    await lab.fault('h1', 'link-up');
    assert.equal((await ssh(home, ['h1', 'true'])).code, 0);
  });

  it('makes ssh fail at once under reject and connect again after clear', async () => {
    await lab.fault('h1', 'reject');
    const refused = await ssh(home, ['h1', 'true']);
    assert.equal(refused.code, 255);
    assert.match(refused.stderr, /refused/);
    await lab.fault('h1', 'clear');
    assert.equal((await ssh(home, ['h1', 'true'])).code, 0);
  });

  it('restart kills every process of the host and brings sshd back with the same host key', async () => {
    const bg = await lab.execAs('h1', 'alice', 'nohup sleep 600 >/dev/null 2>&1 & echo $!');
    assert.match(bg.stdout, /^\d+\n$/);
    await lab.restart('h1');
    assert.equal((await lab.exec('h1', ['pgrep', '-x', 'sleep'])).code, 1);
    const r = await ssh(home, ['h1', 'hostname']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'h1\n');
  });

  it('runs an sbatch --wrap job to COMPLETED on the slurm host', async () => {
    const sub = await ssh(home, ['s1', 'sbatch --parsable --wrap "echo hello from \\$(hostname)"']);
    assert.equal(sub.code, 0, sub.stderr);
    const id = sub.stdout.trim();
    assert.match(id, /^\d+$/);
    let state = '';
    for (let i = 0; i < 100 && state !== 'COMPLETED'; i++) {
      state = (await lab.exec('s1', ['squeue', '-h', '-t', 'all', '-j', id, '-o', '%T'])).stdout.trim();
      if (state !== 'COMPLETED') await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(state, 'COMPLETED');
    assert.equal((await ssh(home, ['s1', `cat slurm-${id}.out`])).stdout, 'hello from s1\n');
  });

  it('delays every chunk through the delay proxy, both ways, in order', async () => {
    const echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const proxy = await startDelayProxy('127.0.0.1', (echo.address() as AddressInfo).port, 100);
    try {
      const sock = connect(proxy.port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const t0 = performance.now();
      const got = new Promise<string>((resolve) => {
        let text = '';
        sock.on('data', (b: Buffer) => {
          text += b.toString();
          if (text.length >= 6) resolve(text);
        });
      });
      sock.write('abc');
      sock.write('def');
      assert.equal(await got, 'abcdef');
      const rtt = performance.now() - t0;
      assert.ok(rtt >= 2 * 100 - 2, `round trip ${rtt} ms`);
      sock.destroy();
    } finally {
      await proxy.close();
      echo.close();
    }
  });

  it('carries a real ssh session to a lab host through the delay proxy', async () => {
    const proxy = await startDelayProxy(lab.hosts.h1.ip, lab.hosts.h1.port, 50);
    try {
      const r = await ssh(home, ['-o', 'HostName=127.0.0.1', '-o', `Port=${proxy.port}`, '-o', 'HostKeyAlias=h1', 'h1', 'hostname']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'h1\n');
      assert.ok(r.ms >= 4 * 2 * 50, `ssh through the proxy took only ${r.ms} ms`); // several round trips
    } finally {
      await proxy.close();
    }
  });

  it('runs a second lab beside the first on its own name and subnet', async () => {
    const other = await startLab({ hosts: [{ name: 'h1' }] });
    try {
      assert.notEqual(other.name, lab.name);
      assert.notEqual(other.hosts.h1.ip, lab.hosts.h1.ip);
      const r = await ssh(await makeClientHome(other), ['h1', 'hostname']);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await other.stop();
    }
    assert.deepEqual(labNamespaces(other.name), []);
    assert.equal((await ssh(home, ['h1', 'true'])).code, 0);
  });

  it('refuses up, down and restart from a process other than the lab\'s running owner, and says whose it is', async () => {
    // Issue 11, item 25: a lab host died mid-suite when 2 or 3 suites ran at once, its whole lab gone
    // (netns included): a lab.sh down of that name that its owner never ran.
    const net = lab.hosts.h1.ip.split('.').slice(0, 3).join('.');
    for (const cmd of [['down'], ['restart', 'h1'], ['up', 'h1']]) {
      const r = spawnSync('bash', [LAB_SH, '-n', lab.name, '-d', lab.dir, '-s', net, ...cmd], { encoding: 'utf8' });
      assert.notEqual(r.status, 0, `${cmd[0]}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`lab ${lab.name} belongs to test process ${process.pid}, which still runs`));
    }
    assert.equal((await lab.exec('h1', ['true'])).code, 0, 'the host runs on');
    assert.equal((await ssh(home, ['h1', 'true'])).code, 0);
  });

  it('leaves no namespace, link or directory of the lab behind after stop()', async () => {
    await lab.stop();
    assert.deepEqual(labNamespaces(lab.name), []);
    assert.notEqual(spawnSync('ip', ['link', 'show', `${lab.name}0`], { stdio: 'ignore' }).status, 0);
    await assert.rejects(stat(lab.dir), { code: 'ENOENT' });
    await assert.rejects(stat(home), { code: 'ENOENT' });
  });
});
