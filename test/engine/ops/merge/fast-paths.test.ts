import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { MergeDuplicateKeyError } from '../../../../src/engine/ops/merge.ts';
import { useEngine } from '../../../support/engine-fixture.ts';

/**
 * The MERGE's cheaper paths give the same rows as the general one: file pruning by a binary search
 * over disjoint key ranges (every prunable key type), a plain upsert that writes the source rows
 * as they are, and star merges that keep only source row ids in the join (Parquet file and table
 * sources, with and without deletion vectors).
 */
const fx = useEngine();
let n = 0;

async function table(): Promise<DeltaTable> {
  return DeltaTable.forPath(join(fx.dir, `f${++n}`), { compute: fx.compute });
}

async function parquet(sql: string): Promise<string> {
  const file = join(fx.dir, `src-${++n}.parquet`);
  await fx.compute.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
  return file;
}

// Five files per type with disjoint, sorted ranges; keys probe inside, on both bounds, in the
// gaps between files, below the first and above the last.
const TYPES: { name: string; duck: string; files: [string, string][]; probes: { key: string; file: number | null; hit?: boolean }[] }[] = [
  {
    name: 'string',
    duck: 'VARCHAR',
    files: [['apple', 'banana'], ['cherry', 'date'], ['fig', 'grape'], ['kiwi', 'lemon'], ['mango', 'zucchini']],
    probes: [{ key: "'aaa'", file: null }, { key: "'apple'", file: 0, hit: true }, { key: "'bz'", file: null }, { key: "'date'", file: 1, hit: true }, { key: "'kiwi'", file: 3, hit: true }, { key: "'zz'", file: null }],
  },
  {
    name: 'date',
    duck: 'DATE',
    files: [['2024-01-01', '2024-01-31'], ['2024-02-01', '2024-02-10'], ['2024-03-01', '2024-03-31'], ['2024-05-01', '2024-05-02'], ['2024-06-01', '2024-12-31']],
    probes: [{ key: "DATE '2023-12-31'", file: null }, { key: "DATE '2024-01-31'", file: 0, hit: true }, { key: "DATE '2024-02-20'", file: null }, { key: "DATE '2024-05-02'", file: 3, hit: true }, { key: "DATE '2024-07-04'", file: 4 }],
  },
  {
    name: 'timestamp',
    duck: 'TIMESTAMPTZ',
    files: [['2024-01-01 00:00:00', '2024-01-01 00:00:00.999'], ['2024-01-01 00:00:01', '2024-01-01 00:00:01.5'], ['2024-01-02 00:00:00', '2024-01-03 00:00:00'], ['2024-02-01 00:00:00', '2024-02-01 00:00:00.000123'], ['2024-03-01 00:00:00', '2024-03-02 00:00:00']],
    probes: [{ key: "TIMESTAMPTZ '2024-01-01 00:00:00.999'", file: 0, hit: true }, { key: "TIMESTAMPTZ '2024-01-01 00:00:01.5'", file: 1, hit: true }, { key: "TIMESTAMPTZ '2024-01-01 12:00:00'", file: null }, { key: "TIMESTAMPTZ '2024-02-01 00:00:00.000123'", file: 3, hit: true }, { key: "TIMESTAMPTZ '2024-03-03 00:00:00'", file: null }],
  },
  {
    name: 'decimal',
    duck: 'DECIMAL(12,2)',
    files: [['-100.50', '-10.25'], ['-10.00', '0.00'], ['0.01', '9.99'], ['100.00', '100.00'], ['1000.00', '99999.99']],
    probes: [{ key: '-100.51', file: null }, { key: '-10.25', file: 0, hit: true }, { key: '-10.10', file: null }, { key: '0.01', file: 2, hit: true }, { key: '100.00', file: 3, hit: true }, { key: '500.00', file: null }],
  },
  {
    name: 'double',
    duck: 'DOUBLE',
    files: [['-1e10', '-1.5'], ['-1.25', '0.1'], ['0.30000000000000004', '2.5'], ['3', '3'], ['1e6', '1e300']],
    probes: [{ key: '-1.4', file: null }, { key: '0.1', file: 1, hit: true }, { key: '0.3', file: null }, { key: '0.30000000000000004', file: 2, hit: true }, { key: '3', file: 3, hit: true }, { key: '1e301', file: null }],
  },
];

