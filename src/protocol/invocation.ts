// The invocation: the script that runs one helper call of a queue on the host. It runs the installed
// helper program once it has checked the bytes it read against the client's own hash, and answers in
// the reply format when the queue is absent, foreign or not this client's (docs/protocol.md).
import { EXIT } from '../errors.js';
import { helperLines, type Bundle } from '../remote/bundle.js';
import { PROGRAM_FILE, programSha256, readChecked } from '../remote/program.js';
import { shQuote, shQuotePath } from '../transport/quote.js';
import { PROTO } from '../version.js';

/** An argument that is a path on the host: a leading ~/ expands to the remote $HOME. */
export type Arg = string | { path: string };

export function quoteArg(a: Arg): string {
  return typeof a === 'string' ? shQuote(a) : shQuotePath(a.path);
}

/**
 * The script that runs `tej-remote COMMAND ARGS` of the queue at `queue`, with `marker` before a stream;
 * `pluginCheck` (src/remote/user-plugins.ts) checks the user's own plugins once the bundle checked out.
 */
export function invocationScript(bundle: Bundle, queue: string, command: string, args: Arg[], marker = false, pluginCheck = ''): string {
  const { hash } = bundle;
  const q = shQuotePath(queue);
  // Two checks in one run of sha256sum, against this client's own copies (a job, which runs as the same
  // user, can rewrite any file of the queue, MANIFEST included, even while this call runs):
  // - the helper program, read into memory once and checked there (on sha256sum's stdin): what runs is
  //   what was checked, and nothing else of the queue's files runs (src/remote/program.ts). A check of
  //   the files followed by reading them again to run them would leave a job the time between the two;
  // - every installed helper against the client's hashes: a difference in either is answered with the
  //   installed protocol and hash (hash=modified when VERSION claims this very bundle), and the client
  //   reinstalls (or refuses a newer queue).
  // A host with no sha256 tool relies on VERSION's hash.
  const check = readChecked('tej_program', `"$Q/${PROGRAM_FILE}"`, programSha256(bundle), { dir: '"$Q"', lines: helperLines(bundle) });
  const mismatch =
    `p=0; h=; while IFS= read -r l || test -n "$l"; do case $l in proto=*) p=\${l#proto=} ;; hash=*) h=\${l#hash=} ;; esac; l=; done <"$Q/VERSION"; ` +
    `printf 'tej-proto=%s\\n' "$p"; if test "$h" = ${hash}; then printf 'hash=modified\\n'; ` +
    `echo "tej-remote: the helpers installed in $Q were modified after they were installed" >&2; else printf 'hash=%s\\n' "$h"; fi; exit ${EXIT.PROTOCOL}`;
  // TEJ_CALLER_PID: this shell's parent (sshd's session process, a login shell, or the local client),
  // which the shell read when it started, before this script arrived: a follower started after the
  // client left still knows whom to watch (logs.sh).
  // No VERSION: say whether the directory is absent (set it up) or something else (refuse), in the
  // reply format, so that the client can tell the two apart. A directory holding another client's
  // install in progress (.install.PID) is not foreign: this one installs too (each into its own dir).
  return (
    `Q=${q}; if test -f "$Q/VERSION"; then if ${check}; then ${pluginCheck}${marker ? `printf 'tej-stream-begins\\n'; ` : ''}` +
    `TEJ_CALLER_PID=$PPID; TEJ_ROOT=$(cd -P "$Q" && pwd -P); export TEJ_CALLER_PID TEJ_ROOT; eval "$tej_program"; tej_program=; ` +
    `tej_remote --proto ${PROTO} --hash ${hash} --verified ${[command, ...args].map(quoteArg).join(' ')}; exit; fi; ${mismatch}; fi; ` +
    `printf 'tej-proto=0\\n'; if test -e "$Q" && { test ! -d "$Q" || { test ! -f "$Q/tej-remote" && test -n "$(ls -A "$Q")" && ! ls -A "$Q" | grep -q '^\\.install\\.'; }; }; ` +
    `then printf 'queue=foreign\\n'; else printf 'queue=absent\\n'; fi; exit ${EXIT.UNAVAILABLE}`
  );
}

/**
 * A printf format that prints `data` exactly: printable ASCII as itself, every other byte (and `\`, `%`,
 * `'`, and a `-` that would begin the format) as an octal escape, which POSIX printf supports; so the
 * format is one line, needs no quoting but single quotes, and is never read as an option. A digit right
 * after an escape is escaped too (busybox reads `\0` and up to four digits), and NUL, the tar's
 * commonest byte, is the short `\0` when no digit follows.
 */
export function printfFormat(data: Uint8Array): string {
  // Written byte by byte into one buffer (at most 4 bytes per byte): a string per byte cost 1 ms per
  // small job's tar on a loaded machine, a session's 200 submits 0.2 s.
  const out = Buffer.allocUnsafe(data.length * 4);
  let at = 0;
  let escaped = false;
  for (let i = 0; i < data.length; i++) {
    const b = data[i]!;
    const digit = b >= 0x30 && b <= 0x39;
    // a leading `-` is escaped too: printf would take the format for an option (dash: "Illegal option")
    if (b >= 0x20 && b < 0x7f && b !== 0x5c && b !== 0x25 && b !== 0x27 && !(digit && escaped) && !(b === 0x2d && i === 0)) {
      out[at++] = b;
      escaped = false;
      continue;
    }
    out[at++] = 0x5c; // backslash
    const next = data[i + 1];
    if (b === 0 && !(next !== undefined && next >= 0x30 && next <= 0x39)) {
      out[at++] = 0x30;
    } else {
      out[at++] = 0x30 + (b >> 6);
      out[at++] = 0x30 + ((b >> 3) & 7);
      out[at++] = 0x30 + (b & 7);
    }
    escaped = true;
  }
  return out.toString('latin1', 0, at);
}

/** SCRIPT with DATA on its stdin, as one line for the session's shell: printf's output piped into it. */
export function withInlineStdin(script: string, data: Uint8Array): string {
  return `printf '${printfFormat(data)}' | (${script})`;
}
