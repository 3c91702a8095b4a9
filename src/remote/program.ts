// The helper program: every helper of the bundle as one shell script of definitions, installed as
// `program.sh` beside the helpers. A call reads that file into memory once, checks the bytes it read
// against this client's own hash of them, and runs what it checked: a job (which runs as the queue's
// user and can rewrite any file of the queue) that edits a helper or the program while a call runs
// cannot get its code run, as it could between a check of the files and a later read of them. The
// session fast path sends the same text from the client instead (src/remote/session.ts).
//
// What runs detached (the job wrapper, a Slurm batch script) gets its code from this text too, not from
// lib/run-job.sh on disk (docs/protocol.md, "The helper program").
import { createHash } from 'node:crypto';
import type { Bundle } from './bundle.js';
import { builtFor } from './built.js';
import { shQuote } from '../transport/quote.js';

/** The installed program's name, in the queue directory. */
export const PROGRAM_FILE = 'program.sh';

/** The libraries, in the order a helper sources them from files: all of them are tej_libs in the program. */
export const LIBS = ['lib/common.sh', 'lib/proc.sh', 'lib/state.sh', 'lib/answers.sh', 'lib/after.sh', 'lib/webhook.sh', 'lib/record.sh', 'lib/kill.sh', 'lib/limits.sh', 'lib/cgroup.sh', 'lib/scope.sh', 'lib/gpus.sh', 'lib/usage.sh', 'lib/container.sh', 'lib/array.sh', 'lib/array-kill.sh', 'lib/slurm-array.sh'] as const;

/**
 * Libraries only commands use, never the job's wrapper: each a function tej_lib_<name> of the program
 * (lib/NAME.sh), which load_lib (lib/common.sh) runs. They stay out of tej_text_libs, which travels to
 * the wrapper as one environment string: at most 128 KiB on Linux.
 */
export const COMMAND_LIBS = ['batch', 'gridengine', 'pbsarray', 'sacct', 'store'] as const;

/** The commands of the dispatcher, each a function tej_cmd_<name> of the program. */
export const COMMANDS = ['delete', 'download', 'exec', 'fetch', 'files', 'kill', 'list', 'logs', 'resubmit', 'setup', 'show', 'status', 'store', 'submit', 'where', 'claim'] as const;

/** The helper at PATH of the bundle without its comment lines (withoutCommentLines), as the program holds it. */
export function helperText(bundle: Bundle, path: string): string {
  const f = bundle.files.find((x) => x.path === path);
  if (!f) throw new Error(`the helper bundle has no ${path}`);
  return withoutCommentLines(f.data.toString());
}

/**
 * TEXT without its comment lines (first non-blank character `#`), here-documents kept whole: a batch
 * script's `#!/bin/sh` and `#SBATCH` lines are its text. Every call reads, hashes and parses the whole
 * program on the host (dash reads a command substitution 128 bytes at a time), and the libraries' text
 * travels to each job's wrapper as one environment string, which Linux caps at 128 KiB (MAX_ARG_STRLEN);
 * a third of the helpers is comments. No helper has a line that starts with `#` inside a quoted string:
 * test/unit/program-comments.test.ts proves every stripped helper defines the same as its file.
 */
