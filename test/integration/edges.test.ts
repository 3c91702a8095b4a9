// Edges of the CLI that no other suite reaches, end to end against the sshd test host: setup --force
// into a directory of the user's, logs -f on an output file that is rewritten or replaced, kill of a
// job that is still being submitted, two resubmits racing for one new id, one job id in two queues.
// The jobs and the submit helper wait on gate files the test creates, never on time.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeJob, ok, startTej, tej, waitFor } from '../helpers/cli.js';
import { makeClientHome, useSshHost } from '../helpers/lab.js';

/** A job line that waits for the file `name` in its work directory (the test's gate). */
const gate = (name: string) => `while [ ! -e ${name} ]; do sleep 0.1; done\n`;

// bob's sessions find this `mv` first on their PATH (Debian's bash reads ~/.bashrc for ssh commands
// too): it holds the submit helper at the mv whose arguments match ~/hold.pattern, says so in ~/held
// ("HELPER_PID MV_PID"), and goes on once ~/release exists. The helper itself is the shipped one.
const HOLDING_MV = `#!/bin/sh
pattern=$(cat "$HOME/hold.pattern" 2>/dev/null) || pattern=
case $pattern in
?*)
	case "$*" in
	*$pattern*)
		echo "$PPID $$" >"$HOME/held.tmp" && /bin/mv -f "$HOME/held.tmp" "$HOME/held"
		while ! test -e "$HOME/release"; do sleep 0.1; done
		;;
	esac
	;;
esac
exec /bin/mv "$@"
`;

