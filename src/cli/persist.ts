// --persist[=DURATION], TEJ_PERSIST and the config file's `persist`: whether, and how long, a
// background master keeps the SSH connection open between commands.
import { ConfigError, UsageError } from '../errors.js';
import { parseDuration } from '../job/spec.js';

/** What a bare --persist (or `true` in the config file, or TEJ_PERSIST=1) means. */
export const DEFAULT_PERSIST_SECONDS = 600;

const ON = new Set(['', 'on', 'yes', 'true', '1']);
const OFF = new Set(['off', 'no', 'false', '0']);

/** Seconds, or undefined for off. `where` names the source in the error. */
export function parsePersist(value: string | boolean, where: string): number | undefined {
  if (typeof value === 'boolean') return value ? DEFAULT_PERSIST_SECONDS : undefined;
  const v = value.trim().toLowerCase();
  if (ON.has(v)) return DEFAULT_PERSIST_SECONDS;
  if (OFF.has(v)) return undefined;
  try {
    return parseDuration(v);
  } catch {
    const Class = where.startsWith('--') || where === 'TEJ_PERSIST' ? UsageError : ConfigError;
    throw new Class(`bad ${where} '${value}'`, { hint: 'write a duration such as 90s, 10m, 2h, or off' });
  }
}

/** The flag wins over TEJ_PERSIST, which wins over the config file. */
export function persistSeconds(flag: string | undefined, env: string | undefined, config: string | boolean | undefined): number | undefined {
  if (flag !== undefined) return parsePersist(flag, '--persist');
  if (env !== undefined && env !== '') return parsePersist(env, 'TEJ_PERSIST');
  if (config !== undefined) return parsePersist(config, 'persist in the config file');
  return undefined;
}

const DURATION_WORD = /^(([0-9]+[smhd]?)+|([0-9]+-)?([0-9]+:)?[0-9]+:[0-9]+|on|off|yes|no|true|false)$/i;

/**
 * Makes the optional value explicit for yargs: `--persist 10m` -> `--persist=10m`, a bare `--persist`
 * (followed by a destination or nothing) -> `--persist=on`, so that it never swallows a positional.
 */
export function normalizePersistArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (a !== '--persist') {
      out.push(a);
      continue;
    }
    const next = argv[i + 1];
    if (next !== undefined && DURATION_WORD.test(next)) {
      out.push(`--persist=${next}`);
      i++;
    } else {
      out.push('--persist=on');
    }
  }
  return out;
}
