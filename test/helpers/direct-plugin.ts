// The direct plugin with a queue_submit of the test's: the shipped remote-scripts/queues/direct.sh, its
// queue_submit renamed direct_queue_submit, and a queue_submit that runs BODY around it. Tests that need
// a plugin of their own (a gate that holds the submit's answer, a note of each job submitted) start
// from it, so that they follow direct.sh as it changes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** remote-scripts/queues/direct.sh as shipped. */
export const DIRECT_PLUGIN = readFileSync(new URL('../../remote-scripts/queues/direct.sh', import.meta.url), 'utf8');

/** direct.sh with `queue_submit() {\n<BODY>\n}` calling `direct_queue_submit "$@"` where BODY says. */
export function directPluginWith(body: string): string {
  const renamed = DIRECT_PLUGIN.replace(/^queue_submit\(\) \{$/m, 'direct_queue_submit() {');
  assert.notEqual(renamed, DIRECT_PLUGIN, 'direct.sh defines queue_submit');
  return `${renamed}\nqueue_submit() {\n${body}\n}\n`;
}
