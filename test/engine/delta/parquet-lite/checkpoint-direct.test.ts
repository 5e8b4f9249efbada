// The direct checkpoint reader (parquet-lite) against the DuckDB path it short-cuts: on every
// checkpoint lakelet writes, on Spark's (the golden corpus) and on delta-rs's, both give the same
// actions, and lakelet's own are read without falling back. What it does not decode (brotli, INT96)
// and what is damaged still goes through DuckDB, with the same typed error as before.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqlString } from '../../../../src/adapters/compute/sql.ts';
import { openStore } from '../../../../src/adapters/storage/open-store.ts';
import { DeltaTable } from '../../../../src/engine/table.ts';
import { readCheckpointFiles, UnreadableCheckpointError } from '../../../../src/engine/delta/checkpoint-reader.ts';
import { readParquetRows } from '../../../../src/engine/delta/parquet-lite/read-rows.ts';
import { ParquetLiteUnsupported } from '../../../../src/engine/delta/parquet-lite/unsupported.ts';
import { useEngine } from '../../../support/engine-fixture.ts';
import { deltaRsAvailable, repoRoot, requirePeer, runDeltaRs } from '../../../support/peers.ts';

const fx = useEngine();
const GOLDEN = join(repoRoot, '..', 'shared', 'conformance', 'golden');
const pad = (v: number) => String(v).padStart(20, '0');
const deltaRs = requirePeer('delta-rs', deltaRsAvailable);

/** Every checkpoint or sidecar Parquet file under `dir`'s `_delta_log`s, as [table root, key]. */
function checkpointFiles(dir: string): [string, string][] {
  const out: [string, string][] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.parquet') && (name.includes('.checkpoint.') || d.endsWith('_sidecars'))) {
        const i = p.lastIndexOf('/_delta_log/');
        if (i > 0) out.push([p.slice(0, i), p.slice(i + 1)]);
      }
    }
  };
  walk(dir);
  return out;
}

/** Both paths over one checkpoint file; `direct` is undefined when parquet-lite declined it. */
async function bothPaths(root: string, key: string) {
  const store = openStore(root);
  const ctx = { tablePath: root, version: 0 };
  const viaDuckDb = await readCheckpointFiles(fx.compute, store, [key], ctx, { direct: false });
  const viaDirect = await readCheckpointFiles(fx.compute, store, [key], ctx);
  let declined: string | undefined;
  try {
    readParquetRows(readFileSync(join(root, key)));
  } catch (err) {
    if (!(err instanceof ParquetLiteUnsupported)) throw err;
    declined = err.message;
  }
  return { viaDuckDb, viaDirect, declined };
}

