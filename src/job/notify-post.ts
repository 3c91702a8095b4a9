// The webhook of a job whose host cannot POST it (no curl or wget there: its wrapper wrote no
// notify-host) is posted by the next tej command that sees the job ended: status, list, show, wait. One
// client posts it: the host's `claim` (remote-scripts/commands/claim.sh) gives each job to one caller.
// Only to a URL this client submitted (job/notify.ts): the job can rewrite its record on the host.
import type { Queue } from '../queue.js';
import { checkNotifyMac, notifyKey } from './notify.js';
import { claimedArrayPosts, pendingArrays } from './notify-array.js';
import type { JobRecord } from './record.js';
import type { JobStatus } from './status.js';
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
function pending(s: JobStatus | undefined): s is JobStatus {
  return s !== undefined && hasEnded(s) && !!s.notifyWebhook && s.notifyHost === undefined && s.notifyClaimed === undefined;
}

/**
 * Claims, then POSTs, the webhooks of the ended jobs among STATUSES that no one has posted, and those of
 * the arrays seen whole and ended (job/notify-array.ts; `allArrays`: STATUSES hold every task, as list's
 * do; `arraysOnly`: the tasks' own were seen to already, as wait does): one call to the host when there
 * are any, and one `show` of the jobs claimed (their MAC) when STATUSES are not records.
 */
export async function postPendingWebhooks(
  q: Queue,
  statuses: ReadonlyMap<string, JobStatus | JobRecord | undefined>,
  quiet: boolean,
  options: { allArrays?: boolean; arraysOnly?: boolean } = {},
): Promise<void> {
  const ids = options.arraysOnly ? [] : [...statuses].filter(([, s]) => pending(s)).map(([id]) => id);
  const arrays = pendingArrays(statuses, options.allArrays);
  if (!ids.length && !arrays.length) return;
  const reply = (await q.call('claim', [...ids, ...arrays])).reply;
  // the records of the reply are the arrays claimed (of those asked for)
  const arrayRecords = (reply?.records ?? []).filter((r) => arrays.includes(r.id!));
  for (const p of await claimedArrayPosts(arrayRecords, q.host)) await postWebhook(p.url, p.body, quiet);
  const claimed = reply?.header.claimed?.split(' ').filter(Boolean) ?? [];
  if (!claimed.length) return;
  const records = claimed.every((id) => (statuses.get(id) as JobRecord | undefined)?.notifyMac !== undefined)
    ? (statuses as ReadonlyMap<string, JobRecord | undefined>)
    : await q.show(claimed, { brief: true });
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
    const s = statuses.get(id) ?? rec;
    await postWebhook(webhook, { id, state: s.state, exit_code: s.exitCode ?? null, host: rec.host || q.host }, quiet);
  }
}
