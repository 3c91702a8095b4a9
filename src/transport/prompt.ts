// Answers to keyboard-interactive prompts (one-time codes, passwords): from the program TEJ_ASKPASS
// names (called with the prompt as its argument, like SSH_ASKPASS), else asked on the terminal.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { AuthenticationError } from '../errors.js';

export interface PromptRequest {
  /** For messages: `alice@hpc`. */
  host: string;
  name: string;
  instructions: string;
  prompts: { prompt: string; echo: boolean }[];
}

/**
 * Returns one answer per prompt, or throws (an AuthenticationError when nobody can answer). `signal`
 * aborts when the answer is no longer wanted (the --persist master that asked is gone): the default
 * prompter then ends its TEJ_ASKPASS program, or stops reading the terminal.
 */
export type Prompter = (request: PromptRequest, signal?: AbortSignal) => Promise<string[]>;

function askpass(program: string, prompt: string, host: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(program, [prompt], { timeout: 300_000, ...(signal ? { signal } : {}) }, (err, stdout) => {
      if (err) {
        reject(new AuthenticationError(`TEJ_ASKPASS program ${program} failed for ${host}: ${err.message.split('\n')[0]}`, { cause: err }));
      } else {
        resolve(stdout.replace(/\r?\n$/, ''));
      }
    });
  });
}

async function askTerminal(request: PromptRequest, signal?: AbortSignal): Promise<string[]> {
  let muted = false;
  // Echo what the user types unless the prompt is secret; the prompt itself is always shown.
  const output = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  // loaded only here: every login reaches this module, few get a prompt (readline is 4 modules of Node's)
  const { createInterface } = createRequire(import.meta.url)('node:readline') as typeof import('node:readline');
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  signal?.addEventListener('abort', () => rl.close(), { once: true });
  try {
    if (request.instructions) process.stderr.write(`${request.instructions}\n`);
    const answers: string[] = [];
    for (const p of request.prompts) {
      const answer = new Promise<string>((resolve) => rl.question('', resolve));
      process.stderr.write(`(${request.host}) ${p.prompt}`);
      muted = !p.echo;
      answers.push(await answer);
      muted = false;
      if (!p.echo) process.stderr.write('\n');
    }
    return answers;
  } finally {
    rl.close();
  }
}

/** Whether keyboard-interactive prompts can be answered: a prompter given, TEJ_ASKPASS, or a terminal. */
export function canAnswerPrompts(prompt?: Prompter): boolean {
  return prompt !== undefined || !!process.env.TEJ_ASKPASS || (process.stdin.isTTY === true && process.stderr.isTTY === true);
}

/** TEJ_ASKPASS, else the terminal when stdin and stderr are one; else an AuthenticationError. */
export const defaultPrompter: Prompter = async (request, signal) => {
  const program = process.env.TEJ_ASKPASS;
  if (program) {
    const answers: string[] = [];
    for (const p of request.prompts) answers.push(await askpass(program, p.prompt, request.host, signal));
    return answers;
  }
  if (process.stdin.isTTY && process.stderr.isTTY) return askTerminal(request, signal);
  const asked = request.prompts.map((p) => p.prompt.trim()).join(', ');
  throw new AuthenticationError(`${request.host} asks for ${asked || 'an answer'} (keyboard-interactive) and there is no terminal to ask on`, {
    hint: 'set TEJ_ASKPASS to a program that prints the answer to the prompt given as its argument, or run tej on a terminal',
  });
};
