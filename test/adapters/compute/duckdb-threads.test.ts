import { afterEach, describe, expect, it } from 'vitest';
import { openCompute } from '../../../src/adapters/compute/open-compute.ts';
import { InputError } from '../../../src/errors/lakelet-error.ts';

/** LAKELET_THREADS sets DuckDB's threads (a machine with few cores runs the pipeline on fewer). */
const saved = process.env.LAKELET_THREADS;
afterEach(() => {
  if (saved === undefined) delete process.env.LAKELET_THREADS;
  else process.env.LAKELET_THREADS = saved;
});

async function threadsOf(options: { threads?: number } = {}): Promise<number> {
  const compute = await openCompute(options);
  try {
    const [row] = await compute.query<{ t: string | number }>("SELECT current_setting('threads') AS t");
    return Number(row.t);
  } finally {
    compute.close();
  }
}

describe('LAKELET_THREADS', () => {
  it('sets the threads of a new DuckDB; an explicit option still wins; unset, DuckDB picks', async () => {
    delete process.env.LAKELET_THREADS;
    const byDefault = await threadsOf();
    process.env.LAKELET_THREADS = '1';
    expect(await threadsOf()).toBe(1);
    expect(await threadsOf({ threads: 3 })).toBe(3);
    process.env.LAKELET_THREADS = '3';
    expect(await threadsOf()).toBe(3);
    process.env.LAKELET_THREADS = '';
    expect(await threadsOf()).toBe(byDefault);
  });

  it('a value that is not a whole number of threads is refused, naming the variable', async () => {
    for (const bad of ['0', '-2', '1.5', 'two']) {
      process.env.LAKELET_THREADS = bad;
      const err = await openCompute().then(
        (c) => (c.close(), undefined),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(InputError);
      expect(String((err as Error).message)).toContain(`LAKELET_THREADS must be a whole number of threads, 1 or more (got '${bad}')`);
    }
  });
});
