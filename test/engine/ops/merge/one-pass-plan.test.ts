import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { MergeDuplicateKeyError } from '../../../../src/engine/ops/merge.ts';
import { useEngine } from '../../../support/engine-fixture.ts';
import { RecordingCompute } from '../../../support/recording-compute.ts';

/**
 * The MERGE asks DuckDB as little as it can: the source keys' order (which proves them unique, so
 * no ambiguity check) is read in the pruning pass itself, a join that keeps no acted-on row is not
 * counted again, and the temp relations go in one statement. Each shortcut must leave the result
 * exactly as the general path gives it.
 */
const fx = useEngine();
let n = 0;

async function table(properties?: Record<string, string>): Promise<{ t: DeltaTable; rec: RecordingCompute; dir: string }> {
  const rec = new RecordingCompute(fx.compute);
  const dir = join(fx.dir, `t${++n}`);
  const t = await DeltaTable.forPath(dir, { compute: rec });
  // Four files of 50 keys each, disjoint ranges (0-49, 100-149, ...), all dated 2024-01-01.
  for (const lo of [0, 100, 200, 300]) {
    const w = t.write({ sql: `SELECT range AS id, 'v' || range AS val, TIMESTAMP '2024-01-01' AS last_modified FROM range(${lo}, ${lo + 50})` });
    await (properties && lo === 0 ? w.properties(properties) : w).execute();
  }
  rec.statements = [];
  return { t, rec, dir };
}

async function parquet(sql: string): Promise<string> {
  const file = join(fx.dir, `src-${++n}.parquet`);
  await fx.compute.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
  return file;
}

const dataFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort();

/** Statements reading the source keys' order in a pass of their own (the ambiguity pre-check). */
const orderPasses = (rec: RecordingCompute) => rec.statements.filter((s) => /lag\(__k0\)/.test(s));

