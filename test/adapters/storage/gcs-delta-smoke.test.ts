// A Delta table on gs:// through the emulator, opened the way the CLI opens one (DeltaTable.forPath
// with a gs:// location: openStore, STORAGE_EMULATOR_HOST). A smoke test only: every command and
// concurrent writers on gs:// are issue 10's second point.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeltaTable } from '../../../src/engine/table.ts';
import { GcsObjectStore } from '../../../src/adapters/storage/gcs/gcs-object-store.ts';
import { fakeGcsAvailable, startFakeGcs, type FakeGcs } from '../../support/gcs-emulator.ts';
import { requirePeer } from '../../support/peers.ts';
import { useEngine } from '../../support/engine-fixture.ts';

const gcsMode = requirePeer('fake-gcs-server', fakeGcsAvailable);
const fx = useEngine();

describe.skipIf(gcsMode === 'skip')('a Delta table on gs:// (fake-gcs-server)', () => {
  let gcs: FakeGcs;
  const savedHost = process.env.STORAGE_EMULATOR_HOST;
  beforeAll(async () => {
    gcs = await startFakeGcs();
    await gcs.createBucket('lake');
    // Written as the gcloud tools write it (no scheme); openStore turns it into the client's apiEndpoint.
    process.env.STORAGE_EMULATOR_HOST = gcs.endpoint.replace(/^http:\/\//, '');
  });
  afterAll(async () => {
    if (savedHost === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = savedHost;
    await gcs?.stop();
  });

  it('writes, appends, merges and reads back; the log and the data files are objects in the bucket', async () => {
    const location = `gs://lake/warehouse/orders-${randomUUID().slice(0, 8)}`;
    const t = await DeltaTable.forPath(location, { compute: fx.compute });
    expect(t.uri).toBe(location);
    expect(t.ctx.store).toBeInstanceOf(GcsObjectStore);
    await t.write({ sql: `SELECT range AS id, 'v' || range AS v FROM range(10)` }).execute();
    await t.write({ sql: `SELECT 10 AS id, 'v10' AS v` }).mode('append').execute();
    const merged = await t
      .merge({ sql: `SELECT * FROM (VALUES (3, 'three'), (42, 'forty-two')) s(id, v)` }, { on: ['id'] })
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .execute();
    expect(merged.version).toBe(2);
    t.close();

    // A fresh handle reads everything from the bucket (through the local cache of remote objects).
    const again = await DeltaTable.forPath(location, { compute: fx.compute });
    const rows = await again.read({ orderBy: 'id' });
    expect(rows).toHaveLength(12);
    expect(rows.find((r) => String(r.id) === '3')?.v).toBe('three');
    expect(rows.find((r) => String(r.id) === '42')?.v).toBe('forty-two');
    expect((await again.history()).map((h) => h.version)).toEqual([2, 1, 0]);
    const keys = (await again.ctx.store.list('')).map((m) => m.key);
    expect(keys.filter((k) => k.startsWith('_delta_log/') && k.endsWith('.json'))).toEqual([0, 1, 2].map((v) => `_delta_log/${String(v).padStart(20, '0')}.json`));
    expect(keys.some((k) => k.endsWith('.parquet') && !k.startsWith('_delta_log/'))).toBe(true);
    again.close();
  });

  it('deletion vectors on gs://: DELETE, UPDATE and MERGE mark rows in DV objects; a fresh handle, time travel, OPTIMIZE and VACUUM see the same rows', async () => {
    const location = `gs://lake/warehouse/dv-${randomUUID().slice(0, 8)}`;
    const t = await DeltaTable.forPath(location, { compute: fx.compute });
    await t.write({ sql: `SELECT range AS id, range % 10 AS g, 'v' || range AS v FROM range(5000)` }).properties({ 'delta.enableDeletionVectors': 'true' }).execute();
    await t.delete('id = 17').execute(); // inline DV
    await t.delete('g = 3').execute(); // a DV object
    await t.update({ v: "'u'" }, 'g = 5').execute();
    const merged = await t
      .merge({ sql: `SELECT range * 2 AS id, 9 AS g, 'm' AS v FROM range(2400, 2600)` }, { on: ['id'] })
      .whenMatchedUpdateAll()
      .whenNotMatchedInsertAll()
      .execute();
    expect(merged.metrics.numTargetRowsCopied).toBe(0);
    const expected = await t.read({ orderBy: 'id' });
    t.close();
    // 5,000 rows, less id 17 and the 500 with g = 3, plus the 100 merged ids above 4,999.
    expect(expected).toHaveLength(5000 - 1 - 500 + 100);
    expect(expected.filter((r) => Number(r.g) === 5).every((r) => r.v === 'u')).toBe(true);

    const again = await DeltaTable.forPath(location, { compute: fx.compute });
    const keys = (await again.ctx.store.list('')).map((m) => m.key);
    expect(keys.filter((k) => /^deletion_vector_[0-9a-f-]{36}\.bin$/.test(k)).length).toBeGreaterThan(0);
    expect(await again.read({ orderBy: 'id' })).toEqual(expected);
    expect(await again.read({ version: 1 })).toHaveLength(4999);
    const dvObjects = async () => (await again.ctx.store.list('')).map((m) => m.key).filter((k) => k.startsWith('deletion_vector_'));
    // VACUUM with no retention keeps the DV objects the latest version still uses.
    await again.vacuum().retentionHours(0).force().execute();
    expect(await again.read({ orderBy: 'id' })).toEqual(expected);
    expect((await dvObjects()).length).toBeGreaterThan(0);
    // OPTIMIZE purging every DV rewrites those files; VACUUM then removes the DV objects too.
    await again.optimize().maxDeletedRowsRatio(0).execute();
    expect((await again.snapshot()).files.every((f) => !f.deletionVector)).toBe(true);
    await again.vacuum().retentionHours(0).force().execute();
    expect(await dvObjects()).toEqual([]);
    expect(await again.read({ orderBy: 'id' })).toEqual(expected);
    again.close();
  });
});
