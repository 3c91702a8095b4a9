// Bench helper: submits N copies of one job directory in one library session, all at once (the queue
// pipelines them over its connection), and prints the rate.
import { connect } from '../dist/index.js';

const [host, n, dir, prefix = 'many'] = process.argv.slice(2);
const q = await connect(host);
const started = performance.now();
const jobs = await Promise.all(Array.from({ length: Number(n) }, (_, i) => q.submit(dir, { id: `${prefix}-${i}` })));
const seconds = (performance.now() - started) / 1000;
await q.close();
if (new Set(jobs.map((j) => j.id)).size !== Number(n)) throw new Error('bench: duplicate or missing jobs');
process.stdout.write(`${JSON.stringify({ jobs: jobs.length, seconds, jobs_per_second: jobs.length / seconds })}\n`);
