import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { ChangeDataFeedError, InputError, NotATableError } from '../../../src/engine/errors.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

/** SET TBLPROPERTIES (`table.setProperties`): a metadata-only commit that upgrades the protocol when needed. */
const fx = useEngine('lakelet-props-');

let n = 0;
const freshTable = () => DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });

function commitJson(table: DeltaTable, version: number): Record<string, any>[] {
  const text = readFileSync(join(dirOf(table), '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

async function seeded(): Promise<DeltaTable> {
  const t = await freshTable();
  await t.write({ sql: `SELECT range::BIGINT AS id, 'v' || range AS v FROM range(5)` }).execute();
  return t;
}

describe('setProperties', () => {
  it('enables the change data feed on an existing table in one commit without data files, upgrading the writer version', async () => {
    const t = await seeded();
    const before = await t.snapshot();
    expect(before.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 2 });
    const r = await t.setProperties({ 'delta.enableChangeDataFeed': 'TRUE', 'app.owner': 'orders team' }).execute();
    expect(r.version).toBe(1);
    expect(r.changed).toEqual({ 'delta.enableChangeDataFeed': { to: 'true' }, 'app.owner': { to: 'orders team' } });
    const actions = commitJson(t, 1);
    expect(actions.map((a) => Object.keys(a)[0])).toEqual(['commitInfo', 'metaData', 'protocol']);
    expect(actions[0].commitInfo.operation).toBe('SET TBLPROPERTIES');
    expect(actions[1].metaData.configuration).toEqual({ 'delta.enableChangeDataFeed': 'true', 'app.owner': 'orders team' });
    expect(actions[1].metaData.id).toBe(before.metadata.id);
    expect(actions[1].metaData.schemaString).toBe(before.metadata.schemaString);
    expect(actions[2].protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 4 });
    // Same files, same rows.
    const after = await t.snapshot();
    expect(after.files.map((f) => f.path)).toEqual(before.files.map((f) => f.path));
    expect(await t.read({ orderBy: 'id' })).toEqual(await t.read({ orderBy: 'id', version: 0 }));

    // Changes are recorded from the enabling version on; asking for earlier ones is an error.
    await t.update({ v: "'changed'" }, 'id = 2').execute();
    const changes = await t.changes({ fromVersion: 2 }).read();
    expect(changes.map((c) => `${c._change_type}:${c.id}:${c.v}`).sort()).toEqual(['update_postimage:2:changed', 'update_preimage:2:v2']);
    await expect(t.changes({ fromVersion: 0 }).read()).rejects.toBeInstanceOf(ChangeDataFeedError);
  });

  it('commits nothing when every property already has the value asked for', async () => {
    const t = await seeded();
    await t.setProperties({ 'delta.appendOnly': 'false' }).execute();
    const again = await t.setProperties({ 'delta.appendOnly': 'False' }).execute();
    expect(again.skipped).toMatch(/already/);
    expect(again.version).toBe(1);
    expect(readdirSync(join(dirOf(t), '_delta_log')).filter((f) => f.endsWith('.json'))).toHaveLength(2);
  });

  it('keeps table features: a table at writer 7 gets changeDataFeed added to its features', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT 1::BIGINT AS id` }).properties({ 'delta.enableDeletionVectors': 'true' }).execute();
    await t.setProperties({ 'delta.enableChangeDataFeed': 'true' }).execute();
    const p = (await t.snapshot()).protocol;
    expect(p.minWriterVersion).toBe(7);
    expect(p.writerFeatures).toContain('deletionVectors');
    expect(p.writerFeatures).toContain('changeDataFeed');
    expect(p.readerFeatures).toEqual(['deletionVectors']);
  });

  it('refuses bad values and properties that need more than a metadata change, committing nothing', async () => {
    const t = await seeded();
    await expect(t.setProperties({ 'delta.enableChangeDataFeed': 'yes' }).execute()).rejects.toThrow(/delta\.enableChangeDataFeed must be true or false, not 'yes'/);
    await expect(t.setProperties({ 'delta.checkpointInterval': '0' }).execute()).rejects.toThrow(InputError);
    await expect(t.setProperties({ 'delta.columnMapping.mode': 'id' }).execute()).rejects.toThrow(/cannot switch to column mapping mode id.*delta\.columnMapping\.mode=name/);
    await expect(t.setProperties({ 'delta.columnMapping.maxColumnId': '9' }).execute()).rejects.toThrow(/maintained by the writer/);
    await expect(t.setProperties({ 'delta.columnMapping.mode': 'names' }).execute()).rejects.toThrow(/must be none, name or id/);
    await expect(t.setProperties({ 'delta.constraints.positive': 'id > 0' }).execute()).rejects.toThrow(/CHECK constraint/);
    await expect(t.setProperties({ 'delta.enableInCommitTimestamps': 'true' }).execute()).rejects.toThrow(/only be set when the table is created/);
    expect((await t.snapshot()).version).toBe(0);
    await expect((await freshTable()).setProperties({ a: 'b' }).execute()).rejects.toBeInstanceOf(NotATableError);
  });

  it('refuses a delta. key one slip from a known property (it would be stored and do nothing), naming the one meant, and delta.feature.* keys; keeps other keys', async () => {
    const t = await seeded();
    await expect(t.setProperties({ 'delta.enableDeletionVector': 'true' }).execute()).rejects.toThrow(/delta\.enableDeletionVector is not a Delta table property.*did you mean delta\.enableDeletionVectors\?/);
    await expect(t.setProperties({ 'delta.EnableChangeDataFeed': 'true' }).execute()).rejects.toThrow(/did you mean delta\.enableChangeDataFeed\?/);
    await expect(t.setProperties({ 'delta.autoOptimize.optimizeWrit': 'true' }).execute()).rejects.toThrow(/did you mean delta\.autoOptimize\.optimizeWrite\?/);
    expect((await t.snapshot()).version).toBe(0);
    // Keys of other engines or the user's own, and names of families any name belongs to, are kept.
    // A protocol feature by name is Spark's way to add it to the protocol, not a property: refused, saying what to set.
    await expect(t.setProperties({ 'delta.feature.deletionVectors': 'supported' }).execute()).rejects.toThrow(/delta\.feature\.deletionVectors would add a protocol feature.*delta\.enableDeletionVectors=true adds deletionVectors/);
    expect((await t.snapshot()).version).toBe(0);
    // Another version of a numbered family is no slip (a newer engine's property).
    await t.setProperties({ 'delta.someEngineSetting': 'x', 'myteam.owner': 'data-eng', 'delta.enableIcebergCompatV3': 'false' }).execute();
    expect((await t.snapshot()).configuration).toMatchObject({ 'delta.someEngineSetting': 'x', 'myteam.owner': 'data-eng', 'delta.enableIcebergCompatV3': 'false' });
  });

  it('write().properties() normalises booleans on create, refuses column mapping mode id on an existing table and maps it for mode name', async () => {
    const t = await freshTable();
    await t.write({ sql: `SELECT 1::BIGINT AS id` }).properties({ 'delta.enableChangeDataFeed': 'True' }).execute();
    const s = await t.snapshot();
    expect(s.configuration['delta.enableChangeDataFeed']).toBe('true');
    expect(s.protocol.minWriterVersion).toBe(4);
    await expect(t.write({ sql: `SELECT 2::BIGINT AS id` }).properties({ 'delta.columnMapping.mode': 'id' }).execute()).rejects.toThrow(/cannot switch to column mapping mode id/);
    expect((await t.snapshot()).version).toBe(0);
    // Mode name: the existing field is named after itself (its files were written so), in the same commit.
    await t.write({ sql: `SELECT 2::BIGINT AS id` }).properties({ 'delta.columnMapping.mode': 'name' }).execute();
    const mapped = await t.snapshot();
    expect(mapped.schema.fields[0].metadata).toEqual({ 'delta.columnMapping.id': 1, 'delta.columnMapping.physicalName': 'id' });
    expect(mapped.configuration['delta.columnMapping.maxColumnId']).toBe('1');
    expect([mapped.protocol.minReaderVersion, mapped.protocol.minWriterVersion]).toEqual([2, 5]);
    expect((await t.read()).map((r) => Number(r.id)).sort()).toEqual([1, 2]);
  });
});
