// A macOS/BSD-like userland on a real OpenSSH host: the lab account dave, whose PATH is busybox applets
// without setsid (and no perl), with a dash login shell. The core flow, kill and time limits of jobs that
// fork grandchildren, a follower that goes away, and jobs that leave read-only trees behind.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { CHANNEL_SHELL, makeJob, ok, tej, TEJ_BIN, waitFor } from '../helpers/cli.js';
import { FAMILY, FAMILY_SLEEPS } from '../helpers/family-job.js';
import { type Lab, useSshHost } from '../helpers/lab.js';

const LAB_SH = join(dirname(fileURLToPath(import.meta.url)), '..', 'lab', 'lab.sh');
/** The lab's /24 (the first three octets), from a host's address. */
const labNet = (lab: Lab<'h1'>) => lab.hosts.h1.ip.split('.').slice(0, 3).join('.');

describe('a userland without setsid or perl (busybox tools, dash login shell)', () => {
  const sshHost = useSshHost({ user: 'dave' });
  const run = (args: string[], extra: { cwd?: string; timeoutMs?: number } = {}) => tej(args, { home: sshHost.home, ...extra });
  const submit = async (id: string, files: Record<string, string | [string, number]>, extra: string[] = []) =>
    ok(await run(['submit', 'h1', '--id', id, ...extra, await makeJob(join(sshHost.jobs, id), files)]));
  /** dave's processes on the host whose command line matches `pattern` (pgrep -f). */
  const daves = async (pattern: string) => {
    const r = await sshHost.lab.exec('h1', ['pgrep', '-u', 'dave', '-f', pattern]);
    return r.stdout.trim().split('\n').filter(Boolean);
  };

  it('is the userland it claims: no setsid, no perl, busybox tar and ps', async () => {
    const ssh = await sshHost.lab.exec('h1', ['sh', '-c', 'grep -A1 "^Match User dave" /etc/ssh/sshd_config']);
    const path = /SetEnv PATH=(\S+)/.exec(ssh.stdout)?.[1];
    assert.ok(path, ssh.stdout);
    const check = await sshHost.lab.execAs('h1', 'dave', `PATH=${path}; command -v setsid || echo no-setsid; command -v perl || echo no-perl; readlink "$(command -v tar)"`);
    assert.equal(check.stdout, `no-setsid\nno-perl\n${(await sshHost.lab.exec('h1', ['sh', '-c', 'command -v busybox'])).stdout}`);
  });

  it('runs the core flow: setup, submit, status, logs -f, wait, download, list, resubmit, delete', async () => {
    ok(await run(['setup', 'h1']));
    await submit('flow', { 'start.sh': 'echo one\nsleep 1\necho two\nmkdir -p out\necho result > out/r.txt\n' });
    assert.match((await run(['status', 'h1', '--id', 'flow'])).stdout, /^(running|finished)/);
    assert.equal(ok(await run(['logs', 'h1', '--id', 'flow', '-f'])), 'one\ntwo\n');
    ok(await run(['wait', 'h1', '--id', 'flow']));
    assert.match(ok(await run(['status', 'h1', '--id', 'flow'])), /^finished \(exit 0/);
    const cwd = await sshHost.lab.makeTmpDir('tej-dl-');
    ok(await run(['download', 'h1', '--id', 'flow', 'out'], { cwd }));
    assert.equal(await readFile(join(cwd, 'out', 'r.txt'), 'utf8'), 'result\n');
    assert.match(ok(await run(['list', 'h1'])), /^flow\tfinished\(0\)\t/m);
    const again = ok(await run(['resubmit', 'h1', '--id', 'flow', '--new-id', 'flow2'])).trim();
    assert.equal(again, 'flow2');
    ok(await run(['wait', 'h1', '--id', 'flow2']));
    assert.equal(ok(await run(['logs', 'h1', '--id', 'flow2'])), 'one\ntwo\n');
    ok(await run(['delete', 'h1', '--id', 'flow']));
    ok(await run(['delete', 'h1', '--id', 'flow2']));
    assert.doesNotMatch(ok(await run(['list', 'h1'])), /^flow/m);
  });

  it('kill ends a job and every grandchild, and says killed only once they are gone', async () => {
    await submit('fam', { 'start.sh': FAMILY });
    await waitFor('the grandchildren', () => daves(FAMILY_SLEEPS), (p) => p.length >= 4);
    assert.equal(ok(await run(['kill', 'h1', '--id', 'fam', '--grace', '1'])), 'fam: killed\n');
    assert.deepEqual(await daves(FAMILY_SLEEPS), [], 'no process of the job is left');
    assert.match((await run(['status', 'h1', '--id', 'fam'])).stdout, /^killed/);
  });

  it('a time limit ends a job and every grandchild before it says timeout', async () => {
    await submit('late', { 'start.sh': FAMILY }, ['--time-limit', '3s']);
    const w = await run(['wait', 'h1', '--id', 'late'], { timeoutMs: 60_000 });
    assert.match((await run(['status', 'h1', '--id', 'late'])).stdout, /^timeout/, w.stderr);
    assert.deepEqual(await daves(FAMILY_SLEEPS), [], 'no process of the job is left');
  });

  it('delete --kill removes a running job only once its processes are gone', async () => {
    await submit('gone', { 'start.sh': FAMILY });
    await waitFor('the grandchildren', () => daves(FAMILY_SLEEPS), (p) => p.length >= 4);
    ok(await run(['delete', 'h1', '--id', 'gone', '--kill']));
    assert.deepEqual(await daves(FAMILY_SLEEPS), []);
  });

  it('deletes a job that left read-only directories, and such a tree in staging blocks no submit', async () => {
    await submit('ro', { 'start.sh': 'mkdir -p pkg/mod/x && echo v > pkg/mod/x/f && chmod -R a-w pkg\n' });
    ok(await run(['wait', 'h1', '--id', 'ro']));
    ok(await run(['delete', 'h1', '--id', 'ro']));
    assert.doesNotMatch(ok(await run(['list', 'h1'])), /^ro\t/m);
    // What a delete that died half way leaves (its pid long gone): the next submit removes it.
    const left = await sshHost.lab.execAs('h1', 'dave', 'd=~/.tej/staging/old.99999999.deleting; mkdir -p $d/work/pkg/mod && touch $d/work/pkg/mod/f && chmod -R a-w $d');
    assert.equal(left.code, 0, left.stderr);
    await submit('after', { 'start.sh': 'echo fine\n' });
    ok(await run(['wait', 'h1', '--id', 'after']));
    const staging = await sshHost.lab.execAs('h1', 'dave', 'ls -A ~/.tej/staging');
    assert.equal(staging.stdout, '', 'nothing left in staging');
  });

  it('a job that leaves read-only files in its scratch directory still finishes, and the scratch goes', async () => {
    await submit('roscratch', { 'start.sh': 'mkdir "$TEJ_SCRATCH_DIR/d" && touch "$TEJ_SCRATCH_DIR/d/f" && chmod -R a-w "$TEJ_SCRATCH_DIR/d"\necho "$TEJ_SCRATCH_DIR" > where\n' });
    ok(await run(['wait', 'h1', '--id', 'roscratch']));
    assert.match(ok(await run(['status', 'h1', '--id', 'roscratch'])), /^finished \(exit 0/);
    const where = (await sshHost.lab.execAs('h1', 'dave', 'cat ~/.tej/jobs/roscratch/work/where')).stdout.trim();
    assert.ok(where);
    assert.equal((await sshHost.lab.exec('h1', ['test', '-e', where])).code, 1, 'the scratch directory is gone');
  });

  it('a job that fills the disk still records its end and exit code, and leaves no temp files', async () => {
    const m = await sshHost.lab.exec('h1', ['sh', '-c', 'mkdir -p /home/dave/small && mount -t tmpfs -o size=2m,uid=2005,gid=2005,mode=700 tmpfs /home/dave/small']);
    assert.equal(m.code, 0, m.stderr);
    try {
      ok(await run(['setup', 'h1', '--queue', 'small/q']));
      const dir = await makeJob(join(sshHost.jobs, 'full'), { 'start.sh': 'dd if=/dev/zero of=fill bs=4096 2>/dev/null\necho after >&2\nexit 3\n' });
      ok(await run(['submit', 'h1', '--queue', 'small/q', '--id', 'full', dir]));
      const st = await waitFor('the job to end', () => run(['status', 'h1', '--queue', 'small/q', '--id', 'full']),
        (r) => /^(finished|lost|timeout|killed)/.test(r.stdout), 60_000);
      const files = await sshHost.lab.execAs('h1', 'dave', 'ls -A ~/small/q/jobs/full');
      assert.match(st.stdout, /^finished \(exit 3/, `${st.stderr}\n${files.stdout}${files.stderr}`);
      assert.doesNotMatch(files.stdout, /\.tmp\.|reserve/, files.stdout);
    } finally {
      await sshHost.lab.exec('h1', ['umount', '/home/dave/small']);
    }
  });

  it('the lab never kills or enters a process whose pid it recorded once, now reused', async () => {
    const initPid = join(sshHost.lab.dir, 'hosts', 'h1', 'init.pid');
    const recorded = await readFile(initPid, 'utf8');
    const [, start] = recorded.trim().split(' ');
    assert.match(start ?? '', /^\d+$/, 'init.pid holds "PID START"');
    // A process of ours now holds a pid the file names, with the start time recorded for the host's init.
    const stranger = spawn('sleep', ['1000'], { stdio: 'ignore' });
    const strangerGone = new Promise((r) => stranger.on('exit', r));
    try {
      await writeFile(initPid, `${stranger.pid} ${start}\n`);
      await assert.rejects(sshHost.lab.exec('h1', ['true']), /not running/, 'lab.ts enters no stranger');
      const st = spawnSync('bash', [LAB_SH, '-n', sshHost.lab.name, '-d', sshHost.lab.dir, '-s', labNet(sshHost.lab), 'status'], { encoding: 'utf8' });
      assert.match(st.stdout, /^h1 \S+ ssh stopped$/m, st.stderr);
      const ex = spawnSync('bash', [LAB_SH, '-n', sshHost.lab.name, '-d', sshHost.lab.dir, '-s', labNet(sshHost.lab), 'exec', 'h1', 'true'], { encoding: 'utf8' });
      assert.notEqual(ex.status, 0, 'lab.sh exec enters no stranger');
      // restart: the stop kills what runs in the host's network namespace, never the stranger
      await writeFile(initPid, `${stranger.pid} ${start}\n`);
      await sshHost.lab.restart('h1');
      const state = (await readFile(`/proc/${stranger.pid}/stat`, 'utf8')).split(') ')[1]?.[0];
      assert.ok(state && !'ZX'.includes(state), `the stranger lives (state ${state})`);
      assert.equal((await sshHost.lab.exec('h1', ['true'])).code, 0, 'the restarted host is entered');
    } finally {
      stranger.kill('SIGKILL');
      await strangerGone;
    }
  });

  it('a stray TERM or INT to a lab host\'s process group leaves the host up, and is written down', async () => {
    // Issue 11, item 25: a host's init once exited mid-suite; its `trap 'exit 0' TERM` made it end on a
    // TERM to the group lab.sh starts it in (setsid nsenter unshare), and sshd was in that group too.
    // (INT was never a danger: lab.sh starts the host in the background, so it ignores INT from the start.
    // Not HUP: unshare itself dies of it, and takes the host with it.)
    const [pid, start] = (await readFile(join(sshHost.lab.dir, 'hosts', 'h1', 'unshare.pid'), 'utf8')).trim().split(' ');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    assert.equal(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19], start, 'the group is the lab\'s own (pid and start time)');
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.kill(-Number(pid), signal);
    const log = join(sshHost.lab.dir, 'hosts', 'h1', 'log', 'init.log');
    await waitFor('init to write down the signals', () => readFile(log, 'utf8'), (t) => t.includes('got a stray SIGTERM'));
    assert.equal((await sshHost.lab.exec('h1', ['true'])).code, 0, 'the host\'s init runs on');
    ok(await tej(['setup', 'h1'], { home: sshHost.home })); // and its sshd
  });

  it('a follower that goes away (SIGINT, SIGKILL) leaves no follow loop on the host', async () => {
    const FOLLOW_LOOP = CHANNEL_SHELL; // the loop runs in the channel's shell (the helper program)
    await submit('endless', { 'start.sh': 'while :; do sleep 1; done\n' });
    for (const signal of ['SIGINT', 'SIGKILL'] as const) {
      const follower = spawn(process.execPath, [TEJ_BIN, 'logs', 'h1', '--id', 'endless', '-f'], { env: { PATH: process.env.PATH!, HOME: sshHost.home, LC_ALL: 'C' } });
      // The dispatcher sources the command (tej-remote ... logs endless), or runs commands/logs.sh under TEJ_SHELL.
      await waitFor('the remote follow loop', () => daves(FOLLOW_LOOP), (p) => p.length > 0);
      follower.kill(signal);
      await new Promise((r) => follower.on('close', r));
      await waitFor('the loop to stop', () => daves(FOLLOW_LOOP), (p) => p.length === 0, 60_000);
    }
    ok(await run(['kill', 'h1', '--id', 'endless', '--grace', '1']));
  });
});
