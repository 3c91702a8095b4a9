// tar-stream, loaded on first use: status, list and kill never need it, and it costs tens of
// milliseconds of start-up.
import { createRequire } from 'node:module';
import type tarStream from 'tar-stream';

export type { Pack, Extract } from 'tar-stream';

let loaded: typeof tarStream | undefined;

export function tar(): typeof tarStream {
  loaded ??= createRequire(import.meta.url)('tar-stream') as typeof tarStream;
  return loaded;
}
