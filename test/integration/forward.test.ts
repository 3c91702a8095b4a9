// tej forward against a real sshd: a job serving HTTP on a port of the host (python3 -m http.server,
// bound to the host's 127.0.0.1, which the client cannot reach) is reached through a local port, each
// connection a direct-tcpip channel of the login connection. A port nothing listens on fails that
// connection alone; the forward ends by itself when the job ends, and Ctrl-C leaves nothing listening.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { makeJob, ok, startTej, tej, waitFor } from '../helpers/cli.js';
import { useSshHost } from '../helpers/lab.js';
import { fetchText } from '../helpers/wait.js';

/** A GET through the forward: the status and body, or the error's message (the server may not listen yet). */
const get = (url: string) => fetchText(url, { withStatus: true, timeoutMs: 30_000 });

/** Whether something accepts connections on 127.0.0.1:port here. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('tej forward on a direct host', { concurrency: true }, () => {
  const sshHost = useSshHost({ jobsPrefix: 'tej-forward-', setup: true });
  const run = (args: string[]) => tej(args, { home: sshHost.home, timeoutMs: 120_000 });
  const forward = (args: string[]) => startTej(['forward', 'h1', ...args], { home: sshHost.home });

  /** Submits a job serving its work/ on the host's 127.0.0.1:PORT; resolves once it runs. */
  const submitServer = async (id: string, port: number) => {
    const dir = await makeJob(join(sshHost.jobs, id), {
      'start.sh': `printf 'served by %s\\n' "$TEJ_JOB_ID" > page.txt\nexec /usr/bin/python3 -m http.server ${port} --bind 127.0.0.1\n`,
    });
    ok(await run(['submit', 'h1', '--id', id, dir]));
    await waitFor(`${id} running`, () => run(['status', 'h1', '--id', id]), (r) => /\brunning\b/.test(r.stdout), 90_000);
  };

  it("serves the job's file through the forwarded port, survives a refused port, ends with the job", async () => {
    const id = 'fw-serve';
    await submitServer(id, 18081);
    // 0:18081 picks a free local port; 18099 has nothing listening on the host
    const f = forward(['--id', id, '--json', '0:18081', '0:18099']);
    await f.stdoutMatches(/\n$/);
    const doc = JSON.parse(f.out.stdout) as {
      node: string;
      ports: { url: string; localPort: number; remotePort: number }[];
    };
    assert.equal(doc.node, '127.0.0.1');
    assert.deepEqual(doc.ports.map((p) => p.remotePort), [18081, 18099]);
    const [served, refused] = doc.ports;
    assert.notEqual(served!.localPort, 18081);
    // the job's server may still be starting: a refused connection then is one failed request, no more
    const body = await waitFor('the page', () => get(`${served!.url}/page.txt`), (b) => b.startsWith('200'), 90_000);
    assert.equal(body, `200 served by ${id}\n`);
    const failed = await get(`${refused!.url}/`);
    assert.match(failed, /^failed/);
    await f.stderrMatches(/a forwarded connection to port 18099 failed/);
    // the forward goes on after it
    assert.equal(await get(`${served!.url}/page.txt`), `200 served by ${id}\n`);
    // several requests at once, each its own channel
    const many = await Promise.all(Array.from({ length: 8 }, () => get(`${served!.url}/page.txt`)));
    assert.deepEqual(many, Array(8).fill(`200 served by ${id}\n`));

    ok(await run(['kill', 'h1', '--id', id]));
    const r = await f.done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /job fw-serve is killed: the forward ended/);
    assert.equal(await listening(served!.localPort), false);
  });

  it('leaves nothing listening after Ctrl-C', async () => {
    const id = 'fw-int';
    await submitServer(id, 18082);
    const f = forward(['--id', id, '0:18082']);
    await f.stdoutMatches(/^http:\/\/127\.0\.0\.1:\d+\n/);
    const url = f.out.stdout.trim();
    const local = Number(new URL(url).port);
    assert.match(await waitFor('the listing', () => get(`${url}/`), (b) => b.startsWith('200'), 90_000), /page\.txt/);
    // a connection held open through the forward: on the host, sshd's connection to the job's port
    const held = connect({ host: '127.0.0.1', port: local });
    held.on('error', () => undefined);
    const toJob = () => sshHost.lab.exec('h1', ['ss', '-Htn', 'state', 'established', '( dport = :18082 )']).then((x) => x.stdout.trim());
    await waitFor('sshd connected to the job', toJob, (o) => o !== '', 60_000);
    f.child.kill('SIGINT');
    const r = await f.done;
    assert.equal(r.code, 130, r.stderr);
    assert.equal(await listening(local), false);
    // and on the host, sshd let go of the job's port with the connection
    await waitFor('sshd to let go of the job', toJob, (o) => o === '', 60_000);
    held.destroy();
    ok(await run(['kill', 'h1', '--id', id]));
  });

  it('submit --forward submits, prints the id, then forwards to the job once it runs', async () => {
    const id = 'fw-submit';
    const dir = await makeJob(join(sshHost.jobs, id), {
      'start.sh': 'echo from-submit > page.txt\nexec /usr/bin/python3 -m http.server 18085 --bind 127.0.0.1\n',
    });
    const f = startTej(['submit', 'h1', '--id', id, '--forward', '0:18085', dir], { home: sshHost.home });
    await f.stdoutMatches(/^fw-submit\nhttp:\/\/127\.0\.0\.1:\d+\n/);
    const url = f.out.stdout.split('\n')[1]!;
    assert.equal(await waitFor('the page', () => get(`${url}/page.txt`), (b) => b.startsWith('200'), 90_000), '200 from-submit\n');
    ok(await run(['kill', 'h1', '--id', id]));
    const r = await f.done;
    assert.equal(r.code, 0, r.stderr);
  });

  it('refuses an ended job, a missing job and a bad port with their exit codes', async () => {
    const id = 'fw-ended';
    const dir = await makeJob(join(sshHost.jobs, id), { 'start.sh': 'true\n' });
    ok(await run(['submit', 'h1', '--id', id, dir]));
    await waitFor(`${id} finished`, () => run(['status', 'h1', '--id', id]), (r) => r.code === 0, 90_000);
    const ended = await run(['forward', 'h1', '--id', id, '8888']);
    assert.equal(ended.code, 69, ended.stderr);
    assert.match(ended.stderr, /job fw-ended is finished on .*nothing to forward to/);
    const missing = await run(['forward', 'h1', '--id', 'fw-none', '8888']);
    assert.equal(missing.code, 66, missing.stderr);
    const bad = await run(['forward', 'h1', '--id', id, '70000']);
    assert.equal(bad.code, 65, bad.stderr);
    assert.match(bad.stderr, /bad port forward '70000'/);
  });
});
