// Resumable download (issue 15), against a real sshd: a big file interrupted at about half (a Ctrl-C
// the CLI raises itself once the partial holds N bytes: TEJ_TEST_INTERRUPT_AFTER, deterministic), run
// again, gives the exact bytes and sends the rest only (counted on the host's network interface). A remote
// file that changed in between starts from zero. Nothing is left but the finished file.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { makeJob, ok, startTej, tej, waitFor } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';

const SIZE = 48 << 20;
const HALF = SIZE / 2;

describe('resumable download', () => {
  const sshHost = useSshHost({ setup: true });
  const run = (args: string[], cwd: string, env?: Record<string, string>) => tej(args, { home: sshHost.home, cwd, env, timeoutMs: 300_000 });

  /** Bytes the host has sent on its network interfaces (all but lo). */
  async function hostSent(): Promise<number> {
    const dev = (await sshHost.lab.exec('h1', ['cat', '/proc/net/dev'])).stdout;
    return dev
      .split('\n')
      .map((l) => /^\s*([^:\s]+):\s*(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null && m[1] !== 'lo')
      .reduce((sum, m) => sum + Number(m[2]!.trim().split(/\s+/)[8]), 0);
  }
  const remoteSha = async (file: string) => (await sshHost.lab.exec('h1', ['sh', '-c', `sha256sum < /home/alice/.tej/jobs/big/work/${file}`])).stdout.slice(0, 64);
  const localSha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

  before(async () => {
    const dir = await makeJob(join(sshHost.jobs, 'big'), { 'start.sh': `head -c ${SIZE} /dev/urandom > big.bin && cp big.bin other.bin\n` });
    ok(await run(['submit', 'h1', '--id', 'big', dir], sshHost.jobs));
    await waitFor('big', () => run(['status', 'h1', '--id', 'big'], sshHost.jobs), (s) => s.code === 0, 120_000);
  });

  it('an interrupted download, run again, continues from the partial: exact bytes, under 60% of the file sent', async () => {
    const cwd = await sshHost.lab.makeTmpDir('tej-resume-');
    const cut = await run(['download', 'h1', '--id', 'big', 'big.bin'], cwd, { TEJ_TEST_INTERRUPT_AFTER: String(HALF) });
    assert.equal(cut.code, 130, cut.stderr);
    const partial = join(cwd, 'big.bin.tej-partial');
    assert.ok(statSync(partial).size >= HALF && statSync(partial).size < SIZE, `partial of ${statSync(partial).size} bytes`);
    assert.deepEqual(JSON.parse(readFileSync(`${partial}.json`, 'utf8')).size, SIZE);
    assert.deepEqual(readdirSync(cwd).sort(), ['big.bin.tej-partial', 'big.bin.tej-partial.json'], 'the partial and its note, no temporary file');

    const before = await hostSent();
    const r = await run(['download', 'h1', '--id', 'big', 'big.bin', '--json'], cwd);
    const sent = (await hostSent()) - before;
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { bytes: number; resumed: number; verified: string };
    assert.ok(result.resumed >= HALF, `resumed from ${result.resumed}`);
    assert.equal(result.bytes, SIZE - result.resumed);
    assert.equal(result.verified, 'sha256');
    assert.equal(localSha(join(cwd, 'big.bin')), await remoteSha('big.bin'));
    assert.ok(sent <= 0.6 * SIZE, `the host sent ${sent} bytes for a file of ${SIZE}`);
    assert.deepEqual(readdirSync(cwd), ['big.bin'], 'the partial renamed into place, its note removed');
  });

  it('a dropped link leaves the partial too; the next run continues it', async () => {
    const cwd = await sshHost.lab.makeTmpDir('tej-drop-');
    const cut = startTej(['download', 'h1', '--id', 'big', 'big.bin:dropped.bin'], { home: sshHost.home, cwd, env: { TEJ_TEST_INTERRUPT_AFTER: `${HALF}:hold` }, timeoutMs: 300_000 });
    await cut.stderrMatches(/holding at \d+ bytes/);
    await sshHost.lab.exec('h1', ['pkill', '-f', '^sshd: alice']); // the host's end of the connection
    const r = await cut.done;
    assert.notEqual(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /broke.*\n.*run the same download again/s);
    assert.deepEqual(readdirSync(cwd).sort(), ['dropped.bin.tej-partial', 'dropped.bin.tej-partial.json']);
    const again = await run(['download', 'h1', '--id', 'big', 'big.bin:dropped.bin', '--json'], cwd);
    assert.equal(again.code, 0, again.stderr);
    assert.ok((JSON.parse(again.stdout) as { resumed: number }).resumed >= HALF);
    assert.equal(localSha(join(cwd, 'dropped.bin')), await remoteSha('big.bin'));
    assert.deepEqual(readdirSync(cwd), ['dropped.bin']);
  });

  it('starts from zero when the remote file changed since the partial was written', async () => {
    const cwd = await sshHost.lab.makeTmpDir('tej-changed-');
    assert.equal((await run(['download', 'h1', '--id', 'big', 'other.bin:out.bin'], cwd, { TEJ_TEST_INTERRUPT_AFTER: String(HALF) })).code, 130);
    assert.ok(existsSync(join(cwd, 'out.bin.tej-partial')));
    // same size, new content and mtime
    await sshHost.lab.execAs('h1', 'alice', `cd ~/.tej/jobs/big/work && head -c ${SIZE} /dev/urandom > o.tmp && touch -d @1600000000 o.tmp && mv o.tmp other.bin`);
    const r = await run(['download', 'h1', '--id', 'big', 'other.bin:out.bin', '--json'], cwd);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { bytes: number; resumed: number };
    assert.equal(result.resumed, 0);
    assert.equal(result.bytes, SIZE);
    assert.equal(localSha(join(cwd, 'out.bin')), await remoteSha('other.bin'));
    assert.deepEqual(readdirSync(cwd), ['out.bin']);
  });

  it('a big file the job is still writing comes as it was read, the tar way: exit 0, no partial left', async () => {
    const dir = await makeJob(join(sshHost.jobs, 'grow'), { 'start.sh': `head -c ${SIZE} /dev/zero > grow.log; touch started; while :; do echo line >> grow.log; done\n` });
    ok(await run(['submit', 'h1', '--id', 'grow', dir], sshHost.jobs));
    const cwd = await sshHost.lab.makeTmpDir('tej-grow-');
    await waitFor('the job to start appending', () => run(['download', 'h1', '--id', 'grow', 'started:'], cwd), (r) => r.code === 0);
    try {
      const r = await run(['download', 'h1', '--id', 'grow', 'grow.log'], cwd);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(statSync(join(cwd, 'grow.log')).size >= SIZE);
      assert.deepEqual(readdirSync(cwd), ['grow.log']);
    } finally {
      ok(await run(['kill', 'h1', '--id', 'grow', '--grace', '1'], cwd));
    }
  });

  it('never follows a symlink planted under the partial name', async () => {
    const cwd = await sshHost.lab.makeTmpDir('tej-plant-');
    const { symlinkSync, writeFileSync } = await import('node:fs');
    writeFileSync(join(cwd, 'victim'), 'keep');
    symlinkSync(join(cwd, 'victim'), join(cwd, 'big.bin.tej-partial'));
    const r = await run(['download', 'h1', '--id', 'big', 'big.bin'], cwd);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /big\.bin\.tej-partial'?: it is a symlink/);
    assert.equal(readFileSync(join(cwd, 'victim'), 'utf8'), 'keep');
    assert.ok(lstatSync(join(cwd, 'big.bin.tej-partial')).isSymbolicLink());
  });
});
