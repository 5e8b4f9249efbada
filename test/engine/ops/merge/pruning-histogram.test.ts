import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { InputError } from '../../../../src/engine/errors.ts';
import { integerBins, orderIntegerBounds, orderStringBounds, overlapBins } from '../../../../src/engine/ops/merge/pruning.ts';
import { sqlString } from '../../../../src/adapters/compute/sql.ts';
import { deltaTypeToDuckDb } from '../../../../src/engine/delta/duckdb-types.ts';
import { useEngine } from '../../../support/engine-fixture.ts';
import { RecordingCompute } from '../../../support/recording-compute.ts';
import { dirOf } from '../../../support/temp.ts';

/**
 * MERGE pruning finds the files holding a source key, for integer keys over files with disjoint
 * ranges, with DuckDB's histogram over the files' bounds: the files it names must be exactly those
 * whose [min, max] holds at least one key (keys between files, on a bound, at the type's limits).
 */
const fx = useEngine();

type Bound = { i: number; lo: string; hi: string };

async function filesByHistogram(type: string, bounds: Bound[], keys: bigint[]): Promise<number[]> {
  const usable = orderIntegerBounds(type, bounds)!.filter((r) => r.lo !== null && r.hi !== null);
  expect(usable.every((r) => r.overlaps !== true)).toBe(true);
  const bins = integerBins(usable, type)!;
  const t = deltaTypeToDuckDb(type);
  const values = keys.length ? `[${keys.map((k) => `CAST(${k} AS ${t})`).join(', ')}]` : `[]::${t}[]`;
  // The same in-range filter the pruning query puts before the histogram.
  const [row] = await fx.compute.query<{ files: string[] | null }>(
    `SELECT ${bins.filesSql} AS files FROM (SELECT unnest(${values}) AS v) WHERE v >= CAST(${usable[0].lo} AS ${t}) AND v <= CAST(${usable[usable.length - 1].hi} AS ${t})`,
  );
  return bins.indexes(row.files).sort((a, b) => a - b);
}

function bruteForce(bounds: Bound[], keys: bigint[]): number[] {
  return bounds
    .filter((b) => keys.some((k) => k >= BigInt(b.lo) && k <= BigInt(b.hi)))
    .map((b) => b.i)
    .sort((a, b) => a - b);
}

describe('MERGE pruning: integer keys binned by a histogram over the files\' bounds', () => {
  it('names exactly the files holding a key: gaps, contiguous files, single-value files, bounds', async () => {
    let seed = 11;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    for (const type of ['byte', 'integer', 'long']) {
      for (let round = 0; round < 8; round++) {
        const bounds: Bound[] = [];
        let at = type === 'byte' ? -100 : -1000;
        for (let i = 0; i < 10; i++) {
          // Contiguous (gap 0), or a gap; single-value files now and then.
          at += rand(3) === 0 ? 0 : 1 + rand(6);
          const width = rand(4) === 0 ? 0 : rand(type === 'byte' ? 8 : 40);
          bounds.push({ i, lo: String(at), hi: String(at + width) });
          at += width + 1;
        }
        const lo = BigInt(bounds[0].lo) - 3n;
        const hi = BigInt(bounds[bounds.length - 1].hi) + 3n;
        const keys: bigint[] = [];
        for (let k = 0; k < rand(12); k++) keys.push(lo + BigInt(rand(Number(hi - lo) + 1)));
        // Some keys right on a bound, or just beside one.
        for (const b of bounds) if (rand(4) === 0) keys.push(BigInt(rand(2) ? b.lo : b.hi) + BigInt(rand(3) - 1));
        const shuffled = [...bounds].sort(() => rand(3) - 1);
        expect(await filesByHistogram(type, shuffled, keys)).toEqual(bruteForce(bounds, keys));
      }
    }
  });

  it('files at the very limits of the type', async () => {
    const bytes: Bound[] = [
      { i: 0, lo: '-128', hi: '-128' },
      { i: 1, lo: '-127', hi: '0' },
      { i: 2, lo: '5', hi: '127' },
    ];
    expect(await filesByHistogram('byte', bytes, [-128n])).toEqual([0]);
    expect(await filesByHistogram('byte', bytes, [-127n, 127n])).toEqual([1, 2]);
    expect(await filesByHistogram('byte', bytes, [3n])).toEqual([]);
    const longs: Bound[] = [
      { i: 0, lo: '-9223372036854775808', hi: '-1' },
      { i: 1, lo: '1', hi: '9223372036854775807' },
    ];
    expect(await filesByHistogram('long', longs, [0n])).toEqual([]);
    expect(await filesByHistogram('long', longs, [-9223372036854775808n, 9223372036854775807n])).toEqual([0, 1]);
    expect(await filesByHistogram('long', longs, [])).toEqual([]);
  });
});

