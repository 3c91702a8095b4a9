// The logs operation: a job's stdout or stderr file streamed by the queue's logs helper after the stream
// marker, and with --follow what the job appends until it ends.
import { PassThrough, type Writable } from 'node:stream';
import { skipToMarker } from '../protocol/stream-marker.js';
import type { QueueCalls } from '../remote/call.js';

/** Writes the job's stdout (or stderr) file to `out`; the caller has checked that the job exists. */
export async function writeLogs(q: QueueCalls, id: string, out: Writable, options: { stderr?: boolean; follow?: boolean } = {}): Promise<void> {
  const args = [id];
  if (options.stderr) args.push('--stderr');
  if (options.follow) args.push('--follow');
  const raw = new PassThrough();
  const stream = skipToMarker(raw, q.host);
  stream.pipe(out, { end: false });
  const drained = new Promise<void>((resolve, reject) => stream.on('error', reject).on('end', resolve).on('close', resolve));
  try {
    await q.call('logs', args, { stdout: raw, streamMarker: true });
  } finally {
    raw.end();
  }
  await drained;
}