describe('MERGE fast paths', () => {
  for (const type of TYPES) {
    it(`prunes disjoint ${type.name} key ranges exactly: only the files whose range holds a source key are read`, async () => {
      const t = await table();
      for (const [lo, hi] of type.files) {
        await t.write({ sql: `SELECT DISTINCT ON (k) * FROM (VALUES (CAST('${lo}' AS ${type.duck}), 'lo'), (CAST('${hi}' AS ${type.duck}), 'hi')) v(k, val)` }).execute();
      }
      const before = await t.read({ orderBy: 'k, val' });
      const values = type.probes.map((p) => `(CAST(${p.key} AS ${type.duck}), 'new')`).join(', ');
      const res = await t.merge({ sql: `SELECT * FROM (VALUES ${values}) v(k, val)` }, { on: ['k'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
      const holding = new Set(type.probes.filter((p) => p.file !== null).map((p) => p.file));
      expect(res.metrics.numTargetFilesScanned).toBe(holding.size);
      expect(res.metrics.numTargetFilesSkipped).toBe(type.files.length - holding.size);
      // A probe equal to a file's bound matches that row; any other is inserted.
      const hits = type.probes.filter((p) => p.hit).length;
      expect(res.metrics.numTargetRowsUpdated).toBe(hits);
      expect(res.metrics.numTargetRowsInserted).toBe(type.probes.length - hits);
      const after = await t.read({ orderBy: 'k, val' });
      expect(after.length).toBe(before.length + res.metrics.numTargetRowsInserted);
      expect(after.filter((r) => r.val === 'new').length).toBe(type.probes.length);
      t.close();
    });
  }

  it('a target that repeats a key: a plain upsert updates every copy, like the general path', async () => {
    for (const conditional of [false, true]) {
      const t = await table();
      await t.write({ sql: `SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, val)` }).execute();
      await t.write({ sql: `SELECT * FROM (VALUES (1, 'a2')) v(id, val)` }).execute();
      const b = t.merge({ sql: `SELECT * FROM (VALUES (1, 'new'), (3, 'ins')) v(id, val)` }, { on: ['id'] });
      const res = await (conditional ? b.whenMatchedUpdateAll('s.val <> t.val') : b.whenMatchedUpdateAll()).whenNotMatchedInsertAll().execute();
      expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 2, numTargetRowsInserted: 1 });
      expect((await t.read({ orderBy: 'id, val' })).map((r) => [r.id, r.val])).toEqual([
        [1, 'new'],
        [1, 'new'],
        [2, 'b'],
        [3, 'ins'],
      ]);
      t.close();
    }
  });

  it('star clauses with conditions and deletes, from a Parquet file and from a query, with and without DVs: the same rows', async () => {
    const results: unknown[] = [];
    // The last source has its own file_row_number column (DuckDB cannot number its rows): the plain path.
    const sources = [
      { file: await parquet(`SELECT range AS id, 'u' || range AS val, CASE WHEN range % 3 = 0 THEN 'D' ELSE 'U' END AS op FROM range(5, 40, 2)`) },
      { sql: `SELECT range AS id, 'u' || range AS val, CASE WHEN range % 3 = 0 THEN 'D' ELSE 'U' END AS op FROM range(5, 40, 2)` },
      { file: await parquet(`SELECT range AS id, 'u' || range AS val, CASE WHEN range % 3 = 0 THEN 'D' ELSE 'U' END AS op, 0 AS file_row_number FROM range(5, 40, 2)`) },
    ];
    for (const dv of [false, true]) {
      for (const source of sources) {
        const t = await table();
        for (let f = 0; f < 3; f++) {
          const w = t.write({ sql: `SELECT range AS id, 'v' || range AS val FROM range(${f * 10}, ${f * 10 + 10})` });
          if (f === 0 && dv) w.properties({ 'delta.enableDeletionVectors': 'true' });
          await w.execute();
        }
        const res = await t
          .merge(source, { on: ['id'] })
          .whenMatchedDelete("s.op = 'D'")
          .whenMatchedUpdateAll('s.id % 5 <> 0')
          .whenNotMatchedInsertAll("s.op <> 'D'")
          .execute();
        const rows = (await t.read({ orderBy: 'id' })).map((r) => [Number(r.id), r.val]);
        results.push({ metrics: [res.metrics.numTargetRowsDeleted, res.metrics.numTargetRowsUpdated, res.metrics.numTargetRowsInserted], rows });
        t.close();
      }
    }
    // Keys 5..39 odd: 9, 15, 21, 27 deleted (op D, matched); 5, 25 kept (id % 5 = 0);
    // 7, 11, 13, 17, 19, 23, 29 updated; 31..39 odd inserted except 33 and 39 (op D).
    const expected = results[0] as { metrics: number[]; rows: [number, string][] };
    expect(expected.metrics).toEqual([4, 7, 3]);
    expect(expected.rows.find((r) => r[0] === 7)).toEqual([7, 'u7']);
    expect(expected.rows.find((r) => r[0] === 5)).toEqual([5, 'v5']);
    expect(expected.rows.some((r) => r[0] === 9 || r[0] === 33)).toBe(false);
    for (const r of results) expect(r).toEqual(expected);
  });

  it('copy-on-write: a file whose every row changes is not re-read, a partly changed one keeps its other rows', async () => {
    const t = await table();
    await t.write({ sql: `SELECT range AS id, 'a' || range AS val FROM range(0, 10)` }).execute();
    await t.write({ sql: `SELECT range AS id, 'b' || range AS val FROM range(10, 20)` }).execute();
    // DELETE one row of the second file first (copy-on-write: rewritten), then update all of file 1
    // and delete all that is left of file 2 but one row.
    await t.delete('id = 10').execute();
    const res = await t
      .merge({ sql: `SELECT range AS id, CASE WHEN range < 10 THEN 'U' ELSE 'D' END AS op, 'new' || range AS val FROM range(0, 19)` }, { on: ['id'] })
      .whenMatchedDelete("s.op = 'D'")
      .whenMatchedUpdateAll()
      .execute();
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 10, numTargetRowsDeleted: 8, numTargetRowsCopied: 1, numTargetFilesRemoved: 2 });
    const rows = (await t.read({ orderBy: 'id' })).map((r) => [Number(r.id), r.val]);
    expect(rows).toEqual([...Array.from({ length: 10 }, (_, i) => [i, `new${i}`]), [19, 'b19']]);
    t.close();
  });

  it('a no-change merge from a Parquet file reads, decides, and writes nothing', async () => {
    const t = await table();
    await t.write({ sql: `SELECT range AS id, 'v' || range AS val, TIMESTAMP '2024-01-01' AS last_modified FROM range(100)` }).execute();
    const file = await parquet(`SELECT range AS id, 'v' || range AS val, TIMESTAMP '2024-01-01' AS last_modified FROM range(10, 60)`);
    const before = await t.snapshot();
    const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll('s.last_modified > t.last_modified').whenNotMatchedInsertAll().execute();
    expect(res.skipped).toBeDefined();
    expect(res.version).toBe(before.version);
    expect(res.metrics).toMatchObject({ numSourceRows: 50, numTargetRowsUpdated: 0, numTargetRowsInserted: 0, numTargetFilesAdded: 0 });
    t.close();
  });

  it('keys that prune every file: an unconditional insert takes every source row (dedup counted), a conditional one only those it accepts', async () => {
    const t = await table();
    await t.write({ sql: `SELECT range AS id, 'v' || range AS val FROM range(100)` }).execute();
    const fresh = `SELECT range AS id, 'n' || range AS val FROM range(1000, 1100)`;
    const conditional = await t.merge({ sql: fresh }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll('s.id % 4 = 0').execute();
    expect(conditional.metrics).toMatchObject({ numTargetFilesScanned: 0, numTargetRowsInserted: 25, numOutputRows: 25 });
    // Repeated keys deduplicated first: 100 source rows, 50 kept, all inserted.
    const repeated = `SELECT 2000 + range % 50 AS id, 'r' || range AS val FROM range(100)`;
    const deduped = await t.merge({ sql: repeated }, { on: ['id'] }).dedupBy('val').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(deduped.metrics).toMatchObject({ numTargetFilesScanned: 0, numSourceRows: 100, numSourceRowsDeduplicated: 50, numTargetRowsInserted: 50 });
    // No insert clause at all: nothing matches, nothing is inserted, nothing is committed.
    const version = (await t.snapshot()).version;
    const none = await t.merge({ sql: `SELECT 5000 AS id, 'x' AS val` }, { on: ['id'] }).whenMatchedDelete().execute();
    expect(none.metrics).toMatchObject({ numTargetFilesScanned: 0, numTargetRowsInserted: 0, numTargetRowsDeleted: 0 });
    expect(none.version).toBe(version);
    expect((await t.read()).length).toBe(100 + 25 + 50);
    t.close();
  });

  it('repeated source keys: checked only inside the files\' key range (the last file included); repeats above it are both inserted', async () => {
    const t = await table();
    for (const lo of [0, 100, 200]) await t.write({ sql: `SELECT range AS id, 'v' || range AS val FROM range(${lo}, ${lo + 50})` }).execute();
    // Sorted, with key 240 (in the last file) twice among new keys above every file.
    const inside = await parquet(`SELECT * FROM (VALUES (5, 'a'), (240, 'b'), (240, 'c'), (900, 'd')) v(id, val)`);
    const err = await t.merge({ file: inside }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute().catch((e) => e);
    expect(err).toBeInstanceOf(MergeDuplicateKeyError);
    expect(err.message).toContain('"id":"240"');
    // Key 900 twice, above every file: nothing to be ambiguous about, both rows go in.
    const above = await parquet(`SELECT * FROM (VALUES (5, 'a'), (240, 'b'), (900, 'd'), (900, 'e')) v(id, val)`);
    const res = await t.merge({ file: above }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 2, numTargetRowsInserted: 2 });
    const rows = (await t.read({ where: 'id IN (5, 240, 900)', orderBy: 'id, val' })).map((r) => [Number(r.id), r.val]);
    expect(rows).toEqual([[5, 'a'], [240, 'b'], [900, 'd'], [900, 'e']]);
    t.close();
  });

  it('the ambiguity error names the key when a conditional star merge matches one target row twice', async () => {
    const t = await table();
    await t.write({ sql: `SELECT range AS id, 'v' || range AS val FROM range(10)` }).execute();
    const file = await parquet(`SELECT * FROM (VALUES (4, 'x'), (4, 'y'), (20, 'z')) v(id, val)`);
    const err = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll("s.val <> 'none'").whenNotMatchedInsertAll().execute().catch((e) => e);
    expect(err).toBeInstanceOf(MergeDuplicateKeyError);
    expect(err.message).toContain('"id":"4"');
    t.close();
  });
});
