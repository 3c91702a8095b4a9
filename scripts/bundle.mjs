// Bundles the CLI into dist/bundle/ (after tsc has built dist/): Node's loaders spend more time on a
// hundred small modules (yargs and tej's own) than on their code; one file starts ~70 ms sooner. The CLI
// is one CommonJS file, which bin/tej.js runs with a V8 code cache (src/code-cache.ts): an ES module
// cannot have one in Node 20, and compiling the bundle afresh cost every command ~25 ms. ssh2 is a file
// of its own, loaded only when a host is used; ajv and tar-stream stay external and load on first use.
// The library (dist/index.js) is not bundled.
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const outdir = fileURLToPath(new URL('../dist/bundle/', import.meta.url));
rmSync(outdir, { recursive: true, force: true }); // chunk names are hashed: old ones would pile up

// The shipped helpers' hashes, computed once here rather than in every command (src/remote/built.ts)
const { loadBundle, helperLines } = await import('../dist/remote/bundle.js');
const { helperProgram } = await import('../dist/remote/program.js');
const shipped = await loadBundle();
const builtHelpers = { bundle: shipped.hash, program: helperProgram(shipped).sha256, lines: helperLines(shipped) };

// What every build here is: one file for Node 20, quiet unless something is wrong
const node = { bundle: true, platform: 'node', target: 'node20', logLevel: 'warning' };
// the same, as CommonJS
const commonJs = { ...node, format: 'cjs' };

// What the CLI's builds share: cliui and yargs as the CLI needs them, and the helpers' hashes.
const cli = {
  ...node,
  define: { TEJ_BUILT_HELPERS: JSON.stringify(builtHelpers) },
  // cliui's ESM build wraps help text every N characters, mid-word; its CommonJS build wraps at words
  alias: { cliui: fileURLToPath(new URL('../node_modules/cliui/build/index.cjs', import.meta.url)) },
  plugins: [
    {
      // yargs guesses a version when it is made (tej then sets its own): it lists the directory above
      // its node_modules, in a checkout the working directory, and up, for a package.json, and reads the
      // first it finds. That cost every command a readdir of the user's directory (20000 entries read
      // here) and hung on a FIFO named package.json (anyone can make one in /tmp). tej reads no
      // package.json through yargs (no pkgConf): its shim finds none.
      name: 'yargs-no-package-lookup',
      setup(b) {
        b.onLoad({ filter: /[\\/]yargs[\\/]lib[\\/]platform-shims[\\/]esm\.mjs$/ }, (a) => {
          const text = readFileSync(a.path, 'utf8');
          const patched = text.replace('findUp: escalade,', 'findUp: () => undefined,');
          if (patched === text) throw new Error(`scripts/bundle.mjs: ${a.path} no longer has 'findUp: escalade,'`);
          return { contents: patched, loader: 'js', resolveDir: dirname(a.path) };
        });
      },
    },
  ],
};

// A CommonJS build of modules that find the package from their own place (import.meta.url): the URL of
// the file they are bundled in
const commonJsUrl = {
  define: { 'import.meta.url': '__tejFileUrl' },
  banner: { js: `var __tejFileUrl = require('node:url').pathToFileURL(__filename).href;` },
};

await build({
  ...cli,
  ...commonJsUrl,
  define: { ...cli.define, ...commonJsUrl.define },
  entryPoints: [fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))],
  format: 'cjs',
  outfile: `${outdir}tej.cjs`,
  external: ['ssh2', 'ajv'],
});

// The code cache's runner, for bin/tej.js
await build({
  ...commonJs,
  entryPoints: [fileURLToPath(new URL('../dist/code-cache.js', import.meta.url))],
  outfile: `${outdir}code-cache.cjs`,
});

await build({
  ...cli,
  entryPoints: {
    // the persistent-connection master (bin/tej.js __persist-master)
    'persist-master': fileURLToPath(new URL('../dist/persist/master-main.js', import.meta.url)),
    // the master's worker, which runs a command for a lean client (bin/tej.js __persist-worker)
    'persist-worker': fileURLToPath(new URL('../dist/persist/worker-main.js', import.meta.url)),
  },
  splitting: true,
  format: 'esm',
  outdir,
  external: ['ssh2', 'ajv'],
});

