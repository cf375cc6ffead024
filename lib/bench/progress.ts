/**
 * Progress on stderr: a redrawn bar when stderr is a terminal, else a plain line every `intervalS` seconds
 * (and one at the end), so logs of CI runs stay readable.
 */
export interface ProgressSource {
  readonly total: number;
  readonly completed: number;
  readonly failed: number;
}

export interface ProgressOptions {
  /** Write nothing at all. */
  quiet?: boolean;
  /** Default: process.stderr.isTTY. */
  tty?: boolean;
  /** Plain mode: seconds between lines (default 5). */
  intervalS?: number;
  write?: (s: string) => void;
}

const BAR_WIDTH = 30;

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private started = 0;
  private readonly tty: boolean;
  private readonly write: (s: string) => void;
  private lastLen = 0;

  constructor(
    private readonly source: ProgressSource,
    private readonly o: ProgressOptions = {},
  ) {
    this.tty = o.tty ?? process.stderr.isTTY === true;
    this.write = o.write ?? ((s) => process.stderr.write(s));
  }

  start(): void {
    if (this.o.quiet) return;
    this.started = performance.now();
    const every = this.tty ? 100 : (this.o.intervalS ?? 5) * 1000;
    this.timer = setInterval(() => this.render(false), every);
    this.timer.unref();
    if (this.tty) this.render(false);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.o.quiet) return;
    this.render(true);
  }

  /** The text of the current state (without the terminal control characters). */
  line(): string {
    const { total, completed, failed } = this.source;
    const done = completed + failed;
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : Infinity;
    const pct = total > 0 ? (100 * done) / total : 100;
    const failedText = failed > 0 ? `, ${failed} failed` : '';
    return `${done}/${total} requests (${pct.toFixed(0)}%${failedText}), ${rate.toFixed(1)} req/s, elapsed ${fmtDuration(elapsed)}${done < total ? `, eta ${fmtDuration(eta)}` : ''}`;
  }

  private render(final: boolean): void {
    const text = this.line();
    if (this.tty) {
      const { total, completed, failed } = this.source;
      const frac = total > 0 ? (completed + failed) / total : 1;
      const filled = Math.round(frac * BAR_WIDTH);
      const s = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${text}`;
      const pad = this.lastLen > s.length ? ' '.repeat(this.lastLen - s.length) : '';
      this.lastLen = s.length;
      this.write(`\r${s}${pad}${final ? '\n' : ''}`);
    } else {
      this.write(`bench: ${text}\n`);
    }
  }
}
