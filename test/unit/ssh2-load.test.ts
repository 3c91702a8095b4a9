// Loading ssh2 from its one-file build with a V8 code cache (src/ssh/ssh2-load.ts): the cache is a
// shortcut that never breaks a load, whatever lies at its place; and what the build defers (bcrypt-pbkdf
// for passphrase-protected keys) still works when it is needed.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const LOADER = fileURLToPath(new URL('../../src/ssh/ssh2-load.ts', import.meta.url));
const BUNDLE = fileURLToPath(new URL('../../dist/bundle/ssh2.cjs', import.meta.url));

interface Loaded {
  bundle: boolean;
  cacheFile: string;
  cacheUsed: boolean;
  client: string;
  parsed?: string;
}

/** Loads ssh2 in a fresh process with XDG_CACHE_HOME=cache; with `key`, parses that key with `passphrase`. */
function load(cache: string, key?: { file: string; passphrase: string }, loader = LOADER): Loaded {
  const script = `
    import { loadSsh2Module, ssh2LoadInfo } from ${JSON.stringify(loader)};
    import { readFileSync } from 'node:fs';
    const ssh2 = await loadSsh2Module();
    const out = { ...ssh2LoadInfo, client: typeof new ssh2.Client().connect };
    const key = ${JSON.stringify(key ?? null)};
    if (key) { const k = ssh2.utils.parseKey(readFileSync(key.file), key.passphrase); out.parsed = k instanceof Error ? k.message : k.type; }
    process.stdout.write(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: { ...process.env, XDG_CACHE_HOME: cache },
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  return JSON.parse(r.stdout) as Loaded;
}

describe('ssh2 load', { skip: existsSync(BUNDLE) ? false : 'dist/bundle/ssh2.cjs is not built (npm run build)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tej-ssh2-load-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('uses the bundle, writes its code cache and takes it the next time', () => {
    const cache = join(dir, 'fresh');
    const first = load(cache);
    assert.equal(first.bundle, true);
    assert.equal(first.cacheUsed, false);
    assert.equal(first.client, 'function');
    assert.ok(first.cacheFile.startsWith(join(cache, 'tej') + '/'));
    assert.ok(readFileSync(first.cacheFile).length > 1000, 'the cache was written at exit');
    const second = load(cache);
    assert.equal(second.cacheUsed, true);
    assert.equal(second.client, 'function');
    assert.deepEqual(readdirSync(join(cache, 'tej')), [first.cacheFile.split('/').pop()], 'no temporary file is left');
  });

  it('ignores a corrupt cache, and replaces it', () => {
    const cache = join(dir, 'corrupt');
    const { cacheFile } = load(cache);
    writeFileSync(cacheFile, Buffer.alloc(4096, 0x5a));
    const r = load(cache);
    assert.equal(r.cacheUsed, false);
    assert.equal(r.client, 'function');
    assert.equal(load(cache).cacheUsed, true);
  });

  it('loads when the cache cannot be written, or is not a regular file', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = load(file); // its tej/ cannot be made under a regular file
    assert.equal(r.cacheUsed, false);
    assert.equal(r.client, 'function');

    const cache = join(dir, 'fifo');
    const { cacheFile } = load(cache);
    rmSync(cacheFile);
    execFileSync('mkfifo', [cacheFile]); // opened for reading, a FIFO would wait for a writer for ever
    const f = load(cache);
    assert.equal(f.cacheUsed, false);
    assert.equal(f.client, 'function');
  });

  it('a login loads neither ssh2\'s HTTP agents (http, https, tls) nor readline (only a prompt needs it)', () => {
    const script = `
      await import(${JSON.stringify(fileURLToPath(new URL('../../src/ssh/login.ts', import.meta.url)))});
      const { loadSsh2Module } = await import(${JSON.stringify(LOADER)});
      await loadSsh2Module();
      process.stdout.write(JSON.stringify(process.moduleLoadList));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, XDG_CACHE_HOME: join(dir, 'modules') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const loaded = JSON.parse(r.stdout) as string[];
    assert.ok(loaded.includes('NativeModule net'), 'the list is the one of Node\'s modules');
    for (const m of ['http', 'https', 'tls', 'readline']) assert.ok(!loaded.includes(`NativeModule ${m}`), `${m} was loaded`);
  });

  it('uses ssh2 itself when the ssh2 installed is not the one the bundle was built from', () => {
    // a copy of the package whose bundle names another version on its first line
    const pkg = join(dir, 'pkg');
    for (const d of ['src/ssh', 'dist/bundle', 'remote-scripts']) mkdirSync(join(pkg, d), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), '{"type":"module"}');
    for (const f of ['src/ssh/ssh2-load.ts', 'src/code-cache.ts', 'src/regular-file.ts', 'src/package-root.ts']) copyFileSync(fileURLToPath(new URL(`../../${f}`, import.meta.url)), join(pkg, f));
    symlinkSync(fileURLToPath(new URL('../../node_modules', import.meta.url)), join(pkg, 'node_modules'));
    const source = readFileSync(BUNDLE, 'utf8');
    assert.match(source, /^\/\/ ssh2@\d/);
    writeFileSync(join(pkg, 'dist/bundle/ssh2.cjs'), source.replace(/^\/\/ ssh2@\S+/, '// ssh2@0.0.1'));
    const r = load(join(dir, 'other'), undefined, join(pkg, 'src/ssh/ssh2-load.ts'));
    assert.equal(r.bundle, false);
    assert.equal(r.client, 'function');
  });

  it('parses a passphrase-protected key with the bcrypt-pbkdf the bundle loads only then', () => {
    const key = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'sesame', '-f', key]);
    assert.equal(load(join(dir, 'kdf'), { file: key, passphrase: 'sesame' }).parsed, 'ssh-ed25519');
    assert.match(load(join(dir, 'kdf'), { file: key, passphrase: 'wrong' }).parsed!, /bad passphrase|decrypt/i);
  });
});
