// The helper program holds every helper without its comment lines (withoutCommentLines), which must
// change no helper: bash's own print of a function (`declare -f`) has no comments in it and every string
// and here-document byte for byte, so each helper parsed as a function body prints the same stripped
// as it does from its file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { loadBundle, type Bundle } from '../../src/remote/bundle.js';
import { helperProgram, withoutCommentLines } from '../../src/remote/program.js';
import { sessionLoadScript } from '../../src/remote/session.js';

/** bash's print of TEXT parsed as the body of a function (TEXT on stdin: it is too long for an argument). */
function printed(text: string): string {
  const script = 'TEXT=$(cat; echo x); TEXT=${TEXT%x}; eval "tej_helper() {\n$TEXT\n}" && declare -f tej_helper';
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { env: { PATH: process.env.PATH }, input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** The bundle's helpers: its shell files, which the program holds (lib/session.sh goes apart, in a session's load). */
const helpersOf = (bundle: Bundle) => bundle.files.filter((f) => f.path === 'tej-remote' || f.path.endsWith('.sh'));

test('every helper without its comment lines is the same function to bash', async () => {
  const helpers = helpersOf(await loadBundle());
  assert.ok(helpers.length > 40, `${helpers.length} helpers`);
  for (const f of helpers) {
    const text = f.data.toString();
    const stripped = withoutCommentLines(text);
    assert.ok(stripped.length <= text.length);
    assert.equal(printed(stripped), printed(text), `${f.path}: taking out its comment lines changed it`);
  }
});

test('a here-document keeps its lines that start with #', () => {
  const text = "f() {\n\tcat <<'EOF'\n#!/bin/sh\n# a batch script's comment\nEOF\n\t# a comment\n\tcat <<-X\n\t# tabbed\n\tX\n}\n";
  const stripped = withoutCommentLines(text);
  assert.equal(stripped, "f() {\n\tcat <<'EOF'\n#!/bin/sh\n# a batch script's comment\nEOF\n\tcat <<-X\n\t# tabbed\n\tX\n}\n");
  assert.equal(printed(stripped), printed(text));
  // what the check catches: a stripper blind to here-documents
  assert.notEqual(printed(text.replace(/^[ \t]*#.*\n/gm, '')), printed(text));
});

test('a comment line inside a quoted string would change the function (the check can fail)', () => {
  const text = "\tprintf '%s\\n' 'one\n# two\nthree'\n";
  assert.notEqual(printed(withoutCommentLines(text)), printed(text));
});

test('the program is the helpers without their comments, batch scripts whole', async () => {
  const bundle = await loadBundle();
  const { text } = helperProgram(bundle);
  const sources = helpersOf(bundle).reduce((n, f) => n + f.data.length, 0);
  assert.ok(text.length < sources * 0.7, `${text.length} bytes of ${sources}: the comments were not taken out`);
  assert.match(text, /^#!\/bin\/sh$/m);
  assert.match(text, /^# tej batch script: runs the tej job wrapper in the Slurm allocation$/m);
});

test("a session's load sends lib/session.sh without its comment lines too", async () => {
  const bundle = await loadBundle();
  const load = sessionLoadScript(bundle);
  const comments = bundle.files.find((f) => f.path === 'lib/session.sh')!.data.toString().split('\n').filter((l) => /^[ \t]*#/.test(l) && !l.startsWith('#!')); // (#!/bin/sh is a batch script's too)
  assert.ok(comments.length > 5, `${comments.length} comment lines in lib/session.sh`);
  assert.deepEqual(comments.filter((l) => load.split('\n').includes(l)), []);
});
