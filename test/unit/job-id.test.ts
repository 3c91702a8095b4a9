import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidInputError } from '../../src/errors.js';
import { checkJobId, defaultJobId, JOB_ID_PATTERN } from '../../src/job/id.js';

describe('job ids', () => {
  it('accepts the documented pattern', () => {
    for (const id of ['a', 'run-1', 'exp_2.3', 'A'.repeat(128), '0abc']) assert.equal(checkJobId(id), id);
  });

  it('refuses ids that could hurt a shell or a path, with exit code 65', () => {
    for (const id of ['a;b', '$(id)', '`id`', "a'b", 'a"b', 'a b', 'a\nb', '..', 'a..b', '-rf', '.hidden', '', 'a/b', 'A'.repeat(129), 'é']) {
      assert.throws(() => checkJobId(id), (e: unknown) => e instanceof InvalidInputError && e.exitCode === 65, id);
    }
  });

  it('makes default ids <dirname>_<user>_<random> that pass the check', () => {
    const id = defaultJobId('/tmp/my job!', 'bob smith');
    assert.match(id, /^my-job_bob-smith_[A-Za-z0-9]{8}$/);
    assert.ok(JOB_ID_PATTERN.test(id));
    assert.notEqual(defaultJobId('/x/y', 'u'), defaultJobId('/x/y', 'u'));
    assert.doesNotThrow(() => checkJobId(defaultJobId('/x/..weird..', '-root')));
  });
});
