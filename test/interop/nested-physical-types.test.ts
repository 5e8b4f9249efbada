// Nested values read with their Delta types. Other engines store Delta types with older or
// narrower Parquet types: Spark's INT96 timestamps, millisecond timestamps, and, after type
// widening, the narrow type a file was written with (int for a column now `long`). lakelet casts
// top-level columns to their Delta types; these tests check that a field inside a struct, an array
// element and a map key or value read exactly as the same value does at top level.
//
// The Parquet files are written by pyarrow (the delta-rs peer's venv), so they really carry those
// physical types (each test checks the file's leaf columns first); the Delta log around them is
// written here, saying what the Delta types are. Values are compared through the real CLI
// (`lakelet read --format ndjson`), and the scan's column types against the Delta schema.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeltaTable } from '../../src/engine/table.ts';
import { deltaTypeToDuckDb } from '../../src/engine/delta/duckdb-types.ts';
import type { StructField } from '../../src/engine/delta/schema.ts';
import { sqlIdent } from '../../src/adapters/compute/sql.ts';
import { useEngine } from '../support/engine-fixture.ts';
import { commitFile, writePeerData, type PeerData } from '../support/interop.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../support/peers.ts';
import { lakeletOk } from '../support/cli.ts';

const noPeer = requirePeer('delta-rs', deltaRsAvailable) === 'skip';
const fx = useEngine('lakelet-nested-types-');

let seq = 0;

interface LeafColumn {
  path: string;
  physicalType: string;
  logicalType: string;
}

/** pyarrow writes `data` as `<tableDir>/<name>` with the given timestamp encoding. */
async function foreignParquet(tableDir: string, name: string, data: PeerData, timestamps: 'us' | 'int96' | 'ms') {
  const dataFile = writePeerData(join(fx.dir, 'data'), `${++seq}-${name}`, data);
  const out = await runDeltaRs(['write-parquet', join(tableDir, name), '--data', dataFile, '--timestamps', timestamps]);
  return { path: name, size: out.size as number, leaves: out.columns as LeafColumn[] };
}

function physicalTypeOf(leaves: LeafColumn[]): Record<string, string> {
  return Object.fromEntries(leaves.map((l) => [l.path, l.physicalType + (l.logicalType === 'None' ? '' : ` ${l.logicalType}`)]));
}

function field(name: string, type: StructField['type'], metadata: Record<string, unknown> = {}): StructField {
  return { name, type, nullable: true, metadata };
}

const PLAIN_PROTOCOL = { minReaderVersion: 1, minWriterVersion: 2 };

/** Version `version` of a table: (protocol and metaData at 0) plus one add per file. */
function commit(
  tableDir: string,
  version: number,
  files: { path: string; size: number }[],
  table?: { schema: StructField[]; protocol?: Record<string, unknown>; configuration?: Record<string, string> },
): void {
  const actions: Record<string, unknown>[] = [];
  if (table) {
    actions.push({ protocol: table.protocol ?? PLAIN_PROTOCOL });
    actions.push({
      metaData: {
        id: `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`,
        format: { provider: 'parquet', options: {} },
        schemaString: JSON.stringify({ type: 'struct', fields: table.schema }),
        partitionColumns: [],
        configuration: table.configuration ?? {},
        createdTime: 1714557600000,
      },
    });
  }
  for (const f of files) {
    actions.push({ add: { path: f.path, partitionValues: {}, size: f.size, modificationTime: 1714557600000, dataChange: true } });
  }
  mkdirSync(join(tableDir, '_delta_log'), { recursive: true });
  writeFileSync(commitFile(tableDir, version), actions.map((a) => JSON.stringify(a)).join('\n') + '\n');
}

/** `lakelet read --format ndjson`, rows by id. */
async function cliRows(tableDir: string): Promise<Record<string, any>[]> {
  const run = await lakeletOk(['read', tableDir, '--format', 'ndjson']);
  const rows = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  return rows.sort((a, b) => Number(a.id) - Number(b.id));
}

/**
 * The scan's columns have exactly the Delta schema's types (as DuckDB spells them), nested ones
 * included. Returns the scan's SQL.
 */
