import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { useEngine } from '../../../support/engine-fixture.ts';
import { RecordingCompute } from '../../../support/recording-compute.ts';

/**
 * A source that lines up with the candidate files (strictly increasing keys, all inside their
 * ranges, as many rows as they hold) is paired with their rows by position instead of joined by
 * key (merge/aligned.ts). Every pair is checked against the join condition; when one fails, the
 * merge joins again by key. Either way the result is the one Delta's semantics give.
 */
const fx = useEngine();
let n = 0;

/** Three files of keys lo..lo+49 (lo = 0, 100, 200), values 'v<id>'; `shuffled` writes the middle one out of key order. */
async function table(options: { properties?: Record<string, string>; shuffled?: boolean } = {}): Promise<{ t: DeltaTable; rec: RecordingCompute }> {
  const rec = new RecordingCompute(fx.compute);
  const t = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: rec });
  for (const lo of [0, 100, 200]) {
    const order = options.shuffled && lo === 100 ? ' ORDER BY hash(range)' : '';
    const w = t.write({ sql: `SELECT range AS id, 'v' || range AS val FROM range(${lo}, ${lo + 50})${order}` });
    await (options.properties && lo === 0 ? w.properties(options.properties) : w).execute();
  }
  rec.statements = [];
  return { t, rec };
}

async function parquet(sql: string): Promise<string> {
  const file = join(fx.dir, `src-${++n}.parquet`);
  await fx.compute.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
  return file;
}

const paired = (rec: RecordingCompute) => rec.statements.filter((s) => /POSITIONAL JOIN/.test(s)).length;
const joinedByKey = (rec: RecordingCompute) => rec.statements.filter((s) => /CREATE TEMP TABLE __lakelet_merge_rows/.test(s) && / JOIN __lakelet_merge_src_\S+ s ON /.test(s)).length;

async function rows(t: DeltaTable): Promise<[number, string][]> {
  return (await t.read({ orderBy: 'id, val' })).map((r) => [Number(r.id), String(r.val)]);
}

const base = (): [number, string][] => [0, 100, 200].flatMap((lo) => Array.from({ length: 50 }, (_, i): [number, string] => [lo + i, `v${lo + i}`]));

