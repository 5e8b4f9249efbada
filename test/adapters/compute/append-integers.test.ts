import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../../src/adapters/compute/compute.ts';
import { openCompute } from '../../../src/adapters/compute/open-compute.ts';

let compute: Compute;
beforeAll(async () => {
  compute = await openCompute();
});
afterAll(() => compute.close());

describe('Compute.appendIntegers', () => {
  it('appends every row, across chunk boundaries, with BIGINT values past 2^32 exact', async () => {
    await compute.run('CREATE TEMP TABLE appended (f INTEGER, r BIGINT)');
    // 5,000 rows: two full 2,048-row chunks and a partial one.
    const rows = Array.from({ length: 5000 }, (_, i) => i * 1_000_003 + 2 ** 40);
    await compute.appendIntegers('appended', [rows.map((_, i) => i % 7), rows]);
    await compute.appendIntegers('appended', [[-1], [Number.MAX_SAFE_INTEGER]]);
    const got = await compute.query<{ f: number; r: string }>('SELECT f, r FROM appended ORDER BY rowid');
    expect(got.length).toBe(5001);
    expect(got.slice(0, 5000).map((x) => Number(x.f))).toEqual(rows.map((_, i) => i % 7));
    expect(got.map((x) => BigInt(x.r))).toEqual([...rows, Number.MAX_SAFE_INTEGER].map(BigInt));
  });

  it('refuses a column that is not an integer, and a wrong number of columns, appending nothing', async () => {
    await compute.run('CREATE TEMP TABLE wrong (f INTEGER, s VARCHAR)');
    await expect(compute.appendIntegers('wrong', [[1], [2]])).rejects.toThrow(/not INTEGER or BIGINT/);
    await expect(compute.appendIntegers('wrong', [[1]])).rejects.toThrow(/2 columns, 1 given/);
    await compute.run('CREATE TEMP TABLE ragged (f INTEGER, r BIGINT)');
    await expect(compute.appendIntegers('ragged', [[1, 2], [3]])).rejects.toThrow(/differ in length \(2, 1\)/);
    expect(await compute.query('SELECT * FROM ragged')).toEqual([]);
    expect(await compute.query('SELECT * FROM wrong')).toEqual([]);
  });
});
