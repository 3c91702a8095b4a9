// Colour on the terminal, following https://no-color.org: only on a TTY, never when NO_COLOR is set (to
// anything but ''), FORCE_COLOR=1 turns it on for pipes (FORCE_COLOR=0 turns it off). Plain ANSI codes.

export type Style = 'red' | 'yellow' | 'green' | 'cyan' | 'dim' | 'bold';

const CODES: Record<Style, [number, number]> = {
  red: [31, 39],
  yellow: [33, 39],
  green: [32, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
};

export interface Stream {
  isTTY?: boolean;
}

/** NO_COLOR wins over FORCE_COLOR: it is the user's own opt-out. */
export function colorEnabled(stream: Stream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return !['0', 'false'].includes(force);
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

/** TEXT in the given styles when the stream takes colour, else TEXT unchanged. */
export function paint(stream: Stream, text: string, ...styles: Style[]): string {
  if (styles.length === 0 || !colorEnabled(stream)) return text;
  return styles.reduceRight((t, s) => `\x1b[${CODES[s][0]}m${t}\x1b[${CODES[s][1]}m`, text);
}

/** Shorthand for messages on stderr. */
export function paintErr(text: string, ...styles: Style[]): string {
  return paint(process.stderr, text, ...styles);
}
