// The helper program and its checked read: the bytes a call runs are the bytes it checked, trailing
// newlines included, under every shell of the matrix; the program defines and runs nothing else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadBundle } from '../../src/remote/bundle.js';
import { COMMANDS, helperProgram, readChecked } from '../../src/remote/program.js';
import { SHELLS } from '../remote-scripts/_shells.js';

const dir = mkdtempSync(join(tmpdir(), 'tej-program-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sh(argv: string[], script: string) {
  const r = spawnSync(argv[0]!, [...argv.slice(1), '-c', script], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('readChecked', () => {
  const text = "echo 'it''s'; x=$((1 + 2))\n\n\n"; // trailing newlines are part of what is hashed
  const file = join(dir, 'p.sh');
  writeFileSync(file, text);
  const sum = createHash('sha256').update(text).digest('hex');
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
});
