// The core, end to end: the built CLI against a real OpenSSH sshd in a namespace test host.
import assert from 'node:assert/strict';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, tej, waitFor, ok } from '../helpers/cli.js';
import { makeClientHome, useSshHost } from '../helpers/lab.js';

describe('tej over real SSH', () => {
  const sshHost = useSshHost();
  const run = (args: string[], extra: { cwd?: string } = {}) => tej(args, { home: sshHost.home, ...extra });
  const status = (id: string) => run(['status', 'h1', '--id', id]);

  it('sets up a private queue with the helpers on first use, and setup can be repeated', async () => {
    const out = ok(await run(['setup', 'h1']));
    assert.match(out, /\/home\/alice\/\.tej \(plugin direct, tej \d+\.\d+\.\d+/);
    const mode = await sshHost.lab.execAs('h1', 'alice', 'stat -c %a ~/.tej ~/.tej/jobs; test -x ~/.tej/tej-remote && cat ~/.tej/VERSION');
    assert.equal(mode.code, 0, mode.stderr);
    assert.match(mode.stdout, /^700\n700\nproto=1\nversion=.*\nhash=[0-9a-f]+\n$/);
    ok(await run(['setup', 'h1']));
  });

  it('upgrades out-of-date helpers on first use, and sets the queue up again keeping its plugin', async () => {
    // What an older release left: another bundle hash, and a config without gnu_tar
    const old = await sshHost.lab.execAs('h1', 'alice', 'cd ~/.tej && sed -i "s/^hash=.*/hash=0ld/" VERSION && printf "plugin=direct\\n" > config');
    assert.equal(old.code, 0, old.stderr);
    const r = await run(['-v', 'list', 'h1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /upgrade from/);
    const after = await sshHost.lab.execAs('h1', 'alice', 'cd ~/.tej && cat config && grep -c "^hash=0ld" VERSION || true');
    assert.equal(after.stdout, `plugin=direct\ngnu_tar=/usr/bin/tar\n0\n`);

    // A download as the first command after an upgrade: its stream cannot carry the reply that asks
    // for the upgrade, so tej upgrades through a plain call and downloads again.
    const dir = await makeJob(join(sshHost.jobs, 'upgraded'), { 'start.sh': 'echo kept > out.txt\n' });
    ok(await run(['submit', 'h1', '--id', 'upg1', dir]));
    await waitFor('upg1', () => run(['status', 'h1', '--id', 'upg1']), (x) => x.code === 0);
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'sed -i "s/^hash=.*/hash=0ld/" ~/.tej/VERSION')).code, 0);
    const cwd = await sshHost.lab.makeTmpDir('tej-upg-');
    const dl = await run(['download', 'h1', '--id', 'upg1', 'out.txt:'], { cwd });
    assert.equal(dl.code, 0, dl.stderr);
    assert.equal(dl.stdout, 'kept\n');
  });

  it('submits a job that outlives the SSH session and records its exit code', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'outlive'), {
      // It ends when the test opens the gate, after it has seen it running: no race with the machine's load.
      'start.sh': 'while [ ! -e "$HOME/outlive.gate" ]; do sleep 0.1; done\necho "done in $PWD" > result.txt\nexit 3\n',
    });
    const sub = await run(['submit', 'h1', dir]);
    const id = ok(sub).trim();
    assert.match(id, /^outlive_root_[A-Za-z0-9]{8}$/, 'stdout carries the job id alone');
    // the CLI has exited: its SSH session is gone, the job must go on
    const running = await status(id);
    assert.equal(running.code, 2, running.stderr);
    assert.match(running.stdout, /^running \(\d+:\d\d\)\n$/);
    await sshHost.lab.execAs('h1', 'alice', 'touch ~/outlive.gate');
    const done = await waitFor('the job to finish', () => status(id), (r) => r.code !== 2);
    assert.equal(done.code, 4, 'finished with a non-zero exit code');
    assert.match(done.stdout, /^finished \(exit 3, \d+:\d\d\)\n$/);
    const result = await sshHost.lab.execAs('h1', 'alice', `cat ~/.tej/jobs/${id}/work/result.txt`);
    assert.equal(result.stdout, `done in /home/alice/.tej/jobs/${id}/work\n`);
  });

  it('gives every job the TEJ_* environment and its tej.json env', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'envjob'), {
      'start.sh': 'env | grep -E "^(TEJ_|MY_)" | sort > env.txt\ntest -d "$TEJ_SCRATCH_DIR" && echo scratch-ok >> env.txt\n',
      'tej.json': JSON.stringify({ env: { MY_VAR: 'a b $(id) "q"' }, cpus: 3 }),
    });
    const id = ok(await run(['submit', 'h1', '--id', 'envjob1', dir])).trim();
    assert.equal(id, 'envjob1');
    await waitFor('envjob1 to finish', () => status(id), (r) => r.code === 0);
    const env = ok(await run(['download', 'h1', '--id', id, 'env.txt:']));
    assert.match(env, /^MY_VAR=a b \$\(id\) "q"$/m);
    assert.match(env, /^TEJ_JOB_ID=envjob1$/m);
    assert.match(env, /^TEJ_JOB_DIR=\/home\/alice\/\.tej\/jobs\/envjob1\/work$/m);
    assert.match(env, /^TEJ_QUEUE=\/home\/alice\/\.tej$/m);
    assert.match(env, /^TEJ_JOB_NPROC=3$/m);
    assert.match(env, /^TEJ_SCRATCH_DIR=\/tmp\/tej-2001\/envjob1\.(\d+-\d+|[A-Za-z0-9]{6})$/m);
    assert.match(env, /^scratch-ok$/m);
  });

  it('downloads with the three spec forms, and whole directories', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'dl'), {
      'start.sh': 'mkdir -p res/sub; echo one > out.txt; echo log > log.txt; echo a,b > res.csv; echo deep > res/sub/x.txt\n',
    });
    const id = ok(await run(['submit', 'h1', '--id', 'dl1', dir])).trim();
    await waitFor('dl1 to finish', () => status(id), (r) => r.code === 0);
    const cwd = await sshHost.lab.makeTmpDir('tej-dl-');
    const r = await run(['download', 'h1', '--id', id, 'out.txt', 'log.txt:', `res.csv:${join(cwd, 'r.csv')}`, 'res'], { cwd });
    assert.equal(ok(r), 'log\n', 'file: goes to stdout, and only it');
    assert.equal(await readFile(join(cwd, 'out.txt'), 'utf8'), 'one\n');
    assert.equal(await readFile(join(cwd, 'r.csv'), 'utf8'), 'a,b\n');
    assert.equal(await readFile(join(cwd, 'res', 'sub', 'x.txt'), 'utf8'), 'deep\n');
  });

  it('refuses download paths outside the job, and reports missing files', async () => {
    for (const spec of ['../../VERSION', '/etc/passwd', 'a/../../x']) {
      const r = await run(['download', 'h1', '--id', 'dl1', spec]);
      assert.equal(r.code, 65, `${spec}: ${r.stderr}`);
      assert.match(r.stderr, /outside|'\.\.'|absolute/);
    }
    const missing = await run(['download', 'h1', '--id', 'dl1', 'nope.txt']);
    assert.equal(missing.code, 66, missing.stderr);
    assert.match(missing.stderr, /nope\.txt/);
  });

  it('kills a job and every process it spawned', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'tree'), {
      'start.sh': 'sleep 1001 &\n( sleep 1002 & wait ) &\nsh -c "sleep 1003" &\necho started > started\nwait\n',
    });
    const id = ok(await run(['submit', 'h1', '--id', 'tree1', dir])).trim();
    await waitFor('the children to start', () => sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-c', '-f', 'sleep 100[123]']), (r) => Number(r.stdout.trim()) >= 3);
    const k = await run(['kill', 'h1', '--id', id, '--grace', '2']);
    assert.equal(ok(k), `${id}: killed\n`);
    const left = await sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', 'sleep 100[123]']);
    assert.equal(left.stdout, '', 'no child survives the kill');
    const s = await status(id);
    assert.equal(s.code, 5, s.stderr);
    assert.match(s.stdout, /^killed/);
    const again = await run(['kill', 'h1', '--id', id]);
    assert.equal(ok(again), `${id}: not running (already killed)\n`);
    const absent = await run(['kill', 'h1', '--id', 'no-such-job']);
    assert.equal(absent.code, 66);
  });

  it('says lost when the job wrapper dies without recording an end', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'lost'), { 'start.sh': 'sleep 1004\n' });
    const id = ok(await run(['submit', 'h1', '--id', 'lost1', dir])).trim();
    await waitFor('the job to run', () => status(id), (r) => r.code === 2);
    const pid = (await sshHost.lab.execAs('h1', 'alice', `cat ~/.tej/jobs/${id}/native-id`)).stdout.trim();
    assert.match(pid, /^\d+$/);
    await sshHost.lab.exec('h1', ['kill', '-KILL', pid]);
    const s = await waitFor('lost', () => status(id), (r) => r.code !== 2);
    assert.equal(s.code, 7, s.stdout + s.stderr);
    assert.equal(s.stdout, 'lost\n');
    await sshHost.lab.exec('h1', ['pkill', '-u', 'alice', '-f', 'sleep 1004']);
  });

  it('refuses a bad id before touching the host, and a second submit with the same id', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'dup'), { 'start.sh': 'true\n' });
    for (const id of ['a;touch /tmp/pwned', '$(id)', '../x', '-rf', 'a b']) {
      const r = await run(['submit', 'h1', `--id=${id}`, dir]);
      assert.equal(r.code, 65, `${id}: ${r.stderr}`);
      assert.match(r.stderr, /invalid job id/);
    }
    assert.equal((await sshHost.lab.exec('h1', ['test', '-e', '/tmp/pwned'])).code, 1);
    ok(await run(['submit', 'h1', '--id', 'dup1', dir]));
    const second = await run(['submit', 'h1', '--id', 'dup1', dir]);
    assert.equal(second.code, 73, second.stderr);
    assert.match(second.stderr, /dup1/);
    assert.match(second.stderr, /exists/);
  });

  it('refuses job directories that are missing, empty or have no start script', async () => {
    const missing = await run(['submit', 'h1', join(sshHost.jobs, 'nothing-here')]);
    assert.equal(missing.code, 66, missing.stderr);
    await mkdir(join(sshHost.jobs, 'empty'));
    const empty = await run(['submit', 'h1', join(sshHost.jobs, 'empty')]);
    assert.equal(empty.code, 65);
    assert.match(empty.stderr, /empty/);
    const noStart = await makeJob(join(sshHost.jobs, 'nostart'), { 'run.sh': 'true\n' });
    const r = await run(['submit', 'h1', noStart]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /no start\.sh/);
    ok(await run(['submit', 'h1', '--script', 'run.sh', '--id', 'altscript', noStart]));
    const cmd = ok(await run(['submit', 'h1', '--script', 'echo hi > hi.txt', '--id', 'cmdscript', noStart]));
    assert.equal(cmd, 'cmdscript\n');
    await waitFor('the command job', () => status('cmdscript'), (s) => s.code === 0);
    assert.equal(ok(await run(['download', 'h1', '--id', 'cmdscript', 'hi.txt:'])), 'hi\n');
  });

  it('lists jobs and deletes them, refusing a running job unless --kill', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'del'), { 'start.sh': 'sleep 1005\n' });
    ok(await run(['submit', 'h1', '--id', 'del1', dir]));
    const list = ok(await run(['list', 'h1']));
    assert.match(list, /^del1\trunning\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\t\d+:\d\d$/m);
    assert.match(list, /^dup1\tfinished\(0\)\t/m);
    const refused = await run(['delete', 'h1', '--id', 'del1']);
    assert.equal(refused.code, 75, refused.stderr);
    assert.match(refused.stderr, /running/);
    assert.match(refused.stderr, /--kill/);
    ok(await run(['delete', 'h1', '--id', 'del1', '--kill']));
    assert.equal((await status('del1')).code, 66);
    assert.equal((await sshHost.lab.exec('h1', ['pgrep', '-u', 'alice', '-f', 'sleep 1005'])).stdout, '');
    const again = await run(['delete', 'h1', '--id', 'del1']);
    assert.equal(again.code, 66);
    const json = JSON.parse(ok(await run(['status', 'h1', '--id', 'dup1', '--json'])).trim());
    assert.equal(json.state, 'finished');
    assert.equal(json.exit_code, 0);
  });

  it('refuses an unknown host key and a changed one, and accepts a new key only when asked', async () => {
    const fresh = await makeClientHome(sshHost.lab);
    await writeFile(join(fresh, '.ssh', 'known_hosts'), '');
    const unknown = await tej(['list', 'h1'], { home: fresh });
    assert.equal(unknown.code, 77, unknown.stderr);
    assert.match(unknown.stderr, /host key of 10\.[0-9.]+ is unknown/);
    assert.match(unknown.stderr, /--accept-new-host-key/);
    const other = 'AAAAC3NzaC1lZDI1NTE5AAAAIOtherOtherOtherOtherOtherOtherOtherOther';
    await writeFile(join(fresh, '.ssh', 'known_hosts'), `${sshHost.lab.hosts.h1.ip} ssh-ed25519 ${other}\n`);
    const changed = await tej(['list', 'h1'], { home: fresh });
    assert.equal(changed.code, 77, changed.stderr);
    assert.match(changed.stderr, /HAS CHANGED/);
    assert.match(changed.stderr, /ssh-keygen -R/);
    await writeFile(join(fresh, '.ssh', 'known_hosts'), '');
    const accepted = await tej(['list', 'h1', '--accept-new-host-key'], { home: fresh });
    assert.equal(accepted.code, 0, accepted.stderr);
    const recorded = await readFile(join(fresh, '.ssh', 'known_hosts'), 'utf8');
    assert.match(recorded, /^\|1\|/);
    assert.equal((await tej(['list', 'h1'], { home: fresh })).code, 0, 'the recorded key is then trusted');
  });

  it('reaches the host as user@ip and as an ssh:// URL', async () => {
    const ip = sshHost.lab.hosts.h1.ip;
    const plain = await makeClientHome(sshHost.lab);
    // no Host block for the IP: the default key file is found in ~/.ssh
    await writeFile(join(plain, '.ssh', 'config'), '');
    await writeFile(join(plain, '.ssh', 'known_hosts'), await readFile(join(sshHost.home, '.ssh', 'known_hosts')));
    assert.equal((await tej(['list', `alice@${ip}`], { home: plain })).code, 0);
    const url = await tej(['status', `ssh://alice@${ip}:22`, '--id', 'dup1'], { home: plain });
    assert.equal(url.code, 0, url.stderr);
    // the job's duration depends on the load when it ran: only its form is pinned
    assert.match(url.stdout, /^finished \(exit 0, \d+:\d\d\)\n$/);
  });

  it('works for a user whose login shell prints banners', async () => {
    // (list does not create a queue: setup does, with the banners in its way too)
    ok(await tej(['setup', 'carol@h1'], { home: sshHost.home }));
    const r = await tej(['list', 'carol@h1'], { home: sshHost.home });
    assert.equal(r.code, 0, r.stderr);
    const dir = await makeJob(join(sshHost.jobs, 'carol'), { 'start.sh': 'echo ok > o\n' });
    const id = ok(await tej(['submit', 'carol@h1', '--id', 'c1', dir], { home: sshHost.home })).trim();
    await waitFor('carol job', () => tej(['status', 'carol@h1', '--id', id], { home: sshHost.home }), (s) => s.code === 0);
    assert.equal(ok(await tej(['download', 'carol@h1', '--id', id, 'o:'], { home: sshHost.home })), 'ok\n');
  });

  it('keeps job directories private', async () => {
    const r = await sshHost.lab.execAs('h1', 'alice', 'stat -c %a ~/.tej/jobs/dup1');
    assert.equal(r.stdout, '700\n');
  });

  it('makes a link to a queue elsewhere with --make-link, which later commands follow', async () => {
    const r = await run(['setup', 'h1', '--queue', '/tmp/alice-q', '--make-link', '~/qlink']);
    assert.match(ok(r), /^\/tmp\/alice-q /);
    const link = await sshHost.lab.execAs('h1', 'alice', 'readlink ~/qlink');
    assert.equal(link.stdout, '/tmp/alice-q\n');
    const dir = await makeJob(join(sshHost.jobs, 'linked'), { 'start.sh': 'true\n' });
    ok(await run(['submit', 'h1', '--queue', '~/qlink', '--id', 'viaLink', dir]));
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'test -d /tmp/alice-q/jobs/viaLink')).code, 0);
  });

  it('refuses to install into a directory that is not a tej queue', async () => {
    await sshHost.lab.execAs('h1', 'alice', 'mkdir -p ~/notaqueue && echo precious > ~/notaqueue/data');
    const r = await run(['list', 'h1', '--queue', '~/notaqueue']);
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /not a tej queue/);
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'cat ~/notaqueue/data')).stdout, 'precious\n');
  });

  it('accepts a user stdout file from tej.json', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'outs'), { 'start.sh': 'echo to-out; echo to-err >&2\n', 'tej.json': '{"stdout": "my.out"}' });
    ok(await run(['submit', 'h1', '--id', 'outs1', dir]));
    await waitFor('outs1', () => status('outs1'), (s) => s.code === 0);
    assert.equal(ok(await run(['download', 'h1', '--id', 'outs1', 'my.out:'])), 'to-out\n');
    assert.equal(ok(await run(['download', 'h1', '--id', 'outs1', 'tej.stderr:'])), 'to-err\n', 'stderr keeps its default file');
  });
});
