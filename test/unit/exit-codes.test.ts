// One table of exit codes on each side (errors.ts, lib/common.sh) and one in the README: all three agree,
// in both directions; a helper's exit code comes out as the same code; and the status codes agree with
// the README's table of states.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { STATUS_EXIT } from '../../src/job/status.js';
import { EXIT } from '../../src/errors.js';
import { remoteError } from '../../src/protocol/exit-codes.js';

/** Codes only the client gives: a bug, a bad config file, an interrupt, a SIGTERM. */
const CLIENT_ONLY = new Set(['SOFTWARE', 'CONFIG', 'INTERRUPTED', 'TERMINATED']);

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The codes of the two-column-pair table that follows `heading` in the README: `| 0 | ok | 70 | bug |`. */
function readmeCodes(after: string): Map<number, string> {
  const start = readme.indexOf(after);
  assert.ok(start >= 0, `README has '${after}'`);
  const rows = readme.slice(start).split('\n').slice(1);
  const table = rows.slice(rows.findIndex((l) => l.startsWith('|')));
  const codes = new Map<number, string>();
  for (const line of table) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    for (let i = 0; i + 1 < cells.length; i += 2) if (/^\d+$/.test(cells[i]!)) codes.set(Number(cells[i]), cells[i + 1]!);
  }
  return codes;
}

describe('exit codes', () => {
  it('are the same names and numbers in remote-scripts/lib/common.sh and errors.ts, both ways', () => {
    const text = readFileSync(new URL('../../remote-scripts/lib/common.sh', import.meta.url), 'utf8');
    const remote = Object.fromEntries([...text.matchAll(/^EX_([A-Z]+)=(\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    const shared = Object.fromEntries(Object.entries(EXIT).filter(([name]) => !CLIENT_ONLY.has(name)));
    assert.deepEqual(remote, shared);
  });

  it('a helper exits with come out as errors with the same code', () => {
    const text = readFileSync(new URL('../../remote-scripts/lib/common.sh', import.meta.url), 'utf8');
    const codes = [...text.matchAll(/^EX_([A-Z]+)=(\d+)$/gm)].map((m) => Number(m[2])).filter((code) => code !== EXIT.OK);
    assert.ok(codes.length > 5);
    for (const code of codes) {
      const e = remoteError('alice@hpc', { command: 'tej-remote status x', code, stderr: 'tej-remote: it failed\n' }, 'status');
      assert.equal(e.exitCode, code, `${e.name} for ${code}`);
      assert.equal(e.message, 'it failed (on alice@hpc)', 'the helper\'s message, without a tej: prefix (the CLI adds it)');
    }
  });

  it("are each in the README's table, and the table holds no other", () => {
    const documented = [...readmeCodes('## Errors & exit codes').keys()].sort((a, b) => a - b);
    const defined = [...new Set(Object.values(EXIT))].sort((a, b) => a - b);
    assert.deepEqual(documented, defined);
  });

  it("of tej status are those of the README's table of states", () => {
    const table = readmeCodes('`tej status` and `tej wait` exit with the state of the job');
    const documented = [...table.keys()].sort((a, b) => a - b);
    const defined = [...new Set(Object.values(STATUS_EXIT))].sort((a, b) => a - b);
    assert.deepEqual(documented, defined);
    for (const [state, code] of Object.entries(STATUS_EXIT)) {
      const words = state === 'failed' ? 'non-zero' : state === 'absent' ? 'no such job' : state;
      assert.match(table.get(code)!, new RegExp(words), `README row of ${code} names ${state}`);
    }
  });
});
