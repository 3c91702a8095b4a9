// The session fast path (docs/protocol.md, "Library sessions"): the client loads its own helpers into a
// session's long-lived shell once, and a call then runs them from memory in one subshell, with no file
// of the queue's helpers read, no sha256 and no exec.
//
// Why this keeps the guarantee that a modified helper never runs: the code comes from the client's bundle,
// never from disk, so what a job wrote into the queue's helpers cannot run through this path. Only the
// commands that start nothing from disk that outlives the call take it: status, list, show, kill, delete
// (they read the queue's data and run system tools; kill and delete signal and remove). submit and
// resubmit start lib/run-job.sh from disk through the plugin, setup installs, and download and logs
// stream; they keep the per-call check of every helper (the invocation, src/protocol/invocation.ts).
import type { Bundle } from './bundle.js';
import { shQuote } from '../transport/quote.js';
import { PROTO } from '../version.js';

/** The commands a session runs from memory. */
export const SESSION_COMMANDS: ReadonlySet<string> = new Set(['status', 'list', 'show', 'kill', 'delete']);

function file(bundle: Bundle, path: string): string {
  const f = bundle.files.find((x) => x.path === path);
  if (!f) throw new Error(`tej: the helper bundle has no ${path}`);
  return f.data.toString();
}

/**
 * The session's load: function definitions only. tej_libs holds lib/common.sh and lib/job.sh, each
 * command is tej_cmd_<name> and each plugin tej_plugin_<n>, as the files' own text (a function body keeps
 * a file's statements, parsed once here, run on each call); tej_call runs one command in the call's
 * subshell, which the commands and load_queue tell by tej_session.
 */
export function sessionLoadScript(bundle: Bundle): string {
  const commands = [...SESSION_COMMANDS].sort();
  const plugins = bundle.files
    .map((f) => /^queues\/([a-z][a-z0-9_-]{0,31})\.sh$/.exec(f.path)?.[1])
    .filter((p): p is string => p !== undefined)
    .sort();
  const lines: string[] = [];
  lines.push(`tej_libs() {\n${file(bundle, 'lib/common.sh')}\n${file(bundle, 'lib/job.sh')}\n}`);
  for (const c of commands) lines.push(`tej_cmd_${c}() {\n${file(bundle, `commands/${c}.sh`)}\n}`);
  plugins.forEach((p, i) => lines.push(`tej_plugin_${i}() {\n${file(bundle, `queues/${p}.sh`)}\n}`));
  const names = plugins.map(shQuote).join(' | ') || "''";
  lines.push(`tej_plugin_known() {\n\tcase $1 in\n\t${names}) return 0 ;;\n\tesac\n\treturn 1\n}`);
  lines.push(`tej_plugin() {\n\tcase $1 in\n${plugins.map((p, i) => `\t${shQuote(p)}) tej_plugin_${i} ;;\n`).join('')}\tesac\n}`);
  // As the dispatcher does for a sourced command (tej-remote): TEJ_ROOT the queue's physical path,
  // TEJ_SHELL /bin/sh, TEJ_UMASK the login umask (the session's, read once at the load).
  lines.push(
    [
      'tej_call() {',
      '\tset -eu',
      '\ttej_session=1',
      '\tTEJ_ROOT=$1',
      '\tTEJ_UMASK=$tej_umask',
      '\tTEJ_SHELL=/bin/sh',
      '\texport TEJ_ROOT TEJ_UMASK TEJ_SHELL',
      '\ttej_libs',
      '\ttej_call_command=$2',
      '\tshift 2',
      '\tcase $tej_call_command in',
      ...commands.map((c) => `\t${c}) tej_cmd_${c} \${1+"$@"} ;;`),
      '\t*) die "$EX_USAGE" "unknown command: \'$tej_call_command\'" ;;',
      '\tesac',
      '}',
    ].join('\n'),
  );
  lines.push('tej_umask=$(umask)');
  return lines.join('\n');
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