async function expectScanTypesAreDeltaTypes(tableDir: string): Promise<string> {
  const table = await DeltaTable.forPath(tableDir, { compute: fx.compute });
  const scan = await table.scan();
  try {
    const got = await fx.compute.query<{ column_name: string; column_type: string }>(`DESCRIBE ${scan.sql}`);
    const fields = scan.snapshot.schema.fields;
    const want = await fx.compute.query<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT ${fields.map((f) => `NULL::${deltaTypeToDuckDb(f.type)} AS ${sqlIdent(f.name)}`).join(', ')}`,
    );
    expect(got.map((c) => [c.column_name, c.column_type])).toEqual(want.map((c) => [c.column_name, c.column_type]));
    return scan.sql;
  } finally {
    await scan.release();
  }
}

const T = '2024-05-01T10:00:00.000123Z';

describe.skipIf(noPeer)('nested fields read with their Delta types', () => {
  it('reads INT96 timestamps in structs, nested structs, arrays and map keys and values as instants, like a top-level one', async () => {
    const dir = join(fx.dir, 'int96');
    const ts = 'timestamp_us_utc';
    const file = await foreignParquet(
      dir,
      'part-00000-int96.parquet',
      {
        schema: [
          { name: 'id', type: 'int64' },
          { name: 'top', type: ts },
          { name: 's', type: `struct<ts:${ts},inner:struct<t:${ts}>>` },
          { name: 'arr', type: `list<${ts}>` },
          { name: 'structs', type: `list<struct<t:${ts}>>` },
          { name: 'm', type: `map<string,${ts}>` },
          { name: 'mk', type: `map<${ts},string>` },
        ],
        rows: [
          { id: 1, top: T, s: { ts: T, inner: { t: T } }, arr: [T, null], structs: [{ t: T }, null], m: [['a', T], ['b', null]], mk: [[T, 'x']] },
          { id: 2, top: null, s: { ts: null, inner: null }, arr: [], structs: [], m: [], mk: [] },
          { id: 3, top: null, s: null, arr: null, structs: null, m: null, mk: null },
        ],
      },
      'int96',
    );
    // The file really stores every timestamp as Spark's legacy INT96.
    const physical = physicalTypeOf(file.leaves);
    for (const leaf of ['top', 's.ts', 's.inner.t', 'arr.list.element', 'structs.list.element.t', 'm.key_value.value', 'mk.key_value.key']) {
      expect(physical[leaf]).toBe('INT96');
    }
    const timestamp = 'timestamp';
    commit(dir, 0, [file], {
      schema: [
        field('id', 'long'),
        field('top', timestamp),
        field('s', { type: 'struct', fields: [field('ts', timestamp), field('inner', { type: 'struct', fields: [field('t', timestamp)] })] }),
        field('arr', { type: 'array', elementType: timestamp, containsNull: true }),
        field('structs', { type: 'array', elementType: { type: 'struct', fields: [field('t', timestamp)] }, containsNull: true }),
        field('m', { type: 'map', keyType: 'string', valueType: timestamp, valueContainsNull: true }),
        field('mk', { type: 'map', keyType: timestamp, valueType: 'string', valueContainsNull: true }),
      ],
    });

    const rows = await cliRows(dir);
    expect(rows).toEqual([
      {
        id: '1',
        top: T,
        s: { ts: T, inner: { t: T } },
        arr: [T, null],
        structs: [{ t: T }, null],
        m: { a: T, b: null },
        // Map keys print as DuckDB's text of the key: an instant carries its zone.
        mk: { '2024-05-01 10:00:00.000123+00': 'x' },
      },
      { id: '2', top: null, s: { ts: null, inner: null }, arr: [], structs: [], m: {}, mk: {} },
      { id: '3', top: null, s: null, arr: null, structs: null, m: null, mk: null },
    ]);
    // Nested exactly as at top level.
    expect(rows[0].s.ts).toBe(rows[0].top);
    await expectScanTypesAreDeltaTypes(dir);
  });

  it('reads zone-less millisecond timestamps of a `timestamp` field as instants in UTC, nested as at top level', async () => {
    const dir = join(fx.dir, 'millis');
    const local = '2024-05-01T10:00:00.123';
    const utc = '2024-05-01T10:00:00.456Z';
    const file = await foreignParquet(
      dir,
      'part-00000-millis.parquet',
      {
        schema: [
          { name: 'id', type: 'int64' },
          { name: 'top', type: 'timestamp_ntz' },
          { name: 's', type: 'struct<ts:timestamp_ntz,utc:timestamp_us_utc,ntz:timestamp_ntz>' },
          { name: 'arr', type: 'list<timestamp_ntz>' },
          { name: 'm', type: 'map<string,struct<ts:timestamp_ntz>>' },
        ],
        rows: [{ id: 1, top: local, s: { ts: local, utc, ntz: local }, arr: [local], m: [['k', { ts: local }]] }],
      },
      'ms',
    );
    const physical = physicalTypeOf(file.leaves);
    expect(physical['s.ts']).toBe('INT64 Timestamp(isAdjustedToUTC=false, timeUnit=milliseconds, is_from_converted_type=false, force_set_converted_type=false)');
    expect(physical['s.utc']).toMatch(/^INT64 Timestamp\(isAdjustedToUTC=true, timeUnit=milliseconds/);
    expect(physical['arr.list.element']).toBe(physical['s.ts']);
    expect(physical['m.key_value.value.ts']).toBe(physical['s.ts']);
    commit(dir, 0, [file], {
      // timestamp_ntz needs its table feature.
      protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['timestampNtz'], writerFeatures: ['timestampNtz'] },
      schema: [
        field('id', 'long'),
        field('top', 'timestamp'),
        field('s', { type: 'struct', fields: [field('ts', 'timestamp'), field('utc', 'timestamp'), field('ntz', 'timestamp_ntz')] }),
        field('arr', { type: 'array', elementType: 'timestamp', containsNull: true }),
        field('m', { type: 'map', keyType: 'string', valueType: { type: 'struct', fields: [field('ts', 'timestamp')] }, valueContainsNull: true }),
      ],
    });

    const rows = await cliRows(dir);
    const instant = '2024-05-01T10:00:00.123000Z';
    expect(rows).toEqual([
      {
        id: '1',
        top: instant,
        s: { ts: instant, utc: '2024-05-01T10:00:00.456000Z', ntz: '2024-05-01T10:00:00.123000' },
        arr: [instant],
        m: { k: { ts: instant } },
      },
    ]);
    expect(rows[0].s.ts).toBe(rows[0].top);
    await expectScanTypesAreDeltaTypes(dir);
  });

  it('reads nested fields widened after the file was written (int to long, float to double, decimal precision) with the wider type, and a field added later as null', async () => {
    const dir = join(fx.dir, 'widened');
    const file = await foreignParquet(
      dir,
      'part-00000-narrow.parquet',
      {
        schema: [
          { name: 'id', type: 'int64' },
          { name: 'n', type: 'int32' },
          { name: 's', type: 'struct<n:int32,b:int8,f:float32,d:decimal(5,2)>' },
          { name: 'arr', type: 'list<int32>' },
          { name: 'm', type: 'map<string,float32>' },
          { name: 'deep', type: 'list<struct<n:int16>>' },
        ],
        rows: [
          { id: 1, n: 5, s: { n: 5, b: -3, f: 1.5, d: '123.45' }, arr: [1, null, 2147483647], m: [['k', 0.25]], deep: [{ n: 7 }] },
          { id: 2, n: null, s: null, arr: null, m: null, deep: null },
        ],
      },
      'us',
    );
    const physical = physicalTypeOf(file.leaves);
    expect(physical['s.n']).toBe('INT32');
    expect(physical['s.f']).toBe('FLOAT');
    expect(physical['arr.list.element']).toBe('INT32');
    expect(physical['m.key_value.value']).toBe('FLOAT');
    const widened = (fromType: string, toType: string, fieldPath?: string) => ({
      'delta.typeChanges': [{ fromType, toType, ...(fieldPath ? { fieldPath } : {}) }],
    });
    commit(dir, 0, [file], {
      protocol: { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['typeWidening'], writerFeatures: ['typeWidening'] },
      configuration: { 'delta.enableTypeWidening': 'true' },
      schema: [
        field('id', 'long'),
        field('n', 'long', widened('integer', 'long')),
        field('s', {
          type: 'struct',
          fields: [
            field('n', 'long', widened('integer', 'long')),
            field('b', 'long', widened('byte', 'long')),
            field('f', 'double', widened('float', 'double')),
            field('d', 'decimal(10,2)', widened('decimal(5,2)', 'decimal(10,2)')),
            // Added to the struct by schema evolution after this file was written.
            field('added', 'string'),
          ],
        }),
        field('arr', { type: 'array', elementType: 'long', containsNull: true }, widened('integer', 'long', 'element')),
        field('m', { type: 'map', keyType: 'string', valueType: 'double', valueContainsNull: true }, widened('float', 'double', 'value')),
        field('deep', { type: 'array', elementType: { type: 'struct', fields: [field('n', 'long', widened('short', 'long'))] }, containsNull: true }),
      ],
    });

    const rows = await cliRows(dir);
    // 64-bit integers and decimals print as strings, as a top-level long does.
    expect(rows).toEqual([
      {
        id: '1',
        n: '5',
        s: { n: '5', b: '-3', f: 1.5, d: '123.45', added: null },
        arr: ['1', null, '2147483647'],
        m: { k: 0.25 },
        deep: [{ n: '7' }],
      },
      { id: '2', n: null, s: null, arr: null, m: null, deep: null },
    ]);
    expect(rows[0].s.n).toBe(rows[0].n);
    await expectScanTypesAreDeltaTypes(dir);
  });

  it('under column mapping, reads an INT96 array element under its physical name as an instant', async () => {
    const dir = join(fx.dir, 'mapped');
    const file = await foreignParquet(
      dir,
      'part-00000-mapped.parquet',
      {
        schema: [
          { name: 'col-1', type: 'int64' },
          { name: 'col-2', type: 'list<timestamp_us_utc>' },
          { name: 'col-3', type: 'struct<col-4:timestamp_us_utc>' },
        ],
        rows: [{ 'col-1': 1, 'col-2': [T], 'col-3': { 'col-4': T } }],
      },
      'int96',
    );
    expect(physicalTypeOf(file.leaves)['col-2.list.element']).toBe('INT96');
    const mapped = (id: number) => ({ 'delta.columnMapping.id': id, 'delta.columnMapping.physicalName': `col-${id}` });
    commit(dir, 0, [file], {
      protocol: { minReaderVersion: 2, minWriterVersion: 5 },
      configuration: { 'delta.columnMapping.mode': 'name', 'delta.columnMapping.maxColumnId': '4' },
      schema: [
        field('id', 'long', mapped(1)),
        field('times', { type: 'array', elementType: 'timestamp', containsNull: true }, mapped(2)),
        field('s', { type: 'struct', fields: [field('ts', 'timestamp', mapped(4))] }, mapped(3)),
      ],
    });

    expect(await cliRows(dir)).toEqual([{ id: '1', times: [T], s: { ts: T } }]);
    await expectScanTypesAreDeltaTypes(dir);
  });

  it('passes nested columns that already read with their Delta types straight through, also next to a file that needs casts', async () => {
    const dir = join(fx.dir, 'plain');
    const table = await DeltaTable.forPath(dir, { compute: fx.compute });
    await table
      .write({
        sql: `SELECT 1::BIGINT AS id, {'ts': TIMESTAMPTZ '${T}', 'n': 5::BIGINT} AS s, [TIMESTAMPTZ '${T}'] AS arr, MAP {'k': 2::BIGINT} AS m`,
      })
      .execute();
    // lakelet's own files: nothing to rebuild, so the scan is the plain projection.
    const plainSql = await expectScanTypesAreDeltaTypes(dir);
    expect(plainSql).not.toMatch(/struct_pack|list_transform|map_from_entries/);
    expect(plainSql).toContain('d."s" AS "s"');
    const plain = { s: { ts: T, n: '5' }, arr: [T], m: { k: '2' } };
    expect(await cliRows(dir)).toEqual([{ id: '1', ...plain }]);

    // Spark appends a file with INT96 timestamps and narrow ints (before widening was recorded,
    // union of both files' types is already wide: DuckDB unifies them, and so must lakelet).
    const file = await foreignParquet(
      dir,
      'part-00001-spark.parquet',
      {
        schema: [
          { name: 'id', type: 'int64' },
          { name: 's', type: 'struct<ts:timestamp_us_utc,n:int32>' },
          { name: 'arr', type: 'list<timestamp_us_utc>' },
          { name: 'm', type: 'map<string,int32>' },
        ],
        rows: [{ id: 2, s: { ts: T, n: 6 }, arr: [T], m: [['k', 3]] }],
      },
      'int96',
    );
    commit(dir, 1, [file]);
    expect(await cliRows(dir)).toEqual([
      { id: '1', ...plain },
      { id: '2', s: { ts: T, n: '6' }, arr: [T], m: { k: '3' } },
    ]);
    await expectScanTypesAreDeltaTypes(dir);
  });
});
