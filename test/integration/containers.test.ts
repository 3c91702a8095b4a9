// Container images end to end (docs/protocol.md, "Container images"): tej submit --image over real SSH,
// as the lab's unprivileged user, with charliecloud's ch-run on a directory image built in the test
// (test/helpers/rootfs.ts), under direct and inside a real Slurm allocation.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { makeClientHome, startLab, useSshHost, type Lab } from '../helpers/lab.js';
import { mkrootfsCommand } from '../helpers/rootfs.js';

// What the job prints: that it runs in the image (the image's marker file, no /usr), where, and its env.
const PROBE = [
  'cat /etc/tej-image',
  'test -d /usr && echo host-usr || echo no-usr',
  'echo "cwd=$PWD dir=$TEJ_JOB_DIR id=$TEJ_JOB_ID foo=$FOO"',
  'echo tmp > "$TEJ_SCRATCH_DIR/t" && cat "$TEJ_SCRATCH_DIR/t"',
  'echo result > result.txt',
  'exit 3',
  '',
].join('\n');

const EXPECTED = (id: string) => `image-marker\nno-usr\ncwd=/work dir=/work id=${id} foo=bar\ntmp\n`;

// Rootless podman on this machine kind (../shared/reference/limits-containers): runc (crun refuses
// hybrid cgroups), no network namespace (/dev/net/tun is root's), cgroupfs and file events (no systemd).
const PODMAN_CONF = `[containers]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
`;

interface Shown { exit_code: number | null; container: unknown }

describe('container images under direct, over real SSH', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-ctr-' });
  const run = (args: string[], o: { cwd?: string } = {}) => tej(args, { home: sshHost.home, timeoutMs: 120_000, ...o });
  let image = '';

  before(async () => {
    const home = (await sshHost.lab.execAs('h1', 'alice', 'echo $HOME')).stdout.trim();
    image = `${home}/img/bb`;
    const made = await sshHost.lab.execAs('h1', 'alice', mkrootfsCommand(image));
    assert.equal(made.code, 0, made.stderr);
  });

  it('runs the job in a ch-run directory image: its dir as cwd, its env, its exit code, its files downloaded', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'probe'), { 'start.sh': PROBE });
    ok(await run(['submit', 'h1', '--id', 'ctr1', '--image', image, '--env', 'FOO=bar', dir]));
    await run(['wait', 'h1', '--id', 'ctr1']);
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'ctr1', '--json']))) as Shown;
    assert.equal(rec.exit_code, 3);
    assert.deepEqual(rec.container, { runtime: 'ch-run', image });
    assert.match(ok(await run(['show', 'h1', '--id', 'ctr1'])), new RegExp(`^image: +${image} \\(ch-run\\)$`, 'm'));
    const cwd = await sshHost.lab.makeTmpDir('tej-ctr-dl-');
    assert.equal(ok(await run(['download', 'h1', '--id', 'ctr1', 'tej.stdout:', 'result.txt:'], { cwd })), `${EXPECTED('ctr1')}result\n`);
  });

  it('kill ends the process tree in the container', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'long'), { 'start.sh': 'sleep 1011 &\nsleep 1012\n' });
    ok(await run(['submit', 'h1', '--id', 'ctr2', '--image', image, dir]));
    await waitFor('the container job to start', () => sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-c', '-f', 'sleep 101[12]']), (r) => Number(r.stdout.trim()) >= 2);
    assert.equal(ok(await run(['kill', 'h1', '--id', 'ctr2', '--grace', '2'])), 'ctr2: killed\n');
    const left = await sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', 'sleep 101[12]']);
    assert.equal(left.stdout, '', 'no process of the container survives the kill');
  });

  it('a runtime the host lacks is refused with 69, an image it lacks with 66, both named', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'refused'), { 'start.sh': 'echo ran > ran.txt\n' });
    const noRuntime = await run(['submit', 'h1', '--id', 'ctr3', '--image', image, '--container-runtime', 'apptainer', dir]);
    assert.equal(noRuntime.code, 69, noRuntime.stderr);
    assert.match(noRuntime.stderr, /no container runtime .*looked for: apptainer/);
    const noImage = await run(['submit', 'h1', '--id', 'ctr3', '--image', '/no/such/image', dir]);
    assert.equal(noImage.code, 66, noImage.stderr);
    assert.match(noImage.stderr, /image '\/no\/such\/image' not found for ch-run/);
    const bad = await run(['submit', 'h1', '--id', 'ctr3', '--image', image, '--container-runtime', '/tmp/evil', dir]);
    assert.equal(bad.code, 64, bad.stderr);
  });

  // The wrapper reads meta/container once, before the job runs, and takes from it only a runtime name
  // of its own list (test/remote-scripts/container.test.ts: an upload's own is removed); from the image
  // the job cannot reach its meta/ at all.
  it('the runtime is not steerable by the job: from the image it cannot reach its meta/', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'steer'), {
      'start.sh': 'printf "podman localhost/evil\\n" > ../meta/container 2>/dev/null || echo "meta not reachable"\ncat /etc/tej-image\n',
    });
    ok(await run(['submit', 'h1', '--id', 'ctr4', '--image', image, dir]));
    await run(['wait', 'h1', '--id', 'ctr4']);
    const out = await sshHost.lab.execAs('h1', 'alice', 'cat ~/.tej/jobs/ctr4/work/tej.stdout ~/.tej/jobs/ctr4/meta/container');
    assert.equal(out.stdout, `meta not reachable\nimage-marker\nch-run ${image}\n`);
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'ctr4', '--json']))) as Shown;
    assert.deepEqual(rec.container, { runtime: 'ch-run', image });
  });

  it('a time limit ends the job in the image and every process it started', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'late'), { 'start.sh': 'sleep 1021 &\nsleep 1022\n' });
    ok(await run(['submit', 'h1', '--id', 'ctr5', '--image', image, '--time-limit', '2s', dir]));
    const w = await run(['wait', 'h1', '--id', 'ctr5']);
    assert.match((await run(['status', 'h1', '--id', 'ctr5'])).stdout, /^timeout/, w.stderr);
    const left = await sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', 'sleep 102[12]']);
    assert.equal(left.stdout, '', 'no process of the container survives the time limit');
  });
});

