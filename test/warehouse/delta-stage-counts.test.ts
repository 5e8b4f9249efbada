import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { randomIds, systemClock } from '../../src/adapters/clock.ts';
import { DeltaWarehouse } from '../../src/warehouse/delta/delta-warehouse.ts';
import type { PipelineTables } from '../../src/warehouse/warehouse.ts';
import { tempDir } from '../support/temp.ts';

/**
 * The ingestion log's per-file counts of a staged batch (rows with a NULL key, rows with rescued
 * data). The usual batch has neither, and its stage files' stats say so: then no scan of the stage
 * runs (issue 13, point 5: a scan was six statements per batch for a map of zeros). A batch with
 * such rows is still counted per file, from the rows.
 */
let done: (() => void)[] = [];
afterEach(() => {
  for (const d of done.splice(0)) d();
});

/** The real DuckDB Compute, with every statement it is given recorded. */
function counted(compute: Compute): { compute: Compute; statements: () => number; log: string[] } {
  const log: string[] = [];
  const note = (sql: string) => log.push(sql);
  const wrapped: Compute = {
    query: (sql) => (note(sql), compute.query(sql)),
    run: (sql) => (note(sql), compute.run(sql)),
    stream: (sql) => (note(sql), compute.stream(sql)),
    describe: (sql) => (note(sql), compute.describe(sql)),
    appendIntegers: (table, columns) => (note(`append to ${table}`), compute.appendIntegers(table, columns)),
    integerColumns: (sql) => (note(sql), compute.integerColumns(sql)),
    close: () => compute.close(),
  };
  return { compute: wrapped, statements: () => log.length, log };
}

const rows = (seq: number, values: string) =>
  `SELECT id, v, _rescued_data, CAST(${seq} AS BIGINT) AS _batch, f AS _source_file, TIMESTAMPTZ '2024-05-01 00:00:00+00' AS _ingested_at, CAST(n AS BIGINT) AS _row_number FROM (VALUES ${values}) AS t(id, v, _rescued_data, f, n)`;

async function open(): Promise<{ tables: PipelineTables; statements: () => number; log: string[] }> {
  const { dir, cleanup } = tempDir();
  const real = await openCompute();
  const { compute, statements, log } = counted(real);
  const warehouse = new DeltaWarehouse({ compute, clock: systemClock, ids: randomIds });
  const tables = await warehouse.pipelineTables({ name: 'p', stage: join(dir, 'stage'), target: join(dir, 'target'), stageProperties: {}, targetProperties: {}, stateDir: join(dir, 'state'), tombstones: false });
  done.push(cleanup, () => real.close(), () => tables.close());
  return { tables, statements, log };
}

describe('Delta stage counts of a batch', () => {
  it('come from the files’ stats without a scan when no row has a NULL key or rescued data, and from the rows otherwise', async () => {
    const { tables, statements } = await open();
    await tables.stage({ seq: 1, files: [], addColumns: true, query: rows(1, `(1, 'a', CAST(NULL AS VARCHAR), 'a.csv', 1), (2, 'b', NULL, 'b.csv', 1)`) });
    await tables.stage({ seq: 2, files: [], addColumns: true, query: rows(2, `(3, 'c', CAST(NULL AS VARCHAR), 'c.csv', 1), (NULL, 'd', NULL, 'c.csv', 2), (4, 'e', '{"v":"x"}', 'd.csv', 1)`) });
    await tables.stage({ seq: 3, files: [], addColumns: true, query: rows(3, `(5, 'f', CAST(NULL AS VARCHAR), 'e.csv', 1)`) });

    for (const seq of [1, 3]) {
      const before = statements();
      const counts = await tables.stageCounts(seq, ['id']);
      expect(statements() - before).toBe(0);
      expect([...counts.values()].every((c) => c.rejected === 0 && c.rescued === 0)).toBe(true);
    }
    const before = statements();
    const counts = await tables.stageCounts(2, ['id']);
    expect(statements() - before).toBeGreaterThan(0);
    expect(Object.fromEntries(counts)).toEqual({ 'c.csv': { rejected: 1, rescued: 0 }, 'd.csv': { rejected: 0, rescued: 1 } });
    // Without a key (a pipeline with no target) only the rescued data counts.
    expect(Object.fromEntries(await tables.stageCounts(2, []))).toEqual({ 'c.csv': { rejected: 0, rescued: 0 }, 'd.csv': { rejected: 0, rescued: 1 } });
  });

  it('feed a MERGE of the batch without a predicate bound and compiled for the stage scan, the batch’s rows only', async () => {
    const { tables, log } = await open();
    await tables.stage({ seq: 1, files: [], addColumns: true, query: rows(1, `(1, 'a', CAST(NULL AS VARCHAR), 'a.csv', 1), (2, 'b', NULL, 'a.csv', 2)`) });
    await tables.stage({ seq: 2, files: [], addColumns: true, query: rows(2, `(2, 'b2', CAST(NULL AS VARCHAR), 'b.csv', 1), (3, 'c', NULL, 'b.csv', 2)`) });
    const upsert = (seq: number) => tables.upsert({ seq, key: ['id'], partitionBy: [], fileOrder: [], addColumns: false });
    await upsert(1);
    log.length = 0;
    const second = await upsert(2);
    expect(second.metrics).toMatchObject({ inserted: 1, updated: 1 });
    expect(log.filter((sql) => /json_serialize_sql|\bLIMIT 0\b/.test(sql))).toEqual([]);
    expect((await tables.rows('target', { orderBy: 'id' })).map((r) => [r.id, r.v])).toEqual([
      [1, 'a'],
      [2, 'b2'],
      [3, 'c'],
    ]);
  });
});
