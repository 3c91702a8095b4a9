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

const KEY = /^[a-z][a-z0-9_-]*$/;
// What `.` of the line pattern /^([a-z][a-z0-9_-]*)=(.*)$/ does not match: a value holding one is junk.
const NOT_IN_VALUE = /[\r\u2028\u2029]/;

export function parseReply(text: string, host = 'remote'): Reply {
  // The header: the first line that starts with tej-proto= (banners before it are skipped).
  const start = text.startsWith('tej-proto=') ? 0 : text.indexOf('\ntej-proto=') + 1 || -1;
  if (start < 0) {
    throw new ProtocolError(`no reply from the tej helpers on ${host} (no 'tej-proto=' line)`, {
      hint: text.trim() ? `the remote printed:\n${text.trim().slice(0, 500)}` : undefined,
    });
  }
  let eol = text.indexOf('\n', start);
  if (eol < 0) eol = text.length;
  const first = text.slice(start, eol);
  const proto = Number(first.slice('tej-proto='.length));
  if (!Number.isInteger(proto)) throw new ProtocolError(`unreadable protocol header '${first}' from ${host}`);
  const header: ReplyRecord = {};
  const records: ReplyRecord[] = [];
  let current = header;
  // Line by line with indexOf, not split and a regex per line: a status of 4000 jobs is 36000 lines,
  // and the arrays of split and exec were most of the client's time for it.
  for (let at = eol + 1; at < text.length; ) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const eq = text.indexOf('=', at);
    const key = eq >= 0 && eq < end ? text.slice(at, eq) : undefined;
    const value = key === undefined ? '' : text.slice(eq + 1, end);
    if (key === undefined || !KEY.test(key) || NOT_IN_VALUE.test(value)) {
      throw new ProtocolError(`unreadable reply line from ${host}: ${JSON.stringify(text.slice(at, end).slice(0, 200))}`);
    }
    if (key === 'id') {
      current = {};
      records.push(current);
    }
    current[key] = value;
    at = end + 1;
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
