// The tasks of an array test stamp "start N" and "end N" lines into one log as they run: how many ran
// at once, at most, is the throttle the test checks (no timing: the order of the lines alone).

/** The most tasks running at once, from a log of "start N" / "end N" lines in the order written. */
export function mostAtOnce(log: string[]): number {
  let now = 0;
  let most = 0;
  for (const line of log) {
    now += line.startsWith('start') ? 1 : -1;
    most = Math.max(most, now);
  }
  return most;
}
