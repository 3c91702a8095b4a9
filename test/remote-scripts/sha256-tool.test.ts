// One sha256 tool for the helpers (sha256_tool_into, lib/common.sh): on a host whose only sha256 tool
// is openssl, shasum or sha256sum, the content store is on, fetch --sha256 answers, and a user's own
// plugin is checked and loaded. Before, each of the three chose its own list: fetch knew no shasum,
// load_own_plugin no openssl.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bareUserland, HelperQueue } from './_queue.js';
import { eachShell, SHELLS } from './_shells.js';

const TOOLS = ['openssl', 'shasum', 'sha256sum'] as const;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** busybox's applets without any sha*sum, and TOOL (the system's own) as the only sha256 tool. */
function onlyTool(dir: string, tool: (typeof TOOLS)[number]): string {
  const bin = bareUserland(dir);
  for (const a of readdirSync(bin)) if (/^sha\d*sum$/.test(a)) rmSync(join(bin, a));
  const path = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
  assert.ok(path, `${tool} is installed (.ci/run)`);
  symlinkSync(path, join(bin, tool));
  return bin;
}

describe('the sha256 tool', { concurrency: SHELLS.length }, () => {
  eachShell((shell) => {
    for (const tool of TOOLS) {
      test(`with ${tool} alone: the store is on, fetch --sha256 answers, an own plugin loads`, async (t) => {
        const q = new HelperQueue(shell);
        q.env.PATH = onlyTool(q.tmp, tool);
        t.after(() => q.cleanUp());
        const setup = await q.run(['setup']);
        assert.equal(setup.code, 0, setup.stderr);

        assert.equal((await q.ok(['store', 'lacks', 'n1', 'a'.repeat(64)])).header.store, 'on');

        await q.submit('f1', { command: 'true', files: { 'a.txt': 'A' } });
        const sums = await q.run(['fetch', '--sha256', 'f1', 'a.txt', 'missing']);
        assert.equal(sums.code, 0, sums.stderr);
        assert.equal(sums.stdout.toString(), `${sha('A')}\n-\n`);

        // load_own_plugin: the plugin's text, checked against the sum the client sent
        const plugin = 'queue_check() { echo own-plugin-loaded; }\n';
        mkdirSync(join(q.root, 'queues'), { recursive: true });
        writeFileSync(join(q.root, 'queues', 'mine.sh'), plugin);
        const load = (sum: string) =>
          spawnSync(shell.argv[0]!, [...shell.argv.slice(1), '-c', `. "$TEJ_ROOT/lib/common.sh"; load_own_plugin mine; queue_check`], {
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'], // bash reads ~/.bashrc when its stdin is a socket (as under sshd)
            env: { PATH: q.env.PATH, TEJ_ROOT: q.root, TEJ_PLUGIN_SUMS: `mine=${sum}` },
          });
        const good = load(sha(plugin));
        assert.equal(good.status, 0, good.stderr);
        assert.equal(good.stdout, 'own-plugin-loaded\n');
        const changed = load(sha('something else'));
        assert.equal(changed.status, 69, changed.stderr);
        assert.match(changed.stderr, /was changed since it was installed/);
      });
    }
  });
});
