// Bench helper: the floor of a warm call, a bare request on a persistent remote sh through OpenSSH
// (`ssh HOST sh`, one `echo` per request, answered before the next is written); prints the median of
// N round trips in ms.
import { spawn } from 'node:child_process';

const [host, n] = process.argv.slice(2);
const ssh = spawn('ssh', [host, 'sh'], { stdio: ['pipe', 'pipe', 'inherit'] });
let buffered = '';
let waiting;
ssh.stdout.on('data', (d) => {
  buffered += d;
  const nl = buffered.indexOf('\n');
  if (nl >= 0 && waiting) {
    buffered = buffered.slice(nl + 1);
    const w = waiting;
    waiting = undefined;
    w();
  }
});
const ask = () => new Promise((resolve) => {
  waiting = resolve;
  ssh.stdin.write('echo x\n');
});
const times = [];
for (let i = 0; i < 10 + Number(n); i++) {
  const started = performance.now();
  await ask();
  if (i >= 10) times.push(performance.now() - started);
}
ssh.stdin.end();
await new Promise((resolve) => ssh.on('close', resolve));
times.sort((a, b) => a - b);
process.stdout.write(`${times[times.length >> 1]}\n`);
