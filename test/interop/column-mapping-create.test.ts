// Tables lakelet creates with column mapping (delta.columnMapping.mode name / id) are valid Delta
// tables: every field, nested ones too, has a unique id and a `col-<uuid>` physical name, the
// configuration tracks maxColumnId, the protocol supports column mapping, and the Parquet files
// carry the physical names and field ids (PROTOCOL.md "Column Mapping"). Written, merged into and
// evolved, they read the same in lakelet and in delta-rs. Also: `lakelet alter` turning mode name
// on for an existing table (fields keep their names as physical names, so old files stay valid).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DeltaTable } from '../../src/engine/table.ts';
import type { DataType, StructField, StructType } from '../../src/engine/delta/schema.ts';
import { isArray, isMap, isStruct } from '../../src/engine/delta/schema.ts';
import { useEngine } from '../support/engine-fixture.ts';
import { deltaRsAvailable, requirePeer, runDeltaRs } from '../support/peers.ts';
import { canonicalTableRows, schemaShape } from '../support/interop.ts';
import { lakelet, lakeletOk } from '../support/cli.ts';
import { csv, Workspace } from '../support/workspace.ts';
import { pipelineYaml } from '../support/pipeline-yaml.ts';

const peer = requirePeer('delta-rs', deltaRsAvailable);
const fx = useEngine('lakelet-colmap-');
const UUID_NAME = /^col-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every field at every depth (inside arrays and maps too), in schema order. */
function allFields(t: DataType, out: StructField[] = []): StructField[] {
  if (isStruct(t)) for (const f of t.fields) out.push(f, ...allFields(f.type));
  else if (isArray(t)) allFields(t.elementType, out);
  else if (isMap(t)) (allFields(t.keyType, out), allFields(t.valueType, out));
  return out;
}

function logActions(dir: string, version: number): Record<string, any>[] {
  const file = path.join(dir, '_delta_log', `${String(version).padStart(20, '0')}.json`);
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/**
 * One row as comparable JSON text (test/support/interop.ts does not take nested types): bigints as
 * numbers (the values here are small), DuckDB's map entries ({key, value}) as delta-rs's [key, value] pairs.
 */
function plainRow(row: Record<string, unknown>): string {
  const plain = (v: unknown): unknown => {
    if (typeof v === 'bigint') return Number(v);
    if (Array.isArray(v)) {
      const entries = v.length > 0 && v.every((e) => e && typeof e === 'object' && !Array.isArray(e) && Object.keys(e).join() === 'key,value');
      return v.map((e) => (entries ? [plain((e as any).key), plain((e as any).value)] : plain(e)));
    }
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)).map(([k, x]) => [k, plain(x)]));
    return v;
  };
  return JSON.stringify(plain(row));
}

/** delta-rs reads the table as lakelet does (version, schema, rows); returns the rows, sorted. */
async function expectDeltaRsAgrees(t: DeltaTable, dir: string): Promise<string[]> {
  const snapshot = await t.snapshot();
  const ours = (await t.read()).map(plainRow).sort();
  const theirs = await runDeltaRs(['read', dir]);
  expect(theirs.version).toBe(snapshot.version);
  expect(schemaShape(theirs.schema)).toEqual(schemaShape(snapshot.schema));
  expect((theirs.rows as Record<string, unknown>[]).map(plainRow).sort()).toEqual(ours);
  return ours;
}

const V0 = `SELECT * FROM (VALUES
  (1, 'eu', {'street': 'a st', 'zip': 10}, [{'sku': 'x', 'qty': 1}], MAP {'k1': {'w': 1.5}}),
  (2, 'us', {'street': 'b st', 'zip': 20}, [{'sku': 'y', 'qty': 2}, {'sku': 'z', 'qty': 3}], MAP {'k2': {'w': 2.5}})
) v(id, region, addr, items, attrs)`;
const V1 = `SELECT * FROM (VALUES (3, 'eu', {'street': 'c st', 'zip': 30}, [{'sku': 'w', 'qty': 4}], MAP {'k3': {'w': 3.5}})) v(id, region, addr, items, attrs)`;
// Updates id 2, inserts id 4, and brings a new column (schema evolution in the merge).
const UPSERT = `SELECT * FROM (VALUES
  (2, 'us', {'street': 'b2 st', 'zip': 21}, [{'sku': 'y', 'qty': 9}], MAP {'k2': {'w': 9.5}}, 'gold'),
  (4, 'us', {'street': 'd st', 'zip': 40}, [], MAP {'k4': {'w': 4.5}}, 'silver')
) v(id, region, addr, items, attrs, tier)`;
// A write with --merge-schema style evolution: one more column.
const V3 = `SELECT 5 AS id, 'eu' AS region, {'street': 'e st', 'zip': 50} AS addr, [{'sku': 'v', 'qty': 5}] AS items, MAP {'k5': {'w': 5.5}} AS attrs, 'bronze' AS tier, true AS vip`;

