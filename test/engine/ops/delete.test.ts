import { describe, expect, it } from 'vitest';
import { cpSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { InputError, NotATableError } from '../../../src/engine/errors.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const fx = useEngine('lakelet-delete-');

let n = 0;
const freshTable = () => DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });

function commitJson(table: DeltaTable, version: number): Record<string, any>[] {
  const text = readFileSync(join(dirOf(table), '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

/** Three files of ten rows each: ids 0-9, 10-19, 20-29. */
async function threeFiles(t: DeltaTable, partitioned = false) {
  for (let f = 0; f < 3; f++) {
    const b = t.write({ sql: `SELECT (range + ${f * 10})::BIGINT AS id, 'p' || ${f} AS part, CASE WHEN range % 2 = 0 THEN range END AS maybe FROM range(10)` });
    if (partitioned && f === 0) b.partitionBy('part');
    await b.execute();
  }
}

const ids = async (t: DeltaTable) => (await t.read({ orderBy: 'id', columns: ['id'] })).map((r) => Number(r.id));

describe('DELETE', () => {
  it('rewrites only the files with matching rows; untouched files keep their paths', async () => {
    const t = await freshTable();
    await threeFiles(t);
    const before = (await t.snapshot()).files.map((f) => f.path).sort();
    const res = await t.delete('id IN (3, 4, 12)').execute();
    expect(res.version).toBe(3);
    // The surviving rows of both rewritten files go into one new file.
    expect(res.metrics).toMatchObject({ numRemovedFiles: 2, numAddedFiles: 1, numDeletedRows: 3, numCopiedRows: 17, numAddedChangeFiles: 0 });
    const after = res.snapshot.files.map((f) => f.path);
    // The third file (ids 20-29) is the same file as before, untouched.
    const kept = before.filter((p) => after.includes(p));
    expect(kept).toHaveLength(1);
    expect(await ids(t)).toEqual([...Array(30).keys()].filter((i) => ![3, 4, 12].includes(i)));

    const actions = commitJson(t, 3);
    const info = actions.find((a) => a.commitInfo)!.commitInfo;
    expect(info.operation).toBe('DELETE');
    expect(JSON.parse(info.operationParameters.predicate)).toEqual(['id IN (3, 4, 12)']);
    expect(info.operationMetrics).toMatchObject({ numRemovedFiles: '2', numAddedFiles: '1', numDeletedRows: '3', numCopiedRows: '17' });
    for (const k of ['executionTimeMs', 'scanTimeMs', 'rewriteTimeMs']) expect(Number(info.operationMetrics[k])).toBeGreaterThanOrEqual(0);
    expect(actions.filter((a) => a.remove).every((a) => a.remove.dataChange === true && a.remove.deletionTimestamp > 0)).toBe(true);
    t.close();
  });

  it('removes files whose rows all match without rewriting them, and skips files by stats', async () => {
    const t = await freshTable();
    await threeFiles(t);
    const res = await t.delete('id >= 10 AND id < 20').execute();
    expect(res.metrics).toMatchObject({ numRemovedFiles: 1, numAddedFiles: 0, numDeletedRows: 10, numCopiedRows: 0 });
    expect(await ids(t)).toEqual([...Array(10).keys(), ...Array.from({ length: 10 }, (_, i) => 20 + i)]);
    t.close();
  });

  it('a partition-only predicate removes whole partitions without reading or rewriting', async () => {
    const t = await freshTable();
    await threeFiles(t, true);
    const res = await t.delete("part = 'p1'").execute();
    expect(res.metrics).toMatchObject({ numRemovedFiles: 1, numAddedFiles: 0, numDeletedRows: 10, numCopiedRows: 0 });
    expect(commitJson(t, 3).filter((a) => a.add)).toHaveLength(0);
    expect((await t.read({ columns: ['part'] })).every((r) => r.part !== 'p1')).toBe(true);
    t.close();
  });

  it('a NULL predicate keeps the row (SQL semantics)', async () => {
    const t = await freshTable();
    await threeFiles(t);
    // maybe is NULL for odd ranges: `maybe < 100` is NULL there, so only even rows go.
    const res = await t.delete('maybe < 100').execute();
    expect(res.metrics.numDeletedRows).toBe(15);
    expect(await ids(t)).toEqual([...Array(30).keys()].filter((i) => i % 2 === 1));
    t.close();
  });

  it('deletes everything without a predicate, and commits nothing when nothing matches', async () => {
    const t = await freshTable();
    await threeFiles(t);
    const none = await t.delete('id > 1000').execute();
    expect(none.skipped).toMatch(/no rows matched/);
    expect(none.version).toBe(2);
    expect((await t.history()).length).toBe(3);
    const all = await t.delete().execute();
    expect(all.metrics).toMatchObject({ numRemovedFiles: 3, numDeletedRows: 30, numAddedFiles: 0 });
    expect(await ids(t)).toEqual([]);
    expect(JSON.parse(commitJson(t, 3).find((a) => a.commitInfo)!.commitInfo.operationParameters.predicate)).toEqual([]);
    t.close();
  });

  it('fails clearly: unknown column, bad SQL, append-only table, no table', async () => {
    const t = await freshTable();
    await threeFiles(t);
    await expect(t.delete('nope = 1').execute()).rejects.toThrow(InputError);
    await expect(t.delete('id = = 1').execute()).rejects.toThrow(InputError);
    const ao = await freshTable();
    await ao.write({ sql: 'SELECT 1 AS id' }).properties({ 'delta.appendOnly': 'true' }).execute();
    await expect(ao.delete('id = 1').execute()).rejects.toThrow(/append-only/);
    const missing = await freshTable();
    await expect(missing.delete('id = 1').execute()).rejects.toThrow(NotATableError);
    t.close();
  });

  it('rewrites a column-mapped table with nested structs under the physical names (Spark golden copy)', async () => {
    const dir = join(fx.dir, 'column-mapping-copy');
    cpSync(resolve(process.cwd(), '../shared/conformance/golden/table-with-columnmapping-mode-name/delta'), dir, { recursive: true });
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    const before = await t.read();
    const doomed = before.filter((r) => Number(r.ByteType) === 1).length;
    expect(doomed).toBeGreaterThan(0);
    const res = await t.delete('ByteType = 1').execute();
    expect(res.metrics.numDeletedRows).toBe(doomed);
    const after = await t.read();
    // Every surviving row, nested struct included, reads back exactly as before.
    const key = (r: Record<string, unknown>) => JSON.stringify(r);
    expect(after.map(key).sort()).toEqual(before.filter((r) => Number(r.ByteType) !== 1).map(key).sort());
    await t.update({ StringType: "'x'" }).execute();
    expect((await t.read()).every((r) => r.StringType === 'x')).toBe(true);
    await t.optimize().zOrderBy('ByteType').execute();
    expect((await t.read()).length).toBe(after.length);
    t.close();
  });
});
