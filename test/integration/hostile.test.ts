// A job is hostile input, and the client acts only on what it submitted: a job that rewrites its record
// cannot redirect `tej wait`'s webhook; Ctrl-C during a submit either leaves nothing or says the id;
// selections cost one request. Against the real sshd lab host.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { truncate, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CHANNEL_SHELL, makeJob, ok, tej, TEJ_BIN, type TejRun, waitFor } from '../helpers/cli.js';
import { directPluginWith } from '../helpers/direct-plugin.js';
import { useSshHost } from '../helpers/lab.js';

/**
 * The direct plugin, whose submit returns only once ~/NAME.go exists: the job has started, and the
 * client waits for the host's answer until the test lets it come. A Ctrl-C after the upload's end then
 * lands before the answer, however loaded the machine (the client could otherwise have its answer
 * before the test reads its stderr line).
 */
function gatedPlugin(name: string): string {
  return directPluginWith(`\tdirect_queue_submit "$@"\n\twhile ! test -f "$HOME/${name}.go"; do sleep 0.1; done`);
}

/** An HTTP server that records the POSTs it gets, on ADDRESS (the lab's gateway: the host posts webhooks itself). */
async function recorder(address: string): Promise<{ server: Server; url: string; posts: { path: string; body: string }[] }> {
  const posts: { path: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return { server, url: `http://${address}:${(server.address() as AddressInfo).port}`, posts };
}

/**
 * Runs tej -v; when a stderr line matches `at`, stops it (SIGSTOP), sends SIGINT and lets it go on
 * (SIGCONT): the interrupt lands at that point of the submit, however loaded the machine.
 */
function interruptAt(args: string[], home: string, at: RegExp): Promise<TejRun & { seen: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TEJ_BIN, '-v', ...args], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let seen = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!seen && at.test(stderr)) {
        seen = true;
        child.kill('SIGSTOP');
        child.kill('SIGINT');
        child.kill('SIGCONT');
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seen });
    });
  });
}

