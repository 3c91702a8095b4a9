// The shell matrix of the helper tests, and the one way a test file defines its tests under each shell:
// eachShell() opens `describe('under <shell>')` per shell (per shell and variant with variants), so
// that every file's CI log reads the same way.
import { describe } from 'node:test';

export interface Shell {
  name: string;
  argv: string[];
}

/** The shell matrix: each runs the dispatcher, the commands and the job wrapper. */
export const SHELLS: Shell[] = [
  { name: 'dash', argv: ['/usr/bin/dash'] },
  { name: 'busybox sh', argv: ['busybox', 'sh'] },
  { name: 'posh', argv: ['/bin/posh'] },
  { name: 'bash --posix', argv: ['bash', '--posix'] },
];

/** A second axis of the matrix (a kind of host, a ps); its title follows the shell's: `under dash <title>`. */
export interface ShellVariant {
  title: string;
}

export interface EachShellOptions {
  /** Only the shells it accepts. @default every shell */
  where?: (shell: Shell) => boolean;
}

/**
 * Defines BODY's tests once per shell of the matrix, each time inside `describe('under <shell>')`; with
 * `variants`, once per shell and variant, inside `describe('under <shell> <variant title>')`. The
 * options come first, as describe's do, so that they type the body's variant.
 */
export function eachShell(body: (shell: Shell) => void): void;
export function eachShell(options: EachShellOptions, body: (shell: Shell) => void): void;
export function eachShell<V extends ShellVariant>(options: EachShellOptions & { variants: readonly V[] }, body: (shell: Shell, variant: V) => void): void;
export function eachShell(...args: unknown[]): void {
  const body = args.at(-1) as (shell: Shell, variant?: ShellVariant) => void;
  const options = (args.length > 1 ? args[0] : {}) as EachShellOptions & { variants?: readonly ShellVariant[] };
  for (const shell of SHELLS.filter(options.where ?? (() => true))) {
    if (!options.variants) describe(`under ${shell.name}`, () => body(shell));
    else for (const variant of options.variants) describe(`under ${shell.name} ${variant.title}`, () => body(shell, variant));
  }
}

/** A host without /proc, as the helpers see it (TEJ_PROC, lib/proc.sh): they fall back to ps and kill -0. */
export const NO_PROC = { TEJ_PROC: '/nonexistent/proc' };

/** The ps the helpers fall back to without /proc: procps (this host's), or busybox's (the bare userland, no setsid). */
export const PS_KINDS: readonly (ShellVariant & { bare: boolean })[] = [
  { title: 'with procps ps', bare: false },
  { title: 'with busybox ps', bare: true },
];