// The lean client (a command through a running --persist master) as one CommonJS file that bin/tej.js
// requires: importing it as an ES module started Node's ESM loader, 8 ms of CPU of each such command
// (20 runs: 84-86 ms for node with the CommonJS file, 93-94 ms with the module, 76-78 for node -e 0).
await build({
  ...commonJs,
  entryPoints: [fileURLToPath(new URL('../dist/persist/lean-client.js', import.meta.url))],
  outfile: `${outdir}persist-lean.cjs`,
  // its package root is found from its own place, as from the module's (lean-client.ts packageRoot)
  ...commonJsUrl,
});

// ssh2 as one CommonJS file (src/ssh/ssh2-load.ts runs it with a V8 code cache): its ~40 modules each
// resolved, read and compiled cost ~30 ms of CPU at every login. Only the client's modules are in it,
// and two that a login never needs run only when used: bcrypt-pbkdf (with tweetnacl: passphrase-protected
// keys) and the SFTP client. The native crypto binding and cpu-features stay ssh2's own files, required
// from where ssh2 is installed, so that the bundle uses them exactly when ssh2 would.
const requireHere = createRequire(import.meta.url);
const ssh2Lib = requireHere.resolve('ssh2/lib/client.js').replace(/client\.js$/, '');
await build({
  ...commonJs,
  entryPoints: [fileURLToPath(new URL('./ssh2-entry.cjs', import.meta.url))],
  outfile: `${outdir}ssh2.cjs`,
  // read by src/ssh/ssh2-load.ts, which uses the bundle only with the ssh2 it was built from installed
  banner: { js: `// ssh2@${requireHere('ssh2/package.json').version}` },
  plugins: [
    {
      name: 'ssh2-lean',
      setup(b) {
        // ssh2's own native files: required at run time from ssh2's directory (a try/catch in ssh2 handles their absence)
        b.onResolve({ filter: /^(cpu-features|\.\/crypto\/build\/Release\/sshcrypto\.node)$/ }, (a) => ({ path: a.path, namespace: 'ssh2-native', pluginData: a.importer }));
        b.onLoad({ filter: /.*/, namespace: 'ssh2-native' }, (a) => ({
          contents:
            `const { createRequire } = require('node:module');\n` +
            `const from = createRequire(__filename).resolve(${JSON.stringify(`ssh2/lib/${a.pluginData.slice(ssh2Lib.length)}`)});\n` +
            `module.exports = createRequire(from)(${JSON.stringify(a.path)});`,
          loader: 'js',
        }));
        // run on first use: keyParser keeps the function, client.js the class, both called only when needed
        b.onResolve({ filter: /^bcrypt-pbkdf$/ }, (a) => (a.namespace === 'lazy' ? undefined : { path: 'bcrypt-pbkdf', namespace: 'lazy' }));
        b.onResolve({ filter: /\/SFTP\.js$/ }, (a) => (a.namespace === 'lazy' ? undefined : { path: `${ssh2Lib}protocol/SFTP.js`, namespace: 'lazy' }));
        b.onLoad({ filter: /^bcrypt-pbkdf$/, namespace: 'lazy' }, () => ({
          contents: `const real = () => require('bcrypt-pbkdf');\nmodule.exports = { pbkdf: (...a) => real().pbkdf(...a) };`,
          resolveDir: ssh2Lib,
          loader: 'js',
        }));
        b.onLoad({ filter: /SFTP\.js$/, namespace: 'lazy' }, (a) => ({
          contents: `const real = () => require(${JSON.stringify(a.path)});\nmodule.exports = { SFTP: class SFTP { constructor(...a) { return new (real().SFTP)(...a); } } };`,
          resolveDir: ssh2Lib,
          loader: 'js',
        }));
      },
    },
  ],
});
