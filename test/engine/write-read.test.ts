import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sqlString } from '../../src/adapters/compute/sql.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { ManualClock } from '../../src/adapters/clock.ts';
import { parseStats } from '../../src/engine/delta/stats.ts';
import { dirOf } from '../support/temp.ts';
import { useEngine } from '../support/engine-fixture.ts';
import { RecordingCompute } from '../support/recording-compute.ts';

const fx = useEngine();

let n = 0;
async function freshTable(options: { clock?: ManualClock } = {}) {
  return DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute, clock: options.clock });
}

function commitJson(dir: string, version: number): Record<string, any>[] {
  const text = readFileSync(join(dir, '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

describe('create, append, read', () => {
  it('creates a table with the lowest protocol, zstd parquet, stats and commitInfo', async () => {
    const t = await freshTable();
    const res = await t
      .write({ sql: `SELECT range AS id, 'name ' || range AS name, range * 1.5 AS score FROM range(100)` })
      .execute();
    expect(res.version).toBe(0);
    expect(res.metrics.numOutputRows).toBe(100);
    const actions = commitJson(dirOf(t), 0);
    const protocol = actions.find((a) => a.protocol)!.protocol;
    expect(protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    const info = actions.find((a) => a.commitInfo)!.commitInfo;
    expect(info.operation).toBe('CREATE TABLE AS SELECT');
    expect(info.engineInfo).toMatch(/^lakelet\//);
    expect(info.operationMetrics.numOutputRows).toBe('100');
    const add = actions.find((a) => a.add)!.add;
    expect(add.path).toMatch(/^part-00000-[0-9a-f-]+-c000\.zstd\.parquet$/);
    const stats = parseStats(add.stats)!;
    expect(stats.numRecords).toBe(100);
    expect(stats.minValues!.id).toBe(0);
    expect(stats.maxValues!.id).toBe(99);
    expect(stats.nullCount!.name).toBe(0);
    const codec = await fx.compute.query<{ c: string }>(
      `SELECT DISTINCT compression AS c FROM parquet_metadata(${sqlString(t.ctx.store.localPath(add.path)!)})`,
    );
    expect(codec.map((r) => r.c)).toEqual(['ZSTD']);
    const rows = await t.read({ orderBy: 'id' });
    expect(rows).toHaveLength(100);
    expect(rows[5]).toEqual({ id: '5', name: 'name 5', score: '7.5' });
    t.close();
  });

  it('appends, overwrites, time travels by version and lists history newest first', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT 1 AS k, 'a' AS v` }).execute();
    await t.write({ sql: `SELECT 2 AS k, 'b' AS v` }).mode('append').execute();
    const ow = await t.write({ sql: `SELECT 3 AS k, 'c' AS v` }).mode('overwrite').execute();
    expect(ow.metrics.numRemovedFiles).toBe(2);
    expect((await t.read()).map((r) => r.k)).toEqual([3]);
    expect((await t.read({ version: 1, orderBy: 'k' })).map((r) => r.k)).toEqual([1, 2]);
    expect((await t.read({ version: 0 })).map((r) => r.k)).toEqual([1]);
    const history = await t.history();
    expect(history.map((h) => [h.version, h.operation, h.operationParameters.mode])).toEqual([
      [2, 'WRITE', 'Overwrite'],
      [1, 'WRITE', 'Append'],
      [0, 'CREATE TABLE AS SELECT', 'Append'],
    ]);
    expect(history[0].operationMetrics.numRemovedFiles).toBe('2');
    t.close();
  });

  it('time travels by timestamp using in-commit timestamps from an injected clock', async () => {
    const clock = new ManualClock(Date.parse('2024-01-01T00:00:00Z'));
    const t = await freshTable({ clock });
    await t.write({ sql: `SELECT 1 AS k` }).properties({ 'delta.enableInCommitTimestamps': 'true' }).execute();
    clock.set(Date.parse('2024-02-01T00:00:00Z'));
    await t.write({ sql: `SELECT 2 AS k` }).execute();
    clock.set(Date.parse('2024-03-01T00:00:00Z'));
    await t.write({ sql: `SELECT 3 AS k` }).execute();
    expect((await t.snapshot({ timestamp: '2024-01-15T00:00:00Z' })).version).toBe(0);
    expect((await t.snapshot({ timestamp: '2024-02-01T00:00:00Z' })).version).toBe(1);
    expect((await t.snapshot({ timestamp: '2024-02-20T00:00:00Z' })).version).toBe(1);
    expect((await t.snapshot({ timestamp: '2025-01-01T00:00:00Z' })).version).toBe(2);
    await expect(t.snapshot({ timestamp: '2023-12-31T00:00:00Z' })).rejects.toThrow(/before the earliest/);
    const protocol = (await t.snapshot()).protocol;
    expect(protocol.writerFeatures).toContain('inCommitTimestamp');
    t.close();
  });

  it('time travels by timestamp using commit file modification times', async () => {
    const t = await freshTable();
    const { utimesSync } = await import('node:fs');
    for (let i = 0; i < 3; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
    const log = join(dirOf(t), '_delta_log');
    const base = Date.parse('2023-06-01T00:00:00Z') / 1000;
    for (let v = 0; v < 3; v++) utimesSync(join(log, `${String(v).padStart(20, '0')}.json`), base + v * 3600, base + v * 3600);
    expect((await t.snapshot({ timestamp: '2023-06-01T01:30:00Z' })).version).toBe(1);
    expect((await t.read({ timestamp: '2023-06-01T00:10:00Z' })).map((r) => r.k)).toEqual([0]);
    t.close();
  });

  it('writes partitions by string/int/date/timestamp with special characters and nulls, and reads them back typed', async () => {
    const t = await freshTable();
    const sql = `SELECT * FROM (VALUES
      (1, 'a b', 7, DATE '2024-01-02', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00'),
      (2, 'x/y=z%20', -1, DATE '1999-12-31', TIMESTAMPTZ '1970-01-01 00:00:00+00'),
      (3, 'ünï:cødé#?', NULL, NULL, NULL),
      (4, NULL, 0, DATE '2024-01-02', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00')
    ) v(id, s, i, d, ts)`;
    await t.write({ sql }).partitionBy('s', 'i', 'd', 'ts').execute();
    const rows = await t.read({ orderBy: 'id' });
    expect(rows.map((r) => [r.id, r.s, r.i, r.d])).toEqual([
      [1, 'a b', 7, '2024-01-02'],
      [2, 'x/y=z%20', -1, '1999-12-31'],
      [3, 'ünï:cødé#?', null, null],
      [4, null, 0, '2024-01-02'],
    ]);
    expect(String(rows[0].ts)).toContain('2024-01-02 03:04:05.123456');
    const snap = await t.snapshot();
    const pv = snap.files.map((f) => f.partitionValues).find((p) => p.s === 'a b')!;
    expect(pv).toEqual({ s: 'a b', i: '7', d: '2024-01-02', ts: '2024-01-02T03:04:05.123456Z' });
    // Partition columns live in the path, not in the data files.
    const some = snap.files[0];
    const cols = await fx.compute.query<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${sqlString(t.ctx.store.localPath(decodeURIComponent(some.path))!)}, hive_partitioning = false)`);
    expect(cols.map((c) => c.column_name)).toEqual(['id']);
    const scan = await t.scan({ where: `s = 'a b'` });
    expect(scan.metrics.filesSkipped).toBe(3);
    await scan.release();
    t.close();
  });

  it("records an empty partition string as null, in one partition with the NULLs (Spark would read \"\" back as '')", async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT range::BIGINT AS id, CASE range % 3 WHEN 0 THEN '' WHEN 1 THEN NULL ELSE 'z' END AS p, CASE WHEN range % 2 = 0 THEN ''::BLOB END AS b FROM range(12)` }).partitionBy('p', 'b').execute();
    const snap = await t.snapshot();
    const values = snap.files.map((f) => JSON.stringify(f.partitionValues)).sort();
    expect(values).toEqual(['{"p":"z","b":null}', '{"p":null,"b":null}']);
    const rows = await t.read({ orderBy: 'id' });
    expect(rows.filter((r) => r.p === null).map((r) => Number(r.id))).toEqual([0, 1, 3, 4, 6, 7, 9, 10]);
    expect(rows.every((r) => r.b === null)).toBe(true);
    t.close();
  });

  it('refuses a column nested deeper than 15 levels (naming it), which would leave the table too slow to read; 15 levels write and read back', async () => {
    const t = await freshTable();
    const nested = (d: number) => `CAST('${'['.repeat(d)}1${']'.repeat(d)}' AS INTEGER${'[]'.repeat(d)})`;
    await expect(t.write({ sql: `SELECT 1::BIGINT AS id, ${nested(16)} AS deep` }).execute()).rejects.toThrow(/column deep of the batch nests 16 levels deep.*at most 15 are written.*CAST\(deep AS VARCHAR\)/);
    expect(await t.tryLatest()).toBeUndefined();
    await t.write({ sql: `SELECT 1::BIGINT AS id, ${nested(15)} AS deep` }).execute();
    const [row] = await t.read();
    expect(JSON.stringify(row.deep)).toBe('['.repeat(15) + '1' + ']'.repeat(15));
    // A MERGE source is held to the same limit.
    await expect(t.merge({ sql: `SELECT 2::BIGINT AS id, ${nested(17)} AS deep` }, { on: ['id'] }).whenNotMatchedInsertAll().execute()).rejects.toThrow(/column deep of the MERGE source nests 17 levels deep/);
    t.close();
  });

  it('overwrites only the partitions selected by replaceWhere', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT range AS id, range % 3 AS p FROM range(9)` }).partitionBy('p').execute();
    await t.write({ sql: `SELECT 100 AS id, 1 AS p` }).replaceWhere('p = 1').execute();
    const rows = await t.read({ orderBy: 'id' });
    expect(rows.map((r) => Number(r.id))).toEqual([0, 2, 3, 5, 6, 8, 100]);
    await expect(t.write({ sql: `SELECT 5 AS id, 2 AS p` }).replaceWhere('p = 1').execute()).rejects.toThrow(/do not match replaceWhere/);
    t.close();
  });

  it('reads missing columns as null after schema evolution with mergeSchema', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT 1 AS id` }).execute();
    await expect(t.write({ sql: `SELECT 2 AS id, 'x' AS extra` }).execute()).rejects.toThrow(/not in the table/);
    await t.write({ sql: `SELECT 2 AS id, 'x' AS extra` }).mergeSchema().execute();
    expect(await t.read({ orderBy: 'id' })).toEqual([
      { id: 1, extra: null },
      { id: 2, extra: 'x' },
    ]);
    t.close();
  });
});

describe('checkpoints', () => {
  it('writes a checkpoint every 10 commits and replays from it when older commits are gone', async () => {
    const t = await freshTable();
    for (let i = 0; i < 12; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
    const dir = dirOf(t);
    const log = join(dir, '_delta_log');
    expect(existsSync(join(log, '00000000000000000010.checkpoint.parquet'))).toBe(true);
    const last = JSON.parse(readFileSync(join(log, '_last_checkpoint'), 'utf8'));
    expect(last.version).toBe(10);
    for (let v = 0; v < 10; v++) unlinkSync(join(log, `${String(v).padStart(20, '0')}.json`));
    const snap = await t.snapshot();
    expect(snap.version).toBe(11);
    expect(snap.fileCount).toBe(12);
    expect((await t.read()).length).toBe(12);
    t.close();
  });

  it('honours delta.checkpointInterval and survives a corrupt _last_checkpoint', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT 0 AS k` }).properties({ 'delta.checkpointInterval': '3' }).execute();
    for (let i = 1; i < 4; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
    const log = join(dirOf(t), '_delta_log');
    expect(readdirSync(log).filter((f) => f.includes('checkpoint.parquet'))).toEqual(['00000000000000000003.checkpoint.parquet']);
    writeFileSync(join(log, '_last_checkpoint'), '{not json');
    expect((await t.read()).length).toBe(4);
    rmSync(join(log, '_last_checkpoint'));
    expect((await t.snapshot()).version).toBe(3);
    t.close();
  });
});

