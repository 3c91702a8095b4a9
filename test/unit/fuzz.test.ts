// Fuzz-style tests of everything that crosses into a shell or the remote side: generated job ids (the
// client's check and the helpers' check agree), download paths (accepted ones round-trip through dash
// unchanged and stay inside the job), and job metadata (args and env of arbitrary text arrive in the
// job byte for byte, through the client's real tar, submit and the job wrapper, under every shell).
// A seeded generator: a failure prints the seed, TEJ_FUZZ_SEED=<seed> replays it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { checkJobPath } from '../../src/download/request.js';
import { checkJobId } from '../../src/job/id.js';
import { packJob, scanJobDir } from '../../src/job/pack.js';
import { shQuote, shQuotePath } from '../../src/transport/quote.js';
import { HelperQueue, REMOTE_SCRIPTS } from '../remote-scripts/_queue.js';
import { SHELLS } from '../remote-scripts/_shells.js';

const SEED = Number(process.env.TEJ_FUZZ_SEED ?? Date.now() % 1_000_000);

/** mulberry32: small, seeded, good enough to spread test cases. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(seed: number) {
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  /** A string of `len` pieces drawn from `alphabet` (pieces may be longer than one character). */
  const from = (alphabet: readonly string[], len: number) => Array.from({ length: len }, () => pick(alphabet)).join('');
  /** Arbitrary text: ASCII controls and punctuation, Latin-1, CJK, emoji (never a lone surrogate, never NUL). */
  const text = (len: number) =>
    Array.from({ length: len }, () => {
      const range = pick([[1, 127], [1, 31], [32, 47], [128, 255], [0x4e00, 0x4e80], [0x1f600, 0x1f640]] as const);
      return String.fromCodePoint(range[0] + int(range[1] - range[0] + 1));
    }).join('');
  return { int, pick, from, text };
}

// Words with a meaning to some shell, mixed into generated ids and paths.
const HOSTILE = ['$(', ')', '`', "'", '"', ';', '|', '&', ' ', '\t', '\\', '*', '?', '[', ']', '~', '#', '!', '{', '}', '<', '>', '$', '\u00e9', '\n'];

