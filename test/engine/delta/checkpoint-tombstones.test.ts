import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManualClock } from '../../../src/adapters/clock.ts';
import { DeltaTable } from '../../../src/engine/table.ts';
import { dirOf } from '../../support/temp.ts';
import { useEngine } from '../../support/engine-fixture.ts';
import { RecordingStore } from '../../support/recording-store.ts';

/**
 * A checkpoint keeps the removes still within `delta.deletedFileRetentionDuration` (the protocol's
 * tombstones): another engine's VACUUM reads the checkpoint, not every commit, to know which files
 * time travel may still need. Expired removes and live files are left out; the tombstones carry
 * from one checkpoint to the next.
 */
const fx = useEngine();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Tombstone = { path: string; deletionTimestamp: number; dataChange: boolean };

async function tombstonesIn(dir: string, version: number): Promise<Tombstone[]> {
  const file = join(dir, '_delta_log', `${String(version).padStart(20, '0')}.checkpoint.parquet`);
  const rows = await fx.compute.query<Tombstone>(
    `SELECT remove.path AS path, remove.deletionTimestamp AS "deletionTimestamp", remove.dataChange AS "dataChange" FROM read_parquet('${file}') WHERE remove IS NOT NULL ORDER BY 1`,
  );
  return rows.map((r) => ({ ...r, deletionTimestamp: Number(r.deletionTimestamp) }));
}

/** The path each commit's remove actions name, by version. */
async function removedAt(t: DeltaTable, version: number): Promise<string[]> {
  const before = new Set((await t.snapshot({ version: version - 1 })).files.map((f) => f.path));
  const after = new Set((await t.snapshot({ version })).files.map((f) => f.path));
  return [...before].filter((p) => !after.has(p));
}

describe('checkpoint tombstones', () => {
  it('a checkpoint keeps the removes within the retention, not older ones nor live files, and passes them on', async () => {
    const t0 = Date.parse('2024-03-01T00:00:00Z');
    const clock = new ManualClock(t0);
    const t = await DeltaTable.forPath(join(fx.dir, 'tomb'), { compute: fx.compute, clock });
    await t.write({ sql: 'SELECT range AS id FROM range(10)' }).execute(); // v0
    await t.write({ sql: 'SELECT range AS id FROM range(10, 20)' }).execute(); // v1
    clock.set(t0 + HOUR);
    await t.delete('id < 5').execute(); // v2: removes the first file (expires before the checkpoints)
    clock.set(t0 + 8 * DAY);
    await t.delete('id = 15').execute(); // v3: removes the second file (within the retention)
    for (let v = 4; v <= 10; v++) await t.write({ sql: `SELECT ${v * 100} AS id` }).execute();
    const expired = await removedAt(t, 2);
    const recent = await removedAt(t, 3);
    expect(expired).toHaveLength(1);
    expect(recent).toHaveLength(1);

    const at10 = await tombstonesIn(dirOf(t), 10);
    expect(at10).toEqual([{ path: recent[0], deletionTimestamp: t0 + 8 * DAY, dataChange: false }]);
    const live = new Set((await t.snapshot()).files.map((f) => f.path));
    expect(at10.some((r) => live.has(r.path))).toBe(false);

    // Carried to the next checkpoint through the previous one; then expired by the clock.
    for (let v = 11; v <= 20; v++) await t.write({ sql: `SELECT ${v * 100} AS id` }).execute();
    expect((await tombstonesIn(dirOf(t), 20)).map((r) => r.path)).toEqual(recent);
    clock.set(t0 + 16 * DAY);
    for (let v = 21; v <= 30; v++) await t.write({ sql: `SELECT ${v * 100} AS id` }).execute();
    expect(await tombstonesIn(dirOf(t), 30)).toEqual([]);

    // The table still reads as it should from its checkpoints.
    const reopened = await DeltaTable.forPath(dirOf(t), { compute: fx.compute });
    expect((await reopened.read({})).length).toBe(10 + 10 - 5 - 1 + 27);
    reopened.close();
    t.close();
  });

  it('a previous checkpoint whose _last_checkpoint counts no remove is not read again for tombstones; the later removes are kept', async () => {
    const dir = join(fx.dir, 'tomb-hint');
    const store = new RecordingStore(dir);
    const t = await DeltaTable.forPath(dir, { compute: fx.compute, store });
    for (let v = 0; v <= 10; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute(); // checkpoint 10: protocol, metadata, adds
    const hint = JSON.parse(readFileSync(join(dir, '_delta_log', '_last_checkpoint'), 'utf8')) as { version: number; size: number; numOfAddFiles: number };
    expect(hint).toMatchObject({ version: 10, size: 13, numOfAddFiles: 11 });
    await t.delete('id = 3').execute(); // v11: a remove
    const removed = await removedAt(t, 11);
    for (let v = 12; v <= 19; v++) await t.write({ sql: `SELECT ${v} AS id` }).execute();
    store.gets = [];
    store.ranges = [];
    await t.write({ sql: 'SELECT 20 AS id' }).execute(); // v20: checkpoint
    expect(store.reads.filter((k) => k.endsWith('00000000000000000010.checkpoint.parquet'))).toEqual([]);
    expect((await tombstonesIn(dir, 20)).map((r) => r.path)).toEqual(removed);

    t.close();

    // That checkpoint holds a remove: the next one of a handle that did not write it (so does not
    // know its tombstones) reads it and carries the tombstone on.
    const again = await DeltaTable.forPath(dir, { compute: fx.compute, store });
    for (let v = 21; v <= 29; v++) await again.write({ sql: `SELECT ${v} AS id` }).execute();
    store.gets = [];
    store.ranges = [];
    await again.write({ sql: 'SELECT 30 AS id' }).execute();
    expect(store.reads.some((k) => k.endsWith('00000000000000000020.checkpoint.parquet'))).toBe(true);
    expect((await tombstonesIn(dir, 30)).map((r) => r.path)).toEqual(removed);
    again.close();
  });
});
