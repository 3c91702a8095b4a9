// tej exec and tej shell on the slurm plugin, against a real Slurm (single node: slurmctld + slurmd on the
// host): a running job's command runs as a step of its allocation (SLURM_JOB_ID is the job's own, a step
// id is set), in its work/ with its environment; a queued or ended job's runs on the login node, in its
// directory. The shell is driven through a real pseudo-terminal and has one there too (srun --pty).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { useSlurmHost } from '../helpers/slurm-lab.js';
import { tejOnTerminal } from '../helpers/terminal.js';

describe('tej exec and tej shell on a real Slurm', { concurrency: true }, () => {
  const slurm = useSlurmHost('tej-slurm-exec-');
  const { run, statusOf } = slurm;

  const SHOW = 'printf "%s|%s|%s|%s\\n" "${SLURM_JOB_ID-none}" "${SLURM_STEP_ID-none}" "$TEJ_JOB_ID" "$GREETING"; pwd -P';

  it("runs in a running job's allocation, and on the login node once the job ended", async () => {
    const id = 'sx-run';
    const dir = await makeJob(join(slurm.jobs, id), {
      'start.sh': 'while ! test -f stop; do sleep 0.2; done\n',
      'tej.json': JSON.stringify({ env: { GREETING: "it's $x !" } }),
    });
    ok(await run(['submit', 's1', '--id', id, dir]));
    const running = await waitFor(`${id} running`, () => statusOf(id), (s) => s.state === 'running', 120_000);
    const native = running.native_id!;
    assert.match(native, /^\d+$/);
    try {
      const inside = await run(['exec', 's1', '--id', id, '--', 'sh', '-c', SHOW]);
      assert.equal(inside.code, 0, inside.stderr);
      const [vars, cwd] = inside.stdout.split('\n');
      const [jobId, stepId, tejId, greeting] = vars!.split('|');
      assert.equal(jobId, native, inside.stdout);
      assert.match(stepId!, /^\d+$/, `a step of the allocation: ${inside.stdout}`);
      assert.equal(tejId, id);
      assert.equal(greeting, "it's $x !");
      assert.match(cwd!, new RegExp(`/jobs/${id}/work$`));
      // exit statuses and stdin pass through srun
      const three = await run(['exec', 's1', '--id', id, '--', 'sh', '-c', 'cat; exit 3']);
      assert.equal(three.code, 3, three.stderr);
      const killed = await run(['exec', 's1', '--id', id, '--', 'sh', '-c', 'kill -TERM $$']);
      assert.equal(killed.code, 143, killed.stderr);
      const fed = await tej(['exec', 's1', '--id', id, '--', 'cat'], { home: slurm.home, input: 'to the step\n', timeoutMs: 120_000 });
      assert.equal(fed.code, 0, fed.stderr);
      assert.equal(fed.stdout, 'to the step\n');
    } finally {
      ok(await run(['exec', 's1', '--id', id, '--', 'touch', 'stop']));
    }
    await waitFor(`${id} finished`, () => statusOf(id), (s) => s.state === 'finished', 120_000);
    const outside = await run(['exec', 's1', '--id', id, '--', 'sh', '-c', SHOW]);
    assert.equal(outside.code, 0, outside.stderr);
    assert.equal(outside.stdout.split('\n')[0], `none|none|${id}|it's $x !`);
    assert.match(outside.stdout.split('\n')[1]!, new RegExp(`/jobs/${id}/work$`));
  });

  it("runs a job's command in its own allocation, not in another job's whose id it wrote into its native-id", async () => {
    const victim = await makeJob(join(slurm.jobs, 'sx-victim'), { 'start.sh': 'while ! test -f stop; do sleep 0.2; done\n' });
    ok(await run(['submit', 's1', '--id', 'sx-victim', victim]));
    const victimId = (await waitFor('sx-victim running', () => statusOf('sx-victim'), (s) => s.state === 'running', 120_000)).native_id!;
    const liar = await makeJob(join(slurm.jobs, 'sx-liar'), {
      'start.sh': `echo ${victimId} > "$TEJ_QUEUE/jobs/sx-liar/native-id"\nwhile ! test -f stop; do sleep 0.2; done\n`,
    });
    ok(await run(['submit', 's1', '--id', 'sx-liar', liar]));
    try {
      await waitFor('sx-liar running with the forged id', () => statusOf('sx-liar'), (s) => s.state === 'running' && s.native_id === victimId, 120_000);
      const own = (await slurm.lab.execAs('s1', 'alice', 'squeue -h -n sx-liar -o %i')).stdout.trim();
      assert.match(own, /^\d+$/);
      assert.notEqual(own, victimId);
      const inside = await run(['exec', 's1', '--id', 'sx-liar', '--', 'sh', '-c', 'echo "$SLURM_JOB_ID"']);
      assert.equal(inside.code, 0, inside.stderr);
      assert.equal(inside.stdout, `${own}\n`, 'the step ran in the liar\'s own allocation');
    } finally {
      ok(await run(['exec', 's1', '--id', 'sx-liar', '--', 'touch', 'stop']));
      ok(await run(['exec', 's1', '--id', 'sx-victim', '--', 'touch', 'stop']));
    }
  });

  it("runs a queued job's command on the login node, in its directory", async () => {
    const id = 'sx-held';
    const dir = await makeJob(join(slurm.jobs, id), {
      'start.sh': 'echo ran > ran.txt\n',
      'tej.json': JSON.stringify({ env: { GREETING: 'held' }, slurm: { sbatch_args: ['--hold'] } }),
    });
    ok(await run(['submit', 's1', '--id', id, dir]));
    try {
      assert.equal((await statusOf(id)).state, 'queued');
      const r = await run(['exec', 's1', '--id', id, '--', 'sh', '-c', SHOW]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.split('\n')[0], `none|none|${id}|held`);
      assert.match(r.stdout.split('\n')[1]!, new RegExp(`/jobs/${id}/work$`));
    } finally {
      ok(await run(['kill', 's1', '--id', id]));
    }
  });

  // `S''HOWN` typed, `SHOWN` printed: the output is told from the terminal's echo of the command
  const SHELL_SHOW = `echo "job=\${SLURM_JOB_ID-none} step=\${SLURM_STEP_ID-none} id=$TEJ_JOB_ID"; pwd -P; tty >/dev/null && echo T''TY; stty size; echo S''HOWN\r`;

  it("opens a shell in a running job's allocation, with a terminal there, and on the login node once it ended", async () => {
    const id = 'ssh-run';
    const dir = await makeJob(join(slurm.jobs, id), { 'start.sh': 'while ! test -f stop; do sleep 0.2; done\n' });
    ok(await run(['submit', 's1', '--id', id, dir]));
    const native = (await waitFor(`${id} running`, () => statusOf(id), (s) => s.state === 'running', 120_000)).native_id!;
    try {
      const t = tejOnTerminal(['shell', 's1', '--id', id], { home: slurm.home, rows: 31, cols: 97 });
      t.type(SHELL_SHOW);
      const shown = await t.shows(/\nSHOWN\r*\n/);
      assert.match(shown, new RegExp(`job=${native} step=\\d+ id=${id}\\r*\\n`), shown);
      assert.match(shown, new RegExp(`/jobs/${id}/work\\r*\\nTTY\\r*\\n31 97\\r*\\n`), shown);
      t.type('exit 4\r');
      const { code, screen } = await t.done;
      assert.equal(code, 4, screen);
    } finally {
      ok(await run(['exec', 's1', '--id', id, '--', 'touch', 'stop']));
    }
    await waitFor(`${id} finished`, () => statusOf(id), (s) => s.state === 'finished', 120_000);
    const t = tejOnTerminal(['shell', 's1', '--id', id], { home: slurm.home });
    t.type(SHELL_SHOW);
    const shown = await t.shows(/\nSHOWN\r*\n/);
    assert.match(shown, new RegExp(`job=none step=none id=${id}\\r*\\n`), shown);
    assert.match(shown, new RegExp(`/jobs/${id}/work\\r*\\nTTY\\r*\\n`), shown);
    t.type('exit\r');
    assert.equal((await t.done).code, 0);
  });
});