describe('direct checkpoint reading (parquet-lite)', () => {
  it("reads lakelet's checkpoints (partitions, null partition values, DVs, txns) exactly as DuckDB does, without falling back", async () => {
    const dir = join(fx.dir, 'lakelet-table');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    await t
      .write({ sql: "SELECT * FROM (VALUES (1, 'a', 'x'), (8, 'a', 'q'), (2, NULL, 'y'), (3, 'c', NULL)) v(id, p, s)" })
      .partitionBy('p')
      .properties({ 'delta.enableDeletionVectors': 'true', 'delta.checkpointInterval': '3' })
      .txn('app-1', 7)
      .execute();
    await t.write({ sql: "SELECT 4 AS id, 'a' AS p, 'z' AS s" }).execute();
    await t.delete('id = 1').execute(); // a DV on the file of partition p=a
    await t.write({ sql: "SELECT 5 AS id, 'e' AS p, 'w' AS s" }).execute();
    await t.update({ s: "'u'" }, 'id = 2').execute();
    await t.write({ sql: "SELECT 6 AS id, 'f' AS p, 'v' AS s" }).execute();
    await t.write({ sql: "SELECT 7 AS id, NULL::VARCHAR AS p, 't' AS s" }).execute();
    t.close();
    const files = checkpointFiles(dir);
    expect(files.map(([, k]) => k)).toEqual([`_delta_log/${pad(3)}.checkpoint.parquet`, `_delta_log/${pad(6)}.checkpoint.parquet`]);
    for (const [root, key] of files) {
      const { viaDuckDb, viaDirect, declined } = await bothPaths(root, key);
      expect(declined).toBeUndefined();
      expect(viaDirect).toEqual(viaDuckDb);
    }
    const { viaDirect } = await bothPaths(dir, files[1][1]);
    const adds = viaDirect.filter((a) => a.add).map((a) => a.add!);
    expect(adds.some((a) => a.deletionVector?.storageType)).toBe(true);
    expect(adds.some((a) => a.partitionValues.p === null)).toBe(true);
    expect(viaDirect.find((a) => a.txn)?.txn).toMatchObject({ appId: 'app-1', version: 7 });
  });

  it('reads pages of many strings (non-ASCII text, length prefixes with high bytes) exactly as DuckDB does', async () => {
    // 70 files in one commit: path, stats and partition-value pages hold enough values for the
    // page-string slicing; stats of 130-300 bytes put bytes >= 0x80 into the length prefixes, and
    // some values (partition values, stats' min/max) are non-ASCII UTF-8.
    const dir = join(fx.dir, 'many-strings');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    const rows =
      "SELECT i AS id, CASE WHEN i % 3 = 0 THEN 'ü-' || i WHEN i % 3 = 1 THEN '日本-' || i ELSE 'p' || i END AS p, " +
      "repeat(CASE WHEN i % 2 = 0 THEN 'é' ELSE 'x' END, 20 + i * 2) AS s FROM range(70) r(i)";
    await t.write({ sql: rows }).partitionBy('p').properties({ 'delta.checkpointInterval': '1' }).execute();
    await t.write({ sql: rows }).partitionBy('p').mode('overwrite').execute();
    t.close();
    const files = checkpointFiles(dir);
    expect(files.length).toBeGreaterThan(0);
    for (const [root, key] of files) {
      const { viaDuckDb, viaDirect, declined } = await bothPaths(root, key);
      expect(declined).toBeUndefined();
      expect(viaDirect).toEqual(viaDuckDb);
      const adds = viaDirect.filter((a) => a.add).map((a) => a.add!);
      expect(adds.length).toBe(70);
      expect(adds.some((a) => a.partitionValues.p === 'ü-3')).toBe(true);
      expect(adds.some((a) => a.stats?.includes('日本') || a.stats?.includes('é'))).toBe(true);
    }
  });

  it("gives the same actions as DuckDB on every checkpoint and sidecar of Spark's golden tables (or declines the file)", async () => {
    const files = checkpointFiles(GOLDEN);
    expect(files.length).toBeGreaterThan(5);
    let direct = 0;
    for (const [root, key] of files) {
      const { viaDuckDb, viaDirect, declined } = await bothPaths(root, key);
      expect(viaDirect, key).toEqual(viaDuckDb);
      if (!declined) direct++;
    }
    // Most are decoded directly; the ones with INT96 timestamps in stats_parsed are declined.
    expect(direct).toBeGreaterThan(files.length / 2);
  });

  it('falls back to DuckDB for codecs it does not decode (brotli) and for damage, with the same typed error', async () => {
    const dir = join(fx.dir, 'fallback');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    for (let i = 0; i < 11; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
    t.close();
    const key = `_delta_log/${pad(10)}.checkpoint.parquet`;
    const file = join(dir, key);
    // zstd (lakelet's data files) is decoded, to the same rows as the snappy original.
    const zstd = join(fx.dir, 'zstd.parquet');
    await fx.compute.run(`COPY (SELECT * FROM read_parquet(${sqlString(file)})) TO ${sqlString(zstd)} (FORMAT parquet, COMPRESSION zstd)`);
    expect(readParquetRows(readFileSync(zstd))).toEqual(readParquetRows(readFileSync(file)));
    const brotli = join(fx.dir, 'brotli.parquet');
    await fx.compute.run(`COPY (SELECT * FROM read_parquet(${sqlString(file)})) TO ${sqlString(brotli)} (FORMAT parquet, COMPRESSION brotli)`);
    expect(() => readParquetRows(readFileSync(brotli))).toThrow(ParquetLiteUnsupported);
    const snappyActions = await readCheckpointFiles(fx.compute, openStore(dir), [key], { tablePath: dir, version: 10 });
    writeFileSync(file, readFileSync(brotli));
    expect(await readCheckpointFiles(fx.compute, openStore(dir), [key], { tablePath: dir, version: 10 })).toEqual(snappyActions);

    truncateSync(file, Math.floor(statSync(file).size / 2));
    expect(() => readParquetRows(readFileSync(file))).toThrow(ParquetLiteUnsupported);
    const read = readCheckpointFiles(fx.compute, openStore(dir), [key], { tablePath: dir, version: 10 });
    await expect(read).rejects.toBeInstanceOf(UnreadableCheckpointError);
    await expect(read).rejects.toThrow(/checkpoint at version 10/);
  });

  it('a snapshot open of a checkpointed lakelet table starts no DuckDB; SQL afterwards does, and close() works either way', async () => {
    const dir = join(fx.dir, 'lazy');
    const w = await DeltaTable.forPath(dir, { compute: fx.compute });
    for (let i = 0; i < 12; i++) await w.write({ sql: `SELECT ${i} AS k` }).execute();
    w.close();
    const t = await DeltaTable.forPath(dir);
    const snap = await t.snapshot();
    expect(snap.version).toBe(11);
    expect(snap.fileCount).toBe(12);
    expect((t.ctx.compute as unknown as { started: boolean }).started).toBe(false);
    expect((await t.snapshot({ version: 10 })).fileCount).toBe(11);
    expect((t.ctx.compute as unknown as { started: boolean }).started).toBe(false);
    expect((await t.read({ orderBy: 'k' })).map((r) => Number(r.k))).toEqual([...Array(12).keys()]);
    expect((t.ctx.compute as unknown as { started: boolean }).started).toBe(true);
    t.close();
    await expect(t.read()).rejects.toThrow(/closed/);
    const unused = await DeltaTable.forPath(dir);
    unused.close();
    unused.close();
  });

  describe.skipIf(deltaRs === 'skip')('delta-rs', () => {
    it('reads a delta-rs checkpoint of a partitioned table exactly as DuckDB does', async () => {
      const dir = join(fx.dir, 'deltars');
      const data = join(fx.dir, 'deltars-data.json');
      const schema = [
        { name: 'id', type: 'int64' },
        { name: 'p', type: 'string' },
      ];
      writeFileSync(data, JSON.stringify({ schema, rows: [[1, 'a'], [2, null], [3, 'c']] }));
      await runDeltaRs(['write', dir, '--data', data, '--partition-by', 'p']);
      await runDeltaRs(['write', dir, '--data', data, '--partition-by', 'p']);
      await runDeltaRs(['checkpoint', dir]);
      const files = checkpointFiles(dir);
      expect(files.length).toBe(1);
      const { viaDuckDb, viaDirect } = await bothPaths(files[0][0], files[0][1]);
      expect(viaDirect).toEqual(viaDuckDb);
      expect(viaDirect.filter((a) => a.add)).toHaveLength(6);
      const snap = await (await DeltaTable.forPath(dir, { compute: fx.compute })).snapshot();
      expect(snap.fileCount).toBe(6);
    });
  });
});
