/**
 * Runs `job` every `intervalMs` in the foreground until `signal` aborts: the next run starts on
 * the interval's grid, and a run still going when its successor is due makes that one skip (never
 * two at once, never a burst of catch-up runs). Seed 001's hourly Airflow schedule, without Airflow.
 */
export async function every(intervalMs: number, job: (n: number) => Promise<void>, options: { signal: AbortSignal; onSkip?: (n: number) => void; now?: () => number }): Promise<void> {
  const now = options.now ?? Date.now;
  const start = now();
  let n = 0;
  while (!options.signal.aborted) {
    await job(++n);
    if (options.signal.aborted) return;
    // Ticks that passed while the job ran are skipped.
    const elapsed = now() - start;
    const nextTick = Math.floor(elapsed / intervalMs) + 1;
    const missed = nextTick - n;
    for (let i = 0; i < missed; i++) options.onSkip?.(n + i + 1);
    // The next run is the one on tick `nextTick` (runs are numbered from 1 at tick 0).
    n = Math.max(n, nextTick);
    const wait = start + nextTick * intervalMs - now();
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, Math.max(0, wait));
      options.signal.addEventListener('abort', () => {
        clearTimeout(t);
        resolve();
      }, { once: true });
    });
  }
}
