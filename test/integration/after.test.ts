// Job dependencies on the direct plugin (submit --after), end to end over real SSH: the dependant's
// wrapper waits, queued, for its dependencies' end records, and ends unrun when one can never be met.
// Every job that must not end yet waits on a gate file the test creates; nothing depends on timing.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, tej, waitFor, ok } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

interface JsonStatus {
  id: string;
  state: string;
  exit_code: number | null;
  started: string | null;
  native_id: string | null;
  reason?: string;
  dependency?: string;
}

describe('submit --after on the direct plugin', { concurrency: true }, () => {
  const host = useSshHost({ setup: true });
  const run = (args: string[]) => tej(args, { home: host.home, timeoutMs: 120_000 });
  const sh = async (script: string) => {
    const r = await host.lab.execAs('h1', 'alice', script);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  // A job that appends its name to ~/LOG once ~/GATE exists (no gate: at once), then exits with CODE.
  const submit = async (id: string, opts: { log: string; gate?: string; code?: number; after?: string[] }) => {
    const gate = opts.gate ? `while [ ! -e "$HOME/${opts.gate}" ]; do sleep 0.1; done\n` : '';
    const dir = await makeJob(join(host.jobs, id), { 'start.sh': `${gate}echo ${id} >> "$HOME/${opts.log}"\nexit ${opts.code ?? 0}\n` });
    return run(['submit', 'h1', '--id', id, ...(opts.after ?? []).flatMap((a) => ['--after', a]), dir]);
  };
  // status --json exits with the state's code (2 running, 3 queued...): its stdout is the object
  const json = async (id: string) => JSON.parse((await run(['status', 'h1', '--id', id, '--json'])).stdout) as JsonStatus;
  const wait = (...ids: string[]) => run(['wait', 'h1', ...ids.flatMap((id) => ['--id', id])]);
  const log = (name: string) => sh(`cat "$HOME/${name}" 2>/dev/null || true`);

  it('runs a chain A -> B -> C in order, B and C queued until their dependency has finished', async () => {
    ok(await submit('chain-a', { log: 'chain.log', gate: 'chain.gate' }));
    ok(await submit('chain-b', { log: 'chain.log', after: ['chain-a'] }));
    ok(await submit('chain-c', { log: 'chain.log', after: ['chain-b:ok'] }));
    for (const id of ['chain-b', 'chain-c']) {
      const s = await run(['status', 'h1', '--id', id]);
      assert.equal(s.code, 3, `${id} is queued: ${s.stdout}${s.stderr}`);
      assert.equal(s.stdout, 'queued\n');
    }
    await sh('touch ~/chain.gate');
    const w = await wait('chain-c');
    assert.equal(w.code, 0, w.stdout + w.stderr);
    assert.equal(await log('chain.log'), 'chain-a\nchain-b\nchain-c\n');
  });

  it('with :any runs after a dependency that failed', async () => {
    ok(await submit('any-a', { log: 'any.log', gate: 'any.gate', code: 3 }));
    ok(await submit('any-b', { log: 'any.log', after: ['any-a:any'] }));
    await sh('touch ~/any.gate');
    const w = await wait('any-b');
    assert.equal(w.code, 0, w.stdout + w.stderr);
    assert.equal(await log('any.log'), 'any-a\nany-b\n');
  });

  it('never runs a job whose dependency failed, nor its own dependants, and says why', async () => {
    ok(await submit('fail-a', { log: 'fail.log', gate: 'fail.gate', code: 3 }));
    ok(await submit('fail-b', { log: 'fail.log', after: ['fail-a'] }));
    ok(await submit('fail-c', { log: 'fail.log', after: ['fail-b'] }));
    await sh('touch ~/fail.gate');
    const w = await wait('fail-c');
    assert.equal(w.code, 4, 'failed');
    assert.match(w.stdout, /^fail-c\tfinished \(exit 125, not run: dependency fail-b failed\)\n$/);
    const b = await json('fail-b');
    assert.equal(b.state, 'finished');
    assert.equal(b.exit_code, 125);
    assert.equal(b.started, null);
    assert.equal(b.reason, 'dependency');
    assert.equal(b.dependency, 'fail-a');
    const human = await run(['status', 'h1', '--id', 'fail-b']);
    assert.equal(human.code, 4);
    assert.equal(human.stdout, 'finished (exit 125, not run: dependency fail-a failed)\n');
    assert.match(ok(await run(['show', 'h1', '--id', 'fail-b', '--json'])), /"reason":"dependency",.*"dependency":"fail-a"/);
    assert.equal(await log('fail.log'), 'fail-a\n');
  });

  it('tej kill ends a waiting job, which then never runs', async () => {
    ok(await submit('kill-a', { log: 'kill.log', gate: 'kill.gate' }));
    ok(await submit('kill-b', { log: 'kill.log', after: ['kill-a'] }));
    assert.equal((await json('kill-b')).state, 'queued');
    ok(await run(['kill', 'h1', '--id', 'kill-b']));
    assert.equal((await json('kill-b')).state, 'killed');
    await sh('touch ~/kill.gate');
    ok(await wait('kill-a'));
    assert.equal(await log('kill.log'), 'kill-a\n');
    assert.equal((await json('kill-b')).state, 'killed');
  });

  it('a dependency whose wrapper was killed -9 is lost, and its dependant ends unrun', async () => {
    ok(await submit('lost-a', { log: 'lost.log', gate: 'lost.gate' }));
    ok(await submit('lost-b', { log: 'lost.log', after: ['lost-a'] }));
    const pid = (await json('lost-a')).native_id;
    assert.match(pid ?? '', /^\d+$/);
    // only the wrapper of lost-a: its command line names its job directory
    await sh(`tr '\\0' ' ' < /proc/${pid}/cmdline | grep -q 'lib/run-job.sh .*/jobs/lost-a' && kill -9 ${pid}`);
    const w = await wait('lost-b');
    assert.equal(w.code, 4, w.stdout + w.stderr);
    assert.match(w.stdout, /not run: dependency lost-a lost/);
    await sh('touch ~/lost.gate'); // lets the orphaned job of lost-a end
    await waitFor('the orphan of lost-a', () => log('lost.log'), (l) => l === 'lost-a\n');
    assert.equal((await json('lost-a')).state, 'lost');
  });

  it('refuses an unknown dependency at submit, naming it', async () => {
    const r = await submit('unknown-b', { log: 'unknown.log', after: ['no-such-job'] });
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /no such job to run after: no-such-job/);
    assert.equal((await run(['status', 'h1', '--id', 'unknown-b'])).code, 66);
  });
});
