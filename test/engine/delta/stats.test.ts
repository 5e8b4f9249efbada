import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../../src/adapters/compute/compute.ts';
import { openCompute } from '../../../src/adapters/compute/open-compute.ts';
import { sqlIdent, sqlString } from '../../../src/adapters/compute/sql.ts';
import type { Metadata } from '../../../src/engine/delta/actions.ts';
import { deltaTypeToDuckDb } from '../../../src/engine/delta/duckdb-types.ts';
import { parseTimestamp } from '../../../src/engine/delta/partition-values.ts';
import { field, parseSchemaString, struct, type StructField, type StructType } from '../../../src/engine/delta/schema.ts';
import {
  parseColumnPathList,
  parseStats,
  statsColumns,
  statsFromReturnStats,
  truncateMaxString,
  truncateMinString,
  type ReturnStatsRow,
} from '../../../src/engine/delta/stats.ts';

const GOLDEN = resolve(process.cwd(), '../shared/conformance/golden');

let compute: Compute;
let dir: string;
let n = 0;
beforeAll(async () => {
  compute = await openCompute({ threads: 1 });
  dir = mkdtempSync(join(tmpdir(), 'lakelet-stats-'));
});
afterAll(() => {
  compute.close();
  rmSync(dir, { recursive: true, force: true });
});

