// The CLI's bundle is one CommonJS file that bin/tej.js runs with a V8 code cache (src/code-cache.ts,
// scripts/bundle.mjs): a command starts neither Node's ES module loader nor a compile of the whole
// bundle; the cache is a shortcut that never breaks a command, and those of older builds go away.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { TEJ_BIN } from '../helpers/cli.js';

const CODE_CACHE = join(TEJ_BIN, '..', '..', 'dist', 'bundle', 'code-cache.cjs');

describe('the CLI bundle and its code cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tej-cli-cache-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `tej --help` with XDG_CACHE_HOME=cache; its stderr. */
  const help = (cache: string, env: Record<string, string> = {}): string => {
    const r = spawnSync(process.execPath, [TEJ_BIN, '--help'], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cache, ...env }, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tej <command>/);
    return r.stderr;
  };
  const cliCaches = (cache: string) => readdirSync(join(cache, 'tej')).filter((f) => f.startsWith('cli-'));

  it('runs a command without starting the ES module loader', () => {
    // NODE_DEBUG=esm logs each step of the ESM loader on stderr
    assert.doesNotMatch(help(join(dir, 'esm'), { NODE_DEBUG: 'esm' }), /ESM/, 'the ES module loader ran');
  });

  it('writes its code cache once, then takes it (it is not written again)', () => {
    const cache = join(dir, 'fresh');
    help(cache);
    const [file] = cliCaches(cache);
    assert.ok(file, 'a cache was written');
    const first = statSync(join(cache, 'tej', file));
    assert.ok(first.size > 1000);
    help(cache);
    const second = statSync(join(cache, 'tej', file));
    // a cache that V8 rejected would be written again at exit (a new file renamed into place)
    assert.equal(second.ino, first.ino, 'the cache was replaced: V8 did not take it');
    assert.deepEqual(readdirSync(join(cache, 'tej')), [file], 'no temporary file is left');
  });

  it('a corrupt cache is ignored and replaced; a FIFO in its place does not stop a command', () => {
    const cache = join(dir, 'corrupt');
    help(cache);
    const [file] = cliCaches(cache);
    const path = join(cache, 'tej', file!);
    writeFileSync(path, Buffer.alloc(4096, 0x5a));
    const corrupt = statSync(path).ino;
    help(cache);
    assert.notEqual(statSync(path).ino, corrupt, 'replaced');
    assert.ok(statSync(path).size > 1000);
    rmSync(path);
    assert.equal(spawnSync('mkfifo', [path]).status, 0);
    help(cache); // a FIFO opened for reading would wait for a writer for ever
    assert.ok(statSync(path).isFile(), 'a cache took its place');
  });

  it('each install has its own cache: a script names its own file in stack traces, not the other install\'s', () => {
    // V8 gives a script made from a cache the file name it was compiled under; two installs of the same
    // build once shared one cache, and the second named the first's files in its stack traces.
    const cache = join(dir, 'installs');
    const where = (install: string): string => {
      const file = join(dir, install, 'm.cjs');
      mkdirSync(join(dir, install), { recursive: true });
      writeFileSync(file, 'module.exports = () => new Error("here").stack.split("\\n")[1];\n');
      const probe = `const { runWithCodeCache } = require(${JSON.stringify(CODE_CACHE)});
        const f = ${JSON.stringify(file)};
        process.stdout.write(runWithCodeCache(f, require('node:fs').readFileSync(f, 'utf8'), 'probe').exports());`;
      const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, XDG_CACHE_HOME: cache }, timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout;
    };
    for (const install of ['one', 'two', 'one', 'two']) assert.match(where(install), new RegExp(`\\(${join(dir, install, 'm.cjs')}:1:`), install);
    assert.equal(readdirSync(join(cache, 'tej')).filter((f) => f.startsWith('probe-')).length, 2, 'one cache for each');
  });

  it('removes the caches of other builds once they are a day old, and keeps newer ones', () => {
    const cache = join(dir, 'stale');
    mkdirSync(join(cache, 'tej'), { recursive: true });
    const old = join(cache, 'tej', 'cli-00000000000000000000000000000000.v8');
    const recent = join(cache, 'tej', 'cli-11111111111111111111111111111111.v8');
    const other = join(cache, 'tej', 'ssh2-22222222222222222222222222222222.v8');
    for (const f of [old, recent, other]) writeFileSync(f, 'x');
    const twoDaysAgo = Date.now() / 1000 - 2 * 86400;
    utimesSync(old, twoDaysAgo, twoDaysAgo);
    utimesSync(other, twoDaysAgo, twoDaysAgo);
    help(cache);
    const left = readdirSync(join(cache, 'tej')).sort();
    assert.ok(!left.includes('cli-00000000000000000000000000000000.v8'), `the old cache is left: ${left.join(' ')}`);
    assert.ok(left.includes('cli-11111111111111111111111111111111.v8'), 'a recent cache (another install) was removed');
    assert.ok(left.includes('ssh2-22222222222222222222222222222222.v8'), "ssh2's cache is removed only when ssh2's is written");
    assert.equal(cliCaches(cache).length, 2);
  });
});
