// What Ctrl-C says before tej exits with 130: a command past its point of no return (a submit whose job
// may start) leaves a last word here, so that the user learns what was left behind.
let lastWord: (() => void) | undefined;

/** Sets (or, with undefined, clears) what to print when tej is interrupted. */
export function onInterrupt(fn: (() => void) | undefined): void {
  lastWord = fn;
}

export function sayLastWord(): void {
  const fn = lastWord;
  lastWord = undefined;
  fn?.();
}
