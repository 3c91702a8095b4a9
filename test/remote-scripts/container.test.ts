// Container images, the helpers' part (lib/container.sh): what submit accepts and refuses before any
// runtime starts. The runtime itself runs in test/integration/containers.test.ts, as a lab user.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar, type JobFixture } from './_job-tar.js';
import { HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

async function trySubmit(q: HelperQueue, id: string, job: JobFixture, env: NodeJS.ProcessEnv = {}) {
  return q.run(['submit', id, 'N0nce'], { input: await jobTar(job), env });
}

const RUNTIMES = ['ch-run', 'apptainer', 'singularity', 'podman'];

/** A PATH directory with every program of /usr/bin and /bin but the container runtimes: a host with none. */
function pathWithoutRuntimes(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tej-noruntime-'));
  for (const bin of ['/usr/bin', '/bin']) {
    for (const name of readdirSync(bin)) {
      if (RUNTIMES.includes(name) || existsSync(join(dir, name))) continue;
      symlinkSync(join(bin, name), join(dir, name));
    }
  }
  return dir;
}

describe('container images: submit', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test("an upload's own meta/container is not submit's word: the job runs on the host", async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('forged', { command: 'echo ran', meta: { container: 'ch-run /tmp/evil' } });
      const rec = await q.waitState('forged', ['finished', 'failed']);
      assert.equal(rec.exit_code, '0', q.jobFile('forged', 'work/tej.stderr'));
      assert.equal(q.jobFile('forged', 'work/tej.stdout'), 'ran\n');
      assert.ok(!existsSync(join(q.jobDir('forged'), 'meta', 'container')));
      assert.equal((await q.ok(['show', 'forged'])).records[0]!.container, undefined);
    });

    test('a runtime tej does not know is bad input (65); one the host lacks is refused (69), named', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const bad = await trySubmit(q, 'bad', { command: 'true', meta: { image: '/img', container_runtime: '/tmp/evil' } });
      assert.equal(bad.code, 65, bad.stderr);
      assert.match(bad.stderr, /bad container runtime: '\/tmp\/evil' \(one of: ch-run apptainer singularity podman\)/);
      const dash = await trySubmit(q, 'bad', { command: 'true', meta: { image: '--privileged' } });
      assert.equal(dash.code, 65, dash.stderr);
      assert.match(dash.stderr, /bad image: '--privileged'/);
      const absent = await trySubmit(q, 'bad', { command: 'true', meta: { image: '/img', container_runtime: 'singularity' } });
      assert.equal(absent.code, 69, absent.stderr);
      assert.match(absent.stderr, /no container runtime to run image '\/img' \(looked for: singularity\)/);
      assert.ok(!existsSync(q.jobDir('bad')), 'nothing was accepted');
    });

    test('a host with no container runtime at all refuses an image (69), naming what it looked for', async (t) => {
      const q = await HelperQueue.setUp(shell);
      const path = pathWithoutRuntimes();
      t.after(() => {
        rmSync(path, { recursive: true, force: true });
        return q.cleanUp();
      });
      const none = await trySubmit(q, 'none', { command: 'true', meta: { image: '/img' } }, { PATH: path });
      assert.equal(none.code, 69, none.stderr);
      assert.match(none.stderr, /this host has no container runtime to run image '\/img' \(looked for: ch-run apptainer singularity podman\); install one there, or submit without --image/);
      assert.ok(!existsSync(q.jobDir('none')), 'nothing was accepted');
    });
  });
});

/**
 * A PATH directory whose `podman` says it is VERSION, has every image, and for `run` writes its words
 * to ARGS and runs the command after the image in the directory mounted at /work, on this host: what
 * podman's options are is the helpers' logic; real podman runs in test/integration/containers.test.ts.
 */
function fakePodman(version: string): { dir: string; args: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tej-fakepodman-'));
  const args = join(dir, 'args');
  writeFileSync(
    join(dir, 'podman'),
    `#!/bin/sh
test "$1" = --version && { echo "podman version ${version}"; exit 0; }
test "$1" = --log-level=error && shift
case $1 in image) exit 0 ;; run) ;; *) exit 125 ;; esac
shift
printf '%s\\n' "$@" >'${args}'
while test $# -gt 0 && test "$1" != localhost/fake; do
  case $1 in -v) case $2 in *:/work) work=\${2%:/work} ;; esac ;; esac
  shift
done
shift
cd "$work" && exec "$@"
`,
  );
  chmodSync(join(dir, 'podman'), 0o755);
  return { dir, args };
}

describe('container images: podman run', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    // A run under load lost all of a short-lived container's output through conmon's attach: with
    // passthrough the container writes the job's files itself.
    for (const [version, passthrough] of [['4.3.1', true], ['10.0.0', true], ['3.4.4', false]] as const) {
      test(`podman ${version} runs the job ${passthrough ? 'with' : 'without'} --log-driver=passthrough`, async (t) => {
        const fake = fakePodman(version);
        const q = await HelperQueue.setUp(shell, { env: { PATH: `${fake.dir}:${process.env.PATH}` } });
        t.after(() => {
          rmSync(fake.dir, { recursive: true, force: true });
          return q.cleanUp();
        });
        await q.submit('pod', { command: 'echo ran', meta: { image: 'localhost/fake', container_runtime: 'podman' } });
        const rec = await q.waitState('pod', ['finished', 'failed']);
        assert.equal(rec.exit_code, '0', q.jobFile('pod', 'work/tej.stderr'));
        assert.equal(q.jobFile('pod', 'work/tej.stdout'), 'ran\n');
        const words = readFileSync(fake.args, 'utf8').split('\n');
        assert.equal(words.includes('--log-driver=passthrough'), passthrough, words.join(' '));
        assert.deepEqual(words.slice(0, 5), ['--rm', '--init', '--pull=never', '--env-host', '--userns=keep-id']);
      });
    }
  });
});
