import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Compute } from '../../../src/adapters/compute/compute.ts';
import { openCompute } from '../../../src/adapters/compute/open-compute.ts';
import { sqlIdent, sqlString } from '../../../src/adapters/compute/sql.ts';
import type { FileStats } from '../../../src/engine/delta/actions.ts';
import { deltaTypeToDuckDb } from '../../../src/engine/delta/duckdb-types.ts';
import { partitionValueToSql, valueToPartitionString } from '../../../src/engine/delta/partition-values.ts';
import { field, parseSchemaString, struct, type DataType, type StructField, type StructType } from '../../../src/engine/delta/schema.ts';
import { canSkipFile, compareUtf8, compilePredicate, predicateColumns, type Predicate } from '../../../src/engine/delta/skipping.ts';
import { parseStats, statsFromReturnStats, type ReturnStatsRow } from '../../../src/engine/delta/stats.ts';
import { InputError } from '../../../src/engine/errors.ts';
import { rng } from '../../support/rng.ts';

let compute: Compute;
let dir: string;
beforeAll(async () => {
  compute = await openCompute({ threads: 2 });
  dir = mkdtempSync(join(tmpdir(), 'lakelet-skipping-'));
});
afterAll(() => {
  compute.close();
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Hand-written cases
// ---------------------------------------------------------------------------------------------

const schema = struct([
  field('id', 'long'),
  field('Name', 'string'),
  field('price', 'decimal(10,2)'),
  field('f', 'float'),
  field('d', 'double'),
  field('dt', 'date'),
  field('ts', 'timestamp'),
  field('ntz', 'timestamp_ntz'),
  field('flag', 'boolean'),
  field('s', struct([field('x', 'integer'), field('y', struct([field('z', 'string')]))])),
  field('part', 'integer'),
  field('region', 'string'),
  field('day', 'date'),
  field('happened', 'timestamp'),
  field('active', 'boolean'),
]);
const partitionColumns = ['part', 'region', 'day', 'happened', 'active'];

interface FileSpec {
  partitionValues?: Record<string, string | null>;
  stats?: FileStats | string;
}

async function skips(sql: string, file: FileSpec, physicalNameOf?: (n: string, f: StructField) => string): Promise<boolean> {
  const pred = await compilePredicate(compute, sql);
  const stats = typeof file.stats === 'string' ? parseStats(file.stats) : file.stats;
  return canSkipFile(
    pred,
    { partitionValues: { part: '1', region: 'eu', day: '2021-09-08', happened: '2021-09-08T11:11:11.000000Z', active: 'true', ...file.partitionValues }, stats },
    schema,
    partitionColumns,
    physicalNameOf,
  );
}

describe('compilePredicate', () => {
  it('builds a predicate tree from DuckDB’s parse', async () => {
    const p = await compilePredicate(compute, "a > 5 AND (part = 'x' OR NOT b IS NULL) AND c IN (1, 2) AND d BETWEEN 1 AND 3");
    expect(p.kind).toBe('and');
    expect(predicateColumns(p)).toEqual([['a'], ['part'], ['b'], ['c'], ['d'], ['d']]);
    expect(await compilePredicate(compute, '5 < e')).toMatchObject({ kind: 'compare', op: '>', column: ['e'] });
    expect(await compilePredicate(compute, 's.y.z = 1')).toMatchObject({ kind: 'compare', column: ['s', 'y', 'z'] });
    expect(await compilePredicate(compute, '1 = 0')).toEqual({ kind: 'constant', value: false });
    expect(await compilePredicate(compute, 'NULL')).toEqual({ kind: 'constant', value: null });
    expect((await compilePredicate(compute, 'lower(a) = 1')).kind).toBe('unknown');
    expect((await compilePredicate(compute, 'a = random()')).kind).toBe('unknown');
    expect((await compilePredicate(compute, 'a = b')).kind).toBe('unknown');
    // Literals are exactly DuckDB's: no precision lost on the way.
    expect(await compilePredicate(compute, 'a = 9007199254740993')).toMatchObject({ value: { duckType: 'BIGINT', text: '9007199254740993' } });
    expect(await compilePredicate(compute, "a = DATE '2020-01-01' + INTERVAL 1 DAY")).toMatchObject({
      value: { duckType: 'TIMESTAMP', text: '2020-01-02 00:00:00' },
    });
  });

  it('rejects what is not a single condition', async () => {
    for (const bad of ['', 'a >', 'a > 1 ORDER BY 1', 'a > 1 LIMIT 1', 'a > 1; DROP TABLE x', 'true UNION SELECT 1', 'a > 1 GROUP BY a']) {
      await expect(compilePredicate(compute, bad), bad).rejects.toBeInstanceOf(InputError);
    }
  });
});

describe('canSkipFile: partition columns', () => {
  it('compares by typed value, not as strings', async () => {
    expect(await skips('part > 9', { partitionValues: { part: '10' } })).toBe(false);
    expect(await skips('part < 9', { partitionValues: { part: '10' } })).toBe(true);
    expect(await skips("part = '10'", { partitionValues: { part: '10' } })).toBe(false);
    expect(await skips('part = 10.0', { partitionValues: { part: '10' } })).toBe(false);
    expect(await skips('part = 10.5', { partitionValues: { part: '10' } })).toBe(true);
    expect(await skips("day > '2021-09-07'", {})).toBe(false);
    expect(await skips("day > DATE '2021-09-08'", {})).toBe(true);
    expect(await skips("day >= TIMESTAMP '2021-09-08 00:00:01'", {})).toBe(true);
    expect(await skips("day = '2021-09-08 10:00'", {})).toBe(false); // DuckDB casts the string to DATE
    expect(await skips("happened = TIMESTAMPTZ '2021-09-08 13:11:11+02'", {})).toBe(false);
    expect(await skips("happened > '2021-09-08 11:11:11'", {})).toBe(true);
    expect(await skips("happened = '2021-09-08 11:11:11'", { partitionValues: { happened: '2021-09-08 11:11:11' } })).toBe(false);
    expect(await skips("happened = '2021-09-08 11:11:11.000001'", { partitionValues: { happened: '2021-09-08 11:11:11' } })).toBe(true);
    expect(await skips('active', {})).toBe(false);
    expect(await skips('NOT active', {})).toBe(true);
    expect(await skips('active = false', { partitionValues: { active: 'false' } })).toBe(false);
    expect(await skips("region IN ('us', 'eu')", {})).toBe(false);
    expect(await skips("region NOT IN ('us', 'eu')", {})).toBe(true);
    expect(await skips("region NOT IN ('us', NULL)", {})).toBe(true); // never TRUE with a NULL in the list
    expect(await skips("Region = 'eu' AND PART = 1", {})).toBe(false); // case-insensitive names
  });

  it('treats null (and "") partition values with SQL null semantics', async () => {
    for (const nullish of [null, '']) {
      const file = { partitionValues: { region: nullish } };
      expect(await skips('region IS NULL', file)).toBe(false);
      expect(await skips('region IS NOT NULL', file)).toBe(true);
      expect(await skips("region = 'eu'", file)).toBe(true);
      expect(await skips("region <> 'eu'", file)).toBe(true);
      expect(await skips("NOT (region = 'eu')", file)).toBe(true);
      expect(await skips("region = 'eu' OR region IS NULL", file)).toBe(false);
    }
    expect(await skips('region IS NULL', {})).toBe(true);
    expect(await skips('region = NULL', {})).toBe(true);
  });
});

describe('canSkipFile: data columns', () => {
  const stats: FileStats = {
    numRecords: 10,
    minValues: {
      id: 100, Name: 'apple', price: 1.5, f: 0.1, d: -2.5, dt: '2021-01-01', ts: '2021-01-01T00:00:00.000Z',
      ntz: '2021-01-01T00:00:00.123', s: { x: 5, y: { z: 'k' } },
    },
    maxValues: {
      id: 200, Name: 'melon', price: 9.99, f: 0.1, d: 2.5, dt: '2021-01-31', ts: '2021-01-02T00:00:00.000Z',
      ntz: '2021-01-01T00:00:00.123', s: { x: 9, y: { z: 'q' } },
    },
    nullCount: { id: 0, Name: 2, price: 0, f: 0, d: 0, dt: 0, ts: 0, ntz: 0, flag: 10, s: { x: 0, y: { z: 10 } } },
  };

  it('uses min/max', async () => {
    expect(await skips('id > 200', { stats })).toBe(true);
    expect(await skips('id >= 200', { stats })).toBe(false);
    expect(await skips('id < 100 OR id > 200', { stats })).toBe(true);
    expect(await skips('id BETWEEN 201 AND 300', { stats })).toBe(true);
    expect(await skips('id IN (1, 2, 300)', { stats })).toBe(true);
    expect(await skips('id IN (1, 150)', { stats })).toBe(false);
    expect(await skips("name < 'apple'", { stats })).toBe(true);
    expect(await skips("NAME = 'banana'", { stats })).toBe(false);
    expect(await skips('price = 10', { stats })).toBe(true);
    expect(await skips('price > 9.98', { stats })).toBe(false);
    expect(await skips("dt > '2021-01-31'", { stats })).toBe(true);
    // DuckDB compares a DATE with a TIMESTAMP at midnight of that date.
    expect(await skips("dt >= TIMESTAMP '2021-01-31 23:00:00'", { stats })).toBe(true);
    expect(await skips("dt >= TIMESTAMP '2021-01-30 23:00:00'", { stats })).toBe(false);
    expect(await skips('s.x > 9', { stats })).toBe(true);
    expect(await skips('S.X < 6', { stats })).toBe(false);
    expect(await skips('d > 2.5', { stats })).toBe(true);
    expect(await skips('d > 2.4999', { stats })).toBe(false);
  });

  it('uses nullCount and numRecords', async () => {
    expect(await skips('flag IS NULL', { stats })).toBe(false);
    expect(await skips('flag IS NOT NULL', { stats })).toBe(true);
    expect(await skips('flag = true OR flag = false', { stats })).toBe(true);
    expect(await skips('s.y.z IS NOT NULL', { stats })).toBe(true);
    expect(await skips("s.y.z = 'k'", { stats })).toBe(true);
    expect(await skips('id IS NULL', { stats })).toBe(true);
    expect(await skips('name IS NULL', { stats })).toBe(false);
    expect(await skips('id IS NOT NULL', { stats: { ...stats, numRecords: 0 } })).toBe(true);
  });

  it('never skips on missing stats or unknown constructs', async () => {
    expect(await skips('id > 1000', {})).toBe(false);
    expect(await skips('id > 1000', { stats: '{not json' })).toBe(false);
    expect(await skips('id > 1000', { stats: { numRecords: 10 } })).toBe(false);
    expect(await skips('abs(id) > 1000', { stats })).toBe(false);
    expect(await skips("name LIKE 'zz%'", { stats })).toBe(false);
    expect(await skips('NOT (abs(id) > 1000)', { stats })).toBe(false);
    expect(await skips('nosuchcolumn > 1', { stats })).toBe(false);
    expect(await skips("flag = 'yes'::BOOLEAN", { stats: { ...stats, nullCount: {} } })).toBe(false);
    // …but a conjunction with something decidable still skips.
    expect(await skips('abs(id) > 1000 AND id > 500', { stats })).toBe(true);
    expect(await skips('1 = 0', {})).toBe(true);
    expect(await skips('1 = 1', { stats })).toBe(false);
  });

  it('widens truncated timestamp maxima by a millisecond (stats are truncated, PROTOCOL.md)', async () => {
    // maxValues.ts = …00.000Z: the true max may be anything up to …00.000999.
    expect(await skips("ts > TIMESTAMPTZ '2021-01-02 00:00:00.000998+00'", { stats })).toBe(false);
    expect(await skips("ts = TIMESTAMPTZ '2021-01-02 00:00:00.000999+00'", { stats })).toBe(false);
    expect(await skips("ts > TIMESTAMPTZ '2021-01-02 00:00:00.000999+00'", { stats })).toBe(true);
    expect(await skips("ts > TIMESTAMPTZ '2021-01-02 00:00:00.001+00'", { stats })).toBe(true);
    expect(await skips("ntz = TIMESTAMP '2021-01-01 00:00:00.123456'", { stats })).toBe(false);
    expect(await skips("ntz = TIMESTAMP '2021-01-01 00:00:00.124'", { stats })).toBe(true);
    expect(await skips("ntz < TIMESTAMP '2021-01-01 00:00:00.123'", { stats })).toBe(true);
  });

  it('keeps FLOAT columns compared with decimal literals (DuckDB compares them in single precision)', async () => {
    expect(await skips('f = 0.1', { stats })).toBe(false);
    expect(await skips('f > 0.1', { stats })).toBe(false);
    expect(await skips('f > 0.2', { stats })).toBe(true);
  });

  it('does not trust JSON numbers beyond 2^53', async () => {
    const big = parseStats('{"numRecords":1,"minValues":{"id":9007199254740993},"maxValues":{"id":9007199254740993},"nullCount":{"id":0}}');
    expect(await skips('id = 9007199254740993', { stats: big })).toBe(false);
    expect(await skips('id = 9007199254740992', { stats: big })).toBe(false); // cannot tell apart after JSON.parse
    expect(await skips('id = 9007199254740000', { stats: big })).toBe(true);
  });

  it('reads stats and partition values by physical name (column mapping)', async () => {
    const phys = (n: string) => `col-${n.toLowerCase()}`;
    const mapped: FileStats = { numRecords: 1, minValues: { 'col-id': 5, 'col-s': { 'col-x': 1 } }, maxValues: { 'col-id': 5, 'col-s': { 'col-x': 1 } }, nullCount: {} };
    const pv = { 'col-part': '7', 'col-region': 'eu' };
    const pred = await compilePredicate(compute, 'id = 6 OR part = 8 OR s.x = 2');
    expect(canSkipFile(pred, { partitionValues: pv, stats: mapped }, schema, partitionColumns, phys)).toBe(true);
    const pred2 = await compilePredicate(compute, 'id = 5 AND part = 7');
    expect(canSkipFile(pred2, { partitionValues: pv, stats: mapped }, schema, partitionColumns, phys)).toBe(false);
  });

  it('orders strings like DuckDB (UTF-8 bytes, not UTF-16)', async () => {
    expect(compareUtf8('\uFFFF', '😀')).toBeLessThan(0);
    expect(compareUtf8('z', 'é')).toBeLessThan(0);
    expect(compareUtf8('B', 'a')).toBeLessThan(0);
    const s: FileStats = { numRecords: 1, minValues: { Name: '\uFFFF' }, maxValues: { Name: '\uFFFF' }, nullCount: { Name: 0 } };
    expect(await skips("name > '😀'", { stats: s })).toBe(true);
    expect(await skips("name < '😀'", { stats: s })).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Property test: skipping never drops a matching row, and does skip
// ---------------------------------------------------------------------------------------------


describe('canSkipFile: property test against DuckDB', () => {
  it('never skips a file with a matching row, and skips plenty of files without one', async () => {
    const rand = rng(20240611);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));

    // Value pools as SQL literals, sorted; a file samples a narrow window so that its ranges differ.
    const range = (n: number, f: (k: number) => string) => Array.from({ length: n }, (_, k) => f(k));
    const strings = [
      '', 'a', 'aa', 'ab', 'b', 'ba', 'z', '~', 'é', 'éa', '日本', '\uFFFF', '😀', '😀a', '\u{10FFFF}x',
      'p'.repeat(31), 'p'.repeat(32), `${'p'.repeat(32)}a`, `${'p'.repeat(40)}a`, `${'p'.repeat(40)}b`, `${'p'.repeat(31)}é`,
    ].sort(compareUtf8);
    const dayLit = (k: number) => {
      const d = new Date(Date.UTC(2020, 0, 1 + k));
      return d.toISOString().slice(0, 10);
    };
    const tsLit = (base: string, k: number) => {
      const micros = k * 397; // several values per millisecond
      return `${base}.${String(micros).padStart(6, '0')}`;
    };
    const pools: Record<string, string[]> = {
      i: range(60, (k) => String(k - 30)),
      l: range(40, (k) => String(9007199254740970n + BigInt(k))),
      d: range(40, (k) => `${(k - 20) * 0.25}::DOUBLE`),
      f: range(30, (k) => `${(k * 0.1).toFixed(1)}::FLOAT`),
      dec: range(40, (k) => `${(k * 0.05).toFixed(2)}::DECIMAL(10,2)`),
      s: strings.map((s) => sqlString(s)),
      dt: range(40, (k) => `DATE '${dayLit(k)}'`),
      ts: range(40, (k) => `TIMESTAMPTZ '${tsLit('2021-01-01 00:00:00', k)}+00'`),
      ntz: range(40, (k) => `TIMESTAMP '${tsLit('1969-12-31 23:59:59', k)}'`),
      b: ['false', 'true'],
      x: range(20, (k) => String(k)),
      y: strings.map((s) => sqlString(s)),
    };
    const partitionPools: Record<string, string[]> = {
      p: ["'a'", "'b'", "'c'", "'x y'", 'NULL'],
      pi: ['-5', '9', '10', '100', 'NULL'],
      pd: ["DATE '2020-01-01'", "DATE '2020-01-02'", "DATE '2021-06-30'", 'NULL'],
      pts: ["TIMESTAMPTZ '2021-01-01 00:00:00.000001+00'", "TIMESTAMPTZ '2021-01-01 00:00:00.000999+00'", "TIMESTAMPTZ '2021-01-01 00:00:01+00'", 'NULL'],
    };
    const dataSchema: StructType = struct([
      field('i', 'integer'),
      field('l', 'long'),
      field('d', 'double'),
      field('f', 'float'),
      field('dec', 'decimal(10,2)'),
      field('s', 'string'),
      field('dt', 'date'),
      field('ts', 'timestamp'),
      field('ntz', 'timestamp_ntz'),
      field('b', 'boolean'),
      field('st', struct([field('x', 'integer'), field('y', 'string')])),
    ]);
    const partitionFields: StructField[] = [field('p', 'string'), field('pi', 'integer'), field('pd', 'date'), field('pts', 'timestamp')];
    const tableSchema: StructType = struct([...dataSchema.fields, ...partitionFields]);
    // Column mapping: physical names differ from logical ones.
    const physicalNameOf = (name: string) => `phys_${name}`;

    // ---- files
    const NUM_FILES = 36;
    const files: { partitionValues: Record<string, string | null>; stats?: FileStats; path: string }[] = [];
    for (let fi = 0; fi < NUM_FILES; fi++) {
      const numRows = fi === 0 ? 0 : int(1, 12);
      const windows: Record<string, { lo: number; width: number; nullRate: number; nan: boolean }> = {};
      for (const [col, pool] of Object.entries(pools)) {
        const width = int(1, Math.max(1, Math.floor(pool.length / 3)));
        windows[col] = {
          lo: int(0, pool.length - width),
          width,
          nullRate: pick([0, 0, 0.3, 1]),
          nan: col === 'd' && rand() < 0.15,
        };
      }
      const value = (col: string) => {
        const w = windows[col]!;
        if (rand() < w.nullRate) return 'NULL';
        if (w.nan && rand() < 0.5) return "'NaN'::DOUBLE";
        return pools[col]![w.lo + int(0, w.width - 1)]!;
      };
      const rows: string[] = [];
      for (let r = 0; r < numRows; r++) {
        const st = rand() < 0.15 ? 'NULL' : `{'x': ${value('x')}::INTEGER, 'y': ${value('y')}::VARCHAR}`;
        rows.push(
          `SELECT ${value('i')}::INTEGER, ${value('l')}::BIGINT, ${value('d')}::DOUBLE, ${value('f')}::FLOAT, ` +
            `${value('dec')}::DECIMAL(10,2), ${value('s')}::VARCHAR, ${value('dt')}::DATE, ${value('ts')}::TIMESTAMPTZ, ` +
            `${value('ntz')}::TIMESTAMP, ${value('b')}::BOOLEAN, ${st}::STRUCT(x INTEGER, y VARCHAR)`,
        );
      }
      const cols = ['i', 'l', 'd', 'f', 'dec', 's', 'dt', 'ts', 'ntz', 'b', 'st'];
      const physCols = cols.map((c) => sqlIdent(physicalNameOf(c)));
      const body = rows.length
        ? rows.join(' UNION ALL ')
        : `SELECT ${dataSchema.fields.map((f) => `NULL::${deltaTypeToDuckDb(f.type)}`).join(', ')} WHERE false`;
      const path = join(dir, `file-${fi}.parquet`);
      // Physical names in the file, nested ones too.
      const select = cols
        .map((c, k) => (c === 'st' ? `CASE WHEN c${k} IS NULL THEN NULL ELSE {'phys_x': c${k}.x, 'phys_y': c${k}.y} END AS ${physCols[k]}` : `c${k} AS ${physCols[k]}`))
        .join(', ');
      const [row] = await compute.query<ReturnStatsRow>(
        `COPY (SELECT ${select} FROM (${body}) AS v(${cols.map((_, k) => `c${k}`).join(', ')})) TO ${sqlString(path)} (FORMAT parquet, RETURN_STATS)`,
      );
      const prefix = pick([32, 32, 3]);
      const statsJson = statsFromReturnStats(row!, dataSchema, physicalNameOf, { stringPrefixLength: prefix });
      // Partition values through the writer path: DuckDB value → string.
      const partitionValues: Record<string, string | null> = {};
      for (const pf of partitionFields) {
        const [{ v }] = await compute.query<{ v: unknown }>(`SELECT CAST(${pick(partitionPools[pf.name]!)} AS ${deltaTypeToDuckDb(pf.type)}) AS v`);
        partitionValues[physicalNameOf(pf.name)] = valueToPartitionString(v, pf.type);
      }
      files.push({ partitionValues, stats: rand() < 0.05 ? undefined : parseStats(statsJson), path });
    }

    // ---- the truth: every file's rows, partition columns injected from the partition values
    await compute.run('DROP TABLE IF EXISTS truth');
    const unions = files.map((f, k) => {
      const dataCols = dataSchema.fields
        .map((df) =>
          df.name === 'st'
            ? `CASE WHEN phys_st IS NULL THEN NULL ELSE {'x': phys_st.phys_x, 'y': phys_st.phys_y} END AS st`
            : `${sqlIdent(physicalNameOf(df.name))} AS ${sqlIdent(df.name)}`,
        )
        .join(', ');
      const partCols = partitionFields
        .map((pf) => `${partitionValueToSql(f.partitionValues[physicalNameOf(pf.name)] ?? null, pf.type)} AS ${sqlIdent(pf.name)}`)
        .join(', ');
      return `SELECT ${k} AS file_id, ${dataCols}, ${partCols} FROM read_parquet(${sqlString(f.path)})`;
    });
    await compute.run(`CREATE TABLE truth AS ${unions.join(' UNION ALL ')}`);

    // ---- random predicates
    const crossTyped: Record<string, (lit: string) => string[]> = {
      i: (l) => [l, `${l}.5`, `'${l}'`, `${l}::DOUBLE`, `'${l}.4'`, `'${l}.5'`, `'${l}.6'`],
      l: (l) => [l, `${l}::DOUBLE`, `${l}.0`],
      d: (l) => [l, l.replace('::DOUBLE', ''), "'NaN'::DOUBLE"],
      f: (l) => [l, l.replace('::FLOAT', ''), `${l.replace('::FLOAT', '')}::DOUBLE`, `'${l.replace('::FLOAT', '')}'`],
      dec: (l) => [l, l.replace('::DECIMAL(10,2)', ''), `${l.replace('::DECIMAL(10,2)', '')}::DOUBLE`, `'${l.replace('::DECIMAL(10,2)', '')}'`],
      s: (l) => [l],
      y: (l) => [l],
      dt: (l) => [l, l.replace('DATE ', ''), `${l.replace('DATE', 'TIMESTAMP').replace(/'$/, " 12:00:00'")}`, l.replace('DATE', 'TIMESTAMPTZ')],
      ts: (l) => [l, l.replace('TIMESTAMPTZ', 'TIMESTAMP').replace('+00', ''), l.replace('TIMESTAMPTZ ', ''), "DATE '2021-01-01'", `${l}::TIMESTAMP_MS`],
      ntz: (l) => [l, l.replace('TIMESTAMP ', ''), "DATE '1970-01-01'", `${l}::TIMESTAMPTZ`],
      b: (l) => [l],
      x: (l) => [l, `${l}.5`],
    };
    const columnRef: Record<string, string[]> = {
      i: ['i', 'I'], l: ['l'], d: ['d'], f: ['f'], dec: ['dec', 'DEC'], s: ['s', 'S'], dt: ['dt'], ts: ['ts', 'Ts'],
      ntz: ['ntz'], b: ['b'], x: ['st.x', 'ST.X'], y: ['st.y'], p: ['p', 'P'], pi: ['pi'], pd: ['pd'], pts: ['pts'],
    };
    const partitionConst: Record<string, (lit: string) => string[]> = {
      p: (l) => [l, "'zzz'"],
      pi: (l) => [l, `'${l}'`, `${l}.5`, `${l}::DOUBLE`],
      pd: (l) => [l, l.replace('DATE ', ''), l.replace('DATE', 'TIMESTAMP')],
      pts: (l) => [l, l.replace('TIMESTAMPTZ ', ''), l.replace('TIMESTAMPTZ', 'TIMESTAMP').replace('+00', '')],
    };
    const constant = (col: string): string => {
      if (rand() < 0.04) return 'NULL';
      if (partitionPools[col]) {
        const lit = pick(partitionPools[col]!.filter((x) => x !== 'NULL'));
        return pick(partitionConst[col]!(lit));
      }
      const pool = pools[col]!;
      const base = pool[Math.min(pool.length - 1, Math.max(0, int(-2, pool.length + 1)))]!;
      return pick(crossTyped[col]!(base));
    };
    const allCols = Object.keys(columnRef);
    const ops = ['=', '<>', '<', '<=', '>', '>='];
    const atom = (): string => {
      const col = pick(allCols);
      const ref = pick(columnRef[col]!);
      const kind = rand();
      if (col === 'b' && kind < 0.3) return pick(['b', 'NOT b']);
      if (kind < 0.45) return `${ref} ${pick(ops)} ${constant(col)}`;
      if (kind < 0.55) return `${constant(col)} ${pick(ops)} ${ref}`;
      if (kind < 0.68) return `${ref} ${pick(['IN', 'NOT IN'])} (${Array.from({ length: int(1, 3) }, () => constant(col)).join(', ')})`;
      if (kind < 0.78) return `${ref} ${pick(['BETWEEN', 'NOT BETWEEN'])} ${constant(col)} AND ${constant(col)}`;
      if (kind < 0.92) return `${ref} ${pick(['IS NULL', 'IS NOT NULL'])}`;
      return pick([`abs(i) > ${int(0, 30)}`, "s LIKE 'p%'", `hash(${ref}) % 2 = 0`, `${ref} IS DISTINCT FROM ${constant(col)}`]);
    };
    const predicate = (depth: number): string => {
      if (depth === 0 || rand() < 0.4) return atom();
      const r = rand();
      if (r < 0.4) return `(${predicate(depth - 1)}) AND (${predicate(depth - 1)})`;
      if (r < 0.75) return `(${predicate(depth - 1)}) OR (${predicate(depth - 1)})`;
      return `NOT (${predicate(depth - 1)})`;
    };

    let checks = 0;
    let skipped = 0;
    let emptyFiles = 0;
    const NUM_PREDICATES = 800;
    for (let q = 0; q < NUM_PREDICATES; q++) {
      const sql = predicate(3);
      let pred: Predicate;
      try {
        pred = await compilePredicate(compute, sql);
      } catch (e) {
        throw new Error(`compilePredicate failed for ${sql}: ${(e as Error).message}`);
      }
      let counts: Map<number, number>;
      try {
        const rows = await compute.query<{ file_id: number; n: string }>(
          `SELECT file_id, count(*) AS n FROM truth WHERE ${sql} GROUP BY file_id`,
        );
        counts = new Map(rows.map((r) => [Number(r.file_id), Number(r.n)]));
      } catch {
        continue; // DuckDB rejects this combination (e.g. an uncastable literal): nothing to compare
      }
      files.forEach((f, k) => {
        const skip = canSkipFile(pred, f, tableSchema, ['P', 'pi', 'pd', 'pts'], physicalNameOf);
        const matching = counts.get(k) ?? 0;
        checks++;
        if (matching === 0) emptyFiles++;
        if (skip) {
          skipped++;
          expect(matching, `file ${k} was skipped for ${sql} but has ${matching} matching rows\n` +
            `partitionValues=${JSON.stringify(f.partitionValues)}\nstats=${JSON.stringify(f.stats)}`).toBe(0);
        }
      });
    }
    expect(checks).toBeGreaterThan(NUM_PREDICATES * NUM_FILES * 0.8);
    // Skipping must actually work: a good share of files without matches are skipped.
    expect(skipped / emptyFiles).toBeGreaterThan(0.4);

    // Obvious cases over the same files.
    const obvious: [string, (f: (typeof files)[number], k: number) => boolean][] = [
      ['i > 1000', (f) => f.stats !== undefined],
      ["p = 'zzz'", () => true],
      ['pi IS NULL AND pi IS NOT NULL', () => true],
      ['1 = 0', () => true],
    ];
    for (const [sql, expected] of obvious) {
      const pred = await compilePredicate(compute, sql);
      files.forEach((f, k) => {
        expect(canSkipFile(pred, f, tableSchema, ['p', 'pi', 'pd', 'pts'], physicalNameOf), `${sql} on file ${k}`).toBe(expected(f, k));
      });
    }
    const none = await compilePredicate(compute, 'i IS NULL OR i IS NOT NULL');
    const keptAll = files.filter((f) => !canSkipFile(none, f, tableSchema, ['p', 'pi', 'pd', 'pts'], physicalNameOf));
    expect(keptAll.length).toBe(files.filter((f) => f.stats?.numRecords !== 0).length);
  });
});

describe('skipping with the typed literal of every partition type', () => {
  it('agrees with DuckDB evaluating partitionValueToSql', async () => {
    const cases: [DataType, string, string[]][] = [
      ['long', '10', ['x > 9', 'x < 9', "x = '10'", 'x = 10.0', 'x IN (9, 11)']],
      ['double', '0.1', ['x = 0.1', 'x > 0.1', 'x < 0.1::FLOAT', "x = 'NaN'::DOUBLE"]],
      ['float', '0.1', ['x = 0.1', 'x > 0.1', 'x < 0.1', 'x = 0.1::DOUBLE']],
      ['decimal(5,2)', '1.50', ['x = 1.5', 'x > 1.499', "x = '1.5'", 'x < 1.5::DOUBLE']],
      ['timestamp', '2021-09-08T11:11:11.000000Z', ["x = TIMESTAMP '2021-09-08 11:11:11'", "x > '2021-09-08 11:11:10.999999'", "x < DATE '2021-09-09'"]],
      ['timestamp_ntz', '2013-07-05 17:01:00.123456', ["x = TIMESTAMP '2013-07-05 17:01:00.123456'", "x > TIMESTAMP_MS '2013-07-05 17:01:00.123'"]],
      ['date', '2021-09-08', ["x = '2021-09-08'", "x < TIMESTAMP '2021-09-08 00:00:01'", "x > TIMESTAMPTZ '2021-09-07 23:59:59+00'"]],
      ['boolean', 'false', ['x', 'NOT x', "x = 'false'", 'x IS NULL']],
      ['string', 'é', ["x > 'z'", "x < 'z'", "x = 'é'", "x >= '😀'"]],
    ];
    for (const [type, value, preds] of cases) {
      const s = struct([field('x', type)]);
      for (const sql of preds) {
        const pred = await compilePredicate(compute, sql);
        const skip = canSkipFile(pred, { partitionValues: { x: value } }, s, ['x']);
        const [{ n }] = await compute.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT ${partitionValueToSql(value, type)} AS x) WHERE ${sql}`);
        const matches = Number(n) > 0;
        // Exact partition values: skipping is decided exactly (skip ⇔ no match), except where DuckDB
        // compares in single precision, in which case lakelet may keep a file (never the reverse).
        if (skip) expect(matches, `${type} ${value}: ${sql}`).toBe(false);
        if (type !== 'float' && type !== 'double') expect(skip, `${type} ${value}: ${sql}`).toBe(!matches);
      }
    }
  });
});

describe('skipping over the Spark-written golden tables', () => {
  const GOLDEN = resolve(process.cwd(), '../shared/conformance/golden');
  const tables = [
    'data-skipping-basic-stats-all-types',
    'data-skipping-basic-stats-all-types-columnmapping-name',
    'data-skipping-partition-and-data-column',
    'data-skipping-change-stats-collected-across-versions',
    'data-reader-partition-values',
    'data-reader-timestamp_ntz',
    'basic-decimal-table',
  ];
  for (const table of tables) {
    it(`never skips a matching file of ${table}, and skips some`, async () => {
      const root = join(GOLDEN, table, 'delta');
      const actions = readdirSync(join(root, '_delta_log'))
        .filter((f) => f.endsWith('.json'))
        .sort()
        .flatMap((f) => readFileSync(join(root, '_delta_log', f), 'utf8').trim().split('\n'))
        .map((l) => JSON.parse(l) as Record<string, any>);
      const meta = actions.filter((a) => a.metaData).at(-1)!.metaData;
      const tableSchema: StructType = parseSchemaString(meta.schemaString);
      const partitions: string[] = meta.partitionColumns;
      const mapped = ['name', 'id'].includes(meta.configuration?.['delta.columnMapping.mode']);
      const physical = (f: StructField) => (mapped ? String(f.metadata['delta.columnMapping.physicalName']) : f.name);
      const physicalNameOf = (name: string) => physical(tableSchema.fields.find((f) => f.name === name) ?? field(name, 'string'));
      const isPartition = (f: StructField) => partitions.includes(f.name);
      const adds = actions.filter((a) => a.add).map((a) => a.add);
      const selects = adds.map((add, k) => {
        const cols = tableSchema.fields.map((f) =>
          isPartition(f)
            ? `${partitionValueToSql(add.partitionValues[physical(f)] ?? null, f.type)} AS ${sqlIdent(f.name)}`
            : `CAST(${sqlIdent(physical(f))} AS ${deltaTypeToDuckDb(f.type)}) AS ${sqlIdent(f.name)}`,
        );
        return `SELECT ${k} AS file_id, ${cols.join(', ')} FROM read_parquet(${sqlString(join(root, decodeURIComponent(add.path)))})`;
      });
      await compute.run(`CREATE OR REPLACE TABLE golden AS ${selects.join(' UNION ALL ')}`);
      // Predicates around every value present, per primitive top-level column.
      const predicates: string[] = [];
      for (const f of tableSchema.fields) {
        if (typeof f.type !== 'string' || f.type === 'binary') continue;
        const col = sqlIdent(f.name);
        const duck = deltaTypeToDuckDb(f.type);
        const values = await compute.query<{ v: string }>(`SELECT DISTINCT CAST(${col} AS VARCHAR) AS v FROM golden WHERE ${col} IS NOT NULL`);
        predicates.push(`${col} IS NULL`, `${col} IS NOT NULL`);
        for (const { v } of values) {
          const lit = `CAST(${sqlString(v)} AS ${duck})`;
          for (const op of ['=', '<>', '<', '<=', '>', '>=']) predicates.push(`${col} ${op} ${lit}`);
        }
      }
      let skipped = 0;
      for (const sql of predicates) {
        const pred = await compilePredicate(compute, sql);
        const rows = await compute.query<{ file_id: number; n: string }>(`SELECT file_id, count(*) AS n FROM golden WHERE ${sql} GROUP BY file_id`);
        const counts = new Map(rows.map((r) => [Number(r.file_id), Number(r.n)]));
        adds.forEach((add, k) => {
          const skip = canSkipFile(pred, { partitionValues: add.partitionValues, stats: parseStats(add.stats) }, tableSchema, partitions, physicalNameOf);
          if (skip) {
            skipped++;
            expect(counts.get(k) ?? 0, `${table}: ${add.path} skipped for ${sql}`).toBe(0);
          }
        });
      }
      expect(skipped).toBeGreaterThan(0);
    });
  }
});
