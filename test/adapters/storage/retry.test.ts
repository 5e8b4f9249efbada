// The retry helper the remote stores use: transient failures only, exponential backoff with jitter.
import { describe, expect, it } from 'vitest';
import { backoffDelay, withRetry, type RetryPolicy } from '../../../src/adapters/retry.ts';
import { InputError, LakeletError } from '../../../src/errors/lakelet-error.ts';

const busy = () => new LakeletError('GCS', 'busy', { transient: true });

function policy(delays: number[], random = () => 0.5): RetryPolicy {
  return { attempts: 5, baseDelayMs: 100, maxDelayMs: 1000, sleep: async (ms) => void delays.push(ms), random };
}

describe('withRetry', () => {
  it('retries transient failures and returns the first success, telling each try its number', async () => {
    const delays: number[] = [];
    const seen: number[] = [];
    const result = await withRetry(policy(delays), async ({ attempt }) => {
      seen.push(attempt);
      if (attempt < 3) throw busy();
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
    expect(delays).toEqual([75, 150]); // half fixed + half of the random 0.5: 50+25, 100+50
  });

  it('never retries a non-transient error (a precondition, a bad input, a plain Error)', async () => {
    for (const err of [new LakeletError('GCS', 'precondition failed (412)'), new InputError('bad'), new Error('plain')]) {
      const delays: number[] = [];
      let calls = 0;
      await expect(
        withRetry(policy(delays), async () => {
          calls++;
          throw err;
        }),
      ).rejects.toBe(err);
      expect(calls).toBe(1);
      expect(delays).toEqual([]);
    }
  });

  it('gives up after `attempts` tries and rethrows the last error as it is', async () => {
    const delays: number[] = [];
    const errors: LakeletError[] = [];
    const err = await withRetry(policy(delays), async () => {
      const e = busy();
      errors.push(e);
      throw e;
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(errors).toHaveLength(5);
    expect(err).toBe(errors[4]);
    expect(delays).toHaveLength(4);
  });
});

describe('backoffDelay', () => {
  it('doubles up to the cap, with jitter within the upper half', () => {
    const p: RetryPolicy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(p, a, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(p, a, () => 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
