import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { openStore } from '../../../src/adapters/storage/open-store.ts';
import { parseStats } from '../../../src/engine/delta/stats.ts';
import type { AddFile } from '../../../src/engine/delta/actions.ts';
import { useEngine } from '../../support/engine-fixture.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../../support/peers.ts';
import { canonicalTableRows } from '../../support/interop.ts';

/**
 * A plain upsert (or a write) whose source is one Parquet file already in the table's layout takes
 * that file into the table as it is (engine/delta/adopt-parquet.ts): the same rows as writing them
 * anew, the same add.stats as lakelet's own writer gives them (from the footer, or a scan for
 * floats), a table delta-rs reads the same; anything else is written the usual way.
 */
const fx = useEngine();
const deltaRs = requirePeer('delta-rs', deltaRsAvailable);
let n = 0;

// 5,000 rows in row groups of 2,048: the footer's bounds combine over three groups, and the
// extremes (the longest name, the earliest day) sit in different groups.
const ROWS = (from: number, count: number, tag: string) =>
  `SELECT (range + ${from})::BIGINT AS id, CASE WHEN range = 4000 THEN NULL WHEN range = 3000 THEN 'zz-last' ELSE '${tag}-' || lpad(range::VARCHAR, 5, '0') END AS name, ` +
  `(((range * 37) % 100000 - 50000) / 100)::DECIMAL(12,2) AS amount, DATE '2024-06-01' - (range % 777)::INTEGER AS day, ` +
  `TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(range * 1000003) AS ts, range % 3 = 0 AS ok FROM range(${count})`;

async function table(properties: Record<string, string> = {}): Promise<DeltaTable> {
  const t = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
  await t.write({ sql: `SELECT * FROM (${ROWS(0, 6000, 'old')})` }).properties(properties).execute();
  return t;
}

async function parquet(sql: string, options = 'COMPRESSION zstd, ROW_GROUP_SIZE 2048'): Promise<string> {
  const file = join(fx.dir, `src-${++n}.parquet`);
  await fx.compute.run(`COPY (${sql}) TO '${file}' (FORMAT parquet, ${options})`);
  return file;
}

/** The adds a version brought that were not there before. */
async function newAdds(t: DeltaTable, before: number): Promise<AddFile[]> {
  const old = new Set((await t.snapshot({ version: before })).files.map((f) => f.path));
  return (await t.snapshot()).files.filter((f) => !old.has(f.path));
}

