import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { shJoin, shQuote, shQuotePath } from '../../src/transport/quote.js';

// Prints each argument back NUL-terminated, so the test sees exactly the words the shell parsed.
function throughShell(shell: string, script: string): string[] {
  // The script goes in on stdin as raw bytes (latin1 maps characters 0-255 onto bytes one-to-one);
  // an argv string would be re-encoded as UTF-8.
  const r = spawnSync(shell, ['-s'], { input: Buffer.from(script, 'latin1'), encoding: 'latin1' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\0').slice(0, -1);
}

describe('shQuote', () => {
  it('leaves plain words alone and quotes everything else', () => {
    assert.equal(shQuote('abc-1.2_x/y'), 'abc-1.2_x/y');
    assert.equal(shQuote(''), "''");
    assert.equal(shQuote('a b'), "'a b'");
    assert.equal(shQuote("it's"), "'it'\\''s'");
  });

  it('refuses NUL, and quotes newlines (the transports send each script as one line: shLine)', () => {
    assert.throws(() => shQuote('a\0b'), /NUL/);
    assert.deepEqual(throughShell('dash', `printf '%s\\0' ${shQuote('a\nb\r')}`), ['a\nb\r']);
  });

  it('round-trips hostile words through dash unchanged', () => {
    const words = ['$(touch /tmp/pwned)', '`id`', "'; rm -rf / #", '"$HOME"', 'a\\b', '*', '~', '-n', '--', '!', '${x:-y}', ' lead', 'trail '];
    assert.deepEqual(throughShell('dash', `printf '%s\\0' ${shJoin(words)}`), words);
  });

  it('round-trips thousands of random byte strings through dash', () => {
    const words: string[] = [];
    for (let i = 0; i < 2000; i++) {
      // every byte but NUL and newline, as latin1 so that bytes map one-to-one onto characters
      const bytes = [...randomBytes(1 + (i % 24))].map((b) => (b === 0 || b === 10 || b === 13 ? 65 : b));
      words.push(Buffer.from(bytes).toString('latin1'));
    }
    for (let i = 0; i < words.length; i += 250) {
      const chunk = words.slice(i, i + 250);
      assert.deepEqual(throughShell('dash', `printf '%s\\0' ${shJoin(chunk)}`), chunk);
    }
  });

  it('expands only a leading ~/ in paths', () => {
    assert.equal(shQuotePath('~/.tej'), '"$HOME"/.tej');
    assert.equal(shQuotePath('~/a b'), `"$HOME"/'a b'`);
    assert.equal(shQuotePath('/x/~/y'), `'/x/~/y'`);
    const [home] = throughShell('dash', `HOME=/h; printf '%s\\0' ${shQuotePath('~/q $x')}`);
    assert.equal(home, '/h/q $x');
  });
});
