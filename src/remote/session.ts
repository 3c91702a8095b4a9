// The session fast path (docs/protocol.md, "Library sessions"): the client sends the helper program
// (src/remote/program.ts) into a session's long-lived shell once, and a call then runs it from memory in
// one subshell, with no file of the queue's helpers read, no sha256 and no exec.
//
// The code comes from the client's bundle, never from disk, so what a job wrote into the queue's
// helpers cannot run through this path, as through the invocation, which checks what it reads. The
// commands that take it are the ones whose request and reply fit the session's framing (no stdin, no
// stream): status, list, show, kill, delete, where.
import { createHash } from 'node:crypto';
import type { Bundle } from './bundle.js';
import { helperProgram, helperText } from './program.js';
import { printfFormat } from '../protocol/invocation.js';
import { shQuote } from '../transport/quote.js';
import { PROTO } from '../version.js';

/** The commands a session runs from memory. */
export const SESSION_COMMANDS: ReadonlySet<string> = new Set(['status', 'list', 'show', 'kill', 'delete', 'where', 'store']);

/** A submit of a small job runs from memory too, its upload inside the request (sessionSubmitScript). */
export const SESSION_SUBMIT = 'submit';

/** The functions a session's shell runs in itself (sessionStatusScript), loaded after the libraries. */
const SESSION_LIB = 'lib/session.sh';

/**
 * The session's load: the helper program with its libraries run once in the session's shell (they only
 * define functions and constants, and a call's subshell inherits them: measured, running them per call
 * cost 7.6 of a call's 37.6 ms on a loaded machine), tej_call, which runs one command in the call's
 * subshell as the dispatcher would once the session's probe has checked the queue (TEJ_ROOT the queue's
 * physical path, TEJ_SHELL /bin/sh, TEJ_UMASK the login umask, read once here; umask 077 and `set -eu`
 * again, which the session undoes after its load), and lib/session.sh, what the shell answers in itself;
 * then the usage tools are asked for once (lib/usage.sh usage_session_tools), for every job it submits.
 */
export function sessionLoadScript(bundle: Bundle): string {
  const commands = [...SESSION_COMMANDS, SESSION_SUBMIT].sort();
  const call = [
    'tej_call() {',
    '\tset -eu',
    '\tumask 077',
    '\tTEJ_ROOT=$1',
    '\tTEJ_UMASK=$tej_umask',
    '\tTEJ_SHELL=/bin/sh',
    '\texport TEJ_ROOT TEJ_UMASK TEJ_SHELL',
    '\ttej_call_command=$2',
    '\tshift 2',
    '\tcase $tej_call_command in',
    ...commands.map((c) => `\t${c}) tej_cmd_${c} \${1+"$@"} ;;`),
    '\t*) die "$EX_USAGE" "unknown command: \'$tej_call_command\'" ;;',
    '\tesac',
    '}',
  ].join('\n');
  return `${helperProgram(bundle).text}${call}\n${helperText(bundle, SESSION_LIB)}\ntej_umask=$(umask)\ntej_libs\nusage_session_tools`;
}

/** session_status's code when it leaves the call to the subshell path (remote-scripts/lib/session.sh). */
export const SESSION_MISS = 3;

/**
 * A status run in the session's shell itself, with no fork (remote-scripts/lib/session.sh): it answers
 * for jobs that do not exist or whose end is recorded for good, else returns SESSION_MISS having printed
 * nothing.
 */
export function sessionStatusScript(root: string, ids: string[]): string {
  return `session_status ${[root, ...ids].map(shQuote).join(' ')}`;
}

/**
 * Run once per session and queue (in a subshell): the queue's physical path, VERSION's proto and hash,
 * `ls -ldn` of it and the user's uid, when it is set up (jobs/ and staging/); nothing otherwise.
 */
export function probeScript(quotedQueue: string): string {
  return (
    `cd -P ${quotedQueue} 2>/dev/null && test -f VERSION && test -d jobs && test -d staging || exit 0; p=; h=; ` +
    `while IFS= read -r l || test -n "$l"; do case $l in proto=*) p=\${l#proto=} ;; hash=*) h=\${l#hash=} ;; esac; l=; done <VERSION; ` +
    `printf 'proto=%s\\nhash=%s\\nuid=%s\\nls=%s\\nroot=%s' "$p" "$h" "$(id -u)" "$(ls -ldn .)" "$PWD"`
  );
}

/**
 * The queue's physical path when the probe says the session may run this bundle's commands from memory:
 * the same protocol and bundle installed (else the invocation upgrades or refuses), and the queue private
 * and the user's (else the dispatcher refuses it, with its message).
 */
export function probedRoot(stdout: string, bundle: Bundle): string | undefined {
  const at = stdout.indexOf('root=');
  if (at < 0) return undefined;
  const root = stdout.slice(at + 'root='.length);
  const head: Record<string, string> = {};
  for (const line of stdout.slice(0, at).split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) head[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const [mode, , owner] = (head.ls ?? '').split(/\s+/);
  if (head.proto !== String(PROTO) || head.hash !== bundle.hash) return undefined;
  if (!/^d.{3}-{6}/.test(mode ?? '') || owner !== head.uid) return undefined;
  if (!root.startsWith('/') || root.includes('\n')) return undefined;
  return root;
}

/** One call through the session: the command from memory, in the request's subshell. */
export function sessionCallScript(root: string, command: string, args: string[]): string {
  return `tej_call ${[root, command, ...args].map(shQuote).join(' ')}`;
}

/**
 * One submit through the session: the upload (at most INLINE_MAX_BYTES of tar) as a printf format in
 * tej_upload, which submit.sh writes to its staging directory with the shell's own printf (no stdin, no
 * pipe, no cat), then the call. The format is printable ASCII without a quote (printfFormat): the request
 * stays one line, and a request cut short is a quoted word never closed, which the shell does not run.
 */
export function sessionSubmitScript(root: string, args: string[], upload: Uint8Array): string {
  return `tej_upload='${printfFormat(upload)}'; ${sessionCallScript(root, SESSION_SUBMIT, args)}`;
}

const loadHashes = new WeakMap<Bundle, string>();

/** The sha256 of sessionLoadScript(bundle): what a --persist master's warm shell says it holds. */
export function sessionLoadHash(bundle: Bundle): string {
  let h = loadHashes.get(bundle);
  if (!h) {
    h = createHash('sha256').update(sessionLoadScript(bundle)).digest('hex');
    loadHashes.set(bundle, h);
  }
  return h;
}
