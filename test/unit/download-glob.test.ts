// Download patterns (src/download/glob.ts) and the host's file listing (src/download/listing.ts): pure logic.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globRegExp, isLiteral, isPattern, unescapePattern } from '../../src/download/glob.js';
import { parseListing } from '../../src/download/listing.js';
import { literalSpec, needsListing, planPass, type SyncSpec } from '../../src/download/sync-plan.js';

const matches = (pattern: string, paths: string[]) => paths.filter((p) => globRegExp(pattern).test(p));
const PATHS = ['a.csv', '.h.csv', 'd/b.csv', 'd/e/c.csv', 'ckpt/1.pt', 'ckpt/22.pt', 'ckpt/s/3.pt', 'a*b', 'x[1].txt', 'x1.txt', 'new\nline.csv', '-dash.csv'];

describe('download patterns', () => {
  it('* and ? stay in one segment, ** spans any number of them', () => {
    assert.deepEqual(matches('*.csv', PATHS), ['a.csv', '.h.csv', 'new\nline.csv', '-dash.csv']);
    assert.deepEqual(matches('ckpt/*.pt', PATHS), ['ckpt/1.pt', 'ckpt/22.pt']);
    assert.deepEqual(matches('ckpt/?.pt', PATHS), ['ckpt/1.pt']);
    assert.deepEqual(matches('**/*.csv', PATHS), ['a.csv', '.h.csv', 'd/b.csv', 'd/e/c.csv', 'new\nline.csv', '-dash.csv']);
    assert.deepEqual(matches('d/**/*.csv', PATHS), ['d/b.csv', 'd/e/c.csv']);
    assert.deepEqual(matches('ckpt/**', PATHS), ['ckpt/1.pt', 'ckpt/22.pt', 'ckpt/s/3.pt']);
    assert.deepEqual(matches('**', PATHS), PATHS);
  });

  it('classes, negated classes, an unclosed bracket, and escapes', () => {
    assert.deepEqual(matches('ckpt/[12].pt', PATHS), ['ckpt/1.pt']);
    assert.deepEqual(matches('ckpt/[!1]*.pt', PATHS), ['ckpt/22.pt']);
    assert.deepEqual(matches('x[1].txt', PATHS), ['x1.txt']);
    assert.deepEqual(matches('x\\[1].txt', PATHS), ['x[1].txt']);
    assert.deepEqual(matches('a\\*b', PATHS), ['a*b']);
    assert.deepEqual(matches('x[1', ['x[1', 'x1']), ['x[1']);
    assert.deepEqual(matches('a[/]b', ['a/b', 'a[/]b']), ['a[/]b']);
  });

  it('tells patterns from paths', () => {
    assert.equal(isPattern('out.txt'), false);
    assert.equal(isPattern('*.txt'), true);
    assert.equal(isLiteral('a\\*b'), true);
    assert.equal(isLiteral('a\\\\*b'), false);
    assert.equal(isLiteral('a*b'), false);
    assert.equal(unescapePattern('a\\*b\\[1]'), 'a*b[1]');
  });

  it('a spec whose wildcards are all escaped is a plain download of that name, stdout and destinations included', () => {
    assert.equal(needsListing(['out.txt', 'a\\*b:', 'x\\[1].txt:dest']), false);
    assert.equal(needsListing(['out.txt', 'ckpt/*.pt']), true);
    assert.equal(literalSpec('a\\*b:'), 'a*b:');
    assert.equal(literalSpec('x\\[1\\].txt:d\\*'), 'x[1].txt:d\\*');
    assert.equal(literalSpec('run-10\\:00.csv'), 'run-10\\:00.csv');
  });
});

describe('the file listing', () => {
  const listing = (body: string) => parseListing(Buffer.from(body), 'h1');

  it('reads states, batches of stats and NUL-ended names (any byte but NUL), and drops files gone before stat', () => {
    const l = listing('state running\nbatch 3\n5 100\n- -\n7 200\n./a\0./gone\0./d/new\nline\0batch 1\n0 300\n./-x\0now 400\nend\n');
    assert.equal(l.state, 'running');
    assert.equal(l.now, 400);
    assert.deepEqual(l.files, [
      { path: 'a', size: 5, mtime: 100 },
      { path: 'd/new\nline', size: 7, mtime: 200 },
      { path: '-x', size: 0, mtime: 300 },
    ]);
  });

  it('refuses a torn listing, and never takes a name with . or .. segments', () => {
    assert.throws(() => listing('state running\nbatch 1\n5 100\n./a\0'), /malformed/);
    assert.throws(() => listing('batch 1\n'), /no state/);
    assert.deepEqual(listing('state finished\nbatch 2\n1 1\n1 1\n./../x\0./a//b\0now 1\nend\n').files, []);
  });
});

describe('a pass plan', () => {
  it('maps matches below their base, the first spec wins a local path, every spec that matched counts', () => {
    const specs: SyncSpec[] = [
      { spec: '*.csv', pattern: globRegExp('*.csv'), path: '*.csv', base: '/dl' },
      { spec: 'res', path: 'res', base: '/dl/r' },
      { spec: 'a.csv', path: 'a.csv', base: '/dl/a.csv' },
    ];
    const matched = new Set<SyncSpec>();
    const plan = planPass(specs, [{ path: 'a.csv', size: 1, mtime: 1 }, { path: 'res/x/y', size: 2, mtime: 2 }, { path: 'resx', size: 3, mtime: 3 }], true, matched);
    assert.deepEqual([...plan.fetch.entries()].map(([p, ts]) => [p, ts.map((t) => [t.local, t.inBase])]), [
      ['a.csv', [['/dl/a.csv', true]]],
      ['res/x/y', [['/dl/r/x/y', true]]],
    ]);
    assert.equal(matched.size, 3); // a.csv's own spec matched, though its local path was taken
  });
});
