// Job records as the helpers report them: what the client refuses, what it reads as "none", durations.
import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import { describeStatus, toJobStatus } from '../../src/job/status.js';
import { jobOutput } from '../../src/job/output.js';

test('an unknown state word from the host is a protocol error (76), not a lost job', () => {
  assert.throws(() => toJobStatus({ id: 'j', state: 'exploded' }, 100), (e: unknown) => e instanceof ProtocolError && e.exitCode === 76 && /unknown state "exploded" for job j/.test(e.message));
  assert.throws(() => toJobStatus({ id: 'j' }, 100), ProtocolError);
  assert.equal(toJobStatus({ id: 'j', state: 'lost' }, 100)?.state, 'lost');
  assert.equal(toJobStatus({ id: 'j', state: 'absent' }, 100), undefined);
});

test("native_state '-' (the plugin has no word for the job) is null in JSON, not \"-\"", () => {
  const s = toJobStatus({ id: 'j', state: 'finished', exit_code: '0', native_state: '-' }, 100);
  assert.equal(s?.nativeState, undefined);
  assert.equal(jobOutput('j', s).native_state, null);
  assert.equal(toJobStatus({ id: 'j', state: 'lost', native_state: 'NODE_FAIL' }, 100)?.nativeState, 'NODE_FAIL');
});

test("reason: 'memory' (the wrapper's word for an OOM kill by the job's cgroup) is kept; any other word is none", () => {
  const s = toJobStatus({ id: 'j', state: 'finished', exit_code: '137', reason: 'memory' }, 100);
  assert.equal(s?.reason, 'memory');
  assert.equal(jobOutput('j', s).reason, 'memory');
  assert.match(describeStatus(s), /^finished \(exit 137\) \[memory limit\]$/);
  const forged = toJobStatus({ id: 'j', state: 'finished', exit_code: '1', reason: 'cosmic rays' }, 100);
  assert.equal(forged?.reason, undefined);
  assert.equal(jobOutput('j', forged).reason, null);
  assert.equal(describeStatus(forged), 'finished (exit 1)');
});

describe('job durations', () => {
  it('counts a running job up to the remote now, an ended one up to its end', () => {
    assert.equal(toJobStatus({ id: 'a', state: 'running', start: '1000' }, 1060)!.elapsed, 60);
    assert.equal(toJobStatus({ id: 'a', state: 'finished', start: '1000', end: '1030', exit_code: '0' }, 9999)!.elapsed, 30);
    assert.equal(toJobStatus({ id: 'a', state: 'killed', start: '1000', end: '1010' }, 9999)!.elapsed, 10);
  });

  it("takes a running record's own now (status and list) before the header's", () => {
    assert.equal(toJobStatus({ id: 'a', state: 'running', start: '1000', now: '1090' }, 1060)!.elapsed, 90);
    assert.equal(toJobStatus({ id: 'a', state: 'running', start: '1000', now: 'soon' }, 1060)!.elapsed, 60);
  });

  it('gives a lost job no duration: it does not grow with the time since it was lost', () => {
    const early = toJobStatus({ id: 'a', state: 'lost', start: '1000' }, 1060)!;
    const later = toJobStatus({ id: 'a', state: 'lost', start: '1000' }, 1400)!;
    assert.equal(early.elapsed, undefined);
    assert.equal(later.elapsed, undefined);
    assert.equal(jobOutput('a', later).duration_s, null);
  });
});
