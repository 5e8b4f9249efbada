import { describe, expect, it } from 'vitest';
import { readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { InputError, MissingFileError, VersionNotFoundError } from '../../../src/engine/errors.ts';
import { mergeProtocols } from '../../../src/engine/ops/restore.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const fx = useEngine('lakelet-restore-');

let n = 0;
const freshTable = () => DeltaTable.forPath(join(fx.dir, `t${++n}`), { compute: fx.compute });

function commitJson(table: DeltaTable, version: number): Record<string, any>[] {
  const text = readFileSync(join(dirOf(table), '_delta_log', `${String(version).padStart(20, '0')}.json`), 'utf8');
  return text.trim().split('\n').map((l) => JSON.parse(l));
}

const ids = async (t: DeltaTable, version?: number) => (await t.read({ orderBy: 'id', columns: ['id'], version })).map((r) => Number(r.id));

describe('RESTORE', () => {
  it('brings back the rows of an older version as a new commit; history shows RESTORE', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT range::BIGINT AS id FROM range(5)' }).execute(); // v0
    await t.write({ sql: 'SELECT (range + 5)::BIGINT AS id FROM range(5)' }).execute(); // v1
    await t.delete('id < 3').execute(); // v2
    await t.write({ sql: 'SELECT 100::BIGINT AS id' }).execute(); // v3
    const v1Files = (await t.snapshot({ version: 1 })).files;

    const res = await t.restore().version(1).execute();
    expect(res.version).toBe(4);
    expect(await ids(t)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(res.metrics).toMatchObject({
      numRestoredFiles: 1, // v0's file (v1's file was never removed)
      numRemovedFiles: 2, // the rewrite of v0's file by the delete, and v3's file
      numOfFilesAfterRestore: 2,
      tableSizeAfterRestore: v1Files.reduce((s, f) => s + f.size, 0),
    });
    expect(res.metrics.restoredFilesSize).toBeGreaterThan(0);
    expect(res.metrics.removedFilesSize).toBeGreaterThan(0);
    expect(new Set(res.snapshot.files.map((f) => f.path))).toEqual(new Set(v1Files.map((f) => f.path)));

    const actions = commitJson(t, 4);
    expect(actions.filter((a) => a.add).every((a) => a.add.dataChange === true)).toBe(true);
    expect(actions.filter((a) => a.remove).every((a) => a.remove.dataChange === true)).toBe(true);
    const [latest] = await t.history(1);
    expect(latest.operation).toBe('RESTORE');
    expect(latest.operationParameters).toMatchObject({ version: '1' });
    expect(latest.operationMetrics).toMatchObject({ numRestoredFiles: '1', numRemovedFiles: '2', numOfFilesAfterRestore: '2' });

    // A restore can itself be undone; by timestamp too.
    const undo = await t.restore().version(3).execute();
    expect(await ids(t)).toEqual([3, 4, 5, 6, 7, 8, 9, 100]);
    expect(undo.version).toBe(5);
    t.close();
  });

  it('restores metadata (schema, properties) and never downgrades the protocol', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT 1::BIGINT AS id' }).execute(); // v0, protocol (1,2)
    await t
      .write({ sql: `SELECT 2::BIGINT AS id, 'x' AS extra` })
      .mergeSchema()
      .properties({ 'delta.enableChangeDataFeed': 'true' })
      .execute(); // v1, protocol (1,4)
    expect((await t.snapshot()).protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 4 });
    const res = await t.restore().version(0).execute();
    expect(res.snapshot.schema.fields.map((f) => f.name)).toEqual(['id']);
    expect(res.snapshot.configuration['delta.enableChangeDataFeed']).toBeUndefined();
    expect(res.snapshot.protocol).toEqual({ minReaderVersion: 1, minWriterVersion: 4 });
    expect(commitJson(t, 2).some((a) => a.protocol)).toBe(false);
    expect(commitJson(t, 2).some((a) => a.metaData)).toBe(true);
    expect(await t.read()).toEqual([{ id: '1' }]);

    expect(mergeProtocols({ minReaderVersion: 1, minWriterVersion: 2 }, { minReaderVersion: 3, minWriterVersion: 7, readerFeatures: ['deletionVectors'], writerFeatures: ['deletionVectors'] })).toEqual({
      minReaderVersion: 3,
      minWriterVersion: 7,
      readerFeatures: ['deletionVectors'],
      writerFeatures: ['appendOnly', 'deletionVectors', 'invariants'],
    });
    t.close();
  });

  it('restores by timestamp', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT 1::BIGINT AS id' }).execute();
    await new Promise((r) => setTimeout(r, 20));
    const [v0] = await t.history();
    await t.write({ sql: 'SELECT 2::BIGINT AS id' }).mode('overwrite').execute();
    const res = await t.restore().timestamp(v0.timestamp).execute();
    expect(await ids(t)).toEqual([1]);
    const [latest] = await t.history(1);
    expect(latest.operationParameters).toMatchObject({ timestamp: new Date(v0.timestamp).toISOString() });
    expect(res.version).toBe(2);
    t.close();
  });

  it('fails without committing when a file to restore was vacuumed, or the version is not older', async () => {
    const t = await freshTable();
    await t.write({ sql: 'SELECT 1::BIGINT AS id' }).execute();
    const [old] = (await t.snapshot()).files;
    await t.write({ sql: 'SELECT 2::BIGINT AS id' }).mode('overwrite').execute();
    unlinkSync(join(dirOf(t), old.path));
    const err = await t.restore().version(0).execute().catch((e) => e);
    expect(err).toBeInstanceOf(MissingFileError);
    expect(err.message).toContain(old.path);
    expect((await t.snapshot()).version).toBe(1);
    await expect(t.restore().version(1).execute()).rejects.toThrow(InputError);
    await expect(t.restore().version(7).execute()).rejects.toThrow(VersionNotFoundError);
    await expect(t.restore().execute()).rejects.toThrow(/version or a timestamp/);
    t.close();
  });
});
