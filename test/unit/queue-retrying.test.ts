// Queue.retrying, the retry of a call safe to repeat after a broken connection: its first attempt runs
// outside p-retry (a warm call's client CPU), and must keep p-retry's behaviour: the same retry events,
// a new connection before the next attempt, non-retryable errors thrown as they are. Pure logic: the
// transports are stand-ins that only count.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionError, UsageError } from '../../src/errors.js';
import type { TejEvent } from '../../src/events.js';
import { Queue } from '../../src/queue.js';
import type { Transport } from '../../src/transport/transport.js';

function fakeTransport(label: string, closed: string[]): Transport {
  return {
    label,
    run: () => Promise.reject(new Error('not used')),
    close: async () => void closed.push(label),
  };
}

function queue() {
  const closed: string[] = [];
  const events: TejEvent[] = [];
  let opened = 0;
  const q = new Queue(fakeTransport('first', closed), '~/.tej', (e) => events.push(e), async () => fakeTransport(`reopened-${++opened}`, closed));
  const retrying = <T>(what: string, fn: () => Promise<T>): Promise<T> => (q as unknown as { retrying: (w: string, f: () => Promise<T>) => Promise<T> }).retrying(what, fn);
  return { q, closed, events, retrying };
}

describe('Queue.retrying', () => {
  test('a call that succeeds runs once, on the transport it has, with no event', async () => {
    const { q, closed, events, retrying } = queue();
    let calls = 0;
    assert.equal(await retrying('status', async () => ++calls), 1);
    assert.equal(calls, 1);
    assert.deepEqual([q.transport.label, closed, events], ['first', [], []]);
  });

  test('a broken connection: one retry event, a new connection, then the call again, which answers', async () => {
    const { q, closed, events, retrying } = queue();
    const on: string[] = [];
    const r = await retrying('status', async () => {
      on.push(q.transport.label);
      if (on.length === 1) throw new ConnectionError('connection to alice@h1 broke');
      return 'answer';
    });
    assert.equal(r, 'answer');
    assert.deepEqual(on, ['first', 'reopened-1']);
    assert.deepEqual(closed, ['first']);
    assert.deepEqual(
      events.map((e) => (e.kind === 'retry' ? [e.kind, e.attempt, e.error] : [e.kind])),
      [['retry', 1, 'status: connection to alice@h1 broke']],
    );
    // the next call runs on the new connection, once
    let again = 0;
    await retrying('status', async () => ++again);
    assert.deepEqual([again, q.transport.label, closed.length], [1, 'reopened-1', 1]);
  });

  test('an error that is not retryable is thrown as it is, after one attempt', async () => {
    const { q, closed, events, retrying } = queue();
    const error = new UsageError('bad id');
    let calls = 0;
    await assert.rejects(
      retrying('status', async () => {
        calls++;
        throw error;
      }),
      (e) => e === error,
    );
    assert.deepEqual([calls, q.transport.label, closed, events], [1, 'first', [], []]);
  });
});
