import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { DeltaTable } from '../../../src/engine/table.ts';
import { useEngine } from '../../support/engine-fixture.ts';
import { RecordingStore } from '../../support/recording-store.ts';

/** One snapshot per table handle, brought up to date from the last version it knows. */
const fx = useEngine();

describe('snapshot cache', () => {
  it('a handle reads only the commits written since its last snapshot, listing the log from there', async () => {
    const path = join(fx.dir, 'cached');
    const writer = await DeltaTable.forPath(path, { compute: fx.compute });
    for (let i = 0; i < 3; i++) await writer.write({ sql: `SELECT ${i} AS k` }).execute();
    const store = new RecordingStore(path);
    const reader = await DeltaTable.forPath(path, { compute: fx.compute, store });
    expect((await reader.latest()).version).toBe(2);
    expect(store.gets.filter((k) => k.endsWith('.json'))).toHaveLength(3);

    for (let i = 3; i < 6; i++) await writer.write({ sql: `SELECT ${i} AS k` }).execute();
    store.gets = [];
    store.lists = [];
    const latest = await reader.latest();
    expect(latest.version).toBe(5);
    expect(store.gets).toEqual(['_delta_log/00000000000000000003.json', '_delta_log/00000000000000000004.json', '_delta_log/00000000000000000005.json']);
    expect(store.lists).toEqual([{ prefix: '_delta_log/0', startAt: '_delta_log/00000000000000000002' }]);
    expect((await reader.read({ orderBy: 'k' })).map((r) => r.k)).toEqual([0, 1, 2, 3, 4, 5]);

    // Nothing new: one listing, nothing read.
    store.gets = [];
    expect((await reader.latest()).version).toBe(5);
    expect(store.gets).toEqual([]);
    // Time travel to the cached version is the cached snapshot; an older one is read afresh.
    expect(await reader.snapshot({ version: 5 })).toBe(latest);
    expect((await reader.snapshot({ version: 1 })).fileCount).toBe(2);
    writer.close();
    reader.close();
  });

  it("a handle keeps the snapshot of its own commit: the next question reads no commit file, another writer's commit still shows", async () => {
    const path = join(fx.dir, 'own-commits');
    const store = new RecordingStore(path);
    const t = await DeltaTable.forPath(path, { compute: fx.compute, store });
    await t.write({ sql: 'SELECT 0 AS k' }).execute();
    for (let i = 1; i < 4; i++) {
      store.gets = [];
      const r = await t.write({ sql: `SELECT ${i} AS k` }).mode('append').execute();
      expect(r.version).toBe(i);
      // The write read its snapshot from the handle and replayed nothing: its own commit is known.
      expect(store.gets.filter((k) => k.startsWith('_delta_log/'))).toEqual([]);
      expect((await t.latest()).version).toBe(i);
      expect(store.gets.filter((k) => k.startsWith('_delta_log/'))).toEqual([]);
    }
    const other = await DeltaTable.forPath(path, { compute: fx.compute });
    await other.write({ sql: 'SELECT 9 AS k' }).mode('append').execute();
    store.gets = [];
    expect((await t.latest()).version).toBe(4);
    expect(store.gets).toEqual(['_delta_log/00000000000000000004.json']);
    expect((await t.read({ orderBy: 'k' })).map((r) => r.k)).toEqual([0, 1, 2, 3, 9]);
    other.close();
    t.close();
  });

  it('a handle whose table was removed loads afresh (and says there is no table)', async () => {
    const path = join(fx.dir, 'removed');
    const t = await DeltaTable.forPath(path, { compute: fx.compute });
    await t.write({ sql: 'SELECT 1 AS k' }).execute();
    expect((await t.latest()).version).toBe(0);
    const { rmSync } = await import('node:fs');
    rmSync(path, { recursive: true });
    expect(await t.tryLatest()).toBeUndefined();
  });
});

describe('an operation skipped as already applied', () => {
  it('returns the version that applied it, from the snapshot or, past a checkpoint, from history', async () => {
    const path = join(fx.dir, 'txn');
    const t = await DeltaTable.forPath(path, { compute: fx.compute });
    await t.write({ sql: 'SELECT 0 AS k' }).execute();
    const applied = await t.write({ sql: 'SELECT 1 AS k' }).txn('app', 7).execute();
    expect(applied.version).toBe(1);
    for (let i = 2; i < 5; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
    const again = await t.write({ sql: 'SELECT 1 AS k' }).txn('app', 7).execute();
    expect(again.skipped).toBeDefined();
    expect(again.version).toBe(1);
    const merged = await t.merge({ sql: 'SELECT 1 AS k' }, { on: ['k'] }).whenMatchedUpdateAll().txn('app', 7).execute();
    expect(merged.skipped).toBeDefined();
    expect(merged.version).toBe(1);

    // Past a checkpoint (version 10) a fresh handle knows the txn only from the checkpoint.
    for (let i = 5; i < 12; i++) await t.write({ sql: `SELECT ${i} AS k` }).execute();
    const fresh = await DeltaTable.forPath(path, { compute: fx.compute });
    const late = await fresh.write({ sql: 'SELECT 1 AS k' }).txn('app', 7).execute();
    expect(late.skipped).toBeDefined();
    expect(late.version).toBe(1);
    t.close();
    fresh.close();
  });
});
