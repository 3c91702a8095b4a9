// The usage record from Slurm's accounting (lib/sacct.sh), on a real slurmdbd: a lab host of role
// slurmdb (MariaDB + slurmdbd, test/lab/slurmdbd-host.sh). A job that held 100 MB and burnt a CPU-second
// shows sacct's figures in show and --json, kept in the job's record once it settled. (The plain slurm
// lab, whose sacct says "accounting storage is disabled", keeps the wrapper's: usage.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej } from '../helpers/cli.js';
import { makeClientHome, startLab, startTime, type Lab } from '../helpers/lab.js';
import { waitFor } from '../helpers/wait.js';

// 100 MB in the shell's memory, held until Slurm's gatherer has seen it (sstat: the live batch step's
// MaxRSS, an event, not a time), then the shell's own CPU time (/proc/$$/stat utime, in ticks of 1/100 s)
// brought to a second by a busy loop
const HUNGRY = `x=$(head -c 100000000 /dev/zero | tr "\\0" a)
n=0
until sstat -n -P -j "$SLURM_JOB_ID.batch" -o MaxRSS 2>/dev/null | grep -Eq '^([0-9]{6,}K|[0-9.]+[MG])$'; do
  n=$((n + 1)); [ $n -lt 1200 ] || { echo "sstat never saw 100 MB" >&2; exit 3; }; sleep 0.1
done
until [ "$(awk '{ print $14 }' /proc/$$/stat)" -ge 100 ]; do i=0; while [ $i -lt 10000 ]; do i=$((i + 1)); done; done
echo \${#x}
`;

interface Usage { max_rss_bytes: number | null; cpu_user_s: number | null; cpu_sys_s: number | null; wall_s: number | null; source: string | null }

/** "PID START" of the lab host's mariadbd, as the root namespace sees it (ip netns pids: the host's netns). */
function mariadbdOf(netns: string): string[] {
  const pids = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'mariadbd';
    } catch {
      return false;
    }
  }).map((p) => `${p} ${startTime(Number(p))}`);
}

