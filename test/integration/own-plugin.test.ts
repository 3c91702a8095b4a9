// A user's own queue plugin, end to end on a real sshd host: `tej setup --plugin-file` installs it and
// keeps its hash on the client; a plugin changed afterwards (by a job: same user) is never sourced; a
// plugin a job plants in queues/ and lists in the host's MANIFEST is not trusted either.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeJob, ok, tej, waitFor } from '../helpers/cli.js';
import { DIRECT_PLUGIN as DIRECT, directPluginWith } from '../helpers/direct-plugin.js';
import { useSshHost } from '../helpers/lab.js';

/** The direct plugin, which also notes each job it submits in the queue's mine-used. */
const MINE = directPluginWith('\tprintf \'%s\\n\' "${1##*/}" >>"$TEJ_ROOT/mine-used"\n\tdirect_queue_submit "$@"');

describe('own queue plugins', () => {
  const sshHost = useSshHost();
  const run = (args: string[]) => tej(args, { home: sshHost.home, cwd: sshHost.jobs, timeoutMs: 90_000 });
  const pwned = async () => (await sshHost.lab.exec('h1', ['sh', '-c', 'ls /tmp | grep pwned || true'])).stdout;
  const stateOf = async (id: string, queue: string[] = []) => {
    const r = await run(['status', 'h1', ...queue, '--id', id, '--json']);
    return r.code === 0 || r.code === 1 ? (JSON.parse(r.stdout) as { state: string; plugin: string }) : { state: `exit ${r.code}: ${r.stderr}`, plugin: '' };
  };

  before(async () => {
    assert.notEqual(MINE, DIRECT, 'the test plugin differs from direct');
    await writeFile(join(sshHost.jobs, 'mine.sh'), MINE);
    ok(await run(['setup', 'h1']));
  });

  it('a plugin only dropped into queues/ is not sourced, even listed in the host MANIFEST by a job', async () => {
    // What a job can do as the queue's user: plant a plugin, list it in MANIFEST, make it the default.
    const evil = directPluginWith('\ttouch /tmp/pwned-plugin\n\tdirect_queue_submit "$@"');
    const dir = await makeJob(join(sshHost.jobs, 'planter'), {
      'evil.sh': evil,
      'start.sh':
        'q=$TEJ_QUEUE; cp evil.sh "$q/queues/evil.sh" && (cd "$q" && sha256sum queues/evil.sh >> MANIFEST) && ' +
        'sed -i "s/^plugin=.*/plugin=evil/" "$q/config" && echo planted\n',
    });
    assert.equal(ok(await run(['submit', 'h1', '--id', 'planter', dir])), 'planter\n');
    await waitFor('the planter job', () => stateOf('planter'), (s) => s.state === 'finished');
    const planted = await sshHost.lab.execAs('h1', 'alice', 'cd ~/.tej && grep -c evil MANIFEST config');
    assert.equal(planted.stdout, 'MANIFEST:1\nconfig:1\n', 'the job planted its plugin');
    const next = await makeJob(join(sshHost.jobs, 'next'), { 'start.sh': 'echo hi\n' });
    const r = await run(['submit', 'h1', '--id', 'next1', next]);
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /plugin 'evil' is not one the client installed/);
    const by = await run(['submit', 'h1', '--plugin', 'evil', '--id', 'next2', next]);
    assert.equal(by.code, 65, by.stderr);
    assert.equal(await pwned(), '', 'the planted plugin never ran');
    ok(await run(['setup', 'h1', '--plugin', 'direct'])); // the user takes the default back
  });

  it('setup --plugin-file installs the user\'s plugin, which then runs jobs', async () => {
    const s = await run(['setup', 'h1', '--plugin-file', 'mine.sh', '--json']);
    assert.equal(JSON.parse(ok(s)).plugin, 'direct', 'without --plugin the default stays');
    const dir = await makeJob(join(sshHost.jobs, 'j1'), { 'start.sh': 'echo from-mine > out.txt\n' });
    assert.equal(ok(await run(['submit', 'h1', '--plugin', 'mine', '--id', 'mine1', dir])), 'mine1\n');
    const st = await waitFor('mine1', () => stateOf('mine1'), (x) => x.state === 'finished');
    assert.equal(st.plugin, 'mine');
    assert.equal(ok(await run(['download', 'h1', '--id', 'mine1', 'out.txt:'])), 'from-mine\n');
    assert.equal((await sshHost.lab.execAs('h1', 'alice', 'cat ~/.tej/mine-used')).stdout, 'mine1\n');
    const store = JSON.parse(readFileSync(join(sshHost.home, '.config/tej/plugins.json'), 'utf8')) as Record<string, Record<string, string>>;
    assert.deepEqual(Object.values(store), [{ mine: (await sshHost.lab.execAs('h1', 'alice', 'sha256sum < ~/.tej/queues/mine.sh')).stdout.slice(0, 64) }]);
    // --plugin with --plugin-file names it, and makes it the default.
    ok(await run(['setup', 'h1', '--plugin-file', 'mine.sh', '--plugin', 'other']));
    ok(await run(['submit', 'h1', '--id', 'other1', dir]));
    assert.equal((await waitFor('other1', () => stateOf('other1'), (x) => x.state === 'finished')).plugin, 'other');
    ok(await run(['setup', 'h1', '--plugin', 'direct']));
  });

  it('a plugin changed after setup is never sourced: every call fails (69) until setup installs it again', async () => {
    const changed = await sshHost.lab.execAs('h1', 'alice', "printf '\\ntouch /tmp/pwned-mine\\n' >> ~/.tej/queues/mine.sh; sed -i 's/^queue_state() {$/queue_state() {\\n\\ttouch \\/tmp\\/pwned-state/' ~/.tej/queues/mine.sh");
    assert.equal(changed.code, 0, changed.stderr);
    for (const args of [['status', 'h1', '--id', 'mine1'], ['list', 'h1'], ['submit', 'h1', '--plugin', 'mine', '--id', 'mine2', join(sshHost.jobs, 'j1')]]) {
      const r = await run(args);
      assert.equal(r.code, 69, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^tej: your plugin 'mine' in ~\/\.tej on alice@h1 has changed since you installed it; tej runs nothing of the queue until it matches$/m);
      assert.match(r.stderr, /tej setup alice@h1 --plugin-file FILE --plugin mine/);
    }
    assert.equal(await pwned(), '', 'nothing of the changed plugin ran');
    ok(await run(['setup', 'h1', '--plugin-file', 'mine.sh']));
    assert.equal((await stateOf('mine1')).state, 'finished');
    // A plugin removed on the host counts as changed as well.
    await sshHost.lab.execAs('h1', 'alice', 'rm ~/.tej/queues/other.sh');
    const gone = await run(['list', 'h1']);
    assert.equal(gone.code, 69, gone.stderr);
    assert.match(gone.stderr, /your plugin 'other' in/);
    ok(await run(['setup', 'h1', '--plugin-file', 'mine.sh', '--plugin', 'other']));
    // So does one a job made a FIFO, at once: sha256sum would wait on it for a writer for ever.
    await sshHost.lab.execAs('h1', 'alice', 'rm ~/.tej/queues/other.sh && mkfifo ~/.tej/queues/other.sh');
    const fifo = await run(['list', 'h1']);
    assert.equal(fifo.code, 69, fifo.stderr);
    assert.match(fifo.stderr, /your plugin 'other' in/);
    await sshHost.lab.execAs('h1', 'alice', 'rm ~/.tej/queues/other.sh');
    ok(await run(['setup', 'h1', '--plugin-file', 'mine.sh', '--plugin', 'other']));
    ok(await run(['setup', 'h1', '--plugin', 'direct']));
  });

  it('refuses bad names, tej\'s own names, a missing file, and a damaged list of plugins, each with its own code', async () => {
    await writeFile(join(sshHost.jobs, 'My Plugin.sh'), MINE);
    const cases: [string[], number, RegExp][] = [
      [['--plugin-file', 'My Plugin.sh'], 65, /^tej: 'My Plugin' is not a plugin name \(from the file name My Plugin\.sh\)$/m],
      [['--plugin-file', 'mine.sh', '--plugin', '../x'], 65, /^tej: bad plugin name '\.\.\/x'$/m],
      [['--plugin-file', 'mine.sh', '--plugin', 'slurm'], 65, /^tej: 'slurm' is one of tej's own plugins; yours needs another name$/m],
      [['--plugin-file', 'direct.sh'], 65, /'direct' is one of tej's own plugins/],
      [['--plugin-file', 'nosuch.sh'], 66, /nosuch\.sh/],
      [['--plugin-file'], 64, /--plugin-file/],
    ];
    for (const [args, code, re] of cases) {
      const r = await run(['setup', 'h1', ...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    }
    const store = join(sshHost.home, '.config/tej/plugins.json');
    const kept = existsSync(store) ? readFileSync(store, 'utf8') : '{}';
    await mkdir(dirname(store), { recursive: true });
    await writeFile(store, '{"alice@h1 ~/.tej": {"mine": "not a hash"}}');
    const r = await run(['list', 'h1']);
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /plugins\.json is not a valid list of installed plugins/);
    await writeFile(store, kept);
    ok(await run(['list', 'h1']));
  });
});
