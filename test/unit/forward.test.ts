// The forward's own logic with fake queue calls: port specs, node names, the wait for a queued job, a
// refusal for an ended one, the end with the job, and close(). The tunnel is a real TCP connection to a
// local echo server (the integration tests use the real sshd).
import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { InvalidInputError, JobNotFoundError, RemoteUnavailableError } from '../../src/errors.js';
import type { TejEvent } from '../../src/events.js';
import { checkNode, parseForwardSpec } from '../../src/job/forward.js';
import { forwardJob, type ForwardCalls } from '../../src/job/forward-job.js';
import type { JobStatus } from '../../src/job/status.js';

describe('parseForwardSpec', () => {
  it('reads PORT, LOCAL:PORT and 0:PORT', () => {
    assert.deepEqual(parseForwardSpec('8888'), { local: 8888, remote: 8888 });
    assert.deepEqual(parseForwardSpec('9000:8888'), { local: 9000, remote: 8888 });
    assert.deepEqual(parseForwardSpec('0:6006'), { local: 0, remote: 6006 });
  });
  it('refuses what is not a port', () => {
    for (const bad of ['0', '65536', 'x', '', '1:2:3', '80:0', '-1', '8888 ', ':80', 'host:80']) {
      assert.throws(() => parseForwardSpec(bad), InvalidInputError, bad);
    }
  });
});

describe('checkNode', () => {
  it('takes host names and addresses, nothing else', () => {
    for (const good of ['127.0.0.1', 'c01', 'node-3.cluster', '::1']) assert.equal(checkNode(good, 'h', 'j'), good);
    for (const bad of [undefined, '', '-oProxyCommand=x', 'a b', 'a\nb', 'x;y']) assert.throws(() => checkNode(bad, 'h', 'j'), bad);
  });
});

describe('forwardJob', () => {
  let echo: Server;
  let echoPort: number;
  before(async () => {
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    echoPort = (echo.address() as AddressInfo).port;
  });
  after(() => echo.close());

  /** Fake calls: `states` are what the where helper says in turn (the last repeated); status says `now.state`. */
  const calls = (states: string[], events: TejEvent[] = []) => {
    let asked = 0;
    const now = { state: 'running' };
    const tunnel = (node: string) =>
      new Promise<Duplex>((resolve, reject) => {
        const s = connect({ host: node, port: echoPort });
        s.once('connect', () => resolve(s)).once('error', reject);
      });
    const c: ForwardCalls = {
      host: 'h',
      onEvent: (e: TejEvent) => events.push(e),
      // the where helper's reply: the state, and the node while the job runs
      call: async () => {
        const state = states[Math.min(asked++, states.length - 1)]!;
        const header: Record<string, string> = state === 'running' ? { state, node: '127.0.0.1' } : { state };
        return { result: { code: 0, stdout: Buffer.alloc(0), stderr: '' }, reply: { proto: 1, header, records: [] } };
      },
      status: async () => ({ state: now.state }) as JobStatus,
      transport: () => ({ tunnel }),
    };
    return Object.assign(c, { now });
  };

  const roundTrip = (port: number, text: string) =>
    new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => s.end(text));
      let got = '';
      s.on('data', (d) => (got += d)).on('end', () => resolve(got)).on('error', reject);
    });

  it('waits while the job is queued, forwards once it runs, ends when it ends', async () => {
    const events: TejEvent[] = [];
    const q = calls(['queued', 'queued', 'running'], events);
    const fwd = await forwardJob(q, 'j', ['0:1234'], { pollMs: 10 });
    assert.equal(events.filter((e) => e.kind === 'forward-waiting').length, 1, 'told once');
    assert.equal(fwd.node, '127.0.0.1');
    assert.equal(fwd.ports[0]!.remotePort, 1234);
    assert.equal(await roundTrip(fwd.ports[0]!.localPort, 'ping'), 'ping');
    q.now.state = 'killed';
    assert.deepEqual(await fwd.ended, { reason: 'job-ended', state: 'killed' });
    await assert.rejects(roundTrip(fwd.ports[0]!.localPort, 'x'), /ECONNREFUSED/);
  });

  it('close() ends it and frees the port', async () => {
    const fwd = await forwardJob(calls(['running']), 'j', ['0:1'], { pollMs: 10 });
    await fwd.close();
    assert.deepEqual(await fwd.ended, { reason: 'closed' });
    await assert.rejects(roundTrip(fwd.ports[0]!.localPort, 'x'), /ECONNREFUSED/);
  });

  it('refuses an ended job, a missing one, and a local port in use', async () => {
    await assert.rejects(forwardJob(calls(['finished']), 'j', ['0:1']), RemoteUnavailableError);
    await assert.rejects(forwardJob(calls(['absent']), 'j', ['0:1']), JobNotFoundError);
    await assert.rejects(forwardJob(calls(['running']), 'j', [`${echoPort}:1`]), /local port \d+ is in use/);
  });
});
