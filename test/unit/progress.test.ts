import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes, formatEta, formatRate, progressBar, renderProgress, spinner } from '../../src/cli/progress.js';
import { colorEnabled, paint } from '../../src/cli/style.js';

function fakeTerm(isTTY: boolean) {
  const writes: string[] = [];
  return { isTTY, columns: 100, writes, write: (t: string) => writes.push(t) };
}

describe('progress formatting', () => {
  it('formats bytes in binary units, rates and ETAs', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(8 * 1024 * 1024), '8.0 MiB');
    assert.equal(formatBytes(300 * 1024 * 1024), '300 MiB');
    assert.equal(formatRate(2048), '2.0 KiB/s');
    assert.equal(formatEta(5), '0:05');
    assert.equal(formatEta(61.2), '1:02');
    assert.equal(formatEta(3723), '1:02:03');
  });

  it('renders a bar with percentage and ETA when the total is known, bytes and rate when not', () => {
    const line = renderProgress({ label: 'up', bytes: 512 * 1024, total: 1024 * 1024, elapsedMs: 1000 }, 80);
    assert.equal(line, 'up  ##########----------   50%  512 KiB/1.0 MiB  512 KiB/s  ETA 0:01');
    assert.equal(renderProgress({ label: 'down', bytes: 3 * 1024 * 1024, elapsedMs: 2000 }), 'down  3.0 MiB  1.5 MiB/s');
    assert.doesNotMatch(renderProgress({ label: 'up', bytes: 10, total: 10, elapsedMs: 10 }), /ETA/, 'no ETA once done');
    const narrow = renderProgress({ label: 'uploading to someone@a-very-long-host-name.example.org', bytes: 1, total: 2, elapsedMs: 1000 }, 60);
    assert.equal(narrow.length, 59, 'shortened to fit the terminal');
    assert.match(narrow, /^uploading to s~  #####-----   50%/);
  });

  it('draws at most every 100 ms, then leaves only the summary', () => {
    const term = fakeTerm(true);
    const bar = progressBar('up', 100, term);
    for (let i = 1; i <= 100; i++) bar.update(i);
    assert.equal(term.writes.length, 1, 'a burst of updates is drawn once');
    assert.match(term.writes[0]!, /^\r\x1b\[Kup /);
    bar.done('sent');
    assert.deepEqual(term.writes.slice(1), ['\r\x1b[K', 'sent\n']);
  });

  it('assumes 80 columns when the terminal does not know its width', () => {
    const term = { ...fakeTerm(true), columns: 0 };
    progressBar('uploading to h1', 100, term).update(1);
    spinner('connecting to h1', term).stop();
    assert.match(term.writes[0]!, /uploading to h1 /);
    assert.match(term.writes[1]!, /connecting to h1$/);
  });

  it('draws nothing off a terminal', () => {
    const term = fakeTerm(false);
    const bar = progressBar('up', 100, term);
    bar.update(50);
    bar.done('sent');
    spinner('waiting', term).stop('done');
    assert.deepEqual(term.writes, []);
  });

  it('spins on a terminal and clears its line when stopped', () => {
    const term = fakeTerm(true);
    const s = spinner('waiting', term);
    s.stop();
    assert.match(term.writes[0]!, /^\r\x1b\[K\S+ waiting$/);
    assert.equal(term.writes.at(-1), '\r\x1b[K');
  });
});

describe('colour', () => {
  it('follows NO_COLOR, FORCE_COLOR, TERM=dumb and the TTY', () => {
    assert.equal(colorEnabled({ isTTY: true }, {}), true);
    assert.equal(colorEnabled({ isTTY: false }, {}), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '' }), true, 'an empty NO_COLOR is unset (no-color.org)');
    assert.equal(colorEnabled({ isTTY: false }, { FORCE_COLOR: '1' }), true);
    assert.equal(colorEnabled({ isTTY: true }, { FORCE_COLOR: '0' }), false);
    assert.equal(colorEnabled({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' }), false, 'NO_COLOR wins');
    assert.equal(colorEnabled({ isTTY: true }, { TERM: 'dumb' }), false);
  });

  it('wraps text in SGR codes only when colour is on', () => {
    const saved = { ...process.env };
    try {
      delete process.env.NO_COLOR;
      process.env.FORCE_COLOR = '1';
      assert.equal(paint({ isTTY: false }, 'x', 'red', 'bold'), '\x1b[31m\x1b[1mx\x1b[22m\x1b[39m');
      process.env.NO_COLOR = '1';
      assert.equal(paint({ isTTY: true }, 'x', 'red'), 'x');
    } finally {
      process.env.NO_COLOR = saved.NO_COLOR;
      process.env.FORCE_COLOR = saved.FORCE_COLOR;
      if (saved.NO_COLOR === undefined) delete process.env.NO_COLOR;
      if (saved.FORCE_COLOR === undefined) delete process.env.FORCE_COLOR;
    }
  });
});
