// `tej --version` is the CLI's start-up floor (bench, "CLI start-up"): it answers from bin/tej.js
// alone, a CommonJS file, so that Node starts neither its ES module loader nor the bundle.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { TEJ_BIN } from '../helpers/cli.js';

const ROOT = join(dirname(TEJ_BIN), '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('tej --version prints the package version without starting the ES module loader', () => {
  // NODE_DEBUG=esm logs each step of the ESM loader (ModuleLoadMap, ModuleJob) on stderr.
  const r = spawnSync(process.execPath, [TEJ_BIN, '--version'], { encoding: 'utf8', env: { ...process.env, NODE_DEBUG: 'esm' } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${VERSION}\n`);
  assert.doesNotMatch(r.stderr, /ESM/, 'the ES module loader ran');
});

test('tej --version needs nothing but bin/ and package.json (no bundle), and other commands still run the bundle', (t) => {
  const copy = mkdtempSync(join(tmpdir(), 'tej-version-'));
  t.after(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
  const r = spawnSync(process.execPath, [join(copy, 'bin', 'tej.js'), '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${VERSION}\n`);
  const help = spawnSync(process.execPath, [TEJ_BIN, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^tej <command>/);
});
