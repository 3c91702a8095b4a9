// tej shell on the slurm plugin, against a real Slurm (single node: slurmctld + slurmd on the host),
// driven through a real pseudo-terminal: a running job's shell is a step of its allocation with a
// terminal there (srun --pty: SLURM_JOB_ID is the job's own, the size is the window's); an ended job's
// runs on the login node, in its directory.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';
import { tejOnTerminal } from '../helpers/terminal.js';

describe('tej shell on a real Slurm', () => {
  let lab: Lab<'s1'>;
  let home: string;
  let jobs: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 120_000 });
  const statusOf = async (id: string) => JSON.parse((await run(['status', 's1', '--id', id, '--json'])).stdout) as { state: string; native_id: string | null };

  before(async () => {
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-slurm-shell-');
    ok(await run(['setup', 's1', '--plugin', 'slurm']));
  });
  after(async () => {
    await lab?.stop();
  });

  // `S''HOWN` typed, `SHOWN` printed: the output is told from the terminal's echo of the command
  const SHOW = `echo "job=\${SLURM_JOB_ID-none} step=\${SLURM_STEP_ID-none} id=$TEJ_JOB_ID"; pwd -P; tty >/dev/null && echo T''TY; stty size; echo S''HOWN\r`;

  it("opens a shell in a running job's allocation, with a terminal there, and on the login node once it ended", async () => {
    const id = 'ssh-run';
    const dir = await makeJob(join(jobs, id), { 'start.sh': 'while ! test -f stop; do sleep 0.2; done\n' });
    ok(await run(['submit', 's1', '--id', id, dir]));
    const native = (await waitFor(`${id} running`, () => statusOf(id), (s) => s.state === 'running', 120_000)).native_id!;
    try {
      const t = tejOnTerminal(['shell', 's1', '--id', id], { home, rows: 31, cols: 97 });
      t.type(SHOW);
      const shown = await t.shows(/\nSHOWN\r*\n/);
      assert.match(shown, new RegExp(`[\\r\\n]job=${native} step=\\d+ id=${id}\\r*\\n`), shown);
      assert.match(shown, new RegExp(`/jobs/${id}/work\\r*\\nTTY\\r*\\n31 97\\r*\\n`), shown);
      t.type('exit 4\r');
      const { code, screen } = await t.done;
      assert.equal(code, 4, screen);
    } finally {
      ok(await run(['exec', 's1', '--id', id, '--', 'touch', 'stop']));
    }
    await waitFor(`${id} finished`, () => statusOf(id), (s) => s.state === 'finished', 120_000);
    const t = tejOnTerminal(['shell', 's1', '--id', id], { home });
    t.type(SHOW);
    const shown = await t.shows(/\nSHOWN\r*\n/);
    assert.match(shown, new RegExp(`[\\r\\n]job=none step=none id=${id}\\r*\\n`), shown);
    assert.match(shown, new RegExp(`/jobs/${id}/work\\r*\\nTTY\\r*\\n`), shown);
    t.type('exit\r');
    assert.equal((await t.done).code, 0);
  });
});
