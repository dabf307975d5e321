// The progress line the data tools keep on stderr: redrawn in place on a terminal, a plain line
// every few seconds when stderr is a file or a pipe (CI logs would otherwise fill with redraws).
// The clock is injectable so the throttling is testable without waiting.

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface ProgressOptions {
  readonly now?: () => number;
  /** Redraw period on a terminal. */
  readonly ttyIntervalMs?: number;
  /** Period of plain lines otherwise. */
  readonly plainIntervalMs?: number;
}

export class ProgressLine {
  private readonly now: () => number;
  private readonly interval: number;
  private readonly tty: boolean;
  private last: number;
  private drawn = false;

  constructor(
    private readonly out: ProgressStream,
    options: ProgressOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.tty = out.isTTY === true;
    this.interval = this.tty ? (options.ttyIntervalMs ?? 100) : (options.plainIntervalMs ?? 2000);
    this.last = this.now();
  }

  /** True when a new line is due; callers format the text only then. */
  due(): boolean {
    return this.now() - this.last >= this.interval;
  }

  show(text: string): void {
    this.last = this.now();
    if (this.tty) {
      this.out.write(`\r${text}\x1b[K`);
      this.drawn = true;
    } else {
      this.out.write(`${text}\n`);
    }
  }

  /** Ends the in-place line, so what follows starts on a line of its own. */
  finish(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

/** `1,234,567` */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** `0.4s`, `42s`, `3m05s`, `2h07m` */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 9.95) return `${Math.max(0, seconds).toFixed(1)}s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * `120,000 events  12.0%  40,000 events/s  ETA 22s`. `fraction` is how much of the whole is done
 * (0–1), or undefined when the whole is unknown (a pipe): then there is no percent and no ETA.
 */
export function describeProgress(events: number, fraction: number | undefined, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 ? events / seconds : 0;
  let text = `${formatCount(events)} events  ${formatCount(rate)} events/s`;
  if (fraction !== undefined) {
    const f = Math.min(1, Math.max(0, fraction));
    const eta = f > 0 ? (seconds * (1 - f)) / f : Infinity;
    text = `${formatCount(events)} events  ${(f * 100).toFixed(1)}%  ${formatCount(rate)} events/s  ETA ${formatDuration(eta)}`;
  }
  return text;
}
