// TCP_NODELAY on every TCP socket tej opens: without it, each request written in several small pieces
// (ssh2 without its native crypto binding writes one per packet part) waits on Nagle and the host's
// delayed ACK, ~40 ms a call. Checked in the processes themselves (a preloaded probe records each TCP
// connect and whether setNoDelay(true) was called on that socket): a direct login, a ProxyJump chain,
// and a --persist master, which is a process of its own.
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { tej, waitFor } from '../helpers/cli.js';
import { startJumpLab } from '../helpers/jump-lab.js';
import type { Lab } from '../helpers/lab.js';

const PROBE = pathToFileURL(new URL('../helpers/nodelay-probe.mjs', import.meta.url).pathname).href;

interface ProbeLine {
  pid: number;
  argv: string[];
  tcp: { to: string; noDelay: boolean }[];
}

describe('TCP_NODELAY', () => {
  let lab: Lab<'jump' | 'inner'>;
  let home: string;
  // its own lab, not useSshHost(): a jump host and an inner host (helpers/jump-lab.ts)
  before(async () => {
    ({ lab, home } = await startJumpLab());
  });
  after(async () => {
    await lab?.stop();
  });

  /** Runs tej with the probe; returns what every process of it (the CLI, a master it started) recorded. */
  const probed = async (name: string, ...runs: string[][]): Promise<ProbeLine[]> => {
    const log = join(home, `${name}.jsonl`);
    const runtime = join(home, `run-${name}`);
    await mkdir(runtime, { mode: 0o700 });
    const env = { NODE_OPTIONS: `--import ${PROBE}`, TEJ_NODELAY_LOG: log, XDG_RUNTIME_DIR: runtime };
    for (const args of runs) {
      const r = await tej(args, { home, env });
      assert.equal(r.code, 0, `tej ${args.join(' ')}: ${r.stderr}`);
    }
    const read = async () => (await readFile(log, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as ProbeLine);
    // A master writes its line when it exits, after the `disconnect` that ended it has returned.
    const masters = runs.filter((a) => a.includes('--persist')).length > 0 ? 1 : 0;
    return waitFor(`${name}: every process's line`, read, (lines) => lines.length >= runs.length + masters);
  };

  const assertAllNoDelay = (lines: ProbeLine[]) => {
    for (const l of lines) for (const s of l.tcp) assert.ok(s.noDelay, `pid ${l.pid} (${l.argv.join(' ')}): TCP connection to ${s.to} without TCP_NODELAY`);
  };

  it('on the connection of a direct login', async () => {
    const lines = await probed('direct', ['setup', 'jump']);
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0]!.tcp.map((s) => s.to), [`${lab.hosts.jump.ip}:${lab.hosts.jump.port}`]);
    assertAllNoDelay(lines);
  });

  it('on the first hop of a ProxyJump chain (the next hops are channels in it)', async () => {
    const lines = await probed('jump', ['setup', 'viajump']);
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0]!.tcp.map((s) => s.to), [`${lab.hosts.jump.ip}:${lab.hosts.jump.port}`]);
    assertAllNoDelay(lines);
  });

  it("on a --persist master's connection, and the CLI through it dials no TCP at all", async () => {
    const lines = await probed('persist', ['setup', 'viajump', '--persist', '10m'], ['list', 'viajump', '--persist', '10m'], ['disconnect', 'viajump']);
    const master = lines.filter((l) => l.argv[0] === '__persist-master');
    assert.equal(master.length, 1, JSON.stringify(lines));
    assert.equal(master[0]!.tcp.length, 1, JSON.stringify(master));
    for (const cli of lines.filter((l) => l.argv[0] !== '__persist-master')) assert.deepEqual(cli.tcp, []);
    assertAllNoDelay(lines);
  });
});
