// Download hardening, end to end (issue 11): the built CLI against a real OpenSSH host whose tar is GNU
// tar. Nothing on the client that is not a regular file is replaced; names reach tar literally; links
// are judged physically; local errors fail promptly with sysexits codes; no temporary file survives.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeJob, tej, TEJ_BIN, waitFor, ok } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

/** Every file under `dir` whose name looks like a download's temporary file. */
function temps(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.tej-[0-9a-f]{8}-\d+$/.test(f));
}

describe('download hardening', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[], cwd?: string, timeoutMs = 120_000) => tej(args, { home: sshHost.home, cwd, timeoutMs });
  const finished = (id: string) => waitFor(id, () => run(['status', 'h1', '--id', id]), (s) => s.code === 0, 60_000);

  before(async () => {
    const dir = await makeJob(join(sshHost.jobs, 'hard'), {
      'start.sh': [
        'echo out',
        'head -c 40000000 /dev/zero > big.bin && head -c 20000000 /dev/zero > mid.bin',
        // GNU tar would decode this name to ../../../../.ssh: the host's ~/.ssh
        "mkdir -p '\\056\\056\\057\\056\\056\\057\\056\\056\\057\\056\\056\\057.ssh' && echo decoy > '\\056\\056\\057\\056\\056\\057\\056\\056\\057\\056\\056\\057.ssh/decoy'",
        "printf 'tab?' > 'x\\ty'; printf 'colons' > run-2026-01-01T10:00:00.csv",
        // lexically inside, physically a climb: l1 is the parent of the destination, l2 the one above
        'mkdir res && cd res && echo fine > ok.txt && ln -s . l0 && ln -s l0/.. l1 && ln -s l1/.. l2 && ln -s l2/secret key && ln -s l2/bashrc rc',
      ].join('\n') + '\n',
    });
    ok(await run(['submit', 'h1', '--id', 'hard1', dir]));
    await finished('hard1');
  });

  it('writes into a FIFO (its reader gets the bytes), a character device and /dev/stdout, and replaces none of them', async () => {
    const cwd = await sshHost.lab.makeTmpDir('tej-fifo-');
    const fifo = join(cwd, 'pipe');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const cat = spawn('cat', [fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
    let read = '';
    cat.stdout.on('data', (d) => (read += d));
    const catDone = new Promise((resolve) => cat.on('close', resolve));
    const r = await run(['download', 'h1', '--id', 'hard1', `tej.stdout:${fifo}`], cwd);
    assert.equal(r.code, 0, r.stderr);
    await catDone;
    assert.equal(read, 'out\n');
    assert.ok(lstatSync(fifo).isFIFO(), 'still a FIFO');
    // A device node like /dev/null (made here, so that the machine's own is never at stake), and a link to it.
    const dev = join(cwd, 'null');
    assert.equal(spawnSync('mknod', ['-m', '666', dev, 'c', '1', '3']).status, 0);
    const viaLink = join(cwd, 'to-null');
    spawnSync('ln', ['-s', dev, viaLink]);
    for (const target of [dev, viaLink]) ok(await run(['download', 'h1', '--id', 'hard1', `tej.stdout:${target}`, `big.bin:${target}`], cwd));
    assert.ok(lstatSync(dev).isCharacterDevice() && lstatSync(viaLink).isSymbolicLink());
    assert.equal(statSync(dev).rdev, statSync('/dev/null').rdev);
    // /dev/stdout is tej's own stdout: the bytes arrive there, in order with a `file:`
    assert.equal(ok(await run(['download', 'h1', '--id', 'hard1', 'tej.stdout:/dev/stdout', 'tej.stdout:'], cwd)), 'out\nout\n');
    assert.deepEqual(temps(cwd), []);
    assert.ok(lstatSync('/dev/null').isCharacterDevice());
  });

  it("sends names as they are: GNU tar's escapes are not decoded, so a job cannot reach the host's ~/.ssh", async () => {
    const cwd = await sshHost.lab.makeTmpDir('tej-names-');
    const name = '\\056\\056\\057\\056\\056\\057\\056\\056\\057\\056\\056\\057.ssh';
    ok(await run(['download', 'h1', '--id', 'hard1', name, 'x\\ty'], cwd));
    assert.deepEqual(readdirSync(join(cwd, name)), ['decoy']);
    assert.ok(!existsSync(join(cwd, '.ssh')) && !existsSync(join(cwd, 'authorized_keys')));
    assert.equal(readFileSync(join(cwd, 'x\\ty'), 'utf8'), 'tab?');
    // a colon of the name is written \:
    assert.equal(ok(await run(['download', 'h1', '--id', 'hard1', 'run-2026-01-01T10\\:00\\:00.csv:'], cwd)), 'colons');
  });

  it('cuts a chain of links that climbs out of the destination (l1 -> l0/.., l2 -> l1/..)', async () => {
    const base = await sshHost.lab.makeTmpDir('tej-chain-');
    const cwd = join(base, 'a', 'b');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(base, 'a', 'secret'), 'private key');
    const r = await run(['download', 'h1', '--id', 'hard1', 'res'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped 4 entries/);
    const res = join(cwd, 'res');
    assert.deepEqual(readdirSync(res).sort(), ['l0', 'ok.txt']);
    assert.equal(realpathSync(join(res, 'l0')), realpathSync(res));
  });

  it('a local write error stops a big download at once, with 73 or 74, and leaves no temporary file', async () => {
    const cwd = await sshHost.lab.makeTmpDir('tej-full-');
    writeFileSync(join(cwd, 'blocker'), 'a file');
    const under = await run(['download', 'h1', '--id', 'hard1', 'big.bin:blocker/big.bin'], cwd, 90_000);
    assert.equal(under.code, 73, under.stderr);
    assert.match(under.stderr, /cannot create the directory '.*blocker': a file is in the way/);
    // A full file system: a 1 MiB tmpfs in a mount namespace of its own, around one tej command.
    const mnt = join(cwd, 'small');
    mkdirSync(mnt);
    const full = spawnSync(
      'unshare',
      ['-m', 'sh', '-c', 'mount -t tmpfs -o size=1m tmpfs "$1" && cd "$1" && "$2" "$3" download h1 --id hard1 big.bin; rc=$?; ls -A; exit $rc', 'sh', mnt, process.execPath, TEJ_BIN],
      { env: { PATH: process.env.PATH, HOME: sshHost.home, LC_ALL: 'C' }, encoding: 'utf8', timeout: 90_000 },
    );
    assert.equal(full.status, 74, `${full.stderr}\n${full.error ?? ''}`);
    assert.match(full.stderr, /no space left on the device/);
    assert.equal(full.stdout, '', 'nothing left in the full file system');
  });

  // mid.bin (20 MB) goes the tar way; big.bin (40 MB, over RESUMABLE_MIN) the resumable way, which keeps
  // its partial and the partial's note on purpose (test/integration/download-resume.test.ts), nothing else.
  it('removes its temporary file when interrupted (SIGINT, SIGTERM) once data flowed; a resumable one keeps its partial only', async () => {
    await sshHost.lab.fault('h1', 'rate', '8mbit');
    try {
      for (const [file, left] of [['mid.bin', []], ['big.bin', ['big.bin.tej-partial', 'big.bin.tej-partial.json']]] as const) {
        for (const signal of ['SIGINT', 'SIGTERM'] as const) {
          const cwd = await sshHost.lab.makeTmpDir('tej-int-');
          const child = spawn(process.execPath, [TEJ_BIN, 'download', 'h1', '--id', 'hard1', file], { cwd, env: { PATH: process.env.PATH, HOME: sshHost.home, LC_ALL: 'C' }, stdio: 'ignore' });
          const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
          const growing = () => [...temps(cwd), ...readdirSync(cwd).filter((f) => f.endsWith('.tej-partial'))].map((f) => statSync(join(cwd, f)).size);
          await waitFor('a growing temporary file', async () => growing(), (sizes) => sizes.some((s) => s > 0), 60_000);
          child.kill(signal);
          assert.equal(await exited, signal === 'SIGINT' ? 130 : 143);
          assert.deepEqual(readdirSync(cwd).sort(), [...left], `${file}, ${signal}: nothing else left`);
        }
      }
    } finally {
      await sshHost.lab.fault('h1', 'clear');
    }
  });

  it('downloads a file the job is still writing: what was read, exit 0', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'grow'), { 'start.sh': 'head -c 30000000 /dev/zero > grow.log; touch started; while :; do echo line >> grow.log; done\n' });
    ok(await run(['submit', 'h1', '--id', 'grow1', dir]));
    await waitFor('the job to start appending', () => run(['download', 'h1', '--id', 'grow1', 'started:']), (r) => r.code === 0);
    const cwd = await sshHost.lab.makeTmpDir('tej-grow-');
    try {
      for (let i = 0; i < 2; i++) {
        const r = await run(['download', 'h1', '--id', 'grow1', 'grow.log'], cwd);
        assert.equal(r.code, 0, r.stderr);
        assert.ok(statSync(join(cwd, 'grow.log')).size >= 30_000_000);
      }
    } finally {
      ok(await run(['kill', 'h1', '--id', 'grow1', '--grace', '1']));
    }
  });

  it('reports local errors with their own message and code, not as a bug in tej', async (t) => {
    const cwd = await sshHost.lab.makeTmpDir('tej-errs-');
    // a directory where a file of a downloaded directory goes (EISDIR)
    mkdirSync(join(cwd, 'res', 'ok.txt'), { recursive: true });
    const isDir = await run(['download', 'h1', '--id', 'hard1', 'res'], cwd);
    assert.equal(isDir.code, 73, isDir.stderr);
    assert.match(isDir.stderr, /^tej: cannot write '.*res\/ok\.txt': it is a directory$/m);
    // a file where the destination's parent directory goes
    writeFileSync(join(cwd, 'file'), '');
    const parent = await run(['download', 'h1', '--id', 'hard1', 'tej.stdout:file/sub/out'], cwd);
    assert.equal(parent.code, 73, parent.stderr);
    assert.match(parent.stderr, /a file is in the way/);
    // no such file in the job: 66 with its own code string (the library's E_JOB_FILE_NOT_FOUND)
    const missing = await run(['download', 'h1', '--id', 'hard1', 'nope.txt'], cwd);
    assert.equal(missing.code, 66, missing.stderr);
    assert.match(missing.stderr, /no such file in job hard1: nope\.txt/);
    // a newline in --queue
    const queue = await run(['list', 'h1', '--queue', 'a\nb'], cwd);
    assert.equal(queue.code, 65, queue.stderr);
    assert.match(queue.stderr, /bad queue path "a\\nb"/);
    // -- ends the options: what follows is a spec, and the word before it still the destination
    assert.equal(ok(await run(['download', 'h1', '--id', 'hard1', '--', 'tej.stdout:'], cwd)), 'out\n');
    // ~/ in a destination is the local home
    ok(await run(['download', 'h1', '--id', 'hard1', 'tej.stdout:~/from-job.txt'], cwd));
    assert.equal(readFileSync(join(sshHost.home, 'from-job.txt'), 'utf8'), 'out\n');
    assert.ok(!existsSync(join(cwd, '~')));
    // a job directory holding a name that is not UTF-8, with --dry-run too
    const bad = await makeJob(join(sshHost.jobs, 'badname'), { 'start.sh': 'true\n' });
    writeFileSync(Buffer.concat([Buffer.from(join(bad, 'bad')), Buffer.from([0xff])]), '');
    const names = [await run(['submit', 'h1', '--dry-run', bad], cwd), await run(['submit', 'h1', bad], cwd)];
    for (const r of names) {
      assert.equal(r.code, 65, r.stderr);
      assert.match(r.stderr, /is not valid UTF-8/);
    }
    // an ~/.ssh/config this user cannot read (as root every file is readable: run as nobody)
    const nobodyHome = mkdtempSync('/tmp/tej-nobody-'); // where nobody can reach it: not under a 0700 directory
    t.after(() => rmSync(nobodyHome, { recursive: true, force: true }));
    mkdirSync(join(nobodyHome, '.ssh'));
    writeFileSync(join(nobodyHome, '.ssh', 'config'), 'Host x\n', { mode: 0 });
    spawnSync('chown', ['-R', 'nobody', nobodyHome]);
    spawnSync('chmod', ['755', nobodyHome, join(nobodyHome, '.ssh')]);
    // runuser sets HOME to the user's own: env sets it back
    const eacces = spawnSync('runuser', ['-u', 'nobody', '--', 'env', `HOME=${nobodyHome}`, process.execPath, TEJ_BIN, 'list', 'x'], { cwd: '/', env: { PATH: process.env.PATH, LC_ALL: 'C' }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(eacces.status, 77, eacces.stderr);
    assert.match(eacces.stderr, /cannot read '.*\.ssh\/config': permission denied/);
    for (const r of [isDir, parent, missing, queue, ...names, { stderr: eacces.stderr }]) assert.doesNotMatch(r.stderr, /internal error|bug in tej/);
  });
});
