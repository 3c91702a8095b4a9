// `tej gc [DEST] [--max-bytes N]`: trims the queue's content store (src/job/store.ts) by hand, least
// recently used contents first, down to N bytes (default: the host's store_max_bytes). Jobs own copies
// of their files: trimming never touches a job, and contents a submit in flight is placing are kept.
import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { formatBytes } from '../progress.js';
import { printJson } from '../render.js';

interface Args extends GlobalArgs {
  destination?: string[];
  'max-bytes'?: string;
}

export const gcCommand: CommandModule<GlobalArgs, Args> = {
  command: 'gc [destination..]',
  describe: "Trim the queue's content store of uploaded files, least recently used first",
  builder: (y) =>
    y
      .positional('destination', { type: 'string', array: true })
      .option('max-bytes', { type: 'string', describe: "Trim down to this many bytes (default: the queue's store_max_bytes, 2 GiB); 0 empties it" }),
  handler: async (argv) => {
    const { destination } = await splitDestination(argv.destination ?? [], 0);
    const max = argv['max-bytes'];
    if (max !== undefined && !/^\d{1,18}$/.test(String(max))) {
      throw new UsageError(`bad --max-bytes '${String(max)}'`, { hint: 'give a whole number of bytes, e.g. --max-bytes 1000000000' });
    }
    await withQueue(destination, argv, async (q) => {
      const { reply } = await q.call('store', ['gc', ...(max !== undefined ? [String(max)] : [])]);
      const r = reply!.header;
      const on = r.store === 'on';
      const out = { store: on, store_bytes: Number(r.store_bytes ?? 0), removed_files: Number(r.removed ?? 0), removed_bytes: Number(r.removed_bytes ?? 0) };
      if (argv.json) printJson(out);
      else if (!on) process.stdout.write('this queue keeps no content store (no sha256 tool on the host, or store_max_bytes=0)\n');
      else process.stdout.write(`removed ${out.removed_files} contents (${formatBytes(out.removed_bytes)}); the store holds ${formatBytes(out.store_bytes)}\n`);
    });
  },
};
