// Conformance, delta-rs side: what lakelet writes delta-rs (Python `deltalake`) reads identically,
// and what delta-rs writes lakelet reads identically: the same rows by value, the same version,
// the same schema (names, types, nullability) and partition columns, at the latest version and
// when travelling back, also when the commits before a checkpoint are gone so that the other
// side's checkpoint must carry the table.
//
// Rows are compared through test/support/interop.ts, which maps each side's JSON to one canonical
// form per Delta type and throws on anything that does not fit the column's type. Each side is also
// compared with the values that went in (DuckDB's view of lakelet's batches, the peer's input
// rows), so the two cannot agree on a wrong value.
import { cpSync, existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../src/adapters/compute/compute.ts';
import { openCompute } from '../../src/adapters/compute/open-compute.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import type { StructType } from '../../src/engine/delta/schema.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../support/peers.ts';
import {
  canonicalTableRows,
  checkpointFile,
  commitFile,
  schemaShape,
  writePeerData,
  type PeerData,
} from '../support/interop.ts';

/** For the tests declared with it.skipIf(...).fails: decided once, throwing under CI=true. */
const noPeer = requirePeer('delta-rs', deltaRsAvailable) === 'skip';

let compute: Compute;
let work: string;
let seq = 0;
beforeAll(async () => {
  compute = await openCompute({ memoryLimit: '1GB' });
  work = mkdtempSync(path.join(tmpdir(), 'lakelet-deltars-interop-'));
});
afterAll(() => {
  compute?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

function newDir(name: string): string {
  return path.join(work, `${++seq}-${name}`);
}

interface PeerRead {
  version: number;
  schema: StructType;
  partitionColumns: string[];
  rows: Record<string, unknown>[];
}

async function peerRead(dir: string, version?: number): Promise<PeerRead> {
  return runDeltaRs(['read', dir, ...(version === undefined ? [] : ['--version', String(version)])]);
}

/**
 * delta-rs reads `dir` at `version` (default latest) exactly as lakelet does: same version, schema,
 * partition columns and rows. Returns lakelet's canonical rows.
 */
async function expectDeltaRsAgrees(table: DeltaTable, dir: string, version?: number): Promise<string[]> {
  return expectAgrees(table, version, await peerRead(dir, version));
}

/** `theirs` (delta-rs' read of the table at `version`) is what lakelet reads there; lakelet's canonical rows. */
async function expectAgrees(table: DeltaTable, version: number | undefined, theirs: PeerRead): Promise<string[]> {
  const selector = version === undefined ? {} : { version };
  const snapshot = await table.snapshot(selector);
  const ours = canonicalTableRows(await table.read(selector), snapshot.schema, 'lakelet');
  expect(theirs.version).toBe(snapshot.version);
  expect(schemaShape(theirs.schema)).toEqual(schemaShape(snapshot.schema));
  expect(theirs.partitionColumns).toEqual(snapshot.partitionColumns);
  expect(canonicalTableRows(theirs.rows, theirs.schema, 'delta-rs')).toEqual(ours);
  return ours;
}

/**
 * expectDeltaRsAgrees at each of `versions` (undefined: the latest), with every version read by
 * one delta-rs process (its start-up is most of a read). Returns lakelet's canonical rows of each.
 */
async function expectDeltaRsAgreesAt(table: DeltaTable, dir: string, versions: (number | undefined)[]): Promise<string[][]> {
  const read = (await runDeltaRs(['read', dir, '--versions', versions.map((v) => v ?? 'latest').join(',')])) as PeerRead[];
  expect(read).toHaveLength(versions.length);
  const out: string[][] = [];
  for (const [i, version] of versions.entries()) out.push(await expectAgrees(table, version, read[i]));
  return out;
}

/** Canonical rows of SQL batches as DuckDB sees them before lakelet writes them. */
async function batchRows(sqls: string[], schema: StructType): Promise<string[]> {
  const rows: Record<string, unknown>[] = [];
  for (const sql of sqls) rows.push(...(await compute.query(sql)));
  return canonicalTableRows(rows, schema, 'duckdb').sort();
}

// =============================================================================================
// 1. lakelet writes, delta-rs reads
// =============================================================================================

// Every primitive type at its edges, nulls in every column. FLOAT/DOUBLE edge values, BIGINTs
// beyond 2^53, decimals at full precision, unicode and empty strings, every byte value, dates and
// timestamps at the ends of the range Delta (and Python) allow, a non-UTC offset.
const ALL_TYPES_V0 = `SELECT * FROM (VALUES
  (1, 127::TINYINT, 32767::SMALLINT, 2147483647::INTEGER, 9223372036854775807::BIGINT,
      3.4028235e38::FLOAT, 1.7976931348623157e308::DOUBLE, 99999999.99::DECIMAL(10,2),
      '9999999999999999999999999999.9999999999'::DECIMAL(38,10), true, 'héllo wörld 🌍 日本語',
      from_hex('${Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).join('')}'),
      DATE '9999-12-31', TIMESTAMPTZ '9999-12-31 23:59:59.999999+00', TIMESTAMP '9999-12-31 23:59:59.999999'),
  (2, (-128)::TINYINT, (-32768)::SMALLINT, (-2147483648)::INTEGER, (-9223372036854775808)::BIGINT,
      (-3.4028235e38)::FLOAT, (-1.7976931348623157e308)::DOUBLE, (-99999999.99)::DECIMAL(10,2),
      '-9999999999999999999999999999.9999999999'::DECIMAL(38,10), false, '', ''::BLOB,
      DATE '0001-01-01', TIMESTAMPTZ '0001-01-01 00:00:00+00', TIMESTAMP '0001-01-01 00:00:00'),
  (3, 0::TINYINT, 0::SMALLINT, 0::INTEGER, 9007199254740993::BIGINT,
      1.1::FLOAT, 0.1::DOUBLE, 0.01::DECIMAL(10,2), '-0.0000000001'::DECIMAL(38,10), true,
      'quote " apostrophe '' backslash \\ tab \t newline
 end', from_hex('5c7a22275c'),
      DATE '1970-01-01', TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', TIMESTAMP '2024-02-29 12:34:56.000001'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) v(id, i8, i16, i32, i64, f32, f64, d10, d38, b, s, bin, d, ts, ntz)`;

const ALL_TYPES_V1 = `SELECT * FROM (VALUES
  (5, -1::TINYINT, 1::SMALLINT, -1::INTEGER, (-9007199254740993)::BIGINT,
      'NaN'::FLOAT, 'Infinity'::DOUBLE, 0.00::DECIMAL(10,2), 0::DECIMAL(38,10), false, 'ß',
      from_hex('ff'), DATE '2000-02-29', TIMESTAMPTZ '2024-06-01 12:00:00.5+05:30', TIMESTAMP '1900-01-01 00:00:00'),
  (6, NULL, NULL, NULL, NULL,
      '-Infinity'::FLOAT, '-0.0'::DOUBLE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (7, 1::TINYINT, NULL, NULL, NULL,
      '-0.0'::FLOAT, 'NaN'::DOUBLE, NULL, NULL, NULL, '   ', NULL, NULL, NULL, NULL),
  (8, NULL, NULL, NULL, NULL,
      1.401298464324817e-45::FLOAT, 5e-324::DOUBLE, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) v(id, i8, i16, i32, i64, f32, f64, d10, d38, b, s, bin, d, ts, ntz)`;

describe('lakelet writes, delta-rs reads', () => {
  it('every primitive type, edge values and nulls: same rows, version and schema; time travel', async () => {
    if (requirePeer('delta-rs', deltaRsAvailable) === 'skip') return;
    const dir = newDir('all-types');
    const t = await DeltaTable.forPath(dir, { compute });
    try {
      await t.write({ sql: ALL_TYPES_V0 }).execute();
      await t.write({ sql: ALL_TYPES_V1 }).mode('append').execute();
      const snapshot = await t.snapshot();
      expect(snapshot.version).toBe(1);
      expect(schemaShape(snapshot.schema)).toEqual([
        { name: 'id', type: 'integer', nullable: true },
        { name: 'i8', type: 'byte', nullable: true },
        { name: 'i16', type: 'short', nullable: true },
        { name: 'i32', type: 'integer', nullable: true },
        { name: 'i64', type: 'long', nullable: true },
        { name: 'f32', type: 'float', nullable: true },
        { name: 'f64', type: 'double', nullable: true },
        { name: 'd10', type: 'decimal(10,2)', nullable: true },
        { name: 'd38', type: 'decimal(38,10)', nullable: true },
        { name: 'b', type: 'boolean', nullable: true },
        { name: 's', type: 'string', nullable: true },
        { name: 'bin', type: 'binary', nullable: true },
        { name: 'd', type: 'date', nullable: true },
        { name: 'ts', type: 'timestamp', nullable: true },
        { name: 'ntz', type: 'timestamp_ntz', nullable: true },
      ]);
      const [latest, v0] = await expectDeltaRsAgreesAt(t, dir, [undefined, 0]);
      expect(latest).toEqual(await batchRows([ALL_TYPES_V0, ALL_TYPES_V1], snapshot.schema));
      expect(v0).toEqual(await batchRows([ALL_TYPES_V0], snapshot.schema));
    } finally {
      t.close();
    }
  });

  // Partition values with every character Hive paths escape or URIs reserve, non-ASCII, empty
  // (which Delta reads as null) and null, over string, int, date, timestamp and timestamp_ntz.
  const PARTITIONED_V0 = `SELECT * FROM (VALUES
    (1, 'a b', 0, DATE '2024-02-29', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00', TIMESTAMP '2024-01-02 03:04:05.654321', 1.5::DOUBLE),
    (2, 'x/y', -1, DATE '1970-01-01', TIMESTAMPTZ '1969-12-31 23:59:59.999999+00', TIMESTAMP '1969-12-31 23:59:59.999999', 2.5),
    (3, 'k=v', 2147483647, DATE '0001-01-01', TIMESTAMPTZ '2024-06-01 12:00:00+05:30', TIMESTAMP '2000-01-01 00:00:00', 3.5),
    (4, '100%', -2147483648, DATE '9999-12-31', TIMESTAMPTZ '1970-01-01 00:00:00+00', TIMESTAMP '9999-12-31 23:59:59.999999', 4.5),
    (5, 'h:m:s', 7, NULL, TIMESTAMPTZ '2024-01-02 03:04:05+00', NULL, 5.5),
    (6, '#tag', NULL, DATE '2024-01-01', NULL, TIMESTAMP '2024-01-02 03:04:05', 6.5),
    (7, NULL, NULL, NULL, NULL, NULL, 7.5)
  ) v(id, s, i, d, ts, ntz, x)`;
  const PARTITIONED_V1 = `SELECT * FROM (VALUES
    (8, 'ünï €', 1, DATE '2024-02-29', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00', TIMESTAMP '2024-01-02 03:04:05.654321', 8.5::DOUBLE),
    (9, '日本 🌍', 1, DATE '2024-02-29', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00', TIMESTAMP '2024-01-02 03:04:05.654321', 9.5),
    (10, 'all a/b=c%d:e#f ü', 2, DATE '2024-03-01', TIMESTAMPTZ '2024-01-02 03:04:05.000001+00', TIMESTAMP '2024-01-02 03:04:05.000001', 10.5),
    (11, '', 3, DATE '2024-03-01', TIMESTAMPTZ '2024-01-02 03:04:05.000001+00', TIMESTAMP '2024-01-02 03:04:05.000001', 11.5),
    (12, ' lead and trail ', 3, DATE '2024-03-01', NULL, NULL, 12.5),
    (13, '%25 already %2F escaped', 4, DATE '2024-03-02', NULL, NULL, NULL),
    (14, 'a b', 0, DATE '2024-02-29', TIMESTAMPTZ '2024-01-02 03:04:05.123456+00', TIMESTAMP '2024-01-02 03:04:05.654321', NULL)
  ) v(id, s, i, d, ts, ntz, x)`;
  // Delta reads an empty partition string as null, whoever wrote it.
  const asRead = (sql: string) => `SELECT * REPLACE (NULLIF(s, '') AS s) FROM (${sql})`;

  it('partitioned by string/int/date/timestamp/timestamp_ntz with special characters and nulls', async () => {
    if (requirePeer('delta-rs', deltaRsAvailable) === 'skip') return;
    const dir = newDir('partitioned');
    const t = await DeltaTable.forPath(dir, { compute });
    try {
      await t.write({ sql: PARTITIONED_V0 }).partitionBy('s', 'i', 'd', 'ts', 'ntz').execute();
      await t.write({ sql: PARTITIONED_V1 }).mode('append').execute();
      const snapshot = await t.snapshot();
      expect(snapshot.partitionColumns).toEqual(['s', 'i', 'd', 'ts', 'ntz']);
      expect(snapshot.files.length).toBeGreaterThanOrEqual(12);
      const [latest, v0] = await expectDeltaRsAgreesAt(t, dir, [undefined, 0]);
      expect(latest).toEqual(await batchRows([asRead(PARTITIONED_V0), asRead(PARTITIONED_V1)], snapshot.schema));
      expect(v0).toEqual(await batchRows([asRead(PARTITIONED_V0)], snapshot.schema));
    } finally {
      t.close();
    }
  });

  // The other primitive partition types. Not here: negative decimals with a fraction (delta-rs 1.6.6
  // turns the partition value '-12345.67' into '-12345.-67' and fails to read it, and writes -0.01
  // as '0.-1' itself: a delta-rs bug, not a disagreement), and binary (below).
  const PARTITIONED_OTHER = `SELECT * FROM (VALUES
    (1, true, 5::TINYINT, 300::SMALLINT, 9007199254740993::BIGINT, 1.1::FLOAT, 0.1::DOUBLE, 12.30::DECIMAL(10,2), '-0.0'::DOUBLE),
    (2, false, (-128)::TINYINT, (-32768)::SMALLINT, (-9223372036854775808)::BIGINT, 'NaN'::FLOAT, 'Infinity'::DOUBLE, 99999999.99::DECIMAL(10,2), 1e300::DOUBLE),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
  ) v(id, b, i8, i16, i64, f, d, dec, z)`;

  it('partitioned by boolean/byte/short/long/float/double/decimal, with NaN, infinities, -0.0 and null', async () => {
    if (requirePeer('delta-rs', deltaRsAvailable) === 'skip') return;
    const dir = newDir('partitioned-other');
    const t = await DeltaTable.forPath(dir, { compute });
    try {
      await t.write({ sql: PARTITIONED_OTHER }).partitionBy('b', 'i8', 'i16', 'i64', 'f', 'd', 'dec', 'z').execute();
      const snapshot = await t.snapshot();
      expect(snapshot.files).toHaveLength(3);
      expect(await expectDeltaRsAgrees(t, dir)).toEqual(await batchRows([PARTITIONED_OTHER], snapshot.schema));
    } finally {
      t.close();
    }
  });

  it('13 commits (appends, one overwrite), checkpoint at 10: time travel, and the checkpoint alone carries the table', async () => {
    if (requirePeer('delta-rs', deltaRsAvailable) === 'skip') return;
    const dir = newDir('history');
    const t = await DeltaTable.forPath(dir, { compute });
    try {
      const batches: string[] = [];
      const live: string[][] = []; // batches visible at each version
      for (let k = 0; k <= 12; k++) {
        batches.push(historyBatch(k));
        const w = t.write({ sql: batches[k] });
        if (k === 0) w.partitionBy('p');
        if (k === 6) w.mode('overwrite');
        const res = await w.execute();
        expect(res.version).toBe(k);
        live.push(k === 0 ? [batches[0]] : k === 6 ? [batches[6]] : [...live[k - 1], batches[k]]);
      }
      expect(existsSync(checkpointFile(dir, 10))).toBe(true);
      const schema = (await t.snapshot()).schema;

      const [latest, ...older] = await expectDeltaRsAgreesAt(t, dir, [undefined, 3, 6, 10]);
      expect(latest).toEqual(await batchRows(live[12], schema));
      expect(latest).toHaveLength(7 * 4);
      for (const [i, v] of [3, 6, 10].entries()) {
        expect(older[i]).toEqual(await batchRows(live[v], schema));
      }

      // A copy without commits 0..9: only the checkpoint at 10 knows the files added before it.
      const pruned = newDir('history-pruned');
      cpSync(dir, pruned, { recursive: true });
      for (let v = 0; v <= 9; v++) unlinkSync(commitFile(pruned, v));
      const p = await DeltaTable.forPath(pruned, { compute });
      try {
        const [prunedLatest, v10, v11] = await expectDeltaRsAgreesAt(p, pruned, [undefined, 10, 11]);
        expect(prunedLatest).toEqual(latest);
        expect(v10).toEqual(await batchRows(live[10], schema));
        expect(v11).toEqual(await batchRows(live[11], schema));
        await expect(runDeltaRs(['read', pruned, '--version', '9'])).rejects.toThrow();
        await expect(p.snapshot({ version: 9 })).rejects.toThrow();
      } finally {
        p.close();
      }
    } finally {
      t.close();
    }
  });

  // Regression: binary partition values were once written as DuckDB's escaped text of the bytes
  // (CAST(BLOB AS VARCHAR)), e.g. "\xC3\xA9" for "é", so every reader got 8 bytes back instead of 2.
  it.skipIf(noPeer)('binary partition values keep their bytes', async () => {
    const dir = newDir('binary-partition');
    const t = await DeltaTable.forPath(dir, { compute });
    try {
      const sql = `SELECT * FROM (VALUES (1, encode('é')), (2, from_hex('22')), (3, encode('plain'))) v(id, bin)`;
      await t.write({ sql }).partitionBy('bin').execute();
      const theirs = await peerRead(dir);
      const expected = [
        { id: 1, bin: Buffer.from('é').toString('base64') },
        { id: 2, bin: Buffer.from('"').toString('base64') },
        { id: 3, bin: Buffer.from('plain').toString('base64') },
      ];
      expect([...theirs.rows].sort((a, b) => Number(a.id) - Number(b.id))).toEqual(expected);
    } finally {
      t.close();
    }
  });

  // Regression: read() once handed BLOBs over as DuckDB's text, which escapes bytes as \xHH but not
  // the backslash, so the byte 0x00 and the four bytes `\x00` came out alike; now they are base64.
  it.skipIf(noPeer)('read() keeps binary values apart that DuckDB prints alike', async () => {
    const dir = newDir('binary-text');
    const t = await DeltaTable.forPath(dir, { compute });
    try {
      await t.write({ sql: `SELECT * FROM (VALUES (1, from_hex('00')), (2, from_hex('5c783030'))) v(id, bin)` }).execute();
      const ours = await t.read({ orderBy: 'id' });
      const theirs = await peerRead(dir);
      // The data files are right: delta-rs sees two different values.
      expect(theirs.rows.map((r) => r.bin).sort()).toEqual(['AA==', 'XHgwMA=='].sort());
      expect(ours.map((r) => r.bin)).toEqual(['AA==', 'XHgwMA==']);
    } finally {
      t.close();
    }
  });
});

/**
 * Batch k of the 13-commit table: 4 rows, the last one null in every column but the key; every
 * primitive type; partition column `p` with special characters and null.
 */
function historyBatch(k: number): string {
  const cols: [string, string, string][] = [
    ['p', 'VARCHAR', `['a b/c=d', 'k=v%#:1', 'ünï €'][r + 1]`],
    ['i8', 'TINYINT', `r - 1`],
    ['i16', 'SMALLINT', `${k * 1000} - 32000 + r`],
    ['i32', 'INTEGER', `2147483647 - ${k * 10} - r`],
    ['i64', 'BIGINT', `9007199254740993 + ${k * 1000} + r`],
    ['f32', 'FLOAT', `(${k} + r) / 10`],
    ['f64', 'DOUBLE', `(${k * 3} + r) / 7`],
    ['d10', 'DECIMAL(10,2)', `(${k * 1000} + r) / 100`],
    ['d38', 'DECIMAL(38,10)', `(CASE WHEN r = 1 THEN '-' ELSE '' END || '1234567890123456789012345678.' || lpad((${k * 1000} + r)::VARCHAR, 10, '0'))`],
    ['b', 'BOOLEAN', `r % 2 = 0`],
    ['s', 'VARCHAR', `CASE WHEN r = 2 THEN '' ELSE 'row ${k} ☃ ' || r END`],
    ['bin', 'BLOB', `from_hex(printf('%02x%02x', ${k}, r * 85))`],
    ['d', 'DATE', `DATE '2024-02-29' + (${k * 3} - r * 400)::INTEGER`],
    ['ts', 'TIMESTAMPTZ', `TIMESTAMPTZ '2024-01-01 00:00:00.000001+00' + to_microseconds(${k} * 1000003 - r * 86400000000000)`],
    ['ntz', 'TIMESTAMP', `make_timestamp((${k} * 86400000123 - r * 1000001)::BIGINT)`],
  ];
  const select = cols.map(([name, type, expr]) => `CASE WHEN r = 3 THEN NULL ELSE CAST(${expr} AS ${type}) END AS ${name}`);
  return `SELECT (${k * 100} + r)::BIGINT AS id, ${select.join(', ')} FROM range(4) t(r)`;
}

// =============================================================================================
// 2. delta-rs writes, lakelet reads
// =============================================================================================

const PEER_SCHEMA: PeerData['schema'] = [
  { name: 'id', type: 'int64', nullable: false },
  { name: 'p', type: 'string' },
  { name: 'pi', type: 'int32' },
  { name: 'pd', type: 'date' },
  { name: 'i8', type: 'int8' },
  { name: 'i16', type: 'int16' },
  { name: 'i32', type: 'int32' },
  { name: 'i64', type: 'int64' },
  { name: 'f32', type: 'float32' },
  { name: 'f64', type: 'float64' },
  { name: 'b', type: 'bool' },
  { name: 's', type: 'string' },
  { name: 'bin', type: 'binary' },
  { name: 'd', type: 'date' },
  { name: 'ts', type: 'timestamp_us_utc' },
  { name: 'ntz', type: 'timestamp_ntz' },
  { name: 'd10', type: 'decimal(10,2)' },
  { name: 'd38', type: 'decimal(38,10)' },
];

/** What lakelet's snapshot schema must say for PEER_SCHEMA. */
const PEER_DELTA_SCHEMA = [
  { name: 'id', type: 'long', nullable: false },
  { name: 'p', type: 'string', nullable: true },
  { name: 'pi', type: 'integer', nullable: true },
  { name: 'pd', type: 'date', nullable: true },
  { name: 'i8', type: 'byte', nullable: true },
  { name: 'i16', type: 'short', nullable: true },
  { name: 'i32', type: 'integer', nullable: true },
  { name: 'i64', type: 'long', nullable: true },
  { name: 'f32', type: 'float', nullable: true },
  { name: 'f64', type: 'double', nullable: true },
  { name: 'b', type: 'boolean', nullable: true },
  { name: 's', type: 'string', nullable: true },
  { name: 'bin', type: 'binary', nullable: true },
  { name: 'd', type: 'date', nullable: true },
  { name: 'ts', type: 'timestamp', nullable: true },
  { name: 'ntz', type: 'timestamp_ntz', nullable: true },
  { name: 'd10', type: 'decimal(10,2)', nullable: true },
  { name: 'd38', type: 'decimal(38,10)', nullable: true },
];

const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64');

/** Batch k for the peer: 4 rows, the last null in every column but the key. */
function peerBatch(k: number): Record<string, unknown>[] {
  const us = String(k).padStart(6, '0');
  const rows: Record<string, unknown>[] = [
    {
      id: k * 100, p: 'a b/c=d', pi: k, pd: '2024-02-29', i8: 127, i16: 32767, i32: 2147483647, i64: '9223372036854775807',
      f32: Math.fround(0.1 * (k + 1)), f64: 0.1 * k + 0.2, b: true, s: '', bin: b64([]),
      d: '0001-01-01', ts: '0001-01-01T00:00:00Z', ntz: '0001-01-01T00:00:00', d10: '99999999.99',
      d38: '9999999999999999999999999999.9999999999',
    },
    {
      id: k * 100 + 1, p: '100% #1:2', pi: -k - 1, pd: '1970-01-01', i8: -128, i16: -32768, i32: -2147483648,
      i64: '-9223372036854775808', f32: 'NaN', f64: '-Infinity', b: false,
      s: 'quote " apostrophe \' backslash \\ newline \n end', bin: b64([0, 255, 127, 128, 92, 34, 39]),
      d: '9999-12-31', ts: '9999-12-31T23:59:59.999999Z', ntz: '9999-12-31T23:59:59.999999', d10: '-99999999.99',
      d38: '-0.0000000001',
    },
    {
      id: k * 100 + 2, p: 'ünï €', pi: 2147483647, pd: '1900-01-01', i8: k, i16: k * 7, i32: k, i64: String(2n ** 53n + 1n + BigInt(k)),
      f32: 'Infinity', f64: 5e-324, b: true, s: `日本語 🌍 ${k}`, bin: b64([k, 92, 122]),
      d: '2024-02-29', ts: `1969-12-31T23:59:59.${us}Z`, ntz: `2024-02-29T12:34:56.${us}`, d10: `${k}.05`,
      d38: `${k}.1234567890`,
    },
    { id: k * 100 + 3 },
  ];
  return rows;
}

describe('delta-rs writes, lakelet reads', () => {
  it('every primitive type, nulls, 3 partition columns, appends, an overwrite and a delta-rs checkpoint', async () => {
    if (requirePeer('delta-rs', deltaRsAvailable) === 'skip') return;
    const dir = newDir('peer-history');
    const dataDir = newDir('peer-data');
    const peerSchema: StructType = { type: 'struct', fields: PEER_DELTA_SCHEMA.map((f) => ({ ...f, metadata: {} })) };
    const live: Record<string, unknown>[][] = [];
    for (let k = 0; k <= 6; k++) {
      const mode = k === 3 ? 'overwrite' : 'append';
      const file = writePeerData(dataDir, `batch-${k}`, { schema: PEER_SCHEMA, rows: peerBatch(k) });
      const res = await runDeltaRs(['write', dir, '--data', file, '--mode', mode, '--partition-by', 'p,pi,pd']);
      expect(res.version).toBe(k);
      live.push(k === 0 || k === 3 ? peerBatch(k) : [...live[k - 1], ...peerBatch(k)]);
      if (k === 5) expect((await runDeltaRs(['checkpoint', dir])).version).toBe(5);
    }
    // The input rows, canonical: null-filled so every row has every column.
    const expected = (v: number) =>
      canonicalTableRows(
        live[v].map((r) => Object.fromEntries(PEER_SCHEMA.map((c) => [c.name, r[c.name] ?? null]))),
        peerSchema,
        'delta-rs',
      );

    const t = await DeltaTable.forPath(dir, { compute });
    try {
      const snapshot = await t.snapshot();
      expect(snapshot.version).toBe(6);
      expect(schemaShape(snapshot.schema)).toEqual(PEER_DELTA_SCHEMA);
      expect(snapshot.partitionColumns).toEqual(['p', 'pi', 'pd']);
      const agreed = await expectDeltaRsAgreesAt(t, dir, [undefined, 2, 3]);
      for (const [i, v] of [6, 2, 3].entries()) {
        expect(agreed[i]).toEqual(expected(v));
      }
    } finally {
      t.close();
    }

    // Without commits 0..5 only delta-rs' checkpoint at 5 knows the table up to there.
    expect(existsSync(checkpointFile(dir, 5))).toBe(true);
    for (let v = 0; v <= 5; v++) unlinkSync(commitFile(dir, v));
    const fresh = await DeltaTable.forPath(dir, { compute });
    try {
      expect((await fresh.snapshot()).version).toBe(6);
      const [v6, v5] = await expectDeltaRsAgreesAt(fresh, dir, [undefined, 5]);
      expect(v6).toEqual(expected(6));
      expect(v5).toEqual(expected(5));
      await expect(fresh.snapshot({ version: 4 })).rejects.toThrow();
    } finally {
      fresh.close();
    }
  });

  it('file skipping on delta-rs stats (timestamps truncated to ms, decimals as doubles) keeps every matching row', async () => {
    if (requirePeer('delta-rs', deltaRsAvailable) === 'skip') return;
    const dir = newDir('peer-skipping');
    const dataDir = newDir('peer-skipping-data');
    const schema: PeerData['schema'] = [
      { name: 'id', type: 'int64' },
      { name: 'ts', type: 'timestamp_us_utc' },
      { name: 'ntz', type: 'timestamp_ntz' },
      { name: 'i64', type: 'int64' },
      { name: 'f32', type: 'float32' },
      { name: 'd38', type: 'decimal(38,10)' },
      { name: 'd10', type: 'decimal(10,2)' },
      { name: 's', type: 'string' },
    ];
    // One row per file (one write each): a wrong skip drops the row.
    const rows = [
      { id: 1, ts: '2024-01-02T03:04:05.123456Z', ntz: '2024-01-02T03:04:05.654321', i64: '9007199254740993', f32: Math.fround(0.1), d38: '1234567890123456789012345678.0123456789', d10: '1.20', s: 'b' },
      { id: 2, ts: '2024-01-02T03:04:05.123457Z', ntz: '2024-01-02T03:04:05.654322', i64: '9007199254740992', f32: Math.fround(0.2), d38: '1234567890123456789012345678.0123456790', d10: '1.21', s: 'bb' },
      { id: 3, ts: '2024-01-02T03:04:05.999999Z', ntz: '2024-01-02T03:04:05.999999', i64: '9007199254740994', f32: Math.fround(0.3), d38: '1234567890123456789012345678.0123456788', d10: '1.19', s: 'b\u0000' },
    ];
    for (const [i, row] of rows.entries()) {
      const file = writePeerData(dataDir, `row-${i}`, { schema, rows: [row] });
      await runDeltaRs(['write', dir, '--data', file]);
    }
    const t = await DeltaTable.forPath(dir, { compute });
    try {
      expect((await t.snapshot()).files).toHaveLength(3);
      const cases: [string, number[]][] = [
        [`ts = TIMESTAMPTZ '2024-01-02 03:04:05.123456+00'`, [1]],
        [`ts > TIMESTAMPTZ '2024-01-02 03:04:05.123456+00'`, [2, 3]],
        [`ts >= TIMESTAMPTZ '2024-01-02 03:04:05.999999+00'`, [3]],
        [`ntz = TIMESTAMP '2024-01-02 03:04:05.654321'`, [1]],
        [`ntz > TIMESTAMP '2024-01-02 03:04:05.654321'`, [2, 3]],
        [`i64 = 9007199254740993`, [1]],
        [`i64 > 9007199254740992`, [1, 3]],
        [`f32 = 0.1::FLOAT`, [1]],
        [`d38 = 1234567890123456789012345678.0123456789`, [1]],
        [`d38 > 1234567890123456789012345678.0123456789`, [2]],
        [`d10 >= 1.20`, [1, 2]],
        [`s > 'b'`, [2, 3]],
      ];
      for (const [where, ids] of cases) {
        const got = (await t.read({ where })).map((r) => Number(r.id)).sort();
        expect({ where, ids: got }).toEqual({ where, ids });
      }
    } finally {
      t.close();
    }
  });
});
