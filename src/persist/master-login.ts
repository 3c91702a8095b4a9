// The master's login: it connects as a direct CLI would, and relays the login's events and prompts to
// the CLI that started it over Node's IPC channel (that CLI owns the terminal and TEJ_ASKPASS).
import { SshTransport } from '../transport/ssh.js';
import type { FromParent, MasterArgs, ToParent } from './master.js';
import { fromWire } from './wire-error.js';

export function send(message: ToParent): void {
  if (process.connected) process.send?.(message);
}

/** Connects to args.destination; prompts go to the starting CLI when it can answer them. */
export function login(args: MasterArgs): Promise<SshTransport> {
  let prompts = 0;
  const answers = new Map<number, (m: FromParent) => void>();
  process.on('message', (m: FromParent) => answers.get(m.id)?.(m));
  return SshTransport.connect(args.destination, {
    acceptNewHostKey: args.acceptNewHostKey,
    onEvent: (event) => send({ type: 'event', event }),
    prompt: !args.canPrompt ? undefined : (request) =>
      new Promise((resolve, reject) => {
        if (!process.connected) return reject(new Error('no CLI to ask: the master was started without one'));
        const id = ++prompts;
        answers.set(id, (m) => {
          answers.delete(id);
          if (m.error) reject(fromWire(m.error));
          else resolve(m.answers ?? []);
        });
        send({ type: 'prompt', id, request });
      }),
  });
}
