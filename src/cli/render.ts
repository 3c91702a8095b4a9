// Output: results on stdout (human text or --json), everything else on stderr.
import type { TejEvent } from '../events.js';
import { TejError } from '../errors.js';

export interface OutputOptions {
  verbose: boolean;
  quiet: boolean;
}

function stamp(): string {
  return new Date().toISOString().slice(11, 23);
}

/** Renders library events on stderr: -v shows every command, warnings always show unless --quiet. */
export function eventRenderer(o: OutputOptions): (e: TejEvent) => void {
  return (e) => {
    if (o.quiet) return;
    let line: string | undefined;
    switch (e.kind) {
      case 'warning':
        line = `tej: warning: ${e.message}`;
        break;
      case 'retry':
        line = `tej: ${e.error}; retrying (attempt ${e.attempt + 1})`;
        break;
      case 'setup':
        line = o.verbose ? `[${stamp()}] [${e.host}] setting up ${e.queue} (${e.reason})` : undefined;
        break;
      case 'exec':
        line = o.verbose ? `[${stamp()}] [${e.host}] $ ${e.command}` : undefined;
        break;
      case 'connect':
        line = o.verbose ? `[${stamp()}] [${e.host}] connecting${e.via ? ` via ${e.via}` : ''}` : undefined;
        break;
      case 'connected':
        line = o.verbose ? `[${stamp()}] [${e.host}] connected in ${e.ms} ms` : undefined;
        break;
      case 'auth':
        line = o.verbose ? `[${stamp()}] [${e.host}] auth: ${e.method}${e.detail ? ` (${e.detail})` : ''}` : undefined;
        break;
      case 'upload-progress':
        break;
    }
    if (line) process.stderr.write(line + '\n');
  };
}

export function printError(err: unknown, verbose: boolean): number {
  if (err instanceof TejError) {
    process.stderr.write(`${err.message}\n`);
    if (err.hint) process.stderr.write(err.hint.split('\n').map((l) => `  ${l}`).join('\n') + '\n');
    if (err.remote?.stderr && verbose) process.stderr.write(`remote stderr:\n${err.remote.stderr}`);
    if (verbose && err.cause instanceof Error) process.stderr.write(`cause: ${err.cause.stack ?? err.cause.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`tej: internal error: ${e?.stack ?? String(err)}\nThis is a bug in tej; please report it with the command you ran.\n`);
  return 70;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
