import { setFlagsFromString } from 'node:v8';

/**
 * Runs `fn` (synchronous) with V8's optimising compiler off, then turns it back on. A short decode
 * (a small checkpoint, a small table read by the CLI) is over before optimised code pays for its
 * compilation, which competes for the CPU with the decode and deoptimises on the way: a
 * 1,000-file checkpoint decodes in ~15 ms this way against ~21 ms (wall, at best; far more at the
 * median on a busy machine). Nothing else runs meanwhile (fn is synchronous), so no other code is
 * affected; functions warmed here are still optimised later, when hot outside. Nested calls keep
 * it off until the outermost returns.
 */
let depth = 0;

export function withoutOptimizer<T>(fn: () => T): T {
  optimizerOff();
  try {
    return fn();
  } finally {
    optimizerOn();
  }
}

/**
 * The two halves of withoutOptimizer, for a caller that owns the whole process for a short while
 * (the CLI's direct read, which awaits file reads in between): every off needs its on.
 */
export function optimizerOff(): void {
  if (depth++ === 0) setFlagsFromString('--no-opt');
}

export function optimizerOn(): void {
  if (--depth === 0) setFlagsFromString('--opt');
}

/**
 * Up to this many checkpoint rows, a decode counts as short (withoutOptimizer). With the stats
 * left undecoded (lazy-strings.ts) the decode's cost follows the rows: a 10,000-file checkpoint
 * (5 MB) decoded in ~35 ms against ~52 ms optimised (median, 2 busy cores). Not much further: a
 * 50,000-file checkpoint shaped as delta-rs writes it (dictionary-encoded stats, decoded eagerly)
 * took 375-568 ms unoptimised against 210-257 ms optimised.
 */
export const SHORT_RUN_ROWS = 20_000;
