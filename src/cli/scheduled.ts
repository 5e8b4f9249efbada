import { parseDuration } from '../pipeline/config.ts';
import type { Reporter } from '../pipeline/reporter.ts';
import { every } from '../pipeline/sync/schedule.ts';
import { CliError, EXIT_FAILURE, EXIT_OK, usageError } from './errors.ts';

/** `--every <interval>` in ms (undefined: not given); a bad value is a usage error. */
export function everyInterval(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw usageError(`--every ${text}: not an interval; write e.g. 1h, 15m or 30s`);
  }
  if (ms <= 0) throw usageError('--every must be longer than 0');
  return ms;
}

/**
 * `--every`: runs `job` on the interval's grid in the foreground until SIGINT/SIGTERM (a run still
 * going when the next is due makes that one skip, reported). A run that fails is reported and the
 * schedule goes on, as a scheduler would; the exit code is then the worst any run had (a failure
 * before an incomplete run), so a wrapper still sees that something went wrong.
 */
export async function runScheduled(intervalMs: number, job: (run: number) => Promise<void>, reporter: Reporter, what: string): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let worst = EXIT_OK;
  try {
    await every(
      intervalMs,
      async (run) => {
        reporter.event('info', `${what}.run-started`, { run });
        try {
          await job(run);
        } catch (err) {
          const code = err instanceof CliError ? err.exitCode : EXIT_FAILURE;
          worst = worst === EXIT_FAILURE || code === EXIT_FAILURE ? EXIT_FAILURE : Math.max(worst, code);
          if (!(err instanceof CliError && err.reported)) reporter.event('error', `${what}.run-failed`, { run, error: String((err as Error)?.message ?? err).split('\n')[0] });
        }
      },
      { signal: stop.signal, onSkip: (run) => reporter.event('warn', `${what}.run-skipped`, { run, reason: 'the previous run was still going' }) },
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (worst !== EXIT_OK) throw new CliError(`a scheduled ${what} did not fully succeed`, { exitCode: worst, reported: true });
}
