// Helper installation: the bundle copied into a queue directory, and the errors for a directory that is
// not a tej queue, or holds none, or holds one this client must not run or upgrade.
import { EXIT, NoQueueError, ProtocolError, RemoteUnavailableError } from '../errors.js';
import { remoteError } from '../protocol/exit-codes.js';
import { shQuotePath } from '../transport/quote.js';
import type { RunOptions, RunResult } from '../transport/transport.js';
import { PROTO } from '../version.js';
import { loadBundle, packBundle } from './bundle.js';
import { DEFAULT_QUEUE } from './call.js';

/** A directory that exists, holds something, and is not a tej queue: never installed into unasked. */
export function notAQueueError(queue: string, host: string, hint: string): RemoteUnavailableError {
  return new RemoteUnavailableError(`${queue} on ${host} exists and is not a tej queue`, { hint });
}

/** `tej setup HOST [--queue QUEUE]`: the command that sets up this queue, for hints. */
function setupCommand(queue: string, host: string): string {
  return `tej setup ${host}${queue === DEFAULT_QUEUE ? '' : ` --queue ${queue}`}`;
}

/** No queue at `queue` (a call other than submit and setup never creates one). */
export function noQueueError(queue: string, host: string): NoQueueError {
  return new NoQueueError(`no tej queue at ${queue} on ${host}`, {
    hint: `check --queue, or run '${setupCommand(queue, host)}' to create it`,
  });
}

/** Plugins of the user's own whose files no longer match the hashes this machine installed them with. */
export function modifiedPluginError(queue: string, host: string, modified: string[]): RemoteUnavailableError {
  const which = modified.map((n) => `'${n}'`).join(', ');
  return new RemoteUnavailableError(`your plugin ${which} in ${queue} on ${host} has changed since you installed it; tej runs nothing of the queue until it matches`, {
    hint: `if you changed it, install it again: ${setupCommand(queue, host)} --plugin-file FILE${modified.length === 1 ? ` --plugin ${modified[0]}` : ''} (else a job may have rewritten it: look at queues/ in the queue)`,
  });
}

/** A queue whose helpers speak a newer protocol than this client: never downgraded. */
export function newerQueueError(queue: string, host: string, proto: number): ProtocolError {
  return new ProtocolError(`the queue ${queue} on ${host} was set up by a newer tej (protocol ${proto}, this tej speaks ${PROTO})`, {
    hint: 'upgrade tej on this machine, or use another --queue',
  });
}

/** The script that installs the bundle read on stdin into the queue at `queue`. */
export function installScript(queue: string, force: boolean): string {
  const q = shQuotePath(queue);
  // Files are moved into place one by one (rename is atomic, so a running job never reads a
  // half-written helper); VERSION goes last, so a torn install is seen as "absent" and redone.
  const refuseForeign = force
    ? ''
    : `if test ! -f VERSION && test ! -f tej-remote && test -n "$(ls -A)" && ! ls -A | grep -q '^\\.install\\.'; then echo "tej-remote: $Q exists and is not a tej queue" >&2; exit ${EXIT.UNAVAILABLE}; fi; `;
  return (
    `umask 077; Q=${q}; mkdir -p "$Q" && cd "$Q" || exit ${EXIT.NOPERM}; ${refuseForeign}chmod 700 . && T=.install.$$ && rm -rf "$T" && mkdir "$T" && ` +
    `tar -xf - -C "$T" && (cd "$T" && find . -type f ! -name VERSION) | while IFS= read -r f; do mkdir -p "$(dirname "$f")" && mv -f "$T/$f" "$f" || exit 1; done && ` +
    `mv -f "$T/VERSION" VERSION && rm -rf "$T"`
  );
}

/** Copies the helpers into the queue (one tar stream over the same channel kind as every call). */
export async function installHelpers(
  run: (script: string, options: RunOptions, what: string) => Promise<RunResult>,
  queue: string,
  host: string,
  force: boolean,
): Promise<void> {
  const bundle = await loadBundle();
  const r = await run(installScript(queue, force), { stdin: () => packBundle(bundle) }, `install tej helpers into ${queue}`);
  if (r.code === 0) return;
  if (r.code === EXIT.UNAVAILABLE) throw notAQueueError(queue, host, 'choose another directory with --queue, or pass --force to install into it');
  throw remoteError(host, { command: 'install', code: r.code, stderr: r.stderr }, `cannot install the tej helpers into ${queue}`);
}
