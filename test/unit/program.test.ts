// The helper program and its checked read: the bytes a call runs are the bytes it checked, trailing
// newlines included, under every shell of the matrix; the program defines and runs nothing else.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadBundle } from '../../src/remote/bundle.js';
import { COMMAND_LIBS, COMMANDS, helperProgram, readChecked } from '../../src/remote/program.js';
import { SHELLS } from '../remote-scripts/_shells.js';

const dir = mkdtempSync(join(tmpdir(), 'tej-program-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Runs SCRIPT under the shell; with TIMEOUT (seconds), under GNU timeout, which KILLs the whole process
 * group when it expires (a cat blocked on a FIFO included): timedOut says it did.
 */
function sh(argv: string[], script: string, timeout?: number) {
  const cmd = [...(timeout ? ['timeout', '-s', 'KILL', String(timeout)] : []), ...argv, '-c', script];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  // timeout KILLs its own group, itself included: it ends by the signal (124 or 137 where it survives)
  const timedOut = timeout !== undefined && (r.signal !== null || r.status === 124 || r.status === 137);
  return { code: r.status, timedOut, stdout: r.stdout, stderr: r.stderr };
}

describe('readChecked', () => {
  const text = "echo 'it''s'; x=$((1 + 2))\n\n\n"; // trailing newlines are part of what is hashed
  const file = join(dir, 'p.sh');
  writeFileSync(file, text);
  const sum = createHash('sha256').update(text).digest('hex');
  const pipe = join(dir, 'p.fifo');
  execFileSync('mkfifo', [pipe]);
  for (const { argv } of SHELLS) {
    test(`reads the file once, byte for byte, and passes only with its sha256, under ${argv.join(' ')}`, () => {
      const ok = sh(argv, `${readChecked('v', `'${file}'`, sum)} && printf '%s' "$v"`);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, text);
      const other = sh(argv, `${readChecked('v', `'${file}'`, '0'.repeat(64))} && echo ran`);
      assert.notEqual(other.code, 0);
      assert.equal(other.stdout, '');
      const missing = sh(argv, `${readChecked('v', `'${file}.none'`, sum)} && echo ran`);
      assert.notEqual(missing.code, 0);
      // a FIFO in the file's place (a job can make one) fails at once: cat would wait on it
      const fifo = sh(argv, `${readChecked('v', `'${pipe}'`, sum)} && echo ran`, 20);
      assert.equal(fifo.timedOut, false, 'without waiting on the FIFO');
      assert.notEqual(fifo.code, 0);
    });
  }
});

describe('readChecked with the helpers alongside', () => {
  const text = 'echo program\n';
  const sum = createHash('sha256').update(text).digest('hex');
  const q = join(dir, 'q');
  mkdirSync(join(q, 'lib'), { recursive: true });
  writeFileSync(join(q, 'program.sh'), text);
  const helpers = { 'lib/a.sh': 'a=1\n', 'b b.sh': 'b=2\n' };
  for (const [path, data] of Object.entries(helpers)) writeFileSync(join(q, path), data);
  execFileSync('mkfifo', [join(q, 'lib', 'fifo.sh')]);
  const lines = Object.entries(helpers).map(([path, data]) => `${createHash('sha256').update(data).digest('hex')}  ${path}`);
  // sha256sum behind a shim that counts its runs: the whole check is one program
  const shims = join(dir, 'shims');
  mkdirSync(shims, { recursive: true });
  writeFileSync(join(shims, 'sha256sum'), `#!/bin/sh\necho run >> '${join(dir, 'runs')}'\nexec /usr/bin/sha256sum "$@"\n`, { mode: 0o755 });
  const check = (l: string[]) => `PATH='${shims}':$PATH; Q='${q}'; ${readChecked('v', '"$Q/program.sh"', sum, { dir: '"$Q"', lines: l })} && printf '%s' "$v"`;
  for (const { argv } of SHELLS) {
    test(`checks the program and every helper in one run of sha256sum, under ${argv.join(' ')}`, () => {
      rmSync(join(dir, 'runs'), { force: true });
      const ok = sh(argv, check(lines));
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, text);
      assert.equal(readFileSync(join(dir, 'runs'), 'utf8'), 'run\n');
      const changed = sh(argv, check([lines[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0')), lines[1]!]));
      assert.notEqual(changed.code, 0, 'a helper whose hash differs fails the check');
      assert.equal(changed.stdout, '');
      const missing = sh(argv, check([...lines, `${'0'.repeat(64)}  lib/none.sh`]));
      assert.notEqual(missing.code, 0, 'a missing helper fails the check');
      // a FIFO in a helper's place (a job can make one) fails it at once: sha256sum would wait on it
      const fifo = sh(argv, check([...lines, `${'0'.repeat(64)}  lib/fifo.sh`]), 20);
      assert.notEqual(fifo.code, 0, 'a FIFO fails the check');
      assert.equal(fifo.timedOut, false, 'without waiting on the FIFO');
    });
  }
});

describe('helperProgram', () => {
  test('defines the dispatcher, every command and plugin, and runs nothing when evaluated', async () => {
    const program = helperProgram(await loadBundle());
    assert.equal(program.sha256, createHash('sha256').update(program.text).digest('hex'));
    writeFileSync(join(dir, 'prog.sh'), program.text);
    for (const { argv } of SHELLS) {
      const again = sh(argv, `p=$(cat '${join(dir, 'prog.sh')}'); out=$(eval "$p" 2>&1); printf '[%s]' "$out"; eval "$p"; for f in tej_libs tej_remote tej_plugin_known tej_plugin ${COMMANDS.map((c) => `tej_cmd_${c}`).join(' ')}; do command -v "$f" >/dev/null || echo "missing $f"; done; tej_plugin_known direct && tej_plugin_known slurm && ! tej_plugin_known evil && echo known`);
      assert.equal(again.code, 0, `${argv.join(' ')}: ${again.stderr}`);
      assert.equal(again.stdout, '[]known\n', argv.join(' '));
    }
  });

  test("gives the wrapper libraries that fit in one environment string (128 KiB on Linux), the commands' own apart", async () => {
    const program = helperProgram(await loadBundle());
    writeFileSync(join(dir, 'prog-size.sh'), program.text);
    // a Slurm job whose TEJ_CODE_LIBS was larger failed at its batch script's exec: E2BIG
    const libs = COMMAND_LIBS.map((n) => `command -v tej_lib_${n}; `).join('');
    const r = sh(['/bin/sh'], `eval "$(cat '${join(dir, 'prog-size.sh')}')"; printf '%s' "$tej_text_libs" | wc -c; printf '%s' "$tej_text_libs" | grep -c sacct_usage_parse; ${libs}`);
    const [bytes, inLibs, ...defined] = r.stdout.trim().split('\n');
    assert.ok(Number(bytes) < 128 * 1024, `tej_text_libs is ${bytes} bytes`);
    assert.equal(inLibs, '0', "lib/sacct.sh is not the wrapper's");
    assert.deepEqual(defined, COMMAND_LIBS.map((n) => `tej_lib_${n}`));
  });
});
