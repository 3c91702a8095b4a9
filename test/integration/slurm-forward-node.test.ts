// tej forward to a Slurm compute node the client cannot reach: a lab of a login host s1 (slurmctld and
// slurmd) and a compute node c1 (slurmd only, s1's /home), whose firewall rejects every connection
// but s1's. A job placed on c1 serves HTTP there; the forward reaches it from s1's sshd.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, startTej, tej, waitFor } from '../helpers/cli.js';
import { fetchText } from '../helpers/wait.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

/** How a TCP connect from here to ip:port ends: 'connected' or the error's code. */
function tryConnect(ip: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

describe('tej forward to a Slurm compute node behind the login host', () => {
  let lab: Lab<'s1' | 'c1'>;
  let home: string;
  let jobs: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 120_000 });

  before(async () => {
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }, { name: 'c1', role: 'slurmd' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-slurm-forward-node-');
    ok(await run(['setup', 's1', '--plugin', 'slurm']));
    // c1 takes connections from s1 alone: the client's are reset
    for (const cmd of [
      ['nft', 'add', 'table', 'inet', 'tejnode'],
      ['nft', 'add', 'chain', 'inet', 'tejnode', 'input', '{ type filter hook input priority 0; policy accept; }'],
      ['nft', 'add', 'rule', 'inet', 'tejnode', 'input', 'iifname', 'eth0', 'ip', 'saddr', '!=', lab.hosts.s1.ip, 'tcp', 'flags', 'syn', 'reject', 'with', 'tcp', 'reset'],
    ]) {
      const r = await lab.exec('c1', cmd);
      assert.equal(r.code, 0, `${cmd.join(' ')}: ${r.stderr}`);
    }
  });
  after(async () => {
    await lab?.stop();
  });

  it("reaches the job's port on c1 through s1", async () => {
    const id = 'sfn';
    const dir = await makeJob(join(jobs, id), {
      'start.sh': 'printf "on %s\\n" "$(hostname)" > page.txt\nexec /usr/bin/python3 -m http.server 18086 --bind 0.0.0.0\n',
      'tej.json': JSON.stringify({ slurm: { sbatch_args: ['--nodelist=c1'] } }),
    });
    ok(await run(['submit', 's1', '--id', id, dir]));
    const f = startTej(['forward', 's1', '--id', id, '--json', '0:18086'], { home });
    try {
      await f.stdoutMatches(/\n$/);
      const doc = JSON.parse(f.out.stdout) as { node: string; ports: { url: string }[] };
      assert.equal(doc.node, 'c1');
      const page = await waitFor(
        'the page',
        () => fetchText(`${doc.ports[0]!.url}/page.txt`),
        (t) => !t.startsWith('failed'),
        90_000,
      );
      assert.equal(page, 'on c1\n');
      // the client itself cannot reach the job's port, nor c1's sshd
      assert.equal(await tryConnect(lab.hosts.c1.ip, 18086), 'ECONNREFUSED');
      assert.equal(await tryConnect(lab.hosts.c1.ip, 22), 'ECONNREFUSED');
    } finally {
      ok(await run(['kill', 's1', '--id', id]));
    }
    const r = await f.done;
    assert.equal(r.code, 0, r.stderr);
  });
});
