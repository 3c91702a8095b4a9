// The webhook of a job whose host cannot POST it (no curl or wget there: its wrapper wrote no
// notify-host) is posted by the next tej command that sees the job ended: wait, show. Exactly one
// client posts it: the host's `claim` (remote-scripts/commands/claim.sh) gives each job to one caller.
// Only to a URL this client submitted (job/notify.ts): the job can rewrite its record on the host.
import type { Queue } from '../queue.js';
import { checkNotifyMac, notifyKey } from './notify.js';
import type { JobRecord } from './record.js';
import { hasEnded } from './wait.js';

/** POSTs the end of a job to its tej.json notify.webhook; a failure is a warning, never the job's result. */
export async function postWebhook(url: string, body: Record<string, unknown>, quiet: boolean): Promise<void> {
  try {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'tej' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    if (!r.ok && !quiet) process.stderr.write(`tej: warning: the webhook ${url} answered ${r.status} for job ${String(body.id)}\n`);
  } catch (e) {
    if (!quiet) process.stderr.write(`tej: warning: the webhook ${url} failed for job ${String(body.id)}: ${(e as Error).message}\n`);
  }
}

/** Whether the webhook of an ended job may still be the client's to post: no host tool, no claim yet. */
function pending(r: JobRecord | undefined): r is JobRecord {
  return r !== undefined && hasEnded(r) && !!r.spec?.notify?.webhook && r.notifyHost === undefined && r.notifyClaimed === undefined;
}

/** Claims, then POSTs, the webhooks of the ended jobs among RECORDS that no one has posted: one call to the host when there are any. */
export async function postPendingWebhooks(q: Queue, records: ReadonlyMap<string, JobRecord | undefined>, quiet: boolean): Promise<void> {
  const ids = [...records].filter(([, r]) => pending(r)).map(([id]) => id);
  if (!ids.length) return;
  const claimed = (await q.call('claim', ids)).reply?.header.claimed?.split(' ').filter(Boolean) ?? [];
  for (const id of claimed) {
    const rec = records.get(id);
    const webhook = rec?.spec?.notify?.webhook;
    if (!rec || !webhook) continue;
    if (!checkNotifyMac(await notifyKey(false), webhook, rec.notifyMac)) {
      process.stderr.write(
        `tej: warning: not posting to the webhook of job ${id}: its record on ${q.host} names ${JSON.stringify(webhook)}, which this client did not submit (the job or someone may have rewritten it, or it was submitted from another machine)\n`,
      );
      continue;
    }
    await postWebhook(webhook, { id, state: rec.state, exit_code: rec.exitCode ?? null, host: rec.host || q.host }, quiet);
  }
}
