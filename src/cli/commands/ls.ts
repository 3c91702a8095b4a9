// tej ls [DEST] --id ID [PATH]: a job's files over SFTP (src/job/ls.ts).
import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import type { JobFileEntry } from '../../job/ls.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';

interface Args extends GlobalArgs {
  args?: string[];
  id?: string;
}

/** One line per entry: type letter, size, mtime (UTC), name; a directory's name ends in '/'. */
export function lsLine(e: JobFileEntry): string {
  const letter = { file: '-', dir: 'd', symlink: 'l', other: '?' }[e.type];
  const when = new Date(e.mtime * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return `${letter} ${String(e.size).padStart(12)} ${when} ${e.name}${e.type === 'dir' ? '/' : ''}`;
}

export const lsCommand: CommandModule<GlobalArgs, Args> = {
  command: 'ls [args..]',
  describe: "List a job's files over SFTP: [destination] [PATH] (PATH relative to its work/)",
  builder: (y) =>
    y
      .positional('args', { type: 'string', array: true, describe: '[destination] [PATH]' })
      .option('id', { type: 'string', describe: 'Job id (a task of an array: ID/N)', demandOption: true }),
  handler: async (argv) => {
    const words = (argv.args ?? []).map(String);
    if (words.length > 2) throw new UsageError(`expected [destination] [PATH], got ${words.length} arguments`);
    // one word: a destination when it looks like one (user@host, an ssh config alias), else a PATH
    const { destination, rest } = words.length === 2 ? await splitDestination(words, 1) : await splitDestination([...words, '.'], 'some');
    const path = words.length === 2 ? rest[0] : words.length === 1 && destination === undefined ? words[0] : undefined;
    const entries = await withQueue(destination, argv, (q) => q.ls(argv.id!, path));
    if (argv.json) printJson({ id: argv.id, path: path ?? '.', entries });
    else process.stdout.write(entries.map((e) => `${lsLine(e)}\n`).join(''));
  },
};
