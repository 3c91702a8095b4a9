// The memory limit by a systemd user scope (lib/scope.sh, README "Limits"), over real SSH, against
// test/fixtures/systemd-shim put first on alice's PATH: a test-only systemd-run/systemctl that enforces
// MemoryMax with a real cgroup v1 child of a parent delegated to her, and answers Result=oom-kill from
// that cgroup's oom_kill counter. This machine has no systemd: what is proven is that tej picks the scope,
// passes it the right words, reads the right answer, and keeps GNU time and kill working around it; real
// systemd is not tested. Without the shim the cgroup path is taken (test/integration/cgroup.test.ts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';
import { expectMemoryKill } from '../helpers/memory-kill.js';
import { waitFor } from '../helpers/wait.js';

const V1 = '/sys/fs/cgroup/memory';
const ALICE_UID = 2001; // test/lab/lab.sh's USERS
const SHIM = join(import.meta.dirname, '..', 'fixtures', 'systemd-shim');
const BYTES = String(100 * 1024 * 1024);

describe('the memory limit by a systemd user scope (test shim), over real SSH', { skip: !existsSync(`${V1}/memory.limit_in_bytes`) && 'no cgroup v1 memory controller here' }, () => {
  const parent = join(V1, `tej-sdtest-${process.pid}-${randomBytes(4).toString('hex')}`);
  const sshHost = useSshHost({ jobsPrefix: 'tej-scope-', setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const sh = async (cmd: string, input?: string) => ok(await sshHost.lab.execAs('h1', 'alice', cmd, input === undefined ? undefined : { input }));
  const stdout = (id: string) => sh(`cat ~/.tej/jobs/${id}/work/tej.stdout`);
  const calls = () => sh('cat ~/sdbin/calls 2>/dev/null || true');
  const children = async () => (await readdir(parent)).filter((n) => n.startsWith('tej-'));

  before(async () => {
    await mkdir(parent);
    await writeFile(join(parent, 'memory.limit_in_bytes'), '1G\n');
    await chown(parent, ALICE_UID, ALICE_UID);
    await sh('mkdir -p ~/sdbin');
    for (const f of ['systemd-run', 'systemctl']) await sh(`cat > ~/sdbin/${f} && chmod +x ~/sdbin/${f}`, readFileSync(join(SHIM, f), 'utf8'));
    await sh(`printf '%s\\n' '${parent}' > ~/sdbin/parent`);
    // the helpers' PATH is the login shell's: bash reads ~/.bashrc for ssh commands
    await sh(`printf 'PATH=$HOME/sdbin:$PATH\\n' >> ~/.bashrc`);
  });
  after(async () => {
    await sh("sed -i '/sdbin/d' ~/.bashrc; rm -rf ~/sdbin").catch(() => undefined);
    for (const n of await children().catch(() => [])) await rmdir(join(parent, n)).catch(() => undefined);
    await rmdir(parent);
  });

  it('a 300 MB allocation under --mem 100M is stopped in its scope and reported with the reason memory', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'oom'), { 'start.sh': 'grep memory /proc/self/cgroup\ndd if=/dev/zero of=/dev/null bs=300M count=1\n' });
    await expectMemoryKill(run, 'oom', dir);
    const unit = new RegExp(`^\\d+:memory:/${parent.slice(V1.length + 1)}/(tej-oom-\\d+)\\.scope$`, 'm').exec(await stdout('oom'))?.[1];
    assert.ok(unit, await stdout('oom'));
    const log = await calls();
    assert.match(log, new RegExp(`^--user --scope --quiet --unit=${unit} -p MemoryMax=${BYTES} -p MemorySwapMax=0 -- \\S+`, 'm'));
    assert.match(log, new RegExp(`^--user show ${unit}\\.scope -p Result --value\n--user reset-failed ${unit}\\.scope$`, 'm'));
    assert.match((await run(['status', 'h1', '--id', 'oom'])).stdout, /\[memory limit\]/);
    assert.deepEqual(await children(), [], "the job's unit is let go");
  });

  it('a job within its limit ends well, measured by GNU time around the scope', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'fits'), { 'start.sh': 'dd if=/dev/zero of=/dev/null bs=40M count=1 2>/dev/null\ngrep memory /proc/self/cgroup\n' });
    ok(await run(['submit', 'h1', '--id', 'fits', '--mem', '100M', dir]));
    ok(await run(['wait', 'h1', '--id', 'fits']));
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'fits', '--json']))) as { exit_code: number; reason: string | null; usage: { source: string | null; max_rss_bytes: number | null } };
    assert.equal(rec.exit_code, 0);
    assert.equal(rec.reason, null);
    assert.match(await stdout('fits'), /:memory:\/tej-sdtest-[^/]+\/tej-fits-\d+\.scope$/m);
    assert.equal(rec.usage.source, 'time');
    assert.ok((rec.usage.max_rss_bytes ?? 0) > 40 * 1024 * 1024, JSON.stringify(rec.usage));
  });

  it('tej kill reaches a job in its scope', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'hold'), { 'start.sh': 'grep memory /proc/self/cgroup\nexec sleep 600\n' });
    ok(await run(['submit', 'h1', '--id', 'hold', '--mem', '100M', dir]));
    await waitFor('the job in its scope', async () => /tej-hold-\d+\.scope/.test(await stdout('hold').catch(() => '')) || undefined);
    ok(await run(['kill', 'h1', '--id', 'hold']));
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'hold', '--json']))) as { state: string; reason: string | null };
    assert.equal(rec.state, 'killed');
    assert.equal(rec.reason, null);
  });
});
