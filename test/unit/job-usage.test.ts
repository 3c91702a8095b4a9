// The usage= line of a record (job/usage.ts): the job can write the file it comes from, so only the
// wrapper's own form is read; anything else is every field null, never a crash, a guess or a steer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordJson } from '../../src/cli/commands/show.js';
import { JOB_OUTPUT_SCHEMA } from '../../src/job/output.js';
import { toJobRecord } from '../../src/job/record.js';
import { describeUsage, NO_USAGE, parseUsage } from '../../src/job/usage.js';

describe('the usage record', () => {
  it("reads the wrapper's forms: GNU time's, the shell's times (no RSS), none", () => {
    assert.deepEqual(parseUsage('time 52428800 1.02 0.03 1.10'), { max_rss_bytes: 52428800, cpu_user_s: 1.02, cpu_sys_s: 0.03, wall_s: 1.1, source: 'time' });
    assert.deepEqual(parseUsage('times - 62.030000 0.010000 63.00'), { max_rss_bytes: null, cpu_user_s: 62.03, cpu_sys_s: 0.01, wall_s: 63, source: 'times' });
    assert.deepEqual(parseUsage('- - - - 0.50'), { ...NO_USAGE, wall_s: 0.5 });
    assert.equal(parseUsage(undefined), undefined, 'no record: a job that has not ended');
  });

  it("reads the slurm plugin's line from sacct (lib/sacct.sh), and names its source", () => {
    const u = parseUsage('sacct 101797888 0.625 0.290 1.000');
    assert.deepEqual(u, { max_rss_bytes: 101797888, cpu_user_s: 0.625, cpu_sys_s: 0.29, wall_s: 1, source: 'sacct' });
    assert.equal(describeUsage(u), 'max RSS 97.1 MiB, CPU 0.625 s user + 0.29 s system, wall 1 s (sacct)');
    assert.deepEqual(parseUsage('sacct 2147483648 86401.500 600.250 -'), { max_rss_bytes: 2147483648, cpu_user_s: 86401.5, cpu_sys_s: 600.25, wall_s: null, source: 'sacct' });
  });

  it('takes any other line for a record the wrapper did not write: every field null', () => {
    const hostile = [
      '',
      'time',
      'time 1 2 3',
      'time 1 2 3 4 5',
      'time  1 2 3 4',
      'time -1 0.1 0.1 1',
      'time 1e9 0.1 0.1 1',
      'time 0x10 0.1 0.1 1',
      'time 99999999999999999 0.1 0.1 1', // over a petabyte
      'time 1 NaN 0.1 1',
      'time 1 Infinity 0.1 1',
      'time 1 99999999999 0.1 1', // over a century
      'time 1 .5 0.1 1',
      'time 1 5. 0.1 1',
      'time 1 0.1 0.1 1\u001b[2J',
      '\u001b]0;pwned\u0007 1 0.1 0.1 1',
      'proc 1 0.1 0.1 1',
      '__proto__ 1 0.1 0.1 1',
      'constructor 1 0.1 0.1 1',
      '- 1 - - 1', // a figure no source measured
      `time ${'9'.repeat(100000)} 1 1 1`,
    ];
    for (const line of hostile) assert.deepEqual(parseUsage(line), NO_USAGE, JSON.stringify(line.slice(0, 60)));
  });

  it('show prints it, and --json gives the object the schema describes, nulls before the end and for a bad record', async () => {
    const { default: Ajv } = await import('ajv');
    const ajv = new (Ajv as unknown as typeof import('ajv').default)({ strict: false, allErrors: true });
    const validate = ajv.compile(JOB_OUTPUT_SCHEMA);
    const header = { host: 'h', queue: '/q' };
    for (const [usage, expected] of [
      ['time 52428800 1.02 0.03 1.10', { max_rss_bytes: 52428800, cpu_user_s: 1.02, cpu_sys_s: 0.03, wall_s: 1.1, source: 'time' }],
      ['time 1 x 0 0', NO_USAGE],
      [undefined, NO_USAGE],
    ] as const) {
      const rec = toJobRecord({ id: 'j', state: 'finished', exit_code: '0', ...(usage ? { usage } : {}) }, header, 0)!;
      const out = recordJson('j', rec);
      assert.deepEqual(out.usage, expected);
      assert.ok(validate(out), ajv.errorsText(validate.errors));
    }
    assert.equal(describeUsage(parseUsage('time 52428800 1.02 0.03 1.10')), 'max RSS 50.0 MiB, CPU 1.02 s user + 0.03 s system, wall 1.1 s (GNU time)');
    assert.equal(describeUsage(parseUsage('times - 1.5 0 2.00')), "CPU 1.5 s user + 0 s system, wall 2 s (the shell's times)");
    assert.equal(describeUsage(parseUsage('bogus')), undefined);
  });
});
