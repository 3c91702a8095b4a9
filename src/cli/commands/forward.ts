import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';
import { parseForwardSpec, type ForwardSpec } from '../../job/forward.js';
import type { Queue } from '../../queue.js';
import { type GlobalArgs, splitDestination, withQueue } from '../context.js';
import { printJson } from '../render.js';

interface Args extends GlobalArgs {
  destination?: string[];
  id?: string | string[];
}

const HINT = 'tej forward [DEST] --id ID [LOCAL:]PORT...';

/** Ports look like a destination to yargs' positionals: the last words that are [LOCAL:]PORT are ports. */
function splitPorts(words: string[]): { destination: string[]; ports: string[] } {
  let i = words.length;
  while (i > 0 && /^[0-9]+(:[0-9]+)?$/.test(words[i - 1]!)) i--;
  return { destination: words.slice(0, i), ports: words.slice(i) };
}

export const forwardCommand: CommandModule<GlobalArgs, Args> = {
  command: 'forward [destination..]',
  describe: "Forward local ports to ports on the machine a job runs on (a Slurm job's node) until Ctrl-C or the job's end",
  builder: (y) =>
    y
      .parserConfiguration({ 'parse-positional-numbers': false })
      .option('id', { type: 'string', requiresArg: true, describe: 'Job id' }) // one: the ports may follow it
      .example('$0 forward hpc --id nb 8888', "the job's Jupyter on http://127.0.0.1:8888")
      .example('$0 forward hpc --id train 0:6006', 'its TensorBoard on a free local port'),
  handler: async (argv) => {
    const { destination: words, ports } = splitPorts((argv.destination ?? []).map(String));
    const { destination } = await splitDestination(words, 0);
    const ids = [argv.id ?? []].flat().map(String);
    if (ids.length !== 1) throw new UsageError('forward takes exactly one --id', { hint: HINT });
    if (ports.length === 0) throw new UsageError('forward needs a port', { hint: HINT });
    const specs = ports.map(parseForwardSpec); // a bad one fails before the host is touched
    // A --persist master relays commands, not TCP channels: the forward has a connection of its own.
    await withQueue(destination, { ...argv, persist: 'off' }, (q) => runForward(q, ids[0]!, specs, argv));
  },
};

/** Forwards, prints the local URLs (or the JSON document), and resolves when the forward ends. */
export async function runForward(q: Queue, id: string, specs: ForwardSpec[], argv: GlobalArgs): Promise<void> {
  const fwd = await q.forward(id, specs);
  if (argv.json) printJson({ id, node: fwd.node, ports: fwd.ports });
  else for (const p of fwd.ports) process.stdout.write(`${p.url}\n`);
  if (!argv.quiet) process.stderr.write(`tej: forwarding to job ${id} on ${fwd.node === '127.0.0.1' ? q.host : `${fwd.node} via ${q.host}`}; Ctrl-C ends it\n`);
  const end = await fwd.ended;
  if (!argv.quiet) process.stderr.write(`tej: job ${id} is ${end.state ?? 'no longer running'}: the forward ended\n`);
}
