// FileMemo (src/file-memo.ts): what was made of a config file is made again whenever the file is
// another, or changed, and never kept for what is not a regular file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, utimesSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileMemo } from '../../src/file-memo.js';

describe('FileMemo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tej-memo-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let made = 0;
  const make = async () => ++made;

  it('keeps what was made while the file stays the same, and makes it again once it changed', async () => {
    // a clock a minute ahead: the files written here count as settled
    const memo = new FileMemo<number>(() => Date.now() + 60_000);
    const file = join(dir, 'config');
    writeFileSync(file, 'Host a\n');
    made = 0;
    assert.deepEqual([await memo.get(file, make), await memo.get(file, make)], [1, 1]);
    // rewritten in place, the same size, another mtime
    writeFileSync(file, 'Host b\n');
    utimesSync(file, new Date(1000), new Date(1000));
    assert.equal(await memo.get(file, make), 2);
    assert.equal(await memo.get(file, make), 2);
    // replaced by another file (an editor's rename), with the same times
    writeFileSync(`${file}.new`, 'Host c\n');
    utimesSync(`${file}.new`, new Date(1000), new Date(1000));
    renameSync(`${file}.new`, file);
    assert.equal(await memo.get(file, make), 3);
    // another path
    writeFileSync(join(dir, 'other'), 'Host c\n');
    assert.equal(await memo.get(join(dir, 'other'), make), 4);
  });

  it('keeps nothing for a file changed in the last two seconds (the kernel\'s coarse clock)', async () => {
    const memo = new FileMemo<number>();
    const file = join(dir, 'fresh');
    writeFileSync(file, 'Host a\n');
    made = 0;
    assert.deepEqual([await memo.get(file, make), await memo.get(file, make)], [1, 2]);
  });

  it('keeps the absence of a file until one is there, and nothing for a FIFO, which it does not open', async () => {
    const memo = new FileMemo<number>(() => Date.now() + 60_000);
    made = 0;
    const missing = join(dir, 'none');
    assert.deepEqual([await memo.get(missing, make), await memo.get(missing, make)], [1, 1]);
    writeFileSync(missing, 'Host a\n');
    assert.equal(await memo.get(missing, make), 2);
    const fifo = join(dir, 'fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    assert.equal(memo.identity(fifo), undefined);
    assert.deepEqual([await memo.get(fifo, make), await memo.get(fifo, make)], [3, 4]);
  });

  it('keeps nothing made while the file changed', async () => {
    const memo = new FileMemo<number>(() => Date.now() + 60_000);
    const file = join(dir, 'moving');
    writeFileSync(file, 'Host a\n');
    made = 0;
    const changing = async () => {
      writeFileSync(file, 'Host bb\n'); // as if an editor saved while it was read
      return ++made;
    };
    assert.equal(await memo.get(file, changing), 1);
    assert.equal(await memo.get(file, make), 2);
    assert.equal(await memo.get(file, make), 2);
  });
});
