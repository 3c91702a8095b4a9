// tej forward on the slurm plugin, against a real Slurm (single node: slurmctld + slurmd on the host):
// started while the job is held in the queue, it waits, learns the job's node from the scheduler once the
// job runs (squeue %N: s1, the node's name, which the login host resolves), forwards to node:PORT from
// the login host's sshd, and ends when Slurm ends the job.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, ok, startTej, tej, waitFor } from '../helpers/cli.js';
import { fetchText } from '../helpers/wait.js';
import { useSlurmHost } from '../helpers/slurm-lab.js';

describe('tej forward on a real Slurm', () => {
  const slurm = useSlurmHost('tej-slurm-forward-');
  const { run, statusOf } = slurm;

  it('waits for a queued job to start, then reaches its port on its node', async () => {
    const id = 'sf-held';
    // on the node's address (the node's name resolves to it), not 127.0.0.1: the login host connects to it
    const dir = await makeJob(join(slurm.jobs, id), {
      'start.sh': 'printf "%s on %s\\n" "$SLURM_JOB_ID" "$SLURMD_NODENAME" > page.txt\nexec /usr/bin/python3 -m http.server 18084 --bind 0.0.0.0\n',
      'tej.json': JSON.stringify({ slurm: { sbatch_args: ['--hold'] } }),
    });
    ok(await run(['submit', 's1', '--id', id, dir]));
    const queued = await statusOf(id);
    assert.equal(queued.state, 'queued');
    const f = startTej(['forward', 's1', '--id', id, '--json', '0:18084'], { home: slurm.home });
    try {
      await f.stderrMatches(/job sf-held is queued on .*waiting for it to start/);
      assert.equal(f.out.stdout, '');
      const rel = await slurm.lab.exec('s1', ['scontrol', 'release', queued.native_id!]);
      assert.equal(rel.code, 0, rel.stderr);
      await f.stdoutMatches(/\n$/);
      const doc = JSON.parse(f.out.stdout) as { node: string; ports: { url: string }[] };
      assert.equal(doc.node, 's1');
      const page = await waitFor(
        'the page',
        () => fetchText(`${doc.ports[0]!.url}/page.txt`),
        (t) => !t.startsWith('failed'),
        90_000,
      );
      assert.equal(page, `${queued.native_id} on s1\n`);
    } finally {
      ok(await run(['kill', 's1', '--id', id]));
    }
    const r = await f.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /job sf-held is killed: the forward ended/);
  });
});
