// The size rule of the client's sources (STYLE.md: one concept a file): a file of src/ over 300 lines
// says why at its top, as a helper over 250 lines does (dispatcher.test.ts).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, test } from 'node:test';

const SRC = join(import.meta.dirname, '..', '..', 'src');

function sources(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(SRC, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

describe('the sources in src/', () => {
  test('a file over 300 lines says why at its top (a // Length: line in its header comment)', () => {
    const files = sources();
    assert.ok(files.length >= 50, `found only ${files.join(' ')}`);
    for (const f of files) {
      const text = readFileSync(join(SRC, f), 'utf8');
      if (text.split('\n').length - (text.endsWith('\n') ? 1 : 0) <= 300) continue; // lines as wc -l counts them
      assert.match(text, /^(\/\/.*\n)*?\/\/ Length: over 300 lines: .+\n/, `src/${f}`);
    }
  });
});
