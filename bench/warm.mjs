// Bench helper: the time of one warm library call (the status of one job) in a session that has made
// some already; prints the median of N calls in ms.
import { connect } from '../dist/index.js';

const [host, n] = process.argv.slice(2);
const q = await connect(host);
const times = [];
for (let i = 0; i < 10 + Number(n); i++) {
  const started = performance.now();
  const s = await q.status('st0');
  if (i >= 10) times.push(performance.now() - started);
  if (s?.state !== 'finished') throw new Error(`bench: st0 is ${s?.state}`);
}
await q.close();
times.sort((a, b) => a - b);
process.stdout.write(`${times[times.length >> 1]}\n`);
