/**
 * How the pipeline reports as it goes: structured events and progress. The pipeline only calls this
 * interface; what the events become (JSON lines, text lines, progress bars on a terminal) is up to
 * the caller — the CLI's implementation is `cli/output/stream-reporter.ts`.
 */
export type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Progress {
  tick(n?: number, label?: string): void;
  stop(): void;
}

export interface Reporter {
  event(level: Level, event: string, fields?: Record<string, unknown>): void;
  progress(label: string, total: number): Progress;
}

/** A Progress that shows nothing. */
export const noProgress: Progress = { tick: () => {}, stop: () => {} };

export const silentReporter: Reporter = { event: () => {}, progress: () => noProgress };