describe('MERGE: one pass where one does', () => {
  it('a sorted source with unique keys: its order is read while pruning, no pass of its own; the merge is right', async () => {
    const { t, rec } = await table();
    const file = await parquet(`SELECT range AS id, 'n' || range AS val, TIMESTAMP '2024-02-01' AS last_modified FROM range(120, 140)`);
    const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 20, numTargetRowsInserted: 0, numTargetFilesScanned: 1 });
    expect(orderPasses(rec)).toEqual([]);
    // The pruning statement is the one that read the order.
    expect(rec.statements.filter((s) => /lag\(v\) OVER \(\)/.test(s))).toHaveLength(1);
    const rows = (await t.read({ where: 'id BETWEEN 118 AND 141', orderBy: 'id' })).map((r) => r.val);
    expect(rows).toEqual(['v118', 'v119', ...Array.from({ length: 20 }, (_, i) => `n${120 + i}`), 'v140', 'v141']);
    t.close();
  });

  it('an unsorted source: a key repeated inside the files\' range is still refused, unique unsorted keys merge', async () => {
    const { t } = await table();
    const repeated = await parquet(`SELECT * FROM (VALUES (230, 'a'), (10, 'b'), (230, 'c'), (999, 'd')) v(id, val)`);
    const err = await t.merge({ file: repeated }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute().catch((e) => e);
    expect(err).toBeInstanceOf(MergeDuplicateKeyError);
    expect(err.message).toContain('"id":"230"');
    // The same through a query source (a temp table, whose order is read the same way).
    const viaSql = await t.merge({ sql: `SELECT * FROM (VALUES (230, 'a'), (10, 'b'), (230, 'c')) v(id, val)` }, { on: ['id'] }).whenMatchedUpdateAll().execute().catch((e) => e);
    expect(viaSql).toBeInstanceOf(MergeDuplicateKeyError);
    const unique = await parquet(`SELECT * FROM (VALUES (230, 'a'), (10, 'b'), (999, 'd'), (120, 'e')) v(id, val)`);
    const res = await t.merge({ file: unique }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 3, numTargetRowsInserted: 1 });
    const rows = (await t.read({ where: 'id IN (10, 120, 230, 999)', orderBy: 'id' })).map((r) => [Number(r.id), r.val]);
    expect(rows).toEqual([[10, 'b'], [120, 'e'], [230, 'a'], [999, 'd']]);
    t.close();
  });

  for (const dv of [false, true]) {
    const props = dv ? { 'delta.enableDeletionVectors': 'true' } : undefined;
    it(`no-change merge${dv ? ' (deletion vectors)' : ''}: nothing acted on, so no counting query, no file written, no commit; the metrics are right`, async () => {
      const { t, rec, dir } = await table(props);
      const before = (await t.snapshot()).version;
      const files = dataFiles(dir);
      const file = await parquet(`SELECT range AS id, 'v' || range AS val, TIMESTAMP '2024-01-01' AS last_modified FROM range(100, 250) WHERE range % 100 < 50`);
      const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll('s.last_modified > t.last_modified').whenNotMatchedInsertAll().execute();
      expect(res.skipped).toMatch(/nothing to commit/);
      expect(res.version).toBe(before);
      expect(res.metrics).toMatchObject({
        numSourceRows: 100,
        numTargetRowsUpdated: 0,
        numTargetRowsInserted: 0,
        numTargetRowsCopied: 0,
        numTargetFilesAdded: 0,
        numTargetFilesRemoved: 0,
        numTargetFilesScanned: 2,
        numTargetFilesSkipped: 2,
      });
      expect(rec.statements.filter((s) => /GROUP BY __code/.test(s))).toEqual([]);
      expect(rec.statements.filter((s) => /^\s*COPY/i.test(s))).toEqual([]);
      expect(dataFiles(dir)).toEqual(files);
      expect((await t.snapshot()).version).toBe(before);
      t.close();
    });

    it(`one qualifying row among many that do not${dv ? ' (deletion vectors)' : ''} is applied, and only it`, async () => {
      const { t, dir } = await table(props);
      const before = (await t.snapshot()).version;
      const files = dataFiles(dir);
      // 100 re-sent rows; only key 142 is newer.
      const file = await parquet(
        `SELECT range AS id, CASE WHEN range = 142 THEN 'changed' ELSE 'v' || range END AS val, ` +
          `CASE WHEN range = 142 THEN TIMESTAMP '2024-03-01' ELSE TIMESTAMP '2024-01-01' END AS last_modified FROM range(100, 250) WHERE range % 100 < 50`,
      );
      const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll('s.last_modified > t.last_modified').whenNotMatchedInsertAll().execute();
      expect(res.skipped).toBeUndefined();
      expect(res.version).toBe(before + 1);
      expect(res.metrics).toMatchObject({ numSourceRows: 100, numTargetRowsUpdated: 1, numTargetRowsInserted: 0, numTargetFilesRemoved: dv ? 0 : 1 });
      expect(dataFiles(dir).filter((f) => !files.includes(f))).toHaveLength(1);
      const rows = await t.read({ orderBy: 'id' });
      expect(rows).toHaveLength(200);
      expect(rows.filter((r) => r.val !== `v${r.id}`).map((r) => [Number(r.id), r.val])).toEqual([[142, 'changed']]);
      t.close();
    });
  }

  it('drops its temp relations (view or table, source and join) whatever the path', async () => {
    const { t } = await table();
    const temps = async () =>
      (await fx.compute.query<{ name: string }>(
        `SELECT table_name AS name FROM duckdb_tables() WHERE table_name LIKE '__lakelet_merge%' UNION ALL SELECT view_name FROM duckdb_views() WHERE view_name LIKE '__lakelet_merge%'`,
      )).map((r) => r.name);
    const file = await parquet(`SELECT range AS id, 'n' || range AS val, TIMESTAMP '2024-02-01' AS last_modified FROM range(140, 160)`);
    // A Parquet source (a view) joined into a table; a query source (a table); an insert-only
    // batch whose keys prune every file (the join stays a view); a failing merge.
    await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    await t.merge({ sql: `SELECT 10 AS id, 'x' AS val, TIMESTAMP '2024-02-01' AS last_modified` }, { on: ['id'] }).whenMatchedUpdateAll().execute();
    await t.merge({ sql: `SELECT 5000 AS id, 'y' AS val, TIMESTAMP '2024-02-01' AS last_modified` }, { on: ['id'] }).whenNotMatchedInsertAll().execute();
    await t.merge({ sql: `SELECT 10 AS id UNION ALL SELECT 10` }, { on: ['id'] }).whenMatchedDelete().execute().catch(() => {});
    expect(await temps()).toEqual([]);
    expect((await t.read({ where: 'id IN (10, 150, 5000)', orderBy: 'id' })).map((r) => r.val)).toEqual(['x', 'n150', 'y']);
    t.close();
  });
});