/** Runs `script` under dash (bytes in as latin1) and returns its stdout (latin1). */
function dash(script: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync('dash', ['-s'], { input: Buffer.from(script, 'latin1'), encoding: 'latin1', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `seed ${SEED}: ${r.stderr}`);
  return r.stdout;
}

describe(`fuzz (seed ${SEED})`, () => {
  it('the client and the helpers agree on every generated job id', () => {
    const g = generator(SEED);
    const safe = [...'aZ09', '.', '_', '-'];
    const ids: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const len = g.pick([0, 1, 2, 5, 20, 127, 128, 129, g.int(140)]);
      // mostly safe characters, so that about half the ids are valid
      ids.push(g.from(g.int(3) === 0 ? [...safe, ...HOSTILE, '..', '/'] : [...safe, ...safe, ...safe, g.pick(HOSTILE)], len));
    }
    const client = ids.map((id) => {
      try {
        checkJobId(id);
        return '1';
      } catch {
        return '0';
      }
    });
    // ids with a newline cannot be quoted for a shell (shQuote refuses them): the client must refuse them
    const quotable = ids.map((id, i) => ({ id, i })).filter(({ id }) => !/[\n\r]/.test(id));
    for (const { id, i } of ids.map((id, i) => ({ id, i })).filter(({ id }) => /[\n\r]/.test(id))) assert.equal(client[i], '0', JSON.stringify(id));
    const remote = dash(
      `. '${REMOTE_SCRIPTS}lib/common.sh'\nfor id in ${quotable.map(({ id }) => shQuote(Buffer.from(id, 'utf8').toString('latin1'))).join(' ')}; do if is_job_id "$id"; then printf 1; else printf 0; fi; done\n`,
    );
    assert.equal(remote.length, quotable.length);
    quotable.forEach(({ id, i }, k) => assert.equal(remote[k], client[i], `seed ${SEED}: ${JSON.stringify(id)}: client ${client[i]}, helpers ${remote[k]}`));
    const valid = client.filter((c) => c === '1').length;
    assert.ok(valid > 300 && valid < 2700, `a fair mix of valid (${valid}) and invalid ids`);
  });

  it('accepted download paths stay inside the job and round-trip through dash unchanged', () => {
    const g = generator(SEED + 1);
    const parts = ['a', 'dir', 'x.txt', '.', '..', '...', '-n', '--', '.hidden', '', ...HOSTILE];
    const paths: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const segs = Array.from({ length: 1 + g.int(5) }, () => g.from(parts, 1 + g.int(3)));
      paths.push((g.int(8) === 0 ? '/' : '') + segs.join('/'));
    }
    const accepted: string[] = [];
    for (const p of paths) {
      let out: string;
      try {
        out = checkJobPath(p);
      } catch {
        assert.ok(p === '' || p.startsWith('/') || p.split('/').includes('..') || /[\n\r\0]/.test(p), `seed ${SEED}: refused ${JSON.stringify(p)}`);
        continue;
      }
      const norm = posix.normalize(out);
      assert.ok(!norm.startsWith('/') && norm !== '..' && !norm.startsWith('../'), `seed ${SEED}: ${JSON.stringify(p)} leaves the job`);
      accepted.push(out);
    }
    assert.ok(accepted.length > 500, `${accepted.length} accepted`);
    for (let i = 0; i < accepted.length; i += 300) {
      const chunk = accepted.slice(i, i + 300);
      const back = dash(`printf '%s\\0' ${chunk.map((p) => shQuote(Buffer.from(p, 'utf8').toString('latin1'))).join(' ')}`).split('\0').slice(0, -1);
      assert.deepEqual(back.map((b) => Buffer.from(b, 'latin1').toString('utf8')), chunk, `seed ${SEED}`);
    }
    // queue paths: a leading ~/ expands, the rest stays literal
    const queues = accepted.slice(0, 200).map((p) => `~/${p}`);
    const home = dash(`HOME=/h; printf '%s\\0' ${queues.map((q) => Buffer.from(shQuotePath(q), 'utf8').toString('latin1')).join(' ')}`).split('\0').slice(0, -1);
    assert.deepEqual(home.map((b) => Buffer.from(b, 'latin1').toString('utf8')), queues.map((q) => `/h/${q.slice(2)}`));
  });

  for (const shell of SHELLS) {
    it(`job args and env of arbitrary text arrive byte for byte (${shell.name})`, async (t) => {
      const g = generator(SEED + 2 + shell.name.length);
      const q = await HelperQueue.setUp(shell);
      const dir = mkdtempSync(join(tmpdir(), 'tej-fuzz-job-'));
      t.after(async () => {
        await q.cleanUp();
        rmSync(dir, { recursive: true, force: true });
      });
      writeFileSync(join(dir, 'placeholder'), '');
      const scan = await scanJobDir(dir);
      for (let round = 0; round < 2; round++) {
        const args = Array.from({ length: 1 + g.int(8) }, () => g.text(g.int(40)) + g.pick(['', '\n', '\n\n', ' ', '\\']));
        const env: Record<string, string> = {};
        for (let k = 0; k < 1 + g.int(6); k++) env[`F_${k}_${g.from([...'abcXYZ_9'], g.int(5))}`] = g.text(g.int(60)) + g.pick(['', '\n', '\n\n']);
        const command = [
          'i=0; for a in "$@"; do printf "%s" "$a" > "arg$i"; i=$((i + 1)); done',
          ...Object.keys(env).map((n) => `printf "%s" "$${n}" > "env_${n}"`),
        ].join('\n');
        const nonce = `Fuzz${round}`;
        const id = `fuzz${round}`;
        const tarBytes = await collect(packJob(scan, { command, args, env }, nonce));
        const r = await q.run(['submit', id, nonce], { input: tarBytes });
        assert.equal(r.code, 0, `seed ${SEED}: ${r.stderr}`);
        const done = await q.waitState(id, ['finished']);
        assert.equal(done.exit_code, '0', `seed ${SEED}: ${q.jobFile(id, 'work/tej.stderr')}`);
        args.forEach((a, i) => assert.equal(readFileSync(join(q.jobDir(id), 'work', `arg${i}`), 'utf8'), a, `seed ${SEED}: arg ${i}`));
        for (const [n, v] of Object.entries(env)) assert.equal(readFileSync(join(q.jobDir(id), 'work', `env_${n}`), 'utf8'), v, `seed ${SEED}: env ${n}`);
      }
    });
  }
});

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}