describe.skipIf(peer === 'skip')('creating a column-mapped table', () => {
  for (const mode of ['name', 'id'] as const) {
    it(`mode ${mode}: ids, physical names, maxColumnId, protocol and field ids; written, merged, evolved; delta-rs reads it the same`, async () => {
      const dir = path.join(fx.dir, `create-${mode}`);
      const t = await DeltaTable.forPath(dir, { compute: fx.compute });
      try {
        await t.write({ sql: V0 }).partitionBy('region').properties({ 'delta.columnMapping.mode': mode }).execute();
        const v0 = logActions(dir, 0);
        expect(v0.find((a) => a.protocol)!.protocol).toEqual({ minReaderVersion: 2, minWriterVersion: 5 });
        const meta = v0.find((a) => a.metaData)!.metaData;
        const schema = JSON.parse(meta.schemaString) as StructType;
        const fields = allFields(schema);
        // id, region, addr{street, zip}, items[{sku, qty}], attrs{k -> {w}}
        expect(fields.map((f) => f.name)).toEqual(['id', 'region', 'addr', 'street', 'zip', 'items', 'sku', 'qty', 'attrs', 'w']);
        expect(fields.map((f) => f.metadata['delta.columnMapping.id']).sort((a, b) => Number(a) - Number(b))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        const physical = fields.map((f) => f.metadata['delta.columnMapping.physicalName'] as string);
        for (const p of physical) expect(p).toMatch(UUID_NAME);
        expect(new Set(physical).size).toBe(fields.length);
        expect(meta.configuration).toEqual({ 'delta.columnMapping.mode': mode, 'delta.columnMapping.maxColumnId': '10' });
        expect(meta.partitionColumns).toEqual(['region']);

        // The files: physical names (nested too) and field ids; partition values and stats by physical name.
        const byName = new Map(fields.map((f) => [f.name, f]));
        const phys = (n: string) => byName.get(n)!.metadata['delta.columnMapping.physicalName'] as string;
        const add = v0.find((a) => a.add)!.add;
        expect(Object.keys(add.partitionValues)).toEqual([phys('region')]);
        expect(Object.keys(JSON.parse(add.stats).minValues).sort()).toEqual([phys('id'), phys('addr')].sort());
        expect(Object.keys(JSON.parse(add.stats).minValues[phys('addr')]).sort()).toEqual([phys('street'), phys('zip')].sort());
        const file = path.join(dir, decodeURIComponent(add.path));
        const columns = await fx.compute.query<{ name: string; field_id: number | null }>(
          `SELECT name, field_id FROM parquet_schema('${file}') WHERE name NOT IN ('duckdb_schema', 'list', 'element', 'key_value', 'key', 'value')`,
        );
        const want = fields.filter((f) => f.name !== 'region').map((f) => ({ name: phys(f.name), field_id: f.metadata['delta.columnMapping.id'] }));
        expect(columns.map((c) => ({ name: c.name, field_id: Number(c.field_id) }))).toEqual(want);

        await t.write({ sql: V1 }).execute();
        await t.merge({ sql: UPSERT }, { on: ['id'] }).whenMatchedUpdateAll().whenNotMatchedInsertAll().mergeSchema().execute();
        await t.write({ sql: V3 }).mergeSchema().execute();

        // Evolution: new ids above maxColumnId, new physical names, maxColumnId raised; old ones kept.
        const evolved = (await t.snapshot()).schema;
        const after = allFields(evolved);
        expect(after.slice(0, fields.length)).toEqual(fields);
        expect(after.slice(fields.length).map((f) => [f.name, f.metadata['delta.columnMapping.id']])).toEqual([
          ['tier', 11],
          ['vip', 12],
        ]);
        for (const f of after.slice(fields.length)) expect(f.metadata['delta.columnMapping.physicalName']).toMatch(UUID_NAME);
        expect((await t.snapshot()).configuration['delta.columnMapping.maxColumnId']).toBe('12');

        const rows = await expectDeltaRsAgrees(t, dir);
        const expected = await fx.compute.query(
          `SELECT id, region, addr, items, attrs, tier, vip FROM (
             SELECT *, NULL::VARCHAR AS tier, NULL::BOOLEAN AS vip FROM (${V0}) WHERE id <> 2
             UNION ALL BY NAME SELECT *, NULL::VARCHAR AS tier, NULL::BOOLEAN AS vip FROM (${V1})
             UNION ALL BY NAME SELECT *, NULL::BOOLEAN AS vip FROM (${UPSERT})
             UNION ALL BY NAME ${V3})`,
        );
        expect(rows).toEqual(expected.map(plainRow).sort());
        expect(rows.length).toBe(5);
      } finally {
        t.close();
      }
    });
  }

  it('a MERGE that creates its target (createIfMissing with properties) maps it', async () => {
    const dir = path.join(fx.dir, 'merge-create');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    try {
      await t.merge({ sql: V0 }, { on: ['id'] }).whenNotMatchedInsertAll().createIfMissing(['region'], { 'delta.columnMapping.mode': 'id' }).execute();
      const s = await t.snapshot();
      expect(s.configuration['delta.columnMapping.maxColumnId']).toBe('10');
      for (const f of allFields(s.schema)) expect(f.metadata['delta.columnMapping.physicalName']).toMatch(UUID_NAME);
      expect((await expectDeltaRsAgrees(t, dir)).length).toBe(2);
    } finally {
      t.close();
    }
  });

  it('on a table that uses table features, columnMapping is added to both feature lists', async () => {
    const dir = path.join(fx.dir, 'features');
    const t = await DeltaTable.forPath(dir, { compute: fx.compute });
    try {
      await t.write({ sql: V0 }).properties({ 'delta.columnMapping.mode': 'name', 'delta.enableDeletionVectors': 'true' }).execute();
      const protocol = (await t.snapshot()).protocol;
      expect(protocol.minReaderVersion).toBe(3);
      expect(protocol.minWriterVersion).toBe(7);
      expect(protocol.readerFeatures).toContain('columnMapping');
      expect(protocol.writerFeatures).toContain('columnMapping');
      await t.delete('id = 1').execute();
      expect((await expectDeltaRsAgrees(t, dir)).length).toBe(1);
    } finally {
      t.close();
    }
  });
});

describe.skipIf(peer === 'skip')('the CLI', () => {
  it('`lakelet write --property delta.columnMapping.mode=name` creates a table delta-rs reads', async () => {
    const dir = path.join(fx.dir, 'cli-create');
    const csv = path.join(fx.dir, 'cli-create.csv');
    await fx.compute.run(`COPY (SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, s)) TO '${csv}' (HEADER)`);
    await lakeletOk(['write', dir, '--from', csv, '--property', 'delta.columnMapping.mode=name']);
    const read = await runDeltaRs(['read', dir]);
    expect(read.rows).toEqual([
      { id: 1, s: 'a' },
      { id: 2, s: 'b' },
    ]);
    for (const f of read.schema.fields) expect(f.metadata['delta.columnMapping.physicalName']).toMatch(UUID_NAME);
  });

  it('`lakelet alter --property delta.columnMapping.mode=name` maps an existing table; its old and new files read in delta-rs', async () => {
    const dir = path.join(fx.dir, 'cli-alter');
    const csv = path.join(fx.dir, 'cli-alter.csv');
    const more = path.join(fx.dir, 'cli-alter-more.csv');
    await fx.compute.run(`COPY (SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(id, s)) TO '${csv}' (HEADER)`);
    await fx.compute.run(`COPY (SELECT 3 AS id, 'c' AS s, 7 AS n) TO '${more}' (HEADER)`);
    await lakeletOk(['write', dir, '--from', csv]);

    const refused = await lakelet(['alter', dir, '--property', 'delta.columnMapping.mode=id']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('cannot switch to column mapping mode id');
    expect(refused.stderr).toContain('delta.columnMapping.mode=name');
    expect(readdirSync(path.join(dir, '_delta_log')).filter((f) => f.endsWith('.json'))).toEqual(['00000000000000000000.json']);

    await lakeletOk(['alter', dir, '--property', 'delta.columnMapping.mode=name']);
    const v1 = logActions(dir, 1);
    expect(v1.find((a) => a.protocol)!.protocol).toEqual({ minReaderVersion: 2, minWriterVersion: 5 });
    const meta = v1.find((a) => a.metaData)!.metaData;
    expect(meta.configuration).toEqual({ 'delta.columnMapping.mode': 'name', 'delta.columnMapping.maxColumnId': '2' });
    expect(JSON.parse(meta.schemaString).fields.map((f: StructField) => [f.name, f.metadata])).toEqual([
      ['id', { 'delta.columnMapping.id': 1, 'delta.columnMapping.physicalName': 'id' }],
      ['s', { 'delta.columnMapping.id': 2, 'delta.columnMapping.physicalName': 's' }],
    ]);

    await lakeletOk(['write', dir, '--from', more, '--merge-schema']);
    const evolved = JSON.parse(logActions(dir, 2).find((a) => a.metaData)!.metaData.schemaString).fields as StructField[];
    expect(evolved[2].name).toBe('n');
    expect(evolved[2].metadata['delta.columnMapping.id']).toBe(3);
    expect(evolved[2].metadata['delta.columnMapping.physicalName']).toMatch(UUID_NAME);

    const read = await runDeltaRs(['read', dir]);
    expect(read.rows).toEqual([
      { id: 1, n: null, s: 'a' },
      { id: 2, n: null, s: 'b' },
      { id: 3, n: 7, s: 'c' },
    ]);
    const ours = await lakeletOk(['read', dir, '--format', 'ndjson']);
    const lines = ours.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // long columns come out of ndjson as strings (exact for any 64-bit value)
    expect(lines.sort((a, b) => Number(a.id) - Number(b.id))).toEqual([
      { id: '1', s: 'a', n: null },
      { id: '2', s: 'b', n: null },
      { id: '3', s: 'c', n: '7' },
    ]);
  });
});

describe.skipIf(peer === 'skip')('a pipeline', () => {
  let ws: Workspace | undefined;
  afterAll(() => ws?.cleanup());

  it('stage and target created with `properties: { delta.columnMapping.mode: name }`, schema drift evolved, read the same in delta-rs', async () => {
    const props = { 'delta.columnMapping.mode': 'name' };
    ws = new Workspace(pipelineYaml({ stage: { path: './tables/stage', properties: props }, target: { path: './tables/target', properties: props }, orderBy: 'ts' }));
    ws.land('landing/a.csv', csv('id,v,ts', [[1, 'a', 1], [2, 'b', 1]]));
    const first = await lakelet(['run', '--once', '-c', ws.configFile, '--quiet']);
    expect(first.code, first.stderr).toBe(0);
    ws.land('landing/b.csv', csv('id,v,ts,extra', [[2, 'B', 2, 'x'], [3, 'c', 2, 'y']]));
    const second = await lakelet(['run', '--once', '-c', ws.configFile, '--quiet']);
    expect(second.code, second.stderr).toBe(0);

    // Both tables in one peer process (its start-up is most of a read): a list, in this order.
    const rels = ['tables/stage', 'tables/target'];
    const peerReads = await runDeltaRs(['read', ...rels.map((rel) => path.join(ws!.dir, rel))]);
    for (const [i, rel] of rels.entries()) {
      const t = await DeltaTable.forPath(path.join(ws.dir, rel), { compute: fx.compute });
      try {
        const s = await t.snapshot();
        const fields = allFields(s.schema);
        expect(fields.map((f) => f.name)).toContain('extra');
        for (const f of fields) expect(f.metadata['delta.columnMapping.physicalName'], `${rel}.${f.name}`).toMatch(UUID_NAME);
        const ids = fields.map((f) => Number(f.metadata['delta.columnMapping.id']));
        expect(new Set(ids).size).toBe(ids.length);
        expect(Number(s.configuration['delta.columnMapping.maxColumnId'])).toBe(Math.max(...ids));
        // Flat tables: the interop normaliser compares every value by its Delta type.
        const theirs = peerReads[i];
        expect(schemaShape(theirs.schema)).toEqual(schemaShape(s.schema));
        expect(canonicalTableRows(theirs.rows, theirs.schema, 'delta-rs')).toEqual(canonicalTableRows(await t.read(), s.schema, 'lakelet'));
      } finally {
        t.close();
      }
    }
    const target = peerReads[1];
    expect(target.rows.map((r: Record<string, unknown>) => [r.id, r.v, r.extra]).sort((a: number[], b: number[]) => a[0] - b[0])).toEqual([
      [1, 'a', null],
      [2, 'B', 'x'],
      [3, 'c', 'y'],
    ]);
  });
});
