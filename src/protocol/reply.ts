// Parser for the helpers' replies: `tej-proto=N` first, then `key=value` lines. Lines before the header
// are login-shell noise (banners from .bashrc) and are skipped; after it, every line must be key=value.
import { ProtocolError } from '../errors.js';

export type ReplyRecord = Record<string, string>;

export interface Reply {
  proto: number;
  /** Keys before the first `id=`. */
  header: ReplyRecord;
  /** One record per `id=` line, in order. */
  records: ReplyRecord[];
}

const LINE = /^([a-z][a-z0-9_-]*)=(.*)$/;

export function parseReply(text: string, host = 'remote'): Reply {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const start = lines.findIndex((l) => l.startsWith('tej-proto='));
  if (start < 0) {
    throw new ProtocolError(`no reply from the tej helpers on ${host} (no 'tej-proto=' line)`, {
      hint: text.trim() ? `the remote printed:\n${text.trim().slice(0, 500)}` : undefined,
    });
  }
  const proto = Number(lines[start]!.slice('tej-proto='.length));
  if (!Number.isInteger(proto)) throw new ProtocolError(`unreadable protocol header '${lines[start]}' from ${host}`);
  const header: ReplyRecord = {};
  const records: ReplyRecord[] = [];
  let current = header;
  for (const line of lines.slice(start + 1)) {
    const m = LINE.exec(line);
    if (!m) throw new ProtocolError(`unreadable reply line from ${host}: ${JSON.stringify(line.slice(0, 200))}`);
    const [, key, value] = m as unknown as [string, string, string];
    if (key === 'id') {
      current = {};
      records.push(current);
    }
    current[key] = value;
  }
  return { proto, header, records };
}

/** The records of a reply by job id, each mapped with the host's clock (`now=`); ids it lacks map to undefined. */
export function recordsById<T>(reply: Reply, ids: string[], map: (r: ReplyRecord, now: number) => T | undefined): Map<string, T | undefined> {
  const now = replyNow(reply);
  const out = new Map<string, T | undefined>(ids.map((id) => [id, undefined]));
  for (const r of reply.records) if (r.id) out.set(r.id, map(r, now));
  return out;
}

/** The host's clock at the reply (seconds), so that durations are right whatever the local clock says. */
export function replyNow(reply: Reply): number {
  return Number(reply.header.now ?? Date.now() / 1000);
}
