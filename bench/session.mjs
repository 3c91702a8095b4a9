// Bench helper: one library session making N status calls one after another (the bench times the
// whole process, start-up and connection included, as it times the OpenSSH side's).
import { connect } from '../dist/index.js';

const [host, n] = process.argv.slice(2);
const q = await connect(host);
for (let i = 0; i < Number(n); i++) {
  const s = await q.status('st0');
  if (s?.state !== 'finished') throw new Error(`bench: st0 is ${s?.state}`);
}
await q.close();
