#!/usr/bin/env node
// `tej --version` answers before anything is loaded (yargs, ssh2 and ajv cost more than node itself).
const args = process.argv.slice(2);
if (args.length === 1 && args[0] === '--version') {
  const { readFileSync } = await import('node:fs');
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else if (args[0] === '__persist-master') {
  await import('../dist/bundle/persist-master.js'); // started by tej itself: src/persist/start.ts
} else if (args[0] === '__persist-worker') {
  await import('../dist/bundle/persist-worker.js'); // started by a master: src/persist/workers.ts
} else {
  // Through a running --persist master, the command runs in its worker: this process only relays.
  const persist = args.some((a) => a === '--persist' || a.startsWith('--persist=')) || !!process.env.TEJ_PERSIST;
  if (!(persist && (await (await import('../dist/bundle/persist-lean.js')).runThroughMaster(args)))) await import('../dist/bundle/tej.js');
}
