// The lab's slots (test/helpers/lab.ts): a lab belongs to the test process that claimed it, and the
// stale-lab reaper of another suite never takes one whose owner, or whose reaper, still runs.
import assert from 'node:assert/strict';
import { existsSync, openSync, closeSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BASE, reapStaleLabs } from '../helpers/lab.js';

/** "PID START" of this process, as an owner file holds it. */
function self(): string {
  const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
  return `${process.pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
}

/** A free slot number, claimed the way lab.ts does (O_EXCL), so that no suite running beside takes it. */
function claimFreeSlot(): number {
  for (let slot = 4095; slot > 3000; slot--) {
    try {
      closeSync(openSync(join(BASE, `tj${slot}.owner`), 'wx'));
      return slot;
    } catch {
      // taken
    }
  }
  throw new Error('no free slot');
}

describe('lab slots', () => {
  it('a reaper leaves a stale lab alone while another reaper of it runs, however long it takes', async () => {
    // Issue 11, item 25: a reap lock older than 120 s was broken whoever held it; on a loaded machine two
    // reapers could then take down one slot, the second one after a new lab had claimed it.
    const slot = claimFreeSlot();
    const owner = join(BASE, `tj${slot}.owner`);
    const reap = join(BASE, `tj${slot}.reap`);
    try {
      writeFileSync(owner, '999999999 1\n'); // an owner that is gone: the lab is stale
      writeFileSync(reap, `${self()}\n`); // and a reaper that runs (this process) holds it, for 10 minutes now
      const old = new Date(Date.now() - 600_000);
      utimesSync(reap, old, old);
      await reapStaleLabs();
      assert.ok(existsSync(owner), 'the owner file stays: the running reaper removes it');
      assert.equal(readFileSync(reap, 'utf8'), `${self()}\n`, 'the running reaper\'s lock stays');
    } finally {
      rmSync(reap, { force: true });
      rmSync(owner, { force: true });
    }
  });
});