describe('container images inside a Slurm allocation', () => {
  let lab: Lab<'s1'>;
  let home: string;
  let jobs: string;
  let image = '';
  const run = (args: string[], o: { cwd?: string } = {}) => tej(args, { home, timeoutMs: 120_000, ...o });

  before(async () => {
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] });
    home = await makeClientHome(lab);
    jobs = await lab.makeTmpDir('tej-ctr-slurm-');
    image = `${(await lab.execAs('s1', 'alice', 'echo $HOME')).stdout.trim()}/img/bb`;
    const made = await lab.execAs('s1', 'alice', mkrootfsCommand(image));
    assert.equal(made.code, 0, made.stderr);
  });
  after(async () => {
    await lab?.stop();
  });

  it('podman: the batch wrapper runs the job in an image of the store', async () => {
    const ids = await lab.exec('s1', ['sh', '-c', 'echo alice:300000:65536 >> /etc/subuid && echo alice:300000:65536 >> /etc/subgid']);
    assert.equal(ids.code, 0, ids.stderr);
    const made = await lab.execAs('s1', 'alice', `mkdir -p ~/.config/containers && cat > ~/.config/containers/containers.conf <<'CONF'
${PODMAN_CONF}CONF
tar -C ~/img/bb -cf ~/img/bb.tar . && podman --log-level=error import ~/img/bb.tar localhost/tejbb`);
    assert.equal(made.code, 0, made.stderr);
    const dir = await makeJob(join(jobs, 'podprobe'), { 'start.sh': PROBE });
    ok(await run(['submit', 's1', '--id', 'spod1', '--image', 'localhost/tejbb', '--container-runtime', 'podman', '--env', 'FOO=bar', dir]));
    await run(['wait', 's1', '--id', 'spod1']);
    const rec = JSON.parse(ok(await run(['show', 's1', '--id', 'spod1', '--json']))) as Shown;
    const err = await lab.execAs('s1', 'alice', 'cat ~/.tej/jobs/spod1/work/tej.stderr');
    assert.equal(rec.exit_code, 3, err.stdout);
    assert.deepEqual(rec.container, { runtime: 'podman', image: 'localhost/tejbb' });
    const cwd = await lab.makeTmpDir('tej-ctr-sdl-');
    assert.equal(ok(await run(['download', 's1', '--id', 'spod1', 'tej.stdout:', 'result.txt:'], { cwd })), `${EXPECTED('spod1')}result\n`);
  });

  it('the batch wrapper runs the job in the image, with its dir, env and exit code', async () => {
    const dir = await makeJob(join(jobs, 'probe'), { 'start.sh': PROBE });
    ok(await run(['submit', 's1', '--id', 'sctr1', '--image', image, '--env', 'FOO=bar', dir]));
    await run(['wait', 's1', '--id', 'sctr1']);
    const rec = JSON.parse(ok(await run(['show', 's1', '--id', 'sctr1', '--json']))) as Shown;
    assert.equal(rec.exit_code, 3);
    assert.deepEqual(rec.container, { runtime: 'ch-run', image });
    const cwd = await lab.makeTmpDir('tej-ctr-sdl-');
    assert.equal(ok(await run(['download', 's1', '--id', 'sctr1', 'tej.stdout:', 'result.txt:'], { cwd })), `${EXPECTED('sctr1')}result\n`);
  });
});


