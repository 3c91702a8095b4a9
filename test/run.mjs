#!/usr/bin/env node
// Runs the test suite: every *.test.ts under the given folders (default: test/), through node's own
// runner with tsx as the loader. Node 20's --test neither expands globs nor finds .ts files by itself.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

function findTests(path) {
  if (statSync(path).isFile()) return path.endsWith('.test.ts') ? [path] : [];
  return readdirSync(path).sort().flatMap((name) => (name === 'node_modules' ? [] : findTests(join(path, name))));
}

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = (roots.length ? roots : ['test']).flatMap((r) => findTests(resolve(r)));
if (files.length === 0) {
  console.error('test/run.mjs: no *.test.ts files found under', roots.join(' ') || 'test');
  process.exit(1);
}
// A test that hangs fails after 15 minutes instead of holding the run for ever (the longest passing test
// takes under 3 minutes, with three CI runs at once on two cores); --test-timeout=N overrides it.
const timeout = flags.some((f) => f.startsWith('--test-timeout')) ? [] : ['--test-timeout=900000'];
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...timeout, ...flags, ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
