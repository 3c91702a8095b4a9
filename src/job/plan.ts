// What a submit would send: the job directory scanned through its ignore rules, with the script checked.
// Shared by `submit` and `submit --dry-run`, so that the dry run shows exactly what a real one sends.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError } from '../errors.js';
import { loadJobFilter } from './ignore.js';
import { scanJobDir, type Scan } from './pack.js';

export interface PlanOptions {
  /** Script to run, relative to the job directory. @default 'start.sh' (unless `command` is given) */
  script?: string;
  /** A command line run instead of a script: no script needs to be present. */
  command?: string;
  /** gitignore patterns excluded on top of the job's .tejignore. */
  exclude?: string[];
}

export interface JobPlan extends Scan {
  /** The script that will run, when the job runs a script rather than a command. */
  script?: string;
}

export async function planJob(dir: string, options: PlanOptions = {}): Promise<JobPlan> {
  const filter = await loadJobFilter(dir, options.exclude);
  const scan = await scanJobDir(dir, filter.excludes);
  if (options.command !== undefined) return scan;
  const script = options.script ?? 'start.sh';
  const entry = scan.entries.find((e) => e.path === script);
  if (!entry || entry.type === 'directory') {
    const rule = filter.ruleFor(script);
    if (rule) {
      throw new InvalidInputError(`the job's script '${script}' is excluded from the upload by the pattern ${rule}`, {
        hint: `remove that pattern, or add '!${script}' after it in .tejignore`,
      });
    }
    throw new InvalidInputError(`job directory '${dir}' has no ${script}`, {
      hint: 'add a start.sh, name another script with --script FILE, or give a command with --script "CMD"',
    });
  }
  await refuseCrlf(join(dir, script), script);
  return { ...scan, script };
}

// A CRLF script fails on the host as "bad interpreter" or "not found" (exit 127): say so before the upload.
async function refuseCrlf(path: string, script: string): Promise<void> {
  let head: Buffer;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      head = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return; // unreadable: the scan reports it
  }
  const eol = head.indexOf(0x0a);
  if (eol > 0 && head[eol - 1] === 0x0d) {
    throw new InvalidInputError(`the job's script '${script}' has Windows (CRLF) line endings, which the host's shell cannot run`, {
      hint: `convert it, e.g. with dos2unix ${script} (or sed -i 's/\r$//' ${script}), and submit again`,
    });
  }
}
