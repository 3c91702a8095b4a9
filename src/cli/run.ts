// The tej command line: yargs, one module per command. It sets the exit status from what a command threw
// (a command whose result is a state sets it itself: status, show, wait), and on SIGINT and SIGTERM.
// runCli is the whole run of one command in this process: bin/tej.js runs it (main.ts), and so does a
// --persist master's worker (src/persist/worker-main.ts) for a command a lean client forwarded.
import yargs from 'yargs';
import { EXIT, UsageError } from '../errors.js';
import { fromFsError } from '../fs-errors.js';
import { VERSION } from '../version.js';
import { globalOptions } from './context.js';
import { foldArrayOptions } from './fold-args.js';
import { normalizePersistArgs } from './persist.js';
import { printError } from './render.js';
import { clearStatusLine } from './progress.js';
import { sayLastWord } from './interrupt.js';
import { setupCommand } from './commands/setup.js';
import { submitCommand } from './commands/submit.js';
import { statusCommand } from './commands/status.js';
import { killCommand } from './commands/kill.js';
import { deleteCommand } from './commands/delete.js';
import { downloadCommand } from './commands/download.js';
import { lsCommand } from './commands/ls.js';
import { listCommand } from './commands/list.js';
import { schemaCommand } from './commands/schema.js';
import { waitCommand } from './commands/wait.js';
import { logsCommand } from './commands/logs.js';
import { execCommand } from './commands/exec.js';
import { forwardCommand } from './commands/forward.js';
import { shellCommand } from './commands/shell.js';
import { showCommand } from './commands/show.js';
import { resubmitCommand } from './commands/resubmit.js';
import { completionCommand } from './commands/completion.js';
import { disconnectCommand } from './commands/disconnect.js';
import { gcCommand } from './commands/gc.js';

/** The part of yargs' internals that caches the help text (yargs 17). */
interface YargsInternals {
  getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } };
}

/** A command's name: the first word of its yargs command ('status [destination..]'). */
const nameOf = (c: { command?: string | readonly string[] }) => String(c.command).split(' ')[0];

/** Every command's name. */
const COMMAND_NAMES = new Set(
  [setupCommand, submitCommand, statusCommand, downloadCommand, lsCommand, killCommand, deleteCommand, listCommand, schemaCommand, waitCommand, logsCommand, execCommand, forwardCommand, shellCommand, showCommand, resubmitCommand, completionCommand, disconnectCommand, gcCommand].map(nameOf),
);

/**
 * Which commands yargs is given: only the one the command line starts with, when it starts with one;
 * else all (top-level help, completion, a mistyped command, an option first). yargs runs only the
 * matched command's builder anyway, but registering the others cost a cold run (every CLI process,
 * every --persist worker) a share of its yargs time; `tej status --help` reads the same.
 */
function commandFilter(argv: string[]): <C extends { command?: string | readonly string[] }>(c: C) => C[] {
  const only = COMMAND_NAMES.has(argv[0] ?? '') && !argv.includes('--get-yargs-completions') ? argv[0] : undefined;
  return (c) => (only === undefined || nameOf(c) === only ? [c] : []);
}

/** The yargs of the command line `argv`, every option and command of tej on it (commandFilter). */
function buildCli(argv: string[]) {
  const wanted = commandFilter(argv);
  const cli = globalOptions(yargs(argv))
    .scriptName('tej')
    .usage('$0 <command> [destination] [options]\n\nRun jobs on machines you reach over SSH. With no destination, the queue is on this machine.')
    .command(wanted(setupCommand))
    .command(wanted(submitCommand))
    .command(wanted(statusCommand))
    .command(wanted(downloadCommand))
    .command(wanted(lsCommand))
    .command(wanted(killCommand))
    .command(wanted(deleteCommand))
    .command(wanted(listCommand))
    .command(wanted(schemaCommand))
    .command(wanted(waitCommand))
    .command(wanted(logsCommand))
    .command(wanted(execCommand))
    .command(wanted(forwardCommand))
    .command(wanted(shellCommand))
    .command(wanted(showCommand))
    .command(wanted(resubmitCommand))
    .command(wanted(completionCommand))
    .command(wanted(disconnectCommand))
    .command(wanted(gcCommand))
    .completion('__yargs-completion-script', false) // only for --get-yargs-completions; `tej completion` prints the script
    .demandCommand(1, 'name a command (tej --help lists them)')
    .strict()
    .version(VERSION)
    .help()
    .alias('h', 'help')
    // the terminal's width (yargs stops at 80), at most 120 for readability; 80 when not a terminal
    .wrap(Math.min(120, process.stdout.columns || 80))
    .epilog('Destinations: [user@]host, ssh://[user@]host[:port], or a Host from ~/.ssh/config.')
    .fail((msg, err) => {
      throw err ?? new UsageError(msg, { hint: 'tej --help shows the usage' });
    });

  // yargs renders the whole help text each time it has started a command's handler, to have it for a
  // failure later; tej's failures never print it (.fail throws), and that rendering was a tenth of the
  // CPU a short command costs a --persist worker (cliui laying out every option).
  (cli as unknown as YargsInternals).getInternalMethods().getUsageInstance().cacheHelpMessage = () => undefined;
  return cli;
}

/**
 * Runs yargs once over a command line like a short command's, the help of status, with nothing
 * printed and nothing run: a --persist worker does it before it says it is ready, so that the command
 * it gets runs yargs' code compiled already (V8 compiles a function on its first call: a cold worker
 * spent most of a status's CPU in yargs).
 */
export async function warmCli(): Promise<void> {
  await buildCli(['status', 'h', '--id', 'x', '--help']).parseAsync(['status', 'h', '--id', 'x', '--help'], {}, () => undefined);
}

/** Runs the command line `args` (without node and the script) in this process; sets process.exitCode. */
export async function runCli(args: string[]): Promise<void> {
  process.on('SIGINT', () => {
    clearStatusLine();
    process.stderr.write('tej: interrupted\n');
    sayLastWord();
    process.exit(EXIT.INTERRUPTED);
  });
  // As SIGINT: through process.exit, whose 'exit' handlers remove a download's temporary files.
  process.on('SIGTERM', () => {
    clearStatusLine();
    process.stderr.write('tej: terminated\n');
    process.exit(EXIT.TERMINATED);
  });

  // A reader that stops early (`tej logs -f | head`) ends tej quietly, as it would a shell tool.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(EXIT.OK);
  });

  const argv = foldArrayOptions(normalizePersistArgs(args));
  const verbose = argv.includes('-v') || argv.includes('--verbose');

  const cli = buildCli(argv);
  try {
    await cli.parseAsync();
  } catch (err) {
    // A local file system error that no command explained is still the user's path, not a bug in tej.
    process.exitCode = printError(fromFsError(err), verbose);
  }
}
