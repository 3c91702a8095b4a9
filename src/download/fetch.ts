// The download operation: each requested path of a job streamed by the queue's download helper as tar,
// after the stream marker, and written where asked (src/download/extract.ts).
import type { Writable } from 'node:stream';
import { EXIT, InvalidInputError, JobFileNotFoundError, TejError } from '../errors.js';
import { checkJobId } from '../job/id.js';
import type { QueueCalls } from '../remote/call.js';
import { MarkerSkipper } from '../protocol/stream-marker.js';
import { destinationFor, downloadSink, type ExtractResult } from './extract.js';
import { parseDownloadRequest } from './request.js';
import { resumableDownload } from './resume.js';

export interface DownloadOptions {
  /** The directory that relative destinations (and `path`'s ./basename) are in. */
  cwd: string;
  /** Receives the `path:` requests; a request that names no stdout stream then is refused. */
  stdout?: Writable;
}

/** Downloads each request (`path`, `path:`, `path:dest`); `options.stdout` receives the `path:` ones. */
export async function download(q: QueueCalls, id: string, requests: string[], options: DownloadOptions): Promise<ExtractResult[]> {
  checkJobId(id);
  const parsed = requests.map((r) => parseDownloadRequest(r));
  const { cwd, stdout } = options;
  const toStdout = parsed.find((r) => r.target.kind === 'stdout');
  if (toStdout && !stdout) throw new InvalidInputError(`'${toStdout.remote}:' writes to stdout, and no stdout stream was given`, { hint: 'pass options.stdout' });
  // A destination that is this process's stdout (`file:/dev/stdout`) goes through `stdout` when that is fd 1.
  const stdoutIsFd1 = (stdout as { fd?: unknown } | undefined)?.fd === 1;
  const results: ExtractResult[] = [];
  for (const request of parsed) {
    const destination = await destinationFor(request, cwd, stdoutIsFd1);
    const progress = (bytes: number, files: number, done = false) => q.onEvent?.({ kind: 'download-progress', host: q.host, path: request.remote, destination, bytes, files, done });
    // one big file into a regular file: over SFTP, resumable (src/download/resume.ts)
    const resumed = await resumableDownload(q, id, request, destination, progress);
    if (resumed) {
      results.push(resumed);
      continue;
    }
    for (let attempt = 0; ; attempt++) {
      // The channel writes straight into the tar sink, which drops what login files print before the marker.
      const { sink, result: extracting } = downloadSink(destination, stdout, progress, new MarkerSkipper(q.host));
      // A local failure (a full disk, a file in the way) stops the download at once: destroying what the
      // channel writes into closes the channel, so the host's tar stops instead of waiting for a reader.
      let localError: unknown;
      let stopped = false; // the sink destroyed here, after the call failed: its error is not the cause
      extracting.catch((e: unknown) => {
        if (stopped) return;
        localError = e;
        sink.destroy();
      });
      try {
        await q.call('download', [id, request.remote], { stdout: sink, streamMarker: true });
      } catch (e) {
        stopped = true;
        sink.destroy();
        await extracting.catch(() => undefined); // its temporary file removed, its links judged
        if (localError !== undefined) throw localError;
        if (attempt === 0 && e instanceof TejError && e.exitCode === EXIT.PROTOCOL) {
          // The helpers are not this client's (tej was upgraded): a stream call cannot read the reply
          // that says so, but a plain one can, and installs them (or refuses a newer queue). Then again.
          await q.call('setup', [], { autoSetup: false });
          continue;
        }
        if (e instanceof TejError && e.exitCode === EXIT.NOINPUT && !/no such job/i.test(e.message)) {
          throw new JobFileNotFoundError(e.message, { remote: e.remote, hint: e.hint ?? "paths are relative to the job's work directory, where its start.sh ran" });
        }
        throw e;
      }
      if (localError !== undefined) throw localError;
      sink.end();
      const result = await extracting;
      progress(result.bytes, result.files, true);
      results.push(result);
      break;
    }
  }
  return results;
}