/** The files the overlap bins name for `keys` (the same in-range filter as the pruning query). */
async function filesByOverlapBins(type: string, bounds: { i: number; lo: string; hi: string }[], keys: string[]): Promise<number[]> {
  const usable = (orderIntegerBounds(type, bounds) ?? orderStringBounds(type, bounds))!.filter((r) => r.lo !== null && r.hi !== null);
  const bins = overlapBins(usable, type)!;
  const t = deltaTypeToDuckDb(type);
  const values = keys.length ? `[${keys.map((k) => `CAST(${sqlString(k)} AS ${t})`).join(', ')}]` : `[]::${t}[]`;
  const [row] = await fx.compute.query<{ files: string[] | null }>(`SELECT ${bins.filesSql} AS files FROM (SELECT unnest(${values}) AS v) WHERE ${bins.inRange}`);
  return bins.indexes(row.files).sort((a, b) => a - b);
}

describe('MERGE pruning: files whose ranges overlap, binned by all their bounds', () => {
  let seed = 7;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);

  it('integer keys: exactly the files holding a key (nested, equal, touching and single-value ranges)', async () => {
    for (const type of ['short', 'long']) {
      for (let round = 0; round < 10; round++) {
        const bounds: Bound[] = [];
        for (let i = 0; i < 3 + rand(9); i++) {
          const lo = rand(200) - 100;
          bounds.push({ i, lo: String(lo), hi: String(lo + (rand(4) === 0 ? 0 : rand(80))) });
        }
        // Some ranges equal to, nested in or touching another's.
        if (bounds.length > 3) bounds[1] = { i: 1, lo: bounds[0].lo, hi: bounds[0].hi };
        if (bounds.length > 4) bounds[2] = { i: 2, lo: bounds[3].hi, hi: String(Number(bounds[3].hi) + 5) };
        const keys: bigint[] = [];
        for (let k = 0; k < rand(10); k++) keys.push(BigInt(rand(320) - 140));
        for (const b of bounds) if (rand(3) === 0) keys.push(BigInt(rand(2) ? b.lo : b.hi) + BigInt(rand(3) - 1));
        const got = await filesByOverlapBins(type, bounds, keys.map(String));
        expect(got).toEqual(bruteForce(bounds, keys));
      }
    }
  });

  it('text keys: every file holding a key, and no file whose range and the bound below it hold none', async () => {
    const word = () => `TRK${String(rand(1000)).padStart(6, '0')}${rand(3) === 0 ? 'é' : ''}`;
    for (let round = 0; round < 10; round++) {
      const bounds = Array.from({ length: 3 + rand(8) }, (_, i) => {
        const [a, b] = [word(), word()].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        return { i, lo: a, hi: b };
      });
      const keys = Array.from({ length: rand(12) }, word);
      for (const b of bounds) if (rand(3) === 0) keys.push(rand(2) ? b.lo : b.hi);
      const cmp = (x: string, y: string) => Buffer.compare(Buffer.from(x), Buffer.from(y));
      const holds = (lo: string, hi: string, k: string) => cmp(k, lo) >= 0 && cmp(k, hi) <= 0;
      const got = await filesByOverlapBins('string', bounds, keys);
      const exact = bounds.filter((b) => keys.some((k) => holds(b.lo, b.hi, k))).map((b) => b.i);
      // Never drops a file that holds a key.
      expect(got).toEqual(expect.arrayContaining(exact));
      // A file kept without need has a key between the greatest bound below its lo and its lo.
      const all = bounds.flatMap((b) => [b.lo, b.hi]).sort(cmp);
      for (const i of got.filter((i) => !exact.includes(i))) {
        const b = bounds[i];
        const below = all.filter((x) => cmp(x, b.lo) < 0).pop();
        expect(keys.some((k) => cmp(k, b.lo) < 0 && (below === undefined || cmp(k, below) > 0))).toBe(true);
      }
    }
  });
});

