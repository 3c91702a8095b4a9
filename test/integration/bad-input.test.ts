// Bad input, end to end: each refused with a clear message and its documented exit code, and nothing
// left on the host (no job dir, nothing in staging). Hostile ids, download specs, tej.json, job
// directories, queues. (Also in core.test.ts: missing/empty/start-less dirs, foreign queue, banners.)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, tej, TEJ_BIN, waitFor, type TejRun, ok } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

/**
 * Runs tej as root without the capabilities that let root read any file (CAP_DAC_OVERRIDE,
 * CAP_DAC_READ_SEARCH): file modes then apply to it as to any user, wherever the checkout lives.
 */
function tejWithoutDacOverride(args: string[], home: string): Promise<TejRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--bounding-set=-dac_override,-dac_read_search', process.execPath, TEJ_BIN, ...args], {
      cwd: home,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LC_ALL: 'C' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bad input', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[], cwd?: string) => tej(args, { home: sshHost.home, cwd, timeoutMs: 60_000 });
  /** Asserts the host holds exactly these jobs and nothing in staging. */
  const hostHolds = async (ids: string[]) => {
    const r = await sshHost.lab.execAs('h1', 'alice', 'ls -A ~/.tej/jobs; echo --; ls -A ~/.tej/staging');
    assert.equal(r.stdout, [...ids, '--', ''].join('\n'), `no job and nothing in staging from a refused submit: ${JSON.stringify(r)}`);
  };
  const refused = (r: TejRun, code: number, message: RegExp, what = '') => {
    assert.equal(r.code, code, `${what} exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr, message, what);
    assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  };

  it('refuses hostile job ids in every command with 65 and "invalid job id"', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'ids'), { 'start.sh': 'true\n' });
    const ids = ['a;b', '$(id)', "it's", 'say"hi"', 'a b', 'two\nlines', '..', 'a..b', '../up', '-rf', '.hidden', 'x'.repeat(129), 'caf\u00e9', 'a/b', 'tab\there'];
    for (const id of ids) {
      refused(await run(['submit', 'h1', `--id=${id}`, dir]), 65, /invalid job id/, JSON.stringify(id));
    }
    for (const cmd of [['status'], ['kill'], ['delete'], ['download']]) {
      for (const id of ["it's", 'a b', '-rf', 'a..b']) {
        refused(await run([...cmd, 'h1', `--id=${id}`, ...(cmd[0] === 'download' ? ['x'] : [])]), 65, /invalid job id/, `${cmd[0]} ${JSON.stringify(id)}`);
      }
    }
    await hostHolds([]);
  });

  it('refuses download specs with .., absolute paths, or nothing, and takes ./-name literally', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'dl'), { 'start.sh': 'echo dash > ./-rf; echo ok > ok.txt\n' });
    ok(await run(['submit', 'h1', '--id', 'dl1', dir]));
    await waitFor('dl1', () => run(['status', 'h1', '--id', 'dl1']), (s) => s.code === 0);
    const cases: [string, RegExp][] = [
      ['..', /'\.\.' leaves the job's directory/],
      ['a/../../b', /'\.\.' leaves the job's directory/],
      ['ok.txt/../../..', /'\.\.' leaves/],
      ['/etc/passwd', /absolute paths are outside the job/],
      [':', /it is empty/],
      [':/tmp/x', /it is empty/],
      ['bad\nname', /NUL or newline/],
    ];
    for (const [spec, message] of cases) refused(await run(['download', 'h1', '--id', 'dl1', spec]), 65, message, JSON.stringify(spec));
    refused(await run(['download', 'h1', '--id', 'dl1', 'missing.txt']), 66, /missing\.txt/);
    refused(await run(['download', 'h1', '--id', 'nojob', 'ok.txt']), 66, /no such job: nojob/);
    assert.equal(ok(await run(['download', 'h1', '--id', 'dl1', './-rf:'])), 'dash\n');
  });

  it('refuses a tej.json that is not JSON, or breaks the schema, as a readable list with field paths (78)', async () => {
    const notJson = await makeJob(join(sshHost.jobs, 'notjson'), { 'start.sh': 'true\n', 'tej.json': '{"cpus": 2,,}' });
    const r1 = await run(['submit', 'h1', '--id', 'nj1', notJson]);
    refused(r1, 78, /tej\.json is not valid JSON/);
    const schema = await makeJob(join(sshHost.jobs, 'schema'), {
      'start.sh': 'true\n',
      'tej.json': JSON.stringify({ cpus: 'two', colour: 'red', env: { 'BAD-NAME': 'x', OK: 3 }, args: 'not-a-list', time_limit: 'soon' }),
    });
    const r2 = await run(['submit', 'h1', '--id', 'sc1', schema]);
    refused(r2, 78, /tej\.json does not match the tej\.json schema:/);
    const items = r2.stderr.split('\n').filter((l) => l.startsWith('  - '));
    assert.ok(items.length >= 4, `one line per problem:\n${r2.stderr}`);
    assert.match(r2.stderr, /^ {2}- \/cpus: must be integer/m);
    assert.match(r2.stderr, /^ {2}- .*unknown field 'colour'/m);
    assert.match(r2.stderr, /^ {2}- \/env.*/m);
    assert.match(r2.stderr, /^ {2}- \/args: must be array/m);
    assert.doesNotMatch(r2.stderr, /\[object Object\]|instancePath/, 'rendered for people, not dumped');
    await hostHolds(['dl1']);
  });

  it('refuses tej.json stdout/stderr paths that are absolute or leave the job (65), and the host holds nothing', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ stdout: '../../../../.profile' }, /bad stdout .*'\.\.' leaves the job's directory/],
      [{ stderr: '/home/alice/.profile' }, /bad stderr .*absolute paths are outside the job directory/],
      [{ stdout: 'logs/../../x' }, /bad stdout .*'\.\.' leaves/],
      [{ stdout: 'a\nb' }, /bad stdout .*control character/],
    ];
    for (const [i, [fields, message]] of cases.entries()) {
      const dir = await makeJob(join(sshHost.jobs, `outpath${i}`), { 'start.sh': 'echo hi\n', 'tej.json': JSON.stringify(fields) });
      refused(await run(['submit', 'h1', '--id', `outpath${i}`, dir]), 65, message, JSON.stringify(fields));
    }
    const left = await sshHost.lab.execAs('h1', 'alice', 'echo "$(ls -A ~/.tej/jobs | grep outpath)|$(ls -A ~/.tej/staging)"');
    assert.equal(left.stdout, '|\n', 'no job and nothing in staging from a refused submit');
    const home = await sshHost.lab.execAs('h1', 'alice', 'test -e ~/.profile && echo exists || echo none');
    assert.equal(home.stdout, 'none\n');
  });

  it('refuses job directories with special files, unreadable files or directories, or that are files', async () => {
    const fifo = await makeJob(join(sshHost.jobs, 'fifo'), { 'start.sh': 'true\n' });
    await new Promise<void>((resolve, reject) =>
      spawn('mkfifo', [join(fifo, 'pipe')]).on('close', (c) => (c === 0 ? resolve() : reject(new Error('mkfifo')))));
    refused(await run(['submit', 'h1', '--id', 'fifo1', fifo]), 65, /pipe' is a special file \(fifo, socket or device\) and cannot be uploaded/);
    const devLink = await makeJob(join(sshHost.jobs, 'devlink'), { 'start.sh': 'true\n' });
    await symlink('/dev/null', join(devLink, 'null'));
    ok(await run(['submit', 'h1', '--id', 'devlink1', devLink])); // a symlink is sent as a symlink, never followed
    const file = join(sshHost.jobs, 'plain-file');
    await writeFile(file, 'not a dir');
    refused(await run(['submit', 'h1', '--id', 'file1', file]), 65, /is not a directory/);

    // Unreadable files and directories: root reads everything, so tej runs without that power.
    const unreadable = await makeJob(join(sshHost.jobs, 'unreadable'), { 'start.sh': 'true\n', 'secret.txt': 'x' });
    const closedDir = await makeJob(join(sshHost.jobs, 'closed'), { 'start.sh': 'true\n', 'sub/x.txt': 'x' });
    await chmod(join(unreadable, 'secret.txt'), 0o000);
    await chmod(join(closedDir, 'sub'), 0o000);
    const r1 = await tejWithoutDacOverride(['submit', 'h1', '--id', 'unr1', unreadable], sshHost.home);
    refused(r1, 65, /cannot read file '.*secret\.txt'/);
    assert.match(r1.stderr, /fix its permissions or exclude it/);
    refused(await tejWithoutDacOverride(['submit', 'h1', '--id', 'unr2', closedDir], sshHost.home), 65, /cannot read directory '.*sub'/);
    await hostHolds(['devlink1', 'dl1']);
  });

  it('refuses a queue that is newer than the client (76), open to others (77), or a file (69)', async () => {
    ok(await run(['setup', 'h1', '--queue', '~/newer']));
    await sshHost.lab.execAs('h1', 'alice', "sed -i 's/^proto=.*/proto=9/' ~/newer/VERSION");
    const newer = await run(['list', 'h1', '--queue', '~/newer']);
    refused(newer, 76, /was set up by a newer tej \(protocol 9, this tej speaks 1\)/);
    assert.match(newer.stderr, /upgrade tej/);
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'grep ^proto= ~/newer/VERSION')).stdout, 'proto=9\n', 'left alone, not downgraded');

    ok(await run(['setup', 'h1', '--queue', '~/open']));
    await sshHost.lab.execAs('h1', 'alice', 'chmod 755 ~/open');
    const open = await run(['list', 'h1', '--queue', '~/open']);
    refused(open, 77, /the queue \/home\/alice\/open is open to other users \(mode drwxr-xr-x\): run chmod 700 '\/home\/alice\/open'/);
    ok(await run(['setup', 'h1', '--queue', '~/open']));
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'stat -c %a ~/open')).stdout, '700\n', 'setup repairs the mode');
    ok(await run(['list', 'h1', '--queue', '~/open']));

    await sshHost.lab.execAs('h1', 'alice', 'echo data > ~/afile');
    refused(await run(['list', 'h1', '--queue', '~/afile']), 69, /~\/afile on alice@h1 exists and is not a tej queue/);
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'cat ~/afile')).stdout, 'data\n');
  });
});
