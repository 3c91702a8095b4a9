// A test job whose grandchildren run in background subshells, one of them deaf to TERM: kill, delete
// --kill and time limits must end every one of them. It writes `ready` once it has started them all.
// Shared by the helper-level (test/remote-scripts) and end-to-end (test/integration) userland tests.
export const FAMILY = [
  '( sleep 1001 & wait ) &',
  '( ( sleep 1002 & ) ; sleep 1003 ) &',
  "( trap '' TERM; sleep 1004 ) &",
  'echo ready > ready',
  'wait',
  '',
].join('\n');

/** Matches the command line of each of FAMILY's four sleeps (a pgrep -f pattern, or new RegExp()). */
export const FAMILY_SLEEPS = 'sleep 100[1-4]';
