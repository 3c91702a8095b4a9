// A host without curl or wget: the job's wrapper cannot POST its webhook, so the next tej command that
// sees the job ended does (status, list, show, wait), exactly once however many clients look: the host's `claim`
// gives the POST to one of them; so is the whole array's, once every task has ended. A local HTTP server
// counts the POSTs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { type HookServer, startHookServer } from '../helpers/hook-server.js';
import { useSshHost } from '../helpers/lab.js';

describe('webhooks from the client when the host has no curl or wget', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-webhook-client-' });
  const run = (args: string[]) => tej(args, { home: sshHost.home });
  let hooks: HookServer;
  const bodies = () => hooks.bodies();
  let url = '';

  before(async () => {
    hooks = await startHookServer(sshHost.lab.hosts.h1.ip);
    url = `${hooks.base}/hook`;
    // alice's PATH: every command of /usr/bin and /bin but curl and wget. One ln for all of them: an ln
    // per command (1200 processes) took over the 30 s execAs allows, three CI runs at once on a machine
    // where a process costs 3.5 ms to start alone.
    const hide = await sshHost.lab.execAs(
      'h1',
      'alice',
      `mkdir -p ~/nobin && ln -sf -t ~/nobin /bin/* /usr/bin/* && rm -f ~/nobin/curl ~/nobin/wget
echo 'PATH=$HOME/nobin:/usr/sbin:/sbin' >> ~/.bashrc`,
    );
    assert.equal(hide.code, 0, hide.stderr);
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'command -v curl wget')).stdout, '');
  });
  after(() => {
    hooks.close();
  });

  it('is posted once by the first of two concurrent shows after the job ended, and not again by wait', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'hookless'), { 'start.sh': 'exit 3\n', 'tej.json': JSON.stringify({ notify: { webhook: url } }) });
    ok(await run(['submit', 'h1', '--id', 'hookless', dir]));
    // ended on the host, seen by no tej command yet
    await waitFor('the end', () => sshHost.lab.execAs('h1', 'alice', 'cat ~/.tej/jobs/hookless/exit-code'), (r) => r.stdout === '3\n');
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'test -e ~/.tej/jobs/hookless/notify-host')).code, 1, 'the wrapper had no tool');
    assert.equal(bodies().length, 0);
    const [a, b] = await Promise.all([run(['show', 'h1', '--id', 'hookless']), run(['show', 'h1', '--id', 'hookless'])]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(bodies(), [{ id: 'hookless', state: 'finished', exit_code: 3, host: 'h1' }]);
    assert.equal((await run(['wait', 'h1', '--id', 'hookless'])).code, 4);
    assert.equal(bodies().length, 1);
  });

  it('is posted by status (or list) once: two at once, then neither again', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'listed'), { 'start.sh': 'exit 0\n', 'tej.json': JSON.stringify({ notify: { webhook: `${url}?l=1` } }) });
    ok(await run(['submit', 'h1', '--id', 'listed', dir]));
    await waitFor('the end', () => sshHost.lab.execAs('h1', 'alice', 'cat ~/.tej/jobs/listed/exit-code'), (r) => r.stdout === '0\n');
    const [st, li] = await Promise.all([run(['status', 'h1', '--id', 'listed']), run(['list', 'h1'])]);
    assert.equal(st.code, 0, st.stderr);
    assert.equal(li.code, 0, li.stderr);
    assert.deepEqual(bodies().filter((x) => x.id === 'listed'), [{ id: 'listed', state: 'finished', exit_code: 0, host: 'h1' }]);
    // the claim is in the job's record from then on: no second claim, no second POST
    ok(await run(['status', 'h1', '--id', 'listed']));
    ok(await run(['list', 'h1']));
    assert.equal(bodies().filter((x) => x.id === 'listed').length, 1);
  });

  it('is posted by wait when wait sees the end', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'waited'), {
      'start.sh': 'while ! test -f "$HOME/waited.go"; do sleep 0.2; done\n',
      'tej.json': JSON.stringify({ notify: { webhook: `${url}?w=1` } }),
    });
    ok(await run(['submit', 'h1', '--id', 'waited', dir]));
    const waiting = run(['wait', 'h1', '--id', 'waited']);
    ok(await sshHost.lab.execAs('h1', 'alice', 'touch ~/waited.go'));
    const w = await waiting;
    assert.equal(w.code, 0, w.stderr);
    assert.deepEqual(bodies().filter((x) => x.id === 'waited'), [{ id: 'waited', state: 'finished', exit_code: 0, host: 'h1' }]);
  });

  it("posts the whole array's end once, with its counts, beside each task's: status and list at once, then neither again", async () => {
    const dir = await makeJob(join(sshHost.jobs, 'hookarr'), {
      'start.sh': 'test "$TEJ_TASK_INDEX" != 1\n',
      'tej.json': JSON.stringify({ notify: { webhook: `${url}?a=1` } }),
    });
    ok(await run(['submit', 'h1', '--id', 'hookarr', '--array', '0-2', dir]));
    await waitFor('the three ends', () => sshHost.lab.execAs('h1', 'alice', 'cat ~/.tej/jobs/hookarr/*/exit-code | wc -l'), (r) => r.stdout.trim() === '3', 120_000);
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'ls ~/.tej/jobs/hookarr/*/notify-host')).stdout, '', 'no wrapper had a tool');
    const ofArray = () => bodies().filter((x) => String(x.id).startsWith('hookarr'));
    assert.deepEqual(ofArray(), []);
    const [st, li] = await Promise.all([run(['status', 'h1', '--id', 'hookarr']), run(['list', 'h1'])]);
    assert.equal(st.code, 4, st.stderr);
    assert.equal(li.code, 0, li.stderr);
    const arrayPosts = () => ofArray().filter((x) => x.id === 'hookarr');
    assert.deepEqual(arrayPosts(), [{ id: 'hookarr', tasks: 3, finished: 2, failed: 1, killed: 0, timeout: 0, host: 'h1' }]);
    assert.deepEqual(ofArray().filter((x) => x.id !== 'hookarr').map((x) => `${String(x.id)} ${String(x.exit_code)}`).sort(), ['hookarr/0 0', 'hookarr/1 1', 'hookarr/2 0']);
    // the array's claim is in its tasks' records from then on: no command claims or posts it again
    const again = await run(['status', 'h1', '--id', 'hookarr', '-v']);
    assert.equal(again.code, 4, again.stderr);
    assert.match(again.stderr, /tej-remote status hookarr/);
    assert.doesNotMatch(again.stderr, /tej-remote claim/);
    ok(await run(['list', 'h1']));
    ok(await run(['show', 'h1', '--id', 'hookarr']));
    assert.equal((await run(['wait', 'h1', '--id', 'hookarr'])).code, 4);
    assert.equal(ofArray().length, 4);
  });

  it("posts the whole array's end from wait, which saw every task end", async () => {
    const dir = await makeJob(join(sshHost.jobs, 'waitarr'), {
      'start.sh': 'while ! test -f "$HOME/waitarr.go"; do sleep 0.2; done\n',
      'tej.json': JSON.stringify({ notify: { webhook: `${url}?wa=1` } }),
    });
    ok(await run(['submit', 'h1', '--id', 'waitarr', '--array', '0-1', dir]));
    const waiting = run(['wait', 'h1', '--id', 'waitarr']);
    ok(await sshHost.lab.execAs('h1', 'alice', 'touch ~/waitarr.go'));
    const w = await waiting;
    assert.equal(w.code, 0, w.stderr);
    const ofArray = bodies().filter((x) => String(x.id).startsWith('waitarr'));
    assert.deepEqual(
      ofArray.filter((x) => x.id === 'waitarr'),
      [{ id: 'waitarr', tasks: 2, finished: 2, failed: 0, killed: 0, timeout: 0, host: 'h1' }],
    );
    assert.equal(ofArray.length, 3);
  });
});
