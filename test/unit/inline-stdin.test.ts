// A submit's tar inside the request: printf's format prints every byte back exactly, under every shell
// of the matrix (busybox reads \0 and up to four digits, the others up to three).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { printfFormat, withInlineStdin } from '../../src/protocol/invocation.js';
import { SHELLS } from '../remote-scripts/_shells.js';

describe('printfFormat', () => {
  const cases: [string, Buffer][] = [
    ['escapes next to digits', Buffer.from([0, 0x31, 0, 0, 10, 0x33, 0x34, 0x25, 0x27, 0x5c, 0xff, 0x30, 7, 0x37, 0x38])],
    ['every byte value', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
    ['random bytes', randomBytes(20_000)],
    // a format that began with `-` was an option to printf (dash: "printf: Illegal option"): 1 in
    // 256 random runs failed
    ['a leading dash', Buffer.from('-n\n-')],
    ['a leading dash and a digit', Buffer.from([0x2d, 0x31, 0x25])],
    ['a tar-like run of NULs and digits', Buffer.concat([Buffer.from('0000644\x000000000\x00'), Buffer.alloc(1024), Buffer.from('ustar\x0000')])],
  ];
  for (const { argv } of SHELLS) {
    test(`prints the bytes back exactly under ${argv.join(' ')}`, () => {
      for (const [what, data] of cases) {
        const format = printfFormat(data);
        assert.doesNotMatch(format, /[\n']/, what);
        const r = spawnSync(argv[0]!, [...argv.slice(1), '-c', `printf '${format}'`], { maxBuffer: 1 << 26 });
        assert.equal(r.status, 0, `${what}: ${r.stderr}`);
        assert.ok(Buffer.compare(r.stdout, data) === 0, what);
      }
    });
  }

  test('withInlineStdin gives the script the bytes on its stdin, in one line', () => {
    // random: in 1 of 256 runs the first byte was `-` and dash's printf refused it as an option
    const data = Buffer.concat([Buffer.from('-'), randomBytes(3000)]);
    const line = withInlineStdin('od -An -v -tx1 | tr -d " \\n"', data);
    assert.doesNotMatch(line, /\n/);
    const r = spawnSync('/usr/bin/dash', ['-c', line]);
    // how dash ended, should its output be wrong (CI round r9's empty stdout was printf's 'Illegal option')
    assert.equal(r.stdout.toString(), data.toString('hex'), `dash: status ${r.status}, signal ${r.signal}, error ${r.error?.message}, stderr ${r.stderr}`);
  });
});
