// Lazily decoded strings (a checkpoint's add.stats): the snapshot opens without turning the stats
// into strings, yet every reader of the add objects (property reads, spreads, JSON, deep equality,
// assignment, data skipping, the checkpoint writer) sees exactly what the eager decode gives.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../../../src/adapters/storage/open-store.ts';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { readCheckpointFiles } from '../../../../src/engine/delta/checkpoint-reader.ts';
import { readParquetRows } from '../../../../src/engine/delta/parquet-lite/read-rows.ts';
import type { AddFile } from '../../../../src/engine/delta/actions.ts';
import { useEngine } from '../../../support/engine-fixture.ts';

const fx = useEngine();
const pad = (v: number) => String(v).padStart(20, '0');
const isLazy = (add: object) => typeof Object.getOwnPropertyDescriptor(add, 'stats')?.get === 'function';

/**
 * A table of 210 files whose stats hold non-ASCII text (min/max of s), checkpointed at version 2.
 * Every file's stats differ, so the checkpoint stores them PLAIN (as a real table's are), not in a
 * dictionary, which is decoded eagerly.
 */
async function tableWithCheckpoint(name: string): Promise<string> {
  const dir = join(fx.dir, name);
  const t = await DeltaTable.forPath(dir, { compute: fx.compute });
  const rows = (from: number) =>
    `SELECT i AS id, i * 10 AS n, repeat(CASE WHEN i % 2 = 0 THEN 'é' ELSE 'x' END, 5 + i % 7) || '日本-' || i AS s FROM range(${from}, ${from} + 70) r(i)`;
  await t.write({ sql: rows(0) }).partitionBy('id').properties({ 'delta.checkpointInterval': '2' }).execute();
  await t.write({ sql: rows(100) }).partitionBy('id').execute();
  await t.write({ sql: rows(200) }).partitionBy('id').execute();
  t.close();
  return dir;
}

describe('lazily decoded strings (parquet-lite)', () => {
  it('rows read with add.stats lazy equal the eagerly decoded rows for every way of reading them', async () => {
    const dir = await tableWithCheckpoint('rows');
    const bytes = readFileSync(join(dir, `_delta_log/${pad(2)}.checkpoint.parquet`));
    const options = { omitNullFields: true, keepNullFields: new Set(['partitionValues']) };
    const eager = readParquetRows(bytes, options);
    const lazy = readParquetRows(bytes, { ...options, lazyStrings: new Set(['add.stats']) });
    const lazyAdds = lazy.filter((r) => r.add).map((r) => r.add as AddFile);
    const eagerAdds = eager.filter((r) => r.add).map((r) => r.add as AddFile);
    expect(lazyAdds).toHaveLength(210);
    // Lazy indeed: the stats are an accessor until read, not a string stored at decode time.
    expect(lazyAdds.every(isLazy)).toBe(true);
    expect(eagerAdds.some(isLazy)).toBe(false);

    expect(lazy).toEqual(eager);
    expect(JSON.stringify(lazy)).toBe(JSON.stringify(eager));
    expect(lazyAdds.map((a) => Object.keys(a))).toEqual(eagerAdds.map((a) => Object.keys(a)));
    expect(lazyAdds.some((a) => a.stats!.includes('日本') && a.stats!.includes('é'))).toBe(true);
    for (let i = 0; i < lazyAdds.length; i++) {
      expect(lazyAdds[i].stats).toBe(eagerAdds[i].stats);
      // A spread copies the string itself (the copy is no longer lazy).
      const copy = { ...lazyAdds[i], dataChange: false };
      expect(isLazy(copy)).toBe(false);
      expect(copy.stats).toBe(eagerAdds[i].stats);
      expect(structuredClone(lazyAdds[i])).toEqual(eagerAdds[i]);
    }
    // Assigning replaces the value for that object only.
    lazyAdds[0].stats = '{"numRecords":1}';
    expect(lazyAdds[0].stats).toBe('{"numRecords":1}');
    expect(JSON.parse(JSON.stringify(lazyAdds[0])).stats).toBe('{"numRecords":1}');
    expect(lazyAdds[1].stats).toBe(eagerAdds[1].stats);
    // Undefined too (not read as "not decoded yet"), before or after the value was read.
    lazyAdds[2].stats = undefined;
    expect(lazyAdds[2].stats).toBeUndefined();
    void lazyAdds[3].stats;
    lazyAdds[3].stats = undefined;
    expect(lazyAdds[3].stats).toBeUndefined();
    expect(isLazy(lazyAdds[2]) || isLazy(lazyAdds[3])).toBe(false);
  });

  it('a snapshot opened from a checkpoint keeps its stats lazy; data skipping and the next checkpoint see them', async () => {
    const dir = await tableWithCheckpoint('snapshot');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    const snap = await t.snapshot();
    expect(snap.version).toBe(2);
    expect(snap.files).toHaveLength(210);
    expect(snap.files.every(isLazy)).toBe(true);
    // The same adds through DuckDB (eager): identical.
    const viaDuckDb = await readCheckpointFiles(fx.compute, openStore(dir), [`_delta_log/${pad(2)}.checkpoint.parquet`], { tablePath: dir, version: 2 }, { direct: false });
    const byPath = new Map(viaDuckDb.filter((a) => a.add).map((a) => [a.add!.path, a.add!]));
    for (const f of snap.files) expect(f).toEqual(byPath.get(f.path));

    // Data skipping reads the stats: only files holding a match are scanned.
    const scan = await t.scan({ where: "n < 100" });
    expect(scan.files.length).toBe(10);
    expect((await t.read({ where: "n < 100" })).length).toBe(scan.files.length);

    // Two more commits: the checkpoint at version 4 is written from adds carried over from the lazy one.
    await t.write({ sql: "SELECT 1000 AS id, 'z' AS s" }).execute();
    await t.write({ sql: "SELECT 1001 AS id, 'z' AS s" }).execute();
    t.close();
    expect(readdirSync(join(dir, '_delta_log'))).toContain(`${pad(4)}.checkpoint.parquet`);
    const next = await readCheckpointFiles(fx.compute, openStore(dir), [`_delta_log/${pad(4)}.checkpoint.parquet`], { tablePath: dir, version: 4 }, { direct: false });
    const written = new Map(next.filter((a) => a.add).map((a) => [a.add!.path, a.add!.stats]));
    expect(written.size).toBe(212);
    for (const [path, add] of byPath) expect(written.get(path)).toBe(add.stats);
  });
});
