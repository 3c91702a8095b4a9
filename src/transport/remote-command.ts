// The only command strings tej gives sshd, which hands them to the user's login shell (`$SHELL -c`).
// That shell may be tcsh (history expansion of `!` even inside single quotes, no newline in quotes) or
// fish (`\'` inside single quotes), so these strings are constants that every shell parses alike: one
// line, one single-quoted word without `!`, `\` or `'` in it. Everything variable (the script, its
// arguments, the upload) travels on stdin to /bin/sh.

/**
 * A channel for one script: /bin/sh reads the script's one line (shLine) from stdin and evals it; `read`
 * takes the bytes up to the newline and no more (POSIX: a shell reads a pipe a byte at a time for read),
 * so the rest of stdin is the script's own (an upload).
 */
export const EXEC_COMMAND = `/bin/sh -c 'IFS= read -r l && eval "$l"'`;
/** EXEC_COMMAND's script, for a local /bin/sh. */
export const EXEC_SCRIPT = 'IFS= read -r l && eval "$l"';

/** The persistent shell (src/transport/shell-session.ts): requests are lines on its stdin. */
export const SESSION_COMMAND = '/bin/sh';

/** Every command tej may run on a host: a persistent-connection master relays these and nothing else. */
export const REMOTE_COMMANDS: readonly string[] = [EXEC_COMMAND, SESSION_COMMAND];
