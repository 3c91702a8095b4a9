// The job wrapper gets the libraries' text in one environment string (TEJ_CODE_LIBS, lib/common.sh's
// wrapper_code_export; the slurm, sge and pbs batch scripts export it too). Linux refuses an exec whose
// single environment string exceeds MAX_ARG_STRLEN (128 KiB, with its name and NUL): setsid then fails
// with "Argument list too long" and every job fails before it starts. The program sends that text
// without its comment lines (withoutCommentLines), which must change no function and no variable.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LIBS, withoutCommentLines } from '../../src/remote/program.js';

const MAX_ARG_STRLEN = 128 * 1024;
const root = join(import.meta.dirname, '..', '..', 'remote-scripts');
const size = (name: string, text: string) => Buffer.byteLength(`${name}=${text}`) + 1;
const libs = LIBS.map((l) => readFileSync(join(root, l), 'utf8')).join('\n');

test('the texts the wrapper gets in its environment each fit in one environment string', () => {
  const runJob = readFileSync(join(root, 'lib/run-job.sh'), 'utf8');
  for (const [name, text] of [['TEJ_CODE_LIBS', withoutCommentLines(libs)], ['TEJ_CODE_RUN_JOB', runJob]] as const) {
    assert.ok(size(name, text) < MAX_ARG_STRLEN, `${name} is ${size(name, text)} bytes: over ${MAX_ARG_STRLEN}, no job could start`);
  }
});

/** bash's own print of the functions and the variables TEXT (on stdin: it is too long for an argument) defines: comments are not in it, strings are. */
function definitions(text: string): string {
  const script = 'TEXT=$(cat; echo x); TEXT=${TEXT%x}; before=$(compgen -v); tej_in_memory=1; eval "$TEXT"; declare -f; for v in $(compgen -v); do case " $before " in *" $v "*) ;; *) declare -p "$v" 2>/dev/null ;; esac; done';
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { env: { PATH: process.env.PATH }, input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => !/^declare -[-a-zA-Z]* (before|v|TEXT|BASH[A-Z_]*|EPOCH[A-Z]*|S?RANDOM|SECONDS|LINENO)=/.test(l)).join('\n');
}

test('the libraries without their comment lines define the same functions and variables', () => {
  const stripped = withoutCommentLines(libs);
  assert.ok(stripped.length < libs.length * 0.7, `${stripped.length} of ${libs.length} bytes: the comments were not taken out`);
  const original = definitions(libs);
  assert.match(original, /^job_state_into \(\)/m);
  assert.equal(definitions(stripped), original);
});

test('a comment line inside a quoted string would change the definitions (the check can fail)', () => {
  const text = "f() {\n\tprintf '%s\\n' 'one\n# two'\n}\n";
  assert.notEqual(definitions(withoutCommentLines(text)), definitions(text));
});
