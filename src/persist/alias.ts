// The alias of a master's socket, apart from paths.ts so that the lean client loads nothing more.
import { join } from 'node:path';

/**
 * The alias of a master's socket by the destination as typed (a symbolic link to `<h>.sock`): what a
 * lean client (lean-client.ts) finds without reading the SSH config. It only picks the master whose
 * worker runs the command; the worker resolves the destination again as any CLI does, and goes through
 * the master of that (persistentTransport) if it is another. So the name needs no cryptographic hash:
 * 64-bit FNV-1a, where node:crypto cost the lean client 1-3 ms to load (its socket dir is private).
 */
export function aliasPath(dir: string, destination: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`alias\0${destination}`)) h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return join(dir, `${h.toString(16).padStart(16, '0')}.alias`);
}
