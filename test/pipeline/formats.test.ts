import { afterEach, describe, expect, it } from 'vitest';
import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import { csv, Workspace } from '../support/workspace.ts';
import { DeltaTable } from '../../src/engine/table.ts';
import { pipelineYaml, type PipelineKeys } from '../support/pipeline-yaml.ts';

/** Ingestion of each format into stage and target, transforms, lineage, batching. */
let ws: Workspace | undefined;
afterEach(() => ws?.cleanup());

const pipeline = (format: string, keys: PipelineKeys = {}) => pipelineYaml({ pattern: `*.${format}`, format, orderBy: 'updated', ...keys });

describe('formats', () => {
  it('CSV with a dialect: stage with lineage, target upserted, files archived', async () => {
    ws = new Workspace(pipeline('csv', { csv: { delimiter: ';', nullString: 'NA' } }));
    ws.land('landing/a.csv', 'id;name;amount;updated\n1;ann;10.5;1\n2;bob;NA;1\n');
    ws.land('landing/b.csv', 'id;name;amount;updated\n2;bob;7;2\n3;cy;1;2\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ batches: 1, files: 2, staged: 2, rowsStaged: 4, rowsInserted: 3, quarantined: 0 });
    expect(await ws.rows('tables/target', 'id')).toEqual([
      { id: 1, name: 'ann', amount: 10.5, updated: 1 },
      { id: 2, name: 'bob', amount: 7, updated: 2 },
      { id: 3, name: 'cy', amount: 1, updated: 2 },
    ].map((r) => ({ ...r, id: String(r.id), updated: String(r.updated) })));
    const stage = await ws.rows('tables/stage', '_source_file, _row_number');
    expect(stage.map((r) => [r._source_file, r._row_number, r._batch])).toEqual([
      ['a.csv', '1', '1'],
      ['a.csv', '2', '1'],
      ['b.csv', '1', '1'],
      ['b.csv', '2', '1'],
    ]);
    expect(stage[0]._ingested_at).toBe('2024-05-17 08:30:00+00');
    expect(ws.files('landing')).toEqual([]);
    expect(ws.files('archive')).toHaveLength(2);
  });

  it('JSON (array of records), NDJSON and Parquet', async () => {
    ws = new Workspace(pipeline('json'));
    ws.land('landing/a.json', JSON.stringify([{ id: 1, updated: 1, tags: ['x'], nested: { a: 1 } }, { id: 2, updated: 1, tags: [], nested: { a: 2 } }]));
    await ws.run();
    const t = await ws.rows('tables/target', 'id');
    expect(t.map((r) => r.id)).toEqual(['1', '2']);
    expect(t[0].nested).toEqual({ a: '1' });
    ws.cleanup();

    ws = new Workspace(pipeline('ndjson'));
    ws.land('landing/a.ndjson', '{"id":1,"updated":1,"v":"a"}\n\n{"id":2,"updated":1,"v":"b"}\n{"id":1,"updated":2,"v":"c"}\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ rowsStaged: 3, rowsInserted: 2 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.v)).toEqual(['c', 'b']);
    ws.cleanup();

    ws = new Workspace(pipeline('parquet'));
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    await c.run(`COPY (SELECT i AS id, 1 AS updated, 'v' || i AS v FROM range(5) t(i)) TO '${join(ws.dir, 'x.parquet')}' (FORMAT parquet)`);
    c.closeSync();
    instance.closeSync();
    const { readFileSync } = await import('node:fs');
    ws.land('landing/x.parquet', readFileSync(join(ws.dir, 'x.parquet')));
    await ws.run();
    expect((await ws.rows('tables/target', 'id')).map((r) => r.v)).toEqual(['v0', 'v1', 'v2', 'v3', 'v4']);
  });

  it('a Parquet file with a column nested deeper than 15 levels is quarantined on its own; the file beside it merges', async () => {
    ws = new Workspace(pipeline('parquet'));
    const instance = await DuckDBInstance.create(':memory:');
    const c = await instance.connect();
    const nested = (d: number) => `CAST('${'['.repeat(d)}1${']'.repeat(d)}' AS INTEGER${'[]'.repeat(d)})`;
    await c.run(`COPY (SELECT 1 AS id, 1 AS updated, ${nested(20)} AS deep) TO '${join(ws.dir, 'deep.parquet')}' (FORMAT parquet)`);
    await c.run(`COPY (SELECT 2 AS id, 1 AS updated) TO '${join(ws.dir, 'good.parquet')}' (FORMAT parquet)`);
    c.closeSync();
    instance.closeSync();
    const { readFileSync } = await import('node:fs');
    ws.land('landing/deep.parquet', readFileSync(join(ws.dir, 'deep.parquet')));
    ws.land('landing/good.parquet', readFileSync(join(ws.dir, 'good.parquet')));
    const s = await ws.run();
    // Before, the stage write refused the batch: both files stayed in an unfinished batch.
    expect(s.totals).toMatchObject({ files: 2, merged: 1, quarantined: 1 });
    expect((await ws.rows('tables/target', 'id')).map((r) => Number(r.id))).toEqual([2]);
    const error = JSON.parse(readFileSync(join(ws.dir, 'quarantine', ws.files('quarantine').find((f) => f.endsWith('deep.parquet.error.json'))!), 'utf8'));
    expect(error).toMatchObject({ kind: 'schema', error: 'column deep nests 20 levels deep (lists, structs and maps); at most 15 are loaded' });
  });

  it('JSON timestamps that name their offset (Z, -05:00) are instants, as from CSV: a Delta timestamp, not timestamp_ntz', async () => {
    // DuckDB's JSON reader infers such text as a wall-clock TIMESTAMP (Delta timestamp_ntz, a
    // reader-version-3 feature); its CSV sniffer, Spark and BigQuery infer an instant.
    ws = new Workspace(pipeline('ndjson'));
    ws.land('landing/a.ndjson', '{"id":1,"updated":1,"at":"2024-01-01T05:00:00Z"}\n{"id":2,"updated":1,"at":"2024-01-01T06:30:00Z"}\n');
    ws.land('landing/b.ndjson', '{"id":3,"updated":1,"at":"2024-01-02T00:00:00.5-05:00"}\n');
    ws.land('landing/c.ndjson', '{"id":4,"updated":1,"wall":"2024-01-02 10:00:00"}\n');
    // Mixed notations: read as text, then cast to the column's instants like any text.
    ws.land('landing/d.ndjson', '{"id":5,"updated":1,"at":"2024-01-03T00:00:00Z"}\n{"id":6,"updated":1,"at":"2024-01-03T01:00:00+01:00"}\n');
    const s = await ws.run();
    expect(s.totals).toMatchObject({ files: 4, quarantined: 0, rowsRejected: 0, rowsInserted: 6 });
    const target = await DeltaTable.forPath(join(ws.dir, 'tables/target'));
    try {
      const snapshot = await target.snapshot();
      const types = Object.fromEntries(snapshot.schema.fields.map((f) => [f.name, f.type]));
      expect(types).toMatchObject({ at: 'timestamp', wall: 'timestamp_ntz' });
    } finally {
      target.close();
    }
    expect((await ws.rows('tables/target', 'id')).map((r) => [r.at, r.wall])).toEqual([
      ['2024-01-01 05:00:00+00', null],
      ['2024-01-01 06:30:00+00', null],
      ['2024-01-02 05:00:00.5+00', null],
      [null, '2024-01-02 10:00:00'],
      ['2024-01-03 00:00:00+00', null],
      ['2024-01-03 00:00:00+00', null],
    ]);
  });

  it('transforms before staging: epoch → UTC timestamp, rename, cast', async () => {
    ws = new Workspace(
      pipeline('csv', {
        transforms: {
          created_ms: { epoch: 'millis', rename: 'created_at' },
          seen_s: { epoch: 'seconds' },
          seen_us: { epoch: 'micros' },
          score: { cast: 'INTEGER' },
          amount: { cast: 'DECIMAL(10,2)', rename: 'balance' },
        },
      }),
    );
    ws.land('landing/a.csv', csv('id,updated,created_ms,seen_s,seen_us,score,amount', [[1, 1, 1698915678000, 1698915678, 1698915678123456, '42', '10.456']]));
    await ws.run();
    const [row] = await ws.rows('tables/target', 'id');
    expect(row).toEqual({
      id: '1',
      updated: '1',
      created_at: '2023-11-02 09:01:18+00',
      seen_s: '2023-11-02 09:01:18+00',
      seen_us: '2023-11-02 09:01:18.123456+00',
      score: 42,
      balance: '10.46',
    });
  });

  it('a partitioned target: partitionBy from the definition', async () => {
    ws = new Workspace(pipeline('csv', { partitionBy: 'region' }));
    ws.land('landing/a.csv', csv('id,updated,region', [[1, 1, 'eu'], [2, 1, 'us'], [3, 1, 'eu']]));
    await ws.run();
    ws.land('landing/b.csv', csv('id,updated,region', [[3, 2, 'eu'], [4, 2, 'apac']]));
    expect((await ws.run()).totals).toMatchObject({ rowsInserted: 1, rowsUpdated: 1 });
    expect((await ws.rows('tables/target', 'id')).map((r) => r.region)).toEqual(['eu', 'us', 'eu', 'apac']);
    expect(ws.files('tables/target').filter((f) => f.endsWith('.parquet')).every((f) => f.startsWith('region='))).toBe(true);
  });

  it('batching: arrival order by mtime then name, maxFiles and maxBytes', async () => {
    ws = new Workspace(pipeline('csv', { batch: { maxFiles: 2, maxBytes: '1MB' } }));
    // Names sort opposite to arrival: c lands first.
    ws.land('landing/c.csv', csv('id,updated,v', [[1, 1, 'first']]));
    ws.land('landing/b.csv', csv('id,updated,v', [[1, 1, 'second']]));
    ws.land('landing/a.csv', csv('id,updated,v', [[1, 1, 'third']]));
    ws.land('landing/d.csv', csv('id,updated,v', [[2, 1, 'x']]));
    ws.land('landing/e.csv', csv('id,updated,v', [[3, 1, 'y']]));
    const s = await ws.run();
    expect(s.totals.batches).toBe(3);
    const log = await ws.log();
    expect(log.map((r) => [r.batch, r.file_name])).toEqual([
      ['1', 'b.csv'],
      ['1', 'c.csv'],
      ['2', 'a.csv'],
      ['2', 'd.csv'],
      ['3', 'e.csv'],
    ]);
    // Same ordering value: the later arrival wins (batch 1: b after c; batch 2: a).
    expect((await ws.rows('tables/target', 'id'))[0].v).toBe('third');
  });
});
