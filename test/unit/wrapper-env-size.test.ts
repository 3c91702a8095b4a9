// The job wrapper gets the libraries' text in one environment string (TEJ_CODE_LIBS, lib/common.sh's
// wrapper_code_export; the slurm, sge and pbs batch scripts export it too). Linux refuses an exec whose
// single environment string exceeds MAX_ARG_STRLEN (128 KiB, with its name and NUL): setsid then fails
// with "Argument list too long" and every job fails before it starts. The program holds the texts
// without their comment lines (withoutCommentLines: test/unit/program-comments.test.ts proves that
// changes no helper).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { LIBS, withoutCommentLines } from '../../src/remote/program.js';

const MAX_ARG_STRLEN = 128 * 1024;
const root = join(import.meta.dirname, '..', '..', 'remote-scripts');
const size = (name: string, text: string) => Buffer.byteLength(`${name}=${text}`) + 1;

test('the texts the wrapper gets in its environment each fit in one environment string', () => {
  const libs = LIBS.map((l) => withoutCommentLines(readFileSync(join(root, l), 'utf8'))).join('\n');
  const runJob = withoutCommentLines(readFileSync(join(root, 'lib/run-job.sh'), 'utf8'));
  for (const [name, text] of [['TEJ_CODE_LIBS', libs], ['TEJ_CODE_RUN_JOB', runJob]] as const) {
    assert.ok(size(name, text) < MAX_ARG_STRLEN, `${name} is ${size(name, text)} bytes: over ${MAX_ARG_STRLEN}, no job could start`);
  }
});
