// Patterns in download specs ('ckpt/*.pt', '**/*.csv'), matched by the client against the names the
// host listed (remote-scripts/commands/files.sh): a pattern never reaches a shell, and only names of
// regular files inside the job's work/ are ever candidates. `*` and `?` stay inside one path segment,
// `**` as a whole segment spans any number of them (none included), `[...]` is a class (`[!...]` or
// `[^...]` negated), `\` makes the next character literal (a file named `a*b` is `a\*b`). A leading dot
// is matched like any other character.

/** Whether a spec's job path is a pattern: it holds `*`, `?` or `[` (escaped or not, see isLiteral). */
export function isPattern(path: string): boolean {
  return /[*?[]/.test(path);
}

const regexChar = (c: string) => c.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');

/** The class at pattern[i] (just after `[`), as a regex class and the index after its `]`; undefined when it is not closed. */
function charClass(pattern: string, i: number): { re: string; next: number } | undefined {
  let j = i;
  let negate = false;
  if (pattern[j] === '!' || pattern[j] === '^') {
    negate = true;
    j++;
  }
  let body = '';
  let first = true;
  while (j < pattern.length && (pattern[j] !== ']' || first)) {
    let c = pattern[j]!;
    if (c === '\\' && j + 1 < pattern.length) c = pattern[++j]!;
    else if (c === '-' && !first && pattern[j + 1] !== ']' && j + 1 < pattern.length) {
      body += '-';
      j++;
      first = false;
      continue;
    }
    if (c === '/') return undefined; // a class never spans a separator: the bracket is literal
    body += regexChar(c);
    first = false;
    j++;
  }
  if (j >= pattern.length) return undefined;
  return { re: `[${negate ? '^/' : ''}${body}]`, next: j + 1 };
}

/** A RegExp that matches a whole relative path (segments joined by `/`) against `pattern`. */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  let i = 0;
  const atSegmentStart = () => i === 0 || pattern[i - 1] === '/';
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*' && atSegmentStart() && (i + 2 === pattern.length || pattern[i + 2] === '/')) {
      // '**/' matches no segment or any number of them; a final '**' anything below
      if (i + 2 === pattern.length) re += '.*';
      else re += '(?:[^/]+/)*';
      i += 3;
      continue;
    }
    if (c === '*') {
      re += '[^/]*';
      while (pattern[i] === '*') i++;
      continue;
    }
    if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += regexChar(pattern[++i]!);
    else if (c === '[') {
      const cls = charClass(pattern, i + 1);
      if (cls) {
        re += cls.re;
        i = cls.next;
        continue;
      }
      re += '\\[';
    } else re += regexChar(c);
    i++;
  }
  return new RegExp(`^${re}$`, 's');
}

/** The path a pattern without wildcards names: its `\` escapes removed. */
export function unescapePattern(pattern: string): string {
  return pattern.replace(/\\(.)/gs, '$1');
}

/** Whether a pattern's wildcards are all escaped: it names one path. */
export function isLiteral(pattern: string): boolean {
  return !/(^|[^\\])(\\\\)*[*?[]/.test(pattern);
}
