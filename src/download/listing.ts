// A job's regular files as the host's `files` helper lists them (size, mtime, name), with the job's
// state read before the listing; and the streaming call both it and `fetch` go through. The names are the
// job's: they may hold any byte but NUL and are checked here (relative, no `.` or `..` segment) before any
// of them is used.
import { Writable } from 'node:stream';
import { EXIT, JobFileNotFoundError, ProtocolError, TejError } from '../errors.js';
import type { QueueCalls } from '../remote/call.js';
import { MarkerSkipper } from '../protocol/stream-marker.js';

export interface RemoteFile {
  /** Relative to the job's work/. */
  path: string;
  size: number;
  /** Epoch seconds. */
  mtime: number;
}

export interface Listing {
  /** The job's state before the listing: once it is not active, the listing holds all the job wrote. */
  state: string;
  /** The host's clock after the listing (epoch seconds): a file changed in this second may change again unseen. */
  now: number;
  files: RemoteFile[];
}

/** States in which the job may still write. */
export const ACTIVE_STATES = new Set(['submitting', 'queued', 'running']);

/**
 * Runs a streaming helper into `sink` (which drops the banner with `marker`). Helpers older than this
 * client answer a stream call they cannot understand with a protocol error: then they are installed
 * (through a plain call, which can read that reply) and the call is made again, as download does.
 */
export async function streamCall(q: QueueCalls, command: string, args: string[], sink: () => Writable): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const out = sink();
    try {
      await q.call(command, args, { stdout: out, streamMarker: true });
      return;
    } catch (e) {
      out.destroy();
      if (attempt === 0 && e instanceof TejError && e.exitCode === EXIT.PROTOCOL) {
        await q.call('setup', [], { autoSetup: false });
        continue;
      }
      throw e;
    }
  }
}

/** Whether a listed name is a plain relative path: no empty, `.` or `..` segment. */
export function plainName(path: string): boolean {
  return path !== '' && !path.startsWith('/') && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
}

/** Parses the `files` helper's output (after the stream marker). */
export function parseListing(data: Buffer, host: string): Listing {
  const bad = (why: string) => new ProtocolError(`the file listing from ${host} is malformed (${why})`, { hint: 'run the command again with -v; if it fails again, please report it' });
  let at = 0;
  const line = (): string => {
    const nl = data.indexOf(0x0a, at);
    if (nl < 0) throw bad('a line is not ended');
    const s = data.subarray(at, nl).toString();
    at = nl + 1;
    return s;
  };
  const state = /^state ([a-z-]+)$/.exec(line())?.[1];
  if (!state) throw bad('no state');
  const files: RemoteFile[] = [];
  for (;;) {
    const l = line();
    const now = /^now ([0-9]+)$/.exec(l)?.[1];
    if (now !== undefined) {
      if (line() !== 'end') throw bad('no end');
      return { state, now: Number(now), files };
    }
    const n = /^batch ([0-9]+)$/.exec(l)?.[1];
    if (n === undefined) throw bad(`unexpected ${JSON.stringify(l.slice(0, 40))}`);
    const stats = Array.from({ length: Number(n) }, () => line());
    for (const stat of stats) {
      const nul = data.indexOf(0, at);
      if (nul < 0) throw bad('a name is not ended');
      const path = data.subarray(at, nul).toString().replace(/^\.\//, '');
      at = nul + 1;
      const m = /^([0-9]+) ([0-9]+)$/.exec(stat);
      if (!m) continue; // gone before stat read it ('- -')
      if (!plainName(path)) continue; // find prints none such: never used as a path
      files.push({ path, size: Number(m[1]), mtime: Number(m[2]) });
    }
  }
}

/** Lists the regular files of job `id` (the `files` helper). */
export async function listJobFiles(q: QueueCalls, id: string): Promise<Listing> {
  let chunks: Buffer[] = [];
  let marker: MarkerSkipper;
  try {
    await streamCall(q, 'files', [id], () => {
      chunks = [];
      marker = new MarkerSkipper(q.host);
      return new Writable({
        write(chunk: Buffer, _enc, cb) {
          try {
            const rest = marker.feed(chunk);
            if (rest?.length) chunks.push(Buffer.from(rest));
            cb();
          } catch (e) {
            cb(e as Error);
          }
        },
        final(cb) {
          cb(marker.endError() ?? null);
        },
      });
    });
  } catch (e) {
    if (e instanceof TejError && e.exitCode === EXIT.NOINPUT && !/no such job/i.test(e.message)) throw new JobFileNotFoundError(e.message, { remote: e.remote });
    throw e;
  }
  return parseListing(Buffer.concat(chunks), q.host);
}
