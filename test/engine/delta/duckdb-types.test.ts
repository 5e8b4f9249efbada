import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../../src/adapters/compute/compute.ts';
import { openCompute } from '../../../src/adapters/compute/open-compute.ts';
import {
  deltaTypeToDuckDb,
  duckDbTypeToDelta,
  schemaFromDuckDbColumns,
} from '../../../src/engine/delta/duckdb-types.ts';
import { InputError } from '../../../src/engine/errors.ts';
import type { DataType, StructType } from '../../../src/engine/delta/schema.ts';
import { field, struct } from '../../../src/engine/delta/schema.ts';

let compute: Compute;
beforeAll(async () => {
  compute = await openCompute({ threads: 1 });
});
afterAll(() => compute.close());

async function describeQuery(sql: string): Promise<{ name: string; type: string }[]> {
  const rows = await compute.query<{ column_name: string; column_type: string }>(`DESCRIBE ${sql}`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

describe('deltaTypeToDuckDb', () => {
  it('maps every primitive', () => {
    const cases: [DataType, string][] = [
      ['string', 'VARCHAR'],
      ['long', 'BIGINT'],
      ['integer', 'INTEGER'],
      ['short', 'SMALLINT'],
      ['byte', 'TINYINT'],
      ['float', 'FLOAT'],
      ['double', 'DOUBLE'],
      ['boolean', 'BOOLEAN'],
      ['binary', 'BLOB'],
      ['date', 'DATE'],
      ['timestamp', 'TIMESTAMPTZ'],
      ['timestamp_ntz', 'TIMESTAMP'],
      ['decimal(10,2)', 'DECIMAL(10,2)'],
      ['decimal(38, 0)', 'DECIMAL(38,0)'],
    ];
    for (const [delta, duck] of cases) expect(deltaTypeToDuckDb(delta)).toBe(duck);
  });

  it('maps nested types with quoted field names', () => {
    const t: DataType = struct([
      field('a', 'integer'),
      field('b c', { type: 'array', elementType: 'string', containsNull: true }),
      field('we"ird', { type: 'map', keyType: 'string', valueType: struct([field('x', 'date')]), valueContainsNull: true }),
    ]);
    expect(deltaTypeToDuckDb(t)).toBe(
      'STRUCT("a" INTEGER, "b c" VARCHAR[], "we""ird" MAP(VARCHAR, STRUCT("x" DATE)))',
    );
  });

  it('rejects decimals beyond 38 digits and unknown types', () => {
    expect(() => deltaTypeToDuckDb('decimal(39,0)')).toThrow(InputError);
    expect(() => deltaTypeToDuckDb('variant')).toThrow(InputError);
    expect(() => deltaTypeToDuckDb(struct([]))).toThrow(InputError);
  });

  it('produces types DuckDB accepts, and which DESCRIBE maps back to the same Delta type', async () => {
    const schema: StructType = struct([
      field('s', 'string'),
      field('l', 'long'),
      field('i', 'integer'),
      field('sh', 'short'),
      field('by', 'byte'),
      field('f', 'float'),
      field('d', 'double'),
      field('b', 'boolean'),
      field('bin', 'binary'),
      field('dt', 'date'),
      field('ts', 'timestamp'),
      field('ntz', 'timestamp_ntz'),
      field('dec', 'decimal(38,9)'),
      field('Mixed Case', struct([field('select', 'integer'), field('x"y', { type: 'array', elementType: 'long', containsNull: true })])),
      field('m', { type: 'map', keyType: 'string', valueType: { type: 'array', elementType: 'double', containsNull: true }, valueContainsNull: true }),
    ]);
    const selectList = schema.fields
      .map((f) => `NULL::${deltaTypeToDuckDb(f.type)} AS "${f.name.replace(/"/g, '""')}"`)
      .join(', ');
    const cols = await describeQuery(`SELECT ${selectList}`);
    expect(schemaFromDuckDbColumns(cols)).toEqual(schema);
  });
});

describe('duckDbTypeToDelta', () => {
  it('parses what DESCRIBE prints', async () => {
    const cols = await describeQuery(`SELECT
      1::HUGEINT h, 1::UBIGINT ub, 1::UINTEGER ui, 1::USMALLINT us, 1::UTINYINT ut,
      'a'::JSON j, uuid() u, TIMESTAMP_MS '2020-01-01' tms, TIMESTAMP_NS '2020-01-01' tns,
      TIMESTAMP_S '2020-01-01' tsec, TIMESTAMPTZ '2020-01-01' tz, [1,2]::INTEGER[2] fixed,
      [[1]] nested, 'a'::ENUM('a', 'b') en, 1::DECIMAL d, NULL::STRUCT("a" MAP(VARCHAR, STRUCT("b c" INTEGER[])))[] deep`);
    const s = schemaFromDuckDbColumns(cols);
    const types = Object.fromEntries(s.fields.map((f) => [f.name, f.type]));
    expect(types).toEqual({
      h: 'decimal(38,0)',
      ub: 'decimal(38,0)',
      ui: 'long',
      us: 'integer',
      ut: 'short',
      j: 'string',
      u: 'string',
      tms: 'timestamp_ntz',
      tns: 'timestamp_ntz',
      tsec: 'timestamp_ntz',
      tz: 'timestamp',
      fixed: { type: 'array', elementType: 'integer', containsNull: true },
      nested: { type: 'array', elementType: { type: 'array', elementType: 'integer', containsNull: true }, containsNull: true },
      en: 'string',
      d: 'decimal(18,3)',
      deep: {
        type: 'array',
        containsNull: true,
        elementType: struct([
          field('a', {
            type: 'map',
            keyType: 'string',
            valueType: struct([field('b c', { type: 'array', elementType: 'integer', containsNull: true })]),
            valueContainsNull: true,
          }),
        ]),
      },
    });
  });

  it('parses quoted struct field names with commas, parentheses and quotes', () => {
    expect(duckDbTypeToDelta('STRUCT("a,b" INTEGER, "x(y)" VARCHAR, "q""q" DATE, Ab BIGINT)')).toEqual(
      struct([field('a,b', 'integer'), field('x(y)', 'string'), field('q"q', 'date'), field('Ab', 'long')]),
    );
    expect(duckDbTypeToDelta('TIMESTAMP WITH TIME ZONE')).toBe('timestamp');
    expect(duckDbTypeToDelta('STRUCT(t TIMESTAMP WITH TIME ZONE)[]')).toEqual({
      type: 'array',
      elementType: struct([field('t', 'timestamp')]),
      containsNull: true,
    });
  });

  it('rejects TIME (naming the column) and other types Delta cannot hold', () => {
    expect(() => duckDbTypeToDelta('TIME', 'opened_at')).toThrow(/opened_at.*TIME/);
    expect(() => duckDbTypeToDelta('STRUCT(a TIME)', 'shop')).toThrow(/shop\.a/);
    expect(() => schemaFromDuckDbColumns([{ name: 't', type: 'TIME WITH TIME ZONE' }])).toThrow(InputError);
    for (const t of ['INTERVAL', 'UNION(k INTEGER)', 'BIT', 'BIGNUM', 'NOT_A_TYPE', 'DECIMAL(40,2)']) {
      expect(() => duckDbTypeToDelta(t, 'c')).toThrow(InputError);
    }
  });

  it('rejects duplicate column names differing only in case', () => {
    expect(() => schemaFromDuckDbColumns([{ name: 'a', type: 'INTEGER' }, { name: 'A', type: 'INTEGER' }])).toThrow(
      /twice/,
    );
  });
});
