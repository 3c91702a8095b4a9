// Submits of one directory made at once share one reading of its git provenance (src/job/git.ts): a
// library session's 200 submits of a directory ran 200 gits side by side, most of their CPU time.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gitInfo } from '../../src/job/git.js';

/** A temporary directory and a git first on PATH that logs each run's arguments (`runs`: their lines). */
function loggingGit(t: TestContext, prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'runs');
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$*" >>'${log}'\nexec '${real}' "$@"\n`);
  chmodSync(join(bin, 'git'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  t.after(() => (process.env.PATH = path));
  const runs = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);
  return { dir, real, runs };
}

test('provenance readings of one directory made at once run git once between them, and later ones afresh', async (t) => {
  const { dir, real, runs: lines } = loggingGit(t, 'tej-git-shared-');
  const job = join(dir, 'job');
  mkdirSync(job);
  execFileSync(real, ['init', '-q', job]);
  writeFileSync(join(job, 'start.sh'), 'exit 0\n');

  const at = await Promise.all(Array.from({ length: 20 }, () => gitInfo(job)));
  assert.ok(at.every((g) => g?.dirty === true && g.commit === null), 'each submit has the provenance');
  const runs = () => lines().filter((l) => l.includes('rev-parse --is-inside-work-tree')).length;
  assert.equal(runs(), 1);
  // a later submit reads it again: the tree may have changed since
  execFileSync(real, ['-C', job, 'add', '.']);
  execFileSync(real, ['-C', job, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'x']);
  const after = await gitInfo(job);
  assert.equal(runs(), 2);
  assert.equal(after?.dirty, false);
  assert.match(after?.commit ?? '', /^[0-9a-f]{40}$/);
});

test('a directory in no work tree runs no git; one below a .git, or with GIT_DIR set, does', async (t) => {
  const { dir, real, runs: lines } = loggingGit(t, 'tej-git-none-');
  const runs = () => lines().length;

  const plain = join(dir, 'plain', 'job');
  mkdirSync(plain, { recursive: true });
  assert.equal(await gitInfo(plain), undefined);
  assert.equal(runs(), 0, 'no git run for a directory with no .git around it');

  const repo = join(dir, 'repo');
  execFileSync(real, ['init', '-q', repo]);
  const deep = join(repo, 'a', 'b');
  mkdirSync(deep, { recursive: true });
  assert.equal((await gitInfo(deep))?.path, 'a/b');

  // GIT_DIR names a repository from anywhere: git decides
  const before = runs();
  process.env.GIT_DIR = join(repo, '.git');
  process.env.GIT_WORK_TREE = repo;
  t.after(() => {
    delete process.env.GIT_DIR;
    delete process.env.GIT_WORK_TREE;
  });
  await gitInfo(plain);
  assert.ok(runs() > before, 'git asked when GIT_DIR is set');
});
