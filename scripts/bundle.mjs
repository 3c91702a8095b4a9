// Bundles the CLI into dist/bundle/ (after tsc has built dist/): Node's ESM loader spends more time on
// a hundred small modules (yargs and tej's own) than on their code; one file starts ~70 ms sooner.
// ssh2 stays in a chunk of its own, loaded only when a host is used; ajv and tar-stream stay external
// and load on first use. The library (dist/index.js) is not bundled.
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const outdir = fileURLToPath(new URL('../dist/bundle/', import.meta.url));
rmSync(outdir, { recursive: true, force: true }); // chunk names are hashed: old ones would pile up
await build({
  entryPoints: {
    tej: fileURLToPath(new URL('../dist/cli/main.js', import.meta.url)),
    // the persistent-connection master (bin/tej.js __persist-master)
    'persist-master': fileURLToPath(new URL('../dist/persist/master-main.js', import.meta.url)),
    // the master's worker, which runs a command for a lean client (bin/tej.js __persist-worker)
    'persist-worker': fileURLToPath(new URL('../dist/persist/worker-main.js', import.meta.url)),
    // the lean client: a command through a running master without loading the CLI
    'persist-lean': fileURLToPath(new URL('../dist/persist/lean-client.js', import.meta.url)),
  },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  external: ['ssh2', 'ajv'],
  // cliui's ESM build wraps help text every N characters, mid-word; its CommonJS build wraps at words
  alias: { cliui: fileURLToPath(new URL('../node_modules/cliui/build/index.cjs', import.meta.url)) },
  logLevel: 'warning',
});
