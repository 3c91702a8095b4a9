import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/errors.js';
import { jobFilter, loadJobFilter } from '../../src/job/ignore.js';
import { planJob } from '../../src/job/plan.js';
import { makeJob } from '../helpers/cli.js';

describe('ignore rules', () => {
  it('matches gitignore syntax: globs, anchors, directory patterns and negation', () => {
    const f = jobFilter(['# a comment', '', '*.log', '/top.txt', 'build/', '!keep.log']);
    assert.equal(f.excludes('run.log', false), true);
    assert.equal(f.excludes('deep/run.log', false), true);
    assert.equal(f.excludes('keep.log', false), false);
    assert.equal(f.excludes('top.txt', false), true);
    assert.equal(f.excludes('sub/top.txt', false), false, 'a leading / anchors to the job directory');
    assert.equal(f.excludes('build', true), true);
    assert.equal(f.excludes('build', false), false, 'a trailing / matches directories only');
    assert.equal(f.excludes('src/build/x.o', false), true, 'inside an excluded directory');
    assert.equal(f.excludes('start.sh', false), false);
    assert.equal(f.excludes('RUN.LOG', false), false, 'case-sensitive, as git on Linux');
  });

  it('lets --exclude patterns come last and names where a rule comes from', () => {
    const f = jobFilter(['*.sh'], ['!start.sh', 'data/']);
    assert.equal(f.excludes('start.sh', false), false);
    assert.equal(f.excludes('other.sh', false), true);
    assert.equal(f.ruleFor('other.sh'), "'*.sh' (from .tejignore)");
    assert.equal(f.ruleFor('data/big.bin'), "'data/' (from --exclude)");
    assert.equal(f.ruleFor('start.sh'), undefined);
  });

  it('refuses an empty --exclude pattern', async () => {
    await assert.rejects(loadJobFilter('/nonexistent', ['']), InvalidInputError);
  });
});

describe('planning an upload', () => {
  it('never enters an excluded directory and never opens an excluded file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tej-plan-'));
    try {
      await makeJob(dir, {
        'start.sh': 'echo hi\n',
        '.tejignore': 'cache/\n*.tmp\n',
        'cache/secret/a': 'x',
        'data/in.txt': '12345',
      });
      // fifos: the scan refuses special files, so reaching either would fail the plan
      execFileSync('mkfifo', [join(dir, 'cache/secret/fifo'), join(dir, 'notes.tmp')]);
      const plan = await planJob(dir, { exclude: ['data/in.txt'] });
      assert.deepEqual(plan.entries.map((e) => e.path), ['.tejignore', 'data', 'start.sh']);
      assert.equal(plan.bytes, 'cache/\n*.tmp\n'.length + 'echo hi\n'.length);
      assert.equal(plan.script, 'start.sh');
      await assert.rejects(planJob(dir, { exclude: ['!cache/'] }), /special file/, 'the fifos are really there');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fails, naming the pattern, when the start script is excluded', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tej-plan-'));
    try {
      await makeJob(dir, { 'start.sh': 'echo hi\n', '.tejignore': '*.sh\n' });
      await assert.rejects(planJob(dir), (e: Error) => {
        assert.ok(e instanceof InvalidInputError);
        assert.match(e.message, /script 'start\.sh' is excluded .* pattern '\*\.sh' \(from \.tejignore\)/);
        return true;
      });
      await assert.rejects(planJob(dir, { script: 'start.sh', exclude: ['!start.sh', 'start.sh'] }), /pattern 'start\.sh' \(from --exclude\)/);
      assert.equal((await planJob(dir, { command: 'echo hi' })).entries.length, 1, 'a command needs no script');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
