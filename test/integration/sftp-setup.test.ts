// Setup over SFTP (issue 15), against real sshd hosts: h1 has OpenSSH's SFTP subsystem, bare has none
// (lab.sh -o bare:Subsystem=none), where setup falls back to the shell installer. The shell's checks
// hold on the SFTP path: a foreign directory, a queue of another user, a symlinked directory inside
// the queue are refused; nothing of the install is left behind.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

describe('setup over SFTP, and over the shell where there is no SFTP', () => {
  let lab: Lab<'h1' | 'bare'>;
  let home: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 120_000 });
  const sh = (host: 'h1' | 'bare', script: string) => lab.execAs(host, 'alice', script);

  before(async () => {
    lab = await startLab({ hosts: [{ name: 'h1' }, { name: 'bare', sshd: { Subsystem: 'none' } }] });
    home = await makeClientHome(lab);
  });
  after(async () => {
    await lab?.stop();
  });

  /** Submits a job to HOST and waits for its output: the installed queue works. */
  async function jobRuns(host: string, id: string): Promise<void> {
    const dir = await makeJob(join(home, `job-${id}`), { 'start.sh': 'echo ran-$TEJ_JOB_ID\n' });
    ok(await run(['submit', host, '--id', id, dir]));
    await waitFor(id, () => run(['status', host, '--id', id]), (s) => s.code === 0, 60_000);
    assert.equal(ok(await run(['logs', host, '--id', id])), `ran-${id}\n`);
  }

  it('installs over SFTP on a host that has it: mode 0700, VERSION, no temporary directory left; jobs run', async () => {
    const r = await run(['setup', 'h1', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /sftp: install tej helpers into ~\/\.tej/);
    assert.doesNotMatch(r.stderr, /no SFTP|\$ install tej helpers/);
    const st = await sh('h1', 'cd ~/.tej && ls -ldn . | cut -c1-10 && ls -A && cat VERSION && ls -ln lib/common.sh tej-remote | cut -c1-10');
    assert.match(st.stdout, /^drwx------$/m);
    assert.match(st.stdout, /^proto=\d+$/m);
    assert.match(st.stdout, /^-rw-------$/m, 'a library keeps 0600');
    assert.match(st.stdout, /^-rwx------$/m, 'tej-remote is executable');
    assert.doesNotMatch(st.stdout, /\.install\./);
    await jobRuns('h1', 'sftp1');
    // an upgrade over an installed queue (helpers replaced in place) also goes over SFTP
    await sh('h1', "printf 'proto=1\\nversion=0\\nhash=old\\n' > ~/.tej/VERSION && echo '# modified' >> ~/.tej/lib/common.sh");
    const again = await run(['status', 'h1', '--id', 'sftp1', '--verbose']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /sftp: install tej helpers/);
    assert.equal((await sh('h1', 'grep -c "# modified" ~/.tej/lib/common.sh || true')).stdout.trim(), '0');
  });

  it('falls back to the shell installer on a host without the SFTP subsystem', async () => {
    const config = await lab.exec('bare', ['/usr/sbin/sshd', '-T', '-f', '/etc/ssh/sshd_config']);
    assert.doesNotMatch(config.stdout, /^subsystem /m, 'the lab host has no SFTP');
    const r = await run(['setup', 'bare', '--verbose']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no SFTP .*installing with the shell/);
    assert.match(r.stderr, /\$ install tej helpers into ~\/\.tej/);
    await jobRuns('bare', 'shell1');
  });

  it('refuses what the shell refuses: a foreign directory, a queue of another user, a symlinked directory inside', async () => {
    await sh('h1', 'mkdir -p ~/foreign && echo mine > ~/foreign/notes.txt');
    const foreign = await run(['setup', 'h1', '--queue', '~/foreign']);
    assert.equal(foreign.code, 69, foreign.stderr);
    assert.match(foreign.stderr, /exists and is not a tej queue/);
    assert.equal((await sh('h1', 'ls -A ~/foreign')).stdout, 'notes.txt\n');

    // bob's directory, open to all: alice can write into it, but it is not hers
    await lab.exec('h1', ['sh', '-c', 'mkdir -p /tmp/bobq && chown bob /tmp/bobq && chmod 777 /tmp/bobq']);
    const other = await run(['setup', 'h1', '--queue', '/tmp/bobq']);
    assert.notEqual(other.code, 0);
    assert.match(other.stderr, /belongs to uid 2002, not to you/);
    assert.equal((await lab.exec('h1', ['ls', '-A', '/tmp/bobq'])).stdout, '', 'nothing left in it');

    // lib/ of a queue made a symlink to a directory elsewhere: the helpers are not written through it
    ok(await run(['setup', 'h1', '--queue', '~/q2']));
    await sh('h1', 'mkdir ~/elsewhere && rm -r ~/q2/lib && ln -s ~/elsewhere ~/q2/lib && rm ~/q2/VERSION');
    const linked = await run(['setup', 'h1', '--queue', '~/q2']);
    assert.notEqual(linked.code, 0);
    assert.match(linked.stderr, /lib is not a directory of yours/);
    assert.equal((await sh('h1', 'ls -A ~/elsewhere')).stdout, '');
    assert.equal((await sh('h1', 'ls -A ~/q2 | grep -c "^\\.install\\." || true')).stdout.trim(), '0');
  });
});
