// The container= line of a show record (job/container.ts): the job can rewrite meta/container, so only
// a runtime of tej's list and a non-empty image count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeContainer, parseContainer } from '../../src/job/container.js';

test('parseContainer reads RUNTIME IMAGE, the image whole', () => {
  assert.deepEqual(parseContainer('ch-run /home/a/img/my bb'), { runtime: 'ch-run', image: '/home/a/img/my bb' });
  assert.deepEqual(parseContainer('podman localhost/bb'), { runtime: 'podman', image: 'localhost/bb' });
  assert.equal(describeContainer(parseContainer('podman localhost/bb')), 'localhost/bb (podman)');
});

test('parseContainer gives nothing for another form: unknown runtime, a path, no image, empty', () => {
  for (const bad of ['', 'ch-run', 'ch-run ', '/tmp/evil /img', 'docker img', '__proto__ x', ' ch-run /img']) {
    assert.equal(parseContainer(bad), undefined, JSON.stringify(bad));
  }
});
