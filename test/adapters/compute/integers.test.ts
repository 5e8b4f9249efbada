import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../../src/adapters/compute/compute.ts';
import { openCompute } from '../../../src/adapters/compute/open-compute.ts';
import { splitByFile } from '../../../src/engine/ops/deletion-vectors.ts';

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

describe('Compute.integerColumns', () => {
  it('reads INTEGER and BIGINT columns exactly, across chunks, negatives and values past 2^32 included', async () => {
    // 5,000 rows: two full 2,048-row chunks and a partial one.
    const got = await compute.integerColumns(
      'SELECT (i % 7 - 3)::INTEGER AS f, (i * 1000003 + 1099511627776 - CASE WHEN i % 2 = 0 THEN 2199023255552 ELSE 0 END)::BIGINT AS r FROM range(5000) t(i) ORDER BY i',
    );
    expect(got.length).toBe(2);
    expect(got[0]).toBeInstanceOf(Float64Array);
    const i = Array.from({ length: 5000 }, (_, k) => k);
    expect(Array.from(got[0])).toEqual(i.map((k) => (k % 7) - 3));
    expect(Array.from(got[1])).toEqual(i.map((k) => k * 1000003 + 2 ** 40 - (k % 2 === 0 ? 2 ** 41 : 0)));
  });

  it('keeps the extremes a number holds exactly and refuses one beyond them', async () => {
    const [v] = await compute.integerColumns(`SELECT * FROM (VALUES (${Number.MAX_SAFE_INTEGER}::BIGINT), (${-Number.MAX_SAFE_INTEGER}::BIGINT), (-1::BIGINT), (0::BIGINT)) t(v)`);
    expect(Array.from(v)).toEqual([Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, -1, 0]);
    await expect(compute.integerColumns(`SELECT ${2 ** 53}::BIGINT AS v`)).rejects.toThrow(/beyond 2\^53/);
    await expect(compute.integerColumns(`SELECT -${2 ** 53}::BIGINT AS v`)).rejects.toThrow(/beyond 2\^53/);
  });

  it('leaves out rows with a NULL and refuses a column that is not an integer', async () => {
    const got = await compute.integerColumns('SELECT * FROM (VALUES (1, 10), (NULL, 20), (3, NULL), (4, 40)) t(a, b)');
    expect(got.map((c) => Array.from(c))).toEqual([
      [1, 4],
      [10, 40],
    ]);
    await expect(compute.integerColumns("SELECT 1 AS a, 'x' AS b")).rejects.toThrow(/column 2 is VARCHAR, not INTEGER or BIGINT/);
    const none = await compute.integerColumns('SELECT 1 AS a, 2::BIGINT AS b WHERE false');
    expect(none.map((c) => c.length)).toEqual([0, 0]);
  });
});

describe('splitByFile', () => {
  it("cuts positions into each file's, whether or not they come grouped by file", () => {
    const byFile = splitByFile(new Float64Array([0, 0, 2, 2, 2, 5]), new Float64Array([1, 7, 0, 3, 9, 4]));
    expect([...byFile].map(([f, r]) => [f, Array.from(r)])).toEqual([
      [0, [1, 7]],
      [2, [0, 3, 9]],
      [5, [4]],
    ]);
    const apart = splitByFile(new Float64Array([1, 0, 1, 0, 1]), new Float64Array([8, 2, 3, 5, 1]));
    expect([...apart].map(([f, r]) => [f, Array.from(r)])).toEqual([
      [1, [8, 3, 1]],
      [0, [2, 5]],
    ]);
  });
});
