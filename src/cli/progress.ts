// Transient feedback on stderr: progress bars for transfers and spinners for waits. Drawn only on a
// terminal (and not with --quiet), redrawn in place with \r at most 10 times a second, and cleared
// before any other line is written, so they never end up in logs or pipes.
import { paint, type Stream } from './style.js';

export interface Terminal extends Stream {
  write(text: string): unknown;
  /** 0 when unknown (a pty nobody sized): then 80 is assumed. */
  columns?: number;
}

const REDRAW_MS = 100;
const CLEAR = '\r\x1b[K';
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${UNITS[u]}`;
}

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** Seconds as m:ss or h:mm:ss. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

export interface ProgressState {
  label: string;
  bytes: number;
  /** Unknown for downloads: then only bytes and rate are shown. */
  total?: number;
  elapsedMs: number;
}

/**
 * One line: label, bar and percentage when the total is known, bytes, rate, ETA. The label is shortened
 * so that the line fits WIDTH: a line that wraps could no longer be redrawn in place with \r.
 */
export function renderProgress(p: ProgressState, width = 80, color: (bar: string) => string = (b) => b): string {
  const plain = renderParts(p, width, (b) => b);
  const room = width - 1 - (plain.length - p.label.length);
  const label = p.label.length <= room ? p.label : room > 1 ? `${p.label.slice(0, room - 1)}~` : '';
  return renderParts({ ...p, label }, width, color);
}

function renderParts(p: ProgressState, width: number, color: (bar: string) => string): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.bytes / seconds : 0;
  const parts: string[] = [p.label];
  if (p.total !== undefined && p.total > 0) {
    const frac = Math.min(1, p.bytes / p.total);
    const barWidth = Math.max(10, Math.min(30, width - 60));
    const full = Math.round(frac * barWidth);
    parts.push(color('#'.repeat(full) + '-'.repeat(barWidth - full)), `${String(Math.floor(frac * 100)).padStart(3)}%`);
    parts.push(`${formatBytes(p.bytes)}/${formatBytes(p.total)}`);
  } else {
    parts.push(formatBytes(p.bytes));
  }
  parts.push(formatRate(rate));
  if (p.total !== undefined && p.total > 0 && rate > 0 && p.bytes < p.total) parts.push(`ETA ${formatEta((p.total - p.bytes) / rate)}`);
  return parts.join('  ');
}

/** The one transient line currently on screen, so that anything else printed can clear it first. */
let onScreen: { clear(): void } | undefined;

export function clearStatusLine(): void {
  onScreen?.clear();
}

/** A line redrawn in place on TERM: what bars and spinners have in common. */
function statusLine(term: Terminal) {
  let drawn = false;
  const line = {
    clear() {
      if (drawn) term.write(CLEAR);
      drawn = false;
    },
    draw(text: string) {
      onScreen = line;
      drawn = true;
      term.write(CLEAR + text);
    },
    /** Clears the line for good, leaving FINAL in its place when given. */
    end(final?: string) {
      line.clear();
      if (onScreen === line) onScreen = undefined;
      if (final) term.write(`${final}\n`);
    },
  };
  return line;
}

export interface Progress {
  update(bytes: number): void;
  /** Removes the bar, leaving SUMMARY in its place when given. */
  done(summary?: string): void;
}

/** A progress bar on TERM, or a no-op when TERM is not a terminal. */
export function progressBar(label: string, total: number | undefined, term: Terminal = process.stderr, enabled = term.isTTY === true): Progress {
  if (!enabled) return { update: () => undefined, done: () => undefined };
  const started = Date.now();
  const line = statusLine(term);
  let bytes = 0;
  let drawnAt = 0;
  const draw = () => {
    drawnAt = Date.now();
    line.draw(renderProgress({ label, bytes, total, elapsedMs: drawnAt - started }, term.columns || 80, (b) => paint(term, b, 'cyan')));
  };
  return {
    update(n) {
      bytes = n;
      if (Date.now() - drawnAt >= REDRAW_MS) draw();
    },
    done: line.end,
  };
}

export interface Spinner {
  /** Replaces the label. */
  update(label: string): void;
  /** Removes the spinner, leaving FINAL in its place when given. */
  stop(final?: string): void;
}

const FRAMES = ['|', '/', '-', '\\'];

/** A spinner for waits of unknown length ("connecting", "waiting for job"); a no-op off a terminal. */
export function spinner(label: string, term: Terminal = process.stderr, enabled = term.isTTY === true): Spinner {
  if (!enabled) return { update: () => undefined, stop: () => undefined };
  const line = statusLine(term);
  let frame = 0;
  let text = label;
  const draw = () => line.draw(`${paint(term, FRAMES[frame++ % FRAMES.length]!, 'cyan')} ${text.slice(0, Math.max(0, (term.columns || 80) - 3))}`);
  draw();
  const timer = setInterval(draw, REDRAW_MS);
  timer.unref(); // a spinner never keeps the process alive
  return {
    update(l) {
      text = l;
    },
    stop(final) {
      clearInterval(timer);
      line.end(final);
    },
  };
}
