// Bench helper: the latency of one HTTP request through `tej forward` against `ssh -L` to the same port
// of the same job, in the same run, alternating: N GETs each (python3 -m http.server, HTTP/1.0: a new
// TCP connection, so a new direct-tcpip channel, per request), with ssh2's native crypto binding if built.
//   node --import tsx bench/forward-latency.ts [--reps N]
// 2026-12-06, lab host h1, ssh2 native binding built, OpenSSH 9.2p1 client, 300 GETs each:
//   load 3.9: tej forward median 4.17 ms, p90 8.32, p99 18.6; ssh -L median 5.90 ms, p90 48.0, p99 53.2
//   load 3.3: tej forward median 2.99 ms, p90 5.47, p99 9.01; ssh -L median 3.46 ms, p90 47.5, p99 52.8
// (ssh -L's tail of ~48 ms in a tenth of the requests looks like Nagle against a delayed ACK somewhere on
// its side; tej sets TCP_NODELAY on the listener's sockets and its connection.)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeJob, ok, startTej, tej, waitFor } from '../test/helpers/cli.js';
import { startSshHost } from '../test/helpers/lab.js';

const { values: opts } = parseArgs({ options: { reps: { type: 'string' } } });
const REPS = Number(opts.reps ?? 300);
const PORT = 18090;

const { lab, home, jobs } = await startSshHost({ jobsPrefix: 'tej-bench-forward-' });
const run = (args: string[]) => tej(args, { home, timeoutMs: 120_000 });
try {
  const dir = await makeJob(join(jobs, 'bf'), { 'start.sh': `echo hello > page.txt\nexec /usr/bin/python3 -m http.server ${PORT} --bind 127.0.0.1\n` });
  ok(await run(['submit', 'h1', '--id', 'bf', dir]));
  await waitFor('bf running', () => run(['status', 'h1', '--id', 'bf']), (r) => /\brunning\b/.test(r.stdout), 90_000);
  const f = startTej(['forward', 'h1', '--id', 'bf', `0:${PORT}`], { home });
  await f.stdoutMatches(/\n$/);
  const viaTej = `${f.out.stdout.trim()}/page.txt`;
  const sshPort = 28090;
  const ssh = spawn('ssh', ['-F', join(home, '.ssh', 'config'), '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${sshPort}:127.0.0.1:${PORT}`, 'h1'], { stdio: 'ignore' });
  const viaSsh = `http://127.0.0.1:${sshPort}/page.txt`;
  const get = async (url: string) => {
    const t = process.hrtime.bigint();
    const r = await fetch(url);
    if ((await r.text()) !== 'hello\n') throw new Error(`${url}: unexpected body`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const ready = (url: string) => waitFor(url, () => get(url).then(() => true, () => false), (x) => x, 90_000);
  await ready(viaTej);
  await ready(viaSsh);
  const times: Record<string, number[]> = { 'tej forward': [], 'ssh -L': [] };
  for (let i = 0; i < REPS; i++) {
    // alternate which goes first
    const order = i % 2 ? (['tej forward', 'ssh -L'] as const) : (['ssh -L', 'tej forward'] as const);
    for (const name of order) times[name]!.push(await get(name === 'ssh -L' ? viaSsh : viaTej));
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;
  const load = (await import('node:os')).loadavg()[0]!.toFixed(1);
  console.log(`${REPS} GETs each, alternating, load ${load}`);
  for (const [name, xs] of Object.entries(times)) {
    console.log(`${name.padEnd(12)} median ${q(xs, 0.5).toFixed(2)} ms  p90 ${q(xs, 0.9).toFixed(2)} ms  p99 ${q(xs, 0.99).toFixed(2)} ms`);
  }
  ssh.kill();
  f.child.kill('SIGINT');
  await f.done;
  await run(['kill', 'h1', '--id', 'bf']);
} finally {
  await lab.stop();
}
