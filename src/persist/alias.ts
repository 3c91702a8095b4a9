// The alias of a master's socket, apart from paths.ts so that the lean client loads nothing more.
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/**
 * The alias of a master's socket by the destination as typed (a symbolic link to `<h>.sock`): what a
 * lean client (lean-client.ts) finds without reading the SSH config. It only picks the master whose
 * worker runs the command; the worker resolves the destination again as any CLI does.
 */
export function aliasPath(dir: string, destination: string): string {
  return join(dir, `${createHash('sha256').update(`alias\0${destination}`).digest('hex').slice(0, 20)}.alias`);
}
