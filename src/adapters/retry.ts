import { LakeletError } from '../errors/lakelet-error.ts';

/**
 * Retries a remote call while it fails with a transient LakeletError (`transient: true`: a busy or
 * flaky remote store, 429/5xx/connection reset/timeout), with exponential backoff and jitter.
 * Everything else is final on the first failure: a precondition that failed (HTTP 412) is an answer,
 * not a fault, and retrying a permission or a missing bucket only delays the message.
 *
 * The adapters turn their clients' errors into typed ones *before* this sees them, and switch the
 * clients' own retries off, so that no call is retried twice over.
 */
export interface RetryPolicy {
  /** Tries in all, the first included (>= 1). */
  attempts: number;
  /** The delay before the first retry; doubled on each next one. */
  baseDelayMs: number;
  /** No single delay exceeds this. */
  maxDelayMs: number;
  /** Injected for tests: how to wait, and the jitter source (0 <= x < 1). */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 200, maxDelayMs: 10_000 };

/** What a retried call is told: which try this is (1-based), so it can tell a retry from a first try. */
export interface AttemptInfo {
  attempt: number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The delay before try `attempt + 1`: "equal jitter", half fixed and half random, so retries from many writers spread. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

export function isTransient(err: unknown): boolean {
  return err instanceof LakeletError && err.transient;
}

/**
 * Runs `call` until it succeeds, fails with a non-transient error, or `policy.attempts` tries have
 * failed transiently; then rethrows the last error as it is (its message already says it is transient).
 */
export async function withRetry<T>(policy: RetryPolicy, call: (info: AttemptInfo) => Promise<T>): Promise<T> {
  const sleep = policy.sleep ?? realSleep;
  const random = policy.random ?? Math.random;
  const attempts = Math.max(1, Math.floor(policy.attempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await call({ attempt });
    } catch (err) {
      if (!isTransient(err) || attempt >= attempts) throw err;
      await sleep(backoffDelay(policy, attempt, random));
    }
  }
}
