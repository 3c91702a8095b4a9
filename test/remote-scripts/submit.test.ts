// submit: the upload, its checks (torn stream, end marker, existing id, races), the claim and the plugin.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jobTar } from './_job-tar.js';
import { HelperQueue, parseReply } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const TARS = [
  { name: 'tar', shim: undefined },
  { name: 'busybox tar', shim: '#!/bin/sh\nexec busybox tar "$@"\n' },
];

/** env that puts a `tar` shim first on PATH. */
function tarEnv(q: HelperQueue, shim: string | undefined): NodeJS.ProcessEnv {
  if (!shim) return {};
  const bin = join(q.tmp, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'tar'), shim);
  chmodSync(join(bin, 'tar'), 0o755);
  return { PATH: `${bin}:${process.env.PATH}` };
}

describe('submit', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    test('submit moves the job into jobs/ID, starts it and reports its native id', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const rec = await q.submit('job-1.a_b', { script: 'run.sh', files: { 'run.sh': 'exit 0\n', 'data/in.txt': 'x' } });
      assert.equal(rec.id, 'job-1.a_b');
      assert.equal(rec.plugin, 'direct');
      assert.match(rec.native_id!, /^\d+$/);
      assert.ok(['running', 'finished'].includes(rec.state!), rec.state);
      const dir = q.jobDir('job-1.a_b');
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      assert.equal(q.jobFile('job-1.a_b', 'work/data/in.txt'), 'x');
      assert.equal(q.jobFile('job-1.a_b', 'meta/script'), 'run.sh');
      assert.equal(q.jobFile('job-1.a_b', 'plugin'), 'direct\n');
      assert.equal(q.jobFile('job-1.a_b', 'native-id'), `${rec.native_id}\n`);
      assert.match(q.jobFile('job-1.a_b', 'submitted'), /^\d+\n$/);
      assert.ok(!existsSync(join(dir, 'submitter')));
      assert.ok(!existsSync(join(dir, 'end-N0nce')));
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
      const done = await q.waitState('job-1.a_b', ['finished']);
      assert.equal(done.exit_code, '0');
    });

    for (const tar of TARS) {
      test(`setup finds ${tar.name}, and submit extracts a whole upload with it`, async (t) => {
        const q = new HelperQueue(shell);
        t.after(() => q.cleanUp());
        const env = tarEnv(q, tar.shim);
        assert.equal((await q.run(['setup'], { env })).code, 0);
        const config = readFileSync(join(q.root, 'config'), 'utf8');
        // busybox tar has no -b: setup must not name it as the GNU tar to extract with
        if (tar.shim) assert.match(config, /^gnu_tar=$/m);
        else assert.match(config, /^gnu_tar=\/\S*tar$/m);
        const big = Buffer.alloc(300_000, 'z').toString();
        const input = await jobTar({ script: 'run.sh', files: { 'run.sh': 'exit 0\n', 'd/big.bin': big, 'd/small.txt': 's' } });
        const r = await q.run(['submit', 'whole', 'N0nce'], { input, env });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(q.jobFile('whole', 'work/d/big.bin'), big);
        assert.equal(q.jobFile('whole', 'work/d/small.txt'), 's');
      });

      test(`a torn upload (${tar.name} fails) exits 65 and leaves nothing behind`, async (t) => {
        const q = new HelperQueue(shell);
        t.after(() => q.cleanUp());
        assert.equal((await q.run(['setup'], { env: tarEnv(q, tar.shim) })).code, 0);
        const whole = await jobTar({ script: 'run.sh', files: { 'run.sh': 'exit 0\n', 'big.bin': 'y'.repeat(20_000) } });
        const r = await q.run(['submit', 'torn', 'N0nce'], { input: whole.subarray(0, whole.length / 2), env: tarEnv(q, tar.shim) });
        assert.equal(r.code, 65, r.stderr);
        assert.match(r.stderr, /^tej-remote: incomplete upload: tar failed/m);
        assert.equal(r.stdout.length, 0);
        assert.ok(!existsSync(q.jobDir('torn')), 'no job dir');
        assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
      });
    }

    test('--keep-input: a job keeps its upload as input.tar; failing to save it (a full disk) exits 65 and leaves nothing', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const input = await jobTar({ script: 'run.sh', files: { 'run.sh': 'exit 0\n', 'in.txt': 'kept' } });
      const r = await q.run(['submit', 'kept', 'N0nce', '--keep-input'], { input });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(readFileSync(join(q.jobDir('kept'), 'input.tar')).equals(input), 'input.tar is the upload, byte for byte');
      assert.equal(q.jobFile('kept', 'input-nonce'), 'N0nce\n');
      assert.equal(q.jobFile('kept', 'work/in.txt'), 'kept');
      // cat is what saves the stream: one that fails as a full disk would
      const env = tarEnv(q, undefined);
      const bin = join(q.tmp, 'failing-cat');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'cat'), '#!/bin/sh\necho "cat: write error: No space left on device" >&2\nexit 1\n');
      chmodSync(join(bin, 'cat'), 0o755);
      const full = await q.run(['submit', 'full', 'N0nce', '--keep-input'], { input, env: { ...env, PATH: `${bin}:${process.env.PATH}` } });
      assert.equal(full.code, 65, full.stderr);
      assert.match(full.stderr, /^tej-remote: incomplete upload: keeping it as input\.tar failed/m);
      assert.ok(!existsSync(q.jobDir('full')), 'no job dir');
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
    });

    test('a GNU tar named by setup that has gone since: submit extracts with the tar on PATH', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(join(q.root, 'config'), `plugin=direct\ngnu_tar=${join(q.tmp, 'gone', 'tar')}\n`);
      const rec = await q.submit('after-gone', { script: 'run.sh', files: { 'run.sh': 'exit 0\n', 'in.txt': 'kept' } });
      assert.equal(rec.id, 'after-gone');
      assert.equal(q.jobFile('after-gone', 'work/in.txt'), 'kept');
    });

    test('a gnu_tar in config that is not a path to a tar is ignored, never run', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const evil = join(q.tmp, 'evil');
      writeFileSync(evil, `#!/bin/sh\ntouch '${q.tmp}/evil-ran'\nexec tar "$@"\n`);
      chmodSync(evil, 0o755);
      writeFileSync(join(q.root, 'config'), `plugin=direct\ngnu_tar=${evil}\n`);
      const rec = await q.submit('not-tar', { script: 'run.sh', files: { 'run.sh': 'exit 0\n', 'in.txt': 'ok' } });
      assert.equal(rec.id, 'not-tar');
      assert.equal(q.jobFile('not-tar', 'work/in.txt'), 'ok');
      assert.ok(!existsSync(join(q.tmp, 'evil-ran')), 'the program named in config did not run');
    });

    test('an upload without its end marker, or with another nonce, exits 65', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      for (const nonce of [null, 'other']) {
        const input = await jobTar({ script: 'run.sh', files: { 'run.sh': 'exit 0\n' }, nonce });
        const r = await q.run(['submit', 'nomark', 'N0nce'], { input });
        assert.equal(r.code, 65, r.stderr);
        assert.match(r.stderr, /^tej-remote: incomplete upload: the end marker is missing/m);
        assert.ok(!existsSync(q.jobDir('nomark')), 'no job dir');
      }
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
    });

    test('an existing id is refused with 73 before the upload is read', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      await q.submit('twice', { command: 'exit 0' });
      // Not a tar at all: an upload that were read would fail with 65.
      const r = await q.run(['submit', 'twice', 'OtherNonce'], { input: Buffer.from('not a tar') });
      assert.equal(r.code, 73, r.stderr);
      assert.match(r.stderr, /job twice exists already/);
      assert.equal(q.jobFile('twice', 'meta/command'), 'exit 0');
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
    });

    test('a retry with the same nonce gets its own job back, once, without reading the upload', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const first = await q.submit('again', { command: 'sleep 1000', nonce: 'RetryNonce' });
      assert.equal(q.jobFile('again', 'nonce'), 'RetryNonce\n');
      // The first attempt's connection broke after the claim: the retry sends the same id and nonce.
      const r = await q.run(['submit', 'again', 'RetryNonce'], { input: Buffer.from('not a tar') });
      assert.equal(r.code, 0, r.stderr);
      const rec = parseReply(r.stdout).records[0]!;
      assert.equal(rec.id, 'again');
      assert.equal(rec.native_id, first.native_id, 'the same job, not a second one');
      assert.equal(rec.resumed, '1');
      assert.equal(rec.state, 'running');
      assert.deepEqual(readdirSync(join(q.root, 'jobs')), ['again']);
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
    });

    test('a retry after a submit that died between claim and start takes the job over', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // What a submit killed right after its mkdir leaves: nonce and a dead submitter, no native-id.
      const dir = q.jobDir('half');
      mkdirSync(join(dir, 'work'), { recursive: true });
      writeFileSync(join(dir, 'nonce'), 'HalfNonce\n');
      writeFileSync(join(dir, 'submitter'), `${spawnSync('true').pid}\n`);
      assert.equal((await q.status('half')).state, 'incomplete');
      const other = await q.run(['submit', 'half', 'NotMine'], { input: Buffer.from('x') });
      assert.equal(other.code, 73, 'another submit may not take it');
      const rec = await q.submit('half', { command: 'echo redone > out', nonce: 'HalfNonce' });
      assert.match(rec.native_id!, /^\d+$/);
      assert.equal(rec.resumed, undefined);
      await q.waitState('half', ['finished']);
      assert.equal(q.jobFile('half', 'work/out'), 'redone\n');
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
    });

    test('a job claimed but without its submitter file yet is submitting while its staging dir has a live pid', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      // the instant between a submit's mkdir of jobs/ID and its write of jobs/ID/submitter
      mkdirSync(q.jobDir('claim'));
      const staging = join(q.root, 'staging');
      mkdirSync(join(staging, `claim.x.${process.pid}.AbC123`)); // another id's (claim.x)
      assert.equal((await q.status('claim')).state, 'incomplete');
      // a submit writes its record (pid and identity) in its staging dir before it claims the id
      mkdirSync(join(staging, `claim.${process.pid}.XyZ789`));
      writeFileSync(join(staging, `claim.${process.pid}.XyZ789`, 'submitter'), `${process.pid}\n`);
      assert.equal((await q.status('claim')).state, 'submitting', 'never incomplete while its submit lives');
      const list = await q.ok(['list']);
      assert.equal(list.records.find((r) => r.id === 'claim')!.state, 'submitting');
    });

    test('of two concurrent submits of one id exactly one wins', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const big = 'z'.repeat(2_000_000);
      const [a, b] = await Promise.all(
        ['A', 'B'].map(async (who) => q.run(['submit', 'race', `Nonce${who}`], { input: await jobTar({ command: `echo ${who}`, files: { 'big.bin': big }, nonce: `Nonce${who}` }) })),
      );
      assert.deepEqual([a!.code, b!.code].sort(), [0, 73], `${a!.stderr}${b!.stderr}`);
      const winner = a!.code === 0 ? 'A' : 'B';
      assert.equal(q.jobFile('race', 'meta/command'), `echo ${winner}`);
      assert.equal(parseReply((a!.code === 0 ? a! : b!).stdout).records[0]!.id, 'race');
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
    });

    test('submit removes the staging dirs of dead submitters and keeps the live and foreign ones', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const dead = spawnSync('true').pid!;
      const staging = join(q.root, 'staging');
      mkdirSync(join(staging, `old.${dead}.AbC123`));
      writeFileSync(join(staging, `old.${dead}.AbC123`, 'host'), `${hostname()}\n`);
      mkdirSync(join(staging, `gone.${dead}.deleting`));
      mkdirSync(join(staging, `live.${process.pid}.XyZ789`));
      mkdirSync(join(staging, `foreign.${dead}.QwE456`));
      writeFileSync(join(staging, `foreign.${dead}.QwE456`, 'host'), 'another-host\n');
      await q.submit('fresh', { command: 'exit 0' });
      assert.deepEqual(readdirSync(staging).sort(), [`foreign.${dead}.QwE456`, `live.${process.pid}.XyZ789`]);
    });

    test('bad ids, nonces and plugins exit 65, bad arguments 64', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      const input = await jobTar({ command: 'exit 0' });
      for (const [args, code] of [
        [['submit', '../x', 'N0nce'], 65],
        [['submit', '.hidden', 'N0nce'], 65],
        [['submit', 'a..b', 'N0nce'], 65],
        [['submit', 'x'.repeat(129), 'N0nce'], 65],
        [['submit', 'ok', 'bad nonce'], 65],
        [['submit', 'ok', ''], 65],
        [['submit', 'ok', 'N0nce', '--plugin', 'nosuch'], 65],
        [['submit', 'ok'], 64],
        [['submit', 'ok', 'N0nce', 'extra'], 64],
        [['submit', 'ok', 'N0nce', '--plugin'], 64],
      ] as const) {
        const r = await q.run([...args], { input });
        assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      }
      assert.deepEqual(readdirSync(join(q.root, 'jobs')), []);
      const long = await q.submit('x'.repeat(128), { command: 'exit 0' });
      assert.equal(long.id, 'x'.repeat(128));
    });

    test('a job without a command or a script, or whose script is not in work/, exits 65', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      for (const spec of [{ files: { 'run.sh': '' } }, { script: 'missing.sh' }, { script: '../run.sh' }, { script: '/bin/true' }, { command: 'true', timeLimit: -1 as number }]) {
        const r = await q.run(['submit', 'bad', 'N0nce'], { input: await jobTar(spec) });
        assert.equal(r.code, 65, `${JSON.stringify(spec)}: ${r.stderr}`);
      }
      const env = await q.run(['submit', 'bad', 'N0nce'], { input: await jobTar({ command: 'true', env: { 'A-B': 'x' } }) });
      assert.equal(env.code, 65);
      assert.ok(!existsSync(q.jobDir('bad')), 'no job dir');
      assert.deepEqual(readdirSync(join(q.root, 'staging')), []);
    });

    test('a plugin that fails to start the job removes it and passes on its exit status', async (t) => {
      const q = await HelperQueue.setUp(shell);
      t.after(() => q.cleanUp());
      writeFileSync(
        join(q.root, 'queues', 'broken.sh'),
        'queue_check() { return 0; }\nqueue_submit() { say "sbatch: error: no partition"; return 69; }\n',
      );
      const r = await q.run(['submit', 'nope', 'N0nce', '--plugin', 'broken'], { input: await jobTar({ command: 'exit 0' }) });
      assert.equal(r.code, 69);
      assert.match(r.stderr, /sbatch: error: no partition/);
      assert.ok(!existsSync(q.jobDir('nope')), 'no job dir');
      assert.equal(r.stdout.length, 0);
    });
  });
});
