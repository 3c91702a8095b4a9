// Output: results on stdout (human text or --json), everything else on stderr.
import type { TejEvent } from '../events.js';
import { EXIT, TejError } from '../errors.js';
import { clearStatusLine, formatBytes, formatRate, progressBar, spinner, type Progress, type Spinner } from './progress.js';
import { paintErr } from './style.js';

export interface OutputOptions {
  verbose: boolean;
  quiet: boolean;
}

function stamp(): string {
  return new Date().toISOString().slice(11, 23);
}

export interface EventRenderer {
  (e: TejEvent): void;
  /** Takes down any bar or spinner still on screen (the command is over). */
  finish(): void;
}

function summary(verb: string, files: number, bytes: number, ms: number): string {
  return paintErr(`tej: ${verb} ${files} file${files === 1 ? '' : 's'}, ${formatBytes(bytes)} in ${(ms / 1000).toFixed(1)} s (${formatRate(ms > 0 ? (bytes * 1000) / ms : 0)})`, 'dim');
}

/**
 * Renders library events on stderr: -v shows every command, warnings always show unless --quiet; on a
 * terminal, a spinner while connecting and progress bars for transfers.
 */
export function eventRenderer(o: OutputOptions): EventRenderer {
  const live = !o.quiet && process.stderr.isTTY === true;
  let wait: Spinner | undefined;
  let bar: { key: string; progress: Progress; started: number } | undefined;
  const stopWait = () => {
    wait?.stop();
    wait = undefined;
  };
  const transfer = (key: string, label: string, total: number | undefined) => {
    if (bar?.key !== key) {
      bar?.progress.done();
      bar = { key, progress: progressBar(label, total, process.stderr, live), started: Date.now() };
    }
    return bar;
  };
  const render = (e: TejEvent) => {
    if (o.quiet) return;
    let line: string | undefined;
    switch (e.kind) {
      case 'upload-progress': {
        stopWait();
        // bytes the host's content store had already: shown beside those sent (src/job/store.ts)
        const skipped = e.skippedBytes ? ` (${formatBytes(e.skippedBytes)} already there)` : '';
        const b = transfer('upload', `uploading to ${e.host}${skipped}`, e.totalBytes);
        b.progress.update(e.bytes);
        if (e.files === e.totalFiles && e.bytes === e.totalBytes) {
          b.progress.done(live ? `${summary('uploaded', e.files, e.bytes, Date.now() - b.started)}${skipped}` : undefined);
          bar = { ...b, key: 'upload-done' };
        }
        return;
      }
      case 'download-progress': {
        stopWait();
        if (e.destination === '-' && process.stdout.isTTY) return; // the file itself is scrolling past
        // --update and --watch: what was found unchanged and not sent, beside what is sent
        const unchanged = e.unchangedFiles ? ` (${e.unchangedFiles} unchanged, ${formatBytes(e.unchangedBytes ?? 0)} not sent)` : '';
        const b = transfer(`download ${e.path}`, `downloading ${e.path}${unchanged}`, undefined);
        b.progress.update(e.bytes);
        if (e.done) {
          b.progress.done(live ? `${summary(`downloaded ${e.path}:`, e.files, e.bytes, Date.now() - b.started)}${unchanged}` : undefined);
          bar = { ...b, key: `download-done ${e.path}` };
        }
        return;
      }
      case 'connect':
        if (live && !o.verbose) wait = spinner(`connecting to ${e.host}${e.via ? ` via ${e.via}` : ''}`);
        break;
      case 'connected':
        stopWait();
        break;
      case 'auth':
        if (e.method === 'keyboard-interactive') stopWait(); // a prompt may follow on the terminal
        break;
      case 'setup':
        stopWait();
        if (live && !o.verbose) wait = spinner(`setting up ${e.queue} on ${e.host} (${e.reason})`);
        break;
    }
    switch (e.kind) {
      case 'warning':
        line = paintErr(`tej: warning: ${e.message}`, 'yellow');
        break;
      case 'forward-waiting':
        line = `tej: job ${e.id} is ${e.state} on ${e.host}; waiting for it to start`;
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
      case 'upload-committed':
        line = o.verbose ? `[${stamp()}] [${e.host}] sending the end of job ${e.id}: from here it may start` : undefined;
        break;
      case 'connect':
        line = o.verbose ? `[${stamp()}] [${e.host}] connecting${e.via ? ` via ${e.via}` : ''}` : undefined;
        break;
      case 'handshake':
        line = o.verbose ? `[${stamp()}] [${e.host}] handshake` : undefined;
        break;
      case 'connected':
        line = o.verbose ? `[${stamp()}] [${e.host}] connected in ${e.ms} ms` : undefined;
        break;
      case 'auth':
        line = o.verbose ? `[${stamp()}] [${e.host}] auth: ${e.method}${e.detail ? ` (${e.detail})` : ''}` : undefined;
        break;
    }
    if (line) {
      clearStatusLine();
      process.stderr.write(line + '\n');
    }
  };
  return Object.assign(render, {
    finish() {
      stopWait();
      bar?.progress.done();
      bar = undefined;
    },
  });
}

export function printError(err: unknown, verbose: boolean): number {
  if (err instanceof TejError) {
    clearStatusLine();
    // Library messages carry no prefix: the CLI names itself here, once.
    const [first, ...more] = err.message.split('\n');
    process.stderr.write([paintErr(`tej: ${first!}`, 'red', 'bold'), ...more].join('\n') + '\n');
    if (err.hint) process.stderr.write(paintErr(err.hint.split('\n').map((l) => `  ${l}`).join('\n'), 'dim') + '\n');
    if (err.remote?.stderr && verbose) process.stderr.write(`remote stderr:\n${err.remote.stderr}`);
    if (verbose && err.cause instanceof Error) process.stderr.write(`cause: ${err.cause.stack ?? err.cause.message}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`tej: internal error: ${e?.stack ?? String(err)}\nThis is a bug in tej; please report it with the command you ran.\n`);
  return EXIT.SOFTWARE;
}

/**
 * Text from the host (labels, names, a job's record) made safe for a terminal: control characters
 * (escape sequences, newlines, C1) are shown as \n, \t, \xNN instead of acting.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}
