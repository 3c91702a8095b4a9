// The slurm plugin, end to end: the built CLI over real SSH to a namespace host that runs a real
// single-node Slurm (slurmctld + slurmd + munge). The cases are independent and run concurrently: the
// node has 16 cpus and the queued-job case fills its own partition ('hold'), not the default one.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeJob, startTej, tej, waitFor, ok } from '../helpers/cli.js';
import { countCalls, flakySubmit } from '../helpers/scheduler-calls.js';
import { makeClientHome, startLab, type Lab } from '../helpers/lab.js';

interface JsonStatus {
  id: string;
  state: string;
  exit_code: number | null;
  native_id: string | null;
  native_state: string | null;
}

describe('the slurm plugin against a real Slurm', { concurrency: true }, () => {
  let lab: Lab<'s1'>;
  let home: string; // alice
  // bob and carol (whose login prints a banner): squeue, sacct, scancel and sbatch on their PATH log their
  // calls, then run Slurm's. One user per case that counts calls, as the cases run concurrently.
  let bobHome: string;
  let carolHome: string;
  let jobs: string;
  const run = (args: string[], h = home) => tej(args, { home: h, timeoutMs: 120_000 });
  const status = (id: string, h = home) => run(['status', 's1', '--id', id], h);
  const json = async (id: string, h = home): Promise<JsonStatus> => {
    const r = await run(['status', 's1', '--id', id, '--json'], h);
    return JSON.parse(r.stdout) as JsonStatus;
  };
  const squeue = async (nativeId: string, format: string) =>
    (await lab.exec('s1', ['squeue', '-h', '-t', 'all', '-j', nativeId, '-o', format])).stdout.trim();
  const submit = async (name: string, files: Record<string, string>, flags: string[] = [], h = home) => {
    const dir = await makeJob(join(jobs, name), files);
    return ok(await run(['submit', 's1', '--id', name, ...flags, dir], h)).trim();
  };
  // The Slurm job id of a tej job
  const nativeId = async (id: string, h = home) => {
    const s = await json(id, h);
    assert.match(s.native_id ?? '', /^\d+$/, JSON.stringify(s));
    return s.native_id!;
  };

  // Slurm ends a job that outlives its --time only on its periodic check (every 30 s), one to one and a
  // half minutes after the start: the job starts first, and every other case runs meanwhile.
  let slurmTimeoutId = '';

  // its own startLab, not useSshHost(): a slurm host, three client homes
  before(async () => {
    lab = await startLab({ hosts: [{ name: 's1', role: 'slurm' }] });
    home = await makeClientHome(lab);
    bobHome = await makeClientHome(lab, { user: 'bob' });
    carolHome = await makeClientHome(lab, { user: 'carol' });
    jobs = await lab.makeTmpDir('tej-slurm-jobs-');
    for (const user of ['bob', 'carol']) {
      // every call is counted in ~/calls.log; sbatch makes the job, then fails as if slurmctld's answer had timed out (once per flag file)
      await countCalls(lab, 's1', user, ['squeue', 'sacct', 'scancel']);
      await flakySubmit(lab, 's1', user, 'sbatch', 'sbatch: error: Batch job submission failed: Socket timed out on send/recv operation');
    }
    // alice's sbatch: for the job named slurmgap, it submits the job, says so in ~/sbatch-gap.id and
    // blocks on the FIFO ~/sbatch-gate before it prints the id (the submit helper is killed meanwhile);
    // for slurmrefused, it submits the job held (else Slurm may start it, and show it COMPLETING as it
    // ends it, before the submit's scancel) and fails as if Slurm had refused it; for slurmlate, it
    // blocks on the FIFO ~/sbatch-late-gate before it submits anything
    const gated = await lab.execAs('s1', 'alice', `mkdir -p ~/testbin && cat > ~/testbin/sbatch <<'END'
#!/bin/sh
case " $* " in
*" --job-name=slurmgap "*)
  out=$(/usr/bin/sbatch "$@") || exit
  echo "$out" > "$HOME/sbatch-gap.tmp" && mv "$HOME/sbatch-gap.tmp" "$HOME/sbatch-gap.id"
  read -r _ < "$HOME/sbatch-gate"
  echo "$out"
  exit 0
  ;;
*" --job-name=slurmrefused "*)
  /usr/bin/sbatch --hold "$@" >/dev/null || exit
  echo 'sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified' >&2
  exit 1
  ;;
*" --job-name=slurmlate "*)
  : > "$HOME/sbatch-late.waiting"
  read -r _ < "$HOME/sbatch-late-gate"
  exec /usr/bin/sbatch "$@"
  ;;
esac
exec /usr/bin/sbatch "$@"
END
chmod 755 ~/testbin/sbatch && mkfifo ~/sbatch-gate ~/sbatch-late-gate && echo 'PATH=$HOME/testbin:$PATH' >> ~/.bashrc`);
    assert.equal(gated.code, 0, gated.stderr);
    ok(await run(['setup', 's1', '--plugin', 'slurm']));
    ok(await run(['setup', 's1', '--plugin', 'slurm'], bobHome));
    ok(await run(['setup', 's1', '--plugin', 'slurm'], carolHome));
    // carol's: no other case asks about all of carol's jobs (list), so nothing but the job itself
    // records its end before the case looks.
    slurmTimeoutId = await submit('slurmtimeout', { 'start.sh': 'echo started\nsleep 300\n' }, ['--sbatch-arg=--time=1'], carolHome);
  });
  after(async () => {
    await lab?.stop();
  });

  it('sets up a slurm queue, and keeps the plugin when setup runs again', async () => {
    assert.match(ok(await run(['setup', 's1', '--plugin', 'slurm'])), /\/home\/alice\/\.tej \(plugin slurm, tej /);
    assert.match(ok(await run(['setup', 's1'])), /\(plugin slurm, /);
    // a queue set up without --plugin stays direct on a Slurm host; setup only says slurm is there
    const plain = await run(['setup', 's1', '--queue', '~/plainq']);
    assert.match(ok(plain), /\/home\/alice\/plainq \(plugin direct, /);
    assert.match(plain.stderr, /this host has sbatch: 'tej setup s1 --plugin slurm' hands jobs to it/);
  });

  it('runs a job with its resources as sbatch options and records the exit code of a failed job', async () => {
    const files = {
      'start.sh': 'echo "nproc=$TEJ_JOB_NPROC var=$MY_VAR cwd=$PWD" > out.txt\nexit 3\n',
      'tej.json': JSON.stringify({ cpus: 2, memory: '64M', env: { MY_VAR: 'a b' }, slurm: { partition: 'hold' } }),
    };
    const id = await submit('resources', files, ['--time', '10m', '--sbatch-arg=--nice=5']);
    const nid = await nativeId(id);
    // what Slurm was asked for: 2 cpus, 64M, the partition, 10+1 minutes, the raw --nice; named after the job
    assert.equal(await squeue(nid, '%C|%m|%P|%l|%y|%j'), `2|64M|hold|11:00|5|${id}`);
    const done = await waitFor('the job to end', () => status(id), (r) => r.code !== 2 && r.code !== 3);
    assert.equal(done.code, 4, done.stdout + done.stderr);
    assert.match(done.stdout, /^finished \(exit 3, \d+:\d\d\)\n$/);
    assert.equal(ok(await run(['download', 's1', '--id', id, 'out.txt:'])), `nproc=2 var=a b cwd=/home/alice/.tej/jobs/${id}/work\n`);
    const s = await json(id);
    assert.equal(s.exit_code, 3);
    assert.equal(s.native_state, 'FAILED');
  });

  it('refuses bad resource flags with 64, naming the flags, before anything reaches the host', async () => {
    const dir = await makeJob(join(jobs, 'badflags'), { 'start.sh': 'true\n' });
    const r = await run(['submit', 's1', '--id', 'badflags', '--mem', 'lots', '--cpus', '0', '--partition', 'a;b', dir]);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /--mem: must match pattern/);
    assert.match(r.stderr, /--cpus: must be >= 1/);
    assert.match(r.stderr, /--partition: must match pattern/);
    assert.equal((await status('badflags')).code, 66);
  });

  it('warns on stderr, and submits all the same, for max_processes and cpu_time, which Slurm does not enforce', async () => {
    const dir = await makeJob(join(jobs, 'ignored'), { 'start.sh': 'true\n' });
    const r = await run(['submit', 's1', '--id', 'ignored', '--max-processes', '20', '--cpu-time', '60', dir]);
    assert.equal(ok(r).trim(), 'ignored');
    assert.match(r.stderr, /^tej: warning: the slurm plugin does not enforce max_processes 20, cpu_time 60: the job runs without them/m);
  });

  it('runs the same job directory unchanged under direct', async () => {
    const files = { 'start.sh': 'echo "nproc=$TEJ_JOB_NPROC" > out.txt\n', 'tej.json': JSON.stringify({ cpus: 3 }) };
    const viaSlurm = await submit('same-slurm', files);
    const viaDirect = await submit('same-direct', files, ['--plugin', 'direct']);
    for (const id of [viaSlurm, viaDirect]) {
      const done = await waitFor(`${id} to end`, () => status(id), (r) => r.code !== 2 && r.code !== 3);
      assert.equal(done.code, 0, done.stdout + done.stderr);
      assert.equal(ok(await run(['download', 's1', '--id', id, 'out.txt:'])), 'nproc=3\n');
    }
    assert.equal((await json(viaSlurm)).native_state, 'COMPLETED');
    assert.equal((await json(viaDirect)).native_state, null, 'direct has no native state');
  });

  it('shows a job queued behind another as queued, cancels it with kill, and kills the running one', async () => {
    const blocker = await submit('blocker', { 'start.sh': 'sleep 120\n' }, ['--cpus', '10', '--partition', 'hold']);
    await waitFor('the blocker to run', () => status(blocker), (r) => r.code === 2);
    const queued = await submit('waiting', { 'start.sh': 'echo ran > ran.txt\n' }, ['--cpus', '10', '--partition', 'hold']);
    const q = await status(queued);
    assert.equal(q.code, 3, q.stderr);
    assert.equal(q.stdout, 'queued\n');
    assert.equal((await json(queued)).native_state, 'PENDING');
    const list = ok(await run(['list', 's1']));
    assert.match(list, new RegExp(`^${queued}\\tqueued\\t`, 'm'));

    const k = await run(['kill', 's1', '--id', queued]);
    assert.equal(k.code, 0, k.stderr);
    assert.equal(await squeue(await nativeId(queued), '%T'), 'CANCELLED');
    const s = await status(queued);
    assert.equal(s.code, 5, s.stderr);
    assert.equal(s.stdout, 'killed\n');
    // it never ran
    assert.equal((await lab.execAs('s1', 'alice', `test -e ~/.tej/jobs/${queued}/work/ran.txt || test -e ~/.tej/jobs/${queued}/start`)).code, 1);

    ok(await run(['kill', 's1', '--id', blocker]));
    const b = await json(blocker);
    assert.equal(b.state, 'killed');
    assert.equal(await squeue(await nativeId(blocker), '%T'), 'CANCELLED');
    // the wrapper outlived Slurm's TERM and recorded how the job ended
    await waitFor('the exit code', () => json(blocker), (j) => j.exit_code !== null);
    assert.equal((await json(blocker)).exit_code, 143);
  });

  // native-id is in the job's directory: a job can rewrite it. An id that is no Slurm job id (here an
  // option of scancel's, which would cancel every job of the user) is never passed on: the job is found
  // by its name and comment instead (queue_find).
  it('kills a job that rewrote its native-id as an option of scancel, and no other job of the user', async () => {
    const bystander = await submit('bystander', { 'start.sh': 'sleep 120\n' });
    const bystanderNative = await nativeId(bystander);
    const forger = await submit('forger', { 'start.sh': "printf '%s\\n' --user=alice > ../native-id\n: > forged\nsleep 120\n" });
    const forgerNative = await nativeId(forger);
    await waitFor('the forged native-id', () => lab.execAs('s1', 'alice', `test -e ~/.tej/jobs/${forger}/work/forged && cat ~/.tej/jobs/${forger}/native-id`), (r) => r.stdout === '--user=alice\n');
    ok(await run(['kill', 's1', '--id', forger]));
    assert.equal(await squeue(forgerNative, '%T'), 'CANCELLED');
    assert.match(await squeue(bystanderNative, '%T'), /^(RUNNING|PENDING)$/);
    ok(await run(['kill', 's1', '--id', bystander]));
    // alice's: the cases run side by side, and bob's calls are counted (a job with no native id to give
    // is asked about on its own)
    ok(await run(['delete', 's1', '--id', forger, '--id', bystander]));
  });

  // A job that points its native-id at another Slurm job of the user: kill asks squeue whether that job is
  // the one tej made for it (its name and comment), and cancels its own, found by them, instead.
  // status too gives the job's own state (RUNNING), never the held bystander's (PENDING).
  it('kills a job that rewrote its native-id as another job of the user, and not that job; status shows its own state', async () => {
    const bystander = await submit('bystander2', { 'start.sh': 'sleep 120\n' }, ['--sbatch-arg=--hold']);
    const bystanderNative = await nativeId(bystander);
    // it forges once its own id has been read (~/forger2.go)
    const forger = await submit('forger2', { 'start.sh': `while ! test -f "$HOME/forger2.go"; do sleep 0.2; done\nprintf '%s\\n' ${bystanderNative} > ../native-id\n: > forged\nsleep 120\n` });
    const forgerNative = await nativeId(forger);
    ok(await lab.execAs('s1', 'alice', 'touch ~/forger2.go'));
    await waitFor('the forged native-id', () => lab.execAs('s1', 'alice', `test -e ~/.tej/jobs/${forger}/work/forged && cat ~/.tej/jobs/${forger}/native-id`), (r) => r.stdout === `${bystanderNative}\n`);
    const s = await json(forger);
    assert.deepEqual([s.state, s.native_state], ['running', 'RUNNING'], JSON.stringify(s));
    ok(await run(['kill', 's1', '--id', forger]));
    assert.equal(await squeue(forgerNative, '%T'), 'CANCELLED');
    assert.match(await squeue(bystanderNative, '%T'), /^(RUNNING|PENDING)$/);
    ok(await run(['kill', 's1', '--id', bystander]));
    ok(await run(['delete', 's1', '--id', forger, '--id', bystander]));
  });

  it('says killed for a job cancelled with scancel outside tej', async () => {
    const id = await submit('scancelled', { 'start.sh': 'sleep 100\n' });
    await waitFor('the job to run', () => status(id), (r) => r.code === 2);
    const c = await lab.exec('s1', ['scancel', await nativeId(id)]);
    assert.equal(c.code, 0, c.stderr);
    // While Slurm is still ending the job (COMPLETING), the wrapper's exit code (143) may show first.
    const s = await waitFor('killed', () => status(id), (r) => r.code === 5);
    assert.match(s.stdout, /^killed \(after 0:\d\d\)\n$/);
    assert.equal((await json(id)).native_state, 'CANCELLED');
  });

  it('ends a job at its tej time limit with state timeout', async () => {
    const id = await submit('tejtimeout', { 'start.sh': 'sleep 100\n' }, ['--time', '2s']);
    const s = await waitFor('the time limit', () => status(id), (r) => r.code !== 2 && r.code !== 3, 30_000);
    assert.equal(s.code, 6, s.stdout + s.stderr);
    assert.match(s.stdout, /^timeout \(after \d+:\d\d\)\n$/);
  });

  it('says lost when the wrapper dies without recording an end, from what Slurm says', async () => {
    // The job SIGKILLs the wrapper (the topmost of its ancestors that run run-job.sh: the runner, a
    // subshell of the wrapper, is one too, and GNU time may stand between it and the job): the batch
    // step ends, the wrapper records nothing.
    const killWrapper = [
      'p=$PPID',
      'while :; do q=$(ps -o ppid= -p "$p" | tr -d " "); case $(ps -o args= -p "$q") in *run-job.sh*) p=$q ;; *) break ;; esac; done',
      'kill -KILL "$p"',
      'sleep 30',
    ];
    const id = await submit('lostjob', { 'start.sh': `${killWrapper.join('\n')}\n` });
    const s = await waitFor('lost', () => status(id), (r) => r.code !== 2 && r.code !== 3);
    assert.equal(s.code, 7, s.stdout + s.stderr);
    assert.equal(s.stdout, 'lost\n');
    assert.match((await json(id)).native_state ?? '', /^(FAILED|COMPLETED)$/);
  });

  it('downloads and deletes slurm jobs, killing a running one with delete --kill', async () => {
    const done = await submit('deldone', { 'start.sh': 'mkdir res; echo "$TEJ_JOB_NPROC" > res/nproc.txt\n' });
    await waitFor('the job to end', () => status(done), (r) => r.code === 0);
    const cwd = await lab.makeTmpDir('tej-slurm-dl-');
    ok(await tej(['download', 's1', '--id', done, 'res'], { home, cwd }));
    // no --cpus: TEJ_JOB_NPROC is Slurm's allocation (1 cpu), not the host's count
    assert.equal(await readFile(join(cwd, 'res', 'nproc.txt'), 'utf8'), '1\n');
    const running = await submit('delrun', { 'start.sh': 'sleep 100\n' });
    await waitFor('the job to run', () => status(running), (r) => r.code === 2, 120_000);
    const refused = await run(['delete', 's1', '--id', running]);
    assert.equal(refused.code, 75, refused.stderr);
    ok(await run(['delete', 's1', '--id', running, '--kill']));
    ok(await run(['delete', 's1', '--id', done]));
    for (const id of [done, running]) assert.equal((await status(id)).code, 66);
  });

  it('asks squeue once (and sacct at most once) per status or list, whatever the number of jobs', async () => {
    const ids: string[] = [];
    // The jobs run until the counts are taken (a gate file), however long a loaded machine takes.
    for (const n of [1, 2, 3]) ids.push(await submit(`count${n}`, { 'start.sh': 'while [ ! -e ~/count.gate ]; do sleep 0.2; done\n' }, [], bobHome));
    const calls = async (args: string[]) => {
      await lab.execAs('s1', 'bob', ': > ~/calls.log');
      const r = await run(args, bobHome);
      assert.ok(r.code === 0 || r.code === 2 || r.code === 3, `exit ${r.code}: ${r.stderr}`); // finished, running, queued
      return (await lab.execAs('s1', 'bob', 'cat ~/calls.log')).stdout.split('\n').filter(Boolean);
    };
    const list = await calls(['list', 's1']);
    assert.equal(list.filter((c) => c === 'squeue').length, 1, list.join(' '));
    assert.ok(list.filter((c) => c === 'sacct').length <= 1, list.join(' '));
    const st = await calls(['status', 's1', ...ids.flatMap((id) => ['--id', id])]);
    assert.equal(st.filter((c) => c === 'squeue').length, 1, st.join(' '));
    await lab.execAs('s1', 'bob', 'touch ~/count.gate');
    for (const id of ids) await waitFor(`${id} to end`, () => status(id, bobHome), (r) => r.code === 0);
    // Once Slurm has confirmed the ends, the job directories alone answer: no call at all.
    ok(await run(['list', 's1'], bobHome));
    assert.deepEqual(await calls(['list', 's1']), []);
  });

  it('does not submit twice when sbatch fails after Slurm created the job', async () => {
    await lab.execAs('s1', 'carol', 'touch ~/sbatch-times-out; : > ~/calls.log');
    const id = await submit('flaky', { 'start.sh': 'echo once >> ~/flaky.log\n' }, [], carolHome);
    const calls = (await lab.exec('s1', ['cat', '/home/carol/calls.log'])).stdout.split('\n').filter(Boolean);
    assert.equal(calls.filter((c) => c === 'sbatch').length, 1, calls.join(' '));
    const named = (await lab.exec('s1', ['squeue', '-h', '-t', 'all', '-u', 'carol', '-n', id, '-o', '%i'])).stdout.trim();
    assert.equal(named, await nativeId(id, carolHome), 'one Slurm job, the one tej recorded');
    assert.equal((await lab.exec('s1', ['cat', `/home/carol/.tej/jobs/${id}/sbatch-attempt`])).stdout, '1\n');
    await waitFor('the job to end', () => status(id, carolHome), (r) => r.code === 0);
    assert.equal((await lab.exec('s1', ['cat', '/home/carol/flaky.log'])).stdout, 'once\n');
  });

  it('knows the Slurm job of a submit killed between sbatch and its record of the id: status, a retry and kill find it', async () => {
    const dir = await makeJob(join(jobs, 'slurmgap'), { 'start.sh': 'echo once >> ~/slurmgap.log\nsleep 300\n' });
    const submitting = startTej(['submit', 's1', '--id', 'slurmgap', dir], { home, timeoutMs: 120_000 });
    const sid = await waitFor('sbatch to submit the job', () => lab.exec('s1', ['cat', '/home/alice/sbatch-gap.id']), (r) => r.code === 0);
    const slurmId = sid.stdout.trim();
    assert.match(slurmId, /^\d+$/);
    // The client goes first (else it would retry the submit by itself, as after a broken connection),
    // then the submit helper, named by its pid and start time in jobs/ID/submitter, and what it runs:
    // stopped first so that none of them moves on, then SIGKILLed.
    submitting.child.kill('SIGKILL');
    await submitting.done;
    const killed = await lab.exec('s1', ['sh', '-c', `set -eu
read -r pid start < /home/alice/.tej/jobs/slurmgap/submitter
test -z "$start" || test "$(sed 's/.*) //' /proc/$pid/stat | cut -d' ' -f20)" = "$start"
tree() { for c in $(ps -o pid= --ppid "$1"); do tree "$c"; done; echo "$1"; }
kill -STOP $(tree "$pid")
kill -KILL $(tree "$pid")`]);
    assert.equal(killed.code, 0, killed.stderr);
    assert.equal((await lab.exec('s1', ['test', '-e', '/home/alice/.tej/jobs/slurmgap/native-id'])).code, 1, 'the helper died before it wrote native-id');

    const s = await json('slurmgap');
    assert.ok(['queued', 'running'].includes(s.state), JSON.stringify(s));
    assert.equal(s.native_id, slurmId);

    // the retry of that very submit (same nonce) gets this job back, and submits nothing
    const retry = await lab.execAs('s1', 'alice', '/bin/sh ~/.tej/tej-remote --proto 1 submit slurmgap "$(cat ~/.tej/jobs/slurmgap/nonce)" --plugin slurm </dev/null');
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stdout, /^resumed=1$/m);
    assert.match(retry.stdout, new RegExp(`^native_id=${slurmId}$`, 'm'));
    assert.equal((await lab.exec('s1', ['squeue', '-h', '-t', 'all', '-u', 'alice', '-n', 'slurmgap', '-o', '%i'])).stdout.trim(), slurmId, 'one Slurm job');

    await waitFor('the job to start', () => lab.exec('s1', ['cat', '/home/alice/slurmgap.log']), (r) => r.code === 0);
    assert.match(ok(await run(['kill', 's1', '--id', 'slurmgap'])), /killed/);
    assert.equal((await json('slurmgap')).state, 'killed');
    assert.equal((await lab.exec('s1', ['cat', '/home/alice/slurmgap.log'])).stdout, 'once\n');
  });

  it('cancels the Slurm job of a submit that failed after sbatch made it: no orphan waits in the queue', async () => {
    const dir = await makeJob(join(jobs, 'slurmrefused'), { 'start.sh': 'echo ran >> ~/slurmrefused.log\n' });
    const r = await run(['submit', 's1', '--id', 'slurmrefused', dir]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /Invalid account/);
    const states = (await lab.exec('s1', ['squeue', '-h', '-t', 'all', '-u', 'alice', '-n', 'slurmrefused', '-o', '%T'])).stdout.trim();
    assert.equal(states, 'CANCELLED', 'the one Slurm job sbatch made is cancelled');
    assert.equal((await lab.exec('s1', ['test', '-e', '/home/alice/slurmrefused.log'])).code, 1, 'the job never ran');
  });

  it('waits for the sbatch of a dead submit helper before it gives the job up, and then finds the job', async () => {
    const dir = await makeJob(join(jobs, 'slurmlate'), { 'start.sh': 'echo once >> ~/slurmlate.log\n' });
    const submitting = startTej(['submit', 's1', '--id', 'slurmlate', dir], { home, timeoutMs: 120_000 });
    await waitFor('sbatch to be called', () => lab.exec('s1', ['test', '-e', '/home/alice/sbatch-late.waiting']), (r) => r.code === 0);
    // The client goes first (else it would retry by itself), then the submit helper alone: its sbatch,
    // held at the gate, lives on, as after a dropped connection.
    submitting.child.kill('SIGKILL');
    await submitting.done;
    const killed = await lab.exec('s1', ['sh', '-c', `set -eu
read -r pid start < /home/alice/.tej/jobs/slurmlate/submitter
test -z "$start" || test "$(sed 's/.*) //' /proc/$pid/stat | cut -d' ' -f20)" = "$start"
kill -KILL "$pid"`]);
    assert.equal(killed.code, 0, killed.stderr);
    assert.equal((await json('slurmlate')).state, 'submitting', 'not given up while its sbatch may still make the job');
    const gate = await lab.exec('s1', ['sh', '-c', 'echo go > /home/alice/sbatch-late-gate']);
    assert.equal(gate.code, 0, gate.stderr);
    const s = await waitFor('the job to be found', () => json('slurmlate'), (j) => j.state !== 'submitting');
    assert.ok(['queued', 'running', 'finished'].includes(s.state), JSON.stringify(s));
    const named = (await lab.exec('s1', ['squeue', '-h', '-t', 'all', '-u', 'alice', '-n', 'slurmlate', '-o', '%i'])).stdout.trim();
    assert.equal(s.native_id, named, 'the one Slurm job sbatch made');
    await waitFor('the job to end', () => json('slurmlate'), (j) => j.state === 'finished');
    assert.equal((await lab.exec('s1', ['cat', '/home/alice/slurmlate.log'])).stdout, 'once\n');
  });

  it('maps a job that Slurm ends at its --time to timeout, and records that in the job directory', { timeout: 150_000 }, async () => {
    const nid = await nativeId(slurmTimeoutId, carolHome);
    assert.equal(await squeue(nid, '%l'), '1:00');
    // Without asking tej: the batch script learns from Slurm why it was TERMed and records it.
    const dir = `/home/carol/.tej/jobs/${slurmTimeoutId}`;
    await waitFor('the wrapper to record the end', () => lab.exec('s1', ['test', '-f', `${dir}/exit-code`]), (r) => r.code === 0, 140_000);
    // (the batch shell asks squeue while the wrapper records the end: a moment apart, either first)
    await waitFor('timed-out, recorded by the job itself', () => lab.exec('s1', ['test', '-f', `${dir}/timed-out`]), (r) => r.code === 0, 60_000);
    const s = await status(slurmTimeoutId, carolHome);
    assert.equal(s.code, 6, s.stdout + s.stderr);
    assert.match(s.stdout, /^timeout \(after 1:\d\d\)\n$/);
    assert.match(await squeue(nid, '%T %r'), /^(TIMEOUT|COMPLETING) TimeLimit$/);
    assert.equal((await json(slurmTimeoutId, carolHome)).native_state, 'TIMEOUT');
  });
});