const upsert = (t: DeltaTable, source: { file: string } | { sql: string }) => t.merge(source, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll();
const rows = async (t: DeltaTable) => (await t.read()).map((r) => JSON.stringify(r)).sort();
const bytesOf = (t: DeltaTable, add: AddFile) => readFileSync(join(t.ctx.uri.replace(/^file:\/\//, ''), decodeURIComponent(add.path)));

describe('MERGE and write take a Parquet source in the table layout into the table as it is', () => {
  it('adopts the file: its bytes, the rows of a rewrite, and the stats lakelet writes for them', async () => {
    // 3,000 updates (ids 3000..5999) and 2,000 inserts (6000..7999).
    const file = await parquet(ROWS(3000, 5000, 'new'));
    const adopted = await table();
    const result = await upsert(adopted, { file }).execute();
    expect(result.metrics.numTargetRowsUpdated).toBe(3000);
    expect(result.metrics.numTargetRowsInserted).toBe(2000);
    // The target file's 3,000 kept rows rewritten, and the batch file's 5,000 rows.
    expect(result.metrics.numOutputRows).toBe(8000);
    const added = (await newAdds(adopted, 0)).filter((a) => bytesOf(adopted, a).equals(readFileSync(file)));
    expect(added).toHaveLength(1);
    expect(added[0].path).toMatch(/^part-00000-[0-9a-f-]{36}-c000\.zstd\.parquet$/);

    // The same merge from SQL (never adopted) gives the same rows.
    const rewritten = await table();
    await upsert(rewritten, { sql: `SELECT * FROM read_parquet('${file}')` }).execute();
    expect(await rows(adopted)).toEqual(await rows(rewritten));

    // The stats equal those lakelet's own writer gives the same rows.
    const written = await DeltaTable.forPath(join(fx.dir, `w${++n}`), { compute: fx.compute });
    await written.write({ sql: `SELECT * FROM read_parquet('${file}')` }).execute();
    const theirs = parseStats((await written.snapshot()).files[0].stats);
    const ours = parseStats(added[0].stats);
    expect(ours).toEqual(theirs);
    expect(ours?.numRecords).toBe(5000);
    expect(ours?.nullCount?.name).toBe(1);
    expect(ours?.maxValues?.name).toBe('zz-last');
  });

  it('a merge whose rewrite fails leaves nothing behind: not the adopted file, not a staging folder', async () => {
    // The adopted copy is moved into place while the kept rows are rewritten; when the rewrite
    // fails, the merge waits for that move and removes the file it moved (nothing commits it).
    const file = await parquet(ROWS(3000, 5000, 'new'));
    const location = join(fx.dir, `t${++n}`);
    const seed = await DeltaTable.forPath(location, { compute: fx.compute });
    await seed.write({ sql: `SELECT * FROM (${ROWS(0, 6000, 'old')})` }).execute();
    const inner = openStore(location);
    const placed: string[] = [];
    // The first file put is the adopted copy (its move starts before the rewrite's COPY); the
    // rewrite's own file then fails as on a full disk. The move is slowed so it is still under
    // way when the rewrite has failed.
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop !== 'putFile') return Reflect.get(target, prop, receiver);
        return async (key: string, local: string) => {
          placed.push(key);
          if (placed.length > 1) throw new Error('No space left on device (injected)');
          await new Promise((r) => setTimeout(r, 150));
          return target.putFile(key, local);
        };
      },
    });
    const t = await DeltaTable.forPath(location, { compute: fx.compute, store });
    await expect(upsert(t, { file }).execute()).rejects.toThrow(/No space left/);
    expect(placed).toHaveLength(2);
    const snapshot = await t.snapshot();
    expect(snapshot.version).toBe(0);
    const onDisk = readdirSync(location).filter((f) => f.endsWith('.parquet'));
    expect(onDisk.sort()).toEqual(snapshot.files.map((f) => decodeURIComponent(f.path)).sort());
    expect(existsSync(join(location, placed[0]))).toBe(false);
    const staging = join(location, '.lakelet-staging');
    expect(existsSync(staging) ? readdirSync(staging) : []).toEqual([]);
    expect(await rows(t)).toEqual(await rows(seed));
  });

  it('delta-rs reads the adopted table as lakelet does', async ({ skip }) => {
    if (deltaRs === 'skip') skip();
    const t = await table();
    await upsert(t, { file: await parquet(ROWS(5000, 3000, 'new')) }).execute();
    const theirs = await runDeltaRs(['read', t.ctx.uri.replace(/^file:\/\//, '')]);
    expect(theirs.version).toBe(1);
    const schema = (await t.snapshot()).schema;
    expect(canonicalTableRows(theirs.rows, schema, 'delta-rs')).toEqual(canonicalTableRows(await t.read(), schema, 'lakelet'));
  });

  it('adopts with deletion vectors on: the replaced rows are marked, the source file taken', async () => {
    const file = await parquet(ROWS(3000, 5000, 'new'));
    const t = await table({ 'delta.enableDeletionVectors': 'true' });
    await upsert(t, { file }).execute();
    const adds = await newAdds(t, 0);
    expect(adds.filter((a) => bytesOf(t, a).equals(readFileSync(file)))).toHaveLength(1);
    expect((await t.snapshot()).files.filter((a) => a.deletionVector?.cardinality === 3000)).toHaveLength(1);
    const rewritten = await table();
    await upsert(rewritten, { sql: `SELECT * FROM read_parquet('${file}')` }).execute();
    expect(await rows(t)).toEqual(await rows(rewritten));
  });

  it('keeps the codec in the name, and scans for float stats (a NaN leaves no bounds)', async () => {
    const t = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
    await t.write({ sql: `SELECT range::BIGINT AS id, range::DOUBLE AS x FROM range(10)` }).execute();
    const file = await parquet(`SELECT range::BIGINT AS id, CASE WHEN range = 12 THEN 'NaN'::DOUBLE ELSE range / 4 END AS x FROM range(5, 15)`, 'COMPRESSION snappy');
    await upsert(t, { file }).execute();
    const [add] = (await newAdds(t, 0)).filter((a) => bytesOf(t, a).equals(readFileSync(file)));
    expect(add.path).toMatch(/\.snappy\.parquet$/);
    const stats = parseStats(add.stats);
    expect(stats?.numRecords).toBe(10);
    expect(stats?.minValues).toEqual({ id: 5 });
    expect(stats?.maxValues).toEqual({ id: 14 });
    expect(stats?.nullCount).toEqual({ id: 0, x: 0 });
  });

  it('writes anew what it cannot take as it is: other types, another order, extra columns, dedup', async () => {
    const cases: { what: string; sql: string; dedup?: boolean }[] = [
      { what: 'an INTEGER id for a long column', sql: `SELECT * REPLACE (id::INTEGER AS id) FROM (${ROWS(5950, 100, 'new')})` },
      { what: 'columns in another order', sql: `SELECT name, id, amount, day, ts, ok FROM (${ROWS(5950, 100, 'new')})` },
      { what: 'an extra column', sql: `SELECT *, 1 AS extra FROM (${ROWS(5950, 100, 'new')})` },
      { what: 'a deduplicated source', sql: ROWS(5950, 100, 'new'), dedup: true },
    ];
    for (const c of cases) {
      const file = await parquet(c.sql);
      const t = await table();
      let b = upsert(t, { file });
      if (c.dedup) b = b.dedupBy('ts');
      await b.execute();
      const adds = await newAdds(t, 0);
      expect(adds.length, c.what).toBeGreaterThan(0);
      expect(adds.filter((a) => bytesOf(t, a).equals(readFileSync(file))), c.what).toHaveLength(0);
      const ids = (await t.read()).map((r) => Number(r.id));
      expect(ids.length, c.what).toBe(6050);
      expect(new Set(ids).size, c.what).toBe(6050);
    }
  });

  it('write --from a Parquet file adopts it too, creating the table or appending, unless it is too large', async () => {
    const file = await parquet(ROWS(0, 5000, 'new'));
    const t = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
    await t.write({ file }).execute();
    await t.write({ file: await parquet(ROWS(5000, 100, 'more')) }).execute();
    const files = (await t.snapshot()).files;
    expect(files).toHaveLength(2);
    expect(files.some((f) => bytesOf(t, f).equals(readFileSync(file)))).toBe(true);
    const viaSql = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
    await viaSql.write({ sql: `SELECT * FROM read_parquet('${file}')` }).execute();
    const adoptedStats = parseStats(files.find((f) => bytesOf(t, f).equals(readFileSync(file)))!.stats);
    expect(adoptedStats).toEqual(parseStats((await viaSql.snapshot()).files[0].stats));
    expect((await t.read()).length).toBe(5100);

    // Past the target file size the rows are written anew, split into files of that size.
    const small = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
    await small.write({ file }).targetFileSize(1024).execute();
    expect((await small.snapshot()).files.some((f) => bytesOf(small, f).equals(readFileSync(file)))).toBe(false);
    expect((await small.read()).length).toBe(5000);
  });

  it('writes anew a file in a key=value folder, a UUID column, or a table under a key=value folder gets true stats', async () => {
    const { mkdirSync } = await import('node:fs');
    // DuckDB reads a `year=2024` folder as a column that overrides the file's own `year`: the rows
    // lakelet decided on are not the file's bytes, so the file is not taken as it is.
    mkdirSync(join(fx.dir, 'year=2024'), { recursive: true });
    const hive = join(fx.dir, 'year=2024', 'b.parquet');
    await fx.compute.run(`COPY (SELECT range::BIGINT AS id, 1999::BIGINT AS year FROM range(3)) TO '${hive}' (FORMAT parquet)`);
    const t = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
    await t.write({ file: hive }).execute();
    expect((await t.snapshot()).files.some((f) => bytesOf(t, f).equals(readFileSync(hive)))).toBe(false);
    const viaSql = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
    await viaSql.write({ sql: `SELECT * FROM read_parquet('${hive}')` }).execute();
    expect(await rows(t)).toEqual(await rows(viaSql));

    // A UUID is read as text but stored as 16 raw bytes, which other readers do not take as a string.
    const uuids = await parquet('SELECT range::BIGINT AS id, uuid() AS u FROM range(3)', 'COMPRESSION zstd');
    const u = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });
    await u.write({ file: uuids }).execute();
    expect((await u.snapshot()).files.some((f) => bytesOf(u, f).equals(readFileSync(uuids)))).toBe(false);

    // A table whose own path has a key=value folder: the stats scan (a float column) reads the file, not the path.
    const floats = await parquet('SELECT range::BIGINT AS id, range::DOUBLE AS x FROM range(5)', 'COMPRESSION zstd');
    const under = await DeltaTable.forPath(join(fx.dir, 'id=7', `t${++n}`), { compute: fx.compute });
    await under.write({ file: floats }).execute();
    const [add] = (await under.snapshot()).files;
    expect(bytesOf(under, add).equals(readFileSync(floats))).toBe(true);
    expect(parseStats(add.stats)).toMatchObject({ numRecords: 5, minValues: { id: 0, x: 0 }, maxValues: { id: 4, x: 4 } });
  });
});
