// POSIX shell quoting. Every user string that reaches a remote shell goes through shQuote; nothing is
// ever interpolated unquoted.

/** Quote one word for a POSIX shell with single quotes. NUL cannot be passed and newlines are refused
 * because some login shells (csh) cannot carry them inside quotes. */
export function shQuote(word: string): string {
  if (word.includes('\0')) throw new TypeError('shQuote: a shell word cannot contain NUL');
  if (word.includes('\n') || word.includes('\r')) throw new TypeError('shQuote: a shell word cannot contain a newline');
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