describe('MERGE with integer keys, end to end', () => {
  let n = 0;
  async function fiveFiles(): Promise<DeltaTable> {
    const t = await DeltaTable.forPath(join(fx.dir, `e${++n}`), { compute: fx.compute });
    // Disjoint ranges with gaps: [0, 9], [20, 29], [30, 39] (contiguous with the one before), [60, 60], [100, 199].
    for (const [lo, hi] of [[0, 9], [20, 29], [30, 39], [60, 60], [100, 199]]) {
      await t.write({ sql: `SELECT CAST(k AS BIGINT) AS k, 'old' AS val FROM range(${lo}, ${hi + 1}) r(k)` }).execute();
    }
    return t;
  }
  // Keys in a gap (15, 45, 61), on bounds (9, 30, 60, 199), below and above every file (-5, 500).
  const keys = [-5, 9, 15, 30, 45, 60, 61, 199, 500];
  const source = { sql: `SELECT CAST(k AS BIGINT) AS k, 'new' AS val FROM (VALUES ${keys.map((k) => `(${k})`).join(', ')}) v(k)` };

  it('reads only the files whose range holds a source key, with a matched clause (keys\' order read too) and insert-only', async () => {
    const t = await fiveFiles();
    const upsert = await t.merge(source, { on: ['k'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    // Files [0, 9], [30, 39], [60, 60], [100, 199] hold a key; [20, 29] holds none.
    expect(upsert.metrics).toMatchObject({ numTargetFilesScanned: 4, numTargetFilesSkipped: 1, numTargetRowsUpdated: 4, numTargetRowsInserted: 5 });
    const rows = await t.read({ orderBy: 'k' });
    expect(rows.filter((r) => r.val === 'new').map((r) => Number(r.k))).toEqual(keys);
    const t2 = await fiveFiles();
    const inserts = await t2.merge(source, { on: ['k'] }).whenNotMatchedInsertAll().execute();
    expect(inserts.metrics).toMatchObject({ numTargetFilesScanned: 4, numTargetFilesSkipped: 1, numTargetRowsInserted: 5 });
  });

  it('files whose key ranges overlap: only those holding a key are read, and the merge is right', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, `o${++n}`), { compute: fx.compute });
    // Appended batches of spread-out keys: [0, 90], [5, 95], [200, 290] (every tenth key), [40, 45].
    for (const [lo, hi, step] of [[0, 90, 10], [5, 95, 10], [200, 290, 10], [40, 45, 5]]) {
      await t.write({ sql: `SELECT CAST(k AS BIGINT) AS k, 'old' AS val FROM range(${lo}, ${hi + 1}, ${step}) r(k)` }).execute();
    }
    // 50 lies in [0, 90] and [5, 95] (a gap of the latter), 205 in [200, 290]; [40, 45] holds none.
    const src = { sql: `SELECT CAST(k AS BIGINT) AS k, 'new' AS val FROM (VALUES (50), (205), (500)) v(k)` };
    const r = await t.merge(src, { on: ['k'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(r.metrics).toMatchObject({ numTargetFilesScanned: 3, numTargetFilesSkipped: 1, numTargetRowsUpdated: 1, numTargetRowsInserted: 2 });
    const rows = await t.read({ orderBy: 'k' });
    expect(rows.filter((x) => x.val === 'new').map((x) => Number(x.k))).toEqual([50, 205, 500]);
    expect(rows.length).toBe(10 + 10 + 10 + 2 + 2);
  });

  it('a source that cannot be read fails with a clear error and leaves no temp relation; a merge skipped by its txn never reads it', async () => {
    const t = await fiveFiles();
    await t.merge(source, { on: ['k'] }).txn('app', 1).whenMatchedUpdateAll().execute();
    const missing = { file: join(fx.dir, 'no-such-source.parquet') };
    const skipped = await t.merge(missing, { on: ['k'] }).txn('app', 1).whenMatchedUpdateAll().execute();
    expect(skipped.skipped).toMatch(/already committed/);
    // Not even started: no statement names the source (a replayed batch must not read it whole).
    const rec = new RecordingCompute(fx.compute);
    const replay = await DeltaTable.forPath(dirOf(t), { compute: rec });
    const marked = { sql: `SELECT CAST(7 AS BIGINT) AS k, 'replay-marker' AS val` };
    expect((await replay.merge(marked, { on: ['k'] }).txn('app', 1).whenMatchedUpdateAll().execute()).skipped).toMatch(/already committed/);
    expect(rec.statements.filter((sql) => sql.includes('replay-marker'))).toEqual([]);
    await expect(t.merge(missing, { on: ['k'] }).whenMatchedUpdateAll().execute()).rejects.toThrow(InputError);
    const left = await fx.compute.query(`SELECT table_name FROM information_schema.tables WHERE table_name LIKE '__lakelet_merge_%'`);
    expect(left).toEqual([]);
  });
});