describe('a job is hostile input; the client acts only on what it submitted', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const finished = (id: string) => waitFor(`${id} to end`, () => run(['status', 'h1', '--id', id]), (r) => r.code !== 2 && r.code !== 3);

  // The wrapper reads the webhook before the job runs (lib/webhook.sh) and posts it from the host when
  // the job ends: what the job writes into its record afterwards redirects nothing.
  it('a job that rewrites its record cannot redirect the webhook: the host posts only to the submitted URL', async () => {
    const hooks = await recorder(sshHost.lab.hosts.h1.ip.replace(/\.\d+$/, '.1'));
    try {
      const evil = `${hooks.url}/evil`;
      const rewrite = `printf '%s' '{"notify":{"webhook":"${evil}"}}' > ../meta/spec.json\nprintf '%s\\n' '${evil}' > ../meta/notify-webhook\n`;
      const bad = await makeJob(join(sshHost.jobs, 'rewrites'), { 'start.sh': rewrite, 'tej.json': JSON.stringify({ notify: { webhook: `${hooks.url}/mine` } }) });
      const good = await makeJob(join(sshHost.jobs, 'honest'), { 'start.sh': 'true\n', 'tej.json': JSON.stringify({ notify: { webhook: `${hooks.url}/honest` } }) });
      ok(await run(['submit', 'h1', '--id', 'rewrites', bad]));
      ok(await run(['submit', 'h1', '--id', 'honest', good]));
      await finished('rewrites');
      await finished('honest');
      const shown = JSON.parse(ok(await run(['show', 'h1', '--id', 'rewrites', '--json'])));
      assert.equal(shown.spec.notify.webhook, evil, 'the job did rewrite its record');
      const r = await run(['wait', 'h1', '--id', 'rewrites', '--id', 'honest']);
      assert.equal(r.code, 0, r.stderr);
      await waitFor('both posts', async () => hooks.posts.length, (n) => n >= 2);
      assert.deepEqual(hooks.posts.map((p) => p.path).sort(), ['/honest', '/mine'], 'nothing posted to the URL the job wrote');
      assert.deepEqual(hooks.posts.map((p) => JSON.parse(p.body).id).sort(), ['honest', 'rewrites']);
    } finally {
      hooks.server.close();
    }
  });

  it('Ctrl-C before the upload is whole leaves no job and exits 130; after it, prints the id', async () => {
    // big enough that the upload is still going when the interrupt lands (the client is stopped first)
    const dir = await makeJob(join(sshHost.jobs, 'big'), { 'start.sh': 'true\n', 'data.bin': '' });
    await truncate(join(dir, 'data.bin'), 128 * 1024 * 1024);
    const early = await interruptAt(['submit', 'h1', '--id', 'int-early', dir], sshHost.home, /\$ tej-remote submit/);
    assert.ok(early.seen, early.stderr);
    assert.equal(early.code, 130, early.stderr);
    assert.equal(early.stdout, '', 'no id: no job');
    assert.match(early.stderr, /tej: interrupted/);
    // the host's submit sees a torn stream and leaves nothing, not even in staging
    await waitFor(
      'the torn submit to give up',
      () => sshHost.lab.execAs('h1', 'alice', `echo "$(ls -A ~/.tej/jobs | grep int-early)|$(ls -A ~/.tej/staging)|$(pgrep -u alice -f '${CHANNEL_SHELL}')"`),
      (x) => x.stdout === '||\n',
      60_000,
    );
    assert.equal((await run(['status', 'h1', '--id', 'int-early'])).code, 66);

    // the host answers only once the test lets it (gatedPlugin): the interrupt comes before its answer
    await writeFile(join(sshHost.jobs, 'gated.sh'), gatedPlugin('int-late'));
    ok(await run(['setup', 'h1', '--plugin-file', join(sshHost.jobs, 'gated.sh')]));
    const small = await makeJob(join(sshHost.jobs, 'small'), { 'start.sh': 'true\n' });
    const late = await interruptAt(['submit', 'h1', '--plugin', 'gated', '--id', 'int-late', small], sshHost.home, /sending the end of job int-late/);
    ok(await sshHost.lab.execAs('h1', 'alice', 'touch ~/int-late.go'));
    assert.ok(late.seen, late.stderr);
    assert.equal(late.code, 130, late.stderr);
    assert.equal(late.stdout, 'int-late\n', 'the id, as a submit prints it');
    assert.match(late.stderr, /the upload of job int-late was complete: the job may have started/);
    const end = await finished('int-late');
    assert.equal(end.code, 0, `the job ran: ${end.stdout}${end.stderr}`);
  });

  it('the smaller edges: --json keys, a mistyped --queue, an --id matching nothing, bad --grace and --time-limit', async () => {
    const setup = JSON.parse(ok(await run(['setup', 'h1', '--json'])));
    assert.deepEqual(Object.keys(setup).sort(), ['plugin', 'queue', 'suggested_plugin', 'version']);
    for (const cmd of ['status', 'list']) {
      const r = await run([cmd, 'h1', '--queue', '~/tej-typo', ...(cmd === 'status' ? ['--id', 'x'] : [])]);
      assert.equal(r.code, 69, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /no tej queue at ~\/tej-typo on \S*h1\n.*check --queue/);
    }
    const typo = await sshHost.lab.execAs('h1', 'alice', 'if test -e "$HOME/tej-typo"; then echo made; else echo none; fi');
    assert.equal(typo.stdout, 'none\n', JSON.stringify(typo));
    const none = await run(['list', 'h1', '--id', 'nomatch_*']);
    assert.equal(none.code, 66, none.stderr);
    assert.match(none.stderr, /no job matches --id 'nomatch_\*'/);
    const grace = await run(['kill', 'h1', '--id', 'x', '--grace', 'abc']);
    assert.equal(grace.code, 64, grace.stderr);
    assert.match(grace.stderr, /bad --grace 'abc'/);
    assert.doesNotMatch(grace.stderr, /NaN/);
    const dir = await makeJob(join(sshHost.jobs, 'limits'), { 'start.sh': 'true\n' });
    const huge = await run(['submit', 'h1', '--id', 'huge', '--time-limit', '100000000000000000000000', dir]);
    assert.equal(huge.code, 65, huge.stderr);
    assert.match(huge.stderr, /too long: at most 366 days/);
  });

  it('labels and record fields with terminal escapes or newlines are printed escaped', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'esc'), { 'start.sh': 'true\n' });
    ok(await run(['submit', 'h1', '--id', 'esc1', '--label', 'x=\x1b[2J\x1b]0;pwned\x07red\nline', dir]));
    await finished('esc1');
    const shown = ok(await run(['show', 'h1', '--id', 'esc1']));
    assert.doesNotMatch(shown, /[\x00-\x08\x0b-\x1f\x7f]/, 'no control character but newlines between fields');
    assert.match(shown, /labels: +x=\\x1b\[2J\\x1b\]0;pwned\\x07red\\nline\n/);
    const json = JSON.parse(ok(await run(['status', 'h1', '--id', 'esc1', '--json'])));
    assert.equal(json.labels.x, '\x1b[2J\x1b]0;pwned\x07red\nline', 'JSON keeps the value exactly');
  });

  it('resubmit --failed reruns a failed job once: a job already rerun is skipped', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'fails'), { 'start.sh': 'exit 3\n' });
    ok(await run(['submit', 'h1', '--id', 'fail1', '--label', 'grp=f', dir]));
    await finished('fail1');
    const first = ok(await run(['resubmit', 'h1', '--label', 'grp=f', '--failed']));
    assert.match(first, /^fail1\.r\w{6}\n$/);
    await finished(first.trim());
    // the rerun failed too: it is the one rerun now, not fail1 again
    const second = ok(await run(['resubmit', 'h1', '--label', 'grp=f', '--failed']));
    assert.match(second, new RegExp(`^fail1\\.r\\w{6}\\n$`));
    assert.notEqual(second, first);
    await finished(second.trim());
    const ids = ok(await run(['list', 'h1', '--label', 'grp=f'])).split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
    assert.equal(ids.length, 3, `one rerun each of fail1 and of its rerun: ${ids.join(' ')}`);
  });

  it('a full disk on the host during the upload exits 74, says so, and leaves nothing', async () => {
    const mounted = await sshHost.lab.exec('h1', ['sh', '-c', 'mkdir -p /home/alice/small && mount -t tmpfs -o size=3m,mode=0700 tmpfs /home/alice/small && chown alice /home/alice/small']);
    assert.equal(mounted.code, 0, mounted.stderr);
    try {
      ok(await run(['setup', 'h1', '--queue', '~/small/q']));
      const dir = await makeJob(join(sshHost.jobs, 'full'), { 'start.sh': 'true\n', 'data.bin': '' });
      await truncate(join(dir, 'data.bin'), 8 * 1024 * 1024);
      for (const keep of ['--keep-input', '--no-keep-input']) {
        const r = await run(['submit', 'h1', '--queue', '~/small/q', '--id', 'full1', keep, dir]);
        assert.equal(r.code, 74, `${keep}: ${r.stderr}`);
        assert.match(r.stderr, /no space left on the host/, keep);
        assert.equal(r.stdout, '');
      }
      const left = await sshHost.lab.execAs('h1', 'alice', 'echo "$(ls -A ~/small/q/jobs)|$(ls -A ~/small/q/staging)"');
      assert.equal(left.stdout, '|\n');
    } finally {
      await sshHost.lab.exec('h1', ['umount', '-l', '/home/alice/small']);
    }
  });

  it('a status with an --id glob is one request to the host', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'glob'), { 'start.sh': 'true\n' });
    ok(await run(['submit', 'h1', '--id', 'glob_1', dir]));
    ok(await run(['submit', 'h1', '--id', 'glob_2', dir]));
    await finished('glob_1');
    await finished('glob_2');
    const r = await run(['status', 'h1', '--id', 'glob_*', '-v']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^glob_1\tfinished \(exit 0[^\n]*\nglob_2\tfinished \(exit 0[^\n]*\n$/);
    assert.equal(r.stderr.split('\n').filter((l) => / \$ tej-remote /.test(l)).length, 1, r.stderr);
  });
});
