import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/errors.js';

describe('exit codes', () => {
  it('are the same numbers in remote-scripts/lib/common.sh and errors.ts', () => {
    const text = readFileSync(new URL('../../remote-scripts/lib/common.sh', import.meta.url), 'utf8');
    const remote = Object.fromEntries([...text.matchAll(/^EX_([A-Z]+)=(\d+)$/gm)].map((m) => [m[1]!, Number(m[2])]));
    assert.ok(Object.keys(remote).length >= 9, `found EX_* constants: ${JSON.stringify(remote)}`);
    const local: Record<string, number> = { ...EXIT, OK: EXIT.OK };
    for (const [name, code] of Object.entries(remote)) assert.equal(local[name], code, `EX_${name}`);
  });
});
