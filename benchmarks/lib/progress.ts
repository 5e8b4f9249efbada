import cliProgress from 'cli-progress';

/**
 * Progress of a benchmark run on stderr: a bar over every (scenario, engine, repeat) run when
 * stderr is a terminal, with log lines printed above it; plain log lines otherwise.
 */
export class BenchProgress {
  private bar: cliProgress.SingleBar | undefined;
  private done = 0;
  private readonly started = Date.now();

  constructor(
    total: number,
    private readonly options: { bar: boolean; quiet: boolean },
  ) {
    if (options.bar && total > 0) {
      this.bar = new cliProgress.SingleBar(
        {
          format: 'bench {bar} {value}/{total} runs | {elapsed} | {step}',
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
          barsize: 30,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { step: 'starting', elapsed: '0s' });
    }
  }

  private elapsed(): string {
    const s = Math.round((Date.now() - this.started) / 1000);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
  }

  /** What is running now (shown on the bar). */
  step(text: string): void {
    this.bar?.update(this.done, { step: text, elapsed: this.elapsed() });
  }

  /** A line above the bar (or on its own without one). */
  log(line: string): void {
    if (this.options.quiet) return;
    if (this.bar) {
      process.stderr.write(`\r\x1b[K${line}\n`);
      this.bar.render();
    } else {
      process.stderr.write(`[bench ${this.elapsed()}] ${line}\n`);
    }
  }

  tick(n = 1): void {
    this.done += n;
    this.bar?.update(this.done, { elapsed: this.elapsed() });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
