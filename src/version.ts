// Release version and remote protocol version.
import { packageJson } from './package-root.js';

/** The protocol spoken with remote-scripts/ (docs/protocol.md). Bump on incompatible changes. */
export const PROTO = 1;

export const VERSION: string = packageJson<{ version: string }>('package.json').version;
