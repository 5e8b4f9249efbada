import { describe, expect, it } from 'vitest';
import { every } from '../../src/pipeline/sync/schedule.ts';

/**
 * `every` (sync --every, run --every) on a manual clock: the jobs move the clock as if they took
 * that long; the waits between runs are real but only a few ms.
 */
describe('every (the --every schedule)', () => {
  it('runs on the interval grid, one at a time; a run that overran skips the ticks it covered (reported) and the run numbers stay on the grid', async () => {
    let now = 1_000_000;
    const stop = new AbortController();
    const ran: number[] = [];
    const skipped: number[] = [];
    let running = 0;
    let maxRunning = 0;
    // Run 1 takes 2.5 intervals (ticks 1 and 2 are skipped), run 4 takes 0.5, run 5 ends the test.
    const took: Record<number, number> = { 1: 25, 4: 5, 5: 1 };
    await every(
      10,
      async (n) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        ran.push(n);
        await new Promise((r) => setTimeout(r, 1));
        now += took[n] ?? 0;
        if (n === 5) stop.abort();
        running--;
      },
      { signal: stop.signal, onSkip: (n) => skipped.push(n), now: () => now },
    );
    expect(ran).toEqual([1, 4, 5]);
    expect(skipped).toEqual([2, 3]);
    expect(maxRunning).toBe(1);
  });

  it('stops waiting for the next run as soon as it is aborted', async () => {
    const stop = new AbortController();
    const ran: number[] = [];
    const done = every(3_600_000, async (n) => {
      ran.push(n);
    }, { signal: stop.signal });
    await new Promise((r) => setTimeout(r, 20));
    stop.abort();
    await done;
    expect(ran).toEqual([1]);
  });

  it('a job that fails ends the schedule with its error (the CLI catches per run)', async () => {
    const stop = new AbortController();
    await expect(every(10, async () => Promise.reject(new Error('boom')), { signal: stop.signal })).rejects.toThrow('boom');
  });
});