describe('edges of the CLI over real SSH', () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-edges-' });
  /** A client home that logs in as bob, whose submit helpers can be held (HOLDING_MV). */
  let bobHome: string;
  const run = (args: string[], extra: { cwd?: string; home?: string } = {}) => tej(args, { home: sshHost.home, timeoutMs: 120_000, ...extra });
  const asBob = (args: string[]) => run(args, { home: bobHome });
  const remote = async (user: string, cmd: string) => {
    const r = await sshHost.lab.execAs('h1', user, cmd);
    assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
    return r.stdout;
  };
  const ls = async (user: string, dir: string) => (await remote(user, `ls -A ${dir}`)).split('\n').filter(Boolean);
  /** Holds bob's next submit helper at the mv matching `pattern`; resolves to "HELPER_PID MV_PID" once it is held. */
  const holdAt = async (pattern: string) => {
    await remote('bob', `rm -f ~/held ~/release && printf '%s\\n' '${pattern}' > ~/hold.pattern`);
    return async () => (await waitFor('the submit helper to be held', () => sshHost.lab.execAs('h1', 'bob', 'cat ~/held'), (r) => r.code === 0)).stdout.trim();
  };
  const release = () => remote('bob', 'rm -f ~/hold.pattern && touch ~/release');

  before(async () => {
    bobHome = await makeClientHome(sshHost.lab, { user: 'bob' });
    const hold = await sshHost.lab.execAs('h1', 'bob', "mkdir ~/hold-bin && cat > ~/hold-bin/mv && chmod 755 ~/hold-bin/mv && echo 'PATH=$HOME/hold-bin:$PATH' > ~/.bashrc", { input: HOLDING_MV });
    assert.equal(hold.code, 0, hold.stderr);
    ok(await run(['setup', 'h1']));
    ok(await asBob(['setup', 'h1']));
  });

  it('setup refuses a non-empty directory that is not a tej queue unless --force, which keeps the files there', async () => {
    await remote('alice', 'mkdir mine && echo mine > mine/notes.txt && mkdir mine/data && echo 1 > mine/data/x');
    const refused = await run(['setup', 'h1', '--queue', 'mine']);
    assert.equal(refused.code, 69, refused.stderr);
    assert.match(refused.stderr, /^tej: mine on alice@h1 exists and is not a tej queue\n.*--force/m);
    assert.doesNotMatch(refused.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(await ls('alice', 'mine'), ['data', 'notes.txt'], 'nothing was installed');
    // every other command says the same, with the whole fix
    const status = await run(['status', 'h1', '--queue', 'mine', '--id', 'x']);
    assert.equal(status.code, 69, status.stderr);
    assert.match(status.stderr, /exists and is not a tej queue\n.*tej setup alice@h1 --queue mine --force/);

    ok(await run(['setup', 'h1', '--queue', 'mine', '--force']));
    assert.equal(await remote('alice', 'cat mine/notes.txt mine/data/x'), 'mine\n1\n', "the user's files are still there");
    const dir = await makeJob(join(sshHost.jobs, 'forced'), { 'start.sh': 'echo ran\n' });
    ok(await run(['submit', 'h1', '--queue', 'mine', '--id', 'forced', dir]));
    ok(await run(['wait', 'h1', '--queue', 'mine', '--id', 'forced']));
    assert.equal(ok(await run(['logs', 'h1', '--queue', 'mine', '--id', 'forced'])), 'ran\n');
    ok(await run(['setup', 'h1', '--queue', 'mine'])); // a tej queue now: setup again needs no --force
    assert.equal(await remote('alice', 'cat mine/notes.txt mine/data/x'), 'mine\n1\n');
  });

  it('logs -f on a job that truncates its own output file prints what the job writes after, and ends with it', async () => {
    // The job rewrites its output from the start (a progress file). (A job that truncates it and then
    // writes on through its stdout gets NULs up to its old offset, in the file itself: the wrapper
    // opens the output without O_APPEND, as `job > file` does.)
    const dir = await makeJob(join(sshHost.jobs, 'trunc'), {
      'start.sh': `echo "a first line, longer than what follows"\n${gate('gate1')}echo after > tej.stdout\n${gate('gate2')}`,
    });
    ok(await run(['submit', 'h1', '--id', 'trunc1', dir]));
    const follow = startTej(['logs', 'h1', '--id', 'trunc1', '-f'], { home: sshHost.home });
    await follow.stdoutMatches(/longer than what follows\n/);
    await remote('alice', 'touch ~/.tej/jobs/trunc1/work/gate1');
    await follow.stdoutMatches(/after\n/);
    await remote('alice', 'touch ~/.tej/jobs/trunc1/work/gate2');
    const r = await follow.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'a first line, longer than what follows\nafter\n');
  });

  it('logs -f on a job that replaces its output file prints the new file from its start, and ends with the job', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'repl'), {
      'start.sh': `echo short\n${gate('gate1')}echo "a new file, longer than the one it replaces" > new.txt\nmv new.txt tej.stdout\n${gate('gate2')}`,
    });
    ok(await run(['submit', 'h1', '--id', 'repl1', dir]));
    const follow = startTej(['logs', 'h1', '--id', 'repl1', '-f'], { home: sshHost.home });
    await follow.stdoutMatches(/short\n/);
    await remote('alice', 'touch ~/.tej/jobs/repl1/work/gate1');
    await follow.stdoutMatches(/it replaces\n/);
    await remote('alice', 'touch ~/.tej/jobs/repl1/work/gate2');
    const r = await follow.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'short\na new file, longer than the one it replaces\n');
  });

  it('a job still uploading is no job yet: kill and status say so, list is whole, and the submit then completes', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'upl'), { 'start.sh': 'exec sleep 1000\n' });
    // Bigger than what a stopped client may have handed to the network already (its socket buffer,
    // at most the channel's 2 MB window): 1.5 MB could all be in flight at the SIGSTOP and arrive
    // while kill ran on a loaded machine, which then found the job.
    await writeFile(join(dir, 'big.bin'), randomBytes(6_000_000));
    await sshHost.lab.fault('h1', 'rate', '4mbit');
    const submit = startTej(['submit', 'h1', '--id', 'upl1', dir], { home: sshHost.home });
    try {
      await waitFor('the upload to be in flight', () => sshHost.lab.execAs('h1', 'alice', 'du -sb ~/.tej/staging/upl1.* 2>/dev/null | cut -f1'),
        (r) => Number(r.stdout.trim().split('\n')[0] || 0) >= 100_000);
      submit.child.kill('SIGSTOP'); // the client stops mid-upload: the helper waits for the rest
      const kill = await run(['kill', 'h1', '--id', 'upl1']);
      assert.equal(kill.code, 66, kill.stderr);
      assert.match(kill.stderr, /job 'upl1' not found|no such job/);
      const status = await run(['status', 'h1', '--id', 'upl1']);
      assert.equal(status.code, 66, status.stderr);
      assert.doesNotMatch(ok(await run(['list', 'h1'])), /^upl1\t/m);
      assert.ok(!(await ls('alice', '~/.tej/jobs')).includes('upl1'), 'kill left no half job');
      submit.child.kill('SIGCONT');
      const r = await submit.done;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'upl1\n');
    } finally {
      submit.child.kill('SIGCONT');
      await sshHost.lab.fault('h1', 'clear');
    }
    await waitFor('upl1 to run', () => run(['status', 'h1', '--id', 'upl1']), (s) => s.code === 2);
    assert.equal(ok(await run(['kill', 'h1', '--id', 'upl1', '--grace', '1'])), 'upl1: killed\n');
    assert.deepEqual(await ls('alice', '~/.tej/staging'), []);
  });

  it('a job whose submit is held after claiming its id: kill refuses (75) and kills nothing, status and list say submitting', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'held'), { 'start.sh': 'echo started > started\nexec sleep 1000\n' });
    // held at the last step: the plugin has started the job, native-id is not written yet
    const held = await holdAt('/staging/held1.*/native-id');
    const submit = startTej(['submit', 'h1', '--id', 'held1', dir], { home: bobHome });
    try {
      await held();
      const kill = await asBob(['kill', 'h1', '--id', 'held1']);
      assert.equal(kill.code, 75, kill.stderr);
      assert.match(kill.stderr, /job held1 is being submitted: nothing was killed/);
      assert.doesNotMatch(kill.stderr, /\n\s+at /, 'no stack trace');
      const status = await asBob(['status', 'h1', '--id', 'held1']);
      assert.equal(status.stdout, 'submitting\n', status.stderr);
      assert.match(ok(await asBob(['list', 'h1'])), /^held1\tsubmitting/m);
      const del = await asBob(['delete', 'h1', '--id', 'held1', '--kill']);
      assert.equal(del.code, 75, del.stderr);
      assert.match(del.stderr, /job held1 is being submitted/);
    } finally {
      await release();
    }
    const r = await submit.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'held1\n');
    await waitFor('held1 to run', () => asBob(['status', 'h1', '--id', 'held1']), (s) => s.code === 2);
    assert.equal(await remote('bob', 'cat ~/.tej/jobs/held1/work/started'), 'started\n', 'the job ran, untouched by the kill');
    assert.equal(ok(await asBob(['kill', 'h1', '--id', 'held1', '--grace', '1'])), 'held1: killed\n');
    assert.deepEqual(await ls('bob', '~/.tej/staging'), []);
  });

  it('a submit that dies after claiming its id leaves an incomplete job that kill leaves alone and delete removes', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'dies'), { 'start.sh': 'exec sleep 1000\n' });
    // held right after the claim (the mv of its submitter file into jobs/dies1), then killed there
    const held = await holdAt('/staging/dies1.*/submitter');
    const submit = startTej(['submit', 'h1', '--id', 'dies1', dir], { home: bobHome });
    try {
      const [helper, mv] = (await held()).split(' ');
      assert.equal((await sshHost.lab.exec('h1', ['kill', '-KILL', helper!, mv!])).code, 0);
      const r = await submit.done;
      assert.notEqual(r.code, 0, 'the submit failed');
    } finally {
      await release();
    }
    const status = await asBob(['status', 'h1', '--id', 'dies1']);
    assert.equal(status.code, 7, status.stderr);
    assert.equal(status.stdout, 'incomplete\n');
    assert.equal(ok(await asBob(['kill', 'h1', '--id', 'dies1'])), 'dies1: not running (already incomplete)\n');
    assert.match(ok(await asBob(['list', 'h1'])), /^dies1\tincomplete/m);
    const again = await asBob(['submit', 'h1', '--id', 'dies1', dir]);
    assert.equal(again.code, 73, 'the id stays taken until the incomplete job is deleted');
    assert.match(again.stderr, /job dies1 exists already/);
    ok(await asBob(['delete', 'h1', '--id', 'dies1']));
    assert.equal(ok(await asBob(['submit', 'h1', '--id', 'dies1', dir])), 'dies1\n');
    await waitFor('dies1 to run', () => asBob(['status', 'h1', '--id', 'dies1']), (s) => s.code === 2);
    ok(await asBob(['kill', 'h1', '--id', 'dies1', '--grace', '1']));
    assert.deepEqual(await ls('bob', '~/.tej/staging'), [], "the next submit removed what the dead one left in staging");
  });

  it('of two resubmits to one new id, exactly one wins; the other gets 73 and leaves nothing behind', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'orig'), { 'start.sh': 'echo "run $TEJ_JOB_ID" > ran.txt\n', 'data.txt': 'input\n' });
    ok(await asBob(['submit', 'h1', '--id', 'orig', dir]));
    ok(await asBob(['wait', 'h1', '--id', 'orig']));
    // The one that claims the id first is held before it records its plugin handle, until the other
    // has had its answer: the two overlap whichever comes first.
    const held = await holdAt('/staging/rerun.*/native-id');
    const a = startTej(['resubmit', 'h1', '--id', 'orig', '--new-id', 'rerun'], { home: bobHome });
    const b = startTej(['resubmit', 'h1', '--id', 'orig', '--new-id', 'rerun'], { home: bobHome });
    let loser;
    try {
      await held();
      loser = await Promise.race([a.done, b.done]);
    } finally {
      await release();
    }
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const winner = ra === loser ? rb : ra;
    assert.equal(winner.code, 0, winner.stderr);
    assert.equal(winner.stdout, 'rerun\n');
    assert.equal(loser.code, 73, loser.stderr);
    assert.equal(loser.stdout, '');
    assert.match(loser.stderr, /job rerun exists already/);
    ok(await asBob(['wait', 'h1', '--id', 'rerun']));
    assert.equal(ok(await asBob(['download', 'h1', '--id', 'rerun', 'ran.txt:'])), 'run rerun\n');
    assert.deepEqual((await ls('bob', '~/.tej/jobs')).filter((j) => j === 'orig' || j.startsWith('rerun')), ['orig', 'rerun']);
    assert.deepEqual(await ls('bob', '~/.tej/staging'), [], 'the loser left nothing in staging');
    assert.equal(await remote('bob', 'cat ~/.tej/jobs/orig/rerun-as ~/.tej/jobs/rerun/resubmitted-from'), 'rerun\norig\n');
  });

  it('one job id in two queues on one host: each command touches only its own queue', async () => {
    for (const q of ['qa', 'qb']) {
      ok(await run(['setup', 'h1', '--queue', q]));
      const dir = await makeJob(join(sshHost.jobs, `twin-${q}`), { 'start.sh': `echo ${q} > which.txt\necho ${q}\nexec sleep 1000\n` });
      assert.equal(ok(await run(['submit', 'h1', '--queue', q, '--id', 'twin', dir])), 'twin\n');
    }
    for (const q of ['qa', 'qb']) {
      await waitFor(`twin in ${q} to run`, () => run(['download', 'h1', '--queue', q, '--id', 'twin', 'which.txt:']), (r) => r.code === 0);
      assert.equal(ok(await run(['download', 'h1', '--queue', q, '--id', 'twin', 'which.txt:'])), `${q}\n`);
      assert.equal(ok(await run(['logs', 'h1', '--queue', q, '--id', 'twin'])), `${q}\n`);
    }
    assert.equal(ok(await run(['kill', 'h1', '--queue', 'qa', '--id', 'twin', '--grace', '1'])), 'twin: killed\n');
    assert.match((await run(['status', 'h1', '--queue', 'qa', '--id', 'twin'])).stdout, /^killed/);
    const b = await run(['status', 'h1', '--queue', 'qb', '--id', 'twin']);
    assert.equal(b.code, 2, `the other queue's twin runs on: ${b.stdout}${b.stderr}`);
    ok(await run(['delete', 'h1', '--queue', 'qa', '--id', 'twin']));
    assert.equal((await run(['status', 'h1', '--queue', 'qa', '--id', 'twin'])).code, 66);
    assert.equal((await run(['status', 'h1', '--queue', 'qb', '--id', 'twin'])).code, 2);
    assert.equal(ok(await run(['download', 'h1', '--queue', 'qb', '--id', 'twin', 'which.txt:'])), 'qb\n');
    assert.match(ok(await run(['list', 'h1', '--queue', 'qb'])), /^twin\trunning/m);
    assert.doesNotMatch(ok(await run(['list', 'h1', '--queue', 'qa'])), /^twin\t/m);
    const del = await run(['delete', 'h1', '--queue', 'qb', '--id', 'twin']);
    assert.equal(del.code, 75, 'a running job is refused without --kill');
    ok(await run(['delete', 'h1', '--queue', 'qb', '--id', 'twin', '--kill']));
    assert.equal((await run(['status', 'h1', '--queue', 'qb', '--id', 'twin'])).code, 66);
  });
});
