// ProxyJump from ~/.ssh/config: the second host is reached through the first.
import assert from 'node:assert/strict';
import { appendFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, tej, waitFor } from '../helpers/cli.js';
import { startJumpLab } from '../helpers/jump-lab.js';
import type { Lab } from '../helpers/lab.js';

describe('ProxyJump', () => {
  let lab: Lab<'jump' | 'inner'>;
  let home: string;
  // its own lab, not useSshHost(): a jump host and an inner host (helpers/jump-lab.ts)
  before(async () => {
    ({ lab, home } = await startJumpLab());
  });
  after(async () => {
    await lab?.stop();
  });

  it('submits and reads back a job through a jump host named in ~/.ssh/config', async () => {
    const dir = await makeJob(join(home, 'pj'), { 'start.sh': 'hostname > where.txt\n' });
    const sub = await tej(['submit', 'viajump', '--id', 'pj1', dir], { home });
    assert.equal(sub.code, 0, sub.stderr);
    await waitFor('pj1', () => tej(['status', 'viajump', '--id', 'pj1'], { home }), (r) => r.code === 0);
    const where = await tej(['download', 'viajump', '--id', 'pj1', 'where.txt:'], { home });
    assert.equal(where.stdout, 'inner\n', where.stderr);
    // the job is on the inner host, not on the jump host
    assert.equal((await lab.execAs('inner', 'alice', 'test -d ~/.tej/jobs/pj1')).code, 0);
    assert.notEqual((await lab.execAs('jump', 'alice', 'test -d ~/.tej/jobs/pj1')).code, 0);
  });

  it('follows a ProxyJump written user@host:port or as an ssh:// URL, as OpenSSH does', async () => {
    const key = join(home, '.ssh', 'id_ed25519');
    for (const [alias, jump] of [['viaport', 'alice@jump:22'], ['viaurl', 'ssh://alice@jump:22']] as const) {
      await appendFile(join(home, '.ssh', 'config'), `Host ${alias}\n  HostName ${lab.hosts.inner.ip}\n  User alice\n  IdentityFile ${key}\n  IdentitiesOnly yes\n  ProxyJump ${jump}\n`);
      const r = await tej(['list', alias, '-v'], { home });
      assert.equal(r.code, 0, `${jump}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`via ${jump.replace(/[/.]/g, '\\$&')}`), r.stderr);
    }
  });

  it('a refused last hop fails at once: the jump host connection is closed with it', async () => {
    const empty = join(home, '.ssh', 'known_hosts_empty');
    await writeFile(empty, '');
    await appendFile(join(home, '.ssh', 'config'), `Host unknownjump\n  HostName ${lab.hosts.inner.ip}\n  User alice\n  IdentityFile ${join(home, '.ssh', 'id_ed25519')}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${empty}\n  ProxyJump jump\n`);
    const r = await tej(['list', 'unknownjump'], { home, timeoutMs: 15_000 });
    assert.notEqual(r.code, null, `tej exits by itself, not kept alive by the jump connection: ${r.stderr}`);
    assert.equal(r.code, 77, r.stderr);
    assert.match(r.stderr, /host key/i);
  });

  it('keeps a persistent connection through the jump host (--persist), and disconnect ends it', async () => {
    const runtime = join(home, 'run');
    await mkdir(runtime, { recursive: true, mode: 0o700 });
    const env = { XDG_RUNTIME_DIR: runtime };
    try {
      const first = await tej(['download', 'viajump', '--id', 'pj1', 'where.txt:', '--persist', '-v'], { home, env });
      assert.equal(first.code, 0, first.stderr);
      assert.equal(first.stdout, 'inner\n');
      assert.match(first.stderr, /persistent connection \(started/);
      const second = await tej(['download', 'viajump', '--id', 'pj1', 'where.txt:', '--persist', '-v'], { home, env });
      assert.equal(second.stdout, 'inner\n', second.stderr);
      assert.match(second.stderr, /persistent connection \(reused/);
      assert.doesNotMatch(second.stderr, /auth: publickey/, 'neither hop logs in again');
    } finally {
      const d = await tej(['disconnect', 'viajump'], { home, env });
      assert.match(d.stderr, /closed the persistent connection/);
    }
    await waitFor('the socket to go', async () => readdir(join(runtime, 'tej')), (f) => !f.some((n) => n.endsWith('.sock')), 60_000);
  });
});
