// The resource record end to end (docs/protocol.md, "The usage record"): tej show and show --json over
// real SSH, for a job under direct and one in a real Slurm allocation, and a record the job overwrote.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej } from '../helpers/cli.js';
import { makeClientHome, startLab, useSshHost, type Lab } from '../helpers/lab.js';

// ~50 MB held by the job's shell, then some CPU in a loop
const HUNGRY = 'x=$(head -c 50000000 /dev/zero | tr "\\0" a)\ni=0\nwhile [ $i -lt 100000 ]; do i=$((i+1)); done\necho ${#x}\n';

interface Usage {
  max_rss_bytes: number | null;
  cpu_user_s: number | null;
  cpu_sys_s: number | null;
  wall_s: number | null;
  source: string | null;
}

function assertHungry(u: Usage): void {
  assert.equal(u.source, 'time', 'the lab hosts have GNU time');
  assert.ok(u.max_rss_bytes! >= 40e6, `max RSS ${u.max_rss_bytes}`);
  assert.ok(u.cpu_user_s! > 0, `user ${u.cpu_user_s}`);
  assert.equal(typeof u.cpu_sys_s, 'number');
  assert.ok(u.wall_s! >= 0);
}

describe('the usage record under direct, over real SSH', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-usage-' });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const submit = async (name: string, files: Record<string, string>) =>
    ok(await run(['submit', 'h1', '--id', name, await makeJob(join(sshHost.jobs, name), files)])).trim();

  it('show --json gives the max RSS, CPU and wall time of a job that held 50 MB, and show prints them', async () => {
    await submit('hungry', { 'start.sh': HUNGRY });
    ok(await run(['wait', 'h1', '--id', 'hungry']));
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'hungry', '--json']))) as { usage: Usage; exit_code: number };
    assert.equal(rec.exit_code, 0);
    assertHungry(rec.usage);
    assert.match(ok(await run(['show', 'h1', '--id', 'hungry'])), /^usage: +max RSS \d+\.\d MiB, CPU [\d.]+ s user \+ [\d.]+ s system, wall [\d.]+ s \(GNU time\)$/m);
  });

  it('a record the job overwrote after its end gives null fields, not its numbers', async () => {
    // an orphan of the job waits for the wrapper's last file, then writes the record
    await submit('forger', {
      'start.sh': `(while [ ! -e ../end-record ]; do sleep 0.1; done
printf 'time 99999999999999999999 -1 NaN 1\\n' > ../usage
: > ../forged) </dev/null >/dev/null 2>&1 &
`,
    });
    ok(await run(['wait', 'h1', '--id', 'forger']));
    const forged = await sshHost.lab.execAs('h1', 'alice', 'while [ ! -e ~/.tej/jobs/forger/forged ]; do sleep 0.1; done; cat ~/.tej/jobs/forger/usage');
    assert.equal(forged.stdout, 'time 99999999999999999999 -1 NaN 1\n');
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'forger', '--json']))) as { usage: Usage; state: string };
    assert.equal(rec.state, 'finished');
    assert.deepEqual(rec.usage, { max_rss_bytes: null, cpu_user_s: null, cpu_sys_s: null, wall_s: null, source: null });
    assert.doesNotMatch(ok(await run(['show', 'h1', '--id', 'forger'])), /^usage:/m);
  });
});

describe('the usage record in a real Slurm allocation', () => {
  let lab: Lab<'s1'>;
  let home: string;
  let jobs: string;
  const run = (args: string[]) => tej(args, { home, timeoutMs: 120_000 });

  before(async () => {
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-usage-slurm-');
    ok(await run(['setup', 's1', '--plugin', 'slurm']));
  });
  after(async () => {
    await lab?.stop();
  });

  it("is the wrapper's own, measured inside the allocation: the lab's Slurm keeps no accounting for sacct (with it: slurm-sacct.test.ts)", async () => {
    const dir = await makeJob(join(jobs, 'hungry'), { 'start.sh': HUNGRY });
    ok(await run(['submit', 's1', '--id', 'hungry', dir]));
    ok(await run(['wait', 's1', '--id', 'hungry']));
    const rec = JSON.parse(ok(await run(['show', 's1', '--id', 'hungry', '--json']))) as { usage: Usage; plugin: string; native_id: string };
    assert.equal(rec.plugin, 'slurm');
    assertHungry(rec.usage);
    // what sacct says here: no accounting storage, so nothing it could answer
    const sacct = await lab.execAs('s1', 'alice', `sacct -n -P -j ${rec.native_id} -o MaxRSS,UserCPU 2>&1; echo "rc=$?"`);
    assert.match(sacct.stdout, /accounting storage is disabled|rc=1/i, sacct.stdout);
    // lib/sacct.sh asked as the job settled and kept the wrapper's line: the job settled all the same
    const files = await lab.execAs('s1', 'alice', 'cd ~/.tej/jobs/hungry && cat usage && ls native-open 2>&1');
    assert.match(files.stdout, /^time \d+ /);
    assert.match(files.stdout, /No such file/);
  });
});