export function withoutCommentLines(text: string): string {
  const kept: string[] = [];
  const pending: { word: string; tabs: boolean }[] = []; // here-documents opened, in order
  for (const line of text.split('\n')) {
    const doc = pending[0];
    if (doc) {
      kept.push(line);
      if ((doc.tabs ? line.replace(/^\t+/, '') : line) === doc.word) pending.shift();
      continue;
    }
    if (/^[ \t]*#/.test(line)) continue;
    kept.push(line);
    for (const m of line.matchAll(/<<(-?)[ \t]*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/g)) pending.push({ word: m[3] as string, tabs: m[1] === '-' });
  }
  return kept.join('\n');
}

/** The bundle's plugins (queues/NAME.sh), sorted. */
export function bundlePlugins(bundle: Bundle): string[] {
  return bundle.files
    .map((f) => /^queues\/([a-z][a-z0-9_-]{0,31})\.sh$/.exec(f.path)?.[1])
    .filter((p): p is string => p !== undefined)
    .sort();
}

/**
 * The texts the detached wrapper gets in its environment, by variable (lib/common.sh
 * wrapper_code_export; the slurm, sge and pbs batch scripts export them too): the libraries, the
 * wrapper, and the direct plugin (a task's wrapper starts the array's next task, lib/array.sh). The
 * program holds each in a variable (tej_text_libs, tej_text_run_job, tej_text_direct).
 */
export function wrapperTexts(bundle: Bundle): { TEJ_CODE_LIBS: string; TEJ_CODE_RUN_JOB: string; TEJ_CODE_DIRECT: string } {
  return {
    TEJ_CODE_LIBS: LIBS.map((l) => helperText(bundle, l)).join('\n'),
    TEJ_CODE_RUN_JOB: helperText(bundle, 'lib/run-job.sh'),
    TEJ_CODE_DIRECT: helperText(bundle, 'queues/direct.sh'),
  };
}

const programs = new WeakMap<Bundle, { text: string; sha256: string }>();

/**
 * The program: `tej_in_memory=1` (the helpers' file-mode `. "$TEJ_ROOT/lib/..."` lines are skipped
 * when it is set); the texts of the libraries and of the wrapper in variables (tej_text_libs,
 * tej_text_run_job), which the plugins hand to the detached wrapper; and functions: tej_libs (the
 * libraries, run once per call), tej_remote (the dispatcher), tej_cmd_<command>, tej_plugin_<n>,
 * tej_plugin_known and tej_plugin. Defining runs nothing.
 */
export function helperProgram(bundle: Bundle): { text: string; sha256: string } {
  let p = programs.get(bundle);
  if (!p) {
    const plugins = bundlePlugins(bundle);
    const wrapper = wrapperTexts(bundle);
    const lines = [
      '# tej helper program: generated by the client from its helpers; read, checked and run whole by each call',
      'tej_in_memory=1',
      `tej_text_libs=${shQuote(wrapper.TEJ_CODE_LIBS)}`,
      `tej_text_run_job=${shQuote(wrapper.TEJ_CODE_RUN_JOB)}`,
      `tej_text_direct=${shQuote(wrapper.TEJ_CODE_DIRECT)}`,
      'eval "tej_libs() {\n$tej_text_libs\n}"',
      `tej_remote() {\n${helperText(bundle, 'tej-remote')}\n}`,
      ...COMMANDS.map((c) => `tej_cmd_${c}() {\n${helperText(bundle, `commands/${c}.sh`)}\n}`),
      ...COMMAND_LIBS.map((name) => `tej_lib_${name}() {\n${helperText(bundle, `lib/${name}.sh`)}\n}`),
      ...plugins.map((name, i) => `tej_plugin_${i}() {\n${helperText(bundle, `queues/${name}.sh`)}\n}`),
      `tej_plugin_known() {\n\tcase $1 in\n\t${plugins.map(shQuote).join(' | ') || "''"}) return 0 ;;\n\tesac\n\treturn 1\n}`,
      `tej_plugin() {\n\tcase $1 in\n${plugins.map((name, i) => `\t${shQuote(name)}) tej_plugin_${i} ;;\n`).join('')}\tesac\n}`,
    ];
    const body = `${lines.join('\n')}\n`;
    p = { text: body, sha256: createHash('sha256').update(body).digest('hex') };
    programs.set(bundle, p);
  }
  return p;
}

/** helperProgram(bundle).sha256, without building the program when the CLI's build computed it (built.ts). */
export function programSha256(bundle: Bundle): string {
  return builtFor(bundle)?.program ?? helperProgram(bundle).sha256;
}

/**
 * Shell that reads FILE into the variable VAR byte for byte (a command substitution would drop its
 * trailing newlines: the `x` keeps them) and succeeds only when FILE is a regular file and those bytes
 * have the sha256 HEX; with ALSO, only when the files of its sha256sum `lines` ("HEX  PATH", PATH
 * relative to `dir`, a quoted shell word) are regular files with those hashes too, checked in the same
 * run of the tool (one program for the whole check of a call). A host with neither sha256sum nor
 * shasum checks nothing here (it relies on VERSION's hash).
 */
export function readChecked(variable: string, file: string, hex: string, also?: { dir: string; lines: readonly string[] }): string {
  const paths = also ? also.lines.map((l) => ` ${shQuote(l.slice(66))}`).join('') : '';
  const expected = shQuote([`${hex}  -`, ...(also?.lines ?? [])].join('\n'));
  // Only regular files are read: a job can put a FIFO in the place of the program or a helper, which
  // cat or the tool would wait on for ever (test -f follows a link to what it names).
  const regular = also ? `cd ${also.dir} && for f in${paths}; do test -f "$f" || exit; done && ` : '';
  const sum = (tool: string) => `test "$(${regular}printf '%s' "$${variable}" | ${tool} -${paths} 2>/dev/null)" = ${expected}`;
  return (
    `test -f ${file} && ${variable}=$(cat ${file} 2>/dev/null && echo x) && ${variable}=\${${variable}%x} && ` +
    `if command -v sha256sum >/dev/null 2>&1; then ${sum('sha256sum')}; ` +
    `elif command -v shasum >/dev/null 2>&1; then ${sum('shasum -a 256')}; fi`
  );
}