describe('idempotent transactions', () => {
  it('a repeated (appId, version) write is a no-op that says so', async () => {
    const t = await freshTable();
    const first = await t.write({ sql: `SELECT 1 AS k` }).txn('loader', 7).execute();
    expect(first.skipped).toBeUndefined();
    const again = await t.write({ sql: `SELECT 1 AS k` }).txn('loader', 7).execute();
    expect(again.skipped).toMatch(/already committed/);
    expect(again.version).toBe(first.version);
    const older = await t.write({ sql: `SELECT 1 AS k` }).txn('loader', 3).execute();
    expect(older.skipped).toBeDefined();
    const next = await t.write({ sql: `SELECT 2 AS k` }).txn('loader', 8).execute();
    expect(next.version).toBe(first.version + 1);
    expect((await t.read()).length).toBe(2);
    expect((await t.snapshot()).txnVersion('loader')).toBe(8);
    t.close();
  });
});

describe('a CSV source keeps its integers exact', () => {
  it('a column DuckDB would read as DOUBLE is written as DECIMAL(38,0), or as text when it mixes in fractions; plain doubles stay DOUBLE', async () => {
    const file = join(fx.dir, `big-ints-${++n}.csv`);
    writeFileSync(file, 'id,big,mixed,price\n1,9007199254740993,12345678901234567890123,1.5\n2,12345678901234567890,0.5,2.25\n3,,7,3\n');
    const t = await freshTable();
    await t.write({ file }).execute();
    const types = Object.fromEntries((await t.snapshot()).schema.fields.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({ big: 'decimal(38,0)', mixed: 'string', price: 'double' });
    const rows = await t.read({ orderBy: 'id' });
    expect(rows.map((r) => [String(r.big), String(r.mixed)])).toEqual([
      ['9007199254740993', '12345678901234567890123'],
      ['12345678901234567890', '0.5'],
      ['null', '7'],
    ]);
  });

  it('as a MERGE source: the updated row gets the digits as written', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT 1 AS id, CAST(1 AS DECIMAL(38,0)) AS big` }).execute();
    const file = join(fx.dir, `merge-big-${++n}.csv`);
    writeFileSync(file, 'id,big\n1,9007199254740993\n2,1.5e300\n');
    // 1.5e300 is a double no DECIMAL(38,0) holds: the column is text, which the target's DECIMAL refuses.
    await expect(t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute()).rejects.toThrow();
    writeFileSync(file, 'id,big\n1,9007199254740993\n2,12345678901234567890\n');
    await t.merge({ file }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    expect((await t.read({ orderBy: 'id' })).map((r) => String(r.big))).toEqual(['9007199254740993', '12345678901234567890']);
  });
});

describe('a JSON source: timestamps that name their offset are instants', () => {
  it('NDJSON and a JSON array write a Delta timestamp (the protocol stays 1/2); text without an offset stays timestamp_ntz; a merge reads the same', async () => {
    const ndjson = join(fx.dir, `instants-${++n}.ndjson`);
    writeFileSync(ndjson, '{"id":1,"at":"2024-01-01T05:00:00Z","wall":"2024-01-01 05:00:00"}\n{"id":2,"at":"2024-01-01T06:00:00Z","wall":"2024-01-01 06:00:00"}\n');
    const rec = new RecordingCompute(fx.compute);
    const t = await DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: rec });
    await t.write({ file: ndjson }).execute();
    // The file is described once: the check hands its columns to the write.
    expect(rec.statements.filter((q) => q.startsWith('DESCRIBE') && q.includes(ndjson))).toHaveLength(1);
    const snapshot = await t.snapshot();
    expect(Object.fromEntries(snapshot.schema.fields.map((f) => [f.name, f.type]))).toEqual({ id: 'long', at: 'timestamp', wall: 'timestamp_ntz' });
    // timestamp_ntz needs its reader feature; a timestamp does not.
    expect(snapshot.protocol.readerFeatures).toEqual(['timestampNtz']);

    const array = join(fx.dir, `instants-${++n}.json`);
    writeFileSync(array, JSON.stringify([{ id: 1, at: '2024-01-01T05:00:00-05:00' }, { id: 3, at: '2024-01-03T00:00:00+01:00' }]));
    const u = await freshTable();
    await u.write({ file: array }).execute();
    const plain = await u.snapshot();
    expect(plain.schema.fields.find((f) => f.name === 'at')?.type).toBe('timestamp');
    expect(plain.protocol).toMatchObject({ minReaderVersion: 1, minWriterVersion: 2 });
    // A merge from the NDJSON file: the offsets read as the same instants.
    await u.merge({ file: ndjson }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().execute();
    const rows = await u.read({ orderBy: 'id' });
    expect(rows.map((r) => [String(r.id), String(r.at)])).toEqual([
      ['1', '2024-01-01 05:00:00+00'],
      ['2', '2024-01-01 06:00:00+00'],
      ['3', '2024-01-02 23:00:00+00'],
    ]);
    t.close();
    u.close();
  });
});
