// What scripts/bundle.mjs computed of the shipped helpers when it built the CLI's bundle: their bundle
// hash, the sha256 of the helper program made from them and each helper's sha256sum line. A command
// needs the hashes for its call's check, and building the program's text (312 KB then) to hash it took
// 7-11 ms of each command here. Used only while the helpers are the ones the build saw (their bundle
// hash covers every path, mode and byte); outside the CLI's bundle (the library, tests) it is undefined.
import type { Bundle } from './bundle.js';

export interface BuiltHelpers {
  bundle: string;
  program: string;
  lines: string[];
}

// replaced by scripts/bundle.mjs (esbuild's define)
declare const TEJ_BUILT_HELPERS: BuiltHelpers | undefined;

/** The build's figures for BUNDLE, when it is the bundle the build saw. */
export function builtFor(bundle: Bundle): BuiltHelpers | undefined {
  const built = typeof TEJ_BUILT_HELPERS === 'undefined' ? undefined : TEJ_BUILT_HELPERS;
  return built?.bundle === bundle.hash ? built : undefined;
}
