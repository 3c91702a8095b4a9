// POSIX shell quoting. Every user string that reaches a remote shell goes through shQuote; nothing is
// ever interpolated unquoted. The login shell never sees any of it: scripts travel on stdin to /bin/sh
// (src/transport/remote-command.ts), one line each (shLine).

/** Quote one word for a POSIX shell with single quotes. NUL cannot be passed. */
export function shQuote(word: string): string {
  if (word.includes('\0')) throw new TypeError('shQuote: a shell word cannot contain NUL');
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Quote a path, letting a leading `~/` expand to the remote $HOME. */
export function shQuotePath(path: string): string {
  if (path === '~') return '"$HOME"';
  if (path.startsWith('~/')) return `"$HOME"/${shQuote(path.slice(2))}`;
  return shQuote(path);
}

export function shJoin(argv: readonly string[]): string {
  return argv.map(shQuote).join(' ');
}

/**
 * One line of POSIX sh that runs `script` exactly as `eval` would, for the shells that read scripts a line
 * at a time. A script without a newline is the line itself; otherwise the line defines NL and evals the
 * script as one quoted word whose newlines are spelled "$NL".
 */
export function shLine(script: string): string {
  if (script.includes('\0')) throw new TypeError('shLine: a script cannot contain NUL');
  if (!script.includes('\n')) return script;
  const word = `'${script.replace(/'/g, `'\\''`).replace(/\n/g, `'"$NL"'`)}'`;
  return `NL=$(printf '\\n_'); NL=\${NL%_}; eval ${word}`;
}

/** Like shLine, but always a single `eval` of one quoted word: safe to wrap in ( ) whatever the script. */
export function shEvalLine(script: string): string {
  if (!script.includes('\n')) return `eval ${shQuote(script)}`;
  return shLine(script);
}