describe('container images with rootless podman, from a local tarball', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-podman-' });
  const run = (args: string[], o: { cwd?: string } = {}) => tej(args, { home: sshHost.home, timeoutMs: 180_000, ...o });

  before(async () => {
    // ROOT: alice's subordinate ids, in the host's own /etc (an overlay of the lab)
    const ids = await sshHost.lab.exec('h1', ['sh', '-c', 'echo alice:300000:65536 >> /etc/subuid && echo alice:300000:65536 >> /etc/subgid']);
    assert.equal(ids.code, 0, ids.stderr);
    const made = await sshHost.lab.execAs('h1', 'alice', `${mkrootfsCommand('$HOME/img/bb')}
mkdir -p ~/.config/containers && cat > ~/.config/containers/containers.conf <<'CONF'
${PODMAN_CONF}CONF
tar -C ~/img/bb -cf ~/img/bb.tar . && podman --log-level=error import ~/img/bb.tar localhost/tejbb`);
    assert.equal(made.code, 0, made.stderr);
  });

  it('runs the job in localhost/tejbb: its dir as cwd, its env, its exit code, its files downloaded', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'probe'), { 'start.sh': PROBE });
    ok(await run(['submit', 'h1', '--id', 'pod1', '--image', 'localhost/tejbb', '--container-runtime', 'podman', '--env', 'FOO=bar', dir]));
    await run(['wait', 'h1', '--id', 'pod1']);
    const rec = JSON.parse(ok(await run(['show', 'h1', '--id', 'pod1', '--json']))) as Shown;
    const cwd = await sshHost.lab.makeTmpDir('tej-pod-dl-');
    const err = await sshHost.lab.execAs('h1', 'alice', 'cat ~/.tej/jobs/pod1/work/tej.stderr');
    assert.equal(rec.exit_code, 3, err.stdout);
    assert.deepEqual(rec.container, { runtime: 'podman', image: 'localhost/tejbb' });
    assert.equal(ok(await run(['download', 'h1', '--id', 'pod1', 'tej.stdout:', 'result.txt:'], { cwd })), `${EXPECTED('pod1')}result\n`);
  });

  it('kill ends the container', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'long'), { 'start.sh': 'sleep 1031 &\nsleep 1032\n' });
    ok(await run(['submit', 'h1', '--id', 'pod2', '--image', 'localhost/tejbb', '--container-runtime', 'podman', dir]));
    await waitFor('the container job to start', () => sshHost.lab.exec('h1', ['pgrep', '-c', '-f', 'sleep 103[12]']), (r) => Number(r.stdout.trim()) >= 2);
    assert.equal(ok(await run(['kill', 'h1', '--id', 'pod2', '--grace', '5'])), 'pod2: killed\n');
    await waitFor('the container to end', () => sshHost.lab.exec('h1', ['pgrep', '-f', 'sleep 103[12]']), (r) => r.stdout === '');
  });

  // The KILL at the end of the grace period reaches the podman client only (conmon and the container
  // are in no group of the job): the kill names the container itself (lib/container.sh container_kill).
  it('kill ends a container whose job ignores TERM', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'stubborn'), { 'start.sh': "trap '' TERM\nsleep 1041\n" });
    ok(await run(['submit', 'h1', '--id', 'pod3', '--image', 'localhost/tejbb', '--container-runtime', 'podman', dir]));
    await waitFor('the container job to start', () => sshHost.lab.exec('h1', ['pgrep', '-c', '-f', 'sleep 1041']), (r) => Number(r.stdout.trim()) >= 1);
    assert.equal(ok(await run(['kill', 'h1', '--id', 'pod3', '--grace', '2'])), 'pod3: killed\n');
    await waitFor('the container to end', () => sshHost.lab.exec('h1', ['pgrep', '-f', 'sleep 1041']), (r) => r.stdout === '');
  });
});
