// toJobStatus: the durations of job records.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toJobStatus } from '../../src/job/status.js';
import { jobJson } from '../../src/job/json.js';

describe('job durations', () => {
  it('counts a running job up to the remote now, an ended one up to its end', () => {
    assert.equal(toJobStatus({ id: 'a', state: 'running', start: '1000' }, 1060)!.elapsed, 60);
    assert.equal(toJobStatus({ id: 'a', state: 'finished', start: '1000', end: '1030', exit_code: '0' }, 9999)!.elapsed, 30);
    assert.equal(toJobStatus({ id: 'a', state: 'killed', start: '1000', end: '1010' }, 9999)!.elapsed, 10);
  });

  it('gives a lost job no duration: it does not grow with the time since it was lost', () => {
    const early = toJobStatus({ id: 'a', state: 'lost', start: '1000' }, 1060)!;
    const later = toJobStatus({ id: 'a', state: 'lost', start: '1000' }, 1400)!;
    assert.equal(early.elapsed, undefined);
    assert.equal(later.elapsed, undefined);
    assert.equal(jobJson('a', later).duration_s, null);
  });
});