describe('the usage record from sacct, on a Slurm with slurmdbd', () => {
  let lab: Lab<'s1'>;
  let home: string;
  let jobs: string;
  let mariadbd: string[] = [];
  const run = (args: string[]) => tej(args, { home, timeoutMs: 120_000 });

  before(async () => {
    const t0 = Date.now();
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurmdb' }] });
    // lab.sh waited for slurmdbd-host.sh ("ready": the database, slurmdbd, the cluster and users) and
    // for slurmd; slurmctld registered with slurmdbd: the cluster has its control host
    const clusters = await lab.execAs('s1', 'alice', 'sacctmgr -n -P list cluster format=cluster,controlhost');
    if (!/^\w+\|\d+\.\d+\.\d+\.\d+$/m.test(clusters.stdout)) {
      const log = await lab.exec('s1', ['tail', '-n', '30', '/srv/lab/hosts/s1/log/slurmdbd.log', '/srv/lab/hosts/s1/log/slurmctld.log']);
      throw new Error(`slurmctld is not registered with slurmdbd: ${clusters.stdout}${clusters.stderr}\n${log.stdout}`);
    }
    process.stderr.write(`# the slurmdb lab came up in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    mariadbd = mariadbdOf(`${lab.name}-s1`);
    assert.equal(mariadbd.length, 1, 'one mariadbd in the host');
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-sacct-');
    ok(await run(['setup', 's1', '--plugin', 'slurm']));
  });
  after(async () => {
    await lab?.stop();
    // the host's PID namespace took its daemons along: no mariadbd is left
    for (const ps of mariadbd) assert.notEqual(startTime(Number(ps.split(' ')[0])), ps.split(' ')[1], `mariadbd ${ps} outlived its lab`);
  });

  it("gives a job's max RSS and CPU from sacct, in show and --json, and keeps them in the job's record", async () => {
    ok(await run(['submit', 's1', '--id', 'hungry', await makeJob(join(jobs, 'hungry'), { 'start.sh': HUNGRY })]));
    ok(await run(['wait', 's1', '--id', 'hungry']));
    // slurmctld sends the job's end to slurmdbd after squeue shows it: until then the job does not
    // settle and its record is the wrapper's
    const show = () => run(['show', 's1', '--id', 'hungry', '--json']).then((r) => JSON.parse(ok(r)) as { usage: Usage; exit_code: number; native_id: string });
    const rec = await waitFor('sacct in the usage record', show, (r) => r.usage.source === 'sacct', 120_000);
    assert.equal(rec.exit_code, 0);
    const u = rec.usage;
    assert.ok(u.max_rss_bytes! >= 95e6 && u.max_rss_bytes! <= 400e6, `max RSS ${u.max_rss_bytes}`);
    assert.ok(u.cpu_user_s! >= 0.9 && u.cpu_user_s! <= 120, `user CPU ${u.cpu_user_s}`);
    assert.ok(u.cpu_sys_s! >= 0 && u.cpu_sys_s! <= 120, `system CPU ${u.cpu_sys_s}`);
    assert.ok(u.wall_s! >= 1, `wall ${u.wall_s}`);
    // sacct's own words for the job's batch step, as lib/sacct.sh read them
    const sacct = await lab.execAs('s1', 'alice', `sacct -j ${rec.native_id}.batch -n -P -o MaxRSS,UserCPU`);
    assert.match(sacct.stdout, /^\d+K\|/, sacct.stdout);
    assert.equal(u.max_rss_bytes, Number(sacct.stdout.split('|')[0]!.slice(0, -1)) * 1024);
    assert.match(ok(await run(['show', 's1', '--id', 'hungry'])), /^usage: +max RSS \d+\.\d MiB, CPU [\d.]+ s user \+ [\d.]+ s system, wall [\d.]+ s \(sacct\)$/m);
    // settled: the line is in the job's files and record, and no later command asks Slurm about it
    const files = await lab.execAs('s1', 'alice', 'cd ~/.tej/jobs/hungry && cat usage && grep "^usage=" end-record && ls native-open 2>&1');
    const line = `sacct ${u.max_rss_bytes} `;
    assert.ok(files.stdout.startsWith(line), files.stdout);
    assert.match(files.stdout, new RegExp(`^usage=${line}`, 'm'));
    assert.match(files.stdout, /No such file/);
  });

  it('gives a killed job the figures its batch step had, once Slurm has recorded the cancel', async () => {
    // HUNGRY's hold, then a mark for the test, and a wait to be killed in
    const held = `${HUNGRY.split('until [')[0]}: > "$HOME/held"\nsleep 600\n`;
    ok(await run(['submit', 's1', '--id', 'killed', await makeJob(join(jobs, 'killed'), { 'start.sh': held })]));
    await waitFor('the job holding its 100 MB', () => lab.execAs('s1', 'alice', 'test -e held && echo yes'), (r) => r.stdout === 'yes\n', 120_000);
    ok(await run(['kill', 's1', '--id', 'killed']));
    const show = () => run(['show', 's1', '--id', 'killed', '--json']).then((r) => JSON.parse(ok(r)) as { usage: Usage; state: string });
    const rec = await waitFor('sacct in the usage record', show, (r) => r.usage.source === 'sacct', 120_000);
    assert.equal(rec.state, 'killed');
    assert.ok(rec.usage.max_rss_bytes! >= 95e6 && rec.usage.max_rss_bytes! <= 400e6, `max RSS ${rec.usage.max_rss_bytes}`);
  });

  it("gives each task of an array its own batch step's figures (native id ARRAY_TASK)", async () => {
    ok(await run(['submit', 's1', '--id', 'arr', '--array', '0-1', await makeJob(join(jobs, 'arr'), { 'start.sh': HUNGRY })]));
    ok(await run(['wait', 's1', '--id', 'arr']));
    for (const task of ['arr/0', 'arr/1']) {
      const show = () => run(['show', 's1', '--id', task, '--json']).then((r) => JSON.parse(ok(r)) as { usage: Usage; native_id: string });
      const rec = await waitFor(`sacct in ${task}'s usage record`, show, (r) => r.usage.source === 'sacct', 120_000);
      assert.match(rec.native_id, /^\d+_\d+$/);
      assert.ok(rec.usage.max_rss_bytes! >= 95e6 && rec.usage.max_rss_bytes! <= 400e6, `${task}: max RSS ${rec.usage.max_rss_bytes}`);
      assert.ok(rec.usage.cpu_user_s! >= 0.9, `${task}: user CPU ${rec.usage.cpu_user_s}`);
    }
  });
});