async function copyWithStats(select: string): Promise<ReturnStatsRow> {
  const file = join(dir, `f${n++}.parquet`);
  const rows = await compute.query<ReturnStatsRow>(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, RETURN_STATS)`);
  expect(rows.length).toBe(1);
  return rows[0]!;
}

function utf8Compare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

describe('parseStats', () => {
  it('parses Spark stats and tolerates garbage', () => {
    const s = parseStats('{"numRecords":3,"minValues":{"a":1,"s":{"x":"q"}},"maxValues":{"a":5},"nullCount":{"a":0},"tightBounds":false}');
    expect(s).toEqual({ numRecords: 3, minValues: { a: 1, s: { x: 'q' } }, maxValues: { a: 5 }, nullCount: { a: 0 }, tightBounds: false });
    expect(parseStats(undefined)).toBeUndefined();
    expect(parseStats(null)).toBeUndefined();
    expect(parseStats('')).toBeUndefined();
    expect(parseStats('{"numRecords":')).toBeUndefined();
    expect(parseStats('[1,2]')).toBeUndefined();
    expect(parseStats('"x"')).toBeUndefined();
    expect(parseStats('{"numRecords":"7","minValues":[1]}')).toEqual({ numRecords: 7 });
  });
});

describe('string truncation', () => {
  it('keeps short strings and cuts long ones like Delta-Spark', () => {
    expect(truncateMinString('abc', 32)).toBe('abc');
    expect(truncateMaxString('abc', 32)).toBe('abc');
    const long = 'a'.repeat(40);
    expect(truncateMinString(long, 32)).toBe('a'.repeat(32));
    expect(truncateMaxString(long, 32)).toBe(`${'a'.repeat(32)}\u007F`);
    expect(truncateMaxString(`${'a'.repeat(32)}é${'b'.repeat(10)}`, 32)).toBe(`${'a'.repeat(32)}\u{10FFFF}`);
    // A surrogate pair at the cut is kept whole.
    const emoji = `${'a'.repeat(31)}😀${'z'.repeat(5)}`;
    expect(truncateMinString(emoji, 32)).toBe(`${'a'.repeat(31)}😀`);
    expect(truncateMaxString(emoji, 32)).toBe(`${'a'.repeat(31)}😀\u007F`);
    // U+10FFFF characters cannot be out-sorted: the cut moves past them, up to 2× the prefix.
    const maxes = `${'a'.repeat(32)}${'\u{10FFFF}'.repeat(3)}b`;
    expect(truncateMaxString(maxes, 32)).toBe(`${'a'.repeat(32)}${'\u{10FFFF}'.repeat(3)}\u007F`);
    expect(truncateMaxString(`${'a'.repeat(32)}${'\u{10FFFF}'.repeat(20)}b`, 32)).toBeUndefined();
  });

  it('always yields bounds: min′ ≤ s ≤ max′ in UTF-8 byte order (random strings)', () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = ['a', 'z', '~', '\u007F', 'é', '日', '\uFFFF', '😀', '\u{10FFFF}', ' '];
    for (let i = 0; i < 3000; i++) {
      let s = '';
      const len = Math.floor(rand() * 12);
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      const p = Math.floor(rand() * 6);
      const lo = truncateMinString(s, p);
      const hi = truncateMaxString(s, p);
      expect(utf8Compare(lo, s) <= 0, JSON.stringify([s, p, lo])).toBe(true);
      if (hi !== undefined) expect(utf8Compare(hi, s) >= 0, JSON.stringify([s, p, hi])).toBe(true);
    }
  });
});

describe('statsColumns', () => {
  const schema = struct([
    field('p', 'string'),
    field('a', 'integer'),
    field('s', struct([field('x', 'long'), field('y.z', 'string')])),
    field('arr', { type: 'array', elementType: 'integer', containsNull: true }),
    field('b', 'boolean'),
  ]);
  const meta = (configuration: Record<string, string>): Metadata => ({
    id: 'x',
    format: { provider: 'parquet' },
    schemaString: JSON.stringify(schema),
    partitionColumns: ['P'],
    configuration,
  });

  it('defaults to every leaf up to 32, partition columns excluded', () => {
    expect(statsColumns(meta({}))).toEqual([['a'], ['s', 'x'], ['s', 'y.z'], ['arr'], ['b']]);
  });

  it('honours delta.dataSkippingNumIndexedCols', () => {
    expect(statsColumns(meta({ 'delta.dataSkippingNumIndexedCols': '2' }))).toEqual([['a'], ['s', 'x']]);
    expect(statsColumns(meta({ 'delta.dataSkippingNumIndexedCols': '0' }))).toEqual([]);
    expect(statsColumns(meta({ 'delta.dataSkippingNumIndexedCols': '-1' })).length).toBe(5);
  });

  it('honours delta.dataSkippingStatsColumns (case-insensitive, backticks, structs select their leaves)', () => {
    expect(statsColumns(meta({ 'delta.dataSkippingStatsColumns': 'B, S' }))).toEqual([['s', 'x'], ['s', 'y.z'], ['b']]);
    expect(statsColumns(meta({ 'delta.dataSkippingStatsColumns': 's.`y.z`', 'delta.dataSkippingNumIndexedCols': '1' }))).toEqual([
      ['s', 'y.z'],
    ]);
    expect(parseColumnPathList('a, `b``c`.d ,e.f')).toEqual([['a'], ['b`c', 'd'], ['e', 'f']]);
  });

  it('matches the columns Spark collected in golden table data-skipping-change-stats-collected-across-versions', () => {
    const logDir = join(GOLDEN, 'data-skipping-change-stats-collected-across-versions', 'delta', '_delta_log');
    let current: Metadata | undefined;
    let checked = 0;
    for (const f of readdirSync(logDir).filter((x) => x.endsWith('.json')).sort()) {
      for (const line of readFileSync(join(logDir, f), 'utf8').trim().split('\n')) {
        const a = JSON.parse(line) as { metaData?: Metadata; add?: { stats: string } };
        if (a.metaData) current = a.metaData;
        if (a.add) {
          const spark = JSON.parse(a.add.stats) as { nullCount?: Record<string, unknown> };
          expect(statsColumns(current!).map((p) => p.join('.'))).toEqual(Object.keys(spark.nullCount ?? {}));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(2);
  });
});

describe('statsFromReturnStats', () => {
  it('converts every type the way Spark writes it', async () => {
    const row = await copyWithStats(`
      SELECT i::INTEGER AS i, (i * 1000000000000)::BIGINT AS l, i::TINYINT AS t, i::SMALLINT AS sm,
             (i / 3)::FLOAT AS f, (i / 7)::DOUBLE AS d, (i * 1.25)::DECIMAL(10,2) AS dc,
             (i * 1.25)::DECIMAL(38,5) AS big,
             'str' || i AS s, repeat('x', 40) || i AS long_s, DATE '2020-01-01' + i::INTEGER AS dt,
             TIMESTAMPTZ '2021-01-01 00:00:00.123456+00' + i * INTERVAL 1 HOUR AS ts,
             TIMESTAMP '1969-12-31 23:59:59.9995' AS ntz, i % 2 = 0 AS b, 'ab'::BLOB AS bl,
             {'x': i, 'y': {'z': 'q' || i}} AS st, [i] AS arr, MAP {'k': i} AS m,
             CASE WHEN i = 1 THEN NULL ELSE i END AS n, NULL::INTEGER AS allnull,
             CASE WHEN i = 2 THEN 'NaN'::DOUBLE ELSE i END AS nan
      FROM range(1, 4) r(i)`);
    const schema = struct([
      field('i', 'integer'),
      field('l', 'long'),
      field('t', 'byte'),
      field('sm', 'short'),
      field('f', 'float'),
      field('d', 'double'),
      field('dc', 'decimal(10,2)'),
      field('big', 'decimal(38,5)'),
      field('s', 'string'),
      field('long_s', 'string'),
      field('dt', 'date'),
      field('ts', 'timestamp'),
      field('ntz', 'timestamp_ntz'),
      field('b', 'boolean'),
      field('bl', 'binary'),
      field('st', struct([field('x', 'integer'), field('y', struct([field('z', 'string')]))])),
      field('arr', { type: 'array', elementType: 'integer', containsNull: true }),
      field('m', { type: 'map', keyType: 'string', valueType: 'integer', valueContainsNull: true }),
      field('n', 'integer'),
      field('allnull', 'integer'),
      field('nan', 'double'),
    ]);
    const json = statsFromReturnStats(row, schema, undefined, { columns: undefined });
    expect(JSON.parse(json)).toEqual({
      numRecords: 3,
      minValues: {
        i: 1,
        l: 1000000000000,
        t: 1,
        sm: 1,
        f: 0.33333334,
        d: 0.14285714285714285,
        dc: 1.25,
        big: 1.25,
        s: 'str1',
        long_s: 'x'.repeat(32),
        dt: '2020-01-02',
        ts: '2021-01-01T01:00:00.123Z',
        ntz: '1969-12-31T23:59:59.999',
        st: { x: 1, y: { z: 'q1' } },
        n: 2,
      },
      maxValues: {
        i: 3,
        l: 3000000000000,
        t: 3,
        sm: 3,
        f: 1,
        d: 0.42857142857142855,
        dc: 3.75,
        big: 3.75,
        s: 'str3',
        long_s: `${'x'.repeat(32)}\u007F`,
        dt: '2020-01-04',
        ts: '2021-01-01T03:00:00.123Z',
        ntz: '1969-12-31T23:59:59.999',
        st: { x: 3, y: { z: 'q3' } },
        n: 3,
      },
      nullCount: {
        i: 0, l: 0, t: 0, sm: 0, f: 0, d: 0, dc: 0, big: 0, s: 0, long_s: 0, dt: 0, ts: 0, ntz: 0,
        b: 0, bl: 0, st: { x: 0, y: { z: 0 } }, n: 1, allnull: 3, nan: 0,
      },
    });
    // Decimals keep their exact digits in the JSON text (no float rounding).
    expect(json).toContain('"big":1.25000');
  });

  it('keeps 64-bit integers and 38-digit decimals exact', async () => {
    const row = await copyWithStats(`
      SELECT * FROM (VALUES (9223372036854775807::BIGINT, '12345678901234567890123456789.123456789'::DECIMAL(38,9)),
                            ('-9223372036854775808'::BIGINT, '-0.000000001'::DECIMAL(38,9))) v(l, d)`);
    const json = statsFromReturnStats(row, struct([field('l', 'long'), field('d', 'decimal(38,9)')]));
    expect(json).toBe(
      '{"numRecords":2,"minValues":{"l":-9223372036854775808,"d":-0.000000001},' +
        '"maxValues":{"l":9223372036854775807,"d":12345678901234567890123456789.123456789},"nullCount":{"l":0,"d":0}}',
    );
  });

  it('limits columns, uses physical names, writes tightBounds', async () => {
    const row = await copyWithStats(`SELECT 1 AS "col-1", {'col-3': 'x'} AS "col-2", 5 AS "col-4"`);
    const phys = (name: string): StructField['metadata'] => ({ 'delta.columnMapping.physicalName': name });
    const schema = struct([
      field('A', 'integer', true, phys('col-1')),
      field('S', struct([field('X', 'string', true, phys('col-3'))]), true, phys('col-2')),
      field('C', 'integer', true, phys('col-4')),
    ]);
    const physicalNameOf = (_: string, f: StructField) => String(f.metadata['delta.columnMapping.physicalName']);
    const json = statsFromReturnStats(row, schema, physicalNameOf, { columns: [['a'], ['s', 'x']], tightBounds: true });
    expect(JSON.parse(json)).toEqual({
      numRecords: 1,
      minValues: { 'col-1': 1, 'col-2': { 'col-3': 'x' } },
      maxValues: { 'col-1': 1, 'col-2': { 'col-3': 'x' } },
      nullCount: { 'col-1': 0, 'col-2': { 'col-3': 0 } },
      tightBounds: true,
    });
    // Column selection from the table configuration.
    const fromConfig = statsFromReturnStats(row, schema, physicalNameOf, {
      configuration: { 'delta.dataSkippingNumIndexedCols': '1' },
    });
    expect(JSON.parse(fromConfig)).toEqual({ numRecords: 1, minValues: { 'col-1': 1 }, maxValues: { 'col-1': 1 }, nullCount: { 'col-1': 0 } });
    // An empty file: only numRecords.
    const empty = await copyWithStats('SELECT 1 AS a WHERE false');
    expect(JSON.parse(statsFromReturnStats(empty, struct([field('a', 'integer')])))).toMatchObject({ numRecords: 0 });
  });

  it('honours the string prefix length and long strings DuckDB itself truncates', async () => {
    const row = await copyWithStats(`SELECT repeat('y', 1000) || i AS s FROM range(3) r(i)`);
    const stats = JSON.parse(statsFromReturnStats(row, struct([field('s', 'string')]), undefined, { stringPrefixLength: 4 }));
    expect(stats.minValues.s).toBe('yyyy');
    expect(stats.maxValues.s).toBe('yyyy\u007F');
  });

  for (const table of ['data-skipping-basic-stats-all-types', 'data-skipping-basic-stats-all-types-columnmapping-name']) {
    it(`reproduces the Spark-written stats of golden table ${table}`, async () => {
      const root = join(GOLDEN, table, 'delta');
      const actions = readdirSync(join(root, '_delta_log'))
        .filter((f) => f.endsWith('.json'))
        .flatMap((f) => readFileSync(join(root, '_delta_log', f), 'utf8').trim().split('\n'))
        .map((l) => JSON.parse(l) as Record<string, any>);
      const schema: StructType = parseSchemaString(actions.find((a) => a.metaData)!.metaData.schemaString);
      const physicalOf = (f: StructField) => String(f.metadata['delta.columnMapping.physicalName'] ?? f.name);
      const physicalNameOf = (_: string, f: StructField) => physicalOf(f);
      for (const add of actions.filter((a) => a.add).map((a) => a.add)) {
        const spark = JSON.parse(add.stats);
        if (spark.numRecords === 0) continue;
        // Re-write the same rows with DuckDB (cast to the Delta types) and derive stats from RETURN_STATS.
        const select = schema.fields
          .map((f) => `CAST(${sqlIdent(physicalOf(f))} AS ${deltaTypeToDuckDb(f.type)}) AS ${sqlIdent(physicalOf(f))}`)
          .join(', ');
        const row = await copyWithStats(`SELECT ${select} FROM read_parquet(${sqlString(join(root, add.path))})`);
        const ours = JSON.parse(statsFromReturnStats(row, schema, physicalNameOf));
        const tsCol = physicalOf(schema.fields.find((f) => f.type === 'timestamp')!);
        // Spark wrote the timestamp in its session zone (-08:00), we write UTC (Z): same instant.
        for (const k of ['minValues', 'maxValues'] as const) {
          expect(parseTimestamp(ours[k][tsCol])!.micros).toBe(parseTimestamp(spark[k][tsCol])!.micros);
          expect(ours[k][tsCol]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
          delete ours[k][tsCol];
          delete spark[k][tsCol];
        }
        expect(ours).toEqual(spark);
      }
    });
  }
});
