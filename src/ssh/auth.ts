// The ways tej logs in, in OpenSSH's order: the agent, the identity files, and last keyboard-interactive
// (for hosts that want a one-time code too: AuthenticationMethods publickey,keyboard-interactive).
import { readFile } from 'node:fs/promises';
import type { AnyAuthMethod, AuthenticationType } from 'ssh2';
import { AuthenticationError, TejError } from '../errors.js';
import type { EventHandler } from '../events.js';
import type { Prompter } from '../transport/prompt.js';
import type { SshTarget } from './config.js';
import { loadSsh2 } from './dial.js';

/** The agent and the identity files that hold a key ssh2 can read. */
export async function keyMethods(target: SshTarget, onEvent?: EventHandler): Promise<AnyAuthMethod[]> {
  const methods: AnyAuthMethod[] = [];
  const agent = target.identityAgent ?? process.env.SSH_AUTH_SOCK;
  if (agent && agent.toLowerCase() !== 'none' && !target.identitiesOnly) {
    methods.push({ type: 'agent', username: target.user, agent });
  }
  for (const file of target.identityFiles) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch {
      continue; // default key files that do not exist are simply not offered, as OpenSSH does
    }
    const parsed = (await loadSsh2()).utils.parseKey(data);
    if (parsed instanceof Error) {
      onEvent?.({ kind: 'auth', host: target.alias, method: 'publickey', detail: `skipping ${file}: ${parsed.message}` });
      continue;
    }
    methods.push({ type: 'publickey', username: target.user, key: data });
  }
  return methods;
}

/**
 * Keyboard-interactive: the host's prompts go to `prompter`. When it cannot answer, `giveUp` gets the
 * reason and must hang up: an empty answer would count as a failed login on the host.
 */
export function keyboardInteractive(target: SshTarget, prompter: Prompter, giveUp: (problem: TejError) => void): AnyAuthMethod {
  return {
    type: 'keyboard-interactive',
    username: target.user,
    prompt: (name: string, instructions: string, _lang: string, prompts: { prompt: string; echo?: boolean }[], finish: (answers: string[]) => void) => {
      const request = { host: `${target.user}@${target.alias}`, name, instructions, prompts: prompts.map((p) => ({ prompt: p.prompt, echo: p.echo === true })) };
      prompter(request).then(finish, (e: Error) =>
        giveUp(e instanceof TejError ? e : new AuthenticationError(`cannot answer ${request.host}'s prompt: ${e.message}`, { cause: e })),
      );
    },
  } as AnyAuthMethod;
}

export type AuthHandler = (left: AuthenticationType[] | null, partial: boolean | null, next: (m: AnyAuthMethod | false) => void) => void;

/** ssh2's authHandler: offers each method in turn, skipping those the host no longer accepts. */
export function authHandler(methods: AnyAuthMethod[], target: SshTarget, onEvent?: EventHandler): AuthHandler {
  const remaining = [...methods];
  return (left, _partial, next) => {
    while (remaining.length > 0) {
      const m = remaining.shift()!;
      const wanted = m.type === 'agent' ? 'publickey' : m.type;
      if (left === null || left.includes(wanted as AuthenticationType)) {
        onEvent?.({ kind: 'auth', host: target.alias, method: m.type });
        return next(m);
      }
    }
    next(false);
  };
}
