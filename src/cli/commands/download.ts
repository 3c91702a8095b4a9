import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';
import { isGlob } from '../../job/select.js';
import { selectIds } from '../select.js';
import { literalSpec, needsListing } from '../../download/sync-plan.js';
import { downloadSync, watchInterval } from './download-sync.js';

interface Args extends GlobalArgs {
  specs?: string[];
  id?: string;
  update?: boolean;
  checksum?: boolean;
  watch?: string;
}

export const downloadCommand: CommandModule<GlobalArgs, Args> = {
  command: 'download [specs..]',
  describe: 'Fetch files of a job: FILE (into .), FILE: (to stdout), FILE:DEST',
  builder: (y) =>
    y
      .positional('specs', { type: 'string', array: true, describe: '[destination] SPEC...' })
      .option('id', { type: 'string', describe: "Job id; a glob ('sweep/*') downloads from each job it matches into ./ID/", demandOption: true })
      .option('update', { type: 'boolean', describe: 'Fetch only files whose size or mtime differ from the local copy' })
      .option('checksum', { type: 'boolean', describe: 'With --update/--watch: a file of the same size but another mtime is compared by sha256 before it is sent' })
      .option('watch', { type: 'string', describe: 'Fetch what changed every INTERVAL (default 10s) until the job ends, then once more' }),
  handler: async (argv) => {
    // Words after `--` are specs (yargs leaves them in `_`, after the command's name): `-- -x.csv`.
    const afterDashes = (argv._ ?? []).slice(1).map(String);
    // Only a word before them can be the destination.
    const specs = argv.specs ?? [];
    const watchSeconds = watchInterval(argv.watch, specs); // a bare --watch may have taken a spec as its value
    const all = [...specs, ...afterDashes];
    const { destination, rest } = specs.length > 0 ? await splitDestination(all, 'some') : { destination: undefined, rest: all };
    if (rest.length === 0) throw new UsageError('nothing to download', { hint: 'name files: out.txt, log.txt: (stdout), res.csv:/tmp/r.csv' });
    if (argv.update || argv.checksum || watchSeconds !== undefined || needsListing(rest)) {
      const sync = { id: argv.id!, update: (argv.update || argv.checksum) ?? false, checksum: argv.checksum ?? false, watchSeconds, json: argv.json ?? false, quiet: argv.quiet ?? false };
      return withQueue(destination, argv, (q) => downloadSync(q, rest, sync));
    }
    const plain = rest.map(literalSpec);
    const results = await withQueue(destination, argv, async (q) => {
      if (!isGlob(argv.id!)) return q.download(argv.id!, plain, { cwd: process.cwd(), stdout: process.stdout });
      // a glob (the tasks of an array: 'sweep/*'): each job's files into ./ID/ (./sweep/3/...), one job after another
      const all = [];
      for (const id of await selectIds(q, { id: [argv.id!] })) {
        const cwd = join(process.cwd(), id);
        await mkdir(cwd, { recursive: true });
        all.push(...(await q.download(id, plain, { cwd, stdout: process.stdout })));
      }
      return all;
    });
    for (const r of results) {
      if (argv.json && r.destination !== '-') printJson(r);
      if (r.skipped.length > 0 && !argv.quiet) {
        process.stderr.write(`tej: warning: skipped ${r.skipped.length} entries that would point outside ${r.destination}: ${r.skipped.slice(0, 5).join(', ')}\n`);
      }
    }
  },
};
