// The job wrapper gets the libraries', the wrapper's and the direct plugin's texts in environment strings
// (lib/common.sh's wrapper_code_export; the slurm, sge and pbs batch scripts export them too). Linux
// refuses an exec whose single environment string exceeds MAX_ARG_STRLEN (128 KiB, with its name and
// NUL): setsid then fails with "Argument list too long" and every job fails before it starts. The texts
// are the program's own (wrapperTexts, without their comment lines: test/unit/program-comments.test.ts
// proves that changes no helper).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadBundle } from '../../src/remote/bundle.js';
import { helperProgram, wrapperTexts } from '../../src/remote/program.js';
import { shQuote } from '../../src/transport/quote.js';

const MAX_ARG_STRLEN = 128 * 1024;
const size = (name: string, text: string) => Buffer.byteLength(`${name}=${text}`) + 1;

test('the texts the wrapper gets in its environment each fit in one environment string', async () => {
  const bundle = await loadBundle();
  const texts = wrapperTexts(bundle);
  assert.deepEqual(Object.keys(texts).sort(), ['TEJ_CODE_DIRECT', 'TEJ_CODE_LIBS', 'TEJ_CODE_RUN_JOB']);
  for (const [name, text] of Object.entries(texts)) {
    assert.ok(size(name, text) < MAX_ARG_STRLEN, `${name} is ${size(name, text)} bytes: over ${MAX_ARG_STRLEN}, no job could start`);
  }
  // they are what the program hands on (tej_text_* in lib/common.sh's wrapper_code_export)
  const program = helperProgram(bundle).text;
  for (const [variable, text] of [['tej_text_libs', texts.TEJ_CODE_LIBS], ['tej_text_run_job', texts.TEJ_CODE_RUN_JOB], ['tej_text_direct', texts.TEJ_CODE_DIRECT]] as const) {
    assert.ok(program.includes(`\n${variable}=${shQuote(text)}\n`), `the program sets ${variable} to wrapperTexts' text`);
  }
});