describe('MERGE: a source lined up with its files is paired by position', () => {
  for (const dv of [false, true]) {
    it(`every row of two files re-sent with new values${dv ? ' (deletion vectors)' : ''}: paired by position, not joined by key; the same rows`, async () => {
      const { t, rec } = await table({ properties: dv ? { 'delta.enableDeletionVectors': 'true' } : undefined });
      const file = await parquet(`SELECT range AS id, 'n' || range AS val FROM range(100, 250) WHERE range % 100 < 50`);
      const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll("s.val <> 'n120'").whenNotMatchedInsertAll().execute();
      expect(paired(rec)).toBe(1);
      expect(joinedByKey(rec)).toBe(0);
      expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 99, numTargetRowsInserted: 0, numTargetFilesScanned: 2 });
      const expected = base().map(([id, val]): [number, string] => (id >= 100 && id !== 120 ? [id, `n${id}`] : [id, val]));
      expect(await rows(t)).toEqual(expected);
      if (dv) {
        // Now the files carry deletion vectors (their positions no longer line up): joined by key.
        rec.statements = [];
        const again = await parquet(`SELECT range AS id, 'm' || range AS val FROM range(100, 150)`);
        await t.merge({ file: again }, { on: ['id'] }).whenMatchedUpdateAll().execute();
        expect(paired(rec)).toBe(0);
        expect(joinedByKey(rec)).toBe(1);
        expect((await rows(t)).filter(([id]) => id >= 100 && id < 150).every(([id, val]) => val === `m${id}`)).toBe(true);
      }
      t.close();
    });
  }

  it('the change data feed of a paired merge: pre- and post-images of exactly the updated rows', async () => {
    const { t, rec } = await table({ properties: { 'delta.enableChangeDataFeed': 'true' } });
    const file = await parquet(`SELECT range AS id, CASE WHEN range IN (3, 7) THEN 'n' || range ELSE 'v' || range END AS val FROM range(0, 50)`);
    const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll('s.val <> t.val').execute();
    expect(paired(rec)).toBe(1);
    const changes = (await t.changes({ fromVersion: res.version }).read()).map((r) => [r._change_type, Number(r.id), r.val]);
    changes.sort((a, b) => String(a).localeCompare(String(b)));
    expect(changes).toEqual([
      ['update_postimage', 3, 'n3'],
      ['update_postimage', 7, 'n7'],
      ['update_preimage', 3, 'v3'],
      ['update_preimage', 7, 'v7'],
    ]);
    t.close();
  });

  it('as many rows as the files but one key missing on each side: the pairing fails, the key join gives the right rows', async () => {
    const { t, rec } = await table();
    // Keys 101..149 and 160 (in the second file's range but not in it): 50 rows, increasing, all in range.
    const file = await parquet(`SELECT range AS id, 'n' || range AS val FROM range(101, 150) UNION ALL SELECT 160, 'n160' ORDER BY id`);
    const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(paired(rec)).toBe(1);
    expect(joinedByKey(rec)).toBe(1);
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 49, numTargetRowsInserted: 1 });
    const expected = [...base().map(([id, val]): [number, string] => (id >= 101 && id < 150 ? [id, `n${id}`] : [id, val])), [160, 'n160'] as [number, string]];
    expect(await rows(t)).toEqual(expected.sort((a, b) => a[0] - b[0]));
    t.close();
  });

  it('a file not in key order: the pairing fails, the key join gives the right rows', async () => {
    const { t, rec } = await table({ shuffled: true });
    const file = await parquet(`SELECT range AS id, 'n' || range AS val FROM range(100, 150)`);
    const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll().execute();
    expect(paired(rec)).toBe(1);
    expect(joinedByKey(rec)).toBe(1);
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 50 });
    expect(await rows(t)).toEqual(base().map(([id, val]): [number, string] => (id >= 100 && id < 150 ? [id, `n${id}`] : [id, val])));
    t.close();
  });

  it('a partitioned table is joined by key (its scan joins rows to their partition values, which need not keep their order); the same rows', async () => {
    const rec = new RecordingCompute(fx.compute);
    const t = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: rec });
    for (const lo of [0, 100]) await t.write({ sql: `SELECT range AS id, 'v' || range AS val, ${lo / 100} AS p FROM range(${lo}, ${lo + 50})` }).partitionBy('p').execute();
    rec.statements = [];
    const file = await parquet(`SELECT range AS id, 'n' || range AS val, 1 AS p FROM range(100, 150)`);
    const res = await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll().execute();
    expect(paired(rec)).toBe(0);
    expect(joinedByKey(rec)).toBe(1);
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 50 });
    expect((await t.read({ where: 'id >= 100', orderBy: 'id' })).every((r) => r.val === `n${r.id}`)).toBe(true);
    t.close();
  });

  it('an extra join condition that one pair fails: that source row is not matched, so it is inserted', async () => {
    const { t, rec } = await table();
    const file = await parquet(`SELECT range AS id, 'n' || range AS val FROM range(0, 50)`);
    const res = await t.merge({ file }, { on: ['id'], condition: "t.val <> 'v5'" }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect(paired(rec)).toBe(1);
    expect(joinedByKey(rec)).toBe(1);
    expect(res.metrics).toMatchObject({ numTargetRowsUpdated: 49, numTargetRowsInserted: 1 });
    const low = (await rows(t)).filter(([id]) => id < 50);
    expect(low).toEqual([...Array.from({ length: 50 }, (_, i): [number, string] => [i, `n${i}`]), [5, 'v5'] as [number, string]].sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1])));
    t.close();
  });
});
