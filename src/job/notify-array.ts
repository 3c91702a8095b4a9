// The whole array's webhook (one POST with its counts, once every task has ended) on a host that cannot
// POST it (no curl or wget: its tasks' wrappers wrote no notify-host): the next status, list, show or
// wait that sees the whole array ended claims it on the host, as for one job (job/notify-post.ts), with
// the array's own notify-claim, the one the last task's wrapper takes where the host can post: of
// wrapper and clients, one posts. The host counts the tasks as the wrapper does (lib/webhook.sh) and
// answers the URL and its MAC; the URL is posted to only when the MAC is this client's (job/notify.ts).
import type { ReplyRecord } from '../protocol/reply.js';
import { checkNotifyMac, notifyKey } from './notify.js';
import type { JobStatus } from './status.js';
import { hasEnded } from './wait.js';

/**
 * The arrays among STATUSES whose webhook may still be the client's to claim: each seen whole (its id is
 * a key of STATUSES, as status and show name an array they expanded, or `all`: list), every task seen
 * ended, with a webhook, none posted by its host, the array's not claimed yet.
 */
export function pendingArrays(statuses: ReadonlyMap<string, JobStatus | undefined>, all = false): string[] {
  // per array, whether every task seen so far is one to claim: one pass (a list per array, copied at
  // each task appended, took 4.4 s for an array of 20000 tasks)
  const claimable = new Map<string, boolean>();
  for (const [id, s] of statuses) {
    const slash = id.indexOf('/');
    if (slash < 0) continue;
    const array = id.slice(0, slash);
    claimable.set(array, claimable.get(array) !== false && pendingTask(s));
  }
  return [...claimable]
    .filter(([array, every]) => every && (all || (statuses.has(array) && statuses.get(array) === undefined)))
    .map(([array]) => array);
}

function pendingTask(s: JobStatus | undefined): boolean {
  return s !== undefined && hasEnded(s) && !!s.notifyWebhook && s.notifyHost === undefined && s.arrayNotifyClaimed === undefined;
}

const COUNTS = ['tasks', 'finished', 'failed', 'killed', 'timeout'] as const;

/** The POSTs of the arrays the host's `claim` gave this client (its records), with the host's counts. */
export async function claimedArrayPosts(records: ReplyRecord[], host: string): Promise<{ url: string; body: Record<string, unknown> }[]> {
  const posts: { url: string; body: Record<string, unknown> }[] = [];
  for (const r of records) {
    const id = r.id!;
    const webhook = r.notify_webhook;
    if (!webhook || !COUNTS.every((k) => /^\d+$/.test(r[k] ?? ''))) continue;
    if (!checkNotifyMac(await notifyKey(false), webhook, r.notify_mac)) {
      process.stderr.write(
        `tej: warning: not posting to the webhook of array ${id}: its record on ${host} names ${JSON.stringify(webhook)}, which this client did not submit (a task or someone may have rewritten it, or it was submitted from another machine)\n`,
      );
      continue;
    }
    const counts = Object.fromEntries(COUNTS.map((k) => [k, Number(r[k])]));
    posts.push({ url: webhook, body: { id, ...counts, host: r.host && /^[A-Za-z0-9._-]+$/.test(r.host) ? r.host : host } });
  }
  return posts;
}
