// Release version and remote protocol version.
import { createRequire } from 'node:module';

/** The protocol spoken with remote-scripts/ (docs/protocol.md). Bump on incompatible changes. */
export const PROTO = 1;

export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
