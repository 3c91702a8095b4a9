// Observing and selecting jobs, end to end through the sshd test host: wait (backoff, exit codes,
// --download, webhooks), notify commands, logs (-f), list filters and table, --json, selectors, resubmit,
// show and git provenance.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { JOB_OUTPUT_SCHEMA } from '../../src/job/output.js';
import { CHANNEL_SHELL, makeJob, ok, startTej, tej, TEJ_BIN, type TejRun, waitFor } from '../helpers/cli.js';
import { startHookServer } from '../helpers/hook-server.js';
import { useSshHost } from '../helpers/lab.js';

describe('observing and selecting jobs over real SSH', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-observe-' });
  let validate: ((v: unknown) => boolean) & { errors?: unknown };
  const run = (args: string[], extra: { cwd?: string; timeoutMs?: number } = {}) => tej(args, { home: sshHost.home, ...extra });
  const jsonLines = (text: string) =>
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const o = JSON.parse(l) as Record<string, unknown>;
        assert.ok(validate(o), `not a job object: ${l}: ${JSON.stringify(validate.errors)}`);
        return o;
      });
  const submit = async (name: string, files: Record<string, string>, extra: string[] = []) => {
    const dir = await makeJob(join(sshHost.jobs, name), files);
    return ok(await run(['submit', 'h1', '--id', name, ...extra, dir])).trim();
  };

  before(async () => {
    const { default: Ajv } = await import('ajv');
    validate = new (Ajv as unknown as typeof import('ajv').default)({ strict: false }).compile(JOB_OUTPUT_SCHEMA) as never;
  });

  it('wait blocks until the jobs end, polls once per round for all ids, and exits with the worst state', async () => {
    // Each job ends when the test opens its gate: after wait's first poll has seen both running.
    await submit('w-ok', { 'start.sh': 'while [ ! -e "$HOME/w-ok.gate" ]; do sleep 0.1; done; echo result > out.txt\n' });
    await submit('w-bad', { 'start.sh': 'while [ ! -e "$HOME/w-bad.gate" ]; do sleep 0.1; done; echo partial > out.txt; exit 3\n' });
    const cwd = await sshHost.lab.makeTmpDir('tej-wait-');
    const waitStarted = Date.now();
    const waiting = startTej(['wait', 'h1', '--id', 'w-ok', '--id', 'w-bad', '--download', 'out.txt', '-v'], { home: sshHost.home, cwd });
    await waiting.stderrMatches(/\$ tej-remote status w-ok w-bad\n/);
    await sshHost.lab.execAs('h1', 'alice', 'touch ~/w-bad.gate');
    await sshHost.lab.execAs('h1', 'alice', 'while [ ! -e ~/.tej/jobs/w-bad/exit-code ]; do sleep 0.1; done; touch ~/w-ok.gate');
    const r = await waiting.done;
    const waitedMs = Date.now() - waitStarted;
    assert.equal(r.code, 4, `a job that failed: exit 4\n${r.stderr}`);
    assert.match(r.stdout, /^w-bad\tfinished \(exit 3, \d+:\d\d\)$/m);
    assert.match(r.stdout, /^w-ok\tfinished \(exit 0, \d+:\d\d\)$/m);
    assert.equal(await readFile(join(cwd, 'w-ok', 'out.txt'), 'utf8'), 'result\n', 'several jobs: each into a directory of its id');
    assert.ok(!existsSync(join(cwd, 'w-bad')), 'nothing is downloaded from a failed job');
    const polls = r.stderr.split('\n').filter((l) => /\$ tej-remote (status|show) /.test(l));
    // The records (show) serve as the first poll; then polls at 0.5, 1.5, 3.5 s (backoff), not one every
    // few ms; then one every 10 s at most, however long a loaded machine makes the wait.
    assert.ok(polls.length >= 2 && polls.length <= 7 + Math.ceil(waitedMs / 10_000), `${polls.length} polls in ${waitedMs} ms\n${r.stderr}`);
    assert.match(polls[0]!, /\$ tej-remote show --brief w-ok w-bad$/, 'the first request asks for both jobs at once');
    assert.match(polls[1]!, /\$ tej-remote status w-ok w-bad$/, 'so does the first poll');

    const single = await run(['wait', 'h1', '--id', 'w-ok', '--download', 'out.txt', '--download', 'out.txt:', '--json'], { cwd });
    assert.equal(single.code, 0, single.stderr);
    const [first, ...rest] = single.stdout.split('\n');
    assert.equal(jsonLines(first!)[0]!.state, 'finished');
    assert.equal(rest.join('\n'), 'result\n', 'out.txt: goes to stdout');
    assert.equal(await readFile(join(cwd, 'out.txt'), 'utf8'), 'result\n', 'one job: into the current directory');
    const missing = await run(['wait', 'h1', '--id', 'w-ok', '--download', 'nope.txt'], { cwd });
    assert.equal(missing.code, 66, 'a download that fails counts');
    assert.match(missing.stdout, /^w-ok\tfinished \(exit 0/);
    assert.match(missing.stderr, /downloading from job w-ok failed: no such file in job w-ok: nope\.txt/);
  });

  it('wait --timeout gives up with the state of the jobs still running; a missing job is 66', async () => {
    await submit('w-long', { 'start.sh': 'sleep 1010\n' });
    const t0 = Date.now();
    const r = await run(['wait', 'h1', '--id', 'w-long', '--timeout', '2s']);
    assert.equal(r.code, 2, r.stderr);
    assert.ok(Date.now() - t0 < 120_000, "gave up long before the job (1010 s) ends");
    assert.match(r.stderr, /timed out waiting for w-long/);
    assert.match(r.stdout, /^w-long\trunning \(\d+:\d\d\)\n$/, 'the jobs still running are reported too');
    const badTimeout = await run(['wait', 'h1', '--id', 'w-long', '--timeout', 'soon']);
    assert.equal(badTimeout.code, 64);
    assert.match(badTimeout.stderr, /bad --timeout 'soon'/);
    ok(await run(['kill', 'h1', '--id', 'w-long', '--grace', '1']));
    const killed = await run(['wait', 'h1', '--id', 'w-long']);
    assert.equal(killed.code, 5, 'killed');
    const missing = await run(['wait', 'h1', '--id', 'no-such-job']);
    assert.equal(missing.code, 66);
    assert.match(missing.stdout, /no-such-job\tno such job/);
  });

  it("the job's wrapper POSTs its end to its tej.json webhook from the host, not tej wait; the notify command runs on the host", async () => {
    const hooks = await startHookServer(sshHost.lab.hosts.h1.ip);
    const bodies = hooks.posts;
    const hostFile = async (id: string, name: string) => (await sshHost.lab.execAs('h1', 'alice', `cat ~/.tej/jobs/${id}/${name}`)).stdout;
    try {
      await submit('hooked', {
        // the job rewrites its webhook: the wrapper read the submitted one before the job ran
        'start.sh': `echo ${hooks.base}/planted > ../meta/notify-webhook; exit 7\n`,
        'tej.json': JSON.stringify({
          env: { WHO: 'me' },
          notify: { webhook: `${hooks.base}/hook?x=1`, command: 'echo "$TEJ_JOB_ID $TEJ_JOB_STATE $TEJ_JOB_EXIT_CODE $WHO" > notified.txt' },
        }),
      });
      const r = await run(['wait', 'h1', '--id', 'hooked']);
      assert.equal(r.code, 4, r.stderr);
      // the wrapper posts once the end is recorded: wait for its record of the POST, then count them
      await waitFor('the POST from the host', () => hostFile('hooked', 'notify-posted'), (t) => /^\d+\n$/.test(t));
      assert.equal(await hostFile('hooked', 'notify-host'), 'curl\n');
      assert.deepEqual(bodies, [
        { url: '/hook?x=1', type: 'application/json', body: { id: 'hooked', state: 'finished', exit_code: 7, host: 'h1' } },
      ]);
      const note = await waitFor('the notify command', () => run(['download', 'h1', '--id', 'hooked', 'notified.txt:']), (x) => x.code === 0);
      assert.equal(note.stdout, 'hooked finished 7 me\n');
      // A webhook that fails is recorded on the host (notify-error); the job's state is unchanged.
      hooks.close();
      await submit('hook-down', { 'start.sh': 'true\n', 'tej.json': JSON.stringify({ notify: { webhook: `${hooks.base}/gone` } }) });
      const down = await run(['wait', 'h1', '--id', 'hook-down']);
      assert.equal(down.code, 0, down.stderr);
      assert.match(await waitFor('the failed POST', () => hostFile('hook-down', 'notify-error'), (t) => t !== ''), /curl/);
    } finally {
      hooks.close();
    }
    const bad = await makeJob(join(sshHost.jobs, 'badhook'), { 'start.sh': 'true\n', 'tej.json': '{"notify": {"webhook": "ftp://x", "mail": "a@b"}}' });
    const refused = await run(['submit', 'h1', bad]);
    assert.equal(refused.code, 78, refused.stderr);
    assert.match(refused.stderr, /\/notify: unknown field 'mail'/);
    assert.match(refused.stderr, /\/notify\/webhook: must match pattern/);
  });

  it('logs prints the output, -f follows it until the job ends, --stderr and tej.json stdout files', async () => {
    // The job prints its second line only when the test opens a gate, after the first one has arrived:
    // -f must deliver output while the job runs, whatever the machine's load.
    await submit('chatty', { 'start.sh': 'echo one; while [ ! -e "$HOME/chatty.gate" ]; do sleep 0.1; done; echo two; echo err >&2\n' });
    const child = spawn(process.execPath, [TEJ_BIN, 'logs', 'h1', '--id', 'chatty', '-f'], { env: { PATH: process.env.PATH!, HOME: sshHost.home, LC_ALL: 'C' } });
    let out = '';
    let gateOpened = false;
    const firstLine = new Promise<void>((resolve) =>
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out === 'one\n' && !gateOpened) resolve();
      }),
    );
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', r));
    await Promise.race([firstLine, closed]);
    assert.equal(out, 'one\n', `the first line arrives while the job still runs: ${JSON.stringify(out)} ${err}`);
    gateOpened = true;
    await sshHost.lab.execAs('h1', 'alice', 'touch "$HOME/chatty.gate"');
    const code = await closed;
    assert.equal(code, 0, err);
    assert.equal(out, 'one\ntwo\n');
    assert.equal(ok(await run(['logs', 'h1', '--id', 'chatty'])), 'one\ntwo\n');
    assert.equal(ok(await run(['logs', 'h1', '--id', 'chatty', '--stderr'])), 'err\n');
    // A reader that stops early ends tej quietly (exit 0, no EPIPE trace).
    await submit('many', { 'start.sh': 'i=0; while [ $i -lt 100000 ]; do echo "line $i"; i=$((i+1)); done\n' });
    ok(await run(['wait', 'h1', '--id', 'many']));
    const piped = execFileSync('bash', ['-o', 'pipefail', '-c', `"${process.execPath}" "${TEJ_BIN}" logs h1 --id many -f 2>&1 | head -1`], {
      env: { PATH: process.env.PATH!, HOME: sshHost.home, LC_ALL: 'C' },
      encoding: 'utf8',
    });
    assert.equal(piped, 'line 0\n');
    await submit('ownout', { 'start.sh': 'echo mine\n', 'tej.json': '{"stdout": "logs/run.log"}' });
    ok(await run(['wait', 'h1', '--id', 'ownout']));
    assert.equal(ok(await run(['logs', 'h1', '--id', 'ownout', '--follow'])), 'mine\n');
    // A follower that goes away (Ctrl-C) leaves no loop behind on the host.
    await submit('endless', { 'start.sh': 'while :; do sleep 1; done\n' });
    const follower = spawn(process.execPath, [TEJ_BIN, 'logs', 'h1', '--id', 'endless', '-f'], { env: { PATH: process.env.PATH!, HOME: sshHost.home, LC_ALL: 'C' } });
    // The follow loop runs in the channel's shell (the helper program, not a file: no command name to see).
    const followLoop = () => sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', CHANNEL_SHELL]);
    await waitFor('the remote follow loop', followLoop, (r) => r.stdout.trim() !== '');
    follower.kill('SIGINT');
    await new Promise((r) => follower.on('close', r));
    await waitFor('the loop to stop', followLoop, (r) => r.stdout.trim() === '', 60_000);
    ok(await run(['kill', 'h1', '--id', 'endless', '--grace', '1']));
    const missing = await run(['logs', 'h1', '--id', 'nosuch']);
    assert.equal(missing.code, 66);
    assert.match(missing.stderr, /no such job: nosuch/);
    assert.equal((await run(['logs', 'h1'])).code, 64);
  });

  it('list filters by state, label and time, prints a table on a terminal and JSON lines with --json', async () => {
    await submit('sel_a', { 'start.sh': 'true\n', 'tej.json': '{"labels": {"exp": "lr", "seed": "1"}}' });
    await submit('sel_b', { 'start.sh': 'exit 2\n', 'tej.json': '{"labels": {"exp": "lr", "seed": "2"}}' });
    await submit('sel_c', { 'start.sh': 'sleep 1020\n' }, ['--label', 'exp=wd']);
    ok(await run(['wait', 'h1', '--id', 'sel_a', '--id', 'sel_b']).then((r) => ({ ...r, code: r.code === 4 ? 0 : r.code })));
    const ids = (r: TejRun) => ok(r).split('\n').filter(Boolean).map((l) => l.split('\t')[0]);
    assert.deepEqual(ids(await run(['list', 'h1', '--label', 'exp=lr'])), ['sel_a', 'sel_b']);
    assert.deepEqual(ids(await run(['list', 'h1', '--label', 'exp=lr', '--label', 'seed=2'])), ['sel_b']);
    assert.deepEqual(ids(await run(['list', 'h1', '--id', 'sel_*', '--state', 'running'])), ['sel_c']);
    assert.deepEqual(ids(await run(['list', 'h1', '--id', 'sel_*', '--state', 'failed'])), ['sel_b']);
    assert.deepEqual(ids(await run(['list', 'h1', '--id', 'sel_*', '--since', '10m'])), ['sel_a', 'sel_b', 'sel_c']);
    assert.deepEqual(ids(await run(['list', 'h1', '--since', '2999-01-01'])), []);
    const bad = await run(['list', 'h1', '--state', 'sleeping']);
    assert.equal(bad.code, 64);
    assert.match(bad.stderr, /unknown state 'sleeping'/);
    assert.equal((await run(['list', 'h1', '--since', 'yesterday'])).code, 64);

    const json = jsonLines(ok(await run(['list', 'h1', '--label', 'exp', '--json'])));
    assert.deepEqual(json.map((j) => [j.id, j.state, j.exit_code, j.labels]), [
      ['sel_a', 'finished', 0, { exp: 'lr', seed: '1' }],
      ['sel_b', 'finished', 2, { exp: 'lr', seed: '2' }],
      ['sel_c', 'running', null, { exp: 'wd' }],
    ]);
    const labels = await sshHost.lab.execAs('h1', 'alice', 'cat ~/.tej/jobs/sel_c/meta/labels');
    assert.equal(labels.stdout, '{"exp":"wd"}\n', 'labels reach meta/');

    // A terminal: script(1) gives the CLI a pty.
    const tty = execFileSync('script', ['-qec', `${process.execPath} ${TEJ_BIN} list h1 --id 'sel_*' 2>/dev/null`, '/dev/null'], {
      env: { PATH: process.env.PATH!, HOME: sshHost.home, LC_ALL: 'C' },
      encoding: 'utf8',
    }).replace(/\r/g, '');
    const lines = tty.trim().split('\n');
    assert.match(lines[0]!, /^ID +STATE +EXIT +STARTED \(UTC\) +DURATION +LABELS$/);
    assert.equal(lines.length, 4);
    for (const l of lines.slice(1)) assert.equal(l.indexOf(l.split(/ +/)[1]!), lines[0]!.indexOf('STATE'), `aligned: ${l}`);
    assert.match(lines[1]!, /^sel_a +finished +0 +\d{4}-.* +exp=lr,seed=1$/);
  });

  it('selects jobs by glob and label for status, kill and delete, and refuses a selection that matches nothing', async () => {
    await submit('sk_1', { 'start.sh': 'sleep 1030\n', 'tej.json': '{"labels": {"grp": "k"}}' });
    await submit('sk_2', { 'start.sh': 'sleep 1031\n', 'tej.json': '{"labels": {"grp": "k"}}' });
    await waitFor('both running', () => run(['status', 'h1', '--id', 'sk_*']), (r) => r.code === 2 && r.stdout.split('\n').filter((l) => l.includes('running')).length === 2);
    const st = await run(['status', 'h1', '--id', 'sk_*', '--json']);
    assert.equal(st.code, 2);
    assert.deepEqual(jsonLines(st.stdout).map((j) => [j.id, j.state]), [['sk_1', 'running'], ['sk_2', 'running']]);
    const killed = await run(['kill', 'h1', '--label', 'grp=k', '--grace', '1', '--json']);
    assert.equal(killed.code, 0, killed.stderr);
    assert.deepEqual(jsonLines(killed.stdout).map((j) => [j.id, j.previous_state, j.state]), [['sk_1', 'running', 'killed'], ['sk_2', 'running', 'killed']]);
    assert.equal((await sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', 'sleep 103[01]'])).stdout, '');
    const none = await run(['kill', 'h1', '--id', 'zz_*']);
    assert.equal(none.code, 66);
    assert.match(none.stderr, /no job matches --id 'zz_\*' \(on alice@h1\)/);
    const noLabel = await run(['status', 'h1', '--label', 'grp=none']);
    assert.equal(noLabel.code, 66);
    assert.match(noLabel.stderr, /no job matches the selection with --label grp=none/);
    assert.equal((await run(['status', 'h1'])).code, 64, 'no selector at all');
    const del = await run(['delete', 'h1', '--id', 'sk_?', '--json']);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(del.stdout.trim().split('\n').map((l) => JSON.parse(l)), [{ id: 'sk_1', deleted: true }, { id: 'sk_2', deleted: true }]);
    assert.equal((await run(['status', 'h1', '--id', 'sk_1'])).code, 66);
  });

  it('delete over several jobs goes on past one that refuses, and exits with its code', async () => {
    await submit('sg_a', { 'start.sh': 'true\n' });
    await submit('sg_b', { 'start.sh': 'sleep 1032\n' });
    await submit('sg_c', { 'start.sh': 'true\n' });
    await waitFor('a and c ended, b running', () => run(['status', 'h1', '--id', 'sg_*', '--json']), (r) => jsonLines(r.stdout).map((j) => j.state).join(' ') === 'finished running finished');
    const del = await run(['delete', 'h1', '--id', 'sg_*', '--json']);
    assert.equal(del.code, 75, del.stderr);
    assert.deepEqual(del.stdout.trim().split('\n').map((l) => JSON.parse(l)), [{ id: 'sg_a', deleted: true }, { id: 'sg_c', deleted: true }]);
    assert.match(del.stderr, /^tej: job sg_b is running \(delete --kill kills it first\)/m);
    assert.equal((await run(['status', 'h1', '--id', 'sg_a'])).code, 66);
    assert.equal((await run(['status', 'h1', '--id', 'sg_c'])).code, 66);
    assert.equal(jsonLines((await run(['status', 'h1', '--id', 'sg_b', '--json'])).stdout)[0]!.state, 'running');
    const noKill = await run(['delete', 'h1', '--id', 'sg_b', '--grace', '1']);
    assert.equal(noKill.code, 64);
    assert.match(noKill.stderr, /--grace goes with --kill/);
    ok(await run(['delete', 'h1', '--id', 'sg_b', '--kill', '--grace', '0']));
    assert.equal((await run(['status', 'h1', '--id', 'sg_b'])).code, 66);
  });

  it('resubmit runs a job again from its uploaded inputs under a new id; --failed reruns the failed ones', async () => {
    await submit('rs_ok', { 'start.sh': 'cat in.txt; echo changed > in.txt\n', 'in.txt': 'pristine\n', 'tej.json': '{"labels": {"batch": "rs"}}' });
    await submit('rs_bad', { 'start.sh': 'exit 9\n', 'tej.json': '{"labels": {"batch": "rs"}}' });
    await run(['wait', 'h1', '--label', 'batch=rs']);
    const again = await run(['resubmit', 'h1', '--id', 'rs_ok', '--new-id', 'rs_ok2', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const [j] = jsonLines(again.stdout);
    assert.equal(j!.id, 'rs_ok2');
    assert.equal(j!.resubmitted_from, 'rs_ok');
    ok(await run(['wait', 'h1', '--id', 'rs_ok2']));
    assert.equal(ok(await run(['logs', 'h1', '--id', 'rs_ok2'])), 'pristine\n', 'the input as uploaded, not as the first run left it');
    const failed = await run(['resubmit', 'h1', '--label', 'batch=rs', '--failed']);
    assert.equal(failed.code, 0, failed.stderr);
    const newIds = failed.stdout.trim().split('\n');
    assert.equal(newIds.length, 1);
    assert.match(newIds[0]!, /^rs_bad\.r[A-Za-z0-9]{6}$/);
    const w = await run(['wait', 'h1', '--id', newIds[0]!]);
    assert.equal(w.code, 4);
    const shown = jsonLines(ok(await run(['show', 'h1', '--id', newIds[0]!, '--json'])))[0]!;
    assert.equal(shown.resubmitted_from, 'rs_bad');
    assert.deepEqual(shown.labels, { batch: 'rs' }, 'a rerun keeps the labels');
    assert.equal(shown.git, null, 'no git work tree, no provenance');
    const nothing = await run(['resubmit', 'h1', '--id', 'rs_ok', '--failed']);
    assert.equal(nothing.code, 66);
    assert.match(nothing.stderr, /no failed job/);
    assert.equal((await run(['resubmit', 'h1'])).code, 64);
    // --no-keep-input: nothing kept on the host, so nothing to run again
    await submit('rs_nokeep', { 'start.sh': 'true\n' }, ['--no-keep-input']);
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'test -e ~/.tej/jobs/rs_nokeep/input.tar')).code, 1);
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'test -e ~/.tej/jobs/rs_ok/input.tar')).code, 0, 'small uploads are kept by default');
    const notKept = await run(['resubmit', 'h1', '--id', 'rs_nokeep']);
    assert.equal(notKept.code, 66);
    assert.match(notKept.stderr, /no saved input .*--keep-input/);
  });

  it('show prints the full record with git provenance; submit and download print JSON too', async () => {
    const repo = await sshHost.lab.makeTmpDir('tej-repo-');
    const git = (...a: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=T', '-c', 'user.email=t@example.org', ...a], { encoding: 'utf8' });
    git('init', '-q', '-b', 'feature/x');
    await makeJob(join(repo, 'exp'), { 'start.sh': 'echo "$1" > arg.txt\n', 'tej.json': JSON.stringify({ args: ['A1'], labels: { k: 'v' }, time_limit: '1h', cpus: 2 }) });
    git('add', '.');
    git('commit', '-q', '-m', 'first');
    const commit = git('rev-parse', 'HEAD').trim();
    await makeJob(join(repo, 'exp'), { 'start.sh': 'echo "$1" > arg.txt # edited\n' });
    const sub = await run(['submit', 'h1', '--id', 'prov1', '--json', join(repo, 'exp')]);
    const [subJson] = jsonLines(ok(sub));
    assert.equal(subJson!.id, 'prov1');
    assert.equal(subJson!.plugin, 'direct');
    assert.match(String(subJson!.native_id), /^\d+$/);
    ok(await run(['wait', 'h1', '--id', 'prov1']));

    const [rec] = jsonLines(ok(await run(['show', 'h1', '--id', 'prov1', '--json'])));
    assert.equal(rec!.state, 'finished');
    assert.equal(rec!.exit_code, 0);
    assert.equal(rec!.host, 'h1');
    assert.equal(rec!.queue, '/home/alice/.tej');
    assert.equal(rec!.work_dir, '/home/alice/.tej/jobs/prov1/work');
    assert.deepEqual(rec!.labels, { k: 'v' });
    assert.deepEqual((rec!.spec as Record<string, unknown>).args, ['A1']);
    const g = rec!.git as Record<string, unknown>;
    assert.equal(g.commit, commit);
    assert.equal(g.branch, 'feature/x');
    assert.equal(g.dirty, true);
    assert.equal(g.path, 'exp');
    assert.match(String(g.diff), /^\+echo "\$1" > arg\.txt # edited$/m);
    const subm = rec!.submission as Record<string, unknown>;
    assert.equal(subm.script, 'start.sh');
    assert.equal(subm.time_limit_s, 3600);
    assert.equal(subm.cpus, 2);
    assert.equal(subm.dir, join(repo, 'exp'));

    const human = ok(await run(['show', 'h1', '--id', 'prov1', '--diff']));
    assert.match(human, /^id: +prov1$/m);
    assert.match(human, /^state: +finished \(exit 0, \d+:\d\d\)$/m);
    assert.match(human, /^plugin: +direct \(native id \d+\)$/m);
    assert.match(human, /^host: +h1$/m);
    assert.match(human, new RegExp(`^git: +${commit} on feature/x, dirty \\(diff \\d+ bytes\\), in exp/$`, 'm'));
    assert.match(human, /^\+echo "\$1" > arg\.txt # edited$/m, '--diff prints the diff');
    const absent = await run(['show', 'h1', '--id', 'nosuch']);
    assert.equal(absent.code, 66);

    const cwd = await sshHost.lab.makeTmpDir('tej-dljson-');
    const d = await run(['download', 'h1', '--id', 'prov1', 'arg.txt', '--json'], { cwd });
    assert.deepEqual(JSON.parse(ok(d)), { destination: join(cwd, 'arg.txt'), files: 1, bytes: 3, skipped: [] });
  });
});
