import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../../src/adapters/compute/compute.ts';
import { openCompute } from '../../../src/adapters/compute/open-compute.ts';
import { deltaTypeToDuckDb } from '../../../src/engine/delta/duckdb-types.ts';
import {
  parseTimestamp,
  partitionValueToSql,
  valueToPartitionString,
} from '../../../src/engine/delta/partition-values.ts';
import { parseSchemaString, type DataType } from '../../../src/engine/delta/schema.ts';
import { InputError } from '../../../src/engine/errors.ts';

const GOLDEN = resolve(process.cwd(), '../shared/conformance/golden');

let compute: Compute;
beforeAll(async () => {
  compute = await openCompute({ threads: 1 });
});
afterAll(() => compute.close());

async function one<T = Record<string, unknown>>(sql: string): Promise<T> {
  const rows = await compute.query<T>(sql);
  return rows[0]!;
}

describe('partitionValueToSql', () => {
  it('produces typed literals of exactly the column type', async () => {
    const cases: [string | null, DataType, string][] = [
      ['abc', 'string', 'abc'],
      ["it's", 'string', "it's"],
      ['null', 'string', 'null'], // the literal text "null" is a value, not a null
      ['-42', 'integer', '-42'],
      ['9223372036854775807', 'long', '9223372036854775807'],
      ['7', 'short', '7'],
      ['-128', 'byte', '-128'],
      ['1.5', 'float', '1.5'],
      ['NaN', 'double', 'nan'],
      ['-Infinity', 'double', '-inf'],
      ['0.0', 'double', '0.0'],
      ['12345678901234567890.123456789', 'decimal(38,9)', '12345678901234567890.123456789'],
      ['1.5', 'decimal(5,2)', '1.50'],
      ['true', 'boolean', 'true'],
      ['FALSE', 'boolean', 'false'],
      ['2021-09-08', 'date', '2021-09-08'],
      ['2021-09-08 11:11:11', 'timestamp', '2021-09-08 11:11:11+00'],
      ['1970-01-01T00:00:00.123456Z', 'timestamp', '1970-01-01 00:00:00.123456+00'],
      ['2000-01-01T12:00:00.000000Z', 'timestamp', '2000-01-01 12:00:00+00'],
      ['2021-01-01T02:30:00+02:30', 'timestamp', '2021-01-01 00:00:00+00'],
      ['1969-12-31 23:59:59.999999', 'timestamp', '1969-12-31 23:59:59.999999+00'],
      ['2013-07-05 17:01:00.123456', 'timestamp_ntz', '2013-07-05 17:01:00.123456'],
      ['héllo', 'binary', '68C3A96C6C6F'],
    ];
    for (const [value, type, expected] of cases) {
      const lit = partitionValueToSql(value, type);
      const expr = type === 'binary' ? `hex(${lit})` : `CAST(${lit} AS VARCHAR)`;
      const row = await one<{ v: string; t: string }>(`SELECT ${expr} AS v, typeof(${lit}) AS t`);
      expect(row.v.toLowerCase(), `${value} as ${JSON.stringify(type)}`).toBe(expected.toLowerCase());
      const wantType = deltaTypeToDuckDb(type)
        .replace('TIMESTAMPTZ', 'TIMESTAMP WITH TIME ZONE');
      expect(row.t).toBe(wantType);
    }
  });

  it('reads null, and the empty string, as NULL of the column type (PROTOCOL.md: "" is null for any type)', async () => {
    for (const type of ['string', 'integer', 'date', 'timestamp', 'decimal(10,2)', 'binary'] as DataType[]) {
      for (const v of [null, '']) {
        const lit = partitionValueToSql(v, type);
        const row = await one<{ n: boolean; t: string }>(`SELECT ${lit} IS NULL AS n, typeof(${lit}) AS t`);
        expect(row.n).toBe(true);
        expect(row.t).toBe(deltaTypeToDuckDb(type).replace('TIMESTAMPTZ', 'TIMESTAMP WITH TIME ZONE'));
      }
    }
  });

  it('rejects malformed values with InputError', () => {
    const bad: [string, DataType][] = [
      ['1.5', 'integer'],
      ['abc', 'long'],
      ['yes', 'boolean'],
      ['2021-13-01', 'date'],
      ['2021-02-30', 'date'],
      ['2021-01-01 25:00:00', 'timestamp'],
      ['2021-01-01T00:00:00Z', 'timestamp_ntz'],
      ['1,5', 'decimal(5,2)'],
      ["1'; DROP TABLE x; --", 'double'],
    ];
    for (const [v, t] of bad) expect(() => partitionValueToSql(v, t), `${v} as ${String(t)}`).toThrow(InputError);
  });

  it('reads the Spark-written golden table data-reader-partition-values', async () => {
    const log = readFileSync(resolve(GOLDEN, 'data-reader-partition-values/delta/_delta_log/00000000000000000000.json'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, any>);
    const meta = log.find((a) => a.metaData)!.metaData;
    const schema = parseSchemaString(meta.schemaString);
    const typeOf = (name: string) => schema.fields.find((f) => f.name === name)!.type;
    const adds = log.filter((a) => a.add).map((a) => a.add.partitionValues as Record<string, string | null>);
    expect(adds.length).toBe(3);
    const rows = [];
    for (const pv of adds) {
      const select = Object.entries(pv)
        .map(([k, v]) => `${k === 'as_timestamp' ? `CAST(${partitionValueToSql(v, typeOf(k))} AS VARCHAR)` : partitionValueToSql(v, typeOf(k))} AS ${k}`)
        .join(', ');
      rows.push(await one(`SELECT ${select}`));
    }
    rows.sort((a, b) => String(a.as_int).localeCompare(String(b.as_int)));
    expect(rows[0]).toMatchObject({
      as_int: 0,
      as_long: '0',
      as_byte: 0,
      as_short: 0,
      as_boolean: true,
      as_float: 0,
      as_double: 0,
      as_string: '0',
      as_string_lit_null: 'null',
      as_date: '2021-09-08',
      // No zone in the log: read as UTC (the writer's zone, here America/Los_Angeles, is unknowable).
      as_timestamp: '2021-09-08 11:11:11+00',
      as_big_decimal: '0',
    });
    expect(rows[1]).toMatchObject({ as_int: 1, as_boolean: false, as_float: 1, as_big_decimal: '1' });
    expect(Object.values(rows[2]!).every((v) => v === null)).toBe(true);
  });
});

describe('valueToPartitionString', () => {
  it('writes timestamps as ISO-8601 UTC with microseconds and timestamp_ntz as Spark does', async () => {
    const row = await one<{ ts: string; ntz: string; ts2: string }>(
      `SELECT TIMESTAMPTZ '2021-09-08 11:11:11+00' AS ts, TIMESTAMP '2013-07-05 17:01:00.123456' AS ntz,
              TIMESTAMPTZ '1969-12-31 23:59:59.5+00' AS ts2`,
    );
    expect(valueToPartitionString(row.ts, 'timestamp')).toBe('2021-09-08T11:11:11.000000Z');
    expect(valueToPartitionString(row.ts2, 'timestamp')).toBe('1969-12-31T23:59:59.500000Z');
    expect(valueToPartitionString(row.ntz, 'timestamp_ntz')).toBe('2013-07-05 17:01:00.123456');
    expect(valueToPartitionString('2021-01-01 05:30:00+05:30', 'timestamp')).toBe('2021-01-01T00:00:00.000000Z');
    expect(valueToPartitionString(new Date(Date.UTC(2020, 1, 29, 1, 2, 3, 4)), 'timestamp')).toBe(
      '2020-02-29T01:02:03.004000Z',
    );
  });

  it('writes numbers, booleans, dates and nulls like Spark', () => {
    expect(valueToPartitionString(null, 'integer')).toBeNull();
    expect(valueToPartitionString('', 'string')).toBeNull();
    expect(valueToPartitionString('9223372036854775807', 'long')).toBe('9223372036854775807');
    expect(valueToPartitionString(-3, 'byte')).toBe('-3');
    expect(valueToPartitionString(0.10000000149011612, 'float')).toBe('0.1');
    expect(valueToPartitionString('NaN', 'double')).toBe('NaN');
    expect(valueToPartitionString('-Infinity', 'float')).toBe('-Infinity');
    expect(valueToPartitionString('1.50', 'decimal(5,2)')).toBe('1.50');
    expect(valueToPartitionString(true, 'boolean')).toBe('true');
    expect(valueToPartitionString('2021-09-08', 'date')).toBe('2021-09-08');
    expect(() => valueToPartitionString('x', 'integer')).toThrow(InputError);
    expect(() => valueToPartitionString('2021-01-01 00:00:00+00', 'timestamp_ntz')).toThrow(InputError);
  });

  it('round-trips every partition type through DuckDB: value → string → typed literal', async () => {
    const cases: [DataType, string[]][] = [
      ['string', ["'abc'", "'it''s'", "'null'", "'日本語 😀'", "' '"]],
      ['long', ['0', '-9223372036854775808', '9223372036854775807']],
      ['integer', ['-2147483648', '2147483647', '17']],
      ['short', ['-32768', '32767']],
      ['byte', ['-128', '127']],
      ['float', ['0.1', '1/3', "'NaN'", "'inf'", "'-inf'", '3.4028235e38', '1.4e-45', '-0.0', '100000']],
      ['double', ['0.1', '1/3', "'NaN'", "'-inf'", '1.7976931348623157e308', '5e-324', '1e21', '1e-7']],
      ['decimal(38,9)', ['0', "'-12345678901234567890.123456789'", "'99999999999999999999999999999.999999999'"]],
      ['decimal(5,2)', ['1.5', "'-0.01'"]],
      ['boolean', ['true', 'false']],
      ['date', ["'2021-09-08'", "'1900-02-28'", "'0001-01-01'", "'9999-12-31'", "'1969-12-31'"]],
      [
        'timestamp',
        [
          "'2021-09-08 11:11:11+00'",
          "'1970-01-01 00:00:00.123456+00'",
          "'1969-12-31 23:59:59.999999+00'",
          "'2020-06-01 12:00:00+05:30'",
          "'0001-01-01 00:00:00+00'",
          "'9999-12-31 23:59:59.999999+00'",
        ],
      ],
      ['timestamp_ntz', ["'2013-07-05 17:01:00.123456'", "'1900-01-01 00:00:00'", "'1969-12-31 23:59:59.000001'"]],
      ['binary', ["'abc'::BLOB", "'\\x00\\x01'::BLOB", "encode('héllo')", "'\\x5C'::BLOB"]],
    ];
    for (const [type, exprs] of cases) {
      const duck = deltaTypeToDuckDb(type);
      for (const e of exprs) {
        const source = `CAST(${e} AS ${duck})`;
        const { v } = await one<{ v: unknown }>(`SELECT ${source} AS v`);
        const s = valueToPartitionString(v, type);
        expect(s, `${e} as ${String(type)}`).not.toBeNull();
        const lit = partitionValueToSql(s, type);
        const { same } = await one<{ same: boolean }>(`SELECT (${source}) IS NOT DISTINCT FROM (${lit}) AS same`);
        expect(same, `${e} as ${String(type)} → ${JSON.stringify(s)} → ${lit}`).toBe(true);
      }
    }
  });

  it('refuses binary values that are not UTF-8 (they cannot be serialized as partition text)', async () => {
    const { v } = await one<{ v: unknown }>(`SELECT '\\xFF\\x01'::BLOB AS v`);
    expect(() => valueToPartitionString(v, 'binary')).toThrow(/UTF-8/);
  });
});

describe('parseTimestamp', () => {
  it('accepts Spark, DuckDB and ISO renderings', () => {
    const us = (s: string) => parseTimestamp(s)?.micros;
    expect(us('1970-01-01 00:00:00')).toBe(0n);
    expect(us('1970-01-01T00:00:00.123456Z')).toBe(123456n);
    expect(us('1970-01-01 00:00:00.123456789')).toBe(123456n);
    expect(us('1970-01-01 01:00:00+01')).toBe(0n);
    expect(us('1970-01-01T00:00:00.000-08:00')).toBe(8n * 3600n * 1000000n);
    expect(us('1969-12-31 23:59:59.999999')).toBe(-1n);
    expect(us('2021-02-29 00:00:00')).toBeUndefined();
    expect(us('not a time')).toBeUndefined();
  });
});
